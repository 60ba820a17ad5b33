// Where the real-time scheduler finds what to play: one queue of plans per session, made
// ahead of the clock, and whether the session is expected to have a plan for the step now
// (only then is a missing plan a late step). The inference worker is one; tests hand-make
// plans. The scheduler only reads: pops plans and loads flags, never waits.
#pragma once

#include "kanade/clock/step_plan.hpp"

#include <cstddef>
#include <cstdint>

namespace kanade::clock {

class StepSource {
public:
    virtual ~StepSource() = default;
    virtual std::size_t session_count() const = 0;      // fixed once the scheduler runs
    virtual PlanQueue& plans(int session) = 0;          // the scheduler is its one consumer
    virtual bool expects_plans(int session) const = 0;  // real-time safe
    // Plans with an older epoch were taken back (made again with the player's notes) and
    // are skipped. Real-time safe; a source that never re-plans keeps 0.
    virtual std::uint64_t plan_epoch(int /*session*/) const { return 0; }
};

}  // namespace kanade::clock
