#include "daemon.hpp"

#include "osc_commands.hpp"
#include "oscquery.hpp"
#include "outputs.hpp"

#include "kanade/model/cpu_features.hpp"
#include "kanade/model/device.hpp"
#include "kanade/music/file_prompt.hpp"
#include "kanade/music/token_corpus.hpp"
#include "kanade/util/atomic_file.hpp"
#include "kanade/util/json_writer.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <iostream>

#ifdef KANADE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace kanade::daemon {
namespace {

void notify_systemd([[maybe_unused]] const char* state) {
#ifdef KANADE_HAVE_SYSTEMD
    sd_notify(0, state);
#endif
}

engine::ChannelRouting channel_routing(const io::DaemonConfig& config) {
    return {config.midi.channel - 1, config.engine.sessions};
}

// Session `index`'s settings at start and on reload: the configured voice on its channel.
engine::SessionSettings session_settings(const io::DaemonConfig& config, int index) {
    auto settings = config.engine.voice;
    settings.output_channel = channel_routing(config).output_channel(index);
    settings.max_held_steps = config.clock.scheduler.max_note_steps;
    return settings;
}

}  // namespace

void Daemon::log(const std::string& line) const {
    std::fprintf(stderr, "kanaded: %s\n", line.c_str());
    std::fflush(stderr);
}

void Daemon::apply_precision(model::Model& model) {
    model.network->eval();
    model.network->set_inference_precision(model::parse_inference_precision(config_.model.precision));
    // Two or more threads: the faithful mode's window also runs its recurrence on two.
    model.network->set_inference_threads(config_.model.threads >= 2 ? 2 : 1);
    if (!device_.is_cpu()) return;
    const std::string effective = model::precision_name(model.network->inference_precision());
    std::string line = "CPU inference in " + effective;
    if (config_.model.precision != effective)
        line += " (model.precision " + config_.model.precision + " needs " +
                (config_.model.precision == "bfloat16" ? "AVX-512 BF16" : "F16C and AVX2") + ", which this CPU lacks)";
    if (effective == "int8" && !model::cpu_features().avx512_vnni)
        line += " (without AVX-512 VNNI: the same numbers by the plain C++ kernel, slower)";
    log(line + "; CPU features: " + model::describe(model::cpu_features()));
}

