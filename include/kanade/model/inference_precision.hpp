// The numbers CPU inference runs in (PackedMatrix says how each is stored and summed):
// one list for the model file's users, the config's model.precision and the command
// line's --precision. Header-only, so the settings table can name them without libtorch.
#pragma once

#include <array>
#include <stdexcept>
#include <string>
#include <vector>

namespace kanade::model {

enum class InferencePrecision { float32, float16, bfloat16, int8 };

inline constexpr std::array<const char*, 4> inference_precision_names = {"float32", "float16", "bfloat16", "int8"};

inline const char* precision_name(InferencePrecision precision) {
    return inference_precision_names[static_cast<std::size_t>(precision)];
}

// The names as a list of strings, as option checks take them.
inline std::vector<std::string> inference_precision_choices() {
    return {inference_precision_names.begin(), inference_precision_names.end()};
}

inline InferencePrecision parse_inference_precision(const std::string& text) {
    for (std::size_t index = 0; index < inference_precision_names.size(); ++index)
        if (text == inference_precision_names[index]) return static_cast<InferencePrecision>(index);
    std::string names;
    for (const char* name : inference_precision_names) names += std::string(names.empty() ? "" : ", ") + name;
    throw std::invalid_argument("precision must be one of " + names + ", not '" + text + "'");
}

}  // namespace kanade::model
