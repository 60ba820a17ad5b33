#include "kanade/engine/step_decoder.hpp"

#include "kanade/music/kanade_tokenizer.hpp"
#include "kanade/music/seed_tokenizer.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace kanade::engine {

StepDecoder::StepDecoder(std::string tokenizer, int steps_per_beat)
    : seed_(tokenizer == "seed"), steps_per_beat_(std::max(1, steps_per_beat)) {}

void StepDecoder::restart(std::int64_t step) {
    current_ = StepPlan{};
    current_.step = step;
    pending_pitch_ = -1;
}

void StepDecoder::feed(std::string_view token, const std::function<void(const StepPlan&)>& emit) {
    auto advance = [&](int steps) {
        for (int i = 0; i < steps; ++i) {
            emit(current_);
            auto next = current_.step + 1;
            current_ = StepPlan{};
            current_.step = next;
        }
    };
    if (seed_) {
        for (int pitch : music::SeedTokenizer::pitches_of(token))
            current_.add({static_cast<std::uint8_t>(pitch), 100, static_cast<std::uint16_t>(steps_per_beat_)});
        advance(steps_per_beat_);
        return;
    }
    if (auto wait = music::KanadeTokenizer::token_number(token, 'W'); wait && *wait >= 1) {
        pending_pitch_ = -1;
        advance(std::min(*wait, music::KanadeTokenizer::max_wait_steps));
    } else if (auto bin = music::KanadeTokenizer::token_number(token, 'V')) {
        velocity_ = music::KanadeTokenizer::bin_velocity(*bin);
    } else if (auto pitch = music::KanadeTokenizer::token_number(token, 'P'); pitch && *pitch >= 0 && *pitch <= 127) {
        pending_pitch_ = *pitch;
    } else if (auto duration = music::KanadeTokenizer::token_number(token, 'D'); duration && pending_pitch_ >= 0) {
        current_.add({static_cast<std::uint8_t>(pending_pitch_), static_cast<std::uint8_t>(velocity_),
                      static_cast<std::uint16_t>(std::clamp(*duration, 1, 64))});
        pending_pitch_ = -1;
    }
}

}  // namespace kanade::engine
