#include "kanade/engine/constraints.hpp"

#include "kanade/music/kanade_tokenizer.hpp"
#include "kanade/music/pitch.hpp"
#include "kanade/music/seed_tokenizer.hpp"

#include <algorithm>
#include <cctype>
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
float energy_slope_of_velocity(const std::string& token) {
    auto bin = music::KanadeTokenizer::token_number(token, 'V').value_or(0);
    if (bin < 1) return 0;
    constexpr float middle = (1 + music::KanadeTokenizer::velocity_bins) / 2.0f;
    return (static_cast<float>(bin) - middle) / (middle - 1);
}

// Shorter notes gain with energy, on a log scale: a sixteenth +1 .. three bars -1.
float energy_slope_of_duration(const std::string& token) {
    auto steps = music::KanadeTokenizer::token_number(token, 'D').value_or(0);
    if (steps < 1) return 0;
    constexpr auto lengths = music::KanadeTokenizer::duration_steps();
    const float shortest = std::log(static_cast<float>(lengths.front()));
    const float longest = std::log(static_cast<float>(lengths.back()));
    return 1 - 2 * (std::log(static_cast<float>(steps)) - shortest) / (longest - shortest);
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
    if (!pitch) throw std::invalid_argument("scale: '" + root + "' is not a note name");
    if (found == scale_masks().end()) throw std::invalid_argument("scale: unknown scale '" + name + "'");
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

TokenMask::TokenMask(const music::Vocabulary& vocabulary, const std::string& tokenizer) : seed_(tokenizer == "seed") {
    tokens_.resize(vocabulary.size());
    for (std::size_t i = 0; i < vocabulary.size(); ++i) {
        const auto& token = vocabulary.token(static_cast<int>(i));
        auto& info = tokens_[i];
        if (tokenizer == "seed") {
            info.pitches = music::SeedTokenizer::pitches_of(token);
            info.kind = info.pitches.size() == 1 && !std::isdigit(static_cast<unsigned char>(token[0])) ? Kind::note
                                                                                                        : Kind::chord;
            // Energy favours fuller onsets: a lone note -0.5 .. a 4-note chord +1.
            if (!info.pitches.empty())
                info.energy_slope = std::clamp((static_cast<float>(info.pitches.size()) - 2.0f) / 2.0f, -0.5f, 1.0f);
            continue;
        }
        switch (token.empty() ? '?' : token[0]) {
            case 'P':
                info.kind = Kind::note;
                info.pitches = {std::atoi(token.c_str() + 1)};
                break;
            case 'W': info.kind = Kind::wait; break;
            case 'V':
                info.kind = Kind::velocity;
                info.energy_slope = energy_slope_of_velocity(token);
                break;
            case 'D':
                info.kind = Kind::duration;
                info.energy_slope = energy_slope_of_duration(token);
                break;
            default: info.kind = Kind::other;
        }
    }
}

void TokenMask::apply(const Constraints& constraints, int pending_notes, bool must_start_note,
                      std::span<const int> recent_tokens, std::span<float> logits, std::span<bool> mask) const {
    const bool scale_on = constraints.scale_root >= 0 && constraints.scale_mask != 0xFFF;
    const float energy = static_cast<float>(std::clamp(constraints.energy, -1.0, 1.0));
    const float wait_bias = (constraints.density > 0 ? static_cast<float>(-std::log(constraints.density)) : 0.0f) -
                            energy * energy_wait_nats;
    for (std::size_t i = 0; i < tokens_.size() && i < logits.size(); ++i) {
        const auto& info = tokens_[i];
        bool allowed = true;
        logits[i] += energy * energy_nats * info.energy_slope;
        if (info.kind == Kind::note || info.kind == Kind::chord) {
            for (int pitch : info.pitches) {
                int degree = ((pitch % 12) - constraints.scale_root + 12) % 12;
                // Seed chords carry pitch classes only: the range applies to single notes.
                bool in_range = info.kind == Kind::chord ||
                                (pitch >= constraints.lowest_pitch && pitch <= constraints.highest_pitch);
                if (!in_range || (scale_on && !(constraints.scale_mask >> degree & 1))) allowed = false;
            }
            // Kanade tokens add notes to a step one by one; a seed token is the whole onset.
            int notes_on_step = seed_ ? static_cast<int>(info.pitches.size()) : pending_notes + 1;
            if (notes_on_step > std::max(1, constraints.max_polyphony)) allowed = false;
        } else if (info.kind == Kind::wait) {
            if (must_start_note) allowed = false;
            logits[i] += wait_bias;
        }
        mask[i] = mask[i] && allowed;
    }
    if (constraints.repetition_penalty > 1.0) {
        for (int id : recent_tokens) {
            if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size()) continue;
            auto kind = tokens_[static_cast<std::size_t>(id)].kind;
            if (kind != Kind::note && kind != Kind::chord) continue;
            auto& logit = logits[static_cast<std::size_t>(id)];
            logit = logit > 0 ? logit / static_cast<float>(constraints.repetition_penalty)
                              : logit * static_cast<float>(constraints.repetition_penalty);
        }
    }
}

}  // namespace kanade::engine
