/*
 * scan.c: index scans. A scan turns its quals into sorted, disjoint key intervals (plus the NULL
 * section when nothing excludes NULLs), finds each interval's cold positions with the model and its hot
 * entries in a sorted copy of the hot area, and walks the merge of both in key order, either way.
 */
#include "learned.h"

#include "access/stratnum.h"
#include "access/xlog.h"
#include "catalog/pg_type_d.h"
#include "lib/qunique.h"
#include "miscadmin.h"
#include "nodes/tidbitmap.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/rel.h"

/* A hot entry copied out of its page, with its location for kill_prior_tuple. */
typedef struct HotItem
{
	LearnedKeyTid entry;		/* first, so learned_compare_key_tid sorts HotItems */
	BlockNumber blkno;
	uint16		offset;
} HotItem;

/* One key interval's entries: cold positions and indexes into the sorted hot copy. */
typedef struct ScanRange
{
	int64		cold_lo;
	int64		cold_hi;
	int			hot_lo;
	int			hot_hi;
	bool		nulls;			/* the NULL section: hot indexes refer to the NULL copy */
} ScanRange;

/* A position between two entries of the merged sequence, and the entry returned last. */
typedef struct ScanCursor
{
	bool		started;
	int			range;
	int64		cold;
	int			hot;
	bool		have_current;
	bool		current_cold;
	int64		current;		/* cold position or hot index of the entry returned last */
	ScanDirection last_dir;
} ScanCursor;

/* Unpins the model if the scan's memory goes away without endscan (an error). */
typedef struct PinGuard
{
	LearnedModelRef *ref;
	MemoryContextCallback callback;
} PinGuard;

typedef struct LearnedScanOpaqueData
{
	MemoryContext cxt;			/* per-rescan arrays */
	bool		prepared;
	Oid			typid;
	int			key_type;
	bool		lossy;			/* keys stand for their values in part: every match is rechecked */
	LearnedMetaPageData meta;
	PinGuard   *guard;
	ScanRange  *ranges;
	int			nranges;
	HotItem    *hot;
	int			nhot;
	HotItem    *hot_nulls;
	int			nhot_nulls;
	LearnedColdPageCopy *copy;
	bool		keep_pins;		/* index-only or non-MVCC: hold the pages returned from (README) */
	Buffer	   *hot_pins;		/* with keep_pins: the hot pages the copied entries came from */
	int			nhot_pins;
	ScanCursor	cursor;
	ScanCursor	mark;
	IndexTuple	value_itup;		/* index-only scans: one tuple per scan, its key overwritten */
	IndexTuple	null_itup;
} LearnedScanOpaqueData;

typedef LearnedScanOpaqueData *LearnedScanOpaque;

/* Drops the buffer pins a scan holds. */
static void
release_pins(LearnedScanOpaque so)
{
	int			i;

	learned_copy_release(so->copy);
	for (i = 0; i < so->nhot_pins; i++)
		ReleaseBuffer(so->hot_pins[i]);
	so->nhot_pins = 0;
}

static void
unpin_guard(void *arg)
{
	PinGuard   *guard = (PinGuard *) arg;

	if (guard->ref)
		learned_unpin_model(guard->ref);
	guard->ref = NULL;
}

/* Starts a scan. */
IndexScanDesc
learned_beginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	LearnedScanOpaque so = palloc0(sizeof(LearnedScanOpaqueData));

	so->cxt = AllocSetContextCreate(CurrentMemoryContext, "learned scan", ALLOCSET_DEFAULT_SIZES);
	so->typid = index->rd_opcintype[0];
	so->key_type = learned_key_type_of(so->typid);
	so->lossy = learned_key_is_lossy(so->typid);
	so->guard = palloc0(sizeof(PinGuard));
	so->guard->callback.func = unpin_guard;
	so->guard->callback.arg = so->guard;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &so->guard->callback);
	so->copy = palloc0(sizeof(LearnedColdPageCopy));
	scan->opaque = so;
	return scan;
}

