#include "kanade/io/config.hpp"

#include <toml++/toml.h>

#include <functional>
#include <map>
#include <set>
#include <sstream>

namespace kanade::io {
namespace {

std::string location(const std::filesystem::path& path, const toml::source_region& source) {
    return path.string() + ":" + std::to_string(source.begin.line);
}

// Binds each dotted key to the field it sets, with a reader that checks its type.
class KeyTable {
public:
    using Reader = std::function<void(const toml::node&, const std::string& where)>;

    void add(const std::string& key, std::string& field) {
        readers_[key] = [&field, key](const toml::node& node, const std::string& where) {
            auto value = node.value<std::string>();
            if (!value) throw ConfigError(where + ": key '" + key + "': expected a string");
            field = *value;
        };
    }
    void add(const std::string& key, double& field) {
        readers_[key] = [&field, key](const toml::node& node, const std::string& where) {
            auto value = node.value<double>();  // integers are accepted as numbers
            if (!value) throw ConfigError(where + ": key '" + key + "': expected a number");
            field = *value;
        };
    }
    void add(const std::string& key, int& field) {
        readers_[key] = [&field, key](const toml::node& node, const std::string& where) {
            if (!node.is_integer()) throw ConfigError(where + ": key '" + key + "': expected an integer");
            auto value = *node.value<std::int64_t>();
            if (value < INT32_MIN || value > INT32_MAX) throw ConfigError(where + ": key '" + key + "': out of range");
            field = static_cast<int>(value);
        };
    }
    void add(const std::string& key, bool& field) {
        readers_[key] = [&field, key](const toml::node& node, const std::string& where) {
            auto value = node.value<bool>();
            if (!node.is_boolean() || !value) throw ConfigError(where + ": key '" + key + "': expected true or false");
            field = *value;
        };
    }
    void add(const std::string& key, std::uint64_t& field) {
        readers_[key] = [&field, key](const toml::node& node, const std::string& where) {
            if (!node.is_integer() || *node.value<std::int64_t>() < 0)
                throw ConfigError(where + ": key '" + key + "': expected a non-negative integer");
            field = static_cast<std::uint64_t>(*node.value<std::int64_t>());
        };
    }

    void read(const toml::table& table, const std::filesystem::path& path, const std::string& prefix = "") {
        for (const auto& [name, node] : table) {
            std::string key = prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
            auto where = location(path, node.source());
            if (const auto* section = node.as_table()) {
                if (!is_section(key)) throw ConfigError(where + ": unknown section [" + key + "]");
                read(*section, path, key);
                continue;
            }
            auto reader = readers_.find(key);
            if (reader == readers_.end()) throw ConfigError(where + ": unknown key '" + key + "'");
            reader->second(node, where);
            lines_[key] = where;
        }
    }

