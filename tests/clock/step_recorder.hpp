// A NoteOutput that keeps what the scheduler sends, each with the step it was sent on, in
// fixed storage (no allocation on the scheduler thread), for the scheduler's tests.
#pragma once

#include "kanade/clock/note_output.hpp"
#include "kanade/clock/scheduler.hpp"

#include <array>
#include <atomic>
#include <vector>

namespace kanade::test {

struct Sent {
    std::int64_t step;  // the step the scheduler played it on
    midi::Message message;
};

// What the scheduler sends, each with the step it was sent on. Fixed storage: no
// allocation on the scheduler thread.
class StepRecorder final : public clock::NoteOutput {
public:
    void attach(const clock::Scheduler& scheduler) { scheduler_ = &scheduler; }
    // The step the scheduler says a note was played on; clock messages carry none.
    void machine(const midi::Message& message, std::int64_t step) override { add(message, step); }
    void clock(const midi::Message& message) override { add(message, scheduler_->current_step()); }
    std::vector<Sent> sent() const { return {log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(count_.load())}; }
    std::vector<Sent> notes(bool on) const {
        std::vector<Sent> chosen;
        for (const auto& s : sent())
            if (on ? s.message.is_note_on() : s.message.is_note_off()) chosen.push_back(s);
        return chosen;
    }

private:
    void add(const midi::Message& message, std::int64_t step) {
        const auto i = count_.load(std::memory_order_relaxed);
        if (i == log_.size()) return;
        log_[i] = {step, message};
        count_.store(i + 1, std::memory_order_release);
    }
    const clock::Scheduler* scheduler_ = nullptr;
    std::array<Sent, 8192> log_{};
    std::atomic<std::size_t> count_{0};
};

}  // namespace kanade::test
