// A tokenizer turns notes into the token strings a model learns from, and back.
// Two exist: `seed`, the student project's tokens exactly, and `kanade`, which keeps
// octave, timing, duration and dynamics (see kanade_tokenizer.hpp and the README).
#pragma once

#include "kanade/midi/note.hpp"
#include "kanade/music/vocabulary.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kanade::music {

// Notes become grid steps: `steps_per_beat` per quarter note (4: sixteenths).
struct GridOptions {
    int steps_per_beat = 4;
};

// Tokens with the grid step each sounds at (a wait: the step it moves to) and the
// velocity of the note each pitch token starts (-1 for other tokens): what the network's
// conditions are made of. `steps` is empty where a tokenizer keeps no grid (seed).
struct TimedTokens {
    std::vector<std::string> tokens;
    std::vector<long> steps;
    std::vector<int> velocities;
};

class Tokenizer {
public:
    virtual ~Tokenizer() = default;
    virtual std::string_view name() const = 0;
    const GridOptions& grid() const { return grid_; }

    virtual std::vector<std::string> encode(const std::vector<midi::Note>& notes) const = 0;
    virtual TimedTokens encode_timed(const std::vector<midi::Note>& notes) const { return {encode(notes), {}, {}}; }
    // Tokens that do not parse are skipped, never an error: a model can emit anything.
    virtual std::vector<midi::Note> decode(const std::vector<std::string>& tokens) const = 0;

    // A vocabulary that does not depend on the corpus, where the tokenizer has one.
    virtual std::optional<Vocabulary> fixed_vocabulary() const { return std::nullopt; }

    // How many note events (onsets, a chord counts once) a token sequence holds, so
    // that models with different tokens can be compared per note.
    virtual std::size_t count_note_events(const std::vector<std::string>& tokens) const = 0;

protected:
    explicit Tokenizer(GridOptions grid) : grid_(grid) {}
    GridOptions grid_;
};

// "seed" or "kanade"; throws std::invalid_argument naming the unknown name.
std::unique_ptr<Tokenizer> make_tokenizer(std::string_view name, GridOptions grid = {});

// Onsets of `notes` grouped by grid step: each group holds the notes starting on it.
struct OnsetGroup {
    long step = 0;
    std::vector<midi::Note> notes;
};
std::vector<OnsetGroup> group_onsets(const std::vector<midi::Note>& notes, const GridOptions& grid);

}  // namespace kanade::music
