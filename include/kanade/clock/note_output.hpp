// Where the scheduler's notes go: MIDI out, the synthesizer, the recorder, OSC
// subscribers. Called on the real-time thread, so implementations must not block,
// lock or allocate: they push into their own lock-free queues.
#pragma once

#include "kanade/midi/message.hpp"

#include <cstdint>

namespace kanade::clock {

class NoteOutput {
public:
    virtual ~NoteOutput() = default;
    // `step`: the grid step the message was played on (the player's: the step nearest
    // to when it came), so a recording keeps the grid its notes were played on.
    virtual void machine(const midi::Message& message, std::int64_t step) = 0;  // kanade's own notes
    virtual void human(const midi::Message&, std::int64_t) {}                   // the player's, for recording
    virtual void clock(const midi::Message&) {}  // beat clock and transport, for MIDI out
};

}  // namespace kanade::clock
