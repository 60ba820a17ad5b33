#include "kanade/midi/smf.hpp"

#include <algorithm>
#include <bit>

namespace kanade::midi {
namespace {

// Factories clamp instead of throwing: a generator's out-of-range value must still
// give a valid message rather than a status byte where a data byte belongs.
std::uint8_t data_byte(int value) { return static_cast<std::uint8_t>(std::clamp(value, 0, 127)); }

std::uint8_t channel_status(int command, int channel) {
    return static_cast<std::uint8_t>(command | std::clamp(channel, 0, 15));
}

Event channel_event(std::uint64_t tick, std::uint8_t status, std::vector<std::uint8_t> data) {
    Event event;
    event.tick = tick;
    event.kind = EventKind::channel;
    event.status = status;
    event.data = std::move(data);
    return event;
}

Event meta_event(std::uint64_t tick, std::uint8_t type, std::vector<std::uint8_t> data) {
    Event event;
    event.tick = tick;
    event.kind = EventKind::meta;
    event.status = 0xFF;
    event.meta_type = type;
    event.data = std::move(data);
    return event;
}

}  // namespace

Event Event::note_on(std::uint64_t tick, int channel, int pitch, int velocity) {
    return channel_event(tick, channel_status(0x90, channel), {data_byte(pitch), data_byte(velocity)});
}

Event Event::note_off(std::uint64_t tick, int channel, int pitch) {
    // 64 is the release velocity the MIDI specification recommends when none is known.
    return channel_event(tick, channel_status(0x80, channel), {data_byte(pitch), 64});
}

Event Event::program_change(std::uint64_t tick, int channel, int program) {
    return channel_event(tick, channel_status(0xC0, channel), {data_byte(program)});
}

Event Event::control_change(std::uint64_t tick, int channel, int controller, int value) {
    return channel_event(tick, channel_status(0xB0, channel), {data_byte(controller), data_byte(value)});
}

Event Event::tempo(std::uint64_t tick, std::uint32_t microseconds_per_quarter) {
    auto value = std::clamp<std::uint32_t>(microseconds_per_quarter, 1, 0xFFFFFF);
    return meta_event(tick, meta::tempo,
                      {static_cast<std::uint8_t>(value >> 16), static_cast<std::uint8_t>(value >> 8),
                       static_cast<std::uint8_t>(value)});
}

Event Event::time_signature(std::uint64_t tick, int numerator, int denominator) {
    // The file stores the denominator as a power of two; round down to one.
    auto denominator_power = std::bit_width(static_cast<unsigned>(std::clamp(denominator, 1, 1 << 30))) - 1;
    return meta_event(tick, meta::time_signature,
                      {static_cast<std::uint8_t>(std::clamp(numerator, 1, 255)),
                       static_cast<std::uint8_t>(denominator_power), 24, 8});
}

Event Event::text(std::uint64_t tick, std::uint8_t meta_type, std::string_view text) {
    return meta_event(tick, meta_type, std::vector<std::uint8_t>(text.begin(), text.end()));
}

Event Event::end_of_track(std::uint64_t tick) { return meta_event(tick, meta::end_of_track, {}); }

}  // namespace kanade::midi
