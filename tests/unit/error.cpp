#include <netkit/error.hpp>

#include "support/catch.hpp"

#include <string>
#include <system_error>
#include <type_traits>

TEST_CASE("result of a trivially copyable value is trivially copyable") {
    STATIC_REQUIRE(std::is_trivially_copyable_v<netkit::result<std::size_t>>);
    STATIC_REQUIRE(std::is_trivially_copyable_v<netkit::error>);
}

TEST_CASE("result holds a value") {
    netkit::result<int> r = 42;
    REQUIRE(r.has_value());
    REQUIRE(static_cast<bool>(r));
    REQUIRE(*r == 42);
    REQUIRE(r.value() == 42);
    REQUIRE(r.value_or(7) == 42);
}

TEST_CASE("result holds an error; value() throws a system_error naming the operation") {
    netkit::result<int> r = netkit::failure{
        netkit::error(std::make_error_code(std::errc::connection_refused), "connect")};
    REQUIRE_FALSE(r.has_value());
    REQUIRE(r.value_or(7) == 7);
    REQUIRE(r.error() == std::errc::connection_refused);
    try {
        (void)r.value();
        FAIL("value() did not throw");
    } catch (const std::system_error& e) {
        REQUIRE(e.code() == std::errc::connection_refused);
        REQUIRE(std::string(e.what()).rfind("connect: ", 0) == 0);
    }
}

TEST_CASE("result of a move-only type moves") {
    netkit::result<std::unique_ptr<int>> r = std::make_unique<int>(5);
    auto moved = std::move(r);
    REQUIRE(**moved == 5);
    std::unique_ptr<int> out = std::move(moved).value();
    REQUIRE(*out == 5);
}

TEST_CASE("would_block recognises EAGAIN") {
    const auto e = netkit::error::from_errno(EAGAIN, "receive");
    REQUIRE(e.would_block());
    REQUIRE_FALSE(netkit::error::from_errno(EPIPE, "send").would_block());
}

TEST_CASE("netkit's own error codes map onto portable conditions") {
    REQUIRE(make_error_code(netkit::errc::too_many_buffers) == std::errc::message_size);
    REQUIRE(make_error_code(netkit::errc::end_of_stream) == std::errc::connection_aborted);
    REQUIRE(make_error_code(netkit::errc::end_of_stream).message().find("end of stream") !=
            std::string::npos);
}

TEST_CASE("result<void>") {
    netkit::result<void> ok;
    REQUIRE(ok.has_value());
    REQUIRE_NOTHROW(ok.value());
    netkit::result<void> bad = netkit::failure{netkit::error::from_errno(EBADF, "close")};
    REQUIRE_FALSE(bad);
    REQUIRE_THROWS_AS(bad.value(), netkit::operation_failed);
}
