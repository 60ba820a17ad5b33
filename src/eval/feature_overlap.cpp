#include "kanade/eval/feature_overlap.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace kanade::eval {
namespace {

double component(const std::vector<double>& values, std::size_t i) { return i < values.size() ? values[i] : 0.0; }

// A shorter vector is a histogram with fewer bins (bar positions in a shorter bar): the
// bins it lacks hold nothing.
double distance(const std::vector<double>& a, const std::vector<double>& b) {
    double sum = 0;
    for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i)
        sum += (component(a, i) - component(b, i)) * (component(a, i) - component(b, i));
    return std::sqrt(sum);
}

std::vector<double> component_means(const std::vector<PieceFeatures>& set, Feature feature) {
    std::vector<double> mean;
    for (const auto& piece : set) {
        const auto& values = feature_of(piece, feature);
        if (mean.size() < values.size()) mean.resize(values.size(), 0.0);
        for (std::size_t i = 0; i < values.size(); ++i) mean[i] += values[i] / static_cast<double>(set.size());
    }
    return mean;
}

}  // namespace

std::vector<double> intra_set_distances(const std::vector<PieceFeatures>& set, Feature feature) {
    std::vector<double> distances;
    for (std::size_t i = 0; i < set.size(); ++i)
        for (std::size_t j = i + 1; j < set.size(); ++j)
            distances.push_back(distance(feature_of(set[i], feature), feature_of(set[j], feature)));
    return distances;
}

std::vector<double> inter_set_distances(const std::vector<PieceFeatures>& a, const std::vector<PieceFeatures>& b,
                                        Feature feature) {
    std::vector<double> distances;
    for (const auto& x : a)
        for (const auto& y : b) distances.push_back(distance(feature_of(x, feature), feature_of(y, feature)));
    return distances;
}

double histogram_intersection(const std::vector<double>& a, const std::vector<double>& b) {
    double shared = 0;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) shared += std::min(a[i], b[i]);
    return std::clamp(shared, 0.0, 1.0);
}

double mean_overlap(const std::vector<FeatureComparison>& comparisons, std::size_t from, std::size_t to) {
    double sum = 0, count = 0;
    for (const auto& comparison : comparisons) {
        const auto index = static_cast<std::size_t>(comparison.feature);
        if (index < from || index >= to) continue;
        sum += comparison.overlap();
        ++count;
    }
    return count == 0 ? NAN : sum / count;
}

Spread spread_of(const std::vector<double>& values) {
    Spread spread;
    if (values.empty()) return spread;
    for (double value : values) spread.mean += value / static_cast<double>(values.size());
    double sum = 0;
    for (double value : values) sum += (value - spread.mean) * (value - spread.mean);
    spread.sd = std::sqrt(sum / static_cast<double>(values.size()));
    return spread;
}

GaussianKde::GaussianKde(std::vector<double> samples, double min_bandwidth) : samples_(std::move(samples)) {
    if (samples_.empty()) throw std::invalid_argument("a kernel density estimate needs at least one sample");
    const auto n = static_cast<double>(samples_.size());
    const double sd = n > 1 ? spread_of(samples_).sd * std::sqrt(n / (n - 1)) : 0.0;  // the sample deviation
    bandwidth_ = std::max(sd * std::pow(n, -0.2), min_bandwidth);
}

double GaussianKde::density(double x) const {
    double sum = 0;
    for (double sample : samples_) {
        const double z = (x - sample) / bandwidth_;
        sum += std::exp(-0.5 * z * z);
    }
    return sum / (static_cast<double>(samples_.size()) * bandwidth_ * std::sqrt(2 * std::numbers::pi));
}

double overlap_area(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.empty() || b.empty()) return NAN;
    auto [low_a, high_a] = std::minmax_element(a.begin(), a.end());
    auto [low_b, high_b] = std::minmax_element(b.begin(), b.end());
    const double low = std::min(*low_a, *low_b), high = std::max(*high_a, *high_b);
    if (high - low <= 0) return 1.0;  // two spikes at the same value
    const GaussianKde density_a(a, 0.01 * (high - low)), density_b(b, 0.01 * (high - low));
    const double margin = 5 * std::max(density_a.bandwidth(), density_b.bandwidth());
    // The narrowest kernel is at least 1% of the range: 4,000 points resolve it.
    constexpr int points = 4000;
    const double from = low - margin, step = (high + margin - from) / points;
    double area = 0;
    for (int i = 0; i < points; ++i) {
        const double x = from + (i + 0.5) * step;
        area += std::min(density_a.density(x), density_b.density(x)) * step;
    }
    return std::clamp(area, 0.0, 1.0);
}

std::vector<FeatureComparison> compare_sets(const std::vector<PieceFeatures>& real,
                                            const std::vector<PieceFeatures>& generated) {
    if (real.size() < 2 || generated.size() < 2)
        throw std::invalid_argument("comparing sets of pieces needs at least two pieces in each (real " +
                                    std::to_string(real.size()) + ", generated " + std::to_string(generated.size()) +
                                    ")");
    std::vector<FeatureComparison> comparisons;
    for (std::size_t index = 0; index < feature_count; ++index) {
        FeatureComparison comparison;
        comparison.feature = feature_at(index);
        comparison.real_mean = component_means(real, comparison.feature);
        comparison.generated_mean = component_means(generated, comparison.feature);
        comparison.intra_real = intra_set_distances(real, comparison.feature);
        comparison.intra_generated = intra_set_distances(generated, comparison.feature);
        comparison.inter = inter_set_distances(real, generated, comparison.feature);
        comparison.overlap_real = overlap_area(comparison.intra_real, comparison.inter);
        comparison.overlap_generated = overlap_area(comparison.intra_generated, comparison.inter);
        comparisons.push_back(std::move(comparison));
    }
    return comparisons;
}

}  // namespace kanade::eval
