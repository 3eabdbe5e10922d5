/*
 * insert.c: new entries go to the hot area, a chain of pages appended under GenericXLog. No heavyweight
 * lock: an insert changes only the tail page, and the metapage too when it seals a full tail. A unique
 * index checks the key first, under a heavyweight lock on the key (see learned_insert).
 */
#include "learned.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xloginsert.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

/* Appends one entry to the hot page: the entry and its key's tail words, and pd_lower past them. */
static void
hot_page_append(Page page, const LearnedKeyShape *shape, const uint64 *words, ItemPointer tid, bool isnull)
{
	LearnedHotEntry *entry = learned_hot_entry(page, learned_hot_count(page, shape), shape->hot_stride);

	memset(entry, 0, shape->hot_stride);
	entry->key = words[0];
	entry->tid = *tid;
	entry->flags = isnull ? LEARNED_HOT_NULL : 0;
	memcpy(LearnedHotTail(entry), words + 1, shape->tail * sizeof(uint64));
	((PageHeader) page)->pd_lower = (char *) entry + shape->hot_stride - (char *) page;
}

/* Appends one fragment (offset, length, data) of a generic WAL record's page delta. */
static char *
put_fragment(char *ptr, Page page, const void *data, OffsetNumber length)
{
	OffsetNumber offset = (OffsetNumber) ((const char *) data - (const char *) page);

	memcpy(ptr, &offset, sizeof(offset));
	memcpy(ptr + sizeof(offset), &length, sizeof(length));
	memcpy(ptr + 2 * sizeof(OffsetNumber), data, length);
	return ptr + 2 * sizeof(OffsetNumber) + length;
}

/*
 * Appends one entry to the tail page (held exclusively) and logs exactly the generic record that
 * GenericXLogFinish would write for the change (RM_GENERIC_ID, replayed by generic_redo), its three
 * fragments built directly: pd_lower, the entry and the page's checksum, extended by the entry. GenericXLog would find them by comparing the whole
 * page byte by byte, which cost more than the rest of the insert. The page's hole (the hint bits) is
 * left as it is: redo zeroes it, and hints may be lost.
 */
static void
hot_append_logged(Relation index, Buffer buffer, const uint64 *words, ItemPointer tid, bool isnull)
{
	const LearnedKeyShape *shape = learned_shape(index);
	Page		page = BufferGetPage(buffer);
	LearnedHotEntry *entry = learned_hot_entry(page, learned_hot_count(page, shape), shape->hot_stride);
	LearnedPageOpaque opaque = LearnedPageGetOpaque(page);
	char		delta[3 * 2 * sizeof(OffsetNumber) + sizeof(LearnedHotEntry) + LEARNED_MAX_WORDS * sizeof(uint64) +
					  sizeof(LocationIndex) + sizeof(uint32)];
	char	   *ptr = delta;

	START_CRIT_SECTION();
	hot_page_append(page, shape, words, tid, isnull);
	learned_extend_checksum(page, entry, shape->hot_stride);
	MarkBufferDirty(buffer);
	if (RelationNeedsWAL(index))
	{
		XLogRecPtr	lsn;

		ptr = put_fragment(ptr, page, &((PageHeader) page)->pd_lower, sizeof(LocationIndex));
		ptr = put_fragment(ptr, page, entry, shape->hot_stride);
		ptr = put_fragment(ptr, page, &opaque->checksum, sizeof(uint32));
		XLogBeginInsert();
		XLogRegisterBuffer(0, buffer, REGBUF_STANDARD);
		XLogRegisterBufData(0, delta, ptr - delta);
		lsn = XLogInsert(RM_GENERIC_ID, 0);
		PageSetLSN(page, lsn);
	}
	END_CRIT_SECTION();
}

