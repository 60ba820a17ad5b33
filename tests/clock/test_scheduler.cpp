// The real-time scheduler on its own, fed hand-made plans through a StepSource: what it
// plays on each step, each miss policy, panic, tempo changes, note ends, clock ticks. No
// network. Outcomes are read by step number (the step the scheduler was playing when it
// sent), never by wall time, so a slow or loaded machine gives the same results.
#include "kanade/clock/scheduler.hpp"

#include "clock/hand_plans.hpp"
#include "clock/step_recorder.hpp"

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace kanade;
using namespace kanade::clock;
using kanade::test::HandPlans;
using kanade::test::Sent;
using kanade::test::StepRecorder;

namespace {

SchedulerConfig fast(double bpm = 600) {  // 25 ms steps
    SchedulerConfig config;
    config.bpm = bpm;
    config.realtime_priority = false;
    return config;
}

// Runs until the scheduler has played `steps` steps (or 20 s pass), then stops it.
void play_until(Scheduler& scheduler, std::int64_t steps) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (scheduler.current_step() < steps && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    scheduler.stop();
    REQUIRE(scheduler.current_step() >= steps);
}

struct Rig {
    explicit Rig(SchedulerConfig config = fast(), std::size_t sessions = 1)
        : source(sessions), scheduler(config, source, step_clock, {&output}) {
        output.attach(scheduler);
    }
    HandPlans source;
    StepClock step_clock;
    StepRecorder output;
    Scheduler scheduler;
};

}  // namespace

TEST_CASE("each plan plays on its step, and each note ends after its length") {
    Rig rig;
    rig.source.plan(0, 1, {{60, 2}, {64, 1}});
    rig.source.plan(0, 4, {{67, 3}});
    rig.scheduler.start();
    play_until(rig.scheduler, 10);
    auto on = rig.output.notes(true), off = rig.output.notes(false);
    REQUIRE(on.size() == 3);
    CHECK(on[0].step == 1);
    CHECK(on[0].message.bytes[1] == 60);
    CHECK(on[1].step == 1);
    CHECK(on[2].step == 4);
    REQUIRE(off.size() == 3);
    CHECK(off[0].step == 2);  // 64, one step
    CHECK(off[0].message.bytes[1] == 64);
    CHECK(off[1].step == 3);                       // 60, two steps
    CHECK(off[2].step == 7);                       // 67, three steps
    CHECK(rig.scheduler.stats().late_steps == 0);  // nobody expected plans for the empty steps
    CHECK(rig.scheduler.stats().notes == 3);
}

TEST_CASE("a pitch struck again is ended first, and no note outlasts max_note_steps") {
    auto config = fast();
    config.max_note_steps = 4;
    Rig rig(config);
    rig.source.plan(0, 2, {{60, 100}});  // asks for 100 steps: 4 at most
    rig.source.plan(0, 3, {{62, 8}});
    rig.source.plan(0, 4, {{62, 8}});  // struck again while sounding
    rig.scheduler.start();
    play_until(rig.scheduler, 12);
    auto on = rig.output.notes(true), off = rig.output.notes(false);
    auto find = [](const std::vector<Sent>& sent, int pitch, std::int64_t step) {
        for (const auto& s : sent)
            if (s.message.bytes[1] == pitch && s.step == step) return true;
        return false;
    };
    CHECK(find(on, 60, 2));
    CHECK(find(off, 60, 6));  // clamped to 4 steps
    CHECK(find(on, 62, 3));
    CHECK(find(off, 62, 4));  // re-strike: off, then on, on step 4
    CHECK(find(on, 62, 4));
    CHECK(find(off, 62, 8));
    // Nothing left sounding after stop().
    CHECK(on.size() == off.size());
}

