// Where the scheduler's notes go: MIDI out, the synthesizer, the recorder, OSC
// subscribers. Called on the real-time thread, so implementations must not block,
// lock or allocate: they push into their own lock-free queues.
#pragma once

#include "kanade/midi/message.hpp"

namespace kanade::clock {

class NoteOutput {
public:
    virtual ~NoteOutput() = default;
    virtual void machine(const midi::Message& message) = 0;  // kanade's own notes
    virtual void human(const midi::Message&) {}              // the player's, for recording
    virtual void clock(const midi::Message&) {}              // beat clock and transport, for MIDI out
};

}  // namespace kanade::clock
