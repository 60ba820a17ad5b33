// kanade recover STEM.jsonl [-o STEM.mid]: the MIDI file of a recording whose daemon was
// killed before it could make one, rebuilt from the journal it left (which holds every
// event up to its last flush).
#include "commands.hpp"

#include "kanade/io/recording_journal.hpp"

#include <cstdio>

namespace kanade::cli {
namespace {

struct RecoverCommand {
    std::string journal;
    std::string output;  // "": the journal's path with .mid
};

void run_recover(const RecoverCommand& command) {
    const std::filesystem::path journal = command.journal;
    const auto output = command.output.empty() ? std::filesystem::path(journal).replace_extension(".mid")
                                               : std::filesystem::path(command.output);
    try {
        const auto summary = io::midi_from_journal(journal, output);
        std::printf("wrote %s: %llu events, %.1f s", output.c_str(), static_cast<unsigned long long>(summary.events),
                    static_cast<double>(summary.end_tick) / (2.0 * io::recording_ticks_per_quarter));
        if (summary.skipped_lines > 0)
            std::printf("; %llu unreadable lines skipped (a torn last line is normal after a kill)",
                        static_cast<unsigned long long>(summary.skipped_lines));
        std::printf("\n");
    } catch (const std::runtime_error& error) {
        throw CommandError(error.what());
    }
}

}  // namespace

void add_recover_command(CLI::App& app) {
    auto command = std::make_shared<RecoverCommand>();
    auto* recover = app.add_subcommand("recover", "Rebuild a recording's MIDI file from its journal (STEM.jsonl)");
    recover->add_option("journal", command->journal, "the recording's STEM.jsonl")
        ->required()
        ->check(CLI::ExistingFile);
    recover->add_option("-o,--output", command->output, "MIDI file to write (default: STEM.mid beside the journal)");
    recover->callback([command] { run_recover(*command); });
}

}  // namespace kanade::cli
