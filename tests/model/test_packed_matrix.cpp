#include "kanade/model/cpu_features.hpp"
#include "kanade/model/packed_matrix.hpp"

#include <doctest/doctest.h>

using namespace kanade::model;

namespace {

// What the packed product must give: the weights (and, for bfloat16, x) rounded as the
// precision stores them, multiplied in double.
torch::Tensor expected_product(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& y,
                               InferencePrecision precision) {
    auto rounded_w = w, rounded_x = x;
    if (precision == InferencePrecision::float16) rounded_w = w.to(torch::kHalf).to(torch::kFloat);
    if (precision == InferencePrecision::bfloat16) {
        rounded_w = w.to(torch::kBFloat16).to(torch::kFloat);
        rounded_x = x.to(torch::kBFloat16).to(torch::kFloat);
    }
    return (y.to(torch::kDouble) + rounded_x.to(torch::kDouble).mm(rounded_w.to(torch::kDouble))).to(torch::kFloat);
}

// int8's rounding bound for y[b, j]: each weight is off by at most half its column's
// step s_j, each input by half its row's step s_b, so the product is off by at most
// sum_k |x_bk| s_j / 2 + (|w_kj| + s_j / 2) s_b / 2; plus float32's own rounding.
torch::Tensor int8_error_bound(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& expected) {
    const auto column_steps = std::get<0>(w.abs().max(0)).div(127.0);                             // [out]
    const auto row_steps = std::get<0>(x.abs().max(1, true)).div(127.0);                          // [B, 1]
    const auto x_sums = x.abs().sum(1, true);                                                     // [B, 1]
    const auto w_sums = w.abs().sum(0) + column_steps.mul(0.5 * static_cast<double>(w.size(0)));  // [out]
    return x_sums * column_steps.mul(0.5) + row_steps.mul(0.5) * w_sums + expected.abs().mul(1e-5) + 1e-5;
}

std::vector<InferencePrecision> precisions_here() {
    std::vector<InferencePrecision> here;
    for (auto precision : {InferencePrecision::float32, InferencePrecision::float16, InferencePrecision::bfloat16,
                           InferencePrecision::int8})
        if (supported_precision(precision) == precision) here.push_back(precision);
    return here;
}

constexpr InferencePrecision every_precision[] = {InferencePrecision::float32, InferencePrecision::float16,
                                                  InferencePrecision::bfloat16, InferencePrecision::int8};

// Products of several shapes and batches against the rounded weights' product: widths
// not a multiple of the 64-column block, odd inputs (bfloat16 pairs rows, int8 quads).
void check_products(InferencePrecision precision) {
    CAPTURE(precision_name(precision));
    for (auto [in, out] : {std::pair<std::int64_t, std::int64_t>{512, 2048}, {7, 5}, {33, 130}, {1, 64}, {64, 1}}) {
        CAPTURE(in);
        CAPTURE(out);
        auto w = torch::randn({in, out});
        const PackedMatrix packed(w, precision);
        CHECK(packed.precision() == precision);
        for (std::int64_t batch : {1, 2, 3, 4, 5, 8, 9, 17, 35}) {
            CAPTURE(batch);
            auto x = torch::randn({batch, in}), y = torch::randn({batch, out});
            auto expected = expected_product(x, w, y, precision);
            const auto bound =
                precision == InferencePrecision::int8 ? int8_error_bound(x, w, expected) : torch::Tensor();
            packed.accumulate(x, y);
            const auto error = (y - expected).abs();
            if (bound.defined()) {
                CHECK((error <= bound).all().item<bool>());
                continue;
            }
            const double scale = expected.abs().max().item<double>() + 1.0;
            CHECK(error.max().item<double>() < 2e-5 * scale * std::sqrt(static_cast<double>(in)));
        }
    }
}

}  // namespace

TEST_CASE("the packed product equals the rounded weights' product, for any shape and batch") {
    torch::manual_seed(21);
    INFO("CPU: " << describe(cpu_features()));
    for (auto precision : precisions_here()) check_products(precision);
}

TEST_CASE("the AVX2 and the plain C++ kernels give the same products as the widest") {
    torch::manual_seed(23);
    const auto detected = all_detected();
    CpuFeatures avx2 = detected;
    avx2.avx512f = avx2.avx512_bf16 = false;
    for (const auto& allowed : {avx2, CpuFeatures{}}) {
        restrict_cpu_features(allowed);
        INFO("kernels for: " << describe(cpu_features()));
        // Every precision, also where these kernels lack it (the plain C++ loop serves).
        for (auto precision : every_precision) check_products(precision);
    }
    restrict_cpu_features(detected);
    CHECK(describe(cpu_features()) == describe(detected));
}

