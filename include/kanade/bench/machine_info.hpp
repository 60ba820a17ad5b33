// What a benchmark ran on, so results from different machines and builds can be told
// apart by a script: CPU model and cores, GPU, libtorch version and build type.
#pragma once

#include <string>

namespace kanade::bench {

struct MachineInfo {
    std::string cpu_model;
    std::string cpu_features;  // the vector instructions the kernels may use, e.g. "avx2 fma f16c avx512f"
    unsigned cores = 0;
    std::string gpu;  // "" when CUDA is not available
    int cuda_devices = 0;
    std::string torch_version;  // e.g. "1.13.1"
    std::string build_type;     // CMAKE_BUILD_TYPE of this build
    int torch_threads = 0;      // intra-op threads libtorch uses
    double load_average = -1;   // 1-minute load when the run started (-1: unknown)
};

MachineInfo describe_machine();

}  // namespace kanade::bench
