// kanade notate IN.mid OUT_STEM: sheet music of a MIDI file, as LilyPond source and,
// where lilypond is installed, PDF and PNG. Needs only kanade_base (no audio libraries).
#include "commands.hpp"

#include "kanade/midi/note.hpp"
#include "kanade/midi/smf.hpp"
#include "kanade/midi/tempo_map.hpp"
#include "kanade/notate/lilypond.hpp"
#include "kanade/util/run_program.hpp"

#include <iostream>
#include <memory>

namespace kanade::cli {
namespace {

struct NotateCommand {
    std::string input;
    std::string output_stem;
    std::string title;
    int bars = notate::LilypondOptions{}.max_bars;
    bool no_render = false;
};

// The time and key signatures in effect at the start of the file, where they can be
// written; anything odd is left at the defaults (4/4, C major) with a warning.
void read_signatures(const midi::File& file, notate::LilypondOptions& options) {
    bool have_time = false, have_key = false;
    for (const auto& track : file.tracks) {
        for (const auto& event : track.events) {
            if (event.tick > 0) break;
            if (event.kind != midi::EventKind::meta) continue;
            if (event.meta_type == midi::meta::time_signature && !have_time && event.data.size() >= 2) {
                have_time = true;
                int numerator = event.data[0];
                int denominator = event.data[1] < 5 ? 1 << event.data[1] : 0;
                if (numerator >= 1 && numerator <= 64 && denominator >= 1 && denominator <= 16) {
                    options.time_numerator = numerator;
                    options.time_denominator = denominator;
                } else {
                    std::cerr << "kanade: warning: time signature " << numerator << "/"
                              << (1 << std::min<int>(event.data[1], 30)) << " cannot be written; using 4/4\n";
                }
            }
            if (event.meta_type == midi::meta::key_signature && !have_key && event.data.size() >= 2) {
                have_key = true;
                int fifths = static_cast<std::int8_t>(event.data[0]);
                if (fifths >= -7 && fifths <= 7) {
                    options.key_fifths = fifths;
                    options.minor = event.data[1] == 1;
                }
            }
        }
    }
}

// The first line of a notation message says what was written; the rest, why there is no PDF.
std::pair<std::string, std::string> split_first_line(const std::string& message) {
    auto newline = message.find('\n');
    if (newline == std::string::npos) return {message, {}};
    return {message.substr(0, newline), message.substr(newline + 1)};
}

void run_notate(const NotateCommand& command) {
    auto read = midi::read_smf(command.input);
    for (const auto& warning : read.warnings) std::cerr << "kanade: warning: " << warning << "\n";
    auto notes = midi::extract_notes(read.file);

    notate::LilypondOptions options;
    options.title = command.title.empty() ? std::filesystem::path(command.input).stem().string() : command.title;
    options.max_bars = command.bars;
    options.tempo_bpm = midi::TempoMap(read.file).initial_bpm();
    read_signatures(read.file, options);

    auto result = notate::notate(notes, command.output_stem, options, !command.no_render);
    switch (result.status) {
        case notate::NotationStatus::rendered: std::cout << result.message << "\n"; return;
        case notate::NotationStatus::not_asked:
            std::cout << result.message << "\n";
            if (!util::program_available("lilypond"))
                std::cout << "note: lilypond is not installed (Debian/Ubuntu: sudo apt-get install lilypond); "
                             "it turns the .ly into PDF and PNG\n";
            return;
        case notate::NotationStatus::unavailable: {
            auto [written, why] = split_first_line(result.message);
            std::cout << written << "\n";
            throw CommandError(why, exit_code::unavailable);
        }
        case notate::NotationStatus::failed: {
            auto [written, why] = split_first_line(result.message);
            std::cout << written << "\n";
            throw CommandError(why, exit_code::failure);
        }
    }
}

}  // namespace

void add_notate_command(CLI::App& app) {
    auto command = std::make_shared<NotateCommand>();
    auto* notate = app.add_subcommand("notate", "Write sheet music of a MIDI file (LilyPond source, PDF, PNG)");
    notate->add_option("input", command->input, "MIDI file")->required()->check(CLI::ExistingFile);
    notate->add_option("output", command->output_stem, "output stem: writes STEM.ly, STEM.pdf, STEM.png")->required();
    notate->add_option("--title", command->title, "title on the score (default: the input's name)");
    notate->add_option("--bars", command->bars, "notate at most this many bars")
        ->capture_default_str()
        ->check(CLI::Range(1, 10000));
    notate->add_flag("--no-render", command->no_render, "write the .ly only; do not run lilypond");
    notate->callback([command] { run_notate(*command); });
}

}  // namespace kanade::cli
