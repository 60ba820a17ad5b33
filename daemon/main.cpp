// kanaded: the real-time daemon. For now it loads its configuration and model, checks
// both, and prints what it will play and where; the real-time engine is its own issue.
#include "kanade/engine/generator.hpp"
#include "kanade/io/config.hpp"
#include "kanade/model/device.hpp"
#include "kanade/model/model_file.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

namespace {

struct Overrides {
    std::string config_path;
    std::string model, mode, midi, audio, record, device;
    int osc_port = -1;
    int preview_steps = 32;
};

void apply(const Overrides& flags, kanade::io::DaemonConfig& config) {
    if (!flags.model.empty()) config.model.path = flags.model;
    if (!flags.mode.empty()) config.engine.mode = flags.mode;
    if (!flags.midi.empty()) config.midi.backend = flags.midi;
    if (!flags.audio.empty()) config.audio.backend = flags.audio;
    if (!flags.record.empty()) config.record.dir = flags.record;
    if (!flags.device.empty()) config.model.device = flags.device;
    if (flags.osc_port >= 0) config.osc.port = flags.osc_port;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"kanaded: the kanade real-time generative MIDI daemon"};
    Overrides flags;
    app.add_option("-c,--config", flags.config_path, "TOML configuration file (default: built-in defaults)");
    app.add_option("--model", flags.model, "model file");
    app.add_option("--mode", flags.mode, "free, call-response or accompany");
    app.add_option("--osc-port", flags.osc_port, "OSC UDP port (0: off)");
    app.add_option("--midi", flags.midi, "auto, alsa, jack or none");
    app.add_option("--audio", flags.audio, "auto, portaudio, jack, none or FILE.wav");
    app.add_option("--record", flags.record, "folder for recordings");
    app.add_option("--device", flags.device, "auto, cpu or cuda[:N]");
    app.add_option("--preview", flags.preview_steps, "tokens of music to generate as a check at start-up");
    CLI11_PARSE(app, argc, argv);

    try {
        kanade::io::DaemonConfig config;
        if (!flags.config_path.empty()) config = kanade::io::load_config(flags.config_path);
        apply(flags, config);
        kanade::io::validate_config(config, "command line");

        auto model = kanade::model::load_model(config.model.path);
        auto choice = kanade::model::choose_device(config.model.device);
        kanade::model::set_cpu_threads(config.model.threads);
        std::printf("kanaded: model %s: %s network on %s tokens, vocabulary %zu, window %d\n",
                    config.model.path.c_str(), model.config.arch.c_str(), model.tokenizer.c_str(),
                    model.vocabulary.size(), model.config.window);
        std::printf("kanaded: %s\n", choice.reason.c_str());
        std::printf("kanaded: would play mode %s at %.1f BPM, %d steps per beat, %s inference, temperature %.2f\n",
                    config.engine.mode.c_str(), config.clock.bpm, config.clock.steps_per_beat,
                    config.engine.inference.c_str(), config.engine.temperature);
        std::printf("kanaded: would open MIDI ports '%s' (backend %s), audio %s with %s, OSC %s:%d%s\n",
                    config.midi.port_name.c_str(), config.midi.backend.c_str(), config.audio.backend.c_str(),
                    config.audio.soundfont.c_str(), config.osc.bind.c_str(), config.osc.port,
                    config.record.dir.empty() ? "" : (", recording to " + config.record.dir).c_str());

        if (flags.preview_steps > 0) {
            // A first phrase, so a start proves the model really plays.
            kanade::engine::GenerateOptions options;
            options.steps = flags.preview_steps;
            options.mode = kanade::engine::InferenceMode::streaming;
            options.sampling = {config.engine.temperature, config.engine.top_k, config.engine.top_p};
            options.seed = config.engine.seed ? config.engine.seed
                                              : static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
            auto start = std::chrono::steady_clock::now();
            auto ids = kanade::engine::generate(model, {0}, options, choice.device);
            double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
            std::printf("kanaded: first %d tokens (%.2f ms a step):", flags.preview_steps, ms / flags.preview_steps);
            for (int id : ids) std::printf(" %s", model.vocabulary.token(id).c_str());
            std::printf("\n");
        }
        std::printf("kanaded: the real-time engine (MIDI, OSC, audio) is not built yet; exiting\n");
    } catch (const std::exception& error) {
        std::cerr << "kanaded: error: " << error.what() << "\n";
        return 1;
    }
    return 0;
}
