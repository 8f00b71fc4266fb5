#pragma once

#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/const_view.hpp>
#include <netkit/detail/forward_iterator.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/msg/cmsg.hpp>

#include <array>
#include <cstddef>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include <sys/socket.h>

namespace netkit {

// ---- parsing: bounds-checked, whatever the bytes ---------------------------------------------

/// One control message inside a received control area: its level, type and payload bytes.
class control_message {
public:
    /// A message of `level` and `type` whose payload is `data` (a view: nothing is copied).
    constexpr control_message(int level, int type, std::span<const std::byte> data) noexcept
        : level_(level),
          type_(type),
          data_(data) {}

    /// cmsg_level: SOL_SOCKET, IPPROTO_IP, IPPROTO_IPV6, ...
    [[nodiscard]] constexpr int level() const noexcept { return level_; }
    /// cmsg_type: SCM_RIGHTS, IP_PKTINFO, ...
    [[nodiscard]] constexpr int type() const noexcept { return type_; }
    /// The payload, exactly as the kernel wrote it.
    [[nodiscard]] constexpr std::span<const std::byte> data() const noexcept { return data_; }

    /// Whether this message is of payload type T (by level and type).
    template <class T>
    [[nodiscard]] constexpr bool is() const noexcept {
        return level_ == T::level && type_ == T::type;
    }

    /// The payload as T, or nothing if this is not a T or its size is not a T's (a malformed or
    /// foreign message is never misread). A narrower integer may also arrive as an int, as IP_TOS
    /// may (one byte or an int); it is read only if its value fits, never truncated.
    template <class T>
    [[nodiscard]] std::optional<T> as() const noexcept {
        if (!is<T>()) {
            return std::nullopt;
        }
        using wire = typename T::wire;
        wire value{};
        if constexpr (std::is_integral_v<wire>) {
            if (!read_integer(value)) {
                return std::nullopt;
            }
        } else if (data_.size() == sizeof(wire)) {
            std::memcpy(&value, data_.data(), sizeof(wire));
        } else {
            return std::nullopt;
        }
        if constexpr (std::is_same_v<decltype(T::from_wire(value)), std::optional<T>>) {
            return T::from_wire(value);
        } else {
            return std::optional<T>(T::from_wire(value));
        }
    }

    /// The payload as an integer of type Int: one of exactly its size, or an int whose value
    /// fits (never truncated). False, with `out` untouched, for any other payload; the level and
    /// type are not looked at (`is<T>()` does that).
    template <class Int>
        requires(std::is_integral_v<Int> && !std::is_same_v<Int, bool> &&
                 !std::is_same_v<Int, char> && !std::is_same_v<Int, wchar_t> &&
                 !std::is_same_v<Int, char8_t> && !std::is_same_v<Int, char16_t> &&
                 !std::is_same_v<Int, char32_t>) // the integers std::in_range takes
    [[nodiscard]] bool read_integer(Int& out) const noexcept {
        if (data_.size() == sizeof(Int)) {
            std::memcpy(&out, data_.data(), sizeof(Int));
            return true;
        }
        int wide = 0;
        if (data_.size() != sizeof(int)) {
            return false;
        }
        std::memcpy(&wide, data_.data(), sizeof(int));
        if (!std::in_range<Int>(wide)) {
            return false;
        }
        out = static_cast<Int>(wide);
        return true;
    }

    /// For SCM_RIGHTS: how many descriptors the payload holds (the descriptors themselves are
    /// owned by the control buffer they arrived in).
    [[nodiscard]] std::size_t descriptor_count() const noexcept {
        return level_ == SOL_SOCKET && type_ == SCM_RIGHTS ? data_.size() / sizeof(int) : 0;
    }
    /// For SCM_RIGHTS: descriptor number `i` (not owned: see `control_buffer::take_descriptor`).
    [[nodiscard]] int descriptor(std::size_t i) const noexcept {
        int fd = -1;
        if (i < descriptor_count()) {
            std::memcpy(&fd, data_.data() + i * sizeof(int), sizeof(int));
        }
        return fd;
    }

private:
    int level_;
    int type_;
    std::span<const std::byte> data_;
};

/// The control messages in a span of bytes, as a forward range. The walk checks every header
/// against the bytes that remain and stops at the first one that does not fit, so no byte
/// outside the span is ever read, whatever the span holds.
class control_messages {
public:
    /// A forward iterator over the messages; it stops at the end of the area or at the first
    /// header whose length is too short or runs past the area.
    class iterator : public detail::forward_iterator<iterator, control_message> {
    public:
        /// The end of every walk.
        iterator() noexcept = default;
        /// The first message of `rest`, or the end if it holds no valid one.
        explicit iterator(std::span<const std::byte> rest) noexcept : rest_(rest) { load(); }

