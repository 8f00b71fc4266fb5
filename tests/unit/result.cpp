#include <netkit/core/result.hpp>

#include "support/catch.hpp"

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__has_include)
#if __has_include(<version>)
#include <version>
#endif
#endif
#if defined(__cpp_lib_expected)
#include <expected>
#endif

namespace nk = netkit;

namespace {
nk::failure refused() {
    return nk::failure{nk::error(std::make_error_code(std::errc::connection_refused), "connect")};
}
} // namespace

TEST_CASE("result<std::size_t> fits in one cache line and copies as plain bytes") {
    STATIC_REQUIRE(sizeof(nk::result<std::size_t>) <= 64);
    STATIC_REQUIRE(sizeof(nk::result<void>) <= 64);
    STATIC_REQUIRE(std::is_trivially_copyable_v<nk::result<std::size_t>>);
    STATIC_REQUIRE(std::is_trivially_copyable_v<nk::result<void>>);
}

// ---- construction: the rules of [expected.object.cons] --------------------------------------

// Each row: can result<T> be built from From, and implicitly? The expected answers are
// std::expected's; where the standard library has <expected>, they are checked against it too.
template <class T, class From>
constexpr bool constructible = std::is_constructible_v<nk::result<T>, From>;
template <class T, class From>
constexpr bool implicit = std::is_convertible_v<From, nk::result<T>>;

TEST_CASE("a value converts implicitly only where it converts to T implicitly") {
    // The user's trap: std::vector's size constructor is explicit, so 5 is no vector.
    STATIC_REQUIRE(constructible<std::vector<int>, int>);
    STATIC_REQUIRE_FALSE(implicit<std::vector<int>, int>);
    STATIC_REQUIRE(implicit<std::string, const char*>);
    STATIC_REQUIRE(implicit<long, int>);
    STATIC_REQUIRE(constructible<std::unique_ptr<int>, int*>);
    STATIC_REQUIRE_FALSE(implicit<std::unique_ptr<int>, int*>);
    STATIC_REQUIRE_FALSE(constructible<int, std::string>);
    // in_place is a tag, never a value.
    STATIC_REQUIRE(constructible<int, std::in_place_t>);
    STATIC_REQUIRE_FALSE(implicit<int, std::in_place_t>);
    STATIC_REQUIRE(
        std::is_constructible_v<nk::result<std::vector<int>>, std::in_place_t, int, int>);
    // A failure converts to any result.
    STATIC_REQUIRE(implicit<std::vector<int>, nk::failure>);
    STATIC_REQUIRE(implicit<void, nk::failure>);
    // Default construction value-initialises T, where T has a default.
    STATIC_REQUIRE(std::is_default_constructible_v<nk::result<int>>);
    STATIC_REQUIRE_FALSE(std::is_default_constructible_v<nk::result<std::reference_wrapper<int>>>);
}

TEST_CASE("a result converts to a result of another type as its value converts") {
    STATIC_REQUIRE(implicit<long, nk::result<int>>);
    STATIC_REQUIRE(implicit<std::string, nk::result<const char*>>);
    STATIC_REQUIRE(constructible<std::vector<int>, nk::result<int>>);
    STATIC_REQUIRE_FALSE(implicit<std::vector<int>, nk::result<int>>);
    STATIC_REQUIRE_FALSE(constructible<int, nk::result<std::string>>);
    STATIC_REQUIRE(constructible<std::unique_ptr<int>, nk::result<std::unique_ptr<int>>&&>);
    STATIC_REQUIRE_FALSE(
        constructible<std::unique_ptr<int>, const nk::result<std::unique_ptr<int>>&>);
    // LWG 3836: a result<bool> built from a result<int> converts the value; it does not ask
    // whether the other result holds a value.
    STATIC_REQUIRE(implicit<bool, nk::result<int>>);

    const nk::result<int> three = 3;
    const nk::result<long> widened = three;
    REQUIRE(widened == 3L);
    const nk::result<int> failed = refused();
    const nk::result<long> still_failed = failed;
    REQUIRE(still_failed.error() == std::errc::connection_refused);
    const nk::result<bool> zero = nk::result<int>(0);
    REQUIRE(zero.has_value());
    REQUIRE_FALSE(*zero);
}

