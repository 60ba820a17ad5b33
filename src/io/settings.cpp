#include "kanade/io/settings.hpp"

#include "kanade/engine/sampler.hpp"
#include "kanade/io/synth.hpp"
#include "kanade/model/inference_precision.hpp"
#include "kanade/music/token_conditions.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>

namespace kanade::io {
namespace {

std::string number_text(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

std::string choice_list(const std::vector<std::string>& choices) {
    std::string text;
    for (std::size_t i = 0; i < choices.size(); ++i)
        text += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
    return text;
}

// An address text that only this machine can reach.
bool is_loopback_text(const std::string& address) {
    return address.rfind("127.", 0) == 0 || address == "::1" || address == "localhost";
}

// The table's rows, built with a few short helpers so each row reads as one line of facts.
struct Row {
    Setting setting;
    Row(std::string key, std::function<SettingField(DaemonConfig&)> field, std::string help) {
        setting.key = std::move(key);
        setting.field = std::move(field);
        setting.help = std::move(help);
    }
    Row&& range(double low, double high, std::string rule = "") && {
        setting.range = std::pair(low, high);
        setting.rule = std::move(rule);
        return std::move(*this);
    }
    Row&& one_of(std::vector<std::string> choices) && {
        setting.choices = std::move(choices);
        return std::move(*this);
    }
    Row&& holds(std::function<bool(const DaemonConfig&)> test, std::string rule) && {
        setting.holds = std::move(test);
        setting.rule = std::move(rule);
        return std::move(*this);
    }
    Row&& flag(std::string name) && {
        setting.flag = std::move(name);
        return std::move(*this);
    }
    Row&& per_session() && {
        setting.per_session = true;
        return std::move(*this);
    }
};

std::vector<Setting> make_table() {
    using C = DaemonConfig;
    std::vector<Row> rows;
    auto add = [&rows](Row&& row) { rows.push_back(std::move(row)); };
    // [model]
    add(Row(
            "model.path", [](C& c) -> SettingField { return &c.model.path; }, "the model file to play")
            .holds([](const C& c) { return !c.model.path.empty(); }, "must name a model file")
            .flag("--model"));
    add(Row(
            "model.device", [](C& c) -> SettingField { return &c.model.device; },
            "where inference runs: auto (a CUDA GPU when there is one), cpu, or cuda[:N]")
            .flag("--device"));
    add(Row(
            "model.precision", [](C& c) -> SettingField { return &c.model.precision; },
            "CPU inference numbers: bfloat16, float16 or float32 (falls back in that order), or int8")
            .one_of(model::inference_precision_choices()));
    add(Row(
            "model.threads", [](C& c) -> SettingField { return &c.model.threads; },
            "CPU threads for inference (0: libtorch's default; 2 or more: a faithful window on two)")
            .range(0, 256));
    // [engine]
    add(Row(
            "engine.mode", [](C& c) -> SettingField { return &c.engine.mode; },
            "free plays on its own, call-response answers the player's phrases, accompany plays along")
            .one_of({"free", "call-response", "accompany"})
            .flag("--mode")
            .per_session());
    add(Row(
            "engine.inference", [](C& c) -> SettingField { return &c.engine.inference; },
            "streaming carries the LSTM state (cheap); faithful re-runs the window from a fresh state")
            .one_of({"streaming", "faithful"}));
    add(Row(
            "engine.temperature", [](C& c) -> SettingField { return &c.engine.temperature; },
            "sampling temperature, 0 (argmax) .. 10")
            .range(0, engine::max_temperature)
            .per_session());
    add(Row(
            "engine.top_k", [](C& c) -> SettingField { return &c.engine.top_k; },
            "sample among the k likeliest tokens (0: all)")
            .range(0, 100000)
            .per_session());
    add(Row(
            "engine.top_p", [](C& c) -> SettingField { return &c.engine.top_p; },
            "nucleus sampling mass, (0, 1] (1: no limit)")
            .range(0, 1, "must be in (0, 1]")
            .holds([](const C& c) { return c.engine.top_p > 0 && c.engine.top_p <= 1; }, "must be in (0, 1]")
            .per_session());
    add(Row(
        "engine.seed", [](C& c) -> SettingField { return &c.engine.seed; },
        "sampling seed; 0 picks one at each start (the log and the recording name it)"));
    add(Row(
        "engine.seed_midi", [](C& c) -> SettingField { return &c.engine.seed_midi; },
        "free mode starts from this MIDI file (\"\": from nothing)"));
    add(Row(
            "engine.sessions", [](C& c) -> SettingField { return &c.engine.sessions; },
            "voices playing at once, one per MIDI channel from midi.channel on (a restart applies it)")
            .range(1, 16));
    add(Row(
            "engine.scale", [](C& c) -> SettingField { return &c.engine.scale; },
            "key the notes keep to: \"C major\", \"a minor\", \"D dorian\", \"E blues\" or \"chromatic\"")
            .per_session());
    add(Row(
            "engine.lowest_pitch", [](C& c) -> SettingField { return &c.engine.lowest_pitch; }, "lowest MIDI note")
            .range(0, 127)
            .per_session());
    add(Row(
            "engine.highest_pitch", [](C& c) -> SettingField { return &c.engine.highest_pitch; }, "highest MIDI note")
            .range(0, 127, "must be lowest_pitch..127")
            .holds(
                [](const C& c) {
                    return c.engine.highest_pitch >= c.engine.lowest_pitch && c.engine.highest_pitch <= 127;
                },
                "must be lowest_pitch..127")
            .per_session());
    add(Row(
            "engine.max_polyphony", [](C& c) -> SettingField { return &c.engine.max_polyphony; },
            "notes starting on one step")
            .range(1, 12)
            .per_session());
    add(Row(
            "engine.density", [](C& c) -> SettingField { return &c.engine.density; }, "rests: >1 fewer, <1 more")
            .range(0.01, 100)
            .per_session());
    add(Row(
            "engine.repetition_penalty", [](C& c) -> SettingField { return &c.engine.repetition_penalty; },
            "above 1 discourages the notes just played")
            .range(1, 10)
            .per_session());
    add(Row(
            "engine.energy", [](C& c) -> SettingField { return &c.engine.energy; },
            "-1 calm (soft, long notes, more rests) .. 1 driving (loud, short notes, fewer rests)")
            .range(-1, 1)
            .per_session());
    add(Row(
            "engine.repeat", [](C& c) -> SettingField { return &c.engine.repeat; },
            "the chance each bar replays the bar 2 or 4 bars back, note for note (0: never; the network's own "
            "choice of form)")
            .range(0, 1)
            .per_session());
    add(Row(
            "engine.style", [](C& c) -> SettingField { return &c.engine.style; },
            "the model's style to play (1.. its corpus folders, kanade train --style-per-folder; 0: none said)")
            .range(0, music::max_styles)
            .per_session());
    add(Row(
            "engine.max_note_steps", [](C& c) -> SettingField { return &c.engine.max_note_steps; },
            "no note sounds longer, in grid steps")
            .range(1, 256));
    add(Row(
            "engine.miss_policy", [](C& c) -> SettingField { return &c.engine.miss_policy; },
            "a step not ready in time: rest, hold the sounding notes, or repeat the last step")
            .one_of({"rest", "hold", "repeat"}));
    add(Row(
            "engine.phrase_end_silence_steps", [](C& c) -> SettingField { return &c.engine.phrase_end_silence_steps; },
            "call-response: this many silent steps end the call")
            .range(1, 256));
    add(Row(
            "engine.phrase_end_controller", [](C& c) -> SettingField { return &c.engine.phrase_end_controller; },
            "call-response: this controller released ends the call (64: the sustain pedal; -1: off)")
            .range(-1, 127));
    add(Row(
            "engine.answer_steps", [](C& c) -> SettingField { return &c.engine.answer_steps; },
            "call-response: steps an answer lasts (0: as long as the call)")
            .range(0, 1024));
    add(Row(
            "engine.lookahead_steps", [](C& c) -> SettingField { return &c.engine.lookahead_steps; },
            "how far ahead of the clock the network plans, in steps")
            .range(1, 32));
    add(Row(
            "engine.join_player", [](C& c) -> SettingField { return &c.engine.join_player; },
            "accompany: kanade's first step made after a player's note starts a note (false: the network may rest)")
            .per_session());
    // [clock]
    add(Row(
            "clock.bpm", [](C& c) -> SettingField { return &c.clock.bpm; }, "tempo, beats per minute")
            .range(10, 400)
            .flag("--bpm"));
    add(Row(
            "clock.steps_per_beat", [](C& c) -> SettingField { return &c.clock.steps_per_beat; },
            "grid steps per beat (the model's grid wins when they differ)")
            .range(1, 48));
    add(Row(
            "clock.beats_per_bar", [](C& c) -> SettingField { return &c.clock.beats_per_bar; },
            "quarter-note beats in the daemon's bar (step 0 starts one), which a model trained with --meter hears")
            .range(1, music::max_beats_per_bar));
    add(Row(
        "clock.follow_midi_clock", [](C& c) -> SettingField { return &c.clock.follow_midi_clock; },
        "an external MIDI beat clock sets tempo, phase, start and stop"));
    add(Row(
        "clock.send_midi_clock", [](C& c) -> SettingField { return &c.clock.send_midi_clock; },
        "send MIDI beat clock, Start/Stop/Continue and Song Position"));
    add(Row(
            "clock.link", [](C& c) -> SettingField { return &c.clock.link; },
            "join the Ableton Link session on the local network: it leads tempo and beat phase (a bar is "
            "the quantum)")
            .flag("--link"));
    add(Row(
        "clock.link_start_stop_sync", [](C& c) -> SettingField { return &c.clock.link_start_stop_sync; },
        "with link: start and stop with the Link session's other members"));
    add(Row(
        "clock.realtime_priority", [](C& c) -> SettingField { return &c.clock.realtime_priority; },
        "ask for SCHED_FIFO for the scheduler thread"));
    // [midi]
    add(Row(
            "midi.backend", [](C& c) -> SettingField { return &c.midi.ports.backend; }, "auto, alsa, jack or none")
            .one_of({"auto", "alsa", "jack", "none"})
            .flag("--midi"));
    add(Row(
        "midi.port_name", [](C& c) -> SettingField { return &c.midi.ports.client_name; },
        "the client's name: its ports are NAME:in and NAME:out"));
    add(Row(
        "midi.connect_in", [](C& c) -> SettingField { return &c.midi.ports.connect_in; },
        "connect the ports matching this pattern to our input (\"\": none)"));
    add(Row(
        "midi.connect_out", [](C& c) -> SettingField { return &c.midi.ports.connect_out; },
        "connect our output to the ports matching this pattern (\"\": none)"));
    add(Row(
            "midi.channel", [](C& c) -> SettingField { return &c.midi.channel; },
            "the first session's MIDI channel; the others follow, wrapping after 16")
            .range(1, 16));
    // [audio]
    add(Row(
            "audio.backend", [](C& c) -> SettingField { return &c.audio.backend; },
            "auto (a sound card, else a WAV file), portaudio, jack, none, or a path ending in .wav")
            .holds(
                [](const C& c) {
                    const auto& b = c.audio.backend;
                    return b == "auto" || b == "portaudio" || b == "jack" || b == "none" || is_wav_backend(b);
                },
                "must be auto, portaudio, jack, none or a FILE.wav")
            .flag("--audio"));
    add(Row(
        "audio.soundfont", [](C& c) -> SettingField { return &c.audio.soundfont; }, "the SoundFont FluidSynth plays"));
    add(Row(
            "audio.program", [](C& c) -> SettingField { return &c.audio.program; },
            "General MIDI program of kanade's part (0: Acoustic Grand Piano)")
            .range(0, 127));
    add(Row(
            "audio.gain", [](C& c) -> SettingField { return &c.audio.gain; }, "FluidSynth's master gain")
            .range(0, max_gain));
    add(Row(
            "audio.sample_rate", [](C& c) -> SettingField { return &c.audio.sample_rate; },
            "Hz (a JACK server imposes its own)")
            .range(min_sample_rate, max_sample_rate, "must be 8000..96000 (FluidSynth's range)"));
    // [osc]
    add(Row(
        "osc.bind", [](C& c) -> SettingField { return &c.osc.bind; },
        "address the OSC socket binds; anything but loopback exposes control to the network"));
    add(Row(
            "osc.port", [](C& c) -> SettingField { return &c.osc.port; }, "OSC UDP port (0: OSC off)")
            .range(0, 65535, "must be 0..65535 (0: OSC off)")
            .flag("--osc-port"));
    add(Row(
        "osc.allow", [](C& c) -> SettingField { return &c.osc.allow; },
        "source networks allowed besides loopback, e.g. \"192.168.1.0/24,10.0.0.0/8\""));
    add(Row(
            "osc.max_packet_bytes", [](C& c) -> SettingField { return &c.osc.max_packet_bytes; },
            "larger OSC packets are refused")
            .range(64, 65507));
    // [web]
    add(Row(
        "web.bind", [](C& c) -> SettingField { return &c.web.bind; },
        "address the HTTP/WebSocket server (OSCQuery) binds; anything but loopback needs web.token"));
    add(Row(
            "web.port", [](C& c) -> SettingField { return &c.web.port; },
            "HTTP and WebSocket port of OSCQuery (0: off)")
            .range(0, 65535, "must be 0..65535 (0: off)")
            .flag("--web-port"));
    add(Row(
            "web.token", [](C& c) -> SettingField { return &c.web.token; },
            "a secret every HTTP client sends (?token=... or Authorization: Bearer ...); \"\": none")
            .holds([](const C& c) { return !c.web.token.empty() || is_loopback_text(c.web.bind); },
                   "must be set when web.bind is not loopback (127.0.0.1 or ::1)"));
    // [record]
    add(Row(
            "record.dir", [](C& c) -> SettingField { return &c.record.dir; },
            "record every performance into this folder (\"\": off)")
            .flag("--record"));

    std::vector<Setting> table;
    for (auto& row : rows) table.push_back(std::move(row.setting));
    return table;
}

// A setting's field in a config it may only read.
SettingField field_of(const Setting& setting, const DaemonConfig& config) {
    return setting.field(const_cast<DaemonConfig&>(config));
}

double number_of(const SettingField& field) {
    if (const auto* d = std::get_if<double*>(&field)) return **d;
    if (const auto* i = std::get_if<int*>(&field)) return **i;
    if (const auto* u = std::get_if<std::uint64_t*>(&field)) return static_cast<double>(**u);
    return NAN;
}

std::string toml_string(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

}  // namespace

const std::vector<Setting>& settings() {
    static const std::vector<Setting> table = make_table();
    return table;
}

const Setting& setting(std::string_view key) {
    for (const auto& s : settings())
        if (s.key == key) return s;
    throw std::out_of_range("no setting '" + std::string(key) + "'");
}

std::string Setting::check(const DaemonConfig& config) const {
    const auto value = field_of(*this, config);
    std::string reason = rule;
    if (holds) return holds(config) ? "" : reason;
    if (range) {
        const double number = number_of(value);
        if (number >= range->first && number <= range->second) return "";
        return reason.empty() ? "must be " + number_text(range->first) + ".." + number_text(range->second) : reason;
    }
    if (!choices.empty()) {
        const auto& text = *std::get<std::string*>(value);
        for (const auto& choice : choices)
            if (choice == text) return "";
        return reason.empty() ? "must be " + choice_list(choices) : reason;
    }
    return "";
}

std::string Setting::value_text(const DaemonConfig& config) const {
    const auto value = field_of(*this, config);
    if (const auto* text = std::get_if<std::string*>(&value)) return toml_string(**text);
    if (const auto* path = std::get_if<std::filesystem::path*>(&value)) return toml_string((*path)->string());
    if (const auto* flag = std::get_if<bool*>(&value)) return **flag ? "true" : "false";
    if (const auto* d = std::get_if<double*>(&value)) {
        char text[32];
        std::snprintf(text, sizeof text, std::floor(**d) == **d ? "%.1f" : "%g", **d);
        return text;
    }
    if (const auto* i = std::get_if<int*>(&value)) return std::to_string(**i);
    return std::to_string(*std::get<std::uint64_t*>(value));
}

void set_from_text(const Setting& setting, DaemonConfig& config, const std::string& text) {
    auto field = setting.field(config);
    auto refuse = [&](const std::string& what) {
        throw ConfigError((setting.flag.empty() ? setting.key : setting.flag) + ": expected " + what + ", not '" +
                          text + "'");
    };
    std::size_t used = 0;
    try {
        if (auto* s = std::get_if<std::string*>(&field)) {
            **s = text;
            return;
        }
        if (auto* path = std::get_if<std::filesystem::path*>(&field)) {
            **path = text;
            return;
        }
        if (auto* b = std::get_if<bool*>(&field)) {
            if (text != "true" && text != "false") refuse("true or false");
            **b = text == "true";
            return;
        }
        if (auto* d = std::get_if<double*>(&field)) {
            **d = std::stod(text, &used);
        } else if (auto* i = std::get_if<int*>(&field)) {
            **i = std::stoi(text, &used);
        } else {
            if (!text.empty() && text.front() == '-') refuse("a non-negative integer");
            *std::get<std::uint64_t*>(field) = std::stoull(text, &used);
        }
    } catch (const std::logic_error&) {  // stod and friends: not a number, or out of range
        refuse(std::holds_alternative<double*>(field) ? "a number" : "an integer");
    }
    if (used != text.size()) refuse(std::holds_alternative<double*>(field) ? "a number" : "an integer");
}

std::string out_of_range(std::string_view key, double value, std::string_view what) {
    const auto& s = setting(key);
    if (!s.range || (value >= s.range->first && value <= s.range->second)) return "";
    return std::string(what) + " must be " + number_text(s.range->first) + ".." + number_text(s.range->second);
}

std::string default_config_toml() {
    const DaemonConfig defaults;
    std::ostringstream out;
    out << "# kanaded's configuration: every key with its default (kanaded --print-config writes this).\n";
    std::string section;
    for (const auto& s : settings()) {
        const auto dot = s.key.find('.');
        const auto table = s.key.substr(0, dot);
        if (table != section) {
            if (section == "midi") out << "\n" << controller_table_toml(defaults.midi.controllers);
            out << "\n[" << table << "]\n";
            section = table;
        }
        std::string note = s.help;
        if (const auto rule = s.rule.empty() && s.range
                                  ? "must be " + number_text(s.range->first) + ".." + number_text(s.range->second)
                                  : s.rule;
            !rule.empty())
            note += "; " + rule;
        if (!s.choices.empty()) note += "; one of " + choice_list(s.choices);
        if (!s.flag.empty()) note += " (flag " + s.flag + ")";
        if (s.per_session) note += " (per session over OSC)";
        out << "# " << note << "\n" << s.key.substr(dot + 1) << " = " << s.value_text(defaults) << "\n";
    }
    return out.str();
}

}  // namespace kanade::io
