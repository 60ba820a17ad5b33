// The CPU inference path of the networks: the same arithmetic as the libtorch modules,
// laid out for one-token-at-a-time work, where dispatch overhead and cache misses, not
// arithmetic, dominate. Packed once from the weights (and again whenever they change):
//
//   - the first layer's input projection (embedding or scalar input, times W_ih, plus
//     the bias) becomes a table [V, 4H]: a token's projection is one row copy;
//   - every other input projection of a whole window is one matrix product, or one a
//     time step from stepwise_input_rows sessions up (gate_rows.hpp);
//   - every matrix of a product is packed in blocks of columns (PackedMatrix), in
//     float32, or float16 / bfloat16 where asked and the CPU can (the output layer
//     stays float32: it makes the logits); the g gate's rows are doubled so that ONE
//     vectorised sigmoid over all four gates gives tanh(g) as 2 sigmoid(2g) - 1;
//   - a call allocates its few buffers once, never per time step.
// Read-only after packing: calls from several threads are safe.
#pragma once

#include "kanade/model/gate_rows.hpp"
#include "kanade/model/packed_matrix.hpp"
#include "kanade/model/recurrence_team.hpp"
#include "kanade/music/token_conditions.hpp"

#include <torch/torch.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace kanade::model {

// The weights of a trained network, as the modules hold them (no copies made).
struct LstmWeights {
    torch::Tensor embedding;  // [V, E], or undefined: the input is id / V (seed arch)
    // [rows, E] per condition channel (music::Condition), summed into the embedding; or undefined.
    std::array<torch::Tensor, music::condition_count> condition_embeddings;
    std::int64_t vocab_size = 0;
    struct Layer {
        torch::Tensor weight_ih, weight_hh, bias;  // [4H, in], [4H, H], [4H] (gates i, f, g, o)
    };
    std::vector<Layer> layers;
    std::string between_layers = "linear";   // "relu", "tanh" or "linear" (dropout: off in inference)
    torch::Tensor dense_weight, dense_bias;  // [V, H], [V]
};

class PackedLstm {
public:
    // The precision falls back to what the CPU can do (supported_precision; see precision()).
    // threads 2: a window runs on two threads (RecurrenceTeam), each with half the
    // hidden units; 1: on the calling thread alone.
    explicit PackedLstm(const LstmWeights& weights, InferencePrecision precision = InferencePrecision::float32,
                        int threads = 1);
    InferencePrecision precision() const { return precision_; }
    int threads() const { return team_ ? 2 : 1; }

    // Logits [B, V] of the last position of each row of ids [B, T] (int64), from a
    // fresh state: the faithful mode's whole step.
    // `conditions` [B, T, C] (or [B, C] for step), undefined for none: see Network.
    torch::Tensor last_logits(const torch::Tensor& ids, const torch::Tensor& conditions = {}) const;
    // Logits [B, T, V] at every position, from a fresh state (evaluation).
    torch::Tensor all_logits(const torch::Tensor& ids, const torch::Tensor& conditions = {}) const;
    // One position with carried state: ids [B]; h, c [B, H] per layer, replaced by the
    // new state. Returns logits [B, V].
    torch::Tensor step(const torch::Tensor& ids, std::vector<torch::Tensor>& h, std::vector<torch::Tensor>& c,
                       const torch::Tensor& conditions = {}) const;

    std::int64_t hidden_size() const { return hidden_; }

private:
    struct Layer {
        PackedMatrix input;       // [in, 4H], g rows doubled (layers after the first)
        PackedMatrix recurrent;   // [H, 4H], g rows doubled
        torch::Tensor bias;       // [4H], g doubled
        SplitLayerWeights split;  // the same split for the team (threads 2)
    };
    // Runs one layer over a window from a fresh state, given its gate inputs, rows of
    // width 4H (projection and bias done), or else (gate_rows empty) its input
    // [B, T, in]; writes every hidden state into `outputs` [B, T, H] when defined.
    // Returns the last hidden state [B, H].
    torch::Tensor run_layer(const Layer& layer, GateRows gate_rows, const torch::Tensor& input,
                            torch::Tensor* outputs) const;
    torch::Tensor run_stack(const torch::Tensor& ids, const torch::Tensor& conditions,
                            torch::Tensor* last_outputs) const;
    // gates [B, 4H] (pre-activation, g doubled; overwritten) -> c and h updated in place;
    // scratch [B * H].
    void cell(torch::Tensor& gates, torch::Tensor& h, torch::Tensor& c, torch::Tensor& scratch) const;
    torch::Tensor activate(const torch::Tensor& x) const;
    // The first layer's gate inputs for ids [B, T]: the token's row of the first table,
    // read in place, or, with conditions, that row plus each condition's row, gathered
    // into `storage`. `ids` and `storage` hold what the rows point into.
    struct FirstLayerInputs {
        torch::Tensor ids, storage;
        GateRows rows;
    };
    FirstLayerInputs first_layer_inputs(const torch::Tensor& ids, const torch::Tensor& conditions) const;
    // gates [N, 4H] += each condition's projection; conditions [.., C] of N rows, or undefined.
    void add_conditions(torch::Tensor& gates, const torch::Tensor& conditions, std::int64_t rows) const;
    torch::Tensor dense(const torch::Tensor& x) const;  // [N, H] -> [N, V]

    std::int64_t vocab_ = 0, hidden_ = 0;
    InferencePrecision precision_ = InferencePrecision::float32;
    torch::Tensor first_table_;  // [V, 4H]: projection + bias of each token into layer 1
    std::array<torch::Tensor, music::condition_count> condition_tables_;  // [rows, 4H] projections, or undefined
    std::vector<Layer> layers_;
    std::string between_layers_;
    PackedMatrix dense_;                    // [H, V]
    torch::Tensor dense_bias_;              // [V]
    std::unique_ptr<RecurrenceTeam> team_;  // threads 2 only
};

}  // namespace kanade::model
