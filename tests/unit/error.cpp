#include <netkit/error.hpp>

#include "support/catch.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

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

TEST_CASE("result holds an error, and value() throws a system_error naming the operation") {
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

namespace {
// Counts live objects and can be told to throw from its copy constructor.
struct tracked {
    static inline int live = 0;
    static inline bool copy_throws = false;
    int id = 0;
    explicit tracked(int n) : id(n) { ++live; }
    tracked(const tracked& other) : id(other.id) {
        if (copy_throws) {
            throw std::runtime_error("copy");
        }
        ++live;
    }
    tracked(tracked&& other) noexcept : id(other.id) { ++live; }
    tracked& operator=(const tracked& other) {
        if (copy_throws) {
            throw std::runtime_error("copy");
        }
        id = other.id;
        return *this;
    }
    tracked& operator=(tracked&&) noexcept = default;
    ~tracked() { --live; }
};

netkit::failure refused() {
    return netkit::failure{
        netkit::error(std::make_error_code(std::errc::connection_refused), "connect")};
}
} // namespace

TEST_CASE("assignment between results keeps exactly one live member, even when a copy throws") {
    {
        netkit::result<tracked> target = refused();
        const netkit::result<tracked> source = tracked(1);
        REQUIRE(tracked::live == 1);

        tracked::copy_throws = true;
        REQUIRE_THROWS_AS(target = source, std::runtime_error);
        tracked::copy_throws = false;
        // Still the error it held, and nothing half-built.
        REQUIRE_FALSE(target.has_value());
        REQUIRE(target.error() == std::errc::connection_refused);
        REQUIRE(tracked::live == 1);

        target = source; // error -> value
        REQUIRE(target.value().id == 1);
        REQUIRE(tracked::live == 2);
        target = netkit::result<tracked>(refused()); // value -> error destroys the value
        REQUIRE_FALSE(target.has_value());
        REQUIRE(tracked::live == 1);
        target = netkit::result<tracked>(tracked(2)); // error -> value by move
        REQUIRE(target->id == 2);
        netkit::result<tracked> other = tracked(3);
        target = other; // value -> value assigns in place
        REQUIRE(target->id == 3);
        REQUIRE(tracked::live == 3);
    }
    REQUIRE(tracked::live == 0);
}

namespace {
netkit::result<std::vector<std::string>> names() {
    return std::vector<std::string>{"first name long enough to live on the heap", "second"};
}
} // namespace

TEST_CASE("value() and * of a temporary result return the value itself, not a dangling reference") {
    STATIC_REQUIRE(std::is_same_v<decltype(names().value()), std::vector<std::string>>);
    STATIC_REQUIRE(std::is_same_v<decltype(*names()), std::vector<std::string>>);
    // In C++20 the temporary result dies before the loop body runs; the loop must still see
    // live strings (ASan reports a use-after-free if value() returned a reference).
    std::vector<std::string> seen;
    for (const auto& name : names().value()) {
        seen.push_back(name);
    }
    REQUIRE(seen ==
            std::vector<std::string>{"first name long enough to live on the heap", "second"});
}
