#include "kanade/midi/note.hpp"

#include "kanade/midi/tempo_map.hpp"

#include <doctest/doctest.h>

using namespace kanade::midi;

namespace {

File ppq_file(std::vector<Track> tracks, std::uint16_t ticks_per_quarter = 480) {
    File file;
    file.format = 1;
    file.division.ticks_per_quarter = ticks_per_quarter;
    file.tracks = std::move(tracks);
    return file;
}

}  // namespace

TEST_CASE("extract_notes pairs note-on with note-off and velocity-0 note-on") {
    auto file =
        ppq_file({Track{{Event::note_on(0, 0, 60, 100), Event::note_on(480, 0, 64, 80), Event::note_off(960, 0, 60),
                         Event::note_on(1440, 0, 64, 0), Event::end_of_track(1440)}}});
    auto notes = extract_notes(file);
    REQUIRE(notes.size() == 2);
    CHECK(notes[0].pitch == 60);
    CHECK(notes[0].velocity == 100);
    CHECK(notes[0].start_beat == doctest::Approx(0.0));
    CHECK(notes[0].end_beat == doctest::Approx(2.0));
    CHECK(notes[0].end_seconds == doctest::Approx(1.0));
    CHECK(notes[1].pitch == 64);
    CHECK(notes[1].velocity == 80);
    CHECK(notes[1].start_beat == doctest::Approx(1.0));
    CHECK(notes[1].end_beat == doctest::Approx(3.0));
    CHECK(notes[1].start_seconds == doctest::Approx(0.5));
    CHECK(notes[1].end_seconds == doctest::Approx(1.5));
}

TEST_CASE("overlapping notes of one pitch close first in, first out") {
    auto file =
        ppq_file({Track{{Event::note_on(0, 2, 60, 90), Event::note_on(480, 2, 60, 70), Event::note_off(960, 2, 60),
                         Event::note_on(1440, 2, 60, 0), Event::end_of_track(1440)}}});
    auto notes = extract_notes(file);
    REQUIRE(notes.size() == 2);
    CHECK(notes[0].start_beat == doctest::Approx(0.0));
    CHECK(notes[0].end_beat == doctest::Approx(2.0));
    CHECK(notes[0].velocity == 90);
    CHECK(notes[1].start_beat == doctest::Approx(1.0));
    CHECK(notes[1].end_beat == doctest::Approx(3.0));
    CHECK(notes[1].velocity == 70);
    CHECK(notes[1].channel == 2);
}

TEST_CASE("notes pair within their track, even on a shared channel") {
    Track first{{Event::note_on(0, 0, 60, 100), Event::note_off(960, 0, 60), Event::end_of_track(960)}};
    Track second{{Event::note_on(0, 0, 60, 50), Event::note_off(240, 0, 60), Event::end_of_track(240)}};
    auto notes = extract_notes(ppq_file({first, second}));
    REQUIRE(notes.size() == 2);
    // Same start and pitch: the order between them is by track (stable).
    CHECK(notes[0].velocity == 100);
    CHECK(notes[0].end_beat == doctest::Approx(2.0));
    CHECK(notes[1].velocity == 50);
    CHECK(notes[1].end_beat == doctest::Approx(0.5));
}

TEST_CASE("drums are dropped unless asked for") {
    auto file = ppq_file(
        {Track{{Event::note_on(0, drum_channel, 36, 100), Event::note_on(0, 0, 48, 100),
                Event::note_off(240, drum_channel, 36), Event::note_off(480, 0, 48), Event::end_of_track(480)}}});
    auto without = extract_notes(file);
    REQUIRE(without.size() == 1);
    CHECK(without[0].pitch == 48);

    NoteExtraction with_drums;
    with_drums.include_drums = true;
    auto with = extract_notes(file, with_drums);
    REQUIRE(with.size() == 2);
    CHECK(with[0].pitch == 36);
    CHECK(with[0].channel == drum_channel);
    CHECK(with[0].end_beat == doctest::Approx(0.5));
}

