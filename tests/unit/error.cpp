#include <netkit/core/error.hpp>

#include "support/catch.hpp"

#include <cstring>
#include <string>
#include <system_error>
#include <type_traits>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

namespace nk = netkit;

namespace {
sockaddr_in v4(const char* text, unsigned short port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    REQUIRE(::inet_pton(AF_INET, text, &address.sin_addr) == 1);
    return address;
}

// A Unix address with `path` (abstract when it starts with '\0'), and its length.
std::pair<sockaddr_un, socklen_t> local(std::string_view path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path.size() <= sizeof address.sun_path);
    std::memcpy(address.sun_path, path.data(), path.size());
    return {address, static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size())};
}

std::string message_for(const sockaddr* address, socklen_t length) {
    return nk::error(std::make_error_code(std::errc::connection_refused), "connect", address,
                     length)
        .message();
}
} // namespace

TEST_CASE("an error is trivially copyable and small") {
    STATIC_REQUIRE(std::is_trivially_copyable_v<nk::error>);
    STATIC_REQUIRE(sizeof(nk::error) <= 56);
}

TEST_CASE("messages name the operation and the endpoint") {
    const auto refused = std::make_error_code(std::errc::connection_refused).message();
    const sockaddr_in ipv4 = v4("127.0.0.1", 9);
    REQUIRE(message_for(reinterpret_cast<const sockaddr*>(&ipv4), sizeof ipv4) ==
            "connect 127.0.0.1:9: " + refused);

    sockaddr_in6 ipv6{};
    ipv6.sin6_family = AF_INET6;
    ipv6.sin6_port = htons(80);
    ipv6.sin6_addr = in6addr_loopback;
    REQUIRE(message_for(reinterpret_cast<const sockaddr*>(&ipv6), sizeof ipv6) ==
            "connect [::1]:80: " + refused);
    ipv6.sin6_scope_id = 3;
    REQUIRE(::inet_pton(AF_INET6, "fe80::1", &ipv6.sin6_addr) == 1);
    REQUIRE(message_for(reinterpret_cast<const sockaddr*>(&ipv6), sizeof ipv6) ==
            "connect [fe80::1%3]:80: " + refused);

    const auto [path, path_length] = local("/run/app.sock");
    REQUIRE(message_for(reinterpret_cast<const sockaddr*>(&path), path_length) ==
            "connect /run/app.sock: " + refused);
    const auto [abstract, abstract_length] = local(std::string_view("\0name", 5));
    REQUIRE(message_for(reinterpret_cast<const sockaddr*>(&abstract), abstract_length) ==
            "connect @name: " + refused);
    const auto [unnamed, unnamed_length] = local("");
    REQUIRE(message_for(reinterpret_cast<const sockaddr*>(&unnamed), unnamed_length) ==
            "connect (unnamed): " + refused);

    REQUIRE(nk::error(std::make_error_code(std::errc::broken_pipe), "send").message() ==
            "send: " + std::make_error_code(std::errc::broken_pipe).message());
}

TEST_CASE("a long Unix path keeps its tail in the message, marked as cut") {
    const std::string long_path = "/tmp/a/directory/deep/enough/to/be/cut/server-socket.sock";
    const auto [path, length] = local(long_path);
    const std::string text = message_for(reinterpret_cast<const sockaddr*>(&path), length);
    const std::string kept =
        long_path.substr(long_path.size() - nk::detail::compact_sockaddr::path_capacity);
    REQUIRE(text.rfind("connect ..." + kept + ": ", 0) == 0);

    const std::string long_name = std::string(1, '\0') + "an-abstract-name-longer-than-the-room";
    const auto [abstract, abstract_length] = local(long_name);
    const std::string abstract_text =
        message_for(reinterpret_cast<const sockaddr*>(&abstract), abstract_length);
    REQUIRE(abstract_text.rfind("connect @..." +
                                    long_name.substr(long_name.size() -
                                                     nk::detail::compact_sockaddr::path_capacity) +
                                    ": ",
                                0) == 0);

    // Bytes that are not printable are escaped, as in endpoint text.
    const auto [odd, odd_length] = local("/tmp/odd\x01name");
    REQUIRE(message_for(reinterpret_cast<const sockaddr*>(&odd), odd_length)
                .rfind("connect /tmp/odd\\x01name: ", 0) == 0);
}

TEST_CASE("would_block recognises EAGAIN") {
    const auto e = nk::error::from_errno(EAGAIN, "receive");
    REQUIRE(e.would_block());
    REQUIRE_FALSE(nk::error::from_errno(EPIPE, "send").would_block());
}

TEST_CASE("an error compares with std::errc, netkit::errc, codes and conditions") {
    const nk::error eos(make_error_code(nk::errc::end_of_stream), "receive_exact");
    REQUIRE(eos == nk::errc::end_of_stream);
    REQUIRE(eos != nk::errc::too_many_buffers);
    REQUIRE(eos == make_error_code(nk::errc::end_of_stream));
    const nk::error pipe = nk::error::from_errno(EPIPE, "send");
    REQUIRE(pipe == std::errc::broken_pipe);
    REQUIRE(pipe == std::error_code(EPIPE, std::system_category()));
    REQUIRE(pipe == std::generic_category().default_error_condition(EPIPE));
    REQUIRE(pipe == nk::error::from_errno(EPIPE, "sendmsg")); // context is not identity
}

TEST_CASE("netkit's own error codes: end_of_stream is its own condition") {
    REQUIRE(make_error_code(nk::errc::too_many_buffers) == std::errc::message_size);
    const auto eos = make_error_code(nk::errc::end_of_stream);
    // The peer ended the stream in order: nothing was aborted or reset.
    REQUIRE(eos != std::errc::connection_aborted);
    REQUIRE(eos != std::errc::connection_reset);
    REQUIRE(eos.default_error_condition() == nk::errc::end_of_stream);
    REQUIRE(eos.message().find("end of stream") != std::string::npos);
    REQUIRE(std::string(eos.category().name()) == "netkit");
    REQUIRE(eos != std::errc::timed_out);
}

TEST_CASE("a passed deadline reads as one and still compares equal to timed_out") {
    const nk::error passed(make_error_code(nk::errc::deadline_passed), "receive_exact");
    REQUIRE(passed.message() == "receive_exact: deadline passed");
    REQUIRE(passed == nk::errc::deadline_passed);
    REQUIRE(passed == std::errc::timed_out);
    REQUIRE(passed == std::make_error_condition(std::errc::timed_out));
    REQUIRE(passed.code() == std::errc::timed_out);
    REQUIRE(passed.code().default_error_condition() == std::errc::timed_out);
    REQUIRE(std::string(nk::operation_failed(passed).what()) == "receive_exact: deadline passed");
    REQUIRE(passed != std::errc::operation_would_block);
    REQUIRE_FALSE(passed.would_block());

    // The kernel's own ETIMEDOUT (TCP gave up) keeps its text, and is not a passed deadline.
    const nk::error gave_up = nk::error::from_errno(ETIMEDOUT, "receive");
    REQUIRE(gave_up.message() == "receive: " + std::system_category().message(ETIMEDOUT));
    REQUIRE(gave_up == std::errc::timed_out);
    REQUIRE(gave_up != nk::errc::deadline_passed);

    const sockaddr_in ipv4 = v4("192.0.2.1", 80);
    const nk::error connect(make_error_code(nk::errc::deadline_passed), "connect",
                            reinterpret_cast<const sockaddr*>(&ipv4), sizeof ipv4);
    REQUIRE(connect.message() == "connect 192.0.2.1:80: deadline passed");
}