Daemon::Daemon(io::DaemonConfig config, std::filesystem::path config_path)
    : config_(std::move(config)), config_path_(std::move(config_path)) {
    auto choice = model::choose_device(config_.model.device);
    device_ = choice.device;
    log(choice.reason);
    model::set_cpu_threads(config_.model.threads > 0 ? config_.model.threads : 1);

    model_path_ = config_.model.path;
    model_ = std::make_shared<model::Model>(model::load_model(model_path_));
    apply_precision(*model_);
    log("model " + model_path_.string() + ": " + model_->config.arch + " network on " + model_->tokenizer +
        " tokens, vocabulary " + std::to_string(model_->vocabulary.size()));
    if (model_->grid.steps_per_beat != config_.clock.scheduler.steps_per_beat)
        log("clock.steps_per_beat " + std::to_string(config_.clock.scheduler.steps_per_beat) +
            " differs from the model's grid (" + std::to_string(model_->grid.steps_per_beat) +
            "); playing on the model's grid");

    // engine.seed = 0 picks one; the recording's header names the one used, so a take can be replayed.
    seed_ = config_.engine.seed
                ? config_.engine.seed
                : static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    log("sampling seed " + std::to_string(seed_));
    service_ = std::make_unique<engine::InferenceService>(model_, device_, config_.engine.inference, seed_);
    routing_.store(channel_routing(config_).pack());
    controllers_.store(std::make_shared<const std::vector<io::ControllerBinding>>(config_.midi.controllers));
    for (int i = 0; i < config_.engine.sessions; ++i) service_->add_session(session_settings(config_, i));
    // The network hears the bar of the daemon's own grid (step 0 starts one).
    service_->set_meter(
        music::MeterMap::uniform(config_.clock.scheduler.beats_per_bar, 4, model_->grid.steps_per_beat));
    if (!config_.engine.seed_midi.empty()) {
        auto corpus = music::load_corpus({config_.engine.seed_midi});
        if (!corpus.errors.empty()) throw std::runtime_error("engine.seed_midi: " + corpus.errors.front());
        music::TokenizeOptions options;
        options.vocabulary = model_->vocabulary;
        auto tokens = music::tokenize_corpus(corpus, *music::make_tokenizer(model_->tokenizer, model_->grid), options);
        // A window from the file's start that ends on its bar line, so the session goes on
        // in the file's bar (music/file_prompt.hpp).
        const auto& file = tokens.files.front();
        const music::TokenTable token_table(model_->vocabulary, model_->tokenizer);
        const auto range = music::opening_prompt(file, token_table, static_cast<std::size_t>(model_->config.window));
        auto prompt = music::prompt_tokens(file, token_table, range);
        for (int i = 0; i < config_.engine.sessions; ++i) service_->set_prompt(i, prompt.ids, prompt.conditions);
        log("seeded from " + config_.engine.seed_midi + " (tokens " + std::to_string(range.begin) + ".." +
            std::to_string(range.end) + ")");
    } else if (!model_->primers.empty()) {
        log("each session starts from one of the model's " + std::to_string(model_->primers.size()) +
            " primers (bars of training music, heard and not played; kanade primer lists them)");
    }

    midi_ = std::make_unique<io::MidiPorts>(config_.midi.ports);
    log("MIDI: " + midi_->status());

    audio_ = std::make_unique<io::AudioOutput>(config_.audio);
    log("audio: " + audio_->description());

    outputs_.push_back(std::make_unique<MidiOutput>(*midi_));
    outputs_.push_back(std::make_unique<SynthOutput>(*audio_));
    auto recorder_output = std::make_unique<RecorderOutput>();
    recorder_output_ = recorder_output.get();
    outputs_.push_back(std::move(recorder_output));
    auto monitor = std::make_unique<MonitorOutput>();
    monitor_ = monitor.get();
    outputs_.push_back(std::move(monitor));
    if (!config_.record.dir.empty()) {
        auto reason = start_recording(config_.record.dir);
        if (!reason.empty()) throw std::runtime_error(reason);
    }

    auto scheduler_config = config_.clock.scheduler;
    scheduler_config.steps_per_beat = model_->grid.steps_per_beat;  // the model's grid wins
    std::vector<clock::NoteOutput*> outputs;
    for (auto& output : outputs_) outputs.push_back(output.get());
    if (config_.clock.link) {
        link_ = std::make_unique<io::LinkSession>(
            io::LinkSessionConfig{scheduler_config.bpm, static_cast<double>(scheduler_config.beats_per_bar),
                                  config_.clock.link_start_stop_sync});
        log(std::string("Ableton Link: joined; the session leads tempo and beat phase (quantum ") +
            std::to_string(scheduler_config.beats_per_bar) + " beats)" +
            (config_.clock.link_start_stop_sync ? ", and start and stop" : "") +
            (config_.clock.follow_midi_clock ? "; incoming MIDI clock is ignored" : ""));
    }
    scheduler_ = std::make_unique<clock::Scheduler>(scheduler_config, *service_, step_clock_, outputs, link_.get());
    if (scheduler_config.send_clock)
        log(scheduler_->sends_clock() ? "MIDI clock out: 24 per quarter, with Start/Stop/Continue and Song Position"
                                      : "MIDI clock out refused: the grid's steps per beat do not divide 24");
    clock::ClockFollowerConfig follower_config;
    follower_config.steps_per_beat = model_->grid.steps_per_beat;
    clock_follower_ = clock::MidiClockFollower(follower_config);
    for (int i = 0; i < config_.engine.sessions; ++i)
        scheduler_->set_session_channel(i, service_->settings(i).output_channel);

    if (config_.osc.port > 0) {
        osc_ = std::make_unique<io::OscServer>(io_, config_.osc);
        auto setting_addresses = register_osc_commands(*this);
        log("OSC on udp://" + config_.osc.bind + ":" + std::to_string(osc_->local_port()));
        if (config_.web.port > 0) {
            // Without it the instrument still plays: a taken port is said, not fatal.
            try {
                oscquery_ = std::make_unique<OscQuery>(*this, std::move(setting_addresses), io_, config_.web);
                log("OSCQuery on http://" + config_.web.bind + ":" + std::to_string(oscquery_->port()) +
                    (config_.web.token.empty() ? "" : " (token required)"));
            } catch (const std::exception& failure) {
                log(std::string("web off: ") + failure.what());
            }
        }
    } else {
        log("OSC off (osc.port = 0); the [midi.cc] controllers, which drive its commands, are off too, and so is "
            "OSCQuery ([web]), which serves them");
    }
}

Daemon::~Daemon() { stop(); }

