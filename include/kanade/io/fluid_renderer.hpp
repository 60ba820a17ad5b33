// Offline rendering of a MIDI file to stereo audio with FluidSynth and a SoundFont:
// no player, no audio driver, no clock. Events are sent to the Synth (synth.hpp) between
// blocks at their sample positions, so a render runs as fast as the CPU allows and two
// renders of one file with the same options give the same samples.
#pragma once

#include "kanade/io/synth.hpp"
#include "kanade/midi/smf.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace kanade::io {

inline constexpr int render_channels = synth_channels;

struct RenderOptions {
    std::filesystem::path soundfont = default_soundfont;
    int sample_rate = 44100;  // min_sample_rate..max_sample_rate
    // FluidSynth's master gain, 0..max_gain. Its own default, 0.2, leaves headroom for a full
    // GM arrangement: at 0.5 most of the openmsx corpus clips, by up to 10 dB.
    double gain = 0.2;
    double tail_seconds = 2.0;  // rendered after the last event, so releases ring out
    // A file whose events lie about its length must not make an endless render.
    double max_seconds = 3600;
    std::optional<int> program_override;  // every melodic channel plays this GM program (0: piano)
    bool reverb = true;
    bool chorus = true;
    int polyphony = 256;
};

struct RenderResult {
    double seconds = 0;  // length of the audio
    std::size_t frames = 0;
    float peak = 0;          // largest absolute sample; above 1 means the WAV is clipped
    std::size_t events = 0;  // channel and sysex events sent to the synthesizer
};

// Receives the audio in order, in blocks of interleaved stereo frames.
using AudioSink = std::function<void(std::span<const float> interleaved)>;

// Throws std::runtime_error naming the SoundFont when it is missing or unreadable, and
// when the file would last longer than max_seconds; std::invalid_argument for options
// out of range.
RenderResult render(const midi::File& file, const RenderOptions& options, const AudioSink& sink);

struct RenderedAudio {
    std::vector<float> samples;  // interleaved stereo
    int channels = render_channels;
    int sample_rate = 0;
    RenderResult result;
};
RenderedAudio render_to_samples(const midi::File& file, const RenderOptions& options = {});

// A 16-bit stereo WAV, written atomically (nothing appears under `wav` on failure).
RenderResult render_to_wav(const midi::File& file, const std::filesystem::path& wav, const RenderOptions& options = {});

}  // namespace kanade::io
