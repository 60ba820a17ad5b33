// kanade eval --model M FILES...: held-out metrics as one JSON object on stdout.
#include "commands.hpp"

#include "kanade/model/device.hpp"
#include "kanade/model/evaluator.hpp"
#include "kanade/music/corpus.hpp"
#include "kanade/util/json_writer.hpp"

#include <iostream>

namespace kanade::cli {
namespace {

struct EvalCommand {
    std::string model_path;
    std::vector<std::string> inputs;
    std::string split = "all";
    std::string device = "auto";
    int batch = 256;
};

void run_eval(const EvalCommand& command) {
    auto model = model::load_model(command.model_path);
    auto files = music::find_midi_files(std::vector<std::filesystem::path>(command.inputs.begin(), command.inputs.end()));
    if (command.split != "all") {
        std::erase_if(files, [&](const auto& file) { return music::split_name(music::split_of(file)) != command.split; });
    }
    if (files.empty()) throw CommandError("no MIDI files to evaluate (split " + command.split + ")");
    auto choice = model::choose_device(command.device);
    auto result = model::evaluate(model, files, choice.device, command.batch);
    util::JsonWriter json;
    json.begin_object()
        .field("model", command.model_path)
        .field("arch", model.config.arch)
        .field("tokenizer", model.tokenizer)
        .field("split", command.split)
        .field("files", result.files)
        .field("tokens", result.tokens)
        .field("skipped_tokens", result.skipped_tokens)
        .field("nll", result.nll)
        .field("accuracy", result.accuracy)
        .field("perplexity", result.perplexity)
        .field("nll_per_note", result.nll_per_note)
        .field("nll_per_second", result.nll_per_second)
        .end_object();
    std::cout << json.str() << std::endl;
}

}  // namespace

void add_eval_command(CLI::App& app) {
    auto command = std::make_shared<EvalCommand>();
    auto* eval = app.add_subcommand("eval", "Held-out metrics of a model as JSON (NLL, accuracy, perplexity)");
    eval->add_option("--model,-m", command->model_path, "model file")->required()->check(CLI::ExistingFile);
    eval->add_option("files", command->inputs, "MIDI files or folders")->required();
    eval->add_option("--split", command->split, "only files of this split: all, train, valid or test")
        ->capture_default_str()->check(CLI::IsMember({"all", "train", "valid", "test"}));
    eval->add_option("--device", command->device, "auto, cpu or cuda[:N]")->capture_default_str();
    eval->add_option("--batch", command->batch, "windows per forward pass")->capture_default_str()->check(CLI::Range(1, 65536));
    eval->callback([command] { run_eval(*command); });
}

}  // namespace kanade::cli