std::filesystem::path Daemon::models_dir() const {
    auto dir = std::filesystem::absolute(model_path_).parent_path();
    std::error_code ignored;
    auto canonical = std::filesystem::weakly_canonical(dir, ignored);
    return canonical.empty() ? dir : canonical;
}

std::string Daemon::load_model(const std::filesystem::path& requested) {
    // Only files inside the models folder: a remote client must not read the disk.
    auto dir = models_dir();
    auto path = requested.is_absolute() ? requested : dir / requested;
    std::error_code error;
    auto resolved = std::filesystem::weakly_canonical(path, error);
    if (error) return "cannot resolve " + requested.string();
    auto relative = resolved.lexically_relative(dir);
    if (relative.empty() || *relative.begin() == "..")
        return requested.string() + " is outside the models folder " + dir.string();
    try {
        auto loaded = std::make_shared<model::Model>(model::load_model(resolved));
        apply_precision(*loaded);
        if (loaded->grid.steps_per_beat != model_->grid.steps_per_beat)
            return resolved.string() + ": grid of " + std::to_string(loaded->grid.steps_per_beat) +
                   " steps per beat, the clock runs " + std::to_string(model_->grid.steps_per_beat);
        service_->swap_model(loaded);
        model_ = loaded;
        model_path_ = resolved;
        log("model " + resolved.string() + " loaded: " + loaded->config.arch + " on " + loaded->tokenizer + " tokens");
        if (recorder_)
            recorder_->log("{\"event\":\"model\",\"path\":\"" + util::json_escape(resolved.string()) + "\"}");
        return "";
    } catch (const std::exception& failure) {
        log(std::string("model refused, the old one keeps playing: ") + failure.what());
        return failure.what();
    }
}

std::string Daemon::settings_json() const {
    util::JsonWriter json;
    json.begin_object()
        .field("event", "start")
        .field("model", model_path_.string())
        .field("arch", model_->config.arch)
        .field("tokenizer", model_->tokenizer)
        .field("mode", engine::mode_name(config_.engine.voice.mode))
        .field("bpm", config_.clock.scheduler.bpm)
        .field("steps_per_beat", model_->grid.steps_per_beat)
        .field("beats_per_bar", config_.clock.scheduler.beats_per_bar)
        .field("temperature", config_.engine.voice.sampling.temperature)
        .field("top_k", config_.engine.voice.sampling.top_k)
        .field("top_p", config_.engine.voice.sampling.top_p)
        .field("seed", seed_)
        .field("scale", config_.engine.voice.constraints.scale_text())
        .end_object();
    return json.str();
}

std::string Daemon::start_recording(const std::filesystem::path& dir) {
    try {
        io::RecorderConfig recorder_config;
        recorder_config.dir = dir;
        auto recorder = std::make_unique<io::Recorder>(recorder_config, settings_json());
        recorder_output_->set(recorder.get());  // the old one, if any, is no longer pushed to
        if (recorder_) recorder_->stop();
        recorder_ = std::move(recorder);
        reported_record_errors_ = 0;
        log("recording to " + recorder_->midi_path().string() + " and " + recorder_->log_path().string());
        return "";
    } catch (const std::exception& failure) {
        return std::string("cannot record: ") + failure.what();
    }
}

std::string Daemon::stop_recording() {
    if (!recorder_) return "not recording";
    recorder_output_->set(nullptr);
    recorder_->stop();
    log("recording finished: " + recorder_->midi_path().string());
    recorder_.reset();  // what the recording held is freed now, not at exit
    return "";
}

io::Recorder::Counters Daemon::record_counters() const {
    return recorder_ ? recorder_->counters() : io::Recorder::Counters{};
}

std::string Daemon::recording_path() const { return recorder_ ? recorder_->midi_path().string() : std::string(); }

// A recording that cannot be written (disk full, file too large) goes on in memory and is
// retried; the player must hear of it: the log and every OSC subscriber are told, once per
// new failure.
void Daemon::report_record_errors() {
    const auto errors = record_counters().write_errors;
    if (errors <= reported_record_errors_) return;
    reported_record_errors_ = errors;
    const auto reason = recorder_->last_error();
    log("recording: write failed (" + std::to_string(errors) + " so far), retrying: " + reason);
    if (osc_)
        for (const auto& subscriber : subscribers_)
            osc_->send(subscriber, io::OscMessage{"/kanade/error", {std::string("/kanade/record"), reason}});
}

