// The tests' main: doctest's, plus skips that ctest can see (tests/skip.hpp). ctest runs
// one test case per process, so a process whose every test case skipped exits with
// skip_exit_code, which the CMake test properties declare as SKIP_RETURN_CODE.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "skip.hpp"

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

namespace kanade::test {
namespace {

int test_cases_started = 0;
std::set<std::string> skipped_test_cases;

// Counts the test cases that ran, so main() can tell "all skipped" from "some skipped".
struct StartCounter : doctest::IReporter {
    explicit StartCounter(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData&) override { ++test_cases_started; }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
};

bool required(std::string_view need) {
    const char* list = std::getenv("KANADE_TESTS_REQUIRE");
    if (!list) return false;
    const std::string text = std::string(",") + list + ",";
    return text.find("," + std::string(need) + ",") != std::string::npos;
}

}  // namespace

void skip(std::string_view need, const std::string& reason) {
    if (required(need)) {
        FAIL_CHECK("needs " << std::string(need) << ", which KANADE_TESTS_REQUIRE says is installed: " << reason);
        return;
    }
    const auto* test_case = doctest::getContextOptions()->currentTest;
    skipped_test_cases.insert(test_case ? test_case->m_name : "?");
    std::printf("SKIPPED (needs %.*s): %s\n", static_cast<int>(need.size()), need.data(), reason.c_str());
    std::fflush(stdout);
}

}  // namespace kanade::test

DOCTEST_REGISTER_LISTENER("start-counter", 1, kanade::test::StartCounter);

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    const int result = context.run();
    if (context.shouldExit() || result != 0) return result;
    const auto skipped = static_cast<int>(kanade::test::skipped_test_cases.size());
    if (skipped == 0) return 0;
    std::printf("%d of %d test cases skipped\n", skipped, kanade::test::test_cases_started);
    return skipped == kanade::test::test_cases_started ? kanade::test::skip_exit_code : 0;
}
