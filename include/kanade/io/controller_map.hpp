// Knobs and buttons of a MIDI keyboard bound to kanaded's settings and actions: the
// [midi.cc] table. A knob's 0..127 is scaled onto a stretch of its setting's range that
// is useful on stage (temperature 0.2..2, not the 0..10 the setting allows); a button
// fires an action when pressed, released, or on any value. A move becomes the OSC
// message that /kanade/NAME takes, so a knob, the page and OSC change a setting one way.
#pragma once

#include "kanade/io/osc_message.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kanade::io {

enum class Trigger { press, release, any };  // actions: value >= 64, value < 64, any value

// What a controller can drive: /kanade/NAME, a setting (scaled) or an action (fired).
struct ControllerTarget {
    std::string name;                  // the OSC command under /kanade/: "temperature", "panic"
    std::string setting;               // its key in the table of settings ("" for an action)
    double low = 0, high = 0;          // the knob's stretch of the setting's range
    bool logarithmic = false;          // the knob's middle is the geometric mean (density 0.25..4: 1)
    Trigger trigger = Trigger::press;  // an action's, unless the binding says
};
const std::vector<ControllerTarget>& controller_targets();
const ControllerTarget* controller_target(std::string_view name);  // nullptr when none

struct ControllerBinding {
    std::string target;  // a ControllerTarget's name
    int controller = 0;  // 0..127
    int channel = 0;     // 1..16; 0: any channel
    Trigger trigger = Trigger::press;
    double low = 0, high = 0;  // the knob's stretch (low == high: the target's own)
    bool operator==(const ControllerBinding&) const = default;
};

// The shipped map, for the common 8-knob keyboard whose knobs send controllers 21..28
// (Novation Launchkey, Arturia KeyLab and MiniLab in their default mode), and panic on
// All Notes Off (123), which most keyboards' panic buttons send.
std::vector<ControllerBinding> default_controller_bindings();

// "" when the binding can work, else why not ("unknown target 'x'", "cc must be 0..127",
// "low..high must lie within the setting's 0..10"). The [midi.cc] reader (config.cpp)
// names the file, line and key.
std::string binding_problem(const ControllerBinding& binding);
std::optional<Trigger> trigger_named(std::string_view name);  // "press", "release", "any"

// The message one move makes, or nothing (another controller or channel; a button's
// value that does not fire it). `channel` 1..16.
std::optional<OscMessage> controller_message(const ControllerBinding& binding, int channel, int controller, int value);

// The bindings as a [midi.cc] table, for `kanaded --print-config`.
std::string controller_table_toml(const std::vector<ControllerBinding>& bindings);

// MIDI learn: `bindings` with `target` bound to the controller just moved (on its
// channel), in place of the target's old binding and of whatever that controller drove.
std::vector<ControllerBinding> learned(std::vector<ControllerBinding> bindings, const std::string& target,
                                       int controller, int channel);

// A configuration file's text with its [midi.cc] table replaced by `bindings` (added at
// the end when it has none); every other line is kept as it was.
std::string with_controller_table(const std::string& config_text, const std::vector<ControllerBinding>& bindings);

}  // namespace kanade::io
