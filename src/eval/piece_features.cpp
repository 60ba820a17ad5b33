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

constexpr std::array<std::string_view, feature_count> names = {"pitch_count",
                                                               "pitch_class_histogram",
                                                               "pitch_range",
                                                               "pitch_interval",
                                                               "note_count",
                                                               "inter_onset_interval",
                                                               "note_length_histogram",
                                                               "polyphony",
                                                               "bar_repetition",
                                                               "rest_share",
                                                               "velocity_spread",
                                                               "on_beat_share",
                                                               "bar_position_histogram",
                                                               "bar_position_entropy",
                                                               "bar_repetition_lag1",
                                                               "bar_repetition_lag2",
                                                               "bar_repetition_lag4",
                                                               "self_similarity",
                                                               "self_similarity_lags"};

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

// The piece on its bar grid: each bar's onsets as sorted, distinct (step within the bar,
// pitch), bars counted from the first one the piece touches.
struct Bars {
    long steps_per_bar = 16;
    long first = 0;  // the bar index of contents[0]; negative when the piece starts inside a bar
    std::vector<std::vector<std::pair<long, int>>> contents;
};

long floor_div(long a, long b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

Bars bars_of(const std::vector<Onset>& onsets, const MeasureOptions& options) {
    Bars bars;
    bars.steps_per_bar = static_cast<long>(options.steps_per_beat) * options.beats_per_bar;
    const long origin = std::lround(options.bar_start_beat * options.steps_per_beat);
    // From step 0 (or an earlier onset) to the piece's length (or a later onset).
    long first_step = 0, last_step = std::lround(options.length_beats * options.steps_per_beat) - 1;
    if (!onsets.empty()) {
        first_step = std::min(first_step, onsets.front().step);
        last_step = std::max(last_step, onsets.back().step);
    }
    if (last_step < first_step) return bars;
    bars.first = floor_div(first_step - origin, bars.steps_per_bar);
    const long last = floor_div(last_step - origin, bars.steps_per_bar);
    bars.contents.resize(static_cast<std::size_t>(std::max(0L, last - bars.first + 1)));
    for (const auto& onset : onsets) {
        const long bar = floor_div(onset.step - origin, bars.steps_per_bar) - bars.first;
        if (bar < 0 || bar >= static_cast<long>(bars.contents.size())) continue;
        for (const auto* note : onset.notes)
            bars.contents[static_cast<std::size_t>(bar)].emplace_back(
                onset.step - origin - (bar + bars.first) * bars.steps_per_bar, note->pitch);
    }
    for (auto& content : bars.contents) {
        std::sort(content.begin(), content.end());
        content.erase(std::unique(content.begin(), content.end()), content.end());
    }
    return bars;
}

std::size_t non_empty_bars(const Bars& bars) {
    return static_cast<std::size_t>(std::count_if(bars.contents.begin(), bars.contents.end(),
                                                  [](const auto& content) { return !content.empty(); }));
}

double bar_repetition(const Bars& bars) {
    std::set<std::vector<std::pair<long, int>>> seen;
    double repeated = 0;
    for (const auto& content : bars.contents)
        if (!content.empty() && !seen.insert(content).second) ++repeated;
    const auto count = non_empty_bars(bars);
    return count == 0 ? 0 : repeated / static_cast<double>(count);
}

// Of the non-empty bars with a bar `lag` before them in the piece, the share equal to it.
double bar_repetition_at(const Bars& bars, std::size_t lag) {
    double equal = 0, counted = 0;
    for (std::size_t bar = lag; bar < bars.contents.size(); ++bar) {
        if (bars.contents[bar].empty()) continue;
        ++counted;
        if (bars.contents[bar] == bars.contents[bar - lag]) ++equal;
    }
    return counted == 0 ? 0 : equal / counted;
}

double jaccard(const std::vector<std::pair<long, int>>& a, const std::vector<std::pair<long, int>>& b) {
    std::size_t shared = 0;
    for (auto i = a.begin(), j = b.begin(); i != a.end() && j != b.end();) {
        if (*i < *j)
            ++i;
        else if (*j < *i)
            ++j;
        else
            ++shared, ++i, ++j;
    }
    return static_cast<double>(shared) / static_cast<double>(a.size() + b.size() - shared);
}

struct SelfSimilarity {
    double mean = 0;
    std::vector<double> lags = std::vector<double>(self_similarity_bars, 0.0);
};

SelfSimilarity self_similarity(const Bars& bars) {
    SelfSimilarity result;
    double sum = 0, pairs = 0;
    for (std::size_t lag = 1; lag <= self_similarity_bars; ++lag) {
        double lag_sum = 0, lag_pairs = 0;
        for (std::size_t bar = lag; bar < bars.contents.size(); ++bar) {
            const auto &now = bars.contents[bar], &before = bars.contents[bar - lag];
            if (now.empty() && before.empty()) continue;
            lag_sum += jaccard(now, before);
            ++lag_pairs;
        }
        result.lags[lag - 1] = lag_pairs == 0 ? 0 : lag_sum / lag_pairs;
        sum += lag_sum, pairs += lag_pairs;
    }
    result.mean = pairs == 0 ? 0 : sum / pairs;
    return result;
}

// Shares of the onset steps by step within the bar.
std::vector<double> bar_positions(const std::vector<Onset>& onsets, const MeasureOptions& options) {
    const long steps_per_bar = static_cast<long>(options.steps_per_beat) * options.beats_per_bar;
    const long origin = std::lround(options.bar_start_beat * options.steps_per_beat);
    std::vector<double> counts(static_cast<std::size_t>(steps_per_bar), 0.0);
    for (const auto& onset : onsets) {
        const long position = onset.step - origin - floor_div(onset.step - origin, steps_per_bar) * steps_per_bar;
        counts[static_cast<std::size_t>(position)] += 1;
    }
    return shares(counts);
}

double on_beat_share(const std::vector<double>& positions, int steps_per_beat) {
    double on_beat = 0;
    for (std::size_t position = 0; position < positions.size(); position += static_cast<std::size_t>(steps_per_beat))
        on_beat += positions[position];
    return on_beat;
}

double entropy_bits(const std::vector<double>& shares) {
    double bits = 0;
    for (double share : shares)
        if (share > 0) bits -= share * std::log2(share);
    return bits;
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
    const auto bars = bars_of(onsets, options);
    set(Feature::bar_repetition, {bar_repetition(bars)});
    set(Feature::rest_share, {rest_share(sorted, options)});
    set(Feature::velocity_spread, {standard_deviation(velocities)});
    auto positions = bar_positions(onsets, options);
    set(Feature::on_beat_share, {on_beat_share(positions, options.steps_per_beat)});
    set(Feature::bar_position_entropy, {entropy_bits(positions)});
    set(Feature::bar_position_histogram, std::move(positions));
    set(Feature::bar_repetition_lag1, {bar_repetition_at(bars, 1)});
    set(Feature::bar_repetition_lag2, {bar_repetition_at(bars, 2)});
    set(Feature::bar_repetition_lag4, {bar_repetition_at(bars, 4)});
    auto similarity = self_similarity(bars);
    set(Feature::self_similarity, {similarity.mean});
    set(Feature::self_similarity_lags, std::move(similarity.lags));
    return features;
}

std::vector<Segment> cut_segments(const std::vector<midi::Note>& notes, double length_beats) {
    if (!(length_beats > 0)) throw std::invalid_argument("cut_segments: the length must be positive");
    double end = 0;
    for (const auto& note : notes) end = std::max(end, note.end_beat);
    auto count = static_cast<std::size_t>(end / length_beats);
    if (end - static_cast<double>(count) * length_beats >= length_beats / 2) ++count;
    std::vector<Segment> segments(count);
    for (std::size_t index = 0; index < count; ++index)
        segments[index].start_beat = static_cast<double>(index) * length_beats;
    for (const auto& note : notes) {
        if (note.start_beat < 0) continue;
        auto index = static_cast<std::size_t>(note.start_beat / length_beats);
        if (index >= count) continue;
        auto moved = note;
        moved.start_beat -= segments[index].start_beat;
        moved.end_beat -= segments[index].start_beat;
        segments[index].notes.push_back(moved);
    }
    std::erase_if(segments, [](const auto& segment) { return segment.notes.empty(); });
    return segments;
}

MeasureOptions segment_options(const MeasureOptions& piece, const Segment& segment, double length_beats) {
    auto options = piece;
    options.length_beats = length_beats;
    options.bar_start_beat = piece.bar_start_beat - segment.start_beat;
    return options;
}

}  // namespace kanade::eval
