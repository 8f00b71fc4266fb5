// Passing an open descriptor to another socket (SCM_RIGHTS): the control buffer's size is
// computed at compile time; received descriptors arrive CLOEXEC and are owned, so one that is
// not taken is closed, never leaked. docs/buffers-and-messages.md quotes this file.
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <array>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <span>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::string_view_literals;

int main() try {
    auto [left, right] = nk::local::stream_socket::pair().value();
    int ends[2] = {-1, -1};
    if (::pipe2(ends, O_CLOEXEC) != 0) {
        return 1;
    }
    nk::file_descriptor pipe_read(ends[0]);
    nk::file_descriptor pipe_write(ends[1]);

    // Room for one descriptor: CMSG_SPACE(sizeof(int)), as a constant expression (x86-64's
    // 8-byte alignment leaves room for a second, which the kernel then fills if one is sent).
    constexpr std::size_t one_descriptor = nk::control_space<nk::cmsg::rights<1>>;
    nk::control_buffer<one_descriptor> out;
    const int to_send = pipe_write.get();
    out.add_descriptors(std::span(&to_send, 1)).value(); // SCM_RIGHTS
    left.send_message("fd"sv, out).value();
    pipe_write.close().value(); // the copy in flight keeps the pipe open

    nk::control_buffer<one_descriptor> in;
    std::array<char, 2> data{};
    const auto info = right.receive_message(data, in).value();
    if (info.control_truncated() || in.descriptor_count() != 1) {
        fmt::print(stderr, "descriptor did not arrive\n");
        return 1;
    }
    nk::file_descriptor writer = in.take_descriptor(0).value(); // owned, CLOEXEC
    if (std::string_view(data.data(), info.size) != "fd") {
        return 1;
    }
    if (::write(writer.get(), "via SCM_RIGHTS", 14) != 14) {
        return 1;
    }
    std::array<char, 14> text{};
    if (::read(pipe_read.get(), text.data(), text.size()) != 14) {
        return 1;
    }
    fmt::print("read back through the passed descriptor: \"{}\"\n",
               std::string_view(text.data(), text.size()));
    return 0;
} catch (const std::exception& e) { // value() throws netkit::operation_failed on an error
    std::fputs(e.what(), stderr);
    std::fputs("\n", stderr);
    return 1;
}
