// sendfile and splice as resumable steps and as awaitable operations: every byte checked at a
// reader that is slow (another task) or independent (a thread with plain recv(2)), steps that
// would block and resume, deadlines that leave a count to resume from, the cancellation cases,
// and peers that fail, without a SIGPIPE.
#include <netkit/async/file_operations.hpp>

#include "support/catch.hpp"
#include "support/pattern_file.hpp"
#include "support/signals.hpp"
#include "support/sockets.hpp"

#include <netkit/async/loop.hpp>
#include <netkit/async/operations.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/async/task.hpp>
#include <netkit/io/resumable_file_transfer.hpp>
#include <netkit/netkit.hpp>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <string>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;

namespace {

using netkit::test::pattern;
using netkit::test::pattern_bytes;
using netkit::test::temp_file;

constexpr std::size_t big = 4 * 1024 * 1024; // far beyond a socket's buffers

// Two connected non-blocking Unix stream sockets, the sender's buffer small, so that a file of
// `big` bytes fills it many times over.
std::pair<nk::local::stream_socket, nk::local::stream_socket> stream_pair() {
    auto [a, b] = nk::local::stream_socket::pair(nk::io_mode::non_blocking).value();
    const int small = 16384;
    REQUIRE(::setsockopt(a.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    return {std::move(a), std::move(b)};
}

// Everything the socket holds now, read without waiting.
std::string drain(int fd) {
    std::string got;
    std::array<char, 65536> chunk{};
    for (;;) {
        const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), MSG_DONTWAIT);
        if (n <= 0) {
            return got;
        }
        got.append(chunk.data(), static_cast<std::size_t>(n));
    }
}

bool peer_failure(const nk::error& e) {
    return e == std::errc::broken_pipe || e == std::errc::connection_reset;
}

// The reader task: up to `limit` bytes or end of stream, one small receive per turn when `slow`.
template <class Socket>
nka::task<std::string> read_all(Socket& sock, std::size_t limit, bool slow) {
    std::string got;
    std::array<char, 1024> chunk{};
    while (got.size() < limit) {
        auto n = co_await nka::receive(sock, chunk, 10s);
        if (!n || *n == 0) {
            break;
        }
        got.append(chunk.data(), *n);
        if (slow) {
            co_await nka::yield();
        }
    }
    co_return got;
}

struct reading {
    std::string bytes;
    bool done = false;
};

template <class Socket>
nka::task<> read_into(Socket& sock, std::size_t limit, reading& out) {
    out.bytes = co_await read_all(sock, limit, true);
    out.done = true;
}

// Lets the loop run the other tasks until the reader has finished.
nka::task<> until_read(const reading& out) {
    while (!out.done) {
        co_await nka::yield();
    }
}

template <class Socket>
nka::task<nk::result<std::size_t>> send_file_task(Socket& sock, int file, nk::file_range range,
                                                  nk::deadline until, nka::stop_token stop) {
    co_return co_await nka::send_file(sock, file, range, until, stop);
}

struct outcome {
    bool done = false;
    nk::result<std::size_t> value = nk::failure{nk::error()};
};

template <class Socket>
nka::task<> record_send_file(Socket& sock, int file, nka::stop_token stop, outcome& out) {
    out.value = co_await nka::send_file(sock, file, {}, {}, stop);
    out.done = true;
}

nka::task<> yield_once() { co_await nka::yield(); }

} // namespace

TEST_CASE("resumable_send_file: each step sends what fits, then would-block with its progress") {
    const std::size_t size = 1024 * 1024;
    temp_file file(size);
    auto [a, b] = stream_pair();
    nk::resumable_send_file out(file.fd, {.offset = 0, .length = size});
    std::string received;
    std::size_t last = 0;
    int would_block = 0;
    for (int round = 0; round < 10000 && !out.done(); ++round) {
        auto sent = out.step(a);
        if (!sent) {
            REQUIRE(sent.error().would_block());
            CHECK(sent.error().bytes_transferred() == out.bytes_transferred());
            ++would_block;
        } else {
            REQUIRE(*sent);
        }
        CHECK(out.bytes_transferred() >= last);
        last = out.bytes_transferred();
        received += drain(b.native_handle());
    }
    REQUIRE(out.done());
    received += drain(b.native_handle());
    CHECK(would_block > 0); // the file did not fit: the steps really resumed
    CHECK(out.bytes_transferred() == size);
    CHECK(received == pattern_bytes(0, size));
    auto again = out.step(a); // a finished transfer stays finished, and sends nothing
    REQUIRE(again);
    CHECK(*again);
    CHECK(drain(b.native_handle()).empty());
}

