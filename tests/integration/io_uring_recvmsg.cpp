// Datagrams through a multishot IORING_OP_RECVMSG into a provided buffer ring (sys/ only): a
// UDP_GRO receive split into the datagrams that were sent, a datagram too large for its buffer
// reported as truncated, and a request that ends while its socket is still good (out of buffers,
// a full CQ ring) armed again without losing a datagram. The peer sends with plain send(2) and
// sendmsg(2) with UDP_SEGMENT, not through netkit. Where io_uring itself is unavailable each
// case says so and skips.
#include <netkit/sys/io_uring_multishot.hpp>

#include <netkit/sys/io_uring.hpp>
#include <netkit/sys/io_uring_buffer_ring.hpp>
#include <netkit/sys/io_uring_ops.hpp>

#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/io_uring.hpp"
#include "support/sockets.hpp"
#include "support/udp_segment.hpp"

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

namespace nk = netkit;
namespace uring = netkit::detail::uring;
using namespace std::chrono_literals;

namespace {

using netkit::test::make_ring;

/// Datagram `k` of the test, `size` bytes: byte i is (k * 31 + i) mod 256, so that a datagram
/// cut, shifted or swapped with another does not compare equal.
std::vector<std::byte> datagram(std::size_t k, std::size_t size) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<std::byte>((k * 31 + i) & 0xff);
    }
    return bytes;
}

/// A UDP receiver and a sender connected to it, both on 127.0.0.1; the receiver with UDP_GRO on
/// when `coalescing`.
struct udp_peers {
    nk::udp::socket receiver;
    nk::udp::socket sender;

    explicit udp_peers(bool coalescing) {
        receiver = nk::test::bounded(nk::udp::socket::open(nk::ip::v4).value());
        if (coalescing) {
            receiver.set(nk::udp::gro, true).value();
        }
        receiver.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
        sender =
            nk::test::bounded(nk::udp::socket::connect(receiver.local_endpoint().value()).value());
    }

    /// send(2) of one datagram.
    void send(std::span<const std::byte> bytes) const {
        REQUIRE(::send(sender.native_handle(), bytes.data(), bytes.size(), 0) ==
                static_cast<ssize_t>(bytes.size()));
    }

    /// sendmsg(2) of `bytes` as datagrams of `segment` bytes (a UDP_SEGMENT control message),
    /// with the C API alone.
    void send_segmented(std::span<const std::byte> bytes, std::uint16_t segment) const {
        REQUIRE(nk::test::c_sendmsg_segmented(sender.native_handle(), bytes.data(), bytes.size(),
                                              segment, 0) == static_cast<ssize_t>(bytes.size()));
    }
};

/// What a receive that was cut short reported.
struct cut_short {
    std::uint32_t flags;          ///< msg_flags of io_uring_recvmsg_out
    std::uint32_t payload_length; ///< payloadlen of io_uring_recvmsg_out
};

/// A multishot recvmsg on a connected UDP socket (no name, room for UDP_GRO's control message),
/// and everything its completions brought, each receive split at its UDP_GRO segment size.
class multishot_receiver {
public:
    static constexpr std::uint64_t request = 1;

    multishot_receiver(uring::ring& r, uring::buffer_ring& buffers, int fd, int msg_flags = 0)
        : ring_(r),
          buffers_(buffers),
          fd_(fd),
          msg_flags_(msg_flags) {
        layout_.msg_controllen = nk::control_space<nk::cmsg::udp_gro>;
        arm();
    }

    /// The buffer size that holds a payload of `payload` bytes whole, for this layout.
    static std::uint32_t buffer_size(std::size_t payload) {
        msghdr layout{};
        layout.msg_controllen = nk::control_space<nk::cmsg::udp_gro>;
        return static_cast<std::uint32_t>(uring::recvmsg_buffer_size(layout, payload));
    }

    /// Reaps completions until `count` datagrams have come (10 s at most), giving each buffer
    /// back once read and arming the request again whenever it ends with the socket still good.
    void receive(std::size_t count) {
        const auto limit = nk::deadline::after(10s);
        while (datagrams.size() < count && !limit.expired()) {
            REQUIRE(ring_.submit_and_wait(1, limit).has_value());
            bool again = false;
            ring_.for_each_completion([&](const uring::cqe& c) { again |= handle(c); });
            buffers_.publish(); // every buffer read in this batch, back in one release store
            if (again) {
                arm();
            }
        }
        REQUIRE(datagrams.size() == count);
    }