/* Restarts a scan with new keys. */
void
learned_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;

	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	release_pins(so);
	unpin_guard(so->guard);
	MemoryContextReset(so->cxt);
	so->prepared = false;
	so->value_itup = NULL;
	so->null_itup = NULL;
	scan->xs_itup = NULL;
	so->ranges = NULL;
	so->nranges = 0;
	so->nhot = 0;
	so->nhot_nulls = 0;
	memset(&so->cursor, 0, sizeof(ScanCursor));
	memset(&so->mark, 0, sizeof(ScanCursor));
}

/* Ends a scan. */
void
learned_endscan(IndexScanDesc scan)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;

	release_pins(so);
	unpin_guard(so->guard);
	MemoryContextDelete(so->cxt);
	pfree(so->copy);
	/* A unique check begins a scan per insert: what one allocates goes back for the next (the guard
	 * stays, its callback registered until the memory it lives in goes). */
	pfree(so);
	scan->opaque = NULL;
}

static int
compare_uint64(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* The normalised, sorted, distinct non-null elements of an array scan key, each the first key of the
 * values equal to it (so that 0.0 and -0.0 are one element). */
static uint64 *
array_keys(ScanKey key, int *count)
{
	ArrayType  *array = DatumGetArrayTypeP(key->sk_argument);
	Oid			elemtype = ARR_ELEMTYPE(array);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	uint64	   *keys;
	int			n = 0;
	int			i;

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign, &elems, &nulls, &nelems);
	keys = palloc(Max(nelems, 1) * sizeof(uint64));
	for (i = 0; i < nelems; i++)
		if (!nulls[i])
		{
			uint64		hi;

			learned_key_equal_range(elemtype, learned_normalize(elemtype, elems[i]), &keys[n++], &hi);
		}
	if (n > 1)
	{
		qsort(keys, n, sizeof(uint64), compare_uint64);
		n = (int) qunique(keys, n, sizeof(uint64), compare_uint64);
	}
	*count = n;
	return keys;
}

/*
 * Narrows [lo, hi] by one comparison with a value of type typid and key `key`; false when nothing can
 * match. The value's equals (both zeros, every NaN) span the keys [first, last].
 */
static bool
apply_bound(StrategyNumber strategy, Oid typid, uint64 key, uint64 *lo, uint64 *hi)
{
	uint64		first,
				last;

	learned_key_equal_range(typid, key, &first, &last);
	switch (strategy)
	{
		case BTLessStrategyNumber:
			if (first == 0)
				return false;
			*hi = Min(*hi, first - 1);
			break;
		case BTLessEqualStrategyNumber:
			*hi = Min(*hi, last);
			break;
		case BTEqualStrategyNumber:
			*lo = Max(*lo, first);
			*hi = Min(*hi, last);
			break;
		case BTGreaterEqualStrategyNumber:
			*lo = Max(*lo, first);
			break;
		case BTGreaterStrategyNumber:
			if (last == PG_UINT64_MAX)
				return false;
			*lo = Max(*lo, last + 1);
			break;
		default:
			elog(ERROR, "unexpected strategy number %d", strategy);
	}
	return *lo <= *hi;
}

