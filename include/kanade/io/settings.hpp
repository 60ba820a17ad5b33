// Every setting of kanaded, defined once: its key, the DaemonConfig field it sets (whose
// default is the component's own), what values it takes, its help, whether each session
// has its own, and its kanaded flag. The TOML reader and its checks (config.cpp), kanaded's
// flags, the OSC handlers' bounds and `kanaded --print-config` all come from this table;
// a test holds config/kanade.toml to it.
#pragma once

#include "kanade/io/config.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace kanade::io {

using SettingField = std::variant<std::string*, double*, int*, bool*, std::uint64_t*, std::filesystem::path*>;

struct Setting {
    std::string key;  // "engine.temperature"
    std::function<SettingField(DaemonConfig&)> field;
    std::string help;                                // one line
    std::optional<std::pair<double, double>> range;  // numbers: low..high, both allowed
    std::vector<std::string> choices;                // text: one of these
    // Anything a range or a list cannot say, with its reason in `rule`.
    std::function<bool(const DaemonConfig&)> holds;
    std::string rule;          // the reason a wrong value gets: "must be 1..16" (made from range/choices when empty)
    std::string flag;          // kanaded's command-line flag ("--bpm"), or "" for none
    bool per_session = false;  // also settable for one session (/kanade/session/...)

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

// Every setting as a TOML file of its defaults, each with its help: `kanaded --print-config`.
std::string default_config_toml();

}  // namespace kanade::io
