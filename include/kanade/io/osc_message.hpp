// OSC messages as plain values, and their wire format. Decoding is our own bounds-checked
// reader (oscpack's reads out of bounds on some malformed packets; oscpack still encodes):
// anything malformed becomes one OscDecodeError with the reason and byte offset, so a bad
// packet can only ever get a reply.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace kanade::io {

using OscValue = std::variant<std::int32_t, float, std::string>;

struct OscMessage {
    std::string address;
    std::vector<OscValue> arguments;
};

class OscDecodeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::vector<std::uint8_t> encode_osc(const OscMessage& message);
// A message, or every message of a bundle (nested bundles too, to a bounded depth).
std::vector<OscMessage> decode_osc(std::span<const std::uint8_t> packet);

std::string type_tags(const OscMessage& message);  // "ifs"
std::string describe(const OscMessage& message);   // "/kanade/tempo 120" for logs

}  // namespace kanade::io
