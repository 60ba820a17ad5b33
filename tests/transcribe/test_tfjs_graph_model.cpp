// The TF.js graph model reader on small hand-written model.json files: a graph that
// runs, and malformed files whose errors name the file and the first wrong thing.
#include <doctest/doctest.h>

#include "kanade/transcribe/tfjs_graph_model.hpp"
#include "../skip.hpp"

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <fstream>

using namespace kanade::transcribe;

namespace {

struct ModelDir {
    std::filesystem::path dir;
    ModelDir() {
        char name[] = "/tmp/kanade-tfjs-XXXXXX";
        dir = mkdtemp(name);
    }
    ~ModelDir() { std::filesystem::remove_all(dir); }
    std::filesystem::path write(const std::string& json, const std::vector<float>& weights) const {
        std::ofstream(dir / "model.json") << json;
        std::ofstream bin(dir / "w.bin", std::ios::binary);
        bin.write(reinterpret_cast<const char*>(weights.data()), static_cast<std::streamsize>(weights.size() * 4));
        return dir / "model.json";
    }
};

// y = relu(conv(x, w, SAME) + b) on a [1, 1, 3, 1] input with a [1, 2, 1, 1] filter.
const char* const conv_model = R"({
  "format": "graph-model",
  "modelTopology": {"node": [
    {"name": "x", "op": "Placeholder"},
    {"name": "w", "op": "Const"},
    {"name": "b", "op": "Const"},
    {"name": "y", "op": "_FusedConv2D", "input": ["x", "w", "b"], "attr": {
      "padding": {"s": "U0FNRQ=="}, "strides": {"list": {"i": ["1", "1", "1", "1"]}},
      "num_args": {"i": "1"}, "fused_ops": {"list": {"s": ["Qmlhc0FkZA==", "UmVsdQ=="]}}}}
  ]},
  "weightsManifest": [{"paths": ["w.bin"], "weights": [
    {"name": "w", "shape": [1, 2, 1, 1], "dtype": "float32"},
    {"name": "b", "shape": [1], "dtype": "float32"}]}]
})";

std::string load_error(const std::filesystem::path& file) {
    try {
        TfjsGraphModel::load(file);
    } catch (const std::runtime_error& error) {
        return error.what();
    }
    return "";
}

}  // namespace

TEST_CASE("a TF.js graph runs with TensorFlow's SAME padding (the odd pixel after)") {
    ModelDir dir;
    const auto model = TfjsGraphModel::load(dir.write(conv_model, {1.0f, 10.0f, -2.0f}));
    const auto x = torch::tensor({1.0f, 2.0f, 3.0f}).reshape({1, 1, 3, 1});
    const auto y = model.run({{"x", x}}, {"y"})[0].reshape({-1});
    // 1*1+10*2-2, 2+30-2, 3+0-2 (the padding column is after the input)
    CHECK(y[0].item<float>() == doctest::Approx(19.0));
    CHECK(y[1].item<float>() == doctest::Approx(30.0));
    CHECK(y[2].item<float>() == doctest::Approx(1.0));
}

TEST_CASE("a weight of no elements loads as an empty constant, float or int") {
    // Found by fuzz_tfjs_model: an empty tensor's data pointer is null, and copying no
    // bytes to it was undefined behaviour.
    std::string with_empty = conv_model;
    with_empty.replace(with_empty.find(R"({"name": "b", "op": "Const"},)"), 0,
                       R"({"name": "e", "op": "Const"}, {"name": "f", "op": "Const"}, )");
    with_empty.replace(
        with_empty.find(R"({"name": "w", "shape")"), 0,
        R"({"name": "e", "shape": [0], "dtype": "int32"}, {"name": "f", "shape": [2, 0], "dtype": "float32"}, )");
    ModelDir dir;
    const auto model = TfjsGraphModel::load(dir.write(with_empty, {1.0f, 10.0f, -2.0f}));
    CHECK(model.constant("e").numel() == 0);
    const bool read_as_int64 = model.constant("e").scalar_type() == torch::kInt64;
    CHECK(read_as_int64);
    CHECK(model.constant("f").size(0) == 2);
    CHECK(model.constant("f").size(1) == 0);
    CHECK(model.constant("w").reshape({-1})[1].item<float>() == doctest::Approx(10.0));
}

