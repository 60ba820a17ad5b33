// Following an external MIDI beat clock: tempo from the ticks, transport, Song Position,
// and which ticks fall on our grid's step boundaries.
#include "kanade/clock/midi_clock_follower.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace kanade;
using namespace kanade::clock;

namespace {

midi::Message realtime(std::uint8_t status, std::int64_t time_ns) { return midi::Message::realtime(status, time_ns); }

midi::Message song_position(int sixteenths) {
    auto message = midi::Message::realtime(0xF2, 0);
    message.bytes[1] = static_cast<std::uint8_t>(sixteenths & 0x7F);
    message.bytes[2] = static_cast<std::uint8_t>((sixteenths >> 7) & 0x7F);
    message.size = 3;
    return message;
}

std::int64_t tick_ns(double bpm) { return static_cast<std::int64_t>(std::llround(60e9 / (24 * bpm))); }

}  // namespace

TEST_CASE("the tempo follows the ticks and settles on the master's tempo") {
    MidiClockFollower follower;
    CHECK(follower.bpm() == 0);
    std::int64_t time = 1'000'000'000;
    for (int i = 0; i < 200; ++i, time += tick_ns(100)) follower.feed(realtime(0xF8, time));
    CHECK(follower.bpm() == doctest::Approx(100).epsilon(1e-6));
    // A change of tempo is followed smoothly, not at once.
    auto update = follower.feed(realtime(0xF8, time - tick_ns(100) + tick_ns(150)));
    REQUIRE(update.bpm);
    CHECK(*update.bpm > 100);
    CHECK(*update.bpm < 110);
    time += tick_ns(150) - tick_ns(100);
    for (int i = 0; i < 200; ++i) follower.feed(realtime(0xF8, time += tick_ns(150)));
    CHECK(follower.bpm() == doctest::Approx(150).epsilon(1e-3));
}

TEST_CASE("a gap or a burst of ticks does not move the tempo") {
    MidiClockFollower follower;
    std::int64_t time = 1'000'000'000;
    for (int i = 0; i < 50; ++i, time += tick_ns(120)) follower.feed(realtime(0xF8, time));
    const double before = follower.bpm();
    auto after_gap = follower.feed(realtime(0xF8, time + 5'000'000'000LL));  // the master paused 5 s
    CHECK_FALSE(after_gap.bpm);
    auto burst = follower.feed(realtime(0xF8, time + 5'000'000'000LL + 10'000));  // 10 us later
    CHECK_FALSE(burst.bpm);
    CHECK(follower.bpm() == before);
}

TEST_CASE("Start, Stop and Continue set the transport, step boundaries come every 6 ticks from Start") {
    MidiClockFollower follower;  // 4 steps per beat: 6 ticks a step
    std::int64_t time = 1'000'000'000;
    CHECK_FALSE(follower.feed(realtime(0xF8, time)).step_boundary_ns);  // stopped: no boundaries
    auto start = follower.feed(realtime(0xFA, time += 1000));
    REQUIRE(start.playing);
    CHECK(*start.playing);
    std::vector<std::int64_t> boundary_steps;
    std::vector<int> boundary_ticks;
    for (int tick = 0; tick < 25; ++tick) {
        auto update = follower.feed(realtime(0xF8, time += tick_ns(120)));
        if (update.step_boundary_ns) {
            CHECK(*update.step_boundary_ns == time);
            boundary_steps.push_back(update.song_step);
            boundary_ticks.push_back(tick);
        }
    }
    CHECK(boundary_ticks == std::vector<int>{0, 6, 12, 18, 24});  // the first tick after Start is the downbeat
    CHECK(boundary_steps == std::vector<std::int64_t>{0, 1, 2, 3, 4});

    auto stop = follower.feed(realtime(0xFC, time += 1000));
    REQUIRE(stop.playing);
    CHECK_FALSE(*stop.playing);
    CHECK(follower.song_tick() == 24);
    // Continue resumes where it stopped: the next tick is tick 24 again (a boundary, step 4).
    follower.feed(realtime(0xFB, time += 1000));
    auto resumed = follower.feed(realtime(0xF8, time += tick_ns(120)));
    REQUIRE(resumed.step_boundary_ns);
    CHECK(resumed.song_step == 4);
}

TEST_CASE("Song Position moves the song while stopped and decides which ticks are boundaries") {
    ClockFollowerConfig config;
    config.steps_per_beat = 2;  // 12 ticks a step
    MidiClockFollower follower(config);
    follower.feed(song_position(3));  // 3 sixteenths = 18 ticks: half way into step 1
    CHECK(follower.song_tick() == 18);
    follower.feed(realtime(0xFB, 1000));
    std::int64_t time = 1'000'000'000;
    std::vector<int> boundary_ticks;
    for (int tick = 0; tick < 20; ++tick)
        if (follower.feed(realtime(0xF8, time += tick_ns(120))).step_boundary_ns) boundary_ticks.push_back(tick);
    CHECK(boundary_ticks == std::vector<int>{6, 18});  // song ticks 24 and 36
    // While playing, Song Position is ignored, as the MIDI spec asks.
    const auto before = follower.song_tick();
    follower.feed(song_position(100));
    CHECK(follower.song_tick() == before);
    // A 14-bit position uses both data bytes.
    follower.feed(realtime(0xFC, time));
    follower.feed(song_position(1000));
    CHECK(follower.song_tick() == 6000);
}

TEST_CASE("a grid that does not divide 24 ticks follows the tempo without phase locking") {
    ClockFollowerConfig config;
    config.steps_per_beat = 5;
    MidiClockFollower follower(config);
    CHECK_FALSE(follower.phase_locking());
    follower.feed(realtime(0xFA, 0));
    std::int64_t time = 1'000'000'000;
    bool any_boundary = false;
    for (int i = 0; i < 48; ++i)
        any_boundary |= follower.feed(realtime(0xF8, time += tick_ns(90))).step_boundary_ns.has_value();
    CHECK_FALSE(any_boundary);
    CHECK(follower.bpm() == doctest::Approx(90).epsilon(1e-6));
}
