// kanade eval-generation --model M --pieces N: music statistics of generated pieces
// against pieces of the test files (Yang & Lerch, and rhythm and form on the bar grid),
// as JSON, and their picture as SVG. --recording STEM.jsonl measures what kanaded played
// instead, by the grid steps its journal holds.
#include "commands.hpp"

#include "kanade/engine/constraints.hpp"
#include "kanade/engine/offline_performance.hpp"
#include "kanade/eval/feature_overlap.hpp"
#include "kanade/eval/feature_plot.hpp"
#include "kanade/eval/recorded_piece.hpp"
#include "kanade/midi/meter.hpp"
#include "kanade/model/device.hpp"
#include "kanade/music/file_prompt.hpp"
#include "kanade/music/token_corpus.hpp"
#include "kanade/util/json_writer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <iostream>
#include <map>
#include <random>

namespace kanade::cli {
namespace {

struct EvalGenerationCommand {
    std::string model_path;
    std::vector<std::string> corpus = {"/usr/share/games/openttd/baseset/openmsx", "/usr/share/games/simutrans/music"};
    std::string split = "test";
    int pieces = 20;
    int length_steps = 256;
    std::uint64_t seed = 1;
    engine::SamplingOptions sampling{1.0, 0, 0.95};  // the daemon's defaults
    std::string mode = "streaming";
    std::string start = "window";  // "nothing": an empty window, as kanaded starts
    double density = 1.0;
    double energy = 0.0;
    double repeat = engine::SessionSettings{}.repeat;
    int max_polyphony = 6;  // the daemon's default (config/kanade.toml)
    std::string plot = "eval-generation.svg";
    std::string save_pieces;
    std::string device = "auto";
    int threads = 0;
    int steps_per_beat = 4;  // the grid rhythm and bars are read on
    int beats_per_bar = 4;
    std::string recording;  // a kanaded journal to measure instead of generating
    std::string part = "machine";
};

void write_values(util::JsonWriter& json, const std::vector<double>& values) {
    if (values.size() == 1) {
        json.value(values.front());
        return;
    }
    json.begin_array();
    for (double value : values) json.value(value);
    json.end_array();
}

void write_spread(util::JsonWriter& json, std::string_view name, const std::vector<double>& distances) {
    auto spread = eval::spread_of(distances);
    json.key(name).begin_object().field("mean", spread.mean).field("sd", spread.sd).end_object();
}

// What an energy setting moves, measured on the notes themselves.
struct DynamicsSummary {
    double mean_velocity = 0;
    double mean_length_beats = 0;
    void add(const std::vector<midi::Note>& notes) {
        for (const auto& note : notes) {
            velocity_sum_ += note.velocity;
            length_sum_ += note.end_beat - note.start_beat;
        }
        count_ += notes.size();
        mean_velocity = count_ ? velocity_sum_ / static_cast<double>(count_) : 0;
        mean_length_beats = count_ ? length_sum_ / static_cast<double>(count_) : 0;
    }

private:
    double velocity_sum_ = 0, length_sum_ = 0;
    std::size_t count_ = 0;
};

double mean_notes_per_bar(const std::vector<eval::PieceFeatures>& pieces, double bars) {
    double sum = 0;
    for (const auto& piece : pieces) sum += eval::feature_of(piece, eval::Feature::note_count).front();
    return pieces.empty() ? 0 : sum / static_cast<double>(pieces.size()) / bars;
}

// A set of pieces: their features and what their notes say of the dynamics.
struct PieceSet {
    std::vector<eval::PieceFeatures> features;
    DynamicsSummary dynamics;
    void add_segments(const std::vector<midi::Note>& notes, const eval::MeasureOptions& options, double length_beats) {
        for (const auto& segment : eval::cut_segments(notes, length_beats)) {
            features.push_back(
                eval::measure_piece(segment.notes, eval::segment_options(options, segment, length_beats)));
            dynamics.add(segment.notes);
        }
    }
};

// The bars a real piece is read on: its time signature at the start when its bar is a
// whole number of beats (6/8: 3 quarters), else `fallback`'s; the signature goes into `seen`.
eval::MeasureOptions file_options(const std::filesystem::path& path, eval::MeasureOptions fallback,
                                  std::map<std::string, std::uint64_t>& seen) {
    std::optional<midi::Meter> signature;
    try {
        const auto stated = midi::stated_meters(midi::read_smf(path).file);
        if (!stated.empty() && stated.front().start_beat == 0) signature = stated.front();
    } catch (const std::exception&) {
        // Read once already by the corpus: a file that fails now is read as `fallback`.
    }
    const auto fallback_name = std::to_string(fallback.beats_per_bar) + "/4";
    if (!signature) {
        ++seen["none (read as " + fallback_name + ")"];
        return fallback;
    }
    const auto name = std::to_string(signature->numerator) + "/" + std::to_string(signature->denominator);
    if ((signature->numerator * 4) % signature->denominator != 0) {
        ++seen[name + " (read as " + fallback_name + ")"];
        return fallback;
    }
    ++seen[name];
    fallback.beats_per_bar = signature->numerator * 4 / signature->denominator;
    return fallback;
}

void write_scalar(util::JsonWriter& json, const std::vector<eval::PieceFeatures>& set, eval::Feature feature) {
    std::vector<double> values;
    for (const auto& piece : set) values.push_back(eval::feature_of(piece, feature).front());
    write_spread(json, eval::feature_name(feature), values);
}

void write_rhythm_form_set(util::JsonWriter& json, std::string_view name, const std::vector<eval::PieceFeatures>& set,
                           const std::vector<double>& histogram, const std::vector<double>& lags) {
    using eval::Feature;
    json.key(name).begin_object();
    for (auto feature : {Feature::on_beat_share, Feature::bar_position_entropy, Feature::bar_repetition_lag1,
                         Feature::bar_repetition_lag2, Feature::bar_repetition_lag4, Feature::self_similarity})
        write_scalar(json, set, feature);
    json.key("self_similarity_lags");
    write_values(json, lags);
    json.key("bar_position_histogram");
    write_values(json, histogram);
    json.end_object();
}

// Rhythm and form of both sets, side by side: means and spreads of each piece's figure,
// the mean histogram and lag curve, and how much of the mean histograms the sets share.
void write_rhythm_form(util::JsonWriter& json, const std::vector<eval::FeatureComparison>& comparisons,
                       const PieceSet& real, const PieceSet& generated, const eval::MeasureOptions& measure) {
    const auto& histogram = comparisons[static_cast<std::size_t>(eval::Feature::bar_position_histogram)];
    const auto& lags = comparisons[static_cast<std::size_t>(eval::Feature::self_similarity_lags)];
    json.key("rhythm_form").begin_object();
    json.field("steps_per_beat", measure.steps_per_beat).field("beats_per_bar", measure.beats_per_bar);
    write_rhythm_form_set(json, "real", real.features, histogram.real_mean, lags.real_mean);
    write_rhythm_form_set(json, "generated", generated.features, histogram.generated_mean, lags.generated_mean);
    json.field("bar_position_histogram_intersection",
               eval::histogram_intersection(histogram.real_mean, histogram.generated_mean));
    json.field("mean_overlap", eval::mean_overlap(comparisons, eval::yang_lerch_feature_count, eval::feature_count));
    json.end_object();
}

// The real pieces: the files of the split, cut to the generated pieces' length.
PieceSet real_pieces(const music::Corpus& corpus, const eval::MeasureOptions& measure, double length_beats,
                     std::map<std::string, std::uint64_t>& signatures) {
    PieceSet real;
    for (const auto& file : corpus.files)
        real.add_segments(file.notes, file_options(file.path, measure, signatures), length_beats);
    return real;
}

music::Corpus split_corpus(const EvalGenerationCommand& command) {
    auto corpus = music::load_corpus(std::vector<std::filesystem::path>(command.corpus.begin(), command.corpus.end()));
    if (!corpus.errors.empty()) throw CommandError(corpus.errors.front());
    std::erase_if(corpus.files, [&](const auto& file) { return music::split_name(file.split) != command.split; });
    if (corpus.files.empty()) throw CommandError("no " + command.split + " files in the corpus");
    return corpus;
}

void write_features(util::JsonWriter& json, const std::vector<eval::FeatureComparison>& comparisons) {
    json.key("features").begin_object();
    for (const auto& comparison : comparisons) {
        json.key(eval::feature_name(comparison.feature)).begin_object();
        json.key("real_mean");
        write_values(json, comparison.real_mean);
        json.key("generated_mean");
        write_values(json, comparison.generated_mean);
        write_spread(json, "intra_real", comparison.intra_real);
        write_spread(json, "intra_generated", comparison.intra_generated);
        write_spread(json, "inter", comparison.inter);
        json.field("overlap", comparison.overlap())
            .field("overlap_real", comparison.overlap_real)
            .field("overlap_generated", comparison.overlap_generated);
        json.end_object();
    }
    json.end_object();
    // Over Yang & Lerch's features alone, as before the rhythm and form ones came.
    json.field("mean_overlap", eval::mean_overlap(comparisons, 0, eval::yang_lerch_feature_count));
}

// What both ways of making the "generated" set share: the comparison, its picture, and
// the figures that follow the fields each way writes first.
struct Measured {
    PieceSet real, generated;
    std::map<std::string, std::uint64_t> signatures;  // of the real files
    eval::MeasureOptions measure;
    double length_beats = 0;
};

void finish_report(util::JsonWriter& json, const EvalGenerationCommand& command, const Measured& measured,
                   const std::string& title) {
    auto comparisons = eval::compare_sets(measured.real.features, measured.generated.features);
    if (!command.plot.empty()) eval::write_feature_plot(command.plot, comparisons, title);
    const double bars = measured.length_beats / measured.measure.beats_per_bar;
    json.field("notes_per_bar_real", mean_notes_per_bar(measured.real.features, bars))
        .field("notes_per_bar_generated", mean_notes_per_bar(measured.generated.features, bars))
        .field("mean_velocity_real", measured.real.dynamics.mean_velocity)
        .field("mean_velocity_generated", measured.generated.dynamics.mean_velocity)
        .field("mean_note_beats_real", measured.real.dynamics.mean_length_beats)
        .field("mean_note_beats_generated", measured.generated.dynamics.mean_length_beats);
    write_features(json, comparisons);
    write_rhythm_form(json, comparisons, measured.real, measured.generated, measured.measure);
    json.key("real_time_signatures").begin_object();
    for (const auto& [name, files] : measured.signatures) json.field(name, files);
    json.end_object();
    json.field("plot", command.plot).end_object();
    std::cout << json.str() << std::endl;
}

std::string pieces_title(const std::string& what, const Measured& measured, const EvalGenerationCommand& command) {
    return what + ": " + std::to_string(measured.generated.features.size()) + " pieces against " +
           std::to_string(measured.real.features.size()) + " " + command.split + " pieces of " +
           std::to_string(command.length_steps) + " steps";
}

// --recording: the journal's part, cut into pieces of --length steps on the daemon's grid.
void run_eval_recording(const EvalGenerationCommand& command) {
    eval::RecordedPiece recorded;
    try {
        recorded = eval::read_recorded_piece(command.recording, eval::recorded_part(command.part));
    } catch (const std::exception& error) {
        throw CommandError(error.what());
    }
    Measured measured;
    measured.measure.steps_per_beat = recorded.steps_per_beat;
    measured.measure.beats_per_bar = recorded.beats_per_bar;
    measured.length_beats = static_cast<double>(command.length_steps) / recorded.steps_per_beat;
    measured.measure.length_beats = measured.length_beats;
    const auto corpus = split_corpus(command);
    measured.real = real_pieces(corpus, measured.measure, measured.length_beats, measured.signatures);
    measured.generated.add_segments(recorded.notes, measured.measure, measured.length_beats);
    if (measured.generated.features.size() < 2)
        throw CommandError(command.recording + ": " + std::to_string(measured.generated.features.size()) +
                           " piece(s) of " + std::to_string(command.length_steps) + " steps in the " + command.part +
                           " part; comparing needs two (a shorter --length?)");

    util::JsonWriter json;
    json.begin_object()
        .field("recording", command.recording)
        .field("part", command.part)
        .field("split", command.split)
        .field("pieces", static_cast<std::uint64_t>(measured.generated.features.size()))
        .field("real_pieces", static_cast<std::uint64_t>(measured.real.features.size()))
        .field("length_steps", command.length_steps)
        .field("first_step", recorded.first_step)
        .field("unstepped_events", static_cast<std::uint64_t>(recorded.unstepped));
    finish_report(json, command, measured,
                  pieces_title(command.recording + " (" + command.part + ")", measured, command));
}

void run_eval_generation(const EvalGenerationCommand& command) {
    if (!command.recording.empty()) return run_eval_recording(command);
    if (command.model_path.empty()) throw CommandError("--model is needed (or --recording)", exit_code::usage);
    if (command.threads > 0) model::set_cpu_threads(command.threads);
    auto model = model::load_model(command.model_path);
    auto tokenizer = music::make_tokenizer(model.tokenizer, model.grid);
    auto choice = model::choose_device(command.device);
    model.network->eval();
    model.network->to(choice.device);
    Measured measured;
    measured.length_beats = static_cast<double>(command.length_steps) / model.grid.steps_per_beat;
    const double length_beats = measured.length_beats;
    measured.measure.steps_per_beat = command.steps_per_beat;
    measured.measure.beats_per_bar = command.beats_per_bar;
    measured.measure.length_beats = length_beats;

    auto corpus = split_corpus(command);
    measured.real = real_pieces(corpus, measured.measure, length_beats, measured.signatures);

    // Each generated piece continues a random window of a file of the same split (or, with
    // --start nothing, starts from an empty window as kanaded does).
    music::TokenizeOptions options;
    options.vocabulary = model.vocabulary;
    auto tokens = music::tokenize_corpus(corpus, *tokenizer, options);
    // A window ends on one of its file's bar lines, so the piece goes on from a bar line
    // of the grid (music/file_prompt.hpp).
    const auto window = static_cast<std::size_t>(model.config.window);
    const music::TokenTable token_table(model.vocabulary, model.tokenizer);
    if (!command.save_pieces.empty()) std::filesystem::create_directories(command.save_pieces);
    // Each piece is played as one kanaded session plays (engine::perform_offline): the same
    // worker, sampling, constraints and, for a conditioned network, the grid's bar position.
    engine::SessionSettings settings;
    settings.sampling = command.sampling;
    settings.constraints.density = command.density;
    settings.constraints.energy = command.energy;
    settings.repeat = command.repeat;
    settings.constraints.max_polyphony = command.max_polyphony;
    auto shared_model = std::make_shared<model::Model>(std::move(model));
    const music::PromptPicker prompts(tokens.files, token_table, window);
    std::size_t notes_generated = 0;
    for (int piece = 0; piece < command.pieces; ++piece) {
        const std::uint64_t piece_seed = command.seed + static_cast<std::uint64_t>(piece);
        std::mt19937_64 random(piece_seed);
        const bool from_nothing = command.start == "nothing";
        const auto chosen = prompts.draw(random);
        if (!chosen)
            throw CommandError("no " + command.split +
                               " file holds a window of the model's length ending on a bar line");
        engine::OfflinePerformance performance;
        performance.steps = command.length_steps;
        performance.mode =
            command.mode == "streaming" ? engine::InferenceMode::streaming : engine::InferenceMode::faithful;
        performance.seed = piece_seed;
        if (!from_nothing) {
            auto prompt = music::prompt_tokens(*chosen->file, token_table, chosen->range);
            performance.prompt = std::move(prompt.ids);
            performance.prompt_conditions = std::move(prompt.conditions);
        }
        auto notes = engine::perform_offline(shared_model, settings, performance, choice.device);
        notes_generated += notes.size();
        measured.generated.features.push_back(eval::measure_piece(notes, measured.measure));
        measured.generated.dynamics.add(notes);
        if (!command.save_pieces.empty()) {
            midi::NotesToFile file_options;
            file_options.track_name =
                "kanade " + shared_model->config.arch + " (" + shared_model->tokenizer + " tokens), seed " +
                std::to_string(piece_seed) +
                (from_nothing ? ", from nothing"
                              : ", prompt " + chosen->file->path.filename().string() + " tokens " +
                                    std::to_string(chosen->range.begin) + ".." + std::to_string(chosen->range.end));
            char name[64];
            std::snprintf(name, sizeof name, "piece-%02d-seed-%llu.mid", piece,
                          static_cast<unsigned long long>(piece_seed));
            midi::write_smf(midi::notes_to_file(notes, file_options),
                            std::filesystem::path(command.save_pieces) / name);
        }
    }

    util::JsonWriter json;
    json.begin_object()
        .field("model", command.model_path)
        .field("arch", shared_model->config.arch)
        .field("tokenizer", shared_model->tokenizer)
        .field("split", command.split)
        .field("pieces", command.pieces)
        .field("real_pieces", static_cast<std::uint64_t>(measured.real.features.size()))
        .field("length_steps", command.length_steps)
        .field("seed", command.seed)
        .field("mode", command.mode)
        .field("start", command.start)
        .field("temperature", command.sampling.temperature)
        .field("top_k", command.sampling.top_k)
        .field("top_p", command.sampling.top_p)
        .field("density", command.density)
        .field("energy", command.energy)
        .field("repeat", command.repeat)
        .field("max_polyphony", command.max_polyphony)
        .field("notes_generated", static_cast<std::uint64_t>(notes_generated));
    finish_report(json, command, measured, pieces_title(command.model_path, measured, command));
}

}  // namespace

void add_eval_generation_command(CLI::App& app) {
    auto command = std::make_shared<EvalGenerationCommand>();
    auto* sub = app.add_subcommand(
        "eval-generation", "Music statistics of generated pieces against real ones (Yang & Lerch), JSON and SVG");
    sub->add_option("--model,-m", command->model_path, "model file (needed unless --recording)")
        ->check(CLI::ExistingFile);
    sub->add_option("--recording", command->recording,
                    "measure this kanaded recording (STEM.jsonl) by its grid steps instead of generating")
        ->check(CLI::ExistingFile);
    sub->add_option("--part", command->part, "with --recording: whose notes")
        ->capture_default_str()
        ->check(CLI::IsMember({"machine", "human", "all"}));
    sub->add_option("--steps-per-beat", command->steps_per_beat,
                    "grid steps a beat, for rhythm and bars (with --recording: the recording's)")
        ->capture_default_str()
        ->check(CLI::Range(1, 96));
    sub->add_option("--beats-per-bar", command->beats_per_bar,
                    "beats a bar of the generated pieces, and of real ones without a time signature "
                    "(with --recording: the recording's)")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    sub->add_option("corpus", command->corpus, "MIDI files or folders holding the real pieces")->capture_default_str();
    sub->add_option("--split", command->split, "the real pieces: files of this split")
        ->capture_default_str()
        ->check(CLI::IsMember({"train", "valid", "test"}));
    sub->add_option("--pieces,-n", command->pieces, "pieces to generate")
        ->capture_default_str()
        ->check(CLI::Range(2, 100000));
    sub->add_option("--length", command->length_steps, "length of every piece in grid steps")
        ->capture_default_str()
        ->check(CLI::Range(4, 100000));
    sub->add_option("--seed", command->seed, "seed of the first piece (piece i uses seed + i)")->capture_default_str();
    sub->add_option("--temperature", command->sampling.temperature, "0: argmax")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 100.0));
    sub->add_option("--top-k", command->sampling.top_k, "sample among the k likeliest (0: all)")
        ->capture_default_str()
        ->check(CLI::Range(0, 1000000));
    sub->add_option("--top-p", command->sampling.top_p, "nucleus sampling mass")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    sub->add_option("--mode", command->mode, "streaming (as the daemon) or faithful")
        ->capture_default_str()
        ->check(CLI::IsMember({"faithful", "streaming"}));
    sub->add_option("--start", command->start,
                    "window: each piece continues a random window of the split; nothing: from an empty window, as "
                    "kanaded starts")
        ->capture_default_str()
        ->check(CLI::IsMember({"window", "nothing"}));
    sub->add_option("--density", command->density, "the daemon's density constraint (>1 fewer rests)")
        ->capture_default_str()
        ->check(CLI::Range(0.01, 100.0));
    sub->add_option("--energy", command->energy, "the daemon's energy constraint, -1 calm .. 1 driving")
        ->capture_default_str()
        ->check(CLI::Range(-1.0, 1.0));
    sub->add_option("--repeat", command->repeat, "the daemon's chance that a bar replays the bar 2 or 4 bars back")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    sub->add_option("--max-polyphony", command->max_polyphony, "the daemon's limit on notes starting together")
        ->capture_default_str()
        ->check(CLI::Range(1, 128));
    sub->add_option("--plot", command->plot, "SVG picture to write (\"\": none)")->capture_default_str();
    sub->add_option("--save-pieces", command->save_pieces, "write each generated piece as MIDI into this folder");
    sub->add_option("--device", command->device, "auto, cpu or cuda[:N]")->capture_default_str();
    sub->add_option("--threads", command->threads, "CPU threads (0: libtorch default)")->capture_default_str();
    sub->callback([command] { run_eval_generation(*command); });
}

}  // namespace kanade::cli