// The inference worker survives a failing forward pass (and leaves a failing GPU for the
// CPU); the log says what happened, once per new failure, and why faithful steps on CUDA
// run without a recorded graph, once per reason.
void Daemon::report_inference_failures() {
    auto stats = service_->stats();
    if (stats.cuda_graph_error != reported_cuda_graph_error_) {
        reported_cuda_graph_error_ = stats.cuda_graph_error;
        if (!stats.cuda_graph_error.empty())
            log("faithful steps on CUDA run kernel by kernel: " + stats.cuda_graph_error);
    }
    if (stats.failures <= reported_inference_failures_) return;
    reported_inference_failures_ = stats.failures;
    log("inference failed (" + std::to_string(stats.failures) + " so far), went on: " + stats.last_failure);
}

void Daemon::subscribe(const io::OscEndpoint& endpoint) { subscribers_.insert(endpoint); }
void Daemon::unsubscribe(const io::OscEndpoint& endpoint) { subscribers_.erase(endpoint); }

std::string Daemon::clock_leader() const {
    if (link_) return "link";
    const bool ticking = clock::monotonic_ns() - last_clock_tick_ns_.load(std::memory_order_relaxed) < 500'000'000;
    return follow_midi_clock_ && ticking ? "midi" : "internal";
}

std::string Daemon::status_line() const {
    auto scheduler = scheduler_->stats();
    auto inference = service_->stats();
    char line[320];
    std::snprintf(
        line, sizeof line,
        "tempo %.1f, mode %s, steps %llu, late %llu, notes %llu, inference p50 %.2f ms p99 %.2f ms, "
        "timing p99 %.2f ms",
        scheduler_->tempo(), engine::mode_name(config_.engine.voice.mode),
        static_cast<unsigned long long>(scheduler.steps), static_cast<unsigned long long>(scheduler.late_steps),
        static_cast<unsigned long long>(scheduler.notes), inference.p50_ms, inference.p99_ms, scheduler.timing_p99_ms);
    return line;
}

