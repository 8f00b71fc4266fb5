// io_uring spoken through its system calls (sys/io_uring*.hpp) on a real ring: round trips of
// the submissions the engine makes, multishot accept and receive with a provided buffer ring,
// running out of buffers, an overflowing CQ ring, fork with a ring open, and io_uring forbidden
// by a seccomp filter (the fallback's trigger). Where io_uring itself is unavailable (a
// container that forbids it) each case says so and skips.
#include <netkit/sys/io_uring.hpp>
#include <netkit/sys/io_uring_buffer_ring.hpp>
#include <netkit/sys/io_uring_ops.hpp>
#include <netkit/sys/io_uring_probe.hpp>

#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/io_uring.hpp"
#include "support/seccomp.hpp"
#include "support/sockets.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nk = netkit;
namespace uring = netkit::detail::uring;
using namespace std::chrono_literals;
using namespace std::string_view_literals;

namespace {

using netkit::test::make_ring;

/// One completion, copied out of the CQ ring.
struct completion {
    std::uint64_t user_data;
    std::int32_t res;
    std::uint32_t flags;

    /// The completion as the kernel wrote it, for the helpers that read one.
    [[nodiscard]] uring::cqe entry() const noexcept {
        uring::cqe c{};
        c.user_data = user_data;
        c.res = res;
        c.flags = flags;
        return c;
    }
};

/// Submits what is prepared and collects completions until `count` have come (10 s at most).
std::vector<completion> collect(uring::ring& r, std::size_t count) {
    std::vector<completion> got;
    const auto limit = nk::deadline::after(10s);
    while (got.size() < count && !limit.expired()) {
        REQUIRE(r.submit_and_wait(1, limit).has_value());
        r.for_each_completion([&](const uring::cqe& c) {
            got.push_back({c.user_data, c.res, c.flags});
        });
    }
    REQUIRE(got.size() == count);
    return got;
}

/// Collects until a completion of `user_data` without IORING_CQE_F_MORE: the last of a
/// multishot request. Returns every completion of that request, in order.
std::vector<completion> collect_until_last(uring::ring& r, std::uint64_t user_data) {
    std::vector<completion> got;
    const auto limit = nk::deadline::after(10s);
    bool ended = false;
    while (!ended && !limit.expired()) {
        REQUIRE(r.submit_and_wait(1, limit).has_value());
        r.for_each_completion([&](const uring::cqe& c) {
            if (c.user_data == user_data) {
                got.push_back({c.user_data, c.res, c.flags});
                ended = ended || !uring::has_more(c);
            }
        });
    }
    REQUIRE(ended);
    return got;
}

uring::sqe& next(uring::ring& r) {
    uring::sqe* entry = r.next_sqe();
    REQUIRE(entry != nullptr);
    return *entry;
}

std::span<const std::byte> bytes_of(std::string_view text) {
    return std::as_bytes(std::span(text.data(), text.size()));
}

std::string text_of(std::span<const std::byte> bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// True if this process maps a ring's memory ("anon_inode:[io_uring]" in /proc/self/maps).
bool maps_io_uring() {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        if (line.find("[io_uring]") != std::string::npos) {
            return true;
        }
    }
    return false;
}

} // namespace

TEST_CASE("a ring is set up with the strongest flags the kernel takes, and NOPs round trip") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    // Linux 6.1 and later take SINGLE_ISSUER with DEFER_TASKRUN.
    CHECK((r->setup_flags() & uring::setup_deferred) == uring::setup_deferred);
    CHECK(r->completion_capacity() >= r->submission_capacity());
    for (std::uint64_t id = 1; id <= 3; ++id) {
        uring::prepare_nop(next(*r), id);
    }
    CHECK(r->unsubmitted() == 3);
    const auto got = collect(*r, 3);
    CHECK(r->unsubmitted() == 0);
    for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].user_data == i + 1);
        CHECK(got[i].res == 0);
    }
}

