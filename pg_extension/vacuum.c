/*
 * vacuum.c: VACUUM marks dead entries under cleanup locks, merges the hot area into the cold run (in
 * place of the run's tail only: an append rewrites one group), and recycles blocks no snapshot can reach.
 */
#include "learned.h"

#include "access/genam.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

/*
 * Marks dead, in one WAL record, the entries of the cold or hot page in buffer (cleanup-locked by the
 * caller) whose heap tuples VACUUM removes; counts them in stats and *marked when those are given.
 */
static void
mark_entries(Relation index, Buffer buffer, IndexBulkDeleteCallback callback, void *callback_state,
			 IndexBulkDeleteResult *stats, uint64 *marked)
{
	const LearnedKeyShape *shape = learned_shape(index);
	Page		page = BufferGetPage(buffer);
	uint16		flags = LearnedPageGetOpaque(page)->flags;
	bool		hot = (flags & LEARNED_PAGE_HOT) != 0;
	int			count = hot ? learned_hot_count(page, shape) : LearnedPageGetOpaque(page)->count;
	GenericXLogState *state = NULL;
	int			slot;

	for (slot = 0; slot < count; slot++)
	{
		ItemPointerData tid;

		if (hot)
		{
			if (learned_hot_entry(page, slot, shape->hot_stride)->flags & LEARNED_HOT_DEAD)
				continue;
			tid = learned_hot_entry(page, slot, shape->hot_stride)->tid;
		}
		else if (LearnedBitIsSet(learned_cold_dead_bits(page, shape), slot))
			continue;
		else
			tid = learned_cold_page_tid(page, shape, slot);
		if (!callback(&tid, callback_state))
		{
			if (stats)
				stats->num_index_tuples += 1;
			continue;
		}
		if (state == NULL)
		{
			state = GenericXLogStart(index);
			page = GenericXLogRegisterBuffer(state, buffer, 0);
		}
		if (hot)
			learned_hot_entry(page, slot, shape->hot_stride)->flags |= LEARNED_HOT_DEAD;
		else
			LearnedBitSet(learned_cold_dead_bits(page, shape), slot);
		if (stats)
			stats->tuples_removed += 1;
		if (marked)
			(*marked)++;
	}
	if (state)
	{
		learned_set_checksum(page);
		GenericXLogFinish(state);
	}
}

/*
 * Marks the dead entries of one page of the run (kind LEARNED_PAGE_COLD or LEARNED_PAGE_HOT) under a
 * cleanup lock, which waits for scans that hold the page pinned (an index-only scan returning from it),
 * as nbtree's does; returns the overflow page a full plain cold page names, or a hot page's next.
 */
static BlockNumber
mark_page(Relation index, BlockNumber blkno, uint16 kind, uint64 generation, IndexVacuumInfo *info,
		  IndexBulkDeleteCallback callback, void *callback_state, IndexBulkDeleteResult *stats, uint64 *marked)
{
	Buffer		buffer = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
	LearnedPageOpaque opaque;
	BlockNumber next = InvalidBlockNumber;

	vacuum_delay_point();
	LockBufferForCleanup(buffer);
	learned_check_page(index, blkno, BufferGetPage(buffer), kind, generation);
	mark_entries(index, buffer, callback, callback_state, stats, marked);
	opaque = LearnedPageGetOpaque(BufferGetPage(buffer));
	if (kind == LEARNED_PAGE_HOT ||
		(!(opaque->flags & LEARNED_PAGE_PACKED) && opaque->count == learned_shape(index)->plain_per_page))
		next = opaque->next;
	UnlockReleaseBuffer(buffer);
	return next;
}

/*
 * A merge moves entries to new pages, where VACUUM marks them; but a scan that read the metapage before
 * the merge goes on reading the replaced pages, and may load one it has not yet reached only after this
 * VACUUM. So the dead entries of every replaced page a snapshot may still read are marked too, under a
 * cleanup lock (which also waits for scans that hold it pinned); they are not counted again.
 */
static bool
replaced_entries_page(Page page)
{
	return learned_page_is(page, LEARNED_PAGE_DELETED) &&
		(LearnedPageGetOpaque(page)->flags & (LEARNED_PAGE_COLD | LEARNED_PAGE_HOT)) && !learned_page_recyclable(page);
}

static void
mark_replaced_pages(Relation index, IndexVacuumInfo *info, IndexBulkDeleteCallback callback, void *callback_state)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	BlockNumber blkno;

	for (blkno = LEARNED_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buffer = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);

		vacuum_delay_point();
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		if (replaced_entries_page(BufferGetPage(buffer)))
		{
			LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
			LockBufferForCleanup(buffer);
			if (replaced_entries_page(BufferGetPage(buffer)))
			{
				Page		page = BufferGetPage(buffer);

				learned_check_page(index, blkno, page, LearnedPageGetOpaque(page)->flags & LEARNED_PAGE_COLD ?
								   LEARNED_PAGE_COLD : LEARNED_PAGE_HOT, LEARNED_ANY_GENERATION);
				mark_entries(index, buffer, callback, callback_state, NULL, NULL);
			}
		}
		UnlockReleaseBuffer(buffer);
	}
}

