#include "kanade/transcribe/tfjs_ops.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>

namespace kanade::transcribe {

namespace {

using Inputs = std::vector<torch::Tensor>;

std::string base64_decode(const std::string& text) {
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    int bits = 0, value = 0;
    for (const char c : text) {
        if (c == '=') break;
        const auto digit = alphabet.find(c);
        if (digit == std::string::npos) throw std::runtime_error("attribute is not base64");
        value = (value << 6) | static_cast<int>(digit);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((value >> bits) & 0xff));
        }
    }
    return out;
}

const nlohmann::json* attribute(const TfjsNode& node, const char* key) {
    if (!node.attributes.is_object() || !node.attributes.contains(key)) return nullptr;
    return &node.attributes.at(key);
}

std::int64_t parse_int(const nlohmann::json& value, const char* key) {
    if (value.is_number_integer()) return value.get<std::int64_t>();
    if (value.is_string()) {
        try {
            std::size_t used = 0;
            const auto parsed = std::stoll(value.get<std::string>(), &used);
            if (used == value.get<std::string>().size()) return parsed;
        } catch (const std::exception&) {}
    }
    throw std::runtime_error(std::string("attribute ") + key + " is not an integer");
}

std::int64_t int_attribute(const TfjsNode& node, const char* key, std::int64_t fallback) {
    const auto* value = attribute(node, key);
    if (!value) return fallback;
    if (!value->is_object() || !value->contains("i"))
        throw std::runtime_error(std::string("attribute ") + key + " has no \"i\"");
    return parse_int(value->at("i"), key);
}

std::string string_attribute(const TfjsNode& node, const char* key, const std::string& fallback) {
    const auto* value = attribute(node, key);
    if (!value) return fallback;
    if (!value->is_object() || !value->contains("s") || !value->at("s").is_string())
        throw std::runtime_error(std::string("attribute ") + key + " has no string \"s\"");
    return base64_decode(value->at("s").get<std::string>());
}

const nlohmann::json* list_attribute(const TfjsNode& node, const char* key, const char* kind) {
    const auto* value = attribute(node, key);
    if (!value) return nullptr;
    if (!value->is_object() || !value->contains("list") || !value->at("list").is_object())
        throw std::runtime_error(std::string("attribute ") + key + " is not a list");
    const auto& list = value->at("list");
    if (!list.contains(kind)) return nullptr;
    if (!list.at(kind).is_array()) throw std::runtime_error(std::string("attribute ") + key + " is not a list");
    return &list.at(kind);
}

std::vector<std::int64_t> ints_attribute(const TfjsNode& node, const char* key) {
    std::vector<std::int64_t> out;
    if (const auto* list = list_attribute(node, key, "i"))
        for (const auto& v : *list) out.push_back(parse_int(v, key));
    return out;
}

std::vector<std::string> strings_attribute(const TfjsNode& node, const char* key) {
    std::vector<std::string> out;
    if (const auto* list = list_attribute(node, key, "s"))
        for (const auto& v : *list) {
            if (!v.is_string()) throw std::runtime_error(std::string("attribute ") + key + " holds a non-string");
            out.push_back(base64_decode(v.get<std::string>()));
        }
    return out;
}

void expect_inputs(const Inputs& inputs, std::size_t count) {
    if (inputs.size() != count)
        throw std::runtime_error("expects " + std::to_string(count) + " inputs, has " + std::to_string(inputs.size()));
}

std::vector<std::int64_t> to_ints(const torch::Tensor& tensor, const char* what) {
    if (tensor.scalar_type() != torch::kInt64 || tensor.dim() > 1)
        throw std::runtime_error(std::string(what) + " is not an int vector");
    const auto flat = tensor.reshape({-1}).contiguous();
    return {flat.data_ptr<std::int64_t>(), flat.data_ptr<std::int64_t>() + flat.numel()};
}

std::int64_t normalise_axis(std::int64_t axis, std::int64_t rank, const char* what) {
    if (axis < -rank || axis >= rank) throw std::runtime_error(std::string(what) + " axis out of range");
    return axis < 0 ? axis + rank : axis;
}

