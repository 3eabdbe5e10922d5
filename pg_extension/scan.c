/*
 * scan.c: index scans. A scan turns its quals into sorted, disjoint key intervals (plus the NULL
 * section when nothing excludes NULLs), finds each interval's cold positions with the model and its hot
 * entries in a sorted copy of the hot area, and walks the merge of both in key order, either way. On
 * several columns, the intervals come from the leading columns' equalities and the next column's range,
 * as btree's do, and every entry inside them is checked against each column's quals.
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
#include "utils/uuid.h"

/* A hot entry copied out of its page, with its location for kill_prior_tuple; its key's tail words
 * follow it (so->hot_stride bytes in all). */
typedef struct HotItem
{
	LearnedKeyTid entry;
	BlockNumber blkno;
	uint16		offset;
} HotItem;

#define HotItemTail(item) ((uint64 *) ((HotItem *) (item) + 1))

/* The values one column's quals allow, as field values of a composite key: an interval, or NULL. */
typedef struct FieldInterval
{
	bool		null;
	uint128		lo;
	uint128		hi;
} FieldInterval;

typedef struct ColumnFilter
{
	FieldInterval *intervals;	/* ascending, disjoint, NULL last */
	int			count;
	bool		constrained;	/* some qual names the column */
} ColumnFilter;

/* What one column's quals allow, in normalised keys: values in [lo, hi] (or at the points), NULLs. */
typedef struct ColumnBounds
{
	bool		want_values;
	bool		want_nulls;
	uint64		lo;
	uint64		hi;
	uint64	   *points;			/* -1 npoints: no equality list */
	int			npoints;
	bool		constrained;
} ColumnBounds;

/* One key interval's entries: cold positions and indexes into the sorted hot copy. */
typedef struct ScanRange
{
	int64		cold_lo;
	int64		cold_hi;
	int			hot_lo;
	int			hot_hi;
	bool		nulls;			/* the NULL section: hot indexes refer to the NULL copy */
	uint64		first;			/* its keys (not the NULL section): layout = 'heap' finds the rows the */
	uint64		last;			/* heap model covers by them */
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
	MemoryContext tuple_cxt;	/* index-only scans of composite keys: the tuple returned last */
	bool		prepared;
	Oid			typid;
	int			key_type;
	const LearnedKeyShape *shape;
	int			hot_stride;		/* bytes per HotItem with its tail */
	bool		lossy;			/* keys stand for their values in part: every match is rechecked */
	ColumnFilter filters[LEARNED_MAX_COLUMNS];	/* composite keys */
	bool		filtered;		/* the key intervals hold entries the filters reject */
	uint64		current[LEARNED_MAX_WORDS];	/* the key returned last */
	PinGuard   *guard;
	ScanRange  *ranges;
	int			nranges;
	char	   *hot;			/* HotItems, hot_stride bytes apart */
	int			nhot;
	char	   *hot_nulls;
	int			nhot_nulls;
	LearnedColdPageCopy *copy;
	bool		keep_pins;		/* index-only or non-MVCC: hold the pages returned from (README) */
	Buffer	   *hot_pins;		/* with keep_pins: the hot pages the copied entries came from */
	int			nhot_pins;
	ScanCursor	cursor;
	ScanCursor	mark;
	IndexTuple	value_itup;		/* index-only scans: one tuple per scan, its key overwritten */
	uint32		value_pattern;	/* composite keys: the NULL columns of value_itup, a bit each, */
	uint64		value_key[LEARNED_MAX_WORDS];	/* the key it holds, */
	Size		value_offsets[LEARNED_MAX_COLUMNS];	/* and where each column's datum lies in it */
	IndexTuple	null_itup;
	LearnedMetaPageData meta;	/* last: only its fields before the hot directory, and the heap model's, are read */
} LearnedScanOpaqueData;

/* What learned_beginscan zeroes: all but the metapage's hot directory, 6 kB a scan never reads. */
#define LEARNED_SCAN_ZEROED (offsetof(LearnedScanOpaqueData, meta) + LEARNED_META_HEADER_SIZE)

#define HotAt(so, array, i) ((HotItem *) ((array) + (Size) (i) * (so)->hot_stride))

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
	LearnedScanOpaque so = palloc(sizeof(LearnedScanOpaqueData));

	memset(so, 0, LEARNED_SCAN_ZEROED);
	so->cxt = AllocSetContextCreate(CurrentMemoryContext, "learned scan", ALLOCSET_DEFAULT_SIZES);
	so->typid = index->rd_opcintype[0];
	so->key_type = learned_key_type_of(so->typid);
	so->shape = learned_shape(index);
	so->hot_stride = sizeof(HotItem) + so->shape->tail * sizeof(uint64);
	/* A uuid column of a composite key holds all 128 bits. */
	so->lossy = !so->shape->composite && learned_key_is_lossy(so->typid);
	so->guard = palloc0(sizeof(PinGuard));
	so->guard->callback.func = unpin_guard;
	so->guard->callback.arg = so->guard;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &so->guard->callback);
	/* Not zeroed (its two pages are 16 kB, per scan and per unique check): it holds no group yet. */
	so->copy = palloc(sizeof(LearnedColdPageCopy));
	so->copy->page_index = -1;
	so->copy->pins[0] = so->copy->pins[1] = InvalidBuffer;
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
	so->tuple_cxt = NULL;
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

