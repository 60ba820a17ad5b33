// placeholder until the notate command lands (helper is writing it)
#include "commands.hpp"
namespace kanade::cli { void add_notate_command(CLI::App&) {} }
