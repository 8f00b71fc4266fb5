// send_all_zero_copy against a peer written with plain recv(2) in its own thread: every byte of
// 8 MiB, a buffer overwritten as soon as the task resumes (a resume before the kernel let go
// would send the new bytes), a deadline and a close while the peer does not read, a frame
// destroyed while the kernel holds the buffer, and the copied report of loopback.
#include <netkit/async/zero_copy.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <netkit/async/loop.hpp>
#include <netkit/async/operations.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/async/task.hpp>
#include <netkit/async/when.hpp>
#include <netkit/netkit.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <future>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

#include <sys/socket.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t eight_mib = std::size_t{8} << 20U;

std::vector<std::byte> pattern(std::size_t size) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<std::byte>((i * 131U + (i >> 16U) + 7U) & 0xffU);
    }
    return bytes;
}

// True if `got` is the start of `pattern(...)`.
bool is_pattern_prefix(const std::vector<std::byte>& got, const std::vector<std::byte>& sent) {
    return got.size() <= sent.size() && std::equal(got.begin(), got.end(), sent.begin());
}

// What the peer waits for before it reads (at most 10 s, so that a broken test fails).
class gate {
public:
    void open() {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            open_ = true;
        }
        opened_.notify_all();
    }
    // True once opened; false after `limit`.
    bool wait(std::chrono::milliseconds limit = 10s) {
        std::unique_lock<std::mutex> lock(mutex_);
        return opened_.wait_for(lock, limit, [&] { return open_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable opened_;
    bool open_ = false;
};

// The peer: plain recv(2) until end of stream (or an error, or the socket's 10 s bound).
std::vector<std::byte> receive_to_end(int fd) {
    std::vector<std::byte> got;
    std::vector<std::byte> chunk(std::size_t{1} << 16U);
    for (;;) {
        const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
        if (n <= 0) {
            return got;
        }
        got.insert(got.end(), chunk.begin(), chunk.begin() + n);
    }
}

// The peer that reads only once `start` opens (or once `patience` has passed without it).
std::future<std::vector<std::byte>> peer_after(int fd, gate& start,
                                               std::chrono::milliseconds patience = 10s) {
    return std::async(std::launch::async, [fd, &start, patience] {
        (void)start.wait(patience);
        return receive_to_end(fd);
    });
}

// Sends, then overwrites the buffer at once and shuts the socket down for writing.
nka::task<nk::result<nka::zero_copy_sent>> send_then_overwrite(nk::tcp::socket& sock,
                                                               std::vector<std::byte>& data,
                                                               nk::deadline until, gate* resumed) {
    auto sent = co_await nka::send_all_zero_copy(sock, data, until);
    std::fill(data.begin(), data.end(), std::byte{0xff}); // the kernel must have let go
    if (resumed != nullptr) {
        resumed->open();
    }
    (void)sock.shutdown(nk::shutdown_type::write);
    co_return sent;
}

nka::task<> open_at(nk::deadline when, gate& start) {
    (void)co_await nka::sleep_until(when);
    start.open();
}

nka::task<nk::result<nka::zero_copy_sent>> send_only(nk::tcp::socket& sock,
                                                     const std::vector<std::byte>& data) {
    co_return co_await nka::send_all_zero_copy(sock, data, 10s);
}

// Closes `sock` once the send before it in a when_all waits, then lets the peer read.
nka::task<> close_then_open(nk::tcp::socket& sock, gate& start) {
    co_await nka::yield();
    (void)nka::loop::current().close(sock);
    start.open();
}

nka::task<> overwrite_after(nk::tcp::socket& sock, std::vector<std::byte>& data) {
    (void)co_await nka::send_all_zero_copy(sock, data, 10s);
    std::fill(data.begin(), data.end(), std::byte{0xff});
}

nka::task<> open_now(gate& start) {
    co_await nka::yield();
    start.open();
}

// A loop, a connected pair, the bytes to send (`data`, a copy of `original`) and the peer,
// which reads the other socket once `start` opens.
struct exchange {
    explicit exchange(std::size_t size) : original(pattern(size)), data(original) {}

    // Starts the peer, which waits for `start` at most `patience`.
    std::future<std::vector<std::byte>> peer(std::chrono::milliseconds patience = 10s) {
        return peer_after(sockets.second.native_handle(), start, patience);
    }

    nka::loop loop;
    std::pair<nk::tcp::socket, nk::tcp::socket> sockets = nk::test::tcp_pair();
    nk::tcp::socket& sender = sockets.first;
    std::vector<std::byte> original;
    std::vector<std::byte> data;
    gate start;
};

} // namespace

TEST_CASE("8 MiB in one call: every byte arrives") {
    exchange x(eight_mib);
    x.start.open();
    auto peer = x.peer();
    auto sent = x.loop.run(send_then_overwrite(x.sender, x.data, nk::deadline(10s), nullptr));
    REQUIRE(sent);
    CHECK(sent->bytes == eight_mib);
    const std::vector<std::byte> got = peer.get();
    CHECK(got.size() == eight_mib);
    CHECK(got == x.original);
}

TEST_CASE("the buffer may be reused as soon as the task resumes") {
    // The peer does not read until the task has resumed (or 300 ms have passed). Everything
    // fits in the two sockets' buffers, the sender's large and the peer's small, so every send
    // completes while much of the data waits in the sender for the peer's window: a task
    // resumed then would overwrite bytes the kernel has yet to send. Resumed correctly, only
    // once the peer has read and acknowledged them, it changes nothing.
    exchange x(std::size_t{256} << 10U);
    REQUIRE(x.sender.set(nk::so::send_buffer_size, 1 << 20));
    REQUIRE(x.sockets.second.set(nk::so::receive_buffer_size, 32 << 10));
    auto peer = x.peer(300ms);
    auto sent = x.loop.run(send_then_overwrite(x.sender, x.data, nk::deadline(10s), &x.start));
    REQUIRE(sent);
    CHECK(sent->bytes == x.data.size());
    const std::vector<std::byte> got = peer.get();
    CHECK(got == x.original);
}

TEST_CASE("a deadline while the peer does not read: deadline_passed, and exactly those bytes") {
    exchange x(eight_mib);
    auto peer = x.peer();
    // The peer starts reading once the deadline has ended the sending (the later timer fires
    // after it), and the task resumes once what was handed over has been acknowledged.
    auto [sent, opened] = x.loop.run(
        nka::when_all(send_then_overwrite(x.sender, x.data, nk::deadline(200ms), nullptr),
                      open_at(nk::deadline(210ms), x.start)));
    REQUIRE_FALSE(sent);
    CHECK(sent.error() == nk::errc::deadline_passed);
    const std::size_t went = sent.error().bytes_transferred();
    CHECK(went > 0);
    CHECK(went < eight_mib);
    const std::vector<std::byte> got = peer.get();
    CHECK(got.size() == went);
    CHECK(is_pattern_prefix(got, x.original));
}

TEST_CASE("closing the socket while the send waits ends it, after the kernel lets go") {
    exchange x(eight_mib);
    auto peer = x.peer();
    auto [sent, closed] =
        x.loop.run(nka::when_all(send_then_overwrite(x.sender, x.data, nk::deadline(10s), nullptr),
                                 close_then_open(x.sender, x.start)));
    REQUIRE_FALSE(sent);
    CHECK(sent.error() == std::errc::bad_file_descriptor);
    const std::size_t went = sent.error().bytes_transferred();
    CHECK(went > 0);
    const std::vector<std::byte> got = peer.get();
    CHECK(got.size() == went);
    CHECK(is_pattern_prefix(got, x.original));
}

TEST_CASE("a frame destroyed while the kernel holds the buffer waits for it first") {
    // when_any destroys the send when the other child ends: the peer starts reading then, and
    // the buffer, overwritten once the destruction is over, must not reach it.
    exchange x(eight_mib);
    auto peer = x.peer();
    (void)x.loop.run(nka::when_any(overwrite_after(x.sender, x.data), open_now(x.start)));
    std::fill(x.data.begin(), x.data.end(), std::byte{0xff});
    REQUIRE(x.sender.close());
    const std::vector<std::byte> got = peer.get();
    CHECK(!got.empty());
    CHECK(got.size() < eight_mib);
    CHECK(is_pattern_prefix(got, x.original));
}

TEST_CASE("loopback copies: the value says so") {
    exchange x(std::size_t{1} << 20U);
    x.start.open();
    auto peer = x.peer();
    auto sent = x.loop.run(send_only(x.sender, x.data));
    REQUIRE(sent);
    CHECK(sent->bytes == x.data.size());
    CHECK(sent->copied);
    REQUIRE(x.sender.shutdown(nk::shutdown_type::write));
    CHECK(peer.get() == x.original);
}

TEST_CASE("a stop before the start makes no call, nor does an empty send") {
    nka::loop loop;
    auto [a, b] = nk::test::tcp_pair();
    const std::vector<std::byte> data = pattern(4096);
    nka::stop_source stop;
    stop.request_stop();
    auto stopped =
        loop.run([](nk::tcp::socket& sock, const std::vector<std::byte>& bytes,
                    nka::stop_token token) -> nka::task<nk::result<nka::zero_copy_sent>> {
            co_return co_await nka::send_all_zero_copy(sock, bytes, {}, token);
        }(a, data, stop.token()));
    REQUIRE_FALSE(stopped);
    CHECK(stopped.error() == std::errc::operation_canceled);
    CHECK(stopped.error().bytes_transferred() == 0);
    const std::vector<std::byte> none;
    auto empty = loop.run(send_only(a, none));
    REQUIRE(empty);
    CHECK(empty->bytes == 0);
    CHECK_FALSE(empty->copied);
    REQUIRE(a.shutdown(nk::shutdown_type::write));
    CHECK(receive_to_end(b.native_handle()).empty());
}
