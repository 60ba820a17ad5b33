#include "kanade/eval/feature_plot.hpp"

#include "kanade/util/atomic_file.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace kanade::eval {
namespace {

constexpr double panel_width = 300, panel_height = 190, columns = 4, header = 50;
constexpr double plot_left = 14, plot_right = 10, plot_top = 26, plot_bottom = 30;
constexpr int curve_points = 120;

struct Series {
    const std::vector<double>* samples;
    const char* colour;
    const char* name;
};

// Text safe inside SVG elements.
std::string xml_text(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '<')
            out += "&lt;";
        else if (c == '>')
            out += "&gt;";
        else if (c == '&')
            out += "&amp;";
        else
            out += c;
    }
    return out;
}

void draw_panel(std::ostringstream& svg, const FeatureComparison& comparison, double x0, double y0) {
    const Series series[] = {{&comparison.intra_real, "#1f77b4", "intra real"},
                             {&comparison.intra_generated, "#ff7f0e", "intra generated"},
                             {&comparison.inter, "#2ca02c", "inter"}};
    double low = INFINITY, high = -INFINITY;
    for (const auto& s : series)
        for (double value : *s.samples) low = std::min(low, value), high = std::max(high, value);
    char title[96];
    std::snprintf(title, sizeof title, "%s  (overlap %.2f)", std::string(feature_name(comparison.feature)).c_str(),
                  comparison.overlap());
    svg << "<text x=\"" << x0 + panel_width / 2 << "\" y=\"" << y0 + 16 << "\" text-anchor=\"middle\">"
        << xml_text(title) << "</text>\n";
    const double left = x0 + plot_left, right = x0 + panel_width - plot_right;
    const double top = y0 + plot_top, bottom = y0 + panel_height - plot_bottom;
    svg << "<line x1=\"" << left << "\" y1=\"" << bottom << "\" x2=\"" << right << "\" y2=\"" << bottom
        << "\" stroke=\"black\"/>\n";
    if (!std::isfinite(low)) return;
    if (high - low <= 0) high = low + 1;
    const double margin = 0.05 * (high - low);
    low -= margin, high += margin;
    char label[32];
    for (double tick : {low + margin, high - margin}) {
        std::snprintf(label, sizeof label, "%.3g", tick);
        svg << "<text x=\"" << left + (tick - low) / (high - low) * (right - left) << "\" y=\"" << bottom + 14
            << "\" text-anchor=\"middle\" font-size=\"10\">" << label << "</text>\n";
    }
    svg << "<text x=\"" << (left + right) / 2 << "\" y=\"" << bottom + 26
        << "\" text-anchor=\"middle\" font-size=\"10\">distance</text>\n";

    std::vector<std::vector<double>> curves;
    double peak = 0;
    for (const auto& s : series) {
        std::vector<double> curve;
        if (!s.samples->empty()) {
            GaussianKde kde(*s.samples, 0.01 * (high - low));
            for (int i = 0; i < curve_points; ++i)
                curve.push_back(kde.density(low + (high - low) * i / (curve_points - 1)));
        }
        for (double y : curve) peak = std::max(peak, y);
        curves.push_back(std::move(curve));
    }
    if (peak <= 0) return;
    for (std::size_t c = 0; c < curves.size(); ++c) {
        if (curves[c].empty()) continue;
        svg << "<polyline fill=\"none\" stroke=\"" << series[c].colour << "\" stroke-width=\"1.5\" points=\"";
        for (int i = 0; i < curve_points; ++i)
            svg << left + (right - left) * i / (curve_points - 1) << ','
                << bottom - curves[c][static_cast<std::size_t>(i)] / peak * (bottom - top) << ' ';
        svg << "\"/>\n";
    }
}

const FeatureComparison* find(const std::vector<FeatureComparison>& comparisons, Feature feature) {
    for (const auto& comparison : comparisons)
        if (comparison.feature == feature) return &comparison;
    return nullptr;
}

struct Frame {
    double left, right, top, bottom;
};

// A panel's title, axes frame and y scale (0..top_value, ticks at 0 and top_value).
Frame draw_frame(std::ostringstream& svg, std::string_view title, std::string_view x_label, double x0, double y0,
                 double width, double top_value) {
    svg << "<text x=\"" << x0 + width / 2 << "\" y=\"" << y0 + 16 << "\" text-anchor=\"middle\">" << xml_text(title)
        << "</text>\n";
    const Frame frame{x0 + 34, x0 + width - plot_right, y0 + plot_top, y0 + panel_height - plot_bottom};
    svg << "<path fill=\"none\" stroke=\"black\" d=\"M" << frame.left << ',' << frame.top << " V" << frame.bottom
        << " H" << frame.right << "\"/>\n";
    char label[32];
    for (double tick : {0.0, top_value}) {
        std::snprintf(label, sizeof label, "%.2g", tick);
        svg << "<text x=\"" << frame.left - 4 << "\" y=\""
            << frame.bottom - tick / top_value * (frame.bottom - frame.top) + 4
            << "\" text-anchor=\"end\" font-size=\"10\">" << label << "</text>\n";
    }
    svg << "<text x=\"" << (frame.left + frame.right) / 2 << "\" y=\"" << frame.bottom + 26
        << "\" text-anchor=\"middle\" font-size=\"10\">" << xml_text(x_label) << "</text>\n";
    svg << "<text x=\"" << frame.right << "\" y=\"" << frame.top + 10
        << "\" text-anchor=\"end\" font-size=\"10\"><tspan fill=\"#1f77b4\">real</tspan> "
           "<tspan fill=\"#ff7f0e\">generated</tspan></text>\n";
    return frame;
}

