// How late deadlines fire, for the readiness criterion "over 200 expiries, none early, p99
// lateness <= 5 ms". A report, not a timed test: the numbers depend on the machine's load, so only
// an early expiry (a broken promise, not a slow machine) makes the exit status non-zero.
//
// Three modes, each `--expiries` deadlines (200 by default, about 5 s in all):
//   timer_queue  timers spread over 1-200 ms, some sharing a deadline, driven through
//                poller::wait with the queue's next() as the wait's deadline, as
//                examples/echo_server.cpp does; lateness = the clock when expire hands a timer
//                over, minus its deadline.
//   receive      receive with a deadline of 1-20 ms on a bound UDP socket nobody sends to;
//                lateness = the clock when it returns timed_out, minus the deadline.
//   accept       the same with accept on a TCP listener nobody connects to.
//
//   timer_lateness [--expiries N] [--json FILE]
//
// Where lateness comes from: epoll_wait(2) and poll(2) take whole milliseconds and netkit rounds
// the time left up (so that nothing ends early), which alone makes up to 1 ms; the kernel's
// timer slack (printed) and getting the CPU back after the wakeup add the rest.

#include <netkit/io/poller.hpp>
#include <netkit/io/timer_queue.hpp>
#include <netkit/netkit.hpp>

#include "machine.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <sys/prctl.h>
#include <sys/utsname.h>

namespace nk = netkit;
using clock_type = nk::deadline::clock;

namespace {

[[noreturn]] void fail(std::string_view what, const nk::error& e) {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(what.size()), what.data(),
                 e.message().c_str());
    std::exit(1);
}

double micros(clock_type::duration d) {
    return std::chrono::duration<double, std::micro>(d).count();
}

// One mode's outcome. Lateness is signed on purpose: an early expiry is recorded as what it was
// (negative), so the percentiles show it instead of hiding it at zero.
struct mode_result {
    std::string name;
    std::vector<double> lateness_us;
    std::size_t early = 0;
    // Waits that ended before the deadline they were given (timer_queue only): a broken promise
    // like an early expiry, though expire's own check on the clock keeps it from firing a timer.
    std::size_t early_waits = 0;
    std::string note; // what else was checked, printed under the table
};

// Nearest rank (the smallest sample with at least p% of the samples at or below it): with 200
// samples the p99 is the 198th, so two outliers may lie beyond it and a third may not.
double percentile(std::vector<double> samples, double p) {
    if (samples.empty()) {
        return 0;
    }
    std::sort(samples.begin(), samples.end());
    const double rank = p / 100.0 * static_cast<double>(samples.size());
    auto index = static_cast<std::size_t>(rank);
    if (static_cast<double>(index) < rank) {
        ++index; // the rank rounded up
    }
    return samples[std::max<std::size_t>(index, 1) - 1];
}

// Deadlines 1-200 ms after the start, in no order; every fifth shares the one before it, since
// equal deadlines take a path of their own (one wakeup hands over several timers).
std::vector<clock_type::duration> timer_offsets(std::size_t count) {
    std::vector<clock_type::duration> offsets(count);
    for (std::size_t i = 0; i < count; ++i) {
        // 7919 is prime to 199000: consecutive timers land far apart, covering the range.
        offsets[i] =
            i % 5 == 4 ? offsets[i - 1] : std::chrono::microseconds(1000 + (i * 7919U) % 199'000U);
    }
    return offsets;
}

mode_result run_timer_queue(std::size_t count) {
    mode_result r;
    r.name = "timer_queue";
    auto poller = nk::poller::open();
    if (!poller) {
        fail("poller open", poller.error());
    }
    nk::timer_queue timers;
    if (auto reserved = timers.reserve(count); !reserved) {
        fail("timer_queue reserve", reserved.error());
    }
    const auto offsets = timer_offsets(count);
    std::vector<clock_type::time_point> due(count);
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < count; ++i) {
        due[i] = start + offsets[i];
        if (auto scheduled = timers.schedule(nk::deadline(due[i]), i); !scheduled) {
            fail("timer_queue schedule", scheduled.error());
        }
    }
    std::array<nk::poller::event, 8> events{};
    std::size_t waits = 0;
    while (!timers.empty()) {
        const nk::deadline until = timers.next();
        auto ready = poller->wait(events, until);
        if (!ready) {
            fail("poller wait", ready.error());
        }
        const auto now = clock_type::now();
        ++waits;
        // expire filters on `now`, so it cannot hand over an early timer even if the wait ended
        // early: the wait itself is what has to be checked against its deadline.
        if (*ready == 0 && now < until.at()) {
            ++r.early_waits;
        }
        timers.expire(now, [&](std::uint64_t token) {
            r.lateness_us.push_back(micros(now - due[token]));
            if (now < due[token]) {
                ++r.early;
            }
        });
    }
    char note[160];
    std::snprintf(note, sizeof note,
                  "timer_queue: %zu waits for %zu timers, %zu ended before their deadline", waits,
                  count, r.early_waits);
    r.note = note;
    return r;
}

// A blocking call with a deadline that nothing will satisfy, `count` times with timeouts of
// 1-20 ms: each must end timed_out, and not before its deadline.
template <class Call>
mode_result run_blocking(const char* name, std::size_t count, Call&& call) {
    mode_result r;
    r.name = name;
    r.lateness_us.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        // Whole and fractional milliseconds alike, so that the rounding up to whole milliseconds
        // is exercised both where it adds nothing and where it adds almost a millisecond.
        const auto timeout = std::chrono::microseconds(1000 + (i * 7919U) % 19'000U);
        const auto until = nk::deadline::after(timeout);
        const nk::error e = call(until);
        const auto now = clock_type::now();
        if (e != std::errc::timed_out) {
            fail(name, e);
        }
        r.lateness_us.push_back(micros(now - until.at()));
        if (now < until.at()) {
            ++r.early;
        }
    }
    return r;
}

