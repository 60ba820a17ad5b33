// The one FluidSynth instrument of live audio (AudioOutput) and offline rendering
// (render()): settings, the SoundFont (errors name the file), program, gain and rate;
// MIDI messages in, interleaved stereo out. One thread drives a Synth (FluidSynth's own
// locks are off); send() and render() neither lock nor allocate, so an audio callback may call them.
#pragma once

#include "kanade/midi/message.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

namespace kanade::io {

inline const std::filesystem::path default_soundfont = "/usr/share/sounds/sf2/FluidR3_GM.sf2";
inline constexpr int synth_channels = 2;  // interleaved left, right
// FluidSynth's sample rates: the one range of live audio, offline rendering and the configuration.
inline constexpr int min_sample_rate = 8000;
inline constexpr int max_sample_rate = 96000;
inline constexpr double max_gain = 10;  // FluidSynth's master gain is 0..max_gain

struct SynthSettings {
    std::filesystem::path soundfont = default_soundfont;
    // Where the user names another SoundFont ("--soundfont", "audio.soundfont"): the
    // error for a missing one says so.
    std::string soundfont_option = "--soundfont";
    int sample_rate = 44100;  // min_sample_rate..max_sample_rate
    double gain = 0.2;        // FluidSynth's own default
    bool reverb = true;
    bool chorus = true;
    int polyphony = 256;
};

// Throws std::invalid_argument, its message opening with `who` ("render"), for a sample
// rate or gain outside FluidSynth's ranges.
void check_synth_ranges(const std::string& who, int sample_rate, double gain);

// Throws std::runtime_error naming the file when it is missing or not a SoundFont. Cheap:
// a caller may check before it opens anything else, so a bad path leaves nothing behind.
void check_soundfont(const std::filesystem::path& soundfont, const std::string& soundfont_option);

class Synth {
public:
    // Throws std::runtime_error naming the SoundFont when it cannot be loaded (and with
    // FluidSynth's own reason where it gave one); std::invalid_argument for a setting
    // FluidSynth refuses.
    explicit Synth(const SynthSettings& settings);
    ~Synth();
    Synth(const Synth&) = delete;
    Synth& operator=(const Synth&) = delete;

    int sample_rate() const;

    // Every melodic channel (not the drums, MIDI channel 10) to this GM program, 0..127.
    void set_program(int program);

    // Note on/off, pressure, control change, program change, pitch bend: true when it went
    // to the synthesizer; false for other messages and ones shorter than their command.
    // FluidSynth's own refusals (a bank it lacks, say) are ignored: one odd event must not
    // silence a performance.
    bool send(const midi::Message& message);
    // A SysEx message without its F0 and F7.
    bool send_sysex(std::span<const std::uint8_t> body);

    // Released, not cut: notes fade as a player's would. The sustain pedal goes up first,
    // or sustained notes would ring on.
    void release_all();

    // Synthesizes `frames` interleaved stereo frames into `out`; false if FluidSynth failed.
    bool render(float* out, int frames);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace kanade::io
