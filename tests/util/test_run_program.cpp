#include "kanade/util/run_program.hpp"

#include "test_paths.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>

using kanade::util::run_program;
using kanade::util::RunOptions;

TEST_CASE("run_program captures output and exit status") {
    auto result = run_program({"/bin/echo", "hello", "world"});
    CHECK(result.exit_status == 0);
    CHECK(result.succeeded());
    CHECK(result.output == "hello world\n");

    auto failed = run_program({"/bin/false"});
    CHECK(failed.exit_status != 0);
    CHECK_FALSE(failed.succeeded());
    CHECK_FALSE(failed.signaled);

    auto code = run_program({"sh", "-c", "exit 7"});
    CHECK(code.exit_status == 7);
}

TEST_CASE("run_program passes arguments literally, without a shell") {
    // A shell would split these, run the second command and expand the variable.
    auto result = run_program({"printf", "[%s]\\n", "two words; echo injected", "$HOME", "*"});
    REQUIRE(result.succeeded());
    CHECK(result.output == "[two words; echo injected]\n[$HOME]\n[*]\n");
}

TEST_CASE("run_program captures stderr with stdout") {
    auto result = run_program({"sh", "-c", "echo out; echo err >&2; exit 3"});
    CHECK(result.exit_status == 3);
    CHECK(result.output.find("out\n") != std::string::npos);
    CHECK(result.output.find("err\n") != std::string::npos);
}

TEST_CASE("run_program keeps only the last bytes of long output") {
    RunOptions options;
    options.max_output_bytes = 1000;
    auto result = run_program({"sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a; echo END"}, options);
    CHECK(result.succeeded());
    CHECK(result.output_truncated);
    CHECK(result.output.size() == 1000);
    CHECK(result.output.substr(result.output.size() - 4) == "END\n");
}

TEST_CASE("run_program runs in the working directory asked for") {
    kanade::test::TemporaryFolder folder;
    RunOptions options;
    options.working_directory = folder.path();
    auto result = run_program({"pwd", "-P"}, options);
    REQUIRE(result.succeeded());
    CHECK(result.output == std::filesystem::canonical(folder.path()).string() + "\n");

    options.working_directory = folder / "missing";
    CHECK_THROWS_AS(run_program({"pwd"}, options), std::runtime_error);
}

TEST_CASE("run_program stops a program at the timeout") {
    RunOptions options;
    options.timeout_seconds = 0.2;
    auto start = std::chrono::steady_clock::now();
    auto result = run_program({"sleep", "10"}, options);
    auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(result.timed_out);
    CHECK(result.signaled);
    CHECK_FALSE(result.succeeded());
    CHECK(took < 5.0);
}

TEST_CASE("run_program names a program it cannot start") {
    try {
        run_program({"kanade-no-such-program-xyz", "arg"});
        FAIL("expected an exception");
    } catch (const std::runtime_error& error) {
        CHECK(std::string(error.what()).find("kanade-no-such-program-xyz") != std::string::npos);
    }
    CHECK_THROWS_AS(run_program({}), std::invalid_argument);
}

TEST_CASE("program_available searches PATH") {
    CHECK(kanade::util::program_available("sh"));
    CHECK(kanade::util::program_available("/bin/sh"));
    CHECK_FALSE(kanade::util::program_available("kanade-no-such-program-xyz"));
    CHECK_FALSE(kanade::util::program_available("/nonexistent/sh"));
    CHECK_FALSE(kanade::util::program_available(""));
    auto found = kanade::util::find_program("sh");
    REQUIRE(found);
    CHECK(found->filename() == "sh");
}
