#include "kanade/model/cpu_features.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define KANADE_X86 1
#endif
#if defined(__linux__) && defined(KANADE_X86)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace kanade::model {
namespace {

#ifdef KANADE_X86
// XCR0: which register states the OS saves on a context switch.
__attribute__((target("xsave"))) unsigned long long saved_register_states() { return __builtin_ia32_xgetbv(0); }

// Linux hands the 8 KB tile state to a process only when asked (since 5.16); the grant
// is for the whole process, its threads now and later.
bool tile_registers_granted() {
#ifdef __linux__
    constexpr long request_permission = 0x1023;  // ARCH_REQ_XCOMP_PERM
    constexpr long tile_data = 18;               // XFEATURE_XTILEDATA
    return syscall(SYS_arch_prctl, request_permission, tile_data) == 0;
#else
    return false;
#endif
}

CpuFeatures detect() {
    CpuFeatures features;
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return features;
    const bool has_fma = (ecx & bit_FMA) != 0, has_f16c = (ecx & bit_F16C) != 0;
    if ((ecx & bit_OSXSAVE) == 0 || (ecx & bit_AVX) == 0) return features;
    const auto states = saved_register_states();
    const bool ymm_saved = (states & 0x6) == 0x6;    // SSE and AVX state
    const bool zmm_saved = (states & 0xe6) == 0xe6;  // plus opmask and both zmm halves
    if (!ymm_saved) return features;
    unsigned leaf7_ebx = 0, leaf7_ecx = 0, leaf7_edx = 0, leaf7_eax = 0;
    __cpuid_count(7, 0, leaf7_eax, leaf7_ebx, leaf7_ecx, leaf7_edx);
    const unsigned max_subleaf = leaf7_eax;
    features.avx2_fma = (leaf7_ebx & bit_AVX2) != 0 && has_fma;
    features.f16c = has_f16c;
    features.avx512f = zmm_saved && (leaf7_ebx & bit_AVX512F) != 0 && features.avx2_fma;
    features.avx512_vnni = features.avx512f && (leaf7_ecx & (1u << 11)) != 0;
    if (features.avx512f && max_subleaf >= 1) {
        unsigned sub1_eax = 0, sub1_ebx = 0, sub1_ecx = 0, sub1_edx = 0;
        __cpuid_count(7, 1, sub1_eax, sub1_ebx, sub1_ecx, sub1_edx);
        features.avx512_bf16 = (sub1_eax & (1u << 5)) != 0;
    }
    const bool tiles_saved = (states & 0x60000) == 0x60000;  // tile configuration and data
    const bool amx_tile = (leaf7_edx & (1u << 24)) != 0, amx_int8 = (leaf7_edx & (1u << 25)) != 0;
    features.amx_int8 = features.avx512_vnni && tiles_saved && amx_tile && amx_int8 && tile_registers_granted();
    return features;
}
#else
CpuFeatures detect() { return {}; }
#endif

const CpuFeatures& detected() {
    static const CpuFeatures features = detect();
    return features;
}

CpuFeatures& reported() {
    static CpuFeatures features = detected();
    return features;
}

}  // namespace

const CpuFeatures& cpu_features() { return reported(); }

CpuFeatures all_detected() { return detected(); }

void restrict_cpu_features(const CpuFeatures& allowed) {
    const auto& found = detected();
    const bool avx512f = found.avx512f && allowed.avx512f;
    reported() = {found.avx2_fma && allowed.avx2_fma,
                  found.f16c && allowed.f16c,
                  avx512f,
                  avx512f && found.avx512_bf16 && allowed.avx512_bf16,
                  avx512f && found.avx512_vnni && allowed.avx512_vnni,
                  avx512f && found.avx512_vnni && allowed.avx512_vnni && found.amx_int8 && allowed.amx_int8};
}

std::string describe(const CpuFeatures& features) {
    std::string text;
    auto add = [&](bool present, const char* name) {
        if (!present) return;
        if (!text.empty()) text += ' ';
        text += name;
    };
    add(features.avx2_fma, "avx2 fma");
    add(features.f16c, "f16c");
    add(features.avx512f, "avx512f");
    add(features.avx512_bf16, "avx512_bf16");
    add(features.avx512_vnni, "avx512_vnni");
    add(features.amx_int8, "amx_int8");
    return text.empty() ? "none" : text;
}

}  // namespace kanade::model
