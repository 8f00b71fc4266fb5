#pragma once

#include <netkit/async/epoll_engine.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/result.hpp>

#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>

namespace netkit::async {

/// Which engine a loop runs its operations on.
enum class engine_kind {
    automatic, ///< the `NETKIT_ENGINE` environment variable if set, else the best one available
    epoll,     ///< readiness through epoll
};

namespace detail {

// The loop's engine, chosen when the loop is made. Each call forwards to the engine in use.
class engine {
public:
    static result<engine> open(engine_kind /*wanted*/) noexcept {
        auto epoll = epoll_engine::open();
        if (!epoll) {
            return failure{epoll.error()};
        }
        return engine(std::move(*epoll));
    }

    [[nodiscard]] std::string_view name() const noexcept {
        return std::visit([](const auto& used) { return used.name; }, engine_);
    }
    [[nodiscard]] engine_kind kind() const noexcept { return engine_kind::epoll; }

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

private:
    template <class Used>
    explicit engine(Used&& used) noexcept : engine_(std::forward<Used>(used)) {}

    std::variant<epoll_engine> engine_;
};

} // namespace detail

} // namespace netkit::async
