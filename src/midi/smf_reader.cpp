#include "kanade/midi/smf.hpp"
#include "kanade/midi/tempo_map.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <system_error>

namespace kanade::midi {
namespace {

std::string located(std::string_view file, std::size_t offset, std::string_view message) {
    return std::string(file) + ": byte " + std::to_string(offset) + ": " + std::string(message);
}

std::string hex(std::uint8_t value) {
    static constexpr char digits[] = "0123456789ABCDEF";
    return std::string("0x") + digits[value >> 4] + digits[value & 0x0F];
}

// A hostile file could hold millions of bad key signatures; keep the list readable.
constexpr std::size_t max_warnings = 100;

class Warnings {
public:
    Warnings(std::string_view name, std::vector<std::string>& out) : name_(name), out_(out) {}

    void add(std::size_t offset, std::string_view message) {
        if (out_.size() < max_warnings) {
            out_.push_back(located(name_, offset, message));
        } else if (out_.size() == max_warnings) {
            out_.push_back(located(name_, offset, "further warnings suppressed"));
        }
    }

private:
    std::string_view name_;
    std::vector<std::string>& out_;
};

// Every read goes through here: it checks the bytes are there before touching them.
class Cursor {
public:
    Cursor(std::span<const std::uint8_t> bytes, std::size_t begin, std::size_t end, std::string_view name)
        : bytes_(bytes), pos_(begin), end_(end), name_(name) {}

    std::size_t offset() const { return pos_; }
    std::size_t remaining() const { return end_ - pos_; }
    bool at_end() const { return pos_ >= end_; }

    [[noreturn]] void fail(std::size_t offset, const std::string& reason) const {
        throw SmfError(std::string(name_), offset, reason);
    }

    std::uint8_t peek(std::string_view what) const {
        need(1, what);
        return bytes_[pos_];
    }
    std::uint8_t u8(std::string_view what) {
        need(1, what);
        return bytes_[pos_++];
    }
    std::uint16_t u16(std::string_view what) {
        need(2, what);
        auto value = static_cast<std::uint16_t>(bytes_[pos_] << 8 | bytes_[pos_ + 1]);
        pos_ += 2;
        return value;
    }
    std::uint32_t u32(std::string_view what) {
        need(4, what);
        std::uint32_t value = 0;
        for (int i = 0; i < 4; ++i) value = value << 8 | bytes_[pos_ + i];
        pos_ += 4;
        return value;
    }
    // Variable-length quantity: at most four bytes of seven bits (0x0FFFFFFF).
    std::uint32_t vlq(std::string_view what) {
        auto start = pos_;
        std::uint32_t value = 0;
        for (int i = 0; i < 4; ++i) {
            auto byte = u8(what);
            value = value << 7 | (byte & 0x7F);
            if (!(byte & 0x80)) return value;
        }
        fail(start, std::string(what) + " is a variable-length quantity longer than 4 bytes");
    }
    std::span<const std::uint8_t> take(std::size_t count, std::string_view what) {
        need(count, what);
        auto result = bytes_.subspan(pos_, count);
        pos_ += count;
        return result;
    }
    void skip(std::size_t count, std::string_view what) { take(count, what); }

private:
    void need(std::size_t count, std::string_view what) const {
        if (count > remaining()) {
            fail(pos_, "unexpected end of data in " + std::string(what) + " (needs " + std::to_string(count) +
                           " bytes, " + std::to_string(remaining()) + " left)");
        }
    }

