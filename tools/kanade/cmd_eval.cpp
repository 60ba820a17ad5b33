// kanade eval --model M FILES...: held-out metrics as one JSON object on stdout.
// kanade eval --baseline ngram [--train CORPUS...] FILES...: the same metrics of an n-gram
// model counted on the training files of CORPUS (or of FILES), its order tuned on their
// validation files, scoring only files it was not counted on.
#include "commands.hpp"

#include "kanade/model/device.hpp"
#include "kanade/model/evaluator.hpp"
#include "kanade/model/inference_precision.hpp"
#include "kanade/model/ngram_model.hpp"
#include "kanade/music/corpus.hpp"
#include "kanade/util/json_writer.hpp"

#include <iostream>
#include <set>

namespace kanade::cli {
namespace {

struct EvalCommand {
    std::string model_path;
    std::vector<std::string> inputs;
    std::string split = "all";
    std::string device = "auto";
    int batch = 256;
    std::string mode = "auto";
    bool measured_controls = false;
    std::string precision = "float32";
    // The n-gram baseline.
    std::string baseline;
    std::vector<std::string> train;  // count it on these (their training files) instead of on FILES
    std::string tokens = "kanade";
    int order = 0;  // 0: the best on the validation files
    int max_order = 12;
    int transpose = 0;
    std::size_t min_count = 1;
};

bool in_split(const std::string& split, music::Split file_split) {
    return split == "all" || music::split_name(file_split) == split;
}

void write_result(util::JsonWriter& json, const model::EvalResult& result, const music::Vocabulary& vocabulary,
                  std::string_view tokenizer) {
    json.field("files", result.files)
        .field("tokens", result.tokens)
        .field("skipped_tokens", result.skipped_tokens)
        .field("nll", result.nll)
        .field("accuracy", result.accuracy)
        .field("perplexity", result.perplexity)
        .field("nll_per_note", result.nll_per_note)
        .field("nll_per_second", result.nll_per_second);
    json.key("nll_per_note_by_kind").begin_object();
    for (const auto& [kind, nll] : model::nll_per_note_by_kind(result, vocabulary, tokenizer)) json.field(kind, nll);
    json.end_object();
}

std::filesystem::path canonical_or_same(const std::filesystem::path& path) {
    std::error_code ignored;
    auto canonical = std::filesystem::weakly_canonical(path, ignored);
    return canonical.empty() ? path : canonical;
}

// Counts the n-gram model on the training files of --train (or, without it, of FILES),
// tunes its order on the validation files of the same, and scores the files of FILES in
// --split that it was not counted on: a baseline never scores its own training data.
// With --model, the model's tokenizer and vocabulary are used, so both are scored on the
// same tokens.
void run_baseline(const EvalCommand& command) {
    const bool separate = !command.train.empty();
    auto paths = [](const std::vector<std::string>& inputs) {
        return music::find_midi_files(std::vector<std::filesystem::path>(inputs.begin(), inputs.end()));
    };
    auto corpus = music::load_corpus(paths(separate ? command.train : command.inputs));
    if (!corpus.errors.empty()) throw CommandError(corpus.errors.front());
    std::string tokenizer_name = command.tokens;
    music::TokenizeOptions options;
    options.min_count = command.min_count;
    options.transpose = command.transpose;
    music::GridOptions grid;
    if (!command.model_path.empty()) {
        auto header = model::read_model_header(command.model_path);
        tokenizer_name = header.tokenizer;
        options.vocabulary = header.vocabulary;
        grid = header.grid;
    }
    auto tokenizer = music::make_tokenizer(tokenizer_name, grid);
    auto tokens = music::tokenize_corpus(corpus, *tokenizer, options);
    auto train = model::split_sequences(tokens, music::Split::train);
    if (train.empty())
        throw CommandError("the n-gram baseline needs training files among " +
                           std::string(separate ? "--train" : "the inputs") + " (see kanade corpus stats --list)");
    const int vocab_size = static_cast<int>(tokens.vocabulary.size());
    std::set<std::filesystem::path> counted;
    std::vector<music::TokenizedFile> valid;
    for (const auto& file : tokens.files) {
        if (file.split == music::Split::train) counted.insert(canonical_or_same(file.path));
        if (file.split == music::Split::valid && file.transposed == 0) valid.push_back(file);
    }

    // What is scored: FILES in --split, less every file the counts came from.
    music::Corpus scored_corpus;
    if (separate) {
        scored_corpus = music::load_corpus(paths(command.inputs));
        if (!scored_corpus.errors.empty()) throw CommandError(scored_corpus.errors.front());
    } else {
        scored_corpus = corpus;
    }
    std::size_t excluded = 0;
    std::erase_if(scored_corpus.files, [&](const auto& file) {
        if (!in_split(command.split, file.split)) return true;
        const bool was_counted = counted.contains(canonical_or_same(file.path));
        excluded += was_counted;
        return was_counted;
    });
    if (scored_corpus.files.empty())
        throw CommandError(excluded > 0
                               ? "every file to score (split " + command.split +
                                     ") is one the baseline was counted on: give other files, or --train CORPUS"
                               : "no MIDI files to evaluate (split " + command.split + ")");
    if (excluded > 0)
        std::cerr << "kanade eval: " << excluded
                  << " of the files to score were left out: the baseline was counted on them\n";
    music::TokenizeOptions scoring = options;
    scoring.transpose = 0;
    scoring.vocabulary = tokens.vocabulary;
    auto scored_tokens = music::tokenize_corpus(scored_corpus, *tokenizer, scoring);
    std::vector<music::TokenizedFile> evaluated;
    for (auto& file : scored_tokens.files)
        if (file.transposed == 0) evaluated.push_back(std::move(file));

    int order = command.order;
    std::vector<double> valid_nll;
    if (order == 0) {
        if (valid.empty()) throw CommandError("no validation files to choose the n-gram order on: give --order N");
        auto choice = model::choose_ngram_order(train, valid, vocab_size, command.max_order);
        order = choice.order;
        valid_nll = choice.valid_nll;
    }
    model::NgramModel ngram(train, vocab_size, order);
    auto result = model::evaluate_ngram(ngram, evaluated);
    result.skipped_tokens = scored_tokens.skipped_tokens;  // outside the vocabulary, over the scored files

    util::JsonWriter json;
    json.begin_object()
        .field("model", "baseline ngram")
        .field("arch", "ngram")
        .field("tokenizer", tokenizer_name)
        .field("split", command.split);
    write_result(json, result, tokens.vocabulary, tokenizer_name);
    json.field("order", order)
        .field("vocabulary", vocab_size)
        .field("train_files", counted.size())
        .field("train_tokens", tokens.token_count(music::Split::train))
        .field("counted_on", separate ? "--train" : "the training split of the inputs")
        .field("excluded_files", excluded);
    json.key("valid_nll_by_order").begin_array();
    for (double nll : valid_nll) json.value(nll);
    json.end_array().end_object();
    std::cout << json.str() << std::endl;
}

void run_eval(const EvalCommand& command) {
    if (!command.baseline.empty()) return run_baseline(command);
    if (command.model_path.empty()) throw CommandError("give --model M, or --baseline ngram", exit_code::usage);
    auto model = model::load_model(command.model_path);
    auto files =
        music::find_midi_files(std::vector<std::filesystem::path>(command.inputs.begin(), command.inputs.end()));
    if (command.split != "all") {
        std::erase_if(files,
                      [&](const auto& file) { return music::split_name(music::split_of(file)) != command.split; });
    }
    if (files.empty()) throw CommandError("no MIDI files to evaluate (split " + command.split + ")");
    auto choice = model::choose_device(command.device);
    model.network->set_inference_precision(model::parse_inference_precision(command.precision));
    model::EvalOptions options{command.mode, command.measured_controls, command.batch};
    auto result = model::evaluate(model, files, choice.device, options);
    util::JsonWriter json;
    json.begin_object()
        .field("model", command.model_path)
        .field("mode", model::resolved_mode(model, options))
        .field("controls", model.config.control_input ? (command.measured_controls ? "measured" : "not said") : "none")
        .field("precision", model::precision_name(model.network->inference_precision()))
        .field("arch", model.config.arch)
        .field("tokenizer", model.tokenizer)
        .field("split", command.split);
    write_result(json, result, model.vocabulary, model.tokenizer);
    json.end_object();
    std::cout << json.str() << std::endl;
}

}  // namespace

void add_eval_command(CLI::App& app) {
    auto command = std::make_shared<EvalCommand>();
    auto* eval = app.add_subcommand(
        "eval", "Held-out metrics of a model, or of an n-gram baseline, as JSON (NLL, accuracy, perplexity)");
    eval->add_option("--model,-m", command->model_path, "model file (with --baseline: use its tokens and vocabulary)")
        ->check(CLI::ExistingFile);
    eval->add_option("files", command->inputs, "MIDI files or folders")->required();
    eval->add_option("--split", command->split, "only files of this split: all, train, valid or test")
        ->capture_default_str()
        ->check(CLI::IsMember({"all", "train", "valid", "test"}));
    eval->add_option("--device", command->device, "auto, cpu or cuda[:N]")->capture_default_str();
    eval->add_option("--batch", command->batch, "windows per forward pass")
        ->capture_default_str()
        ->check(CLI::Range(1, 65536));
    eval->add_option("--mode", command->mode,
                     "faithful (a window from a fresh state), streaming (the state carried over the piece), "
                     "or auto (streaming for a model trained with --carry-state)")
        ->check(CLI::IsMember({"auto", "faithful", "streaming"}))
        ->capture_default_str();
    eval->add_flag("--measured-controls", command->measured_controls,
                   "tell a model with --controls each bar's measured density and loudness (default: not said)");
    eval->add_option(
            "--precision", command->precision,
            "CPU inference precision: float32, float16 (weights), bfloat16 or int8 (weights and products' inputs)")
        ->capture_default_str()
        ->check(CLI::IsMember(model::inference_precision_choices()));
    eval->add_option("--baseline", command->baseline,
                     "score a model with no network instead: ngram (counted on the training files)")
        ->check(CLI::IsMember({"ngram"}));
    eval->add_option("--train", command->train,
                     "baseline: count it on the training files of this corpus, then score FILES (never a file "
                     "it was counted on)");
    eval->add_option("--tokens", command->tokens, "baseline without --model: seed or kanade tokens")
        ->capture_default_str()
        ->check(CLI::IsMember({"seed", "kanade"}));
    eval->add_option("--order", command->order, "baseline: n-gram order (0: the best on the validation files)")
        ->capture_default_str()
        ->check(CLI::Range(0, 16));
    eval->add_option("--max-order", command->max_order, "baseline: highest order tried on the validation files")
        ->capture_default_str()
        ->check(CLI::Range(1, 16));
    eval->add_option("--transpose", command->transpose,
                     "baseline: also count training copies moved by -N..+N semitones")
        ->capture_default_str()
        ->check(CLI::Range(0, 12));
    eval->add_option("--min-count", command->min_count, "baseline, seed tokens without --model: cut rarer tokens")
        ->capture_default_str();
    eval->callback([command] { run_eval(*command); });
}

}  // namespace kanade::cli
