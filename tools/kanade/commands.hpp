// The `kanade` command line: each subcommand lives in its own cmd_*.cpp and
// registers itself on the application here. A command reports failure by throwing;
// main() turns that into a message on stderr and an exit code (see exit_code).
#pragma once

#include <CLI/CLI.hpp>

#include <stdexcept>
#include <string>

namespace kanade::cli {

// Exit codes that mean something to scripts.
enum exit_code : int {
    ok = 0,
    failure = 1,      // the work could not be done (bad input file, I/O error, ...)
    usage = 2,        // wrong arguments
    unavailable = 3,  // an optional part is missing (no lilypond, no CUDA, ...)
};

// Thrown by commands for an error that is the user's input, not a bug.
class CommandError : public std::runtime_error {
public:
    explicit CommandError(const std::string& what, int code = exit_code::failure)
        : std::runtime_error(what), code_(code) {}
    int code() const { return code_; }

private:
    int code_;
};

// The command line as typed, for the records a command writes (model info, results).
const std::string& command_line();

void add_corpus_command(CLI::App& app);
void add_model_info_command(CLI::App& app);
void add_primer_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_eval_generation_command(CLI::App& app);
void add_notate_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_render_command(CLI::App& app);   // only with KANADE_WITH_IO
void add_ctl_command(CLI::App& app);      // only with KANADE_WITH_IO
void add_recover_command(CLI::App& app);  // only with KANADE_WITH_IO
// `transcribe` and `corpus add` (after add_corpus_command); only with KANADE_WITH_IO.
void add_transcribe_command(CLI::App& app);
void add_eval_transcription_command(CLI::App& app);  // only with KANADE_WITH_IO

}  // namespace kanade::cli
