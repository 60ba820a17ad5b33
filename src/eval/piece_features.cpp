#include "kanade/eval/piece_features.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <stdexcept>

namespace kanade::eval {
namespace {

constexpr std::array<std::string_view, feature_count> names = {
    "pitch_count",          "pitch_class_histogram", "pitch_range", "pitch_interval", "note_count",
    "inter_onset_interval", "note_length_histogram", "polyphony",   "bar_repetition", "rest_share",
    "velocity_spread"};

struct Onset {
    long step = 0;
    std::vector<const midi::Note*> notes;
};

std::vector<Onset> onsets_of(const std::vector<midi::Note>& sorted, int steps_per_beat) {
    std::vector<Onset> onsets;
    for (const auto& note : sorted) {
        long step = std::lround(note.start_beat * steps_per_beat);
        if (onsets.empty() || onsets.back().step != step) onsets.push_back({step, {}});
        onsets.back().notes.push_back(&note);
    }
    return onsets;
}

double mean_of(const std::vector<double>& values) {
    if (values.empty()) return 0;
    double sum = 0;
    for (double value : values) sum += value;
    return sum / static_cast<double>(values.size());
}

std::vector<double> shares(std::vector<double> counts) {
    double total = 0;
    for (double count : counts) total += count;
    if (total > 0)
        for (auto& count : counts) count /= total;
    return counts;
}

double mean_polyphony(const std::vector<Onset>& onsets, int steps_per_beat) {
    std::priority_queue<double, std::vector<double>, std::greater<>> sounding_until;
    std::vector<double> sounding;
    for (const auto& onset : onsets) {
        const double time = static_cast<double>(onset.step) / steps_per_beat;
        while (!sounding_until.empty() && sounding_until.top() <= time + 1e-9) sounding_until.pop();
        for (const auto* note : onset.notes) sounding_until.push(std::max(note->end_beat, time + 1e-6));
        sounding.push_back(static_cast<double>(sounding_until.size()));
    }
    return mean_of(sounding);
}

double bar_repetition(const std::vector<Onset>& onsets, long steps_per_bar) {
    // A bar's content: every (step within the bar, pitch) that starts in it.
    std::map<long, std::vector<std::pair<long, int>>> bars;
    for (const auto& onset : onsets)
        for (const auto* note : onset.notes)
            bars[onset.step / steps_per_bar].emplace_back(onset.step % steps_per_bar, note->pitch);
    std::set<std::vector<std::pair<long, int>>> seen;
    double repeated = 0;
    for (auto& [bar, content] : bars) {
        std::sort(content.begin(), content.end());
        if (!seen.insert(content).second) ++repeated;
    }
    return bars.empty() ? 0 : repeated / static_cast<double>(bars.size());
}

double rest_share(const std::vector<midi::Note>& notes, const MeasureOptions& options) {
    double length = options.length_beats;
    if (length <= 0)
        for (const auto& note : notes) length = std::max(length, note.end_beat);
    const auto steps = static_cast<std::size_t>(std::lround(length * options.steps_per_beat));
    if (steps == 0) return 0;
    std::vector<bool> sounding(steps, false);
    for (const auto& note : notes) {
        long first = std::max(0L, std::lround(note.start_beat * options.steps_per_beat));
        long last = std::max(first + 1, std::lround(note.end_beat * options.steps_per_beat));
        for (long step = first; step < last && static_cast<std::size_t>(step) < steps; ++step)
            sounding[static_cast<std::size_t>(step)] = true;
    }
    return static_cast<double>(std::count(sounding.begin(), sounding.end(), false)) / static_cast<double>(steps);
}

double standard_deviation(const std::vector<double>& values) {
    const double mean = mean_of(values);
    double sum = 0;
    for (double value : values) sum += (value - mean) * (value - mean);
    return values.empty() ? 0 : std::sqrt(sum / static_cast<double>(values.size()));
}

}  // namespace

std::string_view feature_name(Feature feature) { return names.at(static_cast<std::size_t>(feature)); }

Feature feature_at(std::size_t index) {
    if (index >= feature_count) throw std::out_of_range("feature index " + std::to_string(index));
    return static_cast<Feature>(index);
}

const std::vector<double>& feature_of(const PieceFeatures& features, Feature feature) {
    return features[static_cast<std::size_t>(feature)];
}

PieceFeatures measure_piece(const std::vector<midi::Note>& notes, const MeasureOptions& options) {
    if (options.steps_per_beat < 1 || options.beats_per_bar < 1)
        throw std::invalid_argument("measure_piece: steps per beat and beats per bar must be positive");
    auto sorted = notes;
    std::sort(sorted.begin(), sorted.end(), [](const midi::Note& a, const midi::Note& b) {
        return a.start_beat != b.start_beat ? a.start_beat < b.start_beat : a.pitch > b.pitch;
    });
    const auto onsets = onsets_of(sorted, options.steps_per_beat);

    std::set<int> pitches;
    std::vector<double> pitch_classes(12, 0), lengths(note_length_classes().size(), 0), velocities;
    for (const auto& note : sorted) {
        pitches.insert(note.pitch);
        pitch_classes[note.pitch % 12] += 1;
        velocities.push_back(note.velocity);
        const double length = note.end_beat - note.start_beat;
        std::size_t nearest = 0;
        for (std::size_t c = 1; c < note_length_classes().size(); ++c)
            if (std::abs(note_length_classes()[c] - length) < std::abs(note_length_classes()[nearest] - length))
                nearest = c;
        lengths[nearest] += 1;
    }
    std::vector<double> intervals, gaps;
    for (std::size_t i = 1; i < onsets.size(); ++i) {
        // Notes of an onset are sorted highest first: the top line is each onset's first.
        intervals.push_back(std::abs(onsets[i].notes.front()->pitch - onsets[i - 1].notes.front()->pitch));
        gaps.push_back(static_cast<double>(onsets[i].step - onsets[i - 1].step) / options.steps_per_beat);
    }

    PieceFeatures features;
    auto set = [&](Feature feature, std::vector<double> values) {
        features[static_cast<std::size_t>(feature)] = std::move(values);
    };
    set(Feature::pitch_count, {static_cast<double>(pitches.size())});
    set(Feature::pitch_class_histogram, shares(pitch_classes));
    set(Feature::pitch_range, {pitches.empty() ? 0.0 : static_cast<double>(*pitches.rbegin() - *pitches.begin())});
    set(Feature::pitch_interval, {mean_of(intervals)});
    set(Feature::note_count, {static_cast<double>(sorted.size())});
    set(Feature::inter_onset_interval, {mean_of(gaps)});
    set(Feature::note_length_histogram, shares(lengths));
    set(Feature::polyphony, {mean_polyphony(onsets, options.steps_per_beat)});
    set(Feature::bar_repetition,
        {bar_repetition(onsets, static_cast<long>(options.steps_per_beat) * options.beats_per_bar)});
    set(Feature::rest_share, {rest_share(sorted, options)});
    set(Feature::velocity_spread, {standard_deviation(velocities)});
    return features;
}

std::vector<std::vector<midi::Note>> cut_segments(const std::vector<midi::Note>& notes, double length_beats) {
    if (!(length_beats > 0)) throw std::invalid_argument("cut_segments: the length must be positive");
    double end = 0;
    for (const auto& note : notes) end = std::max(end, note.end_beat);
    auto count = static_cast<std::size_t>(end / length_beats);
    if (end - static_cast<double>(count) * length_beats >= length_beats / 2) ++count;
    std::vector<std::vector<midi::Note>> segments(count);
    for (const auto& note : notes) {
        if (note.start_beat < 0) continue;
        auto index = static_cast<std::size_t>(note.start_beat / length_beats);
        if (index >= count) continue;
        auto moved = note;
        const double offset = static_cast<double>(index) * length_beats;
        moved.start_beat -= offset;
        moved.end_beat -= offset;
        segments[index].push_back(moved);
    }
    std::erase_if(segments, [](const auto& segment) { return segment.empty(); });
    return segments;
}

}  // namespace kanade::eval
