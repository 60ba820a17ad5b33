// The inference worker: owns every session's token window and LSTM state, runs the
// network ahead of the clock for all sessions that need a step in ONE batched forward
// pass, samples, and hands finished steps to the real-time scheduler through one
// lock-free queue per session. Everything here may block or allocate; nothing here
// runs on the scheduler thread.
//
// Driven by: the scheduler's StepClock (the step it plays next, playing or not), the
// input thread calling human_note()/end_phrase(), the control thread changing settings
// or the model. It is the scheduler's StepSource; nothing flows back to the clock.
#pragma once

#include "kanade/clock/spsc_queue.hpp"
#include "kanade/clock/step_clock.hpp"
#include "kanade/clock/step_source.hpp"
#include "kanade/engine/generator.hpp"
#include "kanade/engine/session_settings.hpp"
#include "kanade/engine/step_decoder.hpp"
#include "kanade/model/cuda_graph_step.hpp"
#include "kanade/model/model_file.hpp"
#include "kanade/music/bar_lookback.hpp"
#include "kanade/music/meter_map.hpp"
#include "kanade/music/token_conditions.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace kanade::engine {

// A plan as it is made, for whoever shows what is coming (OSC subscribers).
struct PlannedStep {
    int channel = 0;  // the session's MIDI output channel, from 0
    StepPlan plan;
    bool retracts = false;  // no notes: what was planned from plan.step on is void (a re-plan)
};

struct InferenceStats {
    double p50_ms = 0, p99_ms = 0, max_ms = 0;  // one batched forward step
    std::uint64_t forward_passes = 0;
    std::uint64_t stale_plans = 0;  // finished after their step had passed
    std::uint64_t replans = 0;      // accompany: times the player's notes had steps made again
    std::uint64_t tokens = 0;
    std::uint64_t failures = 0;             // forward passes that threw (the worker went on)
    std::uint64_t dropped_human_notes = 0;  // the player's notes the input queue had no room for
    std::string last_failure;               // what the latest one said
    std::string cuda_graph_error;           // why faithful steps on CUDA run unrecorded ("" if they don't)
    std::string device;                     // where inference runs now ("cpu", "cuda:0")
};

class InferenceService final : public clock::StepSource {
public:
    // Session i samples with seed + i, so a session plays the same notes alone or batched.
    InferenceService(std::shared_ptr<model::Model> model, torch::Device device, InferenceMode mode, std::uint64_t seed);
    ~InferenceService() override;

    // Before start() only.
    int add_session(const SessionSettings& settings);
    // The scheduler's side of session `id`'s queue.
    PlanQueue& plans(int id) override { return *sessions_[static_cast<std::size_t>(id)]->queue; }
    // Whether session `id` is generating now (a missing plan is then a late step). RT-safe.
    bool expects_plans(int id) const override {
        return sessions_[static_cast<std::size_t>(id)]->expecting.load(std::memory_order_relaxed);
    }
    // Plans of session `id` older than this were taken back by a re-plan. RT-safe.
    std::uint64_t plan_epoch(int id) const override {
        return sessions_[static_cast<std::size_t>(id)]->live_epoch.load(std::memory_order_acquire);
    }
    std::size_t session_count() const override { return sessions_.size(); }

    // The worker thread plans ahead of `step_clock` (which must outlive stop()).
    void start(clock::StepClock& step_clock);
    void stop();
    // One pass of the worker at clock step `now`, on the caller's thread, for a service
    // that was never start()ed: an offline render (kanade generate) plays exactly what the
    // daemon would, step by step, as fast as the network runs. False when no session was
    // due a token: every plan up to now + lookahead is made.
    bool plan_offline(std::int64_t now);

    // A player's note, on the grid step it fell on. ONE producer thread (the input
    // thread): a lock-free queue to the worker, never its lock, which a forward pass holds.
    // False when the queue is full (counted in stats().dropped_human_notes).
    // `arrived_ns`: when the note came (CLOCK_MONOTONIC; 0: unknown), so the first plan
    // made with it in the window carries it and the scheduler times the answer.
    bool human_note(int session, int pitch, int velocity, std::int64_t step, bool on, std::int64_t arrived_ns = 0);
    // A player's controller change, through the same queue (the phrase-end pedal is one).
    bool human_controller(int session, int controller, int value);
    // A note from the control thread (OSC /kanade/note): the same as human_note, but
    // through the worker's lock, so the input queue keeps its one producer. May wait for
    // a forward pass; never call it from the input or the scheduler thread.
    void control_note(int session, int pitch, int velocity, std::int64_t step, bool on);
    // The player ended a phrase (pedal, OSC): call-response answers now. Any thread; lock-free.
    void end_phrase(int session);

