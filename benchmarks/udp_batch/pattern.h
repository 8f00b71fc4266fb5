/* The contents of the UDP batching benchmark's datagrams, for udp_batch_c.c and
 * udp_batch_netkit.cpp alike (it compiles as C11 and as C++20, without casts), so that both
 * programs spend the same on filling and checking and differ only in their socket calls.
 *
 * Datagram SEQ (0, 1, 2, ...) of SIZE >= 8 bytes holds SEQ in its first 8 bytes (host byte
 * order) and (SEQ * 31 + i) & 0xff at every byte i >= 8. Both functions work eight bytes at a
 * time: a word of eight consecutive pattern bytes, the next word adding 8 to each byte lane. */
#ifndef NETKIT_BENCHMARKS_UDP_BATCH_PATTERN_H
#define NETKIT_BENCHMARKS_UDP_BATCH_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "benchmarks/udp_batch/pattern.h assumes a little-endian machine"
#endif

/* Adds A and B byte by byte, each byte lane modulo 256 (no carry between lanes). */
static inline uint64_t udp_batch_lanes_add(uint64_t a, uint64_t b) {
    const uint64_t low7 = UINT64_C(0x7f7f7f7f7f7f7f7f);
    return ((a & low7) + (b & low7)) ^ ((a ^ b) & ~low7);
}

/* The pattern bytes OFFSET to OFFSET + 7 of datagram SEQ, in memory order. */
static inline uint64_t udp_batch_word(uint64_t seq, size_t offset) {
    const uint64_t first = (seq * 31u + offset) & 0xffu;
    return udp_batch_lanes_add(first * UINT64_C(0x0101010101010101), UINT64_C(0x0706050403020100));
}

/* Writes datagram SEQ, SIZE >= 8 bytes, at P. */
static inline void udp_batch_fill(unsigned char* p, size_t size, uint64_t seq) {
    const uint64_t step = UINT64_C(0x0808080808080808);
    uint64_t word = udp_batch_word(seq, sizeof seq);
    size_t i = sizeof seq;
    memcpy(p, &seq, sizeof seq);
    for (; i + sizeof word <= size; i += sizeof word) {
        memcpy(p + i, &word, sizeof word);
        word = udp_batch_lanes_add(word, step);
    }
    memcpy(p + i, &word, size - i);
}

/* 1 when the LENGTH bytes at P are a whole, intact datagram of SIZE >= 8 bytes, else 0. */
static inline int udp_batch_intact(const unsigned char* p, size_t length, size_t size) {
    const uint64_t step = UINT64_C(0x0808080808080808);
    uint64_t seq = 0, word = 0, got = 0, differ = 0;
    size_t i = sizeof seq;
    if (length != size || size < sizeof seq) {
        return 0;
    }
    memcpy(&seq, p, sizeof seq);
    word = udp_batch_word(seq, sizeof seq);
    for (; i + sizeof word <= size; i += sizeof word) {
        memcpy(&got, p + i, sizeof got);
        differ |= got ^ word;
        word = udp_batch_lanes_add(word, step);
    }
    if (i < size) {
        got = 0;
        memcpy(&got, p + i, size - i);
        differ |= (got ^ word) & ((UINT64_C(1) << (8 * (size - i))) - 1);
    }
    return differ == 0;
}

#endif
