// Writes a whole file so that readers see the old contents or the new, never half:
// the bytes go to a temporary file beside the target, are flushed to disk, then renamed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <ostream>
#include <span>
#include <string_view>

namespace kanade::util {

#ifdef __cpp_lib_span  // C++20; hidden from the C++17 fuzz harnesses (tests/fuzz/CMakeLists.txt)
void write_file_atomically(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);
#endif
void write_file_atomically(const std::filesystem::path& path, std::string_view text);
// For writers that stream: `fill` writes into the temporary file's stream.
void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& fill);

// The pieces, for writers that stream through their own library (libsndfile):
// a fresh temporary name beside `path`, and fsync before the rename.
std::filesystem::path temporary_path_beside(const std::filesystem::path& path);
void sync_file(const std::filesystem::path& path);

}  // namespace kanade::util
