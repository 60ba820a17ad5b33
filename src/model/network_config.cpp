#include "kanade/model/network_config.hpp"

#include <stdexcept>

namespace kanade::model {

void NetworkConfig::validate() const {
    auto fail = [](const std::string& what) { throw std::invalid_argument("network: " + what); };
    if (arch != "seed" && arch != "kanade") fail("unknown architecture '" + arch + "' (expected seed or kanade)");
    if (vocab_size < 2 || vocab_size > 100000) fail("vocab_size must be 2..100000, not " + std::to_string(vocab_size));
    if (hidden < 1 || hidden > 8192) fail("hidden must be 1..8192, not " + std::to_string(hidden));
    if (layers < 1 || layers > 8) fail("layers must be 1..8, not " + std::to_string(layers));
    if (arch == "seed" && layers != 2) fail("the seed architecture has exactly 2 layers");
    if (arch == "kanade" && (embedding < 1 || embedding > 8192))
        fail("embedding must be 1..8192, not " + std::to_string(embedding));
    if (!(dropout >= 0 && dropout < 1)) fail("dropout must be in [0, 1)");
    if (activation != "relu" && activation != "tanh" && activation != "linear")
        fail("activation must be relu, tanh or linear, not '" + activation + "'");
    if (window < 1 || window > 4096) fail("window must be 1..4096, not " + std::to_string(window));
    if (arch != "kanade" && conditioned()) fail("only the kanade architecture takes positions, controls or styles");
    if (lookback_input && vocab_size > music::max_lookback_tokens)
        fail("a lookback input needs a vocabulary of at most " + std::to_string(music::max_lookback_tokens) +
             " tokens, not " + std::to_string(vocab_size));
    if (styles < 0 || styles > music::max_styles)
        fail("styles must be 0.." + std::to_string(music::max_styles) + ", not " + std::to_string(styles));
    if (window_steps < 0 || window_steps > 4096)
        fail("window_steps must be 0..4096, not " + std::to_string(window_steps));
}

std::array<int, music::condition_count> condition_rows(const NetworkConfig& config) {
    auto rows = music::condition_table_sizes(config.styles, config.vocab_size);
    auto channel = [&](music::Condition c) -> int& { return rows[static_cast<std::size_t>(c)]; };
    if (!config.meter_input) channel(music::Condition::step_in_beat) = channel(music::Condition::beat_in_bar) = 0;
    if (!config.control_input) channel(music::Condition::density) = channel(music::Condition::loudness) = 0;
    if (config.styles == 0) channel(music::Condition::style) = 0;
    if (!config.lookback_input)
        channel(music::Condition::lookback_bar) = channel(music::Condition::lookback_two_bars) = 0;
    return rows;
}

std::int64_t parameter_count(const NetworkConfig& config) {
    config.validate();
    const std::int64_t hidden = config.hidden, vocab = config.vocab_size;
    std::int64_t input = 1, count = 0;
    if (config.arch == "kanade") {
        count += vocab * config.embedding;
        input = config.embedding;
        for (int rows : condition_rows(config)) count += static_cast<std::int64_t>(rows) * config.embedding;
    }
    for (int layer = 0; layer < config.layers; ++layer) {
        count += 4 * hidden * (input + hidden) + 4 * hidden;  // Keras layout: one bias
        input = hidden;
    }
    return count + hidden * vocab + vocab;  // the dense layer
}

}  // namespace kanade::model
