/*
 * handler.c: the access method handler, reloptions, settings, and the cost estimate.
 */
#include "learned.h"

#include <limits.h>
#include <math.h>

#include "access/reloptions.h"
#include "catalog/pg_statistic.h"
#include "commands/vacuum.h"
#include "fmgr.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "parser/parsetree.h"
#include "utils/spccache.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"

PG_MODULE_MAGIC;

/* Settings (learned.*). */
bool		learned_merge_on_vacuum = true;
bool		learned_merge_on_insert = true;

static relopt_kind learned_relopt_kind;
static emit_log_hook_type previous_emit_log_hook;
static get_relation_info_hook_type previous_get_relation_info_hook;

/* The reloptions as stored: the model name is an offset to its string. */
typedef struct LearnedRawOptions
{
	int32		vl_len_;
	int			model_offset;
	int			epsilon;
	int			hot_limit;
	int			layout_offset;
	int			heap_epsilon;
} LearnedRawOptions;

/* The model kind a name denotes, or 0. */
static int
model_kind_of(const char *name)
{
	if (name == NULL || strcmp(name, "pgm") == 0)
		return OMEN_MODEL_PGM;
	if (strcmp(name, "rmi") == 0)
		return OMEN_MODEL_RMI;
	if (strcmp(name, "linear") == 0)
		return OMEN_MODEL_LINEAR;
	return 0;
}

/* The SQL name of a model kind. */
const char *
learned_model_name(int kind)
{
	switch (kind)
	{
		case OMEN_MODEL_PGM: return "pgm";
		case OMEN_MODEL_RMI: return "rmi";
		case OMEN_MODEL_LINEAR: return "linear";
	}
	return "unknown";
}

/* Rejects unknown model names in WITH (model = ...). */
static void
validate_model(const char *value)
{
	if (value != NULL && model_kind_of(value) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for learned index option \"model\": \"%s\"", value),
				 errhint("Valid values are \"pgm\", \"rmi\" and \"linear\".")));
}

/* Rejects unknown layouts in WITH (layout = ...). */
static void
validate_layout(const char *value)
{
	if (value != NULL && strcmp(value, "sorted") != 0 && strcmp(value, "heap") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for learned index option \"layout\": \"%s\"", value),
				 errhint("Valid values are \"sorted\" (an entry for every row, the default) and \"heap\" (a model of "
						 "where rows lie in a table loaded in key order, with entries only for the rows out of order).")));
}

/*
 * A heap-layout index finds rows by their heap positions, not in key order, and returns no keys: the
 * planner must not plan ordered, index-only or plain index scans on it, only bitmap scans (as on BRIN).
 * The access method's flags are the same for every index, so they are taken back here, per index.
 */
static void
learned_get_relation_info(PlannerInfo *root, Oid relationObjectId, bool inhparent, RelOptInfo *rel)
{
	ListCell   *lc;

	if (previous_get_relation_info_hook)
		previous_get_relation_info_hook(root, relationObjectId, inhparent, rel);
	foreach(lc, rel->indexlist)
	{
		IndexOptInfo *info = (IndexOptInfo *) lfirst(lc);
		Relation	index;
		bool		heap_layout;
		int			c;

		if (info->amcostestimate != learned_costestimate)
			continue;
		index = index_open(info->indexoid, NoLock);
		heap_layout = learned_options(index)->heap_layout;
		index_close(index, NoLock);
		if (!heap_layout)
			continue;
		info->amhasgettuple = false;
		info->amcanmarkpos = false;
		info->sortopfamily = NULL;
		info->reverse_sort = NULL;
		info->nulls_first = NULL;
		for (c = 0; c < info->ncolumns; c++)
			info->canreturn[c] = false;
	}
}

/* Whether an error's untranslated format string contains `text`: independent of lc_messages. */
static bool
message_format_has(const ErrorData *edata, const char *text)
{
	return edata->message_id != NULL && strstr(edata->message_id, text) != NULL;
}

/*
 * PostgreSQL refuses unsupported index definitions (INCLUDE, a type without an
 * operator class) before any access method code runs, with no hint of what would work. Loading the
 * handler installs this hook first, so it adds that hint to those errors. They are recognised by their
 * format strings, which translation leaves alone, and by the access method's name among their arguments.
 */
