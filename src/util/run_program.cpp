#include "kanade/util/run_program.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace kanade::util {
namespace {

using Clock = std::chrono::steady_clock;

std::string describe(const std::vector<std::string>& argv) { return argv.empty() ? "" : argv.front(); }

// Owns the spawn attributes so every early return and throw releases them.
struct SpawnSetup {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attributes);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
};

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
};

// Keeps the last `limit` bytes without shifting the buffer on every read.
void append_bounded(std::string& output, const char* data, std::size_t size, std::size_t limit, bool& truncated) {
    output.append(data, size);
    if (output.size() > 2 * limit + 4096) {
        output.erase(0, output.size() - limit);
        truncated = true;
    }
}

bool is_executable_file(const std::filesystem::path& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

void fill_result_status(RunResult& result, int status) {
    if (WIFEXITED(status)) {
        result.exit_status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.signaled = true;
        result.exit_status = 128 + WTERMSIG(status);
    }
}

int wait_for(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return 0;
    }
    return status;
}

}  // namespace

RunResult run_program(const std::vector<std::string>& argv, const RunOptions& options) {
    if (argv.empty() || argv.front().empty()) throw std::invalid_argument("run_program: no program given");

    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        throw std::runtime_error("cannot run " + describe(argv) + ": pipe: " + std::strerror(errno));
    Fd read_end(pipe_fds[0]);
    Fd write_end(pipe_fds[1]);

    SpawnSetup setup;
    // dup2 clears close-on-exec on the copies, so only fds 1 and 2 reach the child.
    posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&setup.actions, write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&setup.actions, write_end.get(), STDERR_FILENO);
    if (!options.working_directory.empty())
        posix_spawn_file_actions_addchdir_np(&setup.actions, options.working_directory.c_str());

    // The child should not inherit signals this process ignores or blocks (SIGPIPE...).
    sigset_t all_signals, no_signals;
    sigfillset(&all_signals);
    sigemptyset(&no_signals);
    posix_spawnattr_setsigdefault(&setup.attributes, &all_signals);
    posix_spawnattr_setsigmask(&setup.attributes, &no_signals);
    posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    std::vector<char*> arguments;
    arguments.reserve(argv.size() + 1);
    for (const auto& argument : argv) arguments.push_back(const_cast<char*>(argument.c_str()));
    arguments.push_back(nullptr);

    pid_t pid = 0;
    int error = ::posix_spawnp(&pid, arguments[0], &setup.actions, &setup.attributes, arguments.data(), environ);
    if (error != 0) {
        std::string where =
            options.working_directory.empty() ? std::string() : " in " + options.working_directory.string();
        throw std::runtime_error("cannot run " + describe(argv) + where + ": " + std::strerror(error));
    }
    write_end.reset();  // otherwise our own copy keeps the pipe open and EOF never comes

    RunResult result;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(options.timeout_seconds));
    const bool has_deadline = options.timeout_seconds > 0;
    auto kill_child = [&] {
        ::kill(pid, SIGKILL);
        result.timed_out = true;
    };

    char buffer[8192];
    for (;;) {
        int wait_ms = -1;
        if (has_deadline) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) {
                kill_child();
                break;
            }
            wait_ms = static_cast<int>(std::min<long long>(left.count(), 1000));
        }
        pollfd poll_fd{read_end.get(), POLLIN, 0};
        int ready = ::poll(&poll_fd, 1, wait_ms);
        if (ready < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (ready == 0) continue;
        ssize_t got = ::read(read_end.get(), buffer, sizeof buffer);
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            break;
        }
        if (got == 0) break;  // every writer has closed: the program has (almost) ended
        append_bounded(result.output, buffer, static_cast<std::size_t>(got), options.max_output_bytes,
                       result.output_truncated);
    }
    read_end.reset();

    // A program may close its output and keep running; the deadline still holds.
    if (has_deadline && !result.timed_out) {
        int status = 0;
        for (;;) {
            pid_t done = ::waitpid(pid, &status, WNOHANG);
            if (done == pid) {
                fill_result_status(result, status);
                break;
            }
            if (done < 0 && errno != EINTR) break;
            if (Clock::now() >= deadline) {
                kill_child();
                fill_result_status(result, wait_for(pid));
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    } else {
        fill_result_status(result, wait_for(pid));
    }

    if (result.output.size() > options.max_output_bytes) {
        result.output.erase(0, result.output.size() - options.max_output_bytes);
        result.output_truncated = true;
    }
    return result;
}

std::optional<std::filesystem::path> find_program(std::string_view name) {
    if (name.empty()) return std::nullopt;
    if (name.find('/') != std::string_view::npos) {
        std::filesystem::path path(name);
        if (is_executable_file(path)) return path;
        return std::nullopt;
    }
    // posix_spawnp's default when PATH is unset.
    const char* path_variable = std::getenv("PATH");
    std::string_view search = path_variable ? path_variable : "/bin:/usr/bin";
    while (true) {
        auto colon = search.find(':');
        auto folder = search.substr(0, colon);
        // An empty entry means the current folder, as in the shell.
        std::filesystem::path candidate = folder.empty() ? std::filesystem::path(".") : std::filesystem::path(folder);
        candidate /= name;
        if (is_executable_file(candidate)) return candidate;
        if (colon == std::string_view::npos) break;
        search.remove_prefix(colon + 1);
    }
    return std::nullopt;
}

bool program_available(std::string_view name) { return find_program(name).has_value(); }

}  // namespace kanade::util
