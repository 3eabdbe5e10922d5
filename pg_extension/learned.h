/*
 * learned.h: the `learned` index access method: page layout, shared state and the functions the AM files
 * share. All model, search and training work happens in the LearnedIndex Swift library behind
 * omendb_learned.h; this shim owns buffers, locks, WAL, memory and errors.
 */
#ifndef LEARNED_H
#define LEARNED_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/htup_details.h"
#include "access/itup.h"
#include "access/relscan.h"
#include "access/transam.h"
#include "nodes/execnodes.h"
#include "nodes/pathnodes.h"
#include "storage/bufmgr.h"
#include "storage/lockdefs.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

#include "omendb_learned.h"

#define LEARNED_VERSION_STRING "0.5.0"

/* Block 0 is the metapage. */
#define LEARNED_METAPAGE_BLKNO	0
#define LEARNED_MAGIC			0x4C524E44	/* "LRND" */
#define LEARNED_LAYOUT_VERSION	11
/* Version 10 differs only in its heap model (layout = 'heap'): always one run, where version 11 stores a
 * sequence of runs (one run is stored alike, so a merge that adds a run makes a version 10 index 11). */
#define LEARNED_LAYOUT_ONE_RUN	10
/* Version 9 differs only in the metapage's end: no heap_last_key, so its heap models are not extended by
 * the rows appended since the build. Version 8 has no heap model fields at all (layout = 'heap'). */
#define LEARNED_LAYOUT_NO_LAST_KEY	9
#define LEARNED_LAYOUT_NO_HEAP	8
/* Version 7 differs only in PGM models (16-byte segment lines, which the library no longer reads): its
 * RMI and linear indexes read on. Version 6 also folded -0.0 and NaN payloads of float keys. */
#define LEARNED_LAYOUT_WIDE_LINES	7
#define LEARNED_LAYOUT_NO_EXACT_FLOATS	6

/* Page kinds, in the special space of every page. */
#define LEARNED_PAGE_META		(1 << 0)
#define LEARNED_PAGE_COLD		(1 << 1)
#define LEARNED_PAGE_MODEL		(1 << 2)
#define LEARNED_PAGE_HOT		(1 << 3)
#define LEARNED_PAGE_DELETED	(1 << 4)	/* freed by a merge; reusable once no scan can read it */
#define LEARNED_PAGE_PACKED		(1 << 5)	/* with LEARNED_PAGE_COLD: a whole group in the packed layout */
#define LEARNED_PAGE_SEALED		(1 << 6)	/* with LEARNED_PAGE_HOT: takes no more entries */
#define LEARNED_PAGE_SORTED		(1 << 7)	/* with LEARNED_PAGE_SEALED: values ascending, then NULLs */

#define LEARNED_PAGE_ID			0xFF85		/* identifies learned pages to pg_filedump */

typedef struct LearnedPageOpaqueData
{
	uint16		flags;
	uint16		count;			/* entries (cold, hot) or payload bytes (model) */
	BlockNumber next;			/* next page of the hot or model chain */
	uint64		min_key;		/* sealed hot page: smallest non-null key on the page */
	uint64		max_key;		/* sealed hot page: largest non-null key on the page */
	FullTransactionId deleted_xid;	/* deleted: the next xid when the page was freed */
	uint32		generation;		/* low 32 bits of the run generation the page was written for */
	uint32		checksum;		/* CRC-32C of the fields above and the page's contents (see below) */
	uint16		unused;
	uint16		page_id;
} LearnedPageOpaqueData;

typedef LearnedPageOpaqueData *LearnedPageOpaque;

#define LearnedPageGetOpaque(page) ((LearnedPageOpaque) PageGetSpecialPointer(page))

/*
 * Every page carries a CRC-32C of its special-space fields before `checksum` followed by its contents up
 * to pd_lower: everything WAL carries, so that a damaged page is refused before use, as PostgreSQL's data
 * checksums would (which most clusters run without). The hole beyond pd_lower (hint bits) is not covered.
 * The stored value is the CRC before its final inversion, so an insert extends it by the entry it
 * appends. Every change to a page sets it again (learned_set_checksum) before it is logged.
 */

/*
 * Cold entries come in groups of LEARNED_COLD_PER_PAGE, so run position p is slot p % K of group p / K:
 * the model's positions reach their page by arithmetic and the group directory. A group whose keys span
 * less than 2^32 and whose heap TIDs span fewer than 256 blocks (a table loaded in key order, a time
 * series) lives on one packed page at 7 bytes an entry: a base key and block, then 32-bit key offsets,
 * line pointers and 8-bit block offsets. Any other group lives on a plain page (keys and TIDs in full)
 * and its plain overflow page, named by the plain page's `next`.
 *
 * Every entry has a dead bit and a hint bit on the page that holds it. A dead bit is set by VACUUM and
 * WAL-logged: the heap TID is gone or about to be reused. A hint bit is set by a scan that found the heap
 * tuple dead to everyone (kill_prior_tuple): not logged, and ignored by scans on a standby, whose
 * snapshots may be older than the primary's horizon. Hint bitmaps live in the page's hole (between
 * pd_lower and pd_upper), which WAL never carries and consistency checks mask: a logged change to the
 * page clears them, as losing a hint is harmless.
 */
#define LEARNED_PAGE_DATA_SIZE \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(LearnedPageOpaqueData)))
#define LEARNED_PACKED_HEADER	16
#define LEARNED_COLD_PER_PAGE \
	((int) (((LEARNED_PAGE_DATA_SIZE - LEARNED_PACKED_HEADER) * 8) / (8 * (sizeof(uint32) + sizeof(OffsetNumber) + 1) + 2)))
#define LEARNED_COLD_BITMAP_BYTES ((LEARNED_COLD_PER_PAGE + 7) / 8)