/* Whether an insert may add to hot page `page`. */
static inline bool
hot_page_has_room(Page page, const LearnedKeyShape *shape)
{
	LearnedPageOpaque opaque = LearnedPageGetOpaque(page);

	return learned_hot_count(page, shape) >= 0 && learned_hot_count(page, shape) < shape->hot_per_page &&
		!(opaque->flags & LEARNED_PAGE_SEALED);
}

/*
 * The tail page the last insert of this backend used, kept in the index's relcache entry. Every hot page
 * but the tail is sealed (merges take, and compactions write, only sealed pages; the tail is linked in
 * the record that initialises it), so an unsealed, undeleted hot page is the tail: an insert that finds
 * one at the remembered block appends without reading the metapage, as nbtree's fastpath does for the
 * rightmost leaf.
 */
static BlockNumber
remembered_tail(Relation index)
{
	return *learned_remembered_tail(index);
}

static void
remember_tail(Relation index, BlockNumber blkno)
{
	*learned_remembered_tail(index) = blkno;
}

/* Whether `page` (whatever the block holds now) is the hot area's tail with room for one more entry. */
static bool
is_open_tail(Page page, const LearnedKeyShape *shape)
{
	return learned_page_is(page, LEARNED_PAGE_HOT) && !(LearnedPageGetOpaque(page)->flags & LEARNED_PAGE_DELETED) &&
		hot_page_has_room(page, shape);
}

/* The tail page the metapage names, locked exclusively; refused unless it is a hot page of the run. */
static Buffer
lock_meta_tail(Relation index, LearnedMetaPage meta)
{
	Buffer		buffer = ReadBuffer(index, meta->hot_tail);

	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	learned_check_page(index, meta->hot_tail, BufferGetPage(buffer), LEARNED_PAGE_HOT, meta->generation);
	return buffer;
}

/* qsort_arg order of hot entries (the shape as arg): values ascending by key, then NULLs. */
static int
compare_sealed(const void *a, const void *b, void *arg)
{
	const LearnedKeyShape *shape = (const LearnedKeyShape *) arg;
	const LearnedHotEntry *x = (const LearnedHotEntry *) a;
	const LearnedHotEntry *y = (const LearnedHotEntry *) b;
	bool		xnull = (x->flags & LEARNED_HOT_NULL) != 0;
	bool		ynull = (y->flags & LEARNED_HOT_NULL) != 0;

	if (xnull || ynull)
		return (int) xnull - (int) ynull;
	return learned_compare_keys(x->key, LearnedHotTail(x), y->key, LearnedHotTail(y), shape->tail);
}

/*
 * Seals a hot page: no entry is added to it any more; its entries are sorted, its count and key range
 * filled in, its entries move into the metapage's count, and its range into the directory while the
 * directory has room. The caller holds the metapage and the page exclusively, registered with
 * GenericXLog.
 */
void
learned_seal_page(const LearnedKeyShape *shape, LearnedMetaPage meta, BlockNumber blkno, Page page)
{
	LearnedPageOpaque opaque = LearnedPageGetOpaque(page);
	int			nulls = 0;
	int			i;

	if (opaque->flags & LEARNED_PAGE_SEALED)
		return;
	opaque->flags |= LEARNED_PAGE_SEALED | LEARNED_PAGE_SORTED;
	opaque->count = (uint16) learned_hot_count(page, shape);
	/*
	 * Sorted, so lookups and unique checks binary-search it: random keys give every sealed page the
	 * whole key range, and each check would otherwise read every entry of every page not yet compacted.
	 * Entries move: whoever remembered an entry's place rechecks its TID there (kill_current), as after
	 * a compaction. Hint bits need no moving: they live in the page's hole, which the logged seal clears.
	 */
	qsort_arg(learned_hot_entry(page, 0, shape->hot_stride), opaque->count, shape->hot_stride, compare_sealed,
			  (void *) shape);
	for (i = 0; i < opaque->count; i++)
	{
		LearnedHotEntry *entry = learned_hot_entry(page, i, shape->hot_stride);

		if (entry->flags & LEARNED_HOT_NULL)
			nulls++;
		else
		{
			opaque->min_key = Min(opaque->min_key, entry->key);
			opaque->max_key = Max(opaque->max_key, entry->key);
		}
	}
	meta->hot_count += opaque->count;
	meta->hot_unsorted++;
	if (meta->hot_unlisted == InvalidBlockNumber && meta->hot_listed < LEARNED_HOT_DIRECTORY)
	{
		LearnedHotRange *range = &meta->hot_ranges[meta->hot_listed++];

		range->min_key = opaque->min_key;
		range->max_key = opaque->max_key;
		range->blkno = blkno;
		range->count = opaque->count;
		range->nulls = (uint16) nulls;
	}
	else if (meta->hot_unlisted == InvalidBlockNumber)
		meta->hot_unlisted = blkno;
}

