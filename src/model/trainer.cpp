#include "kanade/model/trainer.hpp"

#include "kanade/model/cuda_autocast.hpp"
#include "kanade/model/dataset.hpp"
#include "kanade/model/device.hpp"
#include "kanade/model/loss_plot.hpp"
#include "kanade/music/token_corpus.hpp"
#include "kanade/util/atomic_file.hpp"
#include "kanade/util/progress.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <optional>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace kanade::model {
namespace {

using Clock = std::chrono::steady_clock;

double minutes_since(Clock::time_point start) {
    return std::chrono::duration<double, std::ratio<60>>(Clock::now() - start).count();
}

// What must match for a checkpoint to continue this run.
std::string run_identity(const Model& model) {
    std::ostringstream text;
    text << model.config.arch << ' ' << model.config.vocab_size << ' ' << model.config.hidden << ' '
         << model.config.embedding << ' ' << model.config.layers << ' ' << model.config.window << ' ' << model.tokenizer
         << ' ' << model.grid.steps_per_beat << ' ' << model.config.meter_input << model.config.control_input
         << model.config.lookback_input << ' ' << model.config.styles << ' ' << model.info.count("carried_state");
    for (const auto& token : model.vocabulary.tokens()) text << ' ' << token;
    return text.str();
}

struct Progress {
    int epoch = 0;  // 0-based epoch in progress
    std::int64_t next_batch = 0;
    double loss_sum = 0;  // over the epoch's batches so far
    std::int64_t loss_batches = 0;
    double best_valid_loss = INFINITY;
    std::vector<EpochMetrics> history;
    RecurrentState carried;  // carry_state: every lane's state after the last batch
};

torch::Tensor history_tensor(const std::vector<EpochMetrics>& history) {
    auto tensor = torch::zeros({static_cast<std::int64_t>(history.size()), 7}, torch::kFloat64);
    for (std::size_t i = 0; i < history.size(); ++i) {
        const auto& m = history[i];
        double row[7] = {double(m.epoch),    m.train_loss, m.valid_loss,       m.valid_accuracy,
                         m.valid_perplexity, m.seconds,    m.tokens_per_second};
        for (int j = 0; j < 7; ++j) tensor[static_cast<std::int64_t>(i)][j] = row[j];
    }
    return tensor;
}

std::vector<EpochMetrics> history_from(const torch::Tensor& tensor) {
    std::vector<EpochMetrics> history;
    auto rows = tensor.accessor<double, 2>();
    for (std::int64_t i = 0; i < tensor.size(0); ++i) {
        history.push_back(
            {static_cast<int>(rows[i][0]), rows[i][1], rows[i][2], rows[i][3], rows[i][4], rows[i][5], rows[i][6]});
    }
    return history;
}

void save_checkpoint(const std::filesystem::path& path, const Model& model, torch::optim::Adam& optimizer,
                     const Progress& progress) {
    torch::serialize::OutputArchive archive;
    archive.write("identity", c10::IValue(run_identity(model)));
    torch::serialize::OutputArchive network_archive, optimizer_archive;
    model.network->save(network_archive);
    optimizer.save(optimizer_archive);
    archive.write("network", network_archive);
    archive.write("optimizer", optimizer_archive);
    archive.write("epoch", torch::tensor(static_cast<std::int64_t>(progress.epoch)));
    archive.write("next_batch", torch::tensor(progress.next_batch));
    archive.write("loss_sum", torch::tensor(progress.loss_sum, torch::kFloat64));
    archive.write("loss_batches", torch::tensor(progress.loss_batches));
    archive.write("best_valid_loss", torch::tensor(progress.best_valid_loss, torch::kFloat64));
    archive.write("history", history_tensor(progress.history));
    for (std::size_t layer = 0; layer < progress.carried.h.size(); ++layer) {
        archive.write("carried_h" + std::to_string(layer), progress.carried.h[layer].detach());
        archive.write("carried_c" + std::to_string(layer), progress.carried.c[layer].detach());
    }
    {
        auto generator = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(generator.mutex());
        archive.write("cpu_rng", generator.get_state());
    }
    std::ostringstream bytes;
    archive.save_to(bytes);
    util::write_file_atomically(path, bytes.str());
}

bool load_checkpoint(const std::filesystem::path& path, Model& model, torch::optim::Adam& optimizer, Progress& progress,
                     torch::Device device) {
    if (!std::filesystem::exists(path)) return false;
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path.string(), device);
    } catch (const c10::Error& error) {
        throw std::runtime_error(path.string() + ": not a readable checkpoint (" + error.what_without_backtrace() +
                                 ")");
    }
    c10::IValue identity;
    archive.read("identity", identity);
    if (identity.toStringRef() != run_identity(model))
        throw std::runtime_error(path.string() +
                                 ": checkpoint is of a different network, tokenizer or vocabulary; "
                                 "remove it or train without --resume");
    torch::serialize::InputArchive network_archive, optimizer_archive;
    archive.read("network", network_archive);
    archive.read("optimizer", optimizer_archive);
    model.network->load(network_archive);
    optimizer.load(optimizer_archive);
    torch::Tensor epoch, next_batch, loss_sum, loss_batches, best, history, rng;
    archive.read("epoch", epoch);
    archive.read("next_batch", next_batch);
    archive.read("loss_sum", loss_sum);
    archive.read("loss_batches", loss_batches);
    archive.read("best_valid_loss", best);
    archive.read("history", history);
    archive.read("cpu_rng", rng);
    progress.epoch = static_cast<int>(epoch.item<std::int64_t>());
    progress.next_batch = next_batch.item<std::int64_t>();
    progress.loss_sum = loss_sum.item<double>();
    progress.loss_batches = loss_batches.item<std::int64_t>();
    progress.best_valid_loss = best.item<double>();
    progress.history = history_from(history.to(torch::kCPU));
    for (std::size_t layer = 0; layer < progress.carried.h.size(); ++layer) {
        archive.read("carried_h" + std::to_string(layer), progress.carried.h[layer]);
        archive.read("carried_c" + std::to_string(layer), progress.carried.c[layer]);
    }
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng.to(torch::kCPU));
    return true;
}