TEST_CASE("each weaker set of setup flags gives a working ring") {
    for (const std::uint32_t flags : {uring::setup_cooperative, uring::setup_plain}) {
        auto r = make_ring({.submission_entries = 8, .completion_entries = 0, .flags = flags});
        if (!r) {
            return;
        }
        CHECK(r->setup_flags() == (flags | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP));
        uring::prepare_nop(next(*r), 9);
        CHECK(collect(*r, 1).front().user_data == 9);
    }
}

TEST_CASE("the SQ refuses more entries than it has until they are submitted") {
    auto r = make_ring({.submission_entries = 4, .completion_entries = 8});
    if (!r) {
        return;
    }
    REQUIRE(r->submission_capacity() == 4);
    for (std::uint64_t id = 0; id < 4; ++id) {
        uring::prepare_nop(next(*r), id);
    }
    CHECK(r->next_sqe() == nullptr);
    CHECK(r->submit().value() == 4);
    uring::sqe* again = r->next_sqe(); // consumed: the slots are free again
    REQUIRE(again != nullptr);
    uring::prepare_nop(*again, 4);
    CHECK(collect(*r, 5).size() == 5);
}

TEST_CASE("the probe knows NOP and RECV, every opcode the engine needs, and no opcode past the "
          "kernel's last") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    const auto p = uring::probe::of(*r).value();
    CHECK(p.supports(IORING_OP_NOP));
    CHECK(p.supports(IORING_OP_RECV));
    for (const unsigned op :
         {IORING_OP_ACCEPT, IORING_OP_SEND, IORING_OP_SENDMSG, IORING_OP_RECVMSG, IORING_OP_SEND_ZC,
          IORING_OP_TIMEOUT, IORING_OP_LINK_TIMEOUT, IORING_OP_ASYNC_CANCEL, IORING_OP_POLL_ADD,
          IORING_OP_CLOSE}) {
        CHECK(p.supports(op));
    }
    CHECK(p.last_opcode() >= IORING_OP_LAST - 1); // 6.1's headers; this kernel knows at least that
    CHECK_FALSE(p.supports(p.last_opcode() + 1));
    CHECK_FALSE(p.supports(255));
    CHECK_FALSE(p.supports(1000));
}

TEST_CASE("a recv on a socketpair completes when the peer sends") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    auto [a, b] = nk::test::local_pair<nk::local::stream_protocol>();
    std::array<std::byte, 64> into{};
    uring::prepare_recv(next(*r), a.native_handle(), into, 0, 7);
    REQUIRE(r->submit().value() == 1);
    CHECK(r->ready() == 0); // nothing to read yet
    REQUIRE(b.send_all("hello"sv).value() == 5);
    const auto got = collect(*r, 1);
    CHECK(got[0].user_data == 7);
    REQUIRE(got[0].res == 5);
    CHECK(text_of(std::span(into).first(5)) == "hello");
}

TEST_CASE("send, sendmsg, poll and close round trip on a socketpair") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    auto [a, b] = nk::test::local_pair<nk::local::stream_protocol>();
    uring::prepare_poll_add(next(*r), b.native_handle(), POLLIN, false, 1);
    uring::prepare_send(next(*r), a.native_handle(), bytes_of("send,"), 0, 2);
    std::string second = "sendmsg";
    iovec part{second.data(), second.size()};
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    uring::prepare_sendmsg(next(*r), a.native_handle(), message, 0, 3);
    const int copy = ::dup(a.native_handle());
    REQUIRE(copy >= 0);
    uring::prepare_close(next(*r), copy, 4);
    auto got = collect(*r, 4);
    std::sort(got.begin(), got.end(),
              [](const completion& x, const completion& y) { return x.user_data < y.user_data; });
    CHECK((got[0].res & POLLIN) != 0);
    CHECK(got[1].res == 5);
    CHECK(got[2].res == 7);
    CHECK(got[3].res == 0); // the duplicate is closed, the original stays open
    std::array<char, 32> read{};
    REQUIRE(b.receive_exact(std::span(read).first(12)).has_value());
    CHECK(std::string_view(read.data(), 12) == "send,sendmsg");
}

