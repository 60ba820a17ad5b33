// What the OSC server listens on and whom it lets in; apart from the server so the
// daemon's configuration can embed it without Boost.Asio.
#pragma once

#include <string>
#include <vector>

namespace kanade::io {

struct OscServerConfig {
    std::string bind = "127.0.0.1";
    int port = 9000;                 // 0: any free port (tests); kanaded's osc.port = 0 turns OSC off
    std::vector<std::string> allow;  // source networks besides loopback, as CIDR
    int max_packet_bytes = 8192;     // larger packets are refused
};

}  // namespace kanade::io
