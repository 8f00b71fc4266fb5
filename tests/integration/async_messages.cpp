// Messages on a loop: descriptors passed with send_message/receive_message, MSG_TRUNC and
// MSG_CTRUNC surfaced, batches sent and received whole after waits, the error queue read when
// EPOLLERR says so, and for each the deadline and cancellation cases and a failing peer.
#include <netkit/async/message_operations.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <netkit/async/loop.hpp>
#include <netkit/async/operations.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/async/task.hpp>
#include <netkit/netkit.hpp>

#include <array>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;
using namespace std::string_view_literals;

namespace {

using rights_buffer = nk::control_buffer<nk::control_space<nk::cmsg::rights<1>>>;
using local_info = nk::receive_info<nk::local::endpoint>;

std::pair<nk::local::stream_socket, nk::local::stream_socket> stream_pair() {
    return nk::local::stream_socket::pair(nk::io_mode::non_blocking).value();
}

template <class Socket>
nka::task<nk::result<std::size_t>> send_with_descriptor(Socket& sock, std::string bytes, int fd,
                                                        nk::deadline until, nka::stop_token stop) {
    rights_buffer out;
    if (auto added = out.add_descriptors(std::span(&fd, 1)); !added) {
        co_return nk::failure{added.error()};
    }
    co_return co_await nka::send_message(sock, bytes, out, until, stop);
}

template <class Control>
struct message_in {
    bool done = false;
    nk::result<local_info> value = nk::failure{nk::error()};
    std::array<char, 16> bytes{};
    Control control;
    [[nodiscard]] std::string_view text() const { return {bytes.data(), value->size}; }
};

template <class Socket, class Control>
nka::task<> receive_message_into(Socket& sock, nk::deadline until, nka::stop_token stop,
                                 message_in<Control>& in) {
    in.value = co_await nka::receive_message(sock, in.bytes, in.control, until, stop);
    in.done = true;
}

nka::task<> yield_once() { co_await nka::yield(); }

struct pipe_ends {
    nk::file_descriptor read_end;
    nk::file_descriptor write_end;
};
pipe_ends make_pipe() {
    std::array<int, 2> fds{};
    REQUIRE(::pipe2(fds.data(), O_CLOEXEC) == 0);
    return {nk::file_descriptor(fds[0]), nk::file_descriptor(fds[1])};
}

} // namespace

TEST_CASE("send_message and receive_message pass a descriptor, at once and after a wait") {
    auto [a, b] = stream_pair();
    auto pipe = make_pipe();
    nka::loop loop;
    SECTION("at once") {
        auto sent = loop.run(
            send_with_descriptor(a, "fd", pipe.write_end.get(), nk::deadline::after(10s), {}));
        REQUIRE(sent);
        CHECK(*sent == 2);
        message_in<rights_buffer> in;
        loop.run(receive_message_into(b, nk::deadline::after(10s), {}, in));
        REQUIRE(in.value);
        CHECK(in.text() == "fd");
        CHECK_FALSE(in.value->control_truncated());
        REQUIRE(in.control.descriptor_count() == 1);
        nk::file_descriptor copy = in.control.take_descriptor(0).value();
        REQUIRE(::write(copy.get(), "!", 1) == 1);
        char back = 0;
        REQUIRE(::read(pipe.read_end.get(), &back, 1) == 1);
        CHECK(back == '!');
    }
    SECTION("the receive waits until the message comes") {
        message_in<rights_buffer> in;
        loop.spawn(receive_message_into(b, nk::deadline::after(10s), {}, in));
        loop.run(yield_once());
        REQUIRE_FALSE(in.done);
        REQUIRE(loop.waiting() == 1);
        REQUIRE(loop.run(send_with_descriptor(a, "fd", pipe.write_end.get(), {}, {})));
        while (!in.done && loop.waiting() > 0) {
            loop.run(yield_once());
        }
        REQUIRE(in.value);
        CHECK(in.text() == "fd");
        CHECK(in.control.descriptor_count() == 1);
    }
}

