// Metrical positions from time signatures, and the conditions a tokenized piece gets.
#include "kanade/midi/meter.hpp"
#include "kanade/music/kanade_tokenizer.hpp"
#include "kanade/music/meter_map.hpp"
#include "kanade/music/token_conditions.hpp"

#include <doctest/doctest.h>

using namespace kanade;
using music::Condition;

namespace {

int channel(const music::TokenCondition& condition, Condition c) { return condition[static_cast<std::size_t>(c)]; }

}  // namespace

TEST_CASE("4/4 without time signatures: 16 sixteenths a bar, four to a beat") {
    music::MeterMap meters;
    CHECK(meters.at(0).bar == 0);
    CHECK(meters.at(5).step_in_beat == 1);
    CHECK(meters.at(5).beat_in_bar == 1);
    CHECK(meters.at(15).beat_in_bar == 3);
    CHECK(meters.at(16).bar == 1);
    CHECK(meters.at(16).beat_in_bar == 0);
    CHECK(meters.at(-1).bar == -1);  // before the start counts back
    CHECK(meters.at(-1).beat_in_bar == 3);
}

TEST_CASE("positions follow a time-signature change: two bars of 4/4, then 3/4, then 6/8") {
    // 4/4 at beat 0, 3/4 at beat 8, 6/8 at beat 14 (two bars of 3/4 later).
    music::MeterMap meters({{0, 4, 4}, {8, 3, 4}, {14, 6, 8}}, 4);
    CHECK(meters.steps_per_bar_at(0) == 16);
    CHECK(meters.at(31).bar == 1);
    CHECK(meters.at(32).bar == 2);  // 3/4 starts bar 2
    CHECK(meters.steps_per_bar_at(32) == 12);
    CHECK(meters.at(32 + 11).beat_in_bar == 2);
    CHECK(meters.at(32 + 12).bar == 3);
    CHECK(meters.at(32 + 12).beat_in_bar == 0);
    // 6/8 is compound: two dotted-quarter beats of six sixteenths.
    const long six_eight = 56;
    CHECK(meters.at(six_eight).bar == 4);
    CHECK(meters.steps_per_beat_at(six_eight) == 6);
    CHECK(meters.at(six_eight + 7).beat_in_bar == 1);
    CHECK(meters.at(six_eight + 7).step_in_beat == 1);
    CHECK(meters.at(six_eight + 12).bar == 5);
}

TEST_CASE("a signature in the middle of a bar starts a new bar where it takes effect") {
    music::MeterMap meters({{0, 4, 4}, {2, 3, 4}}, 4);  // 4/4 cut short after two beats
    CHECK(meters.at(7).bar == 0);
    CHECK(meters.at(8).bar == 1);
    CHECK(meters.at(8).beat_in_bar == 0);
}

TEST_CASE("a file's time signatures are read in beats, none means 4/4") {
    midi::File file;
    file.division.ticks_per_quarter = 480;
    CHECK(midi::read_meters(file) == std::vector<midi::Meter>{{0, 4, 4}});
    midi::Track track;
    track.events.push_back(midi::Event::time_signature(0, 3, 4));
    track.events.push_back(midi::Event::time_signature(480 * 6, 6, 8));
    file.tracks.push_back(track);
    auto meters = midi::read_meters(file);
    REQUIRE(meters.size() == 2);
    CHECK(meters[0] == midi::Meter{0, 3, 4});
    CHECK(meters[1] == midi::Meter{6, 6, 8});
}

TEST_CASE("the signature a file states at its start is the last one written at tick 0, in any track") {
    midi::File file;
    file.division.ticks_per_quarter = 480;
    file.tracks.resize(2);
    CHECK(midi::stated_meters(file).empty());
    file.tracks[0].events = {midi::Event::time_signature(0, 1, 8), midi::Event::time_signature(0, 3, 4),
                             midi::Event::time_signature(960, 6, 8)};
    CHECK(midi::stated_meters(file).front() == midi::Meter{0, 3, 4});  // a placeholder, then the real one
    file.tracks[1].events = {midi::Event::time_signature(0, 12, 8)};
    CHECK(midi::stated_meters(file).front() == midi::Meter{0, 12, 8});
    file.tracks[0].events = {midi::Event::time_signature(480, 5, 4)};
    file.tracks[1].events.clear();
    CHECK(midi::stated_meters(file).front().start_beat == 1);  // only later: the start says nothing
    CHECK(midi::read_meters(file) == std::vector<midi::Meter>{{0, 4, 4}, {1, 5, 4}});
}

TEST_CASE("a tokenized piece's conditions: each token's position, its bar's density and loudness") {
    // Bar 0: four loud quarter notes; bar 1: one soft note on beat 3.
    std::vector<midi::Note> notes;
    for (int beat = 0; beat < 4; ++beat) notes.push_back({double(beat), beat + 1.0, 0, 0, 60, 120});
    notes.push_back({6.0, 7.0, 0, 0, 62, 20});
    music::KanadeTokenizer tokenizer;
    auto timed = tokenizer.encode_timed(notes);
    REQUIRE(timed.tokens.size() == timed.steps.size());
    // V8 P60 D4 W4 P60 D4 W4 P60 D4 W4 P60 D4 W12 V2 P62 D4
    REQUIRE(timed.tokens.size() == 16);
    CHECK(timed.tokens[3] == "W4");
    CHECK(timed.steps[3] == 4);
    CHECK(timed.tokens[12] == "W12");
    CHECK(timed.steps[12] == 24);
    auto conditions = music::piece_conditions(timed.steps, timed.velocities, music::MeterMap(), 2);
    CHECK(channel(conditions[0], Condition::beat_in_bar) == 1);  // 1 + beat 0
    CHECK(channel(conditions[3], Condition::beat_in_bar) == 2);
    CHECK(channel(conditions[12], Condition::beat_in_bar) == 3);  // beat 2 of bar 1
    CHECK(channel(conditions[12], Condition::step_in_beat) == 1);
    CHECK(channel(conditions[0], Condition::density) == music::density_bin(4));
    CHECK(channel(conditions[14], Condition::density) == music::density_bin(1));
    CHECK(channel(conditions[0], Condition::loudness) == music::loudness_bin(120));
    CHECK(channel(conditions[14], Condition::loudness) == music::loudness_bin(20));
    CHECK(channel(conditions[14], Condition::style) == 2);
}

TEST_CASE("density bins double: 0, 1-2, 3-4, 5-8 ... and each bin's middle falls in it") {
    CHECK(music::density_bin(0) == 1);
    CHECK(music::density_bin(1) == 2);
    CHECK(music::density_bin(2) == 2);
    CHECK(music::density_bin(3) == 3);
    CHECK(music::density_bin(8) == 4);
    CHECK(music::density_bin(9) == 5);
    CHECK(music::density_bin(1000) == music::density_bins);
    for (int bin = 1; bin <= music::density_bins; ++bin)
        CHECK(music::density_bin(static_cast<int>(music::bin_notes_per_bar(bin))) == bin);
}
