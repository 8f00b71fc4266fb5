// The echo server of echo_server.cpp written as coroutines on netkit's loop: one task per
// connection, straight-line code, an idle timeout as the receive's deadline, backpressure from
// send_all (it waits while the peer does not read), and SIGINT/SIGTERM drain: the listener
// stops, each connection finishes the echo under way, sends its FIN, and the program exits 0.
// With --threads N, N threads each run a loop of their own with a listener of their own on the
// same endpoint (SO_REUSEPORT: the kernel spreads the connections among them); a signal drains
// them all.
//
//   co_echo_server [ENDPOINT [IDLE_MS] [--threads N] [--engine=auto|epoll|io_uring]]
//
// The first line of output is the bound endpoint (ENDPOINT may use port 0).
#include <netkit/async.hpp>
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <signal.h>
#include <string_view>
#include <system_error>
#include <vector>

#include <sys/signalfd.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::literals;

namespace {

// Ends at end of stream, at the idle deadline, or when the drain begins (`draining`); an echo
// under way is finished even while draining. The reader keeps one receive armed on io_uring
// and lends what it received, which is sent from the ring's buffer without a copy; on epoll the
// bytes are received into `spare`.
nka::task<> session(nk::tcp::socket sock, std::chrono::milliseconds idle,
                    nka::stop_token draining) {
    std::array<std::byte, 16384> spare{};
    nka::stream_reader reader(sock);
    for (bool open = true; open;) {
        auto got = co_await reader.receive_view(spare, idle, draining);
        if (!got || got->empty()) {
            break;
        }
        open = (co_await nka::send_all(sock, *got, idle)).has_value();
    }
    (void)sock.shutdown(nk::shutdown::write); // the peer reads end of stream, then we close
}

// Every thread's loop waits on the same signalfd. Nobody reads it, so once a signal came it stays
// readable and every loop sees it.
nka::task<> drain_on_signal(const nk::file_descriptor& signals, nka::scope& sessions) {
    (void)co_await nka::wait_readable(signals);
    sessions.request_stop();
}

nka::task<> serve(nk::tcp::acceptor& acceptor, const nk::file_descriptor& signals,
                  std::chrono::milliseconds idle) {
    nka::scope sessions; // joined below: every session has ended before serve does
    sessions.spawn(drain_on_signal(signals, sessions));
    nka::incoming connections(acceptor); // one multishot accept on io_uring
    while (!sessions.token().stop_requested()) {
        auto conn = co_await connections.accept({}, sessions.token());
        if (conn) {
            sessions.spawn(session(std::move(conn->socket), idle, sessions.token()));
        } else { // the drain began, or out of descriptors: wait before trying again
            (void)co_await nka::sleep_for(100ms, sessions.token());
        }
    }
    co_await sessions.join();
}

} // namespace

// Errors of setting up (a port in use, say) and of the loops end it with their message.
int main(int argc, char** argv) try {
    auto endpoint = nk::ip::endpoint::parse(argc > 1 ? argv[1] : "127.0.0.1:0");
    const bool has_idle = argc > 2 && argv[2][0] != '-';
    const std::chrono::milliseconds idle(has_idle ? std::atol(argv[2]) : 10000);
    int threads = 1;
    auto engine = nka::engine_kind::automatic;
    for (int i = has_idle ? 3 : 2; i < argc; ++i) {
        if (argv[i] == "--threads"sv && i + 1 < argc) {
            threads = std::atoi(argv[++i]);
        } else if (argv[i] == "--engine=epoll"sv || argv[i] == "--engine=io_uring"sv) {
            engine = argv[i] == "--engine=epoll"sv ? nka::engine_kind::epoll
                                                   : nka::engine_kind::io_uring;
        } else if (argv[i] != "--engine=auto"sv) {
            threads = 0; // not an option: the usage below
        }
    }
    if (!endpoint || threads < 1) {
        fmt::print(stderr, "usage: co_echo_server [ENDPOINT [IDLE_MS] [--threads N] "
                           "[--engine=auto|epoll|io_uring]]\n");
        return 2;
    }
    // SIGINT and SIGTERM become a readable descriptor that the loops wait on. Blocked before any
    // thread starts, so that every thread inherits the mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    const nk::file_descriptor signals(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    // The first binds (port 0: any), the others its port: SO_REUSEPORT lets them share it.
    std::vector<nk::tcp::acceptor> acceptors(static_cast<std::size_t>(threads));
    for (auto& acceptor : acceptors) {
        acceptor = nk::tcp::acceptor::open(endpoint->family(), nk::io_mode::non_blocking).value();
        acceptor.set(nk::so::reuse_port, true).value();
        acceptor.bind(*endpoint).value();
        acceptor.listen_now().value();
        endpoint->port(acceptor.local_endpoint().value().port());
    }
    fmt::print("{}\n", endpoint->to_string());
    std::fflush(stdout); // the first line is how a supervisor learns the port

    std::vector<std::future<void>> loops; // one thread per listener, each with a loop of its own
    for (auto& acceptor : acceptors) {
        auto run = [&] { nka::loop(engine).run(serve(acceptor, signals, idle)); }; // its own loop
        loops.push_back(std::async(std::launch::async, run));
    }
    for (auto& loop : loops) {
        loop.get(); // waits for its thread; rethrows what escaped its loop
    }
    fmt::print("shut down\n");
} catch (const std::system_error& failure) {
    fmt::print(stderr, "{}\n", failure.what());
    return 1;
}
