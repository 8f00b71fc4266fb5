// The adaptive send: a message of small fragments is copied into one buffer and sent as one
// range, any other is gathered; either way the peer (read here with plain recv(2)/recvmsg(2))
// gets every byte in order, and exact_gather always gathers.
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {

/// `count` fragments of `size` bytes, each its own allocation, with a pattern that tells them
/// apart; `buffers` views them and `joined` is what the peer must read.
struct fragments {
    std::vector<std::vector<std::uint8_t>> pieces;
    std::vector<nk::const_buffer> buffers;
    std::vector<std::uint8_t> joined;

    fragments(std::size_t count, std::size_t size, std::size_t first_size = 0) {
        for (std::size_t k = 0; k < count; ++k) {
            auto& piece = pieces.emplace_back(k == 0 && first_size != 0 ? first_size : size);
            for (std::size_t i = 0; i < piece.size(); ++i) {
                piece[i] = static_cast<std::uint8_t>((k * 131 + i * 7 + 1) & 0xff);
            }
            joined.insert(joined.end(), piece.begin(), piece.end());
        }
        for (const auto& piece : pieces) {
            buffers.push_back(nk::buffer(piece));
        }
    }
};

/// Reads exactly `size` bytes with plain recv(2), or fewer if the stream ends or fails.
std::vector<std::uint8_t> read_plain(int fd, std::size_t size) {
    std::vector<std::uint8_t> got(size);
    std::size_t at = 0;
    while (at < size) {
        const ssize_t n = ::recv(fd, got.data() + at, size - at, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        at += static_cast<std::size_t>(n);
    }
    got.resize(at);
    return got;
}

} // namespace

TEST_CASE("messages of small, large, mixed and exactly gathered fragments arrive whole on TCP") {
    auto [client, server] = nk::test::tcp_pair();
    const fragments small(16, 64);      // copied: 1 KiB of 64-byte fragments
    const fragments many_tiny(1000, 3); // copied: 1000 fragments, one send
    const fragments large(3, 512);      // gathered: fragments at the limit
    const fragments mixed(2, 8192, 16); // gathered: a 16-byte header and a large body
    const fragments too_big(40, 500);   // gathered: 20 KB is more than the stack buffer
    for (const fragments* f : {&small, &many_tiny, &large, &mixed, &too_big}) {
        INFO(f->pieces.size() << " fragments, " << f->joined.size() << " bytes");
        REQUIRE(client.send_all(f->buffers).value() == f->joined.size());
        REQUIRE(read_plain(server.native_handle(), f->joined.size()) == f->joined);
        REQUIRE(client.send_all(nk::exact_gather(f->buffers)).value() == f->joined.size());
        REQUIRE(read_plain(server.native_handle(), f->joined.size()) == f->joined);
    }
}

TEST_CASE("an empty fragment among small ones is skipped, not read") {
    // An empty vector's data() is null; copying zero bytes from it must not touch it (ASan and
    // UBSan builds check that memcpy is never handed a null source).
    auto [client, server] = nk::test::tcp_pair();
    const std::string head = "head";
    const std::vector<char> empty;
    const std::string tail = "tail";
    REQUIRE(client.send_all(nk::gather(head, empty, tail)).value() == 8);
    REQUIRE(client.send(nk::gather(empty, head)).value() == 4);
    const auto got = read_plain(server.native_handle(), 12);
    REQUIRE(std::string(got.begin(), got.end()) == "headtailhead");
}

TEST_CASE("a copied message resumes after short writes at the exact byte") {
    // On a Unix stream socket the smallest send buffer splits every 12 KiB message into several
    // writes (TCP loopback would take it whole), on a non-blocking socket whose send_all waits
    // for room between them.
    auto [client, server] = nk::test::local_pair<nk::local::stream_protocol>();
    REQUIRE(client.set(nk::so::send_buffer_size, 1).has_value());
    REQUIRE(client.set_non_blocking(true).has_value());
    const fragments message(200, 63);
    // A message larger than the whole send buffer cannot leave in one write.
    REQUIRE(static_cast<std::size_t>(client.get(nk::so::send_buffer_size).value()) <
            message.joined.size());
    constexpr std::size_t messages = 64;
    std::vector<std::uint8_t> got;
    std::thread reader([&, fd = server.native_handle()] {
        got = read_plain(fd, message.joined.size() * messages);
    });
    std::size_t sent = 0;
    for (std::size_t i = 0; i < messages; ++i) {
        auto one = client.send_all(message.buffers, {}, nk::deadline(10s));
        if (!one) {
            break;
        }
        sent += *one;
    }
    REQUIRE(client.shutdown(nk::shutdown::write).has_value()); // the reader stops at the end
    reader.join();
    REQUIRE(sent == message.joined.size() * messages);
    REQUIRE(got.size() == sent);
    for (std::size_t i = 0; i < messages; ++i) {
        const auto begin = got.begin() + static_cast<std::ptrdiff_t>(i * message.joined.size());
        REQUIRE(std::equal(message.joined.begin(), message.joined.end(), begin));
    }
}

TEST_CASE("a copied datagram is one datagram, with its destination and its control data") {
    const fragments message(10, 100);
    SECTION("send on a connected UDP socket, and send_to") {
        auto [a, b] = nk::test::udp_sockets();
        const auto to = b.local_endpoint().value();
        REQUIRE(a.send_to(message.buffers, to).value() == 1000);
        REQUIRE(a.connect_to(to).has_value());
        REQUIRE(a.send(message.buffers).value() == 1000);
        for (int i = 0; i < 2; ++i) {
            std::array<std::uint8_t, 2000> datagram{};
            const ssize_t n = ::recv(b.native_handle(), datagram.data(), datagram.size(), 0);
            REQUIRE(n == 1000);
            REQUIRE(std::equal(message.joined.begin(), message.joined.end(), datagram.begin()));
        }
    }
    SECTION("send_message with a descriptor on a Unix datagram socket") {
        auto [a, b] = nk::test::local_pair<nk::local::datagram_protocol>();
        nk::control_buffer<nk::control_space<nk::cmsg::rights<1>>> out;
        const int passed = a.native_handle();
        REQUIRE(out.add_descriptors(std::span(&passed, 1)).has_value());
        REQUIRE(a.send_message(message.buffers, out).value() == 1000);
        std::array<std::uint8_t, 2000> datagram{};
        iovec into{datagram.data(), datagram.size()};
        alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
        msghdr header{};
        header.msg_iov = &into;
        header.msg_iovlen = 1;
        header.msg_control = control.data();
        header.msg_controllen = control.size();
        REQUIRE(::recvmsg(b.native_handle(), &header, MSG_CMSG_CLOEXEC) == 1000);
        REQUIRE(std::equal(message.joined.begin(), message.joined.end(), datagram.begin()));
        const cmsghdr* rights = CMSG_FIRSTHDR(&header);
        REQUIRE(rights != nullptr);
        REQUIRE(rights->cmsg_type == SCM_RIGHTS);
        int received = -1;
        std::memcpy(&received, CMSG_DATA(rights), sizeof received);
        REQUIRE(received >= 0);
        REQUIRE(::close(received) == 0);
    }
}

TEST_CASE("a copied send fails as the gather would: named sendmsg, whatever the sizes") {
    auto [a, b] = nk::test::udp_sockets(); // not connected: every send lacks a destination
    const fragments small(4, 100);
    const fragments large(2, 600);
    const auto copied = a.send(small.buffers);
    const auto gathered = a.send(large.buffers);
    REQUIRE(copied.error() == std::errc::destination_address_required);
    REQUIRE(copied.error().message() == gathered.error().message());
    REQUIRE(copied.error().message().rfind("sendmsg: ", 0) == 0);
}

TEST_CASE("more than IOV_MAX small buffers in one send is still too many, copied or not") {
    auto [a, b] = nk::test::local_pair<nk::local::datagram_protocol>();
    const fragments message(nk::max_buffers_per_call + 1, 2);
    const auto refused = a.send(message.buffers);
    REQUIRE(refused.error() == nk::errc::too_many_buffers);
}

#if defined(__x86_64__) || defined(__aarch64__)
namespace {
#if defined(__x86_64__)
constexpr std::uint32_t this_architecture = AUDIT_ARCH_X86_64;
#else
constexpr std::uint32_t this_architecture = AUDIT_ARCH_AARCH64;
#endif
constexpr int sendmsg_refused = ENOTRECOVERABLE; // an errno no socket call gives by itself

/// From here on, this process's sendmsg(2) fails with `sendmsg_refused`; every other system
/// call runs. Irreversible: only for a forked child.
bool refuse_sendmsg() {
    std::array filter{
        sock_filter BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        sock_filter BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, this_architecture, 1, 0),
        sock_filter BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        sock_filter BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        sock_filter BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmsg, 0, 1),
        sock_filter BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | sendmsg_refused),
        sock_filter BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    const sock_fprog program{static_cast<unsigned short>(filter.size()), filter.data()};
    return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
           ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

bool refused(const nk::result<std::size_t>& sent) {
    return !sent && sent.error().code() == std::error_code(sendmsg_refused, std::system_category());
}
} // namespace