    SessionSettings settings(int session) const;
    void update_settings(int session, const SessionSettings& settings);
    // Swapped between two forward passes; the windows are re-encoded for the new model.
    void swap_model(std::shared_ptr<model::Model> model);
    std::shared_ptr<model::Model> model() const;
    InferenceStats stats() const;
    // Fault drill: the next forward pass fails as passes do when a GPU is lost mid-set, and
    // the worker leaves its device for the CPU as it would then (on the CPU already, it
    // stays there). Lets a machine without a GPU show the fallback; any thread.
    void drill_device_loss() { device_loss_drill_.store(true, std::memory_order_relaxed); }
    // Plans as they are made, oldest first, for ONE consumer thread (the daemon's io
    // thread). When nobody takes them the oldest are dropped, never the scheduler's.
    bool pop_planned(PlannedStep& planned) { return planned_.pop(planned); }
    // A free session starts from these tokens (a seed MIDI file), with their conditions as
    // the file had them (empty: none said); none: from scratch.
    void set_prompt(int session, std::vector<int> ids, std::vector<music::TokenCondition> conditions = {});
    // The daemon's bar: where each grid step of the clock falls, which a conditioned
    // network is told with every token (4/4 unless set). Before start() only.
    void set_meter(music::MeterMap meters) { meters_ = std::move(meters); }

private:
    struct HumanNote {
        int pitch, velocity;
        std::int64_t step;
        std::int64_t end_step = -1;
        std::int64_t arrived_ns = 0;
    };
    struct HumanEvent {  // what crosses the input queue
        enum Kind : std::uint8_t { note_on, note_off, controller } kind;
        int session, number, value;  // pitch and velocity, or controller and value
        std::int64_t step;
        std::int64_t arrived_ns = 0;
    };
    bool push_human(const HumanEvent& event);
    struct WindowToken {
        int id;
        music::TokenCondition condition;
        std::int64_t step;  // the grid step it sounds at
    };
    // A session's line so far: everything making a token changes (but the sampler's draws),
    // so an accompany re-plan can go back to a step and make it again (ReplanPoint).
    struct Line {
        std::deque<WindowToken> window;  // the last `window` tokens (or grid steps), human and machine
        music::BarLookback lookback;     // the last four bars and more: the lookback input, bar repeats
        long repeat_decided_bar = std::numeric_limits<long>::min();  // the bar whose repeat was last drawn
        int repeat_lag = 0;           // that bar replays the one this many bars back; 0: plays freely
        model::RecurrentState state;  // streaming: after every token of the window
        bool state_valid = false;
        std::vector<float> next_logits;  // streaming: the state's prediction of the next token
        int last_token = -1;
        StepDecoder decoder{1};
    };
    // A player's note's arrival carried by a plan (StepPlan::heard_ns, answered_ns).
    struct ArrivalMark {
        std::int64_t step = -1;  // the plan that carries it
        std::int64_t arrived_ns = 0;
    };
    // Where an accompany session's line can be taken back to: as it was at `step` before the
    // token that moved time from there (a wait can be cut short: `wait`), or just after the
    // player's notes joined it.
    struct ReplanPoint {
        std::int64_t step;
        bool wait;  // any later step up to the next point is reached by waiting
        Line line;
    };
    struct Session {
        SessionSettings settings;
        std::unique_ptr<PlanQueue> queue = std::make_unique<PlanQueue>();
        Line line;
        std::deque<ReplanPoint> replan_points;     // accompany: oldest first, none before the clock's step
        std::uint64_t plan_epoch = 0;              // the worker's: the plans it makes now carry it
        std::atomic<std::uint64_t> live_epoch{0};  // the scheduler's: plans of an older epoch are void
        bool replan_published = true;              // the current epoch's first plan is in the queue
        // The arrival of the oldest player's note in the window that no plan (no plan with
        // notes) was queued after yet, 0: none; the next such plan carries it. A re-plan
        // gives back the mark of a plan it voids.
        std::int64_t unplanned_since_ns = 0, unanswered_since_ns = 0;
        ArrivalMark heard_mark, answered_mark;  // the latest queued plans that carried them
        Sampler sampler;
        bool generating = false;             // free/accompany: always; call-response: while answering
        std::atomic<bool> expecting{false};  // generating and caught up: read by the scheduler
        std::int64_t answer_end_step = -1;
        bool must_start_note = false;
        std::vector<HumanNote> phrase;  // call-response: the call being played
        std::int64_t last_human_step = -1;
        std::atomic<bool> phrase_end_requested{false};  // set by any thread, taken by the worker
        std::vector<int> prompt;
        std::vector<music::TokenCondition> prompt_conditions;
    };

