#include "kanade/io/config.hpp"

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

TEST_CASE("model.precision takes float32, float16 or bfloat16 and nothing else") {
    CHECK(io::parse_config("[model]\nprecision = \"float16\"\n", "test.toml").model.precision == "float16");
    CHECK(io::parse_config("[model]\nprecision = \"bfloat16\"\n", "test.toml").model.precision == "bfloat16");
    auto message = refusal("[model]\nprecision = \"int8\"\n");
    CHECK(message.find("test.toml:2") != std::string::npos);
    CHECK(message.find("model.precision") != std::string::npos);
}
