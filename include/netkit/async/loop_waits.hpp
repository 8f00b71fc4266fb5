#pragma once

// The definitions of the loop's side of the operation/engine boundary (async/operation.hpp): how
// a wait starts and ends, and how the engine's news (an edge, a completion, a queue's news)
// reaches the operation waiting for it. loop.hpp declares these members, with what each does,
// and includes this at its end; they live here so that loop.hpp reads as the loop's interface,
// as Asio keeps its definitions in impl/ headers.

#include <netkit/async/loop.hpp>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>

#include <poll.h>
#include <sys/epoll.h>

namespace netkit::async {

inline bool loop::start_wait(detail::operation& op) {
    if (op.stop.stop_requested()) {
        op.ended = std::make_error_code(std::errc::operation_canceled);
        return false;
    }
    if (deadline_passed(op.until)) {
        op.ended = make_error_code(errc::deadline_passed);
        return false;
    }
    if (op.fd >= 0) {
        if (auto watched = watch(op); !watched) {
            op.ended = watched.error().code();
            return false;
        }
    }
    waits_.acquire(op);
    op.on_stop = [](detail::stop_node& node) noexcept {
        auto& cancelled = static_cast<detail::operation&>(node);
        current().end_wait(cancelled, std::make_error_code(std::errc::operation_canceled));
    };
    op.stop_link.attach(op.stop, op);
    op.registered = true;
    return true;
}

inline void loop::hold(detail::operation& op) {
    op.holding = true;
    op.registered = true;
    if (op.notifications > 0) {
        return;
    }
    if (watch(op)) {
        return;
    }
    op.holding = false;
    op.registered = false;
    settle(op);
    op.queued = true;
    ready_.push_back(op.waiter);
}

inline void loop::settle(detail::operation& op) noexcept {
    if (op.notifications > 0) {
        engine_.settle(completion_token(op), op.notifications,
                       [&](int usage) { op.notified(op, usage); });
        op.notifications = 0;
    }
    while (op.holds != nullptr && op.holds(op, false)) {
        auto polled = netkit::detail::poll_one(op.fd, 0, deadline::never());
        if (!polled || (*polled & POLLNVAL) != 0) {
            return; // the descriptor is gone: nothing more can be learned
        }
        (void)op.attempt(op);
    }
}

inline void loop::cancel_waits_on(int fd) noexcept {
    detail::descriptor_state* state = descriptors_.find(fd);
    if (state == nullptr) {
        return;
    }
    const auto bad = std::make_error_code(std::errc::bad_file_descriptor);
    if (state->reader != nullptr) {
        end_wait(*state->reader, bad);
    }
    if (state->writer != nullptr) {
        end_wait(*state->writer, bad);
    }
}

inline result<std::uint64_t> loop::open_holder(int fd, detail::operation::queue_source what) {
    detail::descriptor_state& entry = descriptors_.entry(fd);
    if (entry.holder != 0) {
        return netkit::detail::errc_failure(std::errc::connection_already_in_progress,
                                            "a second holder of the descriptor");
    }
    const bool accepts = what == detail::operation::queue_source::accepted;
    if (accepts && engine_.accepts() != nullptr) {
        entry.holder = engine_.accepts()->open(fd);
    } else if (!accepts && engine_.queues() != nullptr) {
        entry.holder = engine_.queues()->open(fd);
    } else {
        entry.holder = (accepts ? detail::accept_bit : detail::stream_bit) |
                       (std::uint64_t{++holders_ & 0x1fff'ffffU} << 32U) |
                       static_cast<std::uint32_t>(fd);
    }
    return entry.holder;
}

inline void loop::close_holder(int fd, std::uint64_t token) noexcept {
    detail::descriptor_state* entry = descriptors_.find(fd);
    if (token == 0 || entry == nullptr || entry->holder != token) {
        return;
    }
    entry->holder = 0;
    if ((token & detail::accept_bit) != 0) {
        engine_.close_accept(fd, token);
    } else {
        engine_.close_receive(fd, token);
    }
}

inline std::optional<int> loop::take_received(int fd, std::span<std::byte> into) noexcept {
    detail::receive_queues* queues = engine_.queues();
    if (queues == nullptr || !queues->token_of(fd)) {
        return -EBADF;
    }
    return queues->take(fd, into);
}

inline std::optional<int> loop::lend_received(int fd, std::span<const std::byte>& lent) noexcept {
    detail::receive_queues* queues = engine_.queues();
    if (queues == nullptr || !queues->token_of(fd)) {
        return -EBADF;
    }
    return queues->lend(fd, lent);
}

inline std::optional<int> loop::take_connection(int listener) {
    detail::accept_queues* accepts = engine_.accepts();
    if (accepts == nullptr || !accepts->token_of(listener)) {
        return -EBADF;
    }
    return accepts->take(listener);
}

inline result<void> loop::watch(detail::operation& op) {
    auto role = descriptors_.claim(op);
    if (!role) {
        return failure{role.error()};
    }
    if (op.from_queue != detail::operation::queue_source::none) {
        if (auto wanted = want_queued(op); !wanted) {
            return wanted;
        }
        **role = &op;
        return {};
    }
    if (engine_.completes() && op.describe != nullptr) {
        if (auto submitted = submit(op); !submitted) {
            return submitted;
        }
        **role = &op;
        return {};
    }
    detail::descriptor_state& entry = descriptors_.entry(op.fd);
    const std::optional<std::uint32_t> epoch = detail::descriptor_epochs::of(op.fd);
    if (!entry.registered || !epoch || entry.epoch != *epoch) {
        // Bits 61 to 63 of a token mark completions, receive queues and accept queues.
        entry.generation = (entry.generation + 1) & 0x1fff'ffffU;
        const std::uint64_t token =
            slot_token{static_cast<std::uint32_t>(op.fd), entry.generation}.pack();
        if (auto added = engine_.watch(op.fd, token); !added) {
            entry.registered = false;
            return added;
        }
        entry.registered = epoch.has_value();
        entry.epoch = epoch.value_or(0);
        entry.drained = false;
        entry.input_ended = false;
    }
    **role = &op;
    return {};
}

inline result<void> loop::want_queued(detail::operation& op) noexcept {
    if (op.from_queue == detail::operation::queue_source::accepted) {
        if (!engine_.accepts()->wants_accept(op.fd)) {
            return {};
        }
        return engine_.arm_accept(op.fd);
    }
    detail::receive_queues& queues = *engine_.queues();
    if (!queues.wants_receive(op.fd)) {
        return {};
    }
    if (queues.starved(op.fd)) {
        queues.fed(op.fd);
        return submit(op);
    }
    return engine_.arm_receive(op.fd);
}

inline void loop::on_queue_news(int fd) {
    detail::descriptor_state* entry = descriptors_.find(fd);
    detail::operation* op = entry != nullptr ? entry->reader : nullptr;
    if (op == nullptr || op->from_queue == detail::operation::queue_source::none || op->submitted) {
        return;
    }
    if (op->attempt(*op)) {
        forget(*op);
        streak_ = 0;
        op->waiter.resume();
    } else if (auto wanted = want_queued(*op); !wanted) {
        end_wait(*op, wanted.error().code());
    }
}

inline result<void> loop::submit(detail::operation& op) noexcept {
    const detail::submission what = op.describe(op);
    if (auto submitted = engine_.submit(op.fd, what, completion_token(op)); !submitted) {
        return submitted;
    }
    op.submitted = true;
    return {};
}

inline std::optional<int> loop::withdraw(detail::operation& op) noexcept {
    if (!op.registered) {
        return std::nullopt;
    }
    std::optional<int> late;
    if (op.submitted) {
        const std::optional<detail::completion> last = engine_.cancel(completion_token(op));
        op.submitted = false;
        if (last && last->notification_follows) {
            ++op.notifications;
        }
        if (last && last->result != -ECANCELED) {
            late = last->result;
        }
    }
    op.stop_link.reset();
    descriptors_.release(op);
    if (!op.holding) {
        waits_.release(op);
    }
    op.registered = false;
    op.holding = false;
    return late;
}

inline void loop::on_completion(std::uint64_t token, int result, std::uint32_t notice) {
    auto& op = *reinterpret_cast<detail::operation*>( // NOLINT: our own token
        static_cast<std::uintptr_t>(token & ~detail::completion_bit));
    if ((notice & detail::notice_notification) != 0) {
        --op.notifications;
        op.notified(op, result);
        if (op.notifications == 0 && op.registered && !op.submitted) {
            forget(op); // its last result had come: it has finished
            streak_ = 0;
            op.waiter.resume();
        }
        return;
    }
    op.submitted = false;
    if ((notice & detail::notice_more) != 0) {
        ++op.notifications;
    }
    if (!op.complete(op, result)) {
        if (auto again = submit(op); !again) {
            end_wait(op, again.error().code());
        }
        return;
    }
    if (op.notifications > 0) {
        return; // finished, once the kernel lets go of its buffer
    }
    forget(op);
    streak_ = 0;
    op.waiter.resume();
}

inline void loop::on_close(int fd) noexcept {
    detail::descriptor_epochs::closing(fd);
    if (loop* here = current_slot()) {
        here->cancel_waits_on(fd);
        here->forget_registration(fd);
    }
}

inline void loop::forget_registration(int fd) noexcept {
    if (detail::descriptor_state* entry = descriptors_.find(fd)) {
        close_holder(fd, entry->holder);
    }
    detail::descriptor_state* entry = descriptors_.find(fd);
    if (entry != nullptr && entry->registered) {
        engine_.closing(fd, slot_token{static_cast<std::uint32_t>(fd), entry->generation}.pack());
        entry->registered = false;
    }
}

inline void loop::end_wait(detail::operation& op, std::error_code why) noexcept {
    const bool held = op.holding;
    if (const std::optional<int> late = withdraw(op); !held && (!late || !op.complete(op, *late))) {
        op.ended = why;
    }
    if (op.holds != nullptr && op.holds(op, why == std::errc::bad_file_descriptor)) {
        hold(op);
        return;
    }
    op.queued = true;
    ready_.push_back(op.waiter); // capacity grows only with the number of tasks
}

inline void loop::on_event(std::uint64_t token, std::uint32_t bits, std::uint32_t notice) {
    if ((token & detail::completion_bit) != 0) {
        on_completion(token, static_cast<int>(bits), notice);
        return;
    }
    if ((token & (detail::stream_bit | detail::accept_bit)) != 0) {
        on_queue_news(static_cast<int>(token & 0xffff'ffffU));
        return;
    }
    const auto [number, generation] = slot_token::unpack(token);
    detail::descriptor_state* entry = descriptors_.of_event(number, generation);
    if (entry == nullptr) {
        return; // the number was registered again since this edge
    }
    if ((bits & detail::registration_ended) != 0 && entry->registered) {
        // The engine ended the registration itself (io_uring, on a completion queue
        // overflow): the descriptor is still wanted, so it is registered again. One that
        // ended in an error is left for the next wait to register, whose call reports it.
        if ((bits & EPOLLERR) != 0 || !engine_.watch(static_cast<int>(number), token)) {
            entry->registered = false;
        }
    }
    const bool failed = (bits & (EPOLLERR | EPOLLHUP)) != 0;
    const bool peer_closed_writing = (bits & EPOLLRDHUP) != 0;
    if (failed || peer_closed_writing || (bits & (EPOLLIN | EPOLLPRI)) != 0) {
        // An end of stream is readable but is no data: a short read before it leaves it
        // there with its edge spent, so from now on every receive makes its call.
        entry->drained = false;
        entry->input_ended = entry->input_ended || failed || peer_closed_writing;
        try_waiting(number, generation, &detail::descriptor_state::reader);
    }
    if (failed || (bits & EPOLLOUT) != 0) {
        try_waiting(number, generation, &detail::descriptor_state::writer);
    }
}

inline void loop::try_waiting(std::uint32_t number, std::uint32_t generation,
                              detail::operation* detail::descriptor_state::*role) {
    // Looked up again: a reader resumed just before may have closed the descriptor.
    detail::descriptor_state* entry = descriptors_.of_event(number, generation);
    if (entry == nullptr) {
        return;
    }
    detail::operation* op = entry->*role;
    if (op != nullptr && op->attempt(*op)) {
        forget(*op);
        streak_ = 0;
        op->waiter.resume();
    }
}

} // namespace netkit::async
