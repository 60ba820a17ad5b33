// kanade generate MODEL -o OUT.mid: what kanaded would play with the same settings (one
// free session, the same sampling, constraints and seed), rendered offline; started from
// nothing as the daemon does, or from a MIDI file's start or a random corpus window.
#include "commands.hpp"

#include "kanade/engine/offline_performance.hpp"
#include "kanade/model/device.hpp"
#include "kanade/music/file_prompt.hpp"
#include "kanade/music/token_corpus.hpp"

#include <cmath>
#include <cstdio>
#include <random>

namespace kanade::cli {
namespace {

struct GenerateCommand {
    std::string model_path;
    std::string output;
    std::string seed_midi;
    std::vector<std::string> corpus;
    engine::SessionSettings settings;  // the daemon's defaults
    engine::OfflinePerformance performance;
    std::string scale = "chromatic";
    std::string mode = "streaming";
    std::string device = "auto";
    double bpm = 120;
    int program = 0;
    bool include_seed = false;
};

// A window of the model's length ending on a bar line (music/file_prompt.hpp), from the
// seed file's start or a random place in the corpus (as the student project began); none:
// from nothing, as the daemon.
music::PromptTokens choose_prompt(const GenerateCommand& command, const model::Model& model,
                                  const music::Tokenizer& tokenizer, std::string* described) {
    music::TokenizeOptions options;
    options.vocabulary = model.vocabulary;
    const auto window = static_cast<std::size_t>(model.config.window);
    const music::TokenTable token_table(model.vocabulary, model.tokenizer);
    if (!command.seed_midi.empty()) {
        auto corpus = music::load_corpus({command.seed_midi});
        if (!corpus.errors.empty()) throw CommandError(corpus.errors.front());
        auto tokens = music::tokenize_corpus(corpus, tokenizer, options);
        const auto& file = tokens.files.front();
        if (file.ids.empty()) throw CommandError(command.seed_midi + ": no notes the model knows");
        const auto range = music::opening_prompt(file, token_table, window);
        auto prompt = music::prompt_tokens(file, token_table, range);
        *described =
            command.seed_midi + " (tokens " + std::to_string(range.begin) + ".." + std::to_string(range.end) + ")";
        return prompt;
    }
    if (command.corpus.empty()) {
        *described = "none (from nothing, as kanaded starts)";
        return {};
    }
    auto corpus = music::load_corpus(std::vector<std::filesystem::path>(command.corpus.begin(), command.corpus.end()));
    auto tokens = music::tokenize_corpus(corpus, tokenizer, options);
    std::mt19937_64 random(command.performance.seed);
    const auto chosen = music::PromptPicker(tokens.files, token_table, window).draw(random);
    if (!chosen) throw CommandError("no corpus file holds a window of the model's length ending on a bar line");
    *described = chosen->file->path.string() + " (tokens " + std::to_string(chosen->range.begin) + ".." +
                 std::to_string(chosen->range.end) + ")";
    return music::prompt_tokens(*chosen->file, token_table, chosen->range);
}

void run_generate(GenerateCommand& command) {
    auto model = std::make_shared<model::Model>(model::load_model(command.model_path));
    auto tokenizer = music::make_tokenizer(model->tokenizer, model->grid);
    auto choice = model::choose_device(command.device);
    command.performance.mode =
        command.mode == "streaming" ? engine::InferenceMode::streaming : engine::InferenceMode::faithful;
    try {
        command.settings.constraints.set_scale(command.scale);
    } catch (const std::invalid_argument& error) {
        throw CommandError(std::string("--scale: ") + error.what(), exit_code::usage);
    }
    if (command.settings.constraints.lowest_pitch > command.settings.constraints.highest_pitch)
        throw CommandError("--lowest-pitch is above --highest-pitch", exit_code::usage);

    std::string seed_description;
    auto prompt = choose_prompt(command, *model, *tokenizer, &seed_description);
    command.performance.prompt = std::move(prompt.ids);
    command.performance.prompt_conditions = std::move(prompt.conditions);
    auto notes = engine::perform_offline(model, command.settings, command.performance, choice.device);
    const auto played = notes.size();
    if (command.include_seed && !command.performance.prompt.empty()) {
        auto seed_notes = tokenizer->decode(model->vocabulary.decode(command.performance.prompt));
        double seed_end = 0;
        for (const auto& note : seed_notes) seed_end = std::max(seed_end, note.end_beat);
        seed_end = std::ceil(seed_end);  // the performance starts on the beat after the seed
        for (auto& note : notes) note.start_beat += seed_end, note.end_beat += seed_end;
        notes.insert(notes.begin(), seed_notes.begin(), seed_notes.end());
    }
    midi::NotesToFile file_options;
    file_options.bpm = command.bpm;
    file_options.program = static_cast<std::uint8_t>(command.program);
    file_options.track_name = "kanade " + model->config.arch + " (" + model->tokenizer + " tokens)";
    midi::write_smf(midi::notes_to_file(notes, file_options), command.output);
    std::printf("wrote %s: %lld steps, %zu notes, %s inference, %s; seed %s\n", command.output.c_str(),
                static_cast<long long>(command.performance.steps), played, command.mode.c_str(), choice.reason.c_str(),
                seed_description.c_str());
}

}  // namespace

void add_generate_command(CLI::App& app) {
    auto command = std::make_shared<GenerateCommand>();
    auto& settings = command->settings;
    auto& constraints = settings.constraints;
    auto& performance = command->performance;
    auto* generate =
        app.add_subcommand("generate", "Render to a MIDI file what kanaded would play with these settings");
    generate->add_option("model", command->model_path, "model file")->required()->check(CLI::ExistingFile);
    generate->add_option("-o,--output", command->output, "MIDI file to write")->required();
    generate->add_option("-n,--steps", performance.steps, "grid steps to play (4 a beat on the shipped models)")
        ->capture_default_str()
        ->check(CLI::Range(1, 10'000'000));
    generate->add_option("--seed-midi", command->seed_midi,
                         "continue this MIDI file's opening (up to its first bar line past a window)");
    generate->add_option("--corpus", command->corpus, "start from a random window of this corpus");
    generate->add_option("--temperature", settings.sampling.temperature, "0: argmax (the student's generator)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, engine::max_temperature));
    generate->add_option("--top-k", settings.sampling.top_k, "sample among the k likeliest (0: all)")
        ->capture_default_str()
        ->check(CLI::Range(0, 1000000));
    generate->add_option("--top-p", settings.sampling.top_p, "nucleus sampling mass")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    generate->add_option("--scale", command->scale, "key/scale mask, e.g. \"C major\"")->capture_default_str();
    generate->add_option("--lowest-pitch", constraints.lowest_pitch, "lowest MIDI note")
        ->capture_default_str()
        ->check(CLI::Range(0, 127));
    generate->add_option("--highest-pitch", constraints.highest_pitch, "highest MIDI note")
        ->capture_default_str()
        ->check(CLI::Range(0, 127));
    generate->add_option("--polyphony", constraints.max_polyphony, "notes starting on one step")
        ->capture_default_str()
        ->check(CLI::Range(1, 12));
    generate->add_option("--energy", constraints.energy, "-1 calm .. 1 driving")
        ->capture_default_str()
        ->check(CLI::Range(-1.0, 1.0));
    generate->add_option("--density", constraints.density, ">1 fewer rests, <1 more")
        ->capture_default_str()
        ->check(CLI::Range(0.01, 100.0));
    generate->add_option("--repeat", settings.repeat, "the chance each bar replays the bar 2 or 4 bars back")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    generate->add_option("--max-note-steps", performance.max_note_steps, "no note sounds longer")
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
    generate->add_option("--seed", performance.seed, "random seed (kanaded's engine.seed)")->capture_default_str();
    generate->add_option("--mode", command->mode, "streaming (kanaded's default) or faithful")
        ->capture_default_str()
        ->check(CLI::IsMember({"faithful", "streaming"}));
    generate->add_option("--device", command->device, "auto, cpu or cuda[:N]")->capture_default_str();
    generate->add_option("--bpm", command->bpm, "tempo of the written file")
        ->capture_default_str()
        ->check(CLI::Range(10.0, 400.0));
    generate->add_option("--program", command->program, "General MIDI program")
        ->capture_default_str()
        ->check(CLI::Range(0, 127));
    generate->add_flag("--include-seed", command->include_seed, "write the seed window before the new music");
    generate->callback([command] { run_generate(*command); });
}

}  // namespace kanade::cli
