/*
 * build.c: CREATE INDEX (sort, train in chunks, write pages), the empty index of unlogged tables, and the
 * run writer that merges reuse.
 */
#include "learned.h"

#include "access/genam.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_index.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type_d.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/smgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplesort.h"
#include "utils/typcache.h"

/* Build phases reported in pg_stat_progress_create_index. */
#define LEARNED_PHASE_LOAD		2
#define LEARNED_PHASE_TRAIN		3

/* Rows the heap layout's build looks ahead of each row to judge whether it follows key order, and the
 * rows it passes to the heap model at once. */
#define LEARNED_HEAP_LOOKAHEAD	16
#define LEARNED_HEAP_BATCH		256
/* Room for a batch and the rows of one more heap page, which wait until their page has been read. */
#define LEARNED_HEAP_PENDING	(LEARNED_HEAP_BATCH + MaxHeapTuplesPerPage)
/* The fewest rows a new run of the heap model covers: each run costs every scan a window of heap rows. */
#define LEARNED_HEAP_RUN_MIN	1024
/* Heap pages read to find how many line pointers a page holds. */
#define LEARNED_HEAP_STRIDE_SAMPLE 64

/*
 * What the table scan collects. Entries stay in memory while they fit in maintenance_work_mem (with room
 * for a radix sort's second buffer), and already-sorted input (a time series) needs no sort at all; past
 * that they go to a tuplesort, which spills to disk.
 */
typedef struct LearnedBuildState
{
	Oid			typid;
	const LearnedKeyShape *shape;
	double		tuples;
	LearnedKeyTid *items;		/* non-null entries, in memory (each followed by its tail words) */
	int64		nitems;
	int64		capacity;
	int64		limit;			/* entries that fit in memory */
	bool		ascending;		/* items arrived in key order */
	ItemPointerData *nulls;
	int64		nnulls;
	int64		null_capacity;
	Tuplesortstate *sort;		/* once spilled */
	TupleDesc	sortdesc;
	TupleTableSlot *slot;		/* what goes into the sort */
	bool		unique;			/* CREATE UNIQUE INDEX: live entries must not repeat a key */
	Tuplesortstate *live_values;	/* a unique index of lossy keys: the live values, which must not repeat */
	ItemPointerData *dead;		/* rows the scan found dead, which may repeat a key; sorted after the scan */
	int64		ndead;
	int64		dead_capacity;
	bool		have_live;		/* the key of the last live entry written, for the unique check */
	uint64		live_key[LEARNED_MAX_WORDS];
	bool		have_bounds;	/* composite keys: the smallest and largest seen */
	uint64		min_key[LEARNED_MAX_WORDS];
	uint64		max_key[LEARNED_MAX_WORDS];
	LearnedSwiftHandles *heap;	/* layout = 'heap': its heap_builder judges the rows in heap order */
	uint32		heap_stride;	/* a row's heap position is block * heap_stride + line pointer - 1 */
	uint64		heap_keys[LEARNED_HEAP_PENDING];	/* rows waiting to go to the heap model, */
	uint64		heap_positions[LEARNED_HEAP_PENDING];
	int			heap_pending;
	int			heap_block_start;	/* where the rows of heap_block begin among them */
	BlockNumber heap_block;
	uint64		explicit_keys[LEARNED_HEAP_PENDING];	/* and the rows it hands back, */
	uint64		explicit_positions[LEARNED_HEAP_PENDING];
	uint64		heap_epsilon;
	uint64	   *left_keys;		/* kept, in heap order, for the runs after the first (up to left_limit) */
	uint64	   *left_positions;
	int64		nleft;
	int64		left_capacity;
	int64		left_limit;
	bool		left_overflowed;	/* more than left_limit: they went to the entries, no further run */
	uint64		heap_covered;	/* once the scan ends: the rows the heap model covers, the last run's */
	uint64		heap_last_key;	/* largest key, */
	char	   *heap_bytes;		/* and its runs, serialised one after another (NULL when it covers none) */
	uint32		heap_length;
	uint32		heap_runs;
} LearnedBuildState;

/* Names the build phases for pg_stat_progress_create_index. */
char *
learned_buildphasename(int64 phase)
{
	switch (phase)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case LEARNED_PHASE_LOAD:
			return "scanning and sorting table";
		case LEARNED_PHASE_TRAIN:
			return "training model and writing pages";
	}
	return NULL;
}

/* Frees the Swift handles of a writer abandoned by an error. */
static void
writer_cleanup(void *arg)
{
	LearnedSwiftHandles *handles = (LearnedSwiftHandles *) arg;

	if (handles->builder)
		omen_builder_free(handles->builder);
	if (handles->model)
		omen_model_free(handles->model);
	if (handles->heap_builder)
		omen_heap_builder_free(handles->heap_builder);
	handles->builder = NULL;
	handles->model = NULL;
	handles->heap_builder = NULL;
}

/* The RMI leaf count for a run: about 128 keys per leaf. */
static int
rmi_leaves(uint64 keys)
{
	return (int) Max(1, Min(keys / 128, 1 << 20));
}

/* Starts a run of about `expected` non-null keys, learned with model_kind; a composite run's bounds
 * (its smallest and largest keys, or wider ones) are known before it is written. */
void
learned_writer_begin(LearnedRunWriter *writer, Relation index, int model_kind, int epsilon, uint64 expected,
					 bool use_wal, uint64 generation, const LearnedRunBounds *bounds)
{
	uint64		param = model_kind == OMEN_MODEL_PGM ? (uint64) epsilon :
		model_kind == OMEN_MODEL_RMI ? (uint64) rmi_leaves(expected) : 0;

	memset(writer, 0, sizeof(LearnedRunWriter));
	writer->index = index;
	writer->generation = generation;
	writer->use_wal = use_wal;
	writer->model_kind = model_kind;
	writer->param = (uint32) param;
	writer->shape = learned_shape(index);
	if (writer->shape->composite)
		writer->bounds = *bounds;
	writer->keys = palloc(writer->shape->group_size * sizeof(uint64));
	writer->tails = palloc(Max(writer->shape->group_size * writer->shape->tail, 1) * sizeof(uint64));
	writer->images = palloc(writer->shape->group_size * sizeof(uint64));
	writer->tids = palloc(writer->shape->group_size * sizeof(ItemPointerData));
	writer->directory_size = 64;
	writer->directory = palloc(writer->directory_size * sizeof(BlockNumber));
	writer->handles = palloc0(sizeof(LearnedSwiftHandles));
	writer->handles->callback.func = writer_cleanup;
	writer->handles->callback.arg = writer->handles;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &writer->handles->callback);
	learned_check_status(omen_builder_create(model_kind, param, &writer->handles->builder), "build");
}

/*
 * Makes a fresh writer continue the run of ref after its first kept_groups groups (all full, the last key
 * last_key): those groups stay where they are, and the model keeps its segments for them, so only what
 * follows is written and learned.
 */
void
learned_writer_resume(LearnedRunWriter *writer, const LearnedModelRef *ref, uint32 kept_groups, uint64 first_key,
					  uint64 last_key)
{
	omen_builder *resumed;

	Assert(!writer->shape->composite);
	learned_check_status(omen_builder_resume(ref->model, (uint64) kept_groups * LEARNED_COLD_PER_PAGE, last_key,
												&resumed), "merge");
	omen_builder_free(writer->handles->builder);
	writer->handles->builder = resumed;
	while (writer->directory_size < kept_groups + 1)
		writer->directory_size *= 2;
	writer->directory = repalloc_huge(writer->directory, writer->directory_size * sizeof(BlockNumber));
	memcpy(writer->directory, ref->directory, kept_groups * sizeof(BlockNumber));
	writer->pages = kept_groups;
	writer->values = (uint64) kept_groups * LEARNED_COLD_PER_PAGE;
	writer->min_key = first_key;
	writer->max_key = last_key;
}

/* Writes `page` to a new block (WAL-logged whole when the writer logs); returns the block, still locked. */
static Buffer
writer_put_page(LearnedRunWriter *writer, Page page)
{
	Buffer		buffer = learned_new_buffer(writer->index);

	learned_set_checksum(page);
	if (writer->use_wal)
	{
		GenericXLogState *state = GenericXLogStart(writer->index);

		memcpy(GenericXLogRegisterBuffer(state, buffer, GENERIC_XLOG_FULL_IMAGE), page, BLCKSZ);
		GenericXLogFinish(state);
	}
	else
	{
		memcpy(BufferGetPage(buffer), page, BLCKSZ);
		MarkBufferDirty(buffer);
	}
	return buffer;
}

