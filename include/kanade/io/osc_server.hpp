// The OSC server: UDP on Boost.Asio, one dispatch table. Every command is registered
// with add() in one place, with the argument types it takes; the server checks them
// (converting int <-> float where that loses nothing) before the handler runs, and
// turns every refusal, unknown address, malformed packet or exception into a
// /kanade/fail reply naming the address and the reason. Runs on the caller's
// io_context thread; nothing a client sends can stop it.
#pragma once

#include "kanade/io/osc_message.hpp"
#include "kanade/io/osc_server_config.hpp"

#include <utility>  // before Boost 1.74 Asio, which uses std::exchange without it under C++20

#include <boost/asio.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace kanade::io {

using OscEndpoint = boost::asio::ip::udp::endpoint;
// Returns "" when done, or why not (sent back as /kanade/fail ADDRESS REASON).
using OscHandler = std::function<std::string(const OscMessage& message, const OscEndpoint& sender)>;

class OscServer {
public:
    OscServer(boost::asio::io_context& io, const OscServerConfig& config);

    // type_tags: exactly the argument types ("f", "ii", ""), '*' for any arguments.
    void add(std::string address, std::string type_tags, std::string help, OscHandler handler);
    void send(const OscEndpoint& to, const OscMessage& message);
    // One datagram as if it had arrived from `sender` (replies go there): what the socket
    // calls, public so the fuzzer drives the whole decode-check-dispatch path in-process.
    void handle_packet(std::span<const std::uint8_t> packet, const OscEndpoint& sender);
    // One message from inside the daemon (a MIDI controller's move), on the io thread:
    // checked and handled as one from the socket; returns "" or why it was refused.
    // Replies go to `reply_to`, the last packet's sender when not given.
    std::string run(OscMessage& message);
    std::string run(OscMessage& message, const OscEndpoint& reply_to);
    std::uint16_t local_port() const;
    struct CommandInfo {
        std::string address, type_tags, help;
    };
    std::vector<CommandInfo> commands() const;  // in address order

    struct Counters {
        std::uint64_t packets = 0, messages = 0, malformed = 0, failed = 0, refused = 0, oversized = 0;
    };
    Counters counters() const;

private:
    struct Command {
        std::string type_tags, help;
        OscHandler handler;
    };
    struct Network {
        boost::asio::ip::address_v4 base;
        std::uint32_t mask;
    };
    void receive();
    void dispatch(OscMessage& message);
    bool allowed(const boost::asio::ip::address& address) const;
    void fail(const std::string& address, const std::string& reason);

    boost::asio::ip::udp::socket socket_;
    std::vector<std::uint8_t> buffer_;
    std::size_t max_packet_bytes_;
    OscEndpoint sender_;  // of the packet being received, then of the one being handled
    std::map<std::string, Command> commands_;
    std::vector<Network> allow_;
    std::atomic<std::uint64_t> packets_{0}, messages_{0}, malformed_{0}, failed_{0}, refused_{0}, oversized_{0};
};

}  // namespace kanade::io