/*
 * Marks dead every cold and hot entry whose heap tuple VACUUM removes, hinted or not: the mark is
 * WAL-logged because the heap TIDs may be reused, so a lost mark (on a standby, or after a crash) would
 * be a wrong answer. Inserts go on meanwhile; merges wait (they would copy entries not yet marked).
 */
IndexBulkDeleteResult *
learned_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats, IndexBulkDeleteCallback callback,
				   void *callback_state)
{
	Relation	index = info->index;
	LearnedMetaPageData meta;
	LearnedModelRef *ref;
	BlockNumber blkno;
	uint32		page_index;
	BlockNumber walked;
	uint64		marked = 0;

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	LockPage(index, LEARNED_METAPAGE_BLKNO, ShareLock);
	learned_read_meta(index, &meta);
	ref = learned_pin_model(index, &meta);
	PG_TRY();
	{
		for (page_index = 0; page_index < meta.cold_pages; page_index++)
		{
			BlockNumber overflow = mark_page(index, ref->directory[page_index], LEARNED_PAGE_COLD, meta.generation,
											 info, callback, callback_state, stats, &marked);

			if (overflow != InvalidBlockNumber)
				mark_page(index, overflow, LEARNED_PAGE_COLD, meta.generation, info, callback, callback_state, stats,
						  &marked);
		}
		/* The chain only grows while merges wait: follow it to its current end (each block once). */
		for (blkno = meta.hot_head, walked = 0; blkno != InvalidBlockNumber; walked++)
		{
			BlockNumber nblocks = RelationGetNumberOfBlocks(index);

			if (walked >= nblocks)
				ereport(ERROR,
						(errcode(ERRCODE_INDEX_CORRUPTED),
						 errmsg("learned index \"%s\" has a hot chain that loops", RelationGetRelationName(index)),
						 errhint("Rebuild it with REINDEX.")));
			learned_check_block(index, blkno, nblocks, "next hot page");
			blkno = mark_page(index, blkno, LEARNED_PAGE_HOT, meta.generation, info, callback, callback_state,
							  stats, NULL);
		}
	}
	PG_FINALLY();
	{
		learned_unpin_model(ref);
	}
	PG_END_TRY();

	mark_replaced_pages(index, info, callback, callback_state);

	/* The run's dead count decides when a merge should drop them. */
	if (marked > 0)
	{
		Buffer		metabuf = ReadBuffer(index, LEARNED_METAPAGE_BLKNO);
		GenericXLogState *state;
		Page		metapage;

		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		state = GenericXLogStart(index);
		metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
		LearnedPageGetMeta(metapage)->cold_dead += marked;
		learned_set_checksum(metapage);
		GenericXLogFinish(state);
		UnlockReleaseBuffer(metabuf);
	}
	UnlockPage(index, LEARNED_METAPAGE_BLKNO, ShareLock);
	return stats;
}

/* The part of the hot chain a merge takes: its sealed pages, from the head. */
typedef struct HotDetach
{
	BlockNumber head;			/* first page taken, or InvalidBlockNumber when none is */
	BlockNumber last;			/* the tail the merge sealed, or InvalidBlockNumber */
	BlockNumber rest;			/* the page after the last one taken, as gather_hot found it */
	uint32		pages;
	uint64		count;			/* entries on them */
	uint32		unsorted;		/* of which pages inserts filled since the last compaction */
	bool		all_listed;		/* the directory lists every page taken */
} HotDetach;

/*
 * Takes the sealed hot pages, which no insert changes any more (VACUUM's marks wait for the merge);
 * with seal_tail, seals the tail first, so that everything inserted so far is taken, and inserts go on
 * in a new page.
 */
static void
detach_hot(Relation index, HotDetach *detach, bool seal_tail)
{
	Buffer		metabuf = ReadBuffer(index, LEARNED_METAPAGE_BLKNO);
	LearnedMetaPage meta;
	GenericXLogState *state = NULL;
	Buffer		tailbuf = InvalidBuffer;

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	learned_check_meta(index, BufferGetPage(metabuf), RelationGetNumberOfBlocks(index));
	meta = LearnedPageGetMeta(BufferGetPage(metabuf));
	if (meta->hot_tail != InvalidBlockNumber)
	{
		tailbuf = ReadBuffer(index, meta->hot_tail);
		LockBuffer(tailbuf, BUFFER_LOCK_EXCLUSIVE);
		learned_check_page(index, meta->hot_tail, BufferGetPage(tailbuf), LEARNED_PAGE_HOT, meta->generation);
		if (seal_tail)
		{
			Page		metapage,
						tailpage;

			state = GenericXLogStart(index);
			metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
			tailpage = GenericXLogRegisterBuffer(state, tailbuf, 0);
			learned_seal_page(learned_shape(index), LearnedPageGetMeta(metapage), meta->hot_tail, tailpage);
			learned_set_checksum(metapage);
			learned_set_checksum(tailpage);
			GenericXLogFinish(state);
		}
	}
	/* Every page but the tail is sealed, and the tail too if a merge sealed it (this one, or one that
	 * failed after sealing): then the whole chain is taken. */
	if (BufferIsValid(tailbuf) && (LearnedPageGetOpaque(BufferGetPage(tailbuf))->flags & LEARNED_PAGE_SEALED))
	{
		detach->pages = meta->hot_pages;
		detach->last = meta->hot_tail;
	}
	else
	{
		detach->pages = meta->hot_pages > 0 ? meta->hot_pages - 1 : 0;
		detach->last = InvalidBlockNumber;
	}
	if (BufferIsValid(tailbuf))
		UnlockReleaseBuffer(tailbuf);
	detach->head = detach->pages > 0 ? meta->hot_head : InvalidBlockNumber;
	detach->count = meta->hot_count;
	detach->unsorted = meta->hot_unsorted;
	detach->all_listed = meta->hot_unlisted == InvalidBlockNumber;
	UnlockReleaseBuffer(metabuf);
}

