// Faults that break servers in production, provoked on purpose: a peer that resets mid-transfer,
// signals that interrupt blocking calls, descriptor exhaustion, and the error value each misuse
// of a connection gets. docs/testing.md lists what each case proves.

#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/signals.hpp"
#include "support/sockets.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::chrono_literals;
using namespace std::string_view_literals;

namespace {

bool is_reset_or_broken_pipe(const nk::error& e) {
    return e == std::errc::connection_reset || e == std::errc::broken_pipe;
}

/// Closes `sock` with SO_LINGER 0, which makes the kernel answer with RST instead of FIN.
void reset(nk::tcp::socket& sock) {
    REQUIRE(sock.set(nk::so::linger, std::chrono::seconds{0}).has_value());
    REQUIRE(sock.close().has_value());
}

using netkit::test::count_signal;
using netkit::test::scoped_signal;
using netkit::test::signals_handled;
using netkit::test::wait_until;

/// Interrupts `thread` with SIGUSR1 until its handler has run `count` more times. Signals are
/// sent without waiting for each one: a standard signal does not queue, and TSan defers a signal
/// that lands just before a blocking call until that call returns, so a fresh one must follow.
bool interrupt(pthread_t thread, int count) {
    const int target = signals_handled.load() + count;
    return wait_until([&] {
               return signals_handled.load() >= target || ::pthread_kill(thread, SIGUSR1) != 0;
           }) &&
           signals_handled.load() >= target;
}

} // namespace

TEST_CASE("a peer that resets mid-transfer: send_all reports ECONNRESET or EPIPE, with the count") {
    // Default SIGPIPE disposition: were any send path without MSG_NOSIGNAL, the process would die.
    const scoped_signal default_sigpipe(SIGPIPE, SIG_DFL, 0);
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;

    // More than the loopback buffers hold, so the sender is blocked mid-transfer when the RST
    // comes.
    const std::vector<char> payload(std::size_t{64} << 20, 'r');
    auto sending = std::async(std::launch::async, [&] { return client.send_all(payload); });
    std::vector<char> first(1 << 20);
    REQUIRE(server.receive_exact(first).value() == first.size());
    reset(server);

    const auto sent = sending.get();
    REQUIRE_FALSE(sent.has_value());
    INFO(sent.error().message());
    REQUIRE(is_reset_or_broken_pipe(sent.error()));
    REQUIRE(sent.error().bytes_transferred() >= first.size());
    REQUIRE(sent.error().bytes_transferred() < payload.size());

    // The connection stays dead for every later operation, and closes cleanly.
    auto again = client.send("more"sv);
    REQUIRE_FALSE(again.has_value());
    REQUIRE(is_reset_or_broken_pipe(again.error()));
    REQUIRE(client.close().has_value());
}

TEST_CASE("a reset reaches a blocked receiver as ECONNRESET") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    std::array<char, 16> buffer{};
    auto receiving = std::async(std::launch::async, [&] { return client.receive(buffer); });
    reset(server);
    const auto got = receiving.get();
    REQUIRE_FALSE(got.has_value());
    REQUIRE(got.error() == std::errc::connection_reset);
    REQUIRE(client.close().has_value());
}

TEST_CASE("EINTR: signals without SA_RESTART interrupt a blocking receive, netkit resumes and "
          "loses nothing") {
    const scoped_signal handler(SIGUSR1, count_signal); // no SA_RESTART
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    std::atomic<pthread_t> reader_thread{};
    std::atomic<bool> reader_started{false};
    std::atomic<bool> reader_done{false};

    SECTION("control: the same setup makes a raw recv(2) fail with EINTR") {
        auto raw = std::async(std::launch::async, [&] {
            reader_thread = ::pthread_self();
            reader_started = true;
            std::array<char, 8> buffer{};
            const auto got = ::recv(server.native_handle(), buffer.data(), buffer.size(), 0);
            const int saved = errno;
            reader_done = true;
            return got < 0 ? saved : 0;
        });
        REQUIRE(wait_until([&] { return reader_started.load(); }));
        // Keep interrupting until the blocked call gives up.
        REQUIRE(wait_until(
            [&] { return reader_done.load() || ::pthread_kill(reader_thread, SIGUSR1) != 0; }));
        REQUIRE(raw.get() == EINTR);
    }

    SECTION("receive_exact retries EINTR and returns every byte in order") {
        auto receiving = std::async(std::launch::async, [&] {
            reader_thread = ::pthread_self();
            reader_started = true;
            std::array<char, 8> buffer{};
            auto got = server.receive_exact(buffer);
            return got ? std::string(buffer.data(), buffer.size()) : got.error().message();
        });
        REQUIRE(wait_until([&] { return reader_started.load(); }));
        REQUIRE(interrupt(reader_thread, 200)); // before any data: the call is blocked in recv
        REQUIRE(client.send_all("0123"sv).value() == 4);
        REQUIRE(interrupt(reader_thread, 200)); // between the halves
        REQUIRE(client.send_all("4567"sv).value() == 4);
        REQUIRE(receiving.get() == "01234567");
    }
}

