#pragma once

#include <cstddef>

#include <sys/socket.h>
#include <sys/types.h>

namespace netkit {

/// A process's pid, uid and gid, as the kernel reports them for a Unix-domain peer: one type for
/// both ways it does, SO_PEERCRED (`so::peer_credentials`: the peer at connect or socketpair
/// time) and SCM_CREDENTIALS control data (`cmsg::credentials` names this type: the sender of a
/// message; the receiver needs `so::pass_credentials`).
struct credentials {
    pid_t pid = 0; ///< the process id
    uid_t uid = 0; ///< the effective user id
    gid_t gid = 0; ///< the effective group id
    /// True if all three ids are equal.
    friend bool operator==(const credentials&, const credentials&) = default;

    /// The cmsg_level this payload travels at (SOL_SOCKET).
    static constexpr int level = SOL_SOCKET;
    /// The cmsg_type that identifies it (SCM_CREDENTIALS).
    static constexpr int type = SCM_CREDENTIALS;
    /// The room one such message takes in a control buffer (CMSG_SPACE of a struct ucred).
    static constexpr std::size_t space = CMSG_SPACE(sizeof(ucred));
    /// The kernel struct the payload bytes hold (struct ucred), for SO_PEERCRED too.
    using wire = ucred;
    /// The ids read from the kernel struct.
    static credentials from_wire(const ucred& c) noexcept { return {c.pid, c.uid, c.gid}; }
    /// The kernel struct to send these ids as.
    [[nodiscard]] ucred to_wire() const noexcept { return {pid, uid, gid}; }
};

} // namespace netkit
