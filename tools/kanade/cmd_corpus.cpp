// kanade corpus stats DIR...: what a corpus holds, with both tokenizers.
#include "commands.hpp"

#include "kanade/music/token_corpus.hpp"
#include "kanade/util/json_writer.hpp"

#include <cstdio>
#include <iostream>

namespace kanade::cli {
namespace {

struct StatsOptions {
    std::vector<std::string> inputs;
    std::size_t min_count = 1;
    int steps_per_beat = 4;
    bool json = false;
    bool list = false;
};

void run_stats(const StatsOptions& options) {
    std::vector<std::filesystem::path> inputs(options.inputs.begin(), options.inputs.end());
    auto corpus = music::load_corpus(inputs);
    for (const auto& error : corpus.errors) std::cerr << "kanade: skipped: " << error << "\n";
    std::size_t warnings = 0;
    for (const auto& file : corpus.files) {
        warnings += file.warnings.size();
        for (const auto& warning : file.warnings) std::cerr << "kanade: warning: " << warning << "\n";
    }
    if (corpus.files.empty()) throw CommandError("no readable MIDI files in " + options.inputs.front());

    double seconds = 0;
    std::size_t per_split[3] = {0, 0, 0};
    for (const auto& file : corpus.files) {
        seconds += file.seconds;
        ++per_split[static_cast<int>(file.split)];
    }
    music::GridOptions grid{options.steps_per_beat};
    music::TokenizeOptions tokenize;
    tokenize.min_count = options.min_count;
    auto seed = music::tokenize_corpus(corpus, *music::make_tokenizer("seed", grid), tokenize);
    auto kanade = music::tokenize_corpus(corpus, *music::make_tokenizer("kanade", grid), tokenize);

    if (options.json) {
        util::JsonWriter json;
        json.begin_object()
            .field("files", corpus.files.size())
            .field("unreadable", corpus.errors.size())
            .field("warnings", warnings)
            .field("notes", corpus.note_count())
            .field("seconds", seconds)
            .key("split")
            .begin_object()
            .field("train", per_split[0])
            .field("valid", per_split[1])
            .field("test", per_split[2])
            .end_object();
        for (const auto* tokens : {&seed, &kanade}) {
            json.key(tokens == &seed ? "seed" : "kanade")
                .begin_object()
                .field("tokens", tokens->token_count())
                .field("vocabulary", tokens->vocabulary.size())
                .field("cut_tokens", tokens->skipped_tokens)
                .end_object();
        }
        json.end_object();
        std::cout << json.str() << "\n";
        return;
    }
    if (options.list) {
        for (const auto& file : corpus.files)
            std::printf("%-6s %7zu notes %8.1f s  %s\n", std::string(music::split_name(file.split)).c_str(),
                        file.notes.size(), file.seconds, file.path.c_str());
    }
    std::printf("files       %zu (train %zu, valid %zu, test %zu; %zu unreadable, %zu warnings)\n", corpus.files.size(),
                per_split[0], per_split[1], per_split[2], corpus.errors.size(), warnings);
    std::printf("notes       %zu (drums dropped)\n", corpus.note_count());
    std::printf("music       %.1f minutes\n", seconds / 60);
    std::printf("seed        %zu tokens, vocabulary %zu (min count %zu, %zu tokens cut)\n", seed.token_count(),
                seed.vocabulary.size(), options.min_count, seed.skipped_tokens);
    std::printf("kanade      %zu tokens, vocabulary %zu\n", kanade.token_count(), kanade.vocabulary.size());
}

}  // namespace

void add_corpus_command(CLI::App& app) {
    auto* corpus = app.add_subcommand("corpus", "Inspect a corpus of MIDI files");
    corpus->require_subcommand(1);
    auto options = std::make_shared<StatsOptions>();
    auto* stats = corpus->add_subcommand("stats", "Files, notes, tokens and vocabulary sizes of a corpus");
    stats->add_option("inputs", options->inputs, "MIDI files or folders (searched recursively)")->required();
    stats->add_option("--min-count", options->min_count, "seed tokenizer: cut tokens seen fewer times");
    stats->add_option("--steps-per-beat", options->steps_per_beat, "grid steps per quarter note");
    stats->add_flag("--json", options->json, "print one JSON object");
    stats->add_flag("--list", options->list, "list every file with its split");
    stats->callback([options] { run_stats(*options); });
}

}  // namespace kanade::cli
