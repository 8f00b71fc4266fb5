#pragma once

#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/sys/file_syscalls.hpp>

#include <climits>
#include <cstddef>
#include <system_error>
#include <utility>

#include <fcntl.h>

namespace netkit {

class pipe;

namespace detail {
// How the splice functions keep a pipe's count of the bytes they left in it.
struct pipe_access {
    static std::size_t& buffered(pipe& p) noexcept;
};
} // namespace detail

/// An owned kernel pipe (pipe2(2), both ends close-on-exec): the buffer through which splice(2)
/// moves bytes between descriptors without copying them into the process
/// (`<netkit/io/splice.hpp>`).
///
/// It counts the bytes netkit's splice functions put in and have not taken out (`buffered()`), so
/// that bytes left behind by a failed destination are not lost: the next `splice_all` or
/// `send_file_spliced` with this pipe delivers them first (`send_file_spliced` takes them for
/// the first bytes of its range: give it a pipe that is empty or that a send of the same file
/// left). Bytes written to its ends by other means are not counted.
///
/// @par Example
/// @code
/// auto through = netkit::pipe::open().value();
/// through.set_capacity(1 << 20).value();        // fewer, larger splices
/// @endcode
class pipe {
public:
    /// A new pipe. `io_mode::non_blocking` sets O_NONBLOCK on both ends (the splice loops do not
    /// need it: they never splice into a full pipe or out of an empty one).
    /// Errors: those of pipe2 (EMFILE, ENFILE) and F_GETPIPE_SZ.
    static result<pipe> open(io_mode mode = io_mode::blocking) noexcept {
        auto ends = detail::open_pipe(mode == io_mode::non_blocking ? O_NONBLOCK : 0);
        if (!ends) {
            return failure{ends.error()};
        }
        auto size = detail::pipe_size(ends->second.get());
        if (!size) {
            return failure{size.error()};
        }
        return pipe(std::move(ends->first), std::move(ends->second), *size);
    }

    /// The end bytes are read from (`splice` from it to a socket), still owned.
    [[nodiscard]] int read_end() const noexcept { return read_.get(); }
    /// The end bytes are written to (`splice` from a socket or file into it), still owned.
    [[nodiscard]] int write_end() const noexcept { return write_.get(); }

    /// How many bytes the pipe holds at most: 64 KiB unless changed (`set_capacity`). Known from
    /// the last open or resize, without a system call.
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

    /// Resizes the pipe (F_SETPIPE_SZ) to at least `bytes` (the kernel rounds up to a power of two
    /// of pages); returns the new capacity. Errors: `EPERM` above /proc/sys/fs/pipe-max-size
    /// without CAP_SYS_RESOURCE, `EBUSY` when smaller than what it holds, `invalid_argument`
    /// above INT_MAX.
    result<std::size_t> set_capacity(std::size_t bytes) noexcept {
        if (bytes > static_cast<std::size_t>(INT_MAX)) {
            return detail::errc_failure(std::errc::invalid_argument, "fcntl(F_SETPIPE_SZ)");
        }
        auto set = detail::set_pipe_size(write_.get(), static_cast<int>(bytes));
        if (set) {
            capacity_ = *set;
        }
        return set;
    }

    /// Bytes netkit's splice functions put into the pipe and have not yet taken out: after a
    /// `splice_all` or `send_file_spliced` whose destination failed, what had not reached it.
    [[nodiscard]] std::size_t buffered() const noexcept { return buffered_; }

    /// Bytes in the pipe as the kernel counts them (FIONREAD), whoever wrote them.
    [[nodiscard]] result<std::size_t> readable() const noexcept {
        return detail::bytes_readable(read_.get());
    }

    /// Closes both ends: whatever the pipe held is discarded. Reports the first close error.
    result<void> close() noexcept {
        buffered_ = 0;
        auto read_closed = read_.close();
        auto write_closed = write_.close();
        return read_closed ? write_closed : read_closed;
    }

private:
    friend struct detail::pipe_access;
    pipe(file_descriptor read, file_descriptor write, std::size_t capacity) noexcept
        : read_(std::move(read)),
          write_(std::move(write)),
          capacity_(capacity) {}

    file_descriptor read_;
    file_descriptor write_;
    std::size_t capacity_;
    std::size_t buffered_ = 0;
};

inline std::size_t& detail::pipe_access::buffered(pipe& p) noexcept { return p.buffered_; }

} // namespace netkit
