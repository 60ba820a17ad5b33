#include "kanade/io/http_server.hpp"

#include <utility>  // before Boost 1.74 Asio, which uses std::exchange without it under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>

namespace kanade::io {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

constexpr std::size_t max_unsent_frames = 256;
constexpr auto request_timeout = std::chrono::seconds(30);
constexpr auto linger_time = std::chrono::seconds(2);

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A Host or Origin naming this machine's loopback ("127.0.0.1:8000", "localhost", "[::1]:80"):
// what a page served from kanaded, or a local client, sends. Anything else reaching a
// loopback socket came through a browser told another name (DNS rebinding) or another site.
bool names_loopback(std::string_view host) {
    if (host.rfind("http://", 0) == 0) host.remove_prefix(7);
    if (host.rfind("[::1]", 0) == 0) return host.size() == 5 || host[5] == ':';
    host = host.substr(0, host.find(':'));
    return host == "127.0.0.1" || host == "localhost";
}

}  // namespace

RequestTarget parse_request_target(std::string_view target) {
    RequestTarget result;
    if (target.empty() || target[0] != '/') {
        result.error = "the request target must start with '/'";
        return result;
    }
    const auto question = target.find('?');
    const auto raw_path = target.substr(0, question);
    for (std::size_t i = 0; i < raw_path.size(); ++i) {
        if (static_cast<unsigned char>(raw_path[i]) < 0x20) {
            result.error = "control character at character " + std::to_string(i) + " of the path";
            return result;
        }
        if (raw_path[i] != '%') {
            result.path += raw_path[i];
            continue;
        }
        const int high = i + 2 < raw_path.size() ? hex_digit(raw_path[i + 1]) : -1;
        const int low = high >= 0 ? hex_digit(raw_path[i + 2]) : -1;
        if (low < 0 || high < 2) {  // %00..%1F: control characters
            result.error = "bad %-escape at character " + std::to_string(i) + " of the path";
            return result;
        }
        result.path += static_cast<char>(high * 16 + low);
        i += 2;
    }
    if (question == std::string_view::npos) return result;
    auto rest = target.substr(question + 1);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const auto part = rest.substr(0, amp);
        if (part.rfind("token=", 0) == 0)
            result.token = std::string(part.substr(6));
        else if (!part.empty())
            result.query += (result.query.empty() ? "" : "&") + std::string(part);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }
    return result;
}

// One open connection, HTTP or WebSocket, as the server tracks it to close it.
class Client {
public:
    virtual ~Client() = default;
    virtual void close() = 0;
};

class WebSocketPeer;

struct HttpServer::State : std::enable_shared_from_this<HttpServer::State> {
    State(asio::io_context& io, HttpServerConfig config_, HttpHandlers handlers_)
        : config(std::move(config_)), handlers(std::move(handlers_)), acceptor(io) {}

    void accept();
    void forget(std::uint64_t id) {
        clients.erase(id);
        peers.erase(id);
    }
    // Whether the request carries the token, where one is set.
    bool authorized(std::string_view query_token, std::string_view authorization) const {
        if (config.token.empty()) return true;
        return query_token == config.token || authorization == "Bearer " + config.token;
    }
    bool loopback_only() const { return acceptor.local_endpoint().address().is_loopback(); }

    HttpServerConfig config;
    HttpHandlers handlers;
    tcp::acceptor acceptor;
    bool stopped = false;  // the HttpServer is gone: no handler may run
    std::uint64_t next_id = 1;
    std::map<std::uint64_t, std::weak_ptr<Client>> clients;
    std::map<WebSocketId, std::weak_ptr<WebSocketPeer>> peers;
    Counters counters;
};

class WebSocketPeer : public Client, public std::enable_shared_from_this<WebSocketPeer> {
public:
    WebSocketPeer(std::shared_ptr<HttpServer::State> state, beast::tcp_stream&& stream, std::uint64_t id)
        : state_(std::move(state)), ws_(std::move(stream)), id_(id) {}

    void accept(http::request<http::string_body> request) {
        request_ = std::move(request);
        beast::get_lowest_layer(ws_).expires_never();  // the WebSocket's own timeouts take over
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.read_message_max(state_->config.max_request_bytes);
        ws_.async_accept(request_, [self = shared_from_this()](beast::error_code error) {
            if (error || self->state_->stopped) return self->finish();
            self->state_->peers[self->id_] = self;
            self->read();
        });
    }

    void send(bool text, std::string bytes) {
        if (outbox_.size() >= max_unsent_frames) {
            ++state_->counters.dropped_frames;
            return;
        }
        outbox_.push_back({text, std::move(bytes)});
        if (outbox_.size() == 1) write_next();
    }

