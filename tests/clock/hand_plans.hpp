// A StepSource of plans a test writes by hand before the scheduler starts, so what is
// played on each step is known.
#pragma once

#include "kanade/clock/step_source.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <initializer_list>
#include <utility>
#include <vector>

namespace kanade::test {

// Sessions whose plans the test writes before the scheduler starts.
class HandPlans final : public clock::StepSource {
public:
    explicit HandPlans(std::size_t sessions) : queues_(sessions), expecting_(sessions), epochs_(sessions) {}
    std::size_t session_count() const override { return queues_.size(); }
    clock::PlanQueue& plans(int session) override { return queues_[static_cast<std::size_t>(session)]; }
    bool expects_plans(int session) const override { return expecting_[static_cast<std::size_t>(session)].load(); }
    void expect(int session, bool on) { expecting_[static_cast<std::size_t>(session)].store(on); }
    std::uint64_t plan_epoch(int session) const override { return epochs_[static_cast<std::size_t>(session)].load(); }
    void take_back(int session, std::uint64_t epoch) { epochs_[static_cast<std::size_t>(session)].store(epoch); }

    // Plans for `session`: {step, {pitch, steps}...}, made in re-plan `epoch`.
    void plan(int session, std::int64_t step, std::initializer_list<std::pair<int, int>> notes,
              std::uint64_t epoch = 0) {
        clock::StepPlan plan;
        plan.step = step;
        plan.epoch = epoch;
        for (auto [pitch, steps] : notes)
            plan.add({static_cast<std::uint8_t>(pitch), 100, static_cast<std::uint16_t>(steps)});
        REQUIRE(plans(session).push(plan));
    }

private:
    std::vector<clock::PlanQueue> queues_;
    std::vector<std::atomic<bool>> expecting_;
    std::vector<std::atomic<std::uint64_t>> epochs_;
};

}  // namespace kanade::test
