// Private to src/io: what MidiPorts shares with its JACK and ALSA backends. The queues
// and counters outlive a backend's reconnects; each queue has one producer and one
// consumer at a time (the backend's own threads and the MidiPorts callers).
#pragma once

#include "kanade/clock/monotonic.hpp"
#include "kanade/clock/spsc_queue.hpp"
#include "kanade/io/midi_ports.hpp"
#include "kanade/midi/message.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <semaphore.h>
#include <string>

namespace kanade::io::detail {

// A message due further ahead than this is taken to carry some other clock and played now,
// so that one bad time stamp cannot hold up the output queue for ever.
inline constexpr std::int64_t max_output_ahead_ns = 2'000'000'000;

struct MidiShared {
    MidiShared() { ::sem_init(&output_wakeup, 0, 0); }
    ~MidiShared() { ::sem_destroy(&output_wakeup); }
    MidiShared(const MidiShared&) = delete;
    MidiShared& operator=(const MidiShared&) = delete;

    // Producer: the backend's receive thread. Consumer: pop_input()'s caller.
    clock::SpscQueue<midi::Message, 4096> input;
    // Producer: send()'s caller (the scheduler). Consumer: the backend's send thread.
    clock::SpscQueue<midi::Message, 4096> output;
    // send() only queues while a backend drains the queue, so nothing piles up while the
    // JACK server is away and old notes do not burst out when it comes back.
    std::atomic<bool> output_open{false};
    // The ALSA backend sleeps on this semaphore between messages; sem_post is lock-free
    // and async-signal-safe, so send() may post it from the real-time thread.
    std::atomic<bool> wake_on_send{false};
    sem_t output_wakeup{};

    std::atomic<std::uint64_t> received{0};
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> input_dropped{0};
    std::atomic<std::uint64_t> output_dropped{0};
    std::atomic<std::uint64_t> sysex_dropped{0};
    std::atomic<std::uint64_t> reconnects{0};
    // JACK: process cycles completed. A message popped in cycle N has reached the ports
    // connected to ours once cycle N is over, so drain() waits for cycles, not for time.
    std::atomic<std::uint64_t> cycles{0};
    std::atomic<bool> delivers_by_cycle{false};

    static void count(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
        counter.fetch_add(n, std::memory_order_relaxed);
    }
};

// Turns the received byte stream into short messages for the input queue. Backends hand
// over whatever their packets hold: a whole message, several, or a piece of a SysEx that
// goes on in the next packet. SysEx is skipped and counted; real-time bytes (clock, start,
// stop) pass even from inside a SysEx, as MIDI allows them there. Real-time safe; used by
// the receiving thread only.
class MidiInputParser {
public:
    void reset() {
        pending_size_ = 0;
        running_status_ = 0;
        in_sysex_ = false;
    }

    void feed(const std::uint8_t* data, std::size_t size, std::int64_t time_ns, MidiShared& shared) {
        for (std::size_t i = 0; i < size; ++i) feed_byte(data[i], time_ns, shared);
    }

private:
    static int length_of(std::uint8_t status) {
        if (status < 0xF0) return (status & 0xF0) == 0xC0 || (status & 0xF0) == 0xD0 ? 2 : 3;
        switch (status) {
            case 0xF1:
            case 0xF3: return 2;  // time code quarter frame, song select
            case 0xF2: return 3;  // song position
            case 0xF6: return 1;  // tune request
            default: return 0;    // F4, F5: undefined, skipped
        }
    }

    void feed_byte(std::uint8_t byte, std::int64_t time_ns, MidiShared& shared) {
        if (byte >= 0xF8) {
            std::uint8_t one[1] = {byte};
            emit(one, 1, time_ns, shared);
            return;
        }
        if (byte == 0xF0) {
            in_sysex_ = true;
            pending_size_ = 0;
            running_status_ = 0;
            MidiShared::count(shared.sysex_dropped);
            return;
        }
        if (byte == 0xF7) {  // end of SysEx, or a stray one
            in_sysex_ = false;
            pending_size_ = 0;
            return;
        }
        if (byte & 0x80) {  // any other status also ends a SysEx that lost its F7
            in_sysex_ = false;
            pending_size_ = 0;
            expected_ = length_of(byte);
            running_status_ = byte < 0xF0 ? byte : 0;
            if (expected_ == 0) return;
            pending_[pending_size_++] = byte;
            if (expected_ == 1) {
                emit(pending_, 1, time_ns, shared);
                pending_size_ = 0;
            }
            return;
        }
        if (in_sysex_) return;
        if (pending_size_ == 0) {
            if (running_status_ == 0) return;  // data without a status: nothing to attach it to
            pending_[pending_size_++] = running_status_;
            expected_ = length_of(running_status_);
        }
        pending_[pending_size_++] = byte;
        if (pending_size_ == expected_) {
            emit(pending_, pending_size_, time_ns, shared);
            pending_size_ = 0;
        }
    }

    static void emit(const std::uint8_t* bytes, int size, std::int64_t time_ns, MidiShared& shared) {
        midi::Message message;
        for (int i = 0; i < size; ++i) message.bytes[i] = bytes[i];
        message.size = static_cast<std::uint8_t>(size);
        message.time_ns = time_ns;
        MidiShared::count(shared.input.push(message) ? shared.received : shared.input_dropped);
    }

    std::uint8_t pending_[3] = {0, 0, 0};
    int pending_size_ = 0;
    int expected_ = 0;
    std::uint8_t running_status_ = 0;
    bool in_sysex_ = false;
};

class MidiBackend {
public:
    virtual ~MidiBackend() = default;
    virtual bool available() const = 0;
    virtual std::string status() const = 0;
    virtual bool maintain() = 0;
};

// Never throws for a missing server: available() is false and maintain() keeps trying.
std::unique_ptr<MidiBackend> make_jack_backend(MidiShared& shared, const MidiPortsConfig& config);
// Throws std::runtime_error when the ALSA sequencer cannot be opened.
std::unique_ptr<MidiBackend> make_alsa_backend(MidiShared& shared, const MidiPortsConfig& config);

}  // namespace kanade::io::detail
