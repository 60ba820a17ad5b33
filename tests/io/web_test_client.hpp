// Plain HTTP and WebSocket clients for tests (Boost.Beast), to 127.0.0.1 only: a GET with
// the headers a test chooses, raw bytes for malformed requests, a WebSocket whose reads
// wait at most a given time.
#pragma once

#include "io/osc_test_client.hpp"  // free_port

#include <utility>  // before Boost 1.74 Asio, which uses std::exchange without it under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kanade::test {

struct WebReply {
    int status = 0;
    std::string content_type, body;
};

// GET `target` from 127.0.0.1:`port` with `headers` (Host is 127.0.0.1:PORT unless given).
inline WebReply http_get(int port, const std::string& target, const std::map<std::string, std::string>& headers = {},
                         const std::string& method = "GET") {
    namespace beast = boost::beast;
    namespace http = beast::http;
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(port)});
    http::request<http::string_body> request(http::string_to_verb(method), target, 11);
    request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    for (const auto& [name, value] : headers) request.set(name, value);
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    // A server that never answers fails the test in 30 s instead of holding it.
    stream.expires_after(std::chrono::seconds(30));
    beast::error_code error;
    http::async_read(stream, buffer, response, [&](beast::error_code read_error, std::size_t) { error = read_error; });
    io.run();
    if (error) throw beast::system_error(error);
    return {static_cast<int>(response.result_int()), std::string(response[http::field::content_type]), response.body()};
}

// Sends `bytes` as they are and returns everything the server answers until it closes.
inline std::string raw_exchange(int port, const std::string& bytes) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(port)});
    boost::asio::write(socket, boost::asio::buffer(bytes));
    boost::system::error_code ignored;
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    std::string answer;
    boost::system::error_code error;
    char chunk[4096];
    while (!error) {
        const auto got = socket.read_some(boost::asio::buffer(chunk), error);
        answer.append(chunk, got);
    }
    return answer;
}

inline int free_tcp_port() { return free_port(SOCK_STREAM); }

class WebSocketTestClient {
public:
    struct Frame {
        bool text;
        std::string bytes;
    };

    // Connects and upgrades; throws boost::system::system_error when the server refuses.
    WebSocketTestClient(int port, const std::string& target = "/", const std::string& origin = "") : ws_(io_) {
        ws_.next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(port)});
        if (!origin.empty())
            ws_.set_option(boost::beast::websocket::stream_base::decorator(
                [origin](boost::beast::websocket::request_type& request) {
                    request.set(boost::beast::http::field::origin, origin);
                }));
        ws_.handshake("127.0.0.1:" + std::to_string(port), target);
    }

    void send_text(const std::string& text) {
        ws_.text(true);
        ws_.write(boost::asio::buffer(text));
    }
    void send_binary(const std::vector<std::uint8_t>& bytes) {
        ws_.binary(true);
        ws_.write(boost::asio::buffer(bytes));
    }

    // The next frame, or nothing within `limit` (a read left waiting goes on at the next call).
    std::optional<Frame> receive(std::chrono::milliseconds limit) {
        if (!reading_) {
            reading_ = true;
            done_ = false;
            ws_.async_read(buffer_, [this](boost::beast::error_code error, std::size_t) {
                done_ = true;
                error_ = error;
            });
        }
        io_.restart();
        io_.run_for(limit);
        if (!done_) return std::nullopt;
        reading_ = false;
        if (error_) return std::nullopt;
        Frame frame{ws_.got_text(), boost::beast::buffers_to_string(buffer_.data())};
        buffer_.consume(buffer_.size());
        return frame;
    }

private:
    boost::asio::io_context io_;
    boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
    boost::beast::flat_buffer buffer_;
    bool reading_ = false, done_ = false;
    boost::beast::error_code error_;
};

}  // namespace kanade::test