/* The smallest key of the sealed hot pages as the directory lists them; false when some are unlisted. */
static bool
listed_min_key(Relation index, uint64 *min_key)
{
	Buffer		metabuf = ReadBuffer(index, LEARNED_METAPAGE_BLKNO);
	LearnedMetaPage meta;
	bool		known;
	uint32		i;

	LockBuffer(metabuf, BUFFER_LOCK_SHARE);
	meta = LearnedPageGetMeta(BufferGetPage(metabuf));
	known = meta->hot_unlisted == InvalidBlockNumber;
	*min_key = PG_UINT64_MAX;
	for (i = 0; i < meta->hot_listed; i++)
		if (meta->hot_ranges[i].count > meta->hot_ranges[i].nulls)
			*min_key = Min(*min_key, meta->hot_ranges[i].min_key);
	UnlockReleaseBuffer(metabuf);
	return known;
}

/* Gathers the taken hot entries VACUUM has not marked dead (hinted ones stay: a standby may still need
 * them): values sorted by (key, TID), each followed by its tail words, NULLs in chain order. */
static LearnedKeyTid *
gather_hot(Relation index, HotDetach *detach, uint64 generation, int64 *nvalues, ItemPointerData **nulls,
		   int64 *nnulls)
{
	const LearnedKeyShape *shape = learned_shape(index);
	LearnedKeyTid *values = palloc_extended(Max(detach->count, 1) * LearnedEntrySize(shape->tail), MCXT_ALLOC_HUGE);
	ItemPointerData *null_tids = palloc_extended(Max(detach->count, 1) * sizeof(ItemPointerData), MCXT_ALLOC_HUGE);
	BlockNumber blkno = detach->head;
	uint32		p;

	*nvalues = 0;
	*nnulls = 0;
	for (p = 0; p < detach->pages; p++)
	{
		Buffer		buffer = ReadBuffer(index, blkno);
		Page		page;
		int			i;

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		learned_check_page(index, blkno, page, LEARNED_PAGE_HOT, generation);
		for (i = 0; i < learned_hot_count(page, shape); i++)
		{
			LearnedHotEntry *entry = learned_hot_entry(page, i, shape->hot_stride);

			if (entry->flags & LEARNED_HOT_DEAD)
				continue;
			if ((uint64) (*nvalues + *nnulls) >= detach->count)
				elog(ERROR, "learned index hot area holds more entries than its metapage counts");
			if (entry->flags & LEARNED_HOT_NULL)
				null_tids[(*nnulls)++] = entry->tid;
			else
			{
				LearnedKeyTid *value = LearnedEntryAt(values, *nvalues, shape->tail);

				value->key = entry->key;
				value->tid = entry->tid;
				memcpy(LearnedEntryTail(value), LearnedHotTail(entry), shape->tail * sizeof(uint64));
				(*nvalues)++;
			}
		}
		blkno = LearnedPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buffer);
		CHECK_FOR_INTERRUPTS();
	}
	detach->rest = blkno;
	if (*nvalues > 1)
		qsort_arg(values, *nvalues, LearnedEntrySize(shape->tail), learned_compare_entries, (void *) &shape->tail);
	*nulls = null_tids;
	return values;
}

/* The next page a page links to. */
static BlockNumber
page_next(Relation index, BlockNumber blkno)
{
	Buffer		buffer = ReadBuffer(index, blkno);
	BlockNumber next;

	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	next = LearnedPageGetOpaque(BufferGetPage(buffer))->next;
	UnlockReleaseBuffer(buffer);
	return next;
}

/*
 * Takes the detached pages out of the hot area in a metapage the caller holds registered, putting in their
 * place `npages` new sealed pages (whose directory ranges are `ranges`, holding `count` entries, the
 * first at new_head, the last linking to where the chain went on).
 */