/* Orders uuid field values. */
static int
compare_fields(const void *a, const void *b)
{
	uint128		x = *(const uint128 *) a;
	uint128		y = *(const uint128 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Keeps in the sorted, distinct array a (na elements of `width` bytes) those also in b; returns how many. */
static int
intersect_sorted(void *a, int na, const void *b, int nb, size_t width, int (*compare) (const void *, const void *))
{
	char	   *x = (char *) a;
	const char *y = (const char *) b;
	int			i = 0,
				j = 0,
				kept = 0;

	while (i < na && j < nb)
	{
		int			order = compare(x + i * width, y + j * width);

		if (order < 0)
			i++;
		else if (order > 0)
			j++;
		else
		{
			memmove(x + kept++ * width, x + i * width, width);
			i++;
			j++;
		}
	}
	return kept;
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

/* qsort_arg order of HotItems: by key (with its tail, *(int *) tail words), then by TID. */
static int
compare_hot_items(const void *a, const void *b, void *tail)
{
	const HotItem *x = (const HotItem *) a;
	const HotItem *y = (const HotItem *) b;
	int			order = learned_compare_keys(x->entry.key, HotItemTail(x), y->entry.key, HotItemTail(y), *(int *) tail);

	if (order != 0)
		return order;
	return ItemPointerCompare((ItemPointer) &x->entry.tid, (ItemPointer) &y->entry.tid);
}

/* The index of the first sorted hot item whose key is >= (key, tail). */
static int
hot_lower_bound(LearnedScanOpaque so, uint64 key, const uint64 *tail)
{
	int			lo = 0,
				hi = so->nhot;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;
		HotItem    *item = HotAt(so, so->hot, mid);

		if (learned_compare_keys(item->entry.key, HotItemTail(item), key, tail, so->shape->tail) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Copies the metapage and, under the same lock, picks the hot pages that can hold a match: the sealed
 * pages the directory lists whose key range meets [lo, hi] (or that hold NULLs, when NULLs are wanted),
 * then every page of the chain from the first unlisted one (or the tail alone) to its end. Ranges are
 * of keys' first words.
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
	learned_copy_meta_heap(&so->meta, meta);
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
	const LearnedKeyShape *shape = so->shape;
	Buffer		buffer;
	Page		page;
	LearnedPageOpaque opaque;
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
	/* A sealed page's key range lets it be skipped without looking at its entries. */
	values_here = want_values &&
		(!(opaque->flags & LEARNED_PAGE_SEALED) || (opaque->min_key <= hi && opaque->max_key >= lo));
	count = learned_hot_count(page, shape);
	i = 0;
	/* A sorted page's values ascend: start at the first that can match (a unique check reads one). */
	if (values_here && !want_nulls && (opaque->flags & LEARNED_PAGE_SORTED))
	{
		int			high = count;

		while (i < high)
		{
			int			middle = i + (high - i) / 2;
			LearnedHotEntry *entry = learned_hot_entry(page, middle, shape->hot_stride);

			if (!(entry->flags & LEARNED_HOT_NULL) && entry->key < lo)
				i = middle + 1;
			else
				high = middle;
		}
	}
	for (; i < count && (values_here || want_nulls); i++)
	{
		LearnedHotEntry *entry = learned_hot_entry(page, i, shape->hot_stride);
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
				so->hot_nulls = repalloc_huge(so->hot_nulls, (Size) *null_capacity * so->hot_stride);
			}
			item = HotAt(so, so->hot_nulls, so->nhot_nulls++);
		}
		else
		{
			if (!values_here || entry->key < lo || entry->key > hi)
				continue;
			if (so->nhot == *capacity)
			{
				*capacity *= 2;
				so->hot = repalloc_huge(so->hot, (Size) *capacity * so->hot_stride);
			}
			item = HotAt(so, so->hot, so->nhot++);
		}
		item->entry.key = entry->key;
		item->entry.tid = entry->tid;
		item->blkno = blkno;
		item->offset = (uint16) i;
		memcpy(HotItemTail(item), LearnedHotTail(entry), shape->tail * sizeof(uint64));
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

	so->hot = palloc((Size) capacity * so->hot_stride);
	so->hot_nulls = palloc((Size) null_capacity * so->hot_stride);
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
		qsort_arg(so->hot, so->nhot, so->hot_stride, compare_hot_items, (void *) &so->shape->tail);
}

/*
 * What the quals on column `column` (of type typid) allow, in normalised keys. A comparison with NULL
 * allows nothing; IS NULL and IS NOT NULL decide on NULLs; arrays of = give points.
 */
static void
column_bounds(IndexScanDesc scan, int column, Oid typid, ColumnBounds *bounds)
{
	int			i;

	bounds->want_values = true;
	bounds->want_nulls = true;
	bounds->lo = 0;
	bounds->hi = PG_UINT64_MAX;
	bounds->points = NULL;
	bounds->npoints = -1;
	bounds->constrained = false;
	for (i = 0; i < scan->numberOfKeys; i++)
	{
		ScanKey		key = &scan->keyData[i];

		if (key->sk_attno != column + 1)
			continue;
		bounds->constrained = true;
		if (key->sk_flags & SK_ISNULL)
		{
			if (key->sk_flags & SK_SEARCHNULL)
				bounds->want_values = false;
			else if (key->sk_flags & SK_SEARCHNOTNULL)
				bounds->want_nulls = false;
			else
				bounds->want_values = bounds->want_nulls = false;	/* a comparison with NULL matches nothing */
			continue;
		}
		bounds->want_nulls = false;
		if (key->sk_flags & SK_SEARCHARRAY)
		{
			int			n;
			uint64	   *keys = array_keys(key, &n);

			if (n == 0)
				bounds->want_values = false;
			else if (key->sk_strategy == BTEqualStrategyNumber)
			{
				if (bounds->npoints < 0)
				{
					bounds->points = keys;
					bounds->npoints = n;
				}
				else
					/* Two arrays on one column: keep the keys in both. */
					bounds->npoints = intersect_sorted(bounds->points, bounds->npoints, keys, n, sizeof(uint64),
													   compare_uint64);
			}
			/* col < ANY(array) is col < max(array); col > ANY(array) is col > min(array). */
			else if (!apply_bound(key->sk_strategy, typid,
								  key->sk_strategy < BTEqualStrategyNumber ? keys[n - 1] : keys[0],
								  &bounds->lo, &bounds->hi))
				bounds->want_values = false;
		}
		else
		{
			Oid			argtype = OidIsValid(key->sk_subtype) ? key->sk_subtype : typid;

			if (!apply_bound(key->sk_strategy, argtype, learned_normalize(argtype, key->sk_argument),
							 &bounds->lo, &bounds->hi))
				bounds->want_values = false;
		}
	}
	if (bounds->npoints == 0)
		bounds->want_values = false;
}

/* The field value of a uuid. */
static uint128
uuid_field(Datum value)
{
	const uint8 *bytes = DatumGetUUIDP(value)->data;
	uint128		field = 0;
	int			i;

	for (i = 0; i < UUID_LEN; i++)
		field = (field << 8) | bytes[i];
	return field;
}

/*
 * The sorted, distinct uuids a composite key's uuid column must equal (its operator class has only =):
 * false when none can match. Every = names one; arrays of = name several, and two of them keep those
 * in both.
 */
static bool
uuid_points(IndexScanDesc scan, int column, uint128 **points, int *npoints)
{
	int			i;

	*npoints = -1;
	for (i = 0; i < scan->numberOfKeys; i++)
	{
		ScanKey		key = &scan->keyData[i];
		uint128    *these;
		int			n = 0;

		if (key->sk_attno != column + 1 || (key->sk_flags & SK_ISNULL))
			continue;
		if (key->sk_flags & SK_SEARCHARRAY)
		{
			ArrayType  *array = DatumGetArrayTypeP(key->sk_argument);
			Datum	   *elems;
			bool	   *nulls;
			int			nelems,
						e;

			deconstruct_array(array, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &elems, &nulls, &nelems);
			these = palloc(Max(nelems, 1) * sizeof(uint128));
			for (e = 0; e < nelems; e++)
				if (!nulls[e])
					these[n++] = uuid_field(elems[e]);
			if (n > 1)
			{
				qsort(these, n, sizeof(uint128), compare_fields);
				n = (int) qunique(these, n, sizeof(uint128), compare_fields);
			}
		}
		else
		{
			these = palloc(sizeof(uint128));
			these[n++] = uuid_field(key->sk_argument);
		}
		if (*npoints < 0)
		{
			*points = these;
			*npoints = n;
		}
		else
			*npoints = intersect_sorted(*points, *npoints, these, n, sizeof(uint128), compare_fields);
	}
	return *npoints != 0;
}

/*
 * Appends the field interval of the normalised keys [lo, hi] to column `column`'s list, clipped to the
 * keys its type can hold (integers narrower than 64 bits hold the middle of the key space).
 */
static void
add_key_interval(const LearnedKeyShape *shape, int column, uint64 lo, uint64 hi, ColumnFilter *filter)
{
	int			width = shape->widths[column];
	FieldInterval *interval;

	if (width < 64)
	{
		uint64		first = (UINT64CONST(1) << 63) - (UINT64CONST(1) << (width - 1));
		uint64		last = first + ((UINT64CONST(1) << width) - 1);

		if (hi < first || lo > last)
			return;
		lo = Max(lo, first);
		hi = Min(hi, last);
	}
	interval = &filter->intervals[filter->count++];
	interval->null = false;
	interval->lo = learned_field_of(shape, column, lo);
	interval->hi = learned_field_of(shape, column, hi);
}

/* Column `column`'s quals as a list of field intervals. */
static void
column_filter(IndexScanDesc scan, int column, ColumnFilter *filter)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	const LearnedKeyShape *shape = so->shape;
	Oid			typid = shape->typids[column];
	ColumnBounds bounds;
	int			i;

	column_bounds(scan, column, typid, &bounds);
	filter->constrained = bounds.constrained;
	filter->count = 0;
	if (typid == UUIDOID)
	{
		uint128    *points = NULL;
		int			npoints;

		if (!bounds.want_values || !uuid_points(scan, column, &points, &npoints))
			npoints = 0;
		filter->intervals = palloc((Max(npoints, 1) + 1) * sizeof(FieldInterval));
		if (npoints < 0)
		{
			filter->intervals[filter->count].null = false;
			filter->intervals[filter->count].lo = 0;
			filter->intervals[filter->count++].hi = ~(uint128) 0;
		}
		for (i = 0; i < npoints; i++)
		{
			filter->intervals[filter->count].null = false;
			filter->intervals[filter->count].lo = points[i];
			filter->intervals[filter->count++].hi = points[i];
		}
	}
	else
	{
		filter->intervals = palloc((Max(bounds.npoints, 1) + 1) * sizeof(FieldInterval));
		if (bounds.want_values && bounds.npoints < 0)
			add_key_interval(shape, column, bounds.lo, bounds.hi, filter);
		for (i = 0; bounds.want_values && i < bounds.npoints; i++)
		{
			uint64		first,
						last;

			/* A point is its equals' keys, within the bounds. */
			learned_key_equal_range(typid, bounds.points[i], &first, &last);
			first = Max(first, bounds.lo);
			last = Min(last, bounds.hi);
			if (first <= last)
				add_key_interval(shape, column, first, last, filter);
		}
	}
	if (bounds.want_nulls)
	{
		filter->intervals[filter->count].null = true;
		filter->intervals[filter->count].lo = 0;
		filter->intervals[filter->count++].hi = 0;
	}
}

/* Whether a composite key passes every constrained column's intervals. */
static bool
composite_matches(LearnedScanOpaque so, uint64 key, const uint64 *tail)
{
	const LearnedKeyShape *shape = so->shape;
	uint64		words[LEARNED_MAX_WORDS];
	int			c;

	words[0] = key;
	learned_copy_words(words + 1, tail, shape->tail);
	for (c = 0; c < shape->natts; c++)
	{
		const ColumnFilter *filter = &so->filters[c];
		bool		isnull;
		uint128		value;
		int			lo = 0,
					hi = filter->count;

		if (!filter->constrained)
			continue;
		learned_key_field(shape, words, c, &isnull, &value);
		if (isnull)
		{
			if (filter->count == 0 || !filter->intervals[filter->count - 1].null)
				return false;
			continue;
		}
		/* The first value interval whose end is >= value. */
		while (lo < hi)
		{
			int			mid = lo + (hi - lo) / 2;

			if (!filter->intervals[mid].null && filter->intervals[mid].hi < value)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == filter->count || filter->intervals[lo].null || filter->intervals[lo].lo > value)
			return false;
	}
	return true;
}

/* Adds one to a key of `words` words (never all ones: a composite key leaves its top bits zero). */
static void
key_increment(uint64 *words, int nwords)
{
	int			w;

	for (w = nwords - 1; w >= 0; w--)
		if (++words[w] != 0)
			break;
}

/* The most key intervals the leading columns' points are multiplied into. */
#define LEARNED_MAX_INTERVALS 4096

/* Turns the quals on a composite key into key intervals and per-column filters, then finds their entries. */
static void
prepare_composite(IndexScanDesc scan)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	const LearnedKeyShape *shape = so->shape;
	int			nwords = shape->words;
	uint64	   *los = palloc0(nwords * sizeof(uint64));
	uint64	   *his = palloc0(nwords * sizeof(uint64));
	int			count = 1;
	bool		expanding = true;
	uint64		first_lo = PG_UINT64_MAX,
				last_hi = 0;
	int			c,
				r;

	for (c = 0; c < shape->natts; c++)
	{
		ColumnFilter *filter = &so->filters[c];

		column_filter(scan, c, filter);
		if (filter->count == 0)
			count = 0;
	}
	so->filtered = false;
	/* Each interval of the leading columns (points while they are points), the rest of the key open. */
	for (c = 0; c < shape->natts && count > 0; c++)
	{
		ColumnFilter *filter = &so->filters[c];
		int			n = expanding && (Size) count * filter->count <= LEARNED_MAX_INTERVALS ? filter->count : 1;
		uint64	   *new_los = palloc0((Size) count * n * nwords * sizeof(uint64));
		uint64	   *new_his = palloc0((Size) count * n * nwords * sizeof(uint64));
		bool		points = true;
		int			i,
					j;

		for (j = 0; j < filter->count; j++)
			points &= filter->intervals[j].null || filter->intervals[j].lo == filter->intervals[j].hi;
		for (i = 0; i < count; i++)
			for (j = 0; j < n; j++)
			{
				uint64	   *lo = new_los + ((Size) i * n + j) * nwords;
				uint64	   *hi = new_his + ((Size) i * n + j) * nwords;
				FieldInterval first,
							last;

				memcpy(lo, los + (Size) i * nwords, nwords * sizeof(uint64));
				memcpy(hi, his + (Size) i * nwords, nwords * sizeof(uint64));
				if (!expanding)
				{
					/* Open: from the smallest value to NULL. */
					first.null = false;
					first.lo = 0;
					last.null = true;
					last.hi = 0;
				}
				else if (n == filter->count)
					first = last = filter->intervals[j];
				else
				{
					/* Too many: the hull of the column's intervals. */
					first = filter->intervals[0];
					last = filter->intervals[filter->count - 1];
				}
				learned_put_field(shape, lo, c, first.null, first.null ? 0 : first.lo);
				learned_put_field(shape, hi, c, last.null, last.null ? 0 : last.hi);
			}
		/* The intervals are exact up to the column whose quals they last took whole. */
		if (expanding ? n != filter->count : filter->constrained)
			so->filtered = true;
		count *= n;
		los = new_los;
		his = new_his;
		if (!points || n != filter->count)
			expanding = false;
	}

	for (r = 0; r < count; r++)
	{
		first_lo = Min(first_lo, los[(Size) r * nwords]);
		last_hi = Max(last_hi, his[(Size) r * nwords]);
	}
	collect_hot(scan, first_lo, last_hi, count > 0, false);
	so->guard->ref = learned_pin_model(index, &so->meta);
	learned_copy_init(so->copy, so->guard->ref, so->keep_pins);
	so->ranges = palloc0((count + 1) * sizeof(ScanRange));
	so->nranges = 0;
	for (r = 0; r < count; r++)
	{
		ScanRange  *range = &so->ranges[so->nranges++];
		uint64	   *lo = los + (Size) r * nwords;
		uint64	   *hi = his + (Size) r * nwords;

		range->nulls = false;
		range->cold_lo = learned_cold_lower_bound(index, so->guard->ref, &so->meta, so->copy, lo[0], lo + 1);
		range->hot_lo = hot_lower_bound(so, lo[0], lo + 1);
		key_increment(hi, nwords);
		range->cold_hi = learned_cold_lower_bound_from(index, so->guard->ref, &so->meta, so->copy, range->cold_lo,
													   hi[0], hi + 1);
		range->hot_hi = hot_lower_bound(so, hi[0], hi + 1);
	}
}

/* layout = 'heap': adds to the bitmap the heap positions where each run of the heap model has its rows
 * of keys [first, last], block by block, each to be rechecked. Returns how many. */
static int64
add_heap_positions(TIDBitmap *tbm, const LearnedModelRef *ref, uint64 first, uint64 last, uint32 stride)
{
	ItemPointerData tids[MaxHeapTuplesPerPage];
	int64		count = 0;
	int			run;

	for (run = 0; run < ref->heap_nruns; run++)
	{
		uint64		position,
					hi;

		learned_heap_window(ref->heap_runs[run], first, last, &position, &hi);
		count += (int64) (hi - Min(position, hi));
		while (position < hi)
		{
			BlockNumber blkno = (BlockNumber) (position / stride);
			uint64		end = Min(hi, ((uint64) blkno + 1) * stride);
			int			n = 0;

			for (; position < end; position++, n++)
				ItemPointerSet(&tids[n], blkno, (OffsetNumber) (position % stride + 1));
			tbm_add_tuples(tbm, tids, n, true);
			CHECK_FOR_INTERRUPTS();
		}
	}
	return count;
}

/* Turns the scan keys into ranges of cold positions and hot items. */
static void
prepare_scan(IndexScanDesc scan)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	MemoryContext old = MemoryContextSwitchTo(so->cxt);
	ColumnBounds bounds;
	int			i;

	pgstat_count_index_scan(index);
	so->keep_pins = scan->xs_want_itup || (scan->xs_snapshot != InvalidSnapshot && !IsMVCCSnapshot(scan->xs_snapshot));
	if (so->shape->composite)
	{
		prepare_composite(scan);
		so->prepared = true;
		MemoryContextSwitchTo(old);
		return;
	}
	column_bounds(scan, 0, so->typid, &bounds);
	collect_hot(scan, bounds.lo, bounds.hi, bounds.want_values, bounds.want_nulls);
	so->guard->ref = learned_pin_model(index, &so->meta);
	learned_copy_init(so->copy, so->guard->ref, so->keep_pins);

	so->ranges = palloc((Max(bounds.npoints, 1) + 1) * sizeof(ScanRange));
	so->nranges = 0;
	if (bounds.want_values)
	{
		int			n = bounds.npoints < 0 ? 1 : bounds.npoints;

		for (i = 0; i < n; i++)
		{
			uint64		first = bounds.lo;
			uint64		last = bounds.hi;
			uint64		above;
			ScanRange  *range;

			/* A point is its equals' keys, within the bounds. */
			if (bounds.npoints >= 0)
			{
				learned_key_equal_range(so->typid, bounds.points[i], &first, &last);
				first = Max(first, bounds.lo);
				last = Min(last, bounds.hi);
				if (first > last)
					continue;
			}
			above = last + 1;
			range = &so->ranges[so->nranges++];
			range->nulls = false;
			range->cold_lo = learned_cold_lower_bound(index, so->guard->ref, &so->meta, so->copy, first, NULL);
			range->cold_hi = last == PG_UINT64_MAX ? (int64) so->meta.cold_count :
				learned_cold_lower_bound_from(index, so->guard->ref, &so->meta, so->copy, range->cold_lo, above, NULL);
			range->hot_lo = hot_lower_bound(so, first, NULL);
			range->hot_hi = last == PG_UINT64_MAX ? so->nhot : hot_lower_bound(so, above, NULL);
			range->first = first;
			range->last = last;
		}
	}
	if (bounds.want_nulls)
	{
		ScanRange  *range = &so->ranges[so->nranges++];

		range->nulls = true;
		range->cold_lo = (int64) so->meta.cold_count;
		range->cold_hi = (int64) (so->meta.cold_count + so->meta.cold_nulls);
		range->hot_lo = 0;
		range->hot_hi = so->nhot_nulls;
		range->first = range->last = 0;
	}
	so->prepared = true;
	MemoryContextSwitchTo(old);
}

