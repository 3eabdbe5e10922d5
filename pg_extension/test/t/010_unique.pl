# A unique learned index under concurrent inserters: a second inserter of a key waits for the first and
# then fails (23505) if it commits, or succeeds if it rolls back; four clients inserting, deleting and
# rolling back keys of a small range at once, with VACUUM and merges between, leave each key exactly as
# often as the committed inserts and deletes logged beside them say (never twice); then the same on a
# unique index of two columns (int4, timestamptz), and on one of uuids whose keys (leading 64 bits) two
# values share. OMENDB_UNIQUE_ROUNDS sets each client's operations (1,500 by default).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $rounds = $ENV{OMENDB_UNIQUE_ROUNDS} || 1500;
my $node = PostgreSQL::Test::Cluster->new('unique');
$node->init;
$node->append_conf('postgresql.conf', "deadlock_timeout = 100ms\nautovacuum = off\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION omendb;
	CREATE TABLE t (k int8, client int);
	CREATE UNIQUE INDEX t_k ON t USING learned (k) WITH (hot_limit = 300);
	-- Key k of 1..40 as (device, ts): k % 5 and minute k / 5.
	CREATE TABLE t2 (device int, ts timestamptz, k int8, client int);
	CREATE UNIQUE INDEX t2_key ON t2 USING learned (device, ts) WITH (hot_limit = 300);
	-- Key k as a uuid; k and k + 1 share the leading 64 bits when k is even.
	CREATE FUNCTION key_uuid(k int8) RETURNS uuid IMMUTABLE LANGUAGE sql AS
		$$ SELECT format('%s-0000-7000-8000-%s', lpad(to_hex(k / 2), 8, '0'), lpad(to_hex(k), 12, '0'))::uuid $$;
	CREATE TABLE t3 (u uuid, k int8, client int);
	CREATE UNIQUE INDEX t3_u ON t3 USING learned (u) WITH (hot_limit = 300);
	CREATE TABLE events (tbl text, k int8, change int);
});

# Whether backend `pid` waits for a heavyweight lock (a transaction's, here).
sub waiting
{
	my ($pid) = @_;
	return $node->poll_query_until('postgres',
		"SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $pid");
}

for my $end ('COMMIT', 'ROLLBACK')
{
	my $first = $node->background_psql('postgres', on_error_stop => 0);
	my $second = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $second->query_safe('SELECT pg_backend_pid()');
	my $key = $end eq 'COMMIT' ? 100 : 200;
	$first->query_safe("BEGIN; INSERT INTO t VALUES ($key, 1)");
	$second->query_until(qr/sent/, "\\echo sent\nINSERT INTO t VALUES ($key, 2);\n");
	ok(waiting($pid), "a second inserter of a key waits for the first ($end)");
	$first->query_safe($end);
	$second->query('SELECT 1');
	if ($end eq 'COMMIT')
	{
		like($second->{stderr}, qr/duplicate key value violates unique constraint "t_k"/, 'and fails once it commits');
	}
	else
	{
		is($second->{stderr}, '', 'and succeeds once it rolls back');
	}
	$first->quit;
	$second->quit;
}
is($node->safe_psql('postgres', 'SELECT string_agg(k || \':\' || client, \',\' ORDER BY k) FROM t'), '100:1,200:2',
	'each key once, from the inserter that won');
$node->safe_psql('postgres', 'TRUNCATE t');

