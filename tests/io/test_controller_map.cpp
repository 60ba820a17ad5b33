// [midi.cc]: which knob drives which setting, over what stretch, and which button fires
// which action (the table's reading and refusals: test_config.cpp).
#include "kanade/io/controller_map.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>

using namespace kanade;
using io::ControllerBinding;
using io::Trigger;

namespace {

// The number a binding's move sends, or NaN when it sends nothing or no number.
double sent(const ControllerBinding& binding, int channel, int controller, int value) {
    auto message = io::controller_message(binding, channel, controller, value);
    if (!message || message->arguments.empty()) return std::nan("");
    if (const auto* number = std::get_if<float>(&message->arguments.front())) return *number;
    return std::get<std::int32_t>(message->arguments.front());
}

bool fires(const ControllerBinding& binding, int value) {
    auto message = io::controller_message(binding, 1, binding.controller, value);
    return message && message->arguments.empty();
}

}  // namespace

TEST_CASE("a knob spans its setting's stage stretch: linear, logarithmic for density, whole numbers for polyphony") {
    const ControllerBinding temperature{"temperature", 21};
    CHECK(sent(temperature, 1, 21, 0) == doctest::Approx(0.2));
    CHECK(sent(temperature, 1, 21, 127) == doctest::Approx(2.0));
    CHECK(sent(temperature, 9, 21, 127) == doctest::Approx(2.0));  // channel 0: any
    CHECK(std::isnan(sent(temperature, 1, 22, 127)));              // another knob
    CHECK(io::controller_message(temperature, 1, 21, 64)->address == "/kanade/temperature");

    const ControllerBinding density{"density", 23};
    CHECK(sent(density, 1, 23, 0) == doctest::Approx(0.25));
    CHECK(sent(density, 1, 23, 127) == doctest::Approx(4.0));
    CHECK(sent(density, 1, 23, 64) == doctest::Approx(1.0).epsilon(0.02));  // the middle leaves the model alone

    const ControllerBinding polyphony{"polyphony", 26};
    auto message = io::controller_message(polyphony, 1, 26, 127);
    REQUIRE(message);
    CHECK(std::get<std::int32_t>(message->arguments.front()) == 6);

    const ControllerBinding narrow{"energy", 24, 2, Trigger::press, -0.5, 0.5};  // its own stretch, channel 2 only
    CHECK(sent(narrow, 2, 24, 127) == doctest::Approx(0.5));
    CHECK(std::isnan(sent(narrow, 1, 24, 127)));
}

TEST_CASE("a button fires on press, on release or on any value") {
    CHECK(fires({"start", 20, 0, Trigger::press}, 127));
    CHECK_FALSE(fires({"start", 20, 0, Trigger::press}, 0));
    CHECK(fires({"answer", 64, 0, Trigger::release}, 0));
    CHECK_FALSE(fires({"answer", 64, 0, Trigger::release}, 127));
    CHECK(fires({"panic", 123, 0, Trigger::any}, 0));
    CHECK(io::controller_message({"panic", 123, 0, Trigger::any}, 1, 123, 0)->address == "/kanade/panic");
}

TEST_CASE("MIDI learn binds the controller moved in place of the target's old one and of what it drove") {
    const std::vector<ControllerBinding> before = {
        {"temperature", 21}, {"energy", 24}, {"tempo", 27}, {"panic", 123, 0, Trigger::any}};
    auto after = io::learned(before, "tempo", 24, 2);  // the energy knob now sets the tempo
    const std::vector<ControllerBinding> expected = {
        {"temperature", 21}, {"tempo", 24, 2}, {"panic", 123, 0, Trigger::any}};
    CHECK(after == expected);
    CHECK(io::learned(before, "answer", 64, 1).at(3) == ControllerBinding{"answer", 64, 1, Trigger::release});
}

TEST_CASE("a learned map replaces the file's [midi.cc] table and keeps every other line") {
    const std::string file =
        "# my rig\n[engine]\ntemperature = 0.8  # warm\n\n[midi.cc]\ntempo = 27\nenergy = 24\n"
        "\n# the synth\n[audio]\ngain = 0.4\n";
    const std::vector<ControllerBinding> map = {{"tempo", 30, 2}};
    CHECK(io::with_controller_table(file, map) ==
          "# my rig\n[engine]\ntemperature = 0.8  # warm\n\n[midi.cc]\ntempo = { cc = 30, channel = 2 }\n"
          "\n# the synth\n[audio]\ngain = 0.4\n");
    CHECK(io::with_controller_table("[engine]\nseed = 3", map) ==
          "[engine]\nseed = 3\n\n[midi.cc]\ntempo = { cc = 30, channel = 2 }\n");
}