typedef struct LearnedPackedHeader
{
	uint64		base_key;
	BlockNumber base_block;
	uint32		reserved;
} LearnedPackedHeader;

#define LearnedPackedHead(page) ((LearnedPackedHeader *) PageGetContents(page))
#define LearnedPackedKeys(page) ((uint32 *) (PageGetContents(page) + LEARNED_PACKED_HEADER))
#define LearnedPackedOffsets(page) \
	((OffsetNumber *) (PageGetContents(page) + LEARNED_PACKED_HEADER + LEARNED_COLD_PER_PAGE * sizeof(uint32)))
#define LearnedPackedBlocks(page) \
	((uint8 *) (PageGetContents(page) + LEARNED_PACKED_HEADER + \
				LEARNED_COLD_PER_PAGE * (sizeof(uint32) + sizeof(OffsetNumber))))
#define LearnedPackedDead(page) \
	((uint8 *) (PageGetContents(page) + LEARNED_PACKED_HEADER + \
				LEARNED_COLD_PER_PAGE * (sizeof(uint32) + sizeof(OffsetNumber) + 1)))
#define LearnedPackedHints(page) \
	((uint8 *) (PageGetContents(page) + LEARNED_PAGE_DATA_SIZE - LEARNED_COLD_BITMAP_BYTES))
/* pd_lower of a packed page: the end of the dead bitmap; the hints lie beyond, in the hole. */
#define LEARNED_PACKED_LOWER \
	(MAXALIGN(SizeOfPageHeaderData) + LEARNED_PACKED_HEADER + \
	 LEARNED_COLD_PER_PAGE * (sizeof(uint32) + sizeof(OffsetNumber) + 1) + LEARNED_COLD_BITMAP_BYTES)

/*
 * A plain page holds shape->plain_per_page entries: first keys, then the keys' tail words (indexes on
 * several columns, see LearnedKeyShape), then TIDs and the dead bitmap; the hints lie in the hole.
 */
#define LearnedPlainKeys(page) ((uint64 *) PageGetContents(page))
#define LearnedPlainTails(page, shape) \
	((uint64 *) (PageGetContents(page) + (shape)->plain_per_page * sizeof(uint64)))
#define LearnedPlainTids(page, shape) \
	((ItemPointerData *) (PageGetContents(page) + (shape)->plain_per_page * (1 + (shape)->tail) * sizeof(uint64)))
#define LearnedPlainDead(page, shape) \
	((uint8 *) (PageGetContents(page) + (shape)->plain_per_page * ((1 + (shape)->tail) * sizeof(uint64) + sizeof(ItemPointerData))))
#define LearnedPlainBitmapBytes(shape) (((shape)->plain_per_page + 7) / 8)
#define LearnedPlainHints(page, shape) \
	((uint8 *) (PageGetContents(page) + LEARNED_PAGE_DATA_SIZE - LearnedPlainBitmapBytes(shape)))
#define LearnedPlainLower(shape) \
	(MAXALIGN(SizeOfPageHeaderData) + \
	 (shape)->plain_per_page * ((1 + (shape)->tail) * sizeof(uint64) + sizeof(ItemPointerData)) + \
	 LearnedPlainBitmapBytes(shape))
/*
 * Keys with tails pack too, when a group's keys span less than 2^32 (one device's readings): the first key
 * in full, then each entry's 32-bit offset from it and its whole TID (those readings lie in heap blocks
 * far apart), then the dead bitmap; the hints lie in the hole.
 */
#define LearnedWideBase(page) ((uint64 *) PageGetContents(page))
#define LearnedWideKeys(page, shape) ((uint32 *) (PageGetContents(page) + (shape)->words * sizeof(uint64)))
#define LearnedWideTids(page, shape) \
	((ItemPointerData *) ((char *) LearnedWideKeys(page, shape) + (shape)->group_size * sizeof(uint32)))
#define LearnedWideDead(page, shape) \
	((uint8 *) ((char *) LearnedWideTids(page, shape) + (shape)->group_size * sizeof(ItemPointerData)))
#define LearnedWideBitmapBytes(shape) (((shape)->group_size + 7) / 8)
#define LearnedWideHints(page, shape) \
	((uint8 *) (PageGetContents(page) + LEARNED_PAGE_DATA_SIZE - LearnedWideBitmapBytes(shape)))
#define LearnedWideLower(shape) \
	(MAXALIGN(SizeOfPageHeaderData) + (shape)->words * sizeof(uint64) + \
	 (shape)->group_size * (sizeof(uint32) + sizeof(ItemPointerData)) + LearnedWideBitmapBytes(shape))

#define LearnedBitIsSet(bits, slot) ((((bits)[(slot) / 8]) >> ((slot) % 8)) & 1)
#define LearnedBitSet(bits, slot) ((bits)[(slot) / 8] |= (uint8) (1 << ((slot) % 8)))

/*
 * Hot entries: appended in arrival order to a chain of pages, each page recording its key range. Inserts
 * fill only the tail page; a full tail is sealed, and the metapage's directory then lists its range, so a
 * lookup reads only the sealed pages whose range can match, plus the tail.
 */
#define LEARNED_HOT_NULL	(1 << 0)
#define LEARNED_HOT_DEAD	(1 << 1)	/* as a cold dead bit: WAL-logged by VACUUM */

typedef struct LearnedHotEntry
{
	uint64		key;
	ItemPointerData tid;
	uint8		flags;
} LearnedHotEntry;

/* Hint bits of hot entries, as on cold pages: in the hole, after room for every entry. A key's tail
 * words (several columns) follow its entry: an entry takes shape->hot_stride bytes. */
#define LEARNED_HOT_HINT_BYTES 64
#define LearnedHotTail(entry) ((uint64 *) ((LearnedHotEntry *) (entry) + 1))
#define LearnedHotHints(page) \
	((uint8 *) (PageGetContents(page) + LEARNED_PAGE_DATA_SIZE - LEARNED_HOT_HINT_BYTES))