TEST_CASE("miss policies: rest plays nothing, hold keeps notes sounding, repeat plays the last plan again") {
    for (auto policy : {MissPolicy::rest, MissPolicy::hold, MissPolicy::repeat}) {
        CAPTURE(static_cast<int>(policy));
        auto config = fast();
        config.miss_policy = policy;
        Rig rig(config);
        rig.source.plan(0, 2, {{60, 2}});  // sounds steps 2..3, ends on 4
        rig.source.plan(0, 5, {});         // steps 3 and 4 have no plan: late
        rig.source.plan(0, 6, {});
        rig.source.expect(0, true);
        rig.scheduler.start();
        play_until(rig.scheduler, 10);
        rig.source.expect(0, false);
        auto on = rig.output.notes(true), off = rig.output.notes(false);
        // Steps 0, 1, 3, 4 and 7.. had no plan while one was expected.
        CHECK(rig.scheduler.stats().late_steps >= 5);
        REQUIRE(!on.empty());
        CHECK(on[0].step == 2);
        if (policy == MissPolicy::rest) {
            CHECK(on.size() == 1);
            REQUIRE(off.size() == 1);
            CHECK(off[0].step == 4);
        } else if (policy == MissPolicy::hold) {
            CHECK(on.size() == 1);
            REQUIRE(off.size() == 1);
            CHECK(off[0].step == 6);  // held through the two missing steps
        } else {
            // Step 3 and 4 repeat step 2's plan: the note is struck again on each.
            REQUIRE(on.size() >= 3);
            CHECK(on[1].step == 3);
            CHECK(on[2].step == 4);
            CHECK(off.size() == on.size());
        }
    }
}

