#include "kanade/midi/smf.hpp"

#include "test_paths.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace kanade::midi;

namespace {

using Bytes = std::vector<std::uint8_t>;

Event sysex(std::uint64_t tick, std::uint8_t status, Bytes data) {
    Event event;
    event.tick = tick;
    event.kind = EventKind::sysex;
    event.status = status;
    event.data = std::move(data);
    return event;
}

Event channel(std::uint64_t tick, std::uint8_t status, Bytes data) {
    Event event;
    event.tick = tick;
    event.status = status;
    event.data = std::move(data);
    return event;
}

// A file with everything the format has: running-status runs, meta events of
// several lengths, a 70 KB sysex and its continuation, one- and two-byte messages.
File hand_built_file(Division division) {
    File file;
    file.format = 1;
    file.division = division;

    Track conductor;
    conductor.events = {Event::text(0, meta::track_name, "conductor"), Event::time_signature(0, 3, 4),
                        Event::tempo(0, 600000), Event::tempo(1920, 400000), Event::end_of_track(1920)};

    Track lead;
    lead.events.push_back(Event::text(0, meta::track_name, "lead"));
    lead.events.push_back(Event::program_change(0, 0, 40));
    lead.events.push_back(Event::control_change(0, 0, 7, 100));
    Bytes big(70 * 1024);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7 % 128);
    lead.events.push_back(sysex(0, 0xF0, big));
    lead.events.push_back(sysex(10, 0xF7, {0x01, 0x02, 0xF7}));
    for (int i = 0; i < 16; ++i) {
        auto start = 20 + static_cast<std::uint64_t>(i) * 120;
        lead.events.push_back(Event::note_on(start, 0, 60 + i, 90));
        lead.events.push_back(Event::note_on(start + 90, 0, 60 + i, 0));  // off by velocity 0
    }
    lead.events.push_back(channel(1950, 0xE0, {0x00, 0x40}));               // pitch bend
    lead.events.push_back(channel(1950, 0xD0, {0x30}));                     // channel pressure
    lead.events.push_back(channel(1950, 0xA0, {0x3C, 0x10}));               // poly pressure
    lead.events.push_back(Event::text(1960, 0x01, std::string(200, 'y')));  // two-byte length
    lead.events.push_back(Event::note_off(1960, 0, 60));
    lead.events.push_back(Event::end_of_track(0x0FFFFFFF));

    Track bass;
    for (int i = 0; i < 8; ++i) {
        bass.events.push_back(Event::note_on(static_cast<std::uint64_t>(i) * 240, 1 + i % 2, 36, 100));
        bass.events.push_back(Event::note_off(static_cast<std::uint64_t>(i) * 240 + 200, 1 + i % 2, 36));
    }
    bass.events.push_back(Event::end_of_track(2000));

    file.tracks = {conductor, lead, bass};
    return file;
}

Bytes track_body(const Bytes& smf, std::size_t index) {
    std::size_t pos = 14;
    for (std::size_t i = 0;; ++i) {
        REQUIRE(pos + 8 <= smf.size());
        std::size_t length = smf[pos + 4] << 24 | smf[pos + 5] << 16 | smf[pos + 6] << 8 | smf[pos + 7];
        if (i == index) return Bytes(smf.begin() + pos + 8, smf.begin() + pos + 8 + length);
        pos += 8 + length;
    }
}

File one_track(std::vector<Event> events) {
    File file;
    file.format = 0;
    file.tracks.push_back(Track{std::move(events)});
    return file;
}

}  // namespace

TEST_CASE("serialize then parse gives the same file, PPQ and SMPTE") {
    Division ppq;
    ppq.ticks_per_quarter = 960;
    Division smpte;
    smpte.smpte = true;
    smpte.frames_per_second = 29;
    smpte.ticks_per_frame = 80;
    for (const auto& division : {ppq, smpte}) {
        CAPTURE(division.smpte);
        auto file = hand_built_file(division);
        auto bytes = serialize_smf(file);
        auto result = parse_smf(bytes, "round-trip.mid");
        CHECK(result.warnings.empty());
        CHECK(result.file == file);
        // Serialising the parsed file again gives identical bytes.
        CHECK(serialize_smf(result.file) == bytes);
    }
}

