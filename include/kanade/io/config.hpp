// kanaded's configuration: one TOML file (config/kanade.toml documents every key),
// every key optional with its default here, command-line flags applied on top. A
// wrong key or value stops start-up with the file, line, key and reason.
#pragma once

#include "kanade/engine/session_settings.hpp"
#include "kanade/io/audio_output.hpp"
#include "kanade/io/controller_map.hpp"
#include "kanade/io/http_server.hpp"
#include "kanade/io/midi_ports.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kanade::io {

// Where a component has a default of its own, the field takes it from there: one
// definition per default.
struct DaemonConfig {
    struct Model {
        std::string path = "models/default.kmodel";
        std::string device = "auto";  // auto, cpu, cuda[:N]
        int threads = 0;              // CPU threads for inference (0: libtorch default)
        std::string precision =
            "bfloat16";  // CPU inference: bfloat16, float16 or float32 (falls back in that order), or int8
    } model;
    struct Engine {
        std::string mode = "free";            // free, call-response, accompany
        std::string inference = "streaming";  // streaming or faithful
        double temperature = engine::SessionSettings{}.sampling.temperature;
        int top_k = engine::SessionSettings{}.sampling.top_k;
        double top_p = engine::SessionSettings{}.sampling.top_p;
        std::uint64_t seed = 0;           // 0: a new seed each start
        std::string seed_midi;            // free mode: start from this MIDI file ("": corpus/model)
        int sessions = 1;                 // voices, one per MIDI channel from midi.channel on
        std::string scale = "chromatic";  // e.g. "C major", "a minor"
        int lowest_pitch = engine::Constraints{}.lowest_pitch;
        int highest_pitch = engine::Constraints{}.highest_pitch;
        int max_polyphony = engine::Constraints{}.max_polyphony;
        double density = engine::Constraints{}.density;
        double repetition_penalty = engine::Constraints{}.repetition_penalty;
        double energy = engine::Constraints{}.energy;
        double repeat = engine::SessionSettings{}.repeat;  // the chance a bar replays one 2 or 4 bars back
        int style = engine::SessionSettings{}.style;       // a model's style (kanade train --style-per-folder); 0: none
        int max_note_steps = clock::default_max_note_steps;  // no note sounds longer than this
        std::string miss_policy = "rest";                    // rest, hold or repeat when a step is not ready
        int phrase_end_silence_steps = engine::SessionSettings{}.phrase_end_silence_steps;  // silence that ends a call
        int phrase_end_controller =
            engine::SessionSettings{}.phrase_end_controller;        // ... or this controller released (-1: off)
        int answer_steps = engine::SessionSettings{}.answer_steps;  // 0: as long as the call
        int lookahead_steps = engine::SessionSettings{}.lookahead_steps;
        bool join_player = engine::SessionSettings{}.join_player;
    } engine;
    struct Clock {
        double bpm = 120.0;
        int steps_per_beat = 4;
        int beats_per_bar = 4;              // the bar a conditioned model is told; step 0 starts one
        bool follow_midi_clock = true;      // external 24-ppqn clock sets tempo, phase, start and stop
        bool send_midi_clock = false;       // our clock, Start/Stop/Continue and Song Position to MIDI out
        bool link = false;                  // join an Ableton Link session: it leads tempo and beat phase
        bool link_start_stop_sync = false;  // ... and start and stop, shared with its members
        bool realtime_priority = true;
    } clock;
    struct Midi {
        MidiPortsConfig ports;  // backend, port (client) name, what to connect to
        int channel = 1;        // 1..16, the channel notes go out on
        std::vector<ControllerBinding> controllers = default_controller_bindings();  // [midi.cc]
    } midi;
    AudioOutputConfig audio;
    struct Osc {
        std::string bind = "127.0.0.1";
        int port = 9000;
        std::string allow;  // source networks allowed besides loopback, e.g. "192.168.1.0/24,10.0.0.0/8"
        int max_packet_bytes = 8192;
    } osc;
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