TEST_CASE("malformed TF.js models are refused with the first wrong thing named") {
    ModelDir dir;
    CHECK(load_error(dir.write("{not json", {})).find("not valid JSON") != std::string::npos);
    CHECK(load_error(dir.write(conv_model, {1.0f, 10.0f})).find("needs bytes") != std::string::npos);
    CHECK(load_error(dir.write(conv_model, {1.0f, 10.0f, 2.0f, 4.0f})).find("describes") != std::string::npos);
    std::string unknown_op = conv_model;
    unknown_op.replace(unknown_op.find("_FusedConv2D"), 12, "FancyOp");
    CHECK(load_error(dir.write(unknown_op, {1, 2, 3})).find("unsupported op FancyOp") != std::string::npos);
    std::string dangling = conv_model;
    dangling.replace(dangling.find("[\"x\", \"w\""), 9, "[\"q\", \"w\"");
    CHECK(load_error(dir.write(dangling, {1, 2, 3})).find("input q names no node") != std::string::npos);
    std::string bad_dtype = conv_model;
    bad_dtype.replace(bad_dtype.rfind("float32"), 7, "float16");
    CHECK(load_error(dir.write(bad_dtype, {1, 2, 3})).find("unsupported dtype float16") != std::string::npos);
    const auto error = load_error(dir.write(conv_model, {1.0f}));
    CHECK(error.find("model.json") != std::string::npos);
    CHECK(error.find("weightsManifest[0].weights[0]") != std::string::npos);
    // Found by fuzz_tfjs_model: a value of the wrong JSON type is refused naming the file,
    // not with nlohmann's bare type error.
    const auto wrong_type =
        load_error(dir.write(R"({"format":[{"paths":["group2-shard1of1.bin"],"weights":[]}]})", {}));
    CHECK(wrong_type.find("model.json") != std::string::npos);
    CHECK(wrong_type.find("malformed") != std::string::npos);
}

TEST_CASE("the real Basic Pitch model.json, damaged in many ways, is refused or runs, never crashes") {
    const char* home = std::getenv("HOME");
    const auto installed = std::filesystem::path(home ? home : "/nonexistent") /
                           ".local/share/kanade/basic-pitch/node_modules/@spotify/basic-pitch/model";
    const auto system =
        std::filesystem::path("/usr/local/share/kanade/basic-pitch/node_modules/@spotify/basic-pitch/model");
    const auto source = std::filesystem::exists(installed / "model.json") ? installed : system;
    if (!std::filesystem::exists(source / "model.json")) {
        kanade::test::skip("basic-pitch", "the Basic Pitch model is not installed (" + source.string() + ")");
        return;
    }
    std::ifstream in(source / "model.json");
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto original = nlohmann::json::parse(text);
    ModelDir dir;
    std::filesystem::copy_file(source / "group1-shard1of1.bin", dir.dir / "group1-shard1of1.bin");
    const auto input = torch::zeros({1, 43844, 1});
    int refused = 0;
    auto attempt = [&](const std::string& model_text) {
        std::ofstream(dir.dir / "model.json") << model_text;
        try {
            const auto model = TfjsGraphModel::load(dir.dir / "model.json");
            model.run({{"input_2", input}}, {"Identity", "Identity_1", "Identity_2"});
        } catch (const std::runtime_error& error) {
            CHECK(std::string(error.what()).find("model.json") != std::string::npos);
            ++refused;
        }
    };
    for (int cut = 1; cut < 20; ++cut) attempt(text.substr(0, text.size() * cut / 20));
    const auto& nodes = original["modelTopology"]["node"];
    for (std::size_t i = 0; i < nodes.size(); i += 7) {
        auto damaged = original;
        auto& node = damaged["modelTopology"]["node"][i];
        switch (i % 5) {
            case 0: node["input"] = nlohmann::json::array({node["name"]}); break;  // a cycle
            case 1: node["attr"] = {{"strides", {{"list", {{"i", {"0", "x"}}}}}}, {"padding", {{"s", "!!"}}}}; break;
            case 2:
                if (node.contains("input")) node["input"].erase(0);
                break;
            case 3: node["op"] = "Reshape"; break;
            default: damaged["weightsManifest"][0]["weights"][i % 245]["shape"] = {3, 1}; break;
        }
        attempt(damaged.dump());
    }
    CHECK(refused > 20);
}