TEST_CASE("receive_message surfaces MSG_TRUNC and MSG_CTRUNC") {
    auto [a, b] = nk::local::datagram_socket::pair(nk::io_mode::non_blocking).value();
    auto one = make_pipe();
    auto two = make_pipe();
    auto three = make_pipe();
    nk::control_buffer<nk::control_space<nk::cmsg::rights<3>>> out;
    const std::array<int, 3> fds{one.write_end.get(), two.write_end.get(), three.write_end.get()};
    REQUIRE(out.add_descriptors(std::span(fds)));
    const std::string large(40, 'm'); // the buffer holds 16
    REQUIRE(a.send_message(large, out));
    nka::loop loop;
    message_in<nk::control_buffer<nk::control_space<nk::cmsg::rights<1>>>> in;
    loop.run(receive_message_into(b, nk::deadline::after(10s), {}, in));
    REQUIRE(in.value);
    CHECK(in.value->size == 16);
    CHECK(in.value->truncated());
    CHECK(in.value->flags.truncated());
    CHECK(in.value->control_truncated());
    CHECK(in.control.descriptor_count() < 3); // what arrived is owned, and closed with it
}

TEST_CASE("receive_message: deadline, stop before the start and while waiting") {
    auto [a, b] = stream_pair();
    nka::loop loop;
    SECTION("a deadline") {
        message_in<rights_buffer> in;
        loop.run(receive_message_into(b, nk::deadline::after(20ms), {}, in));
        CHECK(in.value.error() == nk::errc::deadline_passed);
        CHECK(in.value.error().message() == "receive_message: deadline passed");
    }
    SECTION("a stop before the start: the bytes stay") {
        REQUIRE(a.send("kept"sv));
        nka::stop_source stop;
        stop.request_stop();
        message_in<rights_buffer> in;
        loop.run(receive_message_into(b, {}, stop.token(), in));
        CHECK(in.value.error() == std::errc::operation_canceled);
        std::array<char, 8> left{};
        CHECK(b.receive(left).value() == 4);
    }
    SECTION("a stop while waiting") {
        nka::stop_source stop;
        message_in<rights_buffer> in;
        loop.spawn(receive_message_into(b, {}, stop.token(), in));
        loop.run(yield_once());
        REQUIRE(loop.waiting() == 1);
        stop.request_stop();
        loop.run(yield_once());
        REQUIRE(in.done);
        CHECK(in.value.error() == std::errc::operation_canceled);
    }
    SECTION("a stop before a send: nothing goes") {
        nka::stop_source stop;
        stop.request_stop();
        auto pipe = make_pipe();
        auto sent = loop.run(send_with_descriptor(a, "no", pipe.write_end.get(), {}, stop.token()));
        CHECK(sent.error() == std::errc::operation_canceled);
        std::array<char, 8> left{};
        CHECK(b.receive(left, nk::receive_flag::dont_wait).error().would_block());
    }
    SECTION("a closed peer: send_message is broken_pipe, never a SIGPIPE") {
        REQUIRE(b.close());
        auto pipe = make_pipe();
        auto sent = loop.run(
            send_with_descriptor(a, "no", pipe.write_end.get(), nk::deadline::after(10s), {}));
        CHECK(sent.error() == std::errc::broken_pipe);
    }
}

