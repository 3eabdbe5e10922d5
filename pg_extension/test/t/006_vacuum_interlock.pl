# A cursor open across VACUUM returns exactly its snapshot's rows: index and index-only scans, over cold
# and hot entries, with or without a merge moving every entry to new pages first, on the primary and on
# a standby with hot_standby_feedback off (where a query may instead be cancelled by a recovery
# conflict, never answer wrongly), on a one-column index and on a two-column one. Also on the standby: a cursor that reads a run whose blocks the
# primary frees and reuses.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('interlock_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "autovacuum = off\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION omendb');
$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('interlock_standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->append_conf('postgresql.conf', "hot_standby_feedback = off\nmax_standby_streaming_delay = 500ms\n");
$standby->start;

my $expected = join("\n", grep { $_ != 3000 } 2501 .. 5000);

# k = 1..5000 with 3000 deleted, its entry cold (in the built run) or hot (inserted after the build); the
# index on (k) or on (d, k), d = 1 in every row.
sub setup
{
	my ($where, $columns) = @_;
	my $built = $where eq 'cold' ? 5000 : 2000;
	$primary->safe_psql('postgres', qq{
		DROP TABLE IF EXISTS t;
		CREATE TABLE t (d int4, k int8, pad text);
		INSERT INTO t SELECT 1, g, 'x' FROM generate_series(1, $built) g;
		CREATE INDEX t_learned ON t USING learned ($columns);
		INSERT INTO t SELECT 1, g, 'x' FROM generate_series($built + 1, 5000) g;
		VACUUM ANALYZE t;
		DELETE FROM t WHERE k = 3000;
	});
	my $hot = $primary->safe_psql('postgres', q{SELECT hot_entries FROM learned_index_info('t_learned')});
	is($hot, $where eq 'cold' ? 0 : 3000, "$where: entries where the case wants them");
}

# Opens the cursor on node, fetches one row, lets VACUUM run on the primary (it may wait for the
# cursor's pin, as with btree), then fetches the rest.
sub cursor_across_vacuum
{
	my ($node, $where, $columns, $kind, $merge) = @_;
	my $label = "($columns), $where entries, $kind scan, on the " . ($node == $primary ? 'primary' : 'standby')
	  . ($merge ? ', entries moved by a merge' : '');
	my $settings = 'SET enable_seqscan = off; SET enable_bitmapscan = off;'
	  . ($kind eq 'index' ? ' SET enable_indexonlyscan = off;' : '');
	my $query = 'SELECT k FROM t WHERE ' . ($columns eq 'k' ? '' : 'd = 1 AND ') . 'k >= 2500 ORDER BY k';
	my $plan = $node->safe_psql('postgres', "$settings EXPLAIN (COSTS OFF) $query");
	my $want = $kind eq 'index-only' && $node == $primary ? qr/Index Only Scan using t_learned/ : qr/Index Scan using t_learned/;
	like($plan, $want, "$label: planned as intended");

	my $reader = $node->background_psql('postgres', on_error_stop => 0);
	$reader->query_safe("$settings BEGIN ISOLATION LEVEL REPEATABLE READ; DECLARE c CURSOR FOR $query;");
	is($reader->query_safe('FETCH 1 FROM c'), '2500', "$label: first row");
	# The merge moves every entry the cursor copied to new pages, where VACUUM then marks them.
	$primary->safe_psql('postgres', q{SELECT learned_merge('t_learned', rebuild => true)}) if $merge;

	my $vacuum = $primary->background_psql('postgres');
	$vacuum->query_until(qr/started/, "\\echo started\nVACUUM t;\n\\echo vacuumed\n");
	# VACUUM either finishes, or waits for the cursor's pin on the page it returns from.
	$primary->poll_query_until('postgres', q{
		SELECT count(*) > 0 FROM pg_stat_activity
		WHERE query LIKE 'VACUUM t;%' AND (state = 'idle' OR wait_event = 'BufferPin')})
	  or die 'VACUUM neither finished nor waited';
	my $waits = $primary->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'VACUUM t;%' AND wait_event = 'BufferPin'});
	note "$label: VACUUM " . ($waits ? 'waits for the cursor' : 'finished');
	$primary->wait_for_catchup($standby) if $node == $standby && !$waits;

	my $rest = $reader->query('FETCH ALL FROM c');
	if ($node == $standby && $reader->{stderr} =~ /conflict with recovery/)
	{
		pass("$label: cancelled by a recovery conflict");
	}
	else
	{
		is($rest, $expected, "$label: the rest, exactly the snapshot's rows");
	}
	$reader->query('COMMIT');
	$reader->quit;
	$vacuum->quit;
	is($primary->safe_psql('postgres', q{SELECT count(*) FROM t WHERE k = 3000}), '0', "$label: VACUUM done");
}

for my $columns ('k', 'd, k')
{
	for my $where ('cold', 'hot')
	{
		for my $kind ('index-only', 'index')
		{
			setup($where, $columns);
			cursor_across_vacuum($primary, $where, $columns, $kind, 0);
			setup($where, $columns);
			cursor_across_vacuum($primary, $where, $columns, $kind, 1);
			setup($where, $columns);
			$primary->wait_for_catchup($standby);
			cursor_across_vacuum($standby, $where, $columns, $kind, 0);
		}
	}
}

# A standby cursor reads the cold run while the primary replaces it and reuses its blocks: the reuse
# record cancels the cursor (or it finishes first); it never reads a reused block as the old run's.
$primary->safe_psql('postgres', q{
	DROP TABLE IF EXISTS t;
	CREATE TABLE t (k int8, pad text);
	INSERT INTO t SELECT g, 'x' FROM generate_series(1, 20000) g;
	CREATE INDEX t_learned ON t USING learned (k);
	VACUUM ANALYZE t;
});
$primary->wait_for_catchup($standby);
my $reader = $standby->background_psql('postgres', on_error_stop => 0);
$reader->query_safe(q{SET enable_seqscan = off; SET enable_bitmapscan = off;
	BEGIN ISOLATION LEVEL REPEATABLE READ; DECLARE c CURSOR FOR SELECT k FROM t WHERE k >= 10 ORDER BY k;});
is($reader->query_safe('FETCH 1 FROM c'), '10', 'reuse: the standby cursor starts');
# Each round replaces the run and reuses blocks the round before freed (the standby's snapshot does not
# hold the primary's horizon back).
for my $round (1 .. 4)
{
	$primary->safe_psql('postgres', qq{INSERT INTO t SELECT g, 'y' FROM generate_series(20000 + $round * 100, 20000 + $round * 100 + 99) g});
	$primary->safe_psql('postgres', q{SELECT learned_merge('t_learned')});
	$primary->safe_psql('postgres', q{SELECT txid_current()});
}
my $reused = $primary->safe_psql('postgres', q{SELECT pages FROM learned_page_usage('t_learned') WHERE kind = 'free'});
$primary->wait_for_catchup($standby);
# A conflict on an idle-in-transaction session terminates it: psql then exits.
my $rows = eval { $reader->query('FETCH ALL FROM c') };
my $log = slurp_file($standby->logfile);
if (!defined $rows || $reader->{stderr} =~ /conflict with recovery/)
{
	like($log, qr/conflict with recovery/, 'reuse: the standby cursor is cancelled by a recovery conflict');
	unlike($log, qr/learned index/, 'reuse: no learned index error on the standby');
}
else
{
	is($rows, join("\n", 11 .. 20000), 'reuse: the standby cursor reads exactly its rows');
	$reader->quit;
}
note "free blocks on the primary after the rounds: $reused";

$standby->stop;
$primary->stop;
done_testing();
