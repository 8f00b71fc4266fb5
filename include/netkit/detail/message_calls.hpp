#pragma once

// The one-call message operations of basic_socket, as free functions of a descriptor: every
// sendmsg and recvmsg a socket makes on caller's data is built here, through message_header.

#include <netkit/buffer/buffer.hpp>
#include <netkit/buffer/exact_gather.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/coalesce.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/msg/control.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/msg/message.hpp>
#include <netkit/msg/receive_info.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/sys/syscall.hpp>

#include <cstddef>
#include <type_traits>

#include <sys/socket.h>

namespace netkit::detail {

// On message protocols ask the kernel for the real length of a message, so truncation can be
// reported (recv(2): MSG_TRUNC).
template <protocol_tag P>
inline constexpr int truncation_flag = keeps_boundaries<P> ? MSG_TRUNC : 0;

// What a plain recv(2)/recvfrom(2) of `returned` bytes into `capacity` reports: the byte count
// on a stream, the sizes with truncation on a message protocol.
template <protocol_tag P>
auto receive_sizes(std::size_t returned, std::size_t capacity) noexcept {
    if constexpr (keeps_boundaries<P>) {
        receive_info<typename P::endpoint_type> info;
        info.size = min_of(returned, capacity);
        info.message_size = returned;
        return info;
    } else {
        (void)capacity;
        return returned;
    }
}

// The msghdr of a sendmsg of `iov` with an optional destination and optional control data:
// built here for the socket's call and for the io_uring engine's IORING_OP_SENDMSG alike, so
// that both send the same message.
inline void build_send(message_header& message, std::span<const iovec> iov, const void* name,
                       socklen_t name_length, const control_storage* control) noexcept {
    message.buffers(iov);
    message.destination(name, name_length);
    if (control != nullptr) {
        message.control(control->bytes());
    }
}

// One sendmsg(2) of `iov` with an optional destination and optional control data.
inline result<std::size_t> send_header(int fd, std::span<const iovec> iov, const void* name,
                                       socklen_t name_length, const control_storage* control,
                                       send_flags flags) noexcept {
    message_header message;
    build_send(message, iov, name, name_length, control);
    return send_message(fd, message.native(), flags.bits());
}

// A message of small fragments, copied into one stack buffer and sent by the call hand-written
// C would make for one range: send(2), sendto(2), or sendmsg(2) when there is control data.
// False, with nothing sent, when a fragment turns out too large to copy.
[[gnu::noinline]] inline bool send_message_coalesced(int fd, std::span<const iovec> iov,
                                                     const void* name, socklen_t name_length,
                                                     const control_storage* control,
                                                     send_flags flags,
                                                     result<std::size_t>& sent) noexcept {
    coalesced_bytes bytes(iov);
    if (bytes.size() == 0) {
        return false;
    }
    if (control == nullptr) {
        sent = name == nullptr ? send(fd, bytes.data(), bytes.size(), flags.bits())
                               : send_to(fd, bytes.data(), bytes.size(), flags.bits(),
                                         static_cast<const sockaddr*>(name), name_length);
        if (!sent) [[unlikely]] {
            sent = as_sendmsg_failure(sent.error(), name, name_length);
        }
        return true;
    }
    const iovec one = bytes.as_iovec();
    sent = send_header(fd, std::span<const iovec>(&one, 1), name, name_length, control, flags);
    return true;
}

// Every sendmsg: a buffer sequence (or one byte range), an optional destination, optional
// control data. One message must be one system call; silently sending a prefix of more than
// IOV_MAX buffers would lose data, so that is an error.
template <class Data>
result<std::size_t> send_message_from(int fd, const Data& data, const void* name,
                                      socklen_t name_length, const control_storage* control,
                                      send_flags flags) noexcept {
    const send_iovecs<Data> iov(data);
    if (iov.overflow()) [[unlikely]] {
        return errc_failure(errc::too_many_buffers, "sendmsg");
    }
    if constexpr (may_coalesce<Data>) {
        if (may_copy(iov.get(), flags.bits())) {
            result<std::size_t> sent;
            if (send_message_coalesced(fd, iov.get(), name, name_length, control, flags, sent)) {
                return sent;
            }
        }
    }
    return send_header(fd, iov.get(), name, name_length, control, flags);
}

// The msghdr of a recvmsg into `iov` (room for the sender's name when `sender` is given, for
// control data when `control` is, which clears it) and the flags the call adds to the caller's:
// MSG_TRUNC on message protocols, MSG_CMSG_CLOEXEC with control data. Shared by the socket's
// call and the io_uring engine's IORING_OP_RECVMSG, as `finish_receive` is.
template <protocol_tag P>
int build_receive(message_header& message, std::span<const iovec> iov, sockaddr_storage* sender,
                  control_storage* control) noexcept {
    message.buffers(iov);
    int extra = truncation_flag<P>;
    if (sender != nullptr) {
        message.sender_storage(*sender);
    }
    if (control != nullptr) {
        message.control_area(control->receive_area());
        extra |= MSG_CMSG_CLOEXEC;
    }
    return extra;
}

// What a recvmsg built by `build_receive` returned `got` bytes for: descriptors that arrived
// owned by `control` before anything else, then the sizes, flags out and sender.
template <protocol_tag P>
receive_info<typename P::endpoint_type>
finish_receive(const message_header& message, std::size_t got, control_storage* control) noexcept {
    if (control != nullptr) {
        control->received(message.control_length());
    }
    return message.template received<P>(got);
}

// Every recvmsg into caller's data: the sender's name when `sender` is given, control data when
// `control` is. Descriptors that arrive are owned by `control` before anything else.
template <protocol_tag P, class Data>
result<receive_info<typename P::endpoint_type>>
receive_message_into(int fd, Data& data, sockaddr_storage* sender, control_storage* control,
                     receive_flags flags) noexcept {
    const receive_iovecs<std::remove_reference_t<Data>> iov(data);
    if (iov.overflow()) [[unlikely]] {
        return errc_failure(errc::too_many_buffers, "recvmsg");
    }
    message_header message;
    const int extra = build_receive<P>(message, iov.get(), sender, control);
    auto got = receive_message(fd, message.native(), flags.bits() | extra);
    if (!got) {
        return failure{got.error()};
    }
    return finish_receive<P>(message, *got, control);
}

} // namespace netkit::detail
