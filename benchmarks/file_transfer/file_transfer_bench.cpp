// Sending a file over a stream socket three ways (read+send, sendfile, splice through a pipe),
// netkit against hand-written C making the same calls (file_transfer_c.c), over loopback TCP and
// a Unix stream socket. Rounds interleave the two implementations (which goes first alternates),
// the sender runs on CPU 0 and the receiver on CPU 1, and every received byte is counted and
// checksummed against the file.
//
//   file_transfer_bench [--smoke | --quick | --full] [--json FILE]
//   file_transfer_bench --smoke --impl netkit --method sendfile    (one cell: for strace -c)
//
// The file lives in /dev/shm (tmpfs: the page cache is the file, so no disk is measured), or in
// /tmp when /dev/shm is missing; the choice is printed.

#include "file_transfer_c.h"

#include <netkit/io/file_transfer.hpp>
#include <netkit/io/pipe.hpp>
#include <netkit/netkit.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nk = netkit;

namespace {

[[noreturn]] void die(const char* what) {
    std::perror(what);
    std::exit(1);
}

void pin(int cpu) {
    if (::sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        return;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<std::size_t>(cpu), &set);
    if (::pthread_setaffinity_np(::pthread_self(), sizeof set, &set) != 0) {
        die("pthread_setaffinity_np");
    }
}

double thread_cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_THREAD, &usage);
    auto seconds = [](timeval t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// A checksum of a byte stream in 8-byte words, each mixed with its place: cheap enough not to
// slow the receiver, and a lost, doubled or misplaced word changes it.
struct stream_sum {
    std::uint64_t sum = 0;
    std::uint64_t words = 0;
    void add(std::uint64_t word) {
        sum += (word ^ (words * 0x9e3779b97f4a7c15ULL)) * 0x100000001b3ULL;
        ++words;
    }
};

std::uint64_t word_at(const unsigned char* p) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, sizeof w);
    return w;
}

// The file: `size` bytes (a multiple of 8) of a pattern, and its checksum.
struct bench_file {
    std::string path;
    int fd = -1;
    std::uint64_t size = 0;
    std::uint64_t checksum = 0;
};

bench_file make_file(std::uint64_t size) {
    bench_file f;
    struct stat shm {};
    const bool have_shm = ::stat("/dev/shm", &shm) == 0 && S_ISDIR(shm.st_mode);
    f.path = std::string(have_shm ? "/dev/shm" : "/tmp") + "/netkit-file-transfer-XXXXXX";
    f.fd = ::mkostemp(f.path.data(), O_CLOEXEC);
    if (f.fd < 0) {
        die("mkostemp");
    }
    f.size = size;
    std::vector<unsigned char> chunk(1 << 20);
    stream_sum sum;
    for (std::uint64_t at = 0; at < size; at += chunk.size()) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - at));
        for (std::size_t i = 0; i < n; ++i) {
            chunk[i] = static_cast<unsigned char>(((at + i) * 131 + (at + i) / 4099) & 0xff);
        }
        for (std::size_t i = 0; i + 8 <= n; i += 8) {
            sum.add(word_at(chunk.data() + i));
        }
        if (::write(f.fd, chunk.data(), n) != static_cast<ssize_t>(n)) {
            die("write");
        }
    }
    f.checksum = sum.sum;
    std::printf("file: %s, %llu bytes (%s)\n", f.path.c_str(),
                static_cast<unsigned long long>(size),
                have_shm ? "tmpfs /dev/shm" : "/tmp: /dev/shm is missing");
    return f;
}

enum class transport {
    tcp,
    unix_stream
};
enum class method {
    read_send,
    sendfile,
    splice
};
enum class impl {
    c,
    netkit
};
constexpr std::array transports{transport::tcp, transport::unix_stream};
constexpr std::array methods{method::read_send, method::sendfile, method::splice};

const char* name(transport t) { return t == transport::tcp ? "tcp" : "unix"; }
const char* name(method m) {
    return m == method::read_send ? "read_send" : m == method::sendfile ? "sendfile" : "splice";
}
const char* name(impl i) { return i == impl::c ? "c" : "netkit"; }

struct sample {
    transport t;
    method m;
    impl i;
    int round;
    double seconds;
    double sender_cpu;
    double receiver_cpu;
    std::uint64_t bytes;
};

// A connected pair: the sender's socket first. Both blocking, default buffers.
template <class Protocol>
std::pair<nk::basic_socket<Protocol>, nk::basic_socket<Protocol>> connected();

