/*
 * funcs.c: the learned_* SQL functions: info, merge, explain_lookup, segments, version.
 */
#include "learned.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/pg_type_d.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(learned_index_info);
PG_FUNCTION_INFO_V1(learned_merge);
PG_FUNCTION_INFO_V1(learned_explain_lookup);
PG_FUNCTION_INFO_V1(learned_segments);
PG_FUNCTION_INFO_V1(learned_version);
PG_FUNCTION_INFO_V1(learned_page_usage);

/* Closes what learned_open_for opened. */
static void
close_index(Relation index, Relation heap, LOCKMODE index_lock)
{
	index_close(index, index_lock);
	table_close(heap, AccessShareLock);
}

/* The key family of a type: integers share one, floats another, each datetime type its own. */
static int
key_family(int key_type)
{
	if (key_type >= OMEN_KEY_INT2 && key_type <= OMEN_KEY_INT8)
		return OMEN_KEY_INT8;
	if (key_type == OMEN_KEY_FLOAT4 || key_type == OMEN_KEY_FLOAT8)
		return OMEN_KEY_FLOAT8;
	return key_type;
}

/* The mean window width over up to 1000 keys spread across the run. */
static double
mean_window(Relation index, LearnedModelRef *ref, const LearnedMetaPageData *meta)
{
	LearnedColdPageCopy *copy = palloc(sizeof(LearnedColdPageCopy));
	int64		samples = Min((int64) meta->cold_count, 1000);
	double		total = 0;
	int64		i;

	if (samples == 0)
		return 0;
	learned_copy_init(copy, ref, false);
	for (i = 0; i < samples; i++)
	{
		int64		position = (int64) ((double) i * meta->cold_count / samples);
		int			slot = learned_cold_slot(index, ref, copy, position);
		uint64		lo,
					hi;

		learned_check_status(omen_model_window(ref->model,
											   learned_model_key(&ref->shape, &ref->bounds, learned_copy_key(copy, slot),
																 learned_copy_tail(copy, slot)),
											   &lo, &hi), "lookup");
		total += (double) (hi - lo + 1);
	}
	pfree(copy);
	return total / samples;
}

/* One row describing the index: model, size, entries, windows, dead entries, free pages, last merge, layout
 * and heap model. */
