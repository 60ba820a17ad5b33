#include "kanade/music/meter_map.hpp"

#include <algorithm>
#include <cmath>

namespace kanade::music {
namespace {

long floor_div(long a, long b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

}  // namespace

MeterMap::MeterMap(std::vector<midi::Meter> meters, int steps_per_quarter) {
    if (meters.empty()) meters.push_back({});
    steps_per_quarter = std::max(1, steps_per_quarter);
    for (const auto& meter : meters) {
        // Steps of one counted note; a 32nd on a sixteenth grid rounds up to a step.
        const int note_steps = std::max(1, steps_per_quarter * 4 / std::max(1, meter.denominator));
        const bool compound = meter.denominator >= 8 && meter.numerator > 3 && meter.numerator % 3 == 0;
        Span span;
        span.start_step = std::lround(meter.start_beat * steps_per_quarter);
        span.steps_per_beat = compound ? 3 * note_steps : note_steps;
        span.beats_per_bar = compound ? meter.numerator / 3 : meter.numerator;
        if (!spans_.empty()) {
            auto& previous = spans_.back();
            if (span.start_step <= previous.start_step) {
                previous = {previous.start_step, span.steps_per_beat, span.beats_per_bar, previous.first_bar};
                continue;
            }
            const long bar_steps = static_cast<long>(previous.steps_per_beat) * previous.beats_per_bar;
            // A signature in the middle of a bar cuts it short: the new one starts bar + 1.
            span.first_bar = previous.first_bar + (span.start_step - previous.start_step + bar_steps - 1) / bar_steps;
        } else {
            span.start_step = std::min(span.start_step, 0L);
        }
        spans_.push_back(span);
    }
}

MeterMap MeterMap::uniform(int numerator, int denominator, int steps_per_quarter) {
    return MeterMap({{0.0, numerator, denominator}}, steps_per_quarter);
}

const MeterMap::Span& MeterMap::span_at(long step) const {
    auto it = std::upper_bound(spans_.begin(), spans_.end(), step,
                               [](long s, const Span& span) { return s < span.start_step; });
    return it == spans_.begin() ? spans_.front() : *std::prev(it);
}

MetricalPosition MeterMap::at(long step) const {
    const auto& span = span_at(step);
    const long bar_steps = static_cast<long>(span.steps_per_beat) * span.beats_per_bar;
    const long since = step - span.start_step;
    const long bar = floor_div(since, bar_steps);
    const long in_bar = since - bar * bar_steps;
    return {static_cast<int>(in_bar % span.steps_per_beat), static_cast<int>(in_bar / span.steps_per_beat),
            span.first_bar + bar};
}

int MeterMap::steps_per_bar_at(long step) const {
    const auto& span = span_at(step);
    return span.steps_per_beat * span.beats_per_bar;
}

int MeterMap::steps_per_beat_at(long step) const { return span_at(step).steps_per_beat; }

long MeterMap::bar_start(long step) const {
    const auto position = at(step);
    return step - position.beat_in_bar * steps_per_beat_at(step) - position.step_in_beat;
}

}  // namespace kanade::music