TEST_CASE("resumable steps check the file and the socket once, before a byte goes") {
    temp_file file(1000);
    auto [a, b] = stream_pair();
    SECTION("a blocking socket is refused") {
        auto [x, y] = nk::test::local_pair<nk::local::stream_protocol>();
        nk::resumable_send_file out(file.fd);
        auto sent = out.step(x);
        REQUIRE_FALSE(sent);
        CHECK(sent.error() == std::errc::invalid_argument);
        CHECK_FALSE(sent.error().would_block());
        CHECK(drain(y.native_handle()).empty());
    }
    SECTION("a range past the end, a directory") {
        nk::resumable_send_file past(file.fd, {.offset = 10, .length = 991});
        CHECK(past.step(a).error() == std::errc::invalid_argument);
        const int dir = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        REQUIRE(dir >= 0);
        nk::resumable_send_file directory(dir);
        CHECK(directory.step(a).error() == std::errc::is_a_directory);
        ::close(dir);
        CHECK(drain(b.native_handle()).empty());
    }
    SECTION("an empty range is done at once") {
        nk::resumable_send_file none(file.fd, {.offset = 1000});
        auto sent = none.step(a);
        REQUIRE(sent);
        CHECK(*sent);
        CHECK(none.bytes_transferred() == 0);
    }
    SECTION("a range from an offset") {
        nk::resumable_send_file part(file.fd, {.offset = 100, .length = 500});
        REQUIRE(part.step(a));
        CHECK(drain(b.native_handle()) == pattern_bytes(100, 500));
    }
}

TEST_CASE("send_file completes at once when the socket has room") {
    temp_file file(4096);
    auto [a, b] = nk::local::stream_socket::pair(nk::io_mode::non_blocking).value();
    nka::loop loop;
    // Nobody reads: had the operation waited, nothing would end it but its deadline.
    auto sent = loop.run(send_file_task(a, file.fd, {}, nk::deadline::after(10s), {}));
    REQUIRE(sent);
    CHECK(*sent == 4096);
    CHECK(drain(b.native_handle()) == pattern_bytes(0, 4096));
}

TEST_CASE("send_file of a file larger than the buffers to a slow reader: every byte") {
    temp_file file(big);
    auto [a, b] = stream_pair();
    nka::loop loop;
    reading received;
    loop.spawn(read_into(b, big, received));
    auto sent = loop.run(send_file_task(a, file.fd, {}, nk::deadline::after(30s), {}));
    REQUIRE(sent);
    CHECK(*sent == big);
    loop.run(until_read(received));
    REQUIRE(received.bytes.size() == big);
    CHECK(received.bytes == pattern_bytes(0, big));
}

TEST_CASE("send_file to a peer that stops reading ends at its deadline, saying how far it got") {
    temp_file file(big);
    auto [a, b] = stream_pair();
    nka::loop loop;
    const auto until = nk::deadline::after(50ms);
    auto sent = loop.run(send_file_task(a, file.fd, {}, until, {}));
    REQUIRE_FALSE(sent);
    CHECK(sent.error() == nk::errc::deadline_passed);
    CHECK(sent.error().message() == "sendfile: deadline passed");
    CHECK(nk::deadline::clock::now() >= until.at());
    const std::size_t went = sent.error().bytes_transferred();
    CHECK(went > 0);
    CHECK(went < big);
    std::string received = drain(b.native_handle());
    REQUIRE(received.size() == went);
    CHECK(received == pattern_bytes(0, went));

    // The rest, resumed from where it stopped, to a reader.
    reading rest;
    loop.spawn(read_into(b, big - went, rest));
    auto resumed = loop.run(send_file_task(a, file.fd, {.offset = went, .length = big - went},
                                           nk::deadline::after(30s), {}));
    REQUIRE(resumed);
    CHECK(*resumed == big - went);
    loop.run(until_read(rest));
    CHECK(rest.bytes == pattern_bytes(went, big - went));
}

TEST_CASE("send_file stopped before the start or while it waits") {
    temp_file file(big);
    auto [a, b] = stream_pair();
    nka::loop loop;
    SECTION("before the start: no call is made") {
        nka::stop_source stop;
        stop.request_stop();
        auto sent = loop.run(send_file_task(a, file.fd, {}, {}, stop.token()));
        REQUIRE_FALSE(sent);
        CHECK(sent.error() == std::errc::operation_canceled);
        CHECK(drain(b.native_handle()).empty());
    }
    SECTION("while it waits for room: the count of what went") {
        nka::stop_source stop;
        outcome out;
        loop.spawn(record_send_file(a, file.fd, stop.token(), out));
        loop.run(yield_once());
        REQUIRE_FALSE(out.done);
        CHECK(loop.waiting() == 1);
        stop.request_stop();
        loop.run(yield_once());
        REQUIRE(out.done);
        REQUIRE_FALSE(out.value);
        CHECK(out.value.error() == std::errc::operation_canceled);
        const std::size_t went = out.value.error().bytes_transferred();
        CHECK(went > 0);
        CHECK(drain(b.native_handle()) == pattern_bytes(0, went));
        CHECK(loop.waiting() == 0);
    }
}

