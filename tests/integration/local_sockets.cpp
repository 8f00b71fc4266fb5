// Unix-domain sockets: stream, datagram and seqpacket; filesystem paths and abstract names.
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::string_view_literals;

namespace {
/// A private directory under /tmp, removed with whatever socket files it holds.
class temp_dir {
public:
    temp_dir() {
        std::string pattern = "/tmp/netkit-test-XXXXXX";
        path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
    }
    ~temp_dir() {
        if (!path_.empty()) {
            const std::string command = "rm -rf '" + path_ + "'";
            (void)std::system(command.c_str());
        }
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
};

std::string unique_abstract_name(std::string_view what) {
    return "netkit-test-" + std::string(what) + "-" + std::to_string(::getpid());
}
} // namespace

TEST_CASE("Unix stream over a filesystem path") {
    temp_dir dir;
    REQUIRE_FALSE(dir.path().empty());
    const auto where = nk::local::endpoint::path(dir.path() + "/server.sock").value();
    auto acceptor = nk::local::stream_acceptor::listen(where).value();
    REQUIRE(acceptor.local_endpoint().value() == where);
    auto client = nk::test::bounded(nk::local::stream_socket::connect(where).value());
    auto [server, peer] = acceptor.accept().value();
    REQUIRE(peer.is_unnamed());
    REQUIRE(client.remote_endpoint().value() == where);
    REQUIRE(client.send_all("over a path"sv).value() == 11);
    std::array<char, 11> buf{};
    REQUIRE(server.receive_exact(buf).value() == 11);
    REQUIRE(std::string_view(buf.data(), 11) == "over a path");
}

TEST_CASE("Unix stream over an abstract name") {
    const auto where = nk::local::endpoint::abstract(unique_abstract_name("stream")).value();
    auto acceptor = nk::local::stream_acceptor::listen(where).value();
    auto bound = acceptor.local_endpoint().value();
    REQUIRE(bound.is_abstract());
    REQUIRE(bound == where);
    REQUIRE(bound.to_string() == "@" + unique_abstract_name("stream"));
    auto client = nk::test::bounded(nk::local::stream_socket::connect(where).value());
    auto [server, peer] = acceptor.accept().value();
    REQUIRE(client.send_all("abstract"sv).value() == 8);
    std::array<char, 8> buf{};
    REQUIRE(server.receive_exact(buf).value() == 8);
    REQUIRE(std::string_view(buf.data(), 8) == "abstract");
}

TEST_CASE("Unix datagram between named sockets reports the sender") {
    const auto a_name = nk::local::endpoint::abstract(unique_abstract_name("dgram-a")).value();
    const auto b_name = nk::local::endpoint::abstract(unique_abstract_name("dgram-b")).value();
    auto a = nk::local::datagram_socket::open().value();
    auto b = nk::test::bounded(nk::local::datagram_socket::open().value());
    REQUIRE(a.bind(a_name).has_value());
    REQUIRE(b.bind(b_name).has_value());
    REQUIRE(a.send_to("note"sv, b_name).value() == 4);
    std::array<char, 16> buf{};
    auto got = b.receive_from(buf).value();
    REQUIRE(got.size == 4);
    REQUIRE(std::string_view(buf.data(), got.size) == "note");
    REQUIRE(got.sender == a_name);
}

TEST_CASE("an unbound Unix datagram sender is the unnamed endpoint to receive_from and "
          "receive_message alike") {
    const auto b_name =
        nk::local::endpoint::abstract(unique_abstract_name("dgram-unbound")).value();
    auto a = nk::local::datagram_socket::open().value(); // never bound: it sends with no name
    auto b = nk::test::bounded(nk::local::datagram_socket::open().value());
    REQUIRE(b.bind(b_name).has_value());
    std::array<char, 16> buf{};

    REQUIRE(a.send_to("one"sv, b_name).value() == 3);
    const auto from = b.receive_from(buf).value();
    REQUIRE(std::string_view(buf.data(), from.size) == "one");
    REQUIRE(from.sender.has_value());
    REQUIRE(from.sender->is_unnamed());

    REQUIRE(a.send_message_to("two"sv, b_name).value() == 3); // no control data needed
    const auto message = b.receive_message(buf).value();
    REQUIRE(std::string_view(buf.data(), message.size) == "two");
    REQUIRE(message.sender.has_value());
    REQUIRE(message.sender->is_unnamed());
    REQUIRE(*message.sender == from.sender);
}

TEST_CASE("socketpair of each local protocol") {
    auto s1_and_s2 = nk::test::local_pair<nk::local::stream_protocol>();
    [[maybe_unused]] auto& s1 = s1_and_s2.first;
    [[maybe_unused]] auto& s2 = s1_and_s2.second;
    REQUIRE(s1.send_all("s"sv).value() == 1);
    std::array<char, 1> one{};
    REQUIRE(s2.receive_exact(one).value() == 1);
    REQUIRE(one[0] == 's');

    auto q1_and_q2 = nk::test::local_pair<nk::local::seqpacket_protocol>();
    [[maybe_unused]] auto& q1 = q1_and_q2.first;
    [[maybe_unused]] auto& q2 = q1_and_q2.second;
    REQUIRE(q1.send("record one"sv).value() == 10);
    REQUIRE(q1.send("two"sv).value() == 3);
    std::array<char, 32> buf{};
    auto first = q2.receive(buf).value(); // boundaries kept: one record per receive
    REQUIRE(std::string_view(buf.data(), first.size) == "record one");
    auto second = q2.receive(buf).value();
    REQUIRE(std::string_view(buf.data(), second.size) == "two");
    REQUIRE(q1.send("too long for four"sv).value() == 17);
    std::array<char, 4> small{};
    auto cut = q2.receive(small).value();
    REQUIRE(cut.truncated());
    REQUIRE(cut.message_size == 17);
    REQUIRE(std::string_view(small.data(), cut.size) == "too ");
}

TEST_CASE("a seqpacket acceptor") {
    const auto where = nk::local::endpoint::abstract(unique_abstract_name("seqpacket")).value();
    auto acceptor = nk::local::seqpacket_acceptor::listen(where).value();
    auto client = nk::test::bounded(nk::local::seqpacket_socket::connect(where).value());
    auto [server, peer] = acceptor.accept().value();
    REQUIRE(client.send("hello"sv).value() == 5);
    std::array<char, 8> buf{};
    nk::test::bound_blocking_calls(server.native_handle());
    auto got = server.receive(buf).value();
    REQUIRE(std::string_view(buf.data(), got.size) == "hello");
}

TEST_CASE("binding a path that exists is EADDRINUSE, naming the path") {
    temp_dir dir;
    const auto where = nk::local::endpoint::path(dir.path() + "/taken.sock").value();
    auto first = nk::local::stream_acceptor::listen(where).value();
    auto second = nk::local::stream_acceptor::listen(where);
    REQUIRE_FALSE(second);
    REQUIRE(second.error() == std::errc::address_in_use);
    // The message names the path; a path longer than an error keeps is cut at the front, so
    // what shows is its tail, after "...".
    const std::string path = dir.path() + "/taken.sock";
    const std::string message = second.error().message();
    const std::size_t kept = std::min(path.size(), nk::detail::compact_sockaddr::path_capacity);
    REQUIRE(message.find(path.substr(path.size() - kept)) != std::string::npos);
    REQUIRE((path.size() <= kept || message.find("bind ...") == 0));
}

TEST_CASE("a peer bound to a path that fills sun_path, with no NUL, is still received and named") {
    // Linux accepts a path of all sizeof(sun_path) bytes with no terminating NUL. netkit does not
    // create such names (portable code leaves room for the NUL), but a datagram from a peer that
    // did must arrive with its sender, not be dropped as unreadable.
    temp_dir dir;
    REQUIRE_FALSE(dir.path().empty());
    REQUIRE(::chdir(dir.path().c_str()) == 0); // each test case runs in its own process
    const std::string full_name(sizeof(sockaddr_un::sun_path), 'p');
    REQUIRE(full_name.size() > nk::local::endpoint::max_name_length);

    const nk::file_descriptor raw(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(raw.get() >= 0);
    sockaddr_un name{};
    name.sun_family = AF_UNIX;
    std::memcpy(name.sun_path, full_name.data(), full_name.size());
    REQUIRE(::bind(raw.get(), reinterpret_cast<const sockaddr*>(&name), sizeof name) == 0);

    const auto receiver_name =
        nk::local::endpoint::abstract(unique_abstract_name("full-path")).value();
    auto receiver = nk::test::bounded(nk::local::datagram_socket::open().value());
    REQUIRE(receiver.bind(receiver_name).has_value());
    REQUIRE(::sendto(raw.get(), "full", 4, 0, receiver_name.data(), receiver_name.size()) == 4);

    std::array<char, 8> buf{};
    auto got = receiver.receive_from(buf).value();
    REQUIRE(std::string_view(buf.data(), got.size) == "full");
    REQUIRE(got.sender->is_path());
    REQUIRE(got.sender->name() == full_name);
    REQUIRE(got.sender->to_string() == full_name);

    // The same name read back from the kernel directly.
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    REQUIRE(::getsockname(raw.get(), reinterpret_cast<sockaddr*>(&storage), &length) == 0);
    auto read_back =
        nk::local::endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
    REQUIRE(read_back.value() == got.sender);
    REQUIRE(::unlink(full_name.c_str()) == 0);
}