    // Where a key was set, for range errors found after reading.
    std::string where(const std::string& key, const std::string& fallback) const {
        auto found = lines_.find(key);
        return found == lines_.end() ? fallback : found->second;
    }

private:
    bool is_section(const std::string& key) const {
        for (const auto& [name, reader] : readers_)
            if (name.rfind(key + ".", 0) == 0) return true;
        return false;
    }
    std::map<std::string, Reader> readers_;
    std::map<std::string, std::string> lines_;
};

void bind_keys(KeyTable& keys, DaemonConfig& c) {
    keys.add("model.path", c.model.path);
    keys.add("model.device", c.model.device);
    keys.add("model.precision", c.model.precision);
    keys.add("model.threads", c.model.threads);
    keys.add("engine.mode", c.engine.mode);
    keys.add("engine.inference", c.engine.inference);
    keys.add("engine.temperature", c.engine.temperature);
    keys.add("engine.top_k", c.engine.top_k);
    keys.add("engine.top_p", c.engine.top_p);
    keys.add("engine.seed", c.engine.seed);
    keys.add("engine.seed_midi", c.engine.seed_midi);
    keys.add("engine.sessions", c.engine.sessions);
    keys.add("engine.scale", c.engine.scale);
    keys.add("engine.lowest_pitch", c.engine.lowest_pitch);
    keys.add("engine.highest_pitch", c.engine.highest_pitch);
    keys.add("engine.max_polyphony", c.engine.max_polyphony);
    keys.add("engine.density", c.engine.density);
    keys.add("engine.repetition_penalty", c.engine.repetition_penalty);
    keys.add("engine.energy", c.engine.energy);
    keys.add("engine.max_note_steps", c.engine.max_note_steps);
    keys.add("engine.miss_policy", c.engine.miss_policy);
    keys.add("engine.phrase_end_silence_steps", c.engine.phrase_end_silence_steps);
    keys.add("engine.phrase_end_controller", c.engine.phrase_end_controller);
    keys.add("engine.answer_steps", c.engine.answer_steps);
    keys.add("engine.lookahead_steps", c.engine.lookahead_steps);
    keys.add("clock.follow_midi_clock", c.clock.follow_midi_clock);
    keys.add("clock.send_midi_clock", c.clock.send_midi_clock);
    keys.add("clock.realtime_priority", c.clock.realtime_priority);
    keys.add("osc.allow", c.osc.allow);
    keys.add("osc.max_packet_bytes", c.osc.max_packet_bytes);
    keys.add("clock.bpm", c.clock.bpm);
    keys.add("clock.steps_per_beat", c.clock.steps_per_beat);
    keys.add("midi.backend", c.midi.backend);
    keys.add("midi.port_name", c.midi.port_name);
    keys.add("midi.connect_in", c.midi.connect_in);
    keys.add("midi.connect_out", c.midi.connect_out);
    keys.add("midi.channel", c.midi.channel);
    keys.add("audio.backend", c.audio.backend);
    keys.add("audio.soundfont", c.audio.soundfont);
    keys.add("audio.program", c.audio.program);
    keys.add("audio.gain", c.audio.gain);
    keys.add("audio.sample_rate", c.audio.sample_rate);
    keys.add("osc.bind", c.osc.bind);
    keys.add("osc.port", c.osc.port);
    keys.add("record.dir", c.record.dir);
}

struct Check {
    const char* key;
    std::function<bool(const DaemonConfig&)> ok;
    const char* reason;
};

const std::vector<Check>& checks() {
    static const std::vector<Check> all = {
        {"model.path", [](const DaemonConfig& c) { return !c.model.path.empty(); }, "must name a model file"},
        {"model.precision",
         [](const DaemonConfig& c) {
             return c.model.precision == "float32" || c.model.precision == "float16" || c.model.precision == "bfloat16";
         },
         "must be float32, float16 or bfloat16"},
        {"model.threads", [](const DaemonConfig& c) { return c.model.threads >= 0 && c.model.threads <= 256; },
         "must be 0..256"},
        {"engine.mode",
         [](const DaemonConfig& c) {
             return c.engine.mode == "free" || c.engine.mode == "call-response" || c.engine.mode == "accompany";
         },
         "must be free, call-response or accompany"},
        {"engine.inference",
         [](const DaemonConfig& c) { return c.engine.inference == "streaming" || c.engine.inference == "faithful"; },
         "must be streaming or faithful"},
        {"engine.temperature",
         [](const DaemonConfig& c) {
             return c.engine.temperature >= 0 && c.engine.temperature <= engine::max_temperature;
         },
         "must be 0..10"},
        {"engine.top_k", [](const DaemonConfig& c) { return c.engine.top_k >= 0; }, "must be 0 or more"},
        {"engine.top_p", [](const DaemonConfig& c) { return c.engine.top_p > 0 && c.engine.top_p <= 1; },
         "must be in (0, 1]"},
        {"engine.sessions", [](const DaemonConfig& c) { return c.engine.sessions >= 1 && c.engine.sessions <= 16; },
         "must be 1..16"},
        {"engine.lowest_pitch",
         [](const DaemonConfig& c) { return c.engine.lowest_pitch >= 0 && c.engine.lowest_pitch <= 127; },
         "must be 0..127"},
        {"engine.highest_pitch",
         [](const DaemonConfig& c) {
             return c.engine.highest_pitch >= c.engine.lowest_pitch && c.engine.highest_pitch <= 127;
         },
         "must be lowest_pitch..127"},
        {"engine.max_polyphony",
         [](const DaemonConfig& c) { return c.engine.max_polyphony >= 1 && c.engine.max_polyphony <= 12; },
         "must be 1..12"},
        {"engine.density", [](const DaemonConfig& c) { return c.engine.density > 0 && c.engine.density <= 100; },
         "must be in (0, 100]"},
        {"engine.repetition_penalty",
         [](const DaemonConfig& c) { return c.engine.repetition_penalty >= 1 && c.engine.repetition_penalty <= 10; },
         "must be 1..10"},
        {"engine.energy", [](const DaemonConfig& c) { return c.engine.energy >= -1 && c.engine.energy <= 1; },
         "must be -1..1"},
        {"engine.max_note_steps",
         [](const DaemonConfig& c) { return c.engine.max_note_steps >= 1 && c.engine.max_note_steps <= 256; },
         "must be 1..256"},
        {"engine.miss_policy",
         [](const DaemonConfig& c) {
             return c.engine.miss_policy == "rest" || c.engine.miss_policy == "hold" ||
                    c.engine.miss_policy == "repeat";
         },
         "must be rest, hold or repeat"},
        {"engine.phrase_end_silence_steps",
         [](const DaemonConfig& c) {
             return c.engine.phrase_end_silence_steps >= 1 && c.engine.phrase_end_silence_steps <= 256;
         },
         "must be 1..256"},
        {"engine.phrase_end_controller",
         [](const DaemonConfig& c) {
             return c.engine.phrase_end_controller >= -1 && c.engine.phrase_end_controller <= 127;
         },
         "must be -1..127"},
        {"engine.answer_steps",
         [](const DaemonConfig& c) { return c.engine.answer_steps >= 0 && c.engine.answer_steps <= 1024; },
         "must be 0..1024"},
        {"engine.lookahead_steps",
         [](const DaemonConfig& c) { return c.engine.lookahead_steps >= 1 && c.engine.lookahead_steps <= 32; },
         "must be 1..32"},
        {"osc.max_packet_bytes",
         [](const DaemonConfig& c) { return c.osc.max_packet_bytes >= 64 && c.osc.max_packet_bytes <= 65507; },
         "must be 64..65507"},
        {"clock.bpm", [](const DaemonConfig& c) { return c.clock.bpm >= 10 && c.clock.bpm <= 400; }, "must be 10..400"},
        {"clock.steps_per_beat",
         [](const DaemonConfig& c) { return c.clock.steps_per_beat >= 1 && c.clock.steps_per_beat <= 48; },
         "must be 1..48"},
        {"midi.backend",
         [](const DaemonConfig& c) {
             return c.midi.backend == "auto" || c.midi.backend == "alsa" || c.midi.backend == "jack" ||
                    c.midi.backend == "none";
         },
         "must be auto, alsa, jack or none"},
        {"midi.channel", [](const DaemonConfig& c) { return c.midi.channel >= 1 && c.midi.channel <= 16; },
         "must be 1..16"},
        {"audio.backend",
         [](const DaemonConfig& c) {
             const auto& b = c.audio.backend;
             return b == "auto" || b == "portaudio" || b == "jack" || b == "none" || is_wav_backend(b);
         },
         "must be auto, portaudio, jack, none or a FILE.wav"},
        {"audio.program", [](const DaemonConfig& c) { return c.audio.program >= 0 && c.audio.program <= 127; },
         "must be 0..127"},
        {"audio.gain", [](const DaemonConfig& c) { return c.audio.gain >= 0 && c.audio.gain <= 10; }, "must be 0..10"},
        {"audio.sample_rate",
         [](const DaemonConfig& c) {
             return c.audio.sample_rate >= min_sample_rate && c.audio.sample_rate <= max_sample_rate;
         },
         "must be 8000..96000 (FluidSynth's range)"},
        {"osc.port", [](const DaemonConfig& c) { return c.osc.port >= 0 && c.osc.port <= 65535; },
         "must be 0..65535 (0: OSC off)"},
    };
    return all;
}

void run_checks(const DaemonConfig& config, const std::function<std::string(const std::string&)>& where) {
    for (const auto& check : checks())
        if (!check.ok(config)) throw ConfigError(where(check.key) + ": key '" + check.key + "' " + check.reason);
}

}  // namespace

void validate_config(const DaemonConfig& config, const std::string& where) {
    run_checks(config, [&](const std::string&) { return where; });
}

namespace {

DaemonConfig read_table(const std::function<toml::table()>& parse, const std::filesystem::path& path) {
    DaemonConfig config;
    KeyTable keys;
    bind_keys(keys, config);
    toml::table table;
    try {
        table = parse();
    } catch (const toml::parse_error& error) {
        if (error.source().begin.line == 0 && !std::filesystem::exists(path))
            throw ConfigError(path.string() + ": cannot open (no such file)");
        throw ConfigError(location(path, error.source()) + ": " + std::string(error.description()));
    }
    keys.read(table, path);
    run_checks(config, [&](const std::string& key) { return keys.where(key, path.string()); });
    return config;
}

}  // namespace

DaemonConfig load_config(const std::filesystem::path& path) {
    return read_table([&] { return toml::parse_file(path.string()); }, path);
}

DaemonConfig parse_config(std::string_view text, const std::filesystem::path& source) {
    return read_table([&] { return toml::parse(text, source.string()); }, source);
}

}  // namespace kanade::io
