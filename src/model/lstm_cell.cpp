#include "kanade/model/lstm_cell.hpp"

namespace kanade::model {

void lstm_cell_step(torch::Tensor& gates, torch::Tensor& cells, torch::Tensor& scratch, float* hidden,
                    std::int64_t batch, std::int64_t units, std::int64_t hidden_stride) {
    gates.sigmoid_();
    const float* activated = gates.data_ptr<float>();
    float* cell = cells.data_ptr<float>();
    for (std::int64_t b = 0; b < batch; ++b) {
        const float* row = activated + b * 4 * units;
        float* c = cell + b * units;
        for (std::int64_t j = 0; j < units; ++j)
            c[j] = row[units + j] * c[j] + row[j] * (2.0f * row[2 * units + j] - 1.0f);
    }
    at::tanh_out(scratch, cells);
    const float* squashed = scratch.data_ptr<float>();
    for (std::int64_t b = 0; b < batch; ++b) {
        const float* output = activated + b * 4 * units + 3 * units;
        float* h = hidden + b * hidden_stride;
        for (std::int64_t j = 0; j < units; ++j) h[j] = output[j] * squashed[b * units + j];
    }
}

}  // namespace kanade::model
