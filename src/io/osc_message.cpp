#include "kanade/io/osc_message.hpp"

#include <oscpack/osc/OscOutboundPacketStream.h>

#include <bit>
#include <cmath>
#include <limits>

namespace kanade::io {
namespace {

constexpr int max_bundle_depth = 8;

// A bounds-checked reader over one OSC element. Every read checks the bytes left first,
// so no size field, however it lies, can move it outside the packet. (Debian's oscpack
// 1.1.0 reads out of bounds on a blob whose size is negative: our fuzzer found it, so
// decoding is ours; oscpack still writes the packets we send.)
class OscReader {
public:
    explicit OscReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

    bool done() const { return at_ == bytes_.size(); }
    std::size_t offset() const { return at_; }

    // A NUL-terminated string padded to a multiple of 4 bytes.
    std::string string(const char* what) {
        std::size_t end = at_;
        while (end < bytes_.size() && bytes_[end] != 0) ++end;
        if (end == bytes_.size()) fail(std::string(what) + " has no terminating NUL");
        std::string text(reinterpret_cast<const char*>(bytes_.data() + at_), end - at_);
        at_ = (end + 4) & ~std::size_t{3};  // past the NUL and its padding
        if (at_ > bytes_.size()) fail(std::string(what) + " padding runs past the end");
        return text;
    }
    std::uint32_t u32(const char* what) {
        need(4, what);
        std::uint32_t value = 0;
        for (int i = 0; i < 4; ++i) value = (value << 8) | bytes_[at_++];
        return value;
    }
    std::uint64_t u64(const char* what) {
        need(8, what);
        std::uint64_t value = 0;
        for (int i = 0; i < 8; ++i) value = (value << 8) | bytes_[at_++];
        return value;
    }
    std::span<const std::uint8_t> take(std::size_t size, const char* what) {
        need(size, what);
        auto part = bytes_.subspan(at_, size);
        at_ += size;
        return part;
    }
    [[noreturn]] void fail(const std::string& reason) const {
        throw OscDecodeError(reason + " (byte " + std::to_string(at_) + ")");
    }

private:
    void need(std::size_t size, const char* what) const {
        if (size > bytes_.size() - at_) fail(std::string(what) + " runs past the end of the packet");
    }
    std::span<const std::uint8_t> bytes_;
    std::size_t at_ = 0;
};

void decode_message(std::span<const std::uint8_t> bytes, std::vector<OscMessage>& out) {
    OscReader reader(bytes);
    OscMessage message;
    message.address = reader.string("the address");
    if (message.address.empty() || message.address[0] != '/')
        throw OscDecodeError("address '" + message.address + "' does not start with '/'");
    // A message without a type-tag string (old OSC) has no arguments.
    if (reader.done()) {
        out.push_back(std::move(message));
        return;
    }
    const auto tags = reader.string("the type-tag string");
    if (tags.empty() || tags[0] != ',') reader.fail("type-tag string does not start with ','");
    for (std::size_t i = 1; i < tags.size(); ++i) {
        switch (tags[i]) {
            case 'i': message.arguments.emplace_back(static_cast<std::int32_t>(reader.u32("an int32 argument"))); break;
            case 'f': message.arguments.emplace_back(std::bit_cast<float>(reader.u32("a float argument"))); break;
            case 'd':
                message.arguments.emplace_back(
                    static_cast<float>(std::bit_cast<double>(reader.u64("a double argument"))));
                break;
            case 'h': {
                auto value = static_cast<std::int64_t>(reader.u64("an int64 argument"));
                if (value < std::numeric_limits<std::int32_t>::min() ||
                    value > std::numeric_limits<std::int32_t>::max())
                    throw OscDecodeError("int64 argument out of the 32-bit range");
                message.arguments.emplace_back(static_cast<std::int32_t>(value));
                break;
            }
            case 'T': message.arguments.emplace_back(std::int32_t{1}); break;
            case 'F': message.arguments.emplace_back(std::int32_t{0}); break;
            case 's':
            case 'S': message.arguments.emplace_back(reader.string("a string argument")); break;
            default: throw OscDecodeError(std::string("argument type '") + tags[i] + "' is not supported");
        }
    }
    if (!reader.done()) reader.fail("bytes left after the last argument");
    out.push_back(std::move(message));
}

void decode_element(std::span<const std::uint8_t> bytes, std::vector<OscMessage>& out, int depth) {
    if (bytes.empty() || bytes[0] != '#') {
        decode_message(bytes, out);
        return;
    }
    if (depth >= max_bundle_depth) throw OscDecodeError("bundles nested too deep");
    OscReader reader(bytes);
    if (reader.string("the bundle tag") != "#bundle") reader.fail("not an OSC packet");
    reader.u64("the bundle time tag");  // every command acts at once
    while (!reader.done()) {
        const auto size = reader.u32("a bundle element size");
        if (size % 4 != 0 || size == 0)
            reader.fail("bundle element size " + std::to_string(size) + " is not a positive multiple of 4");
        decode_element(reader.take(size, "a bundle element"), out, depth + 1);
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
        if (auto* i = std::get_if<std::int32_t>(&argument))
            stream << static_cast<osc::int32>(*i);
        else if (auto* f = std::get_if<float>(&argument))
            stream << *f;
        else
            stream << std::get<std::string>(argument).c_str();
    }
    stream << osc::EndMessage;
    return std::vector<std::uint8_t>(stream.Data(), stream.Data() + stream.Size());
}

std::vector<OscMessage> decode_osc(std::span<const std::uint8_t> packet) {
    if (packet.empty()) throw OscDecodeError("empty packet");
    if (packet.size() % 4 != 0)
        throw OscDecodeError("packet size " + std::to_string(packet.size()) + " is not a multiple of 4");
    if (packet[0] != '/' && packet[0] != '#') throw OscDecodeError("not an OSC packet");
    std::vector<OscMessage> messages;
    decode_element(packet, messages, 0);
    return messages;
}

std::string type_tags(const OscMessage& message) {
    std::string tags;
    for (const auto& argument : message.arguments)
        tags += std::holds_alternative<std::int32_t>(argument) ? 'i'
                : std::holds_alternative<float>(argument)      ? 'f'
                                                               : 's';
    return tags;
}

std::string describe(const OscMessage& message) {
    std::string text = message.address;
    for (const auto& argument : message.arguments) {
        text += ' ';
        if (auto* i = std::get_if<std::int32_t>(&argument))
            text += std::to_string(*i);
        else if (auto* f = std::get_if<float>(&argument))
            text += std::to_string(*f);
        else
            text += '"' + std::get<std::string>(argument) + '"';
    }
    return text;
}

}  // namespace kanade::io
