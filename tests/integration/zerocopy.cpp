// MSG_ZEROCOPY sends and their completions, after the kernel's selftest
// (tools/testing/selftests/net/msg_zerocopy.c): every send's completion accounted for once,
// within a bounded wait, the bytes checked at a peer reading with plain recv(2).
#include <netkit/io/error_queue.hpp>
#include <netkit/io/zerocopy.hpp>
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <array>
#include <cerrno>
#include <cstddef>
#include <future>
#include <initializer_list>
#include <optional>
#include <span>
#include <vector>

#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {

std::byte pattern(std::size_t send, std::size_t offset) {
    return static_cast<std::byte>((send * 31 + offset * 7) & 0xff);
}

std::vector<std::vector<std::byte>> blocks(std::size_t count, std::size_t size) {
    std::vector<std::vector<std::byte>> out(count, std::vector<std::byte>(size));
    for (std::size_t s = 0; s < count; ++s) {
        for (std::size_t i = 0; i < size; ++i) {
            out[s][i] = pattern(s, i);
        }
    }
    return out;
}

// The tracker, or nothing (with a warning) where this kernel or sandbox refuses SO_ZEROCOPY.
template <class Socket>
std::optional<nk::zerocopy_tracker> tracker_or_skip(Socket& sock) {
    auto tracker = nk::zerocopy_tracker::enable(sock);
    if (!tracker) {
        const auto code = tracker.error().code();
        REQUIRE((code == std::errc::operation_not_permitted ||
                 code == std::errc::no_protocol_option || code == std::errc::invalid_argument));
        WARN("skipped: SO_ZEROCOPY refused: " << tracker.error().message());
        return std::nullopt;
    }
    return std::move(*tracker);
}

// What the test itself knows of the completions, apart from the tracker: how often each send
// was reported, and how many reports were read.
struct ledger {
    std::vector<int> seen;
    std::uint64_t reported = 0;
    std::uint64_t copied = 0;

    explicit ledger(std::size_t sends) : seen(sends, 0) {}

    void account(nk::zerocopy_tracker& tracker, const nk::error_queue_entry& entry) {
        REQUIRE(entry.error.has_value());
        REQUIRE(entry.error->origin == nk::error_origin::zerocopy);
        REQUIRE(entry.size == 0);
        INFO("the kernel's completion [" << entry.error->info << ", " << entry.error->data
                                         << "], the tracker's sends [0, " << tracker.sent() << ")");
        const auto range = tracker.record(*entry.error);
        REQUIRE(range.has_value());
        REQUIRE(range->first == entry.error->info); // fewer than 2^32 sends: the same numbers
        REQUIRE(range->last == entry.error->data);
        REQUIRE(range->last < seen.size());
        for (std::uint64_t id = range->first; id <= range->last; ++id) {
            ++seen[id];
        }
        reported += range->count();
        copied += range->copied ? range->count() : 0;
        // No buffer is ever declared free before its completion was read.
        REQUIRE(tracker.complete_below() <= reported);
        REQUIRE(tracker.completed() == reported);
    }

    // Whatever is queued now, without waiting.
    void drain(nk::zerocopy_tracker& tracker, auto& sock) {
        for (;;) {
            auto entry = nk::read_error_queue(sock);
            if (!entry) {
                REQUIRE(entry.error().would_block());
                return;
            }
            account(tracker, *entry);
        }
    }

    // Until every send is complete, within one deadline for all of them.
    void wait_all(nk::zerocopy_tracker& tracker, auto& sock) {
        const nk::deadline until(10s);
        while (tracker.complete_below() < seen.size()) {
            account(tracker, nk::read_error_queue(sock, {}, until).value());
        }
    }

    // Every send complete, each reported once, and nothing more queued: no completion of a
    // number the tracker did not give.
    void settle(nk::zerocopy_tracker& tracker, auto& sock) {
        wait_all(tracker, sock);
        check_every_send_once(tracker);
        drain(tracker, sock);
        REQUIRE(tracker.anomalies() == 0);
    }

