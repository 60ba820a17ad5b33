// What a planner (the inference worker) hands the real-time scheduler: the notes to start
// on one step of the grid. Plain data, so it crosses the lock-free queue by copy.
#pragma once

#include "kanade/clock/spsc_queue.hpp"

#include <cstdint>

namespace kanade::clock {

// No note of kanade's sounds longer (engine.max_note_steps): nothing can hang.
inline constexpr int default_max_note_steps = 32;

struct PlannedNote {
    std::uint8_t pitch = 60;
    std::uint8_t velocity = 100;
    std::uint16_t steps = 1;  // how long it sounds, in grid steps
};

struct StepPlan {
    static constexpr int max_notes = 12;
    std::int64_t step = 0;   // absolute step of the session's clock
    std::uint8_t count = 0;  // notes used
    // When the player's note arrived (CLOCK_MONOTONIC; 0: none) that this is the first
    // step planned with in the window, and the first with notes: the scheduler times both.
    std::int64_t heard_ns = 0, answered_ns = 0;
    std::uint64_t epoch = 0;  // the planner's re-plan count when made (StepSource::plan_epoch)
    PlannedNote notes[max_notes];

    bool add(const PlannedNote& note) {
        if (count >= max_notes) return false;
        notes[count++] = note;
        return true;
    }
};

// One session's plans, oldest first: the planner pushes, the scheduler pops.
using PlanQueue = SpscQueue<StepPlan, 64>;

}  // namespace kanade::clock
