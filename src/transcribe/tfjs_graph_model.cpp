#include "kanade/transcribe/tfjs_graph_model.hpp"

#include "kanade/transcribe/tfjs_ops.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kanade::transcribe {

namespace {

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
    throw std::runtime_error(file.string() + ": " + what);
}

std::vector<char> read_bytes(const std::filesystem::path& file, const std::filesystem::path& from) {
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(from, "cannot open weights file " + file.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// `where` is a view: GCC 14 (-Wdangling-reference) takes a temporary std::string argument
// for what the returned reference might point into.
const nlohmann::json& member(const nlohmann::json& object, const char* key, const std::filesystem::path& file,
                             std::string_view where) {
    if (!object.is_object() || !object.contains(key)) fail(file, std::string(where) + ": missing key \"" + key + "\"");
    return object.at(key);
}

// "a/b:0" and "^a" (control dependency) both name node "a/b" / "a".
std::string input_node_name(const std::string& input) {
    std::string name = input;
    if (!name.empty() && name[0] == '^') name.erase(0, 1);
    const auto colon = name.rfind(':');
    if (colon != std::string::npos) name.erase(colon);
    return name;
}

}  // namespace

TfjsGraphModel TfjsGraphModel::load(const std::filesystem::path& model_json) {
    // A value of the wrong JSON type anywhere (found by fuzz_tfjs_model: "format": [])
    // makes nlohmann throw its own type error: name the file like every other refusal.
    try {
        return load_unchecked(model_json);
    } catch (const nlohmann::json::exception& error) {
        fail(model_json, std::string("malformed: ") + error.what());
    }
}

TfjsGraphModel TfjsGraphModel::load_unchecked(const std::filesystem::path& model_json) {
    TfjsGraphModel model;
    model.path_ = model_json;
    std::ifstream in(model_json);
    if (!in) fail(model_json, "cannot open");
    nlohmann::json root;
    try {
        root = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& error) {
        fail(model_json, std::string("not valid JSON: ") + error.what());
    }
    if (!root.is_object()) fail(model_json, "top level is not an object");
    if (root.value("format", std::string()) != "graph-model" && root.contains("format") && root["format"].is_string())
        fail(model_json, "\"format\" is \"" + root["format"].get<std::string>() + "\", expected \"graph-model\"");

    // Nodes: names first, so that inputs can be resolved in any order.
    const auto& topology = member(root, "modelTopology", model_json, "top level");
    const auto& nodes = member(topology, "node", model_json, "modelTopology");
    if (!nodes.is_array()) fail(model_json, "modelTopology.node is not an array");
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const std::string where = "modelTopology.node[" + std::to_string(i) + "]";
        const auto& name = member(nodes[i], "name", model_json, where);
        const auto& op = member(nodes[i], "op", model_json, where);
        if (!name.is_string() || !op.is_string()) fail(model_json, where + ": name/op not strings");
        TfjsNode node{name.get<std::string>(), op.get<std::string>(), {}, nlohmann::json::object()};
        if (!is_supported_tfjs_op(node.op)) fail(model_json, where + " (" + node.name + "): unsupported op " + node.op);
        if (nodes[i].contains("attr")) {
            if (!nodes[i]["attr"].is_object()) fail(model_json, where + ": attr is not an object");
            node.attributes = nodes[i]["attr"];
        }
        if (!model.index_.emplace(node.name, static_cast<int>(i)).second)
            fail(model_json, where + ": duplicate node name " + node.name);
        model.nodes_.push_back(std::move(node));
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (!nodes[i].contains("input")) continue;
        const auto& inputs = nodes[i]["input"];
        const std::string where = "modelTopology.node[" + std::to_string(i) + "] (" + model.nodes_[i].name + ")";
        if (!inputs.is_array()) fail(model_json, where + ": input is not an array");
        for (const auto& input : inputs) {
            if (!input.is_string()) fail(model_json, where + ": an input is not a string");
            const std::string raw = input.get<std::string>();
            if (!raw.empty() && raw[0] == '^') continue;  // control dependency: no data
            const auto found = model.index_.find(input_node_name(raw));
            if (found == model.index_.end()) fail(model_json, where + ": input " + raw + " names no node");
            model.nodes_[i].inputs.push_back(found->second);
        }
    }

    // Weights: the groups' files concatenated, read in manifest order.
    const auto& manifest = member(root, "weightsManifest", model_json, "top level");
    if (!manifest.is_array()) fail(model_json, "weightsManifest is not an array");
    for (std::size_t g = 0; g < manifest.size(); ++g) {
        const std::string where = "weightsManifest[" + std::to_string(g) + "]";
        const auto& paths = member(manifest[g], "paths", model_json, where);
        const auto& weights = member(manifest[g], "weights", model_json, where);
        if (!paths.is_array() || !weights.is_array()) fail(model_json, where + ": paths/weights not arrays");
        std::vector<char> data;
        std::string files;
        for (const auto& p : paths) {
            if (!p.is_string()) fail(model_json, where + ".paths: not a string");
            const auto file = model_json.parent_path() / p.get<std::string>();
            const auto bytes = read_bytes(file, model_json);
            data.insert(data.end(), bytes.begin(), bytes.end());
            files += (files.empty() ? "" : "+") + file.string();
        }
        std::size_t offset = 0;
        for (std::size_t w = 0; w < weights.size(); ++w) {
            const std::string wwhere = where + ".weights[" + std::to_string(w) + "]";
            const auto& spec = weights[w];
            const auto& name = member(spec, "name", model_json, wwhere);
            const auto& shape = member(spec, "shape", model_json, wwhere);
            const auto& dtype = member(spec, "dtype", model_json, wwhere);
            if (!name.is_string() || !shape.is_array() || !dtype.is_string())
                fail(model_json, wwhere + ": name/shape/dtype of the wrong type");
            const std::string wname = name.get<std::string>();
            if (spec.contains("quantization"))
                fail(model_json, wwhere + " (" + wname + "): quantized weights are not supported");
            std::vector<std::int64_t> sizes;
            std::int64_t count = 1;
            for (const auto& d : shape) {
                if (!d.is_number_integer() || d.get<std::int64_t>() < 0 || d.get<std::int64_t>() > (1 << 28))
                    fail(model_json, wwhere + " (" + wname + "): bad dimension in shape");
                sizes.push_back(d.get<std::int64_t>());
                count *= sizes.back();
                if (count > (std::int64_t{1} << 30)) fail(model_json, wwhere + " (" + wname + "): too many elements");
            }
            const std::string type = dtype.get<std::string>();
            if (type != "float32" && type != "int32")
                fail(model_json, wwhere + " (" + wname + "): unsupported dtype " + type);
            const std::size_t bytes = static_cast<std::size_t>(count) * 4;
            if (offset + bytes > data.size())
                fail(model_json, wwhere + " (" + wname + "): needs bytes " + std::to_string(offset) + ".." +
                                     std::to_string(offset + bytes) + " but " + files + " has " +
                                     std::to_string(data.size()));
            torch::Tensor tensor;
            // An empty tensor's data pointer may be null, and memcpy must not see one.
            if (type == "float32") {
                tensor = torch::empty(sizes, torch::kFloat32);
                if (bytes > 0) std::memcpy(tensor.data_ptr<float>(), data.data() + offset, bytes);
            } else {
                auto ints = torch::empty(sizes, torch::kInt32);
                if (bytes > 0) std::memcpy(ints.data_ptr<std::int32_t>(), data.data() + offset, bytes);
                tensor = ints.to(torch::kInt64);
            }
            offset += bytes;
            if (!model.index_.count(wname))
                fail(model_json, wwhere + ": weight " + wname + " names no node of the graph");
            model.constants_[wname] = tensor;
        }
        if (offset != data.size())
            fail(model_json, where + ": " + files + " has " + std::to_string(data.size()) +
                                 " bytes, the manifest describes " + std::to_string(offset));
    }
    for (const auto& node : model.nodes_)
        if (node.op == "Const" && !model.constants_.count(node.name))
            fail(model_json, "Const node " + node.name + " has no weight in weightsManifest");
    return model;
}

