#pragma once

#include <netkit/async/operation.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/io/poller.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>

namespace netkit::async::detail {

/// The loop's readiness engine over epoll: a descriptor is registered once per open file,
/// edge-triggered for both directions, and each wait of the loop is one epoll_wait. What the
/// loop needs of an engine: `watch` (register a descriptor under a token), `closing` (the
/// descriptor is about to close), `wait` (report the edges that came, as (token, EPOLL* bits),
/// until a deadline, with a third argument that only a completion engine uses) and `wake` (from
/// any thread).
class epoll_engine {
public:
    static constexpr std::string_view name = "epoll";
    // Readiness only: operations make their calls themselves.
    static constexpr bool completes = false;

    static result<epoll_engine> open() noexcept {
        auto opened = poller::open();
        if (!opened) {
            return failure{opened.error()};
        }
        return epoll_engine(std::move(*opened));
    }

    // Reports readability, room, end of stream, hang-up and errors for `fd` under `token` until
    // the file closes. A number registered before for a file that is still open elsewhere (a
    // dup) is registered again under the new token.
    result<void> watch(int fd, std::uint64_t token) noexcept {
        constexpr poll_interest both = netkit::interest::readable | netkit::interest::writable |
                                       netkit::interest::peer_closed_writing |
                                       netkit::interest::edge_triggered;
        auto added = poller_.add(fd, both, token);
        if (!added && added.error() == std::errc::file_exists) {
            added = poller_.modify(fd, both, token);
        }
        return added;
    }

    // Nothing to do: the kernel drops a registration when its file closes.
    void closing(int /*fd*/, std::uint64_t /*token*/) noexcept {}

    template <class OnEvent>
    result<void> wait(deadline until, OnEvent&& on_event) {
        auto ready = poller_.wait(events_, until);
        if (!ready) {
            return failure{ready.error()};
        }
        for (const auto& event : std::span(events_).first(*ready)) {
            on_event(event.token(), event.bits(), 0);
        }
        return {};
    }

    result<void> wake() const noexcept { return poller_.wake(); }

    // Never called (`completes` is false): here so that the loop's code is the same for both.
    result<void> submit(int /*fd*/, const submission& /*what*/, std::uint64_t /*token*/) noexcept {
        return netkit::detail::errc_failure(std::errc::operation_not_supported, "epoll submit");
    }
    std::optional<completion> cancel(std::uint64_t /*token*/) noexcept { return std::nullopt; }
    template <class OnUsage>
    void settle(std::uint64_t /*token*/, std::uint32_t /*count*/, OnUsage&& /*on_usage*/) noexcept {
    }
    // Zero-copy sends are MSG_ZEROCOPY sends, made by the operations themselves.
    [[nodiscard]] static bool sends_zero_copy() noexcept { return false; }

private:
    explicit epoll_engine(poller opened) noexcept : poller_(std::move(opened)) {}

    poller poller_;
    std::array<poller::event, 256> events_{};
};

} // namespace netkit::async::detail
