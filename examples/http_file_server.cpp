// A static file server on the coroutine layer: HTTP/1.0 GET of the regular files under one
// directory, each body sent with sendfile(2) (async::send_file: from the page cache to the socket,
// waiting for room whenever the client reads slowly), a task per connection, many at once.
//
//   http_file_server ENDPOINT DIRECTORY
//
// The first line of output is the bound endpoint (ENDPOINT may use port 0). Answers: 200 with
// Content-Length and the body; 404 for anything that is not a regular file under DIRECTORY;
// 400 for a malformed request line or a head over 8 KiB; 501 for a method other than GET. A
// client that sends nothing (or makes no progress reading) for 5 s is closed. SIGINT or SIGTERM:
// no new connections, the requests still being read are dropped, the bodies under way finish,
// exit status 0.
//
// Nothing outside DIRECTORY is ever served: the path is split at '/', an empty, "." or ".."
// segment is refused before any file is opened, and every segment is opened relative to the one
// before (openat) with O_NOFOLLOW, so that no symbolic link is followed, not even one inside
// DIRECTORY. The path is not percent-decoded: "%2e%2e" names a file of that name.
#include <netkit/async.hpp>
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <signal.h>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::literals;

namespace {

constexpr auto idle = 5s;                // the longest a client may keep us waiting
constexpr std::size_t head_limit = 8192; // the request line and headers

// The regular file `path` ("/a/b") names under the directory `root`, or an empty descriptor.
nk::file_descriptor open_beneath(int root, std::string_view path) {
    nk::file_descriptor directory; // the one `at` refers to, once below the root
    int at = root;
    for (std::size_t start = 1;;) {
        const std::size_t slash = path.find('/', start);
        const std::string name(path.substr(start, slash - start));
        if (name.empty() || name == "." || name == "..") {
            return {};
        }
        const bool last = slash == std::string_view::npos;
        // O_NOFOLLOW: a symbolic link fails (ELOOP) at every level. O_NONBLOCK: opening a FIFO
        // does not wait for a writer (and it is no regular file, so it is refused below).
        nk::file_descriptor next(
            ::openat(at, name.c_str(),
                     O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (last ? O_NONBLOCK : O_DIRECTORY)));
        if (!next || last) {
            struct stat status {};
            if (!next || ::fstat(next.get(), &status) != 0 || !S_ISREG(status.st_mode)) {
                return {};
            }
            return next;
        }
        directory = std::move(next);
        at = directory.get();
        start = slash + 1;
    }
}

// "METHOD SP /target SP HTTP/1.x": the status for it (0 when it asks for a file) and the path.
std::pair<int, std::string_view> parse_request_line(std::string_view line) {
    const std::size_t first = line.find(' ');
    const std::size_t second = line.find(' ', first + 1);
    if (first == 0 || first == std::string_view::npos || second == std::string_view::npos) {
        return {400, {}};
    }
    const std::string_view method = line.substr(0, first);
    std::string_view target = line.substr(first + 1, second - first - 1);
    const std::string_view version = line.substr(second + 1);
    for (const char c : method) {
        if (c < 'A' || c > 'Z') {
            return {400, {}};
        }
    }
    for (const char c : target) {
        if (c <= ' ' || c == 0x7f) { // control characters (NUL included) and spaces
            return {400, {}};
        }
    }
    if (!target.starts_with('/') || (version != "HTTP/1.0" && version != "HTTP/1.1")) {
        return {400, {}};
    }
    if (method != "GET") {
        return {501, {}};
    }
    return {0, target.substr(0, target.find('?'))};
}

std::string_view reason(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    default:
        return "Not Implemented";
    }
}

std::string response_head(int status, std::uint64_t length) {
    return fmt::format("HTTP/1.0 {} {}\r\nContent-Length: {}\r\nContent-Type: {}\r\n"
                       "Connection: close\r\n\r\n",
                       status, reason(status), length,
                       status == 200 ? "application/octet-stream" : "text/plain");
}