/* Loads the cold entry at position of range: its key and tail, TID, and whether this scan must skip it as
 * dead. A load copies the range's part of the group. */
static pg_attribute_always_inline void
cold_entry(IndexScanDesc scan, const ScanRange *range, int64 position, uint64 *key, const uint64 **tail,
		   ItemPointerData *tid, bool *dead)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	int			slot = learned_cold_slot_in(scan->indexRelation, so->guard->ref, so->copy, position, range->cold_lo,
											range->cold_hi);

	*dead = learned_copy_entry(so->copy, slot, !scan->xactStartedInRecovery, key, tail, tid);
}

/* Hints that the entry returned last is dead to everyone: set under a share lock, not WAL-logged. */
static void
kill_current(IndexScanDesc scan)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	const LearnedKeyShape *shape = so->shape;
	ScanCursor *cursor = &so->cursor;
	ScanRange  *range = &so->ranges[cursor->range];
	Buffer		buffer;
	Page		page;

	if (cursor->current_cold)
	{
		int64		page_index = cursor->current / shape->group_size;
		int			slot;
		ItemPointerData here;

		buffer = learned_cold_slot_page(scan->indexRelation, so->guard->ref->directory[page_index],
										(int) (cursor->current % shape->group_size), BUFFER_LOCK_SHARE, &slot);
		if (!BufferIsValid(buffer))
			return;
		page = BufferGetPage(buffer);
		here = learned_cold_page_tid(page, shape, slot);
		/* Only the entry returned: a page that changed since is left alone. */
		if (ItemPointerEquals(&here, &scan->xs_heaptid))
		{
			LearnedBitSet(learned_cold_hint_bits(page, shape), slot);
			MarkBufferDirtyHint(buffer, true);
		}
	}
	else
	{
		HotItem    *item = HotAt(so, range->nulls ? so->hot_nulls : so->hot, cursor->current);
		LearnedHotEntry *entry;

		buffer = ReadBuffer(scan->indexRelation, item->blkno);
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		entry = learned_hot_entry(page, item->offset, shape->hot_stride);
		if ((LearnedPageGetOpaque(page)->flags & LEARNED_PAGE_HOT) && item->offset < learned_hot_count(page, shape) &&
			ItemPointerEquals(&entry->tid, &item->entry.tid))
		{
			LearnedBitSet(LearnedHotHints(page), item->offset);
			MarkBufferDirtyHint(buffer, true);
		}
	}
	UnlockReleaseBuffer(buffer);
}

