// Records a performance so nothing is lost: the player's and kanade's notes as two tracks
// of a standard MIDI file, and a JSONL log of every event and setting. The scheduler
// thread push()es events (lock-free); other threads log() lines; a writer thread flushes
// every flush_seconds: the log appended and synced, the MIDI file rewritten atomically
// with the notes still sounding closed at that moment, so a killed daemon leaves a valid
// file at most one flush old. Write errors (a full disk) are counted and retried at the
// next flush, never thrown, and never damage the last good file.
#pragma once

#include "kanade/midi/message.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace kanade::io {

enum class Part : std::uint8_t { human, machine };

struct RecordedEvent {
    std::int64_t time_ns = 0;  // CLOCK_MONOTONIC
    Part part = Part::machine;
    midi::Message message;
};

struct RecorderConfig {
    std::filesystem::path dir;
    // "": kanade-YYYYMMDD-HHMMSS (local time), with -2, -3, ... when that is taken.
    std::string stem;
    double flush_seconds = 0.5;
};

class Recorder {
public:
    // Creates `dir`, STEM.mid (empty tracks) and STEM.jsonl, whose first line is
    // `header_json`: one JSON object (model, seed, settings). The recording's time 0 is
    // now. Throws std::runtime_error when the files cannot be created.
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

    void stop();  // final flush, files closed; idempotent

    std::filesystem::path midi_path() const;
    std::filesystem::path log_path() const;
    std::int64_t start_ns() const;  // CLOCK_MONOTONIC time of the recording's time 0

    struct Counters {
        std::uint64_t events = 0;        // accepted by push()
        std::uint64_t dropped = 0;       // refused by push()
        std::uint64_t flushes = 0;       // flushes that wrote everything they had
        std::uint64_t write_errors = 0;  // flushes that failed somewhere (retried next time)
    };
    Counters counters() const;
    std::string last_error() const;  // "" until a write fails; the latest failure after

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace kanade::io