TEST_CASE("a linked timeout cancels a recv that gets no data, and a timeout fires on its own") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    auto [a, b] = nk::test::local_pair<nk::local::stream_protocol>();
    std::array<std::byte, 8> into{};
    const auto soon = uring::to_kernel_timespec(1ms);
    uring::sqe& receive = next(*r);
    uring::prepare_recv(receive, a.native_handle(), into, 0, 1);
    uring::link_next(receive);
    uring::prepare_link_timeout(next(*r), soon, 0, 2);
    uring::prepare_timeout(next(*r), soon, 0, 0, 3);
    auto got = collect(*r, 3);
    std::sort(got.begin(), got.end(),
              [](const completion& x, const completion& y) { return x.user_data < y.user_data; });
    CHECK(got[0].res == -ECANCELED);
    CHECK(got[1].res == -ETIME);
    CHECK(got[2].res == -ETIME);
}

TEST_CASE("a wait whose deadline passes returns without completions and without an error") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    const auto waited = r->submit_and_wait(1, nk::deadline::after(1ms));
    REQUIRE(waited.has_value());
    CHECK(*waited == 0);
    CHECK(r->ready() == 0);
}

TEST_CASE("multishot accept takes three connections, and a cancel ends it") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    auto listener =
        nk::tcp::acceptor::listen(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    constexpr std::uint64_t accepting = 10;
    uring::prepare_accept_multishot(next(*r), listener.native_handle(), SOCK_CLOEXEC, accepting);
    REQUIRE(r->submit().has_value());
    std::vector<nk::tcp::socket> clients;
    clients.reserve(3);
    for (int i = 0; i < 3; ++i) {
        clients.push_back(nk::tcp::socket::connect(listener.local_endpoint().value()).value());
    }
    std::vector<nk::file_descriptor> accepted;
    for (const auto& c : collect(*r, 3)) {
        CHECK(c.user_data == accepting);
        REQUIRE(c.res >= 0);
        accepted.emplace_back(c.res);
        CHECK(uring::has_more(c.entry())); // still accepting
    }
    CHECK(accepted.size() == 3);
    uring::prepare_cancel(next(*r), accepting, 0, 11);
    auto ended = collect(*r, 2);
    std::sort(ended.begin(), ended.end(),
              [](const completion& x, const completion& y) { return x.user_data < y.user_data; });
    CHECK(ended[0].res == -ECANCELED);
    CHECK_FALSE(uring::has_more(ended[0].entry())); // the multishot request is over
    CHECK(ended[1].res == 0);                       // the cancel found it
}

TEST_CASE("multishot recv takes provided buffers, which are given back, until the stream ends") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    auto buffers = uring::buffer_ring::create(*r, 1, 4, 64).value();
    auto [a, b] = nk::test::local_pair<nk::local::stream_protocol>();
    constexpr std::uint64_t receiving = 20;
    uring::prepare_recv_multishot(next(*r), a.native_handle(), buffers.group(), 0, receiving);
    REQUIRE(r->submit().has_value());
    // Ten messages through four buffers: each is given back once read.
    for (int i = 0; i < 10; ++i) {
        const std::string message = "message " + std::to_string(i);
        REQUIRE(b.send_all(message).has_value());
        const auto got = collect(*r, 1);
        REQUIRE(got[0].user_data == receiving);
        REQUIRE(got[0].res == static_cast<std::int32_t>(message.size()));
        CHECK(uring::has_more(got[0].entry()));
        const uring::cqe c = got[0].entry();
        REQUIRE(uring::has_buffer(c));
        CHECK(text_of(buffers.received(c)) == message);
        buffers.give_back(uring::buffer_id(c));
    }
    REQUIRE(b.close().has_value());
    const auto last = collect_until_last(*r, receiving);
    REQUIRE(last.size() == 1);
    CHECK(last[0].res == 0); // end of stream, and the request is over
}