void write_csv(const std::filesystem::path& path, const std::vector<EpochMetrics>& history) {
    std::ostringstream csv;
    csv << "epoch,train_loss,valid_loss,valid_accuracy,valid_perplexity,seconds,tokens_per_second\n";
    for (const auto& m : history) {
        char line[256];
        std::snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.4f,%.2f,%.1f\n", m.epoch, m.train_loss, m.valid_loss,
                      m.valid_accuracy, m.valid_perplexity, m.seconds, m.tokens_per_second);
        csv << line;
    }
    util::write_file_atomically(path, csv.str());
}

// The folder names of the corpus inputs, comma-separated: style 1, 2 ... of the model.
std::string style_names(const std::vector<std::filesystem::path>& inputs) {
    std::string names;
    for (const auto& input : inputs) {
        auto name = input.lexically_normal().filename().string();
        if (name.empty()) name = input.lexically_normal().parent_path().filename().string();
        names += (names.empty() ? "" : ",") + name;
    }
    return names;
}

// The median value of a control over the training tokens: what "as the corpus plays" means.
int typical_condition(const music::TokenizedCorpus& tokens, music::Condition condition) {
    std::vector<std::size_t> counts(256, 0);
    std::size_t total = 0;
    for (const auto& file : tokens.files)
        if (file.split == music::Split::train)
            for (const auto& c : file.conditions)
                if (auto value = c[static_cast<std::size_t>(condition)]) ++counts[value], ++total;
    std::size_t seen = 0;
    for (std::size_t value = 1; value < counts.size(); ++value)
        if ((seen += counts[value]) * 2 >= total && total > 0) return static_cast<int>(value);
    return 0;
}

