/*
 * omendb_learned.h: the C ABI of the LearnedIndex Swift library.
 *
 * The only surface the PostgreSQL extension (or any C program) sees. Plain C types, opaque handles, and a
 * status code (omen_status) on every call that can fail; no call longjmps, traps or allocates through the
 * caller's allocator. Handles are malloc'ed by the library and released by the matching *_free call.
 * Keys are normalised uint64 values: omen_key_from_* maps native values so that uint64 order equals
 * PostgreSQL's order; every float bit pattern has its own key (-0.0 just below 0.0, the NaNs above
 * +Infinity), and omen_float_key_equal_range gives the keys of the values PostgreSQL holds equal.
 */
#ifndef OMENDB_LEARNED_H
#define OMENDB_LEARNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum omen_status
{
	OMEN_OK = 0,
	OMEN_ERR_EMPTY = 1,				/* a build was given no keys */
	OMEN_ERR_UNSORTED = 2,			/* keys fed out of ascending order */
	OMEN_ERR_INVALID_ARGUMENT = 3,	/* a parameter outside its range, or a NULL pointer */
	OMEN_ERR_TRUNCATED = 4,			/* a blob ends early */
	OMEN_ERR_BAD_MAGIC = 5,			/* a blob is not a serialised model */
	OMEN_ERR_VERSION = 6,			/* a blob of a layout version this library does not read */
	OMEN_ERR_CHECKSUM = 7,			/* a blob's CRC32C does not match */
	OMEN_ERR_CORRUPT = 8,			/* a blob passes its checksum but describes an impossible model */
	OMEN_ERR_BUFFER_TOO_SMALL = 9	/* the output buffer is too small; the size needed is reported */
} omen_status;

typedef enum omen_model_kind
{
	OMEN_MODEL_NONE = 0,			/* omen_model_kind_of a NULL model */
	OMEN_MODEL_PGM = 1,				/* param: epsilon, 0 .. 1048576 */
	OMEN_MODEL_RMI = 2,				/* param: leaves, 1 .. 16777216 */
	OMEN_MODEL_LINEAR = 3			/* param ignored */
} omen_model_kind;

/* Key types; the library maps them to its own by name. */
typedef enum omen_key_type
{
	OMEN_KEY_INT2 = 1,
	OMEN_KEY_INT4 = 2,
	OMEN_KEY_INT8 = 3,
	OMEN_KEY_FLOAT4 = 4,
	OMEN_KEY_FLOAT8 = 5,
	OMEN_KEY_DATE = 6,
	OMEN_KEY_TIMESTAMP = 7,
	OMEN_KEY_TIMESTAMPTZ = 8,
	OMEN_KEY_UUID = 9				/* lossy: the leading 64 bits; equality only, rechecked */
} omen_key_type;

typedef struct omen_builder omen_builder;
typedef struct omen_model omen_model;

/* Order-preserving key normalisation. int2, int4, int8, date, timestamp and timestamptz all go through
 * the int64 form (their +-infinity are the integer extremes). Floats go by their IEEE bits and come back
 * bit for bit (-0.0 and NaN payloads included); the floats PostgreSQL holds equal (both zeros, all NaNs)
 * have adjacent keys, [*lo, *hi] of omen_float_key_equal_range. float4 keys are float8 keys. */
uint64_t omen_key_from_int64(int64_t value);
uint64_t omen_key_from_float8(uint64_t bits);
uint64_t omen_key_from_float4(uint32_t bits);
/* A uuid's key is its leading 64 bits (big-endian): lossy, so equal keys need the values compared. */
uint64_t omen_key_from_uuid(const uint8_t bytes[16]);
/* Whether keys of a key type stand for their values only in part. */
bool omen_key_type_is_lossy(omen_key_type key_type);
int64_t omen_key_to_int64(uint64_t key);
uint64_t omen_key_to_float8(uint64_t key);
/* The float4 bits of a key, or false when the key is a float8 that no float4 equals. */
bool omen_key_to_float4(uint64_t key, uint32_t *bits);
void omen_float_key_equal_range(uint64_t key, uint64_t *lo, uint64_t *hi);

/* Chunked build: create, add sorted chunks (each continuing the previous), end the pass with
 * omen_builder_next_pass, and while it sets *more, add the same keys again from the first (the RMI and
 * linear models learn in two or three passes and hold no copy of the keys; PGM learns in one), then
 * finish. Between chunks the caller may check for interrupts; a builder abandoned midway is released with
 * omen_builder_free. omen_builder_finish releases the builder whether or not it succeeds; before
 * the last pass it fails with OMEN_ERR_INVALID_ARGUMENT (OMEN_ERR_EMPTY with no keys). A later pass with
 * another key count fails with OMEN_ERR_INVALID_ARGUMENT. After a failed call, only omen_builder_free
 * is valid. */
omen_status omen_builder_create(omen_model_kind kind, uint64_t param, omen_builder **out);
/* A builder that continues a PGM model after its first count keys (the last of them last_key): the
 * model's segments up to last_key are kept and keys added next (>= last_key, ascending) are learned from
 * position count on. A run's tail can so be rewritten or extended in O(new keys). Other model kinds, or a
 * count outside 1..key count, give OMEN_ERR_INVALID_ARGUMENT. */
omen_status omen_builder_resume(const omen_model *model, uint64_t count, uint64_t last_key, omen_builder **out);
/* A PGM builder given more keys than omen_pgm_max_keys() in all (its intercepts are 32-bit
 * positions) fails with OMEN_ERR_INVALID_ARGUMENT. */
