#include "kanade/model/model_file.hpp"

#include "kanade/util/atomic_file.hpp"

#include <array>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace kanade::model {
namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string text;
    for (auto dim : shape) {
        if (!text.empty()) text += ',';
        text += std::to_string(dim);
    }
    return text;
}

Model model_from(const ModelHeader& header) {
    Model model;
    model.config = header.config;
    model.tokenizer = header.tokenizer;
    model.grid = header.grid;
    model.vocabulary = header.vocabulary;
    model.info = header.info;
    model.primers = header.primers;
    return model;
}

ModelHeader read_header(const std::filesystem::path& path, std::ifstream& in) {
    in.open(path, std::ios::binary);
    if (!in) throw ModelFileError(path, "cannot open: " + std::string(std::strerror(errno)));
    return parse_model_header(in, path);
}

}  // namespace

void save_model(const Model& model, const std::filesystem::path& path, WeightStorage storage) {
    const auto& config = model.config;
    config.validate();
    if (model.vocabulary.size() != static_cast<std::size_t>(config.vocab_size))
        throw std::invalid_argument("save_model: vocabulary size does not match vocab_size");
    for (const auto& primer : model.primers)
        for (int id : primer.ids)
            if (id < 0 || id >= config.vocab_size)
                throw std::invalid_argument("save_model: a primer token is outside the vocabulary");

    std::ostringstream header;
    header.imbue(std::locale::classic());
    // A network without conditions is written as format 1 was, so older builds read it.
    header << "kanade-model " << (config.conditioned() || config.window_steps ? model_format_version : 1) << "\n"
           << "arch " << config.arch << "\n"
           << "vocab_size " << config.vocab_size << "\n"
           << "hidden " << config.hidden << "\n"
           << "layers " << config.layers << "\n"
           << "embedding " << config.embedding << "\n"
           << "dropout " << config.dropout << "\n"
           << "activation " << config.activation << "\n"
           << "window " << config.window << "\n";
    if (config.meter_input) header << "meter_input 1\n";
    if (config.control_input) header << "control_input 1\n";
    if (config.styles) header << "styles " << config.styles << "\n";
    if (config.lookback_input) header << "lookback_input 1\n";
    if (config.window_steps) header << "window_steps " << config.window_steps << "\n";
    header << "tokenizer " << model.tokenizer << "\n"
           << "steps_per_beat " << model.grid.steps_per_beat << "\n";
    for (const auto& [key, text] : model.info) {
        std::string single_line = text;
        for (auto& c : single_line)
            if (c == '\n') c = ' ';
        header << "info " << key << " " << single_line << "\n";
    }
    header << "vocab " << model.vocabulary.size() << "\n";
    for (const auto& token : model.vocabulary.tokens()) header << token << "\n";
    for (const auto& primer : model.primers) {
        header << "primer " << primer.bar_steps;
        for (int id : primer.ids) header << " " << id;
        header << "\n";
    }

    std::vector<std::uint8_t> data;
    const char* dtype = storage == WeightStorage::f16 ? "f16" : "f32";
    for (const auto& item : model.network->named_parameters()) {
        auto tensor = item.value().detach().to(torch::kCPU).contiguous();
        tensor = tensor.to(storage == WeightStorage::f16 ? torch::kFloat16 : torch::kFloat32).contiguous();
        header << "tensor " << item.key() << " " << dtype << " " << shape_text(tensor.sizes().vec()) << "\n";
        auto bytes = static_cast<std::size_t>(tensor.numel() * tensor.element_size());
        auto* start = static_cast<const std::uint8_t*>(tensor.data_ptr());
        data.insert(data.end(), start, start + bytes);
    }
    char crc_hex[16];
    std::snprintf(crc_hex, sizeof crc_hex, "%08x", crc32(data.data(), data.size()));
    header << "data " << data.size() << " crc32 " << crc_hex << "\n";

    auto header_text = header.str();
    util::write_file_atomically(path, [&](std::ostream& out) {
        out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
        out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    });
}

