/* WAL record format: record keys (kwal binary, GreptimeDB JSON), entry splitting, per-entry
 * compression and reassembly; no I/O.  Each concern has its own file: record_key.c, record_json.c,
 * record_split.c, record_compress.c, record_asm.c. */
#ifndef KW_WAL_RECORD_H
#define KW_WAL_RECORD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/wal.h"
#include "proto/wire.h"

/*
 * One WAL entry is one Kafka record (FULL) or, when it is larger than a batch
 * allows, several records in a row (FIRST, MIDDLE 1..n-2, LAST).  The key says
 * which region the record belongs to and which part it is; the value is the
 * part's bytes, raw.  A record with a null value is a "noop" (GreptimeDB
 * writes one into every new topic so offset 0 is never an entry) and is
 * skipped.  The id of an entry is the Kafka offset of its FULL or LAST record.
 */

/* Part kinds.  Zero is not a kind, so a zeroed key never decodes. */
enum kw_wal_part_kind {
    KW_WAL_PART_FULL = 1,
    KW_WAL_PART_FIRST = 2,
    KW_WAL_PART_MIDDLE = 3,
    KW_WAL_PART_LAST = 4,
};

/* The index of a GreptimeDB "Last" part: its key does not say. */
#define KW_WAL_PART_INDEX_NONE UINT32_MAX

/*
 * kwal's binary key, all integers big-endian:
 *
 *   off  size
 *    0    1   version = 1 (a new layout gets a new version; readers refuse unknown ones;
 *               never 9, 10, 13, 32 or '{', which start GreptimeDB's JSON keys)
 *    1    8   region id
 *    9    1   part kind (1 FULL, 2 FIRST, 3 MIDDLE, 4 LAST)
 *   10    4   part index: 0 for FULL and FIRST, i for the i-th MIDDLE, n-1 for the LAST of n
 *   14    8   entry tag: the writer's id of the entry, the same in all its parts (0 = none)
 *   -- FIRST only --
 *   22    4   the entry's number of parts (>= 2)
 *   26    8   the entry's length in bytes (as stored: compressed when compressed)
 *
 * Version 2 is the same key for an entry whose bytes are compressed on their
 * own (the FULL or FIRST record of it; MIDDLE and LAST keys stay version 1),
 * with two fields after the version 1 layout (at 22 for FULL, 34 for FIRST):
 *   +0    1   codec: 1 = one LZ4 block (liblz4's block format, no frame)
 *   +1    8   the entry's length once decompressed (>= 1)
 * A writer uses version 1 for an entry it stores as is, so readers of
 * version 1 keys still read every uncompressed entry.  Compressing each entry
 * rather than the batch lets the broker store batches without decompressing
 * them and lets a replay skip other regions' entries without decompressing
 * anything: only its own region's entries are decompressed.
 *
 * Why more than GreptimeDB's key has:
 * - the LAST carries its index, so a MIDDLE lost just before it is seen
 *   (GreptimeDB's "Last" has none and would hand out an entry with a hole);
 * - FIRST carries the part count and the byte length, so the reader refuses an
 *   over-large entry before buffering any of it, reserves the buffer once, and
 *   checks at the LAST that exactly the declared bytes arrived;
 * - the tag tells a retransmitted part or entry (a produce retried without the
 *   idempotent producer) from a new entry with the same bytes, so duplicates are
 *   dropped exactly, even whole entries and even when retries reorder requests.
 *   The writer picks tags unique per region (a random 64-bit base plus a counter).
 */
#define KW_WAL_RECORD_KWAL_VERSION 1
#define KW_WAL_RECORD_KWAL_VERSION_CODEC 2
#define KW_WAL_RECORD_KWAL_KEY_LEN 22
#define KW_WAL_RECORD_KWAL_FIRST_KEY_LEN 34
#define KW_WAL_RECORD_KWAL_CODEC_LEN 9 /* what version 2 adds */

/* How an entry's bytes are stored (kwal keys only). */
enum kw_wal_entry_codec {
    KW_WAL_CODEC_RAW = 0, /* as appended */
    KW_WAL_CODEC_LZ4 = 1, /* one LZ4 block of the appended bytes */
};

