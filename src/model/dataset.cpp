#include "kanade/model/dataset.hpp"

namespace kanade::model {

torch::Tensor make_windows(const music::TokenizedCorpus& corpus, music::Split split, int length, int stride) {
    std::vector<std::int64_t> flat;
    std::int64_t count = 0;
    for (const auto& file : corpus.files) {
        if (file.split != split || file.ids.size() < static_cast<std::size_t>(length)) continue;
        for (std::size_t start = 0; start + length <= file.ids.size(); start += static_cast<std::size_t>(stride)) {
            flat.insert(flat.end(), file.ids.begin() + static_cast<std::ptrdiff_t>(start),
                        file.ids.begin() + static_cast<std::ptrdiff_t>(start + length));
            ++count;
        }
    }
    return torch::from_blob(flat.data(), {count, length}, torch::kInt64).clone();
}

}  // namespace kanade::model
