// The text header of a model file (see model_file.hpp for the format): read and checked
// without libtorch, line by line, naming the line of the first thing wrong. The weights
// that follow are the loader's business (model_file.cpp).
#pragma once

#include "kanade/model/network_config.hpp"
#include "kanade/music/primer.hpp"
#include "kanade/music/tokenizer.hpp"
#include "kanade/music/vocabulary.hpp"

#include <cstdint>
#include <filesystem>
#include <istream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace kanade::model {

inline constexpr int model_format_version = 2;  // 2: condition embeddings (positions, controls, styles)

class ModelFileError : public std::runtime_error {
public:
    ModelFileError(const std::filesystem::path& file, const std::string& reason);
};

// One `tensor NAME DTYPE SHAPE` line.
struct TensorEntry {
    std::string name;
    std::string dtype;
    std::vector<std::int64_t> shape;
    // Each dimension is at most 2^24 and there are at most 4: saturate instead of wrapping,
    // so no shape can multiply out to a small number that matches a lying data line.
    std::size_t count() const {
        constexpr std::size_t cap = std::size_t{1} << 40;
        std::size_t count = 1;
        for (auto dim : shape) count = std::min(cap, count * static_cast<std::size_t>(dim));
        return count;
    }
    std::size_t bytes() const { return count() * (dtype == "f16" ? 2 : 4); }
};

struct ModelHeader {
    NetworkConfig config;
    std::string tokenizer = "kanade";
    music::GridOptions grid;
    music::Vocabulary vocabulary;
    std::map<std::string, std::string> info;
    std::vector<music::Primer> primers;
    std::vector<TensorEntry> tensors;
    std::size_t data_bytes = 0;
    std::uint32_t data_crc = 0;
    std::size_t data_offset = 0;  // where the weights start in the file
};

// Reads from the start of `in` up to and including the `data` line; `path` names the
// file in errors. Throws ModelFileError.
ModelHeader parse_model_header(std::istream& in, const std::filesystem::path& path);

std::uint32_t crc32(const std::uint8_t* data, std::size_t size, std::uint32_t crc = 0);

}  // namespace kanade::model
