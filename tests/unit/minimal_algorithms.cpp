// netkit's stand-ins for <algorithm> (detail/minimal_algorithms.hpp) against <algorithm> itself:
// ties in min_of/max_of, and the copy at compile time and at run time.
#include <netkit/detail/minimal_algorithms.hpp>

#include "support/catch.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace nkd = netkit::detail;

namespace {

struct keyed {
    int key;
    int id; // tells apart elements of equal key
    friend bool operator<(const keyed& a, const keyed& b) noexcept { return a.key < b.key; }
    friend bool operator==(const keyed&, const keyed&) = default;
};

constexpr std::array<char, 6> copied_at_compile_time() {
    std::array<char, 6> out{};
    const char text[] = "abc"; // NOLINT(cppcoreguidelines-avoid-c-arrays)
    char* end = nkd::copy_elements(text, 3, out.data());
    *end = '!';
    return out;
}

} // namespace

TEST_CASE("min_of and max_of give the first of two equal arguments, as std::min and std::max") {
    const keyed a{1, 10};
    const keyed b{1, 20};
    CHECK(nkd::min_of(a, b) == std::min(a, b));
    CHECK(nkd::min_of(a, b).id == 10);
    CHECK(nkd::max_of(a, b) == std::max(a, b));
    CHECK(nkd::max_of(a, b).id == 10);
    CHECK(nkd::min_of(keyed{2, 1}, keyed{1, 2}).id == 2);
    CHECK(nkd::max_of(keyed{1, 1}, keyed{2, 2}).id == 2);
    STATIC_REQUIRE(nkd::min_of<std::size_t>(3, 7U) == 3);
    STATIC_REQUIRE(nkd::max_of<std::size_t>(3, 7U) == 7);
}

TEST_CASE("copy_elements copies at compile time and at run time, and an empty copy of null") {
    STATIC_REQUIRE(copied_at_compile_time() == std::array<char, 6>{'a', 'b', 'c', '!', 0, 0});

    const std::array<std::uint32_t, 4> from{1, 2, 3, 4};
    std::array<std::uint32_t, 6> to{};
    std::uint32_t* end = nkd::copy_elements(from.data(), from.size(), to.data() + 1);
    CHECK(end == to.data() + 5);
    CHECK(to == std::array<std::uint32_t, 6>{0, 1, 2, 3, 4, 0});

    const std::uint32_t* none = nullptr;
    CHECK(nkd::copy_elements(none, 0, to.data()) == to.data());
    CHECK(to[0] == 0);
}