    void check_every_send_once(const nk::zerocopy_tracker& tracker) const {
        for (std::size_t id = 0; id < seen.size(); ++id) {
            INFO("send " << id);
            REQUIRE(seen[id] == 1); // no gap, no repeat
        }
        REQUIRE(tracker.in_flight() == 0);
        REQUIRE(tracker.anomalies() == 0);
        REQUIRE(tracker.copied() == copied);
        REQUIRE(tracker.enobufs_copies() == 0);
        REQUIRE(tracker.window_copies() == 0);
    }
};

bool has_ipv6_loopback() {
    auto sock = nk::udp::socket::open(nk::ip::v6);
    return sock && sock->bind(nk::ip::endpoint(nk::ip::address_v6::loopback(), 0)).has_value();
}

// The family to test on, or nothing (with a warning) where this host has no IPv6 loopback.
std::optional<nk::ip::family> family_or_skip(nk::ip::family family) {
    if (family == nk::ip::v6 && !has_ipv6_loopback()) {
        WARN("skipped: no IPv6 loopback");
        return std::nullopt;
    }
    return family;
}

// The next datagram at `receiver` (a blocking receive, bounded by the socket's timeout): it must
// hold exactly `pieces`, one after another.
void expect_datagram(nk::udp::socket& receiver,
                     std::initializer_list<std::span<const std::byte>> pieces) {
    std::vector<std::byte> expected;
    for (const auto piece : pieces) {
        expected.insert(expected.end(), piece.begin(), piece.end());
    }
    std::vector<std::byte> got(expected.size() + 1);
    const ssize_t size = ::recv(receiver.native_handle(), got.data(), got.size(), 0);
    REQUIRE(size == static_cast<ssize_t>(expected.size()));
    got.resize(expected.size());
    REQUIRE(got == expected);
}

} // namespace

TEST_CASE("zerocopy: N sends over TCP, every completion once, copied on loopback") {
    auto [client, server] = nk::test::tcp_pair();
    auto tracker = tracker_or_skip(client);
    if (!tracker) {
        return;
    }
    constexpr std::size_t count = 64;
    constexpr std::size_t size = 16384;
    const auto data = blocks(count, size);
    // The peer reads with plain recv(2) on its own thread, so the sender never stalls on a full
    // window, and checks every byte: a buffer sent twice or cut short cannot pass.
    auto received = std::async(std::launch::async, [fd = server.native_handle()] {
        std::vector<std::byte> all(count * size);
        std::size_t at = 0;
        while (at < all.size()) {
            const ssize_t got = ::recv(fd, all.data() + at, all.size() - at, 0);
            if (got <= 0) {
                return false;
            }
            at += static_cast<std::size_t>(got);
        }
        for (std::size_t s = 0; s < count; ++s) {
            for (std::size_t i = 0; i < size; ++i) {
                if (all[s * size + i] != pattern(s, i)) {
                    return false;
                }
            }
        }
        return true;
    });

    ledger book(count);
    for (std::size_t s = 0; s < count; ++s) {
        const auto sent = nk::send_zerocopy(client, *tracker, data[s]).value();
        REQUIRE(sent.bytes == size); // a blocking TCP send takes the whole buffer
        REQUIRE(sent.id == s);
        REQUIRE(tracker->sent() == s + 1);
        book.drain(*tracker, client);
    }
    book.wait_all(*tracker, client);
    REQUIRE(received.get());
    book.check_every_send_once(*tracker);
    REQUIRE(tracker->completed() == count);
    REQUIRE(tracker->complete_below() == count);
    REQUIRE(tracker->copied() == count); // loopback always copies
}

