#pragma once

// Helpers shared by the tests: connected pairs on loopback, and bounded waits so that no test
// can hang (every blocking call in a test is covered by a socket timeout).

#include <netkit/netkit.hpp>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

namespace netkit::test {

/// Bounds every blocking send/receive on `fd` (SO_RCVTIMEO/SO_SNDTIMEO), so a broken test
/// fails with EAGAIN instead of hanging.
inline void bound_blocking_calls(int fd, std::chrono::seconds limit = std::chrono::seconds(10)) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(limit.count());
    // An unbounded socket could hang the test instead of failing it: refuse to go on.
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        throw std::system_error(errno, std::system_category(), "bound_blocking_calls");
    }
}

/// The calling thread's kernel id, for `wait_until_blocked_in`.
inline pid_t thread_id() noexcept { return static_cast<pid_t>(::syscall(SYS_gettid)); }

/// Waits (up to 10 s) until thread `tid` of this process sleeps inside system call `number`
/// (SYS_recvfrom, ...), read from /proc/self/task/<tid>/syscall. Lets a test act only once
/// another thread is really blocked, without sleeping for a guessed time.
inline bool wait_until_blocked_in(pid_t tid, long number) {
    const std::string path = "/proc/self/task/" + std::to_string(tid) + "/syscall";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        std::ifstream file(path);
        long current = -1;
        if (file >> current && current == number) {
            return true;
        }
        std::this_thread::yield();
    }
    return false;
}

template <class Socket>
Socket bounded(Socket sock) {
    bound_blocking_calls(sock.native_handle());
    return sock;
}

/// Two connected TCP sockets over 127.0.0.1 (client, server), both bounded.
inline std::pair<tcp::socket, tcp::socket> tcp_pair(ip::family family = ip::v4) {
    const auto any = family == ip::v4 ? ip::endpoint(ip::address_v4::loopback(), 0)
                                      : ip::endpoint(ip::address_v6::loopback(), 0);
    auto acceptor = tcp::acceptor::listen(any).value();
    auto client = tcp::socket::connect(acceptor.local_endpoint().value()).value();
    auto accepted = acceptor.accept().value();
    return {bounded(std::move(client)), bounded(std::move(accepted.socket))};
}

/// Two UDP sockets on 127.0.0.1, each bound to its own ephemeral port (not connected).
inline std::pair<udp::socket, udp::socket> udp_sockets(ip::family family = ip::v4) {
    const auto any = family == ip::v4 ? ip::endpoint(ip::address_v4::loopback(), 0)
                                      : ip::endpoint(ip::address_v6::loopback(), 0);
    auto a = udp::socket::open(family).value();
    auto b = udp::socket::open(family).value();
    a.bind(any).value();
    b.bind(any).value();
    return {bounded(std::move(a)), bounded(std::move(b))};
}

/// A connected Unix-domain socketpair of protocol P, both bounded.
template <class Protocol>
std::pair<basic_socket<Protocol>, basic_socket<Protocol>> local_pair() {
    auto [a, b] = basic_socket<Protocol>::pair().value();
    return {bounded(std::move(a)), bounded(std::move(b))};
}

} // namespace netkit::test
