// `kanade train`: fits a network to a corpus. Deterministic for a given seed (on the
// same device and thread count), one loss at every position of each window, the
// split by file, per-epoch validation metrics to CSV and a loss-curve SVG, and
// checkpoints written atomically every few minutes so a killed run resumes where
// it stopped.
#pragma once

#include "kanade/model/dataset.hpp"
#include "kanade/model/model_file.hpp"
#include "kanade/music/primer.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace kanade::model {

struct TrainOptions {
    std::vector<std::filesystem::path> corpus;
    std::string tokenizer = "kanade";
    NetworkConfig network;  // vocab_size is filled from the corpus
    music::GridOptions grid;
    std::size_t min_count = 1;
    int transpose = 0;  // augment training files by -N..+N semitones

    int epochs = 20;
    int batch = 64;
    double learning_rate = 1e-3;
    double clip_norm = 1.0;
    int stride = 0;  // between training windows; 0: half a window
    // Whole pieces in order, the state carried from window to window (reset at each
    // piece's start): truncated back-propagation through time over `window` tokens.
    bool carry_state = false;
    int segment_windows = 16;       // carry_state: the state restarts every this many windows of a piece (0: never)
    bool style_per_folder = false;  // each corpus input its own style (network.styles set from it)
    double control_dropout = 0.25;  // chance a window's controls are "not said" (so 0 plays freely)
    music::PrimerOptions primers;   // kept in the model for sessions with no prompt (kanade tokens; count 0: none)
    std::uint64_t seed = 1;
    std::string device = "auto";
    bool mixed_precision = false;  // on CUDA: the forward pass in bfloat16 (CudaAutocast); elsewhere float32
    int threads = 0;
    double max_minutes = 0;  // stop (with a checkpoint) after this long; 0: no limit
    double checkpoint_minutes = 5;
    std::int64_t stop_after_batches = 0;  // stop (with a checkpoint) after this many batches of this run; 0: no limit

    std::filesystem::path output;      // the model file
    std::filesystem::path checkpoint;  // default: OUTPUT.ckpt
    std::filesystem::path csv;         // default: OUTPUT.csv
    std::filesystem::path plot;        // default: OUTPUT.svg
    bool resume = false;
    bool quiet = false;        // no progress bar
    std::string command_line;  // recorded in the model's info
};

struct EpochMetrics {
    int epoch = 0;  // 1-based
    double train_loss = 0;
    double valid_loss = 0;
    double valid_accuracy = 0;
    double valid_perplexity = 0;
    double seconds = 0;            // wall time of this epoch
    double tokens_per_second = 0;  // training tokens
};

struct TrainResult {
    std::vector<EpochMetrics> history;
    bool finished = false;  // false: stopped by max_minutes, resumable
    std::string device;
    std::size_t train_tokens = 0, valid_tokens = 0;
    std::int64_t parameters = 0;
};

TrainResult train(const TrainOptions& options);

// Mean next-token loss, accuracy and perplexity over windows [N, T+1], each from a fresh state.
struct WindowMetrics {
    double loss = 0, accuracy = 0, perplexity = 0;
    std::size_t tokens = 0;
};
WindowMetrics evaluate_windows(Network& network, const Windows& windows, int batch, torch::Device device);
// The same over whole pieces, the state carried from each window to the next.
WindowMetrics evaluate_streams(Network& network, const PieceStreams& streams, torch::Device device);

}  // namespace kanade::model
