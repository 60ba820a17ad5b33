// A beat timeline shared with other programs (an Ableton Link session) that leads the
// scheduler's grid: the tempo, where each beat falls on CLOCK_MONOTONIC, and, when the
// transport is shared, whether it plays. Beats are counted so that a multiple of
// `beats_per_bar` starts a bar for every member of the session.
//
// Every call comes from the scheduler thread and must be real-time safe: no locks that a
// network thread holds long, no allocation.
#pragma once

#include <cstdint>
#include <optional>

namespace kanade::clock {

class BeatTimeline {
public:
    struct Moment {
        double beat = 0;  // the session's beat at the time asked
        double bpm = 120;
        std::optional<bool> playing;  // set only when the transport is shared
    };

    virtual ~BeatTimeline() = default;

    virtual Moment at(std::int64_t time_ns) = 0;
    virtual std::int64_t time_of(double beat) = 0;  // when `beat` falls, CLOCK_MONOTONIC ns
    // Our own changes, for the others to follow.
    virtual void set_tempo(double bpm, std::int64_t time_ns) = 0;
    virtual void set_playing(bool playing, std::int64_t time_ns) = 0;  // ignored unless shared
    // Alone in the session, `beat` moves to `time_ns` (so our first step need not wait for
    // the next bar); with others there, their timeline stays as it is.
    virtual void start_at(double beat, std::int64_t time_ns) = 0;
};

}  // namespace kanade::clock
