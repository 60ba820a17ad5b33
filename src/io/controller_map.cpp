#include "kanade/io/controller_map.hpp"

#include "kanade/io/settings.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace kanade::io {

const std::vector<ControllerTarget>& controller_targets() {
    static const std::vector<ControllerTarget> targets = {
        {"temperature", "engine.temperature", 0.2, 2.0},
        {"top_p", "engine.top_p", 0.5, 1.0},
        {"density", "engine.density", 0.25, 4.0, true},
        {"energy", "engine.energy", -1.0, 1.0},
        {"repeat", "engine.repeat", 0.0, 1.0},
        {"polyphony", "engine.max_polyphony", 1, 6},
        {"tempo", "clock.bpm", 60, 200},
        {"repetition", "engine.repetition_penalty", 1.0, 2.0},
        {"top_k", "engine.top_k", 0, 64},
        {"style", "engine.style", 0, 8},
        {"answer", "", 0, 0, false, Trigger::release},  // the sustain pedal let go ends the call
        {"panic", "", 0, 0, false, Trigger::any},       // All Notes Off (123) carries value 0
        {"start", ""},
        {"stop", ""},
    };
    return targets;
}

const ControllerTarget* controller_target(std::string_view name) {
    for (const auto& target : controller_targets())
        if (target.name == name) return &target;
    return nullptr;
}

std::vector<ControllerBinding> default_controller_bindings() {
    std::vector<ControllerBinding> bindings;
    int controller = 21;
    for (const char* knob : {"temperature", "top_p", "density", "energy", "repeat", "polyphony", "tempo", "repetition"})
        bindings.push_back({knob, controller++, 0, Trigger::press});
    bindings.push_back({"panic", 123, 0, controller_target("panic")->trigger});
    return bindings;
}

std::optional<Trigger> trigger_named(std::string_view name) {
    if (name == "press") return Trigger::press;
    if (name == "release") return Trigger::release;
    if (name == "any") return Trigger::any;
    return std::nullopt;
}