static void
learned_emit_log_hook(ErrorData *edata)
{
	if (edata->elevel >= ERROR && edata->message != NULL && strstr(edata->message, "learned") != NULL &&
		(message_format_has(edata, "access method \"%s\" does not support") ||
		 message_format_has(edata, "for access method \"%s\"") ||
		 message_format_has(edata, "operator class %s does not accept data type")))
		edata->hint = pstrdup("The learned access method indexes up to four key columns of type smallint, integer, "
							  "bigint, real, double precision, date, timestamp, timestamptz or uuid, unique or not, "
							  "without INCLUDE; use a btree index for anything else.");
	/* PostgreSQL takes only btree unique indexes as ON CONFLICT arbiters, and opens every unique index of
	 * the table as one, whatever the statement's target: an internal error, without a word of why. */
	else if (edata->elevel >= ERROR && message_format_has(edata, "unexpected non-btree speculative unique index"))
	{
		edata->sqlerrcode = ERRCODE_FEATURE_NOT_SUPPORTED;
		edata->hint = pstrdup("PostgreSQL accepts INSERT ... ON CONFLICT only on tables whose unique indexes are all "
							  "btree. A learned index gives the same uniqueness as an exclusion constraint, "
							  "EXCLUDE USING learned (column WITH =), which ON CONFLICT DO NOTHING takes as its arbiter.");
	}
	/* Out-of-range epsilon, heap_epsilon or hot_limit: the core message gives the bounds as a detail, but no hint. */
	else if (edata->elevel >= ERROR && edata->message != NULL && edata->hint == NULL &&
			 message_format_has(edata, "out of bounds for option") &&
			 (strstr(edata->message, "epsilon") != NULL || strstr(edata->message, "hot_limit") != NULL))
		edata->hint = pstrdup("A learned index takes epsilon from 1 to 65536, heap_epsilon from 0 to 4096 and hot_limit of at least 1.");
	if (previous_emit_log_hook)
		previous_emit_log_hook(edata);
}

