#include "kanade/engine/step_decoder.hpp"

#include "kanade/music/kanade_tokenizer.hpp"

#include <algorithm>

namespace kanade::engine {

StepDecoder::StepDecoder(int steps_per_beat) : steps_per_beat_(std::max(1, steps_per_beat)) {}

void StepDecoder::restart(std::int64_t step) {
    current_ = StepPlan{};
    current_.step = step;
    pending_pitch_ = -1;
}

bool StepDecoder::feed(const music::TokenMeaning& token, const std::function<void(const StepPlan&)>& emit) {
    auto advance = [&](int steps) {
        for (int i = 0; i < steps; ++i) {
            emit(current_);
            auto next = current_.step + 1;
            current_ = StepPlan{};
            current_.step = next;
        }
    };
    switch (token.kind) {
        case music::TokenKind::onset:
            for (int pitch : token.pitches)
                current_.add({static_cast<std::uint8_t>(pitch), 100, static_cast<std::uint16_t>(steps_per_beat_)});
            advance(token.steps_moved(steps_per_beat_));
            return true;
        case music::TokenKind::wait:
            pending_pitch_ = -1;
            advance(token.steps_moved(steps_per_beat_));
            break;
        case music::TokenKind::velocity: velocity_ = token.velocity; break;
        case music::TokenKind::pitch: pending_pitch_ = token.pitches.front(); break;
        case music::TokenKind::duration:
            if (pending_pitch_ < 0) break;  // a length with no note is ignored
            current_.add({static_cast<std::uint8_t>(pending_pitch_), static_cast<std::uint8_t>(velocity_),
                          static_cast<std::uint16_t>(std::clamp(token.steps, 1, 64))});
            pending_pitch_ = -1;
            return true;
        case music::TokenKind::other: break;
    }
    return false;
}

}  // namespace kanade::engine