#if defined(__cpp_lib_expected)
namespace {
template <class R>
struct as_std {
    using type = R;
};
template <class T>
struct as_std<nk::result<T>> {
    using type = std::expected<T, nk::error>;
};
template <class T>
struct as_std<nk::result<T>&> {
    using type = std::expected<T, nk::error>&;
};
template <class T>
struct as_std<const nk::result<T>&> {
    using type = const std::expected<T, nk::error>&;
};
template <class T>
struct as_std<nk::result<T>&&> {
    using type = std::expected<T, nk::error>&&;
};
template <>
struct as_std<nk::failure> {
    using type = std::unexpected<nk::error>;
};

template <class T, class From>
constexpr bool same_as_expected =
    std::is_constructible_v<nk::result<T>, From> ==
    std::is_constructible_v<std::expected<T, nk::error>, typename as_std<From>::type>&&
        std::is_convertible_v<From, nk::result<T>> ==
    std::is_convertible_v<typename as_std<From>::type, std::expected<T, nk::error>>;
} // namespace

TEST_CASE("construction rules agree with std::expected's") {
    STATIC_REQUIRE(same_as_expected<std::vector<int>, int>);
    STATIC_REQUIRE(same_as_expected<std::string, const char*>);
    STATIC_REQUIRE(same_as_expected<long, int>);
    STATIC_REQUIRE(same_as_expected<std::unique_ptr<int>, int*>);
    STATIC_REQUIRE(same_as_expected<int, std::string>);
    STATIC_REQUIRE(same_as_expected<int, std::in_place_t>);
    STATIC_REQUIRE(same_as_expected<std::vector<int>, nk::failure>);
    STATIC_REQUIRE(same_as_expected<long, nk::result<int>>);
    STATIC_REQUIRE(same_as_expected<std::string, nk::result<const char*>>);
    STATIC_REQUIRE(same_as_expected<std::vector<int>, nk::result<int>>);
    STATIC_REQUIRE(same_as_expected<int, nk::result<std::string>>);
    STATIC_REQUIRE(same_as_expected<std::unique_ptr<int>, nk::result<std::unique_ptr<int>>&&>);
    STATIC_REQUIRE(same_as_expected<std::unique_ptr<int>, const nk::result<std::unique_ptr<int>>&>);
    STATIC_REQUIRE(std::is_default_constructible_v<nk::result<int>> ==
                   std::is_default_constructible_v<std::expected<int, nk::error>>);
}
#endif

// ---- access --------------------------------------------------------------------------------

TEST_CASE("result holds a value") {
    nk::result<int> r = 42;
    REQUIRE(r.has_value());
    REQUIRE(static_cast<bool>(r));
    REQUIRE(*r == 42);
    REQUIRE(r.value() == 42);
    REQUIRE(r.value_or(7) == 42);
    REQUIRE(r.error_or(refused().error) == std::errc::connection_refused);
    REQUIRE(nk::result<int>().value() == 0);
    REQUIRE(nk::result<std::string>(std::in_place, 3U, 'x').value() == "xxx");
}

TEST_CASE("result holds an error, and value() throws a system_error naming the operation") {
    nk::result<int> r = refused();
    REQUIRE_FALSE(r.has_value());
    REQUIRE(r.value_or(7) == 7);
    REQUIRE(r.error() == std::errc::connection_refused);
    REQUIRE(r.error_or(nk::error()) == std::errc::connection_refused);
    try {
        (void)r.value();
        FAIL("value() did not throw");
    } catch (const std::system_error& e) {
        REQUIRE(e.code() == std::errc::connection_refused);
        REQUIRE(std::string(e.what()).rfind("connect: ", 0) == 0);
    }
}

TEST_CASE("result of a move-only type moves") {
    nk::result<std::unique_ptr<int>> r = std::make_unique<int>(5);
    auto moved = std::move(r);
    REQUIRE(**moved == 5);
    std::unique_ptr<int> out = std::move(moved).value();
    REQUIRE(*out == 5);
    nk::result<std::unique_ptr<int>> fallback = refused();
    REQUIRE(*std::move(fallback).value_or(std::make_unique<int>(9)) == 9);
}

