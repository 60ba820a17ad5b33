// The real-time scheduler playing what the inference service plans, on a small random network, in
// real time (a fast tempo keeps the tests short).
#include "kanade/clock/scheduler.hpp"
#include "kanade/engine/inference_service.hpp"
#include "kanade/music/kanade_tokenizer.hpp"

#include "random_model.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

using namespace kanade;
using namespace kanade::engine;
using clock::monotonic_ns;
using clock::NoteOutput;
using clock::Scheduler;
using clock::SchedulerConfig;

namespace {

std::shared_ptr<model::Model> random_model() {
    auto model = test::random_model(5, 32);
    // An untrained network seldom completes a note (a pitch, then a duration): lean its
    // output towards short notes and waits, so every test hears notes whatever the timing.
    torch::NoGradGuard no_grad;
    for (auto& parameter : model->network->named_parameters())
        if (parameter.key() == "dense.bias")
            for (const char* token : {"P60", "P64", "P67", "D2", "W2"})
                parameter.value()[*model->vocabulary.id_of(token)] += 4.0;
    return model;
}

// Collects what the scheduler sends, through lock-free queues as a real output would.
class CollectingOutput : public clock::NoteOutput {
public:
    void machine(const midi::Message& message, std::int64_t) override { queue_.push(message); }
    void clock(const midi::Message& message) override { clock_queue_.push(message); }
    std::vector<midi::Message> drain() { return drain(queue_, received_); }
    std::vector<midi::Message> drain_clock() { return drain(clock_queue_, clock_received_); }

private:
    using Queue = clock::SpscQueue<midi::Message, 65536>;
    static std::vector<midi::Message>& drain(Queue& queue, std::vector<midi::Message>& into) {
        midi::Message message;
        while (queue.pop(message)) into.push_back(message);
        return into;
    }
    Queue queue_, clock_queue_;
    std::vector<midi::Message> received_, clock_received_;
};

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

SessionSettings call_response(int silence_steps, int answer_steps) {
    SessionSettings settings;
    settings.mode = Mode::call_response;
    settings.phrase_end_silence_steps = silence_steps;
    settings.answer_steps = answer_steps;
    settings.sampling.temperature = 1.0;
    return settings;
}

SchedulerConfig fast_clock(double bpm) {
    SchedulerConfig config;
    config.bpm = bpm;
    config.realtime_priority = false;
    return config;
}

}  // namespace

TEST_CASE("free mode plays in time, and stopping leaves no note hanging") {
    InferenceService service(random_model(), torch::kCPU, InferenceMode::streaming, 3);
    SessionSettings settings;
    settings.sampling.temperature = 1.0;
    settings.sampling.top_p = 1.0;
    settings.constraints.density = 30;  // a random network rests a lot: ask for notes
    service.add_session(settings);
    CollectingOutput output;
    SchedulerConfig config;
    config.bpm = 300;  // 50 ms steps
    config.realtime_priority = false;
    config.max_note_steps = 8;
    clock::StepClock step_clock;
    Scheduler scheduler(config, service, step_clock, {&output});
    service.start(step_clock);
    scheduler.start();
    // At least 30 steps and 3 notes, however loaded the machine (a late plan is skipped).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    do sleep_ms(100);
    while ((scheduler.stats().steps < 30 || scheduler.stats().notes < 3) && std::chrono::steady_clock::now() < give_up);
    scheduler.stop();
    service.stop();

    auto messages = output.drain();
    std::map<int, int> sounding;
    int note_ons = 0;
    for (const auto& message : messages) {
        if (message.is_note_on()) ++sounding[message.bytes[1]], ++note_ons;
        if (message.is_note_off()) --sounding[message.bytes[1]];
    }
    CHECK(note_ons >= 3);
    CHECK(scheduler.stats().notes == static_cast<std::uint64_t>(note_ons));
    for (const auto& [pitch, count] : sounding) {
        CAPTURE(pitch);
        CHECK(count == 0);
    }
    auto stats = scheduler.stats();
    CHECK(stats.steps >= 20);
    MESSAGE("steps " << stats.steps << ", late " << stats.late_steps << ", notes " << note_ons << ", timing p99 "
                     << stats.timing_p99_ms << " ms");
    CHECK(stats.timing_max_ms < 1000);  // measured, not judged: it reports real numbers
    CHECK(service.stats().forward_passes > 0);
}

