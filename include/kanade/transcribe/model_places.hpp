// Where a transcription backend's weights are looked for, the same way for each:
// the path given on the command line, else $KANADE_<BACKEND>_MODEL, else the user's and
// then the system's kanade data folder.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kanade::transcribe {

// {explicit_path} when given; else $env_var (when set), ~/.local/share/kanade/<relative>,
// /usr/local/share/kanade/<relative>.
std::vector<std::filesystem::path> model_places(const std::filesystem::path& explicit_path, const char* env_var,
                                                const std::filesystem::path& relative);

// The first of `places` that is a regular file. Else throws std::runtime_error:
// "<what> not found; tried:" with each place, then how_to_get.
std::filesystem::path first_existing_file(const std::vector<std::filesystem::path>& places, const std::string& what,
                                          const std::string& how_to_get);

}  // namespace kanade::transcribe
