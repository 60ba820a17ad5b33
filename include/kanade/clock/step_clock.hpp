// The grid step the scheduler plays next, and whether it is playing, published for those
// who plan ahead of it (the inference worker). The scheduler thread is the one writer; it
// publishes with atomics and a semaphore release, which never block. A planner sleeps in
// wait_for() until the clock moves: nothing flows back from the planner to the clock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <semaphore>

namespace kanade::clock {

class StepClock {
public:
    // Scheduler thread only.
    void publish(std::int64_t next_step, bool playing) {
        playing_.store(playing, std::memory_order_relaxed);
        next_step_.store(next_step, std::memory_order_release);
        moved_.release();  // one per step; a planner that slept through several drains them
    }

    std::int64_t next_step() const { return next_step_.load(std::memory_order_acquire); }
    bool playing() const { return playing_.load(std::memory_order_relaxed); }

    // True when the clock moved (since the last wait), false after `timeout`.
    bool wait_for(std::chrono::microseconds timeout) {
        if (!moved_.try_acquire_for(timeout)) return false;
        while (moved_.try_acquire()) {}
        return true;
    }

private:
    std::atomic<std::int64_t> next_step_{0};
    std::atomic<bool> playing_{true};
    std::counting_semaphore<> moved_{0};  // its maximum is beyond any set's step count
};

}  // namespace kanade::clock
