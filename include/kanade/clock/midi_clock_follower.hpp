// Follows an external MIDI beat clock: 24 ticks per quarter note, Start, Stop, Continue
// and Song Position Pointer. Fed every clock message with its arrival time, it keeps a
// smoothed tempo (ticks that arrive in bursts or after a gap do not jerk it) and says
// when a tick falls on a boundary of our step grid, so the scheduler can lock its phase
// to the master's, not only its tempo. Plain logic, no thread: the daemon's input
// thread drives it and hands the results to the scheduler's atomics.
#pragma once

#include "kanade/midi/message.hpp"

#include <cstdint>
#include <optional>

namespace kanade::clock {

inline constexpr int midi_clock_ticks_per_beat = 24;
inline constexpr int midi_ticks_per_song_position = 6;  // Song Position counts sixteenth notes

struct ClockFollowerConfig {
    int steps_per_beat = 4;              // our grid; must divide 24 for phase locking
    double smoothing = 0.1;              // weight of each new tick interval in the running mean
    double min_bpm = 20, max_bpm = 400;  // intervals outside this range are ignored (gaps, bursts)
};

// What one message asks of the scheduler; unset fields: no change.
struct ClockFollowerUpdate {
    std::optional<double> bpm;
    std::optional<bool> playing;
    // A grid step boundary happened at this time (CLOCK_MONOTONIC ns), and which step of
    // the song it is (counted from the song's start, from Start or Song Position).
    std::optional<std::int64_t> step_boundary_ns;
    std::int64_t song_step = 0;
};

class MidiClockFollower {
public:
    explicit MidiClockFollower(const ClockFollowerConfig& config = {});

    // Messages other than clock (0xF8), Start (0xFA), Continue (0xFB), Stop (0xFC) and
    // Song Position (0xF2) are ignored.
    ClockFollowerUpdate feed(const midi::Message& message);

    double bpm() const;  // 0 until two ticks have come
    bool playing() const { return playing_; }
    std::int64_t song_tick() const { return song_tick_; }  // ticks since the song's start
    bool phase_locking() const { return ticks_per_step_ > 0; }

private:
    ClockFollowerConfig config_;
    int ticks_per_step_ = 0;  // 0: our grid does not divide the 24 ticks of a beat
    double tick_interval_ns_ = 0;
    std::int64_t last_tick_ns_ = 0;
    std::int64_t song_tick_ = 0;
    bool playing_ = false;
    bool first_tick_after_start_ = false;
};

}  // namespace kanade::clock
