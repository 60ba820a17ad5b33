// Converts ticks of a MIDI file to quarter-note beats and to seconds, following
// every tempo change in the file (for format 1, tempo events of all tracks count).
// SMPTE files have ticks in real time; they map to beats at the nominal 120 BPM.
#pragma once

#include "kanade/midi/smf.hpp"

#include <cstdint>
#include <vector>

namespace kanade::midi {

// A beat's ticks: the PPQ division, or an SMPTE second's ticks over two (the nominal
// 120 BPM). The reader's length limit counts beats by it too.
double ticks_per_beat(const Division& division);

class TempoMap {
public:
    explicit TempoMap(const File& file);

    double seconds_at(std::uint64_t tick) const;
    double beats_at(std::uint64_t tick) const;
    // Tempo in effect at the start of the file, in beats per minute.
    double initial_bpm() const;

    struct Change {
        std::uint64_t tick;
        double seconds;  // time of the change
        std::uint32_t microseconds_per_quarter;
    };
    const std::vector<Change>& changes() const { return changes_; }

private:
    Division division_;
    std::vector<Change> changes_;  // sorted; the first is at tick 0
};

}  // namespace kanade::midi