/* GreptimeDB refuses to write a JSON key of this many bytes or more (its ESTIMATED_META_SIZE). */
#define KW_WAL_RECORD_GREPTIMEDB_KEY_LIMIT 256
/* Room for any key kwal writes, in either format. */
#define KW_WAL_RECORD_KEY_MAX 256

/* A record key, decoded or to be encoded. */
typedef struct kw_wal_record_key {
    int format; /* enum kw_wal_record_format; set by decode, chosen by the caller of encode */
    int kind;   /* enum kw_wal_part_kind */
    uint64_t region_id;
    uint32_t index;       /* see the layout above; GreptimeDB's Last: KW_WAL_PART_INDEX_NONE */
    uint64_t tag;         /* kwal: the entry tag; GreptimeDB keys have none (0) */
    uint32_t total_parts; /* kwal FIRST only, else 0 */
    uint64_t entry_len;   /* kwal FIRST only, else 0 */
    int codec;            /* kwal FULL and FIRST: enum kw_wal_entry_codec, else RAW */
    uint64_t raw_len;     /* codec != RAW: the entry's length decompressed */
    uint64_t entry_id;    /* GreptimeDB's entry_id field (it always writes 0; readers ignore it) */
    /*
     * GreptimeDB's ns.topic (it always writes "").  Encode: the plain text to
     * write (must be UTF-8).  Decode: the text as it sits between the quotes of
     * the key, still escaped when topic_escaped (see kw__wal_record_topic_unescape).
     */
    kw_str topic;
    bool topic_escaped;
} kw_wal_record_key;

/* ---------------------------------------------------------------- keys */

/*
 * Encodes k in k->format into out (cap bytes; KW_WAL_RECORD_KEY_MAX is always
 * enough).  Returns the key's length, or KW_EINVAL (a kind/index/count that
 * does not make a valid part, a topic that is not UTF-8) or KW_ETOOBIG (a
 * GreptimeDB key of 256 bytes or more, which GreptimeDB itself refuses, or
 * more than cap).
 *
 * GreptimeDB's key is written byte for byte as its serde_json does:
 *   {"version":0,"tp":"Full","entry_id":0,"ns":{"region_id":N,"topic":""}}
 * with tp "Full", "First", {"Middle":i} or "Last", no spaces, and the topic
 * escaped as serde_json escapes (\" \\ \b \t \n \f \r, other control bytes as
 * \u00xx in lower-case hex, everything else as is).  Its tag, total_parts and
 * entry_len are not written (the format has no place for them).
 */
int kw__wal_record_key_encode(const kw_wal_record_key *k, uint8_t *out, size_t cap);

/*
 * Decodes a key of either format: a first byte of 1 is kwal's, '{' or JSON
 * white space is GreptimeDB's (the two never overlap, so a topic written by
 * GreptimeDB and then by kwal reads as one log).  Returns 0, or with *why set
 * to a static text: KW_ETRUNCATED (kwal key cut short), KW_EUNSUPPORTED
 * (unknown kwal version, GreptimeDB version other than 0), KW_EMALFORMED.
 */
int kw__wal_record_key_decode(const uint8_t *key, size_t len, kw_wal_record_key *out,
                              const char **why);

/* Whether kind is a part kind and index fits it (GreptimeDB's LAST may have
 * KW_WAL_PART_INDEX_NONE). */
bool kw__wal_record_part_valid(int kind, uint32_t index);

/* The encoder for one format (record_json.c); kw__wal_record_key_encode picks by k->format. */
int kw__wal_record_key_encode_greptimedb(const kw_wal_record_key *k, uint8_t *out, size_t cap);

/* The decoders for one format. */
int kw__wal_record_key_decode_kwal(const uint8_t *key, size_t len, kw_wal_record_key *out,
                                   const char **why);
/*
 * GreptimeDB's JSON key, read the way serde_json reads it where JSON allows:
 * white space anywhere between tokens, fields in any order, string escapes
 * (also in field names), a unit variant written {"Full":null}.  Types and
 * values are checked strictly: version must be 0; region_id and entry_id
 * unsigned 64-bit integers (no sign, fraction, exponent or overflow); a Middle
 * index from 1 to 2^32-2 (GreptimeDB numbers middles from 1); a missing or
 * repeated field is an error, as are trailing bytes, bad escapes, lone
 * surrogates, raw control characters and invalid UTF-8 in strings.  Unknown
 * fields are skipped (after checking they are well-formed JSON, nested at most
 * 128 deep), as serde does by default: a newer GreptimeDB that adds a field
 * stays readable.
 */
