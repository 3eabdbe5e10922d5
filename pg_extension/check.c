/*
 * check.c: learned_index_check(index, heapallindexed): the metapage, the order of the cold run, the
 * model's error bound at every distinct key, the hot chain, and optionally that every live heap tuple
 * is in the index.
 */
#include "learned.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(learned_index_check);

#define CORRUPT(index, fmt, ...) \
	ereport(ERROR, \
			(errcode(ERRCODE_INDEX_CORRUPTED), \
			 errmsg("learned index \"%s\": " fmt, RelationGetRelationName(index), ##__VA_ARGS__), \
			 errhint("Rebuild it with REINDEX INDEX %s.", RelationGetRelationName(index))))

/* One live index entry, by heap TID: its key's words (as many as the index's keys have). */
typedef struct IndexedTuple
{
	ItemPointerData tid;
	bool		isnull;
	uint64		words[FLEXIBLE_ARRAY_MEMBER];
} IndexedTuple;

typedef struct HeapCheckState
{
	Relation	index;
	HTAB	   *entries;
	const LearnedKeyShape *shape;
	int64		checked;
	const LearnedModelRef *ref;
	uint32		heap_stride;
} HeapCheckState;

static void
remember(HTAB *entries, const LearnedKeyShape *shape, ItemPointer tid, uint64 key, const uint64 *tail, bool isnull)
{
	bool		found;
	IndexedTuple *entry = hash_search(entries, tid, HASH_ENTER, &found);

	entry->words[0] = key;
	memcpy(entry->words + 1, tail, shape->tail * sizeof(uint64));
	entry->isnull = isnull;
}

/* Whether a run of the heap model (layout = 'heap') finds the row at tid when a scan asks for its key. */
static bool
heap_covers(HeapCheckState *state, ItemPointer tid, uint64 key)
{
	uint64		position,
				lo,
				hi;
	int			run;

	if (ItemPointerGetOffsetNumber(tid) > state->heap_stride)
		return false;
	position = learned_heap_position(tid, state->heap_stride);
	for (run = 0; run < state->ref->heap_nruns; run++)
	{
		learned_heap_window(state->ref->heap_runs[run], key, key, &lo, &hi);
		if (lo <= position && position < hi)
			return true;
	}
	return false;
}

/* Every live heap tuple must have an entry with its key, or (layout = 'heap') be found by the heap model. */
static void
heap_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool tupleIsAlive, void *arg)
{
	HeapCheckState *state = (HeapCheckState *) arg;
	const LearnedKeyShape *shape = state->shape;
	IndexedTuple *entry = hash_search(state->entries, tid, HASH_FIND, NULL);
	bool		keynull = !shape->composite && isnull[0];
	uint64		words[LEARNED_MAX_WORDS];

	learned_form_key(shape, values, isnull, words);
	if (entry == NULL && !keynull && heap_covers(state, tid, words[0]))
	{
		state->checked++;
		return;
	}
	if (entry == NULL)
		CORRUPT(index, "heap tuple (%u,%u) has no index entry",
				ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid));
	if (entry->isnull != keynull ||
		(!keynull && learned_compare_keys(entry->words[0], entry->words + 1, words[0], words + 1, shape->tail) != 0))
		CORRUPT(index, "heap tuple (%u,%u) is indexed under another key",
				ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid));
	state->checked++;
}

