// kanaded: the real-time daemon. Reads its configuration (flags override the file),
// then hands over to Daemon, which runs until SIGTERM/SIGINT. `--check` only loads and
// checks configuration and model and says what it would open.
#include "daemon.hpp"

#include "kanade/io/settings.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <map>

namespace {

// kanaded's flags: --config and --check, and one flag for each setting the table gives one
// (io/settings.hpp), applied over the file.
struct Flags {
    std::string config_path;
    bool check = false;
    bool print_config = false;
    std::map<std::string, std::string> settings;  // key -> the flag's text, for the flags given
};

void apply(const Flags& flags, kanade::io::DaemonConfig& config) {
    for (const auto& [key, text] : flags.settings) kanade::io::set_from_text(kanade::io::setting(key), config, text);
}

void print_help_for_humans(const kanade::io::DaemonConfig& config) {
    std::fprintf(stderr,
                 "kanaded: connect a keyboard:  jack_connect <your-keyboard-port> %s:in   (ALSA: aconnect)\n"
                 "kanaded: hear it over MIDI:   jack_connect %s:out <synth-port>\n"
                 "kanaded: steer it over OSC:   kanade ctl /kanade/tempo 96 | /kanade/mode call-response | "
                 "/kanade/status | /kanade/help   (udp %s:%d)\n"
                 "kanaded: stop with Ctrl-C (all notes off, recording finalised)\n",
                 config.midi.ports.client_name.c_str(), config.midi.ports.client_name.c_str(), config.osc.bind.c_str(),
                 config.osc.port);
    if (config.web.port > 0 && config.osc.port > 0)
        std::fprintf(stderr, "kanaded: watch and steer it:  open http://%s:%d/ in a browser (OSCQuery there too)\n",
                     config.web.bind.c_str(), config.web.port);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"kanaded: the kanade real-time generative MIDI daemon"};
    Flags flags;
    app.add_option("-c,--config", flags.config_path, "TOML configuration file (every key optional)");
    for (const auto& setting : kanade::io::settings()) {
        if (setting.flag.empty()) continue;
        auto* option = app.add_option_function<std::string>(
            setting.flag, [&flags, key = setting.key](const std::string& text) { flags.settings[key] = text; },
            setting.help + " (" + setting.key + ")");
        // A yes/no setting's flag alone means yes (--link); --link=false says no.
        if (setting.type == kanade::io::SettingType::flag)
            option->expected(0, 1)->default_str("true")->option_text("[=BOOL]");
    }
    app.add_flag("--check", flags.check, "load and check configuration and model, then exit");
    app.add_flag("--print-config", flags.print_config, "print every setting with its default as TOML, then exit");
    CLI11_PARSE(app, argc, argv);
    if (flags.print_config) {
        std::fputs(kanade::io::default_config_toml().c_str(), stdout);
        return 0;
    }

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
