// No allocation per operation: after warm-up, 10,000 echo round trips between two coroutines on
// one loop (each receive with a deadline, so timers are exercised too) make no heap allocation,
// over a stream, with datagrams (send_to, receive_from) and with messages (send_message,
// receive_message, a descriptor in each); 500 zero-copy sends of 64 KiB neither.
// Operation state lives in the awaiters, in the frames, and frames are recycled per thread.
#include <netkit/async/operations.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <netkit/async/datagram_operations.hpp>
#include <netkit/async/loop.hpp>
#include <netkit/async/message_operations.hpp>
#include <netkit/async/task.hpp>
#include <netkit/async/zero_copy.hpp>
#include <netkit/netkit.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::size_t> allocations{0};
} // namespace

// TSan's runtime defines the global operator new and delete itself (statically linked), so
// under TSan nothing can be replaced and nothing is counted: the round trips still run.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NETKIT_TEST_NO_NEW_REPLACEMENT 1
#endif
#endif
#ifndef NETKIT_TEST_NO_NEW_REPLACEMENT
constexpr bool counting = true;

// Every allocation of the program is counted (replaceable global operator new, [new.delete]).
void* operator new(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

// Under ASan, Catch's test registration (static initialisation) is served by the sanitizer's
// operator new and later freed by the replacement above: a mismatch of the counting scaffold,
// not of the code under test, so this executable alone tells ASan not to report it.
extern "C" const char* __asan_default_options(); // NOLINT(bugprone-reserved-identifier)
extern "C" const char* __asan_default_options() { return "alloc_dealloc_mismatch=0"; }
#else
constexpr bool counting = false;
#endif

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;

namespace {

constexpr int warm_up = 200;
constexpr int measured = 10'000;

nka::task<nk::result<std::size_t>> echo_once(nk::local::stream_socket& sock,
                                             std::span<std::byte> buffer) {
    auto got = co_await nka::receive(sock, buffer, 10s);
    if (!got || *got == 0) {
        co_return got;
    }
    co_return co_await nka::send_all(sock, buffer.first(*got), 10s);
}

nka::task<> server(nk::local::stream_socket& sock) {
    std::array<std::byte, 256> buffer{};
    for (;;) {
        auto echoed = co_await echo_once(sock, buffer);
        if (!echoed || *echoed == 0) {
            co_return;
        }
    }
}

struct counts {
    std::size_t before = 0;
    std::size_t after = 0;
    int failures = 0;
};

// Every measured operation succeeded and, where allocations are counted, none of them allocated;
// the warm-up did (the counter counts).
void check_all_succeeded_without_allocating(const counts& seen) {
    CHECK(seen.failures == 0);
    if (counting) {
        CHECK(seen.before > 0);
        CHECK(seen.after - seen.before == 0);
    }
}

nka::task<> client(nk::local::stream_socket& sock, counts& seen) {
    std::array<std::byte, 64> request{};
    std::array<std::byte, 64> reply{};
    for (int i = 0; i < warm_up + measured; ++i) {
        if (i == warm_up) {
            seen.before = allocations.load();
        }
        request[0] = static_cast<std::byte>(i);
        // One co_await per statement: none inside || or ?: (docs/coroutines.md, pitfalls).
        auto sent = co_await nka::send_all(sock, request, 10s);
        auto got = co_await nka::receive_exact(sock, reply, 10s);
        if (!sent || !got || reply != request) {
            ++seen.failures;
        }
    }
    seen.after = allocations.load();
    (void)sock.shutdown(nk::shutdown::write);
}

} // namespace

TEST_CASE("10,000 echo round trips after warm-up allocate nothing") {
    auto [a, b] = nk::local::stream_socket::pair(nk::io_mode::non_blocking).value();
    counts seen;
    {
        nka::loop loop;
        loop.spawn(server(b));
        loop.run(client(a, seen));
    }
    check_all_succeeded_without_allocating(seen);
}

namespace {

nka::task<> datagram_server(nk::udp::socket& sock) {
    std::array<std::byte, 256> buffer{};
    for (;;) {
        auto got = co_await nka::receive_from(sock, buffer, 10s);
        if (!got || got->size == 0 || !got->sender) {
            co_return; // an empty datagram ends the test
        }
        auto sent =
            co_await nka::send_to(sock, std::span(buffer).first(got->size), *got->sender, 10s);
        if (!sent) {
            co_return;
        }
    }
}

nka::task<> datagram_client(nk::udp::socket& sock, nk::ip::endpoint server, counts& seen) {
    std::array<std::byte, 64> request{};
    std::array<std::byte, 64> reply{};
    for (int i = 0; i < warm_up + measured; ++i) {
        if (i == warm_up) {
            seen.before = allocations.load();
        }
        request[0] = static_cast<std::byte>(i);
        auto sent = co_await nka::send_to(sock, request, server, 10s);
        auto got = co_await nka::receive_from(sock, reply, 10s);
        if (!sent || !got || got->size != request.size() || reply != request) {
            ++seen.failures;
        }
    }
    seen.after = allocations.load();
    (void)co_await nka::send_to(sock, std::span(request).first(0), server, 10s);
}

} // namespace

TEST_CASE("10,000 datagram round trips after warm-up allocate nothing") {
    const nk::ip::endpoint loopback(nk::ip::address_v4::loopback(), 0);
    auto a = nk::udp::socket::open(nk::ip::v4, nk::io_mode::non_blocking).value();
    auto b = nk::udp::socket::open(nk::ip::v4, nk::io_mode::non_blocking).value();
    a.bind(loopback).value();
    b.bind(loopback).value();
    counts seen;
    {
        nka::loop loop;
        loop.spawn(datagram_server(b));
        loop.run(datagram_client(a, b.local_endpoint().value(), seen));
    }
    check_all_succeeded_without_allocating(seen);
}

namespace {

using rights_buffer = nk::control_buffer<nk::control_space<nk::cmsg::rights<1>>>;

// Each request carries a descriptor (SCM_RIGHTS), which the server takes and closes: the
// msghdr, iovecs, name and control area of every message live in the awaiters.
nka::task<> message_server(nk::local::datagram_socket& sock) {
    std::array<std::byte, 256> buffer{};
    rights_buffer control;
    rights_buffer none;
    for (;;) {
        auto got = co_await nka::receive_message(sock, buffer, control, 10s);
        if (!got || got->size == 0) {
            co_return; // an empty message ends the test
        }
        if (control.descriptor_count() == 1) {
            (void)control.take_descriptor(0); // closed here
        }
        auto sent = co_await nka::send_message(sock, std::span(buffer).first(got->size), none, 10s);
        if (!sent) {
            co_return;
        }
    }
}

nka::task<> message_client(nk::local::datagram_socket& sock, counts& seen) {
    std::array<std::byte, 64> request{};
    std::array<std::byte, 64> reply{};
    rights_buffer out;
    const int fd = sock.native_handle();
    if (!out.add_descriptors(std::span(&fd, 1))) {
        ++seen.failures;
        co_return;
    }
    rights_buffer control;
    for (int i = 0; i < warm_up + measured; ++i) {
        if (i == warm_up) {
            seen.before = allocations.load();
        }
        request[0] = static_cast<std::byte>(i);
        auto sent = co_await nka::send_message(sock, request, out, 10s);
        auto got = co_await nka::receive_message(sock, reply, control, 10s);
        if (!sent || !got || got->size != request.size() || reply != request) {
            ++seen.failures;
        }
    }
    seen.after = allocations.load();
    rights_buffer none;
    (void)co_await nka::send_message(sock, std::span(request).first(0), none, 10s);
}

} // namespace

TEST_CASE("10,000 message round trips (sendmsg, recvmsg, SCM_RIGHTS) allocate nothing") {
    auto [a, b] = nk::local::datagram_socket::pair(nk::io_mode::non_blocking).value();
    counts seen;
    {
        nka::loop loop;
        loop.spawn(message_server(b));
        loop.run(message_client(a, seen));
    }
    CHECK(seen.failures == 0);
    if (counting) {
        CHECK(seen.before > 0);
        CHECK(seen.after - seen.before == 0);
    }
}

namespace {

nka::task<> drain(nk::tcp::socket& sock) {
    std::array<std::byte, 65536> buffer{};
    for (;;) {
        auto got = co_await nka::receive(sock, buffer, 10s);
        if (!got || *got == 0) {
            co_return;
        }
    }
}

nka::task<> zero_copy_sender(nk::tcp::socket& sock, counts& seen) {
    std::array<std::byte, 65536> block{};
    constexpr int sends = 500;
    for (int i = 0; i < 20 + sends; ++i) {
        if (i == 20) {
            seen.before = allocations.load();
        }
        block[0] = static_cast<std::byte>(i);
        auto sent = co_await nka::send_all_zero_copy(sock, block, 10s);
        if (!sent || sent->bytes != block.size()) {
            ++seen.failures;
        }
    }
    seen.after = allocations.load();
    (void)sock.shutdown(nk::shutdown::write);
}

} // namespace

TEST_CASE("500 zero-copy sends after warm-up allocate nothing") {
    auto [a, b] = nk::test::tcp_pair();
    counts seen;
    {
        nka::loop loop;
        loop.spawn(drain(b));
        loop.run(zero_copy_sender(a, seen));
    }
    check_all_succeeded_without_allocating(seen);
}
