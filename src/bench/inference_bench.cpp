#include "kanade/bench/inference_bench.hpp"

#include "kanade/model/cuda_autocast.hpp"
#include "kanade/model/cuda_graph_step.hpp"

#include <chrono>
#include <memory>

namespace kanade::bench {
namespace {

using Clock = std::chrono::steady_clock;

double elapsed_ms(Clock::time_point since) {
    return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

}  // namespace

Latency measure_inference(model::Model& model, const InferenceCase& inference_case) {
    torch::NoGradGuard no_grad;
    const torch::Device device(inference_case.device);
    auto& network = model.network;
    network->eval();
    network->to(device);
    network->set_packed_inference(inference_case.packed);
    network->set_inference_precision(inference_case.precision);
    network->set_inference_threads(inference_case.threads);
    // Put back as found (the precision stays as set, so the caller can read what really
    // ran: a precision the CPU cannot do falls back, see supported_precision), also when
    // a row fails.
    struct Restore {
        model::Network& network;
        ~Restore() {
            network->set_packed_inference(true);
            network->set_inference_threads(1);
            try {
                network->to(torch::kCPU);
            } catch (const std::exception&) {  // a lost GPU: the model is not used again
            }
        }
    } restore{network};
    const std::int64_t vocab = model.config.vocab_size, batch = inference_case.batch;
    const std::int64_t window = model.config.window;
    const int warm_up = 5;
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(inference_case.steps));
    const auto row_started = Clock::now();
    auto enough = [&] {
        return inference_case.max_seconds > 0 && samples.size() >= 100 &&
               elapsed_ms(row_started) > inference_case.max_seconds * 1000.0;
    };

    if (inference_case.mode == engine::InferenceMode::faithful) {
        std::unique_ptr<model::CudaGraphStep> graph;
        if (inference_case.cuda_graph) graph = std::make_unique<model::CudaGraphStep>(network, batch, window);
        auto ids = torch::randint(0, vocab, {batch, window}, torch::kInt64);
        for (int step = 0; step < warm_up + inference_case.steps && !enough(); ++step) {
            auto started = Clock::now();
            // Logits back on the CPU, as the sampler needs them: this also waits for a GPU.
            auto logits = graph ? graph->last_logits(ids) : network->forward_last(ids.to(device)).to(torch::kCPU);
            if (step >= warm_up) samples.push_back(elapsed_ms(started));
            // The window moves on by the "sampled" token, as in the daemon.
            ids = torch::cat({ids.slice(1, 1), logits.argmax(1, true)}, 1);
        }
    } else {
        auto state = network->initial_state(batch);
        auto ids = torch::randint(0, vocab, {batch}, torch::kInt64);
        for (int step = 0; step < warm_up + inference_case.steps && !enough(); ++step) {
            auto started = Clock::now();
            auto logits = network->step(ids.to(device), state).to(torch::kCPU);
            if (step >= warm_up) samples.push_back(elapsed_ms(started));
            ids = logits.argmax(1);
        }
    }
    return summarize(std::move(samples));
}

double training_tokens_per_second(const model::NetworkConfig& config, const std::string& device_name, int batch,
                                  double seconds, bool mixed_precision) {
    const torch::Device device(device_name);
    model::Network network(config);
    network->to(device);
    network->train();
    torch::optim::Adam optimizer(network->parameters(), torch::optim::AdamOptions(1e-3));
    const std::int64_t window = config.window;
    std::int64_t tokens = 0;
    double measured_ms = 0;
    for (int iteration = 0; measured_ms < seconds * 1000.0 || iteration < 3; ++iteration) {
        auto windows = torch::randint(0, config.vocab_size, {batch, window + 1}, torch::kInt64).to(device);
        auto started = Clock::now();
        torch::Tensor loss;
        {
            model::CudaAutocast autocast(mixed_precision);
            auto logits = network->forward(windows.slice(1, 0, window));
            loss = torch::nn::functional::cross_entropy(logits.reshape({-1, config.vocab_size}).to(torch::kFloat32),
                                                        windows.slice(1, 1).reshape({-1}));
        }
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        (void)loss.item<float>();      // waits for the device
        if (iteration == 0) continue;  // the first pass pays for allocation and kernel choice
        measured_ms += elapsed_ms(started);
        tokens += batch * window;
    }
    return measured_ms > 0 ? static_cast<double>(tokens) / (measured_ms / 1000.0) : 0.0;
}

}  // namespace kanade::bench