int kw__wal_record_key_decode_greptimedb(const uint8_t *key, size_t len, kw_wal_record_key *out,
                                         const char **why);

/*
 * Writes the decoded topic of k, unescaped and NUL-terminated, into buf.
 * Returns its length, or KW_ETOOBIG when cap is too small.
 */
int kw__wal_record_topic_unescape(const kw_wal_record_key *k, char *buf, size_t cap);

/* ---------------------------------------------------------------- splitting */

/*
 * Bytes a batch needs besides the parts' payloads, as GreptimeDB reserves
 * them (its ESTIMATED_META_SIZE): the batch header (61), a record's framing
 * (under 32) and its key (34 for kwal; GreptimeDB refuses keys >= 256).
 */
#define KW_WAL_RECORD_OVERHEAD 256
/* The largest entry the kafka provider takes: replay reassembles entries up to this (its
 * max_entry_bytes default), so append refuses what replay could not give back. */
#define KW_WAL_MAX_ENTRY_BYTES ((size_t)64 << 20)

/* The largest part payload for a batch limit: max_batch_bytes - 256, or 0 when it is not above 256.
 */
size_t kw__wal_split_max_payload(size_t max_batch_bytes);

/* One part of a split entry: bytes [off, off + len) of the entry. */
typedef struct kw_wal_part {
    int kind; /* enum kw_wal_part_kind */
    uint32_t index;
    size_t off;
    size_t len;
} kw_wal_part;

/*
 * How GreptimeDB splits, which kwal follows for both formats: an entry of at
 * most max_part bytes (an empty one too) is one FULL part; a longer one is cut
 * into max_part-sized chunks, the last one shorter when the length is not a
 * multiple: FIRST, MIDDLE 1 .. n-2, LAST.  Sets *nparts; returns 0, or
 * KW_EINVAL for max_part 0 and KW_ETOOBIG for more than 2^32-2 parts.
 */
int kw__wal_split(size_t entry_len, size_t max_part, uint32_t *nparts);

/* Part i (< the count kw__wal_split gave) of an entry split that way. */
kw_wal_part kw__wal_split_part(size_t entry_len, size_t max_part, uint32_t nparts, uint32_t i);

/*
 * Fills the key for part p of an entry of nparts parts and entry_len bytes
 * (format, region and tag given; topic empty and entry_id 0 as GreptimeDB
 * writes them).  GreptimeDB's Last gets KW_WAL_PART_INDEX_NONE.
 */
void kw__wal_record_key_for_part(kw_wal_record_key *k, int format, uint64_t region_id, uint64_t tag,
                                 const kw_wal_part *p, uint32_t nparts, size_t entry_len);

/*
 * The LZ4 states kw__wal_compress works in, owned by whoever compresses (a
 * WAL handle, a test): no state is shared between owners, so two handles or
 * two copies of kwal in one process never meet.  Any number of threads may
 * compress with one compressor at once; up to KW_WAL_COMPRESSOR_IDLE states
 * (16 KiB each) are kept between calls, each in a slot of its own cache line
 * so that threads on different CPUs, which look at different slots first,
 * do not pass one line back and forth.
 */
#define KW_WAL_COMPRESSOR_IDLE 8
typedef struct kw__wal_compressor {
    struct {
        void *_Atomic state; /* an LZ4_stream_t, or NULL when taken or none made */
        char pad[64 - sizeof(void *)];
    } idle[KW_WAL_COMPRESSOR_IDLE];
} kw__wal_compressor;

void kw__wal_compressor_init(kw__wal_compressor *c);
/* Frees the kept states; no kw__wal_compress with c may be running.  c can be used again. */
void kw__wal_compressor_free(kw__wal_compressor *c);

/*
 * Compresses an entry of len bytes for kwal's format: into out (cap at least
 * kw__wal_compress_bound(len)) as one LZ4 block, in a state of c.  Returns
 * the compressed length, or 0 when compressing does not save at least 1/16 of
 * the bytes (or the entry is under 64 bytes, or no memory for a state): the
 * caller then stores it raw.  Thread-safe; the block depends only on the
 * bytes, never on which state or thread made it.
 */
