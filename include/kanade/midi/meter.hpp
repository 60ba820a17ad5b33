// A file's time signatures (meta 0x58), in quarter notes from its start: where bars
// begin and how long they are. 4/4 from the start where a file says nothing.
#pragma once

#include "kanade/midi/smf.hpp"

#include <vector>

namespace kanade::midi {

struct Meter {
    double start_beat = 0;  // quarter notes from the start of the file
    int numerator = 4;
    int denominator = 4;  // 1, 2, 4, 8, 16 ...

    friend bool operator==(const Meter&, const Meter&) = default;
};

// Sorted by start, the first at beat 0; a later signature at the same tick replaces an
// earlier one; unusable ones (numerator 0, denominator above 64) are skipped. SMPTE files,
// which have no beats, are 4/4.
std::vector<Meter> read_meters(const File& file);
// The same signatures, without the 4/4 assumed: empty when the file writes none, and its
// first starts later than beat 0 when the file's start says nothing.
std::vector<Meter> stated_meters(const File& file);

}  // namespace kanade::midi
