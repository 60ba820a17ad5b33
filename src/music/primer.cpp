#include "kanade/music/primer.hpp"

#include "kanade/music/kanade_tokenizer.hpp"
#include "kanade/music/meter_map.hpp"
#include "kanade/music/token_table.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

namespace kanade::music {
namespace {

// The first step of bar `bar` (bars counted as MeterMap counts them), or -1 past the end.
long bar_start(const MeterMap& meters, long bar, long last_step) {
    for (long step = 0; step <= last_step; step += meters.steps_per_beat_at(step)) {
        const auto at = meters.at(step);
        if (at.bar == bar && at.beat_in_bar == 0 && at.step_in_beat == 0) return step;
        if (at.bar > bar) return -1;
    }
    return -1;
}

}  // namespace

Primer primer_from(const CorpusFile& file, const Vocabulary& vocabulary, long first_bar, int bars, int steps_per_beat) {
    Primer primer;
    const MeterMap meters(file.meters, steps_per_beat);
    const long last_step = file.notes.empty() ? 0 : std::lround(file.notes.back().start_beat * steps_per_beat);
    const long start = bar_start(meters, first_bar, last_step);
    if (start < 0) return primer;
    primer.bar_steps = meters.steps_per_bar_at(start);
    const long end = start + static_cast<long>(bars) * primer.bar_steps;
    if (meters.at(end - 1).bar > meters.at(last_step).bar) return primer;  // past the piece's last bar
    for (long bar = 1; bar < bars; ++bar)                                  // one meter throughout
        if (meters.steps_per_bar_at(start + bar * primer.bar_steps) != primer.bar_steps ||
            meters.at(start + bar * primer.bar_steps).beat_in_bar != 0)
            return primer;

    // Its notes moved to start at beat 0, their steps as the tokenizer rounds them.
    std::vector<midi::Note> notes;
    for (auto note : file.notes) {
        const long step = std::lround(note.start_beat * steps_per_beat);
        if (step < start || step >= end) continue;
        const double shift = static_cast<double>(start) / steps_per_beat;
        note.start_beat -= shift;
        note.end_beat -= shift;
        notes.push_back(note);
    }
    if (notes.empty()) return primer;
    const KanadeTokenizer tokenizer(GridOptions{steps_per_beat});
    const auto timed = tokenizer.encode_timed(notes);
    auto tokens = KanadeTokenizer::wait_tokens(timed.steps.front());  // from the bar line to the first onset
    tokens.insert(tokens.end(), timed.tokens.begin(), timed.tokens.end());
    const auto to_end = KanadeTokenizer::wait_tokens(end - start - timed.steps.back());  // to the bar line after
    tokens.insert(tokens.end(), to_end.begin(), to_end.end());
    for (const auto& token : tokens) {
        const auto id = vocabulary.id_of(token);
        if (!id) return Primer{primer.bar_steps, {}};
        primer.ids.push_back(*id);
    }
    if (primer.ids.size() > max_primer_tokens) primer.ids.clear();
    return primer;
}

PrimerShape shape_of(const Primer& primer, const Vocabulary& vocabulary, int steps_per_beat) {
    std::vector<std::string> tokens;
    for (int id : primer.ids) tokens.push_back(vocabulary.token(id));
    const auto notes = KanadeTokenizer(GridOptions{steps_per_beat}).decode(tokens);
    std::set<long> onsets;
    std::size_t on_beat = 0;
    for (const auto& note : notes) {
        const long step = std::lround(note.start_beat * steps_per_beat);
        if (onsets.insert(step).second && step % steps_per_beat == 0) ++on_beat;
    }
    const auto steps = token_steps(primer.ids, TokenTable(vocabulary, "kanade"), steps_per_beat);
    const double bars = steps.empty() ? 0 : static_cast<double>(steps.back()) / primer.bar_steps;
    PrimerShape shape;
    if (!onsets.empty()) shape.on_beat_share = static_cast<double>(on_beat) / static_cast<double>(onsets.size());
    if (bars > 0) shape.notes_per_bar = static_cast<double>(notes.size()) / bars;
    return shape;
}

std::vector<Primer> choose_primers(const Corpus& corpus, const Vocabulary& vocabulary, const PrimerOptions& options) {
    // One candidate a training file, in path order.
    std::vector<Primer> candidates;
    std::vector<PrimerShape> shapes;
    for (const auto& file : corpus.files) {
        if (file.split != Split::train || file.notes.empty()) continue;
        const MeterMap meters(file.meters, options.steps_per_beat);
        const long total_bars = meters.at(std::lround(file.notes.back().start_beat * options.steps_per_beat)).bar + 1;
        if (total_bars < options.bars) continue;
        auto primer = primer_from(file, vocabulary, std::min(total_bars / 3, total_bars - options.bars), options.bars,
                                  options.steps_per_beat);
        if (primer.ids.empty()) continue;
        shapes.push_back(shape_of(primer, vocabulary, options.steps_per_beat));
        candidates.push_back(std::move(primer));
    }
    std::vector<double> densities;
    for (const auto& shape : shapes) densities.push_back(shape.notes_per_bar);
    std::sort(densities.begin(), densities.end());
    const double median = densities.empty() ? 0 : densities[densities.size() / 2];
    std::vector<const Primer*> kept;
    for (std::size_t i = 0; i < candidates.size(); ++i)
        if (shapes[i].on_beat_share >= options.min_on_beat_over_chance / options.steps_per_beat &&
            shapes[i].notes_per_bar <= options.max_density_over_median * median)
            kept.push_back(&candidates[i]);

    std::vector<Primer> primers;
    const std::size_t count = std::min({options.count, max_primers, kept.size()});
    for (std::size_t i = 0; i < count; ++i) primers.push_back(*kept[i * kept.size() / count]);
    return primers;
}

}  // namespace kanade::music
