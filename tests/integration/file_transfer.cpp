// sendfile and splice: every byte checked at a peer that reads with plain recv(2), short transfers
// forced by small buffers and deadlines, and each bad input (not a regular file, a range past the
// end, a closed peer, a file that shrinks mid-send) answered with its error value.
#include <netkit/io/file_transfer.hpp>
#include <netkit/io/pipe.hpp>
#include <netkit/io/splice.hpp>
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/pattern_file.hpp"
#include "support/signals.hpp"
#include "support/sockets.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {

using netkit::test::pattern;
using netkit::test::pattern_bytes;
using netkit::test::temp_file;

// The peer, in plain C: reads with recv(2) until end of stream or `limit` bytes.
std::string read_with_recv(int fd, std::size_t limit = SIZE_MAX) {
    std::string got;
    char chunk[65536];
    while (got.size() < limit) {
        const ssize_t n = ::recv(fd, chunk, std::min(sizeof chunk, limit - got.size()), 0);
        if (n <= 0) {
            break;
        }
        got.append(chunk, static_cast<std::size_t>(n));
    }
    return got;
}

// Where `got` first differs from the file's bytes from `from` on (its size if nowhere): a failure
// names the place instead of printing megabytes.
std::size_t first_wrong_byte(const std::string& got, std::size_t from) {
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (got[i] != pattern(from + i)) {
            return i;
        }
    }
    return got.size();
}

std::future<std::string> reading(int fd, std::size_t limit = SIZE_MAX) {
    return std::async(std::launch::async, [fd, limit] { return read_with_recv(fd, limit); });
}

// Writes `bytes` with plain send(2) and shuts the writing side down; false if either failed.
// It runs on threads of its own, so it asserts nothing: Catch2's assertions are not thread-safe.
bool write_with_send(int fd, const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        sent += static_cast<std::size_t>(n);
    }
    return ::shutdown(fd, SHUT_WR) == 0;
}

bool is_blocking(int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) == 0; }

bool sigpipe_blocked() {
    sigset_t mask;
    ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    return sigismember(&mask, SIGPIPE) == 1;
}

bool peer_failure(const nk::error& e) {
    return e == std::errc::broken_pipe || e == std::errc::connection_reset;
}

void small_send_buffer(int fd) {
    const int small = 4096;
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
}

// A call on a datagram socket is refused in the immediate context: generic code can test for it.
template <class S>
concept can_send_file = requires(S& s) {
    nk::send_file(s, 0);
};
template <class From, class To>
concept can_splice_all = requires(From& from, To& to, nk::pipe& p) {
    nk::splice_all(from, to, p);
};
static_assert(can_send_file<nk::tcp::socket> && can_send_file<nk::local::stream_socket>);
static_assert(!can_send_file<nk::udp::socket> && !can_send_file<nk::local::datagram_socket>);
static_assert(can_splice_all<nk::tcp::socket, nk::local::stream_socket>);
static_assert(!can_splice_all<nk::tcp::socket, nk::udp::socket>);

} // namespace

TEST_CASE("send_file sends a whole file, larger than the socket buffers, byte for byte") {
    const std::size_t size = 3 * 1024 * 1024 + 17;
    temp_file file(size);
    SECTION("TCP") {
        auto [client, server] = nk::test::tcp_pair();
        auto got = reading(server.native_handle());
        auto sent = nk::send_file(client, file.fd);
        REQUIRE(client.shutdown(nk::shutdown::write));
        REQUIRE(sent);
        REQUIRE(*sent == size);
        REQUIRE(got.get() == pattern_bytes(0, size));
    }
    SECTION("Unix stream, non-blocking: the loop waits for room") {
        auto [a, b] = nk::test::local_pair<nk::local::stream_protocol>();
        REQUIRE(a.set_non_blocking(true));
        small_send_buffer(a.native_handle());
        auto got = reading(b.native_handle());
        auto sent = nk::send_file(a, file.fd, {}, 10s);
        REQUIRE(a.shutdown(nk::shutdown::write));
        REQUIRE(sent);
        REQUIRE(*sent == size);
        REQUIRE(got.get() == pattern_bytes(0, size));
    }
    // The file's own offset is not the one sendfile reads from.
    REQUIRE(::lseek(file.fd, 0, SEEK_CUR) == static_cast<off_t>(size));
}

