// kanade: train, generate, render, notate and inspect models from the command line.
#include "commands.hpp"

#include <iostream>

namespace kanade::cli {
namespace {
std::string typed_command_line;
}
const std::string& command_line() { return typed_command_line; }
}  // namespace kanade::cli

int main(int argc, char** argv) {
    for (int i = 0; i < argc; ++i)
        kanade::cli::typed_command_line += (i ? " " : "") + std::string(i ? argv[i] : "kanade");
    CLI::App app{"kanade: a real-time generative MIDI instrument; the offline tools"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("kanade 0.1.0"));

    kanade::cli::add_corpus_command(app);
    kanade::cli::add_model_info_command(app);
    kanade::cli::add_primer_command(app);
    kanade::cli::add_train_command(app);
    kanade::cli::add_generate_command(app);
    kanade::cli::add_eval_command(app);
    kanade::cli::add_eval_generation_command(app);
    kanade::cli::add_notate_command(app);
    kanade::cli::add_bench_command(app);
#ifdef KANADE_WITH_IO
    kanade::cli::add_render_command(app);
    kanade::cli::add_ctl_command(app);
    kanade::cli::add_recover_command(app);
    kanade::cli::add_transcribe_command(app);
    kanade::cli::add_eval_transcription_command(app);
#endif

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : kanade::cli::exit_code::usage;
    } catch (const kanade::cli::CommandError& error) {
        std::cerr << "kanade: error: " << error.what() << "\n";
        return error.code();
    } catch (const std::exception& error) {
        std::cerr << "kanade: error: " << error.what() << "\n";
        return kanade::cli::exit_code::failure;
    }
    return kanade::cli::exit_code::ok;
}
