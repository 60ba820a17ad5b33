#include "kanade/util/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <stdexcept>
#include <unistd.h>

namespace kanade::util {

std::filesystem::path temporary_path_beside(const std::filesystem::path& path) {
    std::random_device entropy;
    auto name =
        path.filename().string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(entropy() & 0xFFFFFF);
    return path.parent_path() / name;
}

// rename() alone is atomic but not durable: fsync the data before it becomes visible.
void sync_file(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& fill) {
    auto parent = path.parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    auto temporary = temporary_path_beside(path);
    try {
        {
            std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
            if (!out) throw std::runtime_error("cannot create " + temporary.string() + ": " + std::strerror(errno));
            fill(out);
            out.flush();
            if (!out) throw std::runtime_error("cannot write " + temporary.string() + ": " + std::strerror(errno));
        }
        sync_file(temporary);
        std::filesystem::rename(temporary, path);
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(temporary, ignored);
        throw;
    }
}

void write_file_atomically(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
    write_file_atomically(path, [&](std::ostream& out) {
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    });
}

void write_file_atomically(const std::filesystem::path& path, std::string_view text) {
    write_file_atomically(
        path, [&](std::ostream& out) { out.write(text.data(), static_cast<std::streamsize>(text.size())); });
}

}  // namespace kanade::util
