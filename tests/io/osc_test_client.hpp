// A plain UDP OSC client for tests: sends to 127.0.0.1 and waits for replies.
#pragma once

#include "kanade/io/osc_message.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace kanade::test {

class OscTestClient {
public:
    explicit OscTestClient(int port) : port_(port) {
        socket_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        if (socket_ < 0) throw std::runtime_error("socket failed");
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(socket_, reinterpret_cast<sockaddr*>(&local), sizeof local);
    }
    ~OscTestClient() { ::close(socket_); }
    OscTestClient(const OscTestClient&) = delete;
    OscTestClient& operator=(const OscTestClient&) = delete;

    void send_raw(const std::vector<std::uint8_t>& bytes) const {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(static_cast<std::uint16_t>(port_));
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::sendto(socket_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    void send(const io::OscMessage& message) const { send_raw(io::encode_osc(message)); }

    // The next reply, or nothing after `limit`. A limit already past polls once: poll()
    // reads a negative timeout as "forever" (a caller whose deadline passed while it was
    // descheduled hung the whole test run that way).
    std::optional<io::OscMessage> receive(std::chrono::milliseconds limit = std::chrono::milliseconds(2000)) const {
        pollfd ready{socket_, POLLIN, 0};
        const auto timeout_ms = std::clamp<std::int64_t>(limit.count(), 0, std::numeric_limits<int>::max());
        if (::poll(&ready, 1, static_cast<int>(timeout_ms)) <= 0) return std::nullopt;
        std::vector<std::uint8_t> buffer(65536);
        auto size = ::recv(socket_, buffer.data(), buffer.size(), 0);
        if (size <= 0) return std::nullopt;
        buffer.resize(static_cast<std::size_t>(size));
        auto messages = io::decode_osc(buffer);
        if (messages.empty()) return std::nullopt;
        return messages.front();
    }

    // Sends `message` and returns the first reply with `address` (others are skipped).
    std::optional<io::OscMessage> request(const io::OscMessage& message, const std::string& address,
                                          std::chrono::milliseconds limit = std::chrono::milliseconds(2000)) const {
        send(message);
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            auto reply = receive(left);
            if (reply && reply->address == address) return reply;
        }
        return std::nullopt;
    }

private:
    int socket_ = -1;
    int port_;
};

// The value after `key` in a /kanade/status reply's key-value list.
inline std::optional<io::OscValue> status_value(const io::OscMessage& status, const std::string& key) {
    for (std::size_t i = 0; i + 1 < status.arguments.size(); i += 2)
        if (auto* name = std::get_if<std::string>(&status.arguments[i]); name && *name == key)
            return status.arguments[i + 1];
    return std::nullopt;
}

// A UDP port that was free a moment ago, for a server under test.
// A port on 127.0.0.1 nothing uses now, for SOCK_DGRAM (UDP) or SOCK_STREAM (TCP).
inline int free_port(int socket_type) {
    int probe = ::socket(AF_INET, socket_type, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(probe);
    return ntohs(address.sin_port);
}

inline int free_udp_port() { return free_port(SOCK_DGRAM); }

}  // namespace kanade::test