const torch::Tensor& TfjsGraphModel::constant(const std::string& name) const {
    const auto found = constants_.find(name);
    if (found == constants_.end()) fail(path_, "no constant named " + name);
    return found->second;
}

std::vector<torch::Tensor> TfjsGraphModel::run(const std::map<std::string, torch::Tensor>& inputs,
                                               const std::vector<std::string>& outputs) const {
    // Iterative depth-first evaluation (a graph may be deep; a cycle is an error).
    std::vector<torch::Tensor> values(nodes_.size());
    std::vector<char> state(nodes_.size(), 0);  // 0 new, 1 on the stack, 2 done
    std::vector<torch::Tensor> results;
    for (const auto& output : outputs) {
        const auto found = index_.find(output);
        if (found == index_.end()) fail(path_, "no output node named " + output);
        std::vector<std::pair<int, std::size_t>> stack{{found->second, 0}};
        while (!stack.empty()) {
            auto& [index, next_input] = stack.back();
            const TfjsNode& node = nodes_[index];
            if (state[index] == 2) {
                stack.pop_back();
                continue;
            }
            state[index] = 1;
            if (next_input < node.inputs.size()) {
                const int input = node.inputs[next_input++];
                if (state[input] == 1) fail(path_, "the graph has a cycle through node " + nodes_[input].name);
                if (state[input] == 0) stack.emplace_back(input, 0);
                continue;
            }
            try {
                if (node.op == "Const") {
                    values[index] = constants_.at(node.name);
                } else if (node.op == "Placeholder") {
                    const auto fed = inputs.find(node.name);
                    if (fed == inputs.end()) throw std::runtime_error("placeholder not fed");
                    values[index] = fed->second;
                } else {
                    std::vector<torch::Tensor> arguments;
                    arguments.reserve(node.inputs.size());
                    for (const int input : node.inputs) arguments.push_back(values[input]);
                    values[index] = evaluate_tfjs_op(node, arguments);
                }
            } catch (const std::exception& error) {
                fail(path_, "node " + node.name + " (" + node.op + "): " + error.what());
            }
            state[index] = 2;
            stack.pop_back();
        }
        results.push_back(values[found->second]);
    }
    return results;
}

}  // namespace kanade::transcribe