/* The index of the first hot item with key >= key. */
static int
hot_lower_bound(const HotItem *items, int n, uint64 key)
{
	int			lo = 0,
				hi = n;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (items[mid].entry.key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Copies the metapage and, under the same lock, picks the hot pages that can hold a match: the sealed
 * pages the directory lists whose key range meets [lo, hi] (or that hold NULLs, when NULLs are wanted),
 * then every page of the chain from the first unlisted one (or the tail alone) to its end.
 */
static BlockNumber *
read_meta_and_hot_pages(IndexScanDesc scan, uint64 lo, uint64 hi, bool want_values, bool want_nulls, int *npages,
						BlockNumber *chain)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	Buffer		buffer = ReadBuffer(scan->indexRelation, LEARNED_METAPAGE_BLKNO);
	LearnedMetaPage meta;
	BlockNumber *pages;
	uint32		i;

	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	/* The blocks it names are checked against the index's size only when read (collect_hot_page). */
	learned_check_meta(scan->indexRelation, BufferGetPage(buffer), InvalidBlockNumber);
	meta = LearnedPageGetMeta(BufferGetPage(buffer));
	memcpy(&so->meta, meta, LEARNED_META_HEADER_SIZE);
	pages = palloc((meta->hot_listed + 1) * sizeof(BlockNumber));
	*npages = 0;
	for (i = 0; i < meta->hot_listed; i++)
	{
		LearnedHotRange *range = &meta->hot_ranges[i];

		if ((want_values && range->count > range->nulls && range->min_key <= hi && range->max_key >= lo) ||
			(want_nulls && range->nulls > 0))
			pages[(*npages)++] = range->blkno;
	}
	/* The tail, unless a merge sealed it and the directory lists it. */
	*chain = meta->hot_unlisted != InvalidBlockNumber ? meta->hot_unlisted :
		meta->hot_listed > 0 && meta->hot_ranges[meta->hot_listed - 1].blkno == meta->hot_tail ?
		InvalidBlockNumber : meta->hot_tail;
	UnlockReleaseBuffer(buffer);
	return pages;
}

/* Copies the live entries of hot page blkno that can match; returns the next page of the chain. */
static BlockNumber
collect_hot_page(IndexScanDesc scan, BlockNumber blkno, BlockNumber nblocks, uint64 lo, uint64 hi, bool want_values,
				 bool want_nulls, int *capacity, int *null_capacity)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	Buffer		buffer;
	Page		page;
	LearnedPageOpaque opaque;
	LearnedHotEntry *entries;
	BlockNumber next;
	bool		values_here;
	int			copied_before = so->nhot + so->nhot_nulls;
	int			count;
	int			i;

	learned_check_block(scan->indexRelation, blkno, nblocks, "hot page");
	buffer = ReadBuffer(scan->indexRelation, blkno);
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buffer);
	learned_check_page(scan->indexRelation, blkno, page, LEARNED_PAGE_HOT, so->meta.generation);
	opaque = LearnedPageGetOpaque(page);
	entries = LearnedHotEntries(page);
	/* A sealed page's key range lets it be skipped without looking at its entries. */
	values_here = want_values &&
		(!(opaque->flags & LEARNED_PAGE_SEALED) || (opaque->min_key <= hi && opaque->max_key >= lo));
	count = LearnedHotCount(page);
	i = 0;
	/* A sorted page's values ascend: start at the first that can match (a unique check reads one). */
	if (values_here && !want_nulls && (opaque->flags & LEARNED_PAGE_SORTED))
	{
		int			high = count;

		while (i < high)
		{
			int			middle = i + (high - i) / 2;

			if (!(entries[middle].flags & LEARNED_HOT_NULL) && entries[middle].key < lo)
				i = middle + 1;
			else
				high = middle;
		}
	}
	for (; i < count && (values_here || want_nulls); i++)
	{
		LearnedHotEntry *entry = &entries[i];
		HotItem    *item;

		/* Most entries of a page a point lookup reads miss its range: that test comes first. */
		if (!want_nulls && (entry->key < lo || entry->key > hi))
		{
			if ((opaque->flags & LEARNED_PAGE_SORTED) && entry->key > hi)
				break;
			continue;
		}
		if ((entry->flags & LEARNED_HOT_DEAD) ||
			(!scan->xactStartedInRecovery && LearnedBitIsSet(LearnedHotHints(page), i)))
			continue;
		if (entry->flags & LEARNED_HOT_NULL)
		{
			if (!want_nulls)
				continue;
			if (so->nhot_nulls == *null_capacity)
			{
				*null_capacity *= 2;
				so->hot_nulls = repalloc_huge(so->hot_nulls, *null_capacity * sizeof(HotItem));
			}
			item = &so->hot_nulls[so->nhot_nulls++];
		}
		else
		{
			if (!values_here || entry->key < lo || entry->key > hi)
				continue;
			if (so->nhot == *capacity)
			{
				*capacity *= 2;
				so->hot = repalloc_huge(so->hot, *capacity * sizeof(HotItem));
			}
			item = &so->hot[so->nhot++];
		}
		item->entry.key = entry->key;
		item->entry.tid = entry->tid;
		item->blkno = blkno;
		item->offset = (uint16) i;
	}
	next = opaque->next;
	LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
	/* The copies stay valid for VACUUM only while the page they came from stays pinned (README). */
	if (so->keep_pins && (so->nhot + so->nhot_nulls) > copied_before)
		so->hot_pins[so->nhot_pins++] = buffer;
	else
		ReleaseBuffer(buffer);
	return next;
}