/* A key and the heap TID it points to: what sorts hot entries and merges. In arrays, each is followed by
 * its key's tail words (LearnedEntrySize). */
typedef struct LearnedKeyTid
{
	uint64		key;
	ItemPointerData tid;
} LearnedKeyTid;

#define LearnedEntrySize(tail) (sizeof(LearnedKeyTid) + (tail) * sizeof(uint64))
#define LearnedEntryAt(base, i, tail) ((LearnedKeyTid *) ((char *) (base) + (Size) (i) * LearnedEntrySize(tail)))
#define LearnedEntryTail(entry) ((uint64 *) ((LearnedKeyTid *) (entry) + 1))

/* Model pages: a chain holding the serialised model followed by the cold page directory. */
#define LEARNED_MODEL_PAYLOAD ((int) LEARNED_PAGE_DATA_SIZE)

/* A sealed hot page in the metapage's directory. */
typedef struct LearnedHotRange
{
	uint64		min_key;
	uint64		max_key;
	BlockNumber blkno;
	uint16		count;
	uint16		nulls;			/* NULL entries on the page */
} LearnedHotRange;

#define LEARNED_HOT_DIRECTORY	256

typedef struct LearnedMetaPageData
{
	uint32		magic;
	uint32		version;
	uint32		key_type;		/* OMEN_KEY_* of the column */
	uint32		model_kind;		/* OMEN_MODEL_* */
	uint32		model_param;	/* epsilon (pgm) or leaves (rmi) */
	uint32		cold_pages;		/* cold pages, listed in the directory */
	uint64		generation;		/* bumped by every merge */
	uint64		cold_count;		/* non-null entries of the cold run */
	uint64		cold_nulls;		/* NULL entries, stored after them */
	BlockNumber model_head;		/* first model page, or InvalidBlockNumber */
	uint32		model_bytes;	/* serialised model size */
	BlockNumber hot_head;		/* first hot page, or InvalidBlockNumber */
	BlockNumber hot_tail;		/* last hot page */
	uint64		hot_count;		/* entries on sealed hot pages (the tail page counts its own;
								 * learned_hot_entries adds it) */
	uint32		hot_pages;
	uint32		max_window;		/* widest window the model returns */
	uint64		cold_dead;		/* cold entries VACUUM marked dead */
	uint64		build_id;		/* new at every build: cached models of an earlier build (a truncate
								 * rebuilds in the same file) never match */
	uint64		cold_min_key;	/* the run's smallest and largest non-null keys */
	uint64		cold_max_key;
	uint32		hot_listed;		/* sealed hot pages in the directory: the first ones of the chain */
	uint32		hot_unsorted;	/* sealed pages inserts filled since the last compaction or merge (the
								 * chain's last sealed ones); the pages before them hold one sorted run */
	BlockNumber hot_unlisted;	/* the first sealed page not listed (the directory was full), or
								 * InvalidBlockNumber; scans read the chain from it */
	TimestampTz last_merge_time;	/* when the last merge switched runs, or 0 */
	uint64		last_merge_us;	/* how long it took, in microseconds */
	LearnedHotRange hot_ranges[LEARNED_HOT_DIRECTORY];
	/* layout = 'heap' (version 9 on): the heap model, stored on the model chain after the run's bounds:
	 * one to LEARNED_HEAP_MAX_RUNS serialised models, one after another, each over the rows of one run
	 * (rows whose keys follow heap order). Its positions are heap row ordinals: block * heap_stride + line
	 * pointer - 1. */
	uint32		heap_bytes;		/* its size; 0 when no row is covered (always, in the sorted layout) */
	uint32		heap_stride;
	uint64		heap_covered;	/* rows its runs cover */
	uint64		heap_last_key;	/* the largest key the last run covers (version 10 on): merges extend it
								 * from there */
	uint32		heap_runs;		/* how many runs (version 11 on; a version 10 model is one) */
} LearnedMetaPageData;

typedef LearnedMetaPageData *LearnedMetaPage;

#define LearnedPageGetMeta(page) ((LearnedMetaPage) PageGetContents(page))
/* What learned_read_meta copies: everything before the directory, and the heap model's fields. */
#define LEARNED_META_HEADER_SIZE offsetof(LearnedMetaPageData, hot_ranges)

/* The metapage's size in a layout version: version 8 ends with the directory, version 9 before
 * heap_last_key, version 10 before heap_runs. */
static inline Size
learned_meta_size(uint32 version)
{
	if (version <= LEARNED_LAYOUT_NO_HEAP)
		return offsetof(LearnedMetaPageData, heap_bytes);
	if (version == LEARNED_LAYOUT_NO_LAST_KEY)
		return offsetof(LearnedMetaPageData, heap_last_key);
	return version == LEARNED_LAYOUT_ONE_RUN ? offsetof(LearnedMetaPageData, heap_runs) : sizeof(LearnedMetaPageData);
}

/* Copies the heap model's fields of a metapage (zeros for those its version lacks) into *dest. */
static inline void
learned_copy_meta_heap(LearnedMetaPageData *dest, const LearnedMetaPageData *meta)
{
	Size		start = offsetof(LearnedMetaPageData, heap_bytes);
	Size		size = Max(learned_meta_size(meta->version), start) - start;

	memcpy(&dest->heap_bytes, &meta->heap_bytes, size);
	memset((char *) &dest->heap_bytes + size, 0, sizeof(LearnedMetaPageData) - start - size);
}

/* The heap position of a row (layout = 'heap'): block * stride + line pointer - 1, for a line pointer
 * not past stride. */
static inline uint64
learned_heap_position(ItemPointer tid, uint32 stride)
{
	return (uint64) ItemPointerGetBlockNumber(tid) * stride + ItemPointerGetOffsetNumber(tid) - 1;
}