        /// The current message (its payload is a view into the control area).
        control_message operator*() const noexcept { return current_; }
        /// Moves to the next message, or to the end.
        iterator& operator++() noexcept {
            // The next header starts at the aligned end of this one; if that is past the
            // span, the walk is over.
            const std::size_t step = cmsg_align(length_);
            rest_ = step >= rest_.size() ? std::span<const std::byte>() : rest_.subspan(step);
            load();
            return *this;
        }
        /// Moves to the next message; returns the iterator as it was.
        using forward_iterator::operator++;
        /// True if both are at the same position of the same area (or both at the end).
        friend bool operator==(const iterator& a, const iterator& b) noexcept {
            return a.rest_.data() == b.rest_.data() && a.rest_.size() == b.rest_.size();
        }

    private:
        void load() noexcept {
            constexpr std::size_t header = cmsg_align(sizeof(cmsghdr));
            cmsghdr h{};
            if (rest_.size() < sizeof(cmsghdr)) {
                rest_ = {};
                return;
            }
            std::memcpy(&h, rest_.data(), sizeof h);
            if (h.cmsg_len < header || h.cmsg_len > rest_.size()) {
                rest_ = {}; // a header that lies about its length ends the walk
                return;
            }
            length_ = h.cmsg_len;
            current_ = control_message(h.cmsg_level, h.cmsg_type,
                                       rest_.subspan(header, h.cmsg_len - header));
        }

        std::span<const std::byte> rest_{};
        std::size_t length_ = 0;
        control_message current_{0, 0, {}};
    };

    /// No messages.
    constexpr control_messages() noexcept = default;
    /// The messages of the control area `bytes` (a view: the area must outlive the range).
    constexpr explicit control_messages(std::span<const std::byte> bytes) noexcept
        : bytes_(bytes) {}

    /// The first message.
    [[nodiscard]] iterator begin() const noexcept { return iterator(bytes_); }
    /// The end of the walk.
    [[nodiscard]] iterator end() const noexcept { return iterator(); }
    /// True if the area holds no valid message.
    [[nodiscard]] bool empty() const noexcept { return begin() == end(); }

    /// The first message of payload type T, decoded.
    template <class T>
    [[nodiscard]] std::optional<T> find() const noexcept {
        for (const control_message m : *this) {
            if (auto value = m.as<T>()) {
                return value;
            }
        }
        return std::nullopt;
    }

private:
    std::span<const std::byte> bytes_;
};

/// Parses a control area (what recvmsg wrote into msg_control, msg_controllen bytes).
[[nodiscard]] inline control_messages parse_control(std::span<const std::byte> bytes) noexcept {
    return control_messages(bytes);
}

// ---- the buffer: what to send, and where received control data lands -------------------------

/// Storage for ancillary data, of a size fixed at compile time. To send, fill it with `add`;
/// to receive, pass it to `receive_message` and read `messages()`.
///
/// Descriptors received with SCM_RIGHTS are owned by the buffer the moment they arrive: take
/// them with `take_descriptor(i)`; any not taken are closed by the next receive into this buffer
/// or by its destructor, so ignoring them cannot leak them.
class control_storage {
public:
    control_storage(const control_storage&) = delete;
    control_storage& operator=(const control_storage&) = delete;

    /// Appends one control message to send. Errors: `no_buffer_space` if it does not fit.
    template <class Payload>
    result<void> add(const Payload& payload) noexcept {
        const auto wire = payload.to_wire();
        return add_raw(Payload::level, Payload::type,
                       std::as_bytes(std::span<const decltype(wire)>(&wire, 1)));
    }
    /// Appends SCM_RIGHTS with these descriptors (the kernel duplicates them into the receiver).
    result<void> add_descriptors(std::span<const int> fds) noexcept {
        return add_raw(SOL_SOCKET, SCM_RIGHTS, std::as_bytes(fds));
    }
    /// Appends any control message, as raw bytes.
    result<void> add_raw(int level, int type, std::span<const std::byte> payload) noexcept {
        const std::size_t space = cmsg_space(payload.size());
        if (used_ + space > bytes_.size()) {
            return detail::errc_failure(std::errc::no_buffer_space, "control message");
        }
        detail::write_control_message(bytes_.data() + used_, level, type, payload.data(),
                                      payload.size());
        used_ += space;
        return {};
    }

