// The scheduler's outputs in the daemon: thin real-time-safe adapters that push each
// note into the queue of the part that handles it.
#pragma once

#include "kanade/clock/spsc_queue.hpp"
#include "kanade/clock/note_output.hpp"
#include "kanade/io/audio_output.hpp"
#include "kanade/io/midi_ports.hpp"
#include "kanade/io/recorder.hpp"

#include <atomic>
#include <thread>

namespace kanade::daemon {

class MidiOutput final : public clock::NoteOutput {
public:
    explicit MidiOutput(io::MidiPorts& ports) : ports_(ports) {}
    void machine(const midi::Message& message, std::int64_t) override { ports_.send(message); }
    void clock(const midi::Message& message) override { ports_.send(message); }

private:
    io::MidiPorts& ports_;
};

class SynthOutput final : public clock::NoteOutput {
public:
    explicit SynthOutput(io::AudioOutput& audio) : audio_(audio) {}
    void machine(const midi::Message& message, std::int64_t) override { audio_.push(message); }

private:
    io::AudioOutput& audio_;
};

// Recording can start and stop while the scheduler runs: the recorder is swapped
// through an atomic pointer. set() returns only when the scheduler no longer holds the
// recorder it replaced, so the daemon can free a finished recording at once.
class RecorderOutput final : public clock::NoteOutput {
public:
    void set(io::Recorder* recorder) {
        recorder_.store(recorder);
        // A push() that loaded the old pointer has raised pushing_ before its load (both
        // sequentially consistent), so once pushing_ reads 0 nobody holds the old one.
        while (pushing_.load() != 0) std::this_thread::yield();
    }
    void machine(const midi::Message& message, std::int64_t step) override { push(io::Part::machine, message, step); }
    void human(const midi::Message& message, std::int64_t step) override { push(io::Part::human, message, step); }

private:
    void push(io::Part part, const midi::Message& message, std::int64_t step) {
        pushing_.fetch_add(1);
        if (auto* recorder = recorder_.load()) recorder->push(io::RecordedEvent{message.time_ns, part, message, step});
        pushing_.fetch_sub(1);
    }
    std::atomic<io::Recorder*> recorder_{nullptr};
    std::atomic<int> pushing_{0};
};

// Played notes for OSC subscribers, drained by the io thread.
// A note as the scheduler played it, kanade's or the player's, for the io thread.
struct MonitoredNote {
    midi::Message message;
    std::int64_t step = 0;
    bool human = false;
};

class MonitorOutput final : public clock::NoteOutput {
public:
    void machine(const midi::Message& message, std::int64_t step) override { queue_.push({message, step, false}); }
    void human(const midi::Message& message, std::int64_t step) override { queue_.push({message, step, true}); }
    bool pop(MonitoredNote& note) { return queue_.pop(note); }

private:
    clock::SpscQueue<MonitoredNote, 4096> queue_;
};

}  // namespace kanade::daemon
