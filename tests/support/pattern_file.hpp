#pragma once

// Bytes that depend on their place in a file, and a regular file holding them: a range sent from
// the wrong offset, cut short or sent twice cannot compare equal to what the file holds there.

#include "support/catch.hpp"

#include <cstddef>
#include <string>

#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

namespace netkit::test {

/// The byte at offset `at` of a pattern file.
inline char pattern(std::size_t at) { return static_cast<char>((at * 131 + at / 251) & 0xff); }

/// The `count` bytes of a pattern file from offset `from` on.
inline std::string pattern_bytes(std::size_t from, std::size_t count) {
    std::string bytes(count, '\0');
    for (std::size_t i = 0; i < count; ++i) {
        bytes[i] = pattern(from + i);
    }
    return bytes;
}

/// A regular file (memfd: tmpfs, so no file is left behind) holding `size` pattern bytes.
struct temp_file {
    int fd = ::memfd_create("netkit-test-pattern-file", MFD_CLOEXEC);
    explicit temp_file(std::size_t size) {
        REQUIRE(fd >= 0);
        const std::string bytes = pattern_bytes(0, size);
        REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    }
    ~temp_file() { ::close(fd); }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
};

} // namespace netkit::test
