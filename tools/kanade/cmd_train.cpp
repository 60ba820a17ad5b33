// kanade train CORPUS... -o MODEL: fit a network to MIDI files.
#include "commands.hpp"

#include "kanade/model/trainer.hpp"

#include <cstdio>

namespace kanade::cli {
namespace {

struct TrainCommand {
    model::TrainOptions train;
    std::vector<std::string> inputs;
    std::string output;
};

void run_train(TrainCommand& command) {
    auto& options = command.train;
    options.corpus.assign(command.inputs.begin(), command.inputs.end());
    options.output = command.output;
    options.command_line = command_line();
    if (options.network.arch == "seed" && options.tokenizer != "seed")
        std::fprintf(stderr, "kanade train: note: the seed architecture on %s tokens\n", options.tokenizer.c_str());
    auto result = model::train(options);
    if (!result.finished)
        throw CommandError(
            "stopped by --max-minutes or --stop-after-batches before the last epoch; run again with --resume");
    const auto& last = result.history.back();
    std::printf("trained %s on %s tokens: %zu training, %zu validation tokens, %lld parameters, device %s\n",
                options.network.arch.c_str(), options.tokenizer.c_str(), result.train_tokens, result.valid_tokens,
                static_cast<long long>(result.parameters), result.device.c_str());
    std::printf("last epoch %d: train loss %.4f, valid loss %.4f, accuracy %.3f, perplexity %.2f\n", last.epoch,
                last.train_loss, last.valid_loss, last.valid_accuracy, last.valid_perplexity);
    std::printf("model %s (best validation epoch), metrics %s.csv, curve %s.svg\n", command.output.c_str(),
                command.output.c_str(), command.output.c_str());
}

}  // namespace

void add_train_command(CLI::App& app) {
    auto command = std::make_shared<TrainCommand>();
    auto& o = command->train;
    auto* train = app.add_subcommand("train", "Train a model on MIDI files (CPU or CUDA)");
    train->add_option("corpus", command->inputs, "MIDI files or folders")->required();
    train->add_option("-o,--output", command->output, "model file to write")->required();
    train->add_option("--tokenizer", o.tokenizer, "seed or kanade")
        ->check(CLI::IsMember({"seed", "kanade"}))
        ->capture_default_str();
    train->add_option("--arch", o.network.arch, "seed or kanade")
        ->check(CLI::IsMember({"seed", "kanade"}))
        ->capture_default_str();
    train->add_option("--hidden", o.network.hidden, "LSTM units per layer")->capture_default_str();
    train->add_option("--layers", o.network.layers, "LSTM layers (kanade)")->capture_default_str();
    train->add_option("--embedding", o.network.embedding, "token embedding size (kanade)")->capture_default_str();
    train->add_option("--dropout", o.network.dropout, "dropout rate")->capture_default_str();
    train->add_option("--window", o.network.window, "context length in tokens")->capture_default_str();
    train
        ->add_option("--window-steps", o.network.window_steps,
                     "faithful mode's context in grid steps of music (0: --window tokens)")
        ->capture_default_str();
    train->add_flag("--meter", o.network.meter_input,
                    "each token's metrical position (step in beat, beat in bar, from the time signatures) as an input");
    train->add_flag("--controls", o.network.control_input,
                    "each bar's note density and loudness as inputs (what /kanade/density and /kanade/energy set)");
    train->add_flag("--lookback", o.network.lookback_input,
                    "what came next one and two bars back, at each token's point of the bar, as inputs (repeats)");
    train->add_flag("--style-per-folder", o.style_per_folder,
                    "each corpus folder its own style, an input switchable live (/kanade/style)");
    train->add_option("--control-dropout", o.control_dropout, "chance a window's controls are left unsaid")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    train->add_flag("--carry-state", o.carry_state,
                    "train on whole pieces, the LSTM state carried from window to window (truncated BPTT)");
    train
        ->add_option("--segment-windows", o.segment_windows,
                     "--carry-state: the state restarts every this many windows of a piece (0: whole pieces)")
        ->capture_default_str();
    train->add_option("--stop-after-batches", o.stop_after_batches, "stop with a checkpoint after this many batches")
        ->capture_default_str();
    train->add_option("--steps-per-beat", o.grid.steps_per_beat, "grid steps per quarter note")->capture_default_str();
    train->add_option("--primers", o.primers.count, "primers kept in the model for sessions with no prompt (0: none)")
        ->capture_default_str();
    train->add_option("--primer-bars", o.primers.bars, "bars of training music in each primer")->capture_default_str();
    train->add_option("--min-count", o.min_count, "seed tokenizer: cut rarer tokens")->capture_default_str();
    train->add_option("--transpose", o.transpose, "augment: training copies moved by -N..+N semitones")
        ->capture_default_str();
    train->add_option("--epochs", o.epochs, "passes over the training windows")->capture_default_str();
    train->add_option("--batch", o.batch, "windows per batch")->capture_default_str();
    train->add_option("--lr", o.learning_rate, "Adam learning rate")->capture_default_str();
    train->add_option("--stride", o.stride, "tokens between training windows (0: half a window)")
        ->capture_default_str();
    train->add_option("--seed", o.seed, "random seed (runs are deterministic for a seed)")->capture_default_str();
    train->add_option("--device", o.device, "auto, cpu or cuda[:N]")->capture_default_str();
    train->add_flag("--mixed-precision", o.mixed_precision,
                    "on CUDA, the forward pass in bfloat16 (weights and optimiser stay float32)");
    train->add_option("--threads", o.threads, "CPU threads (0: libtorch default)")->capture_default_str();
    train->add_option("--max-minutes", o.max_minutes, "stop with a checkpoint after this long")->capture_default_str();
    train->add_option("--checkpoint-minutes", o.checkpoint_minutes, "minutes between checkpoints")
        ->capture_default_str();
    train->add_flag("--resume", o.resume, "continue from OUTPUT.ckpt if it exists");
    train->add_flag("-q,--quiet", o.quiet, "no progress bar");
    train->callback([command] { run_train(*command); });
}

}  // namespace kanade::cli
