/*
 * vacuum.c: VACUUM marks dead entries, merges the hot area into a new cold run past hot_limit, and
 * recycles the pages of old runs once no scan can still read them.
 */
#include "learned.h"

#include "access/genam.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

/*
 * Marks dead the entries of one cold page (packed, plain or overflow) whose heap tuples VACUUM removes,
 * in one WAL record; returns the overflow page a full plain page names, if any.
 */
static BlockNumber
mark_cold_page(Relation index, BlockNumber blkno, IndexVacuumInfo *info, IndexBulkDeleteCallback callback,
			   void *callback_state, IndexBulkDeleteResult *stats)
{
	Buffer		buffer = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
	Page		page;
	LearnedPageOpaque opaque;
	GenericXLogState *state = NULL;
	BlockNumber overflow = InvalidBlockNumber;
	int			slot;

	vacuum_delay_point();
	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buffer);
	opaque = LearnedPageGetOpaque(page);
	if (!(opaque->flags & LEARNED_PAGE_COLD))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("learned index \"%s\" block %u is not a cold page", RelationGetRelationName(index), blkno),
				 errhint("Rebuild it with REINDEX.")));
	for (slot = 0; slot < opaque->count; slot++)
	{
		bool		packed = (opaque->flags & LEARNED_PAGE_PACKED) != 0;
		uint8	   *dead = packed ? LearnedPackedDead(page) : LearnedPlainDead(page);
		ItemPointerData tid;

		if (LearnedBitIsSet(dead, slot))
			continue;
		if (packed)
			ItemPointerSet(&tid, LearnedPackedHead(page)->base_block + LearnedPackedBlocks(page)[slot],
						   LearnedPackedOffsets(page)[slot]);
		else
			tid = LearnedPlainTids(page)[slot];
		if (callback(&tid, callback_state))
		{
			if (state == NULL)
			{
				state = GenericXLogStart(index);
				page = GenericXLogRegisterBuffer(state, buffer, 0);
				opaque = LearnedPageGetOpaque(page);
				dead = packed ? LearnedPackedDead(page) : LearnedPlainDead(page);
			}
			LearnedBitSet(dead, slot);
			stats->tuples_removed += 1;
		}
		else
			stats->num_index_tuples += 1;
	}
	if (!(opaque->flags & LEARNED_PAGE_PACKED) && opaque->count == LEARNED_PLAIN_PER_PAGE)
		overflow = opaque->next;
	if (state)
		GenericXLogFinish(state);
	UnlockReleaseBuffer(buffer);
	return overflow;
}

/*
 * Marks dead every cold and hot entry whose heap tuple VACUUM removes, hinted or not: the mark is
 * WAL-logged because the heap TIDs may be reused, so a lost mark (on a standby, or after a crash) would
 * be a wrong answer.
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

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	/* Excludes merges, which would otherwise copy entries this pass is about to mark. */
	LockPage(index, LEARNED_METAPAGE_BLKNO, ShareLock);
	learned_read_meta(index, &meta);
	ref = learned_pin_model(index, &meta);
	PG_TRY();
	{
		for (page_index = 0; page_index < meta.cold_pages; page_index++)
		{
			BlockNumber overflow = mark_cold_page(index, ref->directory[page_index], info, callback,
												  callback_state, stats);

			if (overflow != InvalidBlockNumber)
				mark_cold_page(index, overflow, info, callback, callback_state, stats);
		}

		for (blkno = meta.hot_head; blkno != InvalidBlockNumber;)
		{
			Buffer		buffer = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
			Page		page;
			GenericXLogState *state = NULL;
			int			i;

			vacuum_delay_point();
			LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
			page = BufferGetPage(buffer);
			for (i = 0; i < LearnedPageGetOpaque(page)->count; i++)
			{
				LearnedHotEntry *entry = &LearnedHotEntries(page)[i];

				if (entry->flags & LEARNED_HOT_DEAD)
					continue;
				if (callback(&entry->tid, callback_state))
				{
					if (state == NULL)
					{
						state = GenericXLogStart(index);
						page = GenericXLogRegisterBuffer(state, buffer, 0);
						entry = &LearnedHotEntries(page)[i];
					}
					entry->flags |= LEARNED_HOT_DEAD;
					stats->tuples_removed += 1;
				}
				else
					stats->num_index_tuples += 1;
			}
			blkno = LearnedPageGetOpaque(page)->next;
			if (state)
				GenericXLogFinish(state);
			UnlockReleaseBuffer(buffer);
		}
	}
	PG_FINALLY();
	{
		learned_unpin_model(ref);
	}
	PG_END_TRY();
	UnlockPage(index, LEARNED_METAPAGE_BLKNO, ShareLock);
	return stats;
}

