#pragma once

// A network of the test's own: a forked child leaves the machine's network namespace for a new
// one holding a TUN device, nk0, 10.9.9.1/24. Whatever the stack sends to 10.9.9.0/24 leaves
// through the device and is read back from its descriptor as IP packets, and nothing ever
// answers: a peer that drops every SYN, a path the test watches packet by packet. A TUN device
// also has no checksum offload until its reader asks for it, like hardware without it.
//
// Only ever call this in a forked child: the namespace is the calling process's from then on.

#include <array>
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
#include <sys/wait.h>
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

/// What a child run in a network of its own reported.
struct network_child {
    /// The child's exit status: what its body returned (-1 if it did not exit normally).
    int status = -1;
    /// Not empty when no network could be made (no privilege, no /dev/net/tun): why.
    std::string skipped;
};

/// Forks; the child leaves for a network of its own (`tun_in_own_network_namespace`) and exits
/// with what `body(tun)` returns. The caller's process and network are untouched; it waits for
/// the child and learns either its status or why it could not run.
template <class Body>
network_child run_in_own_network(Body body) {
    constexpr int could_not_run = 77;
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        return {-1, {}};
    }
    const pid_t child = ::fork();
    if (child == 0) {
        ::close(pipe_fds[0]);
        std::string why;
        const int tun = tun_in_own_network_namespace(why);
        if (tun < 0) {
            (void)!::write(pipe_fds[1], why.data(), why.size());
            ::_exit(could_not_run);
        }
        ::_exit(body(tun));
    }
    ::close(pipe_fds[1]);
    std::array<char, 256> why{};
    const ssize_t why_length = child < 0 ? 0 : ::read(pipe_fds[0], why.data(), why.size());
    ::close(pipe_fds[0]);
    int status = 0;
    if (child < 0 || ::waitpid(child, &status, 0) != child || !WIFEXITED(status)) {
        return {-1, {}};
    }
    if (WEXITSTATUS(status) == could_not_run && why_length > 0) {
        return {-1, std::string(why.data(), static_cast<std::size_t>(why_length))};
    }
    return {WEXITSTATUS(status), {}};
}

} // namespace netkit::test