TEST_CASE("send_file sends a range, to the end, or nothing at the end of the file") {
    temp_file file(10000);
    auto [client, server] = nk::test::tcp_pair();
    REQUIRE(nk::send_file(client, file.fd, {.offset = 1234, .length = 4321}).value() == 4321);
    REQUIRE(read_with_recv(server.native_handle(), 4321) == pattern_bytes(1234, 4321));
    REQUIRE(nk::send_file(client, file.fd, {.offset = 9000}).value() == 1000);
    REQUIRE(read_with_recv(server.native_handle(), 1000) == pattern_bytes(9000, 1000));
    REQUIRE(nk::send_file(client, file.fd, {.offset = 10000}).value() == 0);
    REQUIRE(nk::send_file(client, file.fd, {.offset = 10000, .length = 0}).value() == 0);
    REQUIRE(client.shutdown(nk::shutdown::write));
    REQUIRE(read_with_recv(server.native_handle()).empty());
}

TEST_CASE(
    "send_file refuses what is not a regular file, and ranges past the end, sending nothing") {
    temp_file file(100);
    auto [client, server] = nk::test::tcp_pair();
    SECTION("a pipe") {
        auto p = nk::pipe::open().value();
        auto sent = nk::send_file(client, p.read_end());
        REQUIRE(sent.error() == std::errc::invalid_argument);
        REQUIRE(std::string(sent.error().operation()) == "send_file: not a regular file");
    }
    SECTION("a socket") {
        REQUIRE(nk::send_file(client, server.native_handle()).error() ==
                std::errc::invalid_argument);
    }
    SECTION("a directory") {
        const int dir = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        REQUIRE(dir >= 0);
        auto sent = nk::send_file(client, dir);
        ::close(dir);
        REQUIRE(sent.error() == std::errc::is_a_directory);
    }
    SECTION("a closed descriptor") {
        REQUIRE(nk::send_file(client, -1).error() == std::errc::bad_file_descriptor);
    }
    SECTION("an offset past the end") {
        auto sent = nk::send_file(client, file.fd, {.offset = 101});
        REQUIRE(sent.error() == std::errc::invalid_argument);
        REQUIRE(sent.error().bytes_transferred() == 0);
    }
    SECTION("a length past the end") {
        auto sent = nk::send_file(client, file.fd, {.offset = 50, .length = 51});
        REQUIRE(sent.error() == std::errc::invalid_argument);
        REQUIRE(std::string(sent.error().operation()) ==
                "send_file: range past the end of the file");
    }
    REQUIRE(client.shutdown(nk::shutdown::write));
    REQUIRE(read_with_recv(server.native_handle()).empty());
}

TEST_CASE("send_file stops at its deadline, says how far it got, and resumes from there") {
    const std::size_t size = 8 * 1024 * 1024;
    temp_file file(size);
    auto [a, b] = nk::test::local_pair<nk::local::stream_protocol>();
    small_send_buffer(a.native_handle());
    const bool start_non_blocking = GENERATE(false, true);
    REQUIRE(a.set_non_blocking(start_non_blocking));
    // Nobody reads yet: the buffers fill and the deadline passes.
    auto first = nk::send_file(a, file.fd, {}, 50ms);
    REQUIRE_FALSE(first);
    REQUIRE(first.error() == std::errc::timed_out);
    REQUIRE(first.error().message() == "sendfile: deadline passed");
    const std::size_t done = first.error().bytes_transferred();
    REQUIRE(done > 0);
    REQUIRE(done < size);
    REQUIRE(is_blocking(a.native_handle()) == !start_non_blocking); // as it was before the call
    auto got = reading(b.native_handle());
    auto rest = nk::send_file(a, file.fd, {.offset = done}, 10s);
    REQUIRE(a.shutdown(nk::shutdown::write));
    REQUIRE(rest.value() == size - done);
    REQUIRE(got.get() == pattern_bytes(0, size));
}

