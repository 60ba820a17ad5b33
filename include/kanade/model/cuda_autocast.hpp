// Mixed precision for training on CUDA: within the scope, libtorch runs the matrix
// products and the LSTM in bfloat16 (autocast); callers take the loss on the logits cast
// to float32. Weights, gradients and Adam's moments stay float32, and bfloat16 has
// float32's range, so the gradients need no loss scaling. Ops on the CPU are not touched.
#pragma once

namespace kanade::model {

class CudaAutocast {
public:
    explicit CudaAutocast(bool enabled);
    ~CudaAutocast();
    CudaAutocast(const CudaAutocast&) = delete;
    CudaAutocast& operator=(const CudaAutocast&) = delete;

private:
    bool enabled_;
};

}  // namespace kanade::model
