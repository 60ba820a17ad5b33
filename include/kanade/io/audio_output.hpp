// Live synthesis of the daemon's notes with FluidSynth: to the sound card through
// PortAudio (its default device, or JACK), or, with no audio device, into a WAV file
// rendered in real time (the default on a headless machine). The scheduler thread
// pushes events through a lock-free queue; only the audio thread touches the synth.
#pragma once

#include "kanade/clock/spsc_queue.hpp"
#include "kanade/midi/message.hpp"

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

namespace kanade::io {

struct AudioOutputConfig {
    std::string backend = "auto";  // auto, portaudio, jack, none, or FILE.wav
    std::filesystem::path soundfont = "/usr/share/sounds/sf2/FluidR3_GM.sf2";
    int program = 0;
    double gain = 0.5;
    int sample_rate = 44100;
    int block_frames = 256;
    std::filesystem::path wav_fallback = "kanade-out.wav";  // where "auto" renders without a device
};

class AudioOutput {
public:
    explicit AudioOutput(const AudioOutputConfig& config);
    ~AudioOutput();
    AudioOutput(const AudioOutput&) = delete;
    AudioOutput& operator=(const AudioOutput&) = delete;

    std::string description() const { return description_; }
    std::string backend() const { return backend_; }

    bool push(const midi::Message& message);  // scheduler thread only; never blocks
    void all_notes_off() { panic_.store(true); }
    void stop();  // idempotent: ends the stream, finalises the WAV

    struct Counters {
        std::uint64_t events = 0, dropped = 0, frames = 0;
    };
    Counters counters() const { return {events_.load(), dropped_.load(), frames_.load()}; }

    struct Engine;  // FluidSynth and the stream, on the audio thread

private:
    std::string backend_, description_;
    std::unique_ptr<Engine> engine_;
    clock::SpscQueue<midi::Message, 4096> queue_;
    std::atomic<bool> panic_{false};
    std::atomic<std::uint64_t> events_{0}, dropped_{0}, frames_{0};
    friend struct Engine;
};

}  // namespace kanade::io