    void close() override { beast::get_lowest_layer(ws_).close(); }

private:
    struct Frame {
        bool text;
        std::string bytes;
    };

    void read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code error, std::size_t) {
            if (error || self->state_->stopped) return self->finish();
            self->deliver();
            self->read();
        });
    }

    void deliver() {
        ++state_->counters.websocket_frames;
        const auto data = buffer_.data();
        const auto* bytes = static_cast<const std::uint8_t*>(data.data());
        try {
            if (ws_.got_text()) {
                if (state_->handlers.text)
                    state_->handlers.text(id_, std::string_view(reinterpret_cast<const char*>(bytes), data.size()));
            } else if (state_->handlers.binary) {
                state_->handlers.binary(id_, std::span<const std::uint8_t>(bytes, data.size()));
            }
        } catch (const std::exception&) {
            // A handler that throws loses this frame, never the server.
        }
        buffer_.consume(buffer_.size());
    }

    void write_next() {
        ws_.text(outbox_.front().text);
        ws_.async_write(asio::buffer(outbox_.front().bytes),
                        [self = shared_from_this()](beast::error_code error, std::size_t) {
                            if (error) return self->finish();
                            self->outbox_.pop_front();
                            if (!self->outbox_.empty()) self->write_next();
                        });
    }

    void finish() {
        if (finished_) return;
        finished_ = true;
        outbox_.clear();
        const bool was_peer = state_->peers.count(id_) > 0;
        state_->forget(id_);
        if (was_peer && !state_->stopped && state_->handlers.closed) state_->handlers.closed(id_);
    }

    std::shared_ptr<HttpServer::State> state_;
    websocket::stream<beast::tcp_stream> ws_;
    std::uint64_t id_;
    http::request<http::string_body> request_;  // the upgrade, kept while the accept reads it
    beast::flat_buffer buffer_;
    std::deque<Frame> outbox_;
    bool finished_ = false;
};

class HttpConnection : public Client, public std::enable_shared_from_this<HttpConnection> {
public:
    HttpConnection(std::shared_ptr<HttpServer::State> state, tcp::socket socket, std::uint64_t id)
        : state_(std::move(state)), stream_(std::move(socket)), id_(id) {}

    void start() { read(); }
    void close() override { stream_.close(); }

private:
    void read() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(state_->config.max_request_bytes));
        parser_->body_limit(state_->config.max_request_bytes);
        stream_.expires_after(request_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code error, std::size_t) { self->on_read(error); });
    }

    void on_read(beast::error_code error) {
        if (state_->stopped) return finish();
        if (error == http::error::end_of_stream || error == beast::error::timeout ||
            error == asio::error::operation_aborted || error == asio::error::connection_reset ||
            error == asio::error::eof)
            return finish();
        if (error) {
            ++state_->counters.bad_requests;
            const bool too_big = error == http::error::header_limit || error == http::error::body_limit ||
                                 error == http::error::buffer_overflow;
            return reply(
                {too_big ? 413 : 400, "text/plain",
                 too_big ? "request larger than " + std::to_string(state_->config.max_request_bytes) + " bytes\n"
                         : "bad HTTP request: " + error.message() + "\n"},
                false, 11);
        }
        auto request = parser_->release();
        ++state_->counters.requests;
        const auto target = parse_request_target(std::string_view(request.target().data(), request.target().size()));
        const bool keep_alive = request.keep_alive();
        const auto version = request.version();
        auto refuse = [&](int status, std::string reason) {
            ++state_->counters.bad_requests;
            reply({status, "text/plain", reason + "\n"}, false, version);
        };
        if (!target.error.empty()) return refuse(400, "bad request target: " + target.error);
        const auto host = std::string_view(request[http::field::host].data(), request[http::field::host].size());
        if (state_->loopback_only() && !names_loopback(host))
            return refuse(403, "Host '" + std::string(host) + "' is not this machine's loopback");
        const auto authorization = request[http::field::authorization];
        if (!state_->authorized(target.token, std::string_view(authorization.data(), authorization.size()))) {
            ++state_->counters.unauthorized;
            return refuse(401, "this server wants its token: " + target.path + "?token=...");
        }
        if (websocket::is_upgrade(request)) {
            const auto origin = request[http::field::origin];
            // Any web page may open a WebSocket to localhost; only ours, or a client with the token, may.
            if (!origin.empty() && state_->config.token.empty() &&
                !names_loopback(std::string_view(origin.data(), origin.size())))
                return refuse(403, "WebSocket from another site's page (Origin " + std::string(origin) + ")");
            auto peer = std::make_shared<WebSocketPeer>(state_, std::move(stream_), id_);
            finished_ = true;  // the peer takes over this id
            state_->clients[id_] = peer;
            peer->accept(std::move(request));
            return;
        }
        if (request.method() != http::verb::get)
            return refuse(405, "only GET is served here, not " + std::string(request.method_string()));
        HttpRequest asked{std::string(request.method_string()), target.path, target.query,
                          std::string(request[http::field::accept])};
        HttpReply answer;
        try {
            answer = state_->handlers.request ? state_->handlers.request(asked) : HttpReply{404, "text/plain", ""};
        } catch (const std::exception& failure) {
            answer = {500, "text/plain", std::string("could not answer ") + target.path + ": " + failure.what() + "\n"};
        }
        reply(std::move(answer), keep_alive, version);
    }

    void reply(HttpReply answer, bool keep_alive, unsigned version) {
        auto response =
            std::make_shared<http::response<http::string_body>>(static_cast<http::status>(answer.status), version);
        response->set(http::field::server, "kanaded");
        if (answer.status != 204) response->set(http::field::content_type, answer.content_type);
        response->set(http::field::cache_control, "no-store");
        response->keep_alive(keep_alive);
        response->body() = std::move(answer.body);
        response->prepare_payload();
        http::async_write(stream_, *response,
                          [self = shared_from_this(), response, keep_alive](beast::error_code error, std::size_t) {
                              if (error || self->state_->stopped) return self->finish();
                              if (keep_alive) return self->read();
                              beast::error_code ignored;
                              self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                              self->stream_.expires_after(linger_time);
                              self->drain();
                          });
    }

    // Reads what the client still sends until it closes (or linger_time passes): closing
    // with its bytes unread would reset the connection and could lose the reply it is reading.
    void drain() {
        stream_.async_read_some(asio::buffer(scratch_),
                                [self = shared_from_this()](beast::error_code error, std::size_t) {
                                    if (error || self->state_->stopped) return self->finish();
                                    self->drain();
                                });
    }

    void finish() {
        if (finished_) return;
        finished_ = true;
        state_->forget(id_);
    }

    std::shared_ptr<HttpServer::State> state_;
    beast::tcp_stream stream_;
    std::uint64_t id_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::array<char, 4096> scratch_;
    bool finished_ = false;
};

