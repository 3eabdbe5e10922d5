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

/* Build phases reported in pg_stat_progress_create_index. */
#define LEARNED_PHASE_LOAD		2
#define LEARNED_PHASE_TRAIN		3

/*
 * What the table scan collects. Entries stay in memory while they fit in maintenance_work_mem (with room
 * for a radix sort's second buffer), and already-sorted input (a time series) needs no sort at all; past
 * that they go to a tuplesort, which spills to disk.
 */
typedef struct LearnedBuildState
{
	Oid			typid;
	double		tuples;
	LearnedKeyTid *items;		/* non-null entries, in memory */
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
	ItemPointerData *dead;		/* rows the scan found dead, which may repeat a key; sorted after the scan */
	int64		ndead;
	int64		dead_capacity;
	bool		have_live;		/* the key of the last live entry written, for the unique check */
	uint64		live_key;
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
	handles->builder = NULL;
	handles->model = NULL;
}

/* The RMI leaf count for a run: about 128 keys per leaf. */
static int
rmi_leaves(uint64 keys)
{
	return (int) Max(1, Min(keys / 128, 1 << 20));
}

/* Starts a run of about `expected` non-null keys, learned with model_kind. */
void
learned_writer_begin(LearnedRunWriter *writer, Relation index, int model_kind, int epsilon, uint64 expected,
					 bool use_wal, uint64 generation)
{
	uint64		param = model_kind == OMEN_MODEL_PGM ? (uint64) epsilon :
		model_kind == OMEN_MODEL_RMI ? (uint64) rmi_leaves(expected) : 0;

	memset(writer, 0, sizeof(LearnedRunWriter));
	writer->index = index;
	writer->generation = generation;
	writer->use_wal = use_wal;
	writer->model_kind = model_kind;
	writer->param = (uint32) param;
	writer->keys = palloc(LEARNED_COLD_PER_PAGE * sizeof(uint64));
	writer->tids = palloc(LEARNED_COLD_PER_PAGE * sizeof(ItemPointerData));
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

/* True when the group fits the packed layout: no NULLs, keys within 2^32, heap blocks within 256. */
static bool
group_packs(const LearnedRunWriter *writer)
{
	BlockNumber low = InvalidBlockNumber,
				high = 0;
	int			i;

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
	learned_init_page(page, LEARNED_PAGE_COLD, writer->generation);
	memcpy(LearnedPlainKeys(page), writer->keys + first, count * sizeof(uint64));
	memcpy(LearnedPlainTids(page), writer->tids + first, count * sizeof(ItemPointerData));
	LearnedPageGetOpaque(page)->count = count;
	((PageHeader) page)->pd_lower = LEARNED_PLAIN_LOWER;
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
		learned_check_status(omen_builder_add(writer->handles->builder, writer->keys, keys), "training");

	if (group_packs(writer))
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
		int			first = Min(writer->count, LEARNED_PLAIN_PER_PAGE);

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
learned_writer_add(LearnedRunWriter *writer, uint64 key, ItemPointer tid, bool isnull)
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
	writer->tids[writer->count] = *tid;
	writer->count++;
	if (writer->count == LEARNED_COLD_PER_PAGE)
		writer_flush(writer);
}

/* Writes the model (followed by the cold page directory) to a chain of model pages. */
static void
write_model_pages(LearnedRunWriter *writer, const uint8 *bytes, uint32 model_bytes, LearnedRunResult *result)
{
	Size		directory_bytes = (Size) writer->pages * sizeof(BlockNumber);
	Size		total = model_bytes + directory_bytes;
	char	   *payload = palloc(Max(total, 1));
	Size		written = 0;
	Buffer		previous = InvalidBuffer;

	memcpy(payload, bytes, model_bytes);
	memcpy(payload + model_bytes, writer->directory, directory_bytes);
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
		if (LearnedPageGetOpaque(page)->flags & LEARNED_PAGE_PACKED)
		{
			for (i = 0; i < count; i++)
				writer->keys[i] = LearnedPackedHead(page)->base_key + LearnedPackedKeys(page)[i];
			UnlockReleaseBuffer(buffer);
		}
		else
		{
			BlockNumber overflow = LearnedPageGetOpaque(page)->next;

			memcpy(writer->keys, LearnedPlainKeys(page), count * sizeof(uint64));
			UnlockReleaseBuffer(buffer);
			if (count == LEARNED_PLAIN_PER_PAGE && overflow != InvalidBlockNumber && left > (uint64) count)
			{
				int			more;

				buffer = ReadBuffer(writer->index, overflow);
				LockBuffer(buffer, BUFFER_LOCK_SHARE);
				page = BufferGetPage(buffer);
				more = (int) Min((uint64) LearnedPageGetOpaque(page)->count, left - count);
				memcpy(writer->keys + count, LearnedPlainKeys(page), more * sizeof(uint64));
				UnlockReleaseBuffer(buffer);
				count += more;
			}
		}
		learned_check_status(omen_builder_add(writer->handles->builder, writer->keys, count), "training");
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

/* Puts one entry into the tuplesort, NULLs last. */
static void
sort_put(LearnedBuildState *build, uint64 key, ItemPointer tid, bool isnull)
{
	TupleTableSlot *slot = build->slot;

	ExecClearTuple(slot);
	slot->tts_isnull[0] = isnull;
	slot->tts_values[0] = isnull ? (Datum) 0 : Int64GetDatum(KEY_TO_SORTABLE(key));
	slot->tts_isnull[1] = false;
	slot->tts_values[1] = PointerGetDatum(tid);
	ExecStoreVirtualTuple(slot);
	tuplesort_puttupleslot(build->sort, slot);
}

/* Moves everything collected so far into a tuplesort: the table is larger than memory allows. */
static void
spill(LearnedBuildState *build)
{
	AttrNumber	columns[2] = {1, 2};
	Oid			operators[2] = {Int8LessOperator, TIDLessOperator};
	Oid			collations[2] = {InvalidOid, InvalidOid};
	bool		nullsfirst[2] = {false, false};
	int64		i;

	build->sortdesc = CreateTemplateTupleDesc(2);
	TupleDescInitEntry(build->sortdesc, 1, "key", INT8OID, -1, 0);
	TupleDescInitEntry(build->sortdesc, 2, "tid", TIDOID, -1, 0);
	build->slot = MakeSingleTupleTableSlot(build->sortdesc, &TTSOpsVirtual);
	build->sort = tuplesort_begin_heap(build->sortdesc, 2, columns, operators, collations, nullsfirst,
									   maintenance_work_mem, NULL, TUPLESORT_NONE);
	for (i = 0; i < build->nitems; i++)
		sort_put(build, build->items[i].key, &build->items[i].tid, false);
	for (i = 0; i < build->nnulls; i++)
		sort_put(build, 0, &build->nulls[i], true);
	pfree(build->items);
	pfree(build->nulls);
	build->items = NULL;
	build->nulls = NULL;
}

/* Table scan callback: every heap tuple becomes an entry (normalised key, TID), NULLs included. */
static void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool tupleIsAlive, void *state)
{
	LearnedBuildState *build = (LearnedBuildState *) state;
	uint64		key = isnull[0] ? 0 : learned_normalize(build->typid, values[0]);

	build->tuples += 1;
	if (build->unique && !tupleIsAlive && !isnull[0])
	{
		if (build->ndead == build->dead_capacity)
		{
			build->dead_capacity = Max(64, build->dead_capacity * 2);
			build->dead = build->dead ? repalloc_huge(build->dead, build->dead_capacity * sizeof(ItemPointerData))
				: palloc_extended(build->dead_capacity * sizeof(ItemPointerData), MCXT_ALLOC_HUGE);
		}
		build->dead[build->ndead++] = *tid;
	}
	if (build->sort == NULL && build->nitems + build->nnulls >= build->limit)
		spill(build);
	if (build->sort)
		sort_put(build, key, tid, isnull[0]);
	else if (isnull[0])
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
		if (build->nitems == build->capacity)
		{
			build->capacity *= 2;
			build->items = repalloc_huge(build->items, build->capacity * sizeof(LearnedKeyTid));
		}
		if (build->nitems > 0 && key < build->items[build->nitems - 1].key)
			build->ascending = false;
		build->items[build->nitems].key = key;
		build->items[build->nitems].tid = *tid;
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

/*
 * A unique build: two live entries with equal keys are an error, as in nbtree (dead rows may repeat one).
 * Equal floats may have different keys (0.0 and -0.0): their first key stands for them all.
 */
static void
check_unique(LearnedBuildState *build, Relation heap, Relation index, uint64 key, ItemPointer tid)
{
	uint64		last;

	if (build->ndead > 0 && bsearch(tid, build->dead, build->ndead, sizeof(ItemPointerData), compare_tids))
		return;
	learned_key_equal_range(build->typid, key, &key, &last);
	if (build->have_live && build->live_key == key)
	{
		Datum		value = learned_denormalize(learned_key_type_of(build->typid), key);
		bool		isnull = false;
		char	   *description = BuildIndexValueDescription(index, &value, &isnull);

		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("could not create unique index \"%s\"", RelationGetRelationName(index)),
				 description ? errdetail("Key %s is duplicated.", description) : 0,
				 errtableconstraint(heap, RelationGetRelationName(index))));
	}
	build->have_live = true;
	build->live_key = key;
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
	Oid			typid = index->rd_opcintype[0];
	int			key_type = learned_key_type_of(typid);
	double		reltuples;
	Buffer		metabuf;
	uint64		done = 0;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
	if (key_type == 0)
		learned_normalize(typid, (Datum) 0);	/* raises the unsupported-type error */
	learned_check_opfamily(index);
	/* Scans return keys ascending, NULLs last: a DESC or NULLS FIRST column would be read in the wrong order. */
	if (index->rd_indoption[0] & (INDOPTION_DESC | INDOPTION_NULLS_FIRST))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("learned index \"%s\" cannot be DESC or NULLS FIRST", RelationGetRelationName(index)),
				 errhint("A learned index keeps keys ascending with NULLs last and serves ORDER BY ... DESC by scanning backward; omit DESC and NULLS FIRST.")));
	if (indexInfo->ii_NullsNotDistinct)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("learned index \"%s\" cannot be NULLS NOT DISTINCT", RelationGetRelationName(index)),
				 errhint("A unique learned index treats NULLs as distinct, the SQL default; to allow no NULL at all, make the column NOT NULL.")));
	if (indexInfo->ii_Unique && learned_key_is_lossy(typid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("learned index \"%s\" on type %s cannot be unique", RelationGetRelationName(index),
						format_type_be(typid)),
				 errhint("Its keys are the values' leading 64 bits, which distinct values may share. Enforce uniqueness with a btree index or with EXCLUDE USING learned (column WITH =).")));

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
	build.ascending = true;
	build.unique = indexInfo->ii_Unique;
	/* Half of maintenance_work_mem for the entries, half for the radix sort's second buffer. */
	build.limit = Max((int64) maintenance_work_mem * 1024 / (2 * (int64) sizeof(LearnedKeyTid)), 1024);
	build.capacity = 1024;
	build.items = palloc_extended(build.capacity * sizeof(LearnedKeyTid), MCXT_ALLOC_HUGE);
	build.null_capacity = 64;
	build.nulls = palloc(build.null_capacity * sizeof(ItemPointerData));
	reltuples = table_index_build_scan(heap, index, indexInfo, true, true, build_callback, &build, NULL);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) build.tuples);

	if (build.sort)
		tuplesort_performsort(build.sort);
	else if (!build.ascending)
		radix_sort(build.items, build.nitems);
	if (build.ndead > 1)
		qsort(build.dead, build.ndead, sizeof(ItemPointerData), compare_tids);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, LEARNED_PHASE_TRAIN);
	learned_writer_begin(&writer, index, options->model, options->epsilon, (uint64) build.tuples, false, 0);
	if (build.sort)
	{
		TupleTableSlot *sorted = MakeSingleTupleTableSlot(build.sortdesc, &TTSOpsMinimalTuple);

		while (tuplesort_gettupleslot(build.sort, true, false, sorted, NULL))
		{
			bool		isnull;
			bool		tidnull;
			Datum		value = slot_getattr(sorted, 1, &isnull);
			ItemPointer tid = (ItemPointer) DatumGetPointer(slot_getattr(sorted, 2, &tidnull));

			if (build.unique && !isnull)
				check_unique(&build, heap, index, SORTABLE_TO_KEY(DatumGetInt64(value)), tid);
			learned_writer_add(&writer, isnull ? 0 : SORTABLE_TO_KEY(DatumGetInt64(value)), tid, isnull);
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
			if (build.unique)
				check_unique(&build, heap, index, build.items[i].key, &build.items[i].tid);
			learned_writer_add(&writer, build.items[i].key, &build.items[i].tid, false);
			if (++done % 10000 == 0)
				pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) done);
		}
		for (i = 0; i < build.nnulls; i++)
			learned_writer_add(&writer, 0, &build.nulls[i], true);
		done += build.nnulls;
		pfree(build.items);
		pfree(build.nulls);
	}
	learned_writer_finish(&writer, &run);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) done);

	metabuf = ReadBuffer(index, LEARNED_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	learned_set_meta_run(LearnedPageGetMeta(BufferGetPage(metabuf)), &run, options->model);
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
