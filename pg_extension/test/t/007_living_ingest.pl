# The living index: 4 writers append time-ordered rows, 1 deletes, 2 readers check point, range and
# ORDER BY answers against the sequential scan in the same snapshot, while an aggressive autovacuum and
# learned_merge run; then the index checks clean. Beside it, a heap-layout index lives the same life:
# rows appended nearly in order (the merges extend its model), updated (moved) and deleted, its bitmap
# scans checked against the sequential scan. A kill -9 during a merge leaves blocks that one VACUUM
# accounts for. OMENDB_CONCURRENCY_SECONDS sets the duration (10 by default).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $seconds = $ENV{OMENDB_CONCURRENCY_SECONDS} || 10;
my $node = PostgreSQL::Test::Cluster->new('living');
$node->init;
$node->append_conf('postgresql.conf', qq{
autovacuum_naptime = 1s
autovacuum_vacuum_threshold = 50
autovacuum_vacuum_scale_factor = 0
autovacuum_vacuum_insert_threshold = 500
autovacuum_vacuum_insert_scale_factor = 0
autovacuum_vacuum_cost_delay = 0
deadlock_timeout = 100ms
});
$node->start;
# The index starts empty, as a user's would; a small hot_limit makes inserts merge often.
$node->safe_psql('postgres', q{
	CREATE EXTENSION omendb;
	CREATE SEQUENCE ts_seq;
	CREATE TABLE t (ts int8, device int, v float8);
	CREATE INDEX t_learned ON t USING learned (ts) WITH (hot_limit = 2000);
	CREATE SEQUENCE th_seq;
	CREATE TABLE th (ts int8, device int, v float8);
	CREATE INDEX th_heap ON th USING learned (ts) WITH (layout = 'heap', hot_limit = 2000);
	-- The same query through the index and through the sequential scan, in the caller's snapshot.
	CREATE FUNCTION same(query text) RETURNS void LANGUAGE plpgsql AS $$
	DECLARE by_index text; by_heap text;
	BEGIN
		PERFORM set_config('enable_seqscan', 'off', true);
		PERFORM set_config('enable_bitmapscan', 'off', true);
		EXECUTE 'SELECT coalesce(string_agg(r::text, '',''), '''') FROM (' || query || ') r' INTO by_index;
		PERFORM set_config('enable_bitmapscan', 'on', true);
		PERFORM set_config('enable_indexscan', 'off', true);
		PERFORM set_config('enable_indexonlyscan', 'off', true);
		PERFORM set_config('enable_seqscan', 'on', true);
		EXECUTE 'SELECT coalesce(string_agg(r::text, '',''), '''') FROM (' || query || ') r' INTO by_heap;
		PERFORM set_config('enable_indexscan', 'on', true);
		PERFORM set_config('enable_indexonlyscan', 'on', true);
		IF by_index IS DISTINCT FROM by_heap THEN
			RAISE EXCEPTION 'index and heap disagree on %: % against %', query, left(by_index, 200), left(by_heap, 200);
		END IF;
	END $$;
	-- The same through a bitmap scan (the heap layout's only scan) and the sequential scan.
	CREATE FUNCTION same_bitmap(query text) RETURNS void LANGUAGE plpgsql AS $$
	DECLARE by_index text; by_heap text;
	BEGIN
		PERFORM set_config('enable_seqscan', 'off', true);
		EXECUTE 'SELECT coalesce(string_agg(r::text, '',''), '''') FROM (' || query || ') r' INTO by_index;
		PERFORM set_config('enable_seqscan', 'on', true);
		PERFORM set_config('enable_bitmapscan', 'off', true);
		EXECUTE 'SELECT coalesce(string_agg(r::text, '',''), '''') FROM (' || query || ') r' INTO by_heap;
		PERFORM set_config('enable_bitmapscan', 'on', true);
		IF by_index IS DISTINCT FROM by_heap THEN
			RAISE EXCEPTION 'bitmap scan and heap disagree on %: % against %', query, left(by_index, 200), left(by_heap, 200);
		END IF;
	END $$;
});

my %scripts = (
	'append' => q{INSERT INTO t SELECT nextval('ts_seq') * 1000 + (random() * 900)::int, (random() * 100)::int, random() FROM generate_series(1, 50);
},
	'delete' => q{\set k random(1, 200000)
DELETE FROM t WHERE ts BETWEEN :k * 1000 AND :k * 1000 + 5000;
},
	'read' => q{\set k random(1, 100000)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT same('SELECT ts, device FROM t WHERE ts = (SELECT ts FROM t WHERE ts >= ' || :k * 1000 || ' ORDER BY ts LIMIT 1)');
SELECT same('SELECT ts FROM t WHERE ts BETWEEN ' || :k * 1000 || ' AND ' || :k * 1000 + 20000 || ' ORDER BY ts');
SELECT same('SELECT ts FROM t WHERE ts > ' || :k * 1000 || ' ORDER BY ts LIMIT 30');
SELECT same('SELECT ts FROM t WHERE ts < ' || :k * 1000 || ' ORDER BY ts DESC LIMIT 30');
SELECT same('SELECT count(*), sum(ts) FROM t WHERE ts >= ' || :k * 1000);
COMMIT;
});
$scripts{'append_heap'} = q{INSERT INTO th SELECT nextval('th_seq') * 1000 + (random() * 900)::int, (random() * 100)::int, random() FROM generate_series(1, 50);
};
$scripts{'change_heap'} = q{\set k random(1, 100000)
UPDATE th SET v = v + 1 WHERE ts BETWEEN :k * 1000 AND :k * 1000 + 3000;
DELETE FROM th WHERE ts BETWEEN (:k + 50) * 1000 AND (:k + 50) * 1000 + 3000;
};
$scripts{'read_heap'} = q{\set k random(1, 100000)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT same_bitmap('SELECT ts, device FROM th WHERE ts = (SELECT max(ts) FROM th WHERE ts <= ' || :k * 1000 || ')');
SELECT same_bitmap('SELECT ts FROM th WHERE ts BETWEEN ' || :k * 1000 || ' AND ' || :k * 1000 + 20000 || ' ORDER BY ts');
SELECT same_bitmap('SELECT count(*), sum(ts) FROM th WHERE ts >= ' || :k * 1000);
COMMIT;
};
my %weights = (append => 4, delete => 1, read => 2, append_heap => 3, change_heap => 1, read_heap => 2);
my %files = map { ("$_\@$weights{$_}" => $scripts{$_}) } keys %scripts;

my $merges = IPC::Run::start(
	[ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1' ],
	'<', \(join '', map { "SELECT learned_merge('t_learned'), learned_merge('th_heap'); SELECT pg_sleep(1);\n" } 1 .. $seconds),
	'>', \my $merge_out, '2>', \my $merge_err,
	IPC::Run::timeout($seconds * 10 + 60));
$node->pgbench("-n -c 10 -j 2 -T $seconds", 0, [qr/processed: [1-9]/], [qr/^$/],
	'clients appending, deleting, updating and checking both indexes run without a wrong answer', \%files);
$merges->finish;
is($merge_err, '', 'learned_merge loops without errors');

my $info = $node->safe_psql('postgres', q{SELECT generation, cold_entries, hot_entries FROM learned_index_info('t_learned')});
note "generation, cold, hot after the run: $info";
my ($generation) = split /\|/, $info;
cmp_ok($generation, '>', $seconds, 'inserts and learned_merge merged many times');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_user_tables WHERE relname = 't' AND autovacuum_count > 0}),
	'==', 1, 'autovacuum ran during the run');
