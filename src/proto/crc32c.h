/* CRC-32C (Castagnoli), the checksum of Kafka record batches: SSE4.2 path and portable tables. */
#ifndef KW_PROTO_CRC32C_H
#define KW_PROTO_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * CRC-32C of n bytes, continuing from crc: start with 0 and feed the result of
 * one call into the next to checksum data that arrives in pieces
 * (kw__crc32c(kw__crc32c(0, a, na), b, nb) == kw__crc32c(0, ab, na + nb)).
 * Picks the fastest path the CPU has, checked at every call (a load and a
 * test), so nothing is cached in a global.
 */
uint32_t kw__crc32c(uint32_t crc, const void *p, size_t n);

/* The portable path: slice-by-8 tables.  Same results as kw__crc32c. */
uint32_t kw__crc32c_sw(uint32_t crc, const void *p, size_t n);

/*
 * The x86-64 paths, exposed so the tests and the bench can hold them against
 * the tables.  Call them only when the matching *_available() says yes.
 *  - kw__crc32c_hw: three interleaved crc32 streams combined with a
 *    carry-less multiply; needs SSE4.2 and PCLMULQDQ.
 *  - kw__crc32c_hw1: one 8-bytes-per-step stream; needs SSE4.2 only.
 */
bool kw__crc32c_hw_available(void);
bool kw__crc32c_hw1_available(void);
uint32_t kw__crc32c_hw(uint32_t crc, const void *p, size_t n);
uint32_t kw__crc32c_hw1(uint32_t crc, const void *p, size_t n);

#endif /* KW_PROTO_CRC32C_H */