Datum
learned_index_info(PG_FUNCTION_ARGS)
{
	Relation	heap;
	Relation	index = learned_open_for(PG_GETARG_OID(0), AccessShareLock, AccessShareLock, LEARNED_ACCESS_STATS,
										 "learned_index_info", &heap);
	LearnedMetaPageData meta;
	LearnedModelRef *ref;
	TupleDesc	tupdesc;
	Datum		values[20];
	bool		nulls[20] = {false};
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	BlockNumber blkno;
	int64		free_pages = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	learned_read_meta(index, &meta);
	ref = learned_pin_model(index, &meta);
	values[0] = CStringGetTextDatum(learned_model_name(meta.model_kind));
	values[1] = Int32GetDatum(meta.model_kind == OMEN_MODEL_PGM ? (int32) meta.model_param : 0);
	values[2] = Int64GetDatum(ref->model ? (int64) omen_model_segment_count(ref->model) : 0);
	values[3] = Int64GetDatum((int64) meta.cold_count);
	values[4] = Int64GetDatum((int64) meta.cold_nulls);
	values[5] = Int64GetDatum((int64) learned_hot_entries(index, &meta));
	values[6] = Int64GetDatum((int64) RelationGetNumberOfBlocks(index));
	values[7] = Int64GetDatum(ref->model ? (int64) omen_model_byte_count(ref->model) : 0);
	values[8] = Float8GetDatum(mean_window(index, ref, &meta));
	values[9] = Int64GetDatum((int64) meta.max_window);
	values[10] = Int64GetDatum((int64) meta.generation);
	values[11] = Int64GetDatum((int64) meta.cold_dead);
	/* The blocks the free space map offers (freed by merges; reused once no snapshot can read them). */
	for (blkno = LEARNED_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		if (GetRecordedFreeSpace(index, blkno) > 0)
			free_pages++;
		if (blkno % 1024 == 0)
			CHECK_FOR_INTERRUPTS();
	}
	values[12] = Int64GetDatum(free_pages);
	nulls[13] = nulls[14] = meta.last_merge_time == 0;
	values[13] = TimestampTzGetDatum(meta.last_merge_time);
	if (!nulls[14])
	{
		Interval   *duration = palloc0(sizeof(Interval));

		duration->time = (TimeOffset) meta.last_merge_us;
		values[14] = IntervalPGetDatum(duration);
	}
	/* The heap layout: its covered rows, its model, and the heap pages the model's window of a key spans
	 * (a window of w rows, at a uniform place, crosses into a second block with chance (w - 1) / stride). */
	values[15] = CStringGetTextDatum(learned_options(index)->heap_layout ? "heap" : "sorted");
	values[16] = Int64GetDatum((int64) meta.heap_covered);
	{
		int64		model_bytes = 0;
		double		pages = 0;
		int			run;

		/* A lookup reads the window of every run. */
		for (run = 0; run < ref->heap_nruns; run++)
		{
			model_bytes += (int64) omen_model_byte_count(ref->heap_runs[run]);
			pages += 1.0 + (double) (omen_model_max_window(ref->heap_runs[run]) - 1) / meta.heap_stride;
		}
		values[17] = Int64GetDatum(model_bytes);
		values[19] = Int32GetDatum(ref->heap_nruns);
		nulls[18] = ref->heap_nruns == 0;
		values[18] = Float8GetDatum(pages);
	}
	learned_unpin_model(ref);
	close_index(index, heap, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* Merges the hot area into the cold run now (with rebuild, rewrites and relearns the whole run, dropping
 * every dead entry); returns the entries of the new run. */
Datum
learned_merge(PG_FUNCTION_ARGS)
{
	Relation	heap;
	Relation	index = learned_open_for(PG_GETARG_OID(0), AccessShareLock, RowExclusiveLock, LEARNED_ACCESS_CHANGE,
										 "learned_merge", &heap);
	int64		entries;

	entries = learned_merge_index(index, PG_GETARG_BOOL(1) ? LEARNED_MERGE_REBUILD : LEARNED_MERGE_REQUEST);
	close_index(index, heap, RowExclusiveLock);
	PG_RETURN_INT64(entries);
}

/* How one key is found: the model's window, the true position, and the cold pages read. */
Datum
learned_explain_lookup(PG_FUNCTION_ARGS)
{
	Relation	heap;
	Relation	index = learned_open_for(PG_GETARG_OID(0), AccessShareLock, AccessShareLock, LEARNED_ACCESS_KEYS,
										 "learned_explain_lookup", &heap);
	Oid			argtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	Oid			typid = index->rd_opcintype[0];
	LearnedMetaPageData meta;
	LearnedModelRef *ref;
	LearnedColdPageCopy *copy = palloc(sizeof(LearnedColdPageCopy));
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false};
	uint64		key,
				last,
				lo = 0,
				hi = 0;
	int64		position;

	if (learned_shape(index)->composite)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("learned_explain_lookup takes an index on one column; \"%s\" has %d",
						RelationGetRelationName(index), learned_shape(index)->natts),
				 errhint("EXPLAIN (ANALYZE, BUFFERS) shows what a lookup in it reads.")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("learned_explain_lookup needs a key, not NULL"),
				 errhint("NULL entries are kept apart from the model; look them up with IS NULL.")));
	if (learned_key_type_of(argtype) == 0 || key_family(learned_key_type_of(argtype)) != key_family(learned_key_type_of(typid)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("index \"%s\" has keys of type %s, not %s", RelationGetRelationName(index),
						format_type_be(typid), format_type_be(argtype)),
				 errhint("Cast the key, for example '...'::%s.", format_type_be(typid))));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	/* The first key of the key's equals (-0.0 finds 0.0). */
	learned_key_equal_range(argtype, learned_normalize(argtype, PG_GETARG_DATUM(1)), &key, &last);
	learned_read_meta(index, &meta);
	ref = learned_pin_model(index, &meta);
	learned_copy_init(copy, ref, false);
	if (ref->model)
		learned_check_status(omen_model_window(ref->model, key, &lo, &hi), "lookup");
	position = learned_cold_lower_bound(index, ref, &meta, copy, key, NULL);
	values[0] = Int64GetDatum((int64) lo);
	values[1] = Int64GetDatum((int64) hi);
	values[2] = Int64GetDatum(position);
	values[3] = BoolGetDatum(position < (int64) meta.cold_count &&
							 learned_cold_key(index, ref, copy, position) <= last);
	values[4] = Int32GetDatum(copy->pages_read);
	values[5] = Int64GetDatum((int64) meta.hot_pages);
	learned_unpin_model(ref);
	close_index(index, heap, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* One row per data segment (PGM), leaf (RMI) or line (linear): first key, slope, intercept. */
Datum
learned_segments(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	heap;
	Relation	index = learned_open_for(PG_GETARG_OID(0), AccessShareLock, AccessShareLock, LEARNED_ACCESS_KEYS,
										 "learned_segments", &heap);
	LearnedMetaPageData meta;
	LearnedModelRef *ref;
	uint64		count,
				i;

	InitMaterializedSRF(fcinfo, 0);
	learned_read_meta(index, &meta);
	ref = learned_pin_model(index, &meta);
	count = ref->model ? omen_model_segment_count(ref->model) : 0;
	for (i = 0; i < count; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false};
		uint64		first_key;
		double		slope,
					intercept;

		learned_check_status(omen_model_segment(ref->model, i, &first_key, &slope, &intercept), "inspection");
		values[0] = Int64GetDatum((int64) i);
		if (!ref->shape.composite && (meta.key_type == OMEN_KEY_FLOAT4 || meta.key_type == OMEN_KEY_FLOAT8))
			values[1] = DirectFunctionCall1(float8_numeric, learned_denormalize(OMEN_KEY_FLOAT8, first_key));
		else if (meta.key_type == OMEN_KEY_UUID || ref->shape.composite)	/* the leading 64 bits, or a composite
																		 * key's image, unsigned */
			values[1] = DirectFunctionCall3(numeric_in, CStringGetDatum(psprintf(UINT64_FORMAT, first_key)),
											ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
		else
			values[1] = DirectFunctionCall1(int8_numeric, Int64GetDatum(omen_key_to_int64(first_key)));
		values[2] = Float8GetDatum(slope);
		values[3] = Float8GetDatum(intercept);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	learned_unpin_model(ref);
	close_index(index, heap, AccessShareLock);
	return (Datum) 0;
}

/* The extension's version. */
Datum
learned_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(LEARNED_VERSION_STRING));
}

