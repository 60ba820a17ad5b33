// The OSCQuery WebSocket commands: LISTEN and IGNORE with an address, STREAM, and every
// malformed text refused with what is wrong.
#include "kanade/io/oscquery_command.hpp"

#include <doctest/doctest.h>

using kanade::io::OscQueryCommand;
using kanade::io::parse_oscquery_command;

TEST_CASE("OSCQuery commands: LISTEN, IGNORE and STREAM read, malformed ones refused by what is wrong") {
    auto command = parse_oscquery_command(R"({"COMMAND":"LISTEN","DATA":"/kanade/tempo"})");
    CHECK(command.error.empty());
    CHECK(command.verb == OscQueryCommand::Verb::listen);
    CHECK(command.address == "/kanade/tempo");
    command = parse_oscquery_command(R"( {"DATA":"/kanade/top_p", "COMMAND":"IGNORE"} )");
    CHECK(command.error.empty());
    CHECK(command.verb == OscQueryCommand::Verb::ignore);
    CHECK(command.address == "/kanade/top_p");
    CHECK(parse_oscquery_command(R"({"COMMAND":"STREAM"})").verb == OscQueryCommand::Verb::stream);

    CHECK(parse_oscquery_command("{not json").error.find("not JSON") == 0);
    CHECK(parse_oscquery_command("").error.find("not JSON") == 0);
    CHECK(parse_oscquery_command("[1,2]").error.find("expected") == 0);
    CHECK(parse_oscquery_command(R"({"COMMAND":7})").error.find("expected") == 0);
    CHECK(parse_oscquery_command(R"({"COMMAND":"SHOUT"})").error.find("SHOUT") != std::string::npos);
    CHECK(parse_oscquery_command(R"({"COMMAND":"LISTEN"})").error.find("wants DATA") != std::string::npos);
    CHECK(parse_oscquery_command(R"({"COMMAND":"LISTEN","DATA":3})").error.find("wants DATA") != std::string::npos);
    CHECK(parse_oscquery_command(R"({"COMMAND":"IGNORE","DATA":"tempo"})").error.find("wants DATA") !=
          std::string::npos);
}
