#include "kanade/io/config.hpp"
#include "kanade/io/controller_map.hpp"

#include "test_paths.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace kanade;

namespace {

// The message a configuration text is refused with ("" if it is accepted).
std::string refusal(const std::string& text) {
    try {
        io::parse_config(text, "test.toml");
    } catch (const io::ConfigError& error) {
        return error.what();
    }
    return {};
}

}  // namespace

TEST_CASE("the shipped config file sets every key to its documented default") {
    auto shipped = io::load_config(kanade::test::source_dir / "config" / "kanade.toml");
    io::DaemonConfig defaults;
    CHECK(shipped.engine.temperature == defaults.engine.temperature);
    CHECK(shipped.engine.density == defaults.engine.density);
    CHECK(shipped.engine.energy == defaults.engine.energy);
    CHECK(shipped.engine.repeat == defaults.engine.repeat);
    CHECK(shipped.engine.repetition_penalty == defaults.engine.repetition_penalty);
    CHECK(shipped.engine.max_polyphony == defaults.engine.max_polyphony);
    CHECK(shipped.engine.scale == defaults.engine.scale);
    CHECK(shipped.engine.mode == defaults.engine.mode);
}

TEST_CASE("energy is read, and a value outside -1..1 is refused naming line and key") {
    auto config = io::parse_config("[engine]\nenergy = -0.5\n", "test.toml");
    CHECK(config.engine.energy == -0.5);
    auto message = refusal("[engine]\n\nenergy = 1.5\n");
    CHECK(message.find("test.toml:3") != std::string::npos);
    CHECK(message.find("engine.energy") != std::string::npos);
    CHECK(message.find("-1..1") != std::string::npos);
    CHECK(refusal("[engine]\nenergy = \"loud\"\n").find("engine.energy") != std::string::npos);
}

TEST_CASE("model.precision takes float32, float16, bfloat16 or int8 and nothing else") {
    CHECK(io::parse_config("[model]\nprecision = \"float16\"\n", "test.toml").model.precision == "float16");
    CHECK(io::parse_config("[model]\nprecision = \"bfloat16\"\n", "test.toml").model.precision == "bfloat16");
    CHECK(io::parse_config("[model]\nprecision = \"int8\"\n", "test.toml").model.precision == "int8");
    auto message = refusal("[model]\nprecision = \"int4\"\n");
    CHECK(message.find("test.toml:2") != std::string::npos);
    CHECK(message.find("model.precision") != std::string::npos);
}

TEST_CASE("a [midi.cc] table replaces the shipped map, and an empty one turns it off") {
    const io::DaemonConfig defaults;
    CHECK(defaults.midi.controllers.size() == 9);
    auto config = io::parse_config(
        "[midi.cc]\ntemperature = 74\nanswer = 64\nstop = { cc = 20, channel = 10, on = \"release\" }\n"
        "energy = { cc = 75, low = -0.25, high = 0.75 }\n",
        "test.toml");
    REQUIRE(config.midi.controllers.size() == 4);  // in controller order
    CHECK(config.midi.controllers[0] == io::ControllerBinding{"stop", 20, 10, io::Trigger::release});
    CHECK(config.midi.controllers[1] == io::ControllerBinding{"answer", 64, 0, io::Trigger::release});  // answer's own
    CHECK(config.midi.controllers[2] == io::ControllerBinding{"temperature", 74, 0, io::Trigger::press});
    CHECK(config.midi.controllers[3] == io::ControllerBinding{"energy", 75, 0, io::Trigger::press, -0.25, 0.75});
    // What --print-config would write of it reads back the same.
    auto printed =
        io::parse_config("[midi]\n" + io::controller_table_toml(config.midi.controllers) + "\n", "printed.toml");
    CHECK(printed.midi.controllers == config.midi.controllers);

    CHECK(io::parse_config("[midi.cc]\n", "test.toml").midi.controllers.empty());
    CHECK(io::parse_config("[midi]\nchannel = 2\n", "test.toml").midi.controllers == defaults.midi.controllers);
}

TEST_CASE("a wrong [midi.cc] entry is refused naming the file, line, key and reason") {
    CHECK(refusal("[midi.cc]\nvolume = 7\n").rfind("test.toml:2: key 'midi.cc.volume': unknown target 'volume'", 0) ==
          0);
    CHECK(refusal("[midi.cc]\ntemperature = 21\nenergy = 200\n") ==
          "test.toml:3: key 'midi.cc.energy': cc must be 0..127");
    CHECK(refusal("[midi.cc]\nenergy = { cc = 24, channel = 17 }\n") ==
          "test.toml:2: key 'midi.cc.energy': channel must be 1..16 (0: any)");
    CHECK(refusal("[midi.cc]\ntemperature = { cc = 21, low = 0, high = 50 }\n") ==
          "test.toml:2: key 'midi.cc.temperature': low..high must lie within engine.temperature's 0..10");
    CHECK(refusal("[midi.cc]\ndensity = { cc = 23, low = 0, high = 4 }\n") ==
          "test.toml:2: key 'midi.cc.density': low and high must be above 0 (a logarithmic knob)");
    CHECK(refusal("[midi.cc]\npanic = { cc = 123, on = \"twice\" }\n") ==
          "test.toml:2: key 'midi.cc.panic': on must be \"press\", \"release\" or \"any\"");
    CHECK(refusal("[midi.cc]\npanic = { channel = 1 }\n") == "test.toml:2: key 'midi.cc.panic': needs cc = CONTROLLER");
    CHECK(refusal("[midi.cc]\npanic = \"123\"\n") ==
          "test.toml:2: key 'midi.cc.panic': expected a controller number or { cc = N, ... }");
    CHECK(refusal("[midi.cc]\npanic = { cc = 123, colour = 1 }\n")
              .find("'colour' is not cc (integer), channel (integer), on (text), low or high (numbers)") !=
          std::string::npos);
}