TEST_CASE("notes never closed end with their track, zero-length notes get one tick") {
    Track open{{Event::note_on(0, 0, 60, 100), Event::note_on(480, 0, 62, 100), Event::end_of_track(1920)}};
    Track zero{{Event::note_on(240, 1, 70, 100), Event::note_off(240, 1, 70), Event::note_on(480, 1, 71, 100),
                Event::end_of_track(480)}};
    auto notes = extract_notes(ppq_file({open, zero}));
    REQUIRE(notes.size() == 4);
    CHECK(notes[0].pitch == 60);
    CHECK(notes[0].end_beat == doctest::Approx(4.0));
    CHECK(notes[1].pitch == 70);
    CHECK(notes[1].start_beat == doctest::Approx(0.5));
    CHECK(notes[1].end_beat == doctest::Approx(241.0 / 480.0));
    CHECK(notes[2].pitch == 62);
    CHECK(notes[2].end_beat == doctest::Approx(4.0));
    CHECK(notes[3].pitch == 71);  // unclosed, starting on the track's last tick
    CHECK(notes[3].end_beat == doctest::Approx(481.0 / 480.0));
}

TEST_CASE("note-offs without a note-on are ignored") {
    auto notes = extract_notes(
        ppq_file({Track{{Event::note_off(0, 0, 60), Event::note_on(10, 0, 61, 0), Event::end_of_track(10)}}}));
    CHECK(notes.empty());
}

TEST_CASE("program is the one in effect at the note-on, per track and channel") {
    Track conductor{{Event::program_change(0, 3, 33), Event::end_of_track(0)}};
    Track music{{Event::program_change(0, 0, 24), Event::note_on(0, 0, 60, 100),
                 Event::program_change(240, 0, 40),  // after the first note began
                 Event::note_off(480, 0, 60), Event::note_on(480, 0, 62, 100), Event::note_off(960, 0, 62),
                 Event::note_on(960, 1, 64, 100), Event::note_off(1200, 1, 64),   // no program: 0
                 Event::note_on(1200, 3, 65, 100), Event::note_off(1440, 3, 65),  // set in another track
                 Event::end_of_track(1440)}};
    Track other{{Event::note_on(0, 0, 50, 100), Event::note_off(480, 0, 50), Event::end_of_track(480)}};
    auto notes = extract_notes(ppq_file({conductor, music, other}));
    REQUIRE(notes.size() == 5);
    CHECK(notes[0].pitch == 50);
    CHECK(notes[0].program == 24);  // no change in its own track: the file's program for channel 0 at tick 0
    CHECK(notes[1].pitch == 60);
    CHECK(notes[1].program == 24);
    CHECK(notes[2].pitch == 62);
    CHECK(notes[2].program == 40);
    CHECK(notes[3].pitch == 64);
    CHECK(notes[3].program == 0);
    CHECK(notes[4].pitch == 65);
    CHECK(notes[4].program == 33);
}

TEST_CASE("notes follow tempo changes in seconds and are sorted by start then pitch") {
    Track conductor{{Event::tempo(0, 500000), Event::tempo(1920, 1000000), Event::end_of_track(1920)}};
    Track music{{Event::note_on(2880, 0, 72, 100), Event::note_on(2880, 0, 48, 100), Event::note_on(0, 0, 60, 100),
                 Event::note_off(3360, 0, 72), Event::note_off(3360, 0, 48), Event::note_off(480, 0, 60),
                 Event::end_of_track(3360)}};
    auto notes = extract_notes(ppq_file({conductor, music}));
    REQUIRE(notes.size() == 3);
    CHECK(notes[0].pitch == 60);
    CHECK(notes[1].pitch == 48);
    CHECK(notes[2].pitch == 72);
    CHECK(notes[1].start_seconds == doctest::Approx(4.0));
    CHECK(notes[1].end_seconds == doctest::Approx(5.0));
    CHECK(notes[1].start_beat == doctest::Approx(6.0));
}