/*
 * The offset of entry i's key from the group's first, when it is below 2^32 (keys with tails: the
 * difference of two multi-word integers, the later one not smaller).
 */
static bool
wide_offset(const LearnedRunWriter *writer, int i, uint32 *offset)
{
	const LearnedKeyShape *shape = writer->shape;
	uint64		first[LEARNED_MAX_WORDS],
				key[LEARNED_MAX_WORDS];
	uint64		borrow = 0;
	int			w;

	first[0] = writer->keys[0];
	key[0] = writer->keys[i];
	memcpy(first + 1, writer->tails, shape->tail * sizeof(uint64));
	memcpy(key + 1, writer->tails + (Size) i * shape->tail, shape->tail * sizeof(uint64));
	for (w = shape->words - 1; w >= 0; w--)
	{
		uint64		difference = key[w] - first[w] - borrow;

		borrow = key[w] < first[w] + borrow || (borrow && first[w] == PG_UINT64_MAX);
		if (w < shape->words - 1 ? difference != 0 : difference > PG_UINT32_MAX)
			return false;
		if (w == shape->words - 1)
			*offset = (uint32) difference;
	}
	return true;
}

/* True when the group fits the packed layout: no NULLs, keys within 2^32, and (without tails) heap blocks
 * within 256. */
static bool
group_packs(const LearnedRunWriter *writer)
{
	BlockNumber low = InvalidBlockNumber,
				high = 0;
	uint32		offset;
	int			i;

	if (writer->shape->tail > 0)
		return wide_offset(writer, writer->count - 1, &offset);
	if (writer->page_nulls > 0 || writer->keys[writer->count - 1] - writer->keys[0] > PG_UINT32_MAX)
		return false;
	for (i = 0; i < writer->count; i++)
	{
		BlockNumber block = ItemPointerGetBlockNumberNoCheck(&writer->tids[i]);

		low = Min(low, block);
		high = Max(high, block);
	}
	return high - low <= PG_UINT8_MAX;
}

/* Fills a plain page with entries first..first+count of the group. */
static void
fill_plain(Page page, const LearnedRunWriter *writer, int first, int count)
{
	const LearnedKeyShape *shape = writer->shape;

	learned_init_page(page, LEARNED_PAGE_COLD, writer->generation);
	memcpy(LearnedPlainKeys(page), writer->keys + first, count * sizeof(uint64));
	memcpy(LearnedPlainTails(page, shape), writer->tails + (Size) first * shape->tail,
		   (Size) count * shape->tail * sizeof(uint64));
	memcpy(LearnedPlainTids(page, shape), writer->tids + first, count * sizeof(ItemPointerData));
	LearnedPageGetOpaque(page)->count = count;
	((PageHeader) page)->pd_lower = LearnedPlainLower(shape);
}

/* Feeds the model the first `count` keys of the group in the writer's arrays (their images, when composite). */
static void
writer_train(LearnedRunWriter *writer, int count)
{
	const LearnedKeyShape *shape = writer->shape;
	int			i;

	if (!shape->composite)
	{
		learned_check_status(omen_builder_add(writer->handles->builder, writer->keys, count), "training");
		return;
	}
	for (i = 0; i < count; i++)
		writer->images[i] = learned_model_key(shape, &writer->bounds, writer->keys[i],
											  writer->tails + (Size) i * shape->tail);
	learned_check_status(omen_builder_add(writer->handles->builder, writer->images, count), "training");
}

/* Writes the group being filled (one packed page, or a plain page and its overflow) and feeds its keys
 * to the model. */
static void
writer_flush(LearnedRunWriter *writer)
{
	PGAlignedBlock primary;
	Buffer		buffer;
	int			keys;
	int			i;

	if (writer->count == 0)
		return;

	/* Non-null keys come first in a run; only they are learned. */
	keys = writer->count - writer->page_nulls;
	if (keys > 0)
		writer_train(writer, keys);

	if (writer->shape->tail > 0 && group_packs(writer))
	{
		const LearnedKeyShape *shape = writer->shape;

		learned_init_page(primary.data, LEARNED_PAGE_COLD | LEARNED_PAGE_PACKED, writer->generation);
		LearnedWideBase(primary.data)[0] = writer->keys[0];
		memcpy(LearnedWideBase(primary.data) + 1, writer->tails, shape->tail * sizeof(uint64));
		for (i = 0; i < writer->count; i++)
		{
			if (!wide_offset(writer, i, &LearnedWideKeys(primary.data, shape)[i]))
				elog(ERROR, "learned index group does not pack");
			LearnedWideTids(primary.data, shape)[i] = writer->tids[i];
		}
		LearnedPageGetOpaque(primary.data)->count = writer->count;
		((PageHeader) primary.data)->pd_lower = LearnedWideLower(shape);
		buffer = writer_put_page(writer, primary.data);
	}
	else if (group_packs(writer))
	{
		LearnedPackedHeader *head;
		BlockNumber base = InvalidBlockNumber;

		learned_init_page(primary.data, LEARNED_PAGE_COLD | LEARNED_PAGE_PACKED, writer->generation);
		for (i = 0; i < writer->count; i++)
			base = Min(base, ItemPointerGetBlockNumberNoCheck(&writer->tids[i]));
		head = LearnedPackedHead(primary.data);
		head->base_key = writer->keys[0];
		head->base_block = base;
		for (i = 0; i < writer->count; i++)
		{
			LearnedPackedKeys(primary.data)[i] = (uint32) (writer->keys[i] - writer->keys[0]);
			LearnedPackedOffsets(primary.data)[i] = ItemPointerGetOffsetNumberNoCheck(&writer->tids[i]);
			LearnedPackedBlocks(primary.data)[i] = (uint8) (ItemPointerGetBlockNumberNoCheck(&writer->tids[i]) - base);
		}
		LearnedPageGetOpaque(primary.data)->count = writer->count;
		((PageHeader) primary.data)->pd_lower = LEARNED_PACKED_LOWER;
		buffer = writer_put_page(writer, primary.data);
	}
	else
	{
		int			first = Min(writer->count, writer->shape->plain_per_page);

		fill_plain(primary.data, writer, 0, first);
		if (writer->count > first)
		{
			PGAlignedBlock overflow;
			Buffer		overflow_buffer;

			fill_plain(overflow.data, writer, first, writer->count - first);
			overflow_buffer = writer_put_page(writer, overflow.data);
			LearnedPageGetOpaque(primary.data)->next = BufferGetBlockNumber(overflow_buffer);
			UnlockReleaseBuffer(overflow_buffer);
		}
		buffer = writer_put_page(writer, primary.data);
	}
	if (writer->pages == writer->directory_size)
	{
		writer->directory_size *= 2;
		writer->directory = repalloc_huge(writer->directory, writer->directory_size * sizeof(BlockNumber));
	}
	writer->directory[writer->pages++] = BufferGetBlockNumber(buffer);
	UnlockReleaseBuffer(buffer);

	writer->count = 0;
	writer->page_nulls = 0;
	/* A group is the training chunk: a cancel stops the build here. */
	CHECK_FOR_INTERRUPTS();
}

/* Appends one entry; non-null keys must arrive ascending, and every NULL after them. */
void
learned_writer_add(LearnedRunWriter *writer, uint64 key, const uint64 *tail, ItemPointer tid, bool isnull)
{
	if (isnull)
	{
		/* NULLs follow the last key: run position cold_count + i is the i-th NULL. */
		writer->nulls++;
		writer->page_nulls++;
		key = 0;
	}
	else
	{
		if (writer->model_kind == OMEN_MODEL_PGM && writer->values >= omen_pgm_max_keys())
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("learned index \"%s\" cannot hold more than %llu keys with model = 'pgm'",
							RelationGetRelationName(writer->index), (unsigned long long) omen_pgm_max_keys()),
					 errhint("Use model = 'rmi', whose lines hold wider positions.")));
		if (writer->values++ == 0)
			writer->min_key = key;
		writer->max_key = key;
	}
	writer->keys[writer->count] = key;
	if (writer->shape->tail > 0)
		memcpy(writer->tails + (Size) writer->count * writer->shape->tail, tail, writer->shape->tail * sizeof(uint64));
	writer->tids[writer->count] = *tid;
	writer->count++;
	if (writer->count == writer->shape->group_size)
		writer_flush(writer);
}

