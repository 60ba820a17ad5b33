// Paths the tests share: Debian's corpus and SoundFont, and this build's programs.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace kanade::test {

inline const std::filesystem::path source_dir = KANADE_SOURCE_DIR;
inline const std::filesystem::path binary_dir = KANADE_BINARY_DIR;
inline const std::filesystem::path openmsx_dir = "/usr/share/games/openttd/baseset/openmsx";
inline const std::filesystem::path simutrans_dir = "/usr/share/games/simutrans/music";
inline const std::filesystem::path soundfont = "/usr/share/sounds/sf2/FluidR3_GM.sf2";

// A fresh folder under the system's temporary folder, removed with the object.
class TemporaryFolder {
public:
    TemporaryFolder();
    ~TemporaryFolder();
    TemporaryFolder(const TemporaryFolder&) = delete;
    TemporaryFolder& operator=(const TemporaryFolder&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::filesystem::path& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

inline TemporaryFolder::TemporaryFolder() {
    auto pattern = (std::filesystem::temp_directory_path() / "kanade-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) ? std::filesystem::path(pattern) : std::filesystem::path{};
    if (path_.empty()) throw std::runtime_error("mkdtemp failed");
}
inline TemporaryFolder::~TemporaryFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

}  // namespace kanade::test
