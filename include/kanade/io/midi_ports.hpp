// kanaded's MIDI ports: `<client>:in` and `<client>:out` on JACK (libjack) or the ALSA
// sequencer (RtMidi). The scheduler thread calls send() (real-time safe); one input thread
// calls pop_input(); a housekeeping thread calls maintain() about once a second.
#pragma once

#include "kanade/midi/message.hpp"

#include <cstdint>
#include <chrono>
#include <memory>
#include <string>

namespace kanade::io {

struct MidiPortsConfig {
    // "auto": ALSA sequencer if /dev/snd/seq exists, else JACK if a server is running,
    // else none. Also "alsa", "jack", "none".
    std::string backend = "auto";
    std::string client_name = "kanade";
    std::string connect_in;   // connect our input FROM every port whose name contains this ("": none)
    std::string connect_out;  // connect our output TO every port whose name contains this ("": none)
};

namespace detail {
struct MidiShared;
class MidiBackend;
}  // namespace detail

class MidiPorts {
public:
    // Never throws for a missing backend (available() is false and status() says why);
    // throws std::invalid_argument for an unknown backend name.
    explicit MidiPorts(const MidiPortsConfig& config);
    ~MidiPorts();
    MidiPorts(const MidiPorts&) = delete;
    MidiPorts& operator=(const MidiPorts&) = delete;

    bool available() const;
    std::string backend() const;  // "jack", "alsa" or "none"
    std::string status() const;   // one line for the log

    // Messages received on the input port, time_ns the CLOCK_MONOTONIC receive time.
    // One consumer thread only. SysEx never arrives here (dropped and counted).
    bool pop_input(midi::Message& message);

    // The scheduler thread only: no locks, no allocation, never blocks. A message whose
    // time_ns lies in the near future is played then; 0 or a past time means now.
    // False when dropped (queue full, no backend, server gone).
    bool send(const midi::Message& message);

    // Not real-time: waits until everything sent has left through the port (or `limit`
    // passed), so the all-notes-off of a shutdown reach the synthesizer before we close.
    // True when the output queue emptied.
    bool drain(std::chrono::milliseconds limit);

    // Non-real-time housekeeping about once a second: reopens after the JACK server went
    // away and came back, connects connect_in/connect_out to ports that appeared.
    // True when anything changed (status() then says what it is now).
    bool maintain();

    struct Counters {
        std::uint64_t received = 0;       // queued for pop_input()
        std::uint64_t sent = 0;           // written to the output port
        std::uint64_t input_dropped = 0;  // input queue overflow: counted, not fatal
        std::uint64_t output_dropped = 0;
        std::uint64_t sysex_dropped = 0;  // SysEx messages (kanade does not take them), each once
        std::uint64_t reconnects = 0;     // times maintain() opened the ports after they were missing
    };
    Counters counters() const;

private:
    std::unique_ptr<detail::MidiShared> shared_;
    std::unique_ptr<detail::MidiBackend> backend_;
    std::string backend_name_ = "none";
    std::string none_reason_;
};

}  // namespace kanade::io
