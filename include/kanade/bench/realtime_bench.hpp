// The daemon's timing, measured in-process with the real scheduler and inference
// service (no MIDI or audio device): how far each note sent lies from its ideal grid
// time while the inference worker is busy, and how long a player waits from the end of
// a call to the first note of the answer.
#pragma once

#include "kanade/bench/latency.hpp"
#include "kanade/engine/generator.hpp"
#include "kanade/model/model_file.hpp"

#include <memory>

namespace kanade::bench {

struct RealtimeCase {
    double bpm = 120;
    int steps_per_beat = 4;
    int sessions = 8;  // all generating: the worker is busy
    engine::InferenceMode mode = engine::InferenceMode::faithful;
    double seconds = 20;
};

struct SchedulerTiming {
    Latency send_minus_grid;  // emitted note time minus its grid time (ms)
    std::uint64_t notes = 0, steps = 0, late_steps = 0;
    bool realtime_priority = false;
};

// Plays `sessions` free voices for `seconds` and times every note-on as it is sent.
SchedulerTiming measure_scheduler_timing(std::shared_ptr<model::Model> model, const RealtimeCase& realtime_case);

// Plays `calls` short calls (three notes) into a call-and-response session, ends each
// phrase explicitly and times the first answer note after it.
Latency measure_call_to_answer(std::shared_ptr<model::Model> model, const RealtimeCase& realtime_case, int calls);

struct PlayerToMachine {
    // From a player's note's arrival (ms): to the first step planned with it in the window
    // as it plays, and to kanade's first note planned with it (SchedulerStats).
    Latency to_step, to_note;
    Latency to_note_joined;  // to kanade's first note with engine.join_player on
    std::size_t notes_played = 0;
    double step_ms = 0, inference_p99_ms = 0;  // the bound: one step plus the inference p99
};

// Plays `notes` single notes, one every 8 steps at phases spread over the step, into an
// accompanying session (streaming, as kanaded plays by default) and reads the scheduler's
// own player-to-machine timing; then again with engine.join_player on.
PlayerToMachine measure_player_to_machine(std::shared_ptr<model::Model> model, const RealtimeCase& realtime_case,
                                          int notes);

}  // namespace kanade::bench