    /// Control messages written so far (to send) or received.
    [[nodiscard]] control_messages messages() const noexcept { return parse_control(bytes()); }
    /// The bytes written so far (to send) or received: what goes in msg_control.
    [[nodiscard]] std::span<const std::byte> bytes() const noexcept {
        return detail::const_view<std::byte>(bytes_.data(), used_);
    }
    /// The size of the whole control area, in bytes.
    [[nodiscard]] std::size_t capacity() const noexcept { return bytes_.size(); }

    /// Descriptors received and not yet taken.
    [[nodiscard]] std::size_t descriptor_count() const noexcept { return fd_count_; }
    /// Takes ownership of received descriptor `i`. Errors: `std::errc::invalid_argument` for an
    /// index past the descriptors received, `std::errc::bad_file_descriptor` for one already
    /// taken (each taken once: a second owner would close it twice).
    [[nodiscard]] result<file_descriptor> take_descriptor(std::size_t i) noexcept {
        if (i >= fd_count_) {
            return detail::errc_failure(std::errc::invalid_argument,
                                        "take_descriptor (index past the descriptors received)");
        }
        if (fds_[i] < 0) {
            return detail::errc_failure(std::errc::bad_file_descriptor,
                                        "take_descriptor (already taken)");
        }
        return file_descriptor(std::exchange(fds_[i], -1));
    }

    /// Forgets what was written or received, closing received descriptors not taken.
    void clear() noexcept {
        for (std::size_t i = 0; i < fd_count_; ++i) {
            file_descriptor(std::exchange(fds_[i], -1)).reset();
        }
        fd_count_ = 0;
        used_ = 0;
    }

    /// For the receive path: clears the storage (as `clear()`) and returns the whole area for
    /// the kernel to write into; `received()` then records what it wrote.
    [[nodiscard]] std::span<std::byte> receive_area() noexcept {
        clear();
        return bytes_;
    }
    /// Records `length` bytes written by the kernel and takes ownership of every descriptor in
    /// them at once, before anything else can fail.
    void received(std::size_t length) noexcept {
        used_ = detail::min_of(length, bytes_.size());
        for (const control_message m : messages()) {
            for (std::size_t i = 0; i < m.descriptor_count(); ++i) {
                const int fd = m.descriptor(i);
                if (fd < 0) {
                    continue;
                }
                if (fd_count_ < fds_.size()) {
                    fds_[fd_count_++] = fd;
                } else {
                    file_descriptor(fd).reset(); // cannot happen (sized to the area); never leak
                }
            }
        }
    }

protected:
    /// Storage over `bytes` (the control area) and `fds` (room for the received descriptors),
    /// both owned by the derived class (control_buffer).
    control_storage(std::span<std::byte> bytes, std::span<int> fds) noexcept
        : bytes_(bytes),
          fds_(fds) {}
    ~control_storage() { clear(); }

private:
    std::span<std::byte> bytes_;
    std::span<int> fds_;
    std::size_t used_ = 0;
    std::size_t fd_count_ = 0;
};

/// A control buffer of `Capacity` bytes on the stack (no allocation). Size it with
/// `control_space<...>`: `netkit::control_buffer<netkit::control_space<netkit::cmsg::rights<3>>>`.
template <std::size_t Capacity>
class control_buffer : public control_storage {
    static_assert(Capacity >= cmsg_space(0),
                  "netkit: a control buffer must hold at least one header");

public:
    control_buffer() noexcept : control_storage(bytes_, fds_) {}
    // Close untaken descriptors while this object's arrays are still alive.
    ~control_buffer() { clear(); }
    control_buffer(const control_buffer&) = delete;
    control_buffer& operator=(const control_buffer&) = delete;

private:
    alignas(cmsghdr) std::array<std::byte, Capacity> bytes_{};
    std::array<int, Capacity / sizeof(int)> fds_{};
};

} // namespace netkit
