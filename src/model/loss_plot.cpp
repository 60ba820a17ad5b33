#include "kanade/model/loss_plot.hpp"

#include "kanade/util/atomic_file.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace kanade::model {

std::string loss_plot_svg(const std::vector<EpochMetrics>& history) {
    constexpr double width = 640, height = 400, left = 60, right = 20, top = 30, bottom = 50;
    double low = INFINITY, high = -INFINITY;
    for (const auto& m : history)
        for (double loss : {m.train_loss, m.valid_loss})
            if (std::isfinite(loss)) low = std::min(low, loss), high = std::max(high, loss);
    if (!std::isfinite(low)) low = 0, high = 1;
    if (high - low < 1e-6) high = low + 1;
    double epochs = std::max<double>(1, history.empty() ? 1 : history.back().epoch);
    auto x_of = [&](double epoch) {
        return left + (epoch - (history.size() > 1 ? 1 : 0)) / std::max(1.0, epochs - (history.size() > 1 ? 1 : 0)) *
                          (width - left - right);
    };
    auto y_of = [&](double loss) { return top + (high - loss) / (high - low) * (height - top - bottom); };

    std::ostringstream svg;
    svg.imbue(std::locale::classic());
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
        << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"" << width / 2 << "\" y=\"18\" text-anchor=\"middle\">loss per epoch</text>\n"
        << "<line x1=\"" << left << "\" y1=\"" << height - bottom << "\" x2=\"" << width - right << "\" y2=\""
        << height - bottom << "\" stroke=\"black\"/>\n"
        << "<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << height - bottom
        << "\" stroke=\"black\"/>\n";
    for (int tick = 0; tick <= 4; ++tick) {
        double loss = low + (high - low) * tick / 4.0;
        char label[32];
        std::snprintf(label, sizeof label, "%.3f", loss);
        svg << "<text x=\"" << left - 6 << "\" y=\"" << y_of(loss) + 4 << "\" text-anchor=\"end\">" << label
            << "</text>\n";
    }
    for (const auto& m : history) {
        svg << "<text x=\"" << x_of(m.epoch) << "\" y=\"" << height - bottom + 16 << "\" text-anchor=\"middle\">"
            << m.epoch << "</text>\n";
    }
    svg << "<text x=\"" << width / 2 << "\" y=\"" << height - 10 << "\" text-anchor=\"middle\">epoch</text>\n";
    auto series = [&](auto value, const char* colour, const char* name, double legend_y) {
        svg << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" points=\"";
        for (const auto& m : history)
            if (std::isfinite(value(m))) svg << x_of(m.epoch) << ',' << y_of(value(m)) << ' ';
        svg << "\"/>\n<text x=\"" << width - right - 110 << "\" y=\"" << legend_y << "\" fill=\"" << colour << "\">"
            << name << "</text>\n";
    };
    series([](const EpochMetrics& m) { return m.train_loss; }, "#1f77b4", "training", top + 14);
    series([](const EpochMetrics& m) { return m.valid_loss; }, "#d62728", "validation", top + 30);
    svg << "</svg>\n";
    return svg.str();
}

void write_loss_plot(const std::filesystem::path& path, const std::vector<EpochMetrics>& history) {
    util::write_file_atomically(path, loss_plot_svg(history));
}

}  // namespace kanade::model
