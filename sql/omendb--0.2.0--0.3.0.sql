-- omendb 0.2.0 to 0.3.0: uuid keys, by their leading 64 bits (equality only, every match rechecked on
-- the heap). The library's layout 7 keeps every bit of float keys, so float indexes built under 0.2.0
-- need a REINDEX (integer and datetime indexes read on).

\echo Use "ALTER EXTENSION omendb UPDATE TO '0.3.0'" to load this file. \quit

-- uuid's btree order compares all 16 bytes; a key holds 8, so the class serves = alone (no ranges, no
-- ORDER BY, no index-only scans).
CREATE OPERATOR CLASS uuid_ops DEFAULT FOR TYPE uuid USING learned AS
	OPERATOR 3 =, FUNCTION 1 uuid_cmp(uuid, uuid);