TEST_CASE("zerocopy: N datagrams over UDP, every completion once, copied on loopback") {
    auto [sender, receiver] = nk::test::udp_sockets();
    auto tracker = tracker_or_skip(sender);
    if (!tracker) {
        return;
    }
    constexpr std::size_t count = 32;
    constexpr std::size_t size = 4000;
    const auto data = blocks(count, size);
    const auto peer = receiver.local_endpoint().value();

    ledger book(count);
    std::vector<std::byte> got(size + 1);
    for (std::size_t s = 0; s < count; ++s) {
        const auto sent = nk::send_zerocopy_to(sender, *tracker, data[s], peer).value();
        REQUIRE(sent.bytes == size);
        REQUIRE(sent.id == s);
        // Loopback delivers within the send: the peer checks each datagram before the next.
        REQUIRE(::recv(receiver.native_handle(), got.data(), got.size(), 0) ==
                static_cast<ssize_t>(size));
        for (std::size_t i = 0; i < size; ++i) {
            REQUIRE(got[i] == pattern(s, i));
        }
        book.drain(*tracker, sender);
    }
    REQUIRE(::recv(receiver.native_handle(), got.data(), got.size(), MSG_DONTWAIT) < 0);
    book.wait_all(*tracker, sender);
    book.check_every_send_once(*tracker);
    REQUIRE(tracker->copied() == count);
}

TEST_CASE("zerocopy: a full window copies instead, and nothing is declared free unread") {
    auto [sender, receiver] = nk::test::udp_sockets();
    auto tracker = tracker_or_skip(sender);
    if (!tracker) {
        return;
    }
    sender.connect_to(receiver.local_endpoint().value()).value();
    const std::array<std::byte, 16> small{};
    for (std::size_t s = 0; s < nk::zerocopy_tracker::window; ++s) {
        REQUIRE(nk::send_zerocopy(sender, *tracker, small).value().id == s);
        // Completed or not in the kernel, nothing is complete until a completion is read.
        REQUIRE(tracker->complete_below() == 0);
    }
    const auto over = nk::send_zerocopy(sender, *tracker, small).value();
    REQUIRE(over.bytes == small.size());
    REQUIRE_FALSE(over.id.has_value()); // copied: the buffer is free at once
    REQUIRE(tracker->window_copies() == 1);
    REQUIRE(tracker->sent() == nk::zerocopy_tracker::window);

    const auto reaped = tracker->reap_until(sender, tracker->sent(), 10s).value();
    REQUIRE(reaped.completed == nk::zerocopy_tracker::window);
    REQUIRE(reaped.foreign == 0);
    REQUIRE(tracker->complete_below() == nk::zerocopy_tracker::window);
    REQUIRE(tracker->anomalies() == 0);
    // The kernel numbered only the zero-copy sends: the next one is the window's number.
    REQUIRE(nk::send_zerocopy(sender, *tracker, small).value().id == nk::zerocopy_tracker::window);
    tracker->reap_until(sender, tracker->sent(), 10s).value();
    REQUIRE(tracker->anomalies() == 0);
    REQUIRE(tracker->in_flight() == 0);
}

TEST_CASE("zerocopy: a tracker refuses another socket's sends") {
    auto [a, b] = nk::test::udp_sockets();
    auto tracker = tracker_or_skip(a);
    if (!tracker) {
        return;
    }
    const std::array<std::byte, 4> bytes{};
    const auto wrong = nk::send_zerocopy_to(b, *tracker, bytes, a.local_endpoint().value());
    REQUIRE_FALSE(wrong);
    REQUIRE(wrong.error() == std::errc::invalid_argument);
    REQUIRE(tracker->sent() == 0);
}

