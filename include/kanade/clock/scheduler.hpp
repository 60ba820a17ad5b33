// The real-time scheduler: one high-priority thread that owns the clock. At each grid
// step's absolute deadline (clock_nanosleep) it sends the notes that are due, taking
// the step's plan from each session's lock-free queue of a StepSource, and ends notes
// whose time is up. It never locks, allocates or waits on a planner: a plan that is not
// ready at its deadline gets the miss policy (rest, hold or repeat) and is counted.
//
// Data flows one way through it: plans in (StepSource), notes out (NoteOutput), and the
// step it plays next published on a StepClock for whoever plans ahead. Other threads
// steer it only through atomics (tempo, play/stop, panic, phase) and the human-input queue.
//
// Its grid follows one of three leaders: its own tempo, an external MIDI clock (through
// align_step_boundary), or a shared BeatTimeline (Ableton Link), which then decides where
// every step starts, the tempo and, when shared, the transport.
#pragma once

#include "kanade/clock/beat_timeline.hpp"
#include "kanade/clock/latency_ring.hpp"
#include "kanade/clock/monotonic.hpp"
#include "kanade/clock/note_output.hpp"
#include "kanade/clock/scheduler_config.hpp"
#include "kanade/clock/spsc_queue.hpp"
#include "kanade/clock/step_clock.hpp"
#include "kanade/clock/step_source.hpp"

#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace kanade::clock {

struct SchedulerStats {
    std::uint64_t steps = 0;       // steps played since start
    std::uint64_t late_steps = 0;  // steps whose plan was not ready (per session)
    std::uint64_t notes = 0;
    std::uint64_t dropped_human = 0;
    double timing_p50_ms = 0, timing_p99_ms = 0, timing_max_ms = 0;  // wake-up minus deadline
    // Free and accompany play, from a player's note's arrival: to the first step planned
    // with it in the window (the system's latency: a step and an inference at most), and
    // to kanade's first note planned with it (the music's answer; it may rest first).
    LatencySummary player_to_step, player_to_machine;
    bool realtime = false;
    std::uint64_t timeline_relocks = 0;  // times the grid found its place on a shared timeline
};

class Scheduler {
public:
    // `source`, `step_clock` and `timeline` must outlive the scheduler; source's session
    // count is fixed. With a timeline, it leads the grid and align_step_boundary is ignored.
    Scheduler(const SchedulerConfig& config, StepSource& source, StepClock& step_clock,
              std::vector<NoteOutput*> outputs, BeatTimeline* timeline = nullptr);
    ~Scheduler();

    void start();
    void stop();

    // From any thread. Under a timeline, tempo and (shared) transport changes go to the
    // session, and tempo() is the session's.
    void set_tempo(double bpm);
    double tempo() const { return bpm_.load(); }
    void set_playing(bool playing);
    bool playing() const { return playing_.load(); }
    void panic();  // all notes off now
    void set_miss_policy(MissPolicy policy) { miss_policy_.store(static_cast<int>(policy)); }
    void set_session_channel(int session, int channel);  // 0..15
    // An external clock says a grid step boundary happened at `time_ns`: the grid's phase
    // moves halfway towards it at the next step (a gentle phase lock; see MidiClockFollower).
    void align_step_boundary(std::int64_t time_ns) { alignment_ns_.store(time_ns, std::memory_order_release); }
    // Whether MIDI clock goes out (false when the grid does not divide 24 ticks a beat).
    bool sends_clock() const { return clock_ticks_per_step_ > 0; }

    // The input thread's side: a player's message and the grid step it came on (step_at
    // its time), recorded and passed to outputs. RT-safe.
    bool push_human(const midi::Message& message, std::int64_t step);
    // The grid step nearest to a CLOCK_MONOTONIC time (for quantising a player's notes).
    std::int64_t step_at(std::int64_t time_ns) const;
    // When a grid step is due (CLOCK_MONOTONIC ns), as the grid stands now.
    std::int64_t step_time(std::int64_t step) const;
    std::int64_t current_step() const { return next_step_.load(); }

    SchedulerStats stats() const;
    const std::string& realtime_report() const { return realtime_report_; }

private:
    static constexpr int max_sessions = 16;
    struct Sounding {
        std::int64_t end_step = -1;  // -1: silent
    };
    struct SessionState {
        std::array<Sounding, 128> notes;
        StepPlan last_plan;
        std::atomic<int> channel{0};
    };

    void run();
    void play_step(std::int64_t step);
    void end_notes(SessionState& state, std::int64_t step, bool all);
    void send_machine(const midi::Message& message, std::int64_t step);
    void send_clock(const midi::Message& message);
    void send_transport(bool playing, std::int64_t steps_played, std::int64_t time_ns);
    void publish_timing(std::int64_t anchor_time, std::int64_t anchor_step, std::int64_t period);
    std::int64_t timeline_step_time(std::int64_t step);
    void send_to_timeline(std::int64_t now);
    struct Grid {
        std::int64_t anchor_time, anchor_step, period;
    };
    Grid read_timing() const;

    SchedulerConfig config_;
    StepSource& source_;
    StepClock& step_clock_;
    std::vector<NoteOutput*> outputs_;
    BeatTimeline* timeline_;
    // Under a timeline: our step s is its step s + timeline_offset_ (its beat times
    // steps_per_beat), a whole number of bars; scheduler thread only.
    std::int64_t timeline_offset_ = 0;
    bool timeline_locked_ = false;
    std::atomic<double> tempo_request_{0};  // for the timeline; 0: none
    std::atomic<int> playing_request_{-1};  // for the timeline; -1: none, else 0/1
    std::atomic<std::uint64_t> timeline_relocks_{0};
    std::array<SessionState, max_sessions> sessions_;
    struct HumanMessage {
        midi::Message message;
        std::int64_t step = 0;
    };
    clock::SpscQueue<HumanMessage, 1024> human_;

    std::atomic<double> bpm_;
    std::atomic<bool> playing_{true};
    std::atomic<bool> panic_{false};
    std::atomic<bool> stopping_{false};
    std::atomic<int> miss_policy_;
    std::atomic<std::int64_t> next_step_{0};
    std::atomic<std::int64_t> alignment_ns_{0};  // 0: none pending
    int clock_ticks_per_step_ = 0;               // 0: no clock out
    // Seqlock over the step grid (anchor time, anchor step, period) for step_at().
    std::atomic<std::uint64_t> timing_version_{0};
    std::atomic<std::int64_t> anchor_time_{0}, anchor_step_{0}, period_ns_{1};

    std::atomic<std::uint64_t> steps_{0}, late_steps_{0}, notes_{0}, dropped_human_{0};
    LatencyRing<4096> lateness_;                            // wake-up minus deadline, per step played
    LatencyRing<1024> player_to_step_, player_to_machine_;  // see SchedulerStats
    bool realtime_ = false;
    std::string realtime_report_;  // written once by the thread, before reported_
    std::atomic<bool> reported_{false};
    std::thread thread_;
};

}  // namespace kanade::clock
