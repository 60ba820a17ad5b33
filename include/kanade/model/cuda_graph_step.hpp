// The faithful step on a CUDA GPU as one recorded CUDA graph: the window's ids go up
// from pinned host memory, the network runs as recorded (no kernel launched from the
// CPU one by one), and the last position's logits come back into pinned host memory;
// the CPU waits once a step. A graph holds one batch size and window length; a
// recording is kept only once its first replay has answered as the network does.
//
// Needs a libtorch built with CUDA (KANADE_CUDA_GRAPHS, set by CMakeLists.txt when
// libtorch brings its CUDA libraries); elsewhere `available()` is false and the
// constructor throws.
#pragma once

#include "kanade/model/network.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

namespace kanade::model {

class CudaGraphStep {
public:
    // Whether this build can record CUDA graphs.
    static bool available();

    // Records `network` (in eval mode, on a CUDA device) for windows of [batch, window]
    // token ids, and with `conditioned` their conditions [batch, window, C] (see
    // NetworkImpl). Throws std::runtime_error when recording fails.
    CudaGraphStep(Network network, std::int64_t batch, std::int64_t window, bool conditioned = false);
    ~CudaGraphStep();
    CudaGraphStep(const CudaGraphStep&) = delete;
    CudaGraphStep& operator=(const CudaGraphStep&) = delete;

    // ids [batch, window] int64 on the CPU (and their conditions, when recorded with them)
    // -> logits [batch, vocab] float32 in pinned host memory, valid until the next call.
    torch::Tensor last_logits(const torch::Tensor& ids, const torch::Tensor& conditions = {});

private:
    struct Recording;
    std::unique_ptr<Recording> recording_;
};

// One network's recorded steps, one per batch size, each recorded on first use (a few
// passes' time). A recording that fails turns graphs off for this network: `error()`
// says why, and the network runs kernel by kernel from then on.
class CudaGraphCache {
public:
    // Logits [B, V] on the CPU (pinned, valid until the next call) from the recorded step
    // for these windows; undefined where no graph applies (the network not on CUDA, a
    // build without CUDA graphs, windows shorter than `full_window`, a failed recording):
    // the caller then runs the network itself.
    torch::Tensor last_logits(Network& network, std::int64_t full_window, const torch::Tensor& ids,
                              const torch::Tensor& conditions);
    // The network's weights or device changed: the recordings read the old ones (and a
    // new network may record where the old failed).
    void clear();
    const std::string& error() const { return error_; }

private:
    std::map<std::pair<std::int64_t, bool>, std::unique_ptr<CudaGraphStep>> steps_;  // (batch, conditioned)
    std::string error_;
};

}  // namespace kanade::model
