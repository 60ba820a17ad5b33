// kanaded's OSC address space, registered in one table (osc_commands.cpp): one line a
// command, each handler validating its arguments and returning "" or the reason that
// becomes /kanade/fail.
#pragma once

#include "kanade/io/config.hpp"
#include "kanade/io/osc_message.hpp"
#include "kanade/io/settings.hpp"

#include <map>
#include <string>
#include <vector>

namespace kanade::daemon {

class Daemon;

// The settings an address reads and writes, in argument order (/kanade/temperature:
// engine.temperature; /kanade/range: its lowest and highest pitch), for /kanade/get and
// OSCQuery. Addresses that are actions have none.
using SettingAddresses = std::map<std::string, std::vector<std::string>>;

SettingAddresses register_osc_commands(Daemon& daemon);

// Every setting as it is in force now: the config, with session 1's voice and the clock's tempo.
io::DaemonConfig settings_in_force(Daemon& daemon);
// A setting's value as OSC carries it: numbers as f, whole numbers and flags as i, text as s.
io::OscValue osc_value(const io::SettingValue& value);

}  // namespace kanade::daemon
