// A primer: a few bars of real music from the training files, kept in the model file, that
// a session given no prompt hears before it plays (it is never played itself). A network
// trained only on real context drifts off the beat when it starts from a blank state and
// feeds on its own notes (exposure bias); from a primer it starts inside the corpus's bar.
#pragma once

#include "kanade/music/corpus.hpp"
#include "kanade/music/vocabulary.hpp"

#include <cstddef>
#include <vector>

namespace kanade::music {

struct Primer {
    int bar_steps = 16;    // grid steps in each of its bars: it primes a clock with this bar
    std::vector<int> ids;  // kanade tokens from a bar line, moving time by whole bars exactly

    friend bool operator==(const Primer&, const Primer&) = default;
};

inline constexpr std::size_t max_primers = 64;
inline constexpr std::size_t max_primer_tokens = 4096;

struct PrimerOptions {
    std::size_t count = 32;  // primers, each from a different training file
    int bars = 4;            // bars of music in each
    int steps_per_beat = 4;
    // A primer must show the beat: this many times chance of its onsets on one (1.5: 0.375
    // with 4 steps a beat), and be no busier than twice the candidates' median notes a bar.
    // Some files of a corpus put their notes across the grid (a tempo map that halves the
    // beat, free rubato); a session started from one of them starts off the beat.
    double min_on_beat_over_chance = 1.5;
    double max_density_over_median = 2.0;
};

// What a primer holds, in the terms it is chosen by.
struct PrimerShape {
    double on_beat_share = 0;  // of its onset steps, those on a beat
    double notes_per_bar = 0;
};
PrimerShape shape_of(const Primer& primer, const Vocabulary& vocabulary, int steps_per_beat);

// Up to `count` primers from the training split of `corpus`, one a file, each taken a third
// of the way into its piece where `bars` bars of one meter hold notes, those that show the
// beat kept (PrimerOptions) and spread evenly over them in path order. Kanade tokens only
// (the seed tokenizer has no waits to fill a bar with). The same corpus gives the same primers.
std::vector<Primer> choose_primers(const Corpus& corpus, const Vocabulary& vocabulary,
                                   const PrimerOptions& options = {});

// The `bars` bars of `file` from bar `first_bar` as a primer; empty ids when the stretch
// has no note, changes meter, or holds a token the vocabulary lacks.
Primer primer_from(const CorpusFile& file, const Vocabulary& vocabulary, long first_bar, int bars, int steps_per_beat);

}  // namespace kanade::music