    /// Cancels the request if it is armed, and waits for its last completion (10 s at most):
    /// after that the kernel holds none of the buffers.
    void stop() {
        if (!armed_) {
            return;
        }
        uring::sqe* entry = ring_.next_sqe();
        REQUIRE(entry != nullptr);
        uring::prepare_cancel(*entry, request, 0, request + 1);
        const auto limit = nk::deadline::after(10s);
        while (armed_ && !limit.expired()) {
            REQUIRE(ring_.submit_and_wait(1, limit).has_value());
            ring_.for_each_completion([&](const uring::cqe& c) {
                if (c.user_data == request) {
                    (void)handle(c);
                }
            });
        }
        REQUIRE_FALSE(armed_);
    }

    std::vector<std::vector<std::byte>> datagrams; ///< every datagram, in order of arrival
    std::vector<std::size_t> per_receive;          ///< datagrams per completion that had data
    std::vector<cut_short> truncated;              ///< the receives cut short
    std::vector<std::int32_t> endings;             ///< res of each completion that ended it
    int arms = 0;                                  ///< requests armed
    int out_of_buffers = 0;                        ///< -ENOBUFS endings (no buffer carried)
    int ended_with_data = 0; ///< endings that still carried a buffer (a full CQ ring)

private:
    void arm() {
        uring::sqe* entry = ring_.next_sqe();
        REQUIRE(entry != nullptr);
        uring::prepare_recvmsg_multishot(*entry, fd_, layout_, buffers_.group(), msg_flags_,
                                         request);
        armed_ = true;
        ++arms;
    }

    // Reads one completion of the request; true if the request must be armed again.
    bool handle(const uring::cqe& c) {
        if (c.user_data != request) {
            return false;
        }
        if (uring::has_buffer(c)) {
            const auto message =
                uring::parse_recvmsg(buffers_.buffer(uring::buffer_id(c)), c.res, layout_);
            if (message.truncated()) {
                truncated.push_back({message.flags, message.payload_length});
            }
            auto split = nk::udp::datagrams_of(message.payload, nk::parse_control(message.control),
                                               nk::message_flags(static_cast<int>(message.flags)));
            REQUIRE(split.has_value());
            per_receive.push_back(split->size());
            for (const auto d : *split) {
                datagrams.emplace_back(d.begin(), d.end());
            }
            buffers_.stage(uring::buffer_id(c));
        }
        const auto state = uring::state_after(c);
        if (state == uring::multishot_state::goes_on) {
            return false;
        }
        armed_ = false;
        endings.push_back(c.res);
        if (c.res == -ENOBUFS) {
            CHECK_FALSE(uring::has_buffer(c));
            ++out_of_buffers;
        } else if (uring::has_buffer(c)) {
            ++ended_with_data;
        }
        return state == uring::multishot_state::arm_again;
    }

    uring::ring& ring_;
    uring::buffer_ring& buffers_;
    int fd_;
    int msg_flags_;
    msghdr layout_{};
    bool armed_ = false;
};

} // namespace

TEST_CASE("a multishot recvmsg with UDP_GRO gets coalesced receives, which split into the "
          "datagrams sent, each intact") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    if (!nk::udp::offload().segmentation || !nk::udp::offload().coalescing) {
        WARN("skipped: this kernel has no UDP_SEGMENT or no UDP_GRO");
        return;
    }
    udp_peers peers(true);
    auto buffers =
        uring::buffer_ring::create(*r, 1, 4, multishot_receiver::buffer_size(65535)).value();
    // Sent: 4 x 1200 + 700 in one segmented send, 3 x 1200 in another, then 300 bytes alone.
    const std::vector<std::size_t> sizes{1200, 1200, 1200, 1200, 700, 1200, 1200, 1200, 300};
    std::vector<std::vector<std::byte>> sent;
    for (std::size_t k = 0; k < sizes.size(); ++k) {
        sent.push_back(datagram(k, sizes[k]));
    }
    auto joined = [&](std::size_t from, std::size_t to) {
        std::vector<std::byte> bytes;
        for (std::size_t k = from; k < to; ++k) {
            bytes.insert(bytes.end(), sent[k].begin(), sent[k].end());
        }
        return bytes;
    };
    multishot_receiver receiver(*r, buffers, peers.receiver.native_handle());
    peers.send_segmented(joined(0, 5), 1200);
    peers.send_segmented(joined(5, 8), 1200);
    peers.send(sent[8]);
    receiver.receive(sent.size());
    CHECK(receiver.datagrams == sent);
    // On loopback a segmented send reaches a socket with UDP_GRO on whole: one receive each.
    CHECK(receiver.per_receive == std::vector<std::size_t>{5, 3, 1});
    CHECK(receiver.truncated.empty());
    CHECK(receiver.arms == 1);
    receiver.stop();
    CHECK(receiver.endings == std::vector<std::int32_t>{-ECANCELED});
}

