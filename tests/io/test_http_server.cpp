// The HTTP and WebSocket server on a real loopback socket, its io_context on a thread of
// its own: GETs reach the handler with path and query, bad requests get a 4xx naming the
// reason and the server goes on, the token and the loopback Host and Origin are enforced,
// WebSocket frames go both ways.
#include "io/web_test_client.hpp"

#include "kanade/io/http_server.hpp"

#include <doctest/doctest.h>

#include <future>
#include <thread>

using namespace kanade;
using namespace kanade::test;
using namespace std::chrono_literals;

namespace {

// A server whose handler says back what it was asked, and whose WebSocket peers get back
// each text frame upper-cased and each binary frame reversed.
class EchoServer {
public:
    explicit EchoServer(io::HttpServerConfig config = {}) {
        config.port = 0;
        std::promise<std::uint16_t> started;
        thread_ = std::thread([this, config, &started] {
            io::HttpServer server(
                io_, config,
                io::HttpHandlers{[](const io::HttpRequest& request) {
                                     return io::HttpReply{200, "text/plain",
                                                          request.method + " " + request.path + " ? " + request.query +
                                                              " accept " + request.accept};
                                 },
                                 [&server](io::WebSocketId peer, std::string_view text) {
                                     std::string upper(text);
                                     for (auto& c : upper) c = static_cast<char>(std::toupper(c));
                                     server.send_text(peer, upper);
                                 },
                                 [&server](io::WebSocketId peer, std::span<const std::uint8_t> bytes) {
                                     server.send_binary(peer, {bytes.rbegin(), bytes.rend()});
                                 },
                                 [this](io::WebSocketId) { ++closed_; }});
            started.set_value(server.local_port());
            auto work = boost::asio::make_work_guard(io_);
            io_.run();
        });
        port = started.get_future().get();
    }
    ~EchoServer() {
        io_.stop();
        thread_.join();
    }
    int closed() const { return closed_.load(); }

    int port = 0;

private:
    boost::asio::io_context io_;
    std::thread thread_;
    std::atomic<int> closed_{0};
};

}  // namespace

TEST_CASE("a request target splits into a decoded path and a query without the token") {
    auto target = io::parse_request_target("/kanade/tempo?VALUE");
    CHECK(target.path == "/kanade/tempo");
    CHECK(target.query == "VALUE");
    target = io::parse_request_target("/a%20b?token=s3cret&VALUE");
    CHECK(target.error.empty());
    CHECK(target.path == "/a b");
    CHECK(target.query == "VALUE");
    CHECK(target.token == "s3cret");
    CHECK(io::parse_request_target("/").path == "/");
    CHECK(io::parse_request_target("/x%4").error.find("character 2") != std::string::npos);
    CHECK(io::parse_request_target("/x%zz").error.find("%-escape") != std::string::npos);
    CHECK(io::parse_request_target("/x%00").error.find("%-escape") != std::string::npos);
    CHECK(io::parse_request_target("kanade").error.find("start with '/'") != std::string::npos);
}

TEST_CASE("the HTTP server answers GETs and refuses bad requests by name, then goes on") {
    EchoServer server;
    auto reply = http_get(server.port, "/kanade/tempo?VALUE", {{"Accept", "application/json"}});
    CHECK(reply.status == 200);
    CHECK(reply.body == "GET /kanade/tempo ? VALUE accept application/json");

    CHECK(http_get(server.port, "/", {}, "POST").status == 405);
    CHECK(http_get(server.port, "/", {}, "POST").body.find("only GET") != std::string::npos);
    reply = http_get(server.port, "/", {{"Host", "attacker.example:8000"}});
    CHECK(reply.status == 403);
    CHECK(reply.body.find("attacker.example") != std::string::npos);
    CHECK(http_get(server.port, "/", {{"Host", "localhost:1"}}).status == 200);
    CHECK(http_get(server.port, "/x%zz").status == 400);

    const auto garbage = raw_exchange(server.port, "NOT HTTP AT ALL\r\n\r\n");
    CHECK(garbage.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(garbage.find("bad HTTP request") != std::string::npos);
    const auto huge = raw_exchange(
        server.port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
    CHECK(huge.rfind("HTTP/1.1 413", 0) == 0);
    // A client that connects and hangs up at once costs nothing.
    CHECK(raw_exchange(server.port, "").empty());

    CHECK(http_get(server.port, "/still/here").body.rfind("GET /still/here", 0) == 0);
}

TEST_CASE("with a token set, only requests that carry it are answered") {
    io::HttpServerConfig config;
    config.token = "s3cret";
    EchoServer server(config);
    auto refused = http_get(server.port, "/kanade/tempo");
    CHECK(refused.status == 401);
    CHECK(refused.body.find("token") != std::string::npos);
    CHECK(http_get(server.port, "/kanade/tempo?token=wrong").status == 401);
    auto by_query = http_get(server.port, "/kanade/tempo?token=s3cret&VALUE");
    CHECK(by_query.status == 200);
    CHECK(by_query.body.find("? VALUE") != std::string::npos);  // the token is not passed on
    CHECK(http_get(server.port, "/kanade/tempo", {{"Authorization", "Bearer s3cret"}}).status == 200);
    CHECK_THROWS(WebSocketTestClient(server.port, "/"));
    WebSocketTestClient with_token(server.port, "/?token=s3cret");
    with_token.send_text("ok");
    auto frame = with_token.receive(5s);
    REQUIRE(frame);
    CHECK(frame->bytes == "OK");
}

TEST_CASE("WebSocket peers send and receive text and binary frames, other sites' pages are refused") {
    EchoServer server;
    {
        WebSocketTestClient client(server.port, "/", "http://127.0.0.1:" + std::to_string(server.port));
        client.send_text("listen");
        auto frame = client.receive(5s);
        REQUIRE(frame);
        CHECK(frame->text);
        CHECK(frame->bytes == "LISTEN");
        client.send_binary({1, 2, 3});
        frame = client.receive(5s);
        REQUIRE(frame);
        CHECK_FALSE(frame->text);
        CHECK(frame->bytes == std::string("\3\2\1", 3));
    }
    CHECK_THROWS(WebSocketTestClient(server.port, "/", "http://attacker.example"));
    // The closed peer is reported (its close arrives on the server's thread).
    for (int i = 0; i < 200 && server.closed() < 1; ++i) std::this_thread::sleep_for(10ms);
    CHECK(server.closed() == 1);
    CHECK(http_get(server.port, "/after").status == 200);
}
