#include "kanade/engine/generator.hpp"

#include <stdexcept>

namespace kanade::engine {
std::vector<float> logits_to_floats(const torch::Tensor& logits) {
    auto cpu = logits.to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel());
}

std::vector<int> generate(model::Model& model, const std::vector<int>& prompt, const GenerateOptions& options,
                          torch::Device device) {
    if (prompt.empty()) throw std::invalid_argument("generate: the seed holds no known token");
    torch::NoGradGuard no_grad;
    model.network->eval();
    model.network->to(device);
    Sampler sampler(options.seed);
    const auto window = static_cast<std::size_t>(model.config.window);
    std::vector<int> context(
        prompt.size() > window ? prompt.end() - static_cast<std::ptrdiff_t>(window) : prompt.begin(), prompt.end());
    std::vector<int> generated;
    generated.reserve(static_cast<std::size_t>(std::max(options.steps, 0)));

    if (options.mode == InferenceMode::faithful) {
        for (int step = 0; step < options.steps; ++step) {
            auto ids = torch::tensor(std::vector<std::int64_t>(context.begin(), context.end()), torch::kInt64)
                           .unsqueeze(0)
                           .to(device);
            auto logits = model.network->forward_last(ids).squeeze(0);
            int next = sampler.sample(logits_to_floats(logits), options.sampling);
            generated.push_back(next);
            context.push_back(next);
            if (context.size() > window) context.erase(context.begin());
        }
        return generated;
    }

    auto state = model.network->initial_state(1);
    torch::Tensor logits;
    for (int id : context)
        logits = model.network->step(torch::tensor({static_cast<std::int64_t>(id)}, torch::kInt64).to(device), state);
    for (int step = 0; step < options.steps; ++step) {
        int next = sampler.sample(logits_to_floats(logits.squeeze(0)), options.sampling);
        generated.push_back(next);
        logits = model.network->step(torch::tensor({static_cast<std::int64_t>(next)}, torch::kInt64).to(device), state);
    }
    return generated;
}

}  // namespace kanade::engine