TEST_CASE("serialize_smf writes the header, running status and variable-length deltas") {
    auto file = one_track({Event::note_on(0, 0, 60, 100), Event::note_on(0x7F, 0, 62, 100),
                           Event::note_on(0x7F + 0x80, 0, 60, 0), Event::note_off(0x7F + 0x80 + 0x3FFF, 0, 62),
                           Event::end_of_track(0x7F + 0x80 + 0x3FFF + 0x0FFFFFFF)});
    file.division.ticks_per_quarter = 96;
    auto bytes = serialize_smf(file);
    Bytes expected_header = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 0, 96, 'M', 'T', 'r', 'k'};
    REQUIRE(bytes.size() > expected_header.size());
    CHECK(Bytes(bytes.begin(), bytes.begin() + 18) == expected_header);
    CHECK(track_body(bytes, 0) == Bytes{0x00, 0x90, 0x3C, 0x64,                      // delta 0
                                        0x7F, 0x3E, 0x64,                            // delta 0x7F, running status
                                        0x81, 0x00, 0x3C, 0x00,                      // delta 0x80
                                        0xFF, 0x7F, 0x80, 0x3E, 0x40,                // delta 0x3FFF, new status
                                        0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0x2F, 0x00});  // delta 0x0FFFFFFF

    Division smpte;
    smpte.smpte = true;
    smpte.frames_per_second = 25;
    smpte.ticks_per_frame = 40;
    file.division = smpte;
    bytes = serialize_smf(file);
    CHECK(bytes[12] == 0xE7);  // -25
    CHECK(bytes[13] == 40);
}

TEST_CASE("meta and sysex events cancel running status in the output") {
    auto file = one_track({Event::note_on(0, 3, 60, 100), Event::text(0, 0x01, "A"), Event::note_on(0, 3, 62, 100),
                           sysex(0, 0xF0, {0x7E, 0xF7}), Event::note_on(0, 3, 64, 100), Event::end_of_track(0)});
    CHECK(track_body(serialize_smf(file), 0) == Bytes{0x00, 0x93, 0x3C, 0x64, 0x00, 0xFF, 0x01, 0x01, 'A',
                                                      0x00, 0x93, 0x3E, 0x64, 0x00, 0xF0, 0x02, 0x7E, 0xF7,
                                                      0x00, 0x93, 0x40, 0x64, 0x00, 0xFF, 0x2F, 0x00});
}

TEST_CASE("serialize_smf adds a missing end-of-track and keeps it last, in tick order") {
    SUBCASE("missing end-of-track") {
        auto file = one_track({Event::note_on(0, 0, 60, 100), Event::note_off(480, 0, 60)});
        auto parsed = parse_smf(serialize_smf(file), "added.mid");
        CHECK(parsed.warnings.empty());
        REQUIRE(parsed.file.tracks[0].events.size() == 3);
        CHECK(parsed.file.tracks[0].events[2] == Event::end_of_track(480));
    }
    SUBCASE("empty track") {
        auto parsed = parse_smf(serialize_smf(one_track({})), "empty.mid");
        REQUIRE(parsed.file.tracks[0].events.size() == 1);
        CHECK(parsed.file.tracks[0].events[0] == Event::end_of_track(0));
    }
    SUBCASE("end-of-track in the middle, events out of order") {
        auto file = one_track({Event::note_on(100, 0, 60, 100), Event::end_of_track(50), Event::note_on(0, 0, 62, 100),
                               Event::note_off(100, 0, 62), Event::note_off(300, 0, 60)});
        auto parsed = parse_smf(serialize_smf(file), "sorted.mid");
        CHECK(parsed.warnings.empty());
        const auto& events = parsed.file.tracks[0].events;
        REQUIRE(events.size() == 5);
        CHECK(events[0] == Event::note_on(0, 0, 62, 100));
        CHECK(events[1] == Event::note_on(100, 0, 60, 100));  // stable: file order kept at one tick
        CHECK(events[2] == Event::note_off(100, 0, 62));
        CHECK(events[3] == Event::note_off(300, 0, 60));
        CHECK(events[4] == Event::end_of_track(300));
    }
    SUBCASE("end-of-track later than the last event keeps its tick") {
        auto parsed =
            parse_smf(serialize_smf(one_track({Event::note_on(0, 0, 60, 1), Event::end_of_track(9600)})), "x");
        CHECK(parsed.file.tracks[0].events.back() == Event::end_of_track(9600));
    }
    SUBCASE("a gap wider than one delta is bridged") {
        ReadLimits long_enough;  // 2^29 ticks of 480 a quarter: past the default length
        long_enough.max_beats = 1u << 21;
        auto parsed =
            parse_smf(serialize_smf(one_track({Event::note_on(0x20000000, 0, 60, 1)})), "wide.mid", long_enough);
        const auto& events = parsed.file.tracks[0].events;
        REQUIRE(events.size() == 4);  // two empty text events bridge the gap
        CHECK(events[2] == Event::note_on(0x20000000, 0, 60, 1));
        CHECK(events[0].meta_type == 0x01);
        CHECK(events[0].data.empty());
    }
}

