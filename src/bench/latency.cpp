#include "kanade/bench/latency.hpp"

#include <algorithm>
#include <cmath>

namespace kanade::bench {

Latency summarize(std::vector<double> samples_ms) {
    Latency latency;
    latency.samples = samples_ms.size();
    if (samples_ms.empty()) return latency;
    std::sort(samples_ms.begin(), samples_ms.end());
    auto rank = [&](double fraction) {
        auto index = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(samples_ms.size())));
        return samples_ms[std::min(samples_ms.size() - 1, index == 0 ? 0 : index - 1)];
    };
    latency.p50_ms = rank(0.50);
    latency.p99_ms = rank(0.99);
    latency.max_ms = samples_ms.back();
    return latency;
}

}  // namespace kanade::bench
