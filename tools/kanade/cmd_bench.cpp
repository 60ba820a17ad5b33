// `kanade bench`: where inference and timing stand on this machine, as a table or one
// JSON object that scripts compare across builds and machines (bench/compare.sh).
#include "commands.hpp"

#include "kanade/bench/inference_bench.hpp"
#include "kanade/bench/machine_info.hpp"
#include "kanade/bench/realtime_bench.hpp"
#include "kanade/model/cuda_graph_step.hpp"
#include "kanade/model/device.hpp"
#include "kanade/model/packed_matrix.hpp"
#ifdef KANADE_WITH_TRANSCRIBE
#include "kanade/transcribe/transcriber.hpp"
#endif
#include "kanade/util/json_writer.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

namespace kanade::cli {
namespace {

struct BenchCommand {
    std::string seed_model = "models/seed.kmodel";
    std::string kanade_model = "models/default.kmodel";
    bool json = false;
    bool quick = false;
    bool reference = false;  // also time libtorch's modules, for the packed path's speed-up
    int steps = 1000;
    double max_row_seconds = 60;
    std::vector<int> batches = {1, 8, 64, 256};
    std::vector<std::string> devices;  // empty: the CPU, and CUDA when libtorch sees a GPU
    int threads = 0;
    double realtime_seconds = 20;
    int calls = 20;
    double training_seconds = 5;
};

struct InferenceRow {
    std::string arch, mode, device, path, precision = "float32";
    int batch = 1;
    bench::Latency latency;
    std::string error;  // why the row has no figures ("" when measured)
};

struct SustainedRow {
    std::string arch, mode, device, precision;
    int sessions = 0;  // 0: not even one
    double p99_ms = 0;
};

struct TranscriptionRow {
    std::string backend = "basic-pitch";
    double audio_seconds = 0, times_real_time = 0;
    std::size_t notes = 0;
    std::string unavailable;  // why there is no figure ("" when measured)
};

// Piano-like test audio: an arpeggio of decaying tones, a new note every quarter second.
std::vector<float> arpeggio(int sample_rate, double seconds) {
    std::vector<float> audio(static_cast<std::size_t>(sample_rate * seconds), 0.0f);
    const int pitches[] = {60, 64, 67, 72, 67, 64};
    const auto note_length = static_cast<std::size_t>(sample_rate / 4);
    for (std::size_t start = 0, index = 0; start < audio.size(); start += note_length, ++index) {
        const double frequency = 440.0 * std::pow(2.0, (pitches[index % 6] - 69) / 12.0);
        for (std::size_t i = 0; i < 2 * note_length && start + i < audio.size(); ++i) {
            const double t = static_cast<double>(i) / sample_rate;
            audio[start + i] += static_cast<float>(0.3 * std::exp(-3.0 * t) * std::sin(2 * M_PI * frequency * t));
        }
    }
    return audio;
}

struct TrainingRow {
    std::string arch, device, precision = "float32";  // "bfloat16-autocast": mixed precision on CUDA
    double tokens_per_second = 0;
};

const char* mode_name(engine::InferenceMode mode) {
    return mode == engine::InferenceMode::faithful ? "faithful" : "streaming";
}

class Bench {
public:
    explicit Bench(const BenchCommand& command) : command_(command) {
        if (command_.quick) {
            command_.steps = std::min(command_.steps, 50);
            command_.batches = {1, 8};
            command_.realtime_seconds = 3;
            command_.calls = 3;
            command_.training_seconds = 1;
        }
        devices_ = command_.devices;
        if (devices_.empty()) {
            devices_.push_back("cpu");
            if (torch::cuda::is_available()) devices_.push_back("cuda");
        }
        for (const auto& device : devices_)
            if (device == "cuda" && !torch::cuda::is_available())
                throw CommandError("--device cuda: libtorch sees no CUDA GPU (built without CUDA, or no driver)",
                                   exit_code::unavailable);
        models_.push_back(std::make_shared<model::Model>(model::load_model(command_.seed_model)));
        models_.push_back(std::make_shared<model::Model>(model::load_model(command_.kanade_model)));
    }

    void run() {
        machine_ = bench::describe_machine();
        for (auto& model : models_)
            for (auto mode : {engine::InferenceMode::faithful, engine::InferenceMode::streaming})
                for (const auto& device : devices_) measure_model(*model, mode, device);
        measure_realtime();
        measure_transcription();
        for (auto& model : models_)
            for (const auto& device : devices_)
                for (bool mixed : {false, true}) {
                    if (mixed && device != "cuda") continue;
                    TrainingRow row{model->config.arch, device, mixed ? "bfloat16-autocast" : "float32", 0};
                    progress("training " + row.arch + " on " + device + " " + row.precision);
                    row.tokens_per_second =
                        bench::training_tokens_per_second(model->config, device, 64, command_.training_seconds, mixed);
                    training_.push_back(row);
                }
    }

