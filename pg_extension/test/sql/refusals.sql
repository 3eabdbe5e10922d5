--
-- refusals: what a learned index cannot do is refused with an ERROR and a HINT saying what would work.
--
\set VERBOSITY default
CREATE TABLE rf_t (i int, t text, n numeric, d date);
INSERT INTO rf_t VALUES (1, 'a', 1.5, '2000-01-01');

-- Unsupported key types, directly and through an expression.
CREATE INDEX ON rf_t USING learned (t);
CREATE INDEX ON rf_t USING learned (n);
CREATE INDEX ON rf_t USING learned ((i::text));
CREATE INDEX ON rf_t USING learned ((i::numeric));
-- Five columns, INCLUDE, UNIQUE NULLS NOT DISTINCT (on one column or several), a unique index on
-- several columns with a float among them, a second column of an unsupported type.
CREATE INDEX ON rf_t USING learned (i, d, i, d, i);
CREATE INDEX ON rf_t USING learned (i) INCLUDE (d);
CREATE UNIQUE INDEX ON rf_t USING learned (i) NULLS NOT DISTINCT;
CREATE UNIQUE INDEX ON rf_t USING learned (i, d) NULLS NOT DISTINCT;
CREATE UNIQUE INDEX ON rf_t USING learned (i, (i::float8));
CREATE INDEX ON rf_t USING learned (i, n);
-- DESC or NULLS FIRST on any column.
CREATE INDEX ON rf_t USING learned (i, d DESC);
-- DESC and NULLS FIRST: the index keeps one order and reads it backward for DESC.
CREATE INDEX ON rf_t USING learned (i DESC);
CREATE INDEX ON rf_t USING learned (i NULLS FIRST);
CREATE INDEX ON rf_t USING learned (i DESC NULLS LAST);
-- Bad options.
CREATE INDEX ON rf_t USING learned (i) WITH (model = 'foo');
CREATE INDEX ON rf_t USING learned (i) WITH (model = '');
CREATE INDEX ON rf_t USING learned (i) WITH (epsilon = 0);
CREATE INDEX ON rf_t USING learned (i) WITH (epsilon = 65537);
CREATE INDEX ON rf_t USING learned (i) WITH (hot_limit = 0);
CREATE INDEX rf_ok ON rf_t USING learned (i);
ALTER INDEX rf_ok SET (model = 'btree');
ALTER INDEX rf_ok SET (epsilon = -1);
-- The accepted bounds work.
CREATE INDEX rf_bounds ON rf_t USING learned (i) WITH (epsilon = 65536, hot_limit = 1);
CREATE INDEX rf_expr ON rf_t USING learned ((i * 2));
SELECT lt_index_ok('rf_bounds'), lt_index_ok('rf_expr');

-- The functions refuse what is not a learned index, and keys they cannot look up.
CREATE INDEX rf_btree ON rf_t (i);
SELECT learned_merge('rf_btree');
SELECT * FROM learned_index_info('rf_btree');
SELECT learned_index_check('rf_btree');
SELECT * FROM learned_segments('rf_btree');
SELECT * FROM learned_explain_lookup('rf_btree', 1);
SELECT learned_index_check('rf_t');
SELECT * FROM learned_explain_lookup('rf_ok', NULL::int);
SELECT * FROM learned_explain_lookup('rf_ok', 1.5::float8);
SELECT * FROM learned_explain_lookup('rf_ok', 'x'::text);
SELECT * FROM learned_explain_lookup('rf_ok', '2000-01-01'::date);

-- Nothing was left behind by the refused statements.
SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
WHERE x.indrelid = 'rf_t'::regclass ORDER BY 1;
DROP TABLE rf_t;

-- amvalidate accepts every operator class the extension provides.
SELECT opcname, amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE a.amname = 'learned' ORDER BY opcname;
-- An operator class whose operators mean something else than btree's (here: the order reversed) is
-- reported by amvalidate and refused by a build: the index orders keys as btree does.
CREATE OPERATOR CLASS rf_reversed FOR TYPE int4 USING learned AS
	OPERATOR 1 >, OPERATOR 2 >=, OPERATOR 3 =, OPERATOR 4 <=, OPERATOR 5 <, FUNCTION 1 btint4cmp(int4, int4);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'rf_reversed';
CREATE TABLE rf_rev (i int4);
CREATE INDEX rf_reversed_i ON rf_rev USING learned (i rf_reversed);
DROP TABLE rf_rev;
DROP OPERATOR FAMILY rf_reversed USING learned;
