#include "kanade/transcribe/model_places.hpp"

#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace kanade::transcribe {

std::vector<std::filesystem::path> model_places(const std::filesystem::path& explicit_path, const char* env_var,
                                                const std::filesystem::path& relative) {
    if (!explicit_path.empty()) return {explicit_path};
    std::vector<std::filesystem::path> places;
    if (const char* env = std::getenv(env_var); env && *env) places.emplace_back(env);
    if (const char* home = std::getenv("HOME"); home && *home)
        places.push_back(std::filesystem::path(home) / ".local/share/kanade" / relative);
    places.push_back(std::filesystem::path("/usr/local/share/kanade") / relative);
    return places;
}

std::filesystem::path first_existing_file(const std::vector<std::filesystem::path>& places, const std::string& what,
                                          const std::string& how_to_get) {
    std::string tried;
    for (const auto& place : places) {
        std::error_code error;
        if (std::filesystem::is_regular_file(place, error)) return place;
        tried += "\n  " + place.string();
    }
    throw std::runtime_error(what + " not found; tried:" + tried + "\n" + how_to_get);
}

}  // namespace kanade::transcribe
