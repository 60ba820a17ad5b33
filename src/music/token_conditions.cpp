#include "kanade/music/token_conditions.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace kanade::music {

namespace {

// A density bin's most notes: 0, 1-2, 3-4, 5-8, 9-16, 17-32, 33-64, then any number.
constexpr std::array<int, density_bins - 1> density_upper = {0, 2, 4, 8, 16, 32, 64};

}  // namespace

int density_bin(int notes_in_bar) {
    int bin = 1;
    while (bin <= static_cast<int>(density_upper.size()) && notes_in_bar > density_upper[bin - 1]) ++bin;
    return bin;
}

double bin_notes_per_bar(int bin) {
    if (bin <= 1) return 0;
    if (bin > static_cast<int>(density_upper.size())) return 2.0 * density_upper.back();
    return (density_upper[bin - 2] + 1 + density_upper[bin - 1]) / 2.0;
}

int loudness_bin(double mean_velocity) {
    return std::clamp(static_cast<int>(std::clamp(mean_velocity, 1.0, 127.0)) / 16 + 1, 1, loudness_bins);
}

void set_position(TokenCondition& condition, const MeterMap& meters, long step) {
    const auto position = meters.at(step);
    condition[static_cast<std::size_t>(Condition::step_in_beat)] =
        static_cast<std::uint8_t>(1 + std::min(position.step_in_beat, max_steps_per_beat - 1));
    condition[static_cast<std::size_t>(Condition::beat_in_bar)] =
        static_cast<std::uint8_t>(1 + std::min(position.beat_in_bar, max_beats_per_bar - 1));
}

bool on_bar_line(const TokenCondition& condition) {
    // Positions are 1 + the value (0: not said).
    return condition[static_cast<std::size_t>(Condition::step_in_beat)] == 1 &&
           condition[static_cast<std::size_t>(Condition::beat_in_bar)] == 1;
}

void set_controls(TokenCondition& condition, double notes_per_bar, double mean_velocity, int style) {
    condition[static_cast<std::size_t>(Condition::density)] =
        notes_per_bar > 0 ? static_cast<std::uint8_t>(density_bin(static_cast<int>(std::lround(notes_per_bar)))) : 0;
    condition[static_cast<std::size_t>(Condition::loudness)] =
        mean_velocity > 0 ? static_cast<std::uint8_t>(loudness_bin(mean_velocity)) : 0;
    condition[static_cast<std::size_t>(Condition::style)] = static_cast<std::uint8_t>(std::clamp(style, 0, max_styles));
}

void set_lookback(TokenCondition& condition, const std::array<std::uint8_t, 2>& candidates) {
    condition[static_cast<std::size_t>(Condition::lookback_bar)] = candidates[0];
    condition[static_cast<std::size_t>(Condition::lookback_two_bars)] = candidates[1];
}

std::vector<TokenCondition> piece_conditions(const std::vector<long>& steps, const std::vector<int>& velocity_of,
                                             const MeterMap& meters, int style) {
    struct Bar {
        int notes = 0;
        double velocity_sum = 0;
    };
    std::map<long, Bar> bars;
    for (std::size_t i = 0; i < steps.size(); ++i)
        if (velocity_of[i] >= 0) {
            auto& bar = bars[meters.at(steps[i]).bar];
            ++bar.notes;
            bar.velocity_sum += velocity_of[i];
        }
    std::vector<TokenCondition> conditions(steps.size(), TokenCondition{});
    for (std::size_t i = 0; i < steps.size(); ++i) {
        set_position(conditions[i], meters, steps[i]);
        auto found = bars.find(meters.at(steps[i]).bar);
        const int notes = found == bars.end() ? 0 : found->second.notes;
        // An empty bar says density "no notes" and leaves loudness unsaid.
        conditions[i][static_cast<std::size_t>(Condition::density)] = static_cast<std::uint8_t>(density_bin(notes));
        conditions[i][static_cast<std::size_t>(Condition::loudness)] =
            notes > 0 ? static_cast<std::uint8_t>(loudness_bin(found->second.velocity_sum / notes)) : 0;
        conditions[i][static_cast<std::size_t>(Condition::style)] =
            static_cast<std::uint8_t>(std::clamp(style, 0, max_styles));
    }
    return conditions;
}

}  // namespace kanade::music
