// A model file holds everything needed to play: format version, architecture and
// hyper-parameters, tokenizer and vocabulary, and the weights. It opens with a text
// header anyone can read with `head`:
//
//   kanade-model 1
//   arch seed            (then the other hyper-parameters, one `key value` a line)
//   info trained_on ...  (free-form facts about how it was made)
//   vocab 303            (then one token a line)
//   primer 16 7 120 ...  (optional, one a line: a bar length in steps, then token ids)
//   tensor lstm1.weight_ih f16 2048,1   (one line a tensor, in order)
//   data 6614622 crc32 1a2b3c4d
//
// followed by the raw little-endian tensor data. The loader checks the magic, version,
// every value, each tensor's name and shape against the network the header describes,
// the data length and its checksum, and names the first thing wrong.
#pragma once

#include "kanade/model/model_header.hpp"
#include "kanade/model/network.hpp"
#include "kanade/music/tokenizer.hpp"
#include "kanade/music/vocabulary.hpp"

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>

namespace kanade::model {

struct Model {
    NetworkConfig config;
    std::string tokenizer = "kanade";
    music::GridOptions grid;
    music::Vocabulary vocabulary;
    std::map<std::string, std::string> info;  // how it was made: corpus, command, metrics
    std::vector<music::Primer> primers;       // what a session given no prompt starts from
    Network network{nullptr};
};

enum class WeightStorage { f32, f16 };

void save_model(const Model& model, const std::filesystem::path& path, WeightStorage storage = WeightStorage::f16);
// Weights load as float32 on the CPU; move the network with ->to(device) afterwards.
Model load_model(const std::filesystem::path& path);

// The header alone (no weights), for `kanade model-info` and quick checks.
Model read_model_header(const std::filesystem::path& path);

}  // namespace kanade::model