TEST_CASE("send_file to a closed peer is an error value, and no SIGPIPE is left behind") {
    nk::test::signals_handled = 0;
    const nk::test::scoped_signal counted(SIGPIPE, nk::test::count_signal);
    temp_file file(1024 * 1024);
    auto [a, b] = nk::test::local_pair<nk::local::stream_protocol>();
    REQUIRE(b.close());
    SECTION("SIGPIPE not blocked by the caller") {
        auto sent = nk::send_file(a, file.fd);
        REQUIRE_FALSE(sent);
        REQUIRE(peer_failure(sent.error()));
        REQUIRE_FALSE(sigpipe_blocked());
    }
    SECTION("SIGPIPE blocked by the caller: still blocked, nothing pending") {
        sigset_t pipe_only;
        sigset_t before;
        sigemptyset(&pipe_only);
        sigaddset(&pipe_only, SIGPIPE);
        REQUIRE(::pthread_sigmask(SIG_BLOCK, &pipe_only, &before) == 0);
        auto sent = nk::send_file(a, file.fd);
        sigset_t pending;
        ::sigpending(&pending);
        const bool left_pending = sigismember(&pending, SIGPIPE) == 1;
        const bool still_blocked = sigpipe_blocked();
        ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
        REQUIRE(peer_failure(sent.error()));
        REQUIRE_FALSE(left_pending);
        REQUIRE(still_blocked);
    }
    SECTION("TCP peer reset mid-transfer") {
        auto [client, server] = nk::test::tcp_pair();
        const linger reset{1, 0};
        REQUIRE(::setsockopt(server.native_handle(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset) ==
                0);
        REQUIRE(server.close());
        auto sent = nk::send_file(client, file.fd);
        REQUIRE_FALSE(sent);
        REQUIRE(peer_failure(sent.error()));
    }
    REQUIRE(nk::test::signals_handled == 0);
}

TEST_CASE("send_file ends when the file shrinks under it, with the count of what went") {
    const std::size_t size = 4 * 1024 * 1024;
    temp_file file(size);
    auto [a, b] = nk::test::local_pair<nk::local::stream_protocol>();
    small_send_buffer(a.native_handle());
    std::atomic<pid_t> sender{0};
    auto sending = std::async(std::launch::async, [&, &sock = a] {
        sender = nk::test::thread_id();
        return nk::send_file(sock, file.fd);
    });
    REQUIRE(nk::test::wait_until([&] { return sender.load() != 0; }));
    REQUIRE(nk::test::wait_until_blocked_in(sender, SYS_sendfile)); // the buffers are full
    REQUIRE(::ftruncate(file.fd, 65536) == 0);
    auto got = reading(b.native_handle());
    auto sent = sending.get();
    REQUIRE(a.shutdown(nk::shutdown::write));
    REQUIRE_FALSE(sent);
    REQUIRE(sent.error() == nk::errc::end_of_stream);
    const std::string received = got.get();
    REQUIRE(received.size() == sent.error().bytes_transferred());
    REQUIRE(received.size() < size);
    REQUIRE(received == pattern_bytes(0, received.size()));
}

TEST_CASE("send_file_spliced sends what send_file sends, through a pipe") {
    const std::size_t size = 2 * 1024 * 1024 + 5;
    temp_file file(size);
    auto through = nk::pipe::open().value();
    auto [client, server] = nk::test::tcp_pair();
    auto got = reading(server.native_handle());
    auto sent = nk::send_file_spliced(client, file.fd, through, {.offset = 5});
    REQUIRE(client.shutdown(nk::shutdown::write));
    REQUIRE(sent.value() == size - 5);
    REQUIRE(through.buffered() == 0);
    REQUIRE(got.get() == pattern_bytes(5, size - 5));
    REQUIRE(
        nk::send_file_spliced(client, file.fd, through, {.offset = 6, .length = size}).error() ==
        std::errc::invalid_argument);
}

// The pipe's bytes after a failed call are the file's next bytes, after the bytes_transferred()
// that reached the socket: a resume from offset + bytes_transferred() with the same pipe sends
// them first and reads the file from where they end. The peer checks every byte. Each call has a
// deadline and the results are checked only after the writing side is shut down, so that a wrong
// count fails the test instead of leaving the reader waiting.
TEST_CASE("send_file_spliced resumed with the same pipe sends each byte once, in order") {
    const std::size_t size = 2 * 1024 * 1024 + 7;
    temp_file file(size);
    auto [a, b] = nk::test::local_pair<nk::local::stream_protocol>();
    small_send_buffer(a.native_handle());
    auto through = nk::pipe::open().value();
    // Nobody reads yet: the socket's buffer fills while the pipe holds the bytes that come next.
    auto first = nk::send_file_spliced(a, file.fd, through, {}, 50ms);
    REQUIRE_FALSE(first);
    REQUIRE(first.error() == std::errc::timed_out);
    const std::size_t done = first.error().bytes_transferred();
    const std::size_t held = through.buffered();
    REQUIRE(done > 0);
    REQUIRE(held > 1); // what this test is about: bytes the first call left in the pipe
    REQUIRE(done + held < size);
    REQUIRE(through.readable().value() == held);
    auto got = reading(b.native_handle());
    SECTION("the rest in one call") {
        auto rest = nk::send_file_spliced(a, file.fd, through, {.offset = done}, 10s);
        REQUIRE(a.shutdown(nk::shutdown::write));
        CHECK(rest.value() == size - done);
    }
    SECTION("a part shorter than what the pipe holds, then the rest") {
        const std::size_t part = held / 2;
        auto some =
            nk::send_file_spliced(a, file.fd, through, {.offset = done, .length = part}, 10s);
        const std::size_t left_in_pipe = through.buffered();
        auto rest = nk::send_file_spliced(a, file.fd, through, {.offset = done + part}, 10s);
        REQUIRE(a.shutdown(nk::shutdown::write));
        CHECK(some.value() == part);
        CHECK(left_in_pipe == held - part);
        CHECK(rest.value() == size - done - part);
    }
    SECTION("the pipe closed, its bytes discarded: send_file sends them again from the file") {
        REQUIRE(through.close());
        auto rest = nk::send_file(a, file.fd, {.offset = done}, 10s);
        REQUIRE(a.shutdown(nk::shutdown::write));
        CHECK(rest.value() == size - done);
    }
    CHECK(through.buffered() == 0);
    const std::string received = got.get();
    REQUIRE(first_wrong_byte(received, 0) == received.size());
    REQUIRE(received.size() == size);
}

TEST_CASE("a pipe: close-on-exec ends, its capacity, and what it holds") {
    auto p = nk::pipe::open().value();
    REQUIRE((::fcntl(p.read_end(), F_GETFD) & FD_CLOEXEC) != 0);
    REQUIRE((::fcntl(p.write_end(), F_GETFD) & FD_CLOEXEC) != 0);
    REQUIRE(is_blocking(p.read_end()));
    REQUIRE(p.capacity() == static_cast<std::size_t>(::fcntl(p.write_end(), F_GETPIPE_SZ)));
    const auto grown = p.set_capacity(200000).value();
    REQUIRE(grown >= 200000);
    REQUIRE(p.capacity() == grown);
    REQUIRE(::write(p.write_end(), "abc", 3) == 3);
    REQUIRE(p.readable().value() == 3);
    REQUIRE(p.buffered() == 0); // not written by netkit's splice
    REQUIRE(p.set_capacity(std::size_t{1} << 40).error() == std::errc::invalid_argument);
    REQUIRE(p.close());
    REQUIRE(p.read_end() == -1);
    auto q = nk::pipe::open(nk::io_mode::non_blocking).value();
    REQUIRE_FALSE(is_blocking(q.read_end()));
    REQUIRE_FALSE(is_blocking(q.write_end()));
}

TEST_CASE("splice one step at a time: socket to pipe to socket") {
    auto [a, b] = nk::test::tcp_pair();
    auto [c, d] = nk::test::local_pair<nk::local::stream_protocol>();
    auto through = nk::pipe::open().value();
    REQUIRE(::send(a.native_handle(), "hello, splice", 13, 0) == 13);
    REQUIRE(nk::splice(b, through, 5).value() == 5);
    REQUIRE(through.buffered() == 5);
    REQUIRE(nk::splice(through, c, 64, {.more = true}).value() == 5);
    REQUIRE(nk::splice(b, through, 64).value() == 8);
    REQUIRE(nk::splice(through, c, 64).value() == 8);
    REQUIRE(through.buffered() == 0);
    REQUIRE(read_with_recv(d.native_handle(), 13) == "hello, splice");
    // An empty pipe with dont_wait: would_block, not a sleep.
    auto empty = nk::splice(through, c, 64, {.dont_wait = true});
    REQUIRE(empty.error().would_block());
    REQUIRE(a.shutdown(nk::shutdown::write));
    REQUIRE(nk::splice(b, through, 64).value() == 0); // end of stream
}

TEST_CASE("splice_all moves a stream socket to socket until it ends, byte for byte") {
    const std::string bytes = pattern_bytes(0, 3 * 1024 * 1024 + 3);
    auto [source_peer, source] = nk::test::tcp_pair();
    auto [destination, destination_peer] = nk::test::local_pair<nk::local::stream_protocol>();
    auto through = nk::pipe::open().value();
    // Non-blocking sockets are polled; blocking ones sleep inside splice.
    const bool non_blocking = GENERATE(false, true);
    REQUIRE(source.set_non_blocking(non_blocking));
    REQUIRE(destination.set_non_blocking(non_blocking));
    small_send_buffer(destination.native_handle());
    auto got = reading(destination_peer.native_handle());
    auto writer = std::async(std::launch::async, [&, fd = source_peer.native_handle()] {
        return write_with_send(fd, bytes);
    });
    auto moved = nk::splice_all(source, destination, through);
    REQUIRE(destination.shutdown(nk::shutdown::write));
    REQUIRE(writer.get());
    REQUIRE(moved.value() == bytes.size());
    REQUIRE(got.get() == bytes);
}

TEST_CASE("splice_all stops at its byte limit, leaving the rest in the source") {
    const std::string bytes = pattern_bytes(0, 300000);
    auto [source_peer, source] = nk::test::local_pair<nk::local::stream_protocol>();
    auto [destination, destination_peer] = nk::test::tcp_pair();
    auto through = nk::pipe::open().value();
    auto writer = std::async(std::launch::async, [&, fd = source_peer.native_handle()] {
        return write_with_send(fd, bytes);
    });
    auto got = reading(destination_peer.native_handle(), 100001);
    REQUIRE(nk::splice_all(source, destination, through, {.bytes = 100001}).value() == 100001);
    REQUIRE(got.get() == bytes.substr(0, 100001));
    auto rest = reading(source.native_handle());
    REQUIRE(writer.get());
    REQUIRE(rest.get() == bytes.substr(100001));
}

TEST_CASE("splice_all keeps what the pipe holds when the destination fails, and delivers it next") {
    nk::test::signals_handled = 0;
    const nk::test::scoped_signal counted(SIGPIPE, nk::test::count_signal);
    const std::string bytes = pattern_bytes(0, 1000);
    auto [source_peer, source] = nk::test::local_pair<nk::local::stream_protocol>();
    auto [dead, dead_peer] = nk::test::local_pair<nk::local::stream_protocol>();
    auto through = nk::pipe::open().value();
    REQUIRE(write_with_send(source_peer.native_handle(), bytes));
    REQUIRE(dead_peer.close());
    auto failed = nk::splice_all(source, dead, through);
    REQUIRE_FALSE(failed);
    REQUIRE(peer_failure(failed.error()));
    REQUIRE(failed.error().bytes_transferred() == 0);
    REQUIRE(through.buffered() == bytes.size());
    REQUIRE(through.readable().value() == bytes.size());
    REQUIRE(nk::test::signals_handled == 0);
    // Another destination gets the pipe's bytes first, then the rest of the source (none here).
    auto [alive, alive_peer] = nk::test::tcp_pair();
    auto got = reading(alive_peer.native_handle());
    REQUIRE(nk::splice_all(source, alive, through).value() == bytes.size());
    REQUIRE(alive.shutdown(nk::shutdown::write));
    REQUIRE(got.get() == bytes);
    REQUIRE(through.buffered() == 0);
}

// splice_limits::bytes counts the bytes a pipe held from an earlier call: a limit smaller than
// what the pipe holds moves only that many of them, and the rest stay in the pipe, next in line.
TEST_CASE("splice_all's byte limit counts what the pipe held from an earlier call") {
    nk::test::signals_handled = 0;
    const nk::test::scoped_signal counted(SIGPIPE, nk::test::count_signal);
    const std::string bytes = pattern_bytes(0, 3000);
    auto [source_peer, source] = nk::test::local_pair<nk::local::stream_protocol>();
    auto [dead, dead_peer] = nk::test::local_pair<nk::local::stream_protocol>();
    auto through = nk::pipe::open().value();
    REQUIRE(::send(source_peer.native_handle(), bytes.data(), 1000, MSG_NOSIGNAL) == 1000);
    REQUIRE(dead_peer.close());
    REQUIRE(peer_failure(nk::splice_all(source, dead, through).error()));
    REQUIRE(through.buffered() == 1000);
    // The source's next 2000 bytes, then its end.
    REQUIRE(write_with_send(source_peer.native_handle(), bytes.substr(1000)));
    auto [alive, alive_peer] = nk::test::tcp_pair();
    auto got = reading(alive_peer.native_handle());
    auto none = nk::splice_all(source, alive, through, {.bytes = 0, .until = 10s});
    const std::size_t held_after_none = through.buffered();
    auto ten = nk::splice_all(source, alive, through, {.bytes = 10, .until = 10s});
    const std::size_t held_after_ten = through.buffered();
    const std::size_t readable_after_ten = through.readable().value_or(std::size_t{0});
    // 990 from the pipe, then 510 from the source.
    auto more = nk::splice_all(source, alive, through, {.bytes = 1500, .until = 10s});
    const std::size_t held_after_more = through.buffered();
    auto rest = nk::splice_all(source, alive, through, {.until = 10s});
    REQUIRE(alive.shutdown(nk::shutdown::write));
    CHECK(none.value() == 0);
    CHECK(held_after_none == 1000);
    CHECK(ten.value() == 10);
    CHECK(held_after_ten == 990);
    CHECK(readable_after_ten == 990);
    CHECK(more.value() == 1500);
    CHECK(held_after_more == 0);
    CHECK(rest.value() == 1490);
    REQUIRE(got.get() == bytes);
    REQUIRE(through.buffered() == 0);
    REQUIRE(nk::test::signals_handled == 0);
}

TEST_CASE("splice_all stops at its deadline when the source is silent, sockets as they were") {
    auto [source_peer, source] = nk::test::tcp_pair();
    auto [destination, destination_peer] = nk::test::tcp_pair();
    auto through = nk::pipe::open().value();
    REQUIRE(::send(source_peer.native_handle(), "abc", 3, 0) == 3);
    auto moved = nk::splice_all(source, destination, through, {.until = 50ms});
    REQUIRE(moved.error() == std::errc::timed_out);
    REQUIRE(moved.error().bytes_transferred() == 3);
    REQUIRE(is_blocking(source.native_handle()));
    REQUIRE(is_blocking(destination.native_handle()));
    REQUIRE(read_with_recv(destination_peer.native_handle(), 3) == "abc");
}