// Each window's density, loudness and style are "not said" (0) with probability p, each
// on its own: the network learns to play with any of them unset, as the daemon starts.
torch::Tensor drop_controls(const torch::Tensor& conditions, double p) {
    if (p <= 0) return conditions;
    auto kept = conditions.clone();
    for (auto channel : {music::Condition::density, music::Condition::loudness, music::Condition::style}) {
        auto column = kept.select(-1, static_cast<std::int64_t>(channel));
        auto dropped = torch::rand({kept.size(0), 1}).lt(p).to(kept.device());
        column.masked_fill_(dropped.expand_as(column), 0);
    }
    return kept;
}

std::filesystem::path with_suffix(const std::filesystem::path& path, const std::string& suffix) {
    return path.string() + suffix;
}

}  // namespace

namespace {

struct MetricTotals {
    double loss_sum = 0, correct = 0;
    std::int64_t tokens = 0;

    void add(const torch::Tensor& logits, const torch::Tensor& targets) {
        auto flat_logits = logits.reshape({-1, logits.size(-1)});
        auto flat_targets = targets.reshape({-1});
        loss_sum +=
            torch::nn::functional::cross_entropy(
                flat_logits, flat_targets,
                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum).ignore_index(ignore_target))
                .item<double>();
        auto counted = flat_targets.ne(ignore_target);
        correct += flat_logits.argmax(-1).eq(flat_targets).logical_and(counted).sum().item<double>();
        tokens += counted.sum().item<std::int64_t>();
    }
    WindowMetrics metrics() const {
        WindowMetrics metrics;
        metrics.tokens = static_cast<std::size_t>(tokens);
        if (tokens == 0) return metrics;
        metrics.loss = loss_sum / static_cast<double>(tokens);
        metrics.accuracy = correct / static_cast<double>(tokens);
        metrics.perplexity = std::exp(metrics.loss);
        return metrics;
    }
};

// Lanes that start a piece start from zero; every lane's state is cut from the graph.
void restart_fresh_lanes(RecurrentState& state, const torch::Tensor& fresh) {
    auto keep = fresh.logical_not().to(state.h.front().options()).unsqueeze(1);
    for (std::size_t layer = 0; layer < state.h.size(); ++layer) {
        state.h[layer] = state.h[layer].detach() * keep;
        state.c[layer] = state.c[layer].detach() * keep;
    }
}

}  // namespace

WindowMetrics evaluate_windows(Network& network, const Windows& windows, int batch, torch::Device device) {
    if (windows.ids.size(0) == 0) return {};
    torch::NoGradGuard no_grad;
    bool was_training = network->is_training();
    network->eval();
    MetricTotals totals;
    const auto count = windows.ids.size(0), length = windows.ids.size(1);
    for (std::int64_t start = 0; start < count; start += batch) {
        const auto end = std::min<std::int64_t>(start + batch, count);
        auto chunk = windows.ids.slice(0, start, end).to(device);
        auto conditions = windows.conditions.defined()
                              ? windows.conditions.slice(0, start, end).slice(1, 0, length - 1).to(device)
                              : torch::Tensor();
        auto logits = network->forward(chunk.slice(1, 0, length - 1), conditions);
        totals.add(logits, chunk.slice(1, 1, length));
    }
    network->train(was_training);
    return totals.metrics();
}

WindowMetrics evaluate_streams(Network& network, const PieceStreams& streams, torch::Device device) {
    torch::NoGradGuard no_grad;
    bool was_training = network->is_training();
    network->eval();
    MetricTotals totals;
    auto state = network->initial_state(streams.lanes());
    for (std::int64_t index = 0; index < streams.batches(); ++index) {
        auto batch = streams.batch(index);
        restart_fresh_lanes(state, batch.fresh.to(device));
        auto logits = network->forward_carried(batch.inputs.to(device), to_device(batch.conditions, device), state);
        totals.add(logits, batch.targets.to(device));
    }
    network->train(was_training);
    return totals.metrics();
}