TEST_CASE("int8 products are the same on every kernel: exact sums, the same float steps after") {
    torch::manual_seed(24);
    const auto detected = all_detected();
    CpuFeatures vectors = detected;  // VPDPBUSD alone, where the CPU also has tiles
    vectors.amx_int8 = false;
    // Batches of 16 rows and more go in AMX tiles (two row tiles at once; the rows past
    // the last whole tile by the vector kernel); depths and widths not a whole tile.
    for (auto [in, out] : {std::pair<std::int64_t, std::int64_t>{512, 2048}, {33, 130}, {3, 7}, {100, 40}}) {
        CAPTURE(in);
        auto w = torch::randn({in, out});
        const PackedMatrix packed(w, InferencePrecision::int8);
        for (std::int64_t batch : {1, 4, 9, 16, 17, 32, 48, 67}) {
            CAPTURE(batch);
            auto x = torch::randn({batch, in}), y = torch::randn({batch, out});
            auto widest = y.clone(), vector = y.clone(), plain = y.clone();
            packed.accumulate(x, widest);
            restrict_cpu_features(vectors);
            packed.accumulate(x, vector);
            restrict_cpu_features(CpuFeatures{});
            packed.accumulate(x, plain);
            restrict_cpu_features(detected);
            CHECK(torch::equal(widest, plain));
            CHECK(torch::equal(vector, plain));
            CHECK(!torch::equal(widest, y));
        }
    }
    if (!detected.amx_int8) MESSAGE("skipped the AMX tiles: this CPU or OS has none (" << describe(detected) << ")");
}

TEST_CASE("int8: a row of zeros adds nothing, a row's largest input is kept exactly") {
    torch::manual_seed(25);
    auto w = torch::randn({40, 70});
    const PackedMatrix packed(w, InferencePrecision::int8);
    auto x = torch::zeros({2, 40}), y = torch::randn({2, 70});
    x[1][5] = 3.0f;  // one input: its byte is the row's 127 steps, exactly 3
    auto before = y.clone();
    packed.accumulate(x, y);
    CHECK(torch::equal(y[0], before[0]));
    // Only the weights' rounding is left: half a column step at most.
    const auto column_steps = std::get<0>(w.abs().max(0)).div(127.0);
    CHECK(((y[1] - before[1] - w[5] * 3.0).abs() <= column_steps * 1.5 + 1e-5).all().item<bool>());
    const PackedMatrix zeros(torch::zeros({40, 70}), InferencePrecision::int8);
    auto unchanged = before.clone();
    zeros.accumulate(torch::randn({2, 40}), unchanged);
    CHECK(torch::equal(unchanged, before));
}

TEST_CASE("the packed product touches only its rows and columns (strided rows)") {
    torch::manual_seed(22);
    for (auto precision : precisions_here()) {
        CAPTURE(precision_name(precision));
        auto w = torch::randn({20, 70});
        const PackedMatrix packed(w, precision);
        // x rows 24 apart, y rows 80 apart: the gaps between rows must stay as they were.
        auto x_storage = torch::randn({3, 24}), y_storage = torch::randn({3, 80});
        auto y_before = y_storage.clone();
        packed.accumulate(x_storage.data_ptr<float>(), 24, y_storage.data_ptr<float>(), 80, 3);
        CHECK(torch::equal(y_storage.narrow(1, 70, 10), y_before.narrow(1, 70, 10)));
        const auto x = x_storage.narrow(1, 0, 20);
        auto expected = expected_product(x, w, y_before.narrow(1, 0, 70), precision);
        const auto error = (y_storage.narrow(1, 0, 70) - expected).abs();
        if (precision == InferencePrecision::int8)
            CHECK((error <= int8_error_bound(x, w, expected)).all().item<bool>());
        else
            CHECK(error.max().item<double>() < 1e-4);
        CHECK_THROWS_AS(packed.accumulate(torch::randn({3, 21}), y_storage), std::invalid_argument);
    }
}

TEST_CASE("the CPU's precisions fall back in order: bfloat16, float16, float32, and int8 runs anywhere") {
    const auto& cpu = cpu_features();
    CHECK(supported_precision(InferencePrecision::float32) == InferencePrecision::float32);
    const auto half = supported_precision(InferencePrecision::float16);
    CHECK(half == (cpu.f16c && cpu.avx2_fma ? InferencePrecision::float16 : InferencePrecision::float32));
    const auto brain = supported_precision(InferencePrecision::bfloat16);
    CHECK(brain == (cpu.avx512_bf16 ? InferencePrecision::bfloat16 : half));
    CHECK(parse_inference_precision("bfloat16") == InferencePrecision::bfloat16);
    CHECK(std::string(precision_name(InferencePrecision::bfloat16)) == "bfloat16");
    CHECK(supported_precision(InferencePrecision::int8) == InferencePrecision::int8);
    CHECK(parse_inference_precision("int8") == InferencePrecision::int8);
    CHECK(std::string(precision_name(InferencePrecision::int8)) == "int8");
    CHECK_THROWS_AS(parse_inference_precision("int4"), std::invalid_argument);
}
