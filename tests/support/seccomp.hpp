#pragma once

// Forbidding one system call, as a container's seccomp profile does (Docker's default profile
// refuses io_uring_setup with EPERM): a filter that makes system call `number` fail with `error`
// and lets every other one run. Irreversible for the process that installs it, so it is made
// for a forked child: `refuse_system_call` there, then `run_in_child` reports what it saw.
//
//     const int status = netkit::test::run_in_child([] {
//         if (!netkit::test::refuse_system_call(__NR_io_uring_setup, EPERM)) {
//             return netkit::test::child_cannot_filter;
//         }
//         return netkit::detail::uring::ring::create() ? 1 : 0;
//     });

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <exception>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace netkit::test {

#if defined(__x86_64__)
inline constexpr std::uint32_t seccomp_architecture = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
inline constexpr std::uint32_t seccomp_architecture = AUDIT_ARCH_AARCH64;
#endif

/// From here on, this process's (and its children's) system call `number` fails with `error`;
/// every other call runs. A call made for another architecture's ABI is let through untouched.
/// Returns false if the process may not install a filter. Irreversible: only for a forked child.
inline bool refuse_system_call(long number, int error) noexcept {
#if defined(__x86_64__) || defined(__aarch64__)
    sock_filter filter[] = {
        sock_filter BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        sock_filter BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, seccomp_architecture, 1, 0),
        sock_filter BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        sock_filter BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        sock_filter BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(number), 0, 1),
        sock_filter BPF_STMT(BPF_RET | BPF_K,
                             SECCOMP_RET_ERRNO |
                                 (static_cast<std::uint32_t>(error) & SECCOMP_RET_DATA)),
        sock_filter BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    const sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
           ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
#else
    (void)number;
    (void)error;
    return false;
#endif
}

/// The exit status a child uses to say that it could not install its filter (the test then
/// skips rather than fails).
inline constexpr int child_cannot_filter = 125;

/// Runs `body` in a forked child that leaves with `_exit(body())` (never through the parent's
/// atexit handlers, stream buffers or test runner); an exception leaves with 126. Returns the
/// child's exit status, or -1 if it did not exit normally (a signal).
template <class Body>
int run_in_child(Body body) {
    const pid_t child = ::fork();
    if (child < 0) {
        return -1;
    }
    if (child == 0) {
        int status = 126;
        try {
            status = body();
        } catch (...) {
        }
        ::_exit(status);
    }
    int status = 0;
    pid_t waited = 0;
    do {
        waited = ::waitpid(child, &status, 0);
    } while (waited < 0 && errno == EINTR);
    if (waited != child || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status);
}

} // namespace netkit::test