template <>
std::pair<nk::tcp::socket, nk::tcp::socket> connected<nk::tcp::protocol>() {
    auto acceptor =
        nk::tcp::acceptor::listen(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    auto client = nk::tcp::socket::connect(acceptor.local_endpoint().value()).value();
    auto server = std::move(acceptor.accept().value().socket);
    return {std::move(client), std::move(server)};
}

template <>
std::pair<nk::local::stream_socket, nk::local::stream_socket>
connected<nk::local::stream_protocol>() {
    return nk::local::stream_socket::pair().value();
}

constexpr std::size_t read_buffer_size = 256 * 1024;

// The sender's side: one whole transfer of the file by `m`, as `i` writes it.
template <class Protocol>
std::uint64_t send_by(nk::basic_socket<Protocol>& sock, const bench_file& f, method m, impl i,
                      std::vector<char>& buffer, nk::pipe& through) {
    const int fd = sock.native_handle();
    std::int64_t sent = -1;
    if (i == impl::c) {
        switch (m) {
        case method::read_send:
            sent = c_read_send(fd, f.fd, f.size, buffer.data(), buffer.size());
            break;
        case method::sendfile:
            sent = c_sendfile(fd, f.fd, f.size);
            break;
        case method::splice:
            sent = c_splice(fd, f.fd, f.size, through.read_end(), through.write_end(),
                            through.capacity());
            break;
        }
        if (sent < 0) {
            die(name(m));
        }
        return static_cast<std::uint64_t>(sent);
    }
    const nk::file_range whole{.offset = 0, .length = f.size};
    switch (m) {
    case method::read_send: {
        std::uint64_t done = 0;
        while (done < f.size) {
            const auto want =
                static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), f.size - done));
            const ssize_t got = ::pread(f.fd, buffer.data(), want, static_cast<off_t>(done));
            if (got <= 0) {
                die("pread");
            }
            sock.send_all(std::span(buffer.data(), static_cast<std::size_t>(got))).value();
            done += static_cast<std::uint64_t>(got);
        }
        return done;
    }
    case method::sendfile:
        return nk::send_file(sock, f.fd, whole).value();
    case method::splice:
        return nk::send_file_spliced(sock, f.fd, through, whole).value();
    }
    return 0;
}

// The receiver's side, the same for both implementations: recv(2) until end of stream, every
// byte counted and checksummed.
std::pair<std::uint64_t, std::uint64_t> receive_all(int fd) {
    std::vector<unsigned char> buffer(read_buffer_size + 8);
    std::size_t carried = 0;
    std::uint64_t total = 0;
    stream_sum sum;
    for (;;) {
        const ssize_t n = ::recv(fd, buffer.data() + carried, read_buffer_size, 0);
        if (n < 0) {
            die("recv");
        }
        if (n == 0) {
            break;
        }
        total += static_cast<std::uint64_t>(n);
        const std::size_t have = carried + static_cast<std::size_t>(n);
        const std::size_t whole = have / 8 * 8;
        for (std::size_t i = 0; i < whole; i += 8) {
            sum.add(word_at(buffer.data() + i));
        }
        carried = have - whole;
        std::memmove(buffer.data(), buffer.data() + whole, carried);
    }
    return {total, sum.sum};
}