TrainResult train(const TrainOptions& options) {
    auto run_start = Clock::now();
    if (options.output.empty()) throw std::invalid_argument("train: no output model file given");
    auto checkpoint_path = options.checkpoint.empty() ? with_suffix(options.output, ".ckpt") : options.checkpoint;
    auto csv_path = options.csv.empty() ? with_suffix(options.output, ".csv") : options.csv;
    auto plot_path = options.plot.empty() ? with_suffix(options.output, ".svg") : options.plot;

    auto choice = choose_device(options.device);
    if (!options.quiet) std::cerr << "kanade train: " << choice.reason << "\n";
    const bool mixed_precision = options.mixed_precision && choice.device.is_cuda();
    if (options.mixed_precision && !mixed_precision && !options.quiet)
        std::cerr << "kanade train: mixed precision is for CUDA; training in float32 on " << choice.device.str()
                  << "\n";
    set_cpu_threads(options.threads);
    torch::manual_seed(options.seed);

    auto tokenizer = music::make_tokenizer(options.tokenizer, options.grid);
    auto corpus = music::load_corpus(options.corpus);
    for (const auto& error : corpus.errors) std::cerr << "kanade train: skipped: " << error << "\n";
    if (corpus.files.empty()) throw std::runtime_error("train: no readable MIDI files in the corpus");
    music::TokenizeOptions tokenize;
    tokenize.min_count = options.min_count;
    tokenize.transpose = options.transpose;
    tokenize.style_per_folder = options.style_per_folder;
    auto tokens = music::tokenize_corpus(corpus, *tokenizer, tokenize);

    Model model;
    model.config = options.network;
    if (options.style_per_folder) {
        model.config.styles = static_cast<int>(options.corpus.size());
        model.info["styles"] = style_names(options.corpus);
    }
    if (model.config.conditioned() && tokens.files.front().conditions.empty())
        throw std::invalid_argument("train: the " + options.tokenizer +
                                    " tokenizer keeps no grid, so it takes no positions, controls or styles");
    if (options.carry_state) model.info["carried_state"] = std::to_string(options.segment_windows);
    if (model.config.control_input) {
        model.info["typical_density_bin"] = std::to_string(typical_condition(tokens, music::Condition::density));
        model.info["typical_loudness_bin"] = std::to_string(typical_condition(tokens, music::Condition::loudness));
    }
    model.config.vocab_size = static_cast<int>(tokens.vocabulary.size());
    model.tokenizer = options.tokenizer;
    model.grid = options.grid;
    model.vocabulary = tokens.vocabulary;
    if (options.tokenizer == "kanade") {
        auto primer_options = options.primers;
        primer_options.steps_per_beat = options.grid.steps_per_beat;
        model.primers = music::choose_primers(corpus, model.vocabulary, primer_options);
    }
    model.network = Network(model.config);
    model.network->to(choice.device);

    const int length = model.config.window + 1;
    const int stride = options.stride > 0 ? options.stride : std::max(1, model.config.window / 2);
    Windows train_windows, valid_windows;
    std::optional<PieceStreams> train_streams, valid_streams;
    if (options.carry_state) {
        train_streams.emplace(tokens, music::Split::train, options.batch, model.config.window, options.segment_windows);
        valid_streams.emplace(tokens, music::Split::valid, options.batch, model.config.window);
        if (train_streams->file_count() == 0) throw std::runtime_error("train: no training file has two tokens");
    } else {
        train_windows = make_windows(tokens, music::Split::train, length, stride);
        valid_windows = make_windows(tokens, music::Split::valid, length, model.config.window);
        if (train_windows.ids.size(0) == 0)
            throw std::runtime_error("train: no training file has " + std::to_string(length) + " tokens or more");
    }

    TrainResult result;
    result.device = choice.device.str();
    result.train_tokens = tokens.token_count(music::Split::train);
    result.valid_tokens = tokens.token_count(music::Split::valid);
    result.parameters = model.network->parameter_count();

    torch::optim::Adam optimizer(model.network->parameters(), torch::optim::AdamOptions(options.learning_rate));
    Progress progress;
    if (options.carry_state) progress.carried = model.network->initial_state(options.batch);
    if (options.resume && load_checkpoint(checkpoint_path, model, optimizer, progress, choice.device) && !options.quiet)
        std::cerr << "kanade train: resumed from " << checkpoint_path << " at epoch " << progress.epoch + 1
                  << ", batch " << progress.next_batch << "\n";

    const std::int64_t windows = options.carry_state ? train_streams->file_count() : train_windows.ids.size(0);
    auto last_checkpoint = Clock::now();
    std::int64_t batches_this_run = 0;

    for (; progress.epoch < options.epochs; ++progress.epoch) {
        auto epoch_start = Clock::now();
        std::int64_t epoch_tokens = 0;
        // The order of an epoch depends only on the seed and the epoch, so a resumed
        // run replays exactly the batches a killed one would have.
        auto generator =
            at::detail::createCPUGenerator(options.seed * 1000003ull + static_cast<std::uint64_t>(progress.epoch));
        auto order = torch::randperm(windows, generator, torch::kInt64);
        if (options.carry_state)
            train_streams->deal(std::vector<std::int64_t>(order.data_ptr<std::int64_t>(),
                                                          order.data_ptr<std::int64_t>() + order.numel()));
        const std::int64_t batches =
            options.carry_state ? train_streams->batches() : (windows + options.batch - 1) / options.batch;
        model.network->train();
        util::ProgressBar bar("epoch " + std::to_string(progress.epoch + 1) + "/" + std::to_string(options.epochs),
                              static_cast<std::size_t>(batches));
        for (; progress.next_batch < batches; ++progress.next_batch) {
            torch::Tensor inputs, targets, conditions, logits;
            if (options.carry_state) {
                auto batch = train_streams->batch(progress.next_batch);
                if (batch.tokens == 0) continue;
                inputs = batch.inputs.to(choice.device);
                targets = batch.targets.to(choice.device);
                conditions = to_device(batch.conditions, choice.device);
                restart_fresh_lanes(progress.carried, batch.fresh.to(choice.device));
            } else {
                auto indices = order.slice(0, progress.next_batch * options.batch,
                                           std::min(windows, (progress.next_batch + 1) * options.batch));
                auto chunk = train_windows.ids.index_select(0, indices).to(choice.device);
                inputs = chunk.slice(1, 0, length - 1);
                targets = chunk.slice(1, 1, length);
                if (train_windows.conditions.defined())
                    conditions =
                        train_windows.conditions.index_select(0, indices).slice(1, 0, length - 1).to(choice.device);
            }
            if (conditions.defined()) conditions = drop_controls(conditions, options.control_dropout);
            torch::Tensor loss;
            {
                CudaAutocast autocast(mixed_precision);  // backward runs outside, as autocast wants
                logits = options.carry_state ? model.network->forward_carried(inputs, conditions, progress.carried)
                                             : model.network->forward(inputs, conditions);
                loss = torch::nn::functional::cross_entropy(
                    logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32), targets.reshape({-1}),
                    torch::nn::functional::CrossEntropyFuncOptions().ignore_index(ignore_target));
            }
            optimizer.zero_grad();
            loss.backward();
            torch::nn::utils::clip_grad_norm_(model.network->parameters(), options.clip_norm);
            optimizer.step();
            ++batches_this_run;

            progress.loss_sum += loss.item<double>();
            ++progress.loss_batches;
            epoch_tokens += targets.ne(ignore_target).sum().item<std::int64_t>();
            if (!options.quiet) {
                double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
                char detail[96];
                std::snprintf(detail, sizeof detail, "loss %.4f  %.0f tok/s", progress.loss_sum / progress.loss_batches,
                              epoch_tokens / std::max(seconds, 1e-9));
                bar.update(static_cast<std::size_t>(progress.next_batch + 1), detail);
            }
            bool out_of_time = (options.max_minutes > 0 && minutes_since(run_start) >= options.max_minutes) ||
                               (options.stop_after_batches > 0 && batches_this_run >= options.stop_after_batches);
            if (out_of_time || minutes_since(last_checkpoint) >= options.checkpoint_minutes) {
                ++progress.next_batch;  // this batch is done
                save_checkpoint(checkpoint_path, model, optimizer, progress);
                --progress.next_batch;
                last_checkpoint = Clock::now();
            }
            if (out_of_time) {
                if (!options.quiet) std::cerr << "\nkanade train: time limit reached; resume with --resume\n";
                result.history = progress.history;
                return result;
            }
        }

        double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
        auto valid = options.carry_state
                         ? evaluate_streams(model.network, *valid_streams, choice.device)
                         : evaluate_windows(model.network, valid_windows, options.batch * 4, choice.device);
        EpochMetrics metrics;
        metrics.epoch = progress.epoch + 1;
        metrics.train_loss = progress.loss_sum / std::max<std::int64_t>(progress.loss_batches, 1);
        metrics.valid_loss = valid.tokens ? valid.loss : NAN;
        metrics.valid_accuracy = valid.tokens ? valid.accuracy : NAN;
        metrics.valid_perplexity = valid.tokens ? valid.perplexity : NAN;
        metrics.seconds = seconds;
        metrics.tokens_per_second = static_cast<double>(epoch_tokens) / std::max(seconds, 1e-9);
        progress.history.push_back(metrics);
        if (!options.quiet) {
            char detail[160];
            std::snprintf(detail, sizeof detail, "train %.4f  valid %.4f  acc %.3f  ppl %.2f", metrics.train_loss,
                          metrics.valid_loss, metrics.valid_accuracy, metrics.valid_perplexity);
            bar.finish(detail);
        }

        // The model file keeps the epoch with the best validation loss (the latest
        // when there is no validation data).
        bool best = !(metrics.valid_loss >= progress.best_valid_loss);
        if (best) {
            progress.best_valid_loss = std::isnan(metrics.valid_loss) ? progress.best_valid_loss : metrics.valid_loss;
            model.info["epoch"] = std::to_string(metrics.epoch);
            char text[64];
            std::snprintf(text, sizeof text, "%.4f", metrics.valid_loss);
            model.info["valid_loss"] = text;
            std::snprintf(text, sizeof text, "%.4f", metrics.valid_accuracy);
            model.info["valid_accuracy"] = text;
            std::snprintf(text, sizeof text, "%.3f", metrics.valid_perplexity);
            model.info["valid_perplexity"] = text;
            model.info["train_tokens"] = std::to_string(result.train_tokens);
            model.info["valid_tokens"] = std::to_string(result.valid_tokens);
            model.info["corpus_files"] = std::to_string(corpus.files.size());
            model.info["seed"] = std::to_string(options.seed);
            model.info["device"] = result.device;
            if (!options.command_line.empty()) model.info["command"] = options.command_line;
            model.network->eval();
            save_model(model, options.output);
        }
        write_csv(csv_path, progress.history);
        write_loss_plot(plot_path, progress.history);
        progress.next_batch = 0;
        progress.loss_sum = 0;
        progress.loss_batches = 0;
        Progress next = progress;
        ++next.epoch;
        save_checkpoint(checkpoint_path, model, optimizer, next);
        last_checkpoint = Clock::now();
    }
    result.history = progress.history;
    result.finished = true;
    return result;
}

}  // namespace kanade::model
