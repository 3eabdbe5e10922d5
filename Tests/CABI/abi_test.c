/*
 * Drives the LearnedIndex C ABI through its header, as the PostgreSQL extension does: chunked builds,
 * windows and searches checked against a plain binary search, serialise/load round trips, damaged blobs
 * and bad arguments answered with status codes. Prints "N passed, M failed" and exits non-zero on failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omendb_learned.h"

static int passed;
static int failed;

#define CHECK(cond, ...) \
	do { \
		if (cond) \
			passed++; \
		else \
		{ \
			failed++; \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
	} while (0)

static uint64_t rng_state = 12345;

/* splitmix64, so runs repeat */
static uint64_t
next_random(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* the oracle: first index whose key is >= key */
static size_t
oracle_lower_bound(const uint64_t *keys, size_t n, uint64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi)
	{
		size_t mid = lo + (hi - lo) / 2;

		if (keys[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* builds a model of the given kind from keys fed in uneven chunks */
static omen_model *
build_chunked(omen_model_kind kind, uint64_t param, const uint64_t *keys, size_t n)
{
	omen_builder *builder = NULL;
	omen_model *model = NULL;
	size_t start = 0;
	size_t chunk = 0;
	int status = omen_builder_create(kind, param, &builder);
	int more = 1;
	int passes = 0;

	CHECK(status == OMEN_OK && builder != NULL, "create kind %d: %s", kind, omen_status_message(status));
	while (more && status == OMEN_OK)
	{
		for (start = 0; start < n && status == OMEN_OK; start += chunk)
		{
			chunk = 1 + next_random() % 5000;
			if (chunk > n - start)
				chunk = n - start;
			status = omen_builder_add(builder, keys + start, chunk);
		}
		if (status == OMEN_OK)
			status = omen_builder_next_pass(builder, &more);
		passes++;
	}
	CHECK(status == OMEN_OK, "add kind %d: %s", kind, omen_status_message(status));
	CHECK(passes == (kind == OMEN_MODEL_PGM ? 1 : kind == OMEN_MODEL_LINEAR ? 2 : 3), "kind %d learned in %d passes",
		  kind, passes);
	status = omen_builder_finish(builder, &model);
	CHECK(status == OMEN_OK && model != NULL, "finish kind %d: %s", kind, omen_status_message(status));
	return model;
}

/* every probe's window holds the oracle's answer and the search finds it */
static void
check_model(omen_model *model, const uint64_t *keys, size_t n, const char *name)
{
	size_t bad = 0;
	size_t i;

	CHECK(omen_model_key_count(model) == n, "%s: key count", name);
	for (i = 0; i < 3 * n + 1000; i++)
	{
		uint64_t key = i < n ? keys[i] : i < 2 * n ? keys[i - n] + 1 : i < 3 * n ? keys[i - 2 * n] - 1 : next_random();
		size_t expected = oracle_lower_bound(keys, n, key);
		uint64_t lo, hi;
		size_t found;

		if (omen_model_window(model, key, &lo, &hi) != OMEN_OK || lo > expected || expected > hi || hi > n)
			bad++;
		if (omen_model_lower_bound(model, keys, n, key, &found) != OMEN_OK || found != expected)
			bad++;
	}
	CHECK(bad == 0, "%s: %zu probes answered wrongly", name, bad);
}

/* The IEEE bits of a float8 and a float4, as the extension passes them. */
static uint64_t
float8_bits(double value)
{
	uint64_t	bits;

	memcpy(&bits, &value, sizeof bits);
	return bits;
}

static uint32_t
float4_bits(float value)
{
	uint32_t	bits;

	memcpy(&bits, &value, sizeof bits);
	return bits;
}

int
main(void)
{
	size_t n = 200000;
	uint64_t *keys = malloc(n * sizeof(uint64_t));
	uint64_t t = 1000;
	size_t i;
	omen_model_kind kinds[3] = {OMEN_MODEL_PGM, OMEN_MODEL_RMI, OMEN_MODEL_LINEAR};
	uint64_t params[3] = {32, 1024, 0};
	const char *names[3] = {"pgm", "rmi", "linear"};
	int k;

	/* time-series keys with runs of duplicates */
	for (i = 0; i < n; i++)
	{
		if (next_random() % 4 != 0)
			t += 1 + next_random() % 1000;
		keys[i] = t;
	}

	for (k = 0; k < 3; k++)
	{
		omen_model *model = build_chunked(kinds[k], params[k], keys, n);
		omen_model *loaded = NULL;
		size_t size = 0, written = 0;
		uint8_t *blob;
		int status;
		uint64_t first_key;
		double slope, intercept;

		check_model(model, keys, n, names[k]);
		CHECK(omen_model_kind_of(model) == kinds[k], "%s: kind", names[k]);
		CHECK(omen_model_param(model) == params[k], "%s: param", names[k]);
		CHECK(omen_model_segment_count(model) >= 1, "%s: segments", names[k]);
		CHECK(omen_model_byte_count(model) > 0, "%s: bytes", names[k]);
		CHECK(omen_model_segment(model, 0, &first_key, &slope, &intercept) == OMEN_OK && slope >= 0,
			  "%s: segment 0", names[k]);
		CHECK(omen_model_segment(model, omen_model_segment_count(model), &first_key, &slope, &intercept) ==
			  OMEN_ERR_INVALID_ARGUMENT, "%s: segment past the end", names[k]);
		if (kinds[k] == OMEN_MODEL_PGM)
		{
			CHECK(omen_model_max_window(model) <= 2 * 32 + 2, "pgm: window bound");
			/* 32-bit intercepts, less room for the widest window on either side. */
			CHECK(omen_pgm_max_keys() == 2147483647ULL - 2 * 1048576 - 2, "pgm: key limit");
		}

		status = omen_model_serialize(model, NULL, 0, &size);
		CHECK(status == OMEN_ERR_BUFFER_TOO_SMALL && size > 20, "%s: size query", names[k]);
		blob = malloc(size);
		status = omen_model_serialize(model, blob, size, &written);
		CHECK(status == OMEN_OK && written == size, "%s: serialise", names[k]);
		status = omen_model_load(blob, size, &loaded);
		CHECK(status == OMEN_OK && loaded != NULL, "%s: load", names[k]);
		check_model(loaded, keys, n, names[k]);
		omen_model_free(loaded);

		/* Two copies one after the other (a heap model's runs): each loads from where the one before ended. */
		{
			uint8_t    *pair = malloc(2 * size);
			size_t		consumed = 0;

			memcpy(pair, blob, size);
			memcpy(pair + size, blob, size);
			status = omen_model_load_prefix(pair, 2 * size, &loaded, &consumed);
			CHECK(status == OMEN_OK && consumed == size, "%s: first of two loaded, %zu bytes", names[k], consumed);
			omen_model_free(loaded);
			status = omen_model_load_prefix(pair + size, size, &loaded, &consumed);
			CHECK(status == OMEN_OK && consumed == size, "%s: second of two loaded", names[k]);
			check_model(loaded, keys, n, names[k]);
			omen_model_free(loaded);
			status = omen_model_load_prefix(pair + size, size - 1, &loaded, &consumed);
			CHECK(status != OMEN_OK && loaded == NULL && consumed == 0, "%s: truncated second refused", names[k]);
			free(pair);
		}

		/* truncations and bit flips are refused with a status, never a crash */
		for (i = 0; i < 2000; i++)
		{
			omen_model *damaged = NULL;
			size_t length = next_random() % size;

			status = omen_model_load(blob, length, &damaged);
			CHECK(status != OMEN_OK && damaged == NULL, "%s: truncated to %zu loaded", names[k], length);
		}
		for (i = 0; i < 2000; i++)
		{
			omen_model *damaged = NULL;
			size_t bit = next_random() % (size * 8);

			blob[bit / 8] ^= (uint8_t) (1u << (bit % 8));
			status = omen_model_load(blob, size, &damaged);
			CHECK(status == OMEN_ERR_CHECKSUM || status == OMEN_ERR_BAD_MAGIC || status == OMEN_ERR_VERSION ||
				  status == OMEN_ERR_TRUNCATED || status == OMEN_ERR_CORRUPT,
				  "%s: flipped bit %zu gave %d", names[k], bit, status);
			blob[bit / 8] ^= (uint8_t) (1u << (bit % 8));
		}
		free(blob);
		omen_model_free(model);
	}

	/* bad input */
	{
		omen_builder *builder = NULL;
		omen_model *model = NULL;
		uint64_t down[3] = {5, 4, 3};

		CHECK(omen_builder_create(OMEN_MODEL_PGM, 16, &builder) == OMEN_OK, "create");
		CHECK(omen_builder_finish(builder, &model) == OMEN_ERR_EMPTY && model == NULL, "empty build refused");
		CHECK(omen_builder_create(OMEN_MODEL_RMI, 4, &builder) == OMEN_OK, "create");
		CHECK(omen_builder_add(builder, down, 3) == OMEN_ERR_UNSORTED, "unsorted chunk refused");
		omen_builder_free(builder);
		{
			uint64_t up[3] = {1, 2, 3};
			int more = 0;

			CHECK(omen_builder_create(OMEN_MODEL_RMI, 4, &builder) == OMEN_OK, "create");
			CHECK(omen_builder_add(builder, up, 3) == OMEN_OK && omen_builder_next_pass(builder, &more) == OMEN_OK &&
				  more == 1, "a first RMI pass asks for another");
			CHECK(omen_builder_add(builder, up, 2) == OMEN_OK && omen_builder_next_pass(builder, &more) ==
				  OMEN_ERR_INVALID_ARGUMENT, "a later pass over other keys refused");
			omen_builder_free(builder);
			CHECK(omen_builder_create(OMEN_MODEL_LINEAR, 0, &builder) == OMEN_OK, "create");
			CHECK(omen_builder_add(builder, up, 3) == OMEN_OK, "first pass");
			CHECK(omen_builder_finish(builder, &model) == OMEN_ERR_INVALID_ARGUMENT && model == NULL,
				  "finish before the last pass refused");
		}
		CHECK(omen_builder_create(OMEN_MODEL_PGM, 8, &builder) == OMEN_OK, "create");
		CHECK(omen_builder_add(builder, down, 1) == OMEN_OK, "first chunk");
		CHECK(omen_builder_add(builder, down + 1, 1) == OMEN_ERR_UNSORTED, "chunk below the previous refused");
		omen_builder_free(builder);
		CHECK(omen_builder_create(42, 0, &builder) == OMEN_ERR_INVALID_ARGUMENT, "unknown kind refused");
		CHECK(omen_builder_create(OMEN_MODEL_PGM, 1u << 30, &builder) == OMEN_ERR_INVALID_ARGUMENT,
			  "huge epsilon refused");
		CHECK(omen_builder_create(OMEN_MODEL_RMI, 0, &builder) == OMEN_ERR_INVALID_ARGUMENT, "zero leaves refused");
		CHECK(omen_builder_create(OMEN_MODEL_PGM, 8, NULL) == OMEN_ERR_INVALID_ARGUMENT, "NULL out refused");
		CHECK(omen_model_load(NULL, 10, &model) == OMEN_ERR_INVALID_ARGUMENT, "NULL blob refused");
		CHECK(omen_model_window(NULL, 1, down, down) == OMEN_ERR_INVALID_ARGUMENT, "NULL model refused");
		CHECK(omen_model_key_count(NULL) == 0, "NULL model has no keys");
		omen_model_free(NULL);
		omen_builder_free(NULL);
	}

	/* key normalisation follows PostgreSQL's order; floats come back bit for bit */
	{
		uint64_t	lo,
					hi;
		uint32_t	back;
		uint64_t	nan_bits = float8_bits(NAN);
		uint64_t	negative_nan = nan_bits | (UINT64_C(1) << 63);

		omen_float_key_equal_range(omen_key_from_float8(float8_bits(-0.0)), &lo, &hi);
		CHECK(lo == omen_key_from_float8(float8_bits(-0.0)) && hi == omen_key_from_float8(float8_bits(0.0)),
			  "-0.0 and 0.0 are adjacent and equal");
		omen_float_key_equal_range(omen_key_from_float8(negative_nan), &lo, &hi);
		CHECK(lo == omen_key_from_float8(float8_bits(INFINITY)) + 1 && hi == UINT64_MAX, "every NaN above +Infinity");
		CHECK(omen_key_from_float8(float8_bits(-INFINITY)) < omen_key_from_float8(float8_bits(-1e308)),
			  "-Infinity lowest");
		CHECK(omen_key_from_float4(float4_bits(1.5f)) == omen_key_from_float8(float8_bits(1.5)),
			  "float4 shares float8 keys");
		CHECK(omen_key_to_float8(omen_key_from_float8(negative_nan)) == negative_nan, "NaN sign kept");
		CHECK(omen_key_to_float8(omen_key_from_float8(float8_bits(-0.0))) == float8_bits(-0.0), "-0.0 kept");
		CHECK(omen_key_to_float4(omen_key_from_float4(0xFFC00001u), &back) && back == 0xFFC00001u,
			  "float4 NaN payload kept");
		CHECK(!omen_key_to_float4(omen_key_from_float8(float8_bits(0.1)), &back), "0.1 is no float4");
	}
	{
		const uint8_t low[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFF};
		const uint8_t high[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xF0};

		CHECK(omen_key_from_uuid(low) == UINT64_C(0x0123456789ABCDEF), "uuid key is its leading 64 bits");
		CHECK(omen_key_from_uuid(low) < omen_key_from_uuid(high), "uuid keys follow byte order");
		CHECK(omen_key_from_uuid(NULL) == 0, "NULL uuid refused quietly");
	}
	CHECK(omen_key_from_int64(INT64_MIN) == 0 && omen_key_from_int64(INT64_MAX) == UINT64_MAX, "int extremes");
	/* The header's key types name the library's: only uuid is lossy, and a number of none is not. */
	for (int type = OMEN_KEY_INT2; type <= OMEN_KEY_UUID; type++)
		CHECK(omen_key_type_is_lossy((omen_key_type) type) == (type == OMEN_KEY_UUID), "key type %d lossiness", type);
	CHECK(!omen_key_type_is_lossy((omen_key_type) 0) && !omen_key_type_is_lossy((omen_key_type) (OMEN_KEY_UUID + 256)),
		  "unknown key types");
	CHECK(omen_key_from_int64(-1) < omen_key_from_int64(0), "sign order");
	CHECK(omen_key_to_int64(omen_key_from_int64(-42)) == -42, "int round trip");

	/* Heap order: rows of a time series in blocks of 150 to 185 rows (positions block * 185 + slot), one
	 * row in 50 late, fed in batches of 1000; exactly the late rows are handed back, and the model's
	 * window of each covered key starts at or before its row. */
	{
		omen_heap_builder *heap = NULL;
		omen_model *model = NULL;
		omen_model *extended = NULL;
		uint64_t	last_key;
		uint64_t *positions = malloc(n * sizeof(uint64_t));
		uint64_t *heap_keys = malloc(n * sizeof(uint64_t));
		uint64_t *out_keys = malloc(n * sizeof(uint64_t));
		uint64_t *out_positions = malloc(n * sizeof(uint64_t));
		bool *handed_back = calloc(n, sizeof(bool));
		uint64_t block = 0, used = 0, wrong = 0, missed = 0, bad = 0;
		size_t nexplicit = 0, count, j;

		CHECK(omen_heap_builder_create(4, 16, &heap) == OMEN_OK && heap != NULL, "heap builder");
		for (i = 0; i < n; i++)
		{
			heap_keys[i] = (i % 50 == 25) ? keys[i] - 100000 : keys[i];
			if (used == 150 + block % 36)
				block++, used = 0;
			positions[i] = block * 185 + used++;
		}
		for (i = 0; i < n; i += 1000)
		{
			if (omen_heap_builder_add(heap, heap_keys + i, positions + i, n - i < 1000 ? n - i : 1000,
									  out_keys + nexplicit, out_positions + nexplicit, &count) != OMEN_OK)
				bad++;
			nexplicit += count;
		}
		CHECK(bad == 0, "every heap batch accepted");
		CHECK(omen_heap_builder_drain(heap, out_keys + nexplicit, out_positions + nexplicit, 8, &count) ==
			  OMEN_ERR_INVALID_ARGUMENT, "drain with less room than the lookahead refused");
		CHECK(omen_heap_builder_drain(heap, out_keys + nexplicit, out_positions + nexplicit, 17, &count) == OMEN_OK,
			  "heap drain");
		nexplicit += count;
		/* The rows handed back, in heap order, are exactly the late ones (a few neighbours may join them). */
		for (i = 0, j = 0; i < n; i++)
		{
			bool		handed = j < nexplicit && out_positions[j] == positions[i];

			if (handed && out_keys[j] != heap_keys[i])
				wrong++;
			wrong += handed != (i % 50 == 25);
			handed_back[i] = handed;
			j += handed;
		}
		CHECK(j == nexplicit, "handed-back rows are rows, in heap order");
		CHECK(wrong <= 32, "late rows handed back, the others covered: %llu wrong", (unsigned long long) wrong);
		CHECK(omen_heap_builder_covered(heap) == n - nexplicit, "covered count");
		out_positions[0] = UINT64_MAX;
		CHECK(omen_heap_builder_add(heap, heap_keys, out_positions, 1, out_keys, out_positions, &count) ==
			  OMEN_ERR_INVALID_ARGUMENT, "position past the range refused");
		last_key = omen_heap_builder_last_key(heap);
		for (i = n; i-- > 0;)
			if (!handed_back[i])
				break;
		CHECK(last_key == heap_keys[i], "last covered key");
		CHECK(omen_heap_builder_finish(heap, &model) == OMEN_OK && model != NULL, "heap model");
		for (i = 0; i < n; i++)
		{
			uint64_t lo, hi;

			if (handed_back[i])
				continue;
			omen_model_window(model, heap_keys[i], &lo, &hi);
			if (lo > positions[i])
				missed++;
		}
		CHECK(missed == 0, "heap windows start at or before their rows: %llu missed", (unsigned long long) missed);

		/* Resumed, the builder covers rows appended after the model's in key order, and the windows of
		 * the rows it covered before stay where they were. */
		CHECK(omen_heap_builder_resume(NULL, last_key, 16, &heap) == OMEN_ERR_INVALID_ARGUMENT && heap == NULL,
			  "resume of no model refused");
		CHECK(omen_heap_builder_resume(model, last_key, 16, &heap) == OMEN_OK, "heap builder resumed");
		for (i = 0; i < 1000; i++)
		{
			out_keys[i] = last_key + 1 + i * 7;
			out_positions[i] = positions[n - 1] + 1 + i;
		}
		CHECK(omen_heap_builder_add(heap, out_keys, out_positions, 1000, out_keys + 1000, out_positions + 1000,
									&count) == OMEN_OK && count == 0, "appended rows covered");
		CHECK(omen_heap_builder_drain(heap, out_keys + 1000, out_positions + 1000, 17, &count) == OMEN_OK && count == 0,
			  "appended rows drained, covered");
		CHECK(omen_heap_builder_covered(heap) == 1000, "resumed covered count");
		CHECK(omen_heap_builder_last_key(heap) == out_keys[999], "resumed last key");
		CHECK(omen_heap_builder_finish(heap, &extended) == OMEN_OK, "extended heap model");
		for (i = 0, missed = 0; i < n + 1000; i++)
		{
			uint64_t lo, hi;
			uint64_t key = i < n ? heap_keys[i] : out_keys[i - n];
			uint64_t position = i < n ? positions[i] : out_positions[i - n];

			if (i < n && handed_back[i])
				continue;
			omen_model_window(extended, key, &lo, &hi);
			if (lo > position)
				missed++;
		}
		CHECK(missed == 0, "extended heap windows start at or before their rows: %llu missed", (unsigned long long) missed);
		CHECK(omen_model_key_count(extended) == out_positions[999] + 1, "extended key count");
		omen_model_free(extended);
		omen_model_free(model);
		CHECK(omen_heap_builder_create(4, 1u << 20, &heap) == OMEN_ERR_INVALID_ARGUMENT && heap == NULL,
			  "lookahead too long refused");
		CHECK(omen_heap_builder_create(4, 0, &heap) == OMEN_OK, "greedy heap builder");
		CHECK(omen_heap_builder_finish(heap, &model) == OMEN_ERR_EMPTY && model == NULL, "no rows, no model");
		free(positions);
		free(heap_keys);
		free(out_keys);
		free(out_positions);
		free(handed_back);
	}

	free(keys);
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
