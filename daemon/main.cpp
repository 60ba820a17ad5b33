// kanaded: the real-time daemon. Reads its configuration (flags override the file),
// then hands over to Daemon, which runs until SIGTERM/SIGINT. `--check` only loads and
// checks configuration and model and says what it would open.
#include "daemon.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

namespace {

struct Flags {
    std::string config_path;
    std::string model, mode, midi, audio, record, device;
    int osc_port = -1;
    double bpm = 0;
    bool check = false;
};

void apply(const Flags& flags, kanade::io::DaemonConfig& config) {
    if (!flags.model.empty()) config.model.path = flags.model;
    if (!flags.mode.empty()) config.engine.mode = flags.mode;
    if (!flags.midi.empty()) config.midi.backend = flags.midi;
    if (!flags.audio.empty()) config.audio.backend = flags.audio;
    if (!flags.record.empty()) config.record.dir = flags.record;
    if (!flags.device.empty()) config.model.device = flags.device;
    if (flags.osc_port >= 0) config.osc.port = flags.osc_port;
    if (flags.bpm > 0) config.clock.bpm = flags.bpm;
}

void print_help_for_humans(const kanade::io::DaemonConfig& config) {
    std::fprintf(stderr,
                 "kanaded: connect a keyboard:  jack_connect <your-keyboard-port> %s:in   (ALSA: aconnect)\n"
                 "kanaded: hear it over MIDI:   jack_connect %s:out <synth-port>\n"
                 "kanaded: steer it over OSC:   kanade ctl /kanade/tempo 96 | /kanade/mode call-response | "
                 "/kanade/status | /kanade/help   (udp %s:%d)\n"
                 "kanaded: stop with Ctrl-C (all notes off, recording finalised)\n",
                 config.midi.port_name.c_str(), config.midi.port_name.c_str(), config.osc.bind.c_str(),
                 config.osc.port);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"kanaded: the kanade real-time generative MIDI daemon"};
    Flags flags;
    app.add_option("-c,--config", flags.config_path, "TOML configuration file (every key optional)");
    app.add_option("--model", flags.model, "model file");
    app.add_option("--mode", flags.mode, "free, call-response or accompany");
    app.add_option("--osc-port", flags.osc_port, "OSC UDP port (0: off)");
    app.add_option("--midi", flags.midi, "auto, alsa, jack or none");
    app.add_option("--audio", flags.audio, "auto, portaudio, jack, none or FILE.wav");
    app.add_option("--record", flags.record, "record every performance into this folder");
    app.add_option("--device", flags.device, "auto, cpu or cuda[:N]");
    app.add_option("--bpm", flags.bpm, "tempo");
    app.add_flag("--check", flags.check, "load and check configuration and model, then exit");
    CLI11_PARSE(app, argc, argv);

    try {
        kanade::io::DaemonConfig config;
        if (!flags.config_path.empty()) config = kanade::io::load_config(flags.config_path);
        apply(flags, config);
        kanade::io::validate_config(config, "command line");
        if (flags.check) {
            auto model = kanade::model::load_model(config.model.path);
            std::printf("kanaded: configuration and model %s are valid (%s on %s tokens)\n", config.model.path.c_str(),
                        model.config.arch.c_str(), model.tokenizer.c_str());
            return 0;
        }
        kanade::daemon::Daemon daemon(config, flags.config_path);
        print_help_for_humans(config);
        return daemon.run();
    } catch (const std::exception& error) {
        std::cerr << "kanaded: error: " << error.what() << "\n";
        return 1;
    }
}
