/*
 * utils.c: keys, metapage, page allocation, and the per-backend cache of loaded models.
 */
#include "learned.h"

#include "access/nbtxlog.h"
#include "access/reloptions.h"
#include "access/table.h"
#include "access/xlog.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "catalog/pg_authid_d.h"
#include "catalog/pg_type_d.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "port/pg_crc32c.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/date.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"

/* The OMEN_KEY_* of a column type, or 0 when the type is not supported. */
int
learned_key_type_of(Oid typid)
{
	switch (typid)
	{
		case INT2OID: return OMEN_KEY_INT2;
		case INT4OID: return OMEN_KEY_INT4;
		case INT8OID: return OMEN_KEY_INT8;
		case FLOAT4OID: return OMEN_KEY_FLOAT4;
		case FLOAT8OID: return OMEN_KEY_FLOAT8;
		case DATEOID: return OMEN_KEY_DATE;
		case TIMESTAMPOID: return OMEN_KEY_TIMESTAMP;
		case TIMESTAMPTZOID: return OMEN_KEY_TIMESTAMPTZ;
		case UUIDOID: return OMEN_KEY_UUID;
	}
	return 0;
}

/* The IEEE bits of a float8 and a float4 (copied, so that no payload goes through arithmetic). */
static uint64
float8_bits(float8 value)
{
	uint64		bits;

	memcpy(&bits, &value, sizeof(bits));
	return bits;
}

static uint32
float4_bits(float4 value)
{
	uint32		bits;

	memcpy(&bits, &value, sizeof(bits));
	return bits;
}

/*
 * The order-preserving uint64 of a datum of type typid. Integers of every width share one key space, as
 * do float4 and float8, so cross-type comparisons within a family need no conversion. Float keys keep
 * every bit, so PostgreSQL's equal floats (the two zeros, the NaNs) have adjacent keys: see
 * learned_key_equal_range.
 */
uint64
learned_normalize(Oid typid, Datum value)
{
	switch (typid)
	{
		case INT2OID: return omen_key_from_int64(DatumGetInt16(value));
		case INT4OID: return omen_key_from_int64(DatumGetInt32(value));
		case INT8OID: return omen_key_from_int64(DatumGetInt64(value));
		case DATEOID: return omen_key_from_int64(DatumGetDateADT(value));
		case TIMESTAMPOID:
		case TIMESTAMPTZOID: return omen_key_from_int64(DatumGetTimestamp(value));
		case FLOAT4OID: return omen_key_from_float4(float4_bits(DatumGetFloat4(value)));
		case FLOAT8OID: return omen_key_from_float8(float8_bits(DatumGetFloat8(value)));
		case UUIDOID: return omen_key_from_uuid(DatumGetUUIDP(value)->data);
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("learned index keys cannot be of type %s", format_type_be(typid)),
			 errhint("Supported key types are smallint, integer, bigint, real, double precision, date, timestamp, timestamptz and uuid.")));
	return 0;
}

/* The keys [*lo, *hi] of the values PostgreSQL holds equal to the one with key `key` of type typid. */
void
learned_key_equal_range(Oid typid, uint64 key, uint64 *lo, uint64 *hi)
{
	if (typid == FLOAT4OID || typid == FLOAT8OID)
		omen_float_key_equal_range(key, lo, hi);
	else
		*lo = *hi = key;
}

/*
 * Whether keys of type typid stand for their values in part (a uuid by its leading 64 bits): scans then
 * have every match rechecked, return no keys, and support only equality.
 */
bool
learned_key_is_lossy(Oid typid)
{
	return omen_key_type_is_lossy(learned_key_type_of(typid));
}

/* The datum a float key came from, bit for bit: apart from the integer types' path, which is a scan's
 * per-row work. */
static pg_noinline Datum
float_datum(int key_type, uint64 key)
{
	uint64		bits8;
	uint32		bits4;
	float8		value8;
	float4		value4;

	if (key_type == OMEN_KEY_FLOAT4)
	{
		/* A float4 index holds only float4 keys. */
		if (!omen_key_to_float4(key, &bits4))
			elog(ERROR, "learned float4 key %llu is no float4", (unsigned long long) key);
		memcpy(&value4, &bits4, sizeof(value4));
		return Float4GetDatum(value4);
	}
	bits8 = omen_key_to_float8(key);
	memcpy(&value8, &bits8, sizeof(value8));
	return Float8GetDatum(value8);
}

/* The datum a normalised key came from, bit for bit (lossy keys have none). */
Datum
learned_denormalize(int key_type, uint64 key)
{
	switch (key_type)
	{
		case OMEN_KEY_INT2: return Int16GetDatum((int16) omen_key_to_int64(key));
		case OMEN_KEY_INT4: return Int32GetDatum((int32) omen_key_to_int64(key));
		case OMEN_KEY_INT8: return Int64GetDatum(omen_key_to_int64(key));
		case OMEN_KEY_DATE: return DateADTGetDatum((DateADT) omen_key_to_int64(key));
		case OMEN_KEY_TIMESTAMP:
		case OMEN_KEY_TIMESTAMPTZ: return TimestampGetDatum(omen_key_to_int64(key));
		case OMEN_KEY_FLOAT4:
		case OMEN_KEY_FLOAT8: return float_datum(key_type, key);
		case OMEN_KEY_UUID:
			elog(ERROR, "a learned uuid key holds only the uuid's leading 64 bits");
	}
	elog(ERROR, "unknown learned key type %d", key_type);
	return (Datum) 0;
}

/* qsort_arg order of LearnedKeyTid entries, each followed by *(int *) tail words: by key, then by TID. */
int
learned_compare_entries(const void *a, const void *b, void *tail)
{
	const LearnedKeyTid *x = (const LearnedKeyTid *) a;
	const LearnedKeyTid *y = (const LearnedKeyTid *) b;
	int			order = learned_compare_keys(x->key, LearnedEntryTail(x), y->key, LearnedEntryTail(y), *(int *) tail);

	if (order != 0)
		return order;
	return ItemPointerCompare((ItemPointer) &x->tid, (ItemPointer) &y->tid);
}

/*
 * What an index keeps per relcache entry: the tail page its last insert used, and its key shape. A
 * relcache flush frees it between any two calls, so the shape itself lives in a backend-wide table (by
 * index and file: a shape changes only with a new file) that scans and writers may point into.
 */
typedef struct LearnedRelCache
{
	BlockNumber tail;
	const LearnedKeyShape *shape;
} LearnedRelCache;

typedef struct ShapeEntry
{
	Oid			index_oid;
	RelFileNode node;
	LearnedKeyShape shape;
} ShapeEntry;

static HTAB *shapes;

/* The value bits of a column of type typid in a composite key. */
static int
column_width(Oid typid)
{
	switch (typid)
	{
		case INT2OID: return 16;
		case INT4OID:
		case DATEOID: return 32;
		case UUIDOID: return 128;
	}
	return 64;
}