Model read_model_header(const std::filesystem::path& path) {
    std::ifstream in;
    return model_from(read_header(path, in));
}

Model load_model(const std::filesystem::path& path) {
    std::ifstream in;
    auto header = read_header(path, in);
    auto model = model_from(header);
    // Before the network is built: could this file hold the weights its header describes,
    // even at 2 bytes each? A 200-byte file must not make us allocate gigabytes.
    std::int64_t implied = 0;
    try {
        implied = parameter_count(model.config);
    } catch (const std::invalid_argument& error) {
        throw ModelFileError(path, error.what());
    }
    std::error_code size_error;
    const auto file_bytes = std::filesystem::file_size(path, size_error);
    const auto weight_bytes = size_error ? 0 : file_bytes - std::min<std::uintmax_t>(file_bytes, header.data_offset);
    // Sizes, not the end the data line implies: offset + a lying size can wrap around.
    if (weight_bytes < header.data_bytes)
        throw ModelFileError(path, "truncated: the data line says " + std::to_string(header.data_bytes) +
                                       " bytes of weights from byte " + std::to_string(header.data_offset) +
                                       ", the file ends at byte " + std::to_string(header.data_offset + weight_bytes));
    if (static_cast<std::uintmax_t>(implied) * 2 > weight_bytes)
        throw ModelFileError(path, "describes a " + model.config.arch + " network of " + std::to_string(implied) +
                                       " weights, but holds only " + std::to_string(weight_bytes) +
                                       " bytes of weights");
    model.network = Network(model.config);

    // The header must name exactly the tensors the described network has, in order.
    auto expected = model.network->named_parameters();
    if (header.tensors.size() != expected.size())
        throw ModelFileError(path, "has " + std::to_string(header.tensors.size()) + " tensors, a " + model.config.arch +
                                       " network of this shape has " + std::to_string(expected.size()));
    std::size_t total = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const auto& entry = header.tensors[i];
        const auto& parameter = expected[i];
        if (entry.name != parameter.key())
            throw ModelFileError(
                path, "tensor " + std::to_string(i) + " is '" + entry.name + "', expected '" + parameter.key() + "'");
        if (entry.shape != parameter.value().sizes().vec())
            throw ModelFileError(path, "tensor '" + entry.name + "' has shape [" + shape_text(entry.shape) +
                                           "], expected [" + shape_text(parameter.value().sizes().vec()) + "]");
        total += entry.bytes();
    }
    if (total != header.data_bytes)
        throw ModelFileError(path, "data line says " + std::to_string(header.data_bytes) + " bytes, the tensors need " +
                                       std::to_string(total));

    std::vector<std::uint8_t> data(total);
    in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(total));
    if (static_cast<std::size_t>(in.gcount()) != total)
        throw ModelFileError(path, "truncated: weights end at byte " +
                                       std::to_string(header.data_offset + static_cast<std::size_t>(in.gcount())) +
                                       " of " + std::to_string(header.data_offset + total));
    if (in.peek() != std::char_traits<char>::eof())
        throw ModelFileError(
            path, "unexpected bytes after the weights at byte " + std::to_string(header.data_offset + total));
    if (crc32(data.data(), data.size()) != header.data_crc)
        throw ModelFileError(path, "weights are corrupt (checksum mismatch)");

    torch::NoGradGuard no_grad;
    std::size_t offset = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const auto& entry = header.tensors[i];
        auto type = entry.dtype == "f16" ? torch::kFloat16 : torch::kFloat32;
        auto stored = torch::from_blob(data.data() + offset, entry.shape, torch::TensorOptions().dtype(type));
        auto values = stored.to(torch::kFloat32);
        if (!torch::isfinite(values).all().item<bool>())
            throw ModelFileError(path, "tensor '" + entry.name + "' holds NaN or infinite values");
        expected[i].value().copy_(values);
        offset += entry.bytes();
    }
    model.network->eval();
    return model;
}

}  // namespace kanade::model
