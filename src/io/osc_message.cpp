#include "kanade/io/osc_message.hpp"

#include <oscpack/osc/OscOutboundPacketStream.h>
#include <oscpack/osc/OscReceivedElements.h>

#include <cmath>
#include <limits>

namespace kanade::io {
namespace {

constexpr int max_bundle_depth = 8;

void decode_element(const osc::ReceivedPacket& packet, std::vector<OscMessage>& out, int depth);

void decode_message(const osc::ReceivedMessage& received, std::vector<OscMessage>& out) {
    OscMessage message;
    message.address = received.AddressPattern();
    if (message.address.empty() || message.address[0] != '/')
        throw OscDecodeError("address '" + message.address + "' does not start with '/'");
    // A message without a type-tag string (old OSC) has no arguments for oscpack.
    for (auto argument = received.ArgumentsBegin(); argument != received.ArgumentsEnd(); ++argument) {
        switch (argument->TypeTag()) {
            case osc::INT32_TYPE_TAG: message.arguments.emplace_back(static_cast<std::int32_t>(argument->AsInt32Unchecked())); break;
            case osc::FLOAT_TYPE_TAG: message.arguments.emplace_back(argument->AsFloatUnchecked()); break;
            case osc::DOUBLE_TYPE_TAG: message.arguments.emplace_back(static_cast<float>(argument->AsDoubleUnchecked())); break;
            case osc::INT64_TYPE_TAG: {
                auto value = argument->AsInt64Unchecked();
                if (value < std::numeric_limits<std::int32_t>::min() || value > std::numeric_limits<std::int32_t>::max())
                    throw OscDecodeError("int64 argument out of the 32-bit range");
                message.arguments.emplace_back(static_cast<std::int32_t>(value));
                break;
            }
            case osc::TRUE_TYPE_TAG: message.arguments.emplace_back(std::int32_t{1}); break;
            case osc::FALSE_TYPE_TAG: message.arguments.emplace_back(std::int32_t{0}); break;
            case osc::STRING_TYPE_TAG: message.arguments.emplace_back(std::string(argument->AsStringUnchecked())); break;
            case osc::SYMBOL_TYPE_TAG: message.arguments.emplace_back(std::string(argument->AsSymbolUnchecked())); break;
            default:
                throw OscDecodeError(std::string("argument type '") + argument->TypeTag() + "' is not supported");
        }
    }
    out.push_back(std::move(message));
}

void decode_element(const osc::ReceivedPacket& packet, std::vector<OscMessage>& out, int depth) {
    if (packet.IsBundle()) {
        if (depth >= max_bundle_depth) throw OscDecodeError("bundles nested too deep");
        osc::ReceivedBundle bundle(packet);
        for (auto element = bundle.ElementsBegin(); element != bundle.ElementsEnd(); ++element) {
            osc::ReceivedPacket inner(element->Contents(), element->Size());
            decode_element(inner, out, depth + 1);
        }
    } else {
        decode_message(osc::ReceivedMessage(packet), out);
    }
}

}  // namespace

std::vector<std::uint8_t> encode_osc(const OscMessage& message) {
    std::size_t size = 64 + message.address.size();
    for (const auto& argument : message.arguments)
        size += 8 + (std::holds_alternative<std::string>(argument) ? std::get<std::string>(argument).size() : 4);
    std::vector<char> buffer(size);
    osc::OutboundPacketStream stream(buffer.data(), buffer.size());
    stream << osc::BeginMessage(message.address.c_str());
    for (const auto& argument : message.arguments) {
        if (auto* i = std::get_if<std::int32_t>(&argument)) stream << static_cast<osc::int32>(*i);
        else if (auto* f = std::get_if<float>(&argument)) stream << *f;
        else stream << std::get<std::string>(argument).c_str();
    }
    stream << osc::EndMessage;
    return std::vector<std::uint8_t>(stream.Data(), stream.Data() + stream.Size());
}

std::vector<OscMessage> decode_osc(std::span<const std::uint8_t> packet) {
    if (packet.empty()) throw OscDecodeError("empty packet");
    if (packet.size() % 4 != 0) throw OscDecodeError("packet size " + std::to_string(packet.size()) + " is not a multiple of 4");
    if (packet[0] != '/' && packet[0] != '#') throw OscDecodeError("not an OSC packet");
    std::vector<OscMessage> messages;
    try {
        osc::ReceivedPacket received(reinterpret_cast<const char*>(packet.data()), static_cast<osc::osc_bundle_element_size_t>(packet.size()));
        decode_element(received, messages, 0);
    } catch (const OscDecodeError&) {
        throw;
    } catch (const osc::Exception& error) {
        throw OscDecodeError(std::string("malformed OSC: ") + error.what());
    } catch (const std::exception& error) {
        throw OscDecodeError(std::string("malformed OSC: ") + error.what());
    }
    return messages;
}

std::string type_tags(const OscMessage& message) {
    std::string tags;
    for (const auto& argument : message.arguments)
        tags += std::holds_alternative<std::int32_t>(argument) ? 'i' : std::holds_alternative<float>(argument) ? 'f' : 's';
    return tags;
}

std::string describe(const OscMessage& message) {
    std::string text = message.address;
    for (const auto& argument : message.arguments) {
        text += ' ';
        if (auto* i = std::get_if<std::int32_t>(&argument)) text += std::to_string(*i);
        else if (auto* f = std::get_if<float>(&argument)) text += std::to_string(*f);
        else text += '"' + std::get<std::string>(argument) + '"';
    }
    return text;
}

}  // namespace kanade::io