namespace {
std::pair<nk::udp::socket, nk::udp::socket> udp_pair() {
    auto [a, b] = nk::test::udp_sockets();
    REQUIRE(a.set_non_blocking(true));
    REQUIRE(b.set_non_blocking(true));
    return {std::move(a), std::move(b)};
}

template <class Socket, class Batch>
nka::task<nk::result<std::size_t>> send_all_of(Socket& sock, Batch& batch, nk::deadline until,
                                               nka::stop_token stop) {
    co_return co_await nka::send_batch_all(sock, batch, until, stop);
}

template <class Socket, class Batch>
nka::task<nk::result<std::size_t>> send_one_call(Socket& sock, Batch& batch) {
    co_return co_await nka::send_batch(sock, batch, nk::deadline::after(10s));
}

struct count_in {
    bool done = false;
    nk::result<std::size_t> value = nk::failure{nk::error()};
};

template <class Socket, class Batch>
nka::task<> receive_batch_into(Socket& sock, Batch& batch, nk::deadline until, nka::stop_token stop,
                               count_in& out) {
    out.value = co_await nka::receive_batch(sock, batch, until, stop);
    out.done = true;
}

template <class Socket, class Batch>
nka::task<> send_all_into(Socket& sock, Batch& batch, nk::deadline until, nka::stop_token stop,
                          count_in& out) {
    out.value = co_await nka::send_batch_all(sock, batch, until, stop);
    out.done = true;
}
} // namespace

TEST_CASE("batches: sent whole at once, received in one call, and received after a wait") {
    auto [a, b] = udp_pair();
    const auto to_b = b.local_endpoint().value();
    nka::loop loop;
    const std::array<std::string, 4> words{"one", "two", "three", "four"};
    nk::udp::batch<8> out;
    for (const auto& w : words) {
        REQUIRE(out.add(std::string_view(w), to_b));
    }
    std::array<std::array<char, 16>, 8> slots{};
    nk::udp::batch<8> in;
    for (auto& slot : slots) {
        REQUIRE(in.add_receive(std::span(slot)));
    }
    SECTION("at once") {
        auto sent = loop.run(send_all_of(a, out, nk::deadline::after(10s), {}));
        REQUIRE(sent);
        CHECK(*sent == 4);
        CHECK(out.completed() == 4);
        count_in got;
        loop.run(receive_batch_into(b, in, nk::deadline::after(10s), {}, got));
        REQUIRE(got.value);
        REQUIRE(*got.value == 4);
        for (std::size_t i = 0; i < 4; ++i) {
            CHECK(std::string_view(slots[i].data(), in.info(i).size) == words[i]);
            CHECK(*in.info(i).sender == a.local_endpoint().value());
        }
        CHECK(loop.run(send_one_call(a, out)).value() == 0); // nothing pending: no call
    }
    SECTION("the receive waits for the first datagram") {
        count_in got;
        loop.spawn(receive_batch_into(b, in, nk::deadline::after(10s), {}, got));
        loop.run(yield_once());
        REQUIRE(loop.waiting() == 1);
        REQUIRE(loop.run(send_one_call(a, out)).value() == 4);
        while (!got.done && loop.waiting() > 0) {
            loop.run(yield_once());
        }
        REQUIRE(got.value);
        CHECK(*got.value >= 1);
        CHECK(std::string_view(slots[0].data(), in.info(0).size) == "one");
    }
    SECTION("receive_batch: a deadline, a stop before the start and while waiting") {
        count_in late;
        loop.run(receive_batch_into(b, in, nk::deadline::after(20ms), {}, late));
        CHECK(late.value.error() == nk::errc::deadline_passed);
        CHECK(late.value.error().message() == "receive_batch: deadline passed");
        nka::stop_source before;
        before.request_stop();
        count_in cancelled;
        loop.run(receive_batch_into(b, in, {}, before.token(), cancelled));
        CHECK(cancelled.value.error() == std::errc::operation_canceled);
        nka::stop_source during;
        count_in stopped;
        loop.spawn(receive_batch_into(b, in, {}, during.token(), stopped));
        loop.run(yield_once());
        REQUIRE(loop.waiting() == 1);
        during.request_stop();
        loop.run(yield_once());
        CHECK(stopped.value.error() == std::errc::operation_canceled);
    }
}