/*
 * Makes the empty page newpage the tail, after the tail (sealed here if it is not yet), or as the whole
 * hot area when tailbuf is InvalidBuffer; in pages the caller holds and has registered with GenericXLog.
 */
void
learned_link_tail(const LearnedKeyShape *shape, LearnedMetaPage meta, Buffer tailbuf, Page tailpage, Buffer newbuf,
				  Page newpage)
{
	BlockNumber newblk = BufferGetBlockNumber(newbuf);

	learned_init_page(newpage, LEARNED_PAGE_HOT, meta->generation);
	if (BufferIsValid(tailbuf))
	{
		learned_seal_page(shape, meta, BufferGetBlockNumber(tailbuf), tailpage);
		LearnedPageGetOpaque(tailpage)->next = newblk;
	}
	else
		meta->hot_head = newblk;
	meta->hot_tail = newblk;
	meta->hot_pages++;
}

/*
 * Whether the pages inserts filled since the last compaction are enough, and their key ranges overlap
 * deeply enough over a wide enough part of the run's keys (keys arriving out of order), that lookups
 * would read many of them: then they are compacted into the sorted run. A time series fills pages of
 * disjoint ranges, or, from several writers, pages that overlap only near the run's end; neither
 * compacts (the next merge takes them).
 */
static bool
unsorted_pages_overlap(const LearnedMetaPageData *meta)
{
	uint32		n = Min(meta->hot_unsorted, meta->hot_listed);
	uint64		low = PG_UINT64_MAX,
				high = 0;
	double		covered = 0;
	uint32		i;

	if (meta->hot_unsorted < LEARNED_COMPACT_PAGES || n < LEARNED_COMPACT_PAGES)
		return false;
	for (i = meta->hot_listed - n; i < meta->hot_listed; i++)
	{
		const LearnedHotRange *range = &meta->hot_ranges[i];

		if (range->count == range->nulls)
			continue;
		covered += (double) (range->max_key - range->min_key) + 1;
		low = Min(low, range->min_key);
		high = Max(high, range->max_key);
	}
	return low <= high && covered >= LEARNED_COMPACT_DEPTH * ((double) (high - low) + 1) &&
		(meta->cold_count == 0 ||
		 (double) (high - low) * LEARNED_COMPACT_SPREAD >= (double) (meta->cold_max_key - meta->cold_min_key));
}

/*
 * Appends one heap tuple's entry (NULL keys included, so IS NULL scans find them). While the tail page
 * has room only that page changes (found where this backend last appended, or through the metapage, held
 * shared just long enough); a full tail is sealed and a new page linked with the metapage held
 * exclusively. Past hot_limit entries, the insert that seals a page merges the hot area into the cold
 * run, unless another merge is running. Returns false, as aminsert does when it checks no uniqueness.
 */