omen_status omen_builder_add(omen_builder *builder, const uint64_t *keys, size_t count);
uint64_t omen_pgm_max_keys(void);
omen_status omen_builder_next_pass(omen_builder *builder, int *more);
omen_status omen_builder_finish(omen_builder *builder, omen_model **out);
void omen_builder_free(omen_builder *builder);

/* Heap order: fed a table's rows in heap order (key, heap position: a row ordinal, ascending), learns a
 * PGM model from key to position for the rows that follow key order and judges every row covered (the
 * model finds it) or not (the caller keeps it as an explicit entry). A row is judged lookahead rows after
 * it arrives: omen_heap_builder_add takes rows in batches and writes the keys and positions of the rows
 * it judged not covered to explicit_keys and explicit_positions (room for count rows; *nexplicit set);
 * omen_heap_builder_drain judges the rows still waiting (room for the lookahead's). The covered rows of
 * keys [a, b] lie in positions [window(a).lo, window(b + 1).hi) of the finished model (to its key count
 * when b is the largest key). omen_heap_builder_finish releases the builder and fails with OMEN_ERR_EMPTY
 * when no row was covered. */
typedef struct omen_heap_builder omen_heap_builder;

omen_status omen_heap_builder_create(uint64_t epsilon, uint32_t lookahead, omen_heap_builder **out);
/* A builder that continues model (a heap model of rows up to its key count, the last with key
 * last_key): the rows added judged as if they had followed those. */
omen_status omen_heap_builder_resume(const omen_model *model, uint64_t last_key, uint32_t lookahead,
									 omen_heap_builder **out);
omen_status omen_heap_builder_add(omen_heap_builder *builder, const uint64_t *keys, const uint64_t *positions,
								  size_t count, uint64_t *explicit_keys, uint64_t *explicit_positions,
								  size_t *nexplicit);
omen_status omen_heap_builder_drain(omen_heap_builder *builder, uint64_t *explicit_keys, uint64_t *explicit_positions,
									size_t capacity, size_t *nexplicit);
/* The rows covered so far (since the resumption, for a resumed builder). */
uint64_t omen_heap_builder_covered(const omen_heap_builder *builder);
/* The largest key covered so far (0 before any row is). */
uint64_t omen_heap_builder_last_key(const omen_heap_builder *builder);
omen_status omen_heap_builder_finish(omen_heap_builder *builder, omen_model **out);
void omen_heap_builder_free(omen_heap_builder *builder);

/* The window lo..hi (inclusive, 0 <= lo <= hi <= key count) that holds the lower bound of key: the first
 * position whose key is >= key. */
omen_status omen_model_window(const omen_model *model, uint64_t key, uint64_t *lo, uint64_t *hi);

/* The lower bound of key in the sorted keys the model was built on (count must equal the key count). */
omen_status omen_model_lower_bound(const omen_model *model, const uint64_t *keys, size_t count,
								   uint64_t key, size_t *position);

/* Inspection; a NULL model gives 0 (OMEN_MODEL_NONE). param is epsilon (PGM), leaves (RMI) or 0
 * (linear). segments counts data segments (PGM), leaves (RMI) or 1 (linear). */
omen_model_kind omen_model_kind_of(const omen_model *model);
uint64_t omen_model_param(const omen_model *model);
uint64_t omen_model_key_count(const omen_model *model);
uint64_t omen_model_segment_count(const omen_model *model);
uint64_t omen_model_byte_count(const omen_model *model);
uint64_t omen_model_max_window(const omen_model *model);

/* Segment index of the model (PGM data segments, RMI leaves, the linear model's single line). */
omen_status omen_model_segment(const omen_model *model, uint64_t index, uint64_t *first_key,
							   double *slope, double *intercept);

/* Serialise into buf; with a NULL or too small buf, returns OMEN_ERR_BUFFER_TOO_SMALL and sets *written
 * to the size needed. */
omen_status omen_model_serialize(const omen_model *model, uint8_t *buf, size_t capacity, size_t *written);
omen_status omen_model_load(const uint8_t *buf, size_t length, omen_model **out);
/* Loads the model at the start of buf (models may follow it) and sets *consumed to its size. */
omen_status omen_model_load_prefix(const uint8_t *buf, size_t length, omen_model **out, size_t *consumed);
void omen_model_free(omen_model *model);

/* A fixed English message for a status code. */
static inline const char *
omen_status_message(int status)
{
	switch (status)
	{
		case OMEN_OK: return "success";
		case OMEN_ERR_EMPTY: return "no keys to learn";
		case OMEN_ERR_UNSORTED: return "keys are not in ascending order";
		case OMEN_ERR_INVALID_ARGUMENT: return "invalid argument";
		case OMEN_ERR_TRUNCATED: return "serialised model is truncated";
		case OMEN_ERR_BAD_MAGIC: return "not a serialised learned model";
		case OMEN_ERR_VERSION: return "serialised model has an unsupported layout version";
		case OMEN_ERR_CHECKSUM: return "serialised model fails its checksum";
		case OMEN_ERR_CORRUPT: return "serialised model is corrupt";
		case OMEN_ERR_BUFFER_TOO_SMALL: return "output buffer is too small";
	}
	return "unknown error";
}

#ifdef __cplusplus
}
#endif

#endif /* OMENDB_LEARNED_H */
