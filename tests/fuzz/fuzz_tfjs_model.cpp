// libFuzzer harness: Basic Pitch's TensorFlow.js model.json, as TfjsGraphModel::load
// reads it (JSON, graph nodes and attributes, the weights manifest, then the weights
// file it names). A text either loads or gives std::runtime_error naming what is wrong.
// The real weights file is linked beside each input when it is installed, so mutations
// of the real model.json reach the weight checks. Built as C++17: Debian's clang 14
// cannot compile libtorch 1.13's headers as C++20.
#include "kanade/transcribe/tfjs_graph_model.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::filesystem::path fuzz_folder() {
    namespace fs = std::filesystem;
    auto folder = fs::temp_directory_path() / ("kanade-fuzz-tfjs-" + std::to_string(::getpid()));
    fs::create_directories(folder);
    std::vector<fs::path> installed = {"/usr/local/share/kanade/basic-pitch"};
    if (const char* home = std::getenv("HOME")) installed.push_back(fs::path(home) / ".local/share/kanade/basic-pitch");
    for (const auto& place : installed) {
        auto weights = place / "node_modules/@spotify/basic-pitch/model/group1-shard1of1.bin";
        std::error_code ignored;
        if (fs::exists(weights) && !fs::exists(folder / "group1-shard1of1.bin"))
            fs::create_symlink(weights, folder / "group1-shard1of1.bin", ignored);
    }
    return folder;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto folder = fuzz_folder();
    const auto model_json = folder / "model.json";
    {
        std::ofstream file(model_json, std::ios::binary | std::ios::trunc);
        file.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    try {
        auto model = kanade::transcribe::TfjsGraphModel::load(model_json);
        (void)model.nodes().size();
    } catch (const std::runtime_error&) {}
    return 0;
}
