// CLOCK_MONOTONIC in nanoseconds: the one timeline of every MIDI message, audio block and
// recording in the process. Both calls are real-time safe (no locks, no allocation).
#pragma once

#include <cerrno>
#include <cstdint>
#include <ctime>

namespace kanade::clock {

inline std::int64_t monotonic_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

// Sleeps until the monotonic clock reads `deadline_ns` (at once if it has passed),
// resuming after signals.
inline void sleep_until_ns(std::int64_t deadline_ns) {
    timespec when{static_cast<time_t>(deadline_ns / 1'000'000'000), static_cast<long>(deadline_ns % 1'000'000'000)};
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, nullptr) == EINTR) {}
}

}  // namespace kanade::clock
