// Runs this build's `kanade` binary, as the CLI tests do.
#pragma once

#include "kanade/util/run_program.hpp"

#include "../test_paths.hpp"

#include <string>
#include <vector>

namespace kanade::test {

inline util::RunResult kanade_cli(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), (binary_dir / "bin" / "kanade").string());
    util::RunOptions options;
    options.timeout_seconds = 300;
    return util::run_program(arguments, options);
}

}  // namespace kanade::test
