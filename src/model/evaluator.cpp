#include "kanade/model/evaluator.hpp"

#include "kanade/model/dataset.hpp"
#include "kanade/music/token_corpus.hpp"
#include "kanade/music/token_table.hpp"

#include <cmath>
#include <map>
#include <stdexcept>

namespace kanade::model {
namespace {

struct Totals {
    double nll = 0, correct = 0;
    std::size_t tokens = 0;
    std::vector<double> nll_by_token;

    void add(const torch::Tensor& logits, const torch::Tensor& targets) {
        auto log_probabilities = torch::log_softmax(logits.to(torch::kFloat32), -1);
        auto picked = log_probabilities.gather(-1, targets.unsqueeze(-1)).squeeze(-1).to(torch::kCPU, torch::kFloat64);
        auto ids = targets.to(torch::kCPU).contiguous();
        auto id_of = ids.accessor<std::int64_t, 1>();
        auto log_probability = picked.accessor<double, 1>();
        for (std::int64_t i = 0; i < ids.numel(); ++i)
            nll_by_token.at(static_cast<std::size_t>(id_of[i])) -= log_probability[i];
        nll -= picked.sum().item<double>();
        correct += logits.argmax(-1).eq(targets).sum().item<double>();
        tokens += static_cast<std::size_t>(targets.numel());
    }
};

// Faithful with a window counted in music (window_steps), as kanaded keeps it: each token
// is predicted from the tokens of the last window_steps grid steps before it. Windows of
// one length go through the network together.
void add_step_windows(Model& model, const music::TokenTable& table, const std::vector<int>& file_ids,
                      const torch::Tensor& ids, const torch::Tensor& conditions, std::int64_t batch,
                      torch::Device device, Totals& totals) {
    const auto steps = music::token_steps(file_ids, table, model.grid.steps_per_beat);
    const auto n = static_cast<std::int64_t>(file_ids.size());
    std::map<std::int64_t, std::vector<std::int64_t>> by_length;  // window length -> tokens predicted
    std::int64_t first = 0;
    for (std::int64_t t = 1; t < n; ++t) {
        // The window after token t-1 was played: the tokens on the steps since then minus window_steps.
        while (steps[static_cast<std::size_t>(first)] <=
               steps[static_cast<std::size_t>(t - 1)] - model.config.window_steps)
            ++first;
        by_length[t - first].push_back(t);
    }
    for (const auto& [length, targets] : by_length)
        for (std::size_t from = 0; from < targets.size(); from += static_cast<std::size_t>(batch)) {
            const auto to = std::min(targets.size(), from + static_cast<std::size_t>(batch));
            std::vector<torch::Tensor> rows, condition_rows;
            std::vector<std::int64_t> next;
            for (auto i = from; i < to; ++i) {
                const auto t = targets[i];
                rows.push_back(ids.slice(0, t - length, t));
                if (conditions.defined()) condition_rows.push_back(conditions.slice(0, t - length, t));
                next.push_back(file_ids[static_cast<std::size_t>(t)]);
            }
            auto logits = model.network->forward_last(
                torch::stack(rows).to(device),
                conditions.defined() ? torch::stack(condition_rows).to(device) : torch::Tensor());
            totals.add(logits, torch::tensor(next, torch::kInt64).to(device));
        }
}

}  // namespace

std::string resolved_mode(const Model& model, const EvalOptions& options) {
    if (options.mode != "auto") return options.mode;
    return model.info.count("carried_state") ? "streaming" : "faithful";
}

EvalResult evaluate(Model& model, const std::vector<std::filesystem::path>& files, torch::Device device,
                    const EvalOptions& options) {
    const auto mode = resolved_mode(model, options);
    if (mode != "faithful" && mode != "streaming")
        throw std::invalid_argument("eval: mode must be faithful, streaming or auto, not '" + mode + "'");
    auto tokenizer = music::make_tokenizer(model.tokenizer, model.grid);
    auto corpus = music::load_corpus(files);
    if (!corpus.errors.empty()) throw std::runtime_error(corpus.errors.front());
    music::TokenizeOptions tokenize;
    tokenize.vocabulary = model.vocabulary;
    tokenize.style_per_folder = false;  // the file's style is not said
    auto tokens = music::tokenize_corpus(corpus, *tokenizer, tokenize);

    torch::NoGradGuard no_grad;
    model.network->eval();
    model.network->to(device);
    const std::int64_t window = model.config.window;
    const music::TokenTable table(model.vocabulary, model.tokenizer);  // the steps of a window_steps window
    Totals totals;
    totals.nll_by_token.assign(model.vocabulary.size(), 0.0);
    EvalResult result;
    double note_events = 0, seconds = 0;
    for (const auto& file : tokens.files) {
        ++result.files;
        note_events += static_cast<double>(file.note_events);
        seconds += file.seconds;
        const auto n = static_cast<std::int64_t>(file.ids.size());
        if (n < 2) continue;
        auto ids = torch::tensor(std::vector<std::int64_t>(file.ids.begin(), file.ids.end()), torch::kInt64);
        torch::Tensor conditions;  // [n, C]
        if (model.config.conditioned() && file.conditions.size() == file.ids.size()) {
            auto said = file.conditions;
            if (!options.measured_controls)
                for (auto& condition : said)
                    for (auto c : {music::Condition::density, music::Condition::loudness, music::Condition::style})
                        condition[static_cast<std::size_t>(c)] = 0;
            conditions = conditions_tensor(said);
        }
        auto slice = [&](const torch::Tensor& t, std::int64_t from, std::int64_t to) {
            return t.defined() ? t.slice(0, from, to) : t;
        };
        auto batched = [&](const torch::Tensor& t) { return t.defined() ? t.unsqueeze(0).to(device) : t; };
        if (mode == "streaming") {
            // One run from a fresh state over the whole piece: every token's context is all before it.
            auto logits = model.network->forward(batched(ids.slice(0, 0, n - 1)), batched(slice(conditions, 0, n - 1)));
            totals.add(logits.squeeze(0), ids.slice(0, 1, n).to(device));
            continue;
        }
        if (model.config.window_steps > 0) {
            add_step_windows(model, table, file.ids, ids, conditions, options.batch, device, totals);
            continue;
        }
        // Faithful, a window of `window` tokens: the first `window` tokens in one causal run
        // from a fresh state, which gives each of them its whole (shorter) context.
        auto head_end = std::min(n, window);
        auto head_logits =
            model.network->forward(batched(ids.slice(0, 0, head_end)), batched(slice(conditions, 0, head_end)))
                .squeeze(0);
        totals.add(head_logits.slice(0, 0, head_end - 1), ids.slice(0, 1, head_end).to(device));
        // Every later token: its own window of the `window` tokens before it.
        for (std::int64_t start = window; start < n; start += options.batch) {
            std::int64_t end = std::min(n, start + options.batch);
            std::vector<torch::Tensor> rows, condition_rows;
            for (std::int64_t t = start; t < end; ++t) {
                rows.push_back(ids.slice(0, t - window, t));
                if (conditions.defined()) condition_rows.push_back(conditions.slice(0, t - window, t));
            }
            auto logits = model.network->forward_last(
                torch::stack(rows).to(device),
                conditions.defined() ? torch::stack(condition_rows).to(device) : torch::Tensor());
            totals.add(logits, ids.slice(0, start, end).to(device));
        }
    }
    result.skipped_tokens = tokens.skipped_tokens;
    result.tokens = totals.tokens;
    if (totals.tokens == 0) throw std::runtime_error("eval: the files hold fewer than two known tokens");
    result.nll = totals.nll / static_cast<double>(totals.tokens);
    result.accuracy = totals.correct / static_cast<double>(totals.tokens);
    result.perplexity = std::exp(result.nll);
    result.nll_per_note = note_events > 0 ? totals.nll / note_events : NAN;
    result.nll_per_second = seconds > 0 ? totals.nll / seconds : NAN;
    result.nll_by_token = std::move(totals.nll_by_token);
    result.note_events = note_events;
    result.seconds = seconds;
    return result;
}

std::map<std::string, double> nll_per_note_by_kind(const EvalResult& result, const music::Vocabulary& vocabulary,
                                                   std::string_view tokenizer) {
    const double note_events = result.note_events;
    const music::TokenTable tokens(vocabulary, tokenizer);
    std::map<std::string, double> by_kind;
    for (std::size_t id = 0; id < result.nll_by_token.size() && id < vocabulary.size(); ++id)
        by_kind[std::string(music::token_kind_name(tokens[static_cast<int>(id)].kind))] +=
            note_events > 0 ? result.nll_by_token[id] / note_events : NAN;
    return by_kind;
}

}  // namespace kanade::model
