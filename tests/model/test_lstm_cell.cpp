#include "kanade/model/cpu_features.hpp"
#include "kanade/model/lstm_cell.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace kanade::model;

namespace {

// The cell by its definition, in double: gates [i | f | g | o] per row, g doubled.
void reference_cell(const std::vector<float>& gates, std::vector<double>& cells, std::vector<double>& hidden,
                    std::int64_t batch, std::int64_t units) {
    auto sigmoid = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
    for (std::int64_t b = 0; b < batch; ++b)
        for (std::int64_t j = 0; j < units; ++j) {
            const float* row = gates.data() + b * 4 * units;
            const auto k = static_cast<std::size_t>(b * units + j);
            cells[k] = sigmoid(row[units + j]) * cells[k] + sigmoid(row[j]) * std::tanh(row[2 * units + j] / 2.0);
            hidden[k] = sigmoid(row[3 * units + j]) * std::tanh(cells[k]);
        }
}

struct CellResult {
    std::vector<float> cells, hidden;
};

CellResult run_cell(const torch::Tensor& gates, const torch::Tensor& cells, std::int64_t batch, std::int64_t units) {
    auto gate_copy = gates.clone(), cell_copy = cells.clone(), scratch = torch::empty({batch * units});
    std::vector<float> hidden(static_cast<std::size_t>(batch * units), -9.0f);
    lstm_cell_step(gate_copy, cell_copy, scratch, hidden.data(), batch, units, units);
    return {{cell_copy.data_ptr<float>(), cell_copy.data_ptr<float>() + batch * units}, hidden};
}

}  // namespace

TEST_CASE("the LSTM cell equals its definition on every kernel, for any width and large inputs") {
    torch::manual_seed(31);
    const auto detected = all_detected();
    // 20 units: one whole vector of 16 and a masked tail of 4.
    for (std::int64_t units : {20, 512, 3}) {
        CAPTURE(units);
        const std::int64_t batch = 3;
        for (double spread : {1.0, 8.0, 200.0}) {  // 200: sigmoids saturate, exp's clamp is reached
            CAPTURE(spread);
            auto gates = torch::randn({batch * 4 * units}).mul(spread);
            auto cells = torch::randn({batch * units}).mul(spread);
            std::vector<float> gate_values(gates.data_ptr<float>(), gates.data_ptr<float>() + gates.numel());
            std::vector<double> expected_cells(cells.data_ptr<float>(), cells.data_ptr<float>() + cells.numel());
            std::vector<double> expected_hidden(expected_cells.size());
            reference_cell(gate_values, expected_cells, expected_hidden, batch, units);
            for (const auto& allowed : {detected, CpuFeatures{}}) {
                restrict_cpu_features(allowed);
                CAPTURE(describe(cpu_features()));
                const auto result = run_cell(gates, cells, batch, units);
                for (std::size_t k = 0; k < expected_cells.size(); ++k) {
                    // float32's rounding of terms up to |c| and 1 in size.
                    CHECK(std::abs(result.cells[k] - expected_cells[k]) <= 1e-6 * (std::abs(expected_cells[k]) + 1));
                    CHECK(std::abs(result.hidden[k] - expected_hidden[k]) <= 1e-6);
                }
            }
            restrict_cpu_features(detected);
        }
    }
}