/* Writes the model, followed by the cold page directory (and a composite run's bounds), to a chain of
 * model pages. */
static void
write_model_pages(LearnedRunWriter *writer, const uint8 *bytes, uint32 model_bytes, LearnedRunResult *result)
{
	Size		directory_bytes = (Size) writer->pages * sizeof(BlockNumber);
	Size		bounds_bytes = writer->shape->composite && writer->values > 0 ? sizeof(LearnedRunBounds) : 0;
	Size		total = model_bytes + directory_bytes + bounds_bytes + writer->heap_length;
	char	   *payload = palloc(Max(total, 1));
	Size		written = 0;
	Buffer		previous = InvalidBuffer;

	memcpy(payload, bytes, model_bytes);
	memcpy(payload + model_bytes, writer->directory, directory_bytes);
	memcpy(payload + model_bytes + directory_bytes, &writer->bounds, bounds_bytes);
	if (writer->heap_length > 0)
		memcpy(payload + model_bytes + directory_bytes + bounds_bytes, writer->heap_bytes, writer->heap_length);
	result->model_head = InvalidBlockNumber;
	while (written < total)
	{
		Buffer		buffer = learned_new_buffer(writer->index);
		int			chunk = (int) Min((Size) LEARNED_MODEL_PAYLOAD, total - written);
		GenericXLogState *state = NULL;
		Page		page;

		if (writer->use_wal)
		{
			state = GenericXLogStart(writer->index);
			page = GenericXLogRegisterBuffer(state, buffer, GENERIC_XLOG_FULL_IMAGE);
		}
		else
			page = BufferGetPage(buffer);
		learned_init_page(page, LEARNED_PAGE_MODEL, writer->generation);
		memcpy(PageGetContents(page), payload + written, chunk);
		LearnedPageGetOpaque(page)->count = chunk;
		((PageHeader) page)->pd_lower = ((PageHeader) page)->pd_upper;
		learned_set_checksum(page);
		if (writer->use_wal)
			GenericXLogFinish(state);
		else
			MarkBufferDirty(buffer);
		written += chunk;

		if (BufferIsValid(previous))
		{
			/* Link the previous page to this one. */
			Page		prev;

			if (writer->use_wal)
			{
				state = GenericXLogStart(writer->index);
				prev = GenericXLogRegisterBuffer(state, previous, 0);
				LearnedPageGetOpaque(prev)->next = BufferGetBlockNumber(buffer);
				learned_set_checksum(prev);
				GenericXLogFinish(state);
			}
			else
			{
				prev = BufferGetPage(previous);
				LearnedPageGetOpaque(prev)->next = BufferGetBlockNumber(buffer);
				learned_set_checksum(prev);
				MarkBufferDirty(previous);
			}
			UnlockReleaseBuffer(previous);
		}
		else
			result->model_head = BufferGetBlockNumber(buffer);
		previous = buffer;
	}
	if (BufferIsValid(previous))
		UnlockReleaseBuffer(previous);
	result->model_bytes = model_bytes;
	pfree(payload);
}

/*
 * Feeds the run's keys, read back from the groups written, to the builder once more: the RMI and linear
 * models learn in passes over the run (a line over the whole run first), holding no copy of the keys.
 */
static void
replay_keys(LearnedRunWriter *writer)
{
	const LearnedKeyShape *shape = writer->shape;
	uint64		left = writer->values;
	uint32		g;

	for (g = 0; g < writer->pages && left > 0; g++)
	{
		Buffer		buffer = ReadBuffer(writer->index, writer->directory[g]);
		Page		page;
		int			count,
					i;

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		count = (int) Min((uint64) LearnedPageGetOpaque(page)->count, left);
		if ((LearnedPageGetOpaque(page)->flags & LEARNED_PAGE_PACKED) && shape->tail > 0)
		{
			LearnedColdPageCopy copy;

			/* Rebuilt as a scan's copy rebuilds them. */
			copy.shape = shape;
			copy.packed = true;
			memcpy(copy.page.data, page, BLCKSZ);
			learned_copy_locate(&copy);
			UnlockReleaseBuffer(buffer);
			for (i = 0; i < count; i++)
			{
				writer->keys[i] = learned_copy_key(&copy, i);
				memcpy(writer->tails + (Size) i * shape->tail, copy.key + 1, shape->tail * sizeof(uint64));
			}
		}
		else if (LearnedPageGetOpaque(page)->flags & LEARNED_PAGE_PACKED)
		{
			for (i = 0; i < count; i++)
				writer->keys[i] = LearnedPackedHead(page)->base_key + LearnedPackedKeys(page)[i];
			UnlockReleaseBuffer(buffer);
		}
		else
		{
			BlockNumber overflow = LearnedPageGetOpaque(page)->next;

			memcpy(writer->keys, LearnedPlainKeys(page), count * sizeof(uint64));
			memcpy(writer->tails, LearnedPlainTails(page, shape), (Size) count * shape->tail * sizeof(uint64));
			UnlockReleaseBuffer(buffer);
			if (count == shape->plain_per_page && overflow != InvalidBlockNumber && left > (uint64) count)
			{
				int			more;

				buffer = ReadBuffer(writer->index, overflow);
				LockBuffer(buffer, BUFFER_LOCK_SHARE);
				page = BufferGetPage(buffer);
				more = (int) Min((uint64) LearnedPageGetOpaque(page)->count, left - count);
				memcpy(writer->keys + count, LearnedPlainKeys(page), more * sizeof(uint64));
				memcpy(writer->tails + (Size) count * shape->tail, LearnedPlainTails(page, shape),
					   (Size) more * shape->tail * sizeof(uint64));
				UnlockReleaseBuffer(buffer);
				count += more;
			}
		}
		writer_train(writer, count);
		left -= count;
		CHECK_FOR_INTERRUPTS();
	}
}

/* Writes the last page, finishes training, writes the model pages, and describes the run. */
void
learned_writer_finish(LearnedRunWriter *writer, LearnedRunResult *result)
{
	LearnedSwiftHandles *handles = writer->handles;
	omen_builder *builder;
	uint8	   *bytes = NULL;
	size_t		size = 0;
	int			more = writer->values > 0;

	writer_flush(writer);
	memset(result, 0, sizeof(LearnedRunResult));
	result->model_param = writer->param;
	while (more)
	{
		learned_check_status(omen_builder_next_pass(handles->builder, &more), "training");
		if (more)
			replay_keys(writer);
	}
	/* finish consumes the builder whether or not it succeeds */
	builder = handles->builder;
	handles->builder = NULL;
	if (writer->values > 0)
	{
		learned_check_status(omen_builder_finish(builder, &handles->model), "training");
		if (omen_model_serialize(handles->model, NULL, 0, &size) != OMEN_ERR_BUFFER_TOO_SMALL || size > PG_UINT32_MAX)
			elog(ERROR, "learned index model cannot be serialised");
		bytes = palloc(size);
		learned_check_status(omen_model_serialize(handles->model, bytes, size, &size), "serialisation");
		result->model_param = (uint32) omen_model_param(handles->model);
		result->max_window = (uint32) Min(omen_model_max_window(handles->model), PG_UINT32_MAX);
	}
	else
		omen_builder_free(builder);
	write_model_pages(writer, bytes, (uint32) size, result);
	if (handles->model)
		omen_model_free(handles->model);
	handles->model = NULL;
	result->values = writer->values;
	result->nulls = writer->nulls;
	result->min_key = writer->min_key;
	result->max_key = writer->max_key;
	result->cold_pages = writer->pages;
}

/* Sets the run's fields in a metapage. */
void
learned_set_meta_run(LearnedMetaPage meta, const LearnedRunResult *run, int model_kind)
{
	meta->model_kind = model_kind;
	meta->model_param = run->model_param;
	meta->cold_count = run->values;
	meta->cold_nulls = run->nulls;
	meta->cold_pages = run->cold_pages;
	meta->model_head = run->model_head;
	meta->model_bytes = run->model_bytes;
	meta->max_window = run->max_window;
	meta->cold_min_key = run->min_key;
	meta->cold_max_key = run->max_key;
}