TEST_CASE("multishot recv ends with ENOBUFS when the buffers run out, and goes on once they are "
          "given back and it is armed again") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    auto buffers = uring::buffer_ring::create(*r, 2, 2, 16).value();
    auto [a, b] = nk::test::local_pair<nk::local::stream_protocol>();
    const std::string sent = "0123456789abcdefGHIJKLMNOPQRSTUVwxyz-+*/";
    REQUIRE(b.send_all(sent).has_value()); // 40 bytes for two buffers of 16
    constexpr std::uint64_t receiving = 30;
    uring::prepare_recv_multishot(next(*r), a.native_handle(), buffers.group(), 0, receiving);
    const auto first = collect_until_last(*r, receiving);
    REQUIRE(first.size() == 3);
    std::string received;
    for (int i = 0; i < 2; ++i) {
        const uring::cqe c = first[static_cast<std::size_t>(i)].entry();
        REQUIRE(c.res == 16);
        REQUIRE(uring::has_buffer(c));
        received += text_of(buffers.received(c));
    }
    // Out of buffers: the last completion is ENOBUFS, carries none, and ends the request.
    CHECK(first[2].res == -ENOBUFS);
    CHECK_FALSE(uring::has_buffer(first[2].entry()));
    // Both buffers back in one publish, then armed again: the 8 bytes left come.
    buffers.stage(uring::buffer_id(first[0].entry()));
    buffers.stage(uring::buffer_id(first[1].entry()));
    buffers.publish();
    uring::prepare_recv_multishot(next(*r), a.native_handle(), buffers.group(), 0, receiving);
    const auto rest = collect(*r, 1);
    REQUIRE(rest[0].res == 8);
    CHECK(uring::has_more(rest[0].entry()));
    received += text_of(buffers.received(rest[0].entry()));
    CHECK(received == sent);
    REQUIRE(b.close().has_value());
    CHECK(collect_until_last(*r, receiving).back().res == 0);
}

TEST_CASE("a CQ ring too small for the completions overflows without losing any") {
    auto r = make_ring({.submission_entries = 4, .completion_entries = 4});
    if (!r) {
        return;
    }
    REQUIRE(r->completion_capacity() == 4);
    std::vector<std::uint64_t> seen;
    std::uint64_t next_id = 0;
    bool overflowed = false;
    for (int batch = 0; batch < 4; ++batch) { // 16 NOPs for a CQ ring of 4, not reaped
        for (int i = 0; i < 4; ++i) {
            uring::prepare_nop(next(*r), next_id++);
        }
        const auto submitted = r->submit();
        if (!submitted) { // EBUSY: the kernel asks us to reap first (back-pressure)
            CHECK(submitted.error() == std::errc::device_or_resource_busy);
            break;
        }
        overflowed = overflowed || r->overflowed();
    }
    CHECK(overflowed); // reported, not silently lost
    CHECK(r->dropped() == 0);
    const auto limit = nk::deadline::after(10s);
    while (seen.size() < next_id && !limit.expired()) {
        r->for_each_completion([&](const uring::cqe& c) { seen.push_back(c.user_data); });
        REQUIRE(r->submit_and_wait(0, limit).has_value()); // moves the overflow in
    }
    std::sort(seen.begin(), seen.end());
    CHECK(seen.size() == next_id);
    CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
    CHECK_FALSE(r->overflowed());
    CHECK(r->dropped() == 0);
}

TEST_CASE("send_zc completes twice: the send, then the notification that frees the buffer") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    auto [client, server] = nk::test::tcp_pair();
    const std::string payload(4096, 'z');
    uring::prepare_send_zc(next(*r), client.native_handle(), bytes_of(payload), 0, 0, 40);
    const auto got = collect(*r, 2);
    CHECK(got[0].res == 4096);
    CHECK(uring::has_more(got[0].entry()));
    CHECK_FALSE(uring::is_notification(got[0].entry()));
    CHECK(uring::is_notification(got[1].entry()));
    CHECK_FALSE(uring::has_more(got[1].entry()));
    std::string read(4096, '\0');
    REQUIRE(server.receive_exact(std::span(read)).has_value());
    CHECK(read == payload);
}