/* Registers reloptions, settings and the error hint hook. */
void
_PG_init(void)
{
	learned_relopt_kind = add_reloption_kind();
	add_string_reloption(learned_relopt_kind, "model", "Learned model: pgm, rmi or linear", "pgm", validate_model,
						 AccessExclusiveLock);
	add_int_reloption(learned_relopt_kind, "epsilon", "Maximum error of the piecewise-linear model, in positions",
					  64, 1, 65536, AccessExclusiveLock);
	add_int_reloption(learned_relopt_kind, "hot_limit", "Hot entries above which VACUUM merges them into the cold run",
					  16384, 1, INT_MAX, ShareUpdateExclusiveLock);
	add_string_reloption(learned_relopt_kind, "layout", "Index layout: sorted (an entry a row) or heap (a model of heap positions)",
						 "sorted", validate_layout, AccessExclusiveLock);
	add_int_reloption(learned_relopt_kind, "heap_epsilon", "Maximum error of the heap layout's model, in heap rows",
					  4, 0, 4096, AccessExclusiveLock);

	DefineCustomBoolVariable("learned.merge_on_vacuum",
							 "Lets VACUUM merge a learned index's hot area once it passes hot_limit.",
							 NULL, &learned_merge_on_vacuum, true, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("learned.merge_on_insert",
							 "Lets the insert that seals a hot page past hot_limit merge the hot area into the cold run.",
							 NULL, &learned_merge_on_insert, true, PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("learned");

	previous_emit_log_hook = emit_log_hook;
	emit_log_hook = learned_emit_log_hook;
	previous_get_relation_info_hook = get_relation_info_hook;
	get_relation_info_hook = learned_get_relation_info;
}

/* Parses WITH (...) options. */
static bytea *
learned_amoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt table[] = {
		{"model", RELOPT_TYPE_STRING, offsetof(LearnedRawOptions, model_offset)},
		{"epsilon", RELOPT_TYPE_INT, offsetof(LearnedRawOptions, epsilon)},
		{"hot_limit", RELOPT_TYPE_INT, offsetof(LearnedRawOptions, hot_limit)},
		{"layout", RELOPT_TYPE_STRING, offsetof(LearnedRawOptions, layout_offset)},
		{"heap_epsilon", RELOPT_TYPE_INT, offsetof(LearnedRawOptions, heap_epsilon)},
	};

	return (bytea *) build_reloptions(reloptions, validate, learned_relopt_kind, sizeof(LearnedRawOptions), table,
									  lengthof(table));
}

/* The index's options, defaults filled in. */
LearnedOptions *
learned_options(Relation index)
{
	LearnedOptions *options = palloc(sizeof(LearnedOptions));
	LearnedRawOptions *raw = (LearnedRawOptions *) index->rd_options;

	options->model = OMEN_MODEL_PGM;
	options->epsilon = 64;
	options->hot_limit = 16384;
	options->heap_layout = false;
	options->heap_epsilon = 4;
	if (raw)
	{
		if (raw->model_offset != 0)
			options->model = model_kind_of((const char *) raw + raw->model_offset);
		options->epsilon = raw->epsilon;
		options->hot_limit = raw->hot_limit;
		options->heap_layout = raw->layout_offset != 0 && strcmp((const char *) raw + raw->layout_offset, "heap") == 0;
		options->heap_epsilon = raw->heap_epsilon;
	}
	return options;
}

/*
 * The hot pages and entries one key interval's lookup reads, from the metapage: the tail, every page
 * past the directory, and the listed pages whose ranges meet a point, counted as the mean depth of the
 * listed ranges over their span (one for a time series, whose pages hold disjoint ranges; all of them for
 * random keys).
 */
static void
hot_lookup_cost(Relation index, double *pages, double *entries)
{
	Buffer		buffer = ReadBuffer(index, LEARNED_METAPAGE_BLKNO);
	LearnedMetaPage meta;
	double		covered = 0,
				depth = 0;
	uint64		low = PG_UINT64_MAX,
				high = 0;
	uint32		listed,
				i;

	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	meta = LearnedPageGetMeta(BufferGetPage(buffer));
	listed = Min(meta->hot_listed, LEARNED_HOT_DIRECTORY);
	for (i = 0; i < listed; i++)
	{
		covered += (double) (meta->hot_ranges[i].max_key - meta->hot_ranges[i].min_key) + 1;
		low = Min(low, meta->hot_ranges[i].min_key);
		high = Max(high, meta->hot_ranges[i].max_key);
	}
	if (listed > 0)
		depth = Min((double) listed, Max(1.0, covered / ((double) (high - low) + 1)));
	*pages = (meta->hot_tail != InvalidBlockNumber ? 1 : 0) + depth +
		(meta->hot_unlisted != InvalidBlockNumber ? (double) meta->hot_pages - 1 - listed : 0);
	*entries = *pages * learned_shape(index)->hot_per_page;
	if (meta->hot_pages > 0)
		*entries = Min(*entries, (double) meta->hot_count + learned_shape(index)->hot_per_page);
	UnlockReleaseBuffer(buffer);
}

/*
 * The entries one key interval of a composite key's scan reads, as btree estimates them: those the quals
 * on the leading columns with = (or = ANY, or IS NULL) and on the next column bound; quals on later
 * columns only filter what the intervals hold.
 */
static double
composite_entries(PlannerInfo *root, IndexPath *path)
{
	IndexOptInfo *index = path->indexinfo;
	List	   *bound_quals = NIL;
	double		intervals = 1;
	int			column = 0;
	bool		equal_here = false;
	ListCell   *lc;

	foreach(lc, path->indexclauses)
	{
		IndexClause *iclause = lfirst_node(IndexClause, lc);
		ListCell   *lc2;

		if (iclause->indexcol != column)
		{
			/* The next column bounds the intervals only if this one was an equality. */
			if (!equal_here || iclause->indexcol != column + 1)
				break;
			equal_here = false;
			column++;
		}
		foreach(lc2, iclause->indexquals)
		{
			RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc2);
			Expr	   *clause = rinfo->clause;
			Oid			op = InvalidOid;

			if (IsA(clause, OpExpr))
				op = ((OpExpr *) clause)->opno;
			else if (IsA(clause, ScalarArrayOpExpr))
			{
				op = ((ScalarArrayOpExpr *) clause)->opno;
				intervals *= Max(1, estimate_array_length(lsecond(((ScalarArrayOpExpr *) clause)->args)));
			}
			else if (IsA(clause, NullTest) && ((NullTest *) clause)->nulltesttype == IS_NULL)
				equal_here = true;
			if (OidIsValid(op) && get_op_opfamily_strategy(op, index->opfamily[column]) == BTEqualStrategyNumber)
				equal_here = true;
			bound_quals = lappend(bound_quals, rinfo);
		}
	}
	return Max(1.0, rint(clauselist_selectivity(root, bound_quals, index->rel->relid, JOIN_INNER, NULL) *
						 index->rel->tuples / intervals));
}

/*
 * The cost of a scan: the generic estimate of the matching entries and their pages, plus what a lookup
 * reads beyond them for each key interval: the chance that the model's window (max_window entries)
 * straddles a second cold page, the hot pages that can match, and the comparisons of the window search
 * and of those pages' entries. The metapage and the model are cached, as btree's metapage and upper
 * levels are.
 */
