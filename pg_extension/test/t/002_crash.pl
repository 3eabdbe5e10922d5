# kill -9 during concurrent inserts, during a merge and during one that starts a run of the heap model,
# and after it: after restart the indexes (one column, two, and
# one in the heap layout) check clean and answer as the sequential scan does. OMENDB_CRASH_CYCLES sets the number of cycles (3 by default; `make stress`
# raises it).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $cycles = $ENV{OMENDB_CRASH_CYCLES} || 3;
my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION omendb;
	CREATE TABLE t (k int8, pad int, ts int8);
	INSERT INTO t SELECT g, g, g FROM generate_series(1, 50000) g;
	CREATE INDEX t_learned ON t USING learned (k) WITH (hot_limit = 1000);
	CREATE INDEX t_pair ON t USING learned (pad, k) WITH (hot_limit = 1000);
	CREATE INDEX t_heap ON t USING learned (ts) WITH (layout = 'heap', hot_limit = 1000);
	-- ts goes on in key order after the build (nearly: two clients interleave), so merges, killed or
	-- not, extend t_heap's model.
	CREATE SEQUENCE ts_seq START 50001;
});

my $script = $node->basedir . '/insert.sql';
PostgreSQL::Test::Utils::append_to_file($script, "INSERT INTO t SELECT (random() * 100000)::int8, 1, nextval('ts_seq') FROM generate_series(1, 20);\n");

# kill -9 of the postmaster, then a restart once it and its children are gone (until then the lock file
# and the shared memory are still in use).
sub crash_and_restart
{
	my ($pid) = split /\n/, slurp_file($node->data_dir . '/postmaster.pid');
	$node->kill9;
	usleep(100_000) while kill(0, $pid);
	for (1 .. 100)
	{
		return if $node->start(fail_ok => 1);
		# A failed start leaves the old postmaster's pid behind; the node is down.
		$node->{_pid} = undef;
		usleep(200_000);
	}
	BAIL_OUT('server did not restart after kill -9');
}

# Starts learned_merge of each index in turn in a session of its own, and kills the server up to
# $max_us microseconds later.
sub merge_and_crash
{
	my ($max_us, @indexes) = @_;
	my $merge = $node->background_psql('postgres');
	$merge->query_until(qr/started/, "\\echo started\n" . join('', map { "SELECT learned_merge('$_');\n" } @indexes));
	usleep(int(rand($max_us)));
	crash_and_restart();
	eval { $merge->quit };
}

sub verify
{
	my ($label) = @_;
	for my $index ('t_learned', 't_pair', 't_heap')
	{
		is($node->safe_psql('postgres', "SELECT learned_index_check('$index', true)"), '', "$label: $index checks clean");
	}
	# The second query only the two-column index can serve.
	for my $query ('SELECT count(*), sum(k) FROM t WHERE k BETWEEN 20000 AND 70000',
		'SELECT count(*), sum(k) FROM t WHERE pad IN (1, 2, 30000) AND k < 60000')
	{
		my $seq = $node->safe_psql('postgres',
			"SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off; $query");
		my $idx = $node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; $query");
		is($idx, $seq, "$label: index answers as the sequential scan: $query");
	}
	# Only the heap-layout index covers ts: a bitmap scan.
	for my $query ('SELECT count(*), sum(ts) FROM t WHERE ts >= 20000', 'SELECT count(*), sum(ts) FROM t WHERE ts < 1000')
	{
		is($node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_indexscan = off; $query"),
			$node->safe_psql('postgres', "SET enable_indexscan = off; SET enable_bitmapscan = off; $query"),
			"$label: t_heap answers as the sequential scan: $query");
	}
}

for my $cycle (1 .. $cycles)
{
	# Concurrent inserts from two clients, killed mid-stream.
	my $bench = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', '30', '-f', $script, '-h', $node->host, '-p', $node->port, 'postgres' ],
		'>', \my $out, '2>', \my $err);
	usleep(1_500_000 + int(rand(1_000_000)));
	crash_and_restart();
	$bench->finish;
	verify("cycle $cycle, inserts");

	# A merge, killed while it writes the new run.
	$node->safe_psql('postgres', q{INSERT INTO t SELECT (random() * 100000)::int8, 2, nextval('ts_seq') FROM generate_series(1, 30000)});
	merge_and_crash(300_000, 't_learned', 't_pair', 't_heap');
	verify("cycle $cycle, merge");
}

# A merge that starts a run of the heap model (a backfill in key order behind its rows), killed while it
# writes it; then one that finishes, and kill -9 after it: the run survives recovery. (The inserts do not
# merge: at hot_limit 1000 each merge would hold fewer rows than a run takes.)
$node->safe_psql('postgres', q{SET learned.merge_on_insert = off; INSERT INTO t SELECT g, 3, g - 200000 FROM generate_series(1, 5000) g});
my $runs_before = $node->safe_psql('postgres', q{SELECT heap_runs FROM learned_index_info('t_heap')});
merge_and_crash(200_000, 't_heap');
verify('a merge starting a run, killed');
$node->safe_psql('postgres', q{SELECT learned_merge('t_heap')});
my $runs = $node->safe_psql('postgres', q{SELECT heap_runs FROM learned_index_info('t_heap')});
cmp_ok($runs, '>', $runs_before, 'the backfill started a run of the heap model');
crash_and_restart();
is($node->safe_psql('postgres', q{SELECT heap_runs FROM learned_index_info('t_heap')}), $runs, 'the run survives kill -9');
verify('after the merge that started a run');

note 't_heap after the cycles (covered, entries): ' . $node->safe_psql('postgres',
	q{SELECT covered_rows, cold_entries + hot_entries FROM learned_index_info('t_heap')});
$node->stop;
done_testing();