namespace {

std::string_view trigger_name(Trigger trigger) {
    switch (trigger) {
        case Trigger::press: return "press";
        case Trigger::release: return "release";
        case Trigger::any: return "any";
    }
    return "press";
}

// The knob's stretch: the binding's own, or its target's.
std::pair<double, double> stretch(const ControllerBinding& binding, const ControllerTarget& target) {
    if (binding.low != binding.high) return {binding.low, binding.high};
    return {target.low, target.high};
}

std::string number_text(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

}  // namespace

std::string binding_problem(const ControllerBinding& binding) {
    const auto* target = controller_target(binding.target);
    if (!target) {
        std::string names;
        for (const auto& known : controller_targets()) names += (names.empty() ? "" : ", ") + known.name;
        return "unknown target '" + binding.target + "' (one of " + names + ")";
    }
    if (binding.controller < 0 || binding.controller > 127) return "cc must be 0..127";
    if (binding.channel < 0 || binding.channel > 16) return "channel must be 1..16 (0: any)";
    if (target->setting.empty()) return {};
    const auto [low, high] = stretch(binding, *target);
    if (target->logarithmic && (low <= 0 || high <= 0)) return "low and high must be above 0 (a logarithmic knob)";
    if (const auto& range = setting(target->setting).range) {
        for (double end : {low, high})
            if (end < range->first || end > range->second)
                return "low..high must lie within " + target->setting + "'s " + number_text(range->first) + ".." +
                       number_text(range->second);
    }
    return {};
}

std::optional<OscMessage> controller_message(const ControllerBinding& binding, int channel, int controller, int value) {
    if (controller != binding.controller || (binding.channel != 0 && channel != binding.channel)) return std::nullopt;
    const auto* target = controller_target(binding.target);
    if (!target) return std::nullopt;
    OscMessage message{"/kanade/" + target->name, {}};
    if (target->setting.empty()) {
        const bool fires = binding.trigger == Trigger::any || (binding.trigger == Trigger::press) == (value >= 64);
        if (!fires) return std::nullopt;
        return message;
    }
    const auto [low, high] = stretch(binding, *target);
    const double at = std::clamp(value, 0, 127) / 127.0;
    const double scaled = target->logarithmic ? low * std::pow(high / low, at) : low + (high - low) * at;
    if (setting(target->setting).type == SettingType::integer)  // the command takes what the setting holds
        message.arguments.emplace_back(static_cast<std::int32_t>(std::lround(scaled)));
    else
        message.arguments.emplace_back(static_cast<float>(scaled));
    return message;
}

namespace {

// "[midi.cc]" and one line a binding.
std::string table_entries(const std::vector<ControllerBinding>& bindings) {
    std::string text = "[midi.cc]\n";
    for (const auto& binding : bindings) {
        const auto* target = controller_target(binding.target);
        const bool own_trigger = !target || !target->setting.empty() || binding.trigger == target->trigger;
        const bool plain = binding.channel == 0 && binding.low == binding.high && own_trigger;
        if (plain) {
            text += binding.target + " = " + std::to_string(binding.controller) + "\n";
            continue;
        }
        text += binding.target + " = { cc = " + std::to_string(binding.controller);
        if (binding.channel != 0) text += ", channel = " + std::to_string(binding.channel);
        if (!own_trigger) text += ", on = \"" + std::string(trigger_name(binding.trigger)) + "\"";
        if (binding.low != binding.high)
            text += ", low = " + number_text(binding.low) + ", high = " + number_text(binding.high);
        text += " }\n";
    }
    return text;
}

}  // namespace

std::string controller_table_toml(const std::vector<ControllerBinding>& bindings) {
    std::string text =
        "# MIDI controllers: NAME = CC, or NAME = { cc = N, channel = 1..16, on = \"press\" | \"release\" | \"any\",\n"
        "# low = L, high = H }. A knob's 0..127 spans low..high of the setting; a button fires its action.\n"
        "# Knobs:";
    std::string actions;
    int knobs = 0;
    for (const auto& target : controller_targets()) {
        if (target.setting.empty()) {
            actions += " " + target.name;
            continue;
        }
        if (knobs++ == 5) text += "\n#       ";
        text += " " + target.name + " " + number_text(target.low) + ".." + number_text(target.high);
    }
    text += ", and the button";
    text += "s:" + actions;
    text += ".\n# A [midi.cc] table replaces this whole map; an empty one turns the controllers off.\n";
    return text + table_entries(bindings);
}

std::vector<ControllerBinding> learned(std::vector<ControllerBinding> bindings, const std::string& target,
                                       int controller, int channel) {
    std::erase_if(bindings, [&](const ControllerBinding& old) {
        return old.target == target || (old.controller == controller && (old.channel == 0 || old.channel == channel));
    });
    ControllerBinding binding{target, controller, channel};
    if (const auto* known = controller_target(target)) binding.trigger = known->trigger;
    const auto at = std::find_if(bindings.begin(), bindings.end(),
                                 [&](const ControllerBinding& old) { return old.controller > controller; });
    bindings.insert(at, binding);
    return bindings;
}

std::string with_controller_table(const std::string& config_text, const std::vector<ControllerBinding>& bindings) {
    std::string out;
    bool replaced = false, skipping = false;
    std::size_t from = 0;
    while (from < config_text.size()) {
        auto end = config_text.find('\n', from);
        end = end == std::string::npos ? config_text.size() : end + 1;
        const std::string line = config_text.substr(from, end - from);
        from = end;
        const auto first = line.find_first_not_of(" \t\r\n");
        const bool header = first != std::string::npos && line[first] == '[';
        if (header) {
            auto name = line.substr(first);
            name = name.substr(0, name.find(']') + 1);
            skipping = name == "[midi.cc]";
            if (skipping && !replaced) {
                out += table_entries(bindings);
                replaced = true;
            }
        }
        // The table's own entries go; comments and blank lines stay (the next section's, often).
        if (!skipping || (!header && (first == std::string::npos || line[first] == '#'))) out += line;
    }
    if (!replaced) {
        if (!out.empty() && out.back() != '\n') out += '\n';
        out += "\n" + table_entries(bindings);
    }
    return out;
}

}  // namespace kanade::io
