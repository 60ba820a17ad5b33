#include "kanade/engine/inference_service.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <utility>

#include "kanade/model/dataset.hpp"
#include "kanade/model/device.hpp"
#include "kanade/music/kanade_tokenizer.hpp"

namespace kanade::engine {
InferenceService::InferenceService(std::shared_ptr<model::Model> model, torch::Device device, InferenceMode mode,
                                   std::uint64_t seed)
    : model_(std::move(model)), device_(device), mode_(mode), seed_(seed) {
    model_->network->eval();
    if (!device_.is_cpu()) host_network_ = model::copy_on_cpu(model_->network);
    model_->network->to(device_);
    tokens_ = music::TokenTable(model_->vocabulary, model_->tokenizer);
    mask_ = std::make_unique<TokenMask>(tokens_);
    tokenizer_ = music::make_tokenizer(model_->tokenizer, model_->grid);
    meters_ = music::MeterMap::uniform(4, 4, model_->grid.steps_per_beat);
    read_model_controls();
}

InferenceService::~InferenceService() { stop(); }

void InferenceService::read_model_controls() {
    auto bin = [&](const char* key) {
        auto found = model_->info.find(key);
        try {
            return found == model_->info.end() ? 0 : std::stoi(found->second);
        } catch (const std::exception&) {
            return 0;
        }
    };
    typical_notes_per_bar_ = music::bin_notes_per_bar(bin("typical_density_bin"));
    const int loudness = bin("typical_loudness_bin");
    typical_velocity_ = loudness > 0 ? music::KanadeTokenizer::bin_velocity(loudness) : 0;
}

// Density 1 and energy 0 leave the bar's controls unsaid: the network plays as its corpus
// does. Any other value asks for a bar of that many notes (density times the corpus's
// typical count) and that loudness (energy -1..1 moves the corpus's typical velocity by
// up to three bins).
music::TokenCondition InferenceService::condition_at(const Session& session, std::int64_t step) const {
    music::TokenCondition condition{};
    if (!model_->config.conditioned()) return condition;
    music::set_position(condition, meters_, static_cast<long>(step));
    const auto& constraints = session.settings.constraints;
    const double notes = constraints.density == 1.0 || typical_notes_per_bar_ <= 0
                             ? 0
                             : std::max(0.5, typical_notes_per_bar_ * constraints.density);
    const double velocity = constraints.energy == 0.0 || typical_velocity_ <= 0
                                ? 0
                                : std::clamp(typical_velocity_ + 48.0 * constraints.energy, 1.0, 127.0);
    music::set_controls(condition, notes, velocity, std::clamp(session.settings.style, 0, model_->config.styles));
    return condition;
}

music::TokenCondition InferenceService::push_window(Session& session, WindowToken token) {
    // What came next a bar and two back, after this token: the history is the session's
    // own, longer than any window.
    session.line.lookback.feed(token.id, static_cast<long>(token.step), meters_);
    if (model_->config.lookback_input) music::set_lookback(token.condition, session.line.lookback.candidates(meters_));
    session.line.window.push_back(token);
    // The faithful window: the last window_steps grid steps of music, or window tokens.
    if (model_->config.window_steps > 0) {
        while (!session.line.window.empty() &&
               session.line.window.front().step <= token.step - model_->config.window_steps)
            session.line.window.pop_front();
    } else if (session.line.window.size() > static_cast<std::size_t>(model_->config.window)) {
        session.line.window.pop_front();
    }
    return token.condition;
}

torch::Tensor InferenceService::host_conditions(const std::vector<music::TokenCondition>& rows,
                                                std::int64_t time) const {
    if (!model_->config.conditioned() || rows.empty()) return {};
    auto tensor = model::conditions_tensor(rows);  // [count * time, C]
    if (time > 1) tensor = tensor.view({static_cast<std::int64_t>(rows.size()) / time, time, -1});
    return tensor;
}

torch::Tensor InferenceService::conditions_tensor(const std::vector<music::TokenCondition>& rows,
                                                  std::int64_t time) const {
    return model::to_device(host_conditions(rows, time), device_);
}

int InferenceService::add_session(const SessionSettings& settings) {
    auto session = std::make_unique<Session>();
    session->settings = settings;
    // Each session draws from its own generator: its notes never depend on the others'.
    session->sampler = Sampler(seed_ + sessions_.size());
    session->line.decoder = StepDecoder(model_->grid.steps_per_beat);
    session->line.lookback = music::BarLookback(tokens_);
    sessions_.push_back(std::move(session));
    return static_cast<int>(sessions_.size() - 1);
}

void InferenceService::start(clock::StepClock& step_clock) {
    step_clock_ = &step_clock;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void InferenceService::stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
}

bool InferenceService::push_human(const HumanEvent& event) {
    if (event.session < 0 || static_cast<std::size_t>(event.session) >= sessions_.size())
        throw std::out_of_range("player input for session " + std::to_string(event.session) + " of " +
                                std::to_string(sessions_.size()));
    if (human_events_.push(event)) return true;
    dropped_human_notes_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

bool InferenceService::human_note(int id, int pitch, int velocity, std::int64_t step, bool on,
                                  std::int64_t arrived_ns) {
    return push_human({on ? HumanEvent::note_on : HumanEvent::note_off, id, pitch, velocity, step, arrived_ns});
}

bool InferenceService::human_controller(int id, int controller, int value) {
    return push_human({HumanEvent::controller, id, controller, value, 0});
}

void InferenceService::end_phrase(int id) {
    sessions_.at(static_cast<std::size_t>(id))->phrase_end_requested.store(true, std::memory_order_release);
}

void InferenceService::control_note(int id, int pitch, int velocity, std::int64_t step, bool on) {
    if (id < 0 || static_cast<std::size_t>(id) >= sessions_.size())
        throw std::out_of_range("control note for session " + std::to_string(id));
    std::lock_guard lock(mutex_);
    apply_human({on ? HumanEvent::note_on : HumanEvent::note_off, id, pitch, velocity, step});
}

void InferenceService::take_human_events() {
    HumanEvent event;
    while (human_events_.pop(event)) apply_human(event);
}

void InferenceService::apply_human(const HumanEvent& event) {
    auto& session = *sessions_[static_cast<std::size_t>(event.session)];
    if (event.kind == HumanEvent::controller) {
        // The phrase-end controller (the sustain pedal) released ends the call.
        if (event.number == session.settings.phrase_end_controller && event.value < 64)
            session.phrase_end_requested.store(true, std::memory_order_relaxed);
        return;
    }
    if (event.kind == HumanEvent::note_on) {
        session.phrase.push_back({event.number, event.value, event.step, -1, event.arrived_ns});
    } else {
        for (auto it = session.phrase.rbegin(); it != session.phrase.rend(); ++it)
            if (it->pitch == event.number && it->end_step < 0) {
                it->end_step = std::max(event.step, it->step + 1);
                break;
            }
    }
    session.last_human_step = std::max(session.last_human_step, event.step);
}

SessionSettings InferenceService::settings(int id) const {
    std::lock_guard lock(mutex_);
    return sessions_.at(static_cast<std::size_t>(id))->settings;
}

void InferenceService::update_settings(int id, const SessionSettings& settings) {
    std::lock_guard lock(mutex_);
    auto& session = *sessions_.at(static_cast<std::size_t>(id));
    bool mode_changed = session.settings.mode != settings.mode;
    session.settings = settings;
    if (mode_changed) {
        session.generating = settings.mode != Mode::call_response;
        session.answer_end_step = -1;
        session.phrase.clear();
        session.replan_points.clear();
    }
}

void InferenceService::swap_model(std::shared_ptr<model::Model> model) {
    // Moved to the device outside the lock (it can take a while); run() checks the device
    // again when it swaps, in case inference fell back to the CPU meanwhile.
    const auto device = [&] {
        std::lock_guard lock(mutex_);
        return device_;
    }();
    model->network->eval();
    auto host_network = device.is_cpu() ? model::Network{nullptr} : model::copy_on_cpu(model->network);
    model->network->to(device);
    std::lock_guard lock(mutex_);
    pending_model_ = std::move(model);
    pending_host_network_ = std::move(host_network);
}

std::shared_ptr<model::Model> InferenceService::model() const {
    std::lock_guard lock(mutex_);
    return pending_model_ ? pending_model_ : model_;
}

void InferenceService::set_prompt(int id, std::vector<int> ids, std::vector<music::TokenCondition> conditions) {
    std::lock_guard lock(mutex_);
    auto& session = *sessions_.at(static_cast<std::size_t>(id));
    if (!conditions.empty() && conditions.size() != ids.size())
        throw std::invalid_argument("set_prompt: one condition per token, or none");
    session.prompt = std::move(ids);
    session.prompt_conditions = std::move(conditions);
}

InferenceStats InferenceService::stats() const {
    std::lock_guard lock(mutex_);
    auto stats = stats_;
    stats.device = device_.str();
    stats.cuda_graph_error = cuda_graphs_.error();
    stats.dropped_human_notes = dropped_human_notes_.load(std::memory_order_relaxed);
    std::vector<double> sorted(latencies_.begin(), latencies_.end());
    if (!sorted.empty()) {
        std::sort(sorted.begin(), sorted.end());
        stats.p50_ms = sorted[sorted.size() / 2];
        stats.p99_ms = sorted[std::min(sorted.size() - 1, sorted.size() * 99 / 100)];
        stats.max_ms = sorted.back();
    }
    return stats;
}

namespace {
// The same model with `network` in host memory, leaving the caller's Model (which others
// hold) as it was.
std::shared_ptr<model::Model> on_host(const model::Model& model, model::Network network) {
    auto moved = std::make_shared<model::Model>(model);
    moved->network = std::move(network);
    moved->network->eval();
    return moved;
}
}  // namespace

// A pass threw (a CUDA error, memory exhausted, a GPU gone): the worker must not die with
// it. On any device but the CPU, inference moves to the CPU for good, on the weights kept
// in host memory; the windows start again from the model's prompt, and the scheduler
// applies its miss policy to the steps this costs.
void InferenceService::recover_from(const std::exception& failure, std::int64_t now) {
    ++stats_.failures;
    stats_.last_failure = failure.what();
    const bool drill = device_loss_drill_.exchange(false, std::memory_order_relaxed);
    if (!device_.is_cpu() || drill) {
        stats_.last_failure =
            "inference on " + device_.str() + " failed (" + stats_.last_failure + "); running on the CPU from now on";
        device_ = torch::Device(torch::kCPU);
        cuda_graphs_.clear();
        if (host_network_) model_ = on_host(*model_, std::exchange(host_network_, nullptr));
    }
    for (auto& session : sessions_) reset_session(*session, now);
}

void InferenceService::record_latency(double ms) {
    latencies_.push_back(ms);
    if (latencies_.size() > 2000) latencies_.pop_front();
    ++stats_.forward_passes;
}

// Runs `ids` through the network one by one, so the session's state and next-token
// prediction include them (a prompt, a player's phrase).
void InferenceService::feed_tokens(Session& session, const std::vector<int>& ids,
                                   const std::vector<std::int64_t>& steps,
                                   std::vector<music::TokenCondition> conditions) {
    torch::NoGradGuard no_grad;
    if (conditions.empty())
        for (auto step : steps) conditions.push_back(condition_at(session, step));
    for (std::size_t i = 0; i < ids.size(); ++i)
        conditions[i] = push_window(session, {ids[i], conditions[i], steps[i]});
    if (ids.empty()) return;
    session.line.last_token = ids.back();
    if (mode_ == InferenceMode::streaming) {
        if (!session.line.state_valid) {
            session.line.state = model_->network->initial_state(1);
            session.line.state_valid = true;
        }
        torch::Tensor output;
        for (std::size_t i = 0; i < ids.size(); ++i)
            output =
                model_->network->step(torch::tensor({static_cast<std::int64_t>(ids[i])}, torch::kInt64).to(device_),
                                      session.line.state, conditions_tensor({conditions[i]}, 1));
        session.line.next_logits = logits_to_floats(output.squeeze(0));
    }
}

// A session without a prompt starts from one of the model's primers (drawn by its own
// sampler, so each seed has its own), whole bars of the grid's bar length. Empty when the
// model has no primer for this bar.
std::vector<int> InferenceService::primer_for(Session& session, std::int64_t start_step) {
    const int bar_steps = meters_.steps_per_bar_at(start_step);
    std::vector<const music::Primer*> fitting;
    for (const auto& primer : model_->primers)
        if (primer.bar_steps == bar_steps) fitting.push_back(&primer);
    if (fitting.empty()) return {};
    const auto pick =
        fitting.size() == 1
            ? 0
            : std::min(fitting.size() - 1, static_cast<std::size_t>(session.sampler.uniform() * fitting.size()));
    return fitting[pick]->ids;
}

// A prompt that ends on a bar line is heard on the grid's bars: a rest fills the steps
// from the grid's bar line at or before `start_step` to it.
void InferenceService::rest_to(std::vector<int>& ids, std::int64_t start_step) const {
    const auto rest = tokens_.waits().rest(start_step - meters_.bar_start(start_step));
    ids.insert(ids.end(), rest.begin(), rest.end());
}

void InferenceService::reset_session(Session& session, std::int64_t start_step) {
    session.line = Line{};
    session.line.lookback = music::BarLookback(tokens_);
    session.line.decoder = StepDecoder(model_->grid.steps_per_beat);
    session.line.decoder.restart(start_step);
    session.replan_points.clear();
    session.unplanned_since_ns = session.unanswered_since_ns = 0;
    session.heard_mark = session.answered_mark = {};
    session.generating = session.settings.mode != Mode::call_response;
    session.answer_end_step = -1;
    session.must_start_note = false;
    session.phrase.clear();
    std::vector<int> prompt = session.prompt;
    auto conditions = session.prompt_conditions;
    if (conditions.size() != prompt.size()) conditions.clear();
    // A primer, or a file's prompt that ends on one of its bar lines (music/file_prompt.hpp),
    // goes on at a bar line of the grid.
    bool ends_on_bar_line = !conditions.empty() && tokens_[prompt.back()].kind == music::TokenKind::wait &&
                            music::on_bar_line(conditions.back());
    if (prompt.empty()) {
        prompt = primer_for(session, start_step);
        ends_on_bar_line = !prompt.empty();
    }
    const auto heard = prompt.size();
    if (ends_on_bar_line) rest_to(prompt, start_step);
    if (prompt.empty()) prompt.push_back(0);  // any token starts the state; the model takes it from there
    // The prompt sounded just before the start, on the steps the decoder would have reached
    // playing it (its last token on start_step): the faithful window counts them, the
    // lookback reads them.
    auto steps = music::token_steps(prompt, tokens_, model_->grid.steps_per_beat);
    const auto end = steps.back();
    for (auto& step : steps) step += start_step - end;
    if (!conditions.empty())
        for (auto i = heard; i < prompt.size(); ++i) conditions.push_back(condition_at(session, steps[i]));
    feed_tokens(session, prompt, steps, std::move(conditions));
}

void InferenceService::begin_answer(Session& session, std::int64_t now) {
    std::int64_t first = session.phrase.front().step, last = first;
    std::vector<midi::Note> notes;
    for (const auto& human : session.phrase) {
        midi::Note note;
        const double spb = model_->grid.steps_per_beat;
        std::int64_t end = human.end_step >= 0 ? human.end_step : std::max(human.step + 1, now);
        note.start_beat = static_cast<double>(human.step - first) / spb;
        note.end_beat = static_cast<double>(end - first) / spb;
        note.pitch = static_cast<std::uint8_t>(human.pitch);
        note.velocity = static_cast<std::uint8_t>(human.velocity);
        notes.push_back(note);
        last = std::max(last, end);
    }
    // The call's tokens at the steps it was played on: the answer keeps the call's bar.
    auto [ids, steps] = encode_at(notes, first);
    feed_tokens(session, ids, steps);
    session.line.decoder.restart(now);
    session.generating = true;
    std::int64_t length =
        session.settings.answer_steps > 0 ? session.settings.answer_steps : std::max<std::int64_t>(4, last - first);
    session.answer_end_step = now + length;
    session.must_start_note = true;
    session.phrase.clear();
}

void InferenceService::absorb_human_input(Session& session, std::int64_t now) {
    if (session.settings.mode == Mode::call_response) {
        if (session.generating || session.phrase.empty()) {
            session.phrase_end_requested.store(false, std::memory_order_relaxed);
            return;
        }
        // A note held past max_held_steps (its player gone mid-note) ends where that limit fell.
        for (auto& human : session.phrase)
            if (human.end_step < 0 && now - human.step >= session.settings.max_held_steps) {
                human.end_step = human.step + session.settings.max_held_steps;
                session.last_human_step = std::max(session.last_human_step, human.end_step);
            }
        bool silent = now - session.last_human_step >= session.settings.phrase_end_silence_steps;
        bool all_released = std::all_of(session.phrase.begin(), session.phrase.end(),
                                        [](const HumanNote& n) { return n.end_step >= 0; });
        if (session.phrase_end_requested.exchange(false) || (silent && all_released)) begin_answer(session, now);
        return;
    }
    // Free and accompany: the player's notes join the window as they come.
    if (session.phrase.empty()) return;
    const bool accompany = session.settings.mode == Mode::accompany;
    if (accompany && take_back(session, now)) ++stats_.replans;
    std::vector<midi::Note> notes;
    for (const auto& human : session.phrase) {
        if (human.arrived_ns > 0 && session.unplanned_since_ns == 0) session.unplanned_since_ns = human.arrived_ns;
        if (human.arrived_ns > 0 && session.unanswered_since_ns == 0) session.unanswered_since_ns = human.arrived_ns;
        midi::Note note;
        note.start_beat = 0;
        note.end_beat = static_cast<double>(std::max<std::int64_t>(
                            1, (human.end_step >= 0 ? human.end_step : human.step + 2) - human.step)) /
                        model_->grid.steps_per_beat;
        note.pitch = static_cast<std::uint8_t>(human.pitch);
        note.velocity = static_cast<std::uint8_t>(human.velocity);
        notes.push_back(note);
    }
    const auto step = session.phrase.front().step;
    session.phrase.clear();
    auto [ids, steps] = encode_at(notes, step);
    feed_tokens(session, ids, steps);
    if (accompany) {  // what came before lacks these notes: the line goes back no further
        session.replan_points.clear();
        keep_replan_point(session, false);
    }
}

void InferenceService::keep_replan_point(Session& session, bool wait) {
    constexpr std::size_t most = 64;  // a few steps ahead are all a re-plan needs
    if (session.replan_points.size() >= most) session.replan_points.pop_front();
    session.replan_points.push_back({session.line.decoder.current_step(), wait, session.line});
}

bool InferenceService::take_back(Session& session, std::int64_t now) {
    const auto made_to = session.line.decoder.current_step();
    if (made_to <= now) return false;
    // The latest point that reaches `now` (its own step, or a wait across it), else the
    // first after it: a step already played is never made again.
    ReplanPoint* from = nullptr;
    for (auto& point : session.replan_points) {
        if (point.step <= now) {
            from = point.step == now || point.wait ? &point : nullptr;
            continue;
        }
        if (!from) from = &point;
        break;
    }
    if (!from || from->step >= made_to) return false;
    session.line = std::move(from->line);  // the points after it are void, this one used
    session.replan_points.clear();
    // A player's note first carried by a plan now void is carried by the plan made again.
    auto give_back = [now](std::int64_t& since, const ArrivalMark& mark) {
        if (mark.step >= now && (since == 0 || mark.arrived_ns < since)) since = mark.arrived_ns;
    };
    give_back(session.unplanned_since_ns, session.heard_mark);
    give_back(session.unanswered_since_ns, session.answered_mark);
    // The wait that crossed `now` is cut there, in the longest waits the vocabulary has (as
    // the tokenizer writes a long rest); its steps were played and are not planned again.
    for (int wait : tokens_.waits().rest(static_cast<long>(now - session.line.decoder.current_step()))) {
        session.line.decoder.feed(tokens_[wait], [](const StepPlan&) {});
        feed_tokens(session, {wait}, {session.line.decoder.current_step()});
    }
    ++session.plan_epoch;
    session.replan_published = false;
    return true;
}

std::pair<std::vector<int>, std::vector<std::int64_t>> InferenceService::encode_at(const std::vector<midi::Note>& notes,
                                                                                   std::int64_t first_step) const {
    auto timed = tokenizer_->encode_timed(notes);
    std::vector<int> ids;
    std::vector<std::int64_t> steps;
    for (std::size_t i = 0; i < timed.tokens.size(); ++i)
        if (auto id = model_->vocabulary.id_of(timed.tokens[i])) {
            ids.push_back(*id);
            steps.push_back(first_step + (timed.steps.empty() ? 0 : timed.steps[i]));
        }
    return {ids, steps};
}

// Samples the session's next token from `row` under its constraints and plays it
// into the decoder and the window.
int InferenceService::choose_token(Session& session, std::vector<float> row, std::int64_t now) {
    const auto vocab = row.size();
    std::unique_ptr<bool[]> mask(new bool[vocab]);
    std::fill(mask.get(), mask.get() + vocab, true);
    auto recent_count = std::min<std::ptrdiff_t>(12, static_cast<std::ptrdiff_t>(session.line.window.size()));
    std::vector<int> recent;
    for (auto it = session.line.window.end() - recent_count; it != session.line.window.end(); ++it)
        recent.push_back(it->id);
    // engine.join_player: while a player's note has no note of kanade's queued after it, a
    // step without notes may not end (a step that came too late to play owes it still).
    const bool owes_note = session.settings.mode == Mode::accompany && session.settings.join_player &&
                           session.unanswered_since_ns != 0 && session.line.decoder.pending_notes() == 0;
    const LineState line{session.line.decoder.pending_notes(), session.must_start_note || owes_note,
                         session.line.decoder.awaiting_duration()};
    mask_->apply(session.settings.constraints, line, recent, row, std::span<bool>(mask.get(), vocab));
    const std::span<const bool> allowed(mask.get(), vocab);
    int token = repeated_token(session);
    if (token < 0 || !allowed[static_cast<std::size_t>(token)]) {  // a repeat that breaks a constraint is not played
        // A note's length is drawn from the network's whole distribution: top-p's trimmed tail
        // is mostly wrong notes among pitches, but among lengths it is the held notes the
        // corpus needs (models/README.md, "Lengths drawn whole").
        auto sampling = session.settings.sampling;
        if (line.awaiting_duration) sampling.top_p = 1.0;
        token = session.sampler.sample(row, sampling, allowed);
        if (token < 0) token = session.sampler.sample(row, sampling);  // constraints left nothing: ignore them
        token = onto_bar_line(session, token, allowed);
    }
    ++stats_.tokens;
    const auto& meaning = tokens_[token];
    if (session.settings.mode == Mode::accompany && meaning.steps_moved(model_->grid.steps_per_beat) > 0)
        keep_replan_point(session, meaning.kind == music::TokenKind::wait);
    const bool made_note = session.line.decoder.feed(meaning, [&](StepPlan plan) {
        plan.heard_ns = session.unplanned_since_ns;
        if (plan.count > 0) plan.answered_ns = session.unanswered_since_ns;
        plan.epoch = session.plan_epoch;
        if (plan.step < now || !session.queue->push(plan)) {
            ++stats_.stale_plans;
            return;
        }
        if (!session.replan_published) {  // from now on the scheduler skips the taken-back plans
            session.live_epoch.store(session.plan_epoch, std::memory_order_release);
            session.replan_published = true;
            PlannedStep retraction{session.settings.output_channel, {}, true};
            retraction.plan.step = plan.step;
            planned_.push(retraction);
        }
        if (plan.heard_ns > 0) session.heard_mark = {plan.step, plan.heard_ns};
        if (plan.answered_ns > 0) session.answered_mark = {plan.step, plan.answered_ns};
        session.unplanned_since_ns = 0;
        if (plan.count > 0) {
            session.unanswered_since_ns = 0;
            planned_.push({session.settings.output_channel, plan});
        }
    });
    if (made_note) session.must_start_note = false;  // an answer has begun once a note is whole
    const auto step = session.line.decoder.current_step();
    push_window(session, {token, condition_at(session, step), step});
    session.line.last_token = token;
    if (session.answer_end_step >= 0 && session.line.decoder.current_step() >= session.answer_end_step) {
        session.generating = false;  // the answer is complete: listen again
        session.answer_end_step = -1;
    }
    return token;
}

void InferenceService::draw_repeat(Session& session, long bar) {
    session.line.repeat_decided_bar = bar;
    session.line.repeat_lag = 0;
    if (session.sampler.uniform() >= session.settings.repeat) return;
    // The corpus repeats a bar two back as often as four back (models/README.md).
    session.line.repeat_lag = session.sampler.uniform() < 0.5 ? 2 : 4;
}

int InferenceService::repeated_token(Session& session) {
    if (session.settings.repeat <= 0) return -1;
    const long bar = meters_.at(static_cast<long>(session.line.decoder.current_step())).bar;
    if (bar != session.line.repeat_decided_bar) draw_repeat(session, bar);  // a bar entered without a wait
    if (session.line.repeat_lag == 0) return -1;
    auto told = session.line.lookback.candidate(session.line.repeat_lag, meters_);
    if (told == 0 && session.line.repeat_lag == 4)
        told = session.line.lookback.candidate(session.line.repeat_lag = 2, meters_);
    return told == 0 ? -1 : told - 1;
}

int InferenceService::onto_bar_line(Session& session, int token, std::span<const bool> mask) {
    const auto& meaning = tokens_[token];
    if (session.settings.repeat <= 0 || meaning.kind != music::TokenKind::wait) return token;
    const auto step = static_cast<long>(session.line.decoder.current_step());
    const long arrival = step + meaning.steps;
    const auto to = meters_.at(arrival);
    if (to.bar == meters_.at(step).bar || to.bar == session.line.repeat_decided_bar) return token;
    draw_repeat(session, to.bar);
    if (session.line.repeat_lag == 0) return token;
    const int shorter = tokens_.waits().id_of(meters_.bar_start(arrival) - step);
    return shorter >= 0 && mask[static_cast<std::size_t>(shorter)] ? shorter : token;
}

void InferenceService::forward_and_sample(const std::vector<Session*>& due, std::int64_t now) {
    torch::NoGradGuard no_grad;
    if (device_loss_drill_.load(std::memory_order_relaxed))
        throw std::runtime_error("the device was lost (fault drill)");
    auto started = std::chrono::steady_clock::now();
    if (mode_ == InferenceMode::streaming) {
        // Each state already predicts its next token: sample, then one batched step
        // over all due sessions advances every state by the sampled token.
        std::vector<std::int64_t> tokens;
        std::vector<music::TokenCondition> conditions;
        for (auto* session : due) {
            tokens.push_back(choose_token(*session, session->line.next_logits, now));
            conditions.push_back(session->line.window.back().condition);
        }
        model::RecurrentState batch;
        const auto layers = due.front()->line.state.h.size();
        for (std::size_t layer = 0; layer < layers; ++layer) {
            std::vector<torch::Tensor> h, c;
            for (auto* session : due)
                h.push_back(session->line.state.h[layer]), c.push_back(session->line.state.c[layer]);
            batch.h.push_back(torch::cat(h));
            batch.c.push_back(torch::cat(c));
        }
        auto logits =
            model_->network
                ->step(torch::tensor(tokens, torch::kInt64).to(device_), batch, conditions_tensor(conditions, 1))
                .to(torch::kCPU);
        for (std::size_t i = 0; i < due.size(); ++i) {
            auto index = static_cast<std::int64_t>(i);
            for (std::size_t layer = 0; layer < layers; ++layer) {
                due[i]->line.state.h[layer] = batch.h[layer].slice(0, index, index + 1);
                due[i]->line.state.c[layer] = batch.c[layer].slice(0, index, index + 1);
            }
            due[i]->line.next_logits = logits_to_floats(logits[index]);
        }
    } else {
        // Faithful: each due session's whole window, from a fresh state. Windows of one
        // length share a pass (after the first steps of a set, that is all of them); a
        // window is never cut to fit another session's.
        std::vector<Session*> pending = due;
        while (!pending.empty()) {
            const auto length = pending.front()->line.window.size();
            std::vector<Session*> batch, later;
            for (auto* session : pending) (session->line.window.size() == length ? batch : later).push_back(session);
            std::vector<std::int64_t> ids;
            std::vector<music::TokenCondition> conditions;
            for (auto* session : batch)
                for (const auto& token : session->line.window) {
                    ids.push_back(token.id);
                    conditions.push_back(token.condition);
                }
            const auto time = static_cast<std::int64_t>(length);
            auto rows = torch::tensor(ids, torch::kInt64).view({static_cast<std::int64_t>(batch.size()), time});
            const auto rows_conditions = host_conditions(conditions, time);
            auto logits = cuda_graphs_.last_logits(model_->network, model_->config.window, rows, rows_conditions);
            if (!logits.defined())
                logits = model_->network->forward_last(rows.to(device_), model::to_device(rows_conditions, device_))
                             .to(torch::kCPU);
            for (std::size_t i = 0; i < batch.size(); ++i)
                choose_token(*batch[i], logits_to_floats(logits[static_cast<std::int64_t>(i)]), now);
            pending = std::move(later);
        }
    }
    record_latency(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
}

void InferenceService::run() {
    // Woken by each step of the clock, and every 2 ms for the player's notes and settings.
    // A pass that made tokens is followed by the next after 0.1 ms, time enough for a thread
    // waiting on the lock to take it: a step of several tokens (a re-plan just before its
    // deadline) is made in close passes.
    auto& step_clock = *step_clock_;
    bool made = false;
    while (!stopping_) {
        step_clock.wait_for(std::chrono::microseconds(made ? 100 : 2000));
        if (stopping_) break;
        std::lock_guard lock(mutex_);
        const auto now = step_clock.next_step();
        try {
            made = plan_ahead(now, step_clock.playing());
        } catch (const std::exception& failure) {
            // Outside the forward pass (a player's notes fed in, windows restarted): the same
            // recovery; should it fail too, the next pass tries again.
            made = false;
            try {
                recover_from(failure, now);
            } catch (const std::exception& again) {
                ++stats_.failures;
                stats_.last_failure = again.what();
            }
        }
    }
}

bool InferenceService::plan_offline(std::int64_t now) {
    std::lock_guard lock(mutex_);
    return plan_ahead(now, true);
}

bool InferenceService::plan_ahead(std::int64_t now, bool playing) {
    if (pending_model_) {
        cuda_graphs_.clear();
        model_ = std::move(pending_model_);
        // Asked for on a device that has failed since: its weights as loaded, in host memory.
        host_network_ = std::exchange(pending_host_network_, nullptr);
        if (device_.is_cpu() && host_network_) model_ = on_host(*model_, std::exchange(host_network_, nullptr));
        tokens_ = music::TokenTable(model_->vocabulary, model_->tokenizer);
        mask_ = std::make_unique<TokenMask>(tokens_);
        tokenizer_ = music::make_tokenizer(model_->tokenizer, model_->grid);
        read_model_controls();
        for (auto& session : sessions_) {
            session->prompt.clear();
            reset_session(*session, now);
        }
    }
    take_human_events();
    if (!playing) {
        for (auto& session : sessions_) session->expecting.store(false, std::memory_order_relaxed);
        was_running_ = false;
        return false;
    }
    if (!was_running_) {
        for (auto& session : sessions_) reset_session(*session, now);
        was_running_ = true;
    }
    std::vector<Session*> due;
    for (auto& session : sessions_) {
        absorb_human_input(*session, now);
        auto& points = session->replan_points;  // a point whose successor is not ahead of the clock is of no use
        while (points.size() >= 2 && points[1].step <= now) points.pop_front();
        if (!session->generating) continue;
        if (session->line.decoder.current_step() < now) {
            // Fell behind the clock (a slow pass, a stall): rejoin it rather than play late.
            stats_.stale_plans += static_cast<std::uint64_t>(now - session->line.decoder.current_step());
            session->line.decoder.restart(now);
        }
        if (session->line.decoder.current_step() < now + session->settings.lookahead_steps &&
            session->queue->size() + 4 < PlanQueue::capacity())
            due.push_back(session.get());
    }
    if (!due.empty()) {
        try {
            forward_and_sample(due, now);
        } catch (const std::exception& failure) {
            recover_from(failure, now);
        }
    }
    for (auto& session : sessions_)
        session->expecting.store(session->generating && session->line.decoder.current_step() > now,
                                 std::memory_order_relaxed);
    return !due.empty();
}

}  // namespace kanade::engine