/* Moves the cursor one live, matching entry in dir, leaving its key in so->current; false at the end. */
static bool
step(IndexScanDesc scan, ScanDirection dir, ItemPointerData *tid, bool *isnull)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	const LearnedKeyShape *shape = so->shape;
	ScanCursor *cursor = &so->cursor;
	bool		forward = ScanDirectionIsForward(dir);

	for (;;)
	{
		ScanRange  *range = &so->ranges[cursor->range];
		char	   *hot = range->nulls ? so->hot_nulls : so->hot;
		bool		has_cold = forward ? cursor->cold < range->cold_hi : cursor->cold > range->cold_lo;
		bool		has_hot = forward ? cursor->hot < range->hot_hi : cursor->hot > range->hot_lo;
		int64		cold_position = forward ? cursor->cold : cursor->cold - 1;
		int			hot_index = forward ? cursor->hot : cursor->hot - 1;
		HotItem    *hot_item = has_hot ? HotAt(so, hot, hot_index) : NULL;
		uint64		cold_key = 0;
		const uint64 *cold_tail = NULL;
		ItemPointerData cold_tid;
		bool		dead = false;
		bool		take_cold;
		int			order = 0;

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
			cold_entry(scan, range, cold_position, &cold_key, &cold_tail, &cold_tid, &dead);
		if (has_cold && has_hot && !range->nulls)
			order = learned_compare_keys(cold_key, cold_tail, hot_item->entry.key, HotItemTail(hot_item), shape->tail);
		/* Equal keys: cold entries come before hot ones, and the NULL section is cold then hot. */
		if (forward)
			take_cold = has_cold && (!has_hot || range->nulls || order <= 0);
		else
			take_cold = has_cold && !(has_hot && (range->nulls || order <= 0));
		if (take_cold)
		{
			cursor->cold += forward ? 1 : -1;
			if (dead || (so->filtered && !composite_matches(so, cold_key, cold_tail)))
			{
				/* A long run of dead entries is walked a group at a time, each one interruptible. */
				if (cold_position % shape->group_size == 0)
					CHECK_FOR_INTERRUPTS();
				continue;
			}
			cursor->current_cold = true;
			cursor->current = cold_position;
			so->current[0] = cold_key;
			learned_copy_words(so->current + 1, cold_tail, shape->tail);
			*tid = cold_tid;
		}
		else
		{
			cursor->hot += forward ? 1 : -1;
			if (so->filtered && !composite_matches(so, hot_item->entry.key, HotItemTail(hot_item)))
				continue;
			cursor->current_cold = false;
			cursor->current = hot_index;
			so->current[0] = hot_item->entry.key;
			learned_copy_words(so->current + 1, HotItemTail(hot_item), shape->tail);
			*tid = hot_item->entry.tid;
		}
		*isnull = range->nulls;
		return true;
	}
}

