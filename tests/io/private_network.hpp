// Moves the running test (and every program it starts afterwards) into a network
// namespace of its own: loopback up, multicast routed onto it, no other interface. Link's
// discovery multicasts then reach only the peers the test started, and nothing leaves.
// ctest runs each test case as its own process, so no other test is moved.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sched.h>
#include <string>

namespace kanade::test {

// "" once inside, else why not (no permission for namespaces, no `ip`).
inline std::string enter_private_network() {
    if (::unshare(CLONE_NEWNET) != 0) {
        const int as_root = errno;
        // Without CAP_SYS_ADMIN, a user namespace of our own grants it (single-threaded only).
        if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
            return std::string("cannot make a network namespace: ") + std::strerror(as_root) +
                   ", and as a user: " + std::strerror(errno);
    }
    for (const char* command : {"ip link set lo up", "ip link set lo multicast on", "ip route add 224.0.0.0/4 dev lo"})
        if (std::system((std::string(command) + " > /dev/null 2>&1").c_str()) != 0)
            return std::string("in the private network namespace, '") + command + "' failed (is iproute2 installed?)";
    return "";
}

}  // namespace kanade::test
