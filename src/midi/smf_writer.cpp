#include "kanade/midi/smf.hpp"

#include "kanade/util/atomic_file.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace kanade::midi {
namespace {

constexpr std::uint32_t max_vlq = 0x0FFFFFFF;

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t value) {
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
}

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

void put_vlq(std::vector<std::uint8_t>& out, std::uint64_t value, const char* what) {
    if (value > max_vlq) {
        throw std::invalid_argument(std::string("serialize_smf: ") + what + " " + std::to_string(value) +
                                    " does not fit a variable-length quantity");
    }
    std::uint8_t groups[4];
    int count = 0;
    do {
        groups[count++] = static_cast<std::uint8_t>(value & 0x7F);
        value >>= 7;
    } while (value);
    while (count > 1) out.push_back(groups[--count] | 0x80);
    out.push_back(groups[0]);
}

bool is_end_of_track(const Event& event) {
    return event.kind == EventKind::meta && event.meta_type == meta::end_of_track;
}

std::size_t channel_data_length(std::uint8_t status) {
    auto command = status & 0xF0;
    return command == 0xC0 || command == 0xD0 ? 1 : 2;
}

// Throws for an event no reader could decode; the factories never build one.
void put_channel_event(std::vector<std::uint8_t>& out, const Event& event, std::uint8_t& running) {
    if (event.status < 0x80 || event.status > 0xEF) {
        throw std::invalid_argument("serialize_smf: channel event with status byte " + std::to_string(event.status));
    }
    if (event.data.size() != channel_data_length(event.status)) {
        throw std::invalid_argument("serialize_smf: channel event with " + std::to_string(event.data.size()) +
                                    " data bytes");
    }
    if (std::any_of(event.data.begin(), event.data.end(), [](std::uint8_t byte) { return byte & 0x80; })) {
        throw std::invalid_argument("serialize_smf: channel event data byte above 127");
    }
    if (event.status != running) out.push_back(event.status);
    running = event.status;
    out.insert(out.end(), event.data.begin(), event.data.end());
}

void put_event(std::vector<std::uint8_t>& out, const Event& event, std::uint8_t& running) {
    switch (event.kind) {
    case EventKind::channel:
        put_channel_event(out, event, running);
        return;
    case EventKind::meta:
        out.push_back(0xFF);
        out.push_back(event.meta_type);
        put_vlq(out, event.data.size(), "meta event length");
        break;
    case EventKind::sysex:
        if (event.status != 0xF0 && event.status != 0xF7) {
            throw std::invalid_argument("serialize_smf: sysex event with status byte " + std::to_string(event.status));
        }
        out.push_back(event.status);
        put_vlq(out, event.data.size(), "sysex length");
        break;
    }
    out.insert(out.end(), event.data.begin(), event.data.end());
    running = 0;  // meta and sysex events cancel running status
}

std::vector<std::uint8_t> encode_track(const Track& track) {
    std::vector<const Event*> events;
    events.reserve(track.events.size());
    std::uint64_t end_tick = 0;
    const Event* last_end = nullptr;
    for (const auto& event : track.events) {
        end_tick = std::max(end_tick, event.tick);
        if (is_end_of_track(event)) {
            last_end = &event;
        } else {
            events.push_back(&event);
        }
    }
    std::stable_sort(events.begin(), events.end(), [](const Event* a, const Event* b) { return a->tick < b->tick; });

    std::vector<std::uint8_t> out;
    std::uint64_t previous = 0;
    std::uint8_t running = 0;
    auto put_delta = [&](std::uint64_t tick) {
        auto delta = tick - previous;
        // A gap wider than one delta can hold is bridged with empty text events.
        while (delta > max_vlq) {
            put_vlq(out, max_vlq, "delta time");
            out.insert(out.end(), {0xFF, 0x01, 0x00});
            running = 0;
            delta -= max_vlq;
        }
        put_vlq(out, delta, "delta time");
        previous = tick;
    };
    for (const auto* event : events) {
        put_delta(event->tick);
        put_event(out, *event, running);
    }
    // Exactly one end-of-track, last; keep its payload (normally none) for a faithful copy.
    auto end = Event::end_of_track(end_tick);
    if (last_end) end.data = last_end->data;
    put_delta(end_tick);
    put_event(out, end, running);
    return out;
}

}  // namespace

std::vector<std::uint8_t> serialize_smf(const File& file) {
    if (file.tracks.size() > std::numeric_limits<std::uint16_t>::max()) {
        throw std::invalid_argument("serialize_smf: more than 65535 tracks");
    }
    const auto& division = file.division;
    std::uint16_t division_value = 0;
    if (division.smpte) {
        if (division.frames_per_second == 0 || division.frames_per_second > 128 || division.ticks_per_frame == 0) {
            throw std::invalid_argument("serialize_smf: invalid SMPTE division");
        }
        auto negative_fps = static_cast<std::uint8_t>(-static_cast<int>(division.frames_per_second));
        division_value = static_cast<std::uint16_t>(negative_fps << 8 | division.ticks_per_frame);
    } else {
        if (division.ticks_per_quarter == 0 || division.ticks_per_quarter > 0x7FFF) {
            throw std::invalid_argument("serialize_smf: ticks per quarter must be 1..32767");
        }
        division_value = division.ticks_per_quarter;
    }

    std::vector<std::uint8_t> out = {'M', 'T', 'h', 'd'};
    put_u32(out, 6);
    put_u16(out, file.format);
    put_u16(out, static_cast<std::uint16_t>(file.tracks.size()));
    put_u16(out, division_value);
    for (const auto& track : file.tracks) {
        auto body = encode_track(track);
        if (body.size() > std::numeric_limits<std::uint32_t>::max()) {
            throw std::invalid_argument("serialize_smf: track larger than 4 GiB");
        }
        out.insert(out.end(), {'M', 'T', 'r', 'k'});
        put_u32(out, static_cast<std::uint32_t>(body.size()));
        out.insert(out.end(), body.begin(), body.end());
    }
    return out;
}

void write_smf(const File& file, const std::filesystem::path& path) {
    auto bytes = serialize_smf(file);
    util::write_file_atomically(path, std::span<const std::uint8_t>(bytes));
}

}  // namespace kanade::midi
