#pragma once

// A real io_uring ring for the tests that speak to it through sys/io_uring*.hpp, or a skip where
// io_uring itself is unavailable (a container that forbids it, a kernel without it).

#include <netkit/sys/io_uring.hpp>

#include "support/catch.hpp"

#include <optional>
#include <system_error>
#include <utility>

namespace netkit::test {

/// A ring, or nothing (with a warning) where io_uring is not allowed or not there.
inline std::optional<detail::uring::ring>
make_ring(const detail::uring::ring_options& options = {}) {
    auto made = detail::uring::ring::create(options);
    if (!made && (made.error() == std::errc::operation_not_permitted ||
                  made.error() == std::errc::function_not_supported)) {
        WARN("skipped: " << made.error().message());
        return std::nullopt;
    }
    REQUIRE(made.has_value());
    return std::move(*made);
}

} // namespace netkit::test
