#pragma once

#include <netkit/async/descriptor_epochs.hpp>
#include <netkit/async/operation.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/io/poller.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>
#include <vector>

namespace netkit::async::detail {

// One descriptor number as the loop knows it: its registration with the engine, kept from one
// wait to the next, and the operations waiting on it: one reader (a receive, an accept, a wait
// for readability or for the error queue) and one writer (a send, a connect, a wait for room),
// so that a socket can be full duplex.
struct descriptor_state {
    operation* reader = nullptr;
    operation* writer = nullptr;
    std::uint32_t generation = 0; // of registrations of this number: stale events dropped
    std::uint32_t epoch = 0;      // descriptor_epochs' when registered
    bool registered = false;
    bool drained = false;     // a stream receive took all there was, and no edge came since
    bool input_ended = false; // an edge said end of stream, hang-up or error: never drained
    std::uint64_t holder = 0; // the token of the `stream_reader` or `incoming` holding it, or 0
};

// The loop's descriptor states, indexed by number. It grows with the highest number seen, not
// per operation.
class descriptor_table {
public:
    // `fd`'s state (fd >= 0), made on first use.
    descriptor_state& entry(int fd) {
        const auto number = static_cast<std::size_t>(fd);
        if (number >= states_.size()) {
            states_.resize(number + 1);
        }
        return states_[number];
    }

    // `fd`'s state if the table has one, else null.
    [[nodiscard]] descriptor_state* find(int fd) noexcept {
        return fd >= 0 && static_cast<std::size_t>(fd) < states_.size()
                   ? &states_[static_cast<std::size_t>(fd)]
                   : nullptr;
    }

    // The state an engine's event names, if that registration is still the number's latest.
    [[nodiscard]] descriptor_state* of_event(std::uint32_t number,
                                             std::uint32_t generation) noexcept {
        return number < states_.size() && states_[number].generation == generation
                   ? &states_[number]
                   : nullptr;
    }

    // `fd`'s state if its registration is current (made under the number's present epoch).
    [[nodiscard]] const descriptor_state* current(int fd) const noexcept {
        if (fd < 0 || static_cast<std::size_t>(fd) >= states_.size()) {
            return nullptr;
        }
        const descriptor_state& state = states_[static_cast<std::size_t>(fd)];
        const std::optional<std::uint32_t> epoch = descriptor_epochs::of(fd);
        return state.registered && epoch && state.epoch == *epoch ? &state : nullptr;
    }

    // A stream receive on `fd` came back short: it took all there was, and new data will bring
    // an edge, unless the end of stream already came with its edge spent.
    void note_drained(int fd) noexcept {
        if (current(fd) != nullptr) {
            descriptor_state& state = states_[static_cast<std::size_t>(fd)];
            state.drained = !state.input_ended;
        }
    }
    [[nodiscard]] bool input_drained(int fd) const noexcept {
        const descriptor_state* state = current(fd);
        return state != nullptr && state->drained;
    }

    // The place `op` takes, as reader or writer of its descriptor, or
    // `connection_already_in_progress` when another operation holds it.
    result<operation**> claim(operation& op) {
        descriptor_state& state = entry(op.fd);
        const bool writes = op.interest.contains(netkit::interest::writable);
        operation*& role = writes ? state.writer : state.reader;
        if (role != nullptr) {
            return netkit::detail::errc_failure(std::errc::connection_already_in_progress,
                                                writes ? "a second writer" : "a second reader");
        }
        return &role;
    }

    // `op` no longer waits on its descriptor.
    void release(operation& op) noexcept {
        if (descriptor_state* state = find(op.fd)) {
            if (state->reader == &op) {
                state->reader = nullptr;
            } else if (state->writer == &op) {
                state->writer = nullptr;
            }
        }
    }

private:
    std::vector<descriptor_state> states_;
};

} // namespace netkit::async::detail
