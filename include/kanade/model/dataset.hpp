// Training examples: windows of consecutive token ids cut from the files of one split.
// A window of length T+1 trains the network at every one of its T positions.
#pragma once

#include "kanade/music/token_corpus.hpp"

#include <torch/torch.h>

namespace kanade::model {

// [N, length] int64; files shorter than `length` give no window.
torch::Tensor make_windows(const music::TokenizedCorpus& corpus, music::Split split, int length, int stride);

}  // namespace kanade::model
