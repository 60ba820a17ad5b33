#include "kanade/io/config.hpp"

#include "kanade/io/settings.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
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

    // A setting's key, read as its type and stored through the table (which checks choices).
    void add(const Setting& setting, DaemonConfig& config) {
        readers_[setting.key] = [&setting, &config](const toml::node& node, const std::string& where) {
            const auto refuse = [&](const std::string& reason) {
                throw ConfigError(where + ": key '" + setting.key + "': " + reason);
            };
            std::optional<SettingValue> value;
            switch (setting.type) {
                case SettingType::text:
                    if (auto text = node.value<std::string>()) value = *text;
                    break;
                case SettingType::number:
                    if (auto number = node.value<double>()) value = *number;  // integers are accepted as numbers
                    break;
                case SettingType::flag:
                    if (node.is_boolean()) value = *node.value<bool>();
                    break;
                case SettingType::integer:
                    if (!node.is_integer()) break;
                    if (auto n = *node.value<std::int64_t>(); n < INT32_MIN || n > INT32_MAX)
                        refuse("out of range");
                    else
                        value = static_cast<int>(n);
                    break;
                case SettingType::count:
                    if (node.is_integer() && *node.value<std::int64_t>() >= 0)
                        value = static_cast<std::uint64_t>(*node.value<std::int64_t>());
                    break;
            }
            if (!value) refuse(std::string("expected ") + setting_type_name(setting.type));
            try {
                setting.set(config, *value);
            } catch (const std::invalid_argument& error) {
                refuse(error.what());
            }
        };
    }

    // A section read whole by its own reader (one whose keys are not settings).
    void add_table(const std::string& key, std::function<void(const toml::table&, const std::filesystem::path&)> read) {
        tables_[key] = std::move(read);
    }

    void read(const toml::table& table, const std::filesystem::path& path, const std::string& prefix = "") {
        for (const auto& [name, node] : table) {
            std::string key = prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
            auto where = location(path, node.source());
            if (auto own = tables_.find(key); own != tables_.end() && node.as_table()) {
                own->second(*node.as_table(), path);
                continue;
            }
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
    std::map<std::string, std::function<void(const toml::table&, const std::filesystem::path&)>> tables_;
    std::map<std::string, std::string> lines_;
};

// One [midi.cc] entry: NAME = CC, or NAME = { cc = N, channel = C, on = "...", low = L, high = H }.
ControllerBinding read_binding(const std::string& name, const toml::node& node, const std::string& where) {
    const auto fail = [&](const std::string& reason) -> ControllerBinding {
        throw ConfigError(where + ": key 'midi.cc." + name + "': " + reason);
    };
    ControllerBinding binding;
    binding.target = name;
    if (const auto* target = controller_target(name)) binding.trigger = target->trigger;
    if (node.is_integer()) {
        binding.controller = static_cast<int>(*node.value<std::int64_t>());
    } else if (const auto* fields = node.as_table()) {
        for (const auto& [field, value] : *fields) {
            const std::string field_name(field.str());
            if ((field_name == "cc" || field_name == "channel") && value.is_integer()) {
                (field_name == "cc" ? binding.controller : binding.channel) =
                    static_cast<int>(std::clamp<std::int64_t>(*value.value<std::int64_t>(), -1, 1000));
            } else if (field_name == "on" && value.is_string()) {
                auto trigger = trigger_named(*value.value<std::string>());
                if (!trigger) return fail("on must be \"press\", \"release\" or \"any\"");
                binding.trigger = *trigger;
            } else if ((field_name == "low" || field_name == "high") && value.value<double>()) {
                (field_name == "low" ? binding.low : binding.high) = *value.value<double>();
            } else {
                return fail("'" + field_name +
                            "' is not cc (integer), channel (integer), on (text), low or high (numbers)");
            }
        }
        if (!fields->contains("cc")) return fail("needs cc = CONTROLLER");
    } else {
        return fail("expected a controller number or { cc = N, ... }");
    }
    if (auto problem = binding_problem(binding); !problem.empty()) return fail(problem);
    return binding;
}

// Every key of the one table of settings (settings.cpp), bound to its field in `config`.
void bind_keys(KeyTable& keys, DaemonConfig& config) {
    for (const auto& setting : settings()) keys.add(setting, config);
    keys.add_table("midi.cc", [&config](const toml::table& table, const std::filesystem::path& path) {
        config.midi.controllers.clear();  // the file's map replaces the shipped one
        for (const auto& [name, node] : table)
            config.midi.controllers.push_back(
                read_binding(std::string(name.str()), node, location(path, node.source())));
        // TOML tables have no order: keep the map in controller order, as the shipped one is.
        std::stable_sort(config.midi.controllers.begin(), config.midi.controllers.end(),
                         [](const auto& a, const auto& b) { return a.controller < b.controller; });
    });
}

void run_checks(const DaemonConfig& config, const std::function<std::string(const std::string&)>& where) {
    for (const auto& setting : settings())
        if (auto reason = setting.check(config); !reason.empty())
            throw ConfigError(where(setting.key) + ": key '" + setting.key + "' " + reason);
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