void Daemon::input_loop() {
    while (!stopping_.load()) {
        midi::Message message;
        bool any = false;
        while (midi_->pop_input(message)) {
            any = true;
            if (message.status() >= 0xF8 || message.status() == 0xF2) {
                if (!follow_midi_clock_) continue;
                if (message.status() == 0xF8) last_clock_tick_ns_.store(message.time_ns, std::memory_order_relaxed);
                auto update = clock_follower_.feed(message);
                if (update.bpm && std::abs(*update.bpm - scheduler_->tempo()) > 0.05)
                    scheduler_->set_tempo(*update.bpm);
                if (update.playing) scheduler_->set_playing(*update.playing);
                if (update.step_boundary_ns) scheduler_->align_step_boundary(*update.step_boundary_ns);
                continue;
            }
            if (message.command() == 0xB0) follow_controller(message);  // on any channel its binding names
            // Read whole from one atomic: a reload may change the channels meanwhile.
            const int session =
                engine::ChannelRouting::unpack(routing_.load(std::memory_order_acquire)).session_for(message.channel());
            if (session < 0) continue;
            const auto step = scheduler_->step_at(message.time_ns);
            if (message.is_note_on() || message.is_note_off()) {
                service_->human_note(session, message.bytes[1], message.bytes[2], step, message.is_note_on(),
                                     message.time_ns);
                scheduler_->push_human(message, step);
            } else if (message.command() == 0xB0) {
                scheduler_->push_human(message, step);
                service_->human_controller(session, message.bytes[1], message.bytes[2]);
            }
        }
        if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

void Daemon::follow_controller(const midi::Message& message) {
    if (learning_.exchange(false, std::memory_order_acq_rel)) {  // this move names the controller, nothing more
        boost::asio::post(io_, [this, controller = message.bytes[1], channel = message.channel() + 1] {
            finish_learning(controller, channel);
        });
        return;
    }
    const auto bindings = controllers_.load(std::memory_order_acquire);
    if (!bindings || !osc_) return;
    for (const auto& binding : *bindings) {
        auto command = io::controller_message(binding, message.channel() + 1, message.bytes[1], message.bytes[2]);
        if (!command) continue;
        // Handled on the io thread, as the same command over OSC is: one writer for settings.
        boost::asio::post(io_, [this, command = std::move(*command), controller = binding.controller]() mutable {
            if (auto reason = osc_->run(command); !reason.empty())
                log("MIDI cc " + std::to_string(controller) + " -> " + command.address + ": " + reason);
        });
    }
}

std::string Daemon::learn(const std::string& target, const io::OscEndpoint& requester) {
    if (!io::controller_target(target)) return io::binding_problem({target});
    learn_target_ = target;
    learn_requester_ = requester;
    learning_.store(true, std::memory_order_release);
    log("MIDI learn: move the controller for " + target);
    return {};
}

void Daemon::finish_learning(int controller, int channel) {
    config_.midi.controllers = io::learned(config_.midi.controllers, learn_target_, controller, channel);
    controllers_.store(std::make_shared<const std::vector<io::ControllerBinding>>(config_.midi.controllers),
                       std::memory_order_release);
    std::string saved = "for this run (no config file to keep it in)";
    if (!config_path_.empty()) {
        try {
            std::ifstream in(config_path_);
            const std::string text{std::istreambuf_iterator<char>(in), {}};
            const auto updated = io::with_controller_table(text, config_.midi.controllers);
            io::parse_config(updated, config_path_);  // never write a file kanaded would refuse
            util::write_file_atomically(config_path_, updated);
            saved = "saved in " + config_path_.string();
        } catch (const std::exception& failure) {
            saved = std::string("for this run; not saved: ") + failure.what();
        }
    }
    log("MIDI learn: cc " + std::to_string(controller) + " on channel " + std::to_string(channel) + " -> " +
        learn_target_ + ", " + saved);
    if (osc_)
        osc_->send(learn_requester_, io::OscMessage{"/kanade/learned",
                                                    {learn_target_, static_cast<std::int32_t>(controller),
                                                     static_cast<std::int32_t>(channel), saved}});
}

void Daemon::housekeeping() {
    // The notes played and planned this tick: OSC subscribers get each as it comes, the
    // control page's WebSockets all of them in one frame.
    const bool page_watching = oscquery_ && oscquery_->streaming();
    std::vector<WatchedNote> played_now, planned_now;
    std::vector<Retraction> retracted_now;
    MonitoredNote monitored;
    while (monitor_->pop(monitored)) {
        const auto& played = monitored.message;
        if (!played.is_note_on() && !played.is_note_off()) continue;
        const int velocity = played.is_note_on() ? played.bytes[2] : 0;
        if (page_watching)
            played_now.push_back({monitored.step, played.channel() + 1, played.bytes[1], velocity, 0, monitored.human});
        if (subscribers_.empty() || !osc_ || monitored.human) continue;
        io::OscMessage note{
            "/kanade/played",
            {static_cast<std::int32_t>(played.is_note_on() ? 1 : 0), static_cast<std::int32_t>(played.channel() + 1),
             static_cast<std::int32_t>(played.bytes[1]), static_cast<std::int32_t>(played.bytes[2])}};
        for (const auto& subscriber : subscribers_) osc_->send(subscriber, note);
    }
    // What the network has planned and not yet played: a visual score for subscribers.
    engine::PlannedStep planned;
    const double step_ms = 60e3 / (scheduler_->tempo() * model_->grid.steps_per_beat);
    while (service_->pop_planned(planned)) {
        if (planned.retracts) {  // a re-plan: what was shown from that step on will not play
            const Retraction retraction{planned.plan.step, planned.channel + 1};
            if (page_watching) {
                std::erase_if(planned_now, [&](const WatchedNote& note) {
                    return note.channel == retraction.channel && note.step >= retraction.step;
                });
                retracted_now.push_back(retraction);
            }
            if (subscribers_.empty() || !osc_) continue;
            const io::OscMessage message{
                "/kanade/replanned",
                {static_cast<std::int32_t>(retraction.channel), static_cast<std::int32_t>(retraction.step)}};
            for (const auto& subscriber : subscribers_) osc_->send(subscriber, message);
            continue;
        }
        const auto steps_ahead = planned.plan.step - scheduler_->current_step();
        for (int i = 0; i < planned.plan.count; ++i) {
            const auto& note = planned.plan.notes[i];
            if (page_watching)
                planned_now.push_back({planned.plan.step, planned.channel + 1, note.pitch, note.velocity, note.steps});
            if (subscribers_.empty() || !osc_) continue;
            io::OscMessage message{"/kanade/planned",
                                   {static_cast<std::int32_t>(planned.channel + 1),
                                    static_cast<std::int32_t>(note.pitch), static_cast<std::int32_t>(note.velocity),
                                    static_cast<std::int32_t>(planned.plan.step), static_cast<std::int32_t>(note.steps),
                                    static_cast<float>(static_cast<double>(steps_ahead) * step_ms)}};
            for (const auto& subscriber : subscribers_) osc_->send(subscriber, message);
        }
    }
    if (page_watching)
        oscquery_->send_notes(scheduler_->current_step(), step_ms, played_now, planned_now, retracted_now);
    if (oscquery_) oscquery_->send_changes();
    auto now = clock::monotonic_ns();
    if (now - last_maintain_ns_ > 1'000'000'000) {
        last_maintain_ns_ = now;
        if (midi_->maintain()) log("MIDI: " + midi_->status());
        report_record_errors();
        report_inference_failures();
        notify_systemd("WATCHDOG=1");
    }
    if (stopping_.load()) {
        io_.stop();
        return;
    }
    timer_.expires_after(std::chrono::milliseconds(50));
    timer_.async_wait([this](const boost::system::error_code& error) {
        if (!error) housekeeping();
    });
}

void Daemon::reload() {
    log("SIGHUP: reloading configuration and model");
    if (!config_path_.empty()) {
        try {
            auto fresh = io::load_config(config_path_);
            // The sessions' queues and the scheduler's slots are made at start: a new
            // count needs a restart. Everything else about the sessions applies now.
            const int sessions = static_cast<int>(service_->session_count());
            if (fresh.engine.sessions != sessions)
                log("engine.sessions = " + std::to_string(fresh.engine.sessions) + " takes a restart; keeping " +
                    std::to_string(sessions));
            fresh.engine.sessions = sessions;
            for (int i = 0; i < sessions; ++i) {
                auto settings = session_settings(fresh, i);
                service_->update_settings(i, settings);
                scheduler_->set_session_channel(i, settings.output_channel);
            }
            routing_.store(channel_routing(fresh).pack(), std::memory_order_release);
            controllers_.store(std::make_shared<const std::vector<io::ControllerBinding>>(fresh.midi.controllers),
                               std::memory_order_release);
            config_.midi.controllers = fresh.midi.controllers;
            config_.midi.channel = fresh.midi.channel;
            if (fresh.clock.link != config_.clock.link ||
                fresh.clock.link_start_stop_sync != config_.clock.link_start_stop_sync)
                log("clock.link and clock.link_start_stop_sync take a restart; keeping link " +
                    std::string(link_ ? "on" : "off"));
            if (fresh.web.bind != config_.web.bind || fresh.web.port != config_.web.port ||
                fresh.web.token != config_.web.token)
                log("[web] bind, port and token take a restart; OSCQuery and the control page stay as they were");
            scheduler_->set_tempo(fresh.clock.scheduler.bpm);  // under Link: the session's new tempo
            scheduler_->set_miss_policy(fresh.clock.scheduler.miss_policy);
            auto model_path = fresh.model.path;
            config_.engine = fresh.engine;
            config_.clock.scheduler.bpm = fresh.clock.scheduler.bpm;
            config_.clock.scheduler.miss_policy = fresh.clock.scheduler.miss_policy;
            config_.model.path = model_path;
        } catch (const std::exception& failure) {
            log(std::string("configuration refused, the old one stays: ") + failure.what());
            return;
        }
    }
    load_model(std::filesystem::absolute(config_.model.path));
}

int Daemon::run() {
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.add(SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& error,
                                                                               int number) {
        if (error) return;
        if (number == SIGHUP) {
            reload();
            signals_.async_wait(on_signal);
            return;
        }
        log(std::string("signal ") + (number == SIGINT ? "SIGINT" : "SIGTERM") + ": stopping");
        stop();
    };
    signals_.async_wait(on_signal);

    service_->start(step_clock_);
    scheduler_->start();
    log(scheduler_->realtime_report());
    input_thread_ = std::thread([this] { input_loop(); });
    log(std::string("playing: mode ") + engine::mode_name(config_.engine.voice.mode) + " at " +
        std::to_string(static_cast<int>(config_.clock.scheduler.bpm)) + " BPM");
    notify_systemd("READY=1");
    housekeeping();
    io_.run();

    notify_systemd("STOPPING=1");
    stopping_ = true;
    if (input_thread_.joinable()) input_thread_.join();
    scheduler_->stop();  // ends every sounding note
    if (!midi_->drain(std::chrono::milliseconds(2000)))
        log("MIDI: the last note-offs could not all be sent within 2 s");
    service_->stop();
    audio_->stop();
    if (recorder_) stop_recording();
    log("stopped: " + status_line());
    return 0;
}

void Daemon::stop() {
    stopping_ = true;
    io_.stop();
}

}  // namespace kanade::daemon
