// The last N durations a real-time thread measured, kept where any thread can read them:
// record() is one relaxed store and one fetch_add (no lock, no allocation), summary()
// sorts a copy on the reader's thread. A reader racing a writer may see one slot's old
// value: fine for p50/p99 over thousands.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kanade::clock {

struct LatencySummary {
    std::uint64_t count = 0;  // recorded since start (the summary covers the last N)
    double p50_ms = 0, p99_ms = 0, max_ms = 0;
};

template <std::size_t N>
class LatencyRing {
public:
    void record(std::int64_t ns) {
        const auto slot = count_.fetch_add(1, std::memory_order_relaxed) % N;
        micros_[slot].store(static_cast<std::int32_t>(std::clamp<std::int64_t>(ns / 1000, INT32_MIN, INT32_MAX)),
                            std::memory_order_relaxed);
    }

    LatencySummary summary() const {
        LatencySummary summary;
        summary.count = count_.load(std::memory_order_relaxed);
        const auto kept = std::min<std::uint64_t>(summary.count, N);
        std::vector<std::int32_t> values;
        values.reserve(kept);
        for (std::uint64_t i = 0; i < kept; ++i) values.push_back(micros_[i].load(std::memory_order_relaxed));
        if (values.empty()) return summary;
        std::sort(values.begin(), values.end());
        summary.p50_ms = values[values.size() / 2] / 1000.0;
        summary.p99_ms = values[std::min(values.size() - 1, values.size() * 99 / 100)] / 1000.0;
        summary.max_ms = values.back() / 1000.0;
        return summary;
    }

private:
    std::array<std::atomic<std::int32_t>, N> micros_{};
    std::atomic<std::uint64_t> count_{0};
};

}  // namespace kanade::clock