TEST_CASE("call-response answers on the step after the phrase ends") {
    InferenceService service(random_model(), torch::kCPU, InferenceMode::streaming, 8);
    service.add_session(call_response(4, 8));
    CollectingOutput output;
    clock::StepClock step_clock;
    Scheduler scheduler(fast_clock(150), service, step_clock, {&output});  // 100 ms steps
    service.start(step_clock);
    scheduler.start();
    sleep_ms(250);
    CHECK(output.drain().empty());  // listening: silent until called

    // The call: three notes on consecutive steps.
    std::int64_t last_step = 0;
    for (int pitch : {60, 64, 67}) {
        auto step = scheduler.step_at(monotonic_ns());
        service.human_note(0, pitch, 90, step, true);
        sleep_ms(100);
        last_step = scheduler.step_at(monotonic_ns());
        service.human_note(0, pitch, 0, last_step, false);
    }
    sleep_ms(1500);
    scheduler.stop();
    service.stop();

    auto messages = output.drain();
    REQUIRE(!messages.empty());
    const auto& first = messages.front();
    REQUIRE(first.is_note_on());
    auto answer_step = scheduler.step_at(first.time_ns);
    // Silence of 4 steps after the last activity ends the phrase; the answer starts on the
    // next step: at most one step later than that moment.
    CHECK(answer_step >= last_step + 4);
    CHECK(answer_step <= last_step + 5);
}

TEST_CASE("MIDI clock out: Start, 24 ticks a beat, Stop, then Song Position and Continue") {
    InferenceService service(random_model(), torch::kCPU, InferenceMode::streaming, 3);
    service.add_session({});
    CollectingOutput output;
    SchedulerConfig config;
    config.bpm = 300;  // 50 ms steps, 6 ticks each
    config.realtime_priority = false;
    config.send_clock = true;
    clock::StepClock step_clock;
    Scheduler scheduler(config, service, step_clock, {&output});
    REQUIRE(scheduler.sends_clock());
    service.start(step_clock);
    scheduler.start();
    sleep_ms(600);
    scheduler.set_playing(false);
    sleep_ms(200);
    const auto played_before_stop = scheduler.stats().steps;
    scheduler.set_playing(true);
    sleep_ms(300);
    scheduler.stop();
    service.stop();

    auto clock = output.drain_clock();
    REQUIRE(clock.size() > 10);
    CHECK(clock.front().status() == 0xFA);  // Start before the first tick
    int ticks = 0, ticks_before_stop = 0;
    std::size_t stop_at = 0, continue_at = 0, position_at = 0;
    for (std::size_t i = 0; i < clock.size(); ++i) {
        switch (clock[i].status()) {
            case 0xF8: ++ticks; break;
            case 0xFC:
                if (!stop_at) stop_at = i, ticks_before_stop = ticks;
                break;
            case 0xF2: position_at = i; break;
            case 0xFB: continue_at = i; break;
            default: break;
        }
    }
    REQUIRE(stop_at > 0);
    REQUIRE(position_at > stop_at);
    CHECK(continue_at == position_at + 1);  // Song Position, then Continue
    // Every step played before Stop sent its six ticks (the step where Stop lands, one).
    CHECK(ticks_before_stop == static_cast<int>(played_before_stop) * 6);
    // The Song Position names where we stopped, in sixteenths (one step = one sixteenth here).
    const auto& position = clock[position_at];
    CHECK(position.size == 3);
    CHECK((position.bytes[1] | (position.bytes[2] << 7)) == static_cast<int>(played_before_stop));
    CHECK(clock.back().status() == 0xFC);  // stopping the scheduler stops followers too
    // Ticks stay on a 24-per-beat grid: their median spacing is 1/6 of a step.
    std::vector<std::int64_t> gaps;
    std::int64_t previous = 0;
    for (const auto& message : clock)
        if (message.status() == 0xF8) {
            if (previous) gaps.push_back(message.time_ns - previous);
            previous = message.time_ns;
        }
    std::sort(gaps.begin(), gaps.end());
    MESSAGE("median tick spacing " << gaps[gaps.size() / 2] / 1e6 << " ms (ideal 8.33)");
    CHECK(ticks > 0);
}

