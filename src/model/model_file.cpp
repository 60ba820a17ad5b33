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

constexpr std::size_t max_header_bytes = 16u << 20;
constexpr std::size_t max_vocabulary = 100000;

std::uint32_t crc32(const std::uint8_t* data, std::size_t size, std::uint32_t crc = 0) {
    static const auto table = [] {
        std::array<std::uint32_t, 256> entries{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t value = i;
            for (int bit = 0; bit < 8; ++bit) value = (value & 1) ? 0xEDB88320u ^ (value >> 1) : value >> 1;
            entries[i] = value;
        }
        return entries;
    }();
    crc = ~crc;
    for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string text;
    for (auto dim : shape) text += (text.empty() ? "" : ",") + std::to_string(dim);
    return text;
}

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

struct Header {
    Model model;
    std::vector<TensorEntry> tensors;
    std::size_t data_bytes = 0;
    std::uint32_t data_crc = 0;
    std::size_t data_offset = 0;  // where the weights start in the file
};

// Reads the header line by line; every error names the line.
class HeaderParser {
public:
    HeaderParser(const std::filesystem::path& path, std::istream& in) : path_(path), in_(in) {}

    Header parse() {
        Header header;
        auto first = next_line();
        if (first.rfind("kanade-model ", 0) != 0) fail("not a kanade model file (bad magic)");
        int version = to_int(first.substr(13), "format version");
        if (version < 1 || version > model_format_version)
            fail("format version " + std::to_string(version) + " is not supported (this build reads up to " +
                 std::to_string(model_format_version) + ")");
        auto& config = header.model.config;
        bool have_arch = false, have_vocab_size = false;
        while (true) {
            auto line = next_line();
            auto [key, value] = split(line);
            if (key == "arch") { config.arch = value; have_arch = true; }
            else if (key == "vocab_size") { config.vocab_size = to_int(value, key); have_vocab_size = true; }
            else if (key == "hidden") config.hidden = to_int(value, key);
            else if (key == "layers") config.layers = to_int(value, key);
            else if (key == "embedding") config.embedding = to_int(value, key);
            else if (key == "dropout") config.dropout = to_double(value, key);
            else if (key == "activation") config.activation = value;
            else if (key == "window") config.window = to_int(value, key);
            else if (key == "tokenizer") header.model.tokenizer = value;
            else if (key == "steps_per_beat") header.model.grid.steps_per_beat = to_int(value, key);
            else if (key == "info") {
                auto [name, text] = split(value);
                header.model.info[name] = text;
            } else if (key == "vocab") {
                read_vocabulary(header, to_int(value, key));
            } else if (key == "tensor") {
                header.tensors.push_back(parse_tensor(value));
            } else if (key == "data") {
                parse_data(value, header);
                break;
            } else {
                fail("unknown key '" + key + "'");
            }
        }
        if (!have_arch) fail("no 'arch' line");
        if (!have_vocab_size) fail("no 'vocab_size' line");
        try {
            config.validate();
            music::make_tokenizer(header.model.tokenizer, header.model.grid);
        } catch (const std::invalid_argument& error) {
            fail(error.what());
        }
        if (header.model.vocabulary.size() != static_cast<std::size_t>(config.vocab_size))
            fail("vocabulary has " + std::to_string(header.model.vocabulary.size()) + " tokens but vocab_size is " +
                 std::to_string(config.vocab_size));
        header.data_offset = bytes_read_;
        return header;
    }

private:
    [[noreturn]] void fail(const std::string& reason) const {
        throw ModelFileError(path_, "line " + std::to_string(line_number_) + ": " + reason);
    }

    std::string next_line() {
        std::string line;
        if (!std::getline(in_, line)) fail("header ends early (truncated file?)");
        ++line_number_;
        bytes_read_ += line.size() + 1;
        if (bytes_read_ > max_header_bytes) fail("header larger than 16 MiB");
        return line;
    }

    static std::pair<std::string, std::string> split(const std::string& line) {
        auto space = line.find(' ');
        if (space == std::string::npos) return {line, ""};
        return {line.substr(0, space), line.substr(space + 1)};
    }