static bool
insert_entry(Relation index, const uint64 *words, ItemPointer ht_ctid, bool keynull)
{
	const LearnedKeyShape *shape = learned_shape(index);
	Buffer		metabuf;
	Buffer		tailbuf = InvalidBuffer;
	Buffer		newbuf = InvalidBuffer;
	GenericXLogState *state;
	LearnedMetaPage meta;
	bool		merge = false;
	bool		compact = false;

	if (remembered_tail(index) != InvalidBlockNumber)
	{
		tailbuf = ReadBuffer(index, remembered_tail(index));
		LockBuffer(tailbuf, BUFFER_LOCK_EXCLUSIVE);
		if (is_open_tail(BufferGetPage(tailbuf), shape))
		{
			hot_append_logged(index, tailbuf, words, ht_ctid, keynull);
			UnlockReleaseBuffer(tailbuf);
			return false;
		}
		UnlockReleaseBuffer(tailbuf);
		tailbuf = InvalidBuffer;
	}

	/* The metapage, and the tail it names, are checked whenever an insert reads them (the index's size
	 * under the lock: a block the metapage names was added before it was named). */
	metabuf = ReadBuffer(index, LEARNED_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_SHARE);
	learned_check_meta(index, BufferGetPage(metabuf), RelationGetNumberOfBlocks(index));
	meta = LearnedPageGetMeta(BufferGetPage(metabuf));
	if (meta->hot_tail != InvalidBlockNumber)
	{
		tailbuf = lock_meta_tail(index, meta);
		if (hot_page_has_room(BufferGetPage(tailbuf), shape))
		{
			/* The tail cannot be sealed while we hold it, so the metapage may go. */
			UnlockReleaseBuffer(metabuf);
			remember_tail(index, BufferGetBlockNumber(tailbuf));
			hot_append_logged(index, tailbuf, words, ht_ctid, keynull);
			UnlockReleaseBuffer(tailbuf);
			return false;
		}
		UnlockReleaseBuffer(tailbuf);
		tailbuf = InvalidBuffer;
	}

	/* No tail, or a full one: look again with the metapage held exclusively (another insert may have extended). */
	LockBuffer(metabuf, BUFFER_LOCK_UNLOCK);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	learned_check_meta(index, BufferGetPage(metabuf), RelationGetNumberOfBlocks(index));
	meta = LearnedPageGetMeta(BufferGetPage(metabuf));
	if (meta->hot_tail != InvalidBlockNumber)
	{
		tailbuf = lock_meta_tail(index, meta);
		if (!hot_page_has_room(BufferGetPage(tailbuf), shape))
			newbuf = learned_new_buffer(index);
	}
	else
		newbuf = learned_new_buffer(index);

	state = GenericXLogStart(index);
	if (BufferIsValid(newbuf))
	{
		Page		newpage = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);
		Page		metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
		Page		tailpage = BufferIsValid(tailbuf) ? GenericXLogRegisterBuffer(state, tailbuf, 0) : NULL;

		meta = LearnedPageGetMeta(metapage);
		learned_link_tail(shape, meta, tailbuf, tailpage, newbuf, newpage);
		hot_page_append(newpage, shape, words, ht_ctid, keynull);
		merge = learned_merge_on_insert && meta->hot_count >= (uint64) learned_options(index)->hot_limit;
		compact = learned_merge_on_insert && !merge && unsorted_pages_overlap(meta);
		learned_set_checksum(newpage);
		learned_set_checksum(metapage);
		if (tailpage)
			learned_set_checksum(tailpage);
	}
	else
	{
		Page		tailpage = GenericXLogRegisterBuffer(state, tailbuf, 0);

		hot_page_append(tailpage, shape, words, ht_ctid, keynull);
		learned_set_checksum(tailpage);
	}
	GenericXLogFinish(state);

	remember_tail(index, BufferIsValid(newbuf) ? BufferGetBlockNumber(newbuf) : BufferGetBlockNumber(tailbuf));
	if (BufferIsValid(newbuf))
		UnlockReleaseBuffer(newbuf);
	if (BufferIsValid(tailbuf))
		UnlockReleaseBuffer(tailbuf);
	UnlockReleaseBuffer(metabuf);
	if (merge)
		learned_merge_index(index, LEARNED_MERGE_INSERT);
	else if (compact)
		learned_compact_hot(index);
	return false;
}

