#pragma once

// One include for Catch2, v2 (Debian's single header) or v3 (split headers), chosen by CMake
// (cmake/dependencies.cmake defines NETKIT_CATCH2_V3 to 1 or 0). Every test file includes its
// own netkit header first, then this:
//
//     #include <netkit/addr/endpoint.hpp>
//
//     #include "support/catch.hpp"
//
// What works on both: TEST_CASE, SECTION, REQUIRE/CHECK (+ _THROWS_AS, _NOTHROW, _THAT),
// STATIC_REQUIRE, TEMPLATE_TEST_CASE, GENERATE (values, range, table), Approx, and the matchers
// Equals, StartsWith, EndsWith, Predicate, Message, VectorContains. (The string "contains"
// matcher is Contains in v2 but ContainsSubstring in v3: use NETKIT_CONTAINS_SUBSTRING.)

#if !defined(NETKIT_CATCH2_V3)
#error "NETKIT_CATCH2_V3 is not defined: link the test against the netkit_catch2 CMake target"
#endif

#if NETKIT_CATCH2_V3
#include <catch2/catch_approx.hpp>
#include <catch2/catch_template_test_macros.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>
#include <catch2/matchers/catch_matchers_exception.hpp>
#include <catch2/matchers/catch_matchers_predicate.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <catch2/matchers/catch_matchers_vector.hpp>
// v2 spells Approx without a namespace qualifier in most tests: keep that working.
using Catch::Approx;
#define NETKIT_CONTAINS_SUBSTRING(text) Catch::Matchers::ContainsSubstring(text)
#else
#include <catch2/catch.hpp>
#define NETKIT_CONTAINS_SUBSTRING(text) Catch::Matchers::Contains(text)
#endif