// TF's SAME padding: total = max((ceil(in / stride) - 1) * stride + extent - in, 0), the
// odd pixel after.
std::pair<std::int64_t, std::int64_t> same_padding(std::int64_t in, std::int64_t kernel, std::int64_t stride,
                                                   std::int64_t dilation) {
    const std::int64_t extent = (kernel - 1) * dilation + 1;
    const std::int64_t out = (in + stride - 1) / stride;
    const std::int64_t total = std::max<std::int64_t>((out - 1) * stride + extent - in, 0);
    return {total / 2, total - total / 2};
}

torch::Tensor conv2d(const TfjsNode& node, const torch::Tensor& input, const torch::Tensor& filter) {
    if (string_attribute(node, "data_format", "NHWC") != "NHWC") throw std::runtime_error("only NHWC is supported");
    if (input.dim() != 4 || filter.dim() != 4) throw std::runtime_error("input and filter must be 4-D");
    if (input.scalar_type() != torch::kFloat32 || filter.scalar_type() != torch::kFloat32)
        throw std::runtime_error("input and filter must be float32");
    if (input.size(3) != filter.size(2)) throw std::runtime_error("input channels do not match the filter");
    auto strides = ints_attribute(node, "strides");
    auto dilations = ints_attribute(node, "dilations");
    if (strides.empty()) strides = {1, 1, 1, 1};
    if (dilations.empty()) dilations = {1, 1, 1, 1};
    if (strides.size() != 4 || dilations.size() != 4 || strides[1] < 1 || strides[2] < 1 || dilations[1] < 1 ||
        dilations[2] < 1 || strides[0] != 1 || strides[3] != 1)
        throw std::runtime_error("bad strides or dilations");
    const std::string padding = string_attribute(node, "padding", "VALID");
    auto x = input.permute({0, 3, 1, 2});
    const auto weight = filter.permute({3, 2, 0, 1}).contiguous();
    if (padding == "SAME") {
        const auto [top, bottom] = same_padding(x.size(2), weight.size(2), strides[1], dilations[1]);
        const auto [left, right] = same_padding(x.size(3), weight.size(3), strides[2], dilations[2]);
        if (top || bottom || left || right) x = torch::constant_pad_nd(x, {left, right, top, bottom}, 0.0);
    } else if (padding != "VALID") {
        throw std::runtime_error("unsupported padding " + padding);
    }
    const std::vector<std::int64_t> stride{strides[1], strides[2]}, dilation{dilations[1], dilations[2]}, zero{0, 0};
    const auto y = torch::conv2d(x, weight, c10::optional<torch::Tensor>(), stride, zero, dilation);
    return y.permute({0, 2, 3, 1});
}

torch::Tensor strided_slice(const TfjsNode& node, const Inputs& in) {
    expect_inputs(in, 4);
    const auto begin = to_ints(in[1], "begin"), end = to_ints(in[2], "end"), strides = to_ints(in[3], "strides");
    if (begin.size() != end.size() || begin.size() != strides.size())
        throw std::runtime_error("begin, end and strides differ in length");
    if (int_attribute(node, "ellipsis_mask", 0) != 0) throw std::runtime_error("ellipsis_mask is not supported");
    const auto begin_mask = int_attribute(node, "begin_mask", 0), end_mask = int_attribute(node, "end_mask", 0);
    const auto new_axis_mask = int_attribute(node, "new_axis_mask", 0);
    const auto shrink_mask = int_attribute(node, "shrink_axis_mask", 0);
    auto x = in[0];
    std::int64_t dim = 0;
    for (std::size_t i = 0; i < begin.size() && i < 62; ++i) {
        const std::int64_t bit = std::int64_t{1} << i;
        if (new_axis_mask & bit) {
            x = x.unsqueeze(dim++);
            continue;
        }
        if (dim >= x.dim()) throw std::runtime_error("slice has more dimensions than its input");
        const std::int64_t size = x.size(dim), stride = strides[i];
        if (stride == 0) throw std::runtime_error("stride 0");
        auto clamp_index = [&](std::int64_t v) {
            if (v < 0) v += size;
            return stride > 0 ? std::clamp<std::int64_t>(v, 0, size) : std::clamp<std::int64_t>(v, -1, size - 1);
        };
        if (shrink_mask & bit) {
            std::int64_t b = begin[i] < 0 ? begin[i] + size : begin[i];
            if (b < 0 || b >= size) throw std::runtime_error("shrink index out of range");
            x = x.select(dim, b);
            continue;
        }
        const std::int64_t b = (begin_mask & bit) ? (stride > 0 ? 0 : size - 1) : clamp_index(begin[i]);
        const std::int64_t e = (end_mask & bit) ? (stride > 0 ? size : -1) : clamp_index(end[i]);
        if (stride > 0) {
            x = x.slice(dim, b, std::max(b, e), stride);
        } else {
            const std::int64_t count = b > e ? (b - e + (-stride) - 1) / (-stride) : 0;
            const auto indices = torch::arange(0, count, torch::kInt64) * stride + b;
            x = x.index_select(dim, indices);
        }
        ++dim;
    }
    return x;
}

