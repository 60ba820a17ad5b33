// A program started by a test and stopped with it: kanaded under test. Started without
// a shell; its output goes to a log file the test can show when something fails; with
// `Input::pipe` the test types on its standard input (LinkHut's keys).
#pragma once

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace kanade::test {

class ChildProcess {
public:
    enum class Input { inherit, pipe };
    ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log, Input input = Input::inherit)
        : log_(log) {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        int pipe_ends[2] = {-1, -1};
        if (input == Input::pipe) {
            if (::pipe2(pipe_ends, O_CLOEXEC) != 0) throw std::runtime_error("no pipe for " + argv.front());
            posix_spawn_file_actions_adddup2(&actions, pipe_ends[0], 0);  // dup2 clears close-on-exec
            input_ = pipe_ends[1];
        }
        posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        std::vector<char*> args;
        for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
        args.push_back(nullptr);
        int error = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (pipe_ends[0] >= 0) ::close(pipe_ends[0]);
        if (error != 0) throw std::runtime_error("cannot start " + argv.front());
    }
    ~ChildProcess() {
        if (input_ >= 0) ::close(input_);
        if (running()) {
            signal(SIGKILL);
            wait_for_exit(std::chrono::seconds(5));
        }
    }
    // Writes to the program's standard input (started with Input::pipe); false if it could not.
    bool type(std::string_view text) const {
        return input_ >= 0 && ::write(input_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    }
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    void signal(int number) const { ::kill(pid_, number); }
    bool running() {
        if (exit_code_) return false;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) exit_code_ = decode(status);
        return !exit_code_;
    }
    // The exit code (128 + N for a signal), or nothing if it is still running after `limit`.
    std::optional<int> wait_for_exit(std::chrono::milliseconds limit) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (running() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return exit_code_;
    }
    std::string output() const {
        std::ifstream in(log_);
        return {std::istreambuf_iterator<char>(in), {}};
    }
    pid_t pid() const { return pid_; }

private:
    static int decode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }
    std::filesystem::path log_;
    pid_t pid_ = -1;
    int input_ = -1;  // the write end of its standard input, with Input::pipe
    std::optional<int> exit_code_;
};

}  // namespace kanade::test
