// The test runner's main, shared by every test executable (compiled once, into netkit_test_main),
// and the descriptor-leak listener.
//
// The listener lists /proc/self/fd when a test case starts and again when it ends. A descriptor
// open at the end that was not open at the start (or whose number now names another file) is a
// leak: it is reported on stderr as
//     descriptor leak in test case '<name>': fd N -> <target>
// and one open at the start but gone at the end (a double close hits such a number) as
//     descriptor closed by test case '<name>' that it did not open: fd N -> <target>
// Either way the process exits non-zero after the run, so the ctest test of that case fails.
// A test case that keeps a descriptor on purpose (a process-wide cache, say) closes it before it
// ends, or is tagged [fd_leak_ok].

#if !defined(NETKIT_CATCH2_V3)
#error "NETKIT_CATCH2_V3 is not defined: link against the netkit_catch2 CMake target"
#endif

#if NETKIT_CATCH2_V3
#include <catch2/catch_session.hpp>
#include <catch2/catch_test_case_info.hpp>
#include <catch2/reporters/catch_reporter_event_listener.hpp>
#include <catch2/reporters/catch_reporter_registrars.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include <dirent.h>
#include <unistd.h>

namespace {

/// Set by the listener when any test case leaks; main() turns it into a failing exit status.
bool leak_seen = false;

/// Every open descriptor of this process and what it refers to, except the one that
/// opendir() uses to read /proc/self/fd itself.
std::map<int, std::string> open_descriptors() {
    std::map<int, std::string> result;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) {
        return result;
    }
    const int own = ::dirfd(dir);
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (name.empty() ||
            !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            continue; // "." and ".."
        }
        const int fd = std::atoi(name.c_str());
        if (fd == own) {
            continue;
        }
        std::array<char, 512> target{};
        const std::string link = "/proc/self/fd/" + name;
        const ssize_t n = ::readlink(link.c_str(), target.data(), target.size() - 1);
        result.emplace(fd, n > 0 ? std::string(target.data(), static_cast<std::size_t>(n))
                                 : std::string("?"));
    }
    ::closedir(dir);
    return result;
}

#if NETKIT_CATCH2_V3
using listener_base = Catch::EventListenerBase;
#else
using listener_base = Catch::TestEventListenerBase;
#endif

bool allows_leaks(const Catch::TestCaseInfo& info) {
    for (const auto& tag : info.tags) {
#if NETKIT_CATCH2_V3
        if (tag.original == Catch::StringRef("fd_leak_ok")) {
            return true;
        }
#else
        if (tag == "fd_leak_ok") {
            return true;
        }
#endif
    }
    return false;
}

class descriptor_leak_listener : public listener_base {
public:
    using listener_base::listener_base;

    void testCaseStarting(const Catch::TestCaseInfo& info) override {
        listener_base::testCaseStarting(info);
        name_ = info.name;
        checked_ = !allows_leaks(info);
        before_ = open_descriptors();
    }

    void testCaseEnded(const Catch::TestCaseStats& stats) override {
        if (checked_) {
            report_leaks();
        }
        listener_base::testCaseEnded(stats);
    }

private:
    void report_leaks() const {
        const auto after = open_descriptors();
        for (const auto& [fd, target] : after) {
            const auto was = before_.find(fd);
            if (was == before_.end() || was->second != target) {
                std::fprintf(stderr, "descriptor leak in test case '%s': fd %d -> %s\n",
                             name_.c_str(), fd, target.c_str());
                leak_seen = true;
            }
        }
        // The other direction: a descriptor the test case did not open is gone, which is what a
        // double close (closing a number that someone else owns by now) looks like.
        for (const auto& [fd, target] : before_) {
            if (after.find(fd) == after.end()) {
                std::fprintf(stderr,
                             "descriptor closed by test case '%s' that it did not open: fd %d -> "
                             "%s\n",
                             name_.c_str(), fd, target.c_str());
                leak_seen = true;
            }
        }
    }

    std::string name_;
    bool checked_ = true;
    std::map<int, std::string> before_;
};

} // namespace

CATCH_REGISTER_LISTENER(descriptor_leak_listener)

int main(int argc, char* argv[]) {
    // For --list-test-names-only, Catch2 v2 returns the number of tests, which
    // catch_discover_tests relies on: pass the session's status through unchanged.
    const int status = Catch::Session().run(argc, argv);
    if (leak_seen) {
        std::fprintf(stderr, "descriptor leak: failing the run (see above)\n");
        return status != 0 ? status : 3;
    }
    return status;
}
