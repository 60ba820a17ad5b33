// A recording's journal (STEM.jsonl) and the MIDI files made of it. The journal is the
// recording's complete, durable record: its first line is the header JSON, then one line
// per event, {"t":SECONDS,"part":"human"|"machine","msg":[STATUS,DATA...],"step":S}
// ("step": the daemon's grid step the event was played on; journals of older daemons lack
// it), and the log() lines, each with "t" first. midi_from_journal() turns it into STEM.mid in one
// streaming pass per track, holding only a bounded reorder window and the sounding
// notes, so a recording of any length fits; the recorder's final file is made by it, and
// it rebuilds the file from the journal a killed daemon left.
//
// Times are whole microseconds after the recording's start (the journal's precision);
// the MIDI files run at 120 BPM with 960 ticks a quarter, 1920 ticks a second.
#pragma once

#include "kanade/io/recorder.hpp"
#include "kanade/midi/smf.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace kanade::io {

inline constexpr std::uint16_t recording_ticks_per_quarter = 960;

std::int64_t microseconds_of(std::int64_t ns);              // rounded to nearest
std::uint64_t recording_tick(std::int64_t since_start_us);  // 0 before the start
std::string journal_seconds(std::int64_t since_start_us);   // "12.345678", the "t" of a line

// `{"t":...,"part":...,"msg":[...],"step":...}` ("step" only when given), without the line break.
std::string journal_event_line(std::int64_t since_start_us, Part part, const midi::Message& message,
                               std::optional<std::int64_t> step = std::nullopt);

struct JournalEvent {
    std::int64_t since_start_us = 0;
    Part part = Part::machine;
    midi::Message message;
    std::optional<std::int64_t> step;  // the grid step; none in an older journal
};
// An event line exactly as journal_event_line() writes it, with or without its step;
// nullopt for any other line.
std::optional<JournalEvent> parse_journal_event(std::string_view line);
// The leading "t" of any line (an event, or a log() line); nullopt when it has none.
std::optional<std::int64_t> parse_journal_time(std::string_view line);

// Notes sounding in one part, counted per channel and pitch (a pitch struck twice needs
// two offs), with the velocity each was last struck at, so they can be closed or struck again.
class SoundingNotes {
public:
    // Notes on and off update the count; all-notes-off and all-sound-off (CC 123, 120)
    // close the channel's notes, calling closed(channel, pitch) once per note.
    template <typename Closed>
    void apply(const midi::Message& message, Closed&& closed);
    void apply(const midi::Message& message) {
        apply(message, [](int, int) {});
    }
    // each(channel, pitch, velocity) once per sounding note; all are closed after.
    template <typename Each>
    void close_all(Each&& each);
    template <typename Each>
    void for_each(Each&& each) const;
    bool any() const { return total_ > 0; }

private:
    std::array<std::uint16_t, 16 * 128> count_{};
    std::array<std::uint8_t, 16 * 128> velocity_{};
    std::size_t total_ = 0;
};

// Data bytes after a channel status byte: 1 for program change and channel pressure, else 2.
inline std::size_t channel_data_bytes(std::uint8_t status) {
    const auto command = status & 0xF0;
    return command == 0xC0 || command == 0xD0 ? 1 : 2;
}
// True for a channel message with all its data bytes (the only kind a track holds).
bool is_complete_channel_message(const midi::Message& message);

// One part's channel events as track events, in the order given: notes cut by
// all-notes-off are closed where it came, close_sounding() closes the rest, so no note
// of the track hangs.
class PartTrack {
public:
    explicit PartTrack(std::function<void(midi::Event&&)> sink) : sink_(std::move(sink)) {}
    void add(std::uint64_t tick, const midi::Message& message);  // other messages ignored
    void close_sounding(std::uint64_t tick);

private:
    std::function<void(midi::Event&&)> sink_;
    SoundingNotes sounding_;
};

// The first track of every recording file: its name, 4/4 and 120 BPM, ending at `end_tick`.
midi::Track recording_tempo_track(const std::string& name, std::uint64_t end_tick);

struct JournalSummary {
    std::uint64_t events = 0;         // event lines put in the file (channel messages or not)
    std::uint64_t skipped_lines = 0;  // neither event, log line with "t", nor the header (a torn last line)
    std::uint64_t end_tick = 0;
};

// Writes `midi_path` (atomically) from the journal: format 1, a tempo track named by the
// journal's stem, then the "human" and "machine" tracks, each event at its time (events
// the journal holds slightly out of order are sorted within a window of thousands of
// events; one later than that is put at its track's latest tick). Notes still sounding at
// the end are closed there: at `end_us` (microseconds after the start) when given and
// not before the last event, else at the latest time in the journal. Throws
// std::runtime_error when the journal cannot be read or the file cannot be written;
// `midi_path` is then untouched.
JournalSummary midi_from_journal(const std::filesystem::path& journal_path, const std::filesystem::path& midi_path,
                                 std::optional<std::int64_t> end_us = std::nullopt);

// ---- templates

inline bool is_complete_channel_message(const midi::Message& message) {
    return message.bytes[0] >= 0x80 && message.bytes[0] <= 0xEF &&
           message.size >= 1 + channel_data_bytes(message.bytes[0]);
}

template <typename Closed>
void SoundingNotes::apply(const midi::Message& message, Closed&& closed) {
    if (!is_complete_channel_message(message)) return;
    const std::size_t channel = message.channel();
    const std::size_t index = channel * 128 + (message.bytes[1] & 0x7F);
    if (message.is_note_on()) {
        ++count_[index];
        ++total_;
        velocity_[index] = message.bytes[2] & 0x7F;
    } else if (message.is_note_off()) {
        if (count_[index] > 0) {
            --count_[index];
            --total_;
        }
    } else if (message.command() == 0xB0 && (message.bytes[1] == 120 || message.bytes[1] == 123)) {
        for (std::size_t pitch = 0; pitch < 128; ++pitch)
            for (auto& open = count_[channel * 128 + pitch]; open > 0; --open, --total_)
                closed(static_cast<int>(channel), static_cast<int>(pitch));
    }
}

template <typename Each>
void SoundingNotes::for_each(Each&& each) const {
    if (total_ == 0) return;
    for (std::size_t index = 0; index < count_.size(); ++index)
        for (int n = 0; n < count_[index]; ++n)
            each(static_cast<int>(index / 128), static_cast<int>(index % 128), static_cast<int>(velocity_[index]));
}

template <typename Each>
void SoundingNotes::close_all(Each&& each) {
    for_each(each);
    count_.fill(0);
    total_ = 0;
}

}  // namespace kanade::io