/* Stores column c's field value in an index-only tuple's data at its offset. */
static void
store_field(LearnedScanOpaque so, TupleDesc desc, char *data, int c, uint128 field)
{
	if (so->shape->typids[c] == UUIDOID)
	{
		int			i;

		for (i = UUID_LEN - 1; i >= 0; i--)
		{
			data[so->value_offsets[c] + i] = (char) (uint8) field;
			field >>= 8;
		}
	}
	else
		store_att_byval(data + so->value_offsets[c], learned_field_datum(so->shape, c, field),
						TupleDescAttr(desc, c)->attlen);
}

/*
 * The index tuple of an index-only scan for the composite key returned last. Every column is of fixed
 * width, so the tuple formed for one pattern of NULL columns is overwritten in place for the next row
 * with that pattern, only in the columns whose key words changed (one device's readings change only
 * the time); another pattern forms a new one.
 */
static IndexTuple
composite_tuple(IndexScanDesc scan)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	const LearnedKeyShape *shape = so->shape;
	TupleDesc	desc = RelationGetDescr(scan->indexRelation);
	bool		nulls[LEARNED_MAX_COLUMNS];
	uint128		fields[LEARNED_MAX_COLUMNS];
	Datum		values[LEARNED_MAX_COLUMNS];
	MemoryContext old;
	Size		offset = 0;
	int			c;

	if (so->value_itup != NULL)
	{
		char	   *data = (char *) so->value_itup + IndexInfoFindDataOffset(so->value_itup->t_info);
		int			w = 0;

		/* The columns whose bits all lie before the first key word that changed keep their values. */
		while (w < shape->words && so->current[w] == so->value_key[w])
			w++;
		for (c = 0; c < shape->natts && shape->last_word[c] < w; c++)
			;
		for (; c < shape->natts; c++)
		{
			learned_key_field(shape, so->current, c, &nulls[c], &fields[c]);
			if (nulls[c] != ((so->value_pattern >> c) & 1))
				break;
			/* A folded float is not returned (learned_canreturn), and its folded NaN may be no float4. */
			if (!nulls[c] && !shape->folds[c])
				store_field(so, desc, data, c, fields[c]);
		}
		if (c == shape->natts)
		{
			learned_copy_words(so->value_key, so->current, shape->words);
			return so->value_itup;
		}
	}
	if (so->tuple_cxt == NULL)
		so->tuple_cxt = AllocSetContextCreate(so->cxt, "learned scan tuple", ALLOCSET_SMALL_SIZES);
	MemoryContextReset(so->tuple_cxt);
	old = MemoryContextSwitchTo(so->tuple_cxt);
	so->value_pattern = 0;
	for (c = 0; c < shape->natts; c++)
	{
		learned_key_field(shape, so->current, c, &nulls[c], &fields[c]);
		so->value_pattern |= (uint32) nulls[c] << c;
		values[c] = nulls[c] || shape->folds[c] ? (Datum) 0 : learned_field_datum(shape, c, fields[c]);
		if (nulls[c])
			continue;
		offset = att_align_nominal(offset, TupleDescAttr(desc, c)->attalign);
		so->value_offsets[c] = offset;
		offset += TupleDescAttr(desc, c)->attlen;
	}
	so->value_itup = index_form_tuple(desc, values, nulls);
	learned_copy_words(so->value_key, so->current, shape->words);
	MemoryContextSwitchTo(old);
	return so->value_itup;
}