TEST_CASE("emplace replaces an error or a value") {
    nk::result<std::string> r = refused();
    // As for std::expected, only from arguments that cannot throw: no half-replaced state.
    REQUIRE(r.emplace(std::string("yy")) == "yy");
    REQUIRE(r == std::string("yy"));
    nk::result<void> v = refused();
    v.emplace();
    REQUIRE(v.has_value());
}

TEST_CASE("result<void>") {
    nk::result<void> ok;
    REQUIRE(ok.has_value());
    REQUIRE_NOTHROW(ok.value());
    nk::result<void> bad = nk::failure{nk::error::from_errno(EBADF, "close")};
    REQUIRE_FALSE(bad);
    REQUIRE_THROWS_AS(bad.value(), nk::operation_failed);
    REQUIRE(bad == nk::failure{nk::error::from_errno(EBADF, "fcntl")});
    REQUIRE_FALSE(ok == bad);
}

TEST_CASE("comparisons: value with value, value with T, error with failure") {
    const nk::result<int> one = 1;
    const nk::result<long> also_one = 1L;
    const nk::result<int> failed = refused();
    // Compared outside REQUIRE: the test framework's own operator== templates would take part.
    const bool across_types = one == also_one;
    REQUIRE(across_types);
    REQUIRE(one == 1);
    REQUIRE(one != 2);
    REQUIRE_FALSE(failed == 1);
    REQUIRE(failed == refused());
    REQUIRE_FALSE(one == refused());
    const bool errors_across_types = failed == nk::result<long>(refused());
    REQUIRE(errors_across_types);
}

// ---- monadic operations ------------------------------------------------------------------

namespace {
nk::result<int> parse_digit(char c) {
    if (c < '0' || c > '9') {
        return nk::detail::errc_failure(std::errc::invalid_argument, "parse_digit");
    }
    return c - '0';
}
} // namespace

TEST_CASE("and_then chains operations that can fail, stopping at the first error") {
    const nk::result<char> seven = '7';
    auto doubled =
        seven.and_then(parse_digit).and_then([](int n) -> nk::result<long> { return 2L * n; });
    STATIC_REQUIRE(std::is_same_v<decltype(doubled), nk::result<long>>);
    REQUIRE(doubled == 14L);

    int calls = 0;
    auto stopped = nk::result<char>('x').and_then(parse_digit).and_then([&](int n) {
        ++calls;
        return nk::result<int>(n);
    });
    REQUIRE(calls == 0);
    REQUIRE(stopped.error() == std::errc::invalid_argument);
    REQUIRE(std::string(stopped.error().operation()) == "parse_digit");

    // On a temporary the value is handed over by move.
    auto owned = nk::result<std::unique_ptr<int>>(std::make_unique<int>(3))
                     .and_then([](std::unique_ptr<int> p) { return nk::result<int>(*p + 1); });
    REQUIRE(owned == 4);
    auto after_void = nk::result<void>().and_then([] { return nk::result<int>(5); });
    REQUIRE(after_void == 5);
    auto void_failed = nk::result<void>(refused()).and_then([] { return nk::result<int>(5); });
    REQUIRE(void_failed.error() == std::errc::connection_refused);
}

TEST_CASE("transform maps the value, to another type or to void") {
    const nk::result<int> two = 2;
    auto text = two.transform([](int n) { return std::string(static_cast<std::size_t>(n), 'a'); });
    STATIC_REQUIRE(std::is_same_v<decltype(text), nk::result<std::string>>);
    REQUIRE(text == std::string("aa"));
    int seen = 0;
    auto nothing = two.transform([&](int n) { seen = n; });
    STATIC_REQUIRE(std::is_same_v<decltype(nothing), nk::result<void>>);
    REQUIRE(nothing.has_value());
    REQUIRE(seen == 2);
    auto failed = nk::result<int>(refused()).transform([](int n) { return n + 1; });
    REQUIRE(failed.error() == std::errc::connection_refused);
    REQUIRE(nk::result<void>().transform([] { return 8; }) == 8);
}