/* Works out an index's key shape from its columns' types. */
static void
compute_shape(Relation index, LearnedKeyShape *shape)
{
	int			natts = IndexRelationGetNumberOfKeyAttributes(index);
	int			c;

	if (natts > LEARNED_MAX_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("learned index \"%s\" has %d key columns, at most %d are supported",
						RelationGetRelationName(index), natts, LEARNED_MAX_COLUMNS),
				 errhint("Index the leading columns, or use btree.")));
	memset(shape, 0, sizeof(LearnedKeyShape));
	shape->natts = natts;
	shape->composite = natts > 1;
	for (c = 0; c < natts; c++)
	{
		shape->typids[c] = index->rd_opcintype[c];
		shape->key_types[c] = learned_key_type_of(shape->typids[c]);
		shape->widths[c] = column_width(shape->typids[c]);
		shape->bits += 1 + shape->widths[c];
	}
	shape->words = shape->composite ? (shape->bits + 63) / 64 : 1;
	shape->tail = shape->words - 1;
	/* Column values lie in column order from the most significant bit; each a NULL bit, then the value. */
	for (c = natts - 1; c >= 0; c--)
	{
		shape->positions[c] = c == natts - 1 ? 0 : shape->positions[c + 1] + 1 + shape->widths[c + 1];
		shape->last_word[c] = shape->words - 1 - shape->positions[c] / 64;
	}
	/* Equal floats with other bits (0.0 and -0.0, the NaNs) would split a run of equal values that the
	 * next column orders: every float column but the last keeps its first equal's key, and so cannot be
	 * returned bit for bit. */
	for (c = 0; c < natts - 1; c++)
		shape->folds[c] = shape->key_types[c] == OMEN_KEY_FLOAT4 || shape->key_types[c] == OMEN_KEY_FLOAT8;
	/* Entries with tails fill two plain pages a group; without, the group is what a packed page holds. */
	shape->plain_per_page = shape->tail == 0 ? (LEARNED_COLD_PER_PAGE + 1) / 2 :
		(int) ((LEARNED_PAGE_DATA_SIZE - 2) * 8 / ((sizeof(ItemPointerData) + sizeof(uint64) * (1 + shape->tail)) * 8 + 2));
	shape->group_size = shape->tail == 0 ? LEARNED_COLD_PER_PAGE : 2 * shape->plain_per_page;
	shape->hot_stride = sizeof(LearnedHotEntry) + shape->tail * sizeof(uint64);
	shape->hot_per_page = (int) Min((LEARNED_PAGE_DATA_SIZE - LEARNED_HOT_HINT_BYTES) / shape->hot_stride,
									LEARNED_HOT_HINT_BYTES * 8);
}

static LearnedRelCache *
rel_cache(Relation index)
{
	LearnedRelCache *cache = (LearnedRelCache *) index->rd_amcache;

	if (cache == NULL)
	{
		LearnedKeyShape shape;
		ShapeEntry	key;
		ShapeEntry *entry;
		bool		found;

		compute_shape(index, &shape);
		if (shapes == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = offsetof(ShapeEntry, shape);
			ctl.entrysize = sizeof(ShapeEntry);
			ctl.hcxt = TopMemoryContext;
			shapes = hash_create("learned key shapes", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		memset(&key, 0, sizeof(key));
		key.index_oid = RelationGetRelid(index);
		key.node = index->rd_node;
		entry = hash_search(shapes, &key, HASH_ENTER, &found);
		entry->shape = shape;
		cache = MemoryContextAllocZero(index->rd_indexcxt, sizeof(LearnedRelCache));
		cache->tail = InvalidBlockNumber;
		cache->shape = &entry->shape;
		index->rd_amcache = cache;
	}
	return cache;
}

/* The shape of an index's keys: valid for the rest of the backend's life. */
const LearnedKeyShape *
learned_shape(Relation index)
{
	return rel_cache(index)->shape;
}

/* Where this backend remembers the index's tail page (see insert.c). */
BlockNumber *
learned_remembered_tail(Relation index)
{
	return &rel_cache(index)->tail;
}

/* Ors the n (<= 64) bits of v into a words-word integer at bit pos. */
static void
put_bits(uint64 *w, int words, int pos, uint64 v, int n)
{
	int			off = pos % 64;
	int			i = words - 1 - pos / 64;

	w[i] |= v << off;
	if (off > 0 && off + n > 64)
		w[i - 1] |= v >> (64 - off);
}

/* Narrow integers sit in the middle of the int64 key space: their field is the key less this. */
static uint64
field_offset(int width)
{
	return width >= 64 ? 0 : (UINT64CONST(1) << 63) - (UINT64CONST(1) << (width - 1));
}

/* The field value of a normalised uint64 key (not uuid) in column `column`, which must lie in its range. */
uint128
learned_field_of(const LearnedKeyShape *shape, int column, uint64 key)
{
	return (uint128) (key - field_offset(shape->widths[column]));
}

/* Sets column `column`'s NULL bit and value in a key whose bits there are zero. */
void
learned_put_field(const LearnedKeyShape *shape, uint64 *words, int column, bool isnull, uint128 value)
{
	int			pos = shape->positions[column];
	int			width = shape->widths[column];

	put_bits(words, shape->words, pos, (uint64) value, Min(width, 64));
	if (width > 64)
		put_bits(words, shape->words, pos + 64, (uint64) (value >> 64), width - 64);
	put_bits(words, shape->words, pos + width, isnull ? 1 : 0, 1);
}

/* The key words of a row's values: the normalised value of a one-column index, or the composite key. */
void
learned_form_key(const LearnedKeyShape *shape, const Datum *values, const bool *isnull, uint64 *words)
{
	int			c;

	if (!shape->composite)
	{
		words[0] = isnull[0] ? 0 : learned_normalize(shape->typids[0], values[0]);
		return;
	}
	memset(words, 0, shape->words * sizeof(uint64));
	for (c = 0; c < shape->natts; c++)
	{
		uint128		value = 0;

		if (isnull[c])
			;
		else if (shape->typids[c] == UUIDOID)
		{
			const uint8 *bytes = DatumGetUUIDP(values[c])->data;
			int			i;

			for (i = 0; i < UUID_LEN; i++)
				value = (value << 8) | bytes[i];
		}
		else
		{
			uint64		key = learned_normalize(shape->typids[c], values[c]);
			uint64		last;

			/* Before the last column, a float takes its first equal's key (see compute_shape). */
			if (shape->folds[c])
				learned_key_equal_range(shape->typids[c], key, &key, &last);
			value = learned_field_of(shape, c, key);
		}
		learned_put_field(shape, words, c, isnull[c], value);
	}
}

/* The datum a composite key's field value came from, bit for bit. */
Datum
learned_field_datum(const LearnedKeyShape *shape, int column, uint128 value)
{
	if (shape->typids[column] == UUIDOID)
	{
		pg_uuid_t  *uuid = palloc(sizeof(pg_uuid_t));
		int			i;

		for (i = UUID_LEN - 1; i >= 0; i--)
		{
			uuid->data[i] = (uint8) value;
			value >>= 8;
		}
		return UUIDPGetDatum(uuid);
	}
	return learned_denormalize(shape->key_types[column], (uint64) value + field_offset(shape->widths[column]));
}

/* A composite run's bounds, and the first bit where they differ (the model key starts there). */
void
learned_run_bounds(const LearnedKeyShape *shape, const uint64 *min, const uint64 *max, LearnedRunBounds *bounds)
{
	int			i;

	memset(bounds, 0, sizeof(LearnedRunBounds));
	memcpy(bounds->min, min, shape->words * sizeof(uint64));
	memcpy(bounds->max, max, shape->words * sizeof(uint64));
	bounds->start = 64 * shape->words;
	for (i = 0; i < shape->words; i++)
		if (min[i] != max[i])
		{
			bounds->start = 64 * i + 63 - pg_leftmost_one_pos64(min[i] ^ max[i]);
			break;
		}
}

/*
 * What the model learns of a key: a one-column key itself; a composite key clamped to the run's bounds,
 * then the 64 bits after the prefix all keys of the run share. Non-decreasing in the key, so the model's
 * window for the image of a key brackets the key's lower bound (learned_cold_lower_bound).
 */
uint64
learned_model_key(const LearnedKeyShape *shape, const LearnedRunBounds *bounds, uint64 key, const uint64 *tail)
{
	uint64		words[LEARNED_MAX_WORDS];
	int			remain;

	if (!shape->composite)
		return key;
	if (learned_compare_keys(key, tail, bounds->min[0], bounds->min + 1, shape->tail) < 0)
		return 0;
	if (learned_compare_keys(key, tail, bounds->max[0], bounds->max + 1, shape->tail) > 0)
		return PG_UINT64_MAX;
	words[0] = key;
	memcpy(words + 1, tail, shape->tail * sizeof(uint64));
	remain = 64 * shape->words - (int) bounds->start;
	if (remain >= 64)
		return learned_get_bits(words, shape->words, remain - 64, 64);
	return remain == 0 ? 0 : learned_get_bits(words, shape->words, 0, remain) << (64 - remain);
}

/*
 * Opens the learned index indexoid for SQL function `function`, and its table: the table first, in
 * heap_lock, then the index, rechecking that the index still belongs to that table (as amcheck does).
 * What the function reveals decides what it requires: counts and sizes need SELECT on the table (or
 * ownership, which grants it) or membership in pg_stat_scan_tables, as pgstattuple's functions do; keys
 * need SELECT on the key column, and no row-level security the caller is subject to (the index holds the
 * keys of every row); changes need ownership, as REINDEX does.
 */
Relation
learned_open_for(Oid indexoid, LOCKMODE heap_lock, LOCKMODE index_lock, LearnedAccess access, const char *function,
				 Relation *heap_out)
{
	Oid			heapoid = IndexGetRelation(indexoid, true);
	Oid			user = GetUserId();
	Relation	heap;
	Relation	index;
	bool		allowed;

	if (!OidIsValid(heapoid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an index", get_rel_name(indexoid) ? get_rel_name(indexoid) : "?"),
				 errhint("%s takes an index created USING learned.", function)));
	if (access == LEARNED_ACCESS_CHANGE && RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s cannot run during recovery", function),
				 errhint("Run it on the primary; a standby replays the primary's merges.")));
	heap = table_open(heapoid, heap_lock);
	index = index_open(indexoid, index_lock);
	if (IndexGetRelation(indexoid, false) != heapoid)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("could not open the table of index \"%s\"", RelationGetRelationName(index))));
	if (index->rd_indam->ambuild != learned_build)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a learned index", RelationGetRelationName(index)),
				 errhint("%s takes an index created USING learned.", function)));

	switch (access)
	{
		case LEARNED_ACCESS_STATS:
			allowed = pg_class_aclcheck(heapoid, user, ACL_SELECT) == ACLCHECK_OK ||
				has_privs_of_role(user, ROLE_PG_STAT_SCAN_TABLES);
			break;
		case LEARNED_ACCESS_KEYS:
			{
				int			column;

				allowed = pg_class_aclcheck(heapoid, user, ACL_SELECT) == ACLCHECK_OK;
				/* Or SELECT on every key column. */
				for (column = 0; !allowed && column < IndexRelationGetNumberOfKeyAttributes(index); column++)
				{
					AttrNumber	attnum = index->rd_index->indkey.values[column];

					if (attnum == 0 || pg_attribute_aclcheck(heapoid, attnum, user, ACL_SELECT) != ACLCHECK_OK)
						break;
					allowed = column == IndexRelationGetNumberOfKeyAttributes(index) - 1;
				}
				if (allowed && check_enable_rls(heapoid, InvalidOid, false) == RLS_ENABLED)
					ereport(ERROR,
							(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
							 errmsg("%s cannot read the keys of table \"%s\", which has row-level security",
									function, RelationGetRelationName(heap)),
							 errdetail("The index holds the keys of every row, including rows the policies hide."),
							 errhint("Run it as the table's owner or as a role with BYPASSRLS.")));
				break;
			}
		case LEARNED_ACCESS_CHANGE:
		default:
			allowed = pg_class_ownercheck(indexoid, user);
			break;
	}
	if (!allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", RelationGetRelationName(heap)),
				 errdetail("%s %s index \"%s\".", function,
						   access == LEARNED_ACCESS_STATS ? "reads the statistics of" :
						   access == LEARNED_ACCESS_KEYS ? "reads the keys of" : "changes",
						   RelationGetRelationName(index)),
				 errhint(access == LEARNED_ACCESS_STATS ? "It needs SELECT on the table, or membership in pg_stat_scan_tables." :
						 access == LEARNED_ACCESS_KEYS ? "It needs SELECT on the table or on its key columns." :
						 "Only the table's owner may change its index.")));
	*heap_out = heap;
	return index;
}

