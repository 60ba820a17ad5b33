// kanade primer: keeps a few bars of training music in a model file, for sessions that
// start with no prompt (music/primer.hpp says why), or lists the ones it has.
#include "commands.hpp"

#include "kanade/model/model_file.hpp"
#include "kanade/music/corpus.hpp"

#include <cstdio>
#include <fstream>

namespace kanade::cli {
namespace {

struct PrimerCommand {
    std::string model;
    std::vector<std::filesystem::path> corpus;
    std::string output;  // "": the model file itself
    music::PrimerOptions options;
};

// The storage the file's weights are in, so rewriting it changes nothing but the primers.
model::WeightStorage storage_of(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    const auto header = model::parse_model_header(in, path);
    return !header.tensors.empty() && header.tensors.front().dtype == "f32" ? model::WeightStorage::f32
                                                                            : model::WeightStorage::f16;
}

void run_primer(const PrimerCommand& command) {
    auto model = model::load_model(command.model);
    if (command.corpus.empty()) {
        std::printf("%s: %zu primers\n", command.model.c_str(), model.primers.size());
        for (const auto& primer : model.primers) {
            const auto shape = music::shape_of(primer, model.vocabulary, model.grid.steps_per_beat);
            std::printf("  %4zu tokens, bars of %2d steps, %5.1f notes a bar, on-beat share %.2f\n", primer.ids.size(),
                        primer.bar_steps, shape.notes_per_bar, shape.on_beat_share);
        }
        return;
    }
    if (model.tokenizer != "kanade")
        throw CommandError("primers are kanade tokens; " + command.model + " uses " + model.tokenizer);
    const auto corpus = music::load_corpus(command.corpus);
    auto options = command.options;
    options.steps_per_beat = model.grid.steps_per_beat;
    model.primers = music::choose_primers(corpus, model.vocabulary, options);
    if (model.primers.empty() && options.count > 0)
        throw CommandError("no training file of the corpus has " + std::to_string(options.bars) + " bars to take");
    model.info["primers"] = std::to_string(model.primers.size()) + " of " + std::to_string(options.bars) +
                            " bars from the train split (" + command_line() + ")";
    const auto output = command.output.empty() ? command.model : command.output;
    model::save_model(model, output, storage_of(command.model));
    std::printf("%s: %zu primers of %d bars from %zu files of the corpus\n", output.c_str(), model.primers.size(),
                options.bars, corpus.files.size());
}

}  // namespace

void add_primer_command(CLI::App& app) {
    auto command = std::make_shared<PrimerCommand>();
    auto* primer = app.add_subcommand(
        "primer", "Keep bars of training music in a model for sessions with no prompt (no corpus: list them)");
    primer->add_option("model", command->model, "a kanade model file")->required();
    primer->add_option("corpus", command->corpus, "MIDI files or folders (their train split is used)");
    primer->add_option("-o,--output", command->output, "write here instead of rewriting the model file");
    primer
        ->add_option("--count", command->options.count,
                     "primers, each from a different file (0: none, as a model without them)")
        ->capture_default_str();
    primer->add_option("--bars", command->options.bars, "bars of music in each")->capture_default_str();
    primer
        ->add_option("--min-on-beat-over-chance", command->options.min_on_beat_over_chance,
                     "keep a candidate whose onsets fall on a beat this many times chance (0: any)")
        ->capture_default_str();
    primer
        ->add_option("--max-density-over-median", command->options.max_density_over_median,
                     "keep a candidate no busier than this many times the median notes a bar (a large number: any)")
        ->capture_default_str();
    primer->callback([command] { run_primer(*command); });
}

}  // namespace kanade::cli
