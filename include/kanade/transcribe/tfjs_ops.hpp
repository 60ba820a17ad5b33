// The TensorFlow ops a TensorFlow.js graph model is made of, each computed with libtorch
// under TensorFlow's semantics (NHWC convolutions, SAME padding, strided-slice masks).
// TfjsGraphModel::run calls evaluate_tfjs_op for every node it needs.
#pragma once

#include "kanade/transcribe/tfjs_graph_model.hpp"

#include <vector>

namespace kanade::transcribe {

// Throws std::runtime_error (what is wrong, without the node name: the caller adds it)
// for an unsupported op, a wrong input count or a bad attribute.
torch::Tensor evaluate_tfjs_op(const TfjsNode& node, const std::vector<torch::Tensor>& inputs);

bool is_supported_tfjs_op(const std::string& op);

}  // namespace kanade::transcribe