/* Verifies the index; raises an error naming the first problem found. */
Datum
learned_index_check(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	bool		heapallindexed = PG_GETARG_BOOL(1);
	Relation	heap,
				index;
	LOCKMODE	heap_lock;
	LearnedMetaPageData meta;
	LearnedModelRef *ref;
	LearnedColdPageCopy *copy = palloc(sizeof(LearnedColdPageCopy));
	HTAB	   *entries = NULL;
	const LearnedKeyShape *shape;
	uint64		hot_entries = 0;
	uint32		hot_pages = 0;
	BlockNumber blkno,
				last = InvalidBlockNumber;
	int64		position;
	bool		exact;

	/*
	 * With heapallindexed, writers must wait: a tuple inserted mid-check would look missing. A standby
	 * takes no such locks (only replay writes there); check it when replay is idle. Who may run the check
	 * is decided by EXECUTE on it, which only superusers have until granted, as for amcheck.
	 */
	heap_lock = heapallindexed && !RecoveryInProgress() ? ShareLock : AccessShareLock;
	exact = heap_lock == ShareLock;
	index = learned_open_for(indexoid, heap_lock, AccessShareLock, LEARNED_ACCESS_STATS, "learned_index_check", &heap);
	shape = learned_shape(index);

	/* Merges wait, so the run holds still while its pages are read; inserts wait too with heapallindexed. */
	if (!RecoveryInProgress())
		LockPage(index, LEARNED_METAPAGE_BLKNO, ShareLock);
	learned_read_meta_page(index, &meta, sizeof(LearnedMetaPageData));

	ref = learned_pin_model(index, &meta);
	learned_copy_init(copy, ref, false);
	if (heapallindexed)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(ItemPointerData);
		ctl.entrysize = offsetof(IndexedTuple, words) + shape->words * sizeof(uint64);
		ctl.hcxt = CurrentMemoryContext;
		entries = hash_create("learned index check", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	PG_TRY();
	{
		uint64		previous = 0;
		uint64		previous_key[LEARNED_MAX_WORDS] = {0};

		for (position = 0; position < (int64) (meta.cold_count + meta.cold_nulls); position++)
		{
			bool		isnull = position >= (int64) meta.cold_count;
			int			slot = learned_cold_slot(index, ref, copy, position);
			uint64		key = learned_copy_key(copy, slot);
			const uint64 *tail = learned_copy_tail(copy, slot);
			/* What the model learned of the key: the key itself, or a composite key's image. */
			uint64		image = isnull ? 0 : learned_model_key(shape, &ref->bounds, key, tail);
			int			expected_count = (int) Min((uint64) shape->group_size,
												   meta.cold_count + meta.cold_nulls - (uint64) (position - slot));

			if (slot == 0 && copy->count != expected_count)
				CORRUPT(index, "cold page %lld holds %d entries, expected %d",
						(long long) (position / shape->group_size), copy->count, expected_count);
			if (!isnull && position > 0 &&
				learned_compare_keys(key, tail, previous_key[0], previous_key + 1, shape->tail) < 0)
				CORRUPT(index, "cold run out of order at position %lld", (long long) position);
			if (!isnull)
			{
				previous_key[0] = key;
				memcpy(previous_key + 1, tail, shape->tail * sizeof(uint64));
			}
			if (!isnull && (position == 0 || image != previous))
			{
				/* The first occurrence of each key, and every absent key just above the one before it,
				 * must have their lower bound inside the model's window. */
				uint64		probes[2] = {image, position == 0 ? 0 : previous + 1};
				int			p;

				for (p = 0; p < 2; p++)
				{
					uint64		lo,
								hi;

					learned_check_status(omen_model_window(ref->model, probes[p], &lo, &hi), "lookup");
					if (lo > (uint64) position || hi < (uint64) position)
						CORRUPT(index, "model window [%llu, %llu] misses position %lld",
								(unsigned long long) lo, (unsigned long long) hi, (long long) position);
					if (hi - lo + 1 > meta.max_window)
						CORRUPT(index, "model window of %llu entries exceeds the bound %u",
								(unsigned long long) (hi - lo + 1), meta.max_window);
				}
			}
			if (entries && !learned_copy_dead(copy, slot, false))
			{
				ItemPointerData tid = learned_copy_tid(copy, slot);

				remember(entries, shape, &tid, key, tail, isnull);
			}
			if (!isnull)
				previous = image;
			if (slot == 0)
				CHECK_FOR_INTERRUPTS();
		}
		if (meta.cold_count > 0)
		{
			uint64		lo,
						hi;

			learned_check_status(omen_model_window(ref->model, previous + 1, &lo, &hi), "lookup");
			if (previous != PG_UINT64_MAX && hi < meta.cold_count)
				CORRUPT(index, "model window for keys above the last misses the end of the run");
		}

		/* With inserts waiting, the chain must end at the metapage's tail with its counts; else it may
		 * have grown since. */
		for (blkno = meta.hot_head; blkno != InvalidBlockNumber;)
		{
			Buffer		buffer;
			Page		page;
			LearnedPageOpaque opaque;
			bool		sealed;
			int			nulls = 0;
			int			i;

			if (blkno >= RelationGetNumberOfBlocks(index) || (++hot_pages > meta.hot_pages && exact) ||
				hot_pages > RelationGetNumberOfBlocks(index))
				CORRUPT(index, "hot chain leaves the index at block %u", blkno);
			buffer = ReadBuffer(index, blkno);
			LockBuffer(buffer, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buffer);
			learned_check_page(index, blkno, page, LEARNED_PAGE_HOT, meta.generation);
			opaque = LearnedPageGetOpaque(page);
			sealed = blkno != meta.hot_tail || (opaque->flags & LEARNED_PAGE_SEALED);
			if (opaque->flags & LEARNED_PAGE_DELETED)
			{
				UnlockReleaseBuffer(buffer);
				CORRUPT(index, "block %u in the hot chain is a deleted page", blkno);
			}
			for (i = 0; i < learned_hot_count(page, shape); i++)
			{
				LearnedHotEntry *entry = learned_hot_entry(page, i, shape->hot_stride);
				LearnedHotEntry *before = i > 0 ? learned_hot_entry(page, i - 1, shape->hot_stride) : NULL;
				bool		isnull = (entry->flags & LEARNED_HOT_NULL) != 0;

				if (!isnull && (opaque->flags & LEARNED_PAGE_SEALED) &&
					(entry->key < opaque->min_key || entry->key > opaque->max_key))
				{
					UnlockReleaseBuffer(buffer);
					CORRUPT(index, "hot page %u holds a key outside its recorded range", blkno);
				}
				/* A sorted page: values ascending (scans binary-search it), then NULLs. */
				if ((opaque->flags & LEARNED_PAGE_SORTED) && i > 0 &&
					((isnull ? 0 : 1) > (before->flags & LEARNED_HOT_NULL ? 0 : 1) ||
					 (!isnull && learned_compare_keys(entry->key, LearnedHotTail(entry), before->key,
													  LearnedHotTail(before), shape->tail) < 0)))
				{
					UnlockReleaseBuffer(buffer);
					CORRUPT(index, "sorted hot page %u holds entries out of order", blkno);
				}
				nulls += isnull;
				if (entries && !(entry->flags & LEARNED_HOT_DEAD))
					remember(entries, shape, &entry->tid, entry->key, LearnedHotTail(entry), isnull);
			}
			if (hot_pages <= meta.hot_listed)
			{
				LearnedHotRange *range = &meta.hot_ranges[hot_pages - 1];

				if (range->blkno != blkno || range->count != learned_hot_count(page, shape) || range->nulls != nulls ||
					(range->count > nulls && (range->min_key != opaque->min_key || range->max_key != opaque->max_key)))
				{
					UnlockReleaseBuffer(buffer);
					CORRUPT(index, "hot directory entry %u does not describe block %u", hot_pages - 1, blkno);
				}
			}
			else if (sealed && hot_pages == meta.hot_listed + 1 && meta.hot_unlisted != blkno && exact)
			{
				UnlockReleaseBuffer(buffer);
				CORRUPT(index, "hot page %u is neither listed nor where the unlisted pages begin", blkno);
			}
			if (sealed || !exact)
				hot_entries += learned_hot_count(page, shape);
			last = blkno;
			blkno = exact && !sealed ? InvalidBlockNumber : opaque->next;
			UnlockReleaseBuffer(buffer);
			CHECK_FOR_INTERRUPTS();
		}
		if (exact && (hot_entries != meta.hot_count || hot_pages != meta.hot_pages || last != meta.hot_tail))
			CORRUPT(index, "hot chain holds %llu sealed entries on %u pages, the metapage says %llu on %u",
					(unsigned long long) hot_entries, hot_pages, (unsigned long long) meta.hot_count, meta.hot_pages);

		if (entries)
		{
			IndexInfo  *indexInfo = BuildIndexInfo(index);
			HeapCheckState state = {index, entries, shape, 0, ref, meta.heap_stride};

			table_index_build_scan(heap, index, indexInfo, true, false, heap_callback, &state, NULL);
		}
	}
	PG_FINALLY();
	{
		learned_unpin_model(ref);
	}
	PG_END_TRY();

	if (!RecoveryInProgress())
		UnlockPage(index, LEARNED_METAPAGE_BLKNO, ShareLock);
	index_close(index, AccessShareLock);
	table_close(heap, heap_lock);
	PG_RETURN_VOID();
}