/*
 * The heavyweight lock that serialises the inserters of one key into a unique index: a page lock on a
 * block number no page has (the key's hash above 2^30; only the metapage's block 0 is ever locked as a
 * page), held from the uniqueness check until the entry is in, so that the next inserter of the key
 * finds it (and waits for its transaction). Keys whose hashes collide merely wait for each other; equal
 * floats with different keys (0.0 and -0.0) take the lock of the first.
 */
static BlockNumber
key_lock_block(const LearnedKeyShape *shape, const uint64 *words)
{
	uint64		first[LEARNED_MAX_WORDS];
	uint64		last;

	memcpy(first, words, shape->words * sizeof(uint64));
	if (!shape->composite)
	{
		learned_key_equal_range(shape->typids[0], words[0], &first[0], &last);
		return (BlockNumber) (0x40000000 | (hash_bytes_uint32((uint32) first[0] ^ (uint32) (first[0] >> 32)) & 0x3FFFFFFF));
	}
	return (BlockNumber) (0x40000000 | (hash_bytes((const unsigned char *) first, shape->words * sizeof(uint64)) & 0x3FFFFFFF));
}

/*
 * Whether the heap row in `slot` holds `value` in the index's one column: what a lossy key (a uuid's
 * leading 64 bits) leaves to be compared. `estate` evaluates an expression column, made on first use.
 */
static bool
row_holds_value(Relation index, IndexInfo *indexInfo, TupleTableSlot *slot, Datum value, EState **estate)
{
	TypeCacheEntry *type = lookup_type_cache(index->rd_opcintype[0], TYPECACHE_EQ_OPR_FINFO);
	AttrNumber	attno = indexInfo->ii_IndexAttrNumbers[0];
	Datum		held;
	bool		isnull;

	if (attno != 0)
		held = slot_getattr(slot, attno, &isnull);
	else
	{
		ExprContext *econtext;

		if (*estate == NULL)
			*estate = CreateExecutorState();
		econtext = GetPerTupleExprContext(*estate);
		econtext->ecxt_scantuple = slot;
		held = ExecEvalExprSwitchContext(ExecPrepareExpr(linitial(indexInfo->ii_Expressions), *estate),
										 econtext, &isnull);
	}
	return !isnull && DatumGetBool(FunctionCall2Coll(&type->eq_opr_finfo, index->rd_indcollation[0], held, value));
}

/*
 * Whether another live row holds `value`, as nbtree's _bt_check_unique decides: an index scan for the
 * key with a dirty snapshot, which sees in-progress inserts and deletes. A row another transaction is
 * inserting or deleting is waited for (the key lock released meanwhile) and the scan retried, except in
 * UNIQUE_CHECK_PARTIAL, which reports the possible conflict instead. `self` (the row being checked by
 * UNIQUE_CHECK_EXISTING) is skipped, and so is a row whose lossy key stands for another value.
 */
