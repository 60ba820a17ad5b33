#include "kanade/midi/tempo_map.hpp"

#include <doctest/doctest.h>

using namespace kanade::midi;

namespace {

File ppq_file(std::uint16_t ticks_per_quarter, std::vector<Track> tracks) {
    File file;
    file.format = tracks.size() == 1 ? 0 : 1;
    file.division.ticks_per_quarter = ticks_per_quarter;
    file.tracks = std::move(tracks);
    return file;
}

File smpte_file(std::uint8_t fps, std::uint8_t ticks_per_frame, std::vector<Track> tracks) {
    File file;
    file.division.smpte = true;
    file.division.frames_per_second = fps;
    file.division.ticks_per_frame = ticks_per_frame;
    file.tracks = std::move(tracks);
    return file;
}

}  // namespace

TEST_CASE("without tempo events the map runs at 120 BPM") {
    TempoMap map(ppq_file(480, {Track{{Event::note_on(0, 0, 60, 100), Event::end_of_track(960)}}}));
    CHECK(map.initial_bpm() == doctest::Approx(120.0));
    CHECK(map.seconds_at(0) == 0.0);
    CHECK(map.seconds_at(960) == doctest::Approx(1.0));
    CHECK(map.beats_at(960) == doctest::Approx(2.0));
    CHECK(map.beats_at(240) == doctest::Approx(0.5));
    REQUIRE(map.changes().size() == 1);
    CHECK(map.changes()[0].tick == 0);
    CHECK(map.changes()[0].microseconds_per_quarter == 500000);
}

TEST_CASE("a tempo change from 120 to 60 BPM at beat 4") {
    TempoMap map(ppq_file(
        480, {Track{{Event::tempo(0, 500000), Event::tempo(4 * 480, 1000000), Event::end_of_track(8 * 480)}}}));
    CHECK(map.initial_bpm() == doctest::Approx(120.0));
    CHECK(map.seconds_at(2 * 480) == doctest::Approx(1.0));
    CHECK(map.seconds_at(4 * 480) == doctest::Approx(2.0));
    CHECK(map.seconds_at(6 * 480) == doctest::Approx(4.0));  // 2 s for 4 beats at 120, 2 s for 2 at 60
    CHECK(map.seconds_at(6 * 480 + 240) == doctest::Approx(4.5));
    CHECK(map.beats_at(6 * 480) == doctest::Approx(6.0));
    REQUIRE(map.changes().size() == 2);
    CHECK(map.changes()[1].tick == 1920);
    CHECK(map.changes()[1].seconds == doctest::Approx(2.0));
}

TEST_CASE("format 1: tempo events of every track count") {
    Track conductor{{Event::tempo(0, 600000), Event::end_of_track(0)}};  // 100 BPM
    Track music{{Event::note_on(0, 0, 60, 100), Event::tempo(96, 300000), Event::end_of_track(192)}};
    TempoMap map(ppq_file(96, {conductor, music}));
    CHECK(map.initial_bpm() == doctest::Approx(100.0));
    CHECK(map.seconds_at(96) == doctest::Approx(0.6));
    CHECK(map.seconds_at(192) == doctest::Approx(0.9));
}

TEST_CASE("the first tempo at tick 0 replaces the default, the last of one tick wins") {
    TempoMap map(ppq_file(100, {Track{{Event::tempo(0, 1000000), Event::tempo(0, 250000), Event::tempo(100, 2000000),
                                       Event::tempo(100, 500000), Event::end_of_track(200)}}}));
    CHECK(map.initial_bpm() == doctest::Approx(240.0));
    REQUIRE(map.changes().size() == 2);
    CHECK(map.seconds_at(100) == doctest::Approx(0.25));
    CHECK(map.seconds_at(200) == doctest::Approx(0.75));
}

TEST_CASE("a tempo change after tick 0 keeps 120 BPM until it") {
    TempoMap map(ppq_file(480, {Track{{Event::tempo(480, 1000000), Event::end_of_track(960)}}}));
    CHECK(map.initial_bpm() == doctest::Approx(120.0));
    CHECK(map.seconds_at(480) == doctest::Approx(0.5));
    CHECK(map.seconds_at(960) == doctest::Approx(1.5));
}

TEST_CASE("malformed tempo events built in memory are ignored") {
    Event bad = Event::tempo(0, 1000000);
    bad.data.pop_back();
    Event zero = Event::tempo(0, 1000000);
    zero.data = {0, 0, 0};
    TempoMap map(ppq_file(480, {Track{{bad, zero, Event::end_of_track(0)}}}));
    CHECK(map.initial_bpm() == doctest::Approx(120.0));
}

TEST_CASE("SMPTE ticks are real time, beats at a nominal 120 BPM") {
    TempoMap map(smpte_file(25, 40, {Track{{Event::tempo(0, 1000000), Event::end_of_track(2000)}}}));
    CHECK(map.seconds_at(1000) == doctest::Approx(1.0));
    CHECK(map.seconds_at(2500) == doctest::Approx(2.5));
    CHECK(map.beats_at(1000) == doctest::Approx(2.0));
    CHECK(map.initial_bpm() == doctest::Approx(120.0));

    TempoMap drop_frame(smpte_file(29, 100, {}));
    CHECK(drop_frame.seconds_at(2997) == doctest::Approx(1.0));  // 29.97 frames of 100 ticks
    TempoMap thirty(smpte_file(30, 10, {}));
    CHECK(thirty.seconds_at(300) == doctest::Approx(1.0));
}

TEST_CASE("a division of zero built in memory does not divide by zero") {
    TempoMap map(ppq_file(0, {}));
    CHECK(map.beats_at(10) == doctest::Approx(10.0));
    TempoMap smpte(smpte_file(0, 0, {}));
    CHECK(smpte.seconds_at(10) == 0.0);
}