template <class Protocol>
sample run_one(transport t, method m, impl i, int round, const bench_file& f) {
    auto [sender, receiver] = connected<Protocol>();
    auto through = nk::pipe::open().value();
    std::vector<char> buffer(read_buffer_size);
    double receiver_cpu = 0;
    std::pair<std::uint64_t, std::uint64_t> got{};
    const auto start = std::chrono::steady_clock::now();
    std::thread receiving([&, fd = receiver.native_handle()] {
        pin(1);
        const double before = thread_cpu_seconds();
        got = receive_all(fd);
        receiver_cpu = thread_cpu_seconds() - before;
    });
    double sender_cpu = 0;
    std::thread sending([&, &sock = sender] {
        pin(0);
        const double before = thread_cpu_seconds();
        if (send_by(sock, f, m, i, buffer, through) != f.size) {
            die("short send");
        }
        sender_cpu = thread_cpu_seconds() - before;
        sock.shutdown(nk::shutdown::write).value();
    });
    sending.join();
    receiving.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (got.first != f.size || got.second != f.checksum) {
        std::fprintf(stderr, "%s %s %s: received %llu bytes, checksum %s\n", name(t), name(m),
                     name(i), static_cast<unsigned long long>(got.first),
                     got.second == f.checksum ? "ok" : "WRONG");
        std::exit(1);
    }
    return {t, m, i, round, seconds, sender_cpu, receiver_cpu, got.first};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::vector<sample> select(const std::vector<sample>& all, transport t, method m, impl i) {
    std::vector<sample> picked;
    for (const auto& s : all) {
        if (s.t == t && s.m == m && s.i == i) {
            picked.push_back(s);
        }
    }
    std::sort(picked.begin(), picked.end(), [](auto& a, auto& b) { return a.round < b.round; });
    return picked;
}

double gbps(const sample& s) { return static_cast<double>(s.bytes) / s.seconds / 1e9; }
double per_gb(double cpu, const sample& s) { return cpu / (static_cast<double>(s.bytes) / 1e9); }

void report(const std::vector<sample>& all) {
    std::printf("\n%-5s %-10s %-7s %8s %13s %13s %22s\n", "", "method", "impl", "GB/s",
                "send cpu s/GB", "recv cpu s/GB", "netkit/C (min-max)");
    for (auto t : transports) {
        std::vector<double> read_send_gbps[2];
        for (auto m : methods) {
            for (auto i : {impl::c, impl::netkit}) {
                auto mine = select(all, t, m, i);
                std::vector<double> rate, scpu, rcpu;
                for (auto& s : mine) {
                    rate.push_back(gbps(s));
                    scpu.push_back(per_gb(s.sender_cpu, s));
                    rcpu.push_back(per_gb(s.receiver_cpu, s));
                }
                std::string ratio;
                if (i == impl::netkit) {
                    auto theirs = select(all, t, m, impl::c);
                    std::vector<double> ratios;
                    for (std::size_t k = 0; k < mine.size() && k < theirs.size(); ++k) {
                        ratios.push_back(gbps(mine[k]) / gbps(theirs[k]));
                    }
                    char text[64];
                    std::snprintf(text, sizeof text, "%.3f (%.3f-%.3f)", median(ratios),
                                  *std::min_element(ratios.begin(), ratios.end()),
                                  *std::max_element(ratios.begin(), ratios.end()));
                    ratio = text;
                }
                char gain[32] = "";
                const auto which = static_cast<std::size_t>(i);
                if (m == method::read_send) {
                    read_send_gbps[which] = rate;
                } else {
                    std::snprintf(gain, sizeof gain, "  x%.2f vs read+send",
                                  median(rate) / median(read_send_gbps[which]));
                }
                std::printf("%-5s %-10s %-7s %8.2f %13.3f %13.3f %22s%s\n", name(t), name(m),
                            name(i), median(rate), median(scpu), median(rcpu), ratio.c_str(), gain);
            }
        }
    }
}

void write_json(const std::vector<sample>& all, const char* path) {
    std::ofstream out(path);
    out << "[\n";
    for (std::size_t k = 0; k < all.size(); ++k) {
        const auto& s = all[k];
        char line[512];
        std::snprintf(line, sizeof line,
                      "  {\"transport\": \"%s\", \"method\": \"%s\", \"impl\": \"%s\", "
                      "\"round\": %d, \"bytes\": %llu, \"seconds\": %.6f, \"bytes_per_s\": %.0f, "
                      "\"sender_cpu_s_per_gb\": %.4f, \"receiver_cpu_s_per_gb\": %.4f}%s\n",
                      name(s.t), name(s.m), name(s.i), s.round,
                      static_cast<unsigned long long>(s.bytes), s.seconds,
                      static_cast<double>(s.bytes) / s.seconds, per_gb(s.sender_cpu, s),
                      per_gb(s.receiver_cpu, s), k + 1 == all.size() ? "" : ",");
        out << line;
    }
    out << "]\n";
}

} // namespace

int main(int argc, char** argv) {
    std::uint64_t size = 256ULL << 20;
    int rounds = 3;
    const char* json = nullptr;
    std::string_view only_impl;   // "c" or "netkit": one implementation (for strace -c)
    std::string_view only_method; // "read_send", "sendfile" or "splice"
    for (int a = 1; a < argc; ++a) {
        const std::string_view arg = argv[a];
        if (arg == "--smoke") {
            size = 1 << 20;
            rounds = 1;
        } else if (arg == "--quick") {
            rounds = 3;
        } else if (arg == "--full") {
            rounds = 9;
        } else if (arg == "--impl" && a + 1 < argc) {
            only_impl = argv[++a];
        } else if (arg == "--method" && a + 1 < argc) {
            only_method = argv[++a];
        } else if (arg == "--json" && a + 1 < argc) {
            json = argv[++a];
        } else {
            std::fprintf(stderr,
                         "usage: %s [--smoke | --quick | --full] [--impl c|netkit] "
                         "[--method read_send|sendfile|splice] [--json FILE]\n",
                         argv[0]);
            return 2;
        }
    }
    bench_file f = make_file(size);
    std::vector<sample> all;
    for (int round = 0; round < rounds; ++round) {
        for (auto t : transports) {
            for (auto m : methods) {
                if (!only_method.empty() && only_method != name(m)) {
                    continue;
                }
                // Which implementation goes first alternates from round to round.
                const std::array order = round % 2 == 0 ? std::array{impl::c, impl::netkit}
                                                        : std::array{impl::netkit, impl::c};
                for (auto i : order) {
                    if (!only_impl.empty() && only_impl != name(i)) {
                        continue;
                    }
                    all.push_back(t == transport::tcp
                                      ? run_one<nk::tcp::protocol>(t, m, i, round, f)
                                      : run_one<nk::local::stream_protocol>(t, m, i, round, f));
                }
            }
        }
    }
    ::close(f.fd);
    ::unlink(f.path.c_str());
    std::printf("%d round(s), %llu bytes each, sender on CPU 0, receiver on CPU 1\n", rounds,
                static_cast<unsigned long long>(size));
    if (only_impl.empty() && only_method.empty()) {
        report(all);
    }
    if (json != nullptr) {
        write_json(all, json);
    }
    return 0;
}