mode_result run_receive(std::size_t count) {
    auto sock = nk::udp::socket::open(nk::ip::v4);
    if (!sock) {
        fail("udp open", sock.error());
    }
    // Bound to an ephemeral loopback port nobody knows: no datagram can arrive and end a wait.
    if (auto bound = sock->bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)); !bound) {
        fail("udp bind", bound.error());
    }
    std::array<char, 64> buffer{};
    return run_blocking("receive", count, [&](nk::deadline until) -> nk::error {
        auto got = sock->receive(buffer, {}, until);
        if (got) {
            std::fprintf(stderr, "receive: a datagram arrived on a socket nobody sends to\n");
            std::exit(1);
        }
        return got.error();
    });
}

mode_result run_accept(std::size_t count) {
    auto acceptor = nk::tcp::acceptor::listen(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0));
    if (!acceptor) {
        fail("tcp listen", acceptor.error());
    }
    return run_blocking("accept", count, [&](nk::deadline until) -> nk::error {
        auto got = acceptor->accept(until);
        if (got) {
            std::fprintf(stderr, "accept: a connection arrived on a listener nobody knows\n");
            std::exit(1);
        }
        return got.error();
    });
}

std::string machine_line() {
    utsname u{};
    ::uname(&u);
    const std::string cpu = netkit_bench::cpu_model();
    // The timer slack lets the kernel fire a sleeper's timer up to this late to batch wakeups:
    // part of the lateness measured here is this, not netkit.
    const int slack_ns = ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    char line[512];
    std::snprintf(line, sizeof line, "%s, %u cores, %s %s %s, timer slack %d ns", cpu.c_str(),
                  std::thread::hardware_concurrency(), u.sysname, u.release, u.machine, slack_ns);
    return line;
}

struct summary {
    double p50, p99, max;
};

summary summarize(const mode_result& r) {
    return {percentile(r.lateness_us, 50), percentile(r.lateness_us, 99),
            r.lateness_us.empty() ? 0
                                  : *std::max_element(r.lateness_us.begin(), r.lateness_us.end())};
}

void print_table(const std::vector<mode_result>& results, const std::string& machine) {
    std::printf("machine: %s\n\n%-12s %9s %6s %10s %10s %10s\n", machine.c_str(), "mode",
                "expiries", "early", "p50 us", "p99 us", "max us");
    for (const auto& r : results) {
        const summary s = summarize(r);
        std::printf("%-12s %9zu %6zu %10.0f %10.0f %10.0f\n", r.name.c_str(), r.lateness_us.size(),
                    r.early, s.p50, s.p99, s.max);
    }
    std::printf("\n");
    for (const auto& r : results) {
        if (!r.note.empty()) {
            std::printf("%s\n", r.note.c_str());
        }
    }
}

void write_json(const std::vector<mode_result>& results, const std::string& machine,
                const char* path) {
    std::ofstream out(path);
    utsname u{};
    ::uname(&u);
    // The machine string comes from /proc/cpuinfo: quotes or backslashes in it would break the
    // JSON, so they are dropped rather than escaped.
    std::string clean;
    for (char c : machine) {
        if (c != '"' && c != '\\') {
            clean += c;
        }
    }
    out << "{\n  \"machine\": \"" << clean << "\",\n  \"kernel\": \"" << u.sysname << ' '
        << u.release << "\",\n  \"modes\": [\n";
    for (std::size_t k = 0; k < results.size(); ++k) {
        const auto& r = results[k];
        const summary s = summarize(r);
        char line[256];
        std::snprintf(line, sizeof line,
                      "    {\"mode\": \"%s\", \"expiries\": %zu, \"early\": %zu, "
                      "\"early_waits\": %zu, \"p50_us\": %.1f, \"p99_us\": %.1f, "
                      "\"max_us\": %.1f}%s\n",
                      r.name.c_str(), r.lateness_us.size(), r.early, r.early_waits, s.p50, s.p99,
                      s.max, k + 1 == results.size() ? "" : ",");
        out << line;
    }
    out << "  ]\n}\n";
    if (!out) {
        std::fprintf(stderr, "could not write %s\n", path);
        std::exit(1);
    }
}

bool parse_count(std::string_view text, std::size_t& count) {
    const char* end = text.data() + text.size();
    auto [at, ec] = std::from_chars(text.data(), end, count);
    return ec == std::errc() && at == end && count > 0;
}

} // namespace

int main(int argc, char** argv) {
    std::size_t expiries = 200;
    const char* json = nullptr;
    for (int a = 1; a < argc; ++a) {
        const std::string_view arg = argv[a];
        if (arg == "--expiries" && a + 1 < argc && parse_count(argv[a + 1], expiries)) {
            ++a;
        } else if (arg == "--json" && a + 1 < argc) {
            json = argv[++a];
        } else {
            std::fprintf(stderr, "usage: %s [--expiries N] [--json FILE]\n", argv[0]);
            return 2;
        }
    }
    const std::string machine = machine_line();
    std::vector<mode_result> results;
    results.push_back(run_timer_queue(expiries));
    results.push_back(run_receive(expiries));
    results.push_back(run_accept(expiries));
    print_table(results, machine);
    if (json != nullptr) {
        write_json(results, machine, json);
    }
    std::size_t early = 0;
    std::size_t early_waits = 0;
    for (const auto& r : results) {
        early += r.early;
        early_waits += r.early_waits;
    }
    if (early > 0 || early_waits > 0) {
        std::fprintf(stderr, "FAIL: %zu expiries and %zu waits ended before their deadline\n",
                     early, early_waits);
        return 1;
    }
    return 0;
}