/* The most runs a heap model keeps: each costs a scan one window of heap rows per key interval. */
#define LEARNED_HEAP_MAX_RUNS	8

/* The heap model's size on a metapage, of any layout version. */
static inline uint32
learned_meta_heap_bytes(const LearnedMetaPageData *meta)
{
	return meta->version <= LEARNED_LAYOUT_NO_HEAP ? 0 : meta->heap_bytes;
}

/* The heap model's runs on a metapage, of any layout version. */
static inline uint32
learned_meta_heap_runs(const LearnedMetaPageData *meta)
{
	if (learned_meta_heap_bytes(meta) == 0)
		return 0;
	return meta->version < LEARNED_LAYOUT_VERSION ? 1 : meta->heap_runs;
}

/* Free space map entries an allocation tries before it extends the index. */
#define LEARNED_FREE_TRIES		8

/* Reloptions. */
typedef struct LearnedOptions
{
	int32		vl_len_;
	int			model;			/* OMEN_MODEL_* */
	int			epsilon;
	int			hot_limit;
	bool		heap_layout;	/* layout = 'heap' */
	int			heap_epsilon;	/* the heap model's maximum error, in heap rows */
} LearnedOptions;

/*
 * What an index's keys look like. One column: its normalised uint64 (NULLs flagged beside it). Several
 * columns (up to LEARNED_MAX_COLUMNS): a composite key, the concatenation of each column's NULL bit
 * (NULLs sort last, as btree's ASC NULLS LAST) and its value's bits (uuid 128, 64-bit types and floats 64,
 * int4 and date 32, int2 16; a float before the last column as its first equal's, so that equal floats
 * sort together), right-aligned in `words` 64-bit words, most significant first, so that
 * unsigned comparison word by word is btree's order of the columns. The first word is an entry's `key`
 * (what page ranges and the hot directory summarise); the other `tail` words follow it. The model learns
 * a per-run 64-bit image of the whole key (learned_model_key). Derived from the catalog, cached per
 * relcache entry.
 */
#define LEARNED_MAX_COLUMNS		4
#define LEARNED_MAX_WORDS		9

typedef struct LearnedKeyShape
{
	int			natts;
	bool		composite;		/* natts > 1 */
	int			words;
	int			tail;			/* words - 1 */
	int			bits;			/* of a composite key */
	Oid			typids[LEARNED_MAX_COLUMNS];
	int			key_types[LEARNED_MAX_COLUMNS];
	int			widths[LEARNED_MAX_COLUMNS];	/* value bits of each column */
	int			positions[LEARNED_MAX_COLUMNS];	/* the bit where each value begins (its NULL bit lies above) */
	bool		folds[LEARNED_MAX_COLUMNS];	/* the column keeps floats by their first equal's key */
	int			last_word[LEARNED_MAX_COLUMNS];	/* the key word holding each column's lowest bit */
	int			group_size;		/* entries per cold group */
	int			plain_per_page;	/* entries per plain page: a group is a plain page and its overflow */
	int			hot_stride;		/* bytes per hot entry */
	int			hot_per_page;
} LearnedKeyShape;

/* A composite run's bounds and the bit where their common prefix ends: what learned_model_key needs. */
typedef struct LearnedRunBounds
{
	uint64		min[LEARNED_MAX_WORDS];
	uint64		max[LEARNED_MAX_WORDS];
	uint32		start;
	uint32		unused;
} LearnedRunBounds;

/* The n (<= 64) bits of a words-word integer that start at bit pos (counted from the least significant). */
static inline uint64
learned_get_bits(const uint64 *w, int words, int pos, int n)
{
	uint32		bit = (uint32) pos;	/* unsigned: the division and remainder are a shift and a mask */
	int			off = (int) (bit % 64);
	int			i = words - 1 - (int) (bit / 64);
	uint64		v = w[i] >> off;

	if (off > 0 && off + n > 64)
		v |= w[i - 1] << (64 - off);
	return n < 64 ? v & ((UINT64CONST(1) << n) - 1) : v;
}

/* Copies n key words. A scan copies one or two a row, where a call to memcpy costs more than the copy. */
static inline void
learned_copy_words(uint64 *dest, const uint64 *src, int n)
{
	switch (n)
	{
		case 3:
			dest[2] = src[2];
			/* FALLTHROUGH */
		case 2:
			dest[1] = src[1];
			/* FALLTHROUGH */
		case 1:
			dest[0] = src[0];
			/* FALLTHROUGH */
		case 0:
			return;
	}
	memcpy(dest, src, n * sizeof(uint64));
}

/* Column `column` of a composite key: whether it is NULL, and its field value. */
static pg_attribute_always_inline void
learned_key_field(const LearnedKeyShape *shape, const uint64 *words, int column, bool *isnull, uint128 *value)
{
	int			pos = shape->positions[column];
	int			width = shape->widths[column];

	*value = learned_get_bits(words, shape->words, pos, Min(width, 64));
	if (width > 64)
		*value |= (uint128) learned_get_bits(words, shape->words, pos + 64, width - 64) << 64;
	*isnull = learned_get_bits(words, shape->words, pos + width, 1) != 0;
}

/*
 * A loaded model and cold page directory, shared by every scan of one index generation in this backend.
 * Scans pin it; the cache frees it when it is replaced and no scan holds it.
 */
