#include "kanade/model/cuda_autocast.hpp"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace kanade::model {

// libtorch 2.4 named autocast's switches by device; 1.13 (Debian's) had CUDA's alone.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
static void set_cuda_autocast(bool enabled) {
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, enabled);
}
#else
static void set_cuda_autocast(bool enabled) {
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(enabled);
}
#endif

CudaAutocast::CudaAutocast(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    set_cuda_autocast(true);
    at::autocast::increment_nesting();
}

CudaAutocast::~CudaAutocast() {
    if (!enabled_) return;
    // The bfloat16 copies of the weights are cached for the scope; the weights change
    // with each optimiser step.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_cuda_autocast(false);
}

}  // namespace kanade::model