    void print_table() const {
        const auto& m = machine_;
        std::printf("machine: %s (%s), %u cores, %s; libtorch %s (%s), %d threads, load %.2f\n\n", m.cpu_model.c_str(),
                    m.cpu_features.c_str(), m.cores, m.gpu.empty() ? "no GPU" : m.gpu.c_str(), m.torch_version.c_str(),
                    m.build_type.c_str(), m.torch_threads, m.load_average);
        std::printf("%-7s %-10s %-5s %-8s %-8s %6s %9s %9s %9s\n", "arch", "mode", "dev", "path", "weights", "batch",
                    "p50 ms", "p99 ms", "max ms");
        for (const auto& row : inference_) {
            std::printf("%-7s %-10s %-5s %-8s %-8s %6d ", row.arch.c_str(), row.mode.c_str(), row.device.c_str(),
                        row.path.c_str(), row.precision.c_str(), row.batch);
            if (row.error.empty())
                std::printf("%9.3f %9.3f %9.3f\n", row.latency.p50_ms, row.latency.p99_ms, row.latency.max_ms);
            else
                std::printf("failed: %s\n", row.error.c_str());
        }
        std::printf("\nsessions in real time (%.0f BPM, %d steps a beat: p99 under %.2f ms)\n", bpm, steps_per_beat,
                    limit_ms());
        for (const auto& row : sustained_)
            std::printf("  %-7s %-10s %-5s %-8s %5d sessions (p99 %.3f ms)\n", row.arch.c_str(), row.mode.c_str(),
                        row.device.c_str(), row.precision.c_str(), row.sessions, row.p99_ms);
        const auto& t = timing_.send_minus_grid;
        std::printf(
            "\nscheduler: note sent minus grid time p50 %.3f p99 %.3f max %.3f ms over %zu notes, %llu steps, "
            "%llu late (%s)\n",
            t.p50_ms, t.p99_ms, t.max_ms, t.samples, static_cast<unsigned long long>(timing_.steps),
            static_cast<unsigned long long>(timing_.late_steps),
            timing_.realtime_priority ? "real-time priority" : "no real-time priority");
        std::printf("call to answer: p50 %.1f p99 %.1f max %.1f ms over %zu calls (a step is %.1f ms)\n",
                    answer_.p50_ms, answer_.p99_ms, answer_.max_ms, answer_.samples, step_ms());
        const auto &to_step = player_.to_step, &to_note = player_.to_note;
        std::printf(
            "player to machine (accompany, %zu notes): to the first step planned with it p50 %.1f p99 %.1f max %.1f "
            "ms (bound: a step %.1f + inference p99 %.1f ms); to kanade's first note p50 %.1f p99 %.1f ms (%zu), "
            "with engine.join_player p50 %.1f p99 %.1f ms (%zu)\n",
            player_.notes_played, to_step.p50_ms, to_step.p99_ms, to_step.max_ms, player_.step_ms,
            player_.inference_p99_ms, to_note.p50_ms, to_note.p99_ms, to_note.samples, player_.to_note_joined.p50_ms,
            player_.to_note_joined.p99_ms, player_.to_note_joined.samples);
        for (const auto& row : training_)
            std::printf("training %-7s %-5s %-17s %10.0f tokens/s\n", row.arch.c_str(), row.device.c_str(),
                        row.precision.c_str(), row.tokens_per_second);
        if (transcription_.unavailable.empty())
            std::printf("transcription %s: %.1fx real time (%.0f s of audio, %zu notes)\n",
                        transcription_.backend.c_str(), transcription_.times_real_time, transcription_.audio_seconds,
                        transcription_.notes);
        else
            std::printf("transcription %s: not measured (%s)\n", transcription_.backend.c_str(),
                        transcription_.unavailable.c_str());
    }