torch::Tensor pad(const Inputs& in, bool reflect) {
    expect_inputs(in, 2);
    const auto& x = in[0];
    const auto paddings = to_ints(in[1].reshape({-1}), "paddings");
    if (in[1].dim() != 2 || in[1].size(0) != x.dim() || in[1].size(1) != 2)
        throw std::runtime_error("paddings must be [rank, 2]");
    if (!reflect) {
        std::vector<std::int64_t> torch_pad;
        for (std::int64_t d = x.dim() - 1; d >= 0; --d) {
            if (paddings[2 * d] < 0 || paddings[2 * d + 1] < 0) throw std::runtime_error("negative padding");
            torch_pad.push_back(paddings[2 * d]);
            torch_pad.push_back(paddings[2 * d + 1]);
        }
        return torch::constant_pad_nd(x, torch_pad, 0.0);
    }
    auto y = x;
    for (std::int64_t d = 0; d < x.dim(); ++d) {
        const std::int64_t before = paddings[2 * d], after = paddings[2 * d + 1], size = x.size(d);
        if (before == 0 && after == 0) continue;
        if (before < 0 || after < 0 || before >= size || after >= size)
            throw std::runtime_error("reflect padding must be smaller than the dimension");
        // Indices -before..size+after-1 reflected about the edges (edge not repeated).
        auto indices = torch::arange(-before, size + after, torch::kInt64);
        indices = torch::where(indices < 0, -indices, indices);
        indices = torch::where(indices >= size, 2 * (size - 1) - indices, indices);
        y = y.index_select(d, indices);
    }
    return y;
}

torch::Tensor reduce(const TfjsNode& node, const Inputs& in) {
    expect_inputs(in, 2);
    auto axes = to_ints(in[1], "reduction axes");
    for (auto& axis : axes) axis = normalise_axis(axis, in[0].dim(), "reduction");
    bool keep = false;
    if (const auto* value = attribute(node, "keep_dims")) {
        if (!value->is_object() || !value->contains("b") || !value->at("b").is_boolean())
            throw std::runtime_error("keep_dims is not a bool");
        keep = value->at("b").get<bool>();
    }
    if (node.op == "Sum") return in[0].sum(axes, keep);
    if (node.op == "Max") return in[0].amax(axes, keep);
    return in[0].amin(axes, keep);
}

torch::Tensor unary(const TfjsNode& node, const Inputs& in) {
    expect_inputs(in, 1);
    const auto& x = in[0];
    if (node.op == "Identity") return x;
    if (node.op == "Neg") return -x;
    if (node.op == "Square") return x * x;
    if (node.op == "Sqrt") return x.sqrt();
    if (node.op == "Log") return x.log();
    if (node.op == "Sigmoid") return x.sigmoid();
    if (node.op == "Relu") return x.relu();
    if (node.op == "Shape") return torch::tensor(x.sizes().vec(), torch::kInt64);
    // Squeeze
    auto dims = ints_attribute(node, "squeeze_dims");
    if (dims.empty()) return x.squeeze();
    for (auto& d : dims) d = normalise_axis(d, x.dim(), "squeeze");
    std::sort(dims.rbegin(), dims.rend());
    auto y = x;
    for (const auto d : dims) {
        if (y.size(d) != 1) throw std::runtime_error("squeezed dimension is not 1");
        y = y.squeeze(d);
    }
    return y;
}

torch::Tensor binary(const TfjsNode& node, const Inputs& in) {
    expect_inputs(in, 2);
    const auto& a = in[0];
    const auto& b = in[1];
    if (node.op == "Add" || node.op == "AddV2" || node.op == "BiasAdd") return a + b;
    if (node.op == "Sub") return a - b;
    if (node.op == "Mul") return a * b;
    // DivNoNan: 0 where the divisor is 0
    return torch::where(b == 0, torch::zeros_like(a * b), a / b);
}

