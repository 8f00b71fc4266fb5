#pragma once

// A network of the test's own: a forked child leaves the machine's network namespace for a new
// one holding a TUN device, nk0, 10.9.9.1/24. Whatever the stack sends to 10.9.9.0/24 leaves
// through the device and is read back from its descriptor as IP packets, and nothing ever
// answers: a peer that drops every SYN, a path the test watches packet by packet. A TUN device
// also has no checksum offload until its reader asks for it, like hardware without it.
//
// Only ever call this in a forked child: the namespace is the calling process's from then on.

#include <cerrno>
#include <cstring>
#include <string>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace netkit::test {

/// The device's descriptor, or -1 with the reason to skip in `why` (no privilege to make a
/// namespace, no /dev/net/tun).
inline int tun_in_own_network_namespace(std::string& why) {
    if (::unshare(CLONE_NEWNET) != 0) {
        why = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
        return -1;
    }
    const int tun = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (tun < 0) {
        why = std::string("/dev/net/tun: ") + std::strerror(errno);
        return -1;
    }
    ifreq request{};
    std::strncpy(request.ifr_name, "nk0", IFNAMSIZ - 1);
    request.ifr_flags = IFF_TUN | IFF_NO_PI;
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    auto set_address = [&](unsigned long which, const char* dotted) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        ::inet_pton(AF_INET, dotted, &address.sin_addr);
        std::memcpy(&request.ifr_addr, &address, sizeof address);
        return ::ioctl(fd, which, &request) == 0;
    };
    bool ok = ::ioctl(tun, TUNSETIFF, &request) == 0 && set_address(SIOCSIFADDR, "10.9.9.1") &&
              set_address(SIOCSIFNETMASK, "255.255.255.0") &&
              ::ioctl(fd, SIOCGIFFLAGS, &request) == 0;
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    ok = ok && ::ioctl(fd, SIOCSIFFLAGS, &request) == 0;
    if (!ok) {
        why = std::string("configuring a TUN device: ") + std::strerror(errno);
    }
    ::close(fd);
    if (!ok) {
        ::close(tun);
        return -1;
    }
    return tun;
}

} // namespace netkit::test