/* Counts the index's blocks by what they are: metapage, cold, model and hot pages referenced by the
 * current run, deleted (waiting for the snapshots that may read them), free, and unreferenced (what a
 * failed merge left, until VACUUM reclaims it). */
Datum
learned_page_usage(PG_FUNCTION_ARGS)
{
	Relation	heap;
	Relation	index = learned_open_for(PG_GETARG_OID(0), AccessShareLock, AccessShareLock, LEARNED_ACCESS_STATS,
										 "learned_page_usage", &heap);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LearnedPageCensus census;
	int64		counts[7] = {1, 0, 0, 0, 0, 0, 0};
	static const char *const kinds[7] = {"meta", "cold", "model", "hot", "deleted", "free", "unreferenced"};
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	LockPage(index, LEARNED_METAPAGE_BLKNO, ShareLock);
	learned_page_census(index, NULL, false, &census);
	UnlockPage(index, LEARNED_METAPAGE_BLKNO, ShareLock);
	for (i = 0; i < census.nlive; i++)
	{
		uint16		flags = census.live[i].flags;

		if (!census.referenced[census.live[i].blkno])
			counts[6]++;
		else
			counts[(flags & LEARNED_PAGE_COLD) ? 1 : (flags & LEARNED_PAGE_MODEL) ? 2 : 3]++;
	}
	counts[4] = census.deleted;
	counts[5] = census.free;
	for (i = 0; i < 7; i++)
	{
		Datum		values[2] = {CStringGetTextDatum(kinds[i]), Int64GetDatum(counts[i])};
		bool		nulls[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	close_index(index, heap, AccessShareLock);
	return (Datum) 0;
}
