#pragma once

#include <netkit/async/epoll_engine.hpp>
#include <netkit/async/uring_engine.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/result.hpp>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace netkit::async {

/// Which engine a loop runs its operations on.
enum class engine_kind {
    automatic, ///< `NETKIT_ENGINE` (`epoll` or `io_uring`) if set, else io_uring where it works
    epoll,     ///< readiness through epoll
    io_uring,  ///< readiness through io_uring (multishot polls); epoll where io_uring fails
};

/// How a loop is made.
struct loop_options {
    /// The engine the loop runs on.
    engine_kind engine = engine_kind::automatic;
    /// io_uring: how many buffers `stream_reader`s receive into (a power of two up to 32768; 0
    /// for none, and stream readers then receive as other operations do). The memory is
    /// mapped once, when the loop is made.
    std::uint32_t receive_buffers = 512;
    /// io_uring: the size of each of those buffers.
    std::uint32_t receive_buffer_size = 16384;
};

namespace detail {

// The loop's engine, chosen when the loop is made. Each call forwards to the engine in use.
class engine {
public:
    // The engine `wanted` names, with the environment's say for `automatic`. io_uring that
    // cannot be set up (EPERM from seccomp or kernel.io_uring_disabled, ENOSYS, ENOMEM for
    // locked memory, a missing opcode or feature) falls back to epoll: the loop works either
    // way, and `kind()` says which one it got.
    static result<engine> open(const loop_options& options) noexcept {
        engine_kind wanted = options.engine;
        if (wanted == engine_kind::automatic) {
            wanted = from_environment();
        }
        if (wanted != engine_kind::epoll) {
            if (auto uring =
                    uring_engine::open(options.receive_buffers, options.receive_buffer_size)) {
                return engine(std::move(*uring));
            }
        }
        auto epoll = epoll_engine::open();
        if (!epoll) {
            return failure{epoll.error()};
        }
        return engine(std::move(*epoll));
    }

    // NETKIT_ENGINE=epoll or io_uring; anything else (or nothing) leaves the choice to netkit.
    static engine_kind from_environment() noexcept {
        const char* named = std::getenv("NETKIT_ENGINE"); // NOLINT(concurrency-mt-unsafe)
        if (named != nullptr && std::string_view(named) == "epoll") {
            return engine_kind::epoll;
        }
        return engine_kind::io_uring;
    }

    [[nodiscard]] std::string_view name() const noexcept {
        return std::visit([](const auto& used) { return used.name; }, engine_);
    }
    [[nodiscard]] engine_kind kind() const noexcept {
        return std::holds_alternative<uring_engine>(engine_) ? engine_kind::io_uring
                                                             : engine_kind::epoll;
    }

    result<void> watch(int fd, std::uint64_t token) noexcept {
        return std::visit([&](auto& used) { return used.watch(fd, token); }, engine_);
    }
    void closing(int fd, std::uint64_t token) noexcept {
        std::visit([&](auto& used) { used.closing(fd, token); }, engine_);
    }
    template <class OnEvent>
    result<void> wait(deadline until, OnEvent&& on_event) {
        return std::visit([&](auto& used) { return used.wait(until, on_event); }, engine_);
    }
    result<void> wake() const noexcept {
        return std::visit([](const auto& used) { return used.wake(); }, engine_);
    }
    // True when operations that describe themselves (operation::describe) are submitted to the
    // engine, which completes them, instead of waiting for readiness.
    [[nodiscard]] bool completes() const noexcept { return completes_; }
    result<void> submit(int fd, const submission& what, std::uint64_t token) noexcept {
        return std::visit([&](auto& used) { return used.submit(fd, what, token); }, engine_);
    }
    std::optional<completion> cancel(std::uint64_t token) noexcept {
        return std::visit([&](auto& used) { return used.cancel(token); }, engine_);
    }
    // Zero-copy sends: whether they are submitted (io_uring's SEND_ZC), and the blocking wait
    // for the notifications of one whose frame goes away.
    [[nodiscard]] bool sends_zero_copy() const noexcept {
        return std::visit([](const auto& used) { return used.sends_zero_copy(); }, engine_);
    }
    template <class OnUsage>
    void settle(std::uint64_t token, std::uint32_t count, OnUsage&& on_usage) noexcept {
        std::visit([&](auto& used) { used.settle(token, count, on_usage); }, engine_);
    }

    // The receive queues of `stream_reader`s: io_uring's with a buffer ring, else null.
    receive_queues* queues() noexcept {
        auto* uring = std::get_if<uring_engine>(&engine_);
        return uring != nullptr ? uring->queues() : nullptr;
    }
    // Only with queues.
    result<void> arm_receive(int fd) noexcept {
        return std::get_if<uring_engine>(&engine_)->arm_receive(fd);
    }
    void close_receive(int fd, std::uint64_t token) noexcept {
        if (auto* uring = std::get_if<uring_engine>(&engine_)) {
            uring->close_receive(fd, token);
        }
    }
    // The accept queues of `incoming` acceptors: io_uring's with multishot accept, else null.
    accept_queues* accepts() noexcept {
        auto* uring = std::get_if<uring_engine>(&engine_);
        return uring != nullptr ? uring->accepts() : nullptr;
    }
    // Only with accept queues.
    result<void> arm_accept(int listener) noexcept {
        return std::get_if<uring_engine>(&engine_)->arm_accept(listener);
    }
    void close_accept(int listener, std::uint64_t token) noexcept {
        if (auto* uring = std::get_if<uring_engine>(&engine_)) {
            uring->close_accept(listener, token);
        }
    }

private:
    template <class Used>
    explicit engine(Used&& used) noexcept
        : engine_(std::forward<Used>(used)),
          completes_(std::decay_t<Used>::completes) {}

    std::variant<epoll_engine, uring_engine> engine_;
    bool completes_;
};

} // namespace detail

} // namespace netkit::async