/* Raises the library's status as an ERROR (the library itself never raises). */
void
learned_check_status(int status, const char *what)
{
	if (status == OMEN_OK)
		return;
	ereport(ERROR,
			(errcode(status == OMEN_ERR_INVALID_ARGUMENT ? ERRCODE_INVALID_PARAMETER_VALUE : ERRCODE_INDEX_CORRUPTED),
			 errmsg("learned index %s failed: %s", what, omen_status_message(status)),
			 status >= OMEN_ERR_TRUNCATED && status <= OMEN_ERR_CORRUPT ?
			 errhint("The index is damaged; rebuild it with REINDEX.") : 0));
}

/* Initialises a page of the given kind, written for run generation `generation`. */
void
learned_init_page(Page page, uint16 flags, uint64 generation)
{
	LearnedPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(LearnedPageOpaqueData));
	opaque = LearnedPageGetOpaque(page);
	opaque->flags = flags;
	opaque->generation = (uint32) generation;
	opaque->next = InvalidBlockNumber;
	opaque->min_key = PG_UINT64_MAX;
	opaque->max_key = 0;
	opaque->page_id = LEARNED_PAGE_ID;
}

/* Builds by this backend, so that two in one microsecond get different build ids. */
static uint64 builds;

/* Writes an empty index's metapage. */
void
learned_fill_meta(Relation index, Page page, int key_type)
{
	LearnedOptions *options = learned_options(index);
	LearnedMetaPage meta;

	learned_init_page(page, LEARNED_PAGE_META, 0);
	meta = LearnedPageGetMeta(page);
	memset(meta, 0, sizeof(LearnedMetaPageData));
	meta->magic = LEARNED_MAGIC;
	meta->version = LEARNED_LAYOUT_VERSION;
	meta->key_type = key_type;
	meta->model_kind = options->model;
	meta->model_param = options->epsilon;
	meta->model_head = InvalidBlockNumber;
	meta->hot_head = InvalidBlockNumber;
	meta->hot_tail = InvalidBlockNumber;
	meta->hot_unlisted = InvalidBlockNumber;
	meta->build_id = ((uint64) GetCurrentTimestamp() << 16) ^ ((uint64) MyProcPid << 40) ^ ++builds;
	((PageHeader) page)->pd_lower = ((char *) meta + sizeof(LearnedMetaPageData)) - (char *) page;
	learned_set_checksum(page);
}

/* The CRC-32C a page's checksum field holds (see learned.h); false when pd_lower lies outside the page. */
static bool
page_crc(Page page, pg_crc32c *crc)
{
	PageHeader	header = (PageHeader) page;

	if (header->pd_lower < MAXALIGN(SizeOfPageHeaderData) || header->pd_lower > header->pd_special)
		return false;
	INIT_CRC32C(*crc);
	COMP_CRC32C(*crc, LearnedPageGetOpaque(page), offsetof(LearnedPageOpaqueData, checksum));
	COMP_CRC32C(*crc, PageGetContents(page), header->pd_lower - MAXALIGN(SizeOfPageHeaderData));
	return true;
}

/* Sets a page's checksum after a change (the caller logs the page afterwards). */
void
learned_set_checksum(Page page)
{
	pg_crc32c	crc;

	if (page_crc(page, &crc))
		LearnedPageGetOpaque(page)->checksum = crc;
}

/* Extends a hot page's checksum by the `length` bytes just appended at pd_lower's old place. */
void
learned_extend_checksum(Page page, const void *data, Size length)
{
	pg_crc32c	crc = LearnedPageGetOpaque(page)->checksum;

	COMP_CRC32C(crc, data, length);
	LearnedPageGetOpaque(page)->checksum = crc;
}

/* Whether a page's checksum matches its contents. */
static bool
checksum_matches(Page page)
{
	pg_crc32c	crc;

	return page_crc(page, &crc) && crc == LearnedPageGetOpaque(page)->checksum;
}

