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
        case EventKind::channel: put_channel_event(out, event, running); return;
        case EventKind::meta:
            out.push_back(0xFF);
            out.push_back(event.meta_type);
            put_vlq(out, event.data.size(), "meta event length");
            break;
        case EventKind::sysex:
            if (event.status != 0xF0 && event.status != 0xF7) {
                throw std::invalid_argument("serialize_smf: sysex event with status byte " +
                                            std::to_string(event.status));
            }
            out.push_back(event.status);
            put_vlq(out, event.data.size(), "sysex length");
            break;
    }
    out.insert(out.end(), event.data.begin(), event.data.end());
    running = 0;  // meta and sysex events cancel running status
}

}  // namespace

void TrackEncoder::put_delta(std::uint64_t tick) {
    if (tick < previous_) {
        throw std::invalid_argument("TrackEncoder: tick " + std::to_string(tick) + " before " +
                                    std::to_string(previous_));
    }
    auto delta = tick - previous_;
    // A gap wider than one delta can hold is bridged with empty text events.
    while (delta > max_vlq) {
        put_vlq(bytes_, max_vlq, "delta time");
        bytes_.insert(bytes_.end(), {0xFF, 0x01, 0x00});
        running_ = 0;
        delta -= max_vlq;
    }
    put_vlq(bytes_, delta, "delta time");
    previous_ = tick;
}

void TrackEncoder::add(const Event& event) {
    if (is_end_of_track(event)) throw std::invalid_argument("TrackEncoder: end-of-track is finish()'s");
    put_delta(event.tick);
    put_event(bytes_, event, running_);
}

void TrackEncoder::finish(std::uint64_t end_tick, const std::vector<std::uint8_t>& payload) {
    auto end = Event::end_of_track(std::max(end_tick, previous_));
    end.data = payload;
    put_delta(end.tick);
    put_event(bytes_, end, running_);
}

namespace {

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

    TrackEncoder encoder;
    for (const auto* event : events) encoder.add(*event);
    // Exactly one end-of-track, last; keep its payload (normally none) for a faithful copy.
    encoder.finish(end_tick, last_end ? last_end->data : std::vector<std::uint8_t>{});
    return std::move(encoder.bytes());
}

}  // namespace

std::vector<std::uint8_t> serialize_smf_header(std::uint16_t format, const Division& division, std::size_t tracks) {
    if (tracks > std::numeric_limits<std::uint16_t>::max()) {
        throw std::invalid_argument("serialize_smf: more than 65535 tracks");
    }
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
    put_u16(out, format);
    put_u16(out, static_cast<std::uint16_t>(tracks));
    put_u16(out, division_value);
    return out;
}

std::vector<std::uint8_t> track_chunk_header(std::uint64_t body_size) {
    if (body_size > std::numeric_limits<std::uint32_t>::max()) {
        throw std::invalid_argument("serialize_smf: track larger than 4 GiB");
    }
    std::vector<std::uint8_t> out = {'M', 'T', 'r', 'k'};
    put_u32(out, static_cast<std::uint32_t>(body_size));
    return out;
}

std::vector<std::uint8_t> serialize_smf(const File& file) {
    auto out = serialize_smf_header(file.format, file.division, file.tracks.size());
    for (const auto& track : file.tracks) {
        auto body = encode_track(track);
        const auto header = track_chunk_header(body.size());
        out.insert(out.end(), header.begin(), header.end());
        out.insert(out.end(), body.begin(), body.end());
    }
    return out;
}

void write_smf(const File& file, const std::filesystem::path& path) {
    auto bytes = serialize_smf(file);
    util::write_file_atomically(path, std::span<const std::uint8_t>(bytes));
}

}  // namespace kanade::midi