/* The int8 whose signed order is a key's unsigned order, so the tuplesort can use int8 comparisons. */
#define KEY_TO_SORTABLE(key) ((int64) ((key) ^ ((uint64) 1 << 63)))
#define SORTABLE_TO_KEY(value) ((uint64) (value) ^ ((uint64) 1 << 63))

/* Puts one entry into the tuplesort, NULLs last: a column per key word, then the TID. */
static void
sort_put(LearnedBuildState *build, const uint64 *words, ItemPointer tid, bool isnull)
{
	TupleTableSlot *slot = build->slot;
	int			w;

	ExecClearTuple(slot);
	for (w = 0; w < build->shape->words; w++)
	{
		slot->tts_isnull[w] = isnull;
		slot->tts_values[w] = isnull ? (Datum) 0 : Int64GetDatum(KEY_TO_SORTABLE(words[w]));
	}
	slot->tts_isnull[build->shape->words] = false;
	slot->tts_values[build->shape->words] = PointerGetDatum(tid);
	ExecStoreVirtualTuple(slot);
	tuplesort_puttupleslot(build->sort, slot);
}

/* Moves everything collected so far into a tuplesort: the table is larger than memory allows. */
static void
spill(LearnedBuildState *build)
{
	int			ncolumns = build->shape->words + 1;
	AttrNumber	columns[LEARNED_MAX_WORDS + 1];
	Oid			operators[LEARNED_MAX_WORDS + 1];
	Oid			collations[LEARNED_MAX_WORDS + 1];
	bool		nullsfirst[LEARNED_MAX_WORDS + 1];
	int64		i;
	int			c;

	build->sortdesc = CreateTemplateTupleDesc(ncolumns);
	for (c = 0; c < ncolumns; c++)
	{
		columns[c] = c + 1;
		operators[c] = c < build->shape->words ? Int8LessOperator : TIDLessOperator;
		collations[c] = InvalidOid;
		nullsfirst[c] = false;
		TupleDescInitEntry(build->sortdesc, c + 1, c < build->shape->words ? "key" : "tid",
						   c < build->shape->words ? INT8OID : TIDOID, -1, 0);
	}
	build->slot = MakeSingleTupleTableSlot(build->sortdesc, &TTSOpsVirtual);
	build->sort = tuplesort_begin_heap(build->sortdesc, ncolumns, columns, operators, collations, nullsfirst,
									   maintenance_work_mem, NULL, TUPLESORT_NONE);
	for (i = 0; i < build->nitems; i++)
	{
		LearnedKeyTid *item = LearnedEntryAt(build->items, i, build->shape->tail);
		uint64		words[LEARNED_MAX_WORDS];

		words[0] = item->key;
		memcpy(words + 1, LearnedEntryTail(item), build->shape->tail * sizeof(uint64));
		sort_put(build, words, &item->tid, false);
	}
	for (i = 0; i < build->nnulls; i++)
		sort_put(build, NULL, &build->nulls[i], true);
	pfree(build->items);
	pfree(build->nulls);
	build->items = NULL;
	build->nulls = NULL;
}

static void flush_heap_rows(LearnedBuildState *build);
static void sort_block_rows(LearnedBuildState *build);
static void add_entry(LearnedBuildState *build, const uint64 *words, ItemPointer tid, bool keynull);

/* Table scan callback: every heap tuple becomes an entry (normalised key, TID), NULLs included; in the
 * heap layout, a row goes to the heap model first, which covers it or hands it back as explicit. */
static void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool tupleIsAlive, void *state)
{
	LearnedBuildState *build = (LearnedBuildState *) state;
	const LearnedKeyShape *shape = build->shape;
	uint64		words[LEARNED_MAX_WORDS];
	/* A composite key holds its NULLs: only one-column entries are NULL entries. */
	bool		keynull = !shape->composite && isnull[0];

	learned_form_key(shape, values, isnull, words);
	build->tuples += 1;
	if (build->live_values && tupleIsAlive && !keynull)
		tuplesort_putdatum(build->live_values, values[0], false);
	if (shape->composite)
	{
		if (!build->have_bounds || learned_compare_keys(words[0], words + 1, build->min_key[0], build->min_key + 1, shape->tail) < 0)
			memcpy(build->min_key, words, shape->words * sizeof(uint64));
		if (!build->have_bounds || learned_compare_keys(words[0], words + 1, build->max_key[0], build->max_key + 1, shape->tail) > 0)
			memcpy(build->max_key, words, shape->words * sizeof(uint64));
		build->have_bounds = true;
	}
	if (build->unique && !tupleIsAlive && !keynull)
	{
		if (build->ndead == build->dead_capacity)
		{
			build->dead_capacity = Max(64, build->dead_capacity * 2);
			build->dead = build->dead ? repalloc_huge(build->dead, build->dead_capacity * sizeof(ItemPointerData))
				: palloc_extended(build->dead_capacity * sizeof(ItemPointerData), MCXT_ALLOC_HUGE);
		}
		build->dead[build->ndead++] = *tid;
	}
	if (build->heap && !keynull && ItemPointerGetOffsetNumber(tid) <= build->heap_stride)
	{
		if (ItemPointerGetBlockNumber(tid) != build->heap_block)
		{
			sort_block_rows(build);
			if (build->heap_pending >= LEARNED_HEAP_BATCH)
				flush_heap_rows(build);
			build->heap_block = ItemPointerGetBlockNumber(tid);
			build->heap_block_start = build->heap_pending;
		}
		build->heap_keys[build->heap_pending] = words[0];
		build->heap_positions[build->heap_pending++] = learned_heap_position(tid, build->heap_stride);
		return;
	}
	add_entry(build, words, tid, keynull);
}

/* Adds count rows the heap model does not cover (keys and heap positions) as explicit entries. */
static void
add_explicit(LearnedBuildState *build, const uint64 *keys, const uint64 *positions, int64 count)
{
	int64		i;

	for (i = 0; i < count; i++)
	{
		ItemPointerData tid;

		ItemPointerSet(&tid, (BlockNumber) (positions[i] / build->heap_stride),
					   (OffsetNumber) (positions[i] % build->heap_stride + 1));
		add_entry(build, &keys[i], &tid, false);
	}
}

/* Keeps the rows the first run handed back (the build's explicit arrays) for the runs after it, or, past
 * left_limit of them, makes them all entries. */
static void
keep_left(LearnedBuildState *build, size_t count)
{
	if (!build->left_overflowed && build->nleft + (int64) count > build->left_limit)
	{
		add_explicit(build, build->left_keys, build->left_positions, build->nleft);
		build->nleft = 0;
		build->left_overflowed = true;
	}
	if (build->left_overflowed)
	{
		add_explicit(build, build->explicit_keys, build->explicit_positions, (int64) count);
		return;
	}
	if (build->nleft + (int64) count > build->left_capacity)
	{
		build->left_capacity = Max(build->left_capacity * 2, build->nleft + (int64) count + 1024);
		build->left_keys = build->left_keys ? repalloc_huge(build->left_keys, build->left_capacity * sizeof(uint64))
			: palloc_extended(build->left_capacity * sizeof(uint64), MCXT_ALLOC_HUGE);
		build->left_positions = build->left_positions ? repalloc_huge(build->left_positions, build->left_capacity * sizeof(uint64))
			: palloc_extended(build->left_capacity * sizeof(uint64), MCXT_ALLOC_HUGE);
	}
	memcpy(build->left_keys + build->nleft, build->explicit_keys, count * sizeof(uint64));
	memcpy(build->left_positions + build->nleft, build->explicit_positions, count * sizeof(uint64));
	build->nleft += (int64) count;
}

/*
 * Puts the rows of the heap page last read in line pointer order. The scan reports a heap-only tuple
 * (a HOT update's) under its chain's root, where its row lives, but in the order of its own line
 * pointer, after the page's others: sorted, the row follows key order where its root does. An
 * insertion sort, since a page holds few rows and most are in order.
 */
static void
sort_block_rows(LearnedBuildState *build)
{
	int			i,
				j;

	for (i = build->heap_block_start + 1; i < build->heap_pending; i++)
	{
		uint64		key = build->heap_keys[i];
		uint64		position = build->heap_positions[i];

		for (j = i; j > build->heap_block_start && build->heap_positions[j - 1] > position; j--)
		{
			build->heap_keys[j] = build->heap_keys[j - 1];
			build->heap_positions[j] = build->heap_positions[j - 1];
		}
		build->heap_keys[j] = key;
		build->heap_positions[j] = position;
	}
}