static void
replace_detached(Relation index, LearnedMetaPage meta, const HotDetach *detach, BlockNumber new_head,
				 const LearnedHotRange *ranges, uint32 npages, uint64 count)
{
	BlockNumber rest;

	if (detach->head == InvalidBlockNumber)
		return;
	/* Where the chain goes on: a sealed tail links to a page only once an insert has added one. */
	rest = detach->last != InvalidBlockNumber ? page_next(index, detach->last) : detach->rest;
	if (detach->last != InvalidBlockNumber && meta->hot_tail == detach->last)
		meta->hot_tail = InvalidBlockNumber;
	meta->hot_head = npages > 0 ? new_head : rest;
	meta->hot_count = meta->hot_count - detach->count + count;
	meta->hot_pages = meta->hot_pages - detach->pages + npages;
	meta->hot_unsorted -= detach->unsorted;
	if (detach->all_listed)
	{
		/* npages <= detach->pages: the new pages hold the taken entries less the dead ones. */
		memmove(meta->hot_ranges + npages, meta->hot_ranges + detach->pages,
				(meta->hot_listed - detach->pages) * sizeof(LearnedHotRange));
		meta->hot_listed = meta->hot_listed - detach->pages + npages;
	}
	else
	{
		/* Nothing after the taken pages was listed: scans read the chain from where it goes on. */
		meta->hot_listed = npages;
		meta->hot_unlisted = rest == meta->hot_tail ? InvalidBlockNumber : rest;
	}
	memcpy(meta->hot_ranges, ranges, npages * sizeof(LearnedHotRange));
}

/* A growable list of block numbers. */
typedef struct BlockList
{
	BlockNumber *blocks;
	int			count;
	int			capacity;
} BlockList;

static void
block_list_add(BlockList *list, BlockNumber blkno)
{
	if (list->count == list->capacity)
	{
		list->capacity = Max(64, list->capacity * 2);
		list->blocks = list->blocks ? repalloc_huge(list->blocks, list->capacity * sizeof(BlockNumber)) :
			palloc_extended(list->capacity * sizeof(BlockNumber), MCXT_ALLOC_HUGE);
	}
	list->blocks[list->count++] = blkno;
}

/* Adds the chain of pages that starts at blkno (`limit` pages at most when limit > 0). */
static void
block_list_add_chain(Relation index, BlockList *list, BlockNumber blkno, uint32 limit)
{
	uint32		n = 0;

	while (blkno != InvalidBlockNumber && (limit == 0 || n < limit))
	{
		Buffer		buffer;

		/* Each block at most once: a chain longer than the index loops. */
		if (n >= RelationGetNumberOfBlocks(index))
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("learned index \"%s\" has a page chain that loops", RelationGetRelationName(index)),
					 errhint("Rebuild it with REINDEX.")));
		learned_check_block(index, blkno, RelationGetNumberOfBlocks(index), "next page of a chain");
		buffer = ReadBuffer(index, blkno);
		block_list_add(list, blkno);
		n++;
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		if (!learned_page_is(BufferGetPage(buffer), LEARNED_PAGE_MODEL | LEARNED_PAGE_HOT))
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("learned index \"%s\" block %u in a page chain is not a model or hot page",
							RelationGetRelationName(index), blkno),
					 errhint("Rebuild it with REINDEX.")));
		blkno = LearnedPageGetOpaque(BufferGetPage(buffer))->next;
		UnlockReleaseBuffer(buffer);
	}
}

/* Adds cold groups first.. of ref's run (each group's primary page and overflow). */
static void
block_list_add_groups(Relation index, BlockList *list, const LearnedModelRef *ref, uint32 first)
{
	uint32		c;

	for (c = first; c < ref->cold_pages; c++)
	{
		Buffer		buffer = ReadBuffer(index, ref->directory[c]);
		LearnedPageOpaque opaque;

		block_list_add(list, ref->directory[c]);
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		learned_check_page(index, ref->directory[c], BufferGetPage(buffer), LEARNED_PAGE_COLD, ref->generation);
		opaque = LearnedPageGetOpaque(BufferGetPage(buffer));
		if (!(opaque->flags & LEARNED_PAGE_PACKED) && opaque->count == ref->shape.plain_per_page &&
			opaque->next != InvalidBlockNumber)
			block_list_add(list, opaque->next);
		UnlockReleaseBuffer(buffer);
	}
}

/* Hands blocks that no snapshot can reach to the free space map. */
static void
record_free(Relation index, const BlockNumber *blocks, int count)
{
	BlockNumber low = InvalidBlockNumber,
				high = 0;
	int			i;

	for (i = 0; i < count; i++)
	{
		RecordFreeIndexPage(index, blocks[i]);
		low = Min(low, blocks[i]);
		high = Max(high, blocks[i]);
	}
	if (count > 0)
		FreeSpaceMapVacuumRange(index, low, high + 1);
}

/* A composite merge's bounds: the smaller of the cold run's and the hot entries' first keys, the larger
 * of their last. */
