#ifndef NETKIT_BENCH_RAW_BASELINE_H
#define NETKIT_BENCH_RAW_BASELINE_H

#include <limits.h>
#include <stddef.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

long raw_send(int fd, const void* data, size_t size);
int raw_send_all(int fd, const void* data, size_t size);
long raw_sendmsg(int fd, const struct iovec* iov, size_t count);
int raw_sendmsg_all(int fd, const struct iovec* iov, size_t count);

#ifdef __cplusplus
}
#endif

#endif