static bool
unique_conflict(Relation index, Relation heap, IndexInfo *indexInfo, const Datum *values, ItemPointer self,
				IndexUniqueCheck mode, BlockNumber lock)
{
	const LearnedKeyShape *shape = learned_shape(index);
	TupleTableSlot *slot = table_slot_create(heap, NULL);
	bool		lossy = !shape->composite && learned_key_is_lossy(shape->typids[0]);
	EState	   *estate = NULL;
	SnapshotData dirty;
	ScanKeyData skeys[LEARNED_MAX_COLUMNS];
	bool		conflict = false;
	int			c;

	for (;;)
	{
		IndexScanDesc scan;
		TransactionId xwait = InvalidTransactionId;
		uint32		token = 0;
		ItemPointerData waited;

		InitDirtySnapshot(dirty);
		/* No comparison function: a learned scan compares normalised keys, never calls sk_func. */
		for (c = 0; c < shape->natts; c++)
			ScanKeyEntryInitialize(&skeys[c], 0, c + 1, BTEqualStrategyNumber, shape->typids[c],
								   index->rd_indcollation[c], InvalidOid, values[c]);
		scan = index_beginscan(heap, index, &dirty, shape->natts, 0);
		index_rescan(scan, skeys, shape->natts, NULL, 0);
		while (index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			if (self && ItemPointerEquals(&slot->tts_tid, self))
				continue;
			if (lossy && !row_holds_value(index, indexInfo, slot, values[0], &estate))
				continue;
			xwait = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
			token = dirty.speculativeToken;
			waited = slot->tts_tid;
			conflict = !TransactionIdIsValid(xwait) || mode == UNIQUE_CHECK_PARTIAL;
			break;
		}
		index_endscan(scan);
		if (conflict || !TransactionIdIsValid(xwait))
			break;
		UnlockPage(index, lock, ExclusiveLock);
		if (token)
			SpeculativeInsertionWait(xwait, token);
		else
			XactLockTableWait(xwait, heap, &waited, XLTW_InsertIndex);
		LockPage(index, lock, ExclusiveLock);
	}
	ExecDropSingleTupleTableSlot(slot);
	if (estate)
		FreeExecutorState(estate);
	return conflict;
}

/* Raises nbtree's unique violation for `value` in `index`. */
static void
report_duplicate(Relation index, Relation heap, Datum *values, bool *isnull)
{
	char	   *key = BuildIndexValueDescription(index, values, isnull);

	ereport(ERROR,
			(errcode(ERRCODE_UNIQUE_VIOLATION),
			 errmsg("duplicate key value violates unique constraint \"%s\"", RelationGetRelationName(index)),
			 key ? errdetail("Key %s already exists.", key) : 0,
			 errtableconstraint(heap, RelationGetRelationName(index))));
}

/*
 * aminsert: one heap tuple's entry. A unique index (NULLs aside) first checks the key under its key lock,
 * as nbtree does under the leaf's buffer lock: a duplicate is an error (UNIQUE_CHECK_YES), or reported
 * by returning false (UNIQUE_CHECK_PARTIAL, for speculative inserts and deferred constraints), and
 * UNIQUE_CHECK_EXISTING rechecks an entry already in.
 */
bool
learned_insert(Relation index, Datum *values, bool *isnull, ItemPointer ht_ctid, Relation heap,
			   IndexUniqueCheck checkUnique, bool indexUnchanged, IndexInfo *indexInfo)
{
	const LearnedKeyShape *shape = learned_shape(index);
	uint64		words[LEARNED_MAX_WORDS];
	bool		anynull = false;
	BlockNumber lock;
	bool		unique = true;
	int			c;

	learned_form_key(shape, values, isnull, words);
	for (c = 0; c < shape->natts; c++)
		anynull |= isnull[c];
	/* NULLs are distinct from each other (NULLS NOT DISTINCT is refused at build): they never conflict. */
	if (checkUnique == UNIQUE_CHECK_NO || anynull)
		return insert_entry(index, words, ht_ctid, !shape->composite && isnull[0]);
	lock = key_lock_block(shape, words);
	LockPage(index, lock, ExclusiveLock);
	if (unique_conflict(index, heap, indexInfo, values, checkUnique == UNIQUE_CHECK_EXISTING ? ht_ctid : NULL,
						checkUnique, lock))
	{
		if (checkUnique != UNIQUE_CHECK_PARTIAL)
			report_duplicate(index, heap, values, isnull);
		unique = false;
	}
	/* UNIQUE_CHECK_EXISTING rechecks a row whose entry is in already (a deferred constraint). */
	if (checkUnique != UNIQUE_CHECK_EXISTING)
		insert_entry(index, words, ht_ctid, false);
	UnlockPage(index, lock, ExclusiveLock);
	return unique;
}