static void
merge_bounds(Relation index, const LearnedModelRef *ref, const LearnedMetaPageData *meta, LearnedColdPageCopy *copy,
			 const LearnedKeyTid *hot, int64 nhot, LearnedRunBounds *bounds)
{
	const LearnedKeyShape *shape = &ref->shape;
	uint64		ends[4][LEARNED_MAX_WORDS];
	int			n = 0;
	int			i;

	if (meta->cold_count > 0)
	{
		int64		positions[2] = {0, (int64) meta->cold_count - 1};

		for (i = 0; i < 2; i++, n++)
		{
			int			slot = learned_cold_slot(index, ref, copy, positions[i]);

			ends[n][0] = learned_copy_key(copy, slot);
			memcpy(ends[n] + 1, learned_copy_tail(copy, slot), shape->tail * sizeof(uint64));
		}
	}
	if (nhot > 0)
	{
		const LearnedKeyTid *edges[2] = {hot, LearnedEntryAt(hot, nhot - 1, shape->tail)};

		for (i = 0; i < 2; i++, n++)
		{
			ends[n][0] = edges[i]->key;
			memcpy(ends[n] + 1, LearnedEntryTail(edges[i]), shape->tail * sizeof(uint64));
		}
	}
	if (n == 0)
	{
		memset(bounds, 0, sizeof(LearnedRunBounds));
		return;
	}
	/* ends holds (first, last) pairs: the smallest first and the largest last. */
	for (i = 2; i < n; i += 2)
	{
		if (learned_compare_keys(ends[i][0], ends[i] + 1, ends[0][0], ends[0] + 1, shape->tail) < 0)
			memcpy(ends[0], ends[i], sizeof(ends[0]));
		if (learned_compare_keys(ends[i + 1][0], ends[i + 1] + 1, ends[1][0], ends[1] + 1, shape->tail) > 0)
			memcpy(ends[1], ends[i + 1], sizeof(ends[1]));
	}
	learned_run_bounds(shape, ends[0], ends[1], bounds);
}

/*
 * Merges the hot area into the cold run. The groups below the smallest hot key stay where they are, and
 * so do the model's segments over them; from the group holding that key on, the run is rewritten with
 * the hot entries merged in (dead entries dropped) and its model learned anew from there. Keys arriving
 * in order (a time series) so rewrite only the run's last group. A full rewrite (from position 0) is done
 * on request (learned_merge(index, rebuild => true)), when dead entries fill an eighth of the run, or when
 * the model cannot be resumed (RMI, linear, or options that ask for another model). Inserts go on
 * throughout: the merge takes only sealed hot pages.
 *
 * The new run's pages are written to free blocks, stamped with the next generation; one WAL record on
 * the metapage switches to it; then the replaced blocks are marked deleted with the next xid, for reuse
 * once no snapshot can still read them. Returns the entries in the new run, or -1 when an insert's merge
 * gave up (another merge or VACUUM holds the index, or the rewrite would be long: VACUUM's merge does it).
 */