TEST_CASE("send_file to a peer that closes is an error value, and no SIGPIPE is raised") {
    nk::test::signals_handled = 0;
    const nk::test::scoped_signal counted(SIGPIPE, nk::test::count_signal);
    temp_file file(big);
    auto [a, b] = stream_pair();
    nka::loop loop;
    SECTION("closed before the start") {
        REQUIRE(b.close());
        auto sent = loop.run(send_file_task(a, file.fd, {}, nk::deadline::after(10s), {}));
        REQUIRE_FALSE(sent);
        CHECK(peer_failure(sent.error()));
    }
    SECTION("closed while the send waits for room") {
        outcome out;
        loop.spawn(record_send_file(a, file.fd, {}, out));
        loop.run(yield_once());
        REQUIRE_FALSE(out.done);
        REQUIRE(b.close());
        while (!out.done && loop.waiting() > 0) {
            loop.run(yield_once());
        }
        REQUIRE(out.done);
        REQUIRE_FALSE(out.value);
        CHECK(peer_failure(out.value.error()));
        CHECK(out.value.error().bytes_transferred() > 0);
    }
    CHECK(nk::test::signals_handled == 0);
}

TEST_CASE("send_file over TCP to a peer reading with plain recv in its own thread") {
    temp_file file(big);
    auto [client, server] = nk::test::tcp_pair();
    REQUIRE(server.set_non_blocking(true));
    std::string received;
    std::thread peer([fd = client.native_handle(), &received] {
        std::array<char, 65536> chunk{};
        for (;;) { // bounded: the test's sockets time out after 10 s
            const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
            if (n <= 0) {
                return;
            }
            received.append(chunk.data(), static_cast<std::size_t>(n));
        }
    });
    nka::loop loop;
    auto sent = loop.run(send_file_task(server, file.fd, {}, nk::deadline::after(30s), {}));
    (void)server.shutdown(nk::shutdown::write);
    peer.join();
    REQUIRE(sent);
    CHECK(*sent == big);
    REQUIRE(received.size() == big);
    CHECK(received == pattern_bytes(0, big));
}

namespace {
template <class Socket>
nka::task<nk::result<std::size_t>> spliced_task(Socket& sock, int file, nk::pipe& through,
                                                nk::file_range range, nk::deadline until,
                                                nka::stop_token stop) {
    co_return co_await nka::send_file_spliced(sock, file, through, range, until, stop);
}
} // namespace

TEST_CASE("send_file_spliced: every byte to a slow reader, and a deadline to resume from") {
    temp_file file(big);
    auto [a, b] = stream_pair();
    auto through = nk::pipe::open().value();
    nka::loop loop;
    SECTION("every byte") {
        reading received;
        loop.spawn(read_into(b, big, received));
        auto sent = loop.run(spliced_task(a, file.fd, through, {}, nk::deadline::after(30s), {}));
        REQUIRE(sent);
        CHECK(*sent == big);
        loop.run(until_read(received));
        CHECK(received.bytes == pattern_bytes(0, big));
        CHECK(through.buffered() == 0);
    }
    SECTION("a deadline, then a resume with the same pipe: each byte once, in order") {
        auto sent = loop.run(spliced_task(a, file.fd, through, {}, nk::deadline::after(30ms), {}));
        REQUIRE_FALSE(sent);
        CHECK(sent.error() == nk::errc::deadline_passed);
        CHECK(sent.error().message() == "splice: deadline passed");
        const std::size_t went = sent.error().bytes_transferred();
        CHECK(went > 0);
        std::string received = drain(b.native_handle());
        CHECK(received.size() == went);
        reading rest;
        loop.spawn(read_into(b, big - went, rest));
        auto resumed =
            loop.run(spliced_task(a, file.fd, through, {.offset = went, .length = big - went},
                                  nk::deadline::after(30s), {}));
        REQUIRE(resumed);
        loop.run(until_read(rest));
        CHECK(received + rest.bytes == pattern_bytes(0, big));
    }
    SECTION("stopped before the start") {
        nka::stop_source stop;
        stop.request_stop();
        auto sent = loop.run(spliced_task(a, file.fd, through, {}, {}, stop.token()));
        CHECK(sent.error() == std::errc::operation_canceled);
        CHECK(drain(b.native_handle()).empty());
    }
}

