#include "kanade/io/fluid_renderer.hpp"

#include "kanade/io/wav_file.hpp"
#include "kanade/midi/note.hpp"
#include "kanade/midi/tempo_map.hpp"

#include <fluidsynth.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>

namespace kanade::io {
namespace {

constexpr std::size_t block_frames = 4096;

// FluidSynth logs through one process-wide function. Errors go to stderr, or into the
// message of the exception being built while a capture is active on this thread;
// warnings and chatter are dropped, so a render prints nothing when all is well.
thread_local std::string* log_capture = nullptr;

void log_error(int level, const char* message, void*) {
    if (level > FLUID_ERR || !message) return;
    if (log_capture) {
        if (!log_capture->empty()) *log_capture += "; ";
        *log_capture += message;
        return;
    }
    std::fprintf(stderr, "fluidsynth: %s\n", message);
}

void install_log_functions() {
    static std::once_flag once;
    std::call_once(once, [] {
        fluid_set_log_function(FLUID_PANIC, log_error, nullptr);
        fluid_set_log_function(FLUID_ERR, log_error, nullptr);
        fluid_set_log_function(FLUID_WARN, nullptr, nullptr);
        fluid_set_log_function(FLUID_INFO, nullptr, nullptr);
        fluid_set_log_function(FLUID_DBG, nullptr, nullptr);
    });
}

struct CaptureLog {
    std::string text;
    CaptureLog() { log_capture = &text; }
    ~CaptureLog() { log_capture = nullptr; }
    CaptureLog(const CaptureLog&) = delete;
    CaptureLog& operator=(const CaptureLog&) = delete;
};

struct SettingsDeleter {
    void operator()(fluid_settings_t* settings) const { delete_fluid_settings(settings); }
};
struct SynthDeleter {
    void operator()(fluid_synth_t* synth) const { delete_fluid_synth(synth); }
};

void validate(const RenderOptions& options) {
    auto fail = [](const std::string& what) { throw std::invalid_argument("render: " + what); };
    if (options.sample_rate < min_sample_rate || options.sample_rate > max_sample_rate)
        fail("sample rate must be " + std::to_string(min_sample_rate) + ".." + std::to_string(max_sample_rate) +
             " Hz, not " + std::to_string(options.sample_rate));
    if (!(options.gain >= 0 && options.gain <= 10)) fail("gain must be 0..10, not " + std::to_string(options.gain));
    if (!(options.tail_seconds >= 0 && options.tail_seconds <= 600))
        fail("tail must be 0..600 seconds, not " + std::to_string(options.tail_seconds));
    if (!(options.max_seconds > 0) || !std::isfinite(options.max_seconds))
        fail("max_seconds must be positive, not " + std::to_string(options.max_seconds));
    if (options.program_override && (*options.program_override < 0 || *options.program_override > 127))
        fail("program must be 0..127, not " + std::to_string(*options.program_override));
    if (options.polyphony < 1 || options.polyphony > 65535)
        fail("polyphony must be 1..65535, not " + std::to_string(options.polyphony));
}

struct Scheduled {
    std::uint64_t tick;
    const midi::Event* event;
};

std::string seconds_text(double seconds) {
    std::ostringstream text;
    text.precision(1);
    text << std::fixed << seconds << " s";
    return text.str();
}

class Synth {
public:
    explicit Synth(const RenderOptions& options) {
        install_log_functions();
        settings_.reset(new_fluid_settings());
        if (!settings_) throw std::runtime_error("render: FluidSynth could not create its settings");
        set_num("synth.sample-rate", options.sample_rate);
        set_num("synth.gain", options.gain);
        set_int("synth.reverb.active", options.reverb ? 1 : 0);
        set_int("synth.chorus.active", options.chorus ? 1 : 0);
        set_int("synth.polyphony", options.polyphony);
        // One thread drives the synth; its locks would only cost time.
        set_int("synth.threadsafe-api", 0);
        // Locking a 140 MB SoundFont in RAM fails under ordinary limits and buys nothing offline.
        set_int("synth.lock-memory", 0);

        CaptureLog capture;
        synth_.reset(new_fluid_synth(settings_.get()));
        if (!synth_) throw std::runtime_error("render: FluidSynth could not start: " + capture.text);
    }

    void load_soundfont(const std::filesystem::path& path) {
        std::error_code error;
        if (!std::filesystem::is_regular_file(path, error))
            throw std::runtime_error("SoundFont not found: " + path.string() +
                                     " (install fluid-soundfont-gm, or name another with --soundfont)");
        // Checked first: FluidSynth's DLS fallback complains loudly about other files.
        if (!fluid_is_soundfont(path.c_str()))
            throw std::runtime_error("cannot load SoundFont " + path.string() + ": not a SoundFont file");
        CaptureLog capture;
        if (fluid_synth_sfload(synth_.get(), path.c_str(), 1) == FLUID_FAILED)
            throw std::runtime_error("cannot load SoundFont " + path.string() +
                                     (capture.text.empty() ? std::string() : ": " + capture.text));
    }

    fluid_synth_t* get() const { return synth_.get(); }

private:
    void set_num(const char* name, double value) {
        if (fluid_settings_setnum(settings_.get(), name, value) == FLUID_FAILED)
            throw std::invalid_argument(std::string("render: FluidSynth refused ") + name + " = " +
                                        std::to_string(value));
    }
    void set_int(const char* name, int value) {
        if (fluid_settings_setint(settings_.get(), name, value) == FLUID_FAILED)
            throw std::invalid_argument(std::string("render: FluidSynth refused ") + name + " = " +
                                        std::to_string(value));
    }