/* Reads the metapage and copies the live hot entries that can match into sorted arrays. */
static void
collect_hot(IndexScanDesc scan, uint64 lo, uint64 hi, bool want_values, bool want_nulls)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	int			capacity = 64,
				null_capacity = 16;
	int			npages,
				i;
	uint32		walked = 0;
	BlockNumber chain;
	BlockNumber *pages = read_meta_and_hot_pages(scan, lo, hi, want_values, want_nulls, &npages, &chain);
	BlockNumber nblocks = npages > 0 || chain != InvalidBlockNumber ?
		RelationGetNumberOfBlocks(scan->indexRelation) : 0;

	so->hot = palloc(capacity * sizeof(HotItem));
	so->hot_nulls = palloc(null_capacity * sizeof(HotItem));
	/* At most every hot page the metapage counts, plus the tail. */
	so->hot_pins = palloc((so->meta.hot_pages + 1) * sizeof(Buffer));
	so->nhot_pins = 0;
	if (want_values || want_nulls)
	{
		for (i = 0; i < npages; i++)
			collect_hot_page(scan, pages[i], nblocks, lo, hi, want_values, want_nulls, &capacity, &null_capacity);
		/* Up to the tail the metapage named: pages linked after it hold only entries newer than the
		 * scan's snapshot, and may belong to a later run. */
		while (chain != InvalidBlockNumber)
		{
			BlockNumber blkno = chain;

			if ((uint64) npages + ++walked > so->meta.hot_pages)
				ereport(ERROR,
						(errcode(ERRCODE_INDEX_CORRUPTED),
						 errmsg("learned index \"%s\" has a hot chain longer than its metapage counts",
								RelationGetRelationName(scan->indexRelation)),
						 errhint("Rebuild it with REINDEX.")));
			chain = collect_hot_page(scan, blkno, nblocks, lo, hi, want_values, want_nulls, &capacity,
									 &null_capacity);
			if (blkno == so->meta.hot_tail)
				break;
			CHECK_FOR_INTERRUPTS();
		}
	}
	if (so->nhot > 1)
		qsort(so->hot, so->nhot, sizeof(HotItem), learned_compare_key_tid);
}