TEST_CASE("a datagram larger than its provided buffer is reported truncated, and the request "
          "goes on") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    udp_peers peers(false);
    auto buffers =
        uring::buffer_ring::create(*r, 2, 4, multishot_receiver::buffer_size(64)).value();
    const auto large = datagram(0, 200);
    const auto small = datagram(1, 40);
    SECTION("without MSG_TRUNC in the request: the flag says it, the length is what was copied") {
        multishot_receiver receiver(*r, buffers, peers.receiver.native_handle());
        peers.send(large);
        peers.send(small);
        receiver.receive(2);
        REQUIRE(receiver.truncated.size() == 1);
        CHECK((receiver.truncated[0].flags & MSG_TRUNC) != 0);
        CHECK(receiver.truncated[0].payload_length == 64);
        CHECK(receiver.datagrams[0] == std::vector<std::byte>(large.begin(), large.begin() + 64));
        CHECK(receiver.datagrams[1] == small); // the next datagram, whole, from the same request
        CHECK(receiver.arms == 1);
        CHECK(receiver.endings.empty());
        receiver.stop();
    }
    SECTION("with MSG_TRUNC in the request: the length is the datagram's whole length") {
        multishot_receiver receiver(*r, buffers, peers.receiver.native_handle(), MSG_TRUNC);
        peers.send(large);
        peers.send(small);
        receiver.receive(2);
        REQUIRE(receiver.truncated.size() == 1);
        CHECK((receiver.truncated[0].flags & MSG_TRUNC) != 0);
        CHECK(receiver.truncated[0].payload_length == 200);
        CHECK(receiver.datagrams[0] == std::vector<std::byte>(large.begin(), large.begin() + 64));
        CHECK(receiver.datagrams[1] == small);
        receiver.stop();
    }
}

TEST_CASE("a multishot recvmsg that runs out of buffers ends with ENOBUFS, and armed again once "
          "they are given back it loses none of the datagrams queued") {
    auto r = make_ring();
    if (!r) {
        return;
    }
    udp_peers peers(false);
    auto buffers =
        uring::buffer_ring::create(*r, 3, 2, multishot_receiver::buffer_size(64)).value();
    std::vector<std::vector<std::byte>> sent;
    for (std::size_t k = 0; k < 7; ++k) { // queued before the request: 7 datagrams, 2 buffers
        sent.push_back(datagram(k, 10 + k));
        peers.send(sent.back());
    }
    multishot_receiver receiver(*r, buffers, peers.receiver.native_handle());
    receiver.receive(sent.size());
    CHECK(receiver.datagrams == sent);
    CHECK(receiver.truncated.empty());
    // Two buffers a time: three ENOBUFS endings, each followed by a new request, and the fourth
    // request (one datagram left) still armed.
    CHECK(receiver.out_of_buffers == 3);
    CHECK(receiver.endings == std::vector<std::int32_t>(3, -ENOBUFS));
    CHECK(receiver.arms == 4);
    receiver.stop();
    CHECK(receiver.endings.back() == -ECANCELED);
}

TEST_CASE("a multishot recvmsg ended by a full CQ ring carries data in its last completion, and "
          "armed again loses no datagram") {
    auto r = make_ring({.submission_entries = 2, .completion_entries = 2});
    if (!r) {
        return;
    }
    REQUIRE(r->completion_capacity() == 2);
    udp_peers peers(false);
    auto buffers =
        uring::buffer_ring::create(*r, 4, 16, multishot_receiver::buffer_size(64)).value();
    std::vector<std::vector<std::byte>> sent;
    for (std::size_t k = 0; k < 6; ++k) { // queued before the request: more than the CQ holds
        sent.push_back(datagram(k, 20 + k));
        peers.send(sent.back());
    }
    multishot_receiver receiver(*r, buffers, peers.receiver.native_handle());
    receiver.receive(sent.size());
    CHECK(receiver.datagrams == sent);
    CHECK(receiver.ended_with_data >= 1); // ended without F_MORE, with a buffer to read
    CHECK(receiver.out_of_buffers == 0);
    CHECK(receiver.arms == 1 + receiver.ended_with_data);
    CHECK(r->dropped() == 0);
    receiver.stop();
}

TEST_CASE("state_after: F_MORE goes on, ENOBUFS and data without F_MORE arm again, and the end "
          "of a stream, a cancel or a socket error end it") {
    auto completion = [](std::int32_t res, std::uint32_t flags) {
        uring::cqe c{};
        c.res = res;
        c.flags = flags;
        return uring::state_after(c);
    };
    using state = uring::multishot_state;
    CHECK(completion(100, IORING_CQE_F_MORE | IORING_CQE_F_BUFFER) == state::goes_on);
    CHECK(completion(100, IORING_CQE_F_BUFFER) == state::arm_again);
    CHECK(completion(-ENOBUFS, 0) == state::arm_again);
    CHECK(completion(0, 0) == state::ended);
    CHECK(completion(-ECANCELED, 0) == state::ended);
    CHECK(completion(-ECONNREFUSED, 0) == state::ended);
}
