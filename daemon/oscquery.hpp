// OSCQuery (github.com/Vidvox/OSCQueryProposal) over kanaded's HTTP server: GET / answers
// the JSON namespace of every OSC address (its type tags, access, current value, range
// and description, all from the OSC table and the one table of settings), GET PATH one
// node, PATH?ATTRIBUTE one attribute, ?HOST_INFO where OSC listens and what is supported.
// Over a WebSocket on the same port a client LISTENs to (and IGNOREs) an address, and
// gets each change of its value as a binary OSC message within a housekeeping tick (50 ms),
// whoever made it (OSC, a knob, SIGHUP); binary OSC it sends is run like a UDP packet.
// A browser asking for HTML at / gets the control page, which uses exactly this.
// Everything runs on the io thread.
#pragma once

#include "osc_commands.hpp"

#include "kanade/io/http_server.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kanade::daemon {

class Daemon;

// A note for the control page's piano roll: played (velocity 0 ends it) or planned.
struct WatchedNote {
    std::int64_t step = 0;  // the grid step it sounds on
    int channel = 1, pitch = 60, velocity = 0;
    int steps = 0;  // a planned note's length
    bool human = false;
};
// Plans taken back by an accompany re-plan: the planned notes on `channel` from `step` on are void.
struct Retraction {
    std::int64_t step = 0;
    int channel = 1;
};

// The control page (daemon/control_page.html, built in): one file, no framework.
const std::string& control_page();

class OscQuery {
public:
    // Serves at once; throws std::runtime_error when the port cannot be had.
    OscQuery(Daemon& daemon, SettingAddresses settings, boost::asio::io_context& io,
             const io::HttpServerConfig& config);
    std::uint16_t port() const { return server_.local_port(); }
    void send_changes();  // each LISTENed value that changed, to its listeners
    // kanade's own stream, for the control page: WebSockets that sent {"COMMAND":"STREAM"}
    // get each tick's notes as {"COMMAND":"NOTES","DATA":{...}} (retractions first, then
    // the played and planned notes) and twice a second
    // {"COMMAND":"STATUS","DATA":{...}}.
    bool streaming() const { return !streaming_.empty(); }
    void send_notes(std::int64_t step, double step_ms, const std::vector<WatchedNote>& played,
                    const std::vector<WatchedNote>& planned, const std::vector<Retraction>& retracted);

    // The answer to one GET (public for the fuzzer and the tests).
    io::HttpReply answer(const io::HttpRequest& request);
    // The reply to one WebSocket text frame: "" or a JSON error for the client.
    std::string command(io::WebSocketId peer, std::string_view text);

private:
    // A Setting's field points into the config it reads: `now` is the caller's copy.
    nlohmann::json namespace_tree(const io::DaemonConfig& now) const;
    nlohmann::json host_info() const;
    std::optional<std::vector<io::OscValue>> values_of(const std::string& address, const io::DaemonConfig& now) const;
    void run_osc(io::WebSocketId peer, std::span<const std::uint8_t> packet);

    nlohmann::json status() const;

    Daemon& daemon_;
    SettingAddresses settings_;
    // Each peer's LISTENed addresses, with the value last sent (or seen when it asked).
    std::map<io::WebSocketId, std::map<std::string, std::vector<io::OscValue>>> listening_;
    std::set<io::WebSocketId> streaming_;
    int ticks_since_status_ = 0;
    io::HttpServer server_;  // last: its handlers use the above
};

}  // namespace kanade::daemon