/* Turns the scan keys into ranges of cold positions and hot items. */
static void
prepare_scan(IndexScanDesc scan)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	MemoryContext old = MemoryContextSwitchTo(so->cxt);
	bool		want_values = true;
	bool		want_nulls = true;
	uint64		lo = 0,
				hi = PG_UINT64_MAX;
	uint64	   *points = NULL;
	int			npoints = -1;
	int			i;

	for (i = 0; i < scan->numberOfKeys; i++)
	{
		ScanKey		key = &scan->keyData[i];

		if (key->sk_flags & SK_ISNULL)
		{
			if (key->sk_flags & SK_SEARCHNULL)
				want_values = false;
			else if (key->sk_flags & SK_SEARCHNOTNULL)
				want_nulls = false;
			else
				want_values = want_nulls = false;	/* a comparison with NULL matches nothing */
			continue;
		}
		want_nulls = false;
		if (key->sk_flags & SK_SEARCHARRAY)
		{
			int			n;
			uint64	   *keys = array_keys(key, &n);

			if (n == 0)
				want_values = false;
			else if (key->sk_strategy == BTEqualStrategyNumber)
			{
				if (npoints < 0)
				{
					points = keys;
					npoints = n;
				}
				else
				{
					/* Two arrays on one column: keep the keys in both. */
					int			a = 0,
								b = 0,
								m = 0;

					while (a < npoints && b < n)
					{
						if (points[a] < keys[b])
							a++;
						else if (points[a] > keys[b])
							b++;
						else
						{
							points[m++] = points[a];
							a++;
							b++;
						}
					}
					npoints = m;
				}
			}
			/* col < ANY(array) is col < max(array); col > ANY(array) is col > min(array). */
			else if (!apply_bound(key->sk_strategy, so->typid,
								  key->sk_strategy < BTEqualStrategyNumber ? keys[n - 1] : keys[0], &lo, &hi))
				want_values = false;
		}
		else
		{
			Oid			argtype = OidIsValid(key->sk_subtype) ? key->sk_subtype : so->typid;

			if (!apply_bound(key->sk_strategy, argtype, learned_normalize(argtype, key->sk_argument), &lo, &hi))
				want_values = false;
		}
	}
	if (npoints == 0)
		want_values = false;

	pgstat_count_index_scan(index);
	so->keep_pins = scan->xs_want_itup || (scan->xs_snapshot != InvalidSnapshot && !IsMVCCSnapshot(scan->xs_snapshot));
	collect_hot(scan, lo, hi, want_values, want_nulls);
	so->guard->ref = learned_pin_model(index, &so->meta);
	learned_copy_init(so->copy, so->guard->ref, so->keep_pins);

	so->ranges = palloc((Max(npoints, 1) + 1) * sizeof(ScanRange));
	so->nranges = 0;
	if (want_values)
	{
		int			n = npoints < 0 ? 1 : npoints;

		for (i = 0; i < n; i++)
		{
			uint64		first = lo;
			uint64		last = hi;
			ScanRange  *range;

			/* A point is its equals' keys, within the bounds. */
			if (npoints >= 0)
			{
				learned_key_equal_range(so->typid, points[i], &first, &last);
				first = Max(first, lo);
				last = Min(last, hi);
				if (first > last)
					continue;
			}
			range = &so->ranges[so->nranges++];
			range->nulls = false;
			range->cold_lo = learned_cold_lower_bound(index, so->guard->ref, &so->meta, so->copy, first);
			range->cold_hi = last == PG_UINT64_MAX ? (int64) so->meta.cold_count :
				learned_cold_lower_bound(index, so->guard->ref, &so->meta, so->copy, last + 1);
			range->hot_lo = hot_lower_bound(so->hot, so->nhot, first);
			range->hot_hi = last == PG_UINT64_MAX ? so->nhot : hot_lower_bound(so->hot, so->nhot, last + 1);
		}
	}
	if (want_nulls)
	{
		ScanRange  *range = &so->ranges[so->nranges++];

		range->nulls = true;
		range->cold_lo = (int64) so->meta.cold_count;
		range->cold_hi = (int64) (so->meta.cold_count + so->meta.cold_nulls);
		range->hot_lo = 0;
		range->hot_hi = so->nhot_nulls;
	}
	so->prepared = true;
	MemoryContextSwitchTo(old);
}

/* Loads the cold entry at position: its key, TID, and whether this scan must skip it as dead. */
static void
cold_entry(IndexScanDesc scan, int64 position, uint64 *key, ItemPointerData *tid, bool *dead)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	int			slot = learned_cold_slot(scan->indexRelation, so->guard->ref, so->copy, position);

	*key = learned_copy_key(so->copy, slot);
	*tid = learned_copy_tid(so->copy, slot);
	*dead = learned_copy_dead(so->copy, slot, !scan->xactStartedInRecovery);
}

/* Whether slot `slot` of a cold page (packed, plain or overflow) points to tid. */
static bool
cold_slot_tid_is(Page page, int slot, ItemPointer tid)
{
	ItemPointerData here;

	if (LearnedPageGetOpaque(page)->flags & LEARNED_PAGE_PACKED)
		ItemPointerSet(&here, LearnedPackedHead(page)->base_block + LearnedPackedBlocks(page)[slot],
					   LearnedPackedOffsets(page)[slot]);
	else
		here = LearnedPlainTids(page)[slot];
	return ItemPointerEquals(&here, tid);
}