TEST_CASE("send_batch_all waits for room while the peer's queue is full, and sends none twice") {
    auto [a, b] = nk::local::datagram_socket::pair(nk::io_mode::non_blocking).value();
    int queued = 0;
    for (;;) { // fill the peer's queue
        auto sent = a.send("fill"sv, nk::send_flag::dont_wait);
        if (!sent) {
            REQUIRE(sent.error().would_block());
            break;
        }
        REQUIRE(++queued < 100000);
    }
    const std::array<std::string, 3> words{"m0", "m1", "m2"};
    nk::message_batch<nk::local::datagram_protocol, 4> out;
    for (const auto& w : words) {
        REQUIRE(out.add(std::string_view(w)));
    }
    nka::loop loop;
    SECTION("completes as the reader makes room") {
        count_in sent;
        loop.spawn(send_all_into(a, out, nk::deadline::after(10s), {}, sent));
        loop.run(yield_once());
        REQUIRE(loop.waiting() == 1);
        std::array<char, 8> one{};
        std::string tail;
        int read = 0;
        while (!sent.done) { // take one, let the loop turn: the batch goes as room appears
            REQUIRE(read < queued + 3);
            if (b.receive(one, nk::receive_flag::dont_wait)) {
                ++read;
            }
            loop.run(yield_once());
        }
        REQUIRE(sent.value);
        CHECK(*sent.value == 3);
        for (;;) {
            auto got = b.receive(one, nk::receive_flag::dont_wait);
            if (!got) {
                break;
            }
            ++read;
            tail.append(one.data(), got->size);
        }
        CHECK(read == queued + 3);
        CHECK(tail.size() >= 6);
        CHECK(tail.substr(tail.size() - 6) == "m0m1m2");
    }
    SECTION("a deadline: bytes_transferred and completed() say what went") {
        auto sent = loop.run(send_all_of(a, out, nk::deadline::after(20ms), {}));
        REQUIRE_FALSE(sent);
        CHECK(sent.error() == nk::errc::deadline_passed);
        CHECK(sent.error().message() == "send_batch_all: deadline passed");
        CHECK(out.completed() == 0);
        CHECK(sent.error().bytes_transferred() == 0);
    }
    SECTION("a stop before the start sends nothing") {
        nka::stop_source stop;
        stop.request_stop();
        auto sent = loop.run(send_all_of(a, out, {}, stop.token()));
        CHECK(sent.error() == std::errc::operation_canceled);
        CHECK(out.completed() == 0);
    }
    SECTION("a closed peer fails the send") {
        REQUIRE(b.close());
        auto sent = loop.run(send_all_of(a, out, nk::deadline::after(10s), {}));
        REQUIRE_FALSE(sent);
        CHECK((sent.error() == std::errc::connection_refused ||
               sent.error() == std::errc::broken_pipe));
    }
}

namespace {
// A UDP socket that queues its ICMP errors, and a port nobody listens on.
nk::udp::socket reporting_socket() {
    auto sock = nk::udp::socket::open(nk::ip::v4, nk::io_mode::non_blocking).value();
    sock.set(nk::ip::receive_errors, true).value();
    return sock;
}
nk::ip::endpoint closed_port() {
    auto holder = nk::udp::socket::open(nk::ip::v4).value();
    holder.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    return holder.local_endpoint().value();
}

struct entry_in {
    bool done = false;
    nk::result<nk::error_queue_entry> value = nk::failure{nk::error()};
};

template <class Socket>
nka::task<> read_entry(Socket& sock, nk::deadline until, nka::stop_token stop, entry_in& out) {
    out.value = co_await nka::read_error_queue(sock, {}, until, stop);
    out.done = true;
}

void check_port_unreachable(const nk::result<nk::error_queue_entry>& entry) {
    REQUIRE(entry);
    REQUIRE(entry->error.has_value());
    CHECK(entry->error->origin == nk::error_origin::icmp);
    CHECK(entry->error->error == std::errc::connection_refused);
}
} // namespace

