/* Compression codecs of Kafka record batches: lz4 frame, gzip, snappy (raw and xerial), zstd. */
#ifndef KW_PROTO_COMPRESS_H
#define KW_PROTO_COMPRESS_H

#include "wire.h"

/* The codec ids of RecordBatch attributes bits 0-2. */
enum kw_codec {
    KW_CODEC_NONE = 0,
    KW_CODEC_GZIP = 1,
    KW_CODEC_SNAPPY = 2,
    KW_CODEC_LZ4 = 3,
    KW_CODEC_ZSTD = 4,
};

/* "none", "gzip", "snappy", "lz4", "zstd", or "unknown". */
const char *kw__codec_name(int codec);

/*
 * The most bytes kw__compress can append for n input bytes; 0 for a codec
 * it does not write.
 */
size_t kw__compress_bound(int codec, size_t n);

/*
 * Appends the compressed form of in[0..n) to out, as Kafka's producers write it:
 *  - lz4: one LZ4 frame, independent 64 KiB blocks, no checksums (the batch CRC
 *    covers the bytes); a block that does not shrink is stored raw.
 *  - gzip: one gzip member at zlib's default level.
 *  - snappy: the xerial framing the Java client writes (32 KiB blocks).
 *  - zstd: one frame at level 3, Kafka's default.
 *  - none: a plain copy.
 * Returns 0, KW_EUNSUPPORTED for another codec, KW_ETOOBIG for input over
 * 4 GiB, KW_ENOMEM, or KW_ECOMPRESSION.  On failure out->len is unchanged.
 * `in` may point into out's own buffer only when out already has
 * kw__compress_bound(codec, n) bytes of spare capacity (nothing moves then).
 * zlib and zstd allocate their working state and free it before returning.
 */
int kw__compress(int codec, const uint8_t *in, size_t n, kw_wr *out);

/*
 * Appends the decompressed form of in[0..n) to out, writing at most `limit`
 * bytes; a growable out never gets capacity beyond its length at entry plus
 * `limit` (more than that only if it already had it).  Reads:
 *  - lz4: LZ4 frames (independent or linked blocks, with or without block and
 *    content checksums, content size, skippable frames); dictionary ids are not
 *    supported.
 *  - gzip: gzip (or zlib) members, several in a row as Java reads them.
 *  - snappy: the xerial framing (magic 0x82 "SNAPPY" 0, two int32 versions,
 *    then int32 length + raw block, repeated) or one raw snappy block.
 *  - zstd: any number of frames, window at most max(8 MiB, limit).
 *  - none: a plain copy.
 * Returns 0, KW_ETOOBIG when the output would pass `limit` (a "zip bomb"),
 * KW_ECOMPRESSION for input that is not a valid stream, KW_EUNSUPPORTED for
 * an unknown codec, KW_ENOMEM.  On failure out->len is back where it was.
 * out->err is never set by a failed decompression, so a scratch writer can be
 * reused.
 */
int kw__decompress(int codec, const uint8_t *in, size_t n, kw_wr *out, size_t limit);

#endif /* KW_PROTO_COMPRESS_H */