TEST_CASE("EINTR: a wait with a deadline that signals keep interrupting still ends at its "
          "deadline") {
    // Were the timeout restarted after each EINTR, signals arriving faster than the timeout would
    // keep the wait alive for ever (until this test's ctest timeout): it must go on with the time
    // that is left instead, and report that nothing became ready.
    const scoped_signal handler(SIGUSR1, count_signal); // no SA_RESTART
    auto client_and_server = nk::test::tcp_pair();
    auto& server = client_and_server.second;
    std::atomic<pthread_t> waiter_thread{};
    std::atomic<bool> waiter_started{false};
    std::atomic<bool> waiter_done{false};
    const int handled_before = signals_handled.load();
    auto waiting = std::async(std::launch::async, [&] {
        waiter_thread = ::pthread_self();
        waiter_started = true;
        // Nothing is ever sent, so only the deadline can end this wait.
        auto ready = nk::detail::poll_one(server.native_handle(), POLLIN, 300ms);
        waiter_done = true;
        return ready;
    });
    REQUIRE(wait_until([&] { return waiter_started.load(); }));
    REQUIRE(wait_until(
        [&] { return waiter_done.load() || ::pthread_kill(waiter_thread, SIGUSR1) != 0; }));
    const auto ready = waiting.get();
    REQUIRE(ready.has_value());
    REQUIRE(*ready == 0);
    // The wait really was interrupted (a sanitizer may run the handler only after the call).
    REQUIRE(wait_until([&] { return signals_handled.load() > handled_before; }));
}

TEST_CASE("descriptor exhaustion: accept reports EMFILE, and the acceptor works once descriptors "
          "are freed") {
    // In a child process, so that lowering RLIMIT_NOFILE cannot touch the test runner. The child
    // exits with the number of the step that went wrong.
    enum step : int {
        ok = 0,
        setup = 10,
        no_exhaustion,
        accept_not_emfile,
        accept_after_free,
        exchange
    };
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        auto listener =
            nk::tcp::acceptor::listen(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0));
        if (!listener) {
            ::_exit(setup);
        }
        auto client = nk::tcp::socket::connect(listener->local_endpoint().value());
        const rlimit low{64, 64};
        if (!client || ::setrlimit(RLIMIT_NOFILE, &low) != 0) {
            ::_exit(setup);
        }
        // Use up every descriptor left.
        std::vector<int> fillers;
        while (true) {
            const int fd = ::dup(STDERR_FILENO);
            if (fd < 0) {
                if (errno != EMFILE) {
                    ::_exit(setup);
                }
                break;
            }
            fillers.push_back(fd);
        }
        if (fillers.empty()) {
            ::_exit(no_exhaustion);
        }
        auto refused = listener->accept();
        // Free two descriptors before looking at the result: UBSan's type checks open a pipe to
        // probe memory, and with no descriptor left they report false errors.
        for (int i = 0; i < 2 && !fillers.empty(); ++i) {
            ::close(fillers.back());
            fillers.pop_back();
        }
        if (refused || refused.error() != std::errc::too_many_files_open) {
            ::_exit(accept_not_emfile);
        }
        auto accepted = listener->accept(); // the same pending connection, not lost
        if (!accepted) {
            ::_exit(accept_after_free);
        }
        std::array<char, 2> buffer{};
        if (!client->send_all("ok"sv) || !accepted->socket.receive_exact(buffer) ||
            std::string_view(buffer.data(), 2) != "ok") {
            ::_exit(exchange);
        }
        ::_exit(ok);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    const int failed_step = WEXITSTATUS(status);
    INFO("child failed at step "
         << failed_step
         << " (10 setup, 11 no exhaustion, 12 accept not EMFILE, 13 accept after"
            " free, 14 exchange)");
    REQUIRE(failed_step == ok);
}

TEST_CASE("each misuse of a connection is a specific error value") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    std::array<char, 4> buffer{};

    SECTION("send after our own shutdown(write) is EPIPE, and no signal") {
        const scoped_signal default_sigpipe(SIGPIPE, SIG_DFL, 0);
        REQUIRE(client.shutdown(nk::shutdown::write).has_value());
        auto sent = client.send("late"sv);
        REQUIRE_FALSE(sent.has_value());
        REQUIRE(sent.error() == std::errc::broken_pipe);
        REQUIRE(sent.error().message() == "send: Broken pipe");
    }
    SECTION("receive after the peer's shutdown(write) is 0 bytes; receive_exact is end_of_stream") {
        REQUIRE(server.shutdown(nk::shutdown::write).has_value());
        REQUIRE(client.receive(buffer).value() == 0);
        auto exact = client.receive_exact(buffer);
        REQUIRE_FALSE(exact.has_value());
        REQUIRE(exact.error().code() == nk::errc::end_of_stream);
        REQUIRE(exact.error().bytes_transferred() == 0);
    }
    SECTION(
        "a datagram operation on a socket that was never connected is ENOTCONN / EDESTADDRREQ") {
        auto lone = nk::udp::socket::open(nk::ip::v4).value();
        auto sent = lone.send("x"sv);
        REQUIRE_FALSE(sent.has_value());
        REQUIRE(sent.error() == std::errc::destination_address_required);
        REQUIRE(lone.remote_endpoint().error() == std::errc::not_connected);
    }
}
