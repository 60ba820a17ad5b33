// Latency figures as the benchmark reports them: median, 99th percentile and worst of
// a set of samples in milliseconds.
#pragma once

#include <vector>

namespace kanade::bench {

struct Latency {
    double p50_ms = 0, p99_ms = 0, max_ms = 0;
    std::size_t samples = 0;
};

// Nearest-rank percentiles; all zero for no samples.
Latency summarize(std::vector<double> samples_ms);

}  // namespace kanade::bench
