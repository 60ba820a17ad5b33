// The scheduler under a shared beat timeline (what Ableton Link gives it), here a fake
// one the test moves by hand: each step starts where the timeline puts it, in the same
// place in the bar; the timeline's tempo, jumps and transport lead, and our own tempo and
// transport changes go to it. Checked on the grid the scheduler publishes (step_time),
// which does not depend on how late a loaded machine wakes.
#include "kanade/clock/scheduler.hpp"

#include "clock/hand_plans.hpp"
#include "clock/step_recorder.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <mutex>
#include <thread>

using namespace kanade;
using namespace kanade::clock;
using kanade::test::HandPlans;
using kanade::test::StepRecorder;

namespace {

// beat(t) = origin_beat + (t - origin_ns) * bpm / 60 s. A mutex is fine in a test's fake.
class FakeTimeline final : public BeatTimeline {
public:
    FakeTimeline(double bpm, bool alone, bool shared_transport)
        : bpm_(bpm), alone_(alone), shared_(shared_transport), origin_ns_(monotonic_ns()) {}

    Moment at(std::int64_t time_ns) override {
        std::lock_guard lock(mutex_);
        Moment moment{beat_locked(time_ns), bpm_, std::nullopt};
        if (shared_) moment.playing = playing_;
        return moment;
    }
    std::int64_t time_of(double beat) override {
        std::lock_guard lock(mutex_);
        return origin_ns_ + std::llround((beat - origin_beat_) * 60e9 / bpm_);
    }
    void set_tempo(double bpm, std::int64_t time_ns) override {
        change_tempo(bpm, time_ns);
        tempo_requests_.fetch_add(1);
    }
    void set_playing(bool playing, std::int64_t) override {
        std::lock_guard lock(mutex_);
        if (shared_) playing_ = playing;
    }
    void start_at(double beat, std::int64_t time_ns) override {
        std::lock_guard lock(mutex_);
        started_at_beat_ = beat;
        if (!alone_) return;
        origin_beat_ = beat;
        origin_ns_ = time_ns;
    }

    // What another member of the session does.
    void change_tempo(double bpm, std::int64_t time_ns) {
        std::lock_guard lock(mutex_);
        origin_beat_ = beat_locked(time_ns);
        origin_ns_ = time_ns;
        bpm_ = bpm;
    }
    void jump(double beats) {
        std::lock_guard lock(mutex_);
        origin_beat_ += beats;
    }
    void play(bool playing) {
        std::lock_guard lock(mutex_);
        playing_ = playing;
    }
    double beat_at(std::int64_t time_ns) {
        std::lock_guard lock(mutex_);
        return beat_locked(time_ns);
    }
    double bpm() {
        std::lock_guard lock(mutex_);
        return bpm_;
    }
    std::optional<double> started_at_beat() {
        std::lock_guard lock(mutex_);
        return started_at_beat_;
    }
    int tempo_requests() const { return tempo_requests_.load(); }

private:
    double beat_locked(std::int64_t time_ns) const {
        return origin_beat_ + static_cast<double>(time_ns - origin_ns_) * bpm_ / 60e9;
    }
    std::mutex mutex_;
    double bpm_;
    const bool alone_, shared_;
    bool playing_ = true;
    std::int64_t origin_ns_;
    double origin_beat_ = 0;
    std::optional<double> started_at_beat_;
    std::atomic<int> tempo_requests_{0};
};

constexpr int steps_per_beat = 4, steps_per_bar = 16;

struct TimelineRig {
    TimelineRig(double bpm, bool alone, bool shared_transport = false)
        : timeline(bpm, alone, shared_transport), scheduler(config(), source, step_clock, {&output}, &timeline) {
        output.attach(scheduler);
    }
    static SchedulerConfig config() {
        SchedulerConfig config;
        config.bpm = 120;  // the timeline's tempo wins
        config.steps_per_beat = steps_per_beat;
        config.beats_per_bar = 4;
        config.realtime_priority = false;
        return config;
    }
    void wait_for_step(std::int64_t step) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (scheduler.current_step() < step && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        REQUIRE(scheduler.current_step() >= step);
    }
    // The step the scheduler plays next, on the timeline: its place there, in timeline steps.
    struct Placed {
        std::int64_t step;
        double timeline_step;
    };
    Placed next_step_placed() {
        for (;;) {
            const auto step = scheduler.current_step();
            const auto time = scheduler.step_time(step);
            if (scheduler.current_step() == step) return {step, timeline.beat_at(time) * steps_per_beat};
        }
    }
    // The published grid puts our next step on a timeline step, in its place in the bar.
    void check_on_grid() {
        const auto placed = next_step_placed();
        CAPTURE(placed.step);
        CAPTURE(placed.timeline_step);
        const double nearest = std::round(placed.timeline_step);
        CHECK(std::abs(placed.timeline_step - nearest) < 1e-3);
        const auto place = [](std::int64_t step) { return ((step % steps_per_bar) + steps_per_bar) % steps_per_bar; };
        CHECK(place(static_cast<std::int64_t>(nearest)) == place(placed.step));
    }

