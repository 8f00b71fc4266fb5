// netkit::poller over epoll: registrations of sockets, acceptors and raw descriptors, the events
// each readiness change reports (level, edge, one-shot), wake() from another thread, EINTR during
// a wait, the error values of misuse, and how a closed and reused descriptor number is kept from
// receiving another connection's events. Peers are plain C calls. No sleeps: every wait is
// bounded by a deadline, and no test asserts how long anything took.
#include <netkit/io/poller.hpp>

#include "support/catch.hpp"
#include "support/signals.hpp"
#include "support/sockets.hpp"

#include <netkit/io/resumable.hpp>
#include <netkit/netkit.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <future>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {
using events_array = std::array<nk::poller::event, 16>;

// Waits up to 10 s for something to be ready (a bound, not a delay) and returns the events.
std::span<nk::poller::event> wait_some(nk::poller& poller, events_array& events) {
    const std::size_t count = poller.wait(events, 10s).value();
    return std::span(events).first(count);
}

// What is ready right now, without waiting.
std::size_t ready_now(nk::poller& poller, events_array& events) {
    return poller.wait(events, nk::deadline(0s)).value();
}

std::array<int, 2> make_pipe() {
    std::array<int, 2> fds{-1, -1};
    REQUIRE(::pipe2(fds.data(), O_CLOEXEC | O_NONBLOCK) == 0);
    return fds;
}

using netkit::test::count_signal;
using netkit::test::scoped_signal;
using netkit::test::signals_handled;

} // namespace

TEST_CASE("poller: opened close-on-exec, a passed deadline with nothing ready returns 0") {
    auto poller = nk::poller::open().value();
    REQUIRE(poller.is_open());
    REQUIRE((::fcntl(poller.native_handle(), F_GETFD) & FD_CLOEXEC) != 0);
    events_array events;
    REQUIRE(poller.wait(events, nk::deadline(0s)).value() == 0);
    REQUIRE(poller.wait(events, 0ms).value() == 0);
    REQUIRE(poller.wait(events, 1ms).value() == 0);
}

TEST_CASE("poller: level-triggered readable is reported until the data is read") {
    auto poller = nk::poller::open().value();
    auto [a, b] = nk::local::stream_socket::pair(nk::io_mode::non_blocking).value();
    poller.add(b, nk::interest::readable, 42).value();
    events_array events;
    REQUIRE(ready_now(poller, events) == 0);

    REQUIRE(::send(a.native_handle(), "abc", 3, 0) == 3);
    auto first = wait_some(poller, events);
    REQUIRE(first.size() == 1);
    REQUIRE(first[0].token() == 42);
    REQUIRE(first[0].readable());
    REQUIRE_FALSE(first[0].writable());
    // Not read: reported again.
    REQUIRE(ready_now(poller, events) == 1);
    std::array<char, 8> buffer{};
    REQUIRE(b.receive(buffer).value() == 3);
    REQUIRE(ready_now(poller, events) == 0);
}

TEST_CASE("poller: edge-triggered reports a change once, new data is a new edge") {
    auto poller = nk::poller::open().value();
    auto [a, b] = nk::local::stream_socket::pair(nk::io_mode::non_blocking).value();
    poller.add(b, nk::interest::readable | nk::interest::edge_triggered, 7).value();
    events_array events;
    REQUIRE(::send(a.native_handle(), "x", 1, 0) == 1);
    REQUIRE(wait_some(poller, events).size() == 1);
    // The byte is still unread, but the edge has been reported: nothing now.
    REQUIRE(ready_now(poller, events) == 0);
    REQUIRE(::send(a.native_handle(), "y", 1, 0) == 1);
    auto again = wait_some(poller, events);
    REQUIRE(again.size() == 1);
    REQUIRE(again[0].token() == 7);
    // The draining rule: read until would_block, then the next edge is for new data only.
    std::array<char, 1> one{};
    std::size_t read = 0;
    for (;;) {
        auto got = b.receive(one);
        if (!got) {
            REQUIRE(got.error().would_block());
            break;
        }
        read += *got;
    }
    REQUIRE(read == 2);
}

