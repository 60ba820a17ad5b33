// A test that cannot run here says so: skip() marks the running test case skipped, and
// ctest reports it as skipped (the test program exits with skip_exit_code), never passed.
//
// `need` names what is missing ("jackd", "soundfont", ...). CI installs most of them and
// lists those in the environment variable KANADE_TESTS_REQUIRE (comma-separated): a test
// that would skip for one of them fails instead, so a broken install cannot hide.
#pragma once

#include <string>
#include <string_view>

namespace kanade::test {

inline constexpr int skip_exit_code = 77;

void skip(std::string_view need, const std::string& reason);

}  // namespace kanade::test