torch::Tensor fused_conv2d(const TfjsNode& node, const Inputs& in) {
    const auto fused = strings_attribute(node, "fused_ops");
    const auto extra = int_attribute(node, "num_args", 0);
    if (fused.empty() || fused[0] != "BiasAdd" || extra != 1 || fused.size() > 2 ||
        (fused.size() == 2 && fused[1] != "Relu"))
        throw std::runtime_error("only BiasAdd[, Relu] fusions are supported");
    expect_inputs(in, 3);
    if (in[2].dim() != 1 || in[2].size(0) != in[1].size(3)) throw std::runtime_error("bias does not match filters");
    auto y = conv2d(node, in[0], in[1]) + in[2];
    return fused.size() == 2 ? y.relu() : y;
}

}  // namespace

bool is_supported_tfjs_op(const std::string& op) {
    static const std::set<std::string> ops = {
        "Const",     "Placeholder", "Identity",   "Shape",   "StridedSlice", "Pack",         "Reshape", "Pad",
        "MirrorPad", "Transpose",   "ExpandDims", "Squeeze", "Conv2D",       "_FusedConv2D", "Neg",     "Square",
        "Sqrt",      "Log",         "Sigmoid",    "Relu",    "Add",          "AddV2",        "BiasAdd", "Sub",
        "Mul",       "DivNoNan",    "Sum",        "Max",     "Min",          "ConcatV2"};
    return ops.count(op) != 0;
}

torch::Tensor evaluate_tfjs_op(const TfjsNode& node, const Inputs& in) {
    const std::string& op = node.op;
    for (const auto& tensor : in)
        if (!tensor.defined()) throw std::runtime_error("an input has no value");
    if (op == "Identity" || op == "Neg" || op == "Square" || op == "Sqrt" || op == "Log" || op == "Sigmoid" ||
        op == "Relu" || op == "Shape" || op == "Squeeze")
        return unary(node, in);
    if (op == "Add" || op == "AddV2" || op == "BiasAdd" || op == "Sub" || op == "Mul" || op == "DivNoNan")
        return binary(node, in);
    if (op == "Sum" || op == "Max" || op == "Min") return reduce(node, in);
    if (op == "StridedSlice") return strided_slice(node, in);
    if (op == "Pad") return pad(in, false);
    if (op == "MirrorPad") {
        const auto mode = string_attribute(node, "mode", "");
        if (mode != "REFLECT") throw std::runtime_error("only REFLECT mirror padding is supported, not " + mode);
        return pad(in, true);
    }
    if (op == "Conv2D") {
        expect_inputs(in, 2);
        return conv2d(node, in[0], in[1]);
    }
    if (op == "_FusedConv2D") return fused_conv2d(node, in);
    if (op == "Transpose") {
        expect_inputs(in, 2);
        const auto perm = to_ints(in[1], "perm");
        if (static_cast<std::int64_t>(perm.size()) != in[0].dim()) throw std::runtime_error("perm does not match rank");
        return in[0].permute(perm);
    }
    if (op == "ExpandDims") {
        expect_inputs(in, 2);
        const auto axis = to_ints(in[1], "axis");
        if (axis.size() != 1) throw std::runtime_error("axis must be one value");
        return in[0].unsqueeze(normalise_axis(axis[0], in[0].dim() + 1, "ExpandDims"));
    }
    if (op == "Reshape") {
        expect_inputs(in, 2);
        return in[0].reshape(to_ints(in[1], "shape"));
    }
    if (op == "Pack" || op == "ConcatV2") {
        if (in.size() < (op == "Pack" ? 1u : 2u)) throw std::runtime_error("too few inputs");
        std::vector<torch::Tensor> parts(in.begin(), op == "Pack" ? in.end() : in.end() - 1);
        if (op == "Pack") {
            const auto axis = normalise_axis(int_attribute(node, "axis", 0), parts[0].dim() + 1, "Pack");
            return torch::stack(parts, axis);
        }
        const auto axis = to_ints(in.back(), "axis");
        if (axis.size() != 1) throw std::runtime_error("axis must be one value");
        return torch::cat(parts, normalise_axis(axis[0], parts[0].dim(), "ConcatV2"));
    }
    throw std::runtime_error("unsupported op " + op);
}

}  // namespace kanade::transcribe
