// kanaded's HTTP and WebSocket server (Boost.Beast), on the caller's io_context thread
// beside OSC: GET requests go to one handler, WebSocket upgrades (on any path, as
// OSCQuery wants) become peers whose frames go to others. Bounded everywhere: request
// size, clients, each peer's queue of unsent frames; a bad request gets a 4xx naming the
// reason, and nothing a client sends can stop it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;  // declared, not included: DaemonConfig embeds HttpServerConfig
}

namespace kanade::io {

struct HttpServerConfig {
    std::string bind = "127.0.0.1";
    int port = 8000;    // 0: off
    std::string token;  // when set, every request carries it: "?token=..." or "Authorization: Bearer ..."
    std::size_t max_request_bytes = 8192;  // headers and body, and a WebSocket message
    std::size_t max_clients = 64;          // connections open at once, WebSocket peers included
};

struct HttpRequest {
    std::string method;  // "GET"
    std::string path;    // "/kanade/tempo", percent-decoded
    std::string query;   // "VALUE" (what follows '?', the token taken out)
    std::string accept;  // the Accept header
};

struct HttpReply {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
};

// A request target split into path and query, the token parameter taken out; `error` says
// what is wrong with a target that cannot be read (a bad %-escape, no leading '/').
struct RequestTarget {
    std::string path, query, token, error;
};
RequestTarget parse_request_target(std::string_view target);

using WebSocketId = std::uint64_t;

struct HttpHandlers {
    std::function<HttpReply(const HttpRequest&)> request;
    std::function<void(WebSocketId, std::string_view text)> text;                  // a text frame came
    std::function<void(WebSocketId, std::span<const std::uint8_t> bytes)> binary;  // a binary frame came
    std::function<void(WebSocketId)> closed;                                       // the peer is gone
};

class HttpServer {
public:
    // Listens at once; throws std::runtime_error naming the address when it cannot.
    HttpServer(boost::asio::io_context& io, HttpServerConfig config, HttpHandlers handlers);
    ~HttpServer();  // closes every connection

    std::uint16_t local_port() const;
    // Queued for the peer (dropped, and counted, when it has 256 frames unsent already).
    void send_text(WebSocketId peer, std::string text);
    void send_binary(WebSocketId peer, std::vector<std::uint8_t> bytes);

    struct Counters {
        std::uint64_t requests = 0, bad_requests = 0, unauthorized = 0, refused_clients = 0, websocket_frames = 0,
                      dropped_frames = 0;
    };
    Counters counters() const;

    struct State;  // shared with the connections, which may outlive this object by a moment

private:
    std::shared_ptr<State> state_;
};

}  // namespace kanade::io