TEST_CASE("panic ends every sounding note at once and sends all-notes-off on every channel") {
    Rig rig(fast(), 2);
    rig.scheduler.set_session_channel(1, 9);
    rig.source.plan(0, 1, {{60, 30}});
    rig.source.plan(1, 1, {{40, 30}});
    rig.scheduler.start();
    while (rig.scheduler.current_step() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    rig.scheduler.panic();
    play_until(rig.scheduler, 8);
    auto off = rig.output.notes(false);
    REQUIRE(off.size() == 2);
    CHECK(off[0].step < 10);  // not at the notes' end (step 31)
    CHECK(off[0].step == off[1].step);
    std::array<bool, 16> all_off{};
    for (const auto& s : rig.output.sent())
        if (s.message.command() == 0xB0 && s.message.bytes[1] == 123) all_off[s.message.channel()] = true;
    for (bool channel : all_off) CHECK(channel);
    auto on = rig.output.notes(true);
    REQUIRE(on.size() == 2);
    CHECK(on[1].message.channel() == 9);
}

TEST_CASE("a tempo change re-anchors the grid: no step is skipped or doubled, the period follows") {
    Rig rig(fast(600));  // 25 ms steps
    rig.scheduler.start();
    while (rig.scheduler.current_step() < 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    rig.scheduler.set_tempo(300);  // 50 ms steps from the next step on
    while (rig.scheduler.current_step() < 8) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const auto step = rig.scheduler.current_step() + 2;
    CHECK(rig.scheduler.step_time(step + 1) - rig.scheduler.step_time(step) == 50'000'000);
    CHECK(rig.scheduler.tempo() == doctest::Approx(300));
    rig.scheduler.set_tempo(5000);  // out of range: clamped to 400
    CHECK(rig.scheduler.tempo() == doctest::Approx(400));
    play_until(rig.scheduler, 12);
    // The step clock saw every step once, in order.
    CHECK(rig.step_clock.next_step() == rig.scheduler.current_step());
    CHECK(rig.scheduler.stats().steps == static_cast<std::uint64_t>(rig.scheduler.current_step()));
}

TEST_CASE("MIDI clock out: Start first, then 24 ticks a beat, each step's ticks sent on that step") {
    auto config = fast(600);
    config.send_clock = true;  // 4 steps a beat: 6 ticks a step
    Rig rig(config);
    REQUIRE(rig.scheduler.sends_clock());
    rig.scheduler.start();
    play_until(rig.scheduler, 8);
    auto sent = rig.output.sent();
    REQUIRE(!sent.empty());
    CHECK(sent.front().message.status() == 0xFA);
    std::array<int, 64> ticks_per_step{};
    for (const auto& s : sent)
        if (s.message.status() == 0xF8 && s.step < 64) ++ticks_per_step[static_cast<std::size_t>(s.step)];
    // A step's later ticks are sent after the scheduler moved its step on: count by pairs.
    const auto last = rig.scheduler.current_step();
    for (std::int64_t step = 1; step + 1 < last; ++step) {
        CAPTURE(step);
        CHECK(ticks_per_step[static_cast<std::size_t>(step)] == 6);
    }
    CHECK(sent.back().message.status() == 0xFC);  // Stop when the scheduler stops
}

TEST_CASE("stopped, the scheduler ends its notes and plays nothing, the step clock says so") {
    Rig rig;
    rig.source.plan(0, 1, {{60, 30}});
    rig.scheduler.start();
    while (rig.scheduler.current_step() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    rig.scheduler.set_playing(false);
    while (rig.step_clock.playing()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const auto stopped_at = rig.scheduler.current_step();
    rig.source.plan(0, stopped_at + 3, {{62, 1}});  // its step passes while stopped
    play_until(rig.scheduler, stopped_at + 6);
    auto on = rig.output.notes(true), off = rig.output.notes(false);
    REQUIRE(on.size() == 1);
    REQUIRE(off.size() == 1);
    CHECK(off[0].step <= stopped_at);
}

TEST_CASE("a plan carrying a player's note's arrival is timed once, when it sounds: player to machine") {
    auto config = fast();
    config.miss_policy = MissPolicy::repeat;  // a replay of the answer is no second answer
    Rig rig(config);
    rig.source.plan(0, 2, {{60, 1}});  // kanade's own, answering nobody
    StepPlan answer;
    answer.step = 4;
    answer.add({62, 100, 1});
    answer.heard_ns = answer.answered_ns = monotonic_ns();
    REQUIRE(rig.source.plans(0).push(answer));
    rig.source.plan(0, 8, {});  // steps 5..7 expected and missing: step 4's plan repeats
    rig.source.expect(0, true);
    rig.scheduler.start();
    play_until(rig.scheduler, 10);
    rig.source.expect(0, false);
    CHECK(rig.output.notes(true).size() >= 3);  // played, and repeated
    for (const auto& timed : {rig.scheduler.stats().player_to_step, rig.scheduler.stats().player_to_machine}) {
        CHECK(timed.count == 1);
        CHECK(timed.p50_ms > 0);  // sent after it was heard
        CHECK(timed.p50_ms == timed.max_ms);
    }
}

TEST_CASE("plans taken back by a re-plan are skipped for the ones made again, which play on their steps") {
    auto config = fast();
    config.miss_policy = MissPolicy::rest;
    Rig rig(config);
    // Made first: steps 2..4 (a rest, a note, a note); then the player came in and steps 3
    // and 4 were made again (epoch 1), queued behind the old ones.
    rig.source.plan(0, 2, {{60, 1}});
    rig.source.plan(0, 3, {{62, 1}});
    rig.source.plan(0, 4, {{64, 1}});
    rig.source.plan(0, 3, {{65, 1}}, 1);
    rig.source.plan(0, 4, {{67, 1}}, 1);
    rig.source.plan(0, 6, {{69, 1}}, 1);
    rig.source.take_back(0, 1);
    rig.scheduler.start();
    play_until(rig.scheduler, 8);
    auto on = rig.output.notes(true);
    // Step 2's old plan is void too: the source took back everything older than epoch 1.
    REQUIRE(on.size() == 3);
    CHECK(on[0].step == 3);
    CHECK(on[0].message.bytes[1] == 65);
    CHECK(on[1].step == 4);
    CHECK(on[1].message.bytes[1] == 67);
    CHECK(on[2].step == 6);
    CHECK(on[2].message.bytes[1] == 69);
}