namespace {
template <class Socket>
nka::task<> write_and_close(Socket& sock, std::string bytes) {
    auto sent = co_await nka::send_all(sock, bytes, 10s);
    (void)sent;
    (void)sock.shutdown(nk::shutdown::write);
}

template <class From, class To>
nka::task<nk::result<std::size_t>> relay(From& from, To& to, nk::pipe& through, std::uint64_t limit,
                                         nk::deadline until, nka::stop_token stop, bool shut) {
    auto moved = co_await nka::splice_all(from, to, through, limit, until, stop);
    if (shut) {
        (void)to.shutdown(nk::shutdown::write);
    }
    co_return moved;
}

template <class From, class To>
nka::task<> relay_into(From& from, To& to, nk::pipe& through, outcome& out,
                       nka::stop_token stop = {}) {
    out.value = co_await relay(from, to, through, UINT64_MAX, nk::deadline::after(30s), stop, true);
    out.done = true;
}
} // namespace

TEST_CASE("splice_all relays a stream socket to socket until it ends, every byte") {
    auto [writer, source] = nk::local::stream_socket::pair(nk::io_mode::non_blocking).value();
    auto [destination, reader] = stream_pair();
    auto through = nk::pipe::open().value();
    nka::loop loop;
    outcome relayed;
    loop.spawn(write_and_close(writer, pattern_bytes(0, big)));
    loop.spawn(relay_into(source, destination, through, relayed));
    const std::string received = loop.run(read_all(reader, SIZE_MAX, true));
    REQUIRE(relayed.done);
    REQUIRE(relayed.value);
    CHECK(*relayed.value == big);
    REQUIRE(received.size() == big);
    CHECK(received == pattern_bytes(0, big));
}

TEST_CASE("splice_all: a limit, a silent source's deadline, a stop, a closed destination") {
    auto [writer, source] = nk::local::stream_socket::pair(nk::io_mode::non_blocking).value();
    auto [destination, reader] = nk::local::stream_socket::pair(nk::io_mode::non_blocking).value();
    auto through = nk::pipe::open().value();
    nka::loop loop;
    SECTION("the limit: the rest stays in the source") {
        REQUIRE(writer.send(pattern_bytes(0, 1000)));
        auto moved = loop.run(relay(source, destination, through, 600, {}, {}, false));
        REQUIRE(moved);
        CHECK(*moved == 600);
        CHECK(drain(reader.native_handle()) == pattern_bytes(0, 600));
        CHECK(drain(source.native_handle()) == pattern_bytes(600, 400));
    }
    SECTION("a silent source: deadline_passed, with the count") {
        REQUIRE(writer.send(pattern_bytes(0, 100)));
        auto moved = loop.run(
            relay(source, destination, through, UINT64_MAX, nk::deadline::after(20ms), {}, false));
        REQUIRE_FALSE(moved);
        CHECK(moved.error() == nk::errc::deadline_passed);
        CHECK(moved.error().message() == "splice: deadline passed");
        CHECK(moved.error().bytes_transferred() == 100);
        CHECK(drain(reader.native_handle()) == pattern_bytes(0, 100));
    }
    SECTION("stopped before the start: nothing moves") {
        REQUIRE(writer.send(pattern_bytes(0, 100)));
        nka::stop_source stop;
        stop.request_stop();
        auto moved =
            loop.run(relay(source, destination, through, UINT64_MAX, {}, stop.token(), false));
        CHECK(moved.error() == std::errc::operation_canceled);
        CHECK(drain(source.native_handle()).size() == 100);
    }
    SECTION("stopped while it waits for the source: the count so far") {
        REQUIRE(writer.send(pattern_bytes(0, 100)));
        nka::stop_source stop;
        outcome out;
        loop.spawn(relay_into(source, destination, through, out, stop.token()));
        loop.run(yield_once());
        REQUIRE_FALSE(out.done);
        REQUIRE(loop.waiting() == 1);
        stop.request_stop();
        loop.run(yield_once());
        REQUIRE(out.done);
        REQUIRE_FALSE(out.value);
        CHECK(out.value.error() == std::errc::operation_canceled);
        CHECK(out.value.error().bytes_transferred() == 100);
        CHECK(loop.waiting() == 0);
    }
    SECTION("a closed destination: broken_pipe, no SIGPIPE") {
        nk::test::signals_handled = 0;
        const nk::test::scoped_signal counted(SIGPIPE, nk::test::count_signal);
        REQUIRE(reader.close());
        REQUIRE(writer.send(pattern_bytes(0, 100)));
        auto moved = loop.run(
            relay(source, destination, through, UINT64_MAX, nk::deadline::after(10s), {}, false));
        REQUIRE_FALSE(moved);
        CHECK(peer_failure(moved.error()));
        CHECK(through.buffered() == 100); // kept for a next relay, not lost
        CHECK(nk::test::signals_handled == 0);
    }
}
