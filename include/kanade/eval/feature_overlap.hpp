// Yang & Lerch's comparison of two sets of pieces, feature by feature: the distances
// between pieces within each set (intra-set) and across the sets (inter-set), smoothed
// into densities by Gaussian kernels, and the overlapping area of each set's intra-set
// density with the inter-set density (1: the generated pieces lie among the real ones
// as the real ones lie among themselves; 0: they are somewhere else). Both areas count:
// a set of near-identical pieces placed among the real ones keeps the first high, and
// only the second shows its collapse.
#pragma once

#include "kanade/eval/piece_features.hpp"

#include <vector>

namespace kanade::eval {

// Euclidean distances between the feature vectors of every pair of pieces in `set`
// (each pair once), or of every piece of `a` with every piece of `b`. A shorter vector
// (a histogram of fewer bins) counts as zeros in the bins it lacks.
std::vector<double> intra_set_distances(const std::vector<PieceFeatures>& set, Feature feature);
std::vector<double> inter_set_distances(const std::vector<PieceFeatures>& a, const std::vector<PieceFeatures>& b,
                                        Feature feature);

// A Gaussian kernel density estimate; the bandwidth defaults to Scott's rule (the
// samples' standard deviation times n^(-1/5)), never below `min_bandwidth`.
class GaussianKde {
public:
    explicit GaussianKde(std::vector<double> samples, double min_bandwidth = 1e-9);
    double density(double x) const;
    double bandwidth() const { return bandwidth_; }
    const std::vector<double>& samples() const { return samples_; }

private:
    std::vector<double> samples_;
    double bandwidth_ = 0;
};

// The area under min(p_a, p_b) of the two samples' densities, in [0, 1]. Bandwidths are
// kept at or above 1% of the pooled range so that a set of equal values (a spike) still
// overlaps measurably; two spikes at one value overlap fully. NaN when either is empty.
double overlap_area(const std::vector<double>& a, const std::vector<double>& b);

// The shared mass of two histograms of shares, sum of min(a_i, b_i): 1 for equal ones,
// 0 for disjoint ones; bins only one of them has share nothing.
double histogram_intersection(const std::vector<double>& a, const std::vector<double>& b);

struct Spread {
    double mean = 0, sd = 0;
};
Spread spread_of(const std::vector<double>& values);

struct FeatureComparison {
    Feature feature = Feature::pitch_count;
    std::vector<double> real_mean, generated_mean;           // per component of the feature
    std::vector<double> intra_real, intra_generated, inter;  // distances
    double overlap_real = 0;                                 // intra-set (real) against inter-set
    double overlap_generated = 0;                            // intra-set (generated) against inter-set
    // The figure reported: the mean of the two areas.
    double overlap() const { return (overlap_real + overlap_generated) / 2; }
};

// The mean overlap() of the comparisons of features from..to-1 (by index); NaN for none.
double mean_overlap(const std::vector<FeatureComparison>& comparisons, std::size_t from, std::size_t to);

std::vector<FeatureComparison> compare_sets(const std::vector<PieceFeatures>& real,
                                            const std::vector<PieceFeatures>& generated);

}  // namespace kanade::eval
