// The vector instructions this CPU and its operating system let the inference kernels
// use, read once from CPUID (and XGETBV: AVX-512 also needs the OS to save the wide
// registers). Read by hand rather than with __builtin_cpu_supports, which clang 14 (the
// fuzz harness's compiler) does not know for every feature here.
#pragma once

#include <string>

namespace kanade::model {

struct CpuFeatures {
    bool avx2_fma = false;     // 256-bit float arithmetic with fused multiply-add
    bool f16c = false;         // half float <-> float conversion
    bool avx512f = false;      // 512-bit registers, 32 of them
    bool avx512_bf16 = false;  // bfloat16 dot products into float32 (VDPBF16PS)
    bool avx512_vnni = false;  // int8 dot products into int32 (VPDPBUSD)
    // int8 tile products (AMX: TDPBUSD, 16 x 16 sums of 64 products each), where the OS
    // saves the tile registers and let this process use them (Linux: arch_prctl).
    bool amx_int8 = false;
};

const CpuFeatures& cpu_features();
// From now on, report only the features both detected and in `allowed`, so that tests
// can run the AVX2 and plain C++ kernels on a CPU that has more;
// restrict_cpu_features(all_detected()) undoes it. Not while other threads run kernels.
void restrict_cpu_features(const CpuFeatures& allowed);
CpuFeatures all_detected();
// "avx2 fma f16c avx512f avx512_bf16 avx512_vnni amx_int8" (those present), for benchmark records.
std::string describe(const CpuFeatures& features);

}  // namespace kanade::model