TEST_CASE("which system call goes out: send for small fragments, sendmsg for the rest") {
    // With sendmsg(2) refused by a seccomp filter, only a send that does not use it succeeds.
    // The child reports one bit per expectation that failed.
    auto [a, b] = nk::test::local_pair<nk::local::stream_protocol>();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (!refuse_sendmsg()) {
            ::_exit(128);
        }
        const fragments small(16, 64);
        const fragments large(2, 4096);
        int wrong = 0;
        wrong |= a.send_all(small.buffers).has_value() ? 0 : 1;
        wrong |= a.send(small.buffers).has_value() ? 0 : 2;
        wrong |= refused(a.send_all(nk::exact_gather(small.buffers))) ? 0 : 4;
        wrong |= refused(a.send(nk::exact_gather(small.buffers))) ? 0 : 8;
        wrong |= refused(a.send_all(large.buffers)) ? 0 : 16;
        ::_exit(wrong);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 128) {
        WARN("skipped: this process may not install a seccomp filter");
        return;
    }
    CHECK((WEXITSTATUS(status) & 1) == 0);  // send_all of small fragments used sendmsg
    CHECK((WEXITSTATUS(status) & 2) == 0);  // send of small fragments used sendmsg
    CHECK((WEXITSTATUS(status) & 4) == 0);  // send_all(exact_gather) did not use sendmsg
    CHECK((WEXITSTATUS(status) & 8) == 0);  // send(exact_gather) did not use sendmsg
    CHECK((WEXITSTATUS(status) & 16) == 0); // send_all of large fragments did not use sendmsg
}
#endif
