// kanaded's configuration: one TOML file (config/kanade.toml documents every key),
// every key optional with its default here, command-line flags applied on top. A
// wrong key or value stops start-up with the file, line, key and reason.
#pragma once

#include "kanade/clock/scheduler_config.hpp"
#include "kanade/engine/inference_mode.hpp"
#include "kanade/engine/session_settings.hpp"
#include "kanade/io/audio_output.hpp"
#include "kanade/io/controller_map.hpp"
#include "kanade/io/http_server.hpp"
#include "kanade/io/midi_ports.hpp"
#include "kanade/io/osc_server_config.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kanade::io {

// Each part of the daemon brings its own settings struct with its defaults, embedded here
// whole; what belongs to no component is the daemon's own. The keys the file uses, their
// ranges and help are the table's (io/settings.hpp), which maps each key to its field.
struct DaemonConfig {
    struct Model {
        std::string path = "models/default.kmodel";
        std::string device = "auto";  // auto, cpu, cuda[:N]
        int threads = 0;              // CPU threads for inference (0: libtorch default)
        std::string precision =
            "bfloat16";  // CPU inference: bfloat16, float16 or float32 (falls back in that order), or int8
    } model;
    struct Engine {
        // Every session starts with these; OSC changes them per session. Its output channel
        // is midi.channel's, its longest held note clock.scheduler's max_note_steps.
        engine::SessionSettings voice;
        engine::InferenceMode inference = engine::InferenceMode::streaming;
        std::uint64_t seed = 0;  // 0: a new seed each start
        std::string seed_midi;   // free mode: start from this MIDI file ("": from nothing)
        int sessions = 1;        // voices, one per MIDI channel from midi.channel on
    } engine;
    struct Clock {
        clock::SchedulerConfig scheduler;   // its steps_per_beat yields to the model's grid
        bool follow_midi_clock = true;      // external 24-ppqn clock sets tempo, phase, start and stop
        bool link = false;                  // join an Ableton Link session: it leads tempo and beat phase
        bool link_start_stop_sync = false;  // ... and start and stop, shared with its members
    } clock;
    struct Midi {
        MidiPortsConfig ports;  // backend, port (client) name, what to connect to
        int channel = 1;        // 1..16, the channel notes go out on
        std::vector<ControllerBinding> controllers = default_controller_bindings();  // [midi.cc]
    } midi;
    AudioOutputConfig audio;
    OscServerConfig osc;   // port 0: OSC off
    HttpServerConfig web;  // OSCQuery (and the control page) over HTTP and WebSocket
    struct Record {
        std::string dir;  // "": recording off
    } record;
};

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The defaults, overridden by whatever the file sets.
DaemonConfig load_config(const std::filesystem::path& path);
// The same from TOML text; `source` names it in errors (the fuzzer's way in).
DaemonConfig parse_config(std::string_view text, const std::filesystem::path& source);
// Range and choice checks shared by the file and the command line; throws ConfigError.
void validate_config(const DaemonConfig& config, const std::string& where = "configuration");

}  // namespace kanade::io
