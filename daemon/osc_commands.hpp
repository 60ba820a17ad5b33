// kanaded's OSC address space, registered in one table (osc_commands.cpp): one line a
// command, each handler validating its arguments and returning "" or the reason that
// becomes /kanade/fail.
#pragma once

namespace kanade::daemon {

class Daemon;
void register_osc_commands(Daemon& daemon);

}  // namespace kanade::daemon