int64
learned_merge_index(Relation index, LearnedMergeReason reason)
{
	LearnedOptions *options = learned_options(index);
	const LearnedKeyShape *shape = learned_shape(index);
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "learned merge", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old_cxt;
	LearnedMetaPageData meta;
	LearnedModelRef *volatile ref;
	LearnedRunWriter writer;
	LearnedRunResult run;
	LearnedRunBounds bounds;
	LearnedColdPageCopy *copy;
	HotDetach detach;
	LearnedKeyTid *hot;
	ItemPointerData *hot_nulls;
	int64		nhot,
				nhot_nulls,
				h = 0,
				position,
				start;
	uint64		dropped = 0;
	uint32		kept_groups = 0;
	BlockList	old = {0};
	int			i;
	bool		full;
	bool		extended;
	LearnedHeapExtension extension;
	Buffer		metabuf;
	GenericXLogState *state;
	Page		metapage;
	LearnedMetaPage newmeta;
	FullTransactionId xid;
	TimestampTz merge_start = GetCurrentTimestamp();

	if (reason == LEARNED_MERGE_INSERT)
	{
		if (!ConditionalLockPage(index, LEARNED_METAPAGE_BLKNO, ExclusiveLock))
		{
			MemoryContextDelete(cxt);
			return -1;
		}
	}
	else
		LockPage(index, LEARNED_METAPAGE_BLKNO, ExclusiveLock);
	old_cxt = MemoryContextSwitchTo(cxt);
	learned_read_meta(index, &meta);
	ref = learned_pin_model(index, &meta);
	copy = palloc(sizeof(LearnedColdPageCopy));
	learned_copy_init(copy, ref, false);
	PG_TRY();
	{
		uint64		min_key;

		/* The run's model is resumed only if it is the one the options ask for (ALTER INDEX SET may change),
		 * and never for composite keys, whose model keys depend on the run's bounds. */
		full = reason == LEARNED_MERGE_REBUILD || ref->model == NULL || shape->composite || meta.model_kind != OMEN_MODEL_PGM ||
			options->model != OMEN_MODEL_PGM || (uint32) options->epsilon != meta.model_param ||
			meta.cold_dead * 8 >= meta.cold_count + meta.cold_nulls;
		/* Inserts stay cheap: a long rewrite (keys far below the run's end) is left to VACUUM. */
		if (reason == LEARNED_MERGE_INSERT &&
			((!full && !listed_min_key(index, &min_key)) ||
			 (int64) (meta.cold_count + meta.cold_nulls) -
			 (full ? 0 : learned_cold_lower_bound(index, ref, &meta, copy, min_key, NULL)) >
			 Max(64 * (int64) meta.hot_count, 1 << 20)))
		{
			learned_unpin_model(ref);
			ref = NULL;
		}
		else
		{
			detach_hot(index, &detach, reason != LEARNED_MERGE_INSERT);
			hot = gather_hot(index, &detach, meta.generation, &nhot, &hot_nulls, &nhot_nulls);
			/* layout = 'heap': the rows appended in heap and key order join the heap model instead. */
			extended = options->heap_layout && learned_extend_heap_model(index, &meta, ref, hot, &nhot, &extension);

			/* Keep every full group below the smallest hot key; rewrite from there. */
			if (!full)
			{
				int64		first = nhot > 0 ? learned_cold_lower_bound(index, ref, &meta, copy, hot[0].key, NULL)
					: (int64) meta.cold_count;

				kept_groups = (uint32) (first / LEARNED_COLD_PER_PAGE);
			}
			start = (int64) kept_groups * LEARNED_COLD_PER_PAGE;

			if (shape->composite)
				merge_bounds(index, ref, &meta, copy, hot, nhot, &bounds);
			learned_writer_begin(&writer, index, options->model, options->epsilon, meta.cold_count + nhot, true,
								 meta.generation + 1, &bounds);
			if (kept_groups > 0)
				learned_writer_resume(&writer, ref, kept_groups, meta.cold_min_key,
									  learned_cold_key(index, ref, copy, start - 1));
			/* The heap model (layout = 'heap'), extended or not, goes on the new run's chain. */
			writer.heap_bytes = extended ? extension.bytes : ref->heap_bytes;
			writer.heap_length = extended ? extension.length : ref->heap_length;

			/* Merge the cold keys VACUUM has not marked dead with the hot keys; on equal keys, cold first,
			 * as scans order them. */
			for (position = start; position < (int64) meta.cold_count; position++)
			{
				int			slot = learned_cold_slot(index, ref, copy, position);
				uint64		key = learned_copy_key(copy, slot);
				const uint64 *tail = learned_copy_tail(copy, slot);

				for (; h < nhot; h++)
				{
					LearnedKeyTid *next = LearnedEntryAt(hot, h, shape->tail);

					if (learned_compare_keys(next->key, LearnedEntryTail(next), key, tail, shape->tail) >= 0)
						break;
					learned_writer_add(&writer, next->key, LearnedEntryTail(next), &next->tid, false);
				}
				if (learned_copy_dead(copy, slot, false))
					dropped++;
				else
				{
					ItemPointerData tid = learned_copy_tid(copy, slot);

					learned_writer_add(&writer, key, tail, &tid, false);
				}
			}
			for (; h < nhot; h++)
			{
				LearnedKeyTid *next = LearnedEntryAt(hot, h, shape->tail);

				learned_writer_add(&writer, next->key, LearnedEntryTail(next), &next->tid, false);
			}
			for (position = Max(start, (int64) meta.cold_count); position < (int64) (meta.cold_count + meta.cold_nulls); position++)
			{
				int			slot = learned_cold_slot(index, ref, copy, position);

				if (learned_copy_dead(copy, slot, false))
					dropped++;
				else
				{
					ItemPointerData tid = learned_copy_tid(copy, slot);

					learned_writer_add(&writer, 0, NULL, &tid, true);
				}
			}
			for (i = 0; i < nhot_nulls; i++)
				learned_writer_add(&writer, 0, NULL, &hot_nulls[i], true);
			learned_writer_finish(&writer, &run);

			block_list_add_groups(index, &old, ref, kept_groups);
			block_list_add_chain(index, &old, meta.model_head, 0);
			block_list_add_chain(index, &old, detach.head, detach.pages);

			/* The switch: one WAL record makes the new run current. */
			metabuf = ReadBuffer(index, LEARNED_METAPAGE_BLKNO);
			LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
			xid = ReadNextFullTransactionId();
			state = GenericXLogStart(index);
			metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
			newmeta = LearnedPageGetMeta(metapage);
			learned_set_meta_run(newmeta, &run, options->model);
			newmeta->generation++;
			newmeta->cold_dead = kept_groups == 0 || dropped > newmeta->cold_dead ? 0 : newmeta->cold_dead - dropped;
			replace_detached(index, newmeta, &detach, InvalidBlockNumber, NULL, 0, 0);
			if (extended)
			{
				newmeta->heap_bytes = extension.length;
				newmeta->heap_stride = extension.stride;
				newmeta->heap_covered = extension.covered;
				newmeta->heap_last_key = extension.last_key;
				/* Version 10 stores its one run as 11 does; only 11 holds more, and counts them. */
				if (extension.runs > 1 && newmeta->version == LEARNED_LAYOUT_ONE_RUN)
				{
					newmeta->version = LEARNED_LAYOUT_VERSION;
					((PageHeader) metapage)->pd_lower = (char *) newmeta + learned_meta_size(newmeta->version) - (char *) metapage;
				}
				if (newmeta->version >= LEARNED_LAYOUT_VERSION)
					newmeta->heap_runs = extension.runs;
			}
			newmeta->last_merge_time = GetCurrentTimestamp();
			newmeta->last_merge_us = (uint64) Max(0, newmeta->last_merge_time - merge_start);
			learned_set_checksum(metapage);
			GenericXLogFinish(state);
			UnlockReleaseBuffer(metabuf);

			/* Scans that read the old metapage may still read the old blocks: they are reused only once
			 * every snapshot that could have read it is gone. */
			for (i = 0; i < old.count; i++)
				learned_delete_page(index, old.blocks[i], xid);
			/* The free space map may name them now: a block is reused only once it is recyclable. */
			record_free(index, old.blocks, old.count);
		}
	}
	PG_FINALLY();
	{
		if (ref)
			learned_unpin_model(ref);
	}
	PG_END_TRY();
	UnlockPage(index, LEARNED_METAPAGE_BLKNO, ExclusiveLock);
	MemoryContextSwitchTo(old_cxt);
	MemoryContextDelete(cxt);
	return ref ? (int64) (run.values + run.nulls) : -1;
}