/* Hints that the entry returned last is dead to everyone: set under a share lock, not WAL-logged. */
static void
kill_current(IndexScanDesc scan)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	ScanCursor *cursor = &so->cursor;
	ScanRange  *range = &so->ranges[cursor->range];
	Buffer		buffer;
	Page		page;

	if (cursor->current_cold)
	{
		int64		page_index = cursor->current / LEARNED_COLD_PER_PAGE;
		int			slot;

		buffer = learned_cold_slot_page(scan->indexRelation, so->guard->ref->directory[page_index],
										(int) (cursor->current % LEARNED_COLD_PER_PAGE), BUFFER_LOCK_SHARE, &slot);
		if (!BufferIsValid(buffer))
			return;
		page = BufferGetPage(buffer);
		/* Only the entry returned: a page that changed since is left alone. */
		if (cold_slot_tid_is(page, slot, &scan->xs_heaptid))
		{
			LearnedBitSet((LearnedPageGetOpaque(page)->flags & LEARNED_PAGE_PACKED) ? LearnedPackedHints(page)
						  : LearnedPlainHints(page), slot);
			MarkBufferDirtyHint(buffer, true);
		}
	}
	else
	{
		HotItem    *item = range->nulls ? &so->hot_nulls[cursor->current] : &so->hot[cursor->current];
		LearnedHotEntry *entry;

		buffer = ReadBuffer(scan->indexRelation, item->blkno);
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		entry = &LearnedHotEntries(page)[item->offset];
		if ((LearnedPageGetOpaque(page)->flags & LEARNED_PAGE_HOT) && item->offset < LearnedHotCount(page) &&
			ItemPointerEquals(&entry->tid, &item->entry.tid))
		{
			LearnedBitSet(LearnedHotHints(page), item->offset);
			MarkBufferDirtyHint(buffer, true);
		}
	}
	UnlockReleaseBuffer(buffer);
}

/* Moves the cursor one live entry in dir; false at the end. */
static bool
step(IndexScanDesc scan, ScanDirection dir, uint64 *key, ItemPointerData *tid, bool *isnull)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	ScanCursor *cursor = &so->cursor;
	bool		forward = ScanDirectionIsForward(dir);

	for (;;)
	{
		ScanRange  *range = &so->ranges[cursor->range];
		HotItem    *hot = range->nulls ? so->hot_nulls : so->hot;
		bool		has_cold = forward ? cursor->cold < range->cold_hi : cursor->cold > range->cold_lo;
		bool		has_hot = forward ? cursor->hot < range->hot_hi : cursor->hot > range->hot_lo;
		int64		cold_position = forward ? cursor->cold : cursor->cold - 1;
		int			hot_index = forward ? cursor->hot : cursor->hot - 1;
		uint64		cold_key = 0;
		ItemPointerData cold_tid;
		bool		dead = false;
		bool		take_cold;

		if (!has_cold && !has_hot)
		{
			int			next = cursor->range + (forward ? 1 : -1);

			if (next < 0 || next >= so->nranges)
				return false;
			cursor->range = next;
			range = &so->ranges[next];
			cursor->cold = forward ? range->cold_lo : range->cold_hi;
			cursor->hot = forward ? range->hot_lo : range->hot_hi;
			continue;
		}
		if (has_cold)
			cold_entry(scan, cold_position, &cold_key, &cold_tid, &dead);
		/* Equal keys: cold entries come before hot ones, and the NULL section is cold then hot. */
		if (forward)
			take_cold = has_cold && (!has_hot || range->nulls || cold_key <= hot[hot_index].entry.key);
		else
			take_cold = has_cold && !(has_hot && (range->nulls || hot[hot_index].entry.key >= cold_key));
		if (take_cold)
		{
			cursor->cold += forward ? 1 : -1;
			if (dead)
			{
				/* A long run of dead entries is walked a group at a time, each one interruptible. */
				if (cold_position % LEARNED_COLD_PER_PAGE == 0)
					CHECK_FOR_INTERRUPTS();
				continue;
			}
			cursor->current_cold = true;
			cursor->current = cold_position;
			*key = cold_key;
			*tid = cold_tid;
		}
		else
		{
			cursor->hot += forward ? 1 : -1;
			cursor->current_cold = false;
			cursor->current = hot_index;
			*key = hot[hot_index].entry.key;
			*tid = hot[hot_index].entry.tid;
		}
		*isnull = range->nulls;
		return true;
	}
}

/*
 * The index tuple of an index-only scan. Returned keys are fixed-width and by value (amcanreturn allows
 * integers and datetimes only), so one tuple is formed per scan and its key overwritten in place,
 * instead of a palloc per row.
 */
static IndexTuple
returned_tuple(IndexScanDesc scan, uint64 key, bool isnull)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	TupleDesc	desc = RelationGetDescr(scan->indexRelation);
	Datum		value = isnull ? (Datum) 0 : learned_denormalize(so->key_type, key);
	IndexTuple *slot = isnull ? &so->null_itup : &so->value_itup;

	scan->xs_itupdesc = desc;
	if (*slot == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(so->cxt);

		*slot = index_form_tuple(desc, &value, &isnull);
		MemoryContextSwitchTo(old);
	}
	else if (!isnull)
		store_att_byval((char *) *slot + IndexInfoFindDataOffset((*slot)->t_info), value,
						TupleDescAttr(desc, 0)->attlen);
	return *slot;
}

