#pragma once

#include <netkit/async/task.hpp>

#include <array>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

// when_all and when_any: several tasks at once, awaited as one. The children run on the
// awaiting task's thread, started in argument order the moment the combined task is awaited;
// their frames are the tasks' own (the recycling allocator's), and the bookkeeping lives in
// the combined task's frame: nothing is allocated per call after warm-up.

namespace netkit::async {

namespace detail {

// What a child of type T contributes: its value, or std::monostate for task<void>.
template <class T>
using value_of = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
value_of<T> take_value(task<T>& child) {
    if constexpr (std::is_void_v<T>) {
        child.take(); // rethrows
        return {};
    } else {
        return child.take();
    }
}

// Owns no frame: it is told when each child ends, and resumes the awaiting task once all have
// (`first_only` false) or once one has (true).
template <std::size_t N>
class join_state final : public task_owner {
public:
    explicit join_state(bool first_only) noexcept : first_only_(first_only) {}
    join_state(const join_state&) = delete;
    join_state& operator=(const join_state&) = delete;
    ~join_state() = default;

    // The index of the first child that ended (when_any).
    [[nodiscard]] std::size_t winner() const noexcept { return winner_; }

    template <class... Handles>
    auto start(Handles... children) noexcept {
        static_assert(sizeof...(Handles) == N);
        children_ = {std::coroutine_handle<>(children)...};
        (children.promise().set_owner(this), ...);
        struct starter {
            join_state& state;
            bool await_ready() const noexcept { return N == 0; }
            // Each child runs inline until it first waits; one that ends at once may already
            // settle the outcome, and then the awaiter goes on without suspending.
            bool await_suspend(std::coroutine_handle<> waiting) noexcept {
                state.starting_ = true;
                for (std::coroutine_handle<> child : state.children_) {
                    if (state.settled()) {
                        break; // when_any has its winner: the rest never start
                    }
                    child.resume();
                }
                state.starting_ = false;
                if (state.settled()) {
                    return false;
                }
                state.waiting_ = waiting;
                return true;
            }
            void await_resume() const noexcept {}
        };
        return starter{*this};
    }

private:
    [[nodiscard]] bool settled() const noexcept { return first_only_ ? winner_ != N : ended_ == N; }

    std::coroutine_handle<> finished(promise_base& child) noexcept override {
        ++ended_;
        if (winner_ == N) {
            for (std::size_t i = 0; i < N; ++i) {
                if (children_[i] == child.handle()) {
                    winner_ = i;
                }
            }
        }
        if (settled() && !starting_ && waiting_) {
            return std::exchange(waiting_, {}); // the awaiter goes on at once
        }
        return std::noop_coroutine();
    }

    std::array<std::coroutine_handle<>, N> children_{};
    std::coroutine_handle<> waiting_{};
    std::size_t ended_ = 0;
    std::size_t winner_ = N;
    bool first_only_;
    bool starting_ = false;
};

template <class Variant, class... T, std::size_t... I>
Variant take_winner(std::size_t winner, std::index_sequence<I...>, task<T>&... children) {
    std::optional<Variant> chosen; // the alternatives need not be default-constructible
    // Exactly one index matches; its take() rethrows the child's exception.
    ((I == winner ? (void)chosen.emplace(std::in_place_index<I>, take_value(children)) : (void)0),
     ...);
    return std::move(*chosen);
}

} // namespace detail

/// Runs `children` at once and resumes when every one has ended, with their values in argument
/// order (`std::monostate` for a `task<void>`). An exception from a child is rethrown once all
/// have ended (the first in argument order); errors that are `result` values are simply in
/// the tuple.
///
/// @code
/// auto [a, b] = co_await netkit::async::when_all(fetch(first), fetch(second));
/// @endcode
template <class... T>
task<std::tuple<detail::value_of<T>...>> when_all(task<T>... children) {
    detail::join_state<sizeof...(T)> state(false);
    co_await state.start(children.handle()...);
    co_return std::tuple<detail::value_of<T>...>(detail::take_value(children)...);
}

/// Runs `children` at once and resumes as soon as one has ended, with that one's value in the
/// variant's alternative of the same index (`result.index()` says which). The others are
/// destroyed then and there, at whatever point they were waiting: their locals' destructors
/// run, their waits end, and none of their code runs again. So what a loser had received and
/// not yet handed on is lost: to stop a transfer that must not lose bytes, pass it a
/// `stop_token` instead. A child that has not started when the winner ends never starts.
///
/// @code
/// // A receive, or the end of the program, whichever comes first.
/// auto first = co_await netkit::async::when_any(receive_line(sock), signalled(signals));
/// if (first.index() == 1) co_return;
/// @endcode
template <class... T>
task<std::variant<detail::value_of<T>...>> when_any(task<T>... children) {
    static_assert(sizeof...(T) > 0, "when_any needs at least one task");
    detail::join_state<sizeof...(T)> state(true);
    co_await state.start(children.handle()...);
    using variant = std::variant<detail::value_of<T>...>;
    std::size_t winner = state.winner();
    variant chosen =
        detail::take_winner<variant>(winner, std::index_sequence_for<T...>{}, children...);
    ((children = task<T>{}), ...); // the losers end here, before anything else runs
    co_return chosen;
}

} // namespace netkit::async