typedef struct LearnedModelRef
{
	Oid			index_oid;
	RelFileNode node;
	uint64		build_id;
	uint64		generation;
	omen_model *model;			/* NULL when the cold run is empty */
	int			heap_nruns;		/* layout = 'heap': the heap model's runs (0 when no row is covered), */
	omen_model *heap_runs[LEARNED_HEAP_MAX_RUNS];
	uint32		heap_run_offsets[LEARNED_HEAP_MAX_RUNS + 1];	/* where each starts in heap_bytes */
	char	   *heap_bytes;		/* their serialised form, which a merge carries to the next run's chain */
	uint32		heap_length;
	BlockNumber *directory;		/* cold page i lives in block directory[i] */
	BlockNumber *overflow;		/* group i's overflow page, or InvalidBlockNumber; 0 until first read */
	uint32		cold_pages;
	LearnedKeyShape shape;
	LearnedRunBounds bounds;	/* composite keys */
	int			pins;
	bool		cached;
} LearnedModelRef;

/*
 * A cold group copied out of its buffers, so scans hold no lock or pin between tuples: the packed page, or
 * the plain page and its overflow, byte for byte. Entries are decoded when read, as a lookup reads a few.
 */
typedef struct LearnedColdPageCopy
{
	const LearnedKeyShape *shape;	/* the model ref's */
	int64		page_index;		/* -1 when empty */
	int64		first;			/* the group's first position */
	int			lo;				/* the group's slots [lo, lo + held) are copied (held */
	uint64		held;			/* is 0 when empty); no reader looks at the rest */
	int			count;			/* entries on the group's pages read (all of them once the overflow is) */
	bool		packed;
	int			pages_read;		/* pages loaded, for learned_explain_lookup */
	uint32		generation;		/* of the run read: a page written for a later one is foreign */
	bool		keep_pins;		/* hold the group's buffers pinned while it is loaded (see README) */
	uint64		key[LEARNED_MAX_WORDS];	/* a packed key with a tail, rebuilt by learned_copy_key */
	int			key_slot;		/* the slot whose key `key` holds, -1 for none */
	bool		key_carried;	/* its offset carried into the upper words */
	const uint32 *wide_keys;	/* a wide packed group's offsets, TIDs and bitmaps (LearnedWide*) */
	const ItemPointerData *wide_tids;
	const uint8 *wide_dead;
	const uint8 *wide_hints;
	Buffer		pins[2];
	PGAlignedBlock page;
	PGAlignedBlock overflow;
} LearnedColdPageCopy;

/* The plain page of copy holding group slot *slot, with *slot made its place on that page. */
static inline Page
learned_copy_plain_page(const LearnedColdPageCopy *copy, int *slot)
{
	if (*slot < copy->shape->plain_per_page)
		return (Page) copy->page.data;
	*slot -= copy->shape->plain_per_page;
	return (Page) copy->overflow.data;
}

/* Finds the arrays of the wide packed group just copied into copy (a packed page with tails), and starts
 * its rebuilt key at the group's base. */
static inline void
learned_copy_locate(LearnedColdPageCopy *copy)
{
	Page		page = (Page) copy->page.data;

	copy->key_slot = -1;
	if (!copy->packed || copy->shape->tail == 0)
		return;
	copy->wide_keys = LearnedWideKeys(page, copy->shape);
	copy->wide_tids = LearnedWideTids(page, copy->shape);
	copy->wide_dead = LearnedWideDead(page, copy->shape);
	copy->wide_hints = LearnedWideHints(page, copy->shape);
	memcpy(copy->key, LearnedWideBase(page), copy->shape->words * sizeof(uint64));
	copy->key_carried = false;
}

/* Rebuilds the key of slot `slot` of a packed group with tails into copy->key (its base plus its offset),
 * unless it holds that slot's already. */
static inline void
learned_copy_wide_key(LearnedColdPageCopy *copy, int slot)
{
	const uint64 *base = LearnedWideBase((Page) copy->page.data);
	int			last = copy->shape->words - 1;
	uint64		offset = copy->wide_keys[slot];
	uint64		carry;
	int			w;

	if (copy->key_slot == slot)
		return;
	copy->key_slot = slot;
	copy->key[last] = base[last] + offset;
	/* The upper words are the base's, but where the offset carries out of the lowest (rarely). */
	carry = copy->key[last] < offset;
	if (!carry && !copy->key_carried)
		return;
	copy->key_carried = carry;
	for (w = last - 1; w >= 0; w--)
	{
		copy->key[w] = base[w] + carry;
		carry = copy->key[w] < carry;
	}
}

/* The key of group slot `slot` of copy (its first word, when it has a tail). */
static inline uint64
learned_copy_key(LearnedColdPageCopy *copy, int slot)
{
	Page		page;

	if (copy->packed && copy->shape->tail > 0)
	{
		learned_copy_wide_key(copy, slot);
		return copy->key[0];
	}
	if (copy->packed)
		return LearnedPackedHead((Page) copy->page.data)->base_key + LearnedPackedKeys((Page) copy->page.data)[slot];
	page = learned_copy_plain_page(copy, &slot);
	return LearnedPlainKeys(page)[slot];
}

/* The tail words of group slot `slot`'s key: valid until the copy's next call (packed groups rebuild
 * them). */
static inline const uint64 *
learned_copy_tail(LearnedColdPageCopy *copy, int slot)
{
	Page		page;

	if (copy->packed)
	{
		if (copy->shape->tail > 0)
			learned_copy_wide_key(copy, slot);
		return copy->key + 1;
	}
	page = learned_copy_plain_page(copy, &slot);
	return LearnedPlainTails(page, copy->shape) + (Size) slot * copy->shape->tail;
}

/* The heap TID of group slot `slot` of copy. */
static inline ItemPointerData
learned_copy_tid(const LearnedColdPageCopy *copy, int slot)
{
	ItemPointerData tid;
	Page		page;

	if (copy->packed && copy->shape->tail > 0)
		return copy->wide_tids[slot];
	if (copy->packed)
	{
		page = (Page) copy->page.data;
		ItemPointerSet(&tid, LearnedPackedHead(page)->base_block + LearnedPackedBlocks(page)[slot],
					   LearnedPackedOffsets(page)[slot]);
		return tid;
	}
	page = learned_copy_plain_page(copy, &slot);
	return LearnedPlainTids(page, copy->shape)[slot];
}