    std::string json() const {
        util::JsonWriter json;
        json.begin_object().field("command", command_line()).field("quick", command_.quick);
        json.key("machine")
            .begin_object()
            .field("cpu", machine_.cpu_model)
            .field("cpu_features", machine_.cpu_features)
            .field("cores", static_cast<std::uint64_t>(machine_.cores))
            .key("gpu");
        if (machine_.gpu.empty())
            json.null();
        else
            json.value(machine_.gpu);
        json.field("cuda_devices", machine_.cuda_devices)
            .field("libtorch", machine_.torch_version)
            .field("build_type", machine_.build_type)
            .field("threads", machine_.torch_threads)
            .field("load_average", machine_.load_average)
            .end_object();
        json.key("inference").begin_array();
        for (const auto& row : inference_) {
            json.begin_object()
                .field("arch", row.arch)
                .field("mode", row.mode)
                .field("device", row.device)
                .field("path", row.path)
                .field("precision", row.precision)
                .field("batch", row.batch);
            if (row.error.empty())
                json.field("steps", static_cast<std::uint64_t>(row.latency.samples))
                    .field("p50_ms", row.latency.p50_ms)
                    .field("p99_ms", row.latency.p99_ms)
                    .field("max_ms", row.latency.max_ms);
            else
                json.field("error", row.error);
            json.end_object();
        }
        json.end_array();
        json.key("sustained_sessions")
            .begin_object()
            .field("bpm", bpm)
            .field("steps_per_beat", steps_per_beat)
            .field("p99_limit_ms", limit_ms())
            .key("rows")
            .begin_array();
        for (const auto& row : sustained_)
            json.begin_object()
                .field("arch", row.arch)
                .field("mode", row.mode)
                .field("device", row.device)
                .field("precision", row.precision)
                .field("sessions", row.sessions)
                .field("p99_ms", row.p99_ms)
                .end_object();
        json.end_array().end_object();
        const auto& t = timing_.send_minus_grid;
        json.key("scheduler_timing")
            .begin_object()
            .field("notes", static_cast<std::uint64_t>(t.samples))
            .field("p50_ms", t.p50_ms)
            .field("p99_ms", t.p99_ms)
            .field("max_ms", t.max_ms)
            .field("steps", timing_.steps)
            .field("late_steps", timing_.late_steps)
            .field("realtime_priority", timing_.realtime_priority)
            .field("sessions", realtime_case().sessions)
            .field("mode", mode_name(realtime_case().mode))
            .end_object();
        json.key("call_to_answer")
            .begin_object()
            .field("calls", static_cast<std::uint64_t>(answer_.samples))
            .field("p50_ms", answer_.p50_ms)
            .field("p99_ms", answer_.p99_ms)
            .field("max_ms", answer_.max_ms)
            .field("step_ms", step_ms())
            .end_object();
        json.key("player_to_machine")
            .begin_object()
            .field("notes", static_cast<std::uint64_t>(player_.notes_played))
            .field("to_step_p50_ms", player_.to_step.p50_ms)
            .field("to_step_p99_ms", player_.to_step.p99_ms)
            .field("to_step_max_ms", player_.to_step.max_ms)
            .field("answered", static_cast<std::uint64_t>(player_.to_note.samples))
            .field("to_note_p50_ms", player_.to_note.p50_ms)
            .field("to_note_p99_ms", player_.to_note.p99_ms)
            .field("joined_to_note_p50_ms", player_.to_note_joined.p50_ms)
            .field("joined_to_note_p99_ms", player_.to_note_joined.p99_ms)
            .field("step_ms", player_.step_ms)
            .field("inference_p99_ms", player_.inference_p99_ms)
            .field("bound_ms", player_.step_ms + player_.inference_p99_ms)
            .end_object();
        json.key("training").begin_array();
        for (const auto& row : training_)
            json.begin_object()
                .field("arch", row.arch)
                .field("device", row.device)
                .field("precision", row.precision)
                .field("tokens_per_second", row.tokens_per_second)
                .end_object();
        json.end_array();
        json.key("transcription").begin_object().field("backend", transcription_.backend);
        if (transcription_.unavailable.empty())
            json.field("audio_seconds", transcription_.audio_seconds)
                .field("times_real_time", transcription_.times_real_time)
                .field("notes", static_cast<std::uint64_t>(transcription_.notes));
        else
            json.field("unavailable", transcription_.unavailable);
        json.end_object();
        json.end_object();
        return json.str();
    }

private:
    static constexpr double bpm = 120;
    static constexpr int steps_per_beat = 4;
    static double step_ms() { return 60'000.0 / bpm / steps_per_beat; }
    static double limit_ms() { return step_ms() / 4; }

    void progress(const std::string& what) const {
        if (command_.json) std::cerr << "bench: " << what << std::endl;
    }

    bench::RealtimeCase realtime_case() const {
        bench::RealtimeCase realtime_case;
        realtime_case.bpm = bpm;
        realtime_case.steps_per_beat = steps_per_beat;
        realtime_case.seconds = command_.realtime_seconds;
        return realtime_case;
    }

    InferenceRow measure_row(model::Model& model, engine::InferenceMode mode, const std::string& device, int batch,
                             int steps, bool packed,
                             model::InferencePrecision precision = model::InferencePrecision::float32, int threads = 1,
                             bool cuda_graph = false) {
        bench::InferenceCase inference_case;
        inference_case.mode = mode;
        inference_case.device = device;
        inference_case.batch = batch;
        inference_case.steps = steps;
        inference_case.max_seconds = command_.max_row_seconds;
        inference_case.packed = packed;
        inference_case.precision = precision;
        inference_case.threads = threads;
        inference_case.cuda_graph = cuda_graph;
        const bool packed_applies = packed && device == "cpu";
        InferenceRow row{model.config.arch,
                         mode_name(mode),
                         device,
                         cuda_graph        ? "graph"
                         : !packed_applies ? "modules"
                         : threads >= 2    ? "packed2t"
                                           : "packed",
                         model::precision_name(precision),
                         batch,
                         {},
                         {}};
        progress(row.arch + " " + row.mode + " " + device + " " + row.path + " " + row.precision + " batch " +
                 std::to_string(batch));
        try {
            row.latency = bench::measure_inference(model, inference_case);
        } catch (const std::runtime_error& error) {  // a CUDA graph that could not be recorded
            if (!cuda_graph) throw;
            row.error = error.what();
            progress("failed: " + row.error);
        }
        if (packed_applies) row.precision = model::precision_name(model.network->inference_precision());
        return row;
    }

    static std::vector<model::InferencePrecision> supported_precisions() {
        std::vector<model::InferencePrecision> supported;
        for (const char* name : model::inference_precision_names) {
            const auto precision = model::parse_inference_precision(name);
            if (model::supported_precision(precision) == precision) supported.push_back(precision);
        }
        return supported;
    }

    void measure_model(model::Model& model, engine::InferenceMode mode, const std::string& device) {
        // Sessions in real time are counted as the daemon runs by default: one thread, in
        // its precision (config model.precision = "bfloat16", falling back as the CPU needs).
        const auto daemon_precision = device == "cpu" ? model::supported_precision(model::InferencePrecision::bfloat16)
                                                      : model::InferencePrecision::float32;
        SustainedRow sustained{
            model.config.arch, mode_name(mode), device, model::precision_name(daemon_precision), 0, 0};
        auto count = [&](const InferenceRow& row) {
            if (row.error.empty() && row.latency.p99_ms < limit_ms())
                sustained.sessions = row.batch, sustained.p99_ms = row.latency.p99_ms;
        };
        // On CUDA the daemon replays a recorded graph for full faithful windows where it can.
        bool daemon_graph =
            device == "cuda" && mode == engine::InferenceMode::faithful && model::CudaGraphStep::available();
        const auto precisions =
            device == "cpu" ? supported_precisions() : std::vector{model::InferencePrecision::float32};
        for (int batch : command_.batches) {
            InferenceRow daemon_row;
            for (auto precision : precisions) {
                auto row = measure_row(model, mode, device, batch, command_.steps, true, precision);
                if (precision == daemon_precision) daemon_row = row;
                inference_.push_back(row);
            }
            if (daemon_graph) {
                // The faithful step as a recorded CUDA graph (pinned buffers, one wait a step).
                auto row = measure_row(model, mode, device, batch, command_.steps, true,
                                       model::InferencePrecision::float32, 1, true);
                if (row.error.empty())
                    daemon_row = row;
                else
                    daemon_graph = false;  // the daemon, too, would run kernel by kernel
                inference_.push_back(row);
            }
            count(daemon_row);
            if (device != "cpu") continue;
            // The faithful window on two threads (config model.threads >= 2).
            if (mode == engine::InferenceMode::faithful)
                for (auto precision : precisions)
                    inference_.push_back(measure_row(model, mode, device, batch, command_.steps, true, precision, 2));
            if (command_.reference)
                inference_.push_back(measure_row(model, mode, device, batch, command_.steps, false));
        }
        // Past the largest batch measured, double until the step no longer fits.
        if (!command_.quick && sustained.sessions == command_.batches.back()) {
            for (int batch = sustained.sessions * 2; batch <= 8192; batch *= 2) {
                auto row = measure_row(model, mode, device, batch, std::min(command_.steps, 200), true,
                                       daemon_precision, 1, daemon_graph);
                if (!row.error.empty() || row.latency.p99_ms >= limit_ms()) break;
                count(row);
            }
        }
        sustained_.push_back(sustained);
    }

    void measure_realtime() {
        auto model = models_.back();  // the shipped default
        progress("scheduler timing, " + std::to_string(realtime_case().sessions) + " faithful sessions");
        timing_ = bench::measure_scheduler_timing(model, realtime_case());
        progress("call to answer, " + std::to_string(command_.calls) + " calls");
        answer_ = bench::measure_call_to_answer(model, realtime_case(), command_.calls);
        progress("player to machine, " + std::to_string(command_.calls) + " notes");
        player_ = bench::measure_player_to_machine(model, realtime_case(), command_.calls);
    }

    // The whole transcription (network and note decoding) on test audio, streamed in
    // one-second chunks as `kanade transcribe` does.
    void measure_transcription() {
#ifndef KANADE_WITH_TRANSCRIBE
        transcription_.unavailable = "built without transcription (nlohmann-json was not found)";
#else
        try {
            auto transcriber = transcribe::make_transcriber({});
            const double seconds = command_.quick ? 10 : 60;
            auto audio = arpeggio(transcriber->sample_rate(), seconds);
            progress("transcription, " + std::to_string(static_cast<int>(seconds)) + " s of audio");
            const auto chunk = static_cast<std::size_t>(transcriber->sample_rate());
            auto started = std::chrono::steady_clock::now();
            for (std::size_t at = 0; at < audio.size(); at += chunk)
                transcriber->push(std::span<const float>(audio).subspan(at, std::min(chunk, audio.size() - at)));
            transcription_.notes = transcriber->finish().size();
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            transcription_.audio_seconds = seconds;
            transcription_.times_real_time = seconds / elapsed;
        } catch (const std::exception& error) {
            transcription_.unavailable = error.what();
        }
#endif
    }

    BenchCommand command_;
    TranscriptionRow transcription_;
    std::vector<std::string> devices_;
    std::vector<std::shared_ptr<model::Model>> models_;
    bench::MachineInfo machine_;
    std::vector<InferenceRow> inference_;
    std::vector<SustainedRow> sustained_;
    bench::SchedulerTiming timing_;
    bench::Latency answer_;
    bench::PlayerToMachine player_;
    std::vector<TrainingRow> training_;
};

}  // namespace

void add_bench_command(CLI::App& app) {
    auto command = std::make_shared<BenchCommand>();
    auto* sub = app.add_subcommand("bench", "Measure inference latency, real-time timing and training speed");
    sub->add_option("--seed-model", command->seed_model, "the seed-architecture model")
        ->capture_default_str()
        ->check(CLI::ExistingFile);
    sub->add_option("--kanade-model", command->kanade_model, "the kanade-architecture model")
        ->capture_default_str()
        ->check(CLI::ExistingFile);
    sub->add_flag("--json", command->json, "print one JSON object instead of the table");
    sub->add_flag("--quick", command->quick, "a run under a minute: 50 steps, batches 1 and 8, short timings");
    sub->add_flag("--reference", command->reference, "also time libtorch's LSTM modules on the CPU");
    sub->add_option("--steps", command->steps, "measured steps per inference row")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000000));
    sub->add_option("--batch", command->batches, "sessions batched together (repeatable)")
        ->capture_default_str()
        ->check(CLI::Range(1, 65536));
    sub->add_option("--max-row-seconds", command->max_row_seconds,
                    "stop a slow inference row after this long, once it has 100 steps (0: never)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 86400.0));
    sub->add_option("--device", command->devices,
                    "cpu or cuda (repeatable; default: the CPU, and CUDA when libtorch sees a GPU)")
        ->check(CLI::IsMember({"cpu", "cuda"}));
    sub->add_option("--threads", command->threads, "CPU threads (0: libtorch default)")->capture_default_str();
    sub->add_option("--realtime-seconds", command->realtime_seconds, "length of the scheduler timing run")
        ->capture_default_str()
        ->check(CLI::Range(0.5, 3600.0));
    sub->add_option("--calls", command->calls,
                    "calls answered for the call-to-answer latency, and notes for the player-to-machine one")
        ->capture_default_str()
        ->check(CLI::Range(1, 10000));
    sub->callback([command] {
        if (command->threads > 0) model::set_cpu_threads(command->threads);
        Bench bench(*command);
        bench.run();
        if (command->json)
            std::cout << bench.json() << std::endl;
        else
            bench.print_table();
    });
}

}  // namespace kanade::cli
