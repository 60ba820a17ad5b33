#include "kanade/io/fluid_renderer.hpp"

#include "kanade/io/wav_file.hpp"
#include "kanade/midi/note.hpp"
#include "kanade/midi/tempo_map.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

namespace kanade::io {
namespace {

constexpr std::size_t block_frames = 4096;

void validate(const RenderOptions& options) {
    auto fail = [](const std::string& what) { throw std::invalid_argument("render: " + what); };
    check_synth_ranges("render", options.sample_rate, options.gain);
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

SynthSettings synth_settings(const RenderOptions& options) {
    SynthSettings settings;
    settings.soundfont = options.soundfont;
    settings.soundfont_option = "--soundfont";
    settings.sample_rate = options.sample_rate;
    settings.gain = options.gain;
    settings.reverb = options.reverb;
    settings.chorus = options.chorus;
    settings.polyphony = options.polyphony;
    return settings;
}

// Returns whether the event went to the synthesizer. FluidSynth's own refusals (a key
// out of range, say) are ignored: one odd event should not stop a render.
bool send(Synth& synth, const midi::Event& event, const RenderOptions& options) {
    if (event.kind == midi::EventKind::sysex) {
        // FluidSynth wants the message between F0 and F7; F7 "escape" packets are raw
        // bytes for a device, not a message it can read.
        if (event.status != 0xF0 || event.data.empty()) return false;
        std::span<const std::uint8_t> body(event.data);
        if (body.back() == 0xF7) body = body.first(body.size() - 1);
        return synth.send_sysex(body);
    }
    if (event.kind != midi::EventKind::channel) return false;
    if (options.program_override && event.command() == 0xC0 && event.channel() != midi::drum_channel) return false;
    midi::Message message;
    message.bytes[0] = event.status;
    const auto data = std::min<std::size_t>(event.data.size(), 2);
    for (std::size_t i = 0; i < data; ++i) message.bytes[1 + i] = event.data[i];
    message.size = static_cast<std::uint8_t>(1 + data);
    return synth.send(message);
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
                                 " (its last event is at " + seconds_text(last_seconds) + "), more than the limit of " +
                                 seconds_text(options.max_seconds));
    const auto rate = static_cast<double>(options.sample_rate);
    const auto total_frames = static_cast<std::size_t>(std::llround(total_seconds * rate));

    Synth synth(synth_settings(options));
    if (options.program_override) synth.set_program(*options.program_override);

    RenderResult result;
    std::vector<float> block(block_frames * render_channels);
    std::size_t frame = 0;
    auto render_until = [&](std::size_t target) {
        while (frame < target) {
            const std::size_t frames = std::min(block_frames, target - frame);
            if (!synth.render(block.data(), static_cast<int>(frames)))
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
        if (send(synth, *item.event, options)) ++result.events;
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
