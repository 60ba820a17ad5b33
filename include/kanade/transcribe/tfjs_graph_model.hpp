// A TensorFlow.js graph model (model.json + its weights files) read without TensorFlow:
// the graph's nodes, their attributes and the constant tensors, checked on load, and an
// interpreter that runs the graph's ops with libtorch. Used to run Basic Pitch exactly
// as Spotify ships it; supports the op set such converted Keras models use.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kanade::transcribe {

struct TfjsNode {
    std::string name;
    std::string op;
    std::vector<int> inputs;    // indices into TfjsGraphModel::nodes()
    nlohmann::json attributes;  // the node's "attr" object as model.json has it
};

class TfjsGraphModel {
public:
    // Throws std::runtime_error naming the file and the first wrong thing (key, weight
    // name, byte offset) when model.json or a weights file is malformed.
    static TfjsGraphModel load(const std::filesystem::path& model_json);

    const std::vector<TfjsNode>& nodes() const { return nodes_; }
    // A constant tensor by its node name (float32 or int64 for int32 data).
    const torch::Tensor& constant(const std::string& name) const;
    bool has_node(const std::string& name) const { return index_.count(name) != 0; }

    // Feeds the placeholders by name and returns the named nodes' values, computing only
    // what they depend on. Throws std::runtime_error naming the node that failed.
    std::vector<torch::Tensor> run(const std::map<std::string, torch::Tensor>& inputs,
                                   const std::vector<std::string>& outputs) const;

private:
    // load() without turning nlohmann's type errors into named ones.
    static TfjsGraphModel load_unchecked(const std::filesystem::path& model_json);

    std::filesystem::path path_;
    std::vector<TfjsNode> nodes_;
    std::map<std::string, int> index_;
    std::map<std::string, torch::Tensor> constants_;
};

}  // namespace kanade::transcribe
