#include "kanade/bench/realtime_bench.hpp"

#include "kanade/clock/scheduler.hpp"
#include "kanade/engine/inference_service.hpp"

#include <array>
#include <atomic>
#include <thread>

namespace kanade::bench {
namespace {

using namespace std::chrono_literals;

// Runs on the scheduler thread: timestamps each note-on at the moment of the send into
// preallocated slots (no lock, no allocation).
class TimingOutput final : public clock::NoteOutput {
public:
    void attach(const clock::Scheduler* scheduler) { scheduler_ = scheduler; }

    void machine(const midi::Message& message, std::int64_t) override {
        if (!message.is_note_on()) return;
        const auto now = clock::monotonic_ns();
        last_note_on_ns_.store(now, std::memory_order_release);
        if (!scheduler_) return;
        const auto grid = scheduler_->step_time(scheduler_->step_at(now));
        const auto index = count_.fetch_add(1, std::memory_order_relaxed);
        if (index < offsets_ns_.size()) offsets_ns_[index] = now - grid;
    }

    std::vector<double> offsets_ms() const {
        std::vector<double> offsets;
        const auto count = std::min<std::size_t>(count_.load(), offsets_ns_.size());
        for (std::size_t i = 0; i < count; ++i) offsets.push_back(static_cast<double>(offsets_ns_[i]) / 1e6);
        return offsets;
    }
    std::int64_t last_note_on_ns() const { return last_note_on_ns_.load(std::memory_order_acquire); }

private:
    const clock::Scheduler* scheduler_ = nullptr;
    std::array<std::int64_t, 1 << 16> offsets_ns_{};
    std::atomic<std::size_t> count_{0};
    std::atomic<std::int64_t> last_note_on_ns_{0};
};

clock::SchedulerConfig scheduler_config(const RealtimeCase& realtime_case) {
    clock::SchedulerConfig config;
    config.bpm = realtime_case.bpm;
    config.steps_per_beat = realtime_case.steps_per_beat;
    return config;
}

// One session in real time, the real worker and scheduler started on construction.
struct OneVoice {
    OneVoice(std::shared_ptr<model::Model> model, const RealtimeCase& realtime_case, engine::InferenceMode mode,
             std::uint64_t seed, const engine::SessionSettings& settings)
        : service(std::move(model), torch::kCPU, mode, seed),
          step_period(60.0 / realtime_case.bpm / realtime_case.steps_per_beat) {
        service.add_session(settings);  // before the scheduler, which counts the sessions once
        scheduler = std::make_unique<clock::Scheduler>(scheduler_config(realtime_case), service, step_clock,
                                                       std::vector<clock::NoteOutput*>{&output});
        service.start(step_clock);
        scheduler->start();
    }
    void stop() {
        scheduler->stop();
        service.stop();
    }

    engine::InferenceService service;
    TimingOutput output;
    clock::StepClock step_clock;
    std::unique_ptr<clock::Scheduler> scheduler;
    std::chrono::duration<double> step_period;
};

}  // namespace

SchedulerTiming measure_scheduler_timing(std::shared_ptr<model::Model> model, const RealtimeCase& realtime_case) {
    engine::InferenceService service(std::move(model), torch::kCPU, realtime_case.mode, 1);
    for (int session = 0; session < realtime_case.sessions; ++session) {
        engine::SessionSettings settings;
        settings.output_channel = session % 16;
        service.add_session(settings);
    }
    auto output = std::make_unique<TimingOutput>();
    clock::StepClock step_clock;
    clock::Scheduler scheduler(scheduler_config(realtime_case), service, step_clock, {output.get()});
    output->attach(&scheduler);
    service.start(step_clock);
    scheduler.start();
    std::this_thread::sleep_for(std::chrono::duration<double>(realtime_case.seconds));
    scheduler.stop();
    service.stop();

    SchedulerTiming timing;
    timing.send_minus_grid = summarize(output->offsets_ms());
    auto stats = scheduler.stats();
    timing.notes = stats.notes;
    timing.steps = stats.steps;
    timing.late_steps = stats.late_steps;
    timing.realtime_priority = stats.realtime;
    return timing;
}

Latency measure_call_to_answer(std::shared_ptr<model::Model> model, const RealtimeCase& realtime_case, int calls) {
    engine::SessionSettings settings;
    settings.mode = engine::Mode::call_response;
    settings.phrase_end_silence_steps = 64;  // only the explicit end below closes a call
    settings.phrase_end_controller = -1;
    settings.answer_steps = 4;
    auto voice = std::make_unique<OneVoice>(std::move(model), realtime_case, realtime_case.mode, 2, settings);
    auto& service = voice->service;
    const auto& scheduler = *voice->scheduler;
    std::vector<double> latencies;
    for (int call = 0; call < calls; ++call) {
        for (int pitch : {60, 64, 67}) {
            service.human_note(0, pitch, 90, scheduler.step_at(clock::monotonic_ns()), true);
            std::this_thread::sleep_for(voice->step_period);
            service.human_note(0, pitch, 0, scheduler.step_at(clock::monotonic_ns()), false);
        }
        const auto phrase_end = clock::monotonic_ns();
        service.end_phrase(0);
        const auto deadline = std::chrono::steady_clock::now() + 2s;
        while (voice->output.last_note_on_ns() < phrase_end && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(200us);
        if (voice->output.last_note_on_ns() >= phrase_end)
            latencies.push_back(static_cast<double>(voice->output.last_note_on_ns() - phrase_end) / 1e6);
        // Let the answer (4 steps) finish before the next call.
        std::this_thread::sleep_for(voice->step_period * (settings.answer_steps + 4));
    }
    voice->stop();
    return summarize(std::move(latencies));
}

PlayerToMachine measure_player_to_machine(std::shared_ptr<model::Model> model, const RealtimeCase& realtime_case,
                                          int notes) {
    auto play = [&](bool join_player) {
        engine::SessionSettings settings;
        settings.mode = engine::Mode::accompany;
        settings.join_player = join_player;
        auto voice = std::make_unique<OneVoice>(model, realtime_case, engine::InferenceMode::streaming, 3, settings);
        auto& service = voice->service;
        const auto& scheduler = *voice->scheduler;
        std::this_thread::sleep_for(voice->step_period * 8);  // under way first
        for (int note = 0; note < notes; ++note) {
            // A player is not in phase with the grid: each note comes at another point of its step.
            std::this_thread::sleep_for(voice->step_period * ((note * 7) % 10) / 10.0);
            const int pitch = 60 + (note * 5) % 12;
            const auto arrived = clock::monotonic_ns();
            service.human_note(0, pitch, 90, scheduler.step_at(arrived), true, arrived);
            std::this_thread::sleep_for(voice->step_period * 2);
            const auto released = clock::monotonic_ns();
            service.human_note(0, pitch, 0, scheduler.step_at(released), false, released);
            std::this_thread::sleep_for(voice->step_period * 6);
        }
        voice->stop();
        PlayerToMachine result;
        const auto stats = scheduler.stats();
        auto latency = [](const clock::LatencySummary& timed) {
            return Latency{timed.p50_ms, timed.p99_ms, timed.max_ms, static_cast<std::size_t>(timed.count)};
        };
        result.to_step = latency(stats.player_to_step);
        result.to_note = latency(stats.player_to_machine);
        result.notes_played = static_cast<std::size_t>(notes);
        result.step_ms = voice->step_period.count() * 1e3;
        result.inference_p99_ms = service.stats().p99_ms;
        return result;
    };
    auto result = play(false);
    result.to_note_joined = play(true).to_note;
    return result;
}

}  // namespace kanade::bench
