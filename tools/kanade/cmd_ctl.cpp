// kanade ctl ADDRESS [ARGS...]: a small OSC client for kanaded, for scripts and humans.
// Arguments are typed by their look (42 -> i, 0.5 -> f, else s) or by a prefix
// (i:42, f:1, s:120); each reply is printed as one line.
#include "commands.hpp"

#include "kanade/io/osc_message.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

namespace kanade::cli {
namespace {

struct CtlCommand {
    std::string address;
    std::vector<std::string> arguments;
    std::string host = "127.0.0.1";
    int port = 9000;
    double wait = 1.0;
    int count = 0;
};

io::OscValue parse_argument(const std::string& text) {
    if (text.rfind("i:", 0) == 0) return static_cast<std::int32_t>(std::stol(text.substr(2)));
    if (text.rfind("f:", 0) == 0) return std::stof(text.substr(2));
    if (text.rfind("s:", 0) == 0) return text.substr(2);
    char* end = nullptr;
    long integer = std::strtol(text.c_str(), &end, 10);
    if (!text.empty() && *end == '\0') return static_cast<std::int32_t>(integer);
    float number = std::strtof(text.c_str(), &end);
    if (!text.empty() && *end == '\0') return number;
    return text;
}

std::string show(const io::OscMessage& message) {
    std::string line = message.address;
    for (const auto& argument : message.arguments) {
        line += ' ';
        if (auto* i = std::get_if<std::int32_t>(&argument))
            line += std::to_string(*i);
        else if (auto* f = std::get_if<float>(&argument)) {
            char text[32];
            std::snprintf(text, sizeof text, "%g", *f);
            line += text;
        } else {
            const auto& s = std::get<std::string>(argument);
            line += s.find(' ') == std::string::npos && !s.empty() ? s : "\"" + s + "\"";
        }
    }
    return line;
}

int run_ctl(const CtlCommand& command) {
    io::OscMessage message{command.address, {}};
    for (const auto& text : command.arguments) message.arguments.push_back(parse_argument(text));
    if (message.address.empty() || message.address[0] != '/')
        throw CommandError("an OSC address starts with '/', e.g. /kanade/status", exit_code::usage);

    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(command.host.c_str(), std::to_string(command.port).c_str(), &hints, &found) != 0 || !found)
        throw CommandError("cannot resolve " + command.host);
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    auto bytes = io::encode_osc(message);
    ::sendto(fd, bytes.data(), bytes.size(), 0, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);

    int replies = 0, failures = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(command.wait);
    std::vector<std::uint8_t> buffer(65536);
    while (command.count == 0 || replies < command.count) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd ready{fd, POLLIN, 0};
        if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0) break;
        auto size = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (size <= 0) continue;
        try {
            for (const auto& reply :
                 io::decode_osc(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(size)))) {
                ++replies;
                if (reply.address == "/kanade/fail")
                    ++failures, std::cerr << show(reply) << "\n";
                else
                    std::cout << show(reply) << "\n";
            }
        } catch (const io::OscDecodeError& error) {
            std::cerr << "kanade ctl: unreadable reply: " << error.what() << "\n";
        }
    }
    ::close(fd);
    if (failures > 0) return exit_code::failure;
    if (replies == 0 && command.wait > 0 && command.count > 0) return exit_code::unavailable;
    return exit_code::ok;
}

}  // namespace

void add_ctl_command(CLI::App& app) {
    auto command = std::make_shared<CtlCommand>();
    auto* ctl = app.add_subcommand("ctl", "Send one OSC command to kanaded and print its replies");
    ctl->add_option("address", command->address, "e.g. /kanade/status, /kanade/tempo")->required();
    ctl->add_option("arguments", command->arguments, "values: 42 (int), 0.5 (float), text; or i:/f:/s: prefixes");
    ctl->add_option("--host", command->host, "where kanaded listens")->capture_default_str();
    ctl->add_option("--port", command->port, "its OSC port")->capture_default_str();
    ctl->add_option("--wait", command->wait, "seconds to wait for replies")->capture_default_str();
    ctl->add_option("--count", command->count, "stop after this many replies (exit 3 if none came)")
        ->capture_default_str();
    ctl->callback([command] {
        int code = run_ctl(*command);
        if (code != exit_code::ok)
            throw CommandError(code == exit_code::failure ? "kanaded refused the command" : "no reply from kanaded",
                               code);
    });
}

}  // namespace kanade::cli