/*
 * The blocks whose checksum this backend verified, with the LSN each had then: a lookup would otherwise
 * spend more time on CRCs (of the metapage and a cold page, 16 kB) than on everything else. A block is
 * verified again once its LSN moves (every logged change moves it); a page without an LSN (an unlogged
 * index) is verified at every read. The table is 4-way set-associative (a block's set is a hash of its
 * relation and number; a newcomer to a full set takes its ways in turn), so a lookup costs one probe and
 * an index of tens of thousands of blocks stays verified.
 */
typedef struct VerifiedBlock
{
	RelFileNode node;
	BlockNumber blkno;
	XLogRecPtr	lsn;			/* InvalidXLogRecPtr in a way never used */
} VerifiedBlock;

#define LEARNED_VERIFIED_WAYS 4
#define LEARNED_VERIFIED_SETS 8192	/* a power of two */

typedef struct VerifiedSet
{
	VerifiedBlock ways[LEARNED_VERIFIED_WAYS];
	int			next;			/* the way a newcomer takes */
} VerifiedSet;

static VerifiedSet *verified_blocks;

/*
 * Whether block blkno's page (held locked) passes its checksum: PostgreSQL's own when the cluster has
 * data checksums (it verified the page when it read it), else ours, unless verified at this LSN before.
 */
static bool
checksum_verified(Relation index, BlockNumber blkno, Page page)
{
	XLogRecPtr	lsn = PageGetLSN(page);
	VerifiedSet *set;
	VerifiedBlock *way;
	int			i;

	if (DataChecksumsEnabled())
		return true;
	if (lsn == InvalidXLogRecPtr)
		return checksum_matches(page);
	if (verified_blocks == NULL)
		verified_blocks = MemoryContextAllocZero(TopMemoryContext, LEARNED_VERIFIED_SETS * sizeof(VerifiedSet));
	set = &verified_blocks[hash_combine(murmurhash32(index->rd_node.relNode), murmurhash32(blkno)) &
						   (LEARNED_VERIFIED_SETS - 1)];
	for (i = 0; i < LEARNED_VERIFIED_WAYS; i++)
	{
		way = &set->ways[i];
		if (way->blkno == blkno && RelFileNodeEquals(way->node, index->rd_node))
			break;
	}
	if (i < LEARNED_VERIFIED_WAYS && way->lsn == lsn)
		return true;
	if (!checksum_matches(page))
		return false;
	if (i == LEARNED_VERIFIED_WAYS)
	{
		way = &set->ways[set->next];
		set->next = (set->next + 1) % LEARNED_VERIFIED_WAYS;
	}
	way->node = index->rd_node;
	way->blkno = blkno;
	way->lsn = lsn;
	return true;
}

/* Raises the error of a damaged index block. */
static void
block_corrupted(Relation index, BlockNumber blkno, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("learned index \"%s\" block %u %s", RelationGetRelationName(index), blkno, problem),
			 errhint("Rebuild it with REINDEX.")));
}

/* Refuses a block number that a page or the metapage names past the end of the index. */
void
learned_check_block(Relation index, BlockNumber blkno, BlockNumber nblocks, const char *what)
{
	if (blkno != InvalidBlockNumber && (blkno >= nblocks || blkno == LEARNED_METAPAGE_BLKNO))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("learned index \"%s\" names block %u as its %s, but has %u blocks",
						RelationGetRelationName(index), blkno, what, nblocks),
				 errhint("Rebuild it with REINDEX.")));
}

/*
 * Refuses a metapage (held locked by the caller) that is not one this build reads or that fails its
 * checksum or its own consistency: counts against their maximum and, when nblocks is valid, every block it
 * names against the index's size. Layout and magic come first, so an index of another layout version gets
 * that error on every path.
 */
void
learned_check_meta(Relation index, Page page, BlockNumber nblocks)
{
	LearnedMetaPage meta = LearnedPageGetMeta(page);
	const LearnedKeyShape *shape = learned_shape(index);
	const char *problem = NULL;
	uint32		i;

	if (!learned_page_is(page, LEARNED_PAGE_META) || meta->magic != LEARNED_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not a learned index", RelationGetRelationName(index)),
				 errhint("Rebuild it with REINDEX.")));
	if (meta->version != LEARNED_LAYOUT_VERSION && meta->version != LEARNED_LAYOUT_ONE_RUN &&
		meta->version != LEARNED_LAYOUT_NO_LAST_KEY &&
		meta->version != LEARNED_LAYOUT_NO_HEAP &&
		!((meta->version == LEARNED_LAYOUT_WIDE_LINES || meta->version == LEARNED_LAYOUT_NO_EXACT_FLOATS) &&
		  meta->model_kind != OMEN_MODEL_PGM &&
		  (meta->version == LEARNED_LAYOUT_WIDE_LINES ||
		   (meta->key_type != OMEN_KEY_FLOAT4 && meta->key_type != OMEN_KEY_FLOAT8))))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("learned index \"%s\" has layout version %u, this build reads %d",
						RelationGetRelationName(index), meta->version, LEARNED_LAYOUT_VERSION),
				 errhint("Rebuild it with REINDEX INDEX %s.", RelationGetRelationName(index))));
	if (!checksum_verified(index, LEARNED_METAPAGE_BLKNO, page) ||
		((PageHeader) page)->pd_lower != (char *) meta + learned_meta_size(meta->version) - (char *) page)
		problem = "(the metapage) fails its checksum";
	else if (learned_meta_heap_bytes(meta) > 0 &&
			 (meta->heap_stride == 0 || meta->heap_stride > MaxHeapTuplesPerPage || meta->heap_covered == 0 ||
			  learned_meta_heap_runs(meta) == 0 || learned_meta_heap_runs(meta) > LEARNED_HEAP_MAX_RUNS))
		problem = "(the metapage) describes a heap model that does not match its layout";
	else if (meta->key_type != (uint32) learned_key_type_of(index->rd_opcintype[0]))
		problem = "(the metapage) names another key type than the column's";
	else if (meta->model_kind < OMEN_MODEL_PGM || meta->model_kind > OMEN_MODEL_LINEAR)
		problem = "(the metapage) names an unknown model";
	else if ((uint64) meta->cold_pages * shape->group_size < meta->cold_count + meta->cold_nulls ||
			 (meta->cold_pages > 0 &&
			  (uint64) (meta->cold_pages - 1) * shape->group_size >= meta->cold_count + meta->cold_nulls) ||
			 (shape->composite && meta->cold_nulls > 0))
		problem = "(the metapage) counts cold pages that do not match its entries";
	else if (meta->hot_listed > LEARNED_HOT_DIRECTORY || meta->hot_listed > meta->hot_pages ||
			 (meta->hot_tail == InvalidBlockNumber) != (meta->hot_pages == 0) ||
			 (meta->hot_head == InvalidBlockNumber) != (meta->hot_tail == InvalidBlockNumber) ||
			 meta->hot_count > (uint64) meta->hot_pages * shape->hot_per_page)
		problem = "(the metapage) counts hot pages that do not match its directory";
	else if ((meta->model_head == InvalidBlockNumber) !=
			 (meta->model_bytes == 0 && meta->cold_pages == 0 && learned_meta_heap_bytes(meta) == 0) ||
			 (meta->cold_count > 0 && meta->model_bytes == 0))
		problem = "(the metapage) describes a model that does not match its run";
	for (i = 0; problem == NULL && i < meta->hot_listed; i++)
		if (meta->hot_ranges[i].count > shape->hot_per_page || meta->hot_ranges[i].nulls > meta->hot_ranges[i].count ||
			meta->hot_ranges[i].blkno == InvalidBlockNumber)
			problem = "(the metapage) has a damaged hot directory";
	if (problem)
		block_corrupted(index, LEARNED_METAPAGE_BLKNO, problem);
	if (nblocks != InvalidBlockNumber)
	{
		learned_check_block(index, meta->model_head, nblocks, "first model page");
		learned_check_block(index, meta->hot_head, nblocks, "first hot page");
		learned_check_block(index, meta->hot_tail, nblocks, "last hot page");
		learned_check_block(index, meta->hot_unlisted, nblocks, "first unlisted hot page");
		for (i = 0; i < meta->hot_listed; i++)
			learned_check_block(index, meta->hot_ranges[i].blkno, nblocks, "listed hot page");
	}
}

