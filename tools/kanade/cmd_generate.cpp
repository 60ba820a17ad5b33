// kanade generate MODEL -o OUT.mid: new music from a model, seeded from a corpus
// window or a MIDI file.
#include "commands.hpp"

#include "kanade/engine/generator.hpp"
#include "kanade/model/device.hpp"
#include "kanade/music/token_corpus.hpp"

#include <cstdio>
#include <random>

namespace kanade::cli {
namespace {

struct GenerateCommand {
    std::string model_path;
    std::string output;
    std::string seed_midi;
    std::vector<std::string> corpus;
    engine::GenerateOptions generate;
    std::string mode = "faithful";
    std::string device = "auto";
    double bpm = 120;
    int program = 0;
    bool include_seed = false;
};

// A window of the model's length, taken from the seed file's start or from a random
// place in the corpus (as the student project began).
std::vector<int> choose_prompt(const GenerateCommand& command, const model::Model& model, const music::Tokenizer& tokenizer,
                               std::string* described) {
    music::TokenizeOptions options;
    options.vocabulary = model.vocabulary;
    const auto window = static_cast<std::size_t>(model.config.window);
    if (!command.seed_midi.empty()) {
        auto corpus = music::load_corpus({command.seed_midi});
        if (!corpus.errors.empty()) throw CommandError(corpus.errors.front());
        auto tokens = music::tokenize_corpus(corpus, tokenizer, options);
        auto& ids = tokens.files.front().ids;
        if (ids.empty()) throw CommandError(command.seed_midi + ": no notes the model knows");
        if (ids.size() > window) ids.resize(window);
        *described = command.seed_midi + " (first " + std::to_string(ids.size()) + " tokens)";
        return ids;
    }
    if (command.corpus.empty())
        throw CommandError("give --seed-midi FILE or --corpus DIR to seed the generation", exit_code::usage);
    auto corpus = music::load_corpus(std::vector<std::filesystem::path>(command.corpus.begin(), command.corpus.end()));
    auto tokens = music::tokenize_corpus(corpus, tokenizer, options);
    std::vector<const music::TokenizedFile*> candidates;
    for (const auto& file : tokens.files)
        if (file.ids.size() > window) candidates.push_back(&file);
    if (candidates.empty()) throw CommandError("no corpus file is longer than the model's window");
    std::mt19937_64 random(command.generate.seed);
    const auto* file = candidates[random() % candidates.size()];
    std::size_t start = random() % (file->ids.size() - window);
    *described = file->path.string() + " (tokens " + std::to_string(start) + ".." + std::to_string(start + window) + ")";
    return {file->ids.begin() + static_cast<std::ptrdiff_t>(start),
            file->ids.begin() + static_cast<std::ptrdiff_t>(start + window)};
}

void run_generate(GenerateCommand& command) {
    auto model = model::load_model(command.model_path);
    auto tokenizer = music::make_tokenizer(model.tokenizer, model.grid);
    auto choice = model::choose_device(command.device);
    command.generate.mode = command.mode == "streaming" ? engine::InferenceMode::streaming : engine::InferenceMode::faithful;

    std::string seed_description;
    auto prompt = choose_prompt(command, model, *tokenizer, &seed_description);
    auto generated = engine::generate(model, prompt, command.generate, choice.device);

    std::vector<int> ids = command.include_seed ? prompt : std::vector<int>{};
    ids.insert(ids.end(), generated.begin(), generated.end());
    auto notes = tokenizer->decode(model.vocabulary.decode(ids));
    if (!command.include_seed && model.tokenizer == "kanade" && !notes.empty()) {
        // Generated kanade tokens continue the seed's clock: start the file at the first note.
        double offset = notes.front().start_beat;
        for (auto& note : notes) note.start_beat -= offset, note.end_beat -= offset;
    }
    midi::NotesToFile file_options;
    file_options.bpm = command.bpm;
    file_options.program = static_cast<std::uint8_t>(command.program);
    file_options.track_name = "kanade " + model.config.arch + " (" + model.tokenizer + " tokens)";
    midi::write_smf(midi::notes_to_file(notes, file_options), command.output);
    std::printf("wrote %s: %zu tokens, %zu notes, %s; seed %s\n", command.output.c_str(), generated.size(),
                notes.size(), choice.reason.c_str(), seed_description.c_str());
}

}  // namespace

void add_generate_command(CLI::App& app) {
    auto command = std::make_shared<GenerateCommand>();
    auto& o = command->generate;
    auto* generate = app.add_subcommand("generate", "Generate a MIDI file from a model");
    generate->add_option("model", command->model_path, "model file")->required()->check(CLI::ExistingFile);
    generate->add_option("-o,--output", command->output, "MIDI file to write")->required();
    generate->add_option("-n,--steps", o.steps, "tokens to generate")->capture_default_str()->check(CLI::Range(1, 1000000));
    generate->add_option("--seed-midi", command->seed_midi, "seed with the start of this MIDI file");
    generate->add_option("--corpus", command->corpus, "seed with a random window of this corpus");
    generate->add_option("--temperature", o.sampling.temperature, "0: argmax (the student's generator)")
        ->capture_default_str()->check(CLI::Range(0.0, 100.0));
    generate->add_option("--top-k", o.sampling.top_k, "sample among the k likeliest (0: all)")->capture_default_str()
        ->check(CLI::Range(0, 1000000));
    generate->add_option("--top-p", o.sampling.top_p, "nucleus sampling mass")->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    generate->add_option("--seed", o.seed, "random seed")->capture_default_str();
    generate->add_option("--mode", command->mode, "faithful or streaming")->capture_default_str()
        ->check(CLI::IsMember({"faithful", "streaming"}));
    generate->add_option("--device", command->device, "auto, cpu or cuda[:N]")->capture_default_str();
    generate->add_option("--bpm", command->bpm, "tempo of the written file")->capture_default_str()->check(CLI::Range(10.0, 400.0));
    generate->add_option("--program", command->program, "General MIDI program")->capture_default_str()->check(CLI::Range(0, 127));
    generate->add_flag("--include-seed", command->include_seed, "write the seed window before the new music");
    generate->callback([command] { run_generate(*command); });
}

}  // namespace kanade::cli
