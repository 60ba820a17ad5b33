// Standard MIDI Files: read and write format 0 and 1, with PPQ or SMPTE division.
//
// The reader is tolerant the way a musician needs: running status, unknown meta
// events, malformed key signatures and a missing end-of-track are warnings, not
// failures. Anything it cannot make sense of (truncated chunks, lengths that run
// past the data, limits exceeded) throws SmfError naming the file and byte offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kanade::midi {

enum class EventKind : std::uint8_t { channel, meta, sysex };

// Meta event types the rest of kanade reads.
namespace meta {
inline constexpr std::uint8_t track_name = 0x03;
inline constexpr std::uint8_t end_of_track = 0x2F;
inline constexpr std::uint8_t tempo = 0x51;
inline constexpr std::uint8_t time_signature = 0x58;
inline constexpr std::uint8_t key_signature = 0x59;
}  // namespace meta

// One event of a track, at an absolute tick (delta times are a file-format detail).
struct Event {
    std::uint64_t tick = 0;
    EventKind kind = EventKind::channel;
    // channel: the full status byte 0x80..0xEF; meta: 0xFF; sysex: 0xF0 or 0xF7.
    std::uint8_t status = 0;
    std::uint8_t meta_type = 0;      // meta events only
    std::vector<std::uint8_t> data;  // channel: 1 or 2 data bytes; meta/sysex: payload

    std::uint8_t channel() const { return status & 0x0F; }
    std::uint8_t command() const { return status & 0xF0; }

    static Event note_on(std::uint64_t tick, int channel, int pitch, int velocity);
    static Event note_off(std::uint64_t tick, int channel, int pitch);
    static Event program_change(std::uint64_t tick, int channel, int program);
    static Event control_change(std::uint64_t tick, int channel, int controller, int value);
    static Event tempo(std::uint64_t tick, std::uint32_t microseconds_per_quarter);
    static Event time_signature(std::uint64_t tick, int numerator, int denominator);
    static Event text(std::uint64_t tick, std::uint8_t meta_type, std::string_view text);
    static Event end_of_track(std::uint64_t tick);

    friend bool operator==(const Event&, const Event&) = default;
};

struct Track {
    std::vector<Event> events;  // sorted by tick; the writer keeps their order

    friend bool operator==(const Track&, const Track&) = default;
};

// Ticks per quarter note (PPQ), or SMPTE frames per second x ticks per frame.
struct Division {
    bool smpte = false;
    std::uint16_t ticks_per_quarter = 480;  // PPQ division
    std::uint8_t frames_per_second = 0;     // SMPTE: 24, 25, 29 (29.97 drop-frame) or 30
    std::uint8_t ticks_per_frame = 0;       // SMPTE

    friend bool operator==(const Division&, const Division&) = default;
};

struct File {
    std::uint16_t format = 1;
    Division division;
    std::vector<Track> tracks;

    friend bool operator==(const File&, const File&) = default;
};

class SmfError : public std::runtime_error {
public:
    SmfError(std::string file, std::size_t offset, const std::string& reason);
    const std::string& file() const { return file_; }
    std::size_t offset() const { return offset_; }

private:
    std::string file_;
    std::size_t offset_;
};

// Hard limits on what a file may ask the reader to allocate, so a lying header
// cannot exhaust memory or make a render endless.
struct ReadLimits {
    std::size_t max_file_bytes = 64u << 20;
    std::size_t max_tracks = 1024;
    std::size_t max_events = 4'000'000;  // over all tracks
    // The time of any event, in beats (quarter notes; an SMPTE file's at a nominal 120
    // BPM): bounds what a tokenizer makes of the silence before a late note (a file of
    // 95 bytes once spanned 2^28 quarters, and its wait tokens took 2 GB).
    std::uint64_t max_beats = 1u << 20;  // 145 hours at 120 BPM
};

struct ReadResult {
    File file;
    std::vector<std::string> warnings;  // each names the file and byte offset
};

// `name` is used in error messages only (a path, or "<memory>"). Hidden from C++17
// translation units (std::span is C++20): the fuzz harnesses that compile libtorch's
// headers as C++17 for clang 14 include this header but never call it.
#ifdef __cpp_lib_span
ReadResult parse_smf(std::span<const std::uint8_t> bytes, std::string_view name, const ReadLimits& limits = {});
#endif
ReadResult read_smf(const std::filesystem::path& path, const ReadLimits& limits = {});

// Encodes with running status; adds an end-of-track event where a track lacks one.
std::vector<std::uint8_t> serialize_smf(const File& file);
// Writes atomically (temporary file in the same folder, then rename).
void write_smf(const File& file, const std::filesystem::path& path);

// The pieces of serialize_smf, for writers that stream a file too long to hold in memory
// (a recording rebuilt from its journal): the MThd chunk, each MTrk chunk's 8-byte
// header, and a track body encoded event by event.
std::vector<std::uint8_t> serialize_smf_header(std::uint16_t format, const Division& division, std::size_t tracks);
std::vector<std::uint8_t> track_chunk_header(std::uint64_t body_size);  // throws past 4 GiB

class TrackEncoder {
public:
    // Ticks must not decrease; end-of-track events are left to finish(). Throws
    // std::invalid_argument for an event no reader could decode, as serialize_smf does.
    void add(const Event& event);
    // The one end-of-track, at `end_tick` or the last event's tick if that is later.
    void finish(std::uint64_t end_tick, const std::vector<std::uint8_t>& payload = {});
    // Encoded and not yet taken: a streaming writer writes them out and clears them.
    std::vector<std::uint8_t>& bytes() { return bytes_; }
    std::uint64_t body_size() const { return taken_ + bytes_.size(); }  // the chunk's length so far
    void clear_bytes() {
        taken_ += bytes_.size();
        bytes_.clear();
    }
    // A new track, the buffer's capacity kept: a writer that encodes the same file again
    // and again (a recording's segment, twice a second) allocates nothing once warm.
    void restart() {
        bytes_.clear();
        taken_ = 0;
        previous_ = 0;
        running_ = 0;
    }

private:
    void put_delta(std::uint64_t tick);
    std::vector<std::uint8_t> bytes_;
    std::uint64_t taken_ = 0;
    std::uint64_t previous_ = 0;
    std::uint8_t running_ = 0;
};

}  // namespace kanade::midi
