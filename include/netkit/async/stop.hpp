#pragma once

// Cancellation for the coroutine layer: a stop source, the tokens it hands out and the callbacks
// that run when it is asked to stop. libc++ 14 has no std::stop_token, and the standard one
// allocates its shared state and synchronises every registration; these are for one loop's
// thread, so a source keeps its state in itself and a callback is an intrusive list node.

namespace netkit::async {

class stop_source;

namespace detail {
// A node in a source's list of callbacks: what runs when the source is asked to stop.
struct stop_node {
    void (*on_stop)(stop_node&) noexcept = nullptr;
    stop_node* prev = nullptr;
    stop_node* next = nullptr;
};
} // namespace detail

/// Whether a stop was asked for, read from a `stop_source`; a default token can never stop.
/// A token is a pointer: its source must outlive it.
class stop_token {
public:
    constexpr stop_token() noexcept = default;
    /// True once the source was asked to stop.
    [[nodiscard]] bool stop_requested() const noexcept;
    /// False for a default token: nothing can ever ask it to stop.
    [[nodiscard]] constexpr bool stop_possible() const noexcept { return source_ != nullptr; }

private:
    friend class stop_source;
    friend struct stop_registration;
    constexpr explicit stop_token(stop_source* source) noexcept : source_(source) {}
    stop_source* source_ = nullptr;
};

/// Asks the operations that hold its tokens to stop. Single-threaded: use it on the thread of
/// the loop whose operations hold its tokens (from another thread, `loop::post` the request).
/// It can be neither copied nor moved, since its tokens point at it; it must outlive them.
///
/// @par Example
/// @code
/// netkit::async::stop_source stop;
/// loop.spawn(session(std::move(sock), stop.token()));
/// stop.request_stop(); // the session's pending receive ends with std::errc::operation_canceled
/// @endcode
class stop_source {
public:
    stop_source() noexcept = default;
    stop_source(const stop_source&) = delete;
    stop_source& operator=(const stop_source&) = delete;

    /// A token of this source.
    [[nodiscard]] stop_token token() noexcept { return stop_token(this); }
    /// True once `request_stop` was called.
    [[nodiscard]] bool stop_requested() const noexcept { return stopped_; }

    /// Asks every holder of a token to stop and runs the registered callbacks, each once.
    /// Returns false if a stop had already been asked for (then nothing runs).
    bool request_stop() noexcept {
        if (stopped_) {
            return false;
        }
        stopped_ = true;
        while (head_ != nullptr) { // a callback may unlink others: take the head each time
            detail::stop_node* node = head_;
            unlink(*node);
            node->on_stop(*node);
        }
        return true;
    }

private:
    friend struct stop_registration;
    void link(detail::stop_node& node) noexcept {
        node.prev = nullptr;
        node.next = head_;
        if (head_ != nullptr) {
            head_->prev = &node;
        }
        head_ = &node;
    }
    void unlink(detail::stop_node& node) noexcept {
        (node.prev != nullptr ? node.prev->next : head_) = node.next;
        if (node.next != nullptr) {
            node.next->prev = node.prev;
        }
        node.prev = node.next = nullptr;
    }

    detail::stop_node* head_ = nullptr;
    bool stopped_ = false;
};

inline bool stop_token::stop_requested() const noexcept {
    return source_ != nullptr && source_->stop_requested();
}

/// Links a callback node into a token's source for as long as it lives (the engine's use: an
/// operation that waits is ended by a stop). Does nothing for a token that cannot stop.
struct stop_registration {
    stop_registration() noexcept = default;
    stop_registration(const stop_registration&) = delete;
    stop_registration& operator=(const stop_registration&) = delete;
    ~stop_registration() { reset(); }

    /// Registers `node` with `token`'s source (which has not been asked to stop yet).
    void attach(stop_token token, detail::stop_node& node) noexcept {
        reset();
        if (token.source_ != nullptr) {
            source_ = token.source_;
            node_ = &node;
            source_->link(node);
        }
    }
    /// Unregisters, if registered and the source has not run the callback already.
    void reset() noexcept {
        if (source_ != nullptr &&
            (node_->prev != nullptr || node_->next != nullptr || source_->head_ == node_)) {
            source_->unlink(*node_);
        }
        source_ = nullptr;
        node_ = nullptr;
    }

private:
    stop_source* source_ = nullptr;
    detail::stop_node* node_ = nullptr;
};

} // namespace netkit::async
