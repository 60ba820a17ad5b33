// How the real-time scheduler plays: its tempo and grid, what it does with a step that is
// not ready, and what it sends besides notes. Apart from the scheduler so the daemon's
// configuration can embed it.
#pragma once

#include "kanade/clock/step_plan.hpp"

#include <string>

namespace kanade::clock {

enum class MissPolicy { rest, hold, repeat };
MissPolicy parse_miss_policy(const std::string& text);  // throws std::invalid_argument naming the text
const char* miss_policy_name(MissPolicy policy);

struct SchedulerConfig {
    double bpm = 120.0;
    int steps_per_beat = 4;
    MissPolicy miss_policy = MissPolicy::rest;
    int max_note_steps = default_max_note_steps;  // no note sounds longer: nothing can hang
    bool realtime_priority = true;                // ask for SCHED_FIFO; reported when refused
    int priority = 70;
    // Send MIDI beat clock (24 per quarter, Start/Stop/Continue, Song Position) to the
    // outputs' clock(). Needs steps_per_beat to divide 24.
    bool send_clock = false;
    // Under a BeatTimeline: a bar of the grid is this many beats (Link's quantum), and our
    // step numbers keep their place in it (step 0 starts a bar).
    int beats_per_bar = 4;
};

}  // namespace kanade::clock
