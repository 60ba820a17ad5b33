#include "kanade/io/audio_output.hpp"

#include <fluidsynth.h>
#include <portaudio.h>
#include <sndfile.h>

#include <cerrno>
#include <fcntl.h>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <vector>

namespace kanade::io {
namespace {

std::int64_t now_ns() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

// PortAudio and the ALSA/JACK libraries print their probing to stderr; a headless
// start should say one clear line instead.
class QuietStderr {
public:
    QuietStderr() {
        std::fflush(stderr);
        saved_ = ::dup(2);
        int null = ::open("/dev/null", O_WRONLY);
        if (null >= 0) ::dup2(null, 2), ::close(null);
    }
    ~QuietStderr() {
        if (saved_ >= 0) ::dup2(saved_, 2), ::close(saved_);
    }

private:
    int saved_ = -1;
};

}  // namespace

struct AudioOutput::Engine {
    AudioOutput& owner;
    AudioOutputConfig config;
    fluid_settings_t* settings = nullptr;
    fluid_synth_t* synth = nullptr;
    PaStream* stream = nullptr;
    bool pa_initialised = false;
    SNDFILE* wav = nullptr;
    std::thread wav_thread;
    std::atomic<bool> stopping{false};
    std::vector<float> left, right, interleaved;

    Engine(AudioOutput& o, const AudioOutputConfig& c) : owner(o), config(c) {
        settings = new_fluid_settings();
        fluid_settings_setnum(settings, "synth.sample-rate", config.sample_rate);
        fluid_settings_setnum(settings, "synth.gain", config.gain);
        fluid_settings_setint(settings, "synth.threadsafe-api", 0);
        synth = new_fluid_synth(settings);
        if (!std::filesystem::exists(config.soundfont) || fluid_synth_sfload(synth, config.soundfont.c_str(), 1) == FLUID_FAILED)
            throw std::runtime_error("cannot load SoundFont " + config.soundfont.string());
        for (int channel = 0; channel < 16; ++channel)
            if (channel != 9) fluid_synth_program_change(synth, channel, config.program);
        left.resize(static_cast<std::size_t>(config.block_frames));
        right.resize(left.size());
        interleaved.resize(left.size() * 2);
    }

    ~Engine() {
        close();
        if (synth) delete_fluid_synth(synth);
        if (settings) delete_fluid_settings(settings);
    }

    // Audio thread: apply what the scheduler queued, then synthesise one block.
    void render(float* out, unsigned long frames) {
        if (owner.panic_.exchange(false)) fluid_synth_all_notes_off(synth, -1);
        midi::Message message;
        while (owner.queue_.pop(message)) {
            const int channel = message.channel();
            switch (message.command()) {
                case 0x90: fluid_synth_noteon(synth, channel, message.bytes[1], message.bytes[2]); break;
                case 0x80: fluid_synth_noteoff(synth, channel, message.bytes[1]); break;
                case 0xB0: fluid_synth_cc(synth, channel, message.bytes[1], message.bytes[2]); break;
                case 0xC0: fluid_synth_program_change(synth, channel, message.bytes[1]); break;
                case 0xE0: fluid_synth_pitch_bend(synth, channel, message.bytes[1] | (message.bytes[2] << 7)); break;
                default: break;
            }
        }
        for (unsigned long done = 0; done < frames;) {
            auto chunk = std::min<unsigned long>(frames - done, left.size());
            fluid_synth_write_float(synth, static_cast<int>(chunk), left.data(), 0, 1, right.data(), 0, 1);
            for (unsigned long i = 0; i < chunk; ++i) {
                out[2 * (done + i)] = left[i];
                out[2 * (done + i) + 1] = right[i];
            }
            done += chunk;
        }
        owner.frames_.fetch_add(frames, std::memory_order_relaxed);
    }

    static int pa_callback(const void*, void* output, unsigned long frames, const PaStreamCallbackTimeInfo*,
                           PaStreamCallbackFlags, void* self) {
        static_cast<Engine*>(self)->render(static_cast<float*>(output), frames);
        return paContinue;
    }