/* Copies the metapage's first `size` bytes (the fields before the hot directory, or all), checking the
 * whole metapage first. */
void
learned_read_meta_page(Relation index, LearnedMetaPageData *meta, Size size)
{
	Buffer		buffer;
	Page		page;

	if (RelationGetNumberOfBlocks(index) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has no metapage", RelationGetRelationName(index)),
				 errhint("Rebuild it with REINDEX.")));
	buffer = ReadBuffer(index, LEARNED_METAPAGE_BLKNO);
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buffer);
	/* The size is read under the lock: a block the metapage names was added before it was named. */
	learned_check_meta(index, page, RelationGetNumberOfBlocks(index));
	memcpy(meta, LearnedPageGetMeta(page), size);
	/* The heap model's fields follow the directory. */
	learned_copy_meta_heap(meta, LearnedPageGetMeta(page));
	UnlockReleaseBuffer(buffer);
}

/* The heap positions [*lo, *hi) holding every row the heap model covers with a key in [first, last]: from
 * the window of first's lower bound to that of the first key above last. */
void
learned_heap_window(const omen_model *model, uint64 first, uint64 last, uint64 *lo, uint64 *hi)
{
	uint64		unused;

	learned_check_status(omen_model_window(model, first, lo, &unused), "heap window");
	if (last == PG_UINT64_MAX)
		*hi = omen_model_key_count(model);
	else
		learned_check_status(omen_model_window(model, last + 1, &unused, hi), "heap window");
}

/* Whether page is an initialised page of this access method with flag `kind` set. */
bool
learned_page_is(Page page, uint16 kind)
{
	return !PageIsNew(page) && PageGetSpecialSize(page) == MAXALIGN(sizeof(LearnedPageOpaqueData)) &&
		LearnedPageGetOpaque(page)->page_id == LEARNED_PAGE_ID && (LearnedPageGetOpaque(page)->flags & kind);
}

/*
 * Refuses a page that is not of `kind` in the run of `generation`, or that fails its checksum or holds
 * more than a page of its kind can: a page of another kind, or one written for a later run (a block
 * recycled since the reader read the metapage, which the recycling protocol forbids), is never read as if
 * it were the run's, and no count read from a page takes a reader past it. LEARNED_ANY_GENERATION skips the
 * generation (pages of replaced runs).
 */
void
learned_check_page(Relation index, BlockNumber blkno, Page page, uint16 kind, uint64 generation)
{
	LearnedPageOpaque opaque = LearnedPageGetOpaque(page);
	PageHeader	header = (PageHeader) page;
	const LearnedKeyShape *shape = learned_shape(index);

	if (!learned_page_is(page, kind))
		block_corrupted(index, blkno, kind == LEARNED_PAGE_COLD ? "is not a cold page" :
						kind == LEARNED_PAGE_HOT ? "is not a hot page" : "is not a model page");
	if (generation != LEARNED_ANY_GENERATION && (int32) (opaque->generation - (uint32) generation) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("learned index \"%s\" block %u belongs to run %u, not to run %u or earlier",
						RelationGetRelationName(index), blkno, opaque->generation, (uint32) generation),
				 errhint("Rebuild it with REINDEX.")));
	if (!checksum_verified(index, blkno, page))
		block_corrupted(index, blkno, "fails its checksum");
	if (kind == LEARNED_PAGE_HOT)
	{
		if ((header->pd_lower - MAXALIGN(SizeOfPageHeaderData)) % shape->hot_stride != 0 ||
			learned_hot_count(page, shape) > shape->hot_per_page ||
			((opaque->flags & LEARNED_PAGE_SEALED) && opaque->count != learned_hot_count(page, shape)))
			block_corrupted(index, blkno, "counts more hot entries than it holds");
	}
	else if (kind == LEARNED_PAGE_COLD)
	{
		bool		packed = (opaque->flags & LEARNED_PAGE_PACKED) != 0;

		if (opaque->count > (packed ? shape->group_size : shape->plain_per_page) ||
			header->pd_lower != (!packed ? LearnedPlainLower(shape) :
								 shape->tail > 0 ? LearnedWideLower(shape) : LEARNED_PACKED_LOWER))
			block_corrupted(index, blkno, "counts more cold entries than it holds");
	}
	else if (opaque->count == 0 || opaque->count > LEARNED_MODEL_PAYLOAD)
		block_corrupted(index, blkno, "holds a model chunk larger than a page");
}

/* All hot entries: the metapage counts the sealed pages; the tail page, which inserts fill alone, its own. */
uint64
learned_hot_entries(Relation index, const LearnedMetaPageData *meta)
{
	uint64		count = meta->hot_count;

	if (meta->hot_tail != InvalidBlockNumber)
	{
		Buffer		buffer = ReadBuffer(index, meta->hot_tail);
		LearnedPageOpaque opaque;

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		opaque = LearnedPageGetOpaque(BufferGetPage(buffer));
		/* Only a count: a tail a merge took since the metapage was read counts as empty. */
		if (learned_page_is(BufferGetPage(buffer), LEARNED_PAGE_HOT) && !(opaque->flags & LEARNED_PAGE_SEALED))
			count += Max(0, Min(learned_hot_count(BufferGetPage(buffer), learned_shape(index)),
								learned_shape(index)->hot_per_page));
		UnlockReleaseBuffer(buffer);
	}
	return count;
}

/*
 * A new page, exclusively locked: a page freed by an earlier merge if the free space map has one, else a
 * new block at the end. The caller initialises it.
 */
Buffer
learned_new_buffer(Relation index)
{
	Buffer		buffer;
	bool		needLock;
	BlockNumber later[LEARNED_FREE_TRIES];
	int			nlater = 0;
	int			tries;

	/* The free space map names blocks as merges free them, before every snapshot that may read them is
	 * gone: a block that is not recyclable yet goes back to it (once the search is over, so that it is
	 * not offered again at once; its upper levels still count it), and a few others are tried. */
	buffer = InvalidBuffer;
	for (tries = 0; tries < LEARNED_FREE_TRIES && !BufferIsValid(buffer); tries++)
	{
		BlockNumber blkno = GetFreeIndexPage(index);
		Page		page;

		if (blkno == InvalidBlockNumber)
			break;
		buffer = ReadBuffer(index, blkno);
		if (!ConditionalLockBuffer(buffer))
		{
			ReleaseBuffer(buffer);
			buffer = InvalidBuffer;
			continue;
		}
		page = BufferGetPage(buffer);
		if (PageIsNew(page))
			break;
		if (learned_page_recyclable(page))
		{
			/*
			 * A standby may still run queries that can read the page: nbtree's reuse record (whose replay
			 * touches no page, it only cancels queries whose snapshots predate the xid) makes the standby
			 * resolve that conflict before it replays the page's new contents.
			 */
			if (XLogStandbyInfoActive() && RelationNeedsWAL(index))
			{
				xl_btree_reuse_page xlrec;

				xlrec.node = index->rd_node;
				xlrec.block = blkno;
				xlrec.latestRemovedFullXid = LearnedPageGetOpaque(page)->deleted_xid;
				XLogBeginInsert();
				XLogRegisterData((char *) &xlrec, SizeOfBtreeReusePage);
				XLogInsert(RM_BTREE_ID, XLOG_BTREE_REUSE_PAGE);
			}
			break;
		}
		if (LearnedPageGetOpaque(page)->flags & LEARNED_PAGE_DELETED)
			later[nlater++] = blkno;
		UnlockReleaseBuffer(buffer);
		buffer = InvalidBuffer;
	}
	for (tries = 0; tries < nlater; tries++)
		RecordFreeIndexPage(index, later[tries]);
	if (BufferIsValid(buffer))
		return buffer;

	needLock = !RELATION_IS_LOCAL(index);
	if (needLock)
		LockRelationForExtension(index, ExclusiveLock);
	buffer = ReadBuffer(index, P_NEW);
	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	if (needLock)
		UnlockRelationForExtension(index, ExclusiveLock);
	return buffer;
}

