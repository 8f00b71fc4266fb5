// One poller thread serving many connections: an echo server built from poller, resumable_send
// and timer_queue (level-triggered, one read per readiness event, reading paused while a write is
// pending, an idle deadline per connection), driven by plain C clients: a thousand at once, and
// clients that reset, half-close, idle or stop reading. The server must go on serving the others,
// lose nothing, hold a bounded amount of data and leak no descriptor.
#include <netkit/io/poller.hpp>

#include "support/catch.hpp"
#include "support/signals.hpp"

#include <netkit/io/resumable.hpp>
#include <netkit/io/timer_queue.hpp>
#include <netkit/netkit.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {

class echo_server {
public:
    explicit echo_server(std::chrono::milliseconds idle) : idle_(idle) {
        nk::listen_options options;
        options.mode = nk::io_mode::non_blocking;
        acceptor_ =
            nk::tcp::acceptor::listen(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0), options)
                .value();
        poller_ = nk::poller::open().value();
        poller_.add(acceptor_, nk::interest::readable, listener_token).value();
        thread_ = std::thread([this] { ok_ = run(); });
    }
    echo_server(const echo_server&) = delete;
    echo_server& operator=(const echo_server&) = delete;
    ~echo_server() { stop(); }

    [[nodiscard]] nk::ip::endpoint endpoint() const { return acceptor_.local_endpoint().value(); }

    /// Stops the loop (wake from this thread) and joins it; true if it ran without a fault.
    bool stop() {
        if (thread_.joinable()) {
            stopping_ = true;
            (void)poller_.wake();
            thread_.join();
        }
        return ok_;
    }

    std::atomic<std::size_t> open{0};
    std::atomic<std::size_t> accepted{0};
    std::atomic<std::size_t> idle_closed{0};
    std::atomic<std::size_t> paused_reads{0};

private:
    static constexpr std::uint64_t listener_token = 0xffff'ffffU; // slot index no table reaches

    struct connection {
        nk::tcp::socket socket;
        std::array<std::byte, 16384> buffer{};
        iovec pending{};
        std::optional<nk::resumable_send> out;
        nk::deadline idle_until;
        std::uint32_t generation = 0;
        bool paused = false; // registered for writability only, until the write drains
    };

    bool run() {
        std::array<nk::poller::event, 256> events{};
        while (!stopping_) {
            auto ready = poller_.wait(events, timers_.next());
            if (!ready) {
                return false;
            }
            if (accept_failed_) {
                return false;
            }
            for (std::size_t i = 0; i < *ready; ++i) {
                if (events[i].token() == listener_token) {
                    accept_all();
                    continue;
                }
                const auto token = nk::slot_token::unpack(events[i].token());
                connection* c = live(token);
                if (c != nullptr) {
                    on_event(token.index, *c, events[i]);
                }
            }
            timers_.expire(nk::deadline::clock::now(), [this](std::uint64_t packed) {
                const auto token = nk::slot_token::unpack(packed);
                connection* c = live(token);
                if (c == nullptr) {
                    return; // closed since: a stale timer
                }
                if (c->idle_until.expired()) {
                    ++idle_closed;
                    close(token.index);
                } else {
                    (void)timers_.schedule(c->idle_until, packed); // active since: later
                }
            });
        }
        for (std::uint32_t i = 0; i < slots_.size(); ++i) {
            if (slots_[i] && slots_[i]->socket.is_open()) {
                close(i);
            }
        }
        return true;
    }

    connection* live(nk::slot_token token) {
        if (token.index >= slots_.size()) {
            return nullptr;
        }
        connection* c = slots_[token.index].get();
        return c != nullptr && c->socket.is_open() && c->generation == token.generation ? c
                                                                                        : nullptr;
    }

    void accept_all() {
        for (;;) {
            auto got = acceptor_.accept(nk::io_mode::non_blocking);
            if (!got) {
                // would_block: the queue is empty. Anything else (EMFILE) would report again at
                // once from a level-triggered listener: the loop ends and the test fails,
                // rather than spin (examples/echo_server.cpp pauses its listener instead).
                accept_failed_ = !got.error().would_block();
                return;
            }
            std::uint32_t index = 0;
            if (!free_.empty()) {
                index = free_.back();
                free_.pop_back();
            } else {
                index = static_cast<std::uint32_t>(slots_.size());
                slots_.push_back(std::make_unique<connection>());
            }
            connection& c = *slots_[index];
            c.socket = std::move(got->socket);
            c.idle_until = nk::deadline::after(idle_);
            const std::uint64_t token = nk::slot_token{index, c.generation}.pack();
            ++open; // before anything can close it: close() counts it down
            if (!poller_.add(c.socket, nk::interest::readable, token)) {
                close(index);
                continue;
            }
            (void)timers_.schedule(c.idle_until, token);
            ++accepted;
        }
    }

    void on_event(std::uint32_t index, connection& c, const nk::poller::event& e) {
        if (c.out) {
            write_more(index, c);
            return;
        }
        if (!(e.readable() || e.hang_up() || e.error())) {
            return;
        }
        auto got = c.socket.receive(c.buffer);
        if (!got) {
            if (!got.error().would_block()) {
                close(index);
            }
            return;
        }
        if (*got == 0) {
            close(index); // end of stream, and everything read was echoed
            return;
        }
        c.idle_until = nk::deadline::after(idle_);
        c.pending = iovec{c.buffer.data(), *got};
        c.out.emplace(std::span<const iovec>(&c.pending, 1));
        write_more(index, c);
    }

    // Backpressure: while a write is pending the connection is registered for writability only,
    // so nothing more is read from it (its peer's data waits in the kernel, whose buffers are
    // bounded) and no other connection waits for it.
    void write_more(std::uint32_t index, connection& c) {
        auto sent = c.out->step(c.socket);
        if (!sent) {
            if (!sent.error().would_block()) {
                close(index);
            } else {
                pause(index, c);
            }
            return;
        }
        c.idle_until = nk::deadline::after(idle_);
        if (!*sent) {
            pause(index, c);
            return;
        }
        const bool was_paused = c.paused;
        c.out.reset();
        if (was_paused) {
            c.paused = false;
            const std::uint64_t token = nk::slot_token{index, c.generation}.pack();
            if (!poller_.modify(c.socket, nk::interest::readable, token)) {
                close(index);
            }
        }
    }

    void pause(std::uint32_t index, connection& c) {
        if (c.paused) {
            return;
        }
        c.paused = true;
        ++paused_reads;
        const std::uint64_t token = nk::slot_token{index, c.generation}.pack();
        if (!poller_.modify(c.socket, nk::interest::writable, token)) {
            close(index);
        }
    }

    void close(std::uint32_t index) {
        connection& c = *slots_[index];
        (void)poller_.remove(c.socket); // before close: see poller's comment on stale events
        (void)c.socket.close();
        c.out.reset();
        c.paused = false;
        ++c.generation;
        free_.push_back(index);
        --open;
    }

    std::chrono::milliseconds idle_;
    nk::tcp::acceptor acceptor_;
    nk::poller poller_;
    nk::timer_queue timers_;
    std::vector<std::unique_ptr<connection>> slots_;
    std::vector<std::uint32_t> free_;
    std::atomic<bool> stopping_{false};
    bool ok_ = false;
    std::thread thread_;
    bool accept_failed_ = false;
};