TEST_CASE("read_error_queue: an entry already queued, and one that comes while it waits") {
    auto sock = reporting_socket();
    nka::loop loop;
    SECTION("already queued: at once") {
        REQUIRE(sock.send_to("probe"sv, closed_port()));
        pollfd queued{sock.native_handle(), 0, 0};
        REQUIRE(::poll(&queued, 1, 10000) == 1);
        entry_in got;
        loop.run(read_entry(sock, nk::deadline::after(10s), {}, got));
        check_port_unreachable(got.value);
    }
    SECTION("comes while it waits: EPOLLERR ends the wait") {
        entry_in got;
        loop.spawn(read_entry(sock, nk::deadline::after(10s), {}, got));
        loop.run(yield_once());
        REQUIRE(loop.waiting() == 1);
        REQUIRE(sock.send_to("probe"sv, closed_port()));
        while (!got.done && loop.waiting() > 0) {
            loop.run(yield_once());
        }
        check_port_unreachable(got.value);
    }
}

TEST_CASE("read_error_queue: deadline, stop, a pending socket error, a hang-up") {
    nka::loop loop;
    SECTION("an empty queue: the deadline") {
        auto sock = reporting_socket();
        entry_in got;
        loop.run(read_entry(sock, nk::deadline::after(20ms), {}, got));
        CHECK(got.value.error() == nk::errc::deadline_passed);
        CHECK(got.value.error().message() == "read_error_queue: deadline passed");
    }
    SECTION("a stop before the start leaves the entry queued; a stop while waiting") {
        auto sock = reporting_socket();
        nka::stop_source during;
        entry_in waiting;
        loop.spawn(read_entry(sock, {}, during.token(), waiting));
        loop.run(yield_once());
        REQUIRE(loop.waiting() == 1);
        during.request_stop();
        loop.run(yield_once());
        CHECK(waiting.value.error() == std::errc::operation_canceled);

        REQUIRE(sock.send_to("probe"sv, closed_port()));
        pollfd queued{sock.native_handle(), 0, 0};
        REQUIRE(::poll(&queued, 1, 10000) == 1);
        nka::stop_source before;
        before.request_stop();
        entry_in cancelled;
        loop.run(read_entry(sock, {}, before.token(), cancelled));
        CHECK(cancelled.value.error() == std::errc::operation_canceled);
        check_port_unreachable(nk::read_error_queue(sock));
    }
    SECTION("without IP_RECVERR, the refused port is the socket's error, returned") {
        auto sock = nk::udp::socket::open(nk::ip::v4, nk::io_mode::non_blocking).value();
        REQUIRE(sock.connect_to(closed_port()));
        entry_in got;
        loop.spawn(read_entry(sock, nk::deadline::after(10s), {}, got));
        loop.run(yield_once());
        REQUIRE(sock.send("probe"sv));
        while (!got.done && loop.waiting() > 0) {
            loop.run(yield_once());
        }
        REQUIRE_FALSE(got.value);
        CHECK(got.value.error() == std::errc::connection_refused);
        CHECK(sock.get(nk::so::error).value() == 0); // read, and so cleared
    }
    SECTION("a hang-up with no entry wakes it once, and it waits on to its deadline") {
        auto [client, server] = nk::test::tcp_pair();
        REQUIRE(client.shutdown(nk::shutdown::write));
        REQUIRE(server.close()); // both directions of `client` are now closed: EPOLLHUP
        pollfd hung{client.native_handle(), 0, 0};
        REQUIRE(::poll(&hung, 1, 10000) == 1);
        REQUIRE((hung.revents & POLLHUP) != 0);
        entry_in got;
        const auto until = nk::deadline::after(30ms);
        loop.run(read_entry(client, until, {}, got));
        REQUIRE_FALSE(got.value);
        CHECK(got.value.error() == nk::errc::deadline_passed);
        CHECK(nk::deadline::clock::now() >= until.at());
    }
}
