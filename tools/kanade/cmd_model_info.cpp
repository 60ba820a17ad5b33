// kanade model-info: the parameters of an architecture, or what a model file holds.
#include "commands.hpp"

#include "kanade/model/model_file.hpp"

#include <cstdio>

namespace kanade::cli {
namespace {

struct InfoOptions {
    std::string file;
    std::string arch;
    int vocab = 0;
    model::NetworkConfig network;
};

void print_parameters(model::Network& network) {
    std::int64_t total = 0;
    for (const auto& parameter : model::describe_parameters(network)) {
        std::string shape;
        for (auto dim : parameter.shape) shape += (shape.empty() ? "" : " x ") + std::to_string(dim);
        std::printf("  %-22s %-14s %10lld\n", parameter.name.c_str(), shape.c_str(),
                    static_cast<long long>(parameter.count));
        total += parameter.count;
    }
    std::printf("parameters %lld\n", static_cast<long long>(total));
}

void run_info(InfoOptions& options) {
    if (!options.file.empty()) {
        auto model = model::load_model(options.file);
        const auto& c = model.config;
        std::printf("file       %s\n", options.file.c_str());
        std::printf("arch       %s (hidden %d, layers %d, embedding %d, dropout %g, window %d%s%s)\n", c.arch.c_str(),
                    c.hidden, c.layers, c.arch == "kanade" ? c.embedding : 0, c.dropout, c.window,
                    c.arch == "seed" ? ", activation " : "", c.arch == "seed" ? c.activation.c_str() : "");
        std::printf("tokenizer  %s (%d steps per beat), vocabulary %zu\n", model.tokenizer.c_str(),
                    model.grid.steps_per_beat, model.vocabulary.size());
        for (const auto& [key, value] : model.info) std::printf("info       %s: %s\n", key.c_str(), value.c_str());
        std::printf("primers    %zu (kanade primer %s lists them)\n", model.primers.size(), options.file.c_str());
        print_parameters(model.network);
        return;
    }
    if (options.arch.empty() || options.vocab <= 0)
        throw CommandError("give a model FILE, or --arch and --vocab", exit_code::usage);
    options.network.arch = options.arch;
    options.network.vocab_size = options.vocab;
    model::Network network(options.network);
    std::printf("arch %s, vocabulary %d\n", options.arch.c_str(), options.vocab);
    print_parameters(network);
}

}  // namespace

void add_model_info_command(CLI::App& app) {
    auto options = std::make_shared<InfoOptions>();
    auto* info = app.add_subcommand("model-info", "Describe a model file, or count an architecture's parameters");
    info->add_option("file", options->file, "a kanade model file");
    info->add_option("--arch", options->arch, "seed or kanade")->check(CLI::IsMember({"seed", "kanade"}));
    info->add_option("--vocab", options->vocab, "vocabulary size");
    info->add_option("--hidden", options->network.hidden, "LSTM units per layer");
    info->add_option("--embedding", options->network.embedding, "kanade: embedding size");
    info->callback([options] { run_info(*options); });
}

}  // namespace kanade::cli