void HttpServer::State::accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code error, tcp::socket socket) {
        if (self->stopped) return;
        if (!error) {
            if (self->clients.size() >= self->config.max_clients) {
                ++self->counters.refused_clients;
                beast::error_code ignored;
                socket.close(ignored);
            } else {
                const auto id = self->next_id++;
                auto connection = std::make_shared<HttpConnection>(self, std::move(socket), id);
                self->clients[id] = connection;
                connection->start();
            }
        }
        self->accept();
    });
}

HttpServer::HttpServer(asio::io_context& io, HttpServerConfig config, HttpHandlers handlers)
    : state_(std::make_shared<State>(io, std::move(config), std::move(handlers))) {
    const auto& bind = state_->config.bind;
    const auto where = bind + ":" + std::to_string(state_->config.port);
    beast::error_code error;
    const auto address = asio::ip::make_address(bind, error);
    if (error) throw std::runtime_error("web.bind: '" + bind + "' is not an IP address");
    const tcp::endpoint endpoint(address, static_cast<std::uint16_t>(state_->config.port));
    auto& acceptor = state_->acceptor;
    acceptor.open(endpoint.protocol(), error);
    if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
    if (!error) acceptor.bind(endpoint, error);
    if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
    if (error) throw std::runtime_error("cannot serve HTTP on " + where + ": " + error.message());
    state_->accept();
}

HttpServer::~HttpServer() {
    state_->stopped = true;
    beast::error_code ignored;
    state_->acceptor.close(ignored);
    const auto clients = state_->clients;  // closing one may forget it
    for (const auto& [id, client] : clients)
        if (auto open = client.lock()) open->close();
}

std::uint16_t HttpServer::local_port() const { return state_->acceptor.local_endpoint().port(); }

void HttpServer::send_text(WebSocketId peer, std::string text) {
    if (auto found = state_->peers.find(peer); found != state_->peers.end())
        if (auto open = found->second.lock()) open->send(true, std::move(text));
}

void HttpServer::send_binary(WebSocketId peer, std::vector<std::uint8_t> bytes) {
    if (auto found = state_->peers.find(peer); found != state_->peers.end())
        if (auto open = found->second.lock()) open->send(false, std::string(bytes.begin(), bytes.end()));
}

HttpServer::Counters HttpServer::counters() const { return state_->counters; }

}  // namespace kanade::io
