#pragma once

#include <netkit/core/deadline.hpp>
#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/refusal.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/option/access.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/sys/syscall.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <utility>

#include <fcntl.h>
#include <sys/socket.h>

namespace netkit::detail {

/// The socket(2)/accept4(2) type flag for `mode`.
constexpr int type_flags(io_mode mode) noexcept {
    return mode == io_mode::non_blocking ? SOCK_NONBLOCK : 0;
}

/// Opens a socket of protocol P for the family of `endpoint` (`type_flags`: SOCK_NONBLOCK).
template <protocol_tag P>
result<file_descriptor> open_for(const typename P::endpoint_type& endpoint,
                                 int type_flags = 0) noexcept {
    sa_family_t family{};
    std::memcpy(&family, endpoint.data(), sizeof family);
    return open_socket(family, P::socket_type | type_flags, P::protocol_number);
}

/// Opens a socket of protocol P for `peer`'s family and connects it, within `until`. With a
/// deadline the socket is opened non-blocking, so that connect returns at once and the wait is
/// poll's, bounded; it is made blocking again once connected. On failure the half-open socket
/// is closed.
template <protocol_tag P>
result<file_descriptor> open_connected(const typename P::endpoint_type& peer,
                                       deadline until) noexcept {
    auto fd = open_for<P>(peer, until.is_never() ? 0 : SOCK_NONBLOCK);
    if (!fd) {
        return failure{fd.error()};
    }
    if (auto done = connect(fd->get(), peer.data(), peer.size(), until); !done) {
        return failure{done.error()};
    }
    if (!until.is_never()) {
        if (auto blocking = set_non_blocking(fd->get(), false); !blocking) {
            return failure{blocking.error()};
        }
    }
    return fd;
}

/// Reads a socket address through `query` (getsockname or getpeername) into an endpoint.
template <class Endpoint, class Query>
result<Endpoint> read_endpoint(int fd, Query query) noexcept {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (auto got = query(fd, reinterpret_cast<sockaddr*>(&storage), &length); !got) {
        return failure{got.error()};
    }
    return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
}

/// What every socket of protocol P has, acceptors included: ownership of the descriptor,
/// options, its local name, blocking mode.
template <protocol_tag P>
class socket_base {
public:
    using protocol_type = P;
    using endpoint_type = typename P::endpoint_type;

    /// A socket that owns no descriptor.
    socket_base() noexcept = default;
    /// Adopts an open descriptor, which must be a socket of protocol P.
    explicit socket_base(file_descriptor fd) noexcept : fd_(std::move(fd)) {}

    /// The descriptor, still owned by this object.
    [[nodiscard]] int native_handle() const noexcept { return fd_.get(); }
    [[nodiscard]] bool is_open() const noexcept { return fd_.is_open(); }
    /// Gives up ownership: the caller must close the returned descriptor.
    [[nodiscard]] int release() noexcept { return fd_.release(); }

    /// Closes the descriptor (this copy only: a `dup` or a forked child keeps the connection
    /// open; use `shutdown` to end it for every copy). Reports the kernel's close error.
    result<void> close() noexcept { return fd_.close(); }

    /// getsockname(2).
    [[nodiscard]] result<endpoint_type> local_endpoint() const noexcept {
        return read_endpoint<endpoint_type>(fd_.get(), &local_name);
    }

    /// O_NONBLOCK on or off. In non-blocking mode a call that would wait fails with an error
    /// whose `would_block()` is true.
    result<void> set_non_blocking(bool enabled) noexcept {
        return netkit::detail::set_non_blocking(fd_.get(), enabled);
    }
    [[nodiscard]] result<bool> non_blocking() const noexcept {
        auto flags = status_flags(fd_.get());
        if (!flags) {
            return failure{flags.error()};
        }
        return (*flags & O_NONBLOCK) != 0;
    }

    /// getsockopt(2) through a typed descriptor: `sock.get(netkit::tcp::no_delay)`. An option
    /// that is write-only or belongs to another protocol does not compile, and the first error
    /// says which (`requires { sock.get(option); }` is false for it).
    template <class Option>
        requires(get_refusal<Option, P>() == option_refusal::none)
    [[nodiscard]] result<typename Option::value_type> get(const Option& option) const noexcept {
        return get_socket_option<P>(fd_.get(), option);
    }
    /// setsockopt(2) through a typed descriptor: `sock.set(netkit::so::reuse_address, true)`.
    /// A read-only option, an option of another protocol, or a value of the wrong type does not
    /// compile, and the first error says which (`requires { sock.set(option, value); }` is false
    /// for it); a value the kernel field cannot hold is an error value.
    template <class Option, class Value>
        requires(set_refusal<Option, Value, P>() == option_refusal::none)
    result<void> set(const Option& option, const Value& value)
    noexcept { return set_socket_option<P>(fd_.get(), option, value); }