size_t kw__wal_compress(kw__wal_compressor *c, const uint8_t *data, size_t len, uint8_t *out,
                        size_t cap);
size_t kw__wal_compress_bound(size_t len);

/* The largest entry one LZ4 block holds, either way (LZ4_MAX_INPUT_SIZE). */
#define KW_WAL_COMPRESS_MAX_INPUT 0x7E000000u

/*
 * Undoes kw__wal_compress: src (len bytes, one LZ4 block) into dst, which has
 * room for raw_len bytes.  Returns 0 when it decompresses to exactly raw_len
 * bytes, else KW_EMALFORMED (a bad block, another length, or lengths past
 * what LZ4 takes).
 */
int kw__wal_decompress(const uint8_t *src, size_t len, uint8_t *dst, size_t raw_len);

/* ---------------------------------------------------------------- reassembly */

/*
 * The reassembler: fed the records of one topic in offset order, it hands out
 * complete entries and notes about everything it dropped.  It keeps one open
 * entry per region (a small hash map), so one pass over a topic can serve all
 * its regions, or only some (only_region).  Rules, per region:
 *
 * - FULL: an entry (its bytes are the record's value, not copied, unless the
 *   key says they are compressed: then they are decompressed into a buffer of
 *   the reassembler's; an entry that does not decompress to its declared
 *   length, or would be past max_entry_bytes, is a bad record).
 * - FIRST opens an entry; MIDDLE i appends when i parts are buffered; LAST
 *   appends and completes it.  Entry id = the LAST's offset.
 * - Duplicates (a retried produce writes records again) are dropped and noted:
 *   a part of the open entry already buffered (kwal: the same tag; GreptimeDB:
 *   the same index and the same bytes), and with kwal keys any record of one of
 *   the region's last 8 completed entries (by tag).  GreptimeDB's own reader
 *   fails the whole replay on some of these; kwal never does.  What GreptimeDB
 *   keys cannot tell apart: a FULL record (or a whole split entry) landing
 *   twice reads as two entries, as in GreptimeDB; a Last landing again after
 *   its entry completed is reported as an orphan.
 * - A GreptimeDB FIRST equal to the open entry's first part is a retransmission;
 *   when a later part then differs from the buffered one, the writer had begun
 *   a new entry with the same first bytes: the old one is abandoned and the new
 *   one keeps the common parts.
 * - A gap (MIDDLE i+2 after i; a kwal LAST whose index or total length does not
 *   match FIRST), a FIRST or FULL of another entry while one is open, or an
 *   entry past max_entry_bytes: the open entry is abandoned and noted once; the
 *   rest of its parts are then dropped quietly (counted in dropped_parts).
 * - A MIDDLE or LAST with no entry open (and not a known duplicate) is an orphan.
 * - A record with no key, or a key that does not decode, is a bad record.
 * - At the end of the log, kw__wal_record_asm_finish reports each entry still
 *   open as incomplete: the writer died between its parts, or the log ends in
 *   the middle of a produce; not an error.
 *
 * Memory: an open entry holds at most max_entry_bytes (counting 8 bytes of
 * bookkeeping per part), all open entries at most max_buffered_bytes, and at
 * most max_regions regions are tracked at once (regions with nothing open are
 * forgotten first; that only forgets their recent tags).
 */
typedef struct kw_wal_record_asm_options {
    size_t max_entry_bytes;    /* 0 = 64 MiB */
    size_t max_buffered_bytes; /* 0 = 256 MiB */
    uint32_t max_regions;      /* 0 = 65536 */
    bool only_region;          /* skip other regions' records (their values are never copied) */
    uint64_t region_id;        /* the region when only_region (and regions is NULL) */
    const uint64_t *regions;   /* only_region: these regions, sorted ascending (caller's memory) */
    size_t nregions;
    /*
     * Stop at a malformed record: feed returns KW_EMALFORMED after a BAD,
     * ORPHAN or ABANDONED note (the note is still queued, to say why).
     * Duplicates and incomplete tails are never errors.
     */
    bool strict;
} kw_wal_record_asm_options;

