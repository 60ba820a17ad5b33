// libFuzzer harness: any bytes as the text of an OSCQuery WebSocket frame. A command comes
// back, or an error saying what is wrong; nothing else may escape.
#include "kanade/io/oscquery_command.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto command =
        kanade::io::parse_oscquery_command(std::string_view(reinterpret_cast<const char*>(data), size));
    using Verb = kanade::io::OscQueryCommand::Verb;
    // A LISTEN or IGNORE that parsed names an OSC address.
    if (command.error.empty() && command.verb != Verb::stream && command.address.rfind('/', 0) != 0) __builtin_trap();
    return 0;
}