    /// @cond NETKIT_REFUSALS
    // The refused calls of get and set, one overload per mistake (see detail/refusal.hpp).
    template <class Option>
        requires(get_refusal<Option, P>() == option_refusal::not_a_descriptor)
    NETKIT_REFUSED("netkit: get() takes a socket option descriptor")
    get(const Option&) const noexcept NETKIT_REFUSAL_END;
    template <class Option>
        requires(get_refusal<Option, P>() == option_refusal::write_only)
    NETKIT_REFUSED("netkit: this socket option is write-only: it cannot be read with get()")
    get(const Option&) const noexcept NETKIT_REFUSAL_END;
    template <class Option>
        requires(get_refusal<Option, P>() == option_refusal::other_protocol)
    NETKIT_REFUSED("netkit: this socket option does not apply to the protocol of this socket")
    get(const Option&) const noexcept NETKIT_REFUSAL_END;
    template <class Option>
        requires(get_refusal<Option, P>() == option_refusal::decode_may_throw)
    NETKIT_REFUSED("netkit: the codec of this socket option has a decode that may throw: get() "
                   "is noexcept, so decode must be too (return an error value instead)")
    get(const Option&) const noexcept NETKIT_REFUSAL_END;

    template <class Option, class Value>
        requires(set_refusal<Option, Value, P>() == option_refusal::not_a_descriptor)
    NETKIT_REFUSED("netkit: set() takes a socket option descriptor")
    set(const Option&, const Value&) noexcept NETKIT_REFUSAL_END;
    template <class Option, class Value>
        requires(set_refusal<Option, Value, P>() == option_refusal::read_only)
    NETKIT_REFUSED("netkit: this socket option is read-only: it cannot be set with set()")
    set(const Option&, const Value&) noexcept NETKIT_REFUSAL_END;
    template <class Option, class Value>
        requires(set_refusal<Option, Value, P>() == option_refusal::other_protocol)
    NETKIT_REFUSED("netkit: this socket option does not apply to the protocol of this socket")
    set(const Option&, const Value&) noexcept NETKIT_REFUSAL_END;
    template <class Option, class Value>
        requires(set_refusal<Option, Value, P>() == option_refusal::floating_value)
    NETKIT_REFUSED("netkit: a floating-point value cannot set an integer or duration socket "
                   "option: it would be truncated, so convert it yourself, rounding as you mean "
                   "to")
    set(const Option&, const Value&) noexcept NETKIT_REFUSAL_END;
    template <class Option, class Value>
        requires(set_refusal<Option, Value, P>() == option_refusal::wrong_value_type)
    NETKIT_REFUSED("netkit: wrong value type for this socket option (see its value_type: a bool "
                   "option takes true or false, and only a bool option does)")
    set(const Option&, const Value&) noexcept NETKIT_REFUSAL_END;
    template <class Option, class Value>
        requires(set_refusal<Option, Value, P>() == option_refusal::may_throw)
    NETKIT_REFUSED("netkit: this value cannot reach the codec of this socket option without a "
                   "call that may throw, and set() is noexcept (a string option takes a "
                   "std::string_view, and the encode of a codec must be noexcept)")
    set(const Option&, const Value&) noexcept NETKIT_REFUSAL_END;
    /// @endcond

    /// The raw escape hatch, for options with no descriptor: getsockopt(2) into `out`, returning
    /// how many bytes the kernel wrote. Nothing is checked at compile time here; prefer a
    /// one-line `socket_option` descriptor, which is.
    [[nodiscard]] result<std::size_t> get_raw_option(int level, int name,
                                                     std::span<std::byte> out) const noexcept {
        auto length = static_cast<socklen_t>(out.size());
        if (auto got = get_option(fd_.get(), level, name, out.data(), &length); !got) {
            return failure{got.error()};
        }
        return static_cast<std::size_t>(length);
    }
    /// The raw escape hatch: setsockopt(2) with the given bytes, unchecked.
    result<void> set_raw_option(int level, int name, std::span<const std::byte> value) noexcept {
        return set_option(fd_.get(), level, name, value.data(),
                          static_cast<socklen_t>(value.size()));
    }

protected:
    file_descriptor fd_;
};

} // namespace netkit::detail
