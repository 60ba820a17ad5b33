#include "kanade/model/cuda_graph_step.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#ifdef KANADE_CUDA_GRAPHS
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace kanade::model {

#ifdef KANADE_CUDA_GRAPHS

struct CudaGraphStep::Recording {
    explicit Recording(Network recorded, c10::cuda::CUDAStream on) : network(std::move(recorded)), stream(on) {}

    Network network;               // kept alive: the graph reads its weights where they lie now
    c10::cuda::CUDAStream stream;  // graphs are recorded and replayed off the default stream
    at::cuda::CUDAGraph graph;
    torch::Tensor device_ids, device_conditions, device_logits;  // the graph's own input and output
    torch::Tensor host_ids, host_conditions, host_logits;        // pinned: the copies run asynchronously
};

bool CudaGraphStep::available() { return true; }

CudaGraphStep::CudaGraphStep(Network network, std::int64_t batch, std::int64_t window, bool conditioned) {
    const auto device = network->parameters().front().device();
    if (!device.is_cuda())
        throw std::runtime_error("a CUDA graph step needs the network on a CUDA device, not " + device.str());
    if (network->is_training()) throw std::runtime_error("a CUDA graph step needs the network in eval mode");
    torch::NoGradGuard no_grad;
    c10::cuda::CUDAGuard device_guard(device);
    recording_ = std::make_unique<Recording>(network, c10::cuda::getStreamFromPool(true, device.index()));
    auto& r = *recording_;
    const auto pinned = torch::TensorOptions().pinned_memory(true);
    const auto on_device = torch::TensorOptions().dtype(torch::kInt64).device(device);
    r.host_ids = torch::zeros({batch, window}, pinned.dtype(torch::kInt64));
    r.device_ids = torch::zeros({batch, window}, on_device);
    if (conditioned) {
        const std::int64_t count = music::condition_count;
        r.host_conditions = torch::zeros({batch, window, count}, pinned.dtype(torch::kInt64));
        r.device_conditions = torch::zeros({batch, window, count}, on_device);
    }
    torch::cuda::synchronize(device.index());  // the zeros above ran on the default stream
    try {
        c10::cuda::CUDAStreamGuard stream_guard(r.stream);
        // Off the graph first: cuDNN and cuBLAS choose their kernels and make their
        // workspaces, which a recording must not do.
        for (int warm_up = 0; warm_up < 3; ++warm_up)
            r.device_logits = network->forward_last(r.device_ids, r.device_conditions);
        r.stream.synchronize();
        r.graph.capture_begin();
        try {
            r.device_logits = network->forward_last(r.device_ids, r.device_conditions);
        } catch (...) {
            // End the capture, or the stream (and the allocator's pool) stays in it.
            try {
                r.graph.capture_end();
            } catch (...) {}
            throw;
        }
        r.graph.capture_end();
        // Trusted once it answers new input as the network does.
        r.device_ids.copy_(torch::randint(0, network->config().vocab_size, {batch, window}, on_device));
        r.graph.replay();
        const auto expected = network->forward_last(r.device_ids, r.device_conditions);
        const double difference = (r.device_logits - expected).abs().max().item<double>();
        const double size = expected.abs().max().item<double>();
        if (!(difference <= 1e-3 * (1.0 + size)))
            throw std::runtime_error("its replay differs from the network's pass by " + std::to_string(difference) +
                                     " (logits up to " + std::to_string(size) + ")");
    } catch (const std::exception& error) {
        throw std::runtime_error(std::string("recording the faithful step as a CUDA graph failed: ") + error.what());
    }
    r.host_logits = torch::empty(r.device_logits.sizes(), pinned.dtype(r.device_logits.scalar_type()));
}

torch::Tensor CudaGraphStep::last_logits(const torch::Tensor& ids, const torch::Tensor& conditions) {
    auto& r = *recording_;
    if (ids.sizes() != r.host_ids.sizes())
        throw std::invalid_argument("a CUDA graph step recorded for ids " + c10::str(r.host_ids.sizes()) +
                                    " was given " + c10::str(ids.sizes()));
    if (conditions.defined() != r.host_conditions.defined() ||
        (conditions.defined() && conditions.sizes() != r.host_conditions.sizes()))
        throw std::invalid_argument("a CUDA graph step recorded for conditions " + c10::str(r.host_conditions.sizes()) +
                                    " was given " +
                                    (conditions.defined() ? c10::str(conditions.sizes()) : std::string("none")));
    r.host_ids.copy_(ids);
    if (conditions.defined()) r.host_conditions.copy_(conditions);
    c10::cuda::CUDAStreamGuard stream_guard(r.stream);
    r.device_ids.copy_(r.host_ids, /*non_blocking=*/true);
    if (conditions.defined()) r.device_conditions.copy_(r.host_conditions, /*non_blocking=*/true);
    r.graph.replay();
    r.host_logits.copy_(r.device_logits, /*non_blocking=*/true);
    r.stream.synchronize();  // the one wait of the step
    return r.host_logits;
}

#else

struct CudaGraphStep::Recording {};

bool CudaGraphStep::available() { return false; }

CudaGraphStep::CudaGraphStep(Network, std::int64_t, std::int64_t, bool) {
    throw std::runtime_error("CUDA graphs need a libtorch built with CUDA; this build's libtorch has none");
}

torch::Tensor CudaGraphStep::last_logits(const torch::Tensor&, const torch::Tensor&) {
    throw std::logic_error("CudaGraphStep: nothing was recorded");
}

#endif

CudaGraphStep::~CudaGraphStep() = default;

torch::Tensor CudaGraphCache::last_logits(Network& network, std::int64_t full_window, const torch::Tensor& ids,
                                          const torch::Tensor& conditions) {
    if (!CudaGraphStep::available() || !error_.empty() || ids.size(1) != full_window) return {};
    if (!network->parameters().front().device().is_cuda()) return {};
    auto& step = steps_[{ids.size(0), conditions.defined()}];
    if (!step) {
        try {
            step = std::make_unique<CudaGraphStep>(network, ids.size(0), ids.size(1), conditions.defined());
        } catch (const std::runtime_error& error) {
            error_ = error.what();
            steps_.clear();
            return {};
        }
    }
    return step->last_logits(ids, conditions);
}

void CudaGraphCache::clear() {
    steps_.clear();
    error_.clear();
}

}  // namespace kanade::model
