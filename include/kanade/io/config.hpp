// kanaded's configuration: one TOML file (config/kanade.toml documents every key),
// every key optional with its default here, command-line flags applied on top. A
// wrong key or value stops start-up with the file, line, key and reason.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kanade::io {

struct DaemonConfig {
    struct Model {
        std::string path = "models/default.kmodel";
        std::string device = "auto";  // auto, cpu, cuda[:N]
        int threads = 0;              // CPU threads for inference (0: libtorch default)
        std::string precision = "bfloat16";  // CPU inference: bfloat16, float16 or float32 (falls back in that order)
    } model;
    struct Engine {
        std::string mode = "free";    // free, call-response, accompany
        std::string inference = "streaming";  // streaming or faithful
        double temperature = 1.0;
        int top_k = 0;
        double top_p = 0.95;
        std::uint64_t seed = 0;       // 0: a new seed each start
        std::string seed_midi;        // free mode: start from this MIDI file ("": corpus/model)
        int sessions = 1;             // voices, one per MIDI channel from midi.channel on
        std::string scale = "chromatic";  // e.g. "C major", "a minor"
        int lowest_pitch = 21;
        int highest_pitch = 108;
        int max_polyphony = 6;
        double density = 1.0;
        double repetition_penalty = 1.0;
        double energy = 0.0;
        int max_note_steps = 32;      // no note sounds longer than this
        std::string miss_policy = "rest";  // rest, hold or repeat when a step is not ready
        int phrase_end_silence_steps = 8;  // call-response: silence that ends a call
        int phrase_end_controller = 64;    // ... or this controller released (-1: off)
        int answer_steps = 0;              // 0: as long as the call
        int lookahead_steps = 2;
    } engine;
    struct Clock {
        double bpm = 120.0;
        int steps_per_beat = 4;
        bool follow_midi_clock = true;  // external 24-ppqn clock sets tempo, phase, start and stop
        bool send_midi_clock = false;   // our clock, Start/Stop/Continue and Song Position to MIDI out
        bool realtime_priority = true;
    } clock;
    struct Midi {
        std::string backend = "auto";  // auto, alsa, jack, none
        std::string port_name = "kanade";
        std::string connect_in;        // pattern of hardware ports to connect to our input
        std::string connect_out;
        int channel = 1;               // 1..16, the channel notes go out on
    } midi;
    struct Audio {
        std::string backend = "auto";  // auto, portaudio, jack, none, or a FILE.wav
        std::string soundfont = "/usr/share/sounds/sf2/FluidR3_GM.sf2";
        int program = 0;
        double gain = 0.5;
        int sample_rate = 44100;
    } audio;
    struct Osc {
        std::string bind = "127.0.0.1";
        int port = 9000;
        std::string allow;  // source networks allowed besides loopback, e.g. "192.168.1.0/24,10.0.0.0/8"
        int max_packet_bytes = 8192;
    } osc;
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
