// Where the real-time scheduler finds what to play: one queue of plans per session, made
// ahead of the clock, and whether the session is expected to have a plan for the step now
// (only then is a missing plan a late step). The inference worker is one; tests hand-make
// plans. The scheduler only reads: pops plans and loads flags, never waits.
#pragma once

#include "kanade/clock/step_plan.hpp"

#include <cstddef>

namespace kanade::clock {

class StepSource {
public:
    virtual ~StepSource() = default;
    virtual std::size_t session_count() const = 0;      // fixed once the scheduler runs
    virtual PlanQueue& plans(int session) = 0;          // the scheduler is its one consumer
    virtual bool expects_plans(int session) const = 0;  // real-time safe
};

}  // namespace kanade::clock
