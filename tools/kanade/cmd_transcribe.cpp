// `kanade transcribe IN OUT`: recordings to MIDI; and `kanade corpus add AUDIO_DIR --to
// CORPUS_DIR`: the student project's whole workflow (recordings in, a corpus `kanade
// train` takes out) in one command.
#include "commands.hpp"
#include "transcribe_files.hpp"
#include "transcriber_options.hpp"

#include <cstdio>
#include <filesystem>
#include <memory>

namespace kanade::cli {
namespace {

namespace fs = std::filesystem;

struct TranscribeCommand {
    std::string input, output;
    TranscribeFilesOptions options;
};

// The network's options, and what transcribing folders of files adds.
void add_transcribe_options(CLI::App* sub, TranscribeCommand& command) {
    add_transcriber_options(sub, command.options.transcriber);
    sub->add_flag("--force", command.options.force, "transcribe again outputs newer than their input");
    sub->add_flag("--quiet,-q", command.options.quiet, "no progress bars");
}

void report(const TranscribeFilesSummary& summary) {
    std::fprintf(stderr,
                 "kanade: %zu transcribed, %zu already done, %zu failed; %.1f s of audio in %.1f s (%.1fx real time)\n",
                 summary.transcribed, summary.skipped, summary.failed, summary.audio_seconds, summary.seconds,
                 summary.seconds > 0 ? summary.audio_seconds / summary.seconds : 0.0);
    if (summary.failed > 0)
        throw CommandError(std::to_string(summary.failed) + " file(s) could not be transcribed (listed above)");
}

void run_transcribe(const TranscribeCommand& command) {
    const fs::path input = command.input, output = command.output;
    if (!fs::exists(input)) throw CommandError(command.input + ": no such file or folder");
    if (fs::is_directory(input) && fs::exists(output) && !fs::is_directory(output))
        throw CommandError(command.output + ": a folder of recordings needs a folder to write into");
    try {
        report(transcribe_files(input, output, command.options));
    } catch (const CommandError&) {
        throw;
    } catch (const std::exception& error) {
        throw CommandError(error.what());
    }
}

}  // namespace

void add_transcribe_command(CLI::App& app) {
    auto command = std::make_shared<TranscribeCommand>();
    auto* sub = app.add_subcommand("transcribe", "Transcribe recordings (WAV, FLAC, OGG, MP3) to MIDI files");
    sub->add_option("input", command->input, "an audio file, or a folder of them (searched recursively)")->required();
    sub->add_option("output", command->output, "the MIDI file, or the folder to write into")->required();
    add_transcribe_options(sub, *command);
    sub->callback([command] { run_transcribe(*command); });

    // `kanade corpus add`: the corpus command exists already (it needs no audio).
    auto* corpus = app.get_subcommand("corpus");
    auto add = std::make_shared<TranscribeCommand>();
    auto* corpus_add =
        corpus->add_subcommand("add", "Transcribe a folder of recordings into a MIDI corpus for kanade train");
    corpus_add->add_option("audio", add->input, "a folder of recordings (or one file)")->required();
    corpus_add->add_option("--to", add->output, "the corpus folder (created if needed)")->required();
    add_transcribe_options(corpus_add, *add);
    corpus_add->callback([add] {
        fs::create_directories(add->output);
        run_transcribe(*add);
        std::fprintf(stderr, "kanade: train on it with: kanade train %s -o MODEL.kmodel\n", add->output.c_str());
    });
}

}  // namespace kanade::cli