/* A deleted page that no snapshot, here or (through the reuse record) on a standby, can still read. */
bool
learned_page_recyclable(Page page)
{
	return learned_page_is(page, LEARNED_PAGE_DELETED) &&
		GlobalVisCheckRemovableFullXid(NULL, LearnedPageGetOpaque(page)->deleted_xid);
}

/*
 * Marks a page freed by a merge, stamped with the xid after which no running scan can still read it. The
 * contents stay: scans that started before the merge go on reading them until then.
 */
void
learned_delete_page(Relation index, BlockNumber blkno, FullTransactionId xid)
{
	Buffer		buffer = ReadBuffer(index, blkno);
	GenericXLogState *state;
	Page		page;
	LearnedPageOpaque opaque;

	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	if (!learned_page_is(BufferGetPage(buffer), LEARNED_PAGE_COLD | LEARNED_PAGE_MODEL | LEARNED_PAGE_HOT))
		block_corrupted(index, blkno, "is not a page of the index's run");
	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, buffer, 0);
	opaque = LearnedPageGetOpaque(page);
	opaque->flags |= LEARNED_PAGE_DELETED;
	opaque->deleted_xid = xid;
	learned_set_checksum(page);
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buffer);
}

/*
 * The model cache: a few recently used models per backend, keyed by index, file, build and generation. A merge
 * bumps the generation, so a stale entry is never used; it is freed once no scan pins it.
 */
#define LEARNED_CACHE_SIZE 8

static LearnedModelRef *model_cache[LEARNED_CACHE_SIZE];
static int	model_cache_next;

static void
free_model_ref(LearnedModelRef *ref)
{
	int			i;

	if (ref->model)
		omen_model_free(ref->model);
	for (i = 0; i < ref->heap_nruns; i++)
		omen_model_free(ref->heap_runs[i]);
	if (ref->heap_bytes)
		pfree(ref->heap_bytes);
	if (ref->directory)
		pfree(ref->directory);
	if (ref->overflow)
		pfree(ref->overflow);
	pfree(ref);
}

/* Reads the model chain into memory and loads it. */
static LearnedModelRef *
load_model_ref(Relation index, const LearnedMetaPageData *meta)
{
	LearnedModelRef *ref = MemoryContextAllocZero(TopMemoryContext, sizeof(LearnedModelRef));
	const LearnedKeyShape *shape = learned_shape(index);
	Size		directory_bytes = (Size) meta->cold_pages * sizeof(BlockNumber);
	/* A composite run's bounds follow the directory. */
	Size		bounds_bytes = shape->composite && meta->cold_count > 0 ? sizeof(LearnedRunBounds) : 0;
	Size		total = (Size) meta->model_bytes + directory_bytes + bounds_bytes + meta->heap_bytes;
	char	   *bytes = palloc(Max(total, 1));
	Size		filled = 0;
	BlockNumber blkno = meta->model_head;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	uint32		i;

	ref->index_oid = RelationGetRelid(index);
	ref->node = index->rd_node;
	ref->build_id = meta->build_id;
	ref->generation = meta->generation;
	ref->cold_pages = meta->cold_pages;
	ref->shape = *shape;
	while (filled < total)
	{
		Buffer		buffer;
		Page		page;
		LearnedPageOpaque opaque;

		if (blkno == InvalidBlockNumber || blkno >= nblocks || blkno == LEARNED_METAPAGE_BLKNO)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("learned index \"%s\" has a broken model chain", RelationGetRelationName(index)),
					 errhint("Rebuild it with REINDEX.")));
		buffer = ReadBuffer(index, blkno);
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		opaque = LearnedPageGetOpaque(page);
		learned_check_page(index, blkno, page, LEARNED_PAGE_MODEL, meta->generation);
		if (opaque->count > total - filled)
		{
			UnlockReleaseBuffer(buffer);
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("learned index \"%s\" has a damaged model page %u", RelationGetRelationName(index), blkno),
					 errhint("Rebuild it with REINDEX.")));
		}
		memcpy(bytes + filled, PageGetContents(page), opaque->count);
		filled += opaque->count;
		blkno = opaque->next;
		UnlockReleaseBuffer(buffer);
	}
	ref->directory = MemoryContextAlloc(TopMemoryContext, Max(directory_bytes, 1));
	memcpy(ref->directory, bytes + meta->model_bytes, directory_bytes);
	ref->overflow = MemoryContextAllocZero(TopMemoryContext, Max(directory_bytes, 1));
	memcpy(&ref->bounds, bytes + meta->model_bytes + directory_bytes, bounds_bytes);
	/* The index never shrinks: a group checked to lie inside it here stays inside it. */
	for (i = 0; i < ref->cold_pages; i++)
		if (ref->directory[i] >= nblocks || ref->directory[i] == LEARNED_METAPAGE_BLKNO)
		{
			BlockNumber bad = ref->directory[i];

			pfree(bytes);
			free_model_ref(ref);
			learned_check_block(index, bad, nblocks, "cold group");
		}
	if (meta->heap_bytes > 0)
	{
		int			status = OMEN_OK;
		uint32		offset = 0;

		ref->heap_length = meta->heap_bytes;
		ref->heap_bytes = MemoryContextAlloc(TopMemoryContext, meta->heap_bytes);
		memcpy(ref->heap_bytes, bytes + meta->model_bytes + directory_bytes + bounds_bytes, meta->heap_bytes);
		/* The runs, one after another, as many as the metapage names. */
		while (offset < meta->heap_bytes && status == OMEN_OK)
		{
			size_t		consumed = 0;

			if ((uint32) ref->heap_nruns == learned_meta_heap_runs(meta))
			{
				status = OMEN_ERR_CORRUPT;
				break;
			}
			ref->heap_run_offsets[ref->heap_nruns] = offset;
			status = omen_model_load_prefix((const uint8_t *) ref->heap_bytes + offset, meta->heap_bytes - offset,
											&ref->heap_runs[ref->heap_nruns], &consumed);
			if (status != OMEN_OK)
				break;
			ref->heap_nruns++;
			offset += (uint32) consumed;
			if (omen_model_kind_of(ref->heap_runs[ref->heap_nruns - 1]) != OMEN_MODEL_PGM)
				status = OMEN_ERR_CORRUPT;
		}
		ref->heap_run_offsets[ref->heap_nruns] = offset;
		if (status == OMEN_OK && (uint32) ref->heap_nruns != learned_meta_heap_runs(meta))
			status = OMEN_ERR_CORRUPT;
		if (status != OMEN_OK)
		{
			pfree(bytes);
			free_model_ref(ref);
			learned_check_status(status, "heap model load");
		}
	}
	if (meta->cold_count > 0)
	{
		int			status = omen_model_load((const uint8_t *) bytes, meta->model_bytes, &ref->model);

		if (status != OMEN_OK)
		{
			pfree(bytes);
			free_model_ref(ref);
			learned_check_status(status, "model load");
		}
		if (omen_model_key_count(ref->model) != meta->cold_count)
		{
			pfree(bytes);
			free_model_ref(ref);
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("learned index \"%s\" has a model of the wrong size", RelationGetRelationName(index)),
					 errhint("Rebuild it with REINDEX.")));
		}
	}
	pfree(bytes);
	return ref;
}

