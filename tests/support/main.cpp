// The test runner's main, shared by every test executable, and the descriptor-leak listener:
// a test case that ends with a descriptor open that was not open when it started fails the run.

#if NETKIT_CATCH2_MAJOR == 3
#include <catch2/catch_session.hpp>
#include <catch2/catch_test_case_info.hpp>
#include <catch2/reporters/catch_reporter_event_listener.hpp>
#include <catch2/reporters/catch_reporter_registrars.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include <array>
#include <cstdio>
#include <map>
#include <string>

#include <dirent.h>
#include <unistd.h>

namespace {

bool leak_seen = false;

std::map<int, std::string> open_descriptors() {
    std::map<int, std::string> result;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) {
        return result;
    }
    const int own = ::dirfd(dir);
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] == '.') {
            continue;
        }
        const int fd = std::stoi(entry->d_name);
        if (fd == own) {
            continue;
        }
        std::array<char, 512> target{};
        const std::string link = std::string("/proc/self/fd/") + entry->d_name;
        const ssize_t n = ::readlink(link.c_str(), target.data(), target.size() - 1);
        result.emplace(fd, n > 0 ? std::string(target.data(), static_cast<std::size_t>(n)) : "?");
    }
    ::closedir(dir);
    return result;
}

#if NETKIT_CATCH2_MAJOR == 3
using listener_base = Catch::EventListenerBase;
#else
using listener_base = Catch::TestEventListenerBase;
#endif

class descriptor_leak_listener : public listener_base {
public:
    using listener_base::listener_base;

    void testCaseStarting(const Catch::TestCaseInfo& info) override {
        listener_base::testCaseStarting(info);
        before_ = open_descriptors();
    }

    void testCaseEnded(const Catch::TestCaseStats& stats) override {
        const auto after = open_descriptors();
        for (const auto& [fd, target] : after) {
            if (before_.find(fd) == before_.end()) {
                std::fprintf(stderr, "descriptor leak in test case '%s': fd %d -> %s\n",
                             test_name(stats).c_str(), fd, target.c_str());
                leak_seen = true;
            }
        }
        listener_base::testCaseEnded(stats);
    }

private:
    static std::string test_name(const Catch::TestCaseStats& stats) {
#if NETKIT_CATCH2_MAJOR == 3
        return std::string(stats.testInfo->name);
#else
        return stats.testInfo.name;
#endif
    }

    std::map<int, std::string> before_;
};

} // namespace

CATCH_REGISTER_LISTENER(descriptor_leak_listener)

int main(int argc, char* argv[]) {
    const int failed = Catch::Session().run(argc, argv);
    if (leak_seen) {
        std::fprintf(stderr, "descriptor leak: failing the run\n");
        return failed != 0 ? failed : 3;
    }
    return failed;
}