TEST_CASE("zerocopy: record takes an error-queue payload of either family, and numbers only") {
    auto [sender, receiver] = nk::test::udp_sockets();
    auto tracker = tracker_or_skip(sender);
    if (!tracker) {
        return;
    }
    const std::array<std::byte, 4> bytes{};
    const auto peer = receiver.local_endpoint().value();
    for (int i = 0; i < 2; ++i) {
        REQUIRE(nk::send_zerocopy_to(sender, *tracker, bytes, peer).has_value());
    }
    REQUIRE(tracker->sent() == 2);
    // As the kernel would report them: send 0 from an IPv4 socket's IP_RECVERR, send 1 from an
    // IPv6 one's, and an ICMP error in between that is not a completion.
    nk::cmsg::ip_extended_error first{};
    first.origin = nk::error_origin::zerocopy;
    nk::cmsg::ipv6_extended_error second{};
    second.origin = nk::error_origin::zerocopy;
    second.info = 1;
    second.data = 1;
    nk::extended_error icmp{};
    icmp.origin = nk::error_origin::icmp;
    icmp.info = 0;
    icmp.data = 1;
    const auto from_v4 = tracker->record(first);
    REQUIRE(from_v4.has_value());
    REQUIRE((from_v4->first == 0 && from_v4->last == 0 && !from_v4->copied));
    REQUIRE_FALSE(tracker->record(icmp).has_value());
    REQUIRE(tracker->complete_below() == 1);
    const auto from_v6 = tracker->record(second);
    REQUIRE(from_v6.has_value());
    REQUIRE((from_v6->first == 1 && from_v6->last == 1 && !from_v6->copied));
    REQUIRE(tracker->complete_below() == 2);
    REQUIRE(tracker->completed() == 2);
    REQUIRE(tracker->anomalies() == 0);
}

TEST_CASE("zerocopy: ENOBUFS falls back to one ordinary send of the same bytes") {
    // Pinned pages are charged to RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK: a child
    // without both has every zero-copy send refused with ENOBUFS.
    auto [probe, receiver] = nk::test::udp_sockets();
    if (!tracker_or_skip(probe)) {
        return;
    }
    const auto peer = receiver.local_endpoint().value();
    const auto data = blocks(1, 3000);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
        std::array<__user_cap_data_struct, 2> caps{};
        if (::syscall(SYS_capget, &header, caps.data()) != 0) {
            ::_exit(10);
        }
        caps[0].effective &= ~(1U << CAP_IPC_LOCK);
        const rlimit none{0, 0};
        if (::syscall(SYS_capset, &header, caps.data()) != 0 ||
            ::setrlimit(RLIMIT_MEMLOCK, &none) != 0) {
            ::_exit(10);
        }
        auto sock = nk::udp::socket::open(nk::ip::v4);
        if (!sock) {
            ::_exit(11);
        }
        auto tracker = nk::zerocopy_tracker::enable(*sock);
        if (!tracker) {
            ::_exit(11);
        }
        auto sent = nk::send_zerocopy_to(*sock, *tracker, data[0], peer);
        if (!sent || sent->bytes != data[0].size()) {
            ::_exit(12);
        }
        if (sent->id.has_value()) {
            ::_exit(20); // the kernel did not refuse: nothing to show here
        }
        // A failed datagram send ends the numbering: the tracker can no longer tell whether the
        // kernel numbered it, so it declares nothing complete from then on.
        if (!tracker->numbering_lost()) {
            ::_exit(14);
        }
        ::_exit(tracker->enobufs_copies() == 1 && tracker->sent() == 0 ? 0 : 13);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 10 || WEXITSTATUS(status) == 20) {
        WARN("skipped: could not provoke ENOBUFS here (status " << WEXITSTATUS(status) << ")");
        return;
    }
    REQUIRE(WEXITSTATUS(status) == 0);
    // Exactly one datagram, the same bytes.
    std::vector<std::byte> got(4000);
    REQUIRE(::recv(receiver.native_handle(), got.data(), got.size(), 0) == 3000);
    for (std::size_t i = 0; i < 3000; ++i) {
        REQUIRE(got[i] == pattern(0, i));
    }
    REQUIRE(::recv(receiver.native_handle(), got.data(), got.size(), MSG_DONTWAIT) < 0);
}

