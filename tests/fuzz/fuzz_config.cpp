// libFuzzer harness: kanaded's TOML configuration. A text either gives a configuration
// that passed every check, or ConfigError naming where it is wrong.
#include "kanade/io/config.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        auto config = kanade::io::parse_config({reinterpret_cast<const char*>(data), size}, "fuzz.toml");
        kanade::io::validate_config(config);  // what loaded must be valid
    } catch (const kanade::io::ConfigError&) {}
    return 0;
}