/*
 * Compacts the hot area's sealed pages into one sorted run of sealed pages with disjoint key ranges (dead
 * entries dropped), so that a lookup reads one of them instead of every page whose range it meets: what
 * keys arriving out of order need. The cold run is left alone and the generation stays; the replaced
 * pages are freed as a merge frees its blocks. Gives up if a merge or VACUUM holds the index.
 */
void
learned_compact_hot(Relation index)
{
	const LearnedKeyShape *shape = learned_shape(index);
	MemoryContext cxt;
	MemoryContext old_cxt;
	LearnedMetaPageData meta;
	HotDetach	detach;
	LearnedKeyTid *values;
	ItemPointerData *nulls;
	int64		nvalues,
				nnulls,
				total,
				first;
	uint32		npages,
				p;
	LearnedHotRange *ranges;
	BlockNumber next;
	BlockList	old = {0};
	Buffer		metabuf;
	GenericXLogState *state;
	Page		metapage;
	FullTransactionId xid;
	int			i;

	if (!ConditionalLockPage(index, LEARNED_METAPAGE_BLKNO, ExclusiveLock))
		return;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "learned compaction", ALLOCSET_DEFAULT_SIZES);
	old_cxt = MemoryContextSwitchTo(cxt);
	learned_read_meta(index, &meta);
	detach_hot(index, &detach, false);
	/* A tail sealed by a merge that failed may be linked to a new page at any time: left to the next merge. */
	if (detach.pages > 0 && detach.last == InvalidBlockNumber)
	{
		values = gather_hot(index, &detach, meta.generation, &nvalues, &nulls, &nnulls);
		total = nvalues + nnulls;
		npages = (uint32) ((total + shape->hot_per_page - 1) / shape->hot_per_page);
		ranges = palloc0(Max(npages, 1) * sizeof(LearnedHotRange));

		/* Written last page first, so that each page can name the next; values ascending, then NULLs. */
		next = detach.rest;
		for (p = npages; p-- > 0;)
		{
			Buffer		buffer = learned_new_buffer(index);
			Page		page;
			LearnedPageOpaque opaque;
			int64		e;

			state = GenericXLogStart(index);
			page = GenericXLogRegisterBuffer(state, buffer, GENERIC_XLOG_FULL_IMAGE);
			learned_init_page(page, LEARNED_PAGE_HOT | LEARNED_PAGE_SEALED | LEARNED_PAGE_SORTED, meta.generation);
			opaque = LearnedPageGetOpaque(page);
			first = (int64) p * shape->hot_per_page;
			for (e = first; e < Min(total, first + shape->hot_per_page); e++)
			{
				LearnedHotEntry *entry = learned_hot_entry(page, (int) (e - first), shape->hot_stride);
				LearnedKeyTid *value = e < nvalues ? LearnedEntryAt(values, e, shape->tail) : NULL;

				memset(entry, 0, shape->hot_stride);
				entry->flags = value ? 0 : LEARNED_HOT_NULL;
				entry->key = value ? value->key : 0;
				entry->tid = value ? value->tid : nulls[e - nvalues];
				if (value)
					memcpy(LearnedHotTail(entry), LearnedEntryTail(value), shape->tail * sizeof(uint64));
				if (e < nvalues)
				{
					opaque->min_key = Min(opaque->min_key, entry->key);
					opaque->max_key = Max(opaque->max_key, entry->key);
				}
				else
					ranges[p].nulls++;
			}
			opaque->count = (uint16) (e - first);
			opaque->next = next;
			((PageHeader) page)->pd_lower = (char *) learned_hot_entry(page, opaque->count, shape->hot_stride) - (char *) page;
			ranges[p].min_key = opaque->min_key;
			ranges[p].max_key = opaque->max_key;
			ranges[p].blkno = BufferGetBlockNumber(buffer);
			ranges[p].count = opaque->count;
			learned_set_checksum(page);
			GenericXLogFinish(state);
			next = BufferGetBlockNumber(buffer);
			UnlockReleaseBuffer(buffer);
		}
		block_list_add_chain(index, &old, detach.head, detach.pages);

		metabuf = ReadBuffer(index, LEARNED_METAPAGE_BLKNO);
		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		xid = ReadNextFullTransactionId();
		state = GenericXLogStart(index);
		metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
		replace_detached(index, LearnedPageGetMeta(metapage), &detach, next, ranges, npages, (uint64) total);
		learned_set_checksum(metapage);
		GenericXLogFinish(state);
		UnlockReleaseBuffer(metabuf);
		for (i = 0; i < old.count; i++)
			learned_delete_page(index, old.blocks[i], xid);
		record_free(index, old.blocks, old.count);
	}
	UnlockPage(index, LEARNED_METAPAGE_BLKNO, ExclusiveLock);
	MemoryContextSwitchTo(old_cxt);
	MemoryContextDelete(cxt);
}