// The kernel numbers an empty UDP zero-copy send that starts a datagram (its length counts the
// 8-byte UDP header), and not one that joins a corked datagram; the tracker cannot tell the two
// apart, so an empty send must leave both numberings alone. Every completion the kernel reports
// must be exactly the tracker's numbers (the ledger requires it of each one), with no anomaly.
TEST_CASE("zerocopy: empty datagrams keep the tracker's numbers the kernel's") {
    const auto family = family_or_skip(GENERATE(nk::ip::v4, nk::ip::v6));
    if (!family) {
        return;
    }
    INFO((*family == nk::ip::v4 ? "IPv4" : "IPv6"));
    auto [sender, receiver] = nk::test::udp_sockets(*family);
    auto tracker = tracker_or_skip(sender);
    if (!tracker) {
        return;
    }
    const auto peer = receiver.local_endpoint().value();
    sender.connect_to(peer).value();
    const auto data = blocks(3, 100);
    const std::span<const std::byte> nothing;

    // send(2), sendto(2) and sendmsg(2) (a gather), each empty, then one with bytes.
    const auto empty_send = nk::send_zerocopy(sender, *tracker, nothing).value();
    REQUIRE(empty_send.bytes == 0);
    REQUIRE_FALSE(empty_send.id.has_value()); // no bytes held: nothing to wait for
    expect_datagram(receiver, {});
    REQUIRE(nk::send_zerocopy(sender, *tracker, data[0]).value().id == 0);
    expect_datagram(receiver, {data[0]});

    const auto empty_to = nk::send_zerocopy_to(sender, *tracker, nothing, peer).value();
    REQUIRE(empty_to.bytes == 0);
    REQUIRE_FALSE(empty_to.id.has_value());
    expect_datagram(receiver, {});
    REQUIRE(nk::send_zerocopy_to(sender, *tracker, data[1], peer).value().id == 1);
    expect_datagram(receiver, {data[1]});

    const auto empty_gather =
        nk::send_zerocopy(sender, *tracker, nk::exact_gather(nk::gather(nothing, nothing))).value();
    REQUIRE(empty_gather.bytes == 0);
    REQUIRE_FALSE(empty_gather.id.has_value());
    expect_datagram(receiver, {});
    REQUIRE(nk::send_zerocopy(sender, *tracker, data[2]).value().id == 2);
    expect_datagram(receiver, {data[2]});
    REQUIRE(tracker->sent() == 3);

    ledger book(3);
    book.wait_all(*tracker, sender);
    book.check_every_send_once(*tracker);
    for (std::uint64_t id = 0; id < 3; ++id) {
        REQUIRE(tracker->is_complete(id));
    }
    REQUIRE(tracker->reap_until(sender, tracker->sent(), 10s).has_value());
    REQUIRE_FALSE(tracker->numbering_lost());
    // Nothing more is queued: no completion of a number the tracker did not give.
    book.drain(*tracker, sender);
    REQUIRE(tracker->anomalies() == 0);
}

TEST_CASE("zerocopy: empty sends into a corked datagram keep the numbering") {
    const auto family = family_or_skip(GENERATE(nk::ip::v4, nk::ip::v6));
    if (!family) {
        return;
    }
    INFO((*family == nk::ip::v4 ? "IPv4" : "IPv6"));
    auto [sender, receiver] = nk::test::udp_sockets(*family);
    auto tracker = tracker_or_skip(sender);
    if (!tracker) {
        return;
    }
    sender.connect_to(receiver.local_endpoint().value()).value();
    const auto data = blocks(4, 100);
    const std::span<const std::byte> nothing;
    const auto more = nk::send_flag::more;

    // MSG_MORE: an empty send that starts the datagram, one in its middle, one that ends it.
    REQUIRE_FALSE(nk::send_zerocopy(sender, *tracker, nothing, more).value().id.has_value());
    REQUIRE(nk::send_zerocopy(sender, *tracker, data[0], more).value().id == 0);
    REQUIRE_FALSE(nk::send_zerocopy(sender, *tracker, nothing, more).value().id.has_value());
    REQUIRE(nk::send_zerocopy(sender, *tracker, data[1], more).value().id == 1);
    REQUIRE_FALSE(nk::send_zerocopy(sender, *tracker, nothing).value().id.has_value());
    expect_datagram(receiver, {data[0], data[1]});

    // UDP_CORK: the same, the datagram ending when the socket is uncorked.
    sender.set(nk::udp::cork, true).value();
    REQUIRE_FALSE(nk::send_zerocopy(sender, *tracker, nothing).value().id.has_value());
    REQUIRE(nk::send_zerocopy(sender, *tracker, data[2]).value().id == 2);
    REQUIRE_FALSE(nk::send_zerocopy(sender, *tracker, nothing).value().id.has_value());
    REQUIRE(nk::send_zerocopy(sender, *tracker, data[3]).value().id == 3);
    sender.set(nk::udp::cork, false).value();
    expect_datagram(receiver, {data[2], data[3]});
    REQUIRE(tracker->sent() == 4);

    ledger book(4);
    book.settle(*tracker, sender);
}