TEST_CASE("an external clock's step boundaries pull the grid's phase onto the master's") {
    InferenceService service(random_model(), torch::kCPU, InferenceMode::streaming, 3);
    service.add_session({});
    CollectingOutput output;
    SchedulerConfig config;
    config.bpm = 240;  // 62.5 ms steps
    config.realtime_priority = false;
    clock::StepClock step_clock;
    Scheduler scheduler(config, service, step_clock, {&output});
    service.start(step_clock);
    scheduler.start();
    sleep_ms(100);
    const std::int64_t period = 62'500'000;
    // The master's step boundaries lie 20 ms after ours.
    const std::int64_t offset = 20'000'000;
    const auto first = scheduler.current_step() + 1;
    const std::int64_t master_origin = scheduler.step_time(first) + offset;
    auto phase_error = [&] {
        auto step = scheduler.current_step() + 2;
        return scheduler.step_time(step) - (master_origin + (step - first) * period);
    };
    CHECK(std::abs(phase_error() + offset) < 1'000'000);
    for (int i = 0; i < 12; ++i) {
        auto step = scheduler.current_step();
        scheduler.align_step_boundary(master_origin + (step - first) * period);
        sleep_ms(63);
    }
    sleep_ms(70);
    const auto error = phase_error();
    MESSAGE("phase error after 12 corrections: " << error / 1e6 << " ms (was " << -offset / 1e6 << " ms)");
    CHECK(std::abs(error) < 2'000'000);
    scheduler.stop();
    service.stop();
}

TEST_CASE("call-response answers even when a player's note is never released") {
    // Step by step on this thread (plan_offline), so the step the answer starts on is the
    // service's logic alone, whatever the machine's speed or load.
    InferenceService service(random_model(), torch::kCPU, InferenceMode::streaming, 8);
    auto settings = call_response(2, 4);
    settings.max_held_steps = 4;
    service.add_session(settings);
    const std::int64_t pressed = 3;
    std::int64_t first_note = -1;
    for (std::int64_t now = 0; now < 64 && first_note < 0; ++now) {
        if (now == pressed) REQUIRE(service.human_note(0, 60, 90, pressed, true));  // its note-off never comes
        while (service.plan_offline(now)) {}
        StepPlan plan;
        while (service.plans(0).pop(plan))
            if (plan.count > 0 && first_note < 0) first_note = plan.step;
    }
    REQUIRE(first_note >= 0);
    // Held 4 steps counts as released; 2 silent steps after that end the phrase.
    CHECK(first_note >= pressed + 4 + 2);
    CHECK(first_note <= pressed + 4 + 2 + 2);
}

TEST_CASE("every call-response answer sounds a note, even from a network that would rest after its pitches") {
    // A pitch with a wait after it is a note the decoder drops: an answer that began so
    // was silent (the engine.repeat replay did it one call in two in kanaded).
    auto model = test::random_model(5, 32);
    {
        torch::NoGradGuard no_grad;
        for (auto& parameter : model->network->named_parameters())
            if (parameter.key() == "dense.bias")
                for (const char* token : {"P60", "P64", "W8", "W16"})
                    parameter.value()[*model->vocabulary.id_of(token)] += 8.0;
    }
    InferenceService service(model, torch::kCPU, InferenceMode::streaming, 8);
    auto settings = call_response(2, 8);
    settings.repeat = 1.0;  // replays of earlier bars too
    service.add_session(settings);
    std::vector<int> notes_per_answer;
    for (std::int64_t call = 0; call < 6; ++call) {
        const std::int64_t pressed = call * 32 + 1;
        int notes = 0;
        for (std::int64_t now = call * 32; now < (call + 1) * 32; ++now) {
            if (now == pressed) REQUIRE(service.human_note(0, 60 + static_cast<int>(call), 90, now, true));
            if (now == pressed + 2) REQUIRE(service.human_note(0, 60 + static_cast<int>(call), 0, now, false));
            while (service.plan_offline(now)) {}
            StepPlan plan;
            while (service.plans(0).pop(plan)) notes += plan.count;
        }
        notes_per_answer.push_back(notes);
    }
    for (std::size_t call = 0; call < notes_per_answer.size(); ++call) {
        CAPTURE(call);
        CHECK(notes_per_answer[call] >= 1);
    }
}