    void run();
    // The worker's pass at clock step `now` (false: nothing was due); mutex_ held. Not
    // playing clears the windows' plans; playing again begins ahead of the clock.
    bool plan_ahead(std::int64_t now, bool playing);
    void take_human_events();                   // the input queue into the sessions' phrases
    void apply_human(const HumanEvent& event);  // mutex_ held
    void absorb_human_input(Session& session, std::int64_t now);
    // Accompany: the player came in while plans made without them wait to be played. The
    // line goes back to the clock's step `now` (or the first step after it that a point
    // allows) and those steps are made again; their old plans are void once the first new
    // one is queued. False when nothing was made ahead or no point reaches back.
    bool take_back(Session& session, std::int64_t now);
    void keep_replan_point(Session& session, bool wait);  // the line as it is now
    // The tokens join the window and (streaming) the state; conditions: one per id, or
    // empty: each gets the position of `steps[i]` on the daemon's grid and the session's controls.
    void feed_tokens(Session& session, const std::vector<int>& ids, const std::vector<std::int64_t>& steps,
                     std::vector<music::TokenCondition> conditions = {});
    // What the network is told with a token sounding at `step` of this session.
    music::TokenCondition condition_at(const Session& session, std::int64_t step) const;
    // The token joins the window; its condition, the lookback filled in, is returned.
    music::TokenCondition push_window(Session& session, WindowToken token);
    // A conditions tensor [rows, C] (or undefined for a network without conditions), in
    // host memory; conditions_tensor puts it where the network runs.
    torch::Tensor host_conditions(const std::vector<music::TokenCondition>& rows, std::int64_t time) const;
    torch::Tensor conditions_tensor(const std::vector<music::TokenCondition>& rows, std::int64_t time) const;
    void read_model_controls();
    // The model's ids of notes played from `first_step` on, each with its grid step.
    std::pair<std::vector<int>, std::vector<std::int64_t>> encode_at(
        const std::vector<midi::Note>& notes,
        std::int64_t first_step) const;  // the typical density and loudness of the current model
    void begin_answer(Session& session, std::int64_t now);
    void forward_and_sample(const std::vector<Session*>& due, std::int64_t now);
    int choose_token(Session& session, std::vector<float> row, std::int64_t now);
    // engine.repeat: whether bar `bar` replays the bar 2 or 4 back (drawn once a bar), the
    // token that replays it (-1: none), and a wait into a replaying bar cut to land on its
    // bar line, so the replay starts where the bar it copies did.
    void draw_repeat(Session& session, long bar);
    int repeated_token(Session& session);
    int onto_bar_line(Session& session, int token, std::span<const bool> mask);
    void reset_session(Session& session, std::int64_t start_step);
    std::vector<int> primer_for(Session& session, std::int64_t start_step);
    void rest_to(std::vector<int>& ids, std::int64_t start_step) const;
    void record_latency(double ms);
    void recover_from(const std::exception& failure, std::int64_t now);

    std::shared_ptr<model::Model> model_;
    std::shared_ptr<model::Model> pending_model_;
    music::TokenTable tokens_;  // what the current model's tokens mean
    std::unique_ptr<TokenMask> mask_;
    std::unique_ptr<music::Tokenizer> tokenizer_;              // encodes the player's notes
    music::MeterMap meters_;                                   // the daemon's bars
    double typical_notes_per_bar_ = 0, typical_velocity_ = 0;  // the model's corpus: density 1, energy 0
    torch::Device device_;
    // Off the CPU, the current (and the pending) model's weights also kept in host memory:
    // the fallback runs them when the device fails, since a lost GPU cannot hand its own
    // back. Null on the CPU.
    model::Network host_network_{nullptr}, pending_host_network_{nullptr};
    // On CUDA, full faithful windows replay recorded steps (dropped with the model or device).
    model::CudaGraphCache cuda_graphs_;
    std::atomic<bool> device_loss_drill_{false};
    InferenceMode mode_;
    std::uint64_t seed_;  // session i samples with seed_ + i
    std::vector<std::unique_ptr<Session>> sessions_;
    clock::SpscQueue<PlannedStep, 256> planned_;
    clock::SpscQueue<HumanEvent, 4096> human_events_;
    std::atomic<std::uint64_t> dropped_human_notes_{0};

    mutable std::mutex mutex_;                // guards settings, human input, model swap, stats (never the scheduler)
    clock::StepClock* step_clock_ = nullptr;  // the worker thread's, from start()
    std::atomic<bool> stopping_{false};
    bool was_running_ = false;
    std::thread thread_;
    std::deque<double> latencies_;
    InferenceStats stats_;
};

}  // namespace kanade::engine
