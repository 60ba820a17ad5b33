// The commands an OSCQuery client sends as WebSocket text: {"COMMAND":"LISTEN","DATA":"/a/b"}
// and IGNORE (the OSCQuery proposal's), and kanade's own {"COMMAND":"STREAM"} (the notes
// and status for the control page). Parsed here, apart from the daemon, so it is fuzzed.
#pragma once

#include <string>
#include <string_view>

namespace kanade::io {

struct OscQueryCommand {
    enum class Verb { listen, ignore, stream };
    Verb verb = Verb::listen;
    std::string address;  // LISTEN and IGNORE: the OSC address
    std::string error;    // not "" when the text is not a command: what is wrong with it
};

OscQueryCommand parse_oscquery_command(std::string_view text);

}  // namespace kanade::io
