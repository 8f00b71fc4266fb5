// The echo server of echo_server.cpp written as coroutines on netkit's loop: one task per
// connection, straight-line code, an idle timeout as the receive's deadline, backpressure from
// send_all (it waits while the peer does not read), and SIGINT/SIGTERM drain: the listener
// stops, each connection finishes the echo under way, sends its FIN, and the program exits 0.
//
//   co_echo_server [ENDPOINT [IDLE_MS] [--engine=epoll]]
//
// The first line of output is the bound endpoint (ENDPOINT may use port 0).
#include <netkit/async.hpp>
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <signal.h>
#include <string_view>

#include <sys/signalfd.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;

namespace {

struct server_state {
    std::chrono::milliseconds idle;
    nka::stop_source draining; // asked once a signal came: receives end, echoes under way finish
    int sessions = 0;
};

nka::task<> session(nk::tcp::socket sock, server_state& state) {
    ++state.sessions;
    std::array<std::byte, 16384> buffer{};
    for (;;) {
        // Ends at end of stream, at the idle deadline, or when the drain begins.
        auto got = co_await nka::receive(sock, buffer, state.idle, state.draining.token());
        if (!got || *got == 0) {
            break;
        }
        // No stop token here: an echo under way is finished even while draining.
        auto sent = co_await nka::send_all(sock, std::span(buffer).first(*got), state.idle);
        if (!sent) {
            break;
        }
    }
    (void)sock.shutdown(nk::shutdown::write); // the peer reads end of stream, then we close
    --state.sessions;
}

nka::task<> accept_loop(nk::tcp::acceptor& acceptor, server_state& state) {
    for (;;) {
        auto conn = co_await nka::accept(acceptor, {}, state.draining.token());
        if (conn) {
            nka::loop::current().spawn(session(std::move(conn->socket), state));
        } else if (conn.error() == std::errc::operation_canceled) {
            co_return;
        } else { // out of descriptors, say: wait before the listener is tried again
            fmt::print(stderr, "{}\n", conn.error().message());
            (void)co_await nka::sleep_for(100ms);
        }
    }
}

nka::task<int> serve(nk::tcp::acceptor& acceptor, nk::file_descriptor& signals,
                     server_state& state) {
    nka::loop::current().spawn(accept_loop(acceptor, state));
    auto signalled = co_await nka::wait_readable(signals); // (never co_await inside an if)
    if (!signalled) {
        co_return 1;
    }
    state.draining.request_stop();
    while (state.sessions > 0) { // the sessions finish their echoes and close
        (void)co_await nka::sleep_for(5ms);
    }
    co_return 0;
}

// SIGINT and SIGTERM become a readable descriptor that a task waits on.
nk::file_descriptor shutdown_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    return nk::file_descriptor(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

} // namespace

int main(int argc, char** argv) {
    const std::string_view where = argc > 1 ? argv[1] : "127.0.0.1:0";
    const bool has_idle = argc > 2 && argv[2][0] != '-'; // options may follow ENDPOINT directly
    server_state state{std::chrono::milliseconds(has_idle ? std::atol(argv[2]) : 10000), {}, 0};
    for (int i = has_idle ? 3 : 2; i < argc; ++i) { // the io_uring engine will add its name here
        if (std::string_view(argv[i]) != "--engine=epoll") {
            fmt::print(stderr, "unknown option {} (engines: --engine=epoll)\n", argv[i]);
            return 2;
        }
    }
    auto endpoint = nk::ip::endpoint::parse(where);
    if (!endpoint) {
        fmt::print(stderr, "{}\n", endpoint.error().message());
        return 2;
    }
    nk::file_descriptor signals = shutdown_signals();
    nk::listen_options options;
    options.mode = nk::io_mode::non_blocking; // the loop's accept needs it
    auto acceptor = nk::tcp::acceptor::listen(*endpoint, options);
    if (!acceptor) {
        fmt::print(stderr, "{}\n", acceptor.error().message());
        return 1;
    }
    fmt::print("{}\n", acceptor->local_endpoint().value().to_string());
    std::fflush(stdout); // the first line is how a supervisor learns the port

    nka::loop loop;
    const int status = loop.run(serve(*acceptor, signals, state));
    fmt::print("shut down\n");
    return status;
}
