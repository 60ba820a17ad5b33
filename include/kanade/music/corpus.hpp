// A corpus is a set of MIDI files to learn from: found in folders, loaded tolerantly
// (a file that cannot be read is reported and skipped, never fatal), and split by
// file into train / validation / test so that every model is judged on the same music.
#pragma once

#include "kanade/midi/meter.hpp"
#include "kanade/midi/note.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kanade::music {

enum class Split { train, valid, test };
std::string_view split_name(Split split);

// Fixed by the file's name alone (a hash of it), so the split never depends on which
// other files are present or in which order: about 10 % test, 10 % validation.
Split split_of(const std::filesystem::path& file);

struct CorpusFile {
    std::filesystem::path path;
    Split split = Split::train;
    std::vector<midi::Note> notes;    // drums dropped
    std::vector<midi::Meter> meters;  // its time signatures (4/4 where it has none)
    std::size_t input = 0;            // which of load_corpus's inputs it was found under
    double seconds = 0;               // end of the last note
    std::vector<std::string> warnings;
};

struct Corpus {
    std::vector<CorpusFile> files;
    std::vector<std::string> errors;  // files that could not be read, with the reason

    std::size_t note_count() const;
};

// *.mid / *.midi / *.kar files below each input (a file is taken as it is), sorted.
std::vector<std::filesystem::path> find_midi_files(const std::vector<std::filesystem::path>& inputs);

using CorpusProgress = std::function<void(std::size_t done, std::size_t total)>;
Corpus load_corpus(const std::vector<std::filesystem::path>& inputs, const CorpusProgress& progress = {});

}  // namespace kanade::music
