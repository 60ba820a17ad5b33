// kanaded's parts wired together: model, inference service, scheduler, MIDI ports,
// audio, recorder and OSC, each on its own thread as DESIGN.md lays out:
//
//   MIDI in ─(input thread)─> session windows ─(inference worker)─> step queues
//          ─(real-time scheduler)─> MIDI out, synthesizer, recorder, OSC subscribers
//
// The Daemon object lives on the main thread; OSC, signals and housekeeping run on
// one Boost.Asio io_context there.
#pragma once

#include "kanade/clock/midi_clock_follower.hpp"
#include "kanade/io/link_session.hpp"
#include "kanade/clock/scheduler.hpp"
#include "kanade/engine/channel_routing.hpp"
#include "kanade/engine/inference_service.hpp"
#include "kanade/io/audio_output.hpp"
#include "kanade/io/config.hpp"
#include "kanade/io/midi_ports.hpp"
#include "kanade/io/osc_server.hpp"
#include "kanade/io/recorder.hpp"

#include <utility>  // before Boost 1.74 Asio, which uses std::exchange without it under C++20

#include <boost/asio.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace kanade::daemon {

class Daemon {
public:
    Daemon(io::DaemonConfig config, std::filesystem::path config_path);
    ~Daemon();

    // Runs until SIGTERM/SIGINT (or stop()); returns the exit code.
    int run();
    void stop();

    // Everything the OSC commands act on (osc_commands.cpp).
    io::DaemonConfig& config() { return config_; }
    engine::InferenceService& service() { return *service_; }
    clock::Scheduler& scheduler() { return *scheduler_; }
    const io::LinkSession* link() const { return link_.get(); }  // null without [clock] link
    // Who leads the grid: "link", "midi" (a MIDI clock ticked in the last half second) or "internal".
    std::string clock_leader() const;
    io::OscServer& osc() { return *osc_; }
    // Loads and checks a model file, then swaps it in between two steps. Returns "" or the reason.
    std::string load_model(const std::filesystem::path& path);
    std::string start_recording(const std::filesystem::path& dir);
    std::string stop_recording();
    std::string status_line() const;
    // MIDI learn: the next controller moved is bound to `target` and saved in the config
    // file; /kanade/learned TARGET CC CHANNEL goes to `requester`. Returns "" or why not.
    std::string learn(const std::string& target, const io::OscEndpoint& requester);
    void subscribe(const io::OscEndpoint& endpoint);
    void unsubscribe(const io::OscEndpoint& endpoint);
    std::string model_file() const { return model_path_.filename().string(); }
    io::Recorder::Counters record_counters() const;  // the current recording's (zeros when none)
    std::string recording_path() const;              // STEM.mid of the current recording ("" when none)
    std::filesystem::path models_dir() const;

private:
    // model.precision onto a freshly loaded network (logged where the CPU cannot).
    void apply_precision(model::Model& model);
    void reload();                                         // SIGHUP
    void input_loop();                                     // MIDI in
    void follow_controller(const midi::Message& message);  // [midi.cc]: a knob moved, a button pressed
    void finish_learning(int controller, int channel);     // on the io thread
    void housekeeping();                                   // every 50 ms on the io thread
    void report_record_errors();
    void report_inference_failures();
    void log(const std::string& line) const;
    std::string settings_json() const;

    io::DaemonConfig config_;
    std::filesystem::path config_path_;
    torch::Device device_{torch::kCPU};
    std::shared_ptr<model::Model> model_;
    std::filesystem::path model_path_;

    clock::StepClock step_clock_;  // the scheduler publishes its step; the worker plans ahead of it
    std::unique_ptr<engine::InferenceService> service_;
    std::unique_ptr<io::MidiPorts> midi_;
    std::unique_ptr<io::AudioOutput> audio_;
    std::unique_ptr<io::Recorder> recorder_;
    std::vector<std::unique_ptr<clock::NoteOutput>> outputs_;
    class RecorderOutput* recorder_output_ = nullptr;
    class MonitorOutput* monitor_ = nullptr;
    std::unique_ptr<io::LinkSession> link_;  // [clock] link: the session leads the scheduler's grid
    std::unique_ptr<clock::Scheduler> scheduler_;

    boost::asio::io_context io_;
    std::unique_ptr<io::OscServer> osc_;
    std::unique_ptr<class OscQuery> oscquery_;  // [web]: the OSC namespace over HTTP and WebSocket
    boost::asio::signal_set signals_{io_};
    boost::asio::steady_timer timer_{io_};
    std::set<io::OscEndpoint> subscribers_;
    std::atomic<bool> stopping_{false};
    std::thread input_thread_;
    std::int64_t last_maintain_ns_ = 0;
    std::uint64_t reported_record_errors_ = 0;
    std::uint64_t reported_inference_failures_ = 0;
    std::string reported_cuda_graph_error_;
    clock::MidiClockFollower clock_follower_;          // the input thread's
    std::atomic<std::int64_t> last_clock_tick_ns_{0};  // the last MIDI clock tick's arrival
    const bool follow_midi_clock_ = config_.clock.follow_midi_clock && !config_.clock.link;  // Link leads
    std::atomic<int> routing_{engine::ChannelRouting{}.pack()};  // ChannelRouting, for the input thread
    // [midi.cc], for the input thread; SIGHUP swaps in the file's new map.
    std::atomic<std::shared_ptr<const std::vector<io::ControllerBinding>>> controllers_;
    std::atomic<bool> learning_{false};  // the input thread hands the next controller to finish_learning
    std::string learn_target_;           // io thread
    io::OscEndpoint learn_requester_;
    std::uint64_t seed_ = 0;  // the sampling seed in use (engine.seed, or the one picked)
};

}  // namespace kanade::daemon