/*
 * The index tuple of an index-only scan. A one-column key is fixed-width and by value, so one tuple is
 * formed per scan and its key overwritten in place, instead of a palloc per row.
 */
static IndexTuple
returned_tuple(IndexScanDesc scan, bool isnull)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	const LearnedKeyShape *shape = so->shape;
	TupleDesc	desc = RelationGetDescr(scan->indexRelation);
	Datum		value;
	IndexTuple *slot = isnull ? &so->null_itup : &so->value_itup;

	scan->xs_itupdesc = desc;
	if (shape->composite)
		return composite_tuple(scan);
	value = isnull ? (Datum) 0 : learned_denormalize(so->key_type, so->current[0]);
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
	ItemPointerData tid;
	bool		isnull;

	if (!so->prepared)
		prepare_scan(scan);
	/* The planner plans only bitmap scans on the heap layout (learned_get_relation_info). */
	if (so->meta.heap_bytes > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("learned index \"%s\" with layout = 'heap' supports bitmap scans only",
						RelationGetRelationName(scan->indexRelation)),
				 errhint("Its rows are found by heap position, not in key order; use the default layout for ordered scans.")));
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

	if (!step(scan, dir, &tid, &isnull))
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
		scan->xs_itup = returned_tuple(scan, isnull);
	return true;
}

