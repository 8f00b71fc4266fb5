#include <netkit/detail/toolchain_shims.hpp>

#include "support/catch.hpp"

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

// netkit's own traits answer as the standard ones do, for the kinds of type a result holds and
// the conversions its constructors ask about. Checked at compile time; the test case only makes
// the file a test.

namespace nk = netkit;

namespace {
struct only_explicit {
    explicit only_explicit(int) {}
};
struct implicit_from_int {
    // NOLINTNEXTLINE(google-explicit-constructor,hicpp-explicit-conversions): what is tested
    implicit_from_int(int) {}
};
struct move_only {
    move_only() = default;
    move_only(move_only&&) = default;
    move_only(const move_only&) = delete;
    move_only& operator=(move_only&&) = default;
    move_only& operator=(const move_only&) = delete;
};
struct base {};
struct derived : base {};
struct converts_to_int {
    // NOLINTNEXTLINE(google-explicit-constructor,hicpp-explicit-conversions): what is tested
    operator int() const { return 1; }
};
struct explicitly_to_int {
    explicit operator int() const { return 1; }
};

template <class From, class To>
constexpr bool same_convertible =
    nk::detail::convertible<From, To> == std::is_convertible_v<From, To>;

template <class T, class... Args>
constexpr bool same_constructible =
    nk::detail::constructible<T, Args...> == std::is_constructible_v<T, Args...>;
} // namespace

static_assert(same_convertible<int, long>);
static_assert(same_convertible<int, only_explicit>);
static_assert(same_convertible<int, implicit_from_int>);
static_assert(same_convertible<move_only, move_only>);
static_assert(same_convertible<move_only&, move_only>);
static_assert(same_convertible<const move_only&, move_only>);
static_assert(same_convertible<derived*, base*>);
static_assert(same_convertible<base*, derived*>);
static_assert(same_convertible<derived&, base&>);
static_assert(same_convertible<derived, const base&>);
static_assert(same_convertible<base, derived>);
static_assert(same_convertible<converts_to_int, int>);
static_assert(same_convertible<explicitly_to_int, int>);
static_assert(same_convertible<const char*, std::string>);
static_assert(same_convertible<std::string_view, std::string>);
static_assert(same_convertible<std::string, std::string_view>);
static_assert(same_convertible<int, std::vector<int>>);
static_assert(same_convertible<std::unique_ptr<derived>, std::unique_ptr<base>>);
static_assert(same_convertible<std::reference_wrapper<int>, int&>);
static_assert(same_convertible<std::reference_wrapper<int>, const int&>);
static_assert(same_convertible<int, int&>);
static_assert(same_convertible<int, const int&>);
static_assert(same_convertible<int&, int&&>);

static_assert(same_constructible<std::vector<int>, int>);
static_assert(same_constructible<only_explicit, int>);
static_assert(same_constructible<move_only, const move_only&>);
static_assert(same_constructible<move_only, move_only>);
static_assert(nk::detail::assignable<move_only&, const move_only&> ==
              std::is_copy_assignable_v<move_only>);
static_assert(nk::detail::trivially_copyable<move_only> == std::is_trivially_copyable_v<move_only>);
static_assert(nk::detail::trivially_copyable<std::string> ==
              std::is_trivially_copyable_v<std::string>);

TEST_CASE("netkit's type traits agree with the standard ones (checked at compile time)") {
    SUCCEED();
}
