// The inference worker on its own: a forward pass that throws must not take the worker
// (and with it the daemon) down; it is counted, described, and the sessions start again.
#include "kanade/engine/inference_service.hpp"
#include "kanade/engine/offline_performance.hpp"
#include "kanade/music/kanade_tokenizer.hpp"

#include "random_model.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <sstream>
#include <thread>

using namespace kanade;
using namespace kanade::engine;

TEST_CASE("a failing forward pass is counted and survived, the worker goes on") {
    // A network with more outputs than the vocabulary has tokens, leaning hard on one
    // past the end: every sampled step then fails inside the worker.
    torch::manual_seed(3);
    auto model = std::make_shared<model::Model>();
    model->vocabulary = *music::KanadeTokenizer().fixed_vocabulary();
    model->config.vocab_size = static_cast<int>(model->vocabulary.size()) + 4;
    model->config.hidden = 16;
    model->config.embedding = 8;
    model->config.window = 16;
    model->network = model::Network(model->config);
    {
        torch::NoGradGuard no_grad;
        for (auto& parameter : model->network->named_parameters())
            if (parameter.key() == "dense.bias") parameter.value()[model->config.vocab_size - 1] += 50.0;
    }
    InferenceService service(model, torch::kCPU, InferenceMode::streaming, 1);
    service.add_session({});
    clock::StepClock step_clock;
    service.start(step_clock);
    for (std::int64_t step = 0; step < 20; ++step) {
        step_clock.publish(step, true);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto stats = service.stats();
    service.stop();  // joins: the worker is still alive to be joined
    CHECK(stats.failures > 0);
    CHECK_FALSE(stats.last_failure.empty());
    CHECK(stats.device == "cpu");
    MESSAGE(stats.failures << " failed passes, the last: " << stats.last_failure);
}

TEST_CASE("a device lost mid-set: one failed pass, then the worker plays on from the CPU and says so") {
    // No GPU here: the fault drill fails a pass as a lost GPU does (issue 17).
    InferenceService service(test::random_model(11, 24), torch::kCPU, InferenceMode::streaming, 5);
    SessionSettings settings;
    settings.lookahead_steps = 2;
    service.add_session(settings);
    clock::StepClock step_clock;
    service.start(step_clock);
    std::int64_t planned_to = -1;
    // The clock moves on once the session has planned one step ahead (bounded in time, so
    // a failure shows as a missing plan, not a hang).
    auto play_until = [&](std::int64_t last) {
        for (std::int64_t step = std::max<std::int64_t>(0, planned_to); step <= last; ++step) {
            step_clock.publish(step, true);
            const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
            StepPlan plan;
            while (planned_to < step + 1 && std::chrono::steady_clock::now() < give_up)
                if (service.plans(0).pop(plan))
                    planned_to = plan.step;
                else
                    std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    };
    play_until(15);
    REQUIRE(planned_to >= 16);
    CHECK(service.stats().failures == 0);
    service.drill_device_loss();
    play_until(40);
    const auto stats = service.stats();
    service.stop();
    CHECK(planned_to >= 41);  // it went on planning after the loss
    CHECK(stats.failures == 1);
    CHECK(stats.device == "cpu");
    CHECK(stats.last_failure.find("fault drill") != std::string::npos);
    CHECK(stats.last_failure.find("running on the CPU from now on") != std::string::npos);
}

namespace {

std::shared_ptr<model::Model> small_random_model() { return test::random_model(11, 24); }

// Every plan a session makes for steps 0..steps-1, the clock moved on only once each
// session has planned as far ahead as it may: no outcome depends on the machine's speed.
// The clock starts at `first` (a session joining mid-bar); `conditions`: the prompts', if said.
std::vector<std::vector<std::string>> played(InferenceMode mode, std::uint64_t seed,
                                             const std::vector<std::vector<int>>& prompts, std::int64_t steps,
                                             const std::vector<std::vector<music::TokenCondition>>& conditions = {},
                                             std::int64_t first = 0) {
    InferenceService service(small_random_model(), torch::kCPU, mode, seed);
    SessionSettings settings;
    settings.lookahead_steps = 2;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        service.add_session(settings);
        service.set_prompt(static_cast<int>(i), prompts[i],
                           i < conditions.size() ? conditions[i] : std::vector<music::TokenCondition>{});
    }
    std::vector<std::vector<std::string>> plans(prompts.size());
    std::vector<std::int64_t> planned_to(prompts.size(), first - 1);
    clock::StepClock step_clock;
    service.start(step_clock);
    for (std::int64_t step = first; step < first + steps; ++step) {
        step_clock.publish(step, true);
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        for (std::size_t i = 0; i < prompts.size(); ++i) {
            while (planned_to[i] < step + settings.lookahead_steps - 1 && std::chrono::steady_clock::now() < give_up) {
                StepPlan plan;
                if (!service.plans(static_cast<int>(i)).pop(plan)) {
                    std::this_thread::sleep_for(std::chrono::microseconds(200));
                    continue;
                }
                std::string text = std::to_string(plan.step) + ":";
                for (int n = 0; n < plan.count; ++n)
                    text += " " + std::to_string(plan.notes[n].pitch) + "/" + std::to_string(plan.notes[n].steps) +
                            "/" + std::to_string(plan.notes[n].velocity);
                plans[i].push_back(text);
                planned_to[i] = plan.step;
            }
        }
    }
    const auto stats = service.stats();
    service.stop();
    CHECK(stats.stale_plans == 0);
    return plans;
}

}  // namespace

TEST_CASE("a session plays the same notes batched with others as alone, in both inference modes") {
    // Windows of different lengths (prompts of 3 and 9 tokens) in one batch: neither may
    // be cut to the other's length, nor share the other's random draws.
    const std::vector<int> short_prompt = {0, 5, 9}, long_prompt = {3, 1, 4, 1, 5, 9, 2, 6, 5};
    for (auto mode : {InferenceMode::faithful, InferenceMode::streaming}) {
        CAPTURE(mode == InferenceMode::faithful);
        auto together = played(mode, 40, {short_prompt, long_prompt}, 48);
        auto first_alone = played(mode, 40, {short_prompt}, 48);
        auto second_alone = played(mode, 41, {long_prompt}, 48);
        REQUIRE(together.size() == 2);
        CHECK(together[0].size() >= 48);
        CHECK(together[0] == first_alone[0]);
        CHECK(together[1] == second_alone[0]);
        CHECK(together[0] != together[1]);
    }
}

TEST_CASE("an offline performance plays what the running worker plans, note for note") {
    const std::vector<int> prompt = {3, 1, 4, 1, 5};
    auto live = played(InferenceMode::streaming, 9, {prompt}, 40);
    OfflinePerformance performance;
    performance.steps = 40;
    performance.seed = 9;
    performance.prompt = prompt;
    SessionSettings settings;
    settings.lookahead_steps = 2;
    auto notes = perform_offline(small_random_model(), settings, performance, torch::kCPU);
    // The live plans, as notes: every planned note, at its step.
    std::vector<std::string> from_live, offline;
    for (const auto& plan : live[0]) {
        const auto colon = plan.find(':');
        const auto step = plan.substr(0, colon);
        if (std::stoi(step) >= 40) continue;
        std::istringstream notes_of_step(plan.substr(colon + 1));
        std::string note;
        while (notes_of_step >> note) from_live.push_back(step + " " + note.substr(0, note.find('/')));
    }
    for (const auto& note : notes)
        offline.push_back(std::to_string(static_cast<int>(note.start_beat * 4 + 0.5)) + " " +
                          std::to_string(note.pitch));
    CHECK(!offline.empty());
    CHECK(offline == from_live);
}

namespace {

// A network that plays P60 D4 on the first step of a bar and waits everywhere else, and
// knows the bar only through its metrical-position input: one LSTM unit fires when both
// "step 0 of the beat" and "beat 0 of the bar" are said, another when the input is P60.
std::shared_ptr<model::Model> downbeat_model() {
    auto model = test::random_model(1, 2);
    model->config.embedding = 2;
    model->config.meter_input = true;
    model->network = model::Network(model->config);
    const auto& vocabulary = model->vocabulary;
    const auto p60 = *vocabulary.id_of("P60"), d4 = *vocabulary.id_of("D4"), w1 = *vocabulary.id_of("W1");
    torch::NoGradGuard no_grad;
    auto parameters = model->network->named_parameters();
    for (auto& parameter : parameters) parameter.value().zero_();
    auto at = [&](const std::string& name) { return parameters[name]; };
    at("embedding.weight")[p60][1] = 10;
    at("condition_step_in_beat.weight")[1][0] = 10;  // 1 + step 0
    at("condition_beat_in_bar.weight")[1][0] = 10;   // 1 + beat 0
    // Gates i, f, g, o of two units: input and output open, nothing remembered.
    for (const char* layer : {"lstm1", "lstm2"}) {
        auto bias = at(std::string(layer) + ".bias");
        bias.slice(0, 0, 2).fill_(20);
        bias.slice(0, 2, 4).fill_(-20);
        bias.slice(0, 6, 8).fill_(20);
    }
    auto first = at("lstm1.weight_ih"), first_bias = at("lstm1.bias");
    first[4][0] = 1, first_bias[4] = -15;  // unit 0: both positions said (20), not one (10)
    first[5][1] = 1, first_bias[5] = -5;   // unit 1: the input is P60
    auto second = at("lstm2.weight_ih");
    second[4][0] = 10, second[5][1] = 10;  // passed on, sign kept
    auto dense = at("dense.weight"), dense_bias = at("dense.bias");
    dense_bias.fill_(-50);
    dense_bias[w1] = dense_bias[p60] = dense_bias[d4] = 0;
    dense[p60][0] = 40, dense[p60][1] = -20;  // a note on the downbeat, once
    dense[d4][1] = 40;                        // its duration right after it
    return model;
}

// The steps at which the session planned notes while a clock ran from `first` to `last`.
std::vector<std::int64_t> note_steps(InferenceMode mode, const music::MeterMap& meters, std::int64_t first,
                                     std::int64_t last) {
    InferenceService service(downbeat_model(), torch::kCPU, mode, 1);
    SessionSettings settings;
    settings.constraints.max_polyphony = 1;
    service.add_session(settings);
    service.set_meter(meters);
    clock::StepClock step_clock;
    service.start(step_clock);
    std::vector<std::int64_t> steps;
    std::int64_t planned_to = first - 1;
    for (std::int64_t step = first; step <= last; ++step) {
        step_clock.publish(step, true);
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (planned_to < step + settings.lookahead_steps - 1 && std::chrono::steady_clock::now() < give_up) {
            StepPlan plan;
            if (!service.plans(0).pop(plan)) {
                std::this_thread::sleep_for(std::chrono::microseconds(200));
                continue;
            }
            if (plan.count > 0) steps.push_back(plan.step);
            planned_to = plan.step;
        }
    }
    service.stop();
    return steps;
}

}  // namespace

TEST_CASE("the worker tells the network the bar position of the clock's own grid (a clock started at step 6)") {
    for (auto mode : {InferenceMode::streaming, InferenceMode::faithful}) {
        CAPTURE(mode == InferenceMode::streaming);
        CHECK(note_steps(mode, music::MeterMap::uniform(4, 4), 6, 60) == std::vector<std::int64_t>{16, 32, 48});
        CHECK(note_steps(mode, music::MeterMap::uniform(3, 4), 6, 60) == std::vector<std::int64_t>{12, 24, 36, 48, 60});
    }
}

namespace {

// A network that plays whatever came next one bar back, told only by its lookback input:
// one LSTM unit per token, lit by that token's lookback row, passed to its own output.
std::shared_ptr<model::Model> bar_copying_model() {
    auto model = test::random_model(1, 8);
    const int vocab = model->config.vocab_size;
    model->config.hidden = vocab;
    model->config.embedding = vocab;
    model->config.lookback_input = true;
    model->network = model::Network(model->config);
    torch::NoGradGuard no_grad;
    auto parameters = model->network->named_parameters();
    for (auto& parameter : parameters) parameter.value().zero_();
    auto at = [&](const std::string& name) { return parameters[name]; };
    for (int id = 0; id < vocab; ++id) at("condition_lookback_bar.weight")[1 + id][id] = 10;
    for (const char* layer : {"lstm1", "lstm2"}) {
        auto bias = at(std::string(layer) + ".bias");
        bias.slice(0, 0, vocab).fill_(20);              // input gates open
        bias.slice(0, vocab, 2 * vocab).fill_(-20);     // nothing remembered
        bias.slice(0, 3 * vocab, 4 * vocab).fill_(20);  // output gates open
        auto weights = at(std::string(layer) + ".weight_ih");
        for (int id = 0; id < vocab; ++id) weights[2 * vocab + id][id] = 10;  // the unit's cell input
    }
    for (int id = 0; id < vocab; ++id) at("dense.weight")[id][id] = 40;
    return model;
}

}  // namespace

TEST_CASE("a network told what came a bar back replays the prompt's bar, bar after bar") {
    // The worker tells the lookback from its own history, the prompt placed on the steps
    // its waits give it: were it wrong anywhere, the copy would break there.
    auto model = bar_copying_model();
    OfflinePerformance performance;
    performance.steps = 64;
    for (const char* token : {"V5", "P60", "D2", "W4", "P62", "D2", "W4", "P64", "D2", "W4", "P67", "D2", "W4"})
        performance.prompt.push_back(*model->vocabulary.id_of(token));
    SessionSettings settings;
    settings.sampling.temperature = 1.0;
    const auto notes = perform_offline(model, settings, performance, torch::kCPU);
    std::vector<std::string> played, expected;
    for (const auto& note : notes)
        played.push_back(std::to_string(std::lround(note.start_beat * 4)) + ":" + std::to_string(note.pitch) + "/" +
                         std::to_string(std::lround((note.end_beat - note.start_beat) * 4)));
    for (int bar = 0; bar < 4; ++bar)
        for (auto [step, pitch] : {std::pair{0, 60}, {4, 62}, {8, 64}, {12, 67}})
            expected.push_back(std::to_string(bar * 16 + step) + ":" + std::to_string(pitch) + "/2");
    CHECK(played == expected);
}

namespace {

// Each bar's onsets (step in the bar, pitch) of a performance of `bars` 4/4 bars.
std::vector<std::set<std::pair<int, int>>> bars_played(double repeat, int bars) {
    auto model = test::random_model(5, 32);
    {
        // Lean the untrained network towards short notes and waits, so bars have notes.
        torch::NoGradGuard no_grad;
        for (auto& parameter : model->network->named_parameters())
            if (parameter.key() == "dense.bias")
                for (const char* token : {"P60", "P64", "P67", "P71", "D2", "W1", "W2", "W3"})
                    parameter.value()[*model->vocabulary.id_of(token)] += 4.0;
    }
    OfflinePerformance performance;
    performance.steps = 16 * bars;
    performance.seed = 4;
    SessionSettings settings;
    settings.repeat = repeat;
    std::vector<std::set<std::pair<int, int>>> result(static_cast<std::size_t>(bars));
    for (const auto& note : perform_offline(model, settings, performance, torch::kCPU)) {
        const auto step = std::lround(note.start_beat * 4);
        result[static_cast<std::size_t>(step / 16)].insert({static_cast<int>(step % 16), note.pitch});
    }
    return result;
}

int bars_replaying(const std::vector<std::set<std::pair<int, int>>>& bars) {
    int replaying = 0;
    for (std::size_t bar = 2; bar < bars.size(); ++bar)
        if (!bars[bar].empty() && (bars[bar] == bars[bar - 2] || (bar >= 4 && bars[bar] == bars[bar - 4]))) ++replaying;
    return replaying;
}

}  // namespace

TEST_CASE("engine.repeat: bars replay the bar two or four back, note for note, as often as asked") {
    const auto always = bars_played(1.0, 14), never = bars_played(0.0, 14);
    for (const auto& bar : always) CHECK_FALSE(bar.empty());
    MESSAGE("bars replaying an earlier one, of 12: " << bars_replaying(always) << " at repeat 1, "
                                                     << bars_replaying(never) << " at repeat 0");
    CHECK(bars_replaying(always) >= 10);  // a replay can break where a constraint says no
    CHECK(bars_replaying(never) <= 1);
}

namespace {

// Notes as text, to compare performances: "start_beat:pitch:end_beat:velocity ..."
std::string notes_text(const std::vector<midi::Note>& notes) {
    std::ostringstream text;
    for (const auto& note : notes)
        text << note.start_beat << ":" << int(note.pitch) << ":" << note.end_beat << ":" << int(note.velocity) << " ";
    return text.str();
}

}  // namespace

TEST_CASE("a session given no prompt starts from the model's primer, on the grid's bar") {
    // A primer of one bar: a chord on beat 1, then waits to the next bar line.
    const auto vocabulary = *music::KanadeTokenizer().fixed_vocabulary();
    auto id = [&](const char* token) { return *vocabulary.id_of(token); };
    const std::vector<int> bar = {id("V5"), id("P60"), id("D4"), id("P64"), id("D4"), id("W16")};
    SessionSettings settings;
    settings.lookahead_steps = 2;
    OfflinePerformance from_nothing;
    from_nothing.steps = 48;
    from_nothing.seed = 5;
    auto with_primer = [&](int bar_steps) {
        auto model = small_random_model();
        model->primers = {music::Primer{bar_steps, bar}};
        return model;
    };
    const auto primed = notes_text(perform_offline(with_primer(16), settings, from_nothing, torch::kCPU));
    auto prompted = from_nothing;
    prompted.prompt = bar;
    const auto given = notes_text(perform_offline(small_random_model(), settings, prompted, torch::kCPU));
    const auto blank = notes_text(perform_offline(small_random_model(), settings, from_nothing, torch::kCPU));
    CHECK(!primed.empty());
    CHECK(primed == given);  // the primer is heard as a prompt would be, and never played
    CHECK(primed != blank);
    // A primer of another bar (12 steps, 3/4) does not fit the daemon's 4/4: from nothing.
    CHECK(notes_text(perform_offline(with_primer(12), settings, from_nothing, torch::kCPU)) == blank);
}

TEST_CASE("a file's prompt that ends on its bar line goes on at the grid's bar line, a rest filling the steps since") {
    // The network here hears no bar; what it is fed shows in what it plays. A prompt whose
    // last wait lands on a bar line, heard by a session joining at step 6 of the grid's
    // bar, is followed by a rest of 6 steps: it plays as the same prompt with a W6 does.
    const auto vocabulary = *music::KanadeTokenizer().fixed_vocabulary();
    auto id = [&](const char* token) { return *vocabulary.id_of(token); };
    const std::vector<int> prompt = {id("V5"), id("P60"), id("D4"), id("W8"), id("P62"), id("D4"), id("W8")};
    music::TokenCondition on_beat{}, bar_line{};
    on_beat[static_cast<std::size_t>(music::Condition::step_in_beat)] = 1;
    on_beat[static_cast<std::size_t>(music::Condition::beat_in_bar)] = 3;  // beat 2 of the bar
    bar_line[static_cast<std::size_t>(music::Condition::step_in_beat)] = 1;
    bar_line[static_cast<std::size_t>(music::Condition::beat_in_bar)] = 1;
    std::vector<music::TokenCondition> ends_on_bar_line(prompt.size(), on_beat), ends_off_it = ends_on_bar_line;
    ends_on_bar_line.back() = bar_line;
    auto with_rest = prompt;
    with_rest.push_back(id("W6"));
    const auto aligned = played(InferenceMode::streaming, 3, {prompt}, 24, {ends_on_bar_line}, 6);
    CHECK(aligned == played(InferenceMode::streaming, 3, {with_rest}, 24, {}, 6));
    // Ending elsewhere in its bar, or said nothing of its bar, it goes on at once.
    const auto unaligned = played(InferenceMode::streaming, 3, {prompt}, 24, {}, 6);
    CHECK(played(InferenceMode::streaming, 3, {prompt}, 24, {ends_off_it}, 6) == unaligned);
    CHECK(aligned != unaligned);
}

TEST_CASE("top-p trims the rare pitches but a note's length is drawn from the whole distribution") {
    // A network whose output is its bias alone: P60 or a wait, P62 rarely; D2 likely, D8
    // about one time in four. top-p 0.6 keeps P60 and the wait of the first and only D2 of
    // the second: lengths are exempt, so D8 still sounds.
    auto model = test::random_model(3, 8);
    {
        torch::NoGradGuard no_grad;
        for (auto& parameter : model->network->named_parameters()) {
            if (parameter.key() == "dense.weight") parameter.value().zero_();
            if (parameter.key() != "dense.bias") continue;
            parameter.value().fill_(-30.0);
            for (auto [token, logit] : {std::pair{"P60", 5.0}, {"W4", 5.0}, {"P62", 2.0}, {"D2", 5.0}, {"D8", 4.0}})
                parameter.value()[*model->vocabulary.id_of(token)] = logit;
        }
    }
    SessionSettings settings;
    settings.sampling = {1.0, 0, 0.6};
    settings.repeat = 0;
    OfflinePerformance performance;
    performance.steps = 128;
    performance.seed = 2;
    std::set<int> pitches;
    std::set<long> lengths;
    for (const auto& note : perform_offline(model, settings, performance, torch::kCPU)) {
        pitches.insert(note.pitch);
        lengths.insert(std::lround((note.end_beat - note.start_beat) * 4));
    }
    CHECK(pitches == std::set<int>{60});
    CHECK(lengths.count(2) == 1);
    CHECK(std::any_of(lengths.begin(), lengths.end(), [](long steps) { return steps > 2; }));
}
