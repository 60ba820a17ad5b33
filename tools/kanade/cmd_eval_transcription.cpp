// `kanade eval-transcription REF.mid`: renders a MIDI file as piano with FluidSynth,
// transcribes the audio and scores the notes found against the file's own (onset within
// 50 ms, same pitch, one-to-one), as JSON.
#include "commands.hpp"
#include "transcriber_options.hpp"

#include "kanade/io/audio_file.hpp"
#include "kanade/io/fluid_renderer.hpp"
#include "kanade/midi/note.hpp"
#include "kanade/midi/smf.hpp"
#include "kanade/transcribe/note_matching.hpp"
#include "kanade/transcribe/transcriber.hpp"
#include "kanade/util/json_writer.hpp"

#include <chrono>
#include <iostream>
#include <memory>

namespace kanade::cli {
namespace {

struct EvalTranscriptionCommand {
    std::string reference;
    transcribe::TranscriberOptions transcriber;
    double max_seconds = 600;  // of the reference rendered
    double onset_tolerance = 0.05;
};

void run_eval_transcription(const EvalTranscriptionCommand& command) {
    auto file = midi::read_smf(command.reference).file;
    auto reference = midi::extract_notes(file);
    std::erase_if(reference, [&](const midi::Note& note) { return note.start_seconds >= command.max_seconds; });
    if (reference.empty()) throw CommandError(command.reference + ": no notes to transcribe (drums are left out)");

    auto transcriber = transcribe::make_transcriber(command.transcriber);
    io::RenderOptions render;
    render.sample_rate = transcriber->sample_rate();  // FluidSynth renders at the backend's rate
    render.program_override = 0;                      // piano, as the figures are
    render.max_seconds = 3600;
    auto audio = io::render_to_samples(file, render);
    const auto mono = io::mix_to_mono(audio.samples, static_cast<std::size_t>(audio.channels),
                                      static_cast<std::size_t>(command.max_seconds * render.sample_rate));

    const auto started = std::chrono::steady_clock::now();
    const std::size_t chunk = static_cast<std::size_t>(render.sample_rate);
    for (std::size_t at = 0; at < mono.size(); at += chunk)
        transcriber->push(std::span<const float>(mono).subspan(at, std::min(chunk, mono.size() - at)));
    auto estimated = transcriber->finish();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double audio_seconds = static_cast<double>(mono.size()) / render.sample_rate;
    auto scores = transcribe::match_notes(reference, estimated, command.onset_tolerance);

    util::JsonWriter json;
    json.begin_object()
        .field("reference", command.reference)
        .field("backend", command.transcriber.backend)
        .field("precision", scores.precision)
        .field("recall", scores.recall)
        .field("f1", scores.f1)
        .field("matched", static_cast<std::uint64_t>(scores.matched))
        .field("reference_notes", static_cast<std::uint64_t>(scores.reference_notes))
        .field("estimated_notes", static_cast<std::uint64_t>(scores.estimated_notes))
        .field("onset_tolerance_ms", command.onset_tolerance * 1000)
        .field("audio_seconds", audio_seconds)
        .field("seconds", seconds)
        .field("times_real_time", seconds > 0 ? audio_seconds / seconds : 0.0)
        .end_object();
    std::cout << json.str() << std::endl;
}

}  // namespace

void add_eval_transcription_command(CLI::App& app) {
    auto command = std::make_shared<EvalTranscriptionCommand>();
    auto* sub = app.add_subcommand(
        "eval-transcription", "Render a MIDI file as piano, transcribe it, print note precision/recall/F1 as JSON");
    sub->add_option("reference", command->reference, "the MIDI file")->required()->check(CLI::ExistingFile);
    add_transcriber_options(sub, command->transcriber);
    sub->add_option("--max-seconds", command->max_seconds, "score only the start of long files")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 36000.0));
    sub->add_option("--onset-tolerance", command->onset_tolerance, "seconds between matching onsets")
        ->capture_default_str()
        ->check(CLI::Range(0.001, 1.0));
    sub->callback([command] {
        try {
            run_eval_transcription(*command);
        } catch (const CommandError&) {
            throw;
        } catch (const std::exception& error) {
            throw CommandError(error.what());
        }
    });
}

}  // namespace kanade::cli
