#include "kanade/io/synth.hpp"

#include "kanade/midi/note.hpp"

#include <fluidsynth.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kanade::io {
namespace {

// FluidSynth logs through one process-wide function. Errors go to stderr, or into the
// message of the exception being built while a capture is active on this thread;
// warnings and chatter are dropped, so all is quiet when all is well.
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
    std::string reason() const { return text.empty() ? std::string() : ": " + text; }
};

struct SettingsDeleter {
    void operator()(fluid_settings_t* settings) const { delete_fluid_settings(settings); }
};
struct SynthDeleter {
    void operator()(fluid_synth_t* synth) const { delete_fluid_synth(synth); }
};

// The bytes a channel message needs, status included.
int length_of(std::uint8_t command) { return command == 0xC0 || command == 0xD0 ? 2 : 3; }

}  // namespace

void check_synth_ranges(const std::string& who, int sample_rate, double gain) {
    if (sample_rate < min_sample_rate || sample_rate > max_sample_rate)
        throw std::invalid_argument(who + ": sample rate must be " + std::to_string(min_sample_rate) + ".." +
                                    std::to_string(max_sample_rate) + " Hz, not " + std::to_string(sample_rate));
    if (!(gain >= 0 && gain <= max_gain))
        throw std::invalid_argument(who + ": gain must be 0.." + std::to_string(static_cast<int>(max_gain)) + ", not " +
                                    std::to_string(gain));
}

void check_soundfont(const std::filesystem::path& soundfont, const std::string& soundfont_option) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(soundfont, error))
        throw std::runtime_error("SoundFont not found: " + soundfont.string() +
                                 " (install fluid-soundfont-gm, or name another with " + soundfont_option + ")");
    // Read here rather than with fluid_is_soundfont(): FluidSynth's DLS fallback
    // complains loudly about other files.
    std::ifstream in(soundfont, std::ios::binary);
    char header[12] = {};
    in.read(header, sizeof header);
    if (!in || std::string_view(header, 4) != "RIFF" || std::string_view(header + 8, 4) != "sfbk")
        throw std::runtime_error("cannot load SoundFont " + soundfont.string() + ": not a SoundFont file");
}

struct Synth::Impl {
    // Declared first so it is destroyed last: the synth refers to its settings.
    std::unique_ptr<fluid_settings_t, SettingsDeleter> settings;
    std::unique_ptr<fluid_synth_t, SynthDeleter> synth;
    int sample_rate = 0;

    void set_num(const char* name, double value) {
        if (fluid_settings_setnum(settings.get(), name, value) == FLUID_FAILED)
            throw std::invalid_argument(std::string("FluidSynth refused ") + name + " = " + std::to_string(value));
    }
    void set_int(const char* name, int value) {
        if (fluid_settings_setint(settings.get(), name, value) == FLUID_FAILED)
            throw std::invalid_argument(std::string("FluidSynth refused ") + name + " = " + std::to_string(value));
    }
};

Synth::Synth(const SynthSettings& settings) : impl_(std::make_unique<Impl>()) {
    check_soundfont(settings.soundfont, settings.soundfont_option);
    install_log_functions();
    auto& impl = *impl_;
    impl.sample_rate = settings.sample_rate;
    impl.settings.reset(new_fluid_settings());
    if (!impl.settings) throw std::runtime_error("FluidSynth could not create its settings");
    impl.set_num("synth.sample-rate", settings.sample_rate);
    impl.set_num("synth.gain", settings.gain);
    impl.set_int("synth.reverb.active", settings.reverb ? 1 : 0);
    impl.set_int("synth.chorus.active", settings.chorus ? 1 : 0);
    impl.set_int("synth.polyphony", settings.polyphony);
    // One thread drives the synth: its locks would only cost time there.
    impl.set_int("synth.threadsafe-api", 0);
    // Locking a 140 MB SoundFont in RAM fails under ordinary limits.
    impl.set_int("synth.lock-memory", 0);

    CaptureLog capture;
    impl.synth.reset(new_fluid_synth(impl.settings.get()));
    if (!impl.synth) throw std::runtime_error("FluidSynth could not start" + capture.reason());
    if (fluid_synth_sfload(impl.synth.get(), settings.soundfont.c_str(), 1) == FLUID_FAILED)
        throw std::runtime_error("cannot load SoundFont " + settings.soundfont.string() + capture.reason());
}

Synth::~Synth() = default;

int Synth::sample_rate() const { return impl_->sample_rate; }

void Synth::set_program(int program) {
    for (int channel = 0; channel < 16; ++channel)
        if (channel != midi::drum_channel) fluid_synth_program_change(impl_->synth.get(), channel, program);
}

bool Synth::send(const midi::Message& message) {
    auto* synth = impl_->synth.get();
    const auto command = message.command();
    if (command < 0x80 || command == 0xF0 || message.size < length_of(command)) return false;
    const int channel = message.channel();
    const int d1 = message.bytes[1] & 0x7F, d2 = message.bytes[2] & 0x7F;
    switch (command) {
        case 0x80: fluid_synth_noteoff(synth, channel, d1); break;
        case 0x90:
            if (d2 > 0)
                fluid_synth_noteon(synth, channel, d1, d2);
            else
                fluid_synth_noteoff(synth, channel, d1);
            break;
        case 0xA0: fluid_synth_key_pressure(synth, channel, d1, d2); break;
        case 0xB0: fluid_synth_cc(synth, channel, d1, d2); break;
        case 0xC0: fluid_synth_program_change(synth, channel, d1); break;
        case 0xD0: fluid_synth_channel_pressure(synth, channel, d1); break;
        default: fluid_synth_pitch_bend(synth, channel, d1 | (d2 << 7)); break;  // 0xE0
    }
    return true;
}

bool Synth::send_sysex(std::span<const std::uint8_t> body) {
    if (body.empty()) return false;
    fluid_synth_sysex(impl_->synth.get(), reinterpret_cast<const char*>(body.data()), static_cast<int>(body.size()),
                      nullptr, nullptr, nullptr, 0);
    return true;
}

void Synth::release_all() {
    auto* synth = impl_->synth.get();
    for (int channel = 0; channel < 16; ++channel) fluid_synth_cc(synth, channel, 64, 0);
    fluid_synth_all_notes_off(synth, -1);
}

bool Synth::render(float* out, int frames) {
    if (frames <= 0) return true;
    // Interleaved: left at even indices, right at odd, stride 2.
    return fluid_synth_write_float(impl_->synth.get(), frames, out, 0, synth_channels, out, 1, synth_channels) ==
           FLUID_OK;
}

}  // namespace kanade::io
