#include "kanade/model/dataset.hpp"

#include <algorithm>
#include <numeric>

namespace kanade::model {
namespace {

constexpr auto condition_width = static_cast<std::int64_t>(music::condition_count);

bool has_conditions(const std::vector<const music::TokenizedFile*>& files) {
    return !files.empty() && std::all_of(files.begin(), files.end(),
                                         [](auto* file) { return file->conditions.size() == file->ids.size(); });
}

}  // namespace

torch::Tensor conditions_tensor(const std::vector<music::TokenCondition>& rows) {
    static_assert(sizeof(music::TokenCondition) == music::condition_count, "conditions are packed bytes");
    auto* data = const_cast<music::TokenCondition*>(rows.data());  // from_blob wants non-const; only read
    return torch::from_blob(data, {static_cast<std::int64_t>(rows.size()), condition_width}, torch::kUInt8).clone();
}

Windows make_windows(const music::TokenizedCorpus& corpus, music::Split split, int length, int stride) {
    std::vector<const music::TokenizedFile*> files;
    for (const auto& file : corpus.files)
        if (file.split == split && file.ids.size() >= static_cast<std::size_t>(length)) files.push_back(&file);
    const bool conditioned = has_conditions(files);
    std::vector<std::int64_t> flat;
    std::vector<std::uint8_t> flat_conditions;
    std::int64_t count = 0;
    for (const auto* file : files) {
        for (std::size_t start = 0; start + length <= file->ids.size(); start += static_cast<std::size_t>(stride)) {
            flat.insert(flat.end(), file->ids.begin() + static_cast<std::ptrdiff_t>(start),
                        file->ids.begin() + static_cast<std::ptrdiff_t>(start + length));
            if (conditioned)
                for (std::size_t i = start; i < start + length; ++i)
                    flat_conditions.insert(flat_conditions.end(), file->conditions[i].begin(),
                                           file->conditions[i].end());
            ++count;
        }
    }
    Windows windows;
    windows.ids = torch::from_blob(flat.data(), {count, length}, torch::kInt64).clone();
    if (conditioned)
        windows.conditions =
            torch::from_blob(flat_conditions.data(), {count, length, condition_width}, torch::kUInt8).clone();
    return windows;
}

PieceStreams::PieceStreams(const music::TokenizedCorpus& corpus, music::Split split, int lanes, int length,
                           int segment_windows)
    : lanes_(std::max(1, lanes)), length_(std::max(1, length)), segment_windows_(std::max(0, segment_windows)) {
    for (const auto& file : corpus.files)
        if (file.split == split && file.ids.size() >= 2) files_.push_back(&file);
    conditioned_ = has_conditions(files_);
    deal({});
}

void PieceStreams::deal(const std::vector<std::int64_t>& order) {
    std::vector<std::int64_t> sequence = order;
    if (sequence.empty()) {
        sequence.resize(files_.size());
        std::iota(sequence.begin(), sequence.end(), 0);
    }
    deal_.assign(static_cast<std::size_t>(lanes_), {});
    // A window predicts `length_` targets: the tokens after its inputs.
    auto windows_of = [&](std::size_t file) { return (files_[file]->ids.size() - 2) / length_ + 1; };
    std::size_t total = 0;
    for (auto index : sequence) total += windows_of(static_cast<std::size_t>(index));
    // Pieces are cut into segments of at most segment_windows_ (the state restarts at
    // each), dealt round the lanes in the caller's order: one batch then holds many
    // pieces at many places rather than a few in lockstep (five transposed copies of one
    // tune side by side overfit it), and no long piece keeps one lane busy alone.
    const std::size_t fair_share = std::max<std::size_t>(1, (total + lanes_ - 1) / lanes_);
    const std::size_t share = segment_windows_ > 0 ? std::min<std::size_t>(fair_share, segment_windows_) : fair_share;
    for (auto index : sequence) {
        const auto file = static_cast<std::size_t>(index);
        const auto count = windows_of(file);
        for (std::size_t first = 0; first < count; first += share) {
            auto lane = std::min_element(deal_.begin(), deal_.end(),
                                         [](const auto& a, const auto& b) { return a.size() < b.size(); });
            for (std::size_t w = first; w < std::min(count, first + share); ++w)
                lane->push_back({file, w * static_cast<std::size_t>(length_), w == first});
        }
    }
}

std::int64_t PieceStreams::batches() const {
    std::size_t longest = 0;
    for (const auto& lane : deal_) longest = std::max(longest, lane.size());
    return static_cast<std::int64_t>(longest);
}

StreamBatch PieceStreams::batch(std::int64_t index) const {
    const std::int64_t lanes = lanes_, length = length_;
    StreamBatch batch;
    batch.inputs = torch::zeros({lanes, length}, torch::kInt64);
    batch.targets = torch::full({lanes, length}, ignore_target, torch::kInt64);
    batch.fresh = torch::ones({lanes}, torch::kBool);
    if (conditioned_) batch.conditions = torch::zeros({lanes, length, condition_width}, torch::kUInt8);
    auto inputs = batch.inputs.accessor<std::int64_t, 2>();
    auto targets = batch.targets.accessor<std::int64_t, 2>();
    auto fresh = batch.fresh.accessor<bool, 1>();
    std::uint8_t* conditions = conditioned_ ? batch.conditions.data_ptr<std::uint8_t>() : nullptr;
    for (std::int64_t lane = 0; lane < lanes; ++lane) {
        const auto& windows = deal_[static_cast<std::size_t>(lane)];
        if (index >= static_cast<std::int64_t>(windows.size())) continue;
        const auto& window = windows[static_cast<std::size_t>(index)];
        const auto& file = *files_[window.file];
        fresh[lane] = window.fresh;
        const auto end = std::min(file.ids.size() - 1, window.start + static_cast<std::size_t>(length));
        for (std::size_t i = window.start; i < end; ++i) {
            const auto t = static_cast<std::int64_t>(i - window.start);
            inputs[lane][t] = file.ids[i];
            targets[lane][t] = file.ids[i + 1];
            if (conditions)
                std::copy(file.conditions[i].begin(), file.conditions[i].end(),
                          conditions + (lane * length + t) * condition_width);
            ++batch.tokens;
        }
    }
    return batch;
}

}  // namespace kanade::model
