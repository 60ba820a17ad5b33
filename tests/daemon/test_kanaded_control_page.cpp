// kanaded's control page in a real browser: Debian's Chromium, headless, driven by
// playwright-core (tests/daemon/control_page_check.cjs). The page loads and connects, the
// notes kanade plans appear ahead of the play line before they are played (and all that
// /kanade/subscribe reports planned is on the page), moving a control changes the daemon
// (/kanade/status, /kanade/get), and a change over OSC moves the control.
#include "daemon/kanaded_fixture.hpp"
#include "io/web_test_client.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace kanade;
using namespace kanade::test;
using namespace std::chrono_literals;

namespace {

const std::filesystem::path chromium_binary = "/usr/bin/chromium";
const std::filesystem::path node_binary = "/usr/bin/node";
// Where tools/setup-debian.sh installs playwright-core.
const std::filesystem::path playwright_core = "/usr/local/share/kanade/browser-test/node_modules/playwright-core";

}  // namespace

TEST_CASE("the control page in headless Chromium: planned notes ahead of the play line, controls both ways") {
    if (!have_servers()) return;
    if (!std::filesystem::exists(chromium_binary)) return skip("chromium", "no " + chromium_binary.string());
    if (!std::filesystem::exists(node_binary) || !std::filesystem::exists(playwright_core))
        return skip("playwright", "no node or no playwright-core at " + playwright_core.string());
    KanadedOnJack kanaded;
    kanaded.web_port = free_tcp_port();
    REQUIRE(kanaded.start("free"));

    const auto url = "http://127.0.0.1:" + std::to_string(kanaded.web_port) + "/";
    std::vector<std::string> command{node_binary.string(),
                                     (source_dir / "tests" / "daemon" / "control_page_check.cjs").string(),
                                     url,
                                     std::to_string(kanaded.port),
                                     playwright_core.string(),
                                     chromium_binary.string()};
    if (const char* shot = std::getenv("KANADE_SCREENSHOT")) command.push_back(shot);
    ChildProcess browser(command, kanaded.folder / "browser.log");
    const auto exit = browser.wait_for_exit(120s);
    const auto output = browser.output();
    INFO("the browser's side: " << output);
    REQUIRE(exit == 0);
    const auto line = output.find("RESULT ");
    REQUIRE(line != std::string::npos);
    const auto result = nlohmann::json::parse(output.substr(line + 7, output.find('\n', line) - line - 7));
    MESSAGE("page: " << result.dump());

    CHECK(result["title"] == "kanade");
    CHECK(result["connected_ms"].is_number());
    CHECK(result["page_errors"].empty());
    CHECK(result["device"] == "cpu");
    // The planned notes arrived while their step was still ahead (all but a plan finished
    // late on a loaded machine), and then were played.
    REQUIRE(result["planned_then_played_ms"].is_number());
    CHECK(result["planned_then_played"].get<int>() >= 8);
    CHECK(result["planned_ahead"].get<double>() >= 0.9 * result["planned_seen"].get<double>());
    CHECK(result["subscribed_planned"].get<int>() > 0);
    CHECK(result["subscribed_planned_on_page"] == result["subscribed_planned"]);
    // The page's controls drive the daemon, and the daemon's changes move them.
    CHECK(result["status_mode"] == "accompany");
    CHECK(result["get_temperature"].get<double>() == doctest::Approx(1.5));
    CHECK(result["page_temperature"].get<double>() == doctest::Approx(0.45));
    auto status = kanaded.status();
    REQUIRE(status);
    CHECK(status_int(*status, "playing") == 1);
    CHECK(kanaded.terminate() == 0);
}