/* Passes the rows collected for the heap model to it, and keeps those it hands back. */
static void
flush_heap_rows(LearnedBuildState *build)
{
	size_t		count = 0;

	learned_check_status(omen_heap_builder_add(build->heap->heap_builder, build->heap_keys, build->heap_positions,
											   build->heap_pending, build->explicit_keys, build->explicit_positions,
											   &count), "heap model");
	build->heap_pending = 0;
	build->heap_block_start = 0;
	keep_left(build, count);
}

/* Adds an entry to what the build sorts and writes: in memory, or in the tuplesort once spilled. */
static void
add_entry(LearnedBuildState *build, const uint64 *words, ItemPointer tid, bool keynull)
{
	const LearnedKeyShape *shape = build->shape;

	if (build->sort == NULL && build->nitems + build->nnulls >= build->limit)
		spill(build);
	if (build->sort)
		sort_put(build, words, tid, keynull);
	else if (keynull)
	{
		if (build->nnulls == build->null_capacity)
		{
			build->null_capacity *= 2;
			build->nulls = repalloc_huge(build->nulls, build->null_capacity * sizeof(ItemPointerData));
		}
		build->nulls[build->nnulls++] = *tid;
	}
	else
	{
		LearnedKeyTid *item;

		if (build->nitems == build->capacity)
		{
			build->capacity *= 2;
			build->items = repalloc_huge(build->items, build->capacity * LearnedEntrySize(shape->tail));
		}
		item = LearnedEntryAt(build->items, build->nitems, shape->tail);
		if (build->nitems > 0)
		{
			LearnedKeyTid *last = LearnedEntryAt(build->items, build->nitems - 1, shape->tail);

			if (learned_compare_keys(words[0], words + 1, last->key, LearnedEntryTail(last), shape->tail) < 0)
				build->ascending = false;
		}
		item->key = words[0];
		memcpy(LearnedEntryTail(item), words + 1, shape->tail * sizeof(uint64));
		item->tid = *tid;
		build->nitems++;
	}
}

/* Sorts entries by key: an LSD radix sort over 16-bit digits, skipping digits every key shares. */
static void
radix_sort(LearnedKeyTid *items, int64 n)
{
	LearnedKeyTid *scratch = palloc_extended(Max(n, 1) * sizeof(LearnedKeyTid), MCXT_ALLOC_HUGE);
	int64	   *counts = palloc0(4 * 65536 * sizeof(int64));
	LearnedKeyTid *from = items,
			   *to = scratch;
	int64		i;
	int			digit;

	for (i = 0; i < n; i++)
	{
		for (digit = 0; digit < 4; digit++)
			counts[digit * 65536 + ((items[i].key >> (16 * digit)) & 0xFFFF)]++;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	for (digit = 0; digit < 4; digit++)
	{
		int64	   *count = counts + digit * 65536;
		int64		offset = 0;
		int			bucket;

		if (count[(items[0].key >> (16 * digit)) & 0xFFFF] == n)
			continue;
		for (bucket = 0; bucket < 65536; bucket++)
		{
			int64		c = count[bucket];

			count[bucket] = offset;
			offset += c;
		}
		for (i = 0; i < n; i++)
		{
			to[count[(from[i].key >> (16 * digit)) & 0xFFFF]++] = from[i];
			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		from = to;
		to = from == items ? scratch : items;
		CHECK_FOR_INTERRUPTS();
	}
	if (from != items)
		memcpy(items, from, n * sizeof(LearnedKeyTid));
	pfree(scratch);
	pfree(counts);
}

static int
compare_tids(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

/* Raises nbtree's error for a unique build that meets `values` twice. */
static void
report_build_duplicate(Relation heap, Relation index, Datum *values, bool *isnull)
{
	char	   *description = BuildIndexValueDescription(index, values, isnull);

	ereport(ERROR,
			(errcode(ERRCODE_UNIQUE_VIOLATION),
			 errmsg("could not create unique index \"%s\"", RelationGetRelationName(index)),
			 description ? errdetail("Key %s is duplicated.", description) : 0,
			 errtableconstraint(heap, RelationGetRelationName(index))));
}

/*
 * A unique build: two live entries with equal keys are an error, as in nbtree (dead rows may repeat one).
 * Equal floats may have different keys (0.0 and -0.0): their first key stands for them all. A composite
 * key with a NULL column never conflicts (composite unique indexes have no float columns).
 */
static void
check_unique(LearnedBuildState *build, Relation heap, Relation index, const uint64 *words, ItemPointer tid)
{
	const LearnedKeyShape *shape = build->shape;
	uint64		key[LEARNED_MAX_WORDS];
	uint64		last;
	Datum		values[LEARNED_MAX_COLUMNS];
	bool		isnull[LEARNED_MAX_COLUMNS];
	int			c;

	if (build->ndead > 0 && bsearch(tid, build->dead, build->ndead, sizeof(ItemPointerData), compare_tids))
		return;
	memcpy(key, words, shape->words * sizeof(uint64));
	if (!shape->composite)
		learned_key_equal_range(build->typid, words[0], &key[0], &last);
	else
		for (c = 0; c < shape->natts; c++)
		{
			uint128		value;

			learned_key_field(shape, key, c, &isnull[c], &value);
			if (isnull[c])
				return;
		}
	if (build->have_live && learned_compare_keys(build->live_key[0], build->live_key + 1, key[0], key + 1, shape->tail) == 0)
	{
		for (c = 0; c < shape->natts; c++)
		{
			uint128		value;

			if (shape->composite)
				learned_key_field(shape, key, c, &isnull[c], &value);
			values[c] = shape->composite ? learned_field_datum(shape, c, value) :
				learned_denormalize(learned_key_type_of(build->typid), key[0]);
			isnull[c] = false;
		}
		report_build_duplicate(heap, index, values, isnull);
	}
	build->have_live = true;
	memcpy(build->live_key, key, shape->words * sizeof(uint64));
}

/* A unique build of lossy keys: two equal live values (adjacent once sorted) are an error, as in nbtree. */
static void
check_unique_values(Tuplesortstate *sort, Relation heap, Relation index)
{
	TypeCacheEntry *type = lookup_type_cache(index->rd_opcintype[0], TYPECACHE_EQ_OPR_FINFO);
	Oid			collation = index->rd_indcollation[0];
	Datum		last = (Datum) 0;
	Datum		value;
	bool		isnull;
	bool		have_last = false;

	tuplesort_performsort(sort);
	while (tuplesort_getdatum(sort, true, &value, &isnull, NULL))
	{
		if (have_last && DatumGetBool(FunctionCall2Coll(&type->eq_opr_finfo, collation, last, value)))
			report_build_duplicate(heap, index, &value, &isnull);
		if (have_last && !type->typbyval)
			pfree(DatumGetPointer(last));
		last = value;
		have_last = true;
	}
	tuplesort_end(sort);
}

/* Why the index cannot have the heap layout (it keeps one column's keys, whole, in heap order), or NULL. */
static const char *
heap_layout_problem(Relation index, bool unique, bool exclusion, const LearnedOptions *options)
{
	if (learned_shape(index)->composite)
		return "on several columns";
	if (learned_key_is_lossy(index->rd_opcintype[0]))
		return "on a uuid column";
	if (unique || exclusion)
		return "for a unique index or an exclusion constraint";
	if (options->model != OMEN_MODEL_PGM)
		return "with a model other than pgm";
	return NULL;
}

/* Refuses what the heap layout cannot be. */
static void
check_heap_layout(Relation index, IndexInfo *indexInfo, const LearnedOptions *options)
{
	const char *problem = heap_layout_problem(index, indexInfo->ii_Unique, indexInfo->ii_ExclusionOps != NULL, options);

	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("learned index \"%s\" cannot use layout = 'heap' %s", RelationGetRelationName(index), problem),
				 errhint("The heap layout models one column of type smallint, integer, bigint, real, double precision, "
						 "date, timestamp or timestamptz with model = 'pgm'; use the default layout otherwise.")));
}

/*
 * The most line pointers a heap page holds, from pages spread over the table: a row's heap position is
 * block * stride + line pointer - 1, so the positions of full pages run on without gaps (fixed-width rows
 * fill every page alike). Rows further down a fuller page are explicit entries.
 */
static uint32
heap_stride(Relation heap)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(heap);
	uint32		samples = Min(nblocks, LEARNED_HEAP_STRIDE_SAMPLE);
	uint32		stride = 1;
	uint32		i;

	for (i = 0; i < samples; i++)
	{
		BlockNumber blkno = samples == 1 ? 0 : (BlockNumber) ((uint64) (nblocks - 1) * i / (samples - 1));
		Buffer		buffer = ReadBufferExtended(heap, MAIN_FORKNUM, blkno, RBM_NORMAL, NULL);

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		stride = Max(stride, PageGetMaxOffsetNumber(BufferGetPage(buffer)));
		UnlockReleaseBuffer(buffer);
		CHECK_FOR_INTERRUPTS();
	}
	return stride;
}

