// Where a grid step falls in its bar: the step within the beat and the beat within the
// bar, from a piece's time signatures. A beat is the signature's counted note (a quarter
// in 3/4 and 4/4, a half in 2/2), or three of them in compound time (6/8, 9/8, 12/8: a
// dotted quarter). Each signature starts a new bar where it takes effect.
#pragma once

#include "kanade/midi/meter.hpp"

#include <vector>

namespace kanade::music {

struct MetricalPosition {
    int step_in_beat = 0;
    int beat_in_bar = 0;
    long bar = 0;  // bars since the start, counted across signature changes
};

class MeterMap {
public:
    // `steps_per_quarter`: the grid (4: sixteenths). No meters: 4/4 throughout.
    explicit MeterMap(std::vector<midi::Meter> meters = {}, int steps_per_quarter = 4);
    // 4/4 or 3/4 ... from step 0, as the daemon's own clock counts bars.
    static MeterMap uniform(int numerator, int denominator, int steps_per_quarter = 4);

    // Steps before 0 count back from the first signature's bar 0.
    MetricalPosition at(long step) const;
    int steps_per_bar_at(long step) const;
    // The step the bar holding `step` starts on (its bar line).
    long bar_start(long step) const;
    int steps_per_beat_at(long step) const;

private:
    struct Span {
        long start_step = 0;
        int steps_per_beat = 4, beats_per_bar = 4;
        long first_bar = 0;
    };
    const Span& span_at(long step) const;
    std::vector<Span> spans_;
};

}  // namespace kanade::music