TEST_CASE("transform and and_then take pointers to member functions, as std::invoke does") {
    struct reply {
        int code = 0;
        [[nodiscard]] int doubled() const { return code * 2; }
        [[nodiscard]] nk::result<int> checked() const {
            return code > 0 ? nk::result<int>(code) : nk::result<int>(refused());
        }
    };
    const nk::result<reply> ok = reply{21};
    // (A pointer to a data member yields a reference, which transform refuses, as
    // std::expected's does; and_then and or_else would take one that returns a result.)
    REQUIRE(ok.transform(&reply::doubled) == 42);
    REQUIRE(ok.and_then(&reply::checked) == 21);
    REQUIRE(nk::result<reply>(reply{0}).and_then(&reply::checked).error() ==
            std::errc::connection_refused);
    auto moved = nk::result<std::string>(std::string("text")).transform(&std::string::size);
    REQUIRE(moved == 4U);
    struct step {
        nk::result<int> next;
    };
    const nk::result<step> chained = step{nk::result<int>(7)};
    REQUIRE(chained.and_then(&step::next) == 7);

    // Through a pointer, a smart pointer and a reference_wrapper, as std::invoke goes.
    reply stored{5};
    REQUIRE(nk::result<reply*>(&stored).transform(&reply::doubled) == 10);
    REQUIRE(nk::result<std::shared_ptr<reply>>(std::make_shared<reply>(reply{4}))
                .transform(&reply::doubled) == 8);
    REQUIRE(
        nk::result<std::reference_wrapper<reply>>(std::ref(stored)).transform(&reply::doubled) ==
        10);
    REQUIRE(nk::result<const reply*>(&stored).and_then(&reply::checked) == 5);
}

TEST_CASE("a result of a const value copies and moves") {
    const nk::result<const std::string> text = std::string("fixed");
    const nk::result<const std::string> copy =
        text; // NOLINT(performance-unnecessary-copy-initialization)
    REQUIRE(copy == std::string("fixed"));
}

TEST_CASE("or_else recovers from an error, transform_error rewrites it") {
    auto recovered = nk::result<int>(refused()).or_else([](const nk::error& e) -> nk::result<int> {
        if (e == std::errc::connection_refused) {
            return 0;
        }
        return nk::failure{e};
    });
    REQUIRE(recovered == 0);
    REQUIRE(nk::result<int>(4).or_else([](const nk::error&) { return nk::result<int>(0); }) == 4);
    REQUIRE(nk::result<void>(refused())
                .or_else([](const nk::error&) { return nk::result<void>(); })
                .has_value());

    auto renamed = nk::result<int>(refused()).transform_error(
        [](nk::error e) { return nk::error(e.code(), "fetch"); });
    REQUIRE(renamed.error() == std::errc::connection_refused);
    REQUIRE(std::string(renamed.error().operation()) == "fetch");
    REQUIRE(nk::result<int>(1).transform_error([](nk::error e) { return e; }) == 1);
    auto void_renamed = nk::result<void>(refused()).transform_error(
        [](const nk::error& e) { return nk::error(e.code(), "fetch"); });
    REQUIRE(std::string(void_renamed.error().operation()) == "fetch");
}

// ---- assignment and lifetime ---------------------------------------------------------------

namespace {
// Counts live objects and can be told to throw from its copy constructor.
struct tracked {
    static inline int live = 0;
    static inline bool copy_throws = false;
    int id = 0;
    explicit tracked(int n) noexcept : id(n) { ++live; }
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
} // namespace

TEST_CASE("assignment between results keeps exactly one live member, even when a copy throws") {
    {
        nk::result<tracked> target = refused();
        const nk::result<tracked> source = tracked(1);
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
        target = nk::result<tracked>(refused()); // value -> error destroys the value
        REQUIRE_FALSE(target.has_value());
        REQUIRE(tracked::live == 1);
        target = nk::result<tracked>(tracked(2)); // error -> value by move
        REQUIRE(target->id == 2);
        nk::result<tracked> other = tracked(3);
        target = other; // value -> value assigns in place
        REQUIRE(target->id == 3);
        REQUIRE(tracked::live == 3);
        target.emplace(4); // value -> value by emplace destroys the old one
        REQUIRE(target->id == 4);
        REQUIRE(tracked::live == 3);
    }
    REQUIRE(tracked::live == 0);
}

namespace {
nk::result<std::vector<std::string>> names() {
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
