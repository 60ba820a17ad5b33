// The loss curve of a training run as an SVG picture: training and validation loss
// per epoch, so a run can be judged at a glance in any browser.
#pragma once

#include "kanade/model/trainer.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kanade::model {

std::string loss_plot_svg(const std::vector<EpochMetrics>& history);
void write_loss_plot(const std::filesystem::path& path, const std::vector<EpochMetrics>& history);

}  // namespace kanade::model