TEST_CASE("serialize_smf rejects events no reader could decode") {
    CHECK_THROWS_AS(serialize_smf(one_track({channel(0, 0x90, {60})})), std::invalid_argument);
    CHECK_THROWS_AS(serialize_smf(one_track({channel(0, 0x90, {60, 200})})), std::invalid_argument);
    CHECK_THROWS_AS(serialize_smf(one_track({channel(0, 0x40, {60, 100})})), std::invalid_argument);
    CHECK_THROWS_AS(serialize_smf(one_track({sysex(0, 0xF3, {})})), std::invalid_argument);
    File zero_ppq = one_track({});
    zero_ppq.division.ticks_per_quarter = 0;
    CHECK_THROWS_AS(serialize_smf(zero_ppq), std::invalid_argument);
}

TEST_CASE("event factories build well-formed messages") {
    CHECK(Event::note_on(5, 3, 60, 100).status == 0x93);
    CHECK(Event::note_on(5, 3, 200, -4).data == Bytes{127, 0});  // clamped to data bytes
    CHECK(Event::note_off(0, 15, 64).status == 0x8F);
    CHECK(Event::note_off(0, 15, 64).data == Bytes{64, 64});
    CHECK(Event::program_change(0, 20, 5).status == 0xCF);
    CHECK(Event::control_change(0, 1, 64, 127).data == Bytes{64, 127});
    CHECK(Event::tempo(0, 500000).data == Bytes{0x07, 0xA1, 0x20});
    CHECK(Event::time_signature(0, 6, 8).data == Bytes{6, 3, 24, 8});
    auto name = Event::text(0, meta::track_name, "piano");
    CHECK(name.kind == EventKind::meta);
    CHECK(name.status == 0xFF);
    CHECK(std::string(name.data.begin(), name.data.end()) == "piano");
    CHECK(Event::end_of_track(7).meta_type == meta::end_of_track);
    CHECK(Event::end_of_track(7).data.empty());
}

TEST_CASE("write_smf writes atomically and read_smf reads it back") {
    kanade::test::TemporaryFolder folder;
    auto path = folder / "out" / "song.mid";
    Division division;
    division.ticks_per_quarter = 480;
    auto file = hand_built_file(division);
    write_smf(file, path);
    auto result = read_smf(path);
    CHECK(result.warnings.empty());
    CHECK(result.file == file);

    // Overwriting leaves exactly the one file: no temporary left beside it.
    write_smf(one_track({}), path);
    CHECK(read_smf(path).file.tracks.size() == 1);
    auto entries =
        std::distance(std::filesystem::directory_iterator(path.parent_path()), std::filesystem::directory_iterator());
    CHECK(entries == 1);
}

TEST_CASE("a restarted TrackEncoder encodes as a new one does: no running status or time carried over") {
    TrackEncoder reused;
    reused.add(Event::note_on(500, 0, 60, 100));  // leaves running status 0x90 and tick 500
    reused.finish(900);
    reused.clear_bytes();
    reused.restart();
    CHECK(reused.body_size() == 0);
    TrackEncoder fresh;
    for (auto* encoder : {&reused, &fresh}) {
        encoder->add(Event::note_on(10, 0, 62, 90));  // before 500: refused had the tick carried over
        encoder->finish(20);
    }
    CHECK(reused.bytes() == fresh.bytes());
    CHECK(reused.bytes().front() == 10);  // the delta from 0
    CHECK(reused.bytes()[1] == 0x90);     // the status byte written, not left to running status
}