TEST_CASE("notes_to_file writes a tempo track and a note track") {
    std::vector<Note> notes(3);
    notes[0].start_beat = 0;
    notes[0].end_beat = 1;
    notes[0].pitch = 60;
    notes[0].velocity = 90;
    notes[1].start_beat = 1;  // same pitch, starting as the first ends
    notes[1].end_beat = 2.5;
    notes[1].pitch = 60;
    notes[1].velocity = 0;  // would be an off: written as 1
    notes[2].start_beat = 0.5;
    notes[2].end_beat = 0.5;  // zero length: kept one tick long
    notes[2].pitch = 67;
    notes[2].channel = 2;

    NotesToFile options;
    options.bpm = 90;
    options.ticks_per_quarter = 96;
    options.program = 11;
    options.track_name = "take 1";
    auto file = notes_to_file(notes, options);

    CHECK(file.format == 1);
    CHECK(file.division.ticks_per_quarter == 96);
    REQUIRE(file.tracks.size() == 2);
    const auto& conductor = file.tracks[0].events;
    REQUIRE(conductor.size() == 4);
    CHECK(conductor[0] == Event::text(0, meta::track_name, "take 1"));
    CHECK(conductor[1] == Event::time_signature(0, 4, 4));
    CHECK(conductor[2] == Event::tempo(0, 666667));
    CHECK(conductor[3] == Event::end_of_track(0));

    const auto& music = file.tracks[1].events;
    REQUIRE(music.size() == 10);
    CHECK(music[0] == Event::text(0, meta::track_name, "take 1"));
    CHECK(music[1] == Event::program_change(0, 0, 11));
    CHECK(music[2] == Event::program_change(0, 2, 11));
    CHECK(music[3] == Event::note_on(0, 0, 60, 90));
    CHECK(music[4] == Event::note_on(48, 2, 67, 100));
    CHECK(music[5] == Event::note_off(49, 2, 67));
    CHECK(music[6] == Event::note_off(96, 0, 60));  // the off before the re-triggering on
    CHECK(music[7] == Event::note_on(96, 0, 60, 1));
    CHECK(music[8] == Event::note_off(240, 0, 60));
    CHECK(music[9] == Event::end_of_track(240));

    // Through bytes and back, the notes are the same.
    auto again = extract_notes(parse_smf(serialize_smf(file), "take.mid").file);
    REQUIRE(again.size() == 3);
    CHECK(again[0].pitch == 60);
    CHECK(again[0].end_beat == doctest::Approx(1.0));
    CHECK(again[0].program == 11);
    CHECK(again[1].pitch == 67);
    CHECK(again[1].channel == 2);
    CHECK(again[1].start_beat == doctest::Approx(0.5));
    CHECK(again[2].start_beat == doctest::Approx(1.0));
    CHECK(again[2].end_beat == doctest::Approx(2.5));
    CHECK(again[2].end_seconds == doctest::Approx(2.5 * 60 / 90.0));
    CHECK(TempoMap(file).initial_bpm() == doctest::Approx(90.0).epsilon(1e-5));
}

TEST_CASE("notes_to_file writes the sustain pedal as controller 64 among the notes") {
    std::vector<Note> notes(1);
    notes[0].start_beat = 0;
    notes[0].end_beat = 1;
    notes[0].pitch = 64;
    NotesToFile options;
    options.ticks_per_quarter = 100;
    options.sustain_pedal = {{0.5, 2.0}, {2.0, 2.0}};  // the second: zero length, kept one tick
    const auto file = notes_to_file(notes, options);
    const auto& music = file.tracks[1].events;
    REQUIRE(music.size() == 9);
    CHECK(music[2] == Event::note_on(0, 0, 64, 100));
    CHECK(music[3] == Event::control_change(50, 0, 64, 127));
    CHECK(music[4] == Event::note_off(100, 0, 64));
    CHECK(music[5] == Event::control_change(200, 0, 64, 0));  // up before the next press at one tick
    CHECK(music[6] == Event::control_change(200, 0, 64, 127));
    CHECK(music[7] == Event::control_change(201, 0, 64, 0));
    CHECK(music[8] == Event::end_of_track(201));
}

TEST_CASE("notes_to_file survives nonsense options and values") {
    std::vector<Note> notes(1);
    notes[0].start_beat = -3;
    notes[0].end_beat = 1e300;
    notes[0].pitch = 200;
    notes[0].channel = 40;
    NotesToFile options;
    options.bpm = 0;
    options.ticks_per_quarter = 0;
    auto file = notes_to_file(notes, options);
    auto parsed = parse_smf(serialize_smf(file), "odd.mid");
    CHECK(TempoMap(parsed.file).initial_bpm() == doctest::Approx(120.0));
    auto again = extract_notes(parsed.file);
    REQUIRE(again.size() == 1);
    CHECK(again[0].pitch == 127);
    CHECK(again[0].channel == 15);
    CHECK(again[0].start_beat == 0.0);

    auto drums = notes;
    drums[0].channel = drum_channel;
    auto drum_file = notes_to_file(drums);
    for (const auto& event : drum_file.tracks[1].events) CHECK(event.command() != 0xC0);
    CHECK(notes_to_file({}).tracks[1].events.size() == 2);  // name and end-of-track
}