    int to_int(const std::string& text, const std::string& what) const {
        int value = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc{} || end != text.data() + text.size()) fail(what + ": '" + text + "' is not an integer");
        return value;
    }

    double to_double(const std::string& text, const std::string& what) const {
        std::istringstream stream(text);
        stream.imbue(std::locale::classic());
        double value = 0;
        if (!(stream >> value) || !stream.eof()) fail(what + ": '" + text + "' is not a number");
        return value;
    }

    void read_vocabulary(Header& header, int count) {
        if (count < 0 || static_cast<std::size_t>(count) > max_vocabulary) fail("vocabulary size out of range");
        std::vector<std::string> tokens;
        tokens.reserve(static_cast<std::size_t>(count));
        for (int i = 0; i < count; ++i) tokens.push_back(next_line());
        try {
            header.model.vocabulary = music::Vocabulary(std::move(tokens));
        } catch (const std::invalid_argument& error) {
            fail(error.what());
        }
    }

    TensorEntry parse_tensor(const std::string& value) {
        std::istringstream fields(value);
        TensorEntry entry;
        std::string shape;
        if (!(fields >> entry.name >> entry.dtype >> shape)) fail("tensor line needs: name dtype shape");
        if (entry.dtype != "f16" && entry.dtype != "f32") fail("tensor " + entry.name + ": unknown dtype " + entry.dtype);
        std::istringstream dims(shape);
        std::string dim;
        while (std::getline(dims, dim, ',')) {
            int size = to_int(dim, "tensor " + entry.name + " shape");
            if (size < 1 || size > (1 << 24)) fail("tensor " + entry.name + ": dimension out of range");
            entry.shape.push_back(size);
        }
        if (entry.shape.empty() || entry.shape.size() > 4) fail("tensor " + entry.name + ": bad shape");
        return entry;
    }

    void parse_data(const std::string& value, Header& header) {
        std::istringstream fields(value);
        std::string crc_word, crc_hex;
        if (!(fields >> header.data_bytes >> crc_word >> crc_hex) || crc_word != "crc32")
            fail("data line needs: BYTES crc32 HEX");
        header.data_crc = static_cast<std::uint32_t>(std::stoul(crc_hex, nullptr, 16));
    }

    const std::filesystem::path& path_;
    std::istream& in_;
    int line_number_ = 0;
    std::size_t bytes_read_ = 0;
};

Header read_header(const std::filesystem::path& path, std::ifstream& in) {
    in.open(path, std::ios::binary);
    if (!in) throw ModelFileError(path, "cannot open: " + std::string(std::strerror(errno)));
    return HeaderParser(path, in).parse();
}

}  // namespace

ModelFileError::ModelFileError(const std::filesystem::path& file, const std::string& reason)
    : std::runtime_error(file.string() + ": " + reason) {}

void save_model(const Model& model, const std::filesystem::path& path, WeightStorage storage) {
    const auto& config = model.config;
    config.validate();
    if (model.vocabulary.size() != static_cast<std::size_t>(config.vocab_size))
        throw std::invalid_argument("save_model: vocabulary size does not match vocab_size");

    std::ostringstream header;
    header.imbue(std::locale::classic());
    header << "kanade-model " << model_format_version << "\n"
           << "arch " << config.arch << "\n"
           << "vocab_size " << config.vocab_size << "\n"
           << "hidden " << config.hidden << "\n"
           << "layers " << config.layers << "\n"
           << "embedding " << config.embedding << "\n"
           << "dropout " << config.dropout << "\n"
           << "activation " << config.activation << "\n"
           << "window " << config.window << "\n"
           << "tokenizer " << model.tokenizer << "\n"
           << "steps_per_beat " << model.grid.steps_per_beat << "\n";
    for (const auto& [key, text] : model.info) {
        std::string single_line = text;
        for (auto& c : single_line) if (c == '\n') c = ' ';
        header << "info " << key << " " << single_line << "\n";
    }
    header << "vocab " << model.vocabulary.size() << "\n";
    for (const auto& token : model.vocabulary.tokens()) header << token << "\n";

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
    return read_header(path, in).model;
}

std::int64_t parameter_count(const NetworkConfig& config) {
    config.validate();
    const std::int64_t hidden = config.hidden, vocab = config.vocab_size;
    std::int64_t input = 1, count = 0;
    if (config.arch == "kanade") {
        count += vocab * config.embedding;
        input = config.embedding;
    }
    for (int layer = 0; layer < config.layers; ++layer) {
        count += 4 * hidden * (input + hidden) + 4 * hidden;  // Keras layout: one bias
        input = hidden;
    }
    return count + hidden * vocab + vocab;  // the dense layer
}

Model load_model(const std::filesystem::path& path) {
    std::ifstream in;
    auto header = read_header(path, in);
    auto& model = header.model;
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
    if (weight_bytes < header.data_bytes)
        throw ModelFileError(path, "truncated: weights end at byte " + std::to_string(header.data_offset + weight_bytes) +
                                       " of " + std::to_string(header.data_offset + header.data_bytes));
    if (static_cast<std::uintmax_t>(implied) * 2 > weight_bytes)
        throw ModelFileError(path, "describes a " + model.config.arch + " network of " + std::to_string(implied) +
                                       " weights, but holds only " + std::to_string(weight_bytes) + " bytes of weights");
    model.network = Network(model.config);

    // The header must name exactly the tensors the described network has, in order.
    auto expected = model.network->named_parameters();
    if (header.tensors.size() != expected.size())
        throw ModelFileError(path, "has " + std::to_string(header.tensors.size()) + " tensors, a " +
                                       model.config.arch + " network of this shape has " +
                                       std::to_string(expected.size()));
    std::size_t total = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const auto& entry = header.tensors[i];
        const auto& parameter = expected[i];
        if (entry.name != parameter.key())
            throw ModelFileError(path, "tensor " + std::to_string(i) + " is '" + entry.name + "', expected '" +
                                           parameter.key() + "'");
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
        throw ModelFileError(path, "unexpected bytes after the weights at byte " +
                                       std::to_string(header.data_offset + total));
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
    return std::move(model);
}

}  // namespace kanade::model
