// What one step of inference costs: the network alone, as the daemon's worker runs it,
// for each way of running it (faithful: the whole window from a fresh state; streaming:
// one position with carried state), device and number of sessions batched together.
// Also how fast training runs. Builds with libtorch alone.
#pragma once

#include "kanade/bench/latency.hpp"
#include "kanade/engine/generator.hpp"
#include "kanade/model/model_file.hpp"

#include <string>

namespace kanade::bench {

struct InferenceCase {
    engine::InferenceMode mode = engine::InferenceMode::faithful;
    std::string device = "cpu";  // "cpu" or "cuda"
    int batch = 1;
    int steps = 1000;        // measured steps (after a few warm-up ones)
    double max_seconds = 0;  // > 0: stop a slow row early, after at least 100 steps
    bool packed = true;      // false: libtorch's modules (the reference path)
    model::InferencePrecision precision = model::InferencePrecision::float32;
    int threads = 1;          // 2: the packed path's two-thread recurrence (RecurrenceTeam)
    bool cuda_graph = false;  // faithful on CUDA: the step as a recorded graph (CudaGraphStep)
};

// Per-step latency of `model` on random tokens of its vocabulary: the forward pass and
// the logits back on the CPU, as the sampler needs them. Throws std::runtime_error when
// a CUDA graph cannot be recorded.
Latency measure_inference(model::Model& model, const InferenceCase& inference_case);

// Tokens per second of training steps (forward, backward, Adam) on random windows;
// `mixed_precision`: the forward pass in bfloat16 on CUDA (CudaAutocast), as
// `kanade train --mixed-precision`.
double training_tokens_per_second(const model::NetworkConfig& config, const std::string& device, int batch,
                                  double seconds, bool mixed_precision = false);

}  // namespace kanade::bench