    FakeTimeline timeline;
    HandPlans source{1};
    StepClock step_clock;
    StepRecorder output;
    Scheduler scheduler;
};

}  // namespace

TEST_CASE("under a shared timeline each step starts on the timeline's grid, in its place in the bar") {
    TimelineRig rig(600, /*alone=*/true);  // 25 ms steps
    rig.source.plan(0, 0, {{60, 1}});
    rig.scheduler.start();
    // Alone, the session's beat 0 moves to our first step: no wait for a bar.
    REQUIRE(rig.timeline.started_at_beat());
    CHECK(*rig.timeline.started_at_beat() == 0);
    for (std::int64_t step = 2; step <= 12; step += 2) {
        rig.wait_for_step(step);
        rig.check_on_grid();
    }
    CHECK(rig.scheduler.tempo() == doctest::Approx(600));
    rig.scheduler.stop();
    const auto on = rig.output.notes(true);
    REQUIRE(on.size() == 1);
    CHECK(on[0].step == 0);
    CHECK(rig.scheduler.stats().timeline_relocks == 1);
}

TEST_CASE("joining a session whose bar is elsewhere, the grid waits for its place in the Link bar") {
    TimelineRig rig(600, /*alone=*/false);  // the others' timeline stays: we are 5.3 steps into their bar
    rig.timeline.jump(5.3 / steps_per_beat - rig.timeline.beat_at(monotonic_ns()));
    rig.scheduler.start();
    rig.wait_for_step(3);
    rig.check_on_grid();
    CHECK(rig.scheduler.stats().timeline_relocks == 1);
}

TEST_CASE("the timeline's tempo leads, and a tempo asked of the scheduler goes to the timeline") {
    TimelineRig rig(600, true);
    rig.scheduler.start();
    rig.wait_for_step(4);
    rig.timeline.change_tempo(750, monotonic_ns());  // another member speeds up: 20 ms steps
    rig.wait_for_step(rig.scheduler.current_step() + 3);
    CHECK(rig.scheduler.tempo() == doctest::Approx(750));
    rig.check_on_grid();
    const auto step = rig.scheduler.current_step();
    CHECK(rig.scheduler.step_time(step + 1) - rig.scheduler.step_time(step) == doctest::Approx(20e6).epsilon(1e-4));

    rig.scheduler.set_tempo(300);  // OSC or a knob: the session's tempo changes, then ours
    rig.wait_for_step(rig.scheduler.current_step() + 3);
    CHECK(rig.timeline.tempo_requests() == 1);
    CHECK(rig.timeline.bpm() == doctest::Approx(300));
    CHECK(rig.scheduler.tempo() == doctest::Approx(300));
    rig.check_on_grid();
    CHECK(rig.scheduler.stats().timeline_relocks == 1);  // tempo changes keep the grid's place
}

TEST_CASE("when the timeline jumps under it, the grid finds its place in the bar again") {
    TimelineRig rig(600, true);
    rig.scheduler.start();
    rig.wait_for_step(4);
    rig.timeline.jump(0.55);                               // 2.2 steps: a peer's phase took over
    rig.wait_for_step(rig.scheduler.current_step() + 20);  // at most a bar's wait, then on
    rig.check_on_grid();
    CHECK(rig.scheduler.stats().timeline_relocks == 2);
}

TEST_CASE("with a shared transport the timeline starts and stops the scheduler, and our stop goes to it") {
    TimelineRig rig(600, true, /*shared_transport=*/true);
    rig.scheduler.start();
    rig.wait_for_step(2);
    CHECK(rig.scheduler.playing());
    rig.timeline.play(false);  // another member pressed stop
    rig.wait_for_step(rig.scheduler.current_step() + 2);
    CHECK_FALSE(rig.scheduler.playing());
    rig.timeline.play(true);
    rig.wait_for_step(rig.scheduler.current_step() + 2);
    CHECK(rig.scheduler.playing());
    rig.scheduler.set_playing(false);  // our stop: the session stops, and stays stopped
    rig.wait_for_step(rig.scheduler.current_step() + 3);
    CHECK_FALSE(rig.scheduler.playing());
    CHECK_FALSE(rig.timeline.at(monotonic_ns()).playing.value_or(true));
}
