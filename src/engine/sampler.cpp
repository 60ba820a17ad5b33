#include "kanade/engine/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace kanade::engine {

std::vector<double> Sampler::distribution(std::span<const float> logits, const SamplingOptions& options,
                                          std::span<const bool> mask) const {
    const std::size_t n = logits.size();
    std::vector<double> probabilities(n, 0.0);
    auto allowed = [&](std::size_t i) { return (mask.empty() || mask[i]) && std::isfinite(logits[i]); };

    std::vector<std::size_t> order;
    order.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        if (allowed(i)) order.push_back(i);
    if (order.empty()) return probabilities;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });

    if (options.temperature <= 0) {
        probabilities[order.front()] = 1.0;
        return probabilities;
    }
    if (options.top_k > 0 && order.size() > static_cast<std::size_t>(options.top_k))
        order.resize(static_cast<std::size_t>(options.top_k));

    const double top = logits[order.front()];
    double total = 0;
    for (auto i : order) total += probabilities[i] = std::exp((logits[i] - top) / options.temperature);

    if (options.top_p < 1.0) {
        // Keep the smallest head of the sorted tokens whose mass reaches top_p.
        double kept = 0;
        std::size_t keep = 0;
        while (keep < order.size() && kept < options.top_p * total) kept += probabilities[order[keep++]];
        for (std::size_t j = keep; j < order.size(); ++j) probabilities[order[j]] = 0;
        total = kept;
    }
    for (auto& p : probabilities) p /= total;
    return probabilities;
}

int Sampler::sample(std::span<const float> logits, const SamplingOptions& options, std::span<const bool> mask) {
    auto probabilities = distribution(logits, options, mask);
    double draw = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
    int last_possible = -1;
    for (std::size_t i = 0; i < probabilities.size(); ++i) {
        if (probabilities[i] <= 0) continue;
        last_possible = static_cast<int>(i);
        draw -= probabilities[i];
        if (draw < 0) return last_possible;
    }
    return last_possible;  // rounding left a sliver: the last drawable token
}

}  // namespace kanade::engine