/* The model of the index's current generation, pinned until learned_unpin_model. */
LearnedModelRef *
learned_pin_model(Relation index, const LearnedMetaPageData *meta)
{
	LearnedModelRef *ref;
	int			i;

	for (i = 0; i < LEARNED_CACHE_SIZE; i++)
	{
		ref = model_cache[i];
		if (ref && ref->index_oid == RelationGetRelid(index) && RelFileNodeEquals(ref->node, index->rd_node) &&
			ref->build_id == meta->build_id && ref->generation == meta->generation)
		{
			ref->pins++;
			return ref;
		}
	}
	ref = load_model_ref(index, meta);
	/* Replace any stale entry of the same index first, else the oldest slot. */
	for (i = 0; i < LEARNED_CACHE_SIZE; i++)
		if (model_cache[i] && model_cache[i]->index_oid == RelationGetRelid(index))
			break;
	if (i == LEARNED_CACHE_SIZE)
	{
		i = model_cache_next;
		model_cache_next = (model_cache_next + 1) % LEARNED_CACHE_SIZE;
	}
	if (model_cache[i])
	{
		model_cache[i]->cached = false;
		if (model_cache[i]->pins == 0)
			free_model_ref(model_cache[i]);
	}
	ref->cached = true;
	ref->pins = 1;
	model_cache[i] = ref;
	return ref;
}

/* Drops a pin; a model no longer cached is freed with its last pin. */
void
learned_unpin_model(LearnedModelRef *ref)
{
	Assert(ref->pins > 0);
	ref->pins--;
	if (ref->pins == 0 && !ref->cached)
		free_model_ref(ref);
}

/* Locks cold block blkno of run `generation` in share mode and checks it; *pin holds the buffer pinned,
 * and a buffer it already holds is not read again. */
static Page
lock_cold_page(Relation index, BlockNumber blkno, uint64 generation, Buffer *pin)
{
	Buffer		buffer = BufferIsValid(*pin) ? *pin : ReadBuffer(index, blkno);
	Page		page;

	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buffer);
	learned_check_page(index, blkno, page, LEARNED_PAGE_COLD, generation);
	*pin = buffer;
	return page;
}

/* Unlocks a cold page read by lock_cold_page, keeping its pin only when the copy keeps pins. */
static void
unlock_cold_page(LearnedColdPageCopy *copy, Buffer *pin)
{
	LockBuffer(*pin, BUFFER_LOCK_UNLOCK);
	if (!copy->keep_pins)
	{
		ReleaseBuffer(*pin);
		*pin = InvalidBuffer;
	}
}

/* Copies elements [lo, hi) of the array `array` of page src, `size` bytes each, to the same place in dest. */
static inline void
copy_elements(char *dest, Page src, const void *array, Size size, int lo, int hi)
{
	Size		offset = (Size) ((const char *) array - (const char *) src) + (Size) lo * size;

	memcpy(dest + offset, (const char *) src + offset, (Size) (hi - lo) * size);
}

/* Copies slots [lo, hi) of cold page src (the page's own slots) to their places in dest: their elements
 * of each array and the bitmap bytes that hold their bits, and a packed page's base. */
static void
copy_cold_slots(char *dest, Page src, const LearnedKeyShape *shape, int lo, int hi)
{
	int			byte_lo = lo / 8;
	int			byte_hi = (hi + 7) / 8;

	if (lo >= hi)
		return;
	if (!(LearnedPageGetOpaque(src)->flags & LEARNED_PAGE_PACKED))
	{
		copy_elements(dest, src, LearnedPlainKeys(src), sizeof(uint64), lo, hi);
		copy_elements(dest, src, LearnedPlainTails(src, shape), shape->tail * sizeof(uint64), lo, hi);
		copy_elements(dest, src, LearnedPlainTids(src, shape), sizeof(ItemPointerData), lo, hi);
		copy_elements(dest, src, LearnedPlainDead(src, shape), 1, byte_lo, byte_hi);
		copy_elements(dest, src, LearnedPlainHints(src, shape), 1, byte_lo, byte_hi);
	}
	else if (shape->tail > 0)
	{
		copy_elements(dest, src, LearnedWideBase(src), shape->words * sizeof(uint64), 0, 1);
		copy_elements(dest, src, LearnedWideKeys(src, shape), sizeof(uint32), lo, hi);
		copy_elements(dest, src, LearnedWideTids(src, shape), sizeof(ItemPointerData), lo, hi);
		copy_elements(dest, src, LearnedWideDead(src, shape), 1, byte_lo, byte_hi);
		copy_elements(dest, src, LearnedWideHints(src, shape), 1, byte_lo, byte_hi);
	}
	else
	{
		copy_elements(dest, src, LearnedPackedHead(src), sizeof(LearnedPackedHeader), 0, 1);
		copy_elements(dest, src, LearnedPackedKeys(src), sizeof(uint32), lo, hi);
		copy_elements(dest, src, LearnedPackedOffsets(src), sizeof(OffsetNumber), lo, hi);
		copy_elements(dest, src, LearnedPackedBlocks(src), 1, lo, hi);
		copy_elements(dest, src, LearnedPackedDead(src), 1, byte_lo, byte_hi);
		copy_elements(dest, src, LearnedPackedHints(src), 1, byte_lo, byte_hi);
	}
}

/* Prepares an empty copy of ref's run; with keep_pins the loaded group stays pinned (see README). */
void
learned_copy_init(LearnedColdPageCopy *copy, const LearnedModelRef *ref, bool keep_pins)
{
	copy->shape = &ref->shape;
	copy->page_index = -1;
	copy->first = 0;
	copy->lo = 0;
	copy->held = 0;
	copy->pages_read = 0;
	copy->generation = (uint32) ref->generation;
	copy->keep_pins = keep_pins;
	copy->pins[0] = InvalidBuffer;
	copy->pins[1] = InvalidBuffer;
}

/* Drops the pins a copy holds. */
void
learned_copy_release(LearnedColdPageCopy *copy)
{
	int			i;

	for (i = 0; i < 2; i++)
	{
		if (BufferIsValid(copy->pins[i]))
			ReleaseBuffer(copy->pins[i]);
		copy->pins[i] = InvalidBuffer;
	}
	copy->page_index = -1;
	copy->held = 0;
}

/*
 * Copies into copy the entries of position's cold group that lie in positions [want_lo, want_hi): a lookup
 * copies the entries its search reads, a scan the part of the group its range covers, not the whole 16 kB.
 * A plain group's overflow page is read only when those entries reach it.
 */
void
learned_cold_load(Relation index, const LearnedModelRef *ref, LearnedColdPageCopy *copy, int64 position,
				  int64 want_lo, int64 want_hi)
{
	const LearnedKeyShape *shape = copy->shape;
	int64		page_index = position / shape->group_size;
	int64		first = page_index * shape->group_size;
	int			slot = (int) (position - first);
	int			lo,
				hi;
	Page		page;
	LearnedPageOpaque opaque;
	BlockNumber overflow = InvalidBlockNumber;

	if (position < 0 || page_index >= ref->cold_pages)
		elog(ERROR, "learned index cold position %lld out of range", (long long) position);
	if (page_index != copy->page_index)
		learned_copy_release(copy);
	lo = (int) Min(Max(want_lo - first, 0), slot);
	hi = (int) Max(Min(want_hi - first, shape->group_size), slot + 1);
	/* Entries wholly on a plain group's overflow page need its first page only to find that page. */
	if (lo >= shape->plain_per_page && ref->overflow[page_index] != 0 && ref->overflow[page_index] != InvalidBlockNumber)
	{
		copy->packed = false;
		copy->count = shape->plain_per_page;
	}
	else
	{
		page = lock_cold_page(index, ref->directory[page_index], ref->generation, &copy->pins[0]);
		copy->pages_read++;
		opaque = LearnedPageGetOpaque(page);
		copy->packed = (opaque->flags & LEARNED_PAGE_PACKED) != 0;
		copy->count = opaque->count;
		copy_cold_slots(copy->page.data, page, shape, lo, Min(hi, copy->count));
		ref->overflow[page_index] = !copy->packed && copy->count == shape->plain_per_page ? opaque->next :
			InvalidBlockNumber;
		unlock_cold_page(copy, &copy->pins[0]);
	}
	if (hi > shape->plain_per_page)
		overflow = ref->overflow[page_index];
	if (overflow != InvalidBlockNumber)
	{
		page = lock_cold_page(index, overflow, ref->generation, &copy->pins[1]);
		copy->pages_read++;
		opaque = LearnedPageGetOpaque(page);
		if (opaque->flags & LEARNED_PAGE_PACKED)
			block_corrupted(index, overflow, "is a packed page in a plain group");
		copy_cold_slots(copy->overflow.data, page, shape, Max(lo - shape->plain_per_page, 0),
						Min(hi - shape->plain_per_page, opaque->count));
		copy->count += opaque->count;
		unlock_cold_page(copy, &copy->pins[1]);
	}
	/* The run's count says the group holds position: a group that does not is damaged. */
	if (slot >= copy->count)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("learned index \"%s\" cold group %lld holds %d entries, fewer than its run counts",
						RelationGetRelationName(index), (long long) page_index, copy->count),
				 errhint("Rebuild it with REINDEX.")));
	copy->lo = lo;
	copy->held = (uint64) (Min(hi, copy->count) - lo);
	copy->first = first;
	learned_copy_locate(copy);
	copy->page_index = page_index;
}