TEST_CASE("zerocopy: an empty send on TCP is not numbered") {
    const auto family = family_or_skip(GENERATE(nk::ip::v4, nk::ip::v6));
    if (!family) {
        return;
    }
    INFO((*family == nk::ip::v4 ? "IPv4" : "IPv6"));
    auto [client, server] = nk::test::tcp_pair(*family);
    auto tracker = tracker_or_skip(client);
    if (!tracker) {
        return;
    }
    const auto data = blocks(2, 100);
    const std::span<const std::byte> nothing;
    const auto empty = nk::send_zerocopy(client, *tracker, nothing).value();
    REQUIRE(empty.bytes == 0);
    REQUIRE_FALSE(empty.id.has_value());
    REQUIRE(nk::send_zerocopy(client, *tracker, data[0]).value().id == 0);
    REQUIRE_FALSE(nk::send_zerocopy(client, *tracker, nothing).value().id.has_value());
    REQUIRE(nk::send_zerocopy(client, *tracker, data[1]).value().id == 1);
    REQUIRE(tracker->sent() == 2);

    ledger book(2);
    book.settle(*tracker, client);
    std::vector<std::byte> got(200);
    REQUIRE(server.receive_exact(got).value() == got.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        REQUIRE(got[i] == pattern(i / 100, i % 100));
    }
}

// A failed empty send was never numbered by the kernel (it was made without MSG_ZEROCOPY), so
// unlike a failed datagram send with bytes it leaves the numbering intact.
TEST_CASE("zerocopy: a failed empty datagram send keeps the numbering") {
    const auto family = family_or_skip(GENERATE(nk::ip::v4, nk::ip::v6));
    if (!family) {
        return;
    }
    INFO((*family == nk::ip::v4 ? "IPv4" : "IPv6"));
    auto [sender, receiver] = nk::test::udp_sockets(*family);
    auto tracker = tracker_or_skip(sender);
    if (!tracker) {
        return;
    }
    const auto port_zero = *family == nk::ip::v4
                               ? nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)
                               : nk::ip::endpoint(nk::ip::address_v6::loopback(), 0);
    const std::span<const std::byte> nothing;
    const auto refused = nk::send_zerocopy_to(sender, *tracker, nothing, port_zero);
    REQUIRE_FALSE(refused.has_value());
    REQUIRE(refused.error() == std::errc::invalid_argument); // port 0: refused before any packet
    REQUIRE_FALSE(tracker->numbering_lost());

    const auto data = blocks(1, 100);
    const auto peer = receiver.local_endpoint().value();
    REQUIRE(nk::send_zerocopy_to(sender, *tracker, data[0], peer).value().id == 0);
    expect_datagram(receiver, {data[0]});
    ledger book(1);
    book.wait_all(*tracker, sender);
    book.check_every_send_once(*tracker);
    REQUIRE(tracker->reap_until(sender, tracker->sent(), 10s).has_value());
}
