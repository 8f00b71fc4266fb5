// A TCP echo server on one thread: a poller reports readiness, each connection reads into its own
// fixed buffer and echoes it with a resumable send, reading pauses while a write is pending
// (backpressure), an idle connection is closed at its deadline (a timer queue sets the wait's
// timeout), and SIGINT or SIGTERM (through a signalfd) shuts it down gracefully: no new
// connections, the echoes under way finished within two seconds, then a FIN to each client.
//
// Usage: example_echo_server [ENDPOINT] [IDLE_MS]   (default 127.0.0.1:0 and 10000)
// The first line it prints is the endpoint it listens on; port 0 lets the kernel pick one.
#include <netkit/io/poller.hpp>
#include <netkit/io/resumable.hpp>
#include <netkit/io/timer_queue.hpp>
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <sys/resource.h>
#include <sys/signalfd.h>

namespace nk = netkit;

namespace {

// Tokens of the two descriptors that are not connections: no slot has these indexes.
constexpr std::uint64_t listener_token = 0xffff'ffffU;
constexpr std::uint64_t signal_token = 0xffff'fffeU;

// One connection. It never moves (the table holds pointers), because `out` points into `buffer`.
struct connection {
    nk::tcp::socket socket;
    // All the server ever holds for this client. Left uninitialised (take_slot makes it "for
    // overwrite"): only what a receive wrote is ever sent, and zeroing 16 KiB per connection was
    // most of the instructions of a 1000-connection run besides the requests (callgrind).
    std::array<std::byte, 16384> buffer;   // NOLINT(cppcoreguidelines-pro-type-member-init)
    iovec pending{};                       // the part of buffer being echoed
    std::optional<nk::resumable_send> out; // set while an echo is under way
    nk::deadline idle_until;
    std::uint32_t generation = 0; // incremented when the slot is reused: see slot_token
};

class echo_server {
public:
    echo_server(nk::tcp::acceptor acceptor, nk::poller poller, nk::file_descriptor signals,
                std::chrono::milliseconds idle)
        : acceptor_(std::move(acceptor)),
          poller_(std::move(poller)),
          signals_(std::move(signals)),
          idle_(idle) {}

    int run() {
        std::array<nk::poller::event, 256> events{};
        while (!stopping_) {
            // The earliest idle deadline is the wait's: timers need no thread of their own.
            auto ready = poller_.wait(events, timers_.next());
            if (!ready) {
                fmt::print(stderr, "{}\n", ready.error().message());
                return 1;
            }
            for (const auto& event : std::span(events).first(*ready)) {
                dispatch(event);
            }
            timers_.expire(nk::deadline::clock::now(),
                           [this](std::uint64_t token) { on_timer(token); });
        }
        drain(std::chrono::seconds(2));
        return 0;
    }

private:
    // The graceful part of a shutdown: no new connections, each echo under way is finished
    // (within `limit`), and every connection then ends with a FIN. Data a client sent that was
    // not read yet is not echoed: reading on would wait for clients that never stop.
    void drain(std::chrono::milliseconds limit) {
        (void)poller_.remove(acceptor_);
        (void)poller_.remove(signals_); // left unread, it would report at every wait
        std::size_t under_way = 0;
        for (std::uint32_t index = 0; index < slots_.size(); ++index) {
            if (!slots_[index]->socket.is_open()) {
                continue;
            }
            if (slots_[index]->out) {
                ++under_way;
            } else {
                finish(index);
            }
        }
        const auto until = nk::deadline::after(limit);
        std::array<nk::poller::event, 256> events{};
        while (under_way > 0 && !until.expired()) {
            auto ready = poller_.wait(events, until);
            if (!ready) {
                break;
            }
            for (const auto& event : std::span(events).first(*ready)) {
                const auto token = nk::slot_token::unpack(event.token());
                connection* c = live(token);
                if (c == nullptr || !c->out) {
                    continue;
                }
                write_more(token.index, *c);
                if (!c->socket.is_open() || !c->out) { // echoed, or failed and closed
                    --under_way;
                    if (c->socket.is_open()) {
                        finish(token.index);
                    }
                }
            }
        }
        for (std::uint32_t index = 0; index < slots_.size(); ++index) {
            if (slots_[index]->socket.is_open()) {
                close(index); // the drain's time is up
            }
        }
    }

    // shutdown(write) first, so the client reads end of stream after its last echo.
    void finish(std::uint32_t index) {
        (void)slots_[index]->socket.shutdown(nk::shutdown::write);
        close(index);
    }

    void dispatch(const nk::poller::event& event) {
        if (event.token() == listener_token) {
            accept_all();
            return;
        }
        if (event.token() == signal_token) {
            stopping_ = true; // SIGINT or SIGTERM: stop after this round of events
            return;
        }
        const auto token = nk::slot_token::unpack(event.token());
        if (connection* c = live(token)) {
            if (c->out) {
                write_more(token.index, *c);
            } else {
                read_some(token.index, *c);
            }
        }
        // Otherwise the event is stale: its connection was closed while this batch was handled.
    }

    connection* live(nk::slot_token token) {
        if (token.index >= slots_.size()) {
            return nullptr;
        }
        connection* c = slots_[token.index].get();
        return c->socket.is_open() && c->generation == token.generation ? c : nullptr;
    }

