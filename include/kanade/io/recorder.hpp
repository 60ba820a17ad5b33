// Records a performance so nothing is lost: the player's and kanade's notes as two tracks
// of a standard MIDI file, and a JSONL journal of every event and setting. The scheduler
// thread push()es events (lock-free); other threads log() lines; a writer thread flushes
// every flush_seconds.
//
// A flush costs what was added since the last one, however long the recording: the
// journal (STEM.jsonl) is appended and synced, and the notes go to bounded segment files,
// STEM.part001.mid, STEM.part002.mid, ..., each a complete format 1 file (tempo, "human",
// "machine" tracks, on the recording's own time line) of at most segment_seconds or
// segment_events. Only the current segment is rewritten (atomically) at a flush, with the
// notes still sounding closed at that moment; notes sounding when a segment ends are
// closed there and struck again at the next one's start. So a killed daemon leaves every
// segment valid and at most one flush old, and its journal whole, from which
// midi_from_journal() (recording_journal.hpp) rebuilds STEM.mid.
//
// stop() makes STEM.mid from the journal in one streaming pass per track and removes the
// segments. If that fails (a full disk) the segments stay and the failure is counted and
// reported as a write error. Memory held is the current segment and a table of sounding
// notes, not the recording. Write errors are counted and retried at the next flush, never
// thrown, and never damage the last good file.
#pragma once

#include "kanade/midi/message.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace kanade::io {

enum class Part : std::uint8_t { human, machine };

struct RecordedEvent {
    std::int64_t time_ns = 0;  // CLOCK_MONOTONIC
    Part part = Part::machine;
    midi::Message message;
    std::optional<std::int64_t> step;  // the grid step it was played on, for the journal
};

struct RecorderConfig {
    std::filesystem::path dir;
    // "": kanade-YYYYMMDD-HHMMSS (local time), with -2, -3, ... when that is taken.
    std::string stem;
    double flush_seconds = 0.5;
    // A segment ends at the first event this long after its start, or after this many
    // events (bounding memory and a flush's cost, whatever the rate).
    double segment_seconds = 300;
    std::size_t segment_events = 20'000;
};

class Recorder {
public:
    // Creates `dir`, the first segment (empty tracks) and STEM.jsonl, whose first line is
    // `header_json`: one JSON object (model, seed, settings). The recording's time 0 is
    // now; the line gains "monotonic_start_ns", that instant on CLOCK_MONOTONIC. Throws
    // std::runtime_error when the files cannot be created, and
    // std::invalid_argument for a config that makes no sense.
    Recorder(const RecorderConfig& config, std::string header_json);
    ~Recorder();  // stop()
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    // The scheduler thread only: no locks, no allocation, never blocks. False when
    // dropped (queue full, or after stop()).
    bool push(const RecordedEvent& event);

    // Any other thread: one JSON object (a setting changed, a mode switch), written in
    // time order with the events; "t" (seconds since the start) is added as its first
    // key unless it has one. Not real-time safe.
    void log(std::string json_line);

    // Flushes now, on the calling thread, as the writer thread does every flush_seconds
    // (for tests, and a caller that wants the files current). Not for the scheduler thread.
    void flush();

    void stop();  // final flush, files closed, STEM.mid made; idempotent

    std::filesystem::path midi_path() const;     // STEM.mid, there once stop() made it
    std::filesystem::path segment_path() const;  // the segment being written (the last, after stop())
    std::filesystem::path log_path() const;
    std::int64_t start_ns() const;  // CLOCK_MONOTONIC time of the recording's time 0

    struct Counters {
        std::uint64_t events = 0;            // accepted by push()
        std::uint64_t dropped = 0;           // refused by push()
        std::uint64_t flushes = 0;           // flushes that wrote everything they had
        std::uint64_t write_errors = 0;      // flushes that failed somewhere (retried next time), or STEM.mid not made
        std::uint64_t held_events = 0;       // events held in memory: the current segment's
        std::uint64_t last_flush_bytes = 0;  // bytes the latest flush wrote (journal and segments)
        std::uint64_t segments = 0;          // segment files begun
        std::uint64_t last_flush_us = 0;     // how long the latest flush took (final assembly included)
    };
    Counters counters() const;
    std::string last_error() const;  // "" until a write fails; the latest failure after

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace kanade::io