void
learned_costestimate(PlannerInfo *root, IndexPath *path, double loop_count, Cost *indexStartupCost,
					 Cost *indexTotalCost, Selectivity *indexSelectivity, double *indexCorrelation,
					 double *indexPages)
{
	IndexOptInfo *index = path->indexinfo;
	GenericCosts costs;
	LearnedMetaPageData meta;
	Relation	rel;
	double		lookup_pages;
	double		lookup_cpu;
	double		hot_pages,
				hot_entries;
	double		spc_random_page_cost;
	VariableStatData vardata;
	double		correlation = 0;

	MemSet(&costs, 0, sizeof(costs));
	if (index->nkeycolumns > 1)
		costs.numIndexTuples = composite_entries(root, path);
	genericcostestimate(root, path, loop_count, &costs);

	rel = index_open(index->indexoid, NoLock);
	learned_read_meta(rel, &meta);
	hot_lookup_cost(rel, &hot_pages, &hot_entries);
	get_tablespace_page_costs(index->reltablespace, &spc_random_page_cost, NULL);

	lookup_pages = (double) meta.max_window / learned_shape(rel)->group_size + hot_pages;
	lookup_cpu = (log2(Max(meta.max_window, 2)) + hot_entries) * cpu_operator_cost;
	/* layout = 'heap': a key interval's rows are found by each run's windows at its two ends, whose rows
	 * (up to 2 heap_epsilon + 2 each, on their share of heap pages) are read and rechecked beside the matches. */
	if (learned_meta_heap_bytes(&meta) > 0)
	{
		double		window = 2.0 * learned_options(rel)->heap_epsilon + 2;
		uint32		runs = learned_meta_heap_runs(&meta);

		lookup_pages += 2 * window * runs / meta.heap_stride;
		lookup_cpu += 2 * window * runs * (cpu_tuple_cost + cpu_operator_cost);
	}
	costs.indexStartupCost += (lookup_pages * spc_random_page_cost + lookup_cpu) * costs.num_sa_scans;
	costs.indexTotalCost += (lookup_pages * spc_random_page_cost + lookup_cpu) * costs.num_sa_scans;
	index_close(rel, NoLock);

	/* Entries come back in key order: the heap's correlation with the key is the index's. */
	MemSet(&vardata, 0, sizeof(vardata));
	if (index->indexkeys[0] != 0)
	{
		RangeTblEntry *rte = planner_rt_fetch(index->rel->relid, root);

		vardata.statsTuple = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(rte->relid),
											 Int16GetDatum(index->indexkeys[0]), BoolGetDatum(rte->inh));
		vardata.freefunc = ReleaseSysCache;
	}
	if (HeapTupleIsValid(vardata.statsTuple))
	{
		Oid			sortop = get_opfamily_member(index->opfamily[0], index->opcintype[0], index->opcintype[0],
												 BTLessStrategyNumber);
		AttStatsSlot sslot;

		if (OidIsValid(sortop) &&
			get_attstatsslot(&sslot, vardata.statsTuple, STATISTIC_KIND_CORRELATION, sortop, ATTSTATSSLOT_NUMBERS))
		{
			correlation = sslot.numbers[0];
			free_attstatsslot(&sslot);
		}
	}
	ReleaseVariableStats(vardata);

	*indexStartupCost = costs.indexStartupCost;
	*indexTotalCost = costs.indexTotalCost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = correlation;
	*indexPages = costs.numIndexPages;
}

/* No AM-specific properties: PostgreSQL answers them from the flags below. */
static bool
learned_property(Oid index_oid, int attno, IndexAMProperty prop, const char *propname, bool *res, bool *isnull)
{
	return false;
}

PG_FUNCTION_INFO_V1(learned_handler);

/* The access method's capabilities and callbacks. */
Datum
learned_handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = BTMaxStrategyNumber;
	amroutine->amsupport = 1;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = true;
	amroutine->amcanorderbyop = false;
	amroutine->amcanbackward = true;
	amroutine->amcanunique = true;
	amroutine->amcanmulticol = true;
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = true;
	amroutine->amsearchnulls = true;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = true;
	amroutine->amparallelvacuumoptions = VACUUM_OPTION_NO_PARALLEL;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = learned_build;
	amroutine->ambuildempty = learned_buildempty;
	amroutine->aminsert = learned_insert;
	amroutine->ambulkdelete = learned_bulkdelete;
	amroutine->amvacuumcleanup = learned_vacuumcleanup;
	amroutine->amcanreturn = learned_canreturn;
	amroutine->amcostestimate = learned_costestimate;
	amroutine->amoptions = learned_amoptions;
	amroutine->amproperty = learned_property;
	amroutine->ambuildphasename = learned_buildphasename;
	amroutine->amvalidate = learned_validate;
	amroutine->amadjustmembers = learned_adjustmembers;
	amroutine->ambeginscan = learned_beginscan;
	amroutine->amrescan = learned_rescan;
	amroutine->amgettuple = learned_gettuple;
	amroutine->amgetbitmap = learned_getbitmap;
	amroutine->amendscan = learned_endscan;
	amroutine->ammarkpos = learned_markpos;
	amroutine->amrestrpos = learned_restrpos;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}
