#include "kanade/transcribe/model_places.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

using namespace kanade::transcribe;
namespace fs = std::filesystem;

namespace {

// Sets an environment variable for one test and puts the old value back after it
// (other tests of this binary find the installed Basic Pitch model through HOME).
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old, had_ = true;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (had_)
            ::setenv(name_, old_.c_str(), 1);
        else
            ::unsetenv(name_);
    }

private:
    const char* name_;
    std::string old_;
    bool had_ = false;
};

}  // namespace

TEST_CASE("a backend's weights are looked for: the given path alone, else env, home, system") {
    CHECK(model_places("/given/model.pt", "KANADE_TEST_MODEL", "test/model.pt") ==
          std::vector<fs::path>{"/given/model.pt"});
    const auto home = fs::temp_directory_path() / "kanade-model-places-home";
    fs::create_directories(home / ".local/share/kanade/test");
    ScopedEnv home_env("HOME", home.string()), model_env("KANADE_TEST_MODEL", "/from/env.pt");
    const auto places = model_places("", "KANADE_TEST_MODEL", "test/model.pt");
    REQUIRE(places.size() == 3);
    CHECK(places[0] == fs::path("/from/env.pt"));
    CHECK(places[1] == home / ".local/share/kanade/test/model.pt");
    CHECK(places[2] == fs::path("/usr/local/share/kanade/test/model.pt"));

    // None there: the error names every place tried and how to get the file.
    try {
        first_existing_file(places, "test: model", "get it from somewhere");
        FAIL("no file should have been found");
    } catch (const std::runtime_error& error) {
        const std::string message = error.what();
        CHECK(message.find("test: model not found; tried:") == 0);
        CHECK(message.find("/from/env.pt") != std::string::npos);
        CHECK(message.find("get it from somewhere") != std::string::npos);
    }
    // The first that exists wins; a folder of that name does not count.
    fs::create_directories(home / "folder.pt");
    std::ofstream(home / ".local/share/kanade/test/model.pt") << "weights";
    CHECK(first_existing_file({home / "folder.pt", places[1], places[2]}, "test: model", "") == places[1]);
    fs::remove_all(home);
}
