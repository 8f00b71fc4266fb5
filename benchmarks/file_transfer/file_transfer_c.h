/* The hand-written C half of the file transfer benchmark: the same system calls a careful C
 * program makes to send a file, for netkit's calls to be measured against. */
#ifndef NETKIT_BENCH_FILE_TRANSFER_C_H
#define NETKIT_BENCH_FILE_TRANSFER_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Each sends `length` bytes of `file` from offset 0 on the stream socket `sock` and returns the
 * bytes sent, or -1 with errno set. */

/* pread(2) into `buffer`, then send(2) with MSG_NOSIGNAL until that chunk is gone. */
int64_t c_read_send(int sock, int file, uint64_t length, char* buffer, size_t buffer_size);
/* fstat(2) to check the range, SIGPIPE blocked in the thread (sendfile has no MSG_NOSIGNAL), then
 * sendfile(2) until done. */
int64_t c_sendfile(int sock, int file, uint64_t length);
/* The same checks, then splice(2) file -> pipe and pipe -> socket (SPLICE_F_MORE on all but the
 * last part) until done. */
int64_t c_splice(int sock, int file, uint64_t length, int pipe_read, int pipe_write,
                 size_t pipe_capacity);

#ifdef __cplusplus
}
#endif

#endif