/* Adds every matching entry to the bitmap. */
int64
learned_getbitmap(IndexScanDesc scan, TIDBitmap *tbm)
{
	LearnedScanOpaque so = (LearnedScanOpaque) scan->opaque;
	const LearnedKeyShape *shape = so->shape;
	int64		count = 0;
	int			r;

	if (!so->prepared)
		prepare_scan(scan);
	for (r = 0; r < so->nranges; r++)
	{
		ScanRange  *range = &so->ranges[r];
		char	   *hot = range->nulls ? so->hot_nulls : so->hot;
		int64		position;
		int			i;

		for (position = range->cold_lo; position < range->cold_hi; position++)
		{
			uint64		key;
			const uint64 *tail;
			ItemPointerData tid;
			bool		dead;

			cold_entry(scan, range, position, &key, &tail, &tid, &dead);
			if (!dead && (!so->filtered || composite_matches(so, key, tail)))
			{
				tbm_add_tuples(tbm, &tid, 1, !range->nulls && so->lossy);
				count++;
			}
			if (position % shape->group_size == 0)
				CHECK_FOR_INTERRUPTS();
		}
		for (i = range->hot_lo; i < range->hot_hi; i++)
		{
			HotItem    *item = HotAt(so, hot, i);

			if (so->filtered && !composite_matches(so, item->entry.key, HotItemTail(item)))
				continue;
			tbm_add_tuples(tbm, &item->entry.tid, 1, !range->nulls && so->lossy);
			count++;
			if (i % shape->hot_per_page == 0)
				CHECK_FOR_INTERRUPTS();
		}
		if (!range->nulls)
			count += add_heap_positions(tbm, so->guard->ref, range->first, range->last, so->meta.heap_stride);
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
 * NaN payloads have keys of their own); a lossy key (a uuid alone, by its leading 64 bits) cannot be;
 * a composite key holds every column whole, except floats before its last column (folded to their first
 * equal's key). Not on a standby: replay of GenericXLog records takes no cleanup lock, so the pin that
 * keeps an index-only scan exact on the primary would not hold VACUUM's replay back there (README).
 */
bool
learned_canreturn(Relation index, int attno)
{
	const LearnedKeyShape *shape = learned_shape(index);

	if (RecoveryInProgress() || learned_options(index)->heap_layout)
		return false;
	if (shape->composite)
		return !shape->folds[attno - 1];
	return !learned_key_is_lossy(index->rd_opcintype[0]);
}