// The mean bar-position histograms of both sets, bar beside bar for each step of the bar.
void draw_bar_positions(std::ostringstream& svg, const FeatureComparison& comparison, double x0, double y0,
                        double width) {
    const auto bins = std::max(comparison.real_mean.size(), comparison.generated_mean.size());
    if (bins == 0) return;
    double peak = 0;
    for (const auto* mean : {&comparison.real_mean, &comparison.generated_mean})
        for (double share : *mean) peak = std::max(peak, share);
    if (peak <= 0) peak = 1;
    char title[96];
    std::snprintf(title, sizeof title, "onsets by step of the bar (shared %.2f)",
                  histogram_intersection(comparison.real_mean, comparison.generated_mean));
    const auto frame = draw_frame(svg, title, "step within the bar", x0, y0, width, peak);
    const double slot = (frame.right - frame.left) / static_cast<double>(bins);
    const std::pair<const std::vector<double>*, const char*> sets[] = {{&comparison.real_mean, "#1f77b4"},
                                                                       {&comparison.generated_mean, "#ff7f0e"}};
    for (std::size_t bin = 0; bin < bins; ++bin) {
        for (std::size_t s = 0; s < 2; ++s) {
            const auto& mean = *sets[s].first;
            const double share = bin < mean.size() ? mean[bin] : 0.0;
            const double height = share / peak * (frame.bottom - frame.top);
            svg << "<rect x=\"" << frame.left + slot * (static_cast<double>(bin) + 0.1 + 0.4 * static_cast<double>(s))
                << "\" y=\"" << frame.bottom - height << "\" width=\"" << slot * 0.4 << "\" height=\"" << height
                << "\" fill=\"" << sets[s].second << "\"/>\n";
        }
        svg << "<text x=\"" << frame.left + slot * (static_cast<double>(bin) + 0.5) << "\" y=\"" << frame.bottom + 12
            << "\" text-anchor=\"middle\" font-size=\"9\">" << bin << "</text>\n";
    }
}

// The mean self-similarity of a bar with the bar `lag` before it, lag 1..8, of both sets.
void draw_lag_curves(std::ostringstream& svg, const FeatureComparison& comparison, double x0, double y0, double width) {
    const auto frame = draw_frame(svg, "bar self-similarity by lag", "bars back", x0, y0, width, 1.0);
    const auto lags = std::max(comparison.real_mean.size(), comparison.generated_mean.size());
    if (lags < 2) return;
    auto x_of = [&](std::size_t i) {
        return frame.left + (frame.right - frame.left) * (static_cast<double>(i) + 0.5) / static_cast<double>(lags);
    };
    for (std::size_t i = 0; i < lags; ++i)
        svg << "<text x=\"" << x_of(i) << "\" y=\"" << frame.bottom + 12 << "\" text-anchor=\"middle\" font-size=\"9\">"
            << i + 1 << "</text>\n";
    const std::pair<const std::vector<double>*, const char*> sets[] = {{&comparison.real_mean, "#1f77b4"},
                                                                       {&comparison.generated_mean, "#ff7f0e"}};
    for (const auto& [mean, colour] : sets) {
        svg << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.5\" points=\"";
        for (std::size_t i = 0; i < mean->size(); ++i)
            svg << x_of(i) << ',' << frame.bottom - std::clamp((*mean)[i], 0.0, 1.0) * (frame.bottom - frame.top)
                << ' ';
        svg << "\"/>\n";
    }
}

}  // namespace

std::string feature_plot_svg(const std::vector<FeatureComparison>& comparisons, std::string_view title) {
    const auto* positions = find(comparisons, Feature::bar_position_histogram);
    const auto* lags = find(comparisons, Feature::self_similarity_lags);
    const auto feature_rows = static_cast<double>((comparisons.size() + 3) / 4);
    const double rows = feature_rows + (positions || lags ? 1 : 0);
    const double width = panel_width * columns, height = header + rows * panel_height;
    std::ostringstream svg;
    svg.imbue(std::locale::classic());
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
        << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"" << width / 2 << "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">" << xml_text(title)
        << "</text>\n";
    const Series legend[] = {{nullptr, "#1f77b4", "intra-set distances, real"},
                             {nullptr, "#ff7f0e", "intra-set distances, generated"},
                             {nullptr, "#2ca02c", "inter-set distances"}};
    for (std::size_t i = 0; i < 3; ++i)
        svg << "<text x=\"" << 20 + 300.0 * static_cast<double>(i) << "\" y=\"40\" fill=\"" << legend[i].colour << "\">"
            << legend[i].name << "</text>\n";
    for (std::size_t i = 0; i < comparisons.size(); ++i) {
        const double x0 = panel_width * static_cast<double>(i % 4);
        const double y0 = header + panel_height * static_cast<double>(i / 4);
        draw_panel(svg, comparisons[i], x0, y0);
    }
    // Rhythm and form as themselves, real (blue) beside generated (orange), not as distances.
    const double rhythm_top = header + feature_rows * panel_height;
    if (positions) draw_bar_positions(svg, *positions, 0, rhythm_top, width / 2);
    if (lags) draw_lag_curves(svg, *lags, width / 2, rhythm_top, width / 2);
    svg << "</svg>\n";
    return svg.str();
}

void write_feature_plot(const std::filesystem::path& path, const std::vector<FeatureComparison>& comparisons,
                        std::string_view title) {
    util::write_file_atomically(path, feature_plot_svg(comparisons, title));
}

}  // namespace kanade::eval
