#include "kanade/bench/machine_info.hpp"

#include "kanade/model/cpu_features.hpp"

#include <torch/torch.h>
#include <torch/version.h>

#include <fstream>
#include <thread>

#ifndef KANADE_BUILD_TYPE
#define KANADE_BUILD_TYPE "unknown"
#endif

namespace kanade::bench {
namespace {

std::string cpu_model_name() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("model name", 0) != 0) continue;
        auto colon = line.find(':');
        if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
    return "unknown";
}

}  // namespace

MachineInfo describe_machine() {
    MachineInfo info;
    info.cpu_model = cpu_model_name();
    info.cpu_features = model::describe(model::cpu_features());
    info.cores = std::thread::hardware_concurrency();
    info.cuda_devices = static_cast<int>(torch::cuda::device_count());
    // libtorch's C++ API names no device; the count and cuDNN say what a script needs.
    if (info.cuda_devices > 0)
        info.gpu = std::to_string(info.cuda_devices) + " CUDA device(s)" +
                   (torch::cuda::cudnn_is_available() ? ", cuDNN" : "");
    info.torch_version = TORCH_VERSION;
    info.build_type = KANADE_BUILD_TYPE;
    info.torch_threads = torch::get_num_threads();
    std::ifstream loadavg("/proc/loadavg");
    loadavg >> info.load_average;
    return info;
}

}  // namespace kanade::bench