    void accept_all() {
        for (;;) {
            auto accepted = acceptor_.accept(nk::io_mode::non_blocking);
            if (!accepted) {
                if (!accepted.error().would_block()) {
                    // Out of descriptors (EMFILE, ENFILE): the connection stays queued and the
                    // listener stays readable, so watching it would spin. Stop watching it until
                    // a connection closes and frees a descriptor.
                    (void)poller_.modify(acceptor_, nk::poll_interest(), listener_token);
                    accepting_paused_ = true;
                }
                return;
            }
            const std::uint32_t index = take_slot();
            connection& c = *slots_[index];
            c.socket = std::move(accepted->socket);
            c.idle_until = nk::deadline::after(idle_);
            const std::uint64_t token = nk::slot_token{index, c.generation}.pack();
            if (!poller_.add(c.socket, nk::interest::readable, token) ||
                !timers_.schedule(c.idle_until, token)) {
                close(index);
            }
        }
    }

    void read_some(std::uint32_t index, connection& c) {
        auto got = c.socket.receive(c.buffer);
        if (!got) {
            if (!got.error().would_block()) {
                close(index); // reset, or another error
            }
            return;
        }
        if (*got == 0) {
            close(index); // the client finished sending, and all of it was echoed
            return;
        }
        c.idle_until = nk::deadline::after(idle_);
        c.pending = iovec{c.buffer.data(), *got};
        c.out.emplace(std::span<const iovec>(&c.pending, 1));
        write_more(index, c);
    }

    void write_more(std::uint32_t index, connection& c) {
        auto sent = c.out->step(c.socket);
        if (!sent && !sent.error().would_block()) {
            close(index);
            return;
        }
        if (sent && *sent) {
            c.out.reset(); // echoed: read again
            watch(index, c, nk::interest::readable);
            return;
        }
        if (sent) {
            c.idle_until = nk::deadline::after(idle_); // progress, even if not done
        }
        // Backpressure: until the client reads, wait for room and read nothing more from it.
        watch(index, c, nk::interest::writable);
    }

    // Changes what the poller reports for a connection, with no system call when it is already
    // that: a client that keeps up never leaves `readable`.
    void watch(std::uint32_t index, connection& c, nk::poll_interest what) {
        if (interests_[index] == what) {
            return;
        }
        interests_[index] = what;
        if (!poller_.modify(c.socket, what, nk::slot_token{index, c.generation}.pack())) {
            close(index);
        }
    }

    void on_timer(std::uint64_t token) {
        const auto slot = nk::slot_token::unpack(token);
        connection* c = live(slot);
        if (c == nullptr) {
            return; // the connection is gone: a stale timer
        }
        if (c->idle_until.expired()) {
            close(slot.index);
        } else if (!timers_.schedule(c->idle_until, token)) { // active since: check again later
            close(slot.index);
        }
    }

    std::uint32_t take_slot() {
        if (!free_.empty()) {
            const std::uint32_t index = free_.back();
            free_.pop_back();
            return index;
        }
        // Default-initialised, as make_unique_for_overwrite would (libc++ 14 lacks it).
        slots_.push_back(std::unique_ptr<connection>(new connection));
        interests_.push_back(nk::interest::readable);
        return static_cast<std::uint32_t>(slots_.size() - 1);
    }

    void close(std::uint32_t index) {
        connection& c = *slots_[index];
        (void)poller_.remove(c.socket); // before close: a dup elsewhere would keep it registered
        (void)c.socket.close();
        c.out.reset();
        ++c.generation; // events and timers still carrying the old token are now stale
        interests_[index] = nk::interest::readable;
        free_.push_back(index);
        if (accepting_paused_ &&
            poller_.modify(acceptor_, nk::interest::readable, listener_token)) {
            accepting_paused_ = false;
        }
    }

    nk::tcp::acceptor acceptor_;
    bool accepting_paused_ = false; // out of descriptors: the listener is not watched
    nk::poller poller_;
    nk::file_descriptor signals_;
    std::chrono::milliseconds idle_;
    nk::timer_queue timers_;
    std::vector<std::unique_ptr<connection>> slots_;
    std::vector<nk::poll_interest> interests_;
    std::vector<std::uint32_t> free_;
    bool stopping_ = false;
};

// SIGINT and SIGTERM become readable data on a descriptor the poller watches: the handler is the
// loop itself, with none of a signal handler's restrictions.
nk::result<nk::file_descriptor> shutdown_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) {
        return nk::failure{nk::error::from_errno(errno, "sigprocmask")};
    }
    nk::file_descriptor fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd) {
        return nk::failure{nk::error::from_errno(errno, "signalfd")};
    }
    return fd;
}

} // namespace

int main(int argc, char** argv) {
    const std::string_view where = argc > 1 ? argv[1] : "127.0.0.1:0";
    const std::chrono::milliseconds idle(argc > 2 ? std::atol(argv[2]) : 10000);

    // A thousand clients need a thousand descriptors: take the hard limit.
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
        files.rlim_cur = files.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &files);
    }

    auto endpoint = nk::ip::endpoint::parse(where);
    if (!endpoint) {
        fmt::print(stderr, "{}\n", endpoint.error().message());
        return 2;
    }
    auto signals = shutdown_signals();
    if (!signals) {
        fmt::print(stderr, "{}\n", signals.error().message());
        return 1;
    }
    nk::listen_options options;
    options.mode = nk::io_mode::non_blocking; // accept in a loop until would_block
    auto acceptor = nk::tcp::acceptor::listen(*endpoint, options);
    auto poller = nk::poller::open();
    if (!acceptor || !poller) {
        fmt::print(stderr, "{}\n", (!acceptor ? acceptor.error() : poller.error()).message());
        return 1;
    }
    poller->add(*acceptor, nk::interest::readable, listener_token).value();
    poller->add(*signals, nk::interest::readable, signal_token).value();

    fmt::print("{}\n", acceptor->local_endpoint().value().to_string());
    std::fflush(stdout); // the first line is how a supervisor learns the port

    echo_server server(std::move(*acceptor), std::move(*poller), std::move(*signals), idle);
    const int status = server.run();
    fmt::print("shut down\n");
    return status;
}