    // Declared first so it is destroyed last: the synth refers to its settings.
    std::unique_ptr<fluid_settings_t, SettingsDeleter> settings_;
    std::unique_ptr<fluid_synth_t, SynthDeleter> synth_;
};

// Returns whether the event went to the synthesizer. FluidSynth's own refusals (a key
// out of range, say) are ignored: one odd event should not stop a render.
bool send(fluid_synth_t* synth, const midi::Event& event, const RenderOptions& options) {
    if (event.kind == midi::EventKind::sysex) {
        // FluidSynth wants the message between F0 and F7; F7 "escape" packets are raw
        // bytes for a device, not a message it can read.
        if (event.status != 0xF0 || event.data.empty()) return false;
        std::size_t length = event.data.size();
        if (event.data.back() == 0xF7) --length;
        if (length == 0) return false;
        fluid_synth_sysex(synth, reinterpret_cast<const char*>(event.data.data()), static_cast<int>(length),
                          nullptr, nullptr, nullptr, 0);
        return true;
    }
    if (event.kind != midi::EventKind::channel) return false;
    const int channel = event.channel();
    auto data = [&](std::size_t i) { return i < event.data.size() ? event.data[i] & 0x7F : 0; };
    const std::size_t needed = (event.command() == 0xC0 || event.command() == 0xD0) ? 1 : 2;
    if (event.data.size() < needed) return false;
    switch (event.command()) {
        case 0x80: fluid_synth_noteoff(synth, channel, data(0)); break;
        case 0x90:
            if (data(1) == 0)
                fluid_synth_noteoff(synth, channel, data(0));
            else
                fluid_synth_noteon(synth, channel, data(0), data(1));
            break;
        case 0xA0: fluid_synth_key_pressure(synth, channel, data(0), data(1)); break;
        case 0xB0: fluid_synth_cc(synth, channel, data(0), data(1)); break;
        case 0xC0:
            if (options.program_override && channel != midi::drum_channel) return false;
            fluid_synth_program_change(synth, channel, data(0));
            break;
        case 0xD0: fluid_synth_channel_pressure(synth, channel, data(0)); break;
        case 0xE0: fluid_synth_pitch_bend(synth, channel, data(0) | (data(1) << 7)); break;
        default: return false;
    }
    return true;
}

}  // namespace

RenderResult render(const midi::File& file, const RenderOptions& options, const AudioSink& sink) {
    validate(options);

    std::vector<Scheduled> schedule;
    std::uint64_t last_tick = 0;
    for (const auto& track : file.tracks) {
        for (const auto& event : track.events) {
            last_tick = std::max(last_tick, event.tick);
            if (event.kind != midi::EventKind::meta) schedule.push_back(Scheduled{event.tick, &event});
        }
    }
    // Stable: events at one tick keep their order within a track, and tracks their order.
    std::stable_sort(schedule.begin(), schedule.end(),
                     [](const Scheduled& a, const Scheduled& b) { return a.tick < b.tick; });

    // The length counts every event, meta included: an end-of-track after the last
    // note is the composer's silence.
    const midi::TempoMap tempo(file);
    const double last_seconds = tempo.seconds_at(last_tick);
    const double total_seconds = last_seconds + options.tail_seconds;
    if (!(total_seconds <= options.max_seconds))
        throw std::runtime_error("render: the file would last " + seconds_text(total_seconds) +
                                 " (its last event is at " + seconds_text(last_seconds) +
                                 "), more than the limit of " + seconds_text(options.max_seconds));
    const auto rate = static_cast<double>(options.sample_rate);
    const auto total_frames = static_cast<std::size_t>(std::llround(total_seconds * rate));

    Synth synth(options);
    synth.load_soundfont(options.soundfont);
    if (options.program_override) {
        for (int channel = 0; channel < 16; ++channel)
            if (channel != midi::drum_channel) fluid_synth_program_change(synth.get(), channel, *options.program_override);
    }

    RenderResult result;
    std::vector<float> block(block_frames * render_channels);
    std::size_t frame = 0;
    auto render_until = [&](std::size_t target) {
        while (frame < target) {
            const std::size_t frames = std::min(block_frames, target - frame);
            // Interleaved output: left at even indices, right at odd, stride 2.
            if (fluid_synth_write_float(synth.get(), static_cast<int>(frames), block.data(), 0, render_channels,
                                        block.data(), 1, render_channels) != FLUID_OK)
                throw std::runtime_error("render: FluidSynth failed to synthesize");
            std::span<const float> samples(block.data(), frames * render_channels);
            for (float sample : samples) result.peak = std::max(result.peak, std::abs(sample));
            sink(samples);
            frame += frames;
        }
    };

    for (const auto& item : schedule) {
        // Seconds per event, not per-tick deltas: rounding errors then cannot accumulate.
        auto at = static_cast<std::size_t>(std::llround(tempo.seconds_at(item.tick) * rate));
        render_until(std::min(at, total_frames));
        if (send(synth.get(), *item.event, options)) ++result.events;
    }
    render_until(total_frames);

    result.frames = frame;
    result.seconds = static_cast<double>(frame) / rate;
    return result;
}

RenderedAudio render_to_samples(const midi::File& file, const RenderOptions& options) {
    RenderedAudio audio;
    audio.sample_rate = options.sample_rate;
    audio.result = render(file, options, [&](std::span<const float> samples) {
        audio.samples.insert(audio.samples.end(), samples.begin(), samples.end());
    });
    return audio;
}

RenderResult render_to_wav(const midi::File& file, const std::filesystem::path& wav, const RenderOptions& options) {
    // Checked before the writer exists, so bad options leave no temporary file behind.
    validate(options);
    WavWriter writer(wav, render_channels, options.sample_rate);
    auto result = render(file, options, [&](std::span<const float> samples) { writer.write(samples); });
    writer.commit();
    return result;
}

}  // namespace kanade::io
