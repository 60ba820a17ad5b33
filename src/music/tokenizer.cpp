#include "kanade/music/tokenizer.hpp"

#include "kanade/music/kanade_tokenizer.hpp"
#include "kanade/music/seed_tokenizer.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

namespace kanade::music {

std::unique_ptr<Tokenizer> make_tokenizer(std::string_view name, GridOptions grid) {
    if (grid.steps_per_beat < 1 || grid.steps_per_beat > 48)
        throw std::invalid_argument("steps per beat must be 1..48, not " + std::to_string(grid.steps_per_beat));
    if (name == "seed") return std::make_unique<SeedTokenizer>(grid);
    if (name == "kanade") return std::make_unique<KanadeTokenizer>(grid);
    throw std::invalid_argument("unknown tokenizer '" + std::string(name) + "' (expected seed or kanade)");
}

std::vector<OnsetGroup> group_onsets(const std::vector<midi::Note>& notes, const GridOptions& grid) {
    std::map<long, std::vector<midi::Note>> by_step;
    for (const auto& note : notes) {
        long step = std::lround(note.start_beat * grid.steps_per_beat);
        by_step[step].push_back(note);
    }
    std::vector<OnsetGroup> groups;
    groups.reserve(by_step.size());
    for (auto& [step, group] : by_step) groups.push_back({step, std::move(group)});
    return groups;
}

}  // namespace kanade::music