/* Returns the next matching entry in dir. */
bool
learned_gettuple(IndexScanDesc scan, ScanDirection dir)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	ScanCursor *cursor = &so->cursor;
	uint64		key;
	ItemPointerData tid;
	bool		isnull;

	if (!so->prepared)
		prepare_scan(scan);
	if (scan->kill_prior_tuple && cursor->have_current)
		kill_current(scan);
	if (so->nranges == 0)
		return false;

	if (!cursor->started)
	{
		ScanRange  *range = &so->ranges[ScanDirectionIsForward(dir) ? 0 : so->nranges - 1];

		cursor->started = true;
		cursor->range = ScanDirectionIsForward(dir) ? 0 : so->nranges - 1;
		cursor->cold = ScanDirectionIsForward(dir) ? range->cold_lo : range->cold_hi;
		cursor->hot = ScanDirectionIsForward(dir) ? range->hot_lo : range->hot_hi;
	}
	else if (cursor->have_current && dir != cursor->last_dir)
	{
		/* Turning around: step over the entry returned last, so the next one is its neighbour. */
		if (cursor->current_cold)
			cursor->cold = ScanDirectionIsForward(dir) ? cursor->current + 1 : cursor->current;
		else
			cursor->hot = ScanDirectionIsForward(dir) ? (int) cursor->current + 1 : (int) cursor->current;
	}

	if (!step(scan, dir, &key, &tid, &isnull))
	{
		cursor->have_current = false;
		return false;
	}
	cursor->have_current = true;
	cursor->last_dir = dir;
	scan->xs_heaptid = tid;
	/* A lossy key (a uuid's leading bits) may stand for other values too. */
	scan->xs_recheck = !isnull && so->lossy;
	if (scan->xs_want_itup)
		scan->xs_itup = returned_tuple(scan, key, isnull);
	return true;
}

/* Adds every matching entry to the bitmap. */
int64
learned_getbitmap(IndexScanDesc scan, TIDBitmap *tbm)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	int64		count = 0;
	int			r;

	if (!so->prepared)
		prepare_scan(scan);
	for (r = 0; r < so->nranges; r++)
	{
		ScanRange  *range = &so->ranges[r];
		HotItem    *hot = range->nulls ? so->hot_nulls : so->hot;
		int64		position;
		int			i;

		for (position = range->cold_lo; position < range->cold_hi; position++)
		{
			uint64		key;
			ItemPointerData tid;
			bool		dead;

			cold_entry(scan, position, &key, &tid, &dead);
			if (!dead)
			{
				tbm_add_tuples(tbm, &tid, 1, !range->nulls && so->lossy);
				count++;
			}
			if (position % LEARNED_COLD_PER_PAGE == 0)
				CHECK_FOR_INTERRUPTS();
		}
		for (i = range->hot_lo; i < range->hot_hi; i++)
		{
			tbm_add_tuples(tbm, &hot[i].entry.tid, 1, !range->nulls && so->lossy);
			count++;
			if (i % LEARNED_HOT_PER_PAGE == 0)
				CHECK_FOR_INTERRUPTS();
		}
		CHECK_FOR_INTERRUPTS();
	}
	return count;
}

/* Remembers the position (merge joins). */
void
learned_markpos(IndexScanDesc scan)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;

	so->mark = so->cursor;
}

/* Returns to the remembered position. */
void
learned_restrpos(IndexScanDesc scan)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;

	so->cursor = so->mark;
}

/*
 * Index-only scans return the key, rebuilt bit for bit from its normalised form (floats too: -0.0 and
 * NaN payloads have keys of their own); a lossy key (uuid) cannot be. Not on a standby: replay of GenericXLog records takes no cleanup
 * lock, so the pin that keeps an index-only scan exact on the primary would not hold VACUUM's replay
 * back there (README).
 */
bool
learned_canreturn(Relation index, int attno)
{
	return attno == 1 && !learned_key_is_lossy(index->rd_opcintype[0]) && !RecoveryInProgress();
}