/* Gathers the hot entries VACUUM has not marked dead (hinted ones stay: a standby may still need them):
 * values sorted by (key, TID), NULLs in chain order. */
static LearnedKeyTid *
gather_hot(Relation index, const LearnedMetaPageData *meta, int64 *nvalues, ItemPointerData **nulls,
		   int64 *nnulls)
{
	uint64		hot_entries = learned_hot_entries(index, meta);
	LearnedKeyTid  *values = palloc_extended(Max(hot_entries, 1) * sizeof(LearnedKeyTid), MCXT_ALLOC_HUGE);
	ItemPointerData *null_tids = palloc_extended(Max(hot_entries, 1) * sizeof(ItemPointerData), MCXT_ALLOC_HUGE);
	BlockNumber blkno = meta->hot_head;

	*nvalues = 0;
	*nnulls = 0;
	while (blkno != InvalidBlockNumber)
	{
		Buffer		buffer = ReadBuffer(index, blkno);
		Page		page;
		int			i;

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		for (i = 0; i < LearnedPageGetOpaque(page)->count; i++)
		{
			LearnedHotEntry *entry = &LearnedHotEntries(page)[i];

			if (entry->flags & LEARNED_HOT_DEAD)
				continue;
			if ((uint64) (*nvalues + *nnulls) >= hot_entries)
				elog(ERROR, "learned index hot area holds more entries than its metapage counts");
			if (entry->flags & LEARNED_HOT_NULL)
				null_tids[(*nnulls)++] = entry->tid;
			else
			{
				values[*nvalues].key = entry->key;
				values[*nvalues].tid = entry->tid;
				(*nvalues)++;
			}
		}
		blkno = LearnedPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buffer);
	}
	if (*nvalues > 1)
		qsort(values, *nvalues, sizeof(LearnedKeyTid), learned_compare_key_tid);
	*nulls = null_tids;
	return values;
}

/* Collects the blocks of the old run (cold pages, model chain, hot chain) to free after the switch. */
static BlockNumber *
old_run_blocks(Relation index, const LearnedMetaPageData *meta, const LearnedModelRef *ref, int *count)
{
	int			capacity = meta->cold_pages + meta->hot_pages + 16;
	BlockNumber *blocks = palloc_extended(capacity * sizeof(BlockNumber), MCXT_ALLOC_HUGE);
	BlockNumber chains[2] = {meta->model_head, meta->hot_head};
	int			n = 0;
	int			c;

	for (c = 0; c < (int) meta->cold_pages; c++)
	{
		Buffer		buffer = ReadBuffer(index, ref->directory[c]);
		LearnedPageOpaque opaque;

		if (n + 2 > capacity)
		{
			capacity *= 2;
			blocks = repalloc_huge(blocks, capacity * sizeof(BlockNumber));
		}
		blocks[n++] = ref->directory[c];
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		opaque = LearnedPageGetOpaque(BufferGetPage(buffer));
		/* A plain group's overflow page goes with it. */
		if (!(opaque->flags & LEARNED_PAGE_PACKED) && opaque->next != InvalidBlockNumber)
			blocks[n++] = opaque->next;
		UnlockReleaseBuffer(buffer);
	}
	for (c = 0; c < 2; c++)
	{
		BlockNumber blkno = chains[c];

		while (blkno != InvalidBlockNumber)
		{
			Buffer		buffer = ReadBuffer(index, blkno);

			if (n == capacity)
			{
				capacity *= 2;
				blocks = repalloc_huge(blocks, capacity * sizeof(BlockNumber));
			}
			blocks[n++] = blkno;
			LockBuffer(buffer, BUFFER_LOCK_SHARE);
			blkno = LearnedPageGetOpaque(BufferGetPage(buffer))->next;
			UnlockReleaseBuffer(buffer);
		}
	}
	*count = n;
	return blocks;
}

/*
 * Merges the hot area into a new cold run: writes the run and its model to free blocks, switches the
 * metapage in one WAL record, then marks the old blocks deleted. Inserts wait (they take the page-0 lock
 * in share mode); scans go on reading whichever run the metapage named when they started. Returns the
 * entries in the new run.
 */
