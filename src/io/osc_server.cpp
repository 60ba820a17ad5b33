#include "kanade/io/osc_server.hpp"

#include <cmath>

namespace kanade::io {
namespace {

// Converts arguments to the expected types where nothing is lost; "" if they fit.
std::string conform(OscMessage& message, const std::string& expected) {
    if (expected == "*") return "";
    bool fits = message.arguments.size() == expected.size();
    for (std::size_t i = 0; fits && i < expected.size(); ++i) {
        auto& argument = message.arguments[i];
        switch (expected[i]) {
            case 'f':
                if (auto* integer = std::get_if<std::int32_t>(&argument)) argument = static_cast<float>(*integer);
                fits = std::holds_alternative<float>(argument);
                break;
            case 'i':
                if (auto* number = std::get_if<float>(&argument);
                    number && std::nearbyint(*number) == *number && std::abs(*number) < 2e9f)
                    argument = static_cast<std::int32_t>(*number);
                fits = std::holds_alternative<std::int32_t>(argument);
                break;
            case 's': fits = std::holds_alternative<std::string>(argument); break;
            default: fits = false;
        }
    }
    if (fits) return "";
    return "expected arguments (" + expected + "), got (" + type_tags(message) + ")";
}

}  // namespace

OscServer::OscServer(boost::asio::io_context& io, const OscServerConfig& config)
    : socket_(io),
      buffer_(static_cast<std::size_t>(config.max_packet_bytes) + 1),
      max_packet_bytes_(static_cast<std::size_t>(config.max_packet_bytes)) {
    boost::system::error_code error;
    auto address = boost::asio::ip::make_address(config.bind, error);
    if (error) throw std::runtime_error("osc.bind: '" + config.bind + "' is not an IP address");
    OscEndpoint endpoint(address, static_cast<std::uint16_t>(config.port));
    socket_.open(endpoint.protocol());
    socket_.bind(endpoint, error);
    if (error)
        throw std::runtime_error("cannot listen for OSC on " + config.bind + ":" + std::to_string(config.port) + ": " +
                                 error.message());
    for (const auto& text : config.allow) {
        auto slash = text.find('/');
        auto base = boost::asio::ip::make_address_v4(text.substr(0, slash), error);
        int bits = slash == std::string::npos ? 32 : std::atoi(text.c_str() + slash + 1);
        if (error || bits < 0 || bits > 32)
            throw std::runtime_error("osc.allow: '" + text + "' is not an IPv4 network");
        std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
        allow_.push_back({base, mask});
    }
    receive();
}

void OscServer::add(std::string address, std::string type_tags, std::string help, OscHandler handler) {
    commands_[std::move(address)] = {std::move(type_tags), std::move(help), std::move(handler)};
}

std::uint16_t OscServer::local_port() const { return socket_.local_endpoint().port(); }

std::vector<OscServer::CommandInfo> OscServer::commands() const {
    std::vector<CommandInfo> list;
    for (const auto& [address, command] : commands_) list.push_back({address, command.type_tags, command.help});
    return list;
}

OscServer::Counters OscServer::counters() const {
    return {packets_.load(), messages_.load(), malformed_.load(), failed_.load(), refused_.load(), oversized_.load()};
}

bool OscServer::allowed(const boost::asio::ip::address& address) const {
    if (address.is_loopback()) return true;
    if (!address.is_v4()) return false;
    auto value = address.to_v4().to_uint();
    for (const auto& network : allow_)
        if ((value & network.mask) == (network.base.to_uint() & network.mask)) return true;
    return false;
}

void OscServer::send(const OscEndpoint& to, const OscMessage& message) {
    boost::system::error_code ignored;  // UDP: a reply that cannot go is lost, not fatal
    socket_.send_to(boost::asio::buffer(encode_osc(message)), to, 0, ignored);
}

void OscServer::fail(const std::string& address, const std::string& reason) {
    ++failed_;
    send(sender_, OscMessage{"/kanade/fail", {address, reason}});
}

void OscServer::receive() {
    socket_.async_receive_from(boost::asio::buffer(buffer_), sender_,
                               [this](const boost::system::error_code& error, std::size_t size) {
                                   if (error == boost::asio::error::operation_aborted) return;
                                   if (!error) handle_packet(std::span(buffer_.data(), size), sender_);
                                   receive();
                               });
}

void OscServer::handle_packet(std::span<const std::uint8_t> packet, const OscEndpoint& sender) {
    sender_ = sender;
    ++packets_;
    if (!allowed(sender_.address())) {
        ++refused_;
        return;
    }
    // The receive buffer is one byte larger than the cap, so a longer datagram shows here.
    if (packet.size() > max_packet_bytes_) {
        ++oversized_;
        fail("(packet)", "larger than " + std::to_string(max_packet_bytes_) + " bytes");
        return;
    }
    std::vector<OscMessage> messages;
    try {
        messages = decode_osc(packet);
    } catch (const OscDecodeError& error) {
        ++malformed_;
        fail("(malformed)", error.what());
        return;
    }
    for (auto& message : messages) dispatch(message);
}

void OscServer::dispatch(OscMessage& message) {
    ++messages_;
    if (auto reason = run(message); !reason.empty()) fail(message.address, reason);
}

std::string OscServer::run(OscMessage& message) { return run(message, sender_); }

std::string OscServer::run(OscMessage& message, const OscEndpoint& reply_to) {
    auto found = commands_.find(message.address);
    if (found == commands_.end()) return "unknown address (/kanade/help lists them)";
    if (auto mismatch = conform(message, found->second.type_tags); !mismatch.empty()) return mismatch;
    try {
        return found->second.handler(message, reply_to);
    } catch (const std::exception& error) {
        return error.what();
    }
}

}  // namespace kanade::io
