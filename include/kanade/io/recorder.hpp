// Records a performance so nothing is lost: the player's and kanade's notes as two
// tracks of a standard MIDI file, and a JSONL log of every event and setting. A writer
// thread flushes both every half second: the log is appended and synced, the MIDI file
// rewritten atomically with every note still sounding closed at that moment, so a
// killed daemon leaves a valid file at most one flush old. Write errors (a full disk)
// are counted and retried, never fatal, and never damage the last good file.
#pragma once

#include "kanade/clock/spsc_queue.hpp"
#include "kanade/midi/message.hpp"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kanade::io {

enum class Part : std::uint8_t { human, machine };

struct RecordedEvent {
    std::int64_t time_ns = 0;  // CLOCK_MONOTONIC
    Part part = Part::machine;
    midi::Message message;
};

struct RecorderConfig {
    std::filesystem::path dir;
    std::string stem;  // "": kanade-YYYYMMDD-HHMMSS
    double flush_seconds = 0.5;
};

class Recorder {
public:
    // `header_json`: one JSON object (model, seed, settings), the log's first line.
    Recorder(const RecorderConfig& config, std::string header_json);
    ~Recorder();
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    bool push(const RecordedEvent& event);  // scheduler thread only: never blocks
    void log(std::string json_line);        // any other thread
    void stop();                            // final flush; idempotent

    const std::filesystem::path& midi_path() const { return midi_path_; }
    const std::filesystem::path& log_path() const { return log_path_; }

    struct Counters {
        std::uint64_t events = 0, dropped = 0, flushes = 0, write_errors = 0;
    };
    Counters counters() const { return {events_.load(), dropped_.load(), flushes_.load(), write_errors_.load()}; }
    std::string last_error() const;

private:
    void run();
    void flush();

    RecorderConfig config_;
    std::filesystem::path midi_path_, log_path_;
    std::int64_t start_ns_;
    clock::SpscQueue<RecordedEvent, 16384> queue_;
    std::vector<RecordedEvent> events_so_far_;
    std::vector<std::string> log_lines_;  // waiting for the next flush
    std::FILE* log_file_ = nullptr;
    mutable std::mutex mutex_;  // log_lines_, last_error_, wake-ups: never the scheduler
    std::condition_variable wake_;
    bool stopping_ = false;
    std::string last_error_;
    std::atomic<std::uint64_t> events_{0}, dropped_{0}, flushes_{0}, write_errors_{0};
    std::thread thread_;
};

}  // namespace kanade::io