// A plain C client, its blocking calls bounded by 10 s so a broken server fails the test.
int c_client(const nk::ip::endpoint& to) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    timeval limit{10, 0};
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == 0);
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) == 0);
    REQUIRE(::connect(fd, to.data(), to.size()) == 0);
    return fd;
}

bool c_send_all(int fd, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

std::string c_receive_exact(int fd, std::size_t size) {
    std::string out(size, '\0');
    std::size_t got = 0;
    while (got < size) {
        const ssize_t n = ::recv(fd, out.data() + got, size - got, 0);
        if (n <= 0) {
            out.resize(got);
            return out;
        }
        got += static_cast<std::size_t>(n);
    }
    return out;
}

// Reads until end of stream (or error, or the 10 s bound); returns what came.
std::string c_read_to_end(int fd) {
    std::string out;
    std::array<char, 4096> chunk{};
    for (;;) {
        const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
        if (n <= 0) {
            return out;
        }
        out.append(chunk.data(), static_cast<std::size_t>(n));
    }
}

std::string message_for(std::size_t i, std::size_t size) {
    std::string text(size, ' ');
    for (std::size_t j = 0; j < size; ++j) {
        text[j] = static_cast<char>('a' + (i * 7 + j) % 26);
    }
    return text;
}

/// Raises the soft descriptor limit to at least `wanted` for the scope (false if the hard limit
/// is lower), and puts it back after.
class scoped_descriptor_limit {
public:
    explicit scoped_descriptor_limit(rlim_t wanted) {
        REQUIRE(::getrlimit(RLIMIT_NOFILE, &previous_) == 0);
        if (previous_.rlim_cur >= wanted) {
            raised_ = true;
            return;
        }
        if (previous_.rlim_max != RLIM_INFINITY && previous_.rlim_max < wanted) {
            return;
        }
        rlimit more = previous_;
        more.rlim_cur = wanted;
        raised_ = ::setrlimit(RLIMIT_NOFILE, &more) == 0;
    }
    scoped_descriptor_limit(const scoped_descriptor_limit&) = delete;
    scoped_descriptor_limit& operator=(const scoped_descriptor_limit&) = delete;
    ~scoped_descriptor_limit() { ::setrlimit(RLIMIT_NOFILE, &previous_); }
    [[nodiscard]] bool raised() const { return raised_; }

private:
    rlimit previous_{};
    bool raised_ = false;
};

} // namespace