/* Serialises the heap model in handles (then freed) into a palloc'ed *bytes of *length bytes. */
static void
serialize_heap_model(LearnedSwiftHandles *handles, char **bytes, uint32 *length)
{
	size_t		size = 0;

	if (omen_model_serialize(handles->model, NULL, 0, &size) != OMEN_ERR_BUFFER_TOO_SMALL || size > PG_UINT32_MAX)
		elog(ERROR, "learned index heap model cannot be serialised");
	*bytes = palloc(size);
	learned_check_status(omen_model_serialize(handles->model, (uint8 *) *bytes, size, &size), "serialisation");
	*length = (uint32) size;
	omen_model_free(handles->model);
	handles->model = NULL;
}

/* Finishes the builder in handles into its serialised model; the builder is released either way. */
static void
finish_heap_run(LearnedSwiftHandles *handles, char **bytes, uint32 *length)
{
	/* finish consumes the builder whether or not it succeeds */
	int			status = omen_heap_builder_finish(handles->heap_builder, &handles->model);

	handles->heap_builder = NULL;
	learned_check_status(status, "heap model");
	serialize_heap_model(handles, bytes, length);
}

/* A candidate for the heap model: a hot entry's heap position and key, and where it is in the entries. */
typedef struct HeapCandidate
{
	uint64		position;
	uint64		key;
	int64		entry;
} HeapCandidate;