    std::span<const std::uint8_t> bytes_;
    std::size_t pos_;
    std::size_t end_;
    std::string_view name_;
};

std::size_t channel_data_length(std::uint8_t status) {
    auto command = status & 0xF0;
    return command == 0xC0 || command == 0xD0 ? 1 : 2;
}

// Returns why a meta event the rest of kanade interprets is unusable, or "" if it is fine.
std::string meta_problem(std::uint8_t type, std::span<const std::uint8_t> data) {
    switch (type) {
        case meta::key_signature: {
            if (data.size() != 2) return "key signature of " + std::to_string(data.size()) + " bytes (ignored)";
            auto accidentals = static_cast<std::int8_t>(data[0]);
            if (accidentals > 7) return "key signature with " + std::to_string(accidentals) + " sharps (ignored)";
            if (accidentals < -7) return "key signature with " + std::to_string(-accidentals) + " flats (ignored)";
            if (data[1] > 1) return "key signature with mode " + std::to_string(data[1]) + " (ignored)";
            return {};
        }
        case meta::tempo:
            if (data.size() != 3) return "tempo event of " + std::to_string(data.size()) + " bytes (ignored)";
            if ((data[0] | data[1] | data[2]) == 0) return "tempo of 0 microseconds per quarter (ignored)";
            return {};
        case meta::time_signature:
            if (data.size() != 4) return "time signature of " + std::to_string(data.size()) + " bytes (ignored)";
            return {};
        default: return {};
    }
}

struct ParseState {
    const ReadLimits& limits;
    Warnings& warnings;
    std::uint64_t max_tick = 0;  // limits.max_beats in this file's ticks
    std::size_t events = 0;      // over all tracks
};

Track parse_track(Cursor& cursor, std::size_t track_index, ParseState& state) {
    Track track;
    std::uint64_t tick = 0;
    std::uint8_t running = 0;       // running status in effect, 0 if none
    std::uint8_t last_channel = 0;  // the last channel status, kept across meta/sysex
    bool warned_cancelled = false;
    bool ended = false;
    auto count_event = [&](std::size_t offset) {
        if (++state.events > state.limits.max_events) {
            cursor.fail(offset, "more than " + std::to_string(state.limits.max_events) + " events (limit)");
        }
    };

    while (!cursor.at_end()) {
        auto delta_offset = cursor.offset();
        tick += cursor.vlq("delta time");
        if (tick > state.max_tick) {
            cursor.fail(delta_offset, "tick " + std::to_string(tick) + " is past the limit of " +
                                          std::to_string(state.limits.max_beats) + " beats (tick " +
                                          std::to_string(state.max_tick) + ")");
        }
        auto status_offset = cursor.offset();
        auto status = cursor.peek("event");
        if (status & 0x80) {
            cursor.u8("event");
        } else if (running) {
            status = running;
        } else if (last_channel) {
            // Meta and sysex events cancel running status, but some writers rely on it anyway;
            // the intent is unambiguous, so continue with the last channel status.
            if (!warned_cancelled) {
                state.warnings.add(status_offset, "running status used after a meta or sysex event (continued with " +
                                                      hex(last_channel) + ")");
                warned_cancelled = true;
            }
            status = running = last_channel;
        } else {
            cursor.fail(status_offset, "data byte " + hex(status) + " where a status byte was expected");
        }
        count_event(status_offset);

        Event event;
        event.tick = tick;
        event.status = status;
        if (status < 0xF0) {
            event.kind = EventKind::channel;
            auto length = channel_data_length(status);
            for (std::size_t i = 0; i < length; ++i) {
                auto data_offset = cursor.offset();
                auto byte = cursor.u8("channel event data");
                if (byte & 0x80) {
                    cursor.fail(data_offset, "byte " + hex(byte) +
                                                 " with the high bit set where a data byte of event " + hex(status) +
                                                 " was expected");
                }
                event.data.push_back(byte);
            }
            running = last_channel = status;
        } else if (status == 0xFF) {
            event.kind = EventKind::meta;
            event.meta_type = cursor.u8("meta event type");
            auto length = cursor.vlq("meta event length");
            if (length > cursor.remaining()) {
                cursor.fail(status_offset, "meta event " + hex(event.meta_type) + " of " + std::to_string(length) +
                                               " bytes runs past the end of the track (" +
                                               std::to_string(cursor.remaining()) + " bytes left)");
            }
            auto data = cursor.take(length, "meta event");
            running = 0;
            if (auto problem = meta_problem(event.meta_type, data); !problem.empty()) {
                state.warnings.add(status_offset, problem);
                continue;
            }
            event.data.assign(data.begin(), data.end());
        } else if (status == 0xF0 || status == 0xF7) {
            event.kind = EventKind::sysex;
            auto length = cursor.vlq("sysex length");
            if (length > cursor.remaining()) {
                cursor.fail(status_offset, "sysex event of " + std::to_string(length) +
                                               " bytes runs past the end of the track (" +
                                               std::to_string(cursor.remaining()) + " bytes left)");
            }
            auto data = cursor.take(length, "sysex event");
            event.data.assign(data.begin(), data.end());
            running = 0;
        } else {
            cursor.fail(status_offset, "status byte " + hex(status) + " is not allowed in a track");
        }

        bool is_end = event.kind == EventKind::meta && event.meta_type == meta::end_of_track;
        track.events.push_back(std::move(event));
        if (is_end) {
            ended = true;
            break;
        }
    }

    if (ended && !cursor.at_end()) {
        state.warnings.add(cursor.offset(), std::to_string(cursor.remaining()) +
                                                " bytes after the end-of-track of track " +
                                                std::to_string(track_index) + " (ignored)");
    } else if (!ended) {
        // Keep the invariant that every track ends with an end-of-track.
        auto last = track.events.empty() ? 0 : track.events.back().tick;
        state.warnings.add(cursor.offset(), "track " + std::to_string(track_index) +
                                                " has no end-of-track (added at tick " + std::to_string(last) + ")");
        count_event(cursor.offset());
        track.events.push_back(Event::end_of_track(last));
    }
    return track;
}

bool is_chunk_id(std::span<const std::uint8_t> id) {
    return std::all_of(id.begin(), id.end(), [](std::uint8_t c) { return c >= 0x20 && c <= 0x7E; });
}

Division parse_division(std::uint16_t value, std::size_t offset, Cursor& cursor, Warnings& warnings) {
    Division division;
    if (value & 0x8000) {
        division.smpte = true;
        division.frames_per_second = static_cast<std::uint8_t>(-static_cast<std::int8_t>(value >> 8));
        division.ticks_per_frame = static_cast<std::uint8_t>(value & 0xFF);
        if (division.ticks_per_frame == 0) cursor.fail(offset, "SMPTE division with 0 ticks per frame");
        auto fps = division.frames_per_second;
        if (fps != 24 && fps != 25 && fps != 29 && fps != 30) {
            warnings.add(offset, "unusual SMPTE rate of " + std::to_string(fps) + " frames per second");
        }
    } else {
        if (value == 0) cursor.fail(offset, "division of 0 ticks per quarter note");
        division.ticks_per_quarter = value;
    }
    return division;
}

}  // namespace

SmfError::SmfError(std::string file, std::size_t offset, const std::string& reason)
    : std::runtime_error(located(file, offset, reason)), file_(std::move(file)), offset_(offset) {}

ReadResult parse_smf(std::span<const std::uint8_t> bytes, std::string_view name, const ReadLimits& limits) {
    ReadResult result;
    Warnings warnings(name, result.warnings);
    Cursor cursor(bytes, 0, bytes.size(), name);

    if (bytes.empty()) cursor.fail(0, "empty file");
    if (bytes.size() > limits.max_file_bytes) {
        cursor.fail(0, "file of " + std::to_string(bytes.size()) + " bytes is larger than the limit of " +
                           std::to_string(limits.max_file_bytes));
    }
    if (bytes.size() < 4 || std::memcmp(bytes.data(), "MThd", 4) != 0) {
        cursor.fail(0, "not a Standard MIDI File (does not start with MThd)");
    }
    cursor.skip(4, "header");
    auto header_length = cursor.u32("header chunk length");
    if (header_length < 6) cursor.fail(4, "header length " + std::to_string(header_length) + " is less than 6");
    if (header_length > cursor.remaining()) {
        cursor.fail(4, "header length " + std::to_string(header_length) + " runs past the end of the file (" +
                           std::to_string(cursor.remaining()) + " bytes left)");
    }
    auto format = cursor.u16("format");
    if (format > 2) cursor.fail(8, "unknown format " + std::to_string(format));
    auto declared_tracks = cursor.u16("track count");
    if (declared_tracks > limits.max_tracks) {
        cursor.fail(10, "header declares " + std::to_string(declared_tracks) + " tracks, more than the limit of " +
                            std::to_string(limits.max_tracks));
    }
    auto division_value = cursor.u16("division");
    result.file.format = format;
    result.file.division = parse_division(division_value, 12, cursor, warnings);
    cursor.skip(header_length - 6, "header chunk");

    const auto max_tick =
        static_cast<std::uint64_t>(static_cast<double>(limits.max_beats) * ticks_per_beat(result.file.division));
    ParseState state{limits, warnings, max_tick};
    auto& tracks = result.file.tracks;
    while (!cursor.at_end()) {
        auto chunk_offset = cursor.offset();
        bool expected = tracks.size() < declared_tracks;
        if (cursor.remaining() < 8) {
            if (tracks.empty() && expected) cursor.fail(chunk_offset, "file ends inside a chunk header");
            warnings.add(chunk_offset, std::to_string(cursor.remaining()) + " bytes of junk at the end (ignored)");
            break;
        }
        auto id = cursor.take(4, "chunk type");
        auto length = cursor.u32("chunk length");
        bool is_track = std::memcmp(id.data(), "MTrk", 4) == 0;

        if (!expected && !(is_track && length <= cursor.remaining())) {
            warnings.add(chunk_offset,
                         std::to_string(cursor.remaining() + 8) + " bytes of junk after the last track (ignored)");
            break;
        }
        if (!is_chunk_id(id)) {
            if (tracks.empty()) cursor.fail(chunk_offset, "garbage where a chunk was expected");
            warnings.add(chunk_offset, "garbage where track " + std::to_string(tracks.size()) +
                                           " was expected (rest of the file ignored)");
            break;
        }
        if (!is_track) {
            std::string type(id.begin(), id.end());
            if (length > cursor.remaining()) {
                cursor.fail(chunk_offset, "chunk \"" + type + "\" of " + std::to_string(length) +
                                              " bytes runs past the end of the file (" +
                                              std::to_string(cursor.remaining()) + " bytes left)");
            }
            warnings.add(chunk_offset, "unknown chunk \"" + type + "\" skipped");
            cursor.skip(length, "chunk");
            continue;
        }
        if (!expected) {
            warnings.add(chunk_offset, "track chunk beyond the " + std::to_string(declared_tracks) +
                                           " the header declares (read anyway)");
        }
        if (tracks.size() >= limits.max_tracks) {
            cursor.fail(chunk_offset, "more than " + std::to_string(limits.max_tracks) + " tracks (limit)");
        }
        std::size_t available = length;
        if (length > cursor.remaining()) {
            warnings.add(chunk_offset, "track chunk of " + std::to_string(length) +
                                           " bytes runs past the end of the file (" +
                                           std::to_string(cursor.remaining()) + " bytes left): file truncated");
            available = cursor.remaining();
        }
        Cursor track_cursor(bytes, cursor.offset(), cursor.offset() + available, name);
        tracks.push_back(parse_track(track_cursor, tracks.size(), state));
        cursor.skip(available, "track chunk");
    }

    if (tracks.size() < declared_tracks) {
        if (tracks.empty()) cursor.fail(cursor.offset(), "no track chunk found");
        warnings.add(cursor.offset(), "header declares " + std::to_string(declared_tracks) +
                                          " tracks but the file has " + std::to_string(tracks.size()));
    }
    if (format == 0 && tracks.size() > 1) {
        warnings.add(10, "format 0 file with " + std::to_string(tracks.size()) + " tracks");
    }
    return result;
}

ReadResult read_smf(const std::filesystem::path& path, const ReadLimits& limits) {
    auto name = path.string();
    std::error_code error;
    auto size = std::filesystem::file_size(path, error);
    if (error) throw SmfError(name, 0, "cannot read: " + error.message());
    if (size > limits.max_file_bytes) {
        throw SmfError(name, 0,
                       "file of " + std::to_string(size) + " bytes is larger than the limit of " +
                           std::to_string(limits.max_file_bytes));
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw SmfError(name, 0, "cannot open for reading");
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    // The file may have shrunk since we asked its size; parse what was read.
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    return parse_smf(bytes, name, limits);
}

}  // namespace kanade::midi