enum kw_wal_record_event_kind {
    KW_WAL_REC_ENTRY = 1,      /* a complete entry */
    KW_WAL_REC_BAD = 2,        /* a record with no key or a bad key, dropped */
    KW_WAL_REC_DUPLICATE = 3,  /* a retransmitted part or entry, dropped */
    KW_WAL_REC_ORPHAN = 4,     /* a MIDDLE/LAST with no entry open, dropped */
    KW_WAL_REC_ABANDONED = 5,  /* an open entry given up (why says why) */
    KW_WAL_REC_INCOMPLETE = 6, /* at finish: an entry whose LAST never came */
};

typedef struct kw_wal_record_event {
    int kind;             /* enum kw_wal_record_event_kind */
    uint64_t region_id;   /* 0 for BAD (the key did not say) */
    uint64_t entry_id;    /* ENTRY: the offset of its FULL/LAST record */
    int64_t offset;       /* the record this is about (ENTRY: = entry_id) */
    int64_t first_offset; /* ENTRY, ABANDONED, INCOMPLETE: the entry's FIRST (or FULL) record */
    uint32_t parts;       /* ENTRY, ABANDONED, INCOMPLETE: parts it had */
    const uint8_t *data;  /* ENTRY: valid until the next feed, finish or free */
    size_t len;
    const char *why; /* static text, for all but ENTRY */
} kw_wal_record_event;

/* Counters since init. */
typedef struct kw_wal_record_asm_stats {
    uint64_t records;       /* records fed */
    uint64_t noop;          /* null-value records skipped */
    uint64_t other_region;  /* records of regions not asked for */
    uint64_t entries;       /* complete entries handed out */
    uint64_t bad;           /* BAD notes */
    uint64_t duplicates;    /* DUPLICATE notes */
    uint64_t orphans;       /* ORPHAN notes */
    uint64_t abandoned;     /* ABANDONED notes */
    uint64_t incomplete;    /* INCOMPLETE notes */
    uint64_t dropped_parts; /* parts of abandoned entries dropped without a note */
    size_t buffered_bytes;  /* held by open entries now */
} kw_wal_record_asm_stats;

#define KW_WAL_RECORD_RECENT_TAGS 8
#define KW_WAL_RECORD_MAX_EVENTS 4

typedef struct kw_wal_record_region kw_wal_record_region;

typedef struct kw_wal_record_asm {
    kw_wal_record_asm_options opts;
    kw_wal_record_region **slots; /* open addressing by region id; NULL = empty */
    size_t nslots;                /* a power of two, or 0 */
    size_t nregions;
    uint8_t *done; /* the last completed multi-part entry, handed out in an ENTRY event */
    size_t done_cap;
    uint8_t *plain; /* the last decompressed entry, handed out in an ENTRY event */
    size_t plain_cap;
    kw_wal_record_event events[KW_WAL_RECORD_MAX_EVENTS];
    unsigned nevents, next_event;
    bool finishing;
    size_t finish_slot; /* where finish's walk over the regions is */
    kw_wal_record_asm_stats stats;
} kw_wal_record_asm;

/* Sets up a reassembler (opts may be NULL).  Allocates nothing until fed. */
void kw__wal_record_asm_init(kw_wal_record_asm *a, const kw_wal_record_asm_options *opts);

/* Frees everything; the reassembler can be initialized again. */
void kw__wal_record_asm_free(kw_wal_record_asm *a);

/*
 * Feeds one record in offset order; key and value are the record's (NULL =
 * null).  Then call kw__wal_record_asm_next until it returns false: one feed
 * makes at most two events (an ABANDONED before an ENTRY or a new entry).
 * Returns 0, KW_ENOMEM (the record is dropped and the region's open entry
 * abandoned, with a note), or KW_EMALFORMED in strict mode.
 */
int kw__wal_record_asm_feed(kw_wal_record_asm *a, int64_t offset, const uint8_t *key,
                            size_t key_len, const uint8_t *value, size_t value_len);

/* Pops the next event into *ev: true, or false when there is none. */
bool kw__wal_record_asm_next(kw_wal_record_asm *a, kw_wal_record_event *ev);

/*
 * The log ends: kw__wal_record_asm_next then yields the events still queued
 * and an INCOMPLETE for every open entry, and the reassembler is empty again
 * (recent tags forgotten) and can be fed from scratch.
 */
void kw__wal_record_asm_finish(kw_wal_record_asm *a);

#endif /* KW_WAL_RECORD_H */
