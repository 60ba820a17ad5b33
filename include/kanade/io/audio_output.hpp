// Live synthesis of the daemon's notes with FluidSynth: to the sound card through
// PortAudio (its default device, or a JACK server), or, with no audio device, into a WAV
// file rendered in real time (the headless default). The scheduler thread push()es
// events through a lock-free queue; only the audio thread (PortAudio's callback or the
// WAV writer) touches the synthesizer; any other thread may call all_notes_off() and stop().
#pragma once

#include "kanade/io/synth.hpp"
#include "kanade/midi/message.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace kanade::io {

struct AudioOutputConfig {
    // "auto": PortAudio's default output device if there is one, else a WAV file at
    // wav_fallback. "portaudio", "jack" (PortAudio's JACK host API), "none", or FILE.wav.
    std::string backend = "auto";
    std::filesystem::path soundfont = default_soundfont;
    int program = 0;          // General MIDI program of every melodic channel at the start
    double gain = 0.5;        // FluidSynth's master gain, 0..max_gain
    int sample_rate = 44100;  // min_sample_rate..max_sample_rate; a JACK server imposes its own
    int block_frames = 256;   // frames per audio block: the latency granularity
    std::filesystem::path wav_fallback = "kanade-out.wav";  // where "auto" renders without a device
};

// Whether a backend names a WAV file to render into: it ends in .wav, in any case.
bool is_wav_backend(const std::string& backend);

class AudioOutput {
public:
    // Throws std::runtime_error naming the SoundFont when it is missing or unreadable, and
    // when an explicitly named backend cannot open (no device, no JACK server, a WAV that
    // cannot be created); std::invalid_argument for an unknown backend or a value out of
    // range. "auto" never throws for lack of a device: it renders to wav_fallback (or,
    // when even that cannot be written, plays nothing) and description() says so.
    explicit AudioOutput(const AudioOutputConfig& config);
    ~AudioOutput();  // stop()
    AudioOutput(const AudioOutput&) = delete;
    AudioOutput& operator=(const AudioOutput&) = delete;

    std::string description() const;  // one line for the log
    std::string backend() const;      // "portaudio", "jack", "wav" or "none"

    // The scheduler thread only: no locks, no allocation, never blocks. Note on/off,
    // control change (all-notes-off included), program change, pressure, pitch bend; other
    // messages are ignored. A message is played at its time_ns (CLOCK_MONOTONIC) within the
    // audio block that covers it; 0 or a past time means at once. False when dropped
    // (queue full). With backend "none" every message is accepted and discarded.
    bool push(const midi::Message& message);

    // Any non-real-time thread: releases every note (sustain pedal off) at the moment of
    // the call, in order with the events pushed before it.
    void all_notes_off();

    // Ends the stream. A WAV gets the release tail (about a second) rendered and is closed
    // valid. Idempotent; the destructor calls it. Events pushed afterwards are not played.
    void stop();

    struct Counters {
        std::uint64_t events = 0;        // accepted by push()
        std::uint64_t dropped = 0;       // refused by push(): queue full
        std::uint64_t underruns = 0;     // device underflows; for a WAV, blocks rendered over a block late
        std::uint64_t frames = 0;        // frames synthesized
        std::uint64_t write_errors = 0;  // WAV blocks the disk refused (full, say)
    };
    Counters counters() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace kanade::io