/* Whether group slot `slot` of copy carries VACUUM's dead bit (or, with hints, the scan's hint bit). */
static inline bool
learned_copy_dead(const LearnedColdPageCopy *copy, int slot, bool hints)
{
	Page		page;

	if (copy->packed && copy->shape->tail > 0)
		return LearnedBitIsSet(copy->wide_dead, slot) || (hints && LearnedBitIsSet(copy->wide_hints, slot));
	if (copy->packed)
	{
		page = (Page) copy->page.data;
		return LearnedBitIsSet(LearnedPackedDead(page), slot) || (hints && LearnedBitIsSet(LearnedPackedHints(page), slot));
	}
	page = learned_copy_plain_page(copy, &slot);
	return LearnedBitIsSet(LearnedPlainDead(page, copy->shape), slot) ||
		(hints && LearnedBitIsSet(LearnedPlainHints(page, copy->shape), slot));
}

/*
 * Group slot `slot` of copy whole: its key and tail (as learned_copy_tail's, valid until the copy's next
 * call), its TID, and whether it is dead (as learned_copy_dead). A scan reads every entry this way, so
 * the layout is tested once.
 */
static pg_attribute_always_inline bool
learned_copy_entry(LearnedColdPageCopy *copy, int slot, bool hints, uint64 *key, const uint64 **tail,
				   ItemPointerData *tid)
{
	if (copy->packed && copy->shape->tail > 0)
	{
		learned_copy_wide_key(copy, slot);
		*key = copy->key[0];
		*tail = copy->key + 1;
		*tid = copy->wide_tids[slot];
		return LearnedBitIsSet(copy->wide_dead, slot) || (hints && LearnedBitIsSet(copy->wide_hints, slot));
	}
	*key = learned_copy_key(copy, slot);
	*tail = learned_copy_tail(copy, slot);
	*tid = learned_copy_tid(copy, slot);
	return learned_copy_dead(copy, slot, hints);
}

/* The dead bitmap, hint bitmap and TID array of a cold page (packed, wide packed or plain). */
static inline uint8 *
learned_cold_dead_bits(Page page, const LearnedKeyShape *shape)
{
	if (!(LearnedPageGetOpaque(page)->flags & LEARNED_PAGE_PACKED))
		return LearnedPlainDead(page, shape);
	return shape->tail > 0 ? LearnedWideDead(page, shape) : LearnedPackedDead(page);
}

static inline uint8 *
learned_cold_hint_bits(Page page, const LearnedKeyShape *shape)
{
	if (!(LearnedPageGetOpaque(page)->flags & LEARNED_PAGE_PACKED))
		return LearnedPlainHints(page, shape);
	return shape->tail > 0 ? LearnedWideHints(page, shape) : LearnedPackedHints(page);
}

/* The heap TID of slot `slot` of a cold page (packed, wide packed or plain). */
static inline ItemPointerData
learned_cold_page_tid(Page page, const LearnedKeyShape *shape, int slot)
{
	ItemPointerData tid;

	if (!(LearnedPageGetOpaque(page)->flags & LEARNED_PAGE_PACKED))
		return LearnedPlainTids(page, shape)[slot];
	if (shape->tail > 0)
		return LearnedWideTids(page, shape)[slot];
	ItemPointerSet(&tid, LearnedPackedHead(page)->base_block + LearnedPackedBlocks(page)[slot],
				   LearnedPackedOffsets(page)[slot]);
	return tid;
}

/* Hot entry i of a page whose entries are `stride` bytes. */
static inline LearnedHotEntry *
learned_hot_entry(Page page, int i, int stride)
{
	return (LearnedHotEntry *) (PageGetContents(page) + (Size) i * stride);
}

/*
 * The entries on a hot page, from pd_lower: an insert logs just its entry and pd_lower (the page's count,
 * key range and directory entry are filled in when it is sealed, so only sealed pages have a range).
 */
static inline int
learned_hot_count(Page page, const LearnedKeyShape *shape)
{
	return (int) ((((PageHeader) page)->pd_lower - MAXALIGN(SizeOfPageHeaderData)) / shape->hot_stride);
}

/* Compares two keys given as first word and tail words, as unsigned integers. */
static inline int
learned_compare_keys(uint64 a, const uint64 *a_tail, uint64 b, const uint64 *b_tail, int tail)
{
	int			i;

	if (a != b)
		return a < b ? -1 : 1;
	for (i = 0; i < tail; i++)
		if (a_tail[i] != b_tail[i])
			return a_tail[i] < b_tail[i] ? -1 : 1;
	return 0;
}

/* handler.c */
extern bool learned_merge_on_vacuum;
extern bool learned_merge_on_insert;
extern void _PG_init(void);
extern const char *learned_model_name(int kind);

/* utils.c */
/* What a learned_* SQL function reveals of an index, and so what it requires of its caller. */
typedef enum LearnedAccess
{
	LEARNED_ACCESS_STATS,		/* counts and sizes */
	LEARNED_ACCESS_KEYS,		/* keys */
	LEARNED_ACCESS_CHANGE		/* changes it */
} LearnedAccess;

extern Relation learned_open_for(Oid indexoid, LOCKMODE heap_lock, LOCKMODE index_lock, LearnedAccess access,
								 const char *function, Relation *heap);
