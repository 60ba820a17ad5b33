#include "kanade/model/model_header.hpp"

#include <array>
#include <charconv>
#include <locale>
#include <sstream>

namespace kanade::model {
namespace {

constexpr std::size_t max_header_bytes = 16u << 20;
constexpr std::size_t max_vocabulary = 100000;

// Reads the header line by line; every error names the line.
class HeaderParser {
public:
    HeaderParser(const std::filesystem::path& path, std::istream& in) : path_(path), in_(in) {}

    ModelHeader parse() {
        ModelHeader header;
        auto first = next_line();
        if (first.rfind("kanade-model ", 0) != 0) fail("not a kanade model file (bad magic)");
        int version = to_int(first.substr(13), "format version");
        if (version < 1 || version > model_format_version)
            fail("format version " + std::to_string(version) + " is not supported (this build reads up to " +
                 std::to_string(model_format_version) + ")");
        auto& config = header.config;
        bool have_arch = false, have_vocab_size = false;
        while (true) {
            auto line = next_line();
            auto [key, value] = split(line);
            if (key == "arch") {
                config.arch = value;
                have_arch = true;
            } else if (key == "vocab_size") {
                config.vocab_size = to_int(value, key);
                have_vocab_size = true;
            } else if (key == "hidden")
                config.hidden = to_int(value, key);
            else if (key == "layers")
                config.layers = to_int(value, key);
            else if (key == "embedding")
                config.embedding = to_int(value, key);
            else if (key == "dropout")
                config.dropout = to_double(value, key);
            else if (key == "activation")
                config.activation = value;
            else if (key == "window")
                config.window = to_int(value, key);
            else if (key == "meter_input")
                config.meter_input = to_int(value, key) != 0;
            else if (key == "control_input")
                config.control_input = to_int(value, key) != 0;
            else if (key == "lookback_input")
                config.lookback_input = to_int(value, key) != 0;
            else if (key == "styles")
                config.styles = to_int(value, key);
            else if (key == "window_steps")
                config.window_steps = to_int(value, key);
            else if (key == "tokenizer")
                header.tokenizer = value;
            else if (key == "steps_per_beat")
                header.grid.steps_per_beat = to_int(value, key);
            else if (key == "info") {
                auto [name, text] = split(value);
                header.info[name] = text;
            } else if (key == "vocab") {
                read_vocabulary(header, to_int(value, key));
            } else if (key == "primer") {
                if (!have_vocab_size) fail("primer before vocab_size");
                header.primers.push_back(parse_primer(value, config.vocab_size));
                if (header.primers.size() > music::max_primers)
                    fail("more than " + std::to_string(music::max_primers) + " primers");
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
            music::make_tokenizer(header.tokenizer, header.grid);
        } catch (const std::invalid_argument& error) {
            fail(error.what());
        }
        if (header.vocabulary.size() != static_cast<std::size_t>(config.vocab_size))
            fail("vocabulary has " + std::to_string(header.vocabulary.size()) + " tokens but vocab_size is " +
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

    // `primer BAR_STEPS ID ID ...`: a few bars of training music, in the model's tokens.
    music::Primer parse_primer(const std::string& value, int vocab_size) const {
        music::Primer primer;
        std::istringstream numbers(value);
        std::string number;
        if (!(numbers >> number)) fail("primer: no bar length");
        primer.bar_steps = to_int(number, "primer bar steps");
        if (primer.bar_steps < 1 || primer.bar_steps > 1024) fail("primer: bar of " + number + " steps (1..1024)");
        while (numbers >> number) {
            const int id = to_int(number, "primer token");
            if (id < 0 || id >= vocab_size)
                fail("primer: token " + number + " outside the vocabulary (0.." + std::to_string(vocab_size - 1) + ")");
            if (primer.ids.size() == music::max_primer_tokens)
                fail("primer: more than " + std::to_string(music::max_primer_tokens) + " tokens");
            primer.ids.push_back(id);
        }
        if (primer.ids.empty()) fail("primer: no tokens");
        return primer;
    }

    void read_vocabulary(ModelHeader& header, int count) {
        if (count < 0 || static_cast<std::size_t>(count) > max_vocabulary) fail("vocabulary size out of range");
        std::vector<std::string> tokens;
        tokens.reserve(static_cast<std::size_t>(count));
        for (int i = 0; i < count; ++i) tokens.push_back(next_line());
        try {
            header.vocabulary = music::Vocabulary(std::move(tokens));
        } catch (const std::invalid_argument& error) {
            fail(error.what());
        }
    }

    TensorEntry parse_tensor(const std::string& value) {
        std::istringstream fields(value);
        TensorEntry entry;
        std::string shape;
        if (!(fields >> entry.name >> entry.dtype >> shape)) fail("tensor line needs: name dtype shape");
        if (entry.dtype != "f16" && entry.dtype != "f32")
            fail("tensor " + entry.name + ": unknown dtype " + entry.dtype);
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

    void parse_data(const std::string& value, ModelHeader& header) {
        std::istringstream fields(value);
        std::string bytes, crc_word, crc_hex;
        if (!(fields >> bytes >> crc_word >> crc_hex) || crc_word != "crc32") fail("data line needs: BYTES crc32 HEX");
        // from_chars, not stoul: no sign, no exception other than ours, the whole field.
        auto whole = [](const std::string& text, auto& value, int base) {
            auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
            return error == std::errc{} && end == text.data() + text.size();
        };
        if (!whole(bytes, header.data_bytes, 10)) fail("data size '" + bytes + "' is not a byte count");
        if (crc_hex.size() > 8 || !whole(crc_hex, header.data_crc, 16))
            fail("checksum '" + crc_hex + "' is not 8 hex digits");
    }

    const std::filesystem::path& path_;
    std::istream& in_;
    int line_number_ = 0;
    std::size_t bytes_read_ = 0;
};

}  // namespace

ModelFileError::ModelFileError(const std::filesystem::path& file, const std::string& reason)
    : std::runtime_error(file.string() + ": " + reason) {}

std::uint32_t crc32(const std::uint8_t* data, std::size_t size, std::uint32_t crc) {
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

ModelHeader parse_model_header(std::istream& in, const std::filesystem::path& path) {
    return HeaderParser(path, in).parse();
}

}  // namespace kanade::model
