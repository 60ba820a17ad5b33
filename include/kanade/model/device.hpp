// Chooses where the networks run: "cpu", "cuda" (or "cuda:N"), or "auto", which takes
// CUDA when libtorch sees a GPU and otherwise falls back to the CPU, saying so.
#pragma once

#include <torch/torch.h>

#include <string>
#include <string_view>

namespace kanade::model {

struct DeviceChoice {
    torch::Device device{torch::kCPU};
    std::string reason;  // one line for the log: what was picked and why
};

// Throws std::invalid_argument for an unknown name, std::runtime_error when "cuda"
// is asked for explicitly and none is usable.
DeviceChoice choose_device(std::string_view name);

// Intra-op threads for CPU inference and training (0: libtorch's default).
void set_cpu_threads(int threads);

// `tensor` on `device`; an undefined tensor (conditions a network does not take) stays so.
torch::Tensor to_device(const torch::Tensor& tensor, torch::Device device);

}  // namespace kanade::model
