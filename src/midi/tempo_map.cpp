#include "kanade/midi/tempo_map.hpp"

#include <algorithm>

namespace kanade::midi {
namespace {

constexpr std::uint32_t default_tempo = 500'000;  // 120 BPM, the SMF default

double frames_per_second(const Division& division) {
    // 29 stands for 29.97 drop-frame (30000/1001).
    if (division.frames_per_second == 29) return 30000.0 / 1001.0;
    return division.frames_per_second;
}

}  // namespace

double ticks_per_beat(const Division& division) {
    if (division.smpte) return frames_per_second(division) * std::max<int>(division.ticks_per_frame, 1) / 2.0;
    return std::max<int>(division.ticks_per_quarter, 1);
}

TempoMap::TempoMap(const File& file) : division_(file.division) {
    changes_.push_back({0, 0.0, default_tempo});
    if (division_.smpte) return;  // ticks are real time; tempo events do not change them

    std::vector<std::pair<std::uint64_t, std::uint32_t>> tempos;
    for (const auto& track : file.tracks) {
        for (const auto& event : track.events) {
            if (event.kind != EventKind::meta || event.meta_type != meta::tempo || event.data.size() != 3) continue;
            std::uint32_t value = event.data[0] << 16 | event.data[1] << 8 | event.data[2];
            if (value > 0) tempos.emplace_back(event.tick, value);
        }
    }
    // Stable: of several tempos at one tick, the last one read wins.
    std::stable_sort(tempos.begin(), tempos.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

    double ticks_per_quarter = std::max<int>(division_.ticks_per_quarter, 1);
    for (const auto& [tick, value] : tempos) {
        auto& last = changes_.back();
        if (tick == last.tick) {
            last.microseconds_per_quarter = value;
            continue;
        }
        auto seconds = last.seconds + static_cast<double>(tick - last.tick) * last.microseconds_per_quarter /
                                          (1e6 * ticks_per_quarter);
        changes_.push_back({tick, seconds, value});
    }
}

double TempoMap::seconds_at(std::uint64_t tick) const {
    if (division_.smpte) {
        auto ticks_per_second = frames_per_second(division_) * std::max<int>(division_.ticks_per_frame, 1);
        return ticks_per_second > 0 ? static_cast<double>(tick) / ticks_per_second : 0.0;
    }
    auto after = std::upper_bound(changes_.begin(), changes_.end(), tick,
                                  [](std::uint64_t t, const Change& change) { return t < change.tick; });
    const auto& change = *std::prev(after);  // the first change is at tick 0, so one exists
    double ticks_per_quarter = std::max<int>(division_.ticks_per_quarter, 1);
    return change.seconds +
           static_cast<double>(tick - change.tick) * change.microseconds_per_quarter / (1e6 * ticks_per_quarter);
}

double TempoMap::beats_at(std::uint64_t tick) const { return static_cast<double>(tick) / ticks_per_beat(division_); }

double TempoMap::initial_bpm() const { return 60e6 / changes_.front().microseconds_per_quarter; }

}  // namespace kanade::midi