TEST_CASE("poller: one-shot reports once, then stays silent until modify re-arms it") {
    auto poller = nk::poller::open().value();
    auto [a, b] = nk::local::stream_socket::pair(nk::io_mode::non_blocking).value();
    poller.add(b, nk::interest::readable | nk::interest::one_shot, 1).value();
    events_array events;
    REQUIRE(::send(a.native_handle(), "x", 1, 0) == 1);
    REQUIRE(wait_some(poller, events).size() == 1);
    REQUIRE(ready_now(poller, events) == 0);
    // Re-armed with a new token: the unread byte is reported under it.
    poller.modify(b, nk::interest::readable | nk::interest::one_shot, 2).value();
    auto rearmed = wait_some(poller, events);
    REQUIRE(rearmed.size() == 1);
    REQUIRE(rearmed[0].token() == 2);
}

TEST_CASE("poller: raw descriptors (pipe, eventfd, timerfd) and an acceptor") {
    auto poller = nk::poller::open().value();
    events_array events;

    const auto pipe = make_pipe();
    poller.add(pipe[0], nk::interest::readable, 10).value();
    REQUIRE(::write(pipe[1], "p", 1) == 1);
    auto from_pipe = wait_some(poller, events);
    REQUIRE(from_pipe.size() == 1);
    REQUIRE(from_pipe[0].token() == 10);
    poller.remove(pipe[0]).value();

    nk::file_descriptor counter(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    REQUIRE(counter.is_open());
    poller.add(counter, nk::interest::readable, 11).value();
    const std::uint64_t one = 1;
    REQUIRE(::write(counter.get(), &one, sizeof one) == sizeof one);
    auto from_eventfd = wait_some(poller, events);
    REQUIRE(from_eventfd.size() == 1);
    REQUIRE(from_eventfd[0].token() == 11);
    poller.remove(counter).value();

    nk::file_descriptor timer(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    REQUIRE(timer.is_open());
    poller.add(timer, nk::interest::readable, 12).value();
    itimerspec when{};
    when.it_value.tv_nsec = 1000; // one microsecond from now
    REQUIRE(::timerfd_settime(timer.get(), 0, &when, nullptr) == 0);
    auto from_timer = wait_some(poller, events);
    REQUIRE(from_timer.size() == 1);
    REQUIRE(from_timer[0].token() == 12);

    nk::listen_options options;
    options.mode = nk::io_mode::non_blocking;
    auto acceptor =
        nk::tcp::acceptor::listen(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0), options)
            .value();
    poller.remove(timer).value();
    poller.add(acceptor, nk::interest::readable, 13).value();
    const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const auto to = acceptor.local_endpoint().value();
    REQUIRE(::connect(client, to.data(), to.size()) == 0);
    auto from_acceptor = wait_some(poller, events);
    REQUIRE(from_acceptor.size() == 1);
    REQUIRE(from_acceptor[0].token() == 13);
    REQUIRE(acceptor.accept(nk::io_mode::non_blocking).has_value());
    ::close(client);
    ::close(pipe[0]);
    ::close(pipe[1]);
}

TEST_CASE("poller: writable, a half-close, urgent data and a reset are each typed events") {
    auto poller = nk::poller::open().value();
    auto acceptor =
        nk::tcp::acceptor::listen(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    const int peer = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const auto to = acceptor.local_endpoint().value();
    REQUIRE(::connect(peer, to.data(), to.size()) == 0);
    auto sock = acceptor.accept(10s, nk::io_mode::non_blocking).value().socket;
    events_array events;

    poller.add(sock, nk::interest::writable, 1).value();
    auto room = wait_some(poller, events);
    REQUIRE(room.size() == 1);
    REQUIRE(room[0].writable());

    poller.modify(sock, nk::interest::readable | nk::interest::urgent, 2).value();
    REQUIRE(::send(peer, "!", 1, MSG_OOB) == 1);
    auto urgent = wait_some(poller, events);
    REQUIRE(urgent.size() == 1);
    REQUIRE(urgent[0].urgent());

    poller.modify(sock, nk::interest::peer_closed_writing, 3).value();
    REQUIRE(::shutdown(peer, SHUT_WR) == 0);
    auto half = wait_some(poller, events);
    REQUIRE(half.size() == 1);
    REQUIRE(half[0].peer_closed_writing());
    REQUIRE_FALSE(half[0].hang_up());

    // A reset (SO_LINGER 0) is reported without any interest: hang-up, and the error.
    const linger abort{1, 0};
    REQUIRE(::setsockopt(peer, SOL_SOCKET, SO_LINGER, &abort, sizeof abort) == 0);
    ::close(peer);
    poller.modify(sock, nk::poll_interest(), 4).value();
    auto reset = wait_some(poller, events);
    REQUIRE(reset.size() == 1);
    REQUIRE(reset[0].token() == 4);
    REQUIRE(reset[0].hang_up());
}

TEST_CASE("poller: more ready than room: the rest comes at the next wait") {
    auto poller = nk::poller::open().value();
    std::vector<std::array<int, 2>> pipes;
    for (std::uint64_t i = 0; i < 5; ++i) {
        pipes.push_back(make_pipe());
        poller.add(pipes.back()[0], nk::interest::readable, i).value();
        REQUIRE(::write(pipes.back()[1], "x", 1) == 1);
    }
    std::array<nk::poller::event, 2> small{};
    std::uint64_t seen = 0;
    for (int round = 0; round < 3; ++round) {
        const std::size_t count = poller.wait(small, 10s).value();
        REQUIRE(count >= 1);
        REQUIRE(count <= 2);
        for (std::size_t i = 0; i < count; ++i) {
            seen |= std::uint64_t{1} << small[i].token();
            char c = 0;
            REQUIRE(::read(pipes[small[i].token()][0], &c, 1) == 1);
        }
    }
    REQUIRE(seen == 0b11111);
    for (auto& p : pipes) {
        ::close(p[0]);
        ::close(p[1]);
    }
}

TEST_CASE("poller: misuse is a clear error value") {
    auto poller = nk::poller::open().value();
    events_array events;

    SECTION("an empty event span") {
        auto none = poller.wait(std::span<nk::poller::event>(), 0s);
        REQUIRE_FALSE(none);
        REQUIRE(none.error() == std::errc::invalid_argument);
    }
    SECTION("a negative or overflowing timeout") {
        auto negative = poller.wait(events, -1ms);
        REQUIRE_FALSE(negative);
        REQUIRE(negative.error() == std::errc::invalid_argument);
        auto huge = poller.wait(events, std::chrono::hours::max());
        REQUIRE_FALSE(huge);
        REQUIRE(huge.error() == std::errc::value_too_large);
    }
    SECTION("a closed socket, a closed descriptor number, a regular file") {
        auto sock = nk::tcp::socket::open(nk::ip::v4).value();
        const int number = sock.native_handle();
        sock.close().value();
        auto closed = poller.add(sock, nk::interest::readable, 1);
        REQUIRE_FALSE(closed);
        REQUIRE(closed.error() == std::errc::bad_file_descriptor);
        REQUIRE(std::string_view(closed.error().operation()) == "poller add");
        auto stale_number = poller.add(number, nk::interest::readable, 1);
        REQUIRE_FALSE(stale_number);
        REQUIRE(stale_number.error() == std::errc::bad_file_descriptor);

        nk::file_descriptor file(::open("/proc/self/stat", O_RDONLY | O_CLOEXEC));
        REQUIRE(file.is_open());
        auto regular = poller.add(file, nk::interest::readable, 1);
        REQUIRE_FALSE(regular);
        REQUIRE(regular.error() == std::errc::operation_not_permitted);
    }
    SECTION("twice, never, the reserved token, exclusive in modify") {
        auto [a, b] = nk::local::stream_socket::pair().value();
        poller.add(a, nk::interest::readable, 1).value();
        auto twice = poller.add(a, nk::interest::readable, 1);
        REQUIRE_FALSE(twice);
        REQUIRE(twice.error() == std::errc::file_exists);
        auto never = poller.modify(b, nk::interest::readable, 2);
        REQUIRE_FALSE(never);
        REQUIRE(never.error() == std::errc::no_such_file_or_directory);
        REQUIRE(poller.remove(b).error() == std::errc::no_such_file_or_directory);
        auto reserved = poller.add(b, nk::interest::readable, nk::poller::wake_token);
        REQUIRE_FALSE(reserved);
        REQUIRE(reserved.error() == std::errc::invalid_argument);
        auto exclusive = poller.modify(a, nk::interest::readable | nk::interest::exclusive, 1);
        REQUIRE_FALSE(exclusive);
        REQUIRE(exclusive.error() == std::errc::invalid_argument);
        REQUIRE(poller.add(b, nk::interest::readable | nk::interest::exclusive, 3).has_value());
    }
    SECTION("a poller that was never opened") {
        nk::poller empty;
        REQUIRE(empty.wait(events).error() == std::errc::bad_file_descriptor);
        REQUIRE(empty.wake().error() == std::errc::bad_file_descriptor);
    }
}

TEST_CASE("poller: wake() from another thread ends a wait that has no deadline") {
    auto poller = nk::poller::open().value();
    std::atomic<bool> stop{false};
    std::atomic<int> rounds{0};
    std::atomic<pid_t> waiter_tid{0};
    auto waiter = std::async(std::launch::async, [&] {
        waiter_tid = netkit::test::thread_id();
        events_array events;
        while (!stop.load()) {
            // No deadline: only a wake can end this wait.
            auto got = poller.wait(events);
            if (!got || *got != 0) {
                return false;
            }
            rounds.fetch_add(1);
        }
        return true;
    });
    // Several wakes, from several threads, some while the waiter is busy between waits.
    std::atomic<int> failed_wakes{0};
    std::vector<std::thread> wakers;
    for (int i = 0; i < 4; ++i) {
        wakers.emplace_back([&] {
            for (int j = 0; j < 50; ++j) {
                if (!poller.wake()) {
                    failed_wakes.fetch_add(1);
                }
            }
        });
    }
    for (auto& t : wakers) {
        t.join();
    }
    REQUIRE(failed_wakes.load() == 0);
    REQUIRE(netkit::test::wait_until([&] { return rounds.load() > 0; }));
    // The wakes above are drained and the waiter sleeps in a wait with no deadline: only the
    // next wake can end it, and the test fails (rather than hangs) if it does not.
    REQUIRE(netkit::test::wait_until_blocked_in(waiter_tid.load(), SYS_epoll_wait));
    stop = true;
    REQUIRE(poller.wake().has_value());
    REQUIRE(waiter.wait_for(10s) == std::future_status::ready);
    REQUIRE(waiter.get());
}

TEST_CASE("poller: a wake is reported apart from the events, which stay contiguous") {
    auto poller = nk::poller::open().value();
    const auto pipe = make_pipe();
    poller.add(pipe[0], nk::interest::readable, 5).value();
    REQUIRE(::write(pipe[1], "x", 1) == 1);
    REQUIRE(poller.wake().has_value());
    events_array events;
    // Both are ready; the wake is taken out, the pipe's event is first.
    const std::size_t count = poller.wait(events, 10s).value();
    REQUIRE(count == 1);
    REQUIRE(events[0].token() == 5);
    ::close(pipe[0]);
    ::close(pipe[1]);
}

TEST_CASE("poller: a wait that signals keep interrupting ends at its deadline, not before") {
    const scoped_signal handler(SIGUSR1, count_signal);
    auto poller = nk::poller::open().value();
    std::atomic<pthread_t> waiter_thread{};
    std::atomic<bool> started{false};
    std::atomic<bool> done{false};
    const int before = signals_handled.load();
    auto waiting = std::async(std::launch::async, [&] {
        waiter_thread = ::pthread_self();
        started = true;
        events_array events;
        const auto until = nk::deadline::after(300ms);
        auto got = poller.wait(events, until);
        const bool early = nk::deadline::clock::now() < until.at();
        done = true;
        return std::pair{got, early};
    });
    REQUIRE(netkit::test::wait_until([&] { return started.load(); }));
    REQUIRE(netkit::test::wait_until(
        [&] { return done.load() || ::pthread_kill(waiter_thread, SIGUSR1) != 0; }));
    const auto [got, early] = waiting.get();
    REQUIRE(got.value() == 0);
    REQUIRE_FALSE(early);
    REQUIRE(netkit::test::wait_until([&] { return signals_handled.load() > before; }));
}

TEST_CASE("stale events: closing the only descriptor ends its registration, so a reused number "
          "starts clean") {
    auto poller = nk::poller::open().value();
    auto [a, b] = nk::local::stream_socket::pair().value();
    poller.add(b, nk::interest::readable, 1).value();
    const int number = b.native_handle();
    b.close().value();
    // socket(2) returns the lowest free number: the one just closed.
    auto [c, d] = nk::local::stream_socket::pair().value();
    const int reused = c.native_handle() == number ? 0 : 1;
    auto& same_number = reused == 0 ? c : d;
    REQUIRE(same_number.native_handle() == number);
    // Not EEXIST: the kernel dropped the old registration with the last descriptor.
    poller.add(same_number, nk::interest::readable, 2).value();
    auto& other_end = reused == 0 ? d : c;
    REQUIRE(::send(other_end.native_handle(), "x", 1, 0) == 1);
    events_array events;
    auto got = wait_some(poller, events);
    REQUIRE(got.size() == 1);
    REQUIRE(got[0].token() == 2);
}

TEST_CASE("stale events: a duplicated descriptor keeps a registration alive after close, which "
          "is why remove comes before close") {
    auto poller = nk::poller::open().value();
    auto [a, b] = nk::local::stream_socket::pair().value();
    events_array events;

    SECTION("closed without remove: the copy still reports under the old token") {
        auto copy = b.duplicate().value();
        poller.add(b, nk::interest::readable, 1).value();
        const int number = b.native_handle();
        b.close().value();
        REQUIRE(::send(a.native_handle(), "x", 1, 0) == 1);
        auto got = wait_some(poller, events);
        REQUIRE(got.size() == 1);
        REQUIRE(got[0].token() == 1); // a connection the caller believes closed
        // ... and its number is gone, so the registration cannot be removed by it any more.
        REQUIRE(poller.remove(number).error() == std::errc::bad_file_descriptor);
    }
    SECTION("removed before close: silence") {
        auto copy = b.duplicate().value();
        poller.add(b, nk::interest::readable, 1).value();
        poller.remove(b).value();
        b.close().value();
        REQUIRE(::send(a.native_handle(), "x", 1, 0) == 1);
        REQUIRE(ready_now(poller, events) == 0);
    }
}

TEST_CASE("stale events: within one batch, a slot_token generation drops the event of a "
          "connection closed while the batch was handled, even when its number is reused") {
    struct slot {
        nk::local::stream_socket socket;
        std::uint32_t generation = 0;
    };
    std::array<slot, 2> table{};
    auto poller = nk::poller::open().value();
    auto [a0, b0] = nk::local::stream_socket::pair().value();
    auto [a1, b1] = nk::local::stream_socket::pair().value();
    table[0].socket = std::move(b0);
    table[1].socket = std::move(b1);
    poller.add(table[0].socket, nk::interest::readable, nk::slot_token{0, 0}.pack()).value();
    poller.add(table[1].socket, nk::interest::readable, nk::slot_token{1, 0}.pack()).value();
    REQUIRE(::send(a0.native_handle(), "0", 1, 0) == 1);
    REQUIRE(::send(a1.native_handle(), "1", 1, 0) == 1);

    events_array events;
    std::size_t count = 0;
    REQUIRE(netkit::test::wait_until([&] {
        count = poller.wait(events, 10s).value();
        return count == 2;
    }));
    int handled = 0;
    int stale = 0;
    std::vector<nk::local::stream_socket> keep;
    for (std::size_t i = 0; i < count; ++i) {
        const auto token = nk::slot_token::unpack(events[i].token());
        slot& s = table[token.index];
        if (token.generation != s.generation || !s.socket.is_open()) {
            ++stale;
            continue;
        }
        ++handled;
        // Handling the first event closes the other connection and reuses its slot and its
        // descriptor number for a new one, as an accept in between would.
        slot& other = table[1 - token.index];
        const int number = other.socket.native_handle();
        poller.remove(other.socket).value();
        other.socket.close().value();
        auto [x, y] = nk::local::stream_socket::pair().value();
        REQUIRE((x.native_handle() == number || y.native_handle() == number));
        const bool x_reused = x.native_handle() == number;
        other.socket = std::move(x_reused ? x : y);
        keep.push_back(std::move(x_reused ? y : x));
        ++other.generation;
        poller
            .add(other.socket, nk::interest::readable,
                 nk::slot_token{1U - token.index, other.generation}.pack())
            .value();
    }
    REQUIRE(handled == 1);
    REQUIRE(stale == 1);
}

TEST_CASE("resumable_receive driven by an edge-triggered poller: a length-prefixed message sent "
          "in pieces by a plain C writer arrives whole, each event drained until would_block") {
    auto ends = nk::local::stream_socket::pair(nk::io_mode::non_blocking).value();
    auto& reader = ends.first;
    const int writer = ends.second.native_handle();
    ends.second.set_non_blocking(false).value(); // the writer blocks when the pair is full
    auto poller = nk::poller::open().value();
    poller.add(reader, nk::interest::readable | nk::interest::edge_triggered, 1).value();

    std::vector<std::byte> body(300'000);
    for (std::size_t i = 0; i < body.size(); ++i) {
        body[i] = static_cast<std::byte>(i * 13U);
    }
    // The C writer: a 4-byte length, then the body in 7000-byte pieces, blocking sends.
    auto writing = std::async(std::launch::async, [writer, &body] {
        const auto length = static_cast<std::uint32_t>(body.size());
        if (::send(writer, &length, sizeof length, 0) != sizeof length) {
            return false;
        }
        for (std::size_t at = 0; at < body.size();) {
            const std::size_t piece = std::min<std::size_t>(7000, body.size() - at);
            const ssize_t n = ::send(writer, body.data() + at, piece, 0);
            if (n <= 0) {
                return false;
            }
            at += static_cast<std::size_t>(n);
        }
        return true;
    });

    std::uint32_t length = 0;
    const iovec header{&length, sizeof length};
    std::optional<nk::resumable_receive> in(std::in_place, std::span<const iovec>(&header, 1));
    std::vector<std::byte> received;
    iovec payload{};
    bool have_header = false;
    bool done = false;
    events_array events;
    for (int round = 0; round < 100'000 && !done; ++round) {
        REQUIRE(poller.wait(events, 10s).value() == 1);
        // Edge-triggered: this event is the only one until new data comes, so drain.
        for (;;) {
            auto step = in->step(reader);
            if (!step) {
                REQUIRE(step.error().would_block());
                break;
            }
            if (!*step) {
                continue;
            }
            if (have_header) {
                done = true;
                break;
            }
            have_header = true;
            received.resize(length);
            payload = iovec{received.data(), received.size()};
            in.emplace(std::span<const iovec>(&payload, 1));
        }
    }
    REQUIRE(writing.get());
    REQUIRE(done);
    REQUIRE(length == body.size());
    REQUIRE(received == body);
}
