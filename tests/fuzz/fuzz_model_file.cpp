// libFuzzer harness: a whole .kmodel file as load_model reads it: the text header, its
// claims checked against the file's size, the network built from it, each tensor's name
// and shape, the weights' length, checksum and values. A file either loads into a network
// of the shape its header describes, one that can take a step, or is refused with
// ModelFileError. Built as C++17 with the loader's sources (tests/fuzz/CMakeLists.txt):
// Debian's clang 14 cannot compile libtorch 1.13's headers as C++20.
#include "kanade/model/model_file.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

std::filesystem::path fuzz_file() {
    namespace fs = std::filesystem;
    auto folder = fs::temp_directory_path() / ("kanade-fuzz-model-" + std::to_string(::getpid()));
    fs::create_directories(folder);
    return folder / "fuzz.kmodel";
}

// Mutated weights almost never match the checksum, which would stop every such input
// before the weights are decoded. The same bytes with the data line's checksum made
// right reach that code too; "" when the header does not parse or the checksum is right.
std::string with_checksum_fixed(const std::string& bytes) {
    std::istringstream in(bytes);
    kanade::model::ModelHeader header;
    try {
        header = kanade::model::parse_model_header(in, "fuzz.kmodel");
    } catch (const kanade::model::ModelFileError&) {
        return "";
    }
    if (header.data_offset > bytes.size()) return "";  // the data line has no newline
    const auto* weights = reinterpret_cast<const std::uint8_t*>(bytes.data()) + header.data_offset;
    const auto crc = kanade::model::crc32(weights, std::min(header.data_bytes, bytes.size() - header.data_offset));
    if (crc == header.data_crc) return "";
    const auto data_line = bytes.rfind('\n', header.data_offset - 2) + 1;  // npos + 1 == 0: the first line
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08x", crc);
    return bytes.substr(0, data_line) + "data " + std::to_string(header.data_bytes) + " crc32 " + hex + "\n" +
           bytes.substr(header.data_offset);
}

void load(const std::filesystem::path& path, const std::string& bytes) {
    {
        std::ofstream file(path, std::ios::binary | std::ios::trunc);
        file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    try {
        auto model = kanade::model::load_model(path);
        // What loaded is the network its header describes, and it runs.
        const auto vocab = model.config.vocab_size;
        if (model.network->parameter_count() != kanade::model::parameter_count(model.config)) std::abort();
        if (model.vocabulary.size() != static_cast<std::size_t>(vocab)) std::abort();
        torch::NoGradGuard no_grad;
        auto state = model.network->initial_state(1);
        auto logits = model.network->step(torch::full({1}, vocab - 1, torch::kLong), state);
        if (logits.sizes() != torch::IntArrayRef({1, vocab})) std::abort();
    } catch (const kanade::model::ModelFileError&) {}
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto path = fuzz_file();
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    load(path, bytes);
    const auto fixed = with_checksum_fixed(bytes);
    if (!fixed.empty()) load(path, fixed);
    return 0;
}
