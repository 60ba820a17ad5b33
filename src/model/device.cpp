#include "kanade/model/device.hpp"

#include <stdexcept>

namespace kanade::model {

DeviceChoice choose_device(std::string_view name) {
    bool cuda_available = torch::cuda::is_available();
    if (name == "cpu") return {torch::Device(torch::kCPU), "device cpu (asked for)"};
    if (name == "auto") {
        if (cuda_available) return {torch::Device(torch::kCUDA, 0), "device cuda:0 (auto: a CUDA GPU is present)"};
        return {torch::Device(torch::kCPU), "device cpu (auto: no CUDA GPU visible to libtorch, falling back to CPU)"};
    }
    if (name.rfind("cuda", 0) == 0) {
        if (!cuda_available)
            throw std::runtime_error("device '" + std::string(name) +
                                     "' asked for, but libtorch sees no CUDA GPU (built without CUDA, or no driver)");
        torch::Device device{std::string(name)};
        return {device, "device " + std::string(name) + " (asked for)"};
    }
    throw std::invalid_argument("unknown device '" + std::string(name) + "' (expected auto, cpu or cuda[:N])");
}

void set_cpu_threads(int threads) {
    if (threads > 0) torch::set_num_threads(threads);
}

torch::Tensor to_device(const torch::Tensor& tensor, torch::Device device) {
    return tensor.defined() ? tensor.to(device) : tensor;
}

}  // namespace kanade::model