/* Orders candidates by heap position (then by place in the entries: a TID twice keeps its order). */
static int
compare_candidates(const void *a, const void *b)
{
	const HeapCandidate *x = (const HeapCandidate *) a;
	const HeapCandidate *y = (const HeapCandidate *) b;

	if (x->position != y->position)
		return x->position < y->position ? -1 : 1;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/*
 * Feeds count rows (keys and positions, in heap order) to builder, then drains it; the rows it does not
 * cover come back, in heap order, in explicit_keys and explicit_positions (room for count + lookahead + 1).
 * Returns how many came back.
 */
static int64
feed_heap_builder(omen_heap_builder *builder, const uint64 *keys, const uint64 *positions, int64 count,
				  uint64 *explicit_keys, uint64 *explicit_positions)
{
	int64		nexplicit = 0,
				i;
	size_t		n;

	for (i = 0; i < count; i += LEARNED_HEAP_BATCH)
	{
		learned_check_status(omen_heap_builder_add(builder, keys + i, positions + i, (size_t) Min(LEARNED_HEAP_BATCH, count - i),
												   explicit_keys + nexplicit, explicit_positions + nexplicit, &n),
							 "heap model");
		nexplicit += (int64) n;
		CHECK_FOR_INTERRUPTS();
	}
	learned_check_status(omen_heap_builder_drain(builder, explicit_keys + nexplicit, explicit_positions + nexplicit,
												 (size_t) (count + LEARNED_HEAP_LOOKAHEAD + 1 - nexplicit), &n),
						 "heap model");
	return nexplicit + (int64) n;
}

/* Appends a finished run (length bytes) to the build's serialised heap model. */
static void
append_heap_run(LearnedBuildState *build, char *bytes, uint32 length)
{
	if (build->heap_bytes == NULL)
		build->heap_bytes = bytes;
	else
	{
		build->heap_bytes = repalloc(build->heap_bytes, (Size) build->heap_length + length);
		memcpy(build->heap_bytes + build->heap_length, bytes, length);
		pfree(bytes);
	}
	build->heap_length += length;
	build->heap_runs++;
}

/*
 * Ends the heap layout's scan: the rows still waiting for a verdict, then the heap model's first run,
 * unless it covers no row. The rows it left, in heap order, start the runs after it, as at merges: the
 * rows each UPDATE moved to the heap's end in key order, a second load; so a REINDEX or VACUUM FULL
 * after them keeps them covered. A run is kept while it covers at least LEARNED_HEAP_RUN_MIN of the rows
 * offered to it and an eighth (not a merge's half: here one run takes one UPDATE's rows of several),
 * up to LEARNED_HEAP_MAX_RUNS; what the last leaves are explicit entries.
 */
static void
finish_heap_model(LearnedBuildState *build)
{
	size_t		count = 0;
	char	   *bytes;
	uint32		length;
	uint64	   *keys;
	uint64	   *positions;

	sort_block_rows(build);
	flush_heap_rows(build);
	learned_check_status(omen_heap_builder_drain(build->heap->heap_builder, build->explicit_keys,
												 build->explicit_positions, LEARNED_HEAP_PENDING, &count), "heap model");
	keep_left(build, count);
	build->heap_covered = omen_heap_builder_covered(build->heap->heap_builder);
	build->heap_last_key = omen_heap_builder_last_key(build->heap->heap_builder);
	if (build->heap_covered == 0)
	{
		writer_cleanup(build->heap);
		add_explicit(build, build->left_keys, build->left_positions, build->nleft);
		return;
	}
	finish_heap_run(build->heap, &bytes, &length);
	append_heap_run(build, bytes, length);
	if (build->nleft >= LEARNED_HEAP_RUN_MIN)
	{
		keys = palloc_extended((Size) (build->nleft + LEARNED_HEAP_LOOKAHEAD + 1) * sizeof(uint64), MCXT_ALLOC_HUGE);
		positions = palloc_extended((Size) (build->nleft + LEARNED_HEAP_LOOKAHEAD + 1) * sizeof(uint64), MCXT_ALLOC_HUGE);
		while (build->heap_runs < LEARNED_HEAP_MAX_RUNS && build->nleft >= LEARNED_HEAP_RUN_MIN)
		{
			int64		nexplicit;
			uint64		covered;

			learned_check_status(omen_heap_builder_create(build->heap_epsilon, LEARNED_HEAP_LOOKAHEAD,
														  &build->heap->heap_builder), "heap model");
			nexplicit = feed_heap_builder(build->heap->heap_builder, build->left_keys, build->left_positions,
										  build->nleft, keys, positions);
			covered = omen_heap_builder_covered(build->heap->heap_builder);
			if (covered < LEARNED_HEAP_RUN_MIN || covered * LEARNED_HEAP_MAX_RUNS < (uint64) build->nleft)
			{
				writer_cleanup(build->heap);
				break;
			}
			build->heap_covered += covered;
			build->heap_last_key = omen_heap_builder_last_key(build->heap->heap_builder);
			finish_heap_run(build->heap, &bytes, &length);
			append_heap_run(build, bytes, length);
			/* What this run left goes to the next. */
			memcpy(build->left_keys, keys, nexplicit * sizeof(uint64));
			memcpy(build->left_positions, positions, nexplicit * sizeof(uint64));
			build->nleft = nexplicit;
		}
		pfree(keys);
		pfree(positions);
	}
	add_explicit(build, build->left_keys, build->left_positions, build->nleft);
}

/*
 * layout = 'heap', at a merge: extends the heap model by the entries (non-null, sorted by key, nentries of
 * them: the hot area's), judged in heap order as the build judges rows. Its last run takes those that
 * follow its rows in heap and key order: a table appended to in key order stays covered, the size of its
 * model. Those it leaves start a new run when enough of them follow one another (rows an UPDATE moved
 * to the heap's end in key order, a second load), up to LEARNED_HEAP_MAX_RUNS runs. The entries covered
 * leave `entries`, whose order is kept; *extension describes the extended model. Returns false, changing
 * nothing, when no entry is covered, or when the metapage (layout 9) does not know the last run's last
 * key. With no row covered yet, the stride is chosen anew from the entries' line pointers (a build over
 * an empty table had none to sample).
 */
bool
learned_extend_heap_model(Relation index, const LearnedMetaPageData *meta, const LearnedModelRef *ref,
						  LearnedKeyTid *entries, int64 *nentries, LearnedHeapExtension *extension)
{
	const LearnedKeyShape *shape = learned_shape(index);
	uint64		epsilon = (uint64) learned_options(index)->heap_epsilon;
	LearnedSwiftHandles *handles;
	HeapCandidate *candidates;
	uint64	   *keys;
	uint64	   *positions;
	uint64	   *left_keys;
	uint64	   *left_positions;
	uint64	   *explicit_positions;
	char	   *last_bytes = NULL;
	char	   *new_bytes = NULL;
	uint32		last_length = 0,
				new_length = 0,
				kept_length;
	uint64		added,
				added_new = 0;
	bool	   *covered;
	uint32		stride = Max(meta->heap_stride, 1);
	int			nruns = ref->heap_nruns;
	int64		ncandidates = 0,
				nfed,
				nleft,
				nexplicit,
				capacity,
				kept = 0,
				i,
				j;

	/* ALTER INDEX ... SET (layout = 'heap') must not give a model to an index the layout cannot serve. */
	if (*nentries == 0 || meta->version < LEARNED_LAYOUT_ONE_RUN || (meta->heap_covered > 0 && nruns == 0) ||
		heap_layout_problem(index, index->rd_index->indisunique, index->rd_index->indisexclusion,
							learned_options(index)) != NULL)
		return false;
	if (meta->heap_covered == 0)
		for (i = 0; i < *nentries; i++)
			stride = Max(stride, ItemPointerGetOffsetNumber(&LearnedEntryAt(entries, i, shape->tail)->tid));
	candidates = palloc_extended((Size) *nentries * sizeof(HeapCandidate), MCXT_ALLOC_HUGE);
	for (i = 0; i < *nentries; i++)
	{
		LearnedKeyTid *entry = LearnedEntryAt(entries, i, shape->tail);

		if (ItemPointerGetOffsetNumber(&entry->tid) > stride)
			continue;
		candidates[ncandidates].position = learned_heap_position(&entry->tid, stride);
		candidates[ncandidates].key = entry->key;
		candidates[ncandidates++].entry = i;
	}
	if (ncandidates == 0)
	{
		pfree(candidates);
		return false;
	}
	qsort(candidates, ncandidates, sizeof(HeapCandidate), compare_candidates);
	capacity = ncandidates + LEARNED_HEAP_LOOKAHEAD + 1;
	keys = palloc_extended((Size) capacity * sizeof(uint64), MCXT_ALLOC_HUGE);
	positions = palloc_extended((Size) capacity * sizeof(uint64), MCXT_ALLOC_HUGE);
	left_keys = palloc_extended((Size) capacity * sizeof(uint64), MCXT_ALLOC_HUGE);
	left_positions = palloc_extended((Size) capacity * sizeof(uint64), MCXT_ALLOC_HUGE);
	/* A TID twice (only one of them can be covered) goes to the builders once; the other copy stays explicit. */
	for (i = 0, j = 0; i < ncandidates; i++)
		if (i == 0 || candidates[i].position != candidates[i - 1].position)
		{
			keys[j] = candidates[i].key;
			positions[j++] = candidates[i].position;
		}
	nfed = j;

	handles = palloc0(sizeof(LearnedSwiftHandles));
	handles->callback.func = writer_cleanup;
	handles->callback.arg = handles;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &handles->callback);

	/* The last run goes on from its last row (with none, this is the first run). */
	if (nruns > 0)
		learned_check_status(omen_heap_builder_resume(ref->heap_runs[nruns - 1], meta->heap_last_key,
													  LEARNED_HEAP_LOOKAHEAD, &handles->heap_builder), "heap model");
	else
		learned_check_status(omen_heap_builder_create(epsilon, LEARNED_HEAP_LOOKAHEAD, &handles->heap_builder),
							 "heap model");
	nleft = feed_heap_builder(handles->heap_builder, keys, positions, nfed, left_keys, left_positions);
	added = omen_heap_builder_covered(handles->heap_builder);
	extension->last_key = meta->heap_last_key;
	if (added > 0)
	{
		extension->last_key = omen_heap_builder_last_key(handles->heap_builder);
		finish_heap_run(handles, &last_bytes, &last_length);
		if (nruns == 0)
			nruns = 1;
	}
	else
		writer_cleanup(handles);
	explicit_positions = left_positions;
	nexplicit = nleft;

	/* The rows it left start a new run if it would cover at least half of them, and many. */
	if (nruns > 0 && nruns < LEARNED_HEAP_MAX_RUNS && nleft >= LEARNED_HEAP_RUN_MIN)
	{
		learned_check_status(omen_heap_builder_create(epsilon, LEARNED_HEAP_LOOKAHEAD, &handles->heap_builder),
							 "heap model");
		nexplicit = feed_heap_builder(handles->heap_builder, left_keys, left_positions, nleft, keys, positions);
		added_new = omen_heap_builder_covered(handles->heap_builder);
		if (added_new >= LEARNED_HEAP_RUN_MIN && 2 * added_new >= (uint64) nleft)
		{
			extension->last_key = omen_heap_builder_last_key(handles->heap_builder);
			finish_heap_run(handles, &new_bytes, &new_length);
			explicit_positions = positions;
		}
		else
		{
			writer_cleanup(handles);
			added_new = 0;
			nexplicit = nleft;
		}
	}
	if (added == 0 && added_new == 0)
	{
		pfree(candidates);
		pfree(keys);
		pfree(positions);
		pfree(left_keys);
		pfree(left_positions);
		return false;
	}

	/* The runs before the last are kept as they are; the last, extended or not; the new one. */
	kept_length = ref->heap_nruns > 0 ? ref->heap_run_offsets[ref->heap_nruns - 1] : 0;
	if (added == 0)
		kept_length = ref->heap_length;
	extension->length = kept_length + last_length + new_length;
	extension->bytes = palloc(extension->length);
	if (kept_length > 0)
		memcpy(extension->bytes, ref->heap_bytes, kept_length);
	if (last_length > 0)
		memcpy(extension->bytes + kept_length, last_bytes, last_length);
	if (new_length > 0)
		memcpy(extension->bytes + kept_length + last_length, new_bytes, new_length);
	extension->covered = meta->heap_covered + added + added_new;
	extension->stride = stride;
	extension->runs = (uint32) nruns + (added_new > 0 ? 1 : 0);

	/* Every candidate fed and not handed back is covered. */
	covered = palloc_extended((Size) *nentries * sizeof(bool), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (i = 0, j = 0; i < ncandidates; i++)
	{
		if (i > 0 && candidates[i].position == candidates[i - 1].position)
			continue;
		while (j < nexplicit && explicit_positions[j] < candidates[i].position)
			j++;
		covered[candidates[i].entry] = !(j < nexplicit && explicit_positions[j] == candidates[i].position);
	}
	for (i = 0; i < *nentries; i++)
	{
		if (covered[i])
			continue;
		if (kept != i)
			memcpy(LearnedEntryAt(entries, kept, shape->tail), LearnedEntryAt(entries, i, shape->tail),
				   LearnedEntrySize(shape->tail));
		kept++;
	}
	*nentries = kept;
	pfree(covered);
	pfree(candidates);
	pfree(keys);
	pfree(positions);
	pfree(left_keys);
	pfree(left_positions);
	return true;
}

/* Builds the index: collect and sort the entries, then write the run and train as pages fill. */
IndexBuildResult *
learned_build(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	LearnedBuildState build;
	LearnedRunWriter writer;
	LearnedRunResult run;
	LearnedOptions *options = learned_options(index);
	const LearnedKeyShape *shape = learned_shape(index);
	Oid			typid = index->rd_opcintype[0];
	int			key_type = learned_key_type_of(typid);
	LearnedRunBounds bounds;
	double		reltuples;
	Buffer		metabuf;
	uint64		done = 0;
	int			c;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
	for (c = 0; c < shape->natts; c++)
		if (shape->key_types[c] == 0)
			learned_normalize(shape->typids[c], (Datum) 0);	/* raises the unsupported-type error */
	learned_check_opfamily(index);
	/* Scans return keys ascending, NULLs last: a DESC or NULLS FIRST column would be read in the wrong order. */
	for (c = 0; c < shape->natts; c++)
		if (index->rd_indoption[c] & (INDOPTION_DESC | INDOPTION_NULLS_FIRST))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("learned index \"%s\" cannot be DESC or NULLS FIRST", RelationGetRelationName(index)),
					 errhint("A learned index keeps keys ascending with NULLs last and serves ORDER BY ... DESC by scanning backward; omit DESC and NULLS FIRST.")));
	/* Equal floats (0.0 and -0.0) differ in a composite key, so a unique check could not find them side by side. */
	for (c = 0; c < shape->natts && shape->composite && indexInfo->ii_Unique; c++)
		if (shape->key_types[c] == OMEN_KEY_FLOAT4 || shape->key_types[c] == OMEN_KEY_FLOAT8)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("unique learned index \"%s\" on several columns cannot include a column of type %s",
							RelationGetRelationName(index), format_type_be(shape->typids[c])),
					 errhint("Index the float column alone, or enforce the constraint with a btree index.")));
	if (indexInfo->ii_NullsNotDistinct)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("learned index \"%s\" cannot be NULLS NOT DISTINCT", RelationGetRelationName(index)),
				 errhint("A unique learned index treats NULLs as distinct, the SQL default; to allow no NULL at all, make the column NOT NULL.")));

	if (options->heap_layout)
		check_heap_layout(index, indexInfo, options);

	/*
	 * The metapage comes first so that block 0 is always the metapage. It is not held locked during the
	 * build (no other backend can see the index yet): a held buffer lock would keep cancels, timeouts
	 * and checkpoints waiting until the build ends.
	 */
	metabuf = learned_new_buffer(index);
	Assert(BufferGetBlockNumber(metabuf) == LEARNED_METAPAGE_BLKNO);
	learned_fill_meta(index, BufferGetPage(metabuf), key_type);
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, LEARNED_PHASE_LOAD);
	memset(&build, 0, sizeof(build));
	build.typid = typid;
	build.shape = shape;
	build.ascending = true;
	/* Distinct values may share a lossy key (a uuid's leading 64 bits): their values are compared instead. */
	build.unique = indexInfo->ii_Unique && !learned_key_is_lossy(typid);
	if (indexInfo->ii_Unique && !build.unique)
		build.live_values = tuplesort_begin_datum(typid, lookup_type_cache(typid, TYPECACHE_LT_OPR)->lt_opr,
												  index->rd_indcollation[0], false, maintenance_work_mem, NULL,
												  TUPLESORT_NONE);
	/* Half of maintenance_work_mem for the entries, half for the radix sort's second buffer. */
	build.limit = Max((int64) maintenance_work_mem * 1024 / (2 * (int64) LearnedEntrySize(shape->tail)), 1024);
	build.capacity = 1024;
	build.items = palloc_extended(build.capacity * LearnedEntrySize(shape->tail), MCXT_ALLOC_HUGE);
	build.null_capacity = 64;
	build.nulls = palloc(build.null_capacity * sizeof(ItemPointerData));
	if (options->heap_layout)
	{
		build.heap = palloc0(sizeof(LearnedSwiftHandles));
		build.heap->callback.func = writer_cleanup;
		build.heap->callback.arg = build.heap;
		MemoryContextRegisterResetCallback(CurrentMemoryContext, &build.heap->callback);
		build.heap_epsilon = (uint64) options->heap_epsilon;
		learned_check_status(omen_heap_builder_create(build.heap_epsilon, LEARNED_HEAP_LOOKAHEAD,
													  &build.heap->heap_builder), "heap model");
		build.heap_stride = heap_stride(heap);
		build.heap_block = InvalidBlockNumber;
		build.left_limit = build.limit;
	}
	/* The heap layout reads the table from its first block (no synchronised scan): in heap order. */
	reltuples = table_index_build_scan(heap, index, indexInfo, !options->heap_layout, true, build_callback, &build,
									   NULL);
	if (build.heap)
		finish_heap_model(&build);
	if (build.live_values)
		check_unique_values(build.live_values, heap, index);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) build.tuples);

	if (build.sort)
		tuplesort_performsort(build.sort);
	else if (!build.ascending && shape->tail == 0)
		radix_sort(build.items, build.nitems);
	else if (!build.ascending)
		qsort_arg(build.items, build.nitems, LearnedEntrySize(shape->tail), learned_compare_entries, (void *) &shape->tail);
	if (build.ndead > 1)
		qsort(build.dead, build.ndead, sizeof(ItemPointerData), compare_tids);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, LEARNED_PHASE_TRAIN);
	if (shape->composite)
		learned_run_bounds(shape, build.min_key, build.max_key, &bounds);
	learned_writer_begin(&writer, index, options->model, options->epsilon, (uint64) build.tuples, false, 0, &bounds);
	writer.heap_bytes = build.heap_bytes;
	writer.heap_length = build.heap_length;
	if (build.sort)
	{
		TupleTableSlot *sorted = MakeSingleTupleTableSlot(build.sortdesc, &TTSOpsMinimalTuple);

		while (tuplesort_gettupleslot(build.sort, true, false, sorted, NULL))
		{
			bool		isnull = false;
			bool		tidnull;
			uint64		words[LEARNED_MAX_WORDS];
			ItemPointer tid = (ItemPointer) DatumGetPointer(slot_getattr(sorted, shape->words + 1, &tidnull));
			int			w;

			for (w = 0; w < shape->words; w++)
			{
				Datum		value = slot_getattr(sorted, w + 1, &isnull);

				words[w] = isnull ? 0 : SORTABLE_TO_KEY(DatumGetInt64(value));
			}
			if (build.unique && !isnull)
				check_unique(&build, heap, index, words, tid);
			learned_writer_add(&writer, words[0], words + 1, tid, isnull);
			if (++done % 10000 == 0)
				pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) done);
		}
		tuplesort_end(build.sort);
		ExecDropSingleTupleTableSlot(sorted);
		ExecDropSingleTupleTableSlot(build.slot);
	}
	else
	{
		int64		i;

		for (i = 0; i < build.nitems; i++)
		{
			LearnedKeyTid *item = LearnedEntryAt(build.items, i, shape->tail);

			if (build.unique)
			{
				uint64		words[LEARNED_MAX_WORDS];

				words[0] = item->key;
				memcpy(words + 1, LearnedEntryTail(item), shape->tail * sizeof(uint64));
				check_unique(&build, heap, index, words, &item->tid);
			}
			learned_writer_add(&writer, item->key, LearnedEntryTail(item), &item->tid, false);
			if (++done % 10000 == 0)
				pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) done);
		}
		for (i = 0; i < build.nnulls; i++)
			learned_writer_add(&writer, 0, NULL, &build.nulls[i], true);
		done += build.nnulls;
		pfree(build.items);
		pfree(build.nulls);
	}
	learned_writer_finish(&writer, &run);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) done);

	metabuf = ReadBuffer(index, LEARNED_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	learned_set_meta_run(LearnedPageGetMeta(BufferGetPage(metabuf)), &run, options->model);
	LearnedPageGetMeta(BufferGetPage(metabuf))->heap_bytes = build.heap_length;
	LearnedPageGetMeta(BufferGetPage(metabuf))->heap_stride = build.heap_stride;
	LearnedPageGetMeta(BufferGetPage(metabuf))->heap_covered = build.heap_covered;
	LearnedPageGetMeta(BufferGetPage(metabuf))->heap_last_key = build.heap_last_key;
	LearnedPageGetMeta(BufferGetPage(metabuf))->heap_runs = build.heap_runs;
	learned_set_checksum(BufferGetPage(metabuf));
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);

	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = reltuples;
	result->index_tuples = build.tuples;
	return result;
}

/* The init fork of an unlogged table's index: an empty metapage. */
void
learned_buildempty(Relation index)
{
	Page		page = (Page) palloc(BLCKSZ);
	int			key_type = learned_key_type_of(index->rd_opcintype[0]);

	learned_fill_meta(index, page, key_type);
	PageSetChecksumInplace(page, LEARNED_METAPAGE_BLKNO);
	smgrwrite(RelationGetSmgr(index), INIT_FORKNUM, LEARNED_METAPAGE_BLKNO, (char *) page, true);
	log_newpage(&(RelationGetSmgr(index))->smgr_rnode.node, INIT_FORKNUM, LEARNED_METAPAGE_BLKNO, page, true);
	smgrimmedsync(RelationGetSmgr(index), INIT_FORKNUM);
	pfree(page);
}