TEST_CASE("echo loop: 1000 simultaneous connections to one poller thread, each echoed byte for "
          "byte") {
    constexpr std::size_t count = 1000;
    const scoped_descriptor_limit limit(2 * count + 64);
    if (!limit.raised()) {
        WARN("skipped: RLIMIT_NOFILE cannot be raised to " << 2 * count + 64);
        return;
    }
    echo_server server(10s);
    const auto to = server.endpoint();
    std::vector<int> clients;
    clients.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        clients.push_back(c_client(to));
    }
    // Every client sends before any reads: all thousand are open and in flight at once.
    for (std::size_t i = 0; i < count; ++i) {
        REQUIRE(c_send_all(clients[i], message_for(i, 64 + i % 200)));
    }
    REQUIRE(netkit::test::wait_until([&] { return server.accepted.load() == count; }));
    std::size_t echoed = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const std::string expected = message_for(i, 64 + i % 200);
        echoed += c_receive_exact(clients[i], expected.size()) == expected ? 1U : 0U;
    }
    REQUIRE(echoed == count);
    REQUIRE(server.open.load() == count);
    for (const int fd : clients) {
        ::close(fd);
    }
    REQUIRE(netkit::test::wait_until([&] { return server.open.load() == 0; }));
    REQUIRE(server.stop());
}

TEST_CASE("echo loop: a reset, a half-close and an idle client do not disturb the others") {
    // A long idle time here, so that a loaded machine cannot close these clients before the
    // server reads them; the idle client gets a server of its own with a short one.
    echo_server server(30s);
    const auto to = server.endpoint();
    const int steady = c_client(to);

    // Reset mid-message: half of what it meant to send, then RST.
    const int resetting = c_client(to);
    REQUIRE(c_send_all(resetting, "half a mess"));
    const linger abort{1, 0};
    REQUIRE(::setsockopt(resetting, SOL_SOCKET, SO_LINGER, &abort, sizeof abort) == 0);
    ::close(resetting);

    // Half-close: everything sent before the FIN comes back, then end of stream.
    const int half = c_client(to);
    REQUIRE(c_send_all(half, "last words"));
    REQUIRE(::shutdown(half, SHUT_WR) == 0);
    REQUIRE(c_read_to_end(half) == "last words");
    ::close(half);

    // Idle: connects, sends nothing, and is closed at its idle deadline (end of stream).
    {
        echo_server short_idle(300ms);
        const int idle = c_client(short_idle.endpoint());
        REQUIRE(c_read_to_end(idle).empty());
        ::close(idle);
        REQUIRE(short_idle.idle_closed.load() >= 1);
        REQUIRE(netkit::test::wait_until([&] { return short_idle.open.load() == 0; }));
        REQUIRE(short_idle.stop());
    }

    // The steady client, connected all along, is still served.
    REQUIRE(c_send_all(steady, "still here"));
    REQUIRE(c_receive_exact(steady, 10) == "still here");
    ::close(steady);
    REQUIRE(netkit::test::wait_until([&] { return server.open.load() == 0; }));
    REQUIRE(server.stop());
}

// The server holds one fixed 16 KiB buffer per connection by construction (no queue grows):
// what a client that stops reading can make it hold is bounded by its type, not by this test.
TEST_CASE("echo loop: a client that stops reading pauses only itself, and gets every byte back") {
    echo_server server(10s);
    const auto to = server.endpoint();
    const int stuck = c_client(to);
    // Send without reading until the whole path (server and kernel buffers) is full.
    const std::string chunk(65536, 'z');
    std::size_t sent = 0;
    const auto limit = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < limit) {
        const ssize_t n = ::send(stuck, chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
        } else if (server.paused_reads.load() > 0) {
            break; // the server stopped reading from it, and its own buffers are full
        } else {
            std::this_thread::yield();
        }
    }
    REQUIRE(server.paused_reads.load() >= 1);

    // Another client is served meanwhile.
    const int other = c_client(to);
    for (int round = 0; round < 20; ++round) {
        const std::string text = message_for(static_cast<std::size_t>(round), 100);
        REQUIRE(c_send_all(other, text));
        REQUIRE(c_receive_exact(other, text.size()) == text);
    }

    // Once the stuck client reads again, every byte it sent comes back.
    std::size_t back = 0;
    std::array<char, 65536> sink{};
    while (back < sent) {
        const ssize_t n = ::recv(stuck, sink.data(), sink.size(), 0);
        REQUIRE(n > 0);
        back += static_cast<std::size_t>(n);
    }
    REQUIRE(back == sent);
    ::close(stuck);
    ::close(other);
    REQUIRE(netkit::test::wait_until([&] { return server.open.load() == 0; }));
    REQUIRE(server.stop());
}
