#include "kanade/engine/offline_performance.hpp"

#include "kanade/engine/inference_service.hpp"

#include <algorithm>
#include <array>

namespace kanade::engine {
namespace {

// More tokens than any step can use (StepPlan holds 12 notes of 3 tokens each).
constexpr int max_tokens_per_step = 256;

}  // namespace

std::vector<midi::Note> perform_offline(std::shared_ptr<model::Model> model, const SessionSettings& settings,
                                        const OfflinePerformance& performance, torch::Device device) {
    const double steps_per_beat = model->grid.steps_per_beat;
    InferenceService service(model, device, performance.mode, performance.seed);
    service.add_session(settings);
    if (!performance.prompt.empty()) service.set_prompt(0, performance.prompt, performance.prompt_conditions);

    std::vector<midi::Note> notes;
    std::array<std::ptrdiff_t, 128> sounding;  // index into notes of the note on each pitch, or -1
    sounding.fill(-1);
    auto& queue = service.plans(0);
    for (std::int64_t step = 0; step < performance.steps; ++step) {
        // As many passes as a worker that is never late makes before this step's deadline.
        // A network that never moves time on (no wait token) is cut off as the clock would.
        for (int pass = 0; pass < max_tokens_per_step && service.plan_offline(step); ++pass) {}
        StepPlan plan;
        while (const auto* front = queue.peek()) {
            if (front->step > step) break;
            queue.pop(plan);
            if (plan.step < step) continue;  // the scheduler drops what is late; offline nothing is
            const double beat = static_cast<double>(step) / steps_per_beat;
            for (int i = 0; i < plan.count; ++i) {
                const auto& planned = plan.notes[i];
                auto& index = sounding[planned.pitch & 0x7F];
                if (index >= 0 && notes[static_cast<std::size_t>(index)].end_beat > beat)
                    notes[static_cast<std::size_t>(index)].end_beat = beat;  // struck again
                midi::Note note;
                note.pitch = planned.pitch;
                note.velocity = static_cast<std::uint8_t>(std::max<int>(1, planned.velocity));
                note.channel = static_cast<std::uint8_t>(settings.output_channel);
                note.start_beat = beat;
                note.end_beat = beat + std::clamp<int>(planned.steps, 1, performance.max_note_steps) / steps_per_beat;
                index = static_cast<std::ptrdiff_t>(notes.size());
                notes.push_back(note);
            }
        }
    }
    // The last notes end where the performance does, as a stop ends them in the daemon.
    const double end = static_cast<double>(performance.steps) / steps_per_beat;
    for (auto& note : notes) note.end_beat = std::min(note.end_beat, end);
    return notes;
}

}  // namespace kanade::engine
