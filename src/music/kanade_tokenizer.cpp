#include "kanade/music/kanade_tokenizer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace kanade::music {

std::optional<int> KanadeTokenizer::token_number(std::string_view token, char prefix) {
    if (token.size() < 2 || token[0] != prefix) return std::nullopt;
    int value = 0;
    auto [end, error] = std::from_chars(token.data() + 1, token.data() + token.size(), value);
    if (error != std::errc{} || end != token.data() + token.size()) return std::nullopt;
    return value;
}

namespace {

int into_piano_range(int pitch) {
    while (pitch < KanadeTokenizer::lowest_pitch) pitch += 12;
    while (pitch > KanadeTokenizer::highest_pitch) pitch -= 12;
    return pitch;
}

}  // namespace

int KanadeTokenizer::velocity_bin(int velocity) {
    return std::clamp(velocity, 1, 127) / 16 + 1;  // 1..8, 16 velocities each
}

int KanadeTokenizer::bin_velocity(int bin) { return std::clamp(bin, 1, velocity_bins) * 16 - 8; }

int KanadeTokenizer::nearest_duration(long steps) {
    int best = duration_steps().front();
    for (int candidate : duration_steps())
        if (std::abs(candidate - steps) < std::abs(best - steps)) best = candidate;
    return best;
}

std::optional<Vocabulary> KanadeTokenizer::fixed_vocabulary() const {
    std::vector<std::string> tokens;
    for (int wait = 1; wait <= max_wait_steps; ++wait) tokens.push_back("W" + std::to_string(wait));
    for (int bin = 1; bin <= velocity_bins; ++bin) tokens.push_back("V" + std::to_string(bin));
    for (int pitch = lowest_pitch; pitch <= highest_pitch; ++pitch) tokens.push_back("P" + std::to_string(pitch));
    for (int duration : duration_steps()) tokens.push_back("D" + std::to_string(duration));
    return Vocabulary(std::move(tokens));
}

std::vector<std::string> KanadeTokenizer::encode(const std::vector<midi::Note>& notes) const {
    return encode_timed(notes).tokens;
}

std::vector<std::string> KanadeTokenizer::wait_tokens(long steps) {
    std::vector<std::string> waits;
    for (; steps > 0; steps -= max_wait_steps)
        waits.push_back("W" + std::to_string(std::min<long>(steps, max_wait_steps)));
    return waits;
}

TimedTokens KanadeTokenizer::encode_timed(const std::vector<midi::Note>& notes) const {
    TimedTokens timed;
    auto add = [&](std::string token, long step, int velocity = -1) {
        timed.tokens.push_back(std::move(token));
        timed.steps.push_back(step);
        timed.velocities.push_back(velocity);
    };
    int current_bin = 0;  // none yet: the first note always states its dynamics
    long previous_step = -1;
    for (auto& group : group_onsets(notes, grid_)) {
        if (previous_step >= 0) {
            long step = previous_step;
            for (auto& wait : wait_tokens(group.step - previous_step)) {
                step += *token_number(wait, 'W');
                add(std::move(wait), step);
            }
        }
        previous_step = group.step;
        std::sort(group.notes.begin(), group.notes.end(),
                  [](const midi::Note& a, const midi::Note& b) { return a.pitch > b.pitch; });
        int last_pitch = -1;
        for (const auto& note : group.notes) {
            int pitch = into_piano_range(note.pitch);
            if (pitch == last_pitch) continue;  // doubled after octave folding
            last_pitch = pitch;
            int bin = velocity_bin(note.velocity);
            if (bin != current_bin) add("V" + std::to_string(bin), group.step);
            current_bin = bin;
            long length = std::lround((note.end_beat - note.start_beat) * grid_.steps_per_beat);
            add("P" + std::to_string(pitch), group.step, note.velocity);
            add("D" + std::to_string(nearest_duration(std::max(1L, length))), group.step);
        }
    }
    return timed;
}

std::optional<midi::Note> KanadeTokenReader::feed(std::string_view token) {
    if (auto wait = KanadeTokenizer::token_number(token, 'W'); wait && *wait >= 1) {
        step_ += std::min(*wait, KanadeTokenizer::max_wait_steps);
        pending_pitch_ = -1;
    } else if (auto bin = KanadeTokenizer::token_number(token, 'V')) {
        velocity_ = KanadeTokenizer::bin_velocity(*bin);
    } else if (auto pitch = KanadeTokenizer::token_number(token, 'P'); pitch && *pitch >= 0 && *pitch <= 127) {
        pending_pitch_ = *pitch;
    } else if (auto duration = KanadeTokenizer::token_number(token, 'D'); duration && pending_pitch_ >= 0) {
        midi::Note note;
        note.pitch = static_cast<std::uint8_t>(pending_pitch_);
        note.velocity = static_cast<std::uint8_t>(velocity_);
        note.start_beat = static_cast<double>(step_) / grid_.steps_per_beat;
        note.end_beat = note.start_beat + static_cast<double>(std::clamp(*duration, 1, 64)) / grid_.steps_per_beat;
        pending_pitch_ = -1;
        return note;
    }
    return std::nullopt;
}

std::vector<midi::Note> KanadeTokenizer::decode(const std::vector<std::string>& tokens) const {
    KanadeTokenReader reader(grid_);
    std::vector<midi::Note> notes;
    for (const auto& token : tokens)
        if (auto note = reader.feed(token)) notes.push_back(*note);
    return notes;
}

std::size_t KanadeTokenizer::count_note_events(const std::vector<std::string>& tokens) const {
    // An onset event is a run of notes between waits; count runs that hold a note.
    std::size_t events = 0;
    bool note_since_wait = false;
    for (const auto& token : tokens) {
        if (!token.empty() && token[0] == 'W')
            note_since_wait = false;
        else if (!token.empty() && token[0] == 'P' && !note_since_wait) {
            note_since_wait = true;
            ++events;
        }
    }
    return events;
}

}  // namespace kanade::music
