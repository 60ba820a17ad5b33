// The time signature a file starts in, read from its meta events (0x58), for whoever
// reads a file on its bars.
#pragma once

#include "kanade/midi/smf.hpp"

#include <optional>

namespace kanade::midi {

struct TimeSignature {
    int numerator = 4;
    int denominator = 4;  // a power of two
    friend bool operator==(const TimeSignature&, const TimeSignature&) = default;
};

// The time signature in effect at tick 0: the last one written there (a file may write a
// placeholder first and the real one after it), in track order; nullopt when none is.
std::optional<TimeSignature> time_signature_at_start(const File& file);

}  // namespace kanade::midi
