# A streaming standby answers exactly as its primary after every kind of change to a learned index.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION omendb');
$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;

# Point, range and ordered queries, each answered through a learned index: on (k), or on (d, k).
my @queries = (
	'SELECT count(*) FROM t WHERE k = 5000',
	'SELECT count(*), sum(k) FROM t WHERE k BETWEEN 1000 AND 2999',
	'SELECT count(*) FROM t WHERE k IS NULL',
	'SELECT string_agg(k::text, \',\' ORDER BY k) FROM (SELECT k FROM t ORDER BY k LIMIT 20) s',
	'SELECT string_agg(k::text, \',\' ORDER BY k DESC) FROM (SELECT k FROM t ORDER BY k DESC LIMIT 20) s',
	'SELECT count(*) FROM t WHERE k = ANY(ARRAY[1, 77, 5000, 9999, 123456])',
	'SELECT min(k), max(k) FROM t',
	'SELECT count(*), sum(k) FROM t WHERE d IN (3, 12) AND k BETWEEN 1000 AND 7999',
	'SELECT count(*) FROM t WHERE d IS NULL',
	'SELECT string_agg(d || \':\' || k, \',\' ORDER BY d DESC, k DESC) FROM (SELECT d, k FROM t WHERE d <= 2 ORDER BY d DESC, k DESC LIMIT 20) s');
my $settings = 'SET enable_seqscan = off; SET enable_bitmapscan = off;';
# The heap layout (on h): bitmap scans alone, each answer also against the primary's sequential scan.
my @heap_queries = (
	'SELECT count(*), sum(k) FROM h WHERE k BETWEEN 1000 AND 2999',
	'SELECT count(*) FROM h WHERE k = 5000',
	'SELECT count(*) FROM h WHERE k IS NULL',
	'SELECT count(*), sum(k) FROM h WHERE k > 19000',
	'SELECT count(*), sum(k) FROM h WHERE k < 0');
my $heap_settings = 'SET enable_seqscan = off; SET enable_indexscan = off;';
my $seq_settings = 'SET enable_bitmapscan = off; SET enable_indexscan = off;';

sub compare
{
	my ($step) = @_;
	$primary->wait_for_catchup($standby);
	for my $query (@queries)
	{
		my $expected = $primary->safe_psql('postgres', "$settings $query");
		my $plan = $standby->safe_psql('postgres', "$settings EXPLAIN (COSTS OFF) $query");
		my $index = $query =~ /\bd\b/ ? 't_pair' : 't_learned';
		like($plan, qr/$index/, "$step: standby plans $index for: $query");
		is($standby->safe_psql('postgres', "$settings $query"), $expected, "$step: standby equals primary: $query");
	}
	for my $query (@heap_queries)
	{
		my $expected = $primary->safe_psql('postgres', "$seq_settings $query");
		like($standby->safe_psql('postgres', "$heap_settings EXPLAIN (COSTS OFF) $query"), qr/Bitmap Index Scan on h_heap/,
			"$step: standby plans h_heap for: $query");
		is($primary->safe_psql('postgres', "$heap_settings $query"), $expected, "$step: primary's h_heap equals its seq scan: $query");
		is($standby->safe_psql('postgres', "$heap_settings $query"), $expected, "$step: standby's h_heap equals primary: $query");
	}
}

$primary->safe_psql('postgres', q{
	CREATE TABLE t (k int8, v text, d int4);
	INSERT INTO t SELECT g % 9000, 'v' || g, g % 13 FROM generate_series(1, 20000) g;
	INSERT INTO t VALUES (NULL, 'n1', 4), (NULL, 'n2', NULL), (17, 'n4', NULL);
	CREATE INDEX t_learned ON t USING learned (k) WITH (epsilon = 16);
	CREATE INDEX t_pair ON t USING learned (d, k) WITH (epsilon = 16);
	CREATE TABLE h (k int8, v text);
	INSERT INTO h SELECT CASE WHEN g % 97 = 0 THEN g - 3000 ELSE g END, 'v' || g FROM generate_series(1, 20000) g;
	INSERT INTO h VALUES (NULL, 'n');
	CREATE INDEX h_heap ON h USING learned (k) WITH (layout = 'heap');
	ANALYZE t, h;
});
compare('build');

$primary->safe_psql('postgres', q{INSERT INTO t SELECT g, 'new', g % 13 FROM generate_series(5000, 12000) g; INSERT INTO t VALUES (NULL, 'n3', 12), (NULL, 'n5', NULL);
	INSERT INTO h SELECT g, 'new' FROM generate_series(19500, 23000) g});
compare('insert');

$primary->safe_psql('postgres', q{DELETE FROM t WHERE k % 7 = 0; DELETE FROM h WHERE k % 7 = 0});
compare('delete');

$primary->safe_psql('postgres', q{VACUUM t; VACUUM h; INSERT INTO h SELECT g * 3, 'refill' FROM generate_series(1, 2000) g});
compare('vacuum');

$primary->safe_psql('postgres', q{SELECT learned_merge('t_learned'); SELECT learned_merge('t_pair'); SELECT learned_merge('h_heap')});
compare('merge');
my $covered = $primary->safe_psql('postgres', q{SELECT covered_rows FROM learned_index_info('h_heap')});
cmp_ok($covered, '>', 20000, 'the merge extended the heap model by the rows appended in order');
is($standby->safe_psql('postgres', q{SELECT covered_rows FROM learned_index_info('h_heap')}), $covered,
	'the standby reads the extended heap model');

$primary->safe_psql('postgres', q{UPDATE t SET k = k + 100000, d = d + 1 WHERE k % 11 = 0; VACUUM t; SELECT learned_merge('t_learned'); SELECT learned_merge('t_pair');
	UPDATE h SET k = k + 100000 WHERE k % 11 = 0; VACUUM h; SELECT learned_merge('h_heap')});
compare('update, vacuum and merge');

# A backfill in key order behind the heap model's rows starts a run of its own, replayed by the standby.
$primary->safe_psql('postgres', q{INSERT INTO h SELECT g - 10000, 'backfill' FROM generate_series(1, 3000) g; SELECT learned_merge('h_heap')});
compare('backfill');
my $runs = $primary->safe_psql('postgres', q{SELECT heap_runs FROM learned_index_info('h_heap')});
cmp_ok($runs, '>', 1, 'the backfill started a run');
is($standby->safe_psql('postgres', q{SELECT heap_runs FROM learned_index_info('h_heap')}), $runs, 'the standby reads every run');

# A REINDEX builds the runs anew (the moved rows and the backfill each their own); the standby reads the
# rebuilt index.
$primary->safe_psql('postgres', q{REINDEX INDEX h_heap});
compare('reindex');
my $rebuilt = $primary->safe_psql('postgres', q{SELECT heap_runs FROM learned_index_info('h_heap')});
cmp_ok($rebuilt, '>', 1, 'the rebuild made runs');
is($standby->safe_psql('postgres', q{SELECT heap_runs FROM learned_index_info('h_heap')}), $rebuilt, 'the standby reads the rebuilt runs');

for my $index ('t_learned', 't_pair', 'h_heap')
{
	is($standby->safe_psql('postgres', "SELECT learned_index_check('$index', true)"), '', "standby $index checks clean");
}

$standby->stop;
$primary->stop;
done_testing();
