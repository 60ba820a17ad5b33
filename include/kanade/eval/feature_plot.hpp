// The picture `kanade eval-generation` writes: one panel per feature with the densities
// of the intra-set distances of the real and of the generated pieces and of the
// inter-set distances side by side, and the overlapping area in each panel's title; then
// the two sets' mean bar-position histograms and self-similarity-by-lag curves.
#pragma once

#include "kanade/eval/feature_overlap.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kanade::eval {

std::string feature_plot_svg(const std::vector<FeatureComparison>& comparisons, std::string_view title);
void write_feature_plot(const std::filesystem::path& path, const std::vector<FeatureComparison>& comparisons,
                        std::string_view title);

}  // namespace kanade::eval
