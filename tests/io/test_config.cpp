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

TEST_CASE("the engine's defaults are the voice's own, and a wrong scale or mode is refused at its line") {
    // DaemonConfig embeds the components' structs: nothing to drift between two copies.
    const io::DaemonConfig defaults;
    CHECK(defaults.engine.voice.sampling.top_p == engine::SessionSettings{}.sampling.top_p);
    CHECK(defaults.engine.voice.constraints.max_polyphony == engine::Constraints{}.max_polyphony);
    CHECK(defaults.clock.scheduler.max_note_steps == clock::SchedulerConfig{}.max_note_steps);
    CHECK(defaults.osc.max_packet_bytes == io::OscServerConfig{}.max_packet_bytes);

    auto config = io::parse_config(
        "[engine]\nmode = \"accompany\"\nscale = \"D dorian\"\nmiss_policy = \"hold\"\ninference = \"faithful\"\n"
        "[osc]\nallow = \"192.168.1.0/24, 10.0.0.0/8\"\n",
        "test.toml");
    CHECK(config.engine.voice.mode == engine::Mode::accompany);
    CHECK(config.engine.voice.constraints.scale_text() == "D dorian");
    CHECK(config.clock.scheduler.miss_policy == clock::MissPolicy::hold);
    CHECK(config.engine.inference == engine::InferenceMode::faithful);
    CHECK(config.osc.allow == std::vector<std::string>{"192.168.1.0/24", "10.0.0.0/8"});

    CHECK(refusal("[engine]\n\nscale = \"C lydianish\"\n") ==
          "test.toml:3: key 'engine.scale': unknown scale 'lydianish'");
    CHECK(refusal("[engine]\nscale = \"H lydian\"\n")
              .rfind("test.toml:2: key 'engine.scale': 'H' is not a note name", 0) == 0);
    CHECK(refusal("[engine]\nmode = \"solo\"\n") ==
          "test.toml:2: key 'engine.mode': must be free, call-response or accompany");
    CHECK(refusal("[engine]\nmiss_policy = 3\n") == "test.toml:2: key 'engine.miss_policy': expected a string");
}

TEST_CASE("energy is read, and a value outside -1..1 is refused naming line and key") {
    auto config = io::parse_config("[engine]\nenergy = -0.5\n", "test.toml");
    CHECK(config.engine.voice.constraints.energy == -0.5);
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
