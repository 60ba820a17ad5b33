// Training examples cut from the files of one split, two ways:
//   windows  of consecutive token ids, each from a fresh state (length T+1 trains the
//            network at every one of its T positions);
//   streams  whole pieces in order, window after window, for training with the state
//            carried from one window to the next (truncated back-propagation through time).
// Both carry the tokens' conditions where the corpus has them.
#pragma once

#include "kanade/music/token_corpus.hpp"

#include <torch/torch.h>

namespace kanade::model {

// Conditions one row each: [N, C] uint8, C = music::condition_count (a copy).
torch::Tensor conditions_tensor(const std::vector<music::TokenCondition>& rows);

struct Windows {
    torch::Tensor ids;         // [N, length] int64
    torch::Tensor conditions;  // [N, length, C] uint8, or undefined (no conditions)
};

// Files shorter than `length` give no window.
Windows make_windows(const music::TokenizedCorpus& corpus, music::Split split, int length, int stride);

// One step of every lane: the next window of the piece each lane is playing.
struct StreamBatch {
    torch::Tensor inputs;      // [B, T] int64 (0 where a lane has nothing left)
    torch::Tensor targets;     // [B, T] int64, ignore_target past a piece's end
    torch::Tensor conditions;  // [B, T, C] uint8 of the inputs, or undefined
    torch::Tensor fresh;       // [B] bool: the lane starts a piece here (its state starts at zero)
    std::int64_t tokens = 0;   // targets that count
};
inline constexpr std::int64_t ignore_target = -100;

// The pieces of a split cut into segments of at most `segment_windows` windows (0: whole
// pieces, cut only where longer than a lane's fair share) and dealt to `lanes` lanes (each
// to the lane with the fewest windows so far), each lane playing its segments one after
// another in windows of `length` tokens, its state restarting at each segment. The deal follows `order` (indices of the split's files, shuffled by
// the caller per epoch), so a run can resume at any batch.
class PieceStreams {
public:
    PieceStreams(const music::TokenizedCorpus& corpus, music::Split split, int lanes, int length,
                 int segment_windows = 0);
    std::int64_t file_count() const { return static_cast<std::int64_t>(files_.size()); }
    // Deals the files in `order` (a permutation of 0..file_count-1; empty: in corpus order).
    void deal(const std::vector<std::int64_t>& order);
    std::int64_t batches() const;
    StreamBatch batch(std::int64_t index) const;
    int lanes() const { return lanes_; }

private:
    struct Window {
        std::size_t file;
        std::size_t start;
        bool fresh;  // the first window of a segment
    };
    std::vector<const music::TokenizedFile*> files_;
    int lanes_, length_, segment_windows_;
    bool conditioned_ = false;
    std::vector<std::vector<Window>> deal_;  // per lane
};

}  // namespace kanade::model