TEST_CASE("multishot recvmsg puts each datagram, with its sender, in a provided buffer") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    auto buffers = uring::buffer_ring::create(*r, 3, 4, 256).value();
    auto [receiver, sender] = nk::test::udp_sockets();
    msghdr layout{};
    layout.msg_namelen = sizeof(sockaddr_in);
    constexpr std::uint64_t receiving = 50;
    uring::prepare_recvmsg_multishot(next(*r), receiver.native_handle(), layout, buffers.group(), 0,
                                     receiving);
    REQUIRE(r->submit().has_value());
    const auto to = receiver.local_endpoint().value();
    REQUIRE(sender.send_to("first"sv, to).has_value());
    REQUIRE(sender.send_to("second"sv, to).has_value());
    const auto got = collect(*r, 2);
    const auto from = sender.local_endpoint().value();
    std::vector<std::string> payloads;
    for (const auto& g : got) {
        const uring::cqe c = g.entry();
        REQUIRE(uring::has_buffer(c));
        CHECK(uring::has_more(c));
        const auto message =
            uring::parse_recvmsg(buffers.buffer(uring::buffer_id(c)), g.res, layout);
        CHECK_FALSE(message.truncated());
        payloads.push_back(text_of(message.payload));
        REQUIRE(message.name.size() == sizeof(sockaddr_in));
        sockaddr_in peer{};
        std::memcpy(&peer, message.name.data(), sizeof peer);
        CHECK(ntohs(peer.sin_port) == from.port());
        buffers.give_back(uring::buffer_id(c));
    }
    CHECK(payloads == std::vector<std::string>{"first", "second"});
    uring::prepare_cancel(next(*r), receiving, 0, 51);
    CHECK(collect_until_last(*r, receiving).back().res == -ECANCELED);
}

TEST_CASE("fork with a ring open: the child has none of its memory and cannot use it, and the "
          "parent's ring goes on") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    auto [a, b] = nk::test::local_pair<nk::local::stream_protocol>();
    std::array<std::byte, 64> into{};
    uring::prepare_recv(next(*r), a.native_handle(), into, 0, 42); // in flight across the fork
    REQUIRE(r->submit().has_value());
    REQUIRE(maps_io_uring());
    const bool single_issuer = (r->setup_flags() & IORING_SETUP_SINGLE_ISSUER) != 0;
    enum : int {
        still_mapped = 1,
        entered = 2,
        destroyed = 4
    };
    const int status = nk::test::run_in_child([&] {
        int wrong = 0;
        wrong |= maps_io_uring() ? still_mapped : 0; // MADV_DONTFORK
        if (single_issuer) {
            const auto tried = uring::enter(r->fd(), 0, 0, IORING_ENTER_GETEVENTS, nullptr, 0);
            wrong |= !tried && tried.error() == std::errc::file_exists ? 0 : entered;
        }
        { // destroying the child's copy unmaps nothing and closes only the child's descriptor
            const auto gone = std::move(*r);
        }
        wrong |= r->fd() == -1 ? 0 : destroyed;
        return wrong;
    });
    REQUIRE(status >= 0);
    CHECK((status & still_mapped) == 0);
    CHECK((status & entered) == 0);
    CHECK((status & destroyed) == 0);
    REQUIRE(b.send_all("after fork"sv).value() == 10);
    const auto got = collect(*r, 1);
    CHECK(got[0].user_data == 42);
    REQUIRE(got[0].res == 10);
    CHECK(text_of(std::span(into).first(10)) == "after fork");
    uring::prepare_nop(next(*r), 43);
    CHECK(collect(*r, 1)[0].user_data == 43);
}

TEST_CASE("io_uring_setup forbidden by seccomp fails with EPERM, an ordinary error") {
    const int status = nk::test::run_in_child([] {
        if (!nk::test::refuse_system_call(__NR_io_uring_setup, EPERM)) {
            return nk::test::child_cannot_filter;
        }
        const auto made = uring::ring::create();
        if (made) {
            return 1;
        }
        if (made.error() != std::errc::operation_not_permitted) {
            return 2;
        }
        return made.error().message() == "io_uring_setup: Operation not permitted" ? 0 : 3;
    });
    if (status == nk::test::child_cannot_filter) {
        WARN("skipped: this process may not install a seccomp filter");
        return;
    }
    CHECK(status == 0);
}
