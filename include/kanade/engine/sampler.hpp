// Draws the next token from a network's output: temperature, top-k and top-p
// (nucleus) sampling. Temperature 0 is argmax, which is what the student project's
// generator always did (its temperature had no effect); anything above 0 samples.
// Works on plain float logits, so the inference worker can use it off any tensor.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace kanade::engine {

// Above this the distribution is as good as flat: the one bound of every entrance
// (configuration, OSC, kanade generate).
inline constexpr double max_temperature = 10.0;

struct SamplingOptions {
    double temperature = 1.0;  // 0: argmax
    int top_k = 0;             // 0: no limit
    double top_p = 1.0;        // 1: no limit
};

class Sampler {
public:
    explicit Sampler(std::uint64_t seed = 1) : random_(seed) {}

    // `mask`, when given, has one entry per logit; false entries can never be drawn.
    // Returns -1 only if every entry is masked out.
    int sample(std::span<const float> logits, const SamplingOptions& options, std::span<const bool> mask = {});

    // The probabilities `sample` draws from, after temperature, top-k and top-p.
    std::vector<double> distribution(std::span<const float> logits, const SamplingOptions& options,
                                     std::span<const bool> mask = {}) const;

    // A number in [0, 1) from the same generator (a session's other chances).
    double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(random_); }

private:
    std::mt19937_64 random_;
};

}  // namespace kanade::engine
