// Every setting of kanaded, defined once: its key, the component's field it sets (whose
// default is the component's own), what values it takes, its help, whether each session
// has its own, and its kanaded flag. The TOML reader and its checks (config.cpp), kanaded's
// flags, the OSC handlers' bounds, OSCQuery and `kanaded --print-config` all come from this
// table; a test holds config/kanade.toml to it.
#pragma once

#include "kanade/io/config.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace kanade::io {

// A setting's value as the file, a flag, OSC and OSCQuery say it: a component's enum is
// its name, a scale its text, a list of networks a comma-separated line.
using SettingValue = std::variant<bool, int, double, std::uint64_t, std::string>;
enum class SettingType { flag, integer, number, count, text };  // SettingValue's alternatives, in order
const char* setting_type_name(SettingType type);                // "a number", as an error says what it expected

struct Setting {
    std::string key;  // "engine.temperature"
    SettingType type = SettingType::text;
    std::function<SettingValue(const DaemonConfig&)> get;
    // Stores a value of `type` in the component's field; throws std::invalid_argument with
    // the reason when the component cannot take it (an unknown scale). Use set().
    std::function<void(DaemonConfig&, const SettingValue&)> put;
    std::string help;                                // one line: OSC, OSCQuery, kanaded --help
    std::string details;                             // config/kanade.toml's fuller comment ("": the help)
    std::optional<std::pair<double, double>> range;  // numbers: low..high, both allowed
    std::vector<std::string> choices;                // text: one of these
    // Anything a range or a list cannot say, with its reason in `rule`.
    std::function<bool(const DaemonConfig&)> holds;
    std::string rule;          // the reason a wrong value gets: "must be 1..16" (made from range/choices when empty)
    std::string flag;          // kanaded's command-line flag ("--bpm"), or "" for none
    bool per_session = false;  // also settable for one session (/kanade/session/...)

    // Stores `value` after checking its type and choices; throws std::invalid_argument with
    // the reason. Ranges and rules over several settings are check()'s, once all are read.
    void set(DaemonConfig& config, const SettingValue& value) const;
    // "" when `config` holds a good value for this setting, else the rule it breaks.
    std::string check(const DaemonConfig& config) const;
    std::string value_text(const DaemonConfig& config) const;  // as TOML writes it
};

const std::vector<Setting>& settings();
const Setting& setting(std::string_view key);  // throws std::out_of_range for an unknown key

// Sets `key` from a command-line text; throws ConfigError naming the flag and the reason.
void set_from_text(const Setting& setting, DaemonConfig& config, const std::string& text);

// OSC's bound check: "" when `value` is within the setting's range, else "WHAT must be LOW..HIGH".
std::string out_of_range(std::string_view key, double value, std::string_view what);

// Every setting as a TOML file of its defaults, each with its details, rule and flag:
// config/kanade.toml, as `kanaded --print-config` writes it.
std::string default_config_toml();

}  // namespace kanade::io
