#include "kanade/music/corpus.hpp"

#include "kanade/midi/smf.hpp"

#include <algorithm>
#include <cctype>
#include <system_error>

namespace kanade::music {
namespace {

bool has_midi_extension(const std::filesystem::path& path) {
    auto extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return extension == ".mid" || extension == ".midi" || extension == ".kar";
}

std::uint64_t fnv1a(std::string_view text) {
    std::uint64_t hash = 1469598103934665603ull;
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 1099511628211ull;
    }
    return hash;
}

}  // namespace

std::string_view split_name(Split split) {
    switch (split) {
        case Split::train: return "train";
        case Split::valid: return "valid";
        case Split::test: return "test";
    }
    return "train";
}

Split split_of(const std::filesystem::path& file) {
    switch (fnv1a(file.filename().string()) % 10) {
        case 0: return Split::test;
        case 1: return Split::valid;
        default: return Split::train;
    }
}

std::size_t Corpus::note_count() const {
    std::size_t total = 0;
    for (const auto& file : files) total += file.notes.size();
    return total;
}

std::vector<std::filesystem::path> find_midi_files(const std::vector<std::filesystem::path>& inputs) {
    std::vector<std::filesystem::path> found;
    for (const auto& input : inputs) {
        std::error_code error;
        if (std::filesystem::is_directory(input, error)) {
            auto options = std::filesystem::directory_options::skip_permission_denied;
            for (auto it = std::filesystem::recursive_directory_iterator(input, options, error);
                 !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
                if (it->is_regular_file(error) && has_midi_extension(it->path())) found.push_back(it->path());
            }
        } else {
            found.push_back(input);  // named explicitly: the reader will say if it is not MIDI
        }
    }
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    return found;
}

namespace {

// The first input the file is, or lies below (inputs named twice count once).
std::size_t input_of(const std::vector<std::filesystem::path>& inputs, const std::filesystem::path& file) {
    const auto normal = file.lexically_normal().string();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        auto prefix = inputs[i].lexically_normal().string();
        if (normal == prefix) return i;
        if (!prefix.empty() && prefix.back() != '/') prefix += '/';
        if (normal.rfind(prefix, 0) == 0) return i;
    }
    return 0;
}

}  // namespace

Corpus load_corpus(const std::vector<std::filesystem::path>& inputs, const CorpusProgress& progress) {
    Corpus corpus;
    auto paths = find_midi_files(inputs);
    for (std::size_t i = 0; i < paths.size(); ++i) {
        try {
            auto read = midi::read_smf(paths[i]);
            CorpusFile file;
            file.path = paths[i];
            file.split = split_of(paths[i]);
            file.notes = midi::extract_notes(read.file);
            file.meters = midi::read_meters(read.file);
            file.input = input_of(inputs, paths[i]);
            file.warnings = std::move(read.warnings);
            for (const auto& note : file.notes) file.seconds = std::max(file.seconds, note.end_seconds);
            corpus.files.push_back(std::move(file));
        } catch (const std::exception& error) {
            corpus.errors.push_back(error.what());
        }
        if (progress) progress(i + 1, paths.size());
    }
    return corpus;
}

}  // namespace kanade::music
