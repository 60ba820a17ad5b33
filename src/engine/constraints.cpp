#include "kanade/engine/constraints.hpp"

#include "kanade/music/kanade_tokenizer.hpp"
#include "kanade/music/pitch.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <stdexcept>

namespace kanade::engine {
namespace {

const std::map<std::string, std::uint16_t>& scale_masks() {
    auto bits = [](std::initializer_list<int> degrees) {
        std::uint16_t mask = 0;
        for (int degree : degrees) mask |= static_cast<std::uint16_t>(1u << degree);
        return mask;
    };
    static const std::map<std::string, std::uint16_t> masks = {
        {"major", bits({0, 2, 4, 5, 7, 9, 11})},
        {"minor", bits({0, 2, 3, 5, 7, 8, 10})},
        {"harmonic-minor", bits({0, 2, 3, 5, 7, 8, 11})},
        {"dorian", bits({0, 2, 3, 5, 7, 9, 10})},
        {"mixolydian", bits({0, 2, 4, 5, 7, 9, 10})},
        {"pentatonic", bits({0, 2, 4, 7, 9})},
        {"minor-pentatonic", bits({0, 3, 5, 7, 10})},
        {"blues", bits({0, 3, 5, 6, 7, 10})},
        {"chromatic", 0xFFF},
    };
    return masks;
}

// Louder bins gain with energy: V1 -> -1, V8 -> +1.
float energy_slope_of_velocity(int bin) {
    if (bin < 1) return 0;
    constexpr float middle = (1 + music::KanadeTokenizer::velocity_bins) / 2.0f;
    return (static_cast<float>(bin) - middle) / (middle - 1);
}

// Shorter notes gain with energy, on a log scale: a sixteenth +1 .. three bars -1.
float energy_slope_of_duration(int steps) {
    if (steps < 1) return 0;
    constexpr auto lengths = music::KanadeTokenizer::duration_steps();
    const float shortest = std::log(static_cast<float>(lengths.front()));
    const float longest = std::log(static_cast<float>(lengths.back()));
    return 1 - 2 * (std::log(static_cast<float>(steps)) - shortest) / (longest - shortest);
}

// Energy favours fuller onsets (seed tokens): a lone note -0.5 .. a 4-note chord +1.
float energy_slope_of_onset(std::size_t notes) {
    return std::clamp((static_cast<float>(notes) - 2.0f) / 2.0f, -0.5f, 1.0f);
}

// How many nats the strongest energy (+-1) moves a token's logit: enough to shift the
// character audibly, not so much that the model's own choice stops mattering.
constexpr float energy_nats = 1.5f;
constexpr float energy_wait_nats = 0.7f;  // energy also means fewer, shorter rests

}  // namespace

void Constraints::set_scale(const std::string& text) {
    std::istringstream words(text);
    std::string root, name;
    words >> root >> name;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (root == "chromatic" || root.empty() || root == "off" || root == "none") {
        scale_root = -1;
        scale_mask = 0xFFF;
        return;
    }
    if (name.empty()) name = std::isupper(static_cast<unsigned char>(root[0])) ? "major" : "minor";
    auto pitch = music::parse_pitch_name(root + "4");
    auto found = scale_masks().find(name);
    if (!pitch)
        throw std::invalid_argument("'" + root + "' is not a note name (a scale is \"ROOT NAME\", e.g. \"D dorian\")");
    if (found == scale_masks().end()) throw std::invalid_argument("unknown scale '" + name + "'");
    scale_root = *pitch % 12;
    scale_mask = found->second;
}

std::string Constraints::scale_text() const {
    if (scale_root < 0) return "chromatic";
    for (const auto& [name, mask] : scale_masks())
        if (mask == scale_mask) {
            auto note = music::pitch_name(60 + scale_root);
            return note.substr(0, note.size() - 1) + " " + name;
        }
    return "custom";
}

TokenMask::TokenMask(music::TokenTable tokens) : tokens_(std::move(tokens)), energy_slopes_(tokens_.size(), 0.0f) {
    for (std::size_t id = 0; id < tokens_.size(); ++id) {
        const auto& token = tokens_[static_cast<int>(id)];
        auto& slope = energy_slopes_[id];
        switch (token.kind) {
            case music::TokenKind::onset: slope = energy_slope_of_onset(token.pitches.size()); break;
            case music::TokenKind::velocity: slope = energy_slope_of_velocity(token.velocity_bin); break;
            case music::TokenKind::duration: slope = energy_slope_of_duration(token.steps); break;
            default: break;
        }
    }
}

void TokenMask::apply(const Constraints& constraints, const LineState& line, std::span<const int> recent_tokens,
                      std::span<float> logits, std::span<bool> mask) const {
    const bool scale_on = constraints.scale_root >= 0 && constraints.scale_mask != 0xFFF;
    const float energy = static_cast<float>(std::clamp(constraints.energy, -1.0, 1.0));
    const float wait_bias = (constraints.density > 0 ? static_cast<float>(-std::log(constraints.density)) : 0.0f) -
                            energy * energy_wait_nats;
    for (std::size_t i = 0; i < tokens_.size() && i < logits.size(); ++i) {
        const auto& info = tokens_[static_cast<int>(i)];
        bool allowed = !line.awaiting_duration || info.kind == music::TokenKind::duration;
        logits[i] += energy * energy_nats * energy_slopes_[i];
        if (info.starts_note()) {
            for (int pitch : info.pitches) {
                int degree = ((pitch % 12) - constraints.scale_root + 12) % 12;
                // Seed chords carry pitch classes only: the range applies to single notes.
                bool in_range = info.pitch_classes_only ||
                                (pitch >= constraints.lowest_pitch && pitch <= constraints.highest_pitch);
                if (!in_range || (scale_on && !(constraints.scale_mask >> degree & 1))) allowed = false;
            }
            // Kanade tokens add notes to a step one by one; a seed token is the whole onset.
            int notes_on_step =
                info.kind == music::TokenKind::onset ? static_cast<int>(info.pitches.size()) : line.notes_on_step + 1;
            if (notes_on_step > std::max(1, constraints.max_polyphony)) allowed = false;
        } else if (info.kind == music::TokenKind::wait) {
            if (line.must_start_note) allowed = false;
            logits[i] += wait_bias;
        }
        mask[i] = mask[i] && allowed;
    }
    if (constraints.repetition_penalty > 1.0) {
        for (int id : recent_tokens) {
            if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size()) continue;
            if (!tokens_[id].starts_note()) continue;
            auto& logit = logits[static_cast<std::size_t>(id)];
            logit = logit > 0 ? logit / static_cast<float>(constraints.repetition_penalty)
                              : logit * static_cast<float>(constraints.repetition_penalty);
        }
    }
}

}  // namespace kanade::engine
