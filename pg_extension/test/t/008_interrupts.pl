# Cancels and timeouts take effect within a second at 10M rows (OMENDB_INTERRUPT_ROWS): a build in its
# table scan, an RMI build in its training passes (found through pg_stat_progress_create_index, whose
# phases are checked too), a merge, a bitmap scan and a check. A CHECKPOINT during a build does not wait
# for the build. Afterwards the index is sound, or absent.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $rows = $ENV{OMENDB_INTERRUPT_ROWS} || 10_000_000;
my $node = PostgreSQL::Test::Cluster->new('interrupts');
$node->init;
# Room for the in-memory radix sort of the entries (the build's own sort, not PostgreSQL's).
$node->append_conf('postgresql.conf', "autovacuum = off\nmaintenance_work_mem = '512MB'\nmax_wal_size = '4GB'\n");
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION omendb;
	CREATE TABLE t (v int8);
	-- Keys in scattered order (7919 is coprime with the row counts used), so the build sorts.
	INSERT INTO t SELECT (g::int8 * 7919) % $rows FROM generate_series(0, $rows - 1) g;
	CHECKPOINT;
});

# Runs sql; returns the seconds it took and its error output.
sub timed
{
	my ($sql) = @_;
	my $start = time;
	my ($ret, $out, $err) = $node->psql('postgres', $sql);
	return (time - $start, $err);
}

sub index_exists
{
	return $node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = '$_[0]'");
}

# A build cancelled by statement_timeout in its table scan.
my ($elapsed, $err) = timed("SET statement_timeout = '1s'; CREATE INDEX t_v ON t USING learned (v)");
like($err, qr/canceling statement due to statement timeout/, 'build: cancelled by the timeout');
cmp_ok($elapsed, '<', 2.0, 'build: ended within 1 s of the timeout');
is(index_exists('t_v'), '0', 'build: no index left behind');

# An RMI build, watched in pg_stat_progress_create_index; a CHECKPOINT while it runs; a cancel once it
# trains its model.
my $builder = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $builder->query_safe('SELECT pg_backend_pid()');
$builder->query_until(qr/started/, "\\echo started\nCREATE INDEX t_rmi ON t USING learned (v) WITH (model = 'rmi');\n");
my (%phases, $total, $checkpoint_seconds, $cancel_start);
my $deadline = time + 300;
while (time < $deadline)
{
	my $row = $node->safe_psql('postgres',
		"SELECT phase, tuples_total FROM pg_stat_progress_create_index WHERE pid = $pid");
	last if $row eq '' && %phases;
	my ($phase, $tuples) = split /\|/, $row;
	if (defined $phase)
	{
		$phases{$phase} = 1;
		$total = $tuples if $tuples > 0;
		if (!defined $checkpoint_seconds)
		{
			my $start = time;
			$node->safe_psql('postgres', 'CHECKPOINT');
			$checkpoint_seconds = time - $start;
			ok($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_progress_create_index WHERE pid = $pid") == 1,
				'a checkpoint returns while the build goes on');
		}
		if ($phase =~ /training/)
		{
			$cancel_start = time;
			$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
			last;
		}
	}
	usleep(20_000);
}
ok(defined $cancel_start, 'the RMI build reached its training phase');
$node->poll_query_until('postgres', "SELECT state = 'idle' FROM pg_stat_activity WHERE pid = $pid")
  or die 'the cancelled build never ended';
cmp_ok(time - $cancel_start, '<', 1.0, 'RMI build: a cancel in training takes effect within 1 s');
$builder->query('SELECT 1');	# collects the build's error output
like($builder->{stderr}, qr/canceling statement due to user request/, 'RMI build: cancelled');
$builder->quit;
ok($phases{'building index: scanning and sorting table'} || $phases{'building index: scanning table'},
	'progress: the scan phase is reported (' . join(', ', sort keys %phases) . ')');
ok($phases{'building index: training model and writing pages'}, 'progress: the training phase is reported');
is($total, $rows, 'progress: tuples_total counts the table');
cmp_ok($checkpoint_seconds, '<', 30, "a checkpoint during a build took $checkpoint_seconds s");
is(index_exists('t_rmi'), '0', 'RMI build: no index left behind');

$node->safe_psql('postgres', 'CREATE INDEX t_v ON t USING learned (v)');

# 200 ms: far less than a rebuild of the run takes, so the cancel lands before the merge publishes its run
# (a cancel after the switch would leave the new run, correctly, and a generation of 1).
($elapsed, $err) = timed("SET statement_timeout = '200ms'; SELECT learned_merge('t_v', rebuild => true)");
like($err, qr/canceling statement due to statement timeout/, 'merge: cancelled by the timeout');
cmp_ok($elapsed, '<', 1.2, 'merge: ended within 1 s of the timeout');

($elapsed, $err) = timed("SET enable_seqscan = off; SET enable_indexscan = off; SET statement_timeout = '100ms';
	SELECT count(*) FROM t WHERE v >= 0");
like($err, qr/canceling statement due to statement timeout/, 'bitmap scan: cancelled by the timeout');
cmp_ok($elapsed, '<', 1.1, 'bitmap scan: ended within 1 s of the timeout');

($elapsed, $err) = timed("SET statement_timeout = '1s'; SELECT learned_index_check('t_v', true)");
like($err, qr/canceling statement due to statement timeout/, 'check: cancelled by the timeout');
cmp_ok($elapsed, '<', 2.0, 'check: ended within 1 s of the timeout');

# Sound after all of it: the check passes, and the index answers as the table does.
is($node->psql('postgres', "SELECT learned_index_check('t_v', true)"), 0, 'the index passes its check');
is($node->safe_psql('postgres', 'SET enable_seqscan = off; SELECT count(*), sum(v) FROM t WHERE v >= 1000'),
	($rows - 1000) . '|' . (($rows - 1) * $rows / 2 - 999 * 1000 / 2), 'the index answers as the table');
ok($node->safe_psql('postgres', "SELECT generation FROM learned_index_info('t_v')") == 0,
	'the cancelled merge left the run as it was');

$node->stop;
done_testing();