int64
learned_merge_index(Relation index)
{
	LearnedOptions *options = learned_options(index);
	LearnedMetaPageData meta;
	LearnedModelRef *ref;
	LearnedRunWriter writer;
	LearnedRunResult run;
	LearnedColdPageCopy *copy = palloc(sizeof(LearnedColdPageCopy));
	LearnedKeyTid  *hot;
	ItemPointerData *hot_nulls;
	int64		nhot,
				nhot_nulls,
				h = 0,
				position;
	BlockNumber *old_blocks;
	int			nold,
				i;
	Buffer		metabuf;
	GenericXLogState *state;
	LearnedMetaPage newmeta;
	FullTransactionId xid;

	LockPage(index, LEARNED_METAPAGE_BLKNO, ExclusiveLock);
	learned_read_meta(index, &meta);
	ref = learned_pin_model(index, &meta);
	copy->page_index = -1;
	PG_TRY();
	{
		hot = gather_hot(index, &meta, &nhot, &hot_nulls, &nhot_nulls);
		learned_writer_begin(&writer, index, options->model, options->epsilon, meta.cold_count + nhot, true);

		/* Merge the cold keys VACUUM has not marked dead with the hot keys; on equal keys, cold first, as
		 * scans order them. */
		for (position = 0; position < (int64) meta.cold_count; position++)
		{
			int			slot = learned_cold_slot(index, ref, copy, position);
			uint64		key = learned_copy_key(copy, slot);

			while (h < nhot && hot[h].key < key)
			{
				learned_writer_add(&writer, hot[h].key, &hot[h].tid, false);
				h++;
			}
			if (!learned_copy_dead(copy, slot, false))
			{
				ItemPointerData tid = learned_copy_tid(copy, slot);

				learned_writer_add(&writer, key, &tid, false);
			}
		}
		for (; h < nhot; h++)
			learned_writer_add(&writer, hot[h].key, &hot[h].tid, false);
		for (position = meta.cold_count; position < (int64) (meta.cold_count + meta.cold_nulls); position++)
		{
			int			slot = learned_cold_slot(index, ref, copy, position);

			if (!learned_copy_dead(copy, slot, false))
			{
				ItemPointerData tid = learned_copy_tid(copy, slot);

				learned_writer_add(&writer, 0, &tid, true);
			}
		}
		for (i = 0; i < nhot_nulls; i++)
			learned_writer_add(&writer, 0, &hot_nulls[i], true);
		learned_writer_finish(&writer, &run);

		old_blocks = old_run_blocks(index, &meta, ref, &nold);

		/* The switch: one WAL record makes the new run current. */
		metabuf = ReadBuffer(index, LEARNED_METAPAGE_BLKNO);
		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		state = GenericXLogStart(index);
		newmeta = LearnedPageGetMeta(GenericXLogRegisterBuffer(state, metabuf, 0));
		learned_set_meta_run(newmeta, &run, options->model);
		newmeta->generation++;
		newmeta->hot_head = InvalidBlockNumber;
		newmeta->hot_tail = InvalidBlockNumber;
		newmeta->hot_count = 0;
		newmeta->hot_pages = 0;
		GenericXLogFinish(state);
		UnlockReleaseBuffer(metabuf);

		/* Scans that started before the switch may still read the old blocks: free them for reuse only
		 * once every transaction running now has ended (checked by VACUUM). */
		xid = ReadNextFullTransactionId();
		for (i = 0; i < nold; i++)
			learned_delete_page(index, old_blocks[i], xid);
	}
	PG_FINALLY();
	{
		learned_unpin_model(ref);
	}
	PG_END_TRY();
	UnlockPage(index, LEARNED_METAPAGE_BLKNO, ExclusiveLock);
	return (int64) (run.values + run.nulls);
}

/* Merges past hot_limit, then returns deleted pages no scan can still read to the free space map. */
IndexBulkDeleteResult *
learned_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;
	LearnedOptions *options = learned_options(index);
	LearnedMetaPageData meta;
	BlockNumber nblocks,
				blkno;

	if (info->analyze_only)
		return stats;
	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	learned_read_meta(index, &meta);
	if (learned_merge_on_vacuum && learned_hot_entries(index, &meta) >= (uint64) options->hot_limit)
	{
		learned_merge_index(index);
		learned_read_meta(index, &meta);
	}

	nblocks = RelationGetNumberOfBlocks(index);
	stats->pages_free = 0;
	for (blkno = LEARNED_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buffer = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
		Page		page;
		bool		free_page;

		vacuum_delay_point();
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		free_page = PageIsNew(page) ||
			((LearnedPageGetOpaque(page)->flags & LEARNED_PAGE_DELETED) &&
			 GlobalVisCheckRemovableFullXid(NULL, LearnedPageGetOpaque(page)->deleted_xid));
		UnlockReleaseBuffer(buffer);
		if (free_page)
		{
			RecordFreeIndexPage(index, blkno);
			stats->pages_free++;
		}
	}
	IndexFreeSpaceMapVacuum(index);
	stats->num_pages = nblocks;
	stats->num_index_tuples = (double) (meta.cold_count + meta.cold_nulls + learned_hot_entries(index, &meta));
	stats->estimated_count = true;
	return stats;
}