/*
 * The page holding slot `slot` of the cold group whose first page is `primary`, locked in `mode`, and the
 * slot's place on it: the packed page itself, or the plain page or its overflow. InvalidBuffer when the
 * slot is past the group's entries.
 */
Buffer
learned_cold_slot_page(Relation index, BlockNumber primary, int slot, int mode, int *page_slot)
{
	Buffer		buffer = ReadBuffer(index, primary);
	int			plain_per_page = learned_shape(index)->plain_per_page;
	LearnedPageOpaque opaque;

	LockBuffer(buffer, mode);
	opaque = LearnedPageGetOpaque(BufferGetPage(buffer));
	if (!(opaque->flags & LEARNED_PAGE_COLD))
	{
		UnlockReleaseBuffer(buffer);
		return InvalidBuffer;
	}
	if (!(opaque->flags & LEARNED_PAGE_PACKED) && slot >= plain_per_page)
	{
		BlockNumber overflow = opaque->next;

		UnlockReleaseBuffer(buffer);
		if (overflow == InvalidBlockNumber)
			return InvalidBuffer;
		slot -= plain_per_page;
		buffer = ReadBuffer(index, overflow);
		LockBuffer(buffer, mode);
		opaque = LearnedPageGetOpaque(BufferGetPage(buffer));
	}
	if (!(opaque->flags & LEARNED_PAGE_COLD) || slot >= opaque->count)
	{
		UnlockReleaseBuffer(buffer);
		return InvalidBuffer;
	}
	*page_slot = slot;
	return buffer;
}

/* The key at cold position `position`, loading its group into copy if needed. */
uint64
learned_cold_key(Relation index, const LearnedModelRef *ref, LearnedColdPageCopy *copy, int64 position)
{
	return learned_copy_key(copy, learned_cold_slot(index, ref, copy, position));
}

/* Whether the key at cold position `position` is below the key (key, tail); a load copies positions
 * [want_lo, want_hi). */
static inline bool
cold_below(Relation index, const LearnedModelRef *ref, LearnedColdPageCopy *copy, int64 position, uint64 key,
		   const uint64 *tail, int64 want_lo, int64 want_hi)
{
	int			slot = learned_cold_slot_in(index, ref, copy, position, want_lo, want_hi);

	if (ref->shape.tail == 0)
		return learned_copy_key(copy, slot) < key;
	return learned_compare_keys(learned_copy_key(copy, slot), learned_copy_tail(copy, slot), key, tail,
								ref->shape.tail) < 0;
}

/* Positions a search copies beyond its window on either side: the next key's search (a point's upper
 * bound) and the scan of a few equal keys then find them copied. */
#define LEARNED_SEARCH_MARGIN 32

/*
 * The first cold position whose key is >= (key, tail): the model's window, then a binary search inside
 * it. A composite key's position lies between the lower bounds of its model key and of the next one, so
 * the search spans both windows. Only the window's entries are copied.
 */
int64
learned_cold_lower_bound(Relation index, const LearnedModelRef *ref, const LearnedMetaPageData *meta,
						 LearnedColdPageCopy *copy, uint64 key, const uint64 *tail)
{
	uint64		group = (uint64) ref->shape.group_size;
	uint64		lo,
				hi;
	int64		want_lo,
				want_hi;

	if (meta->cold_count == 0)
		return 0;
	if (!ref->shape.composite)
		learned_check_status(omen_model_window(ref->model, key, &lo, &hi), "lookup");
	else
	{
		uint64		image = learned_model_key(&ref->shape, &ref->bounds, key, tail);
		uint64		next_lo;

		learned_check_status(omen_model_window(ref->model, image, &lo, &hi), "lookup");
		if (image == PG_UINT64_MAX)
			hi = meta->cold_count;
		else
			learned_check_status(omen_model_window(ref->model, image + 1, &next_lo, &hi), "lookup");
	}
	if (hi > meta->cold_count || lo > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("learned index \"%s\" model returned a window outside its run", RelationGetRelationName(index)),
				 errhint("Rebuild it with REINDEX.")));
	want_lo = (int64) lo - LEARNED_SEARCH_MARGIN;
	want_hi = (int64) hi + LEARNED_SEARCH_MARGIN;
	/* The answer lies in lo..hi; positions below hi are real keys. First settle which group holds it, by
	 * halving the groups the window spans, so that each group is loaded once. */
	while (lo < hi && lo / group != (hi - 1) / group)
	{
		uint64		boundary = (lo / group + (hi - 1) / group + 1) / 2 * group;

		if (cold_below(index, ref, copy, (int64) boundary, key, tail, want_lo, want_hi))
			lo = boundary + 1;
		else
			hi = boundary;
	}
	while (lo < hi)
	{
		uint64		mid = lo + (hi - lo) / 2;

		if (cold_below(index, ref, copy, (int64) mid, key, tail, want_lo, want_hi))
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int64) lo;
}

/* Positions learned_cold_lower_bound_from steps through before it asks the model. */
#define LEARNED_FORWARD_STEPS 8

/*
 * learned_cold_lower_bound for a key whose positions before `start` are all below it (the upper end of
 * an interval whose lower end's bound is `start`). A point's few equal keys lie within a few steps of
 * it, already copied; past those steps, the model.
 */
int64
learned_cold_lower_bound_from(Relation index, const LearnedModelRef *ref, const LearnedMetaPageData *meta,
							  LearnedColdPageCopy *copy, int64 start, uint64 key, const uint64 *tail)
{
	int64		count = (int64) meta->cold_count;
	int64		p;

	for (p = start; p < count && p < start + LEARNED_FORWARD_STEPS; p++)
		if (!cold_below(index, ref, copy, p, key, tail, p - LEARNED_SEARCH_MARGIN, p + LEARNED_SEARCH_MARGIN))
			return p;
	return p >= count ? count : learned_cold_lower_bound(index, ref, meta, copy, key, tail);
}

/* The hint bitmaps must lie wholly in the hole, past everything WAL carries. */
StaticAssertDecl(LEARNED_PACKED_LOWER <= MAXALIGN(SizeOfPageHeaderData) + LEARNED_PAGE_DATA_SIZE - LEARNED_COLD_BITMAP_BYTES,
				 "packed hint bitmap overlaps logged data");
/* One-column plain pages hold half a group (compute_shape); the widest tails leave room for a few entries. */
StaticAssertDecl(MAXALIGN(SizeOfPageHeaderData) + (LEARNED_COLD_PER_PAGE + 1) / 2 * (sizeof(uint64) + sizeof(ItemPointerData)) +
				 2 * (((LEARNED_COLD_PER_PAGE + 1) / 2 + 7) / 8) <= MAXALIGN(SizeOfPageHeaderData) + LEARNED_PAGE_DATA_SIZE,
				 "plain hint bitmap overlaps logged data");
