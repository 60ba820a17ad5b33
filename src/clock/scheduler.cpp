#include "kanade/clock/scheduler.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <pthread.h>
#include <sched.h>
#include <stdexcept>

namespace kanade::clock {

MissPolicy parse_miss_policy(const std::string& text) {
    if (text == "rest") return MissPolicy::rest;
    if (text == "hold") return MissPolicy::hold;
    if (text == "repeat") return MissPolicy::repeat;
    throw std::invalid_argument("unknown miss policy '" + text + "' (expected rest, hold or repeat)");
}

const char* miss_policy_name(MissPolicy policy) {
    switch (policy) {
        case MissPolicy::rest: return "rest";
        case MissPolicy::hold: return "hold";
        case MissPolicy::repeat: return "repeat";
    }
    return "rest";
}

namespace {

std::int64_t step_period_ns(double bpm, int steps_per_beat) {
    return static_cast<std::int64_t>(std::llround(60e9 / (bpm * steps_per_beat)));
}

std::int64_t floor_mod(std::int64_t value, std::int64_t divisor) { return ((value % divisor) + divisor) % divisor; }

// Like sleep_until_ns, but wakes every 50 ms to see whether the thread is asked to stop
// (a wait for a shared timeline's next bar can be seconds long).
void sleep_until_or_stop(std::int64_t deadline_ns, const std::atomic<bool>& stopping) {
    constexpr std::int64_t slice = 50'000'000;
    while (deadline_ns - monotonic_ns() > slice && !stopping.load(std::memory_order_relaxed))
        sleep_until_ns(monotonic_ns() + slice);
    sleep_until_ns(deadline_ns);
}

}  // namespace

Scheduler::Scheduler(const SchedulerConfig& config, StepSource& source, StepClock& step_clock,
                     std::vector<NoteOutput*> outputs, BeatTimeline* timeline)
    : config_(config),
      source_(source),
      step_clock_(step_clock),
      outputs_(std::move(outputs)),
      timeline_(timeline),
      bpm_(config.bpm),
      miss_policy_(static_cast<int>(config.miss_policy)) {
    if (source.session_count() > max_sessions) throw std::invalid_argument("at most 16 sessions");
    if (config.send_clock && config.steps_per_beat > 0 && 24 % config.steps_per_beat == 0)
        clock_ticks_per_step_ = 24 / config.steps_per_beat;
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start() {
    stopping_ = false;
    reported_ = false;
    thread_ = std::thread([this] { run(); });
    // Wait until the thread reports whether it got real-time priority.
    while (!reported_.load(std::memory_order_acquire)) std::this_thread::yield();
}

void Scheduler::stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    thread_.join();
}

void Scheduler::set_tempo(double bpm) {
    bpm = std::clamp(bpm, 10.0, 400.0);
    if (timeline_)
        tempo_request_.store(bpm);
    else
        bpm_.store(bpm);
}

void Scheduler::set_playing(bool playing) {
    playing_.store(playing);
    if (timeline_) playing_request_.store(playing ? 1 : 0);
}

void Scheduler::panic() { panic_.store(true); }

void Scheduler::set_session_channel(int session, int channel) {
    sessions_.at(static_cast<std::size_t>(session)).channel.store(channel & 0x0F);
}

bool Scheduler::push_human(const midi::Message& message, std::int64_t step) {
    if (human_.push({message, step})) return true;
    dropped_human_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

void Scheduler::publish_timing(std::int64_t anchor_time, std::int64_t anchor_step, std::int64_t period) {
    timing_version_.fetch_add(1, std::memory_order_acq_rel);  // odd: being written
    anchor_time_.store(anchor_time, std::memory_order_relaxed);
    anchor_step_.store(anchor_step, std::memory_order_relaxed);
    period_ns_.store(period, std::memory_order_relaxed);
    timing_version_.fetch_add(1, std::memory_order_release);
}

Scheduler::Grid Scheduler::read_timing() const {
    Grid grid;
    std::uint64_t before, after;
    do {
        before = timing_version_.load(std::memory_order_acquire);
        grid.anchor_time = anchor_time_.load(std::memory_order_relaxed);
        grid.anchor_step = anchor_step_.load(std::memory_order_relaxed);
        grid.period = period_ns_.load(std::memory_order_relaxed);
        after = timing_version_.load(std::memory_order_acquire);
    } while (before != after || (before & 1));
    return grid;
}

std::int64_t Scheduler::step_at(std::int64_t time_ns) const {
    const auto grid = read_timing();
    return grid.anchor_step +
           static_cast<std::int64_t>(std::llround(static_cast<double>(time_ns - grid.anchor_time) / grid.period));
}

std::int64_t Scheduler::step_time(std::int64_t step) const {
    const auto grid = read_timing();
    return grid.anchor_time + (step - grid.anchor_step) * grid.period;
}

void Scheduler::send_machine(const midi::Message& message, std::int64_t step) {
    for (auto* output : outputs_) output->machine(message, step);
}

void Scheduler::send_clock(const midi::Message& message) {
    for (auto* output : outputs_) output->clock(message);
}

// Start from the top, or Song Position + Continue from where the song is, as a
// sequencer that follows us expects; Stop when we stop.
void Scheduler::send_transport(bool playing, std::int64_t steps_played, std::int64_t time_ns) {
    if (!playing) {
        send_clock(midi::Message::realtime(0xFC, time_ns));
        return;
    }
    if (steps_played == 0) {
        send_clock(midi::Message::realtime(0xFA, time_ns));
        return;
    }
    const std::int64_t sixteenths = steps_played * 4 / config_.steps_per_beat;
    midi::Message position = midi::Message::realtime(0xF2, time_ns);
    position.bytes[1] = static_cast<std::uint8_t>(sixteenths & 0x7F);
    position.bytes[2] = static_cast<std::uint8_t>((sixteenths >> 7) & 0x7F);
    position.size = 3;
    send_clock(position);
    send_clock(midi::Message::realtime(0xFB, time_ns));
}

void Scheduler::end_notes(SessionState& state, std::int64_t step, bool all) {
    const int channel = state.channel.load(std::memory_order_relaxed);
    for (int pitch = 0; pitch < 128; ++pitch) {
        auto& sounding = state.notes[static_cast<std::size_t>(pitch)];
        if (sounding.end_step >= 0 && (all || sounding.end_step <= step)) {
            send_machine(midi::Message::note_off(channel, pitch, monotonic_ns()), step);
            sounding.end_step = -1;
        }
    }
}

void Scheduler::play_step(std::int64_t step) {
    const auto policy = static_cast<MissPolicy>(miss_policy_.load(std::memory_order_relaxed));
    for (std::size_t id = 0; id < source_.session_count(); ++id) {
        auto& state = sessions_[id];
        auto& queue = source_.plans(static_cast<int>(id));
        const int channel = state.channel.load(std::memory_order_relaxed);
        StepPlan plan;
        bool ready = false;
        const auto epoch = source_.plan_epoch(static_cast<int>(id));
        while (const auto* front = queue.peek()) {
            if (front->step < step || front->epoch < epoch) {  // stale, or taken back by a re-plan
                queue.pop(plan);
                continue;
            }
            if (front->step == step) ready = queue.pop(plan);
            break;
        }
        if (!ready && source_.expects_plans(static_cast<int>(id))) {
            late_steps_.fetch_add(1, std::memory_order_relaxed);
            if (policy == MissPolicy::hold) {
                for (auto& sounding : state.notes)
                    if (sounding.end_step >= 0) ++sounding.end_step;
            } else if (policy == MissPolicy::repeat) {
                plan = state.last_plan;
                plan.step = step;
                plan.heard_ns = plan.answered_ns = 0;  // a replay answers nobody
                ready = true;
            }
        }
        end_notes(state, step, false);
        if (!ready) continue;
        const auto now = monotonic_ns();
        for (int i = 0; i < plan.count; ++i) {
            const auto& note = plan.notes[i];
            auto& sounding = state.notes[note.pitch & 0x7F];
            if (sounding.end_step >= 0)
                send_machine(midi::Message::note_off(channel, note.pitch, now), step);  // re-strike
            send_machine(midi::Message::note_on(channel, note.pitch, std::max<int>(1, note.velocity), now), step);
            sounding.end_step = step + std::clamp<int>(note.steps, 1, config_.max_note_steps);
            notes_.fetch_add(1, std::memory_order_relaxed);
        }
        if (plan.heard_ns > 0) player_to_step_.record(now - plan.heard_ns);
        if (plan.count > 0 && plan.answered_ns > 0) player_to_machine_.record(now - plan.answered_ns);
        if (plan.count > 0) state.last_plan = plan;
    }
}

// When our `step` starts on the shared timeline, as it stands now; its tempo and transport
// become ours. The grid keeps its place (timeline step = our step + a whole number of
// bars) until the timeline moves under it (a peer joined with another beat, a long
// stall): then the step goes to the next timeline step in its place in the bar, so the
// bar phase the network hears is always the session's, at the cost of a wait under a bar.
std::int64_t Scheduler::timeline_step_time(std::int64_t step) {
    const auto now = monotonic_ns();
    const auto moment = timeline_->at(now);
    bpm_.store(moment.bpm, std::memory_order_relaxed);
    if (moment.playing) playing_.store(*moment.playing, std::memory_order_relaxed);
    const int per_beat = config_.steps_per_beat;
    const double period = 60e9 / (moment.bpm * per_beat);
    std::int64_t deadline = timeline_->time_of(static_cast<double>(step + timeline_offset_) / per_beat);
    const auto early = static_cast<double>(now - deadline), ahead = static_cast<double>(deadline - now);
    if (!timeline_locked_ || early > period / 2 || ahead > 2 * period) {
        const std::int64_t bar = static_cast<std::int64_t>(per_beat) * config_.beats_per_bar;
        // The first timeline step not yet past (a quarter step late still counts) ...
        const auto first = static_cast<std::int64_t>(std::ceil(moment.beat * per_beat - 0.25));
        // ... that sits where `step` sits in the bar.
        const std::int64_t target = first + floor_mod(floor_mod(step, bar) - floor_mod(first, bar), bar);
        timeline_offset_ = target - step;
        timeline_locked_ = true;
        timeline_relocks_.fetch_add(1, std::memory_order_relaxed);
        deadline = timeline_->time_of(static_cast<double>(target) / per_beat);
    }
    return deadline;
}

// Tempo and transport changes asked of us (OSC, MIDI controllers) go to the session.
void Scheduler::send_to_timeline(std::int64_t now) {
    if (const double bpm = tempo_request_.exchange(0, std::memory_order_relaxed); bpm > 0)
        timeline_->set_tempo(bpm, now);
    if (const int playing = playing_request_.exchange(-1, std::memory_order_relaxed); playing >= 0)
        timeline_->set_playing(playing == 1, now);
}

void Scheduler::run() {
    if (config_.realtime_priority) {
        sched_param parameters{};
        parameters.sched_priority = config_.priority;
        int error = pthread_setschedparam(pthread_self(), SCHED_FIFO, &parameters);
        realtime_ = error == 0;
        realtime_report_ = realtime_
                               ? "scheduler: real-time priority (SCHED_FIFO " + std::to_string(config_.priority) + ")"
                               : std::string("scheduler: real-time priority refused (") + std::strerror(error) +
                                     "); running at normal priority";
    } else {
        realtime_report_ = "scheduler: normal priority (real-time priority not asked for)";
    }
    double bpm = bpm_.load();
    std::int64_t period = step_period_ns(bpm, config_.steps_per_beat);
    std::int64_t step = 0;
    std::int64_t anchor_step = 0;
    std::int64_t anchor_time = monotonic_ns() + period;  // the first step, one period from now
    if (timeline_) timeline_->start_at(0, anchor_time);  // alone, the session's bar starts with our step 0
    publish_timing(anchor_time, anchor_step, period);
    reported_.store(true, std::memory_order_release);  // realtime_report_ and the grid are written
    step_clock_.publish(0, playing_.load(std::memory_order_relaxed));
    bool was_playing = false;  // so the first step sends Start
    std::int64_t steps_played = 0;

    while (!stopping_.load(std::memory_order_relaxed)) {
        const std::int64_t deadline =
            timeline_ ? timeline_step_time(step) : anchor_time + (step - anchor_step) * period;
        if (timeline_) {
            sleep_until_or_stop(deadline, stopping_);
            send_to_timeline(monotonic_ns());
        } else {
            sleep_until_ns(deadline);
        }
        const std::int64_t woke = monotonic_ns();

        HumanMessage human;
        while (human_.pop(human))
            for (auto* output : outputs_) output->human(human.message, human.step);

        if (panic_.exchange(false)) {
            for (std::size_t id = 0; id < source_.session_count(); ++id) end_notes(sessions_[id], step, true);
            for (int channel = 0; channel < 16; ++channel)
                send_machine(midi::Message::control_change(channel, 123, 0, woke), step);
        }
        const bool playing = playing_.load(std::memory_order_relaxed);
        if (clock_ticks_per_step_ > 0) {  // Start/Stop first: the tick after Start is the song's first
            if (playing != was_playing) send_transport(playing, steps_played, woke);
            send_clock(midi::Message::realtime(0xF8, woke));
        }
        if (!playing) {
            if (was_playing)
                for (std::size_t id = 0; id < source_.session_count(); ++id) end_notes(sessions_[id], step, true);
            was_playing = false;
        } else {
            was_playing = true;
            ++steps_played;
            lateness_.record(woke - deadline);
            play_step(step);
            steps_.fetch_add(1, std::memory_order_relaxed);
        }
        ++step;
        next_step_.store(step, std::memory_order_release);
        step_clock_.publish(step, playing);

        if (timeline_) {  // the grid as the timeline has it now, for step_at() and the ticks below
            bpm = bpm_.load(std::memory_order_relaxed);
            period = step_period_ns(bpm, config_.steps_per_beat);
            anchor_step = step;
            anchor_time = timeline_->time_of(static_cast<double>(step + timeline_offset_) / config_.steps_per_beat);
            publish_timing(anchor_time, anchor_step, period);
        }
        // A tempo change re-anchors the grid at the next step, so no step is skipped or doubled.
        double requested = bpm_.load(std::memory_order_relaxed);
        if (!timeline_ && requested != bpm) {
            anchor_time = anchor_time + (step - anchor_step) * period;
            anchor_step = step;
            bpm = requested;
            period = step_period_ns(bpm, config_.steps_per_beat);
            publish_timing(anchor_time, anchor_step, period);
        }
        // An external clock's step boundary: move the grid's phase halfway towards it,
        // so jitter in the ticks is smoothed and a steady offset is gone in a few steps.
        if (const std::int64_t boundary = alignment_ns_.exchange(0, std::memory_order_acq_rel);
            boundary != 0 && !timeline_) {
            const double steps_away = static_cast<double>(boundary - anchor_time) / static_cast<double>(period);
            const std::int64_t nearest = anchor_step + static_cast<std::int64_t>(std::llround(steps_away));
            const std::int64_t error = boundary - (anchor_time + (nearest - anchor_step) * period);
            anchor_time += error / 2;
            publish_timing(anchor_time, anchor_step, period);
        }
        // The beat clock's other ticks of this step, evenly between its deadline and the next.
        if (clock_ticks_per_step_ > 1) {
            const std::int64_t next_deadline = anchor_time + (step - anchor_step) * period;
            for (int tick = 1; tick < clock_ticks_per_step_ && !stopping_.load(std::memory_order_relaxed); ++tick) {
                const std::int64_t due = deadline + (next_deadline - deadline) * tick / clock_ticks_per_step_;
                sleep_until_ns(due);
                send_clock(midi::Message::realtime(0xF8, monotonic_ns()));
            }
        }
    }
    if (clock_ticks_per_step_ > 0 && was_playing) send_clock(midi::Message::realtime(0xFC, monotonic_ns()));
    for (std::size_t id = 0; id < source_.session_count(); ++id) end_notes(sessions_[id], step, true);
}

SchedulerStats Scheduler::stats() const {
    SchedulerStats stats;
    stats.steps = steps_.load();
    stats.late_steps = late_steps_.load();
    stats.notes = notes_.load();
    stats.dropped_human = dropped_human_.load();
    stats.realtime = realtime_;
    stats.timeline_relocks = timeline_relocks_.load();
    const auto lateness = lateness_.summary();
    stats.timing_p50_ms = lateness.p50_ms;
    stats.timing_p99_ms = lateness.p99_ms;
    stats.timing_max_ms = lateness.max_ms;
    stats.player_to_step = player_to_step_.summary();
    stats.player_to_machine = player_to_machine_.summary();
    return stats;
}

}  // namespace kanade::clock
