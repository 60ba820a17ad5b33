// kanaded's OSCQuery server, read as TouchOSC or ossia score would: the namespace of every
// OSC address with its type, access, value, range and description from the one table of
// settings; single nodes, attributes and HOST_INFO; over a WebSocket, LISTEN follows a
// value changed over plain OSC, IGNORE stops it, OSC sent on the WebSocket is run; every
// bad query or frame gets a clear error and kanaded goes on playing.
#include "daemon/kanaded_fixture.hpp"
#include "io/web_test_client.hpp"

#include "kanade/io/settings.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace kanade;
using namespace kanade::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

json get_json(int port, const std::string& target) {
    auto reply = http_get(port, target, {{"Accept", "application/json"}});
    INFO(target << " answered " << reply.status << ": " << reply.body);
    REQUIRE(reply.status == 200);
    CHECK(reply.content_type == "application/json");
    return json::parse(reply.body);
}

// The next value change the WebSocket brings, decoded; the text frames before it are kept.
std::optional<io::OscMessage> next_change(WebSocketTestClient& client, std::vector<std::string>& texts,
                                          std::chrono::milliseconds limit = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        auto frame = client.receive(
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
        if (!frame) return std::nullopt;
        if (frame->text) {
            texts.push_back(frame->bytes);
            continue;
        }
        auto messages =
            io::decode_osc({reinterpret_cast<const std::uint8_t*>(frame->bytes.data()), frame->bytes.size()});
        if (!messages.empty()) return messages.front();
    }
    return std::nullopt;
}