    // Opens a PortAudio stream on the default device of `host` (paInDevelopment: any).
    bool open_portaudio(PaHostApiTypeId host, std::string* description) {
        QuietStderr quiet;
        if (Pa_Initialize() != paNoError) return false;
        pa_initialised = true;
        PaDeviceIndex device = Pa_GetDefaultOutputDevice();
        if (host != paInDevelopment) {
            PaHostApiIndex index = Pa_HostApiTypeIdToHostApiIndex(host);
            device = index < 0 ? paNoDevice : Pa_GetHostApiInfo(index)->defaultOutputDevice;
        }
        if (device == paNoDevice) return false;
        PaStreamParameters parameters{};
        parameters.device = device;
        parameters.channelCount = 2;
        parameters.sampleFormat = paFloat32;
        parameters.suggestedLatency = Pa_GetDeviceInfo(device)->defaultLowOutputLatency;
        if (Pa_OpenStream(&stream, nullptr, &parameters, config.sample_rate, static_cast<unsigned long>(config.block_frames),
                          paNoFlag, &Engine::pa_callback, this) != paNoError)
            return false;
        if (Pa_StartStream(stream) != paNoError) return false;
        *description = std::string("PortAudio device '") + Pa_GetDeviceInfo(device)->name + "' at " +
                       std::to_string(config.sample_rate) + " Hz";
        return true;
    }

    // Renders in real time into a WAV file: blocks paced by absolute deadlines, the
    // header kept up to date so the file is readable whenever the daemon dies.
    void open_wav(const std::filesystem::path& path) {
        SF_INFO info{};
        info.samplerate = config.sample_rate;
        info.channels = 2;
        info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
        wav = sf_open(path.c_str(), SFM_WRITE, &info);
        if (!wav) throw std::runtime_error("cannot write " + path.string() + ": " + sf_strerror(nullptr));
        sf_command(wav, SFC_SET_CLIPPING, nullptr, SF_TRUE);
        sf_command(wav, SFC_SET_UPDATE_HEADER_AUTO, nullptr, SF_TRUE);
        wav_thread = std::thread([this] {
            const auto block_ns = static_cast<std::int64_t>(1e9 * config.block_frames / config.sample_rate);
            auto deadline = now_ns();
            while (!stopping.load()) {
                render(interleaved.data(), static_cast<unsigned long>(config.block_frames));
                sf_writef_float(wav, interleaved.data(), config.block_frames);
                deadline += block_ns;
                timespec when{static_cast<time_t>(deadline / 1'000'000'000), static_cast<long>(deadline % 1'000'000'000)};
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, nullptr) == EINTR) {
                }
            }
            // Let the last notes ring out.
            fluid_synth_all_notes_off(synth, -1);
            for (int i = 0; i < config.sample_rate / config.block_frames; ++i) {
                render(interleaved.data(), static_cast<unsigned long>(config.block_frames));
                sf_writef_float(wav, interleaved.data(), config.block_frames);
            }
        });
    }

    void close() {
        stopping = true;
        if (stream) {
            Pa_StopStream(stream);
            Pa_CloseStream(stream);
            stream = nullptr;
        }
        if (pa_initialised) {
            Pa_Terminate();
            pa_initialised = false;
        }
        if (wav_thread.joinable()) wav_thread.join();
        if (wav) {
            sf_close(wav);
            wav = nullptr;
        }
    }
};

AudioOutput::AudioOutput(const AudioOutputConfig& config) {
    const auto& backend = config.backend;
    if (backend == "none") {
        backend_ = "none";
        description_ = "off (audio.backend = none)";
        return;
    }
    engine_ = std::make_unique<Engine>(*this, config);
    bool is_wav = backend.size() > 4 && backend.substr(backend.size() - 4) == ".wav";
    if (is_wav) {
        engine_->open_wav(backend);
        backend_ = "wav";
        description_ = "rendering to " + backend + " in real time";
        return;
    }
    if (backend != "auto" && backend != "portaudio" && backend != "jack")
        throw std::invalid_argument("unknown audio backend '" + backend + "'");
    std::string description;
    auto host = backend == "jack" ? paJACK : paInDevelopment;
    if (engine_->open_portaudio(host, &description)) {
        backend_ = backend == "jack" ? "jack" : "portaudio";
        description_ = description;
        return;
    }
    if (backend != "auto") {
        engine_->close();
        throw std::runtime_error("audio backend '" + backend + "': no output device could be opened");
    }
    engine_->close();
    engine_->stopping = false;
    engine_->open_wav(config.wav_fallback);
    backend_ = "wav";
    description_ = "no audio device: rendering to " + config.wav_fallback.string() + " in real time";
}

AudioOutput::~AudioOutput() { stop(); }

bool AudioOutput::push(const midi::Message& message) {
    if (!engine_) return true;  // "none": accepted and dropped on purpose
    if (queue_.push(message)) {
        events_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

void AudioOutput::stop() {
    if (engine_) engine_->close();
}

}  // namespace kanade::io
