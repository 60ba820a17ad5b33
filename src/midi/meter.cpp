#include "kanade/midi/meter.hpp"

#include <algorithm>
#include <map>

namespace kanade::midi {

std::vector<Meter> stated_meters(const File& file) {
    std::map<std::uint64_t, Meter> by_tick;  // later tracks and events win at one tick
    const double ticks_per_quarter = file.division.ticks_per_quarter;
    if (file.division.frames_per_second == 0 && ticks_per_quarter > 0) {
        for (const auto& track : file.tracks)
            for (const auto& event : track.events) {
                if (event.kind != EventKind::meta || event.meta_type != meta::time_signature || event.data.size() != 4)
                    continue;
                const int numerator = event.data[0], denominator_power = event.data[1];
                if (numerator == 0 || denominator_power > 6) continue;
                by_tick[event.tick] = {static_cast<double>(event.tick) / ticks_per_quarter, numerator,
                                       1 << denominator_power};
            }
    }
    std::vector<Meter> meters;
    for (const auto& [tick, meter] : by_tick)
        if (meters.empty() || meters.back().numerator != meter.numerator ||
            meters.back().denominator != meter.denominator)
            meters.push_back(meter);
    return meters;
}

std::vector<Meter> read_meters(const File& file) {
    auto stated = stated_meters(file);
    if (!stated.empty() && stated.front().start_beat == 0) return stated;
    std::vector<Meter> meters{Meter{}};  // 4/4 until the file says otherwise
    for (const auto& meter : stated)
        if (meter.numerator != meters.back().numerator || meter.denominator != meters.back().denominator)
            meters.push_back(meter);
    return meters;
}

}  // namespace kanade::midi