// The next text frame (an error), skipping value changes.
std::optional<json> next_error(WebSocketTestClient& client) {
    for (int i = 0; i < 20; ++i) {
        auto frame = client.receive(5000ms);
        if (!frame) return std::nullopt;
        if (frame->text) return json::parse(frame->bytes);
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("OSCQuery: kanaded's namespace with values, ranges and help, attributes, HOST_INFO and errors") {
    if (!have_servers()) return;
    KanadedOnJack kanaded;
    kanaded.web_port = free_tcp_port();
    REQUIRE(kanaded.start("free"));
    const int port = kanaded.web_port;

    const auto root = get_json(port, "/");
    CHECK(root["FULL_PATH"] == "/");
    const auto& kanade = root["CONTENTS"]["kanade"];
    CHECK(kanade["FULL_PATH"] == "/kanade");
    const auto& tempo = kanade["CONTENTS"]["tempo"];
    CHECK(tempo["FULL_PATH"] == "/kanade/tempo");
    CHECK(tempo["TYPE"] == "f");
    CHECK(tempo["ACCESS"] == 3);
    CHECK(tempo["VALUE"][0].get<double>() == doctest::Approx(120));
    const auto& bpm = io::setting("clock.bpm");
    CHECK(tempo["RANGE"][0]["MIN"].get<double>() == bpm.range->first);
    CHECK(tempo["RANGE"][0]["MAX"].get<double>() == bpm.range->second);
    CHECK(tempo["DESCRIPTION"] == bpm.help);
    const auto& temperature = kanade["CONTENTS"]["temperature"];
    CHECK(temperature["VALUE"][0].get<double>() == doctest::Approx(0.9));  // the test's config
    CHECK(temperature["DESCRIPTION"] == io::setting("engine.temperature").help);
    const auto& mode = kanade["CONTENTS"]["mode"];
    CHECK(mode["TYPE"] == "s");
    CHECK(mode["VALUE"][0] == "free");
    CHECK(mode["RANGE"][0]["VALS"] == json(io::setting("engine.mode").choices));
    const auto& range = kanade["CONTENTS"]["range"];
    CHECK(range["TYPE"] == "ii");
    REQUIRE(range["VALUE"].size() == 2);
    CHECK(range["VALUE"][0].get<int>() < range["VALUE"][1].get<int>());
    const auto& start = kanade["CONTENTS"]["start"];
    CHECK(start["ACCESS"] == 2);  // an action: no value
    CHECK_FALSE(start.contains("VALUE"));
    CHECK(kanade["CONTENTS"]["session"]["CONTENTS"]["temperature"]["TYPE"] == "if");
    CHECK(kanade["CONTENTS"]["model"]["CONTENTS"]["load"]["FULL_PATH"] == "/kanade/model/load");
    // Every address /kanade/help lists is in the namespace.
    kanaded.osc.send({"/kanade/help", {}});
    int listed = 0;
    while (auto help = kanaded.osc.receive(1000ms)) {
        if (help->address != "/kanade/help") continue;
        const auto address = std::get<std::string>(help->arguments.at(0));
        ++listed;
        CHECK_MESSAGE(http_get(port, address).status == 200, address);
    }
    CHECK(listed > 20);

    CHECK(get_json(port, "/kanade/tempo")["VALUE"][0].get<double>() == doctest::Approx(120));
    CHECK(get_json(port, "/kanade/tempo?TYPE") == json{{"TYPE", "f"}});
    CHECK(get_json(port, "/kanade/")["FULL_PATH"] == "/kanade");
    CHECK(http_get(port, "/kanade/start?VALUE").status == 204);
    auto missing = http_get(port, "/kanade/nowhere");
    CHECK(missing.status == 404);
    CHECK(missing.body.find("/kanade/nowhere") != std::string::npos);
    auto unknown = http_get(port, "/kanade/tempo?COLOUR");
    CHECK(unknown.status == 400);
    CHECK(unknown.body.find("COLOUR") != std::string::npos);

    const auto host = get_json(port, "/?HOST_INFO");
    CHECK(host["NAME"] == "kanaded");
    CHECK(host["OSC_PORT"] == kanaded.port);
    CHECK(host["OSC_TRANSPORT"] == "UDP");
    CHECK(host["EXTENSIONS"]["LISTEN"] == true);
    CHECK(host["EXTENSIONS"]["VALUE"] == true);

    CHECK(raw_exchange(port, "\x16\x03\x01 not http\r\n\r\n").rfind("HTTP/1.1 400", 0) == 0);
    // A change over OSC shows in the namespace.
    kanaded.osc.send({"/kanade/temperature", {0.5F}});
    std::this_thread::sleep_for(300ms);
    CHECK(get_json(port, "/kanade/temperature?VALUE")["VALUE"][0].get<double>() == doctest::Approx(0.5));
    auto status = kanaded.status();
    REQUIRE(status);
    CHECK(status_int(*status, "playing") == 1);
    CHECK(kanaded.terminate() == 0);
}

TEST_CASE("OSCQuery over a WebSocket: LISTEN follows OSC changes, IGNORE stops them, OSC on the socket is run") {
    if (!have_servers()) return;
    KanadedOnJack kanaded;
    kanaded.web_port = free_tcp_port();
    REQUIRE(kanaded.start("free"));
    WebSocketTestClient client(kanaded.web_port);
    std::vector<std::string> texts;

    client.send_text(R"({"COMMAND":"LISTEN","DATA":"/kanade/temperature"})");
    client.send_text(R"({"COMMAND":"LISTEN","DATA":"/kanade/tempo"})");
    std::this_thread::sleep_for(200ms);  // the LISTENs are read before the changes
    auto sent = std::chrono::steady_clock::now();
    kanaded.osc.send({"/kanade/temperature", {0.5F}});
    auto change = next_change(client, texts);
    REQUIRE(change);
    MESSAGE("an OSC change reached the WebSocket after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent).count()
            << " ms");
    CHECK(change->address == "/kanade/temperature");
    CHECK(std::get<float>(change->arguments.at(0)) == doctest::Approx(0.5));
    kanaded.osc.send({"/kanade/tempo", {100.0F}});
    change = next_change(client, texts);
    REQUIRE(change);
    CHECK(change->address == "/kanade/tempo");
    CHECK(std::get<float>(change->arguments.at(0)) == doctest::Approx(100));

    // Ignored, the tempo's next change is not sent; the temperature's, made after it, is.
    client.send_text(R"({"COMMAND":"IGNORE","DATA":"/kanade/tempo"})");
    std::this_thread::sleep_for(200ms);
    kanaded.osc.send({"/kanade/tempo", {90.0F}});
    std::this_thread::sleep_for(200ms);
    kanaded.osc.send({"/kanade/temperature", {0.7F}});
    change = next_change(client, texts);
    REQUIRE(change);
    CHECK(change->address == "/kanade/temperature");
    CHECK(std::get<float>(change->arguments.at(0)) == doctest::Approx(0.7));
    CHECK(texts.empty());

    // OSC sent on the WebSocket is run; the change it makes comes back to the listener.
    client.send_binary(io::encode_osc({"/kanade/temperature", {1.25F}}));
    change = next_change(client, texts);
    REQUIRE(change);
    CHECK(std::get<float>(change->arguments.at(0)) == doctest::Approx(1.25));

    // Bad frames: each gets an error saying what was wrong.
    client.send_text("{not json");
    auto error = next_error(client);
    REQUIRE(error);
    CHECK((*error)["COMMAND"] == "ERROR");
    CHECK((*error)["DATA"].get<std::string>().find("not JSON") != std::string::npos);
    client.send_text(R"({"COMMAND":"LISTEN","DATA":"/kanade/start"})");
    error = next_error(client);
    REQUIRE(error);
    CHECK((*error)["DATA"].get<std::string>().find("/kanade/start") != std::string::npos);
    client.send_text(R"({"COMMAND":"SHOUT","DATA":"/kanade/tempo"})");
    error = next_error(client);
    REQUIRE(error);
    CHECK((*error)["DATA"].get<std::string>().find("SHOUT") != std::string::npos);
    client.send_binary({1, 2, 3});
    error = next_error(client);
    REQUIRE(error);
    CHECK((*error)["DATA"].get<std::string>().find("bad OSC packet") != std::string::npos);
    client.send_binary(io::encode_osc({"/kanade/temperature", {500.0F}}));
    error = next_error(client);
    REQUIRE(error);
    CHECK((*error)["DATA"].get<std::string>().find("/kanade/temperature") != std::string::npos);

    auto status = kanaded.status();
    REQUIRE(status);
    CHECK(status_int(*status, "playing") == 1);
    CHECK(kanaded.terminate() == 0);
}