# One client's work on table tbl: random keys of 1..40, each operation committed (or rolled back) on its
# own, the committed inserts and deletes logged in the same transactions.
$node->safe_psql('postgres', q{
	CREATE FUNCTION try_insert(tbl text, key int8, who int) RETURNS bool LANGUAGE plpgsql AS $$
	BEGIN
		IF tbl = 't' THEN
			INSERT INTO t VALUES (key, who);
		ELSIF tbl = 't3' THEN
			INSERT INTO t3 VALUES (key_uuid(key), key, who);
		ELSE
			INSERT INTO t2 VALUES (key % 5, timestamptz '2026-01-01 00:00+00' + interval '1 minute' * (key / 5), key, who);
		END IF;
		INSERT INTO events VALUES (tbl, key, 1);
		RETURN true;
	EXCEPTION WHEN unique_violation THEN
		RETURN false;
	END $$;
	CREATE PROCEDURE client(tbl text, who int, rounds int) LANGUAGE plpgsql AS $$
	DECLARE
		key int8;
		gone int;
		refused int := 0;
	BEGIN
		PERFORM setseed(who / 10.0);
		FOR i IN 1 .. rounds LOOP
			key := 1 + floor(random() * 40);
			IF random() < 0.15 THEN
				IF tbl = 't' THEN
					DELETE FROM t WHERE k = key;
				ELSIF tbl = 't3' THEN
					DELETE FROM t3 WHERE u = key_uuid(key);
				ELSE
					DELETE FROM t2 WHERE device = key % 5
						AND ts = timestamptz '2026-01-01 00:00+00' + interval '1 minute' * (key / 5);
				END IF;
				GET DIAGNOSTICS gone = ROW_COUNT;
				IF gone > 0 THEN
					INSERT INTO events VALUES (tbl, key, -gone);
				END IF;
				COMMIT;
			ELSIF random() < 0.2 THEN
				PERFORM try_insert(tbl, key, who);
				ROLLBACK;
			ELSE
				IF NOT try_insert(tbl, key, who) THEN
					refused := refused + 1;
				END IF;
				COMMIT;
			END IF;
		END LOOP;
		RAISE NOTICE 'refused %', refused;
	END $$;
});

for my $case (['t', 't_k', 'k'], ['t2', 't2_key', 'device, ts'], ['t3', 't3_u', 'u'])
{
	my ($tbl, $idx, $key) = @$case;
	my (@handles, @errors);
	for my $who (1 .. 4)
	{
		push @handles, IPC::Run::start(
			[ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1',
			  '-c', "CALL client('$tbl', $who, $rounds)" ],
			'>', \my $out, '2>', \$errors[$who - 1], IPC::Run::timeout(600));
	}
	my $maintenance = IPC::Run::start(
		[ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1' ],
		'<', \(join '', map { "VACUUM $tbl; SELECT learned_merge('$idx'); SELECT pg_sleep(0.3);\n" } 1 .. 20),
		'>', \my $maint_out, '2>', \my $maint_err, IPC::Run::timeout(600));
	$_->finish for @handles;
	$maintenance->finish;
	my $refused = 0;
	for my $who (1 .. 4)
	{
		like($errors[$who - 1], qr/refused \d+/, "$tbl: client $who ran to its end") or diag($errors[$who - 1]);
		$refused += $1 if $errors[$who - 1] =~ /refused (\d+)/;
	}
	is($maint_err, '', "$tbl: VACUUM and merges ran beside them");
	cmp_ok($refused, '>', 0, "$tbl: inserters met each other's keys ($refused refused)");
	is($node->safe_psql('postgres', "SELECT count(*) FROM (SELECT $key FROM $tbl GROUP BY $key HAVING count(*) > 1) s"),
		'0', "$tbl: no key twice");
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM (SELECT k, sum(change) AS n FROM events WHERE tbl = '$tbl' GROUP BY k) e
		FULL JOIN (SELECT k, count(*) AS n FROM $tbl GROUP BY k) r USING (k)
		WHERE coalesce(e.n, 0) <> coalesce(r.n, 0)}), '0', "$tbl: every key as the committed inserts and deletes say");
	is($node->safe_psql('postgres', qq{SELECT learned_index_check('$idx', true)}), '', "$tbl: the index checks clean");
	cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM t3 a JOIN t3 b ON a.k = b.k + 1 AND b.k % 2 = 0'),
		'>', 0, 't3: uuids that share a key stand side by side') if $tbl eq 't3';
	my $where = $tbl eq 't' ? 'k > 0' : $tbl eq 't2' ? 'device >= 0'
		: 'u = ANY (ARRAY(SELECT key_uuid(g) FROM generate_series(1, 40) g))';
	is($node->safe_psql('postgres', qq{SET enable_seqscan = off; SELECT count(*), sum(k) FROM $tbl WHERE $where}),
		$node->safe_psql('postgres', qq{SET enable_indexscan = off; SET enable_bitmapscan = off; SELECT count(*), sum(k) FROM $tbl WHERE $where}),
		"$tbl: the index answers as the sequential scan");
}

$node->stop;
done_testing();
