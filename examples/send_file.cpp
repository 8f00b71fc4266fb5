// Serving a file with sendfile(2): the bytes go from the page cache to the socket without being
// copied into the process. netkit::send_file loops over short transfers, stops at a deadline,
// and says how far it got when it fails, so that a range can be resumed.
//
// Usage: example_send_file [FILE [ENDPOINT]]
// With a file it listens on ENDPOINT (default 127.0.0.1:0, printed), sends the file to the first
// client and closes. Without, it serves a temporary file to a client of its own on loopback and
// checks that every byte arrived.
#include <netkit/io/file_transfer.hpp>
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {

// Sends all of `file` to the first client of `acceptor`, then ends the stream.
int serve(nk::tcp::acceptor& acceptor, int file) {
    struct stat status {};
    if (::fstat(file, &status) != 0) {
        fmt::print(stderr, "fstat: {}\n", std::strerror(errno));
        return 1;
    }
    const auto size = static_cast<std::uint64_t>(status.st_size);
    auto accepted = acceptor.accept(30s);
    if (!accepted) {
        fmt::print(stderr, "{}\n", accepted.error().message());
        return 1;
    }
    auto& client = accepted->socket;
    auto sent = nk::send_file(client, file, {.offset = 0, .length = size}, 30s);
    if (!sent) {
        // How far it got: a client that reconnects asking for the rest gets
        // {.offset = sent.error().bytes_transferred()}.
        fmt::print(stderr, "{} after {} of {} bytes\n", sent.error().message(),
                   sent.error().bytes_transferred(), size);
        return 1;
    }
    client.shutdown(nk::shutdown::write).value(); // the client reads end of stream
    fmt::print("sent {} bytes to {}\n", *sent, accepted->peer.to_string());
    return 0;
}

// A temporary file of `size` bytes of a pattern, already unlinked: the descriptor keeps it.
int temporary_file(std::size_t size) {
    char path[] = "/tmp/netkit-send-file-XXXXXX";
    const int fd = ::mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    ::unlink(path);
    std::vector<char> bytes(size);
    for (std::size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<char>(i * 7 % 251);
    }
    if (::write(fd, bytes.data(), size) != static_cast<ssize_t>(size)) {
        ::close(fd);
        return -1;
    }
    return fd;
}

int demonstrate() {
    const std::size_t size = 5 * 1024 * 1024 + 3;
    const int file = temporary_file(size);
    if (file < 0) {
        fmt::print(stderr, "cannot write a temporary file\n");
        return 1;
    }
    auto acceptor =
        nk::tcp::acceptor::listen(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    std::string received;
    std::thread client([&, at = acceptor.local_endpoint().value()] {
        auto sock = nk::tcp::socket::connect(at, 10s).value();
        std::vector<char> chunk(64 * 1024);
        for (;;) {
            auto got = sock.receive(chunk, {}, 10s);
            if (!got || *got == 0) {
                break;
            }
            received.append(chunk.data(), *got);
        }
    });
    const int served = serve(acceptor, file);
    client.join();
    bool same = received.size() == size;
    for (std::size_t i = 0; same && i < size; ++i) {
        same = received[i] == static_cast<char>(i * 7 % 251);
    }
    ::close(file);
    fmt::print("the client received {} bytes, {}\n", received.size(),
               same ? "all as in the file" : "NOT the file");
    return served == 0 && same ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        return demonstrate();
    }
    const int file = ::open(argv[1], O_RDONLY | O_CLOEXEC);
    if (file < 0) {
        fmt::print(stderr, "{}: {}\n", argv[1], std::strerror(errno));
        return 1;
    }
    const auto where = nk::ip::endpoint::parse(argc > 2 ? argv[2] : "127.0.0.1:0");
    if (!where) {
        fmt::print(stderr, "{}\n", where.error().message());
        return 2;
    }
    auto acceptor = nk::tcp::acceptor::listen(*where);
    if (!acceptor) {
        fmt::print(stderr, "{}\n", acceptor.error().message());
        return 1;
    }
    fmt::print("serving {} on {}\n", argv[1], acceptor->local_endpoint().value().to_string());
    std::fflush(stdout);
    const int served = serve(*acceptor, file);
    ::close(file);
    return served;
}