/*
 * Reads every block of the index (with merges held off by the caller) and works out which are
 * referenced. Pages are read first and the references walked after: a page seen in use was linked before
 * it was read, and only merges unlink pages. With record_free, blocks that are new or deleted and past
 * every snapshot go to the free space map.
 */
void
learned_page_census(Relation index, BufferAccessStrategy strategy, bool record_free, LearnedPageCensus *census)
{
	LearnedMetaPageData meta;
	LearnedModelRef *ref;
	BlockList	chains = {0};
	BlockNumber blkno;
	uint32		c;
	int			i;

	memset(census, 0, sizeof(LearnedPageCensus));
	census->nblocks = RelationGetNumberOfBlocks(index);
	census->live = palloc_extended(Max(census->nblocks, 1) * sizeof(LearnedLivePage), MCXT_ALLOC_HUGE);
	census->referenced = palloc_extended(Max(census->nblocks, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (blkno = LEARNED_METAPAGE_BLKNO + 1; blkno < census->nblocks; blkno++)
	{
		Buffer		buffer = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
		Page		page;
		LearnedPageOpaque opaque;

		vacuum_delay_point();
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		opaque = LearnedPageGetOpaque(page);
		if (PageIsNew(page) || learned_page_recyclable(page))
		{
			if (record_free)
				RecordFreeIndexPage(index, blkno);
			census->free++;
		}
		else if (!learned_page_is(page, LEARNED_PAGE_COLD | LEARNED_PAGE_MODEL | LEARNED_PAGE_HOT))
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("learned index \"%s\" block %u is not a page of this access method",
							RelationGetRelationName(index), blkno),
					 errhint("Rebuild it with REINDEX.")));
		else if (opaque->flags & LEARNED_PAGE_DELETED)
			census->deleted++;
		else
		{
			LearnedLivePage *live = &census->live[census->nlive++];

			live->blkno = blkno;
			live->flags = opaque->flags;
			live->overflow = (opaque->flags & LEARNED_PAGE_COLD) && !(opaque->flags & LEARNED_PAGE_PACKED) &&
				opaque->count == learned_shape(index)->plain_per_page ? opaque->next : InvalidBlockNumber;
		}
		UnlockReleaseBuffer(buffer);
	}

	learned_read_meta(index, &meta);
	ref = learned_pin_model(index, &meta);
	census->referenced[LEARNED_METAPAGE_BLKNO] = true;
	for (c = 0; c < ref->cold_pages; c++)
		if (ref->directory[c] < census->nblocks)
			census->referenced[ref->directory[c]] = true;
	learned_unpin_model(ref);
	for (i = 0; i < census->nlive; i++)
		if (census->referenced[census->live[i].blkno] && census->live[i].overflow < census->nblocks)
			census->referenced[census->live[i].overflow] = true;
	block_list_add_chain(index, &chains, meta.model_head, 0);
	block_list_add_chain(index, &chains, meta.hot_head, 0);
	for (i = 0; i < chains.count; i++)
		if (chains.blocks[i] < census->nblocks)
			census->referenced[chains.blocks[i]] = true;
}

/*
 * Merges past hot_limit (or when dead entries fill an eighth of the cold run), then hands deleted blocks
 * no snapshot can read to the free space map and reclaims blocks nothing references.
 */
IndexBulkDeleteResult *
learned_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;
	LearnedOptions *options = learned_options(index);
	LearnedMetaPageData meta;
	LearnedPageCensus census;
	BlockNumber nblocks;
	FullTransactionId xid;
	int			i;

	if (info->analyze_only)
		return stats;
	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	learned_read_meta(index, &meta);
	if (learned_merge_on_vacuum &&
		(learned_hot_entries(index, &meta) >= (uint64) options->hot_limit ||
		 (meta.cold_dead > 0 && meta.cold_dead * 8 >= meta.cold_count + meta.cold_nulls)))
		learned_merge_index(index, LEARNED_MERGE_VACUUM);

	/* Merges wait, so what references what holds still; inserts go on, linking only pages they initialise.
	 * Blocks nothing references (a merge cancelled before its switch, or one that crashed between its
	 * switch and marking the old blocks) are marked deleted, to be recycled as any other freed block. */
	LockPage(index, LEARNED_METAPAGE_BLKNO, ShareLock);
	learned_page_census(index, info->strategy, true, &census);
	xid = ReadNextFullTransactionId();
	for (i = 0; i < census.nlive; i++)
		if (!census.referenced[census.live[i].blkno])
		{
			learned_delete_page(index, census.live[i].blkno, xid);
			census.deleted++;
		}
	UnlockPage(index, LEARNED_METAPAGE_BLKNO, ShareLock);
	IndexFreeSpaceMapVacuum(index);
	stats->pages_free = census.free;
	stats->pages_deleted = census.deleted + census.free;
	nblocks = census.nblocks;

	learned_read_meta(index, &meta);
	stats->num_pages = nblocks;
	stats->num_index_tuples = (double) (meta.cold_count + meta.cold_nulls + learned_hot_entries(index, &meta));
	stats->estimated_count = true;
	return stats;
}