is($node->safe_psql('postgres', q{SELECT learned_index_check('t_learned', true)}), '', 'check clean after the run');
is($node->safe_psql('postgres', q{SELECT learned_index_check('th_heap', true)}), '', 'the heap-layout index checks clean');
my ($covered, $explicit) = split /\|/, $node->safe_psql('postgres',
	q{SELECT covered_rows, cold_entries + hot_entries FROM learned_index_info('th_heap')});
note "heap layout after the run: $covered rows covered, $explicit entries";
cmp_ok($covered, '>', 0, 'merges extended the heap model by the appended rows');
$node->safe_psql('postgres', q{SELECT learned_merge('th_heap')});
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*), sum(ts) FROM th WHERE ts > 0}),
	$node->safe_psql('postgres', q{SET enable_bitmapscan = off; SELECT count(*), sum(ts) FROM th WHERE ts > 0}),
	'after a last merge, the bitmap scan counts what the sequential scan counts');
$node->safe_psql('postgres', q{VACUUM t});
is($node->safe_psql('postgres', q{SELECT pages FROM learned_page_usage('t_learned') WHERE kind = 'unreferenced'}), '0',
	'no block unreferenced after VACUUM');

# kill -9 while learned_merge rewrites a large hot area: the blocks it wrote and never switched to are
# referenced by nothing; one VACUUM marks them deleted.
$node->safe_psql('postgres', q{
	TRUNCATE t;
	SET learned.merge_on_insert = off;
	INSERT INTO t SELECT g * 1000, 1, 0 FROM generate_series(1, 300000) g;
});
# Whether a kill leaves such blocks depends on whether the merge's WAL reached the disk before it (else
# recovery finds the new blocks empty: free, not unreferenced), so the delays are tried again, up to three
# rounds, until one has.
my $orphans = 0;
for my $delay ((20, 50, 100, 200, 400) x 3)
{
	last if $orphans > 0 && $delay == 20;
	$node->safe_psql('postgres', q{SET learned.merge_on_insert = off; INSERT INTO t SELECT g, 2, 0 FROM generate_series(1, 50000) g});
	my $merge = IPC::Run::start(
		[ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres', '-c', q{SELECT learned_merge('t_learned')} ],
		'>', \my $out, '2>', \my $err);
	usleep($delay * 1000);
	my ($pid) = split /\n/, slurp_file($node->data_dir . '/postmaster.pid');
	$node->kill9;
	usleep(100_000) while kill(0, $pid);
	$merge->finish;
	$node->start;
	my $before = $node->safe_psql('postgres', q{SELECT pages FROM learned_page_usage('t_learned') WHERE kind = 'unreferenced'});
	$orphans += $before;
	$node->safe_psql('postgres', q{VACUUM t});
	is($node->safe_psql('postgres', q{SELECT pages FROM learned_page_usage('t_learned') WHERE kind = 'unreferenced'}), '0',
		"kill -9 after $delay ms of a merge ($before unreferenced blocks): none after one VACUUM");
	is($node->safe_psql('postgres', q{SELECT learned_index_check('t_learned', true)}), '', "kill -9 after $delay ms: check clean");
}
cmp_ok($orphans, '>', 0, 'some kill -9 left unreferenced blocks for VACUUM to reclaim');

$node->stop;
done_testing();