TEST_CASE("accompany: the first plan, and the first with notes, made after a player's note carry its arrival") {
    auto model = test::random_model(5, 32);
    {
        torch::NoGradGuard no_grad;  // a network that plays notes often
        for (auto& parameter : model->network->named_parameters())
            if (parameter.key() == "dense.bias")
                for (const char* token : {"P60", "P64"}) parameter.value()[*model->vocabulary.id_of(token)] += 6.0;
    }
    InferenceService service(model, torch::kCPU, InferenceMode::streaming, 8);
    SessionSettings settings;
    settings.mode = Mode::accompany;
    service.add_session(settings);
    const std::int64_t arrived = 123'456'789, pressed = 8;
    bool heard_before = false;
    std::vector<StepPlan> after, after_with_notes;  // plans made once the note was in
    for (std::int64_t now = 0; now < 64; ++now) {
        if (now == pressed) REQUIRE(service.human_note(0, 62, 90, now, true, arrived));
        if (now == pressed + 2) REQUIRE(service.human_note(0, 62, 0, now, false, arrived + 1));
        while (service.plan_offline(now)) {}
        StepPlan plan;
        while (service.plans(0).pop(plan)) {
            if (plan.count == 0) CHECK(plan.answered_ns == 0);
            if (now < pressed) {
                heard_before |= plan.heard_ns != 0 || plan.answered_ns != 0;
            } else {
                after.push_back(plan);
                if (plan.count > 0) after_with_notes.push_back(plan);
            }
        }
    }
    CHECK_FALSE(heard_before);
    REQUIRE(after.size() >= 2);
    CHECK(after[0].heard_ns == arrived);
    for (std::size_t i = 1; i < after.size(); ++i) CHECK(after[i].heard_ns == 0);
    REQUIRE(after_with_notes.size() >= 2);
    CHECK(after_with_notes[0].answered_ns == arrived);
    for (std::size_t i = 1; i < after_with_notes.size(); ++i) CHECK(after_with_notes[i].answered_ns == 0);
}

namespace {

// Plans `steps` steps offline, with a player's note arriving on step `pressed`, and plays
// them as Scheduler::play_step does: the stale and the taken back are skipped.
std::vector<StepPlan> accompany_offline(InferenceService& service, std::int64_t steps, std::int64_t pressed,
                                        std::int64_t arrived) {
    std::vector<StepPlan> played;
    for (std::int64_t now = 0; now < steps; ++now) {
        if (now == pressed) REQUIRE(service.human_note(0, 67, 90, now, true, arrived));
        while (service.plan_offline(now)) {}
        auto& queue = service.plans(0);
        StepPlan plan;
        while (const auto* front = queue.peek()) {
            if (front->step < now || front->epoch < service.plan_epoch(0)) {
                queue.pop(plan);
                continue;
            }
            if (front->step == now && queue.pop(plan)) played.push_back(plan);
            break;
        }
    }
    return played;
}

// A network that rests a bar between notes: its plans are made far ahead.
std::shared_ptr<model::Model> resting_model(double note_bias) {
    auto model = test::random_model(5, 32);
    torch::NoGradGuard no_grad;
    for (auto& parameter : model->network->named_parameters())
        if (parameter.key() == "dense.bias") {
            parameter.value()[*model->vocabulary.id_of("W16")] += 8.0;
            for (const char* token : {"P60", "D2"})
                parameter.value()[*model->vocabulary.id_of(token)] += static_cast<float>(note_bias);
        }
    return model;
}

}  // namespace

TEST_CASE("accompany: a player's note has the steps made ahead made again, so the next step played was made with it") {
    auto model = resting_model(8.0);
    for (const auto mode : {InferenceMode::streaming, InferenceMode::faithful}) {
        CAPTURE(static_cast<int>(mode));
        InferenceService service(model, torch::kCPU, mode, 8);
        SessionSettings settings;
        settings.mode = Mode::accompany;
        service.add_session(settings);
        const std::int64_t arrived = 987'654'321, pressed = 21, steps = 64;
        const auto played = accompany_offline(service, steps, pressed, arrived);
        CHECK(service.stats().replans == 1);
        CHECK(service.plan_epoch(0) == 1);
        REQUIRE(played.size() == steps);  // a step each, none skipped by the re-plan
        for (std::int64_t step = 0; step < steps; ++step) {
            CAPTURE(step);
            CHECK(played[static_cast<std::size_t>(step)].step == step);
            CHECK(played[static_cast<std::size_t>(step)].heard_ns == (step == pressed ? arrived : 0));
        }
    }
}

TEST_CASE(
    "accompany with join_player: the next step played after a player's note sounds a note, even from a network that "
    "rests") {
    auto model = resting_model(0.0);  // notes are rare: after the player's note it would rest
    const std::int64_t arrived = 55'555'555, pressed = 21, steps = 48;
    std::map<bool, int> notes_on_pressed;
    for (const bool join : {false, true}) {
        CAPTURE(join);
        InferenceService service(model, torch::kCPU, InferenceMode::streaming, 8);
        SessionSettings settings;
        settings.mode = Mode::accompany;
        settings.join_player = join;
        service.add_session(settings);
        const auto played = accompany_offline(service, steps, pressed, arrived);
        REQUIRE(played.size() == steps);
        const auto& reply = played[static_cast<std::size_t>(pressed)];
        notes_on_pressed[join] = reply.count;
        if (join) CHECK(reply.answered_ns == arrived);
    }
    CHECK(notes_on_pressed[false] == 0);  // the network's own choice: a rest
    CHECK(notes_on_pressed[true] >= 1);
}