extern int	learned_key_type_of(Oid typid);
extern uint64 learned_normalize(Oid typid, Datum value);
extern const LearnedKeyShape *learned_shape(Relation index);
extern BlockNumber *learned_remembered_tail(Relation index);
extern void learned_form_key(const LearnedKeyShape *shape, const Datum *values, const bool *isnull, uint64 *words);
extern uint128 learned_field_of(const LearnedKeyShape *shape, int column, uint64 key);
extern void learned_put_field(const LearnedKeyShape *shape, uint64 *words, int column, bool isnull, uint128 value);
extern Datum learned_field_datum(const LearnedKeyShape *shape, int column, uint128 value);
extern void learned_run_bounds(const LearnedKeyShape *shape, const uint64 *min, const uint64 *max,
							   LearnedRunBounds *bounds);
extern uint64 learned_model_key(const LearnedKeyShape *shape, const LearnedRunBounds *bounds, uint64 key,
								const uint64 *tail);
extern Datum learned_denormalize(int key_type, uint64 key);
extern void learned_key_equal_range(Oid typid, uint64 key, uint64 *lo, uint64 *hi);
extern bool learned_key_is_lossy(Oid typid);
extern void learned_set_checksum(Page page);
extern void learned_extend_checksum(Page page, const void *data, Size length);
extern void learned_check_block(Relation index, BlockNumber blkno, BlockNumber nblocks, const char *what);
extern void learned_check_meta(Relation index, Page page, BlockNumber nblocks);
extern void learned_read_meta_page(Relation index, LearnedMetaPageData *meta, Size size);
extern bool learned_page_is(Page page, uint16 kind);
extern void learned_check_page(Relation index, BlockNumber blkno, Page page, uint16 kind, uint64 generation);
#define LEARNED_ANY_GENERATION PG_UINT64_MAX
extern uint64 learned_hot_entries(Relation index, const LearnedMetaPageData *meta);
extern void learned_init_page(Page page, uint16 flags, uint64 generation);
extern void learned_fill_meta(Relation index, Page page, int key_type);
extern Buffer learned_new_buffer(Relation index);
extern LearnedModelRef *learned_pin_model(Relation index, const LearnedMetaPageData *meta);
extern void learned_unpin_model(LearnedModelRef *ref);
extern Buffer learned_cold_slot_page(Relation index, BlockNumber primary, int slot, int mode, int *page_slot);
extern void learned_copy_init(LearnedColdPageCopy *copy, const LearnedModelRef *ref, bool keep_pins);
extern void learned_copy_release(LearnedColdPageCopy *copy);
extern void learned_cold_load(Relation index, const LearnedModelRef *ref, LearnedColdPageCopy *copy,
							  int64 position, int64 want_lo, int64 want_hi);
extern uint64 learned_cold_key(Relation index, const LearnedModelRef *ref, LearnedColdPageCopy *copy,
							   int64 position);
extern int64 learned_cold_lower_bound(Relation index, const LearnedModelRef *ref,
									  const LearnedMetaPageData *meta, LearnedColdPageCopy *copy, uint64 key,
									  const uint64 *tail);
extern int64 learned_cold_lower_bound_from(Relation index, const LearnedModelRef *ref,
										   const LearnedMetaPageData *meta, LearnedColdPageCopy *copy, int64 start,
										   uint64 key, const uint64 *tail);
extern void learned_check_status(int status, const char *what);
extern int	learned_compare_entries(const void *a, const void *b, void *tail);
extern LearnedOptions *learned_options(Relation index);
extern void learned_delete_page(Relation index, BlockNumber blkno, FullTransactionId xid);
extern bool learned_page_recyclable(Page page);
extern void learned_heap_window(const omen_model *model, uint64 first, uint64 last, uint64 *lo, uint64 *hi);

/* The metapage's fields before the hot directory, checked. */
static inline void
learned_read_meta(Relation index, LearnedMetaPageData *meta)
{
	learned_read_meta_page(index, meta, LEARNED_META_HEADER_SIZE);
}

/*
 * The slot of cold position `position` in copy. When copy does not hold it, loads the part of its group
 * in positions [want_lo, want_hi), the positions the caller goes on to read.
 */
static inline int
learned_cold_slot_in(Relation index, const LearnedModelRef *ref, LearnedColdPageCopy *copy, int64 position,
					 int64 want_lo, int64 want_hi)
{
	/* A scan reads on in the part of the group it holds: one comparison, no division. */
	if ((uint64) (position - copy->first - copy->lo) < copy->held)
		return (int) (position - copy->first);
	learned_cold_load(index, ref, copy, position, want_lo, want_hi);
	return (int) (position - copy->first);
}

/* The slot of cold position `position` in copy, loading its whole group when copy does not hold it. */
static inline int
learned_cold_slot(Relation index, const LearnedModelRef *ref, LearnedColdPageCopy *copy, int64 position)
{
	return learned_cold_slot_in(index, ref, copy, position, 0, PG_INT64_MAX);
}

/* build.c */
extern IndexBuildResult *learned_build(Relation heap, Relation index, IndexInfo *indexInfo);
extern void learned_buildempty(Relation index);
extern char *learned_buildphasename(int64 phase);

/* insert.c */
extern void learned_seal_page(const LearnedKeyShape *shape, LearnedMetaPage meta, BlockNumber blkno, Page page);
extern void learned_link_tail(const LearnedKeyShape *shape, LearnedMetaPage meta, Buffer tailbuf, Page tailpage,
							  Buffer newbuf, Page newpage);
extern bool learned_insert(Relation index, Datum *values, bool *isnull, ItemPointer ht_ctid, Relation heap,
						   IndexUniqueCheck checkUnique, bool indexUnchanged, IndexInfo *indexInfo);

/* scan.c */
extern IndexScanDesc learned_beginscan(Relation index, int nkeys, int norderbys);
extern void learned_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
extern bool learned_gettuple(IndexScanDesc scan, ScanDirection dir);
extern int64 learned_getbitmap(IndexScanDesc scan, TIDBitmap *tbm);
extern void learned_endscan(IndexScanDesc scan);
extern void learned_markpos(IndexScanDesc scan);
extern void learned_restrpos(IndexScanDesc scan);
extern bool learned_canreturn(Relation index, int attno);

