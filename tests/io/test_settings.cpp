// The one table of settings: the configuration file, kanaded's flags and OSC all read it,
// and config/kanade.toml documents every setting in it with its default.
#include "kanade/io/settings.hpp"

#include "../test_paths.hpp"

#include <doctest/doctest.h>

#include <toml++/toml.h>

#include <fstream>
#include <iterator>
#include <set>

using namespace kanade;

TEST_CASE("config/kanade.toml is the table's, as kanaded --print-config writes it") {
    const auto path = test::source_dir / "config" / "kanade.toml";
    std::ifstream shipped_file(path);
    const std::string shipped_text{std::istreambuf_iterator<char>(shipped_file), {}};
    // A change to the table shows here: rewrite the file with build/bin/kanaded --print-config.
    CHECK(shipped_text == io::default_config_toml());
    auto file = toml::parse_file(path.string());
    std::set<std::string> in_file;
    for (const auto& [section, table] : file)
        for (const auto& [key, value] : *table.as_table())
            if (!value.is_table()) in_file.insert(std::string(section.str()) + "." + std::string(key.str()));
    std::set<std::string> in_table;
    for (const auto& setting : io::settings()) in_table.insert(setting.key);
    CHECK(in_file == in_table);

    const auto shipped = io::load_config(path);
    const io::DaemonConfig defaults;
    CHECK(shipped.midi.controllers == defaults.midi.controllers);  // [midi.cc], the one table that is not settings
    for (const auto& setting : io::settings()) {
        CAPTURE(setting.key);
        CHECK(setting.value_text(shipped) == setting.value_text(defaults));
        CHECK(setting.check(defaults).empty());  // every default is a good value
        CHECK(!setting.help.empty());
    }
}

TEST_CASE("kanaded --print-config's TOML reads back as the defaults") {
    const auto text = io::default_config_toml();
    const auto read = io::parse_config(text, "printed.toml");
    const io::DaemonConfig defaults;
    CHECK(read.midi.controllers == defaults.midi.controllers);
    for (const auto& setting : io::settings()) {
        CAPTURE(setting.key);
        CHECK(setting.value_text(read) == setting.value_text(defaults));
    }
}

TEST_CASE("a flag's text is read as its setting's type, and a wrong one is named") {
    io::DaemonConfig config;
    io::set_from_text(io::setting("clock.bpm"), config, "96.5");
    CHECK(config.clock.scheduler.bpm == doctest::Approx(96.5));
    io::set_from_text(io::setting("osc.port"), config, "9123");
    CHECK(config.osc.port == 9123);
    io::set_from_text(io::setting("engine.mode"), config, "accompany");
    CHECK(config.engine.voice.mode == engine::Mode::accompany);
    try {
        io::set_from_text(io::setting("engine.mode"), config, "solo");
        FAIL("no error");
    } catch (const io::ConfigError& error) {
        CHECK(std::string(error.what()) == "--mode: must be free, call-response or accompany, not 'solo'");
    }
    try {
        io::set_from_text(io::setting("clock.bpm"), config, "fast");
        FAIL("no error");
    } catch (const io::ConfigError& error) {
        CHECK(std::string(error.what()) == "--bpm: expected a number, not 'fast'");
    }
    CHECK_THROWS_AS(io::set_from_text(io::setting("osc.port"), config, "90x"), io::ConfigError);
    CHECK_THROWS_AS(io::set_from_text(io::setting("engine.seed"), config, "-3"), io::ConfigError);
    // The range is checked where every value is, with the file's and the flags' rule.
    config.clock.scheduler.bpm = 1000;
    CHECK(io::setting("clock.bpm").check(config) == "must be 10..400");
    CHECK_THROWS_AS(io::validate_config(config), io::ConfigError);
}

TEST_CASE("OSC's bounds are the table's") {
    CHECK(io::out_of_range("engine.temperature", 5, "temperature").empty());
    CHECK(io::out_of_range("engine.temperature", 50, "temperature") == "temperature must be 0..10");
    CHECK(io::out_of_range("clock.bpm", 401, "tempo") == "tempo must be 10..400");
    CHECK(io::out_of_range("engine.energy", -1, "energy").empty());
    CHECK_THROWS_AS(io::out_of_range("engine.no_such_key", 1, "x"), std::out_of_range);
}

TEST_CASE("a setting with both a range and a rule is held to both") {
    io::DaemonConfig config;
    config.engine.voice.sampling.top_p = 0;  // inside the range 0..1, but a nucleus must hold some mass
    CHECK(io::setting("engine.top_p").check(config) == "must be in (0, 1]");
    config.engine.voice.sampling.top_p = 2;
    CHECK(io::setting("engine.top_p").check(config) == "must be in (0, 1]");
    config.engine.voice.sampling.top_p = 0.5;
    CHECK(io::setting("engine.top_p").check(config).empty());

    config.engine.voice.constraints.lowest_pitch = 60;
    config.engine.voice.constraints.highest_pitch = 59;  // within 0..127, below the lowest
    CHECK(io::setting("engine.highest_pitch").check(config) == "must be lowest_pitch..127");
    config.engine.voice.constraints.highest_pitch = 128;
    CHECK(io::setting("engine.highest_pitch").check(config) == "must be lowest_pitch..127");
}