// One request, one response. Returns false when the connection is to be closed at once (an
// error, the idle deadline, the drain).
nka::task<bool> respond(nk::tcp::socket& sock, int root, nka::stop_source& draining) {
    std::array<char, head_limit> buffer{};
    std::size_t held = 0;
    std::size_t end = std::string_view::npos;
    while (end == std::string_view::npos) { // read until the blank line that ends the head
        if (held == buffer.size()) {
            end = held; // too long: answered 400 below, the rest unread
            break;
        }
        auto got =
            co_await nka::receive(sock, std::span(buffer).subspan(held), idle, draining.token());
        if (!got || *got == 0) {
            co_return false;
        }
        held += *got;
        end = std::string_view(buffer.data(), held).find("\r\n\r\n");
    }
    const std::string_view head(buffer.data(), held);
    auto [status, path] = end == held ? std::pair{400, std::string_view{}}
                                      : parse_request_line(head.substr(0, head.find("\r\n")));
    nk::file_descriptor file;
    struct stat about {};
    if (status == 0) {
        file = open_beneath(root, path);
        status = file && ::fstat(file.get(), &about) == 0 ? 200 : 404;
    }
    const std::string error_body = status == 200 ? "" : fmt::format("{}\n", reason(status));
    const std::uint64_t length =
        status == 200 ? static_cast<std::uint64_t>(about.st_size) : error_body.size();
    const std::string response = response_head(status, length) + error_body;
    auto sent = co_await nka::send_all(sock, response, idle);
    if (!sent || status != 200) {
        co_return sent.has_value();
    }
    // The idle deadline is for progress: a slow reader that takes more than 5 s in all is
    // resumed, one that takes no byte for 5 s is not.
    for (std::uint64_t offset = 0; offset < length;) {
        auto body = co_await nka::send_file(sock, file.get(), {offset, length - offset}, idle);
        if (body) {
            break;
        }
        if (body.error() != std::errc::timed_out || body.error().bytes_transferred() == 0) {
            co_return false;
        }
        offset += body.error().bytes_transferred();
    }
    co_return true;
}

nka::task<> session(nk::tcp::socket sock, int root, nka::stop_source& draining, int& sessions) {
    ++sessions;
    auto answered = co_await respond(sock, root, draining);
    if (answered) {
        // A lingering close: the response is followed by our FIN, and what the client still
        // sends is read and dropped until it closes too, since closing with unread data would
        // reset the connection and could destroy the response in its receive queue.
        (void)sock.shutdown(nk::shutdown::write);
        std::array<std::byte, 4096> rest{};
        for (bool open = true; open;) {
            auto got = co_await nka::receive(sock, rest, idle);
            open = got && *got > 0;
        }
    }
    --sessions;
}

nka::task<> drain_on_signal(const nk::file_descriptor& signals, nka::stop_source& draining) {
    (void)co_await nka::wait_readable(signals);
    draining.request_stop();
}

nka::task<> serve(nk::tcp::acceptor& acceptor, const nk::file_descriptor& signals, int root) {
    nka::stop_source draining;
    int sessions = 0;
    nka::loop::current().spawn(drain_on_signal(signals, draining));
    while (!draining.stop_requested()) {
        auto conn = co_await nka::accept(acceptor, {}, draining.token());
        if (conn) {
            nka::loop::current().spawn(session(std::move(conn->socket), root, draining, sessions));
        } else { // the drain began, or out of descriptors: wait before trying again
            (void)co_await nka::sleep_for(100ms, draining.token());
        }
    }
    while (sessions > 0) { // the bodies under way finish
        (void)co_await nka::sleep_for(5ms);
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        fmt::print(stderr, "usage: http_file_server ENDPOINT DIRECTORY\n");
        return 2;
    }
    auto endpoint = nk::ip::endpoint::parse(argv[1]);
    if (!endpoint) {
        fmt::print(stderr, "{}\n", endpoint.error().message());
        return 2;
    }
    const nk::file_descriptor root(::open(argv[2], O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) {
        fmt::print(stderr, "{}: not a directory that can be opened\n", argv[2]);
        return 2;
    }
    rlimit files{}; // each client is a descriptor, and a file another while its body goes
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
        files.rlim_cur = files.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &files);
    }
    sigset_t set; // SIGINT and SIGTERM become a readable descriptor that the loop waits on
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    const nk::file_descriptor signals(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    nk::listen_options options;
    options.mode = nk::io_mode::non_blocking; // the loop's accept needs it
    auto acceptor = nk::tcp::acceptor::listen(*endpoint, options);
    if (!acceptor) {
        fmt::print(stderr, "{}\n", acceptor.error().message());
        return 1;
    }
    fmt::print("{}\n", acceptor->local_endpoint().value().to_string());
    std::fflush(stdout); // the first line is how a supervisor learns the port
    nka::loop loop;
    loop.run(serve(*acceptor, signals, root.get()));
    fmt::print("shut down\n");
    return 0;
}