/* vacuum.c */
extern IndexBulkDeleteResult *learned_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
												 IndexBulkDeleteCallback callback, void *callback_state);
extern IndexBulkDeleteResult *learned_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);
/* Why a merge runs: an insert that sealed a page past hot_limit gives up rather than wait or rewrite much. */
typedef enum LearnedMergeReason
{
	LEARNED_MERGE_INSERT,
	LEARNED_MERGE_VACUUM,
	LEARNED_MERGE_REQUEST,
	LEARNED_MERGE_REBUILD		/* the whole run, from position 0 */
} LearnedMergeReason;

extern int64 learned_merge_index(Relation index, LearnedMergeReason reason);
extern void learned_compact_hot(Relation index);

/* Inserts compact the hot area once this many pages filled since the last compaction overlap this deep. */
#define LEARNED_COMPACT_PAGES	4
#define LEARNED_COMPACT_DEPTH	4
/* ... and their keys spread over at least 1/LEARNED_COMPACT_SPREAD of the cold run's key range: keys
 * out of order everywhere, not writers appending side by side at the run's end. */
#define LEARNED_COMPACT_SPREAD	16

/* A page in use found by a census, and the overflow page it names (plain cold groups). */
typedef struct LearnedLivePage
{
	BlockNumber blkno;
	BlockNumber overflow;
	uint16		flags;
} LearnedLivePage;

/* Every block of an index: free (new, or deleted past every snapshot), deleted, or in use and referenced
 * or not (block 0 counts as referenced). */
typedef struct LearnedPageCensus
{
	BlockNumber nblocks;
	int64		free;
	int64		deleted;
	LearnedLivePage *live;
	int			nlive;
	bool	   *referenced;		/* by block number */
} LearnedPageCensus;

extern void learned_page_census(Relation index, BufferAccessStrategy strategy, bool record_free,
								LearnedPageCensus *census);

/* check.c */
extern bool learned_validate(Oid opclassoid);
extern void learned_check_opfamily(Relation index);
extern void learned_adjustmembers(Oid opfamilyoid, Oid opclassoid, List *operators, List *functions);

/* cost (handler.c) */
extern void learned_costestimate(PlannerInfo *root, IndexPath *path, double loop_count, Cost *indexStartupCost,
								 Cost *indexTotalCost, Selectivity *indexSelectivity, double *indexCorrelation,
								 double *indexPages);

/*
 * The run writer shared by build and merge: appends entries (non-null keys ascending, then NULLs) to
 * fresh cold pages, feeds the keys to the model builder a page at a time, and at the end writes the
 * model pages. Swift handles it holds are freed by a reset callback if an error intervenes.
 */
typedef struct LearnedSwiftHandles
{
	omen_builder *builder;
	omen_model *model;
	omen_heap_builder *heap_builder;	/* a build's, layout = 'heap' */
	MemoryContextCallback callback;
} LearnedSwiftHandles;

typedef struct LearnedRunWriter
{
	Relation	index;
	uint64		generation;		/* the run's, stamped on its pages */
	bool		use_wal;		/* log each page with GenericXLog (merge); build logs the range at the end */
	int			model_kind;
	LearnedSwiftHandles *handles;	/* palloc'ed: the reset callback outlives the writer's frame */
	const LearnedKeyShape *shape;
	LearnedRunBounds bounds;	/* composite keys: the run's, set at begin */
	uint64	   *keys;			/* the group being filled */
	uint64	   *tails;			/* their tail words */
	uint64	   *images;			/* composite keys: what the model learns of them */
	ItemPointerData *tids;
	int			count;			/* entries in it */
	int			page_nulls;		/* of which NULLs */
	uint32		param;			/* the model parameter used */
	BlockNumber *directory;
	uint32		pages;
	uint32		directory_size;
	uint64		values;			/* non-null entries in the run */
	uint64		nulls;			/* null entries written */
	uint64		min_key;		/* the run's smallest and largest non-null keys, once values > 0 */
	uint64		max_key;
	const char *heap_bytes;		/* a heap model to store after the run's bounds (set after begin) */
	uint32		heap_length;
} LearnedRunWriter;

/* A heap model a merge extended (layout = 'heap'): what its metapage fields become. */
typedef struct LearnedHeapExtension
{
	char	   *bytes;			/* serialised */
	uint32		length;
	uint32		stride;
	uint64		covered;
	uint64		last_key;
	uint32		runs;
} LearnedHeapExtension;

extern bool learned_extend_heap_model(Relation index, const LearnedMetaPageData *meta, const LearnedModelRef *ref,
									  LearnedKeyTid *entries, int64 *nentries, LearnedHeapExtension *extension);

/* What a finished run writer leaves for the metapage. */
typedef struct LearnedRunResult
{
	uint64		values;
	uint64		nulls;
	uint32		cold_pages;
	BlockNumber model_head;
	uint32		model_bytes;
	uint32		model_param;
	uint32		max_window;
	uint64		min_key;
	uint64		max_key;
} LearnedRunResult;

extern void learned_writer_begin(LearnedRunWriter *writer, Relation index, int model_kind, int epsilon,
								 uint64 expected, bool use_wal, uint64 generation, const LearnedRunBounds *bounds);
extern void learned_writer_resume(LearnedRunWriter *writer, const LearnedModelRef *ref, uint32 kept_groups,
								  uint64 first_key, uint64 last_key);
extern void learned_writer_add(LearnedRunWriter *writer, uint64 key, const uint64 *tail, ItemPointer tid,
							   bool isnull);
extern void learned_writer_finish(LearnedRunWriter *writer, LearnedRunResult *result);
extern void learned_set_meta_run(LearnedMetaPage meta, const LearnedRunResult *run, int model_kind);

#endif							/* LEARNED_H */
