# pgbench runs inserts, deletes, point and range lookups and ORDER BY LIMIT from several clients while
# VACUUM and learned_merge loop, on a one-column index and a two-column one; then both indexes check
# clean and answer as the sequential scan does.
# OMENDB_CONCURRENCY_SECONDS sets the duration (10 by default).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $seconds = $ENV{OMENDB_CONCURRENCY_SECONDS} || 10;
my $node = PostgreSQL::Test::Cluster->new('concurrency');
$node->init;
$node->append_conf('postgresql.conf', "deadlock_timeout = 100ms\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION omendb;
	CREATE TABLE t (k int8, v int, d int4);
	INSERT INTO t SELECT g, g, g % 50 FROM generate_series(1, 100000) g;
	CREATE INDEX t_learned ON t USING learned (k) WITH (hot_limit = 500);
	CREATE INDEX t_pair ON t USING learned (d, k) WITH (hot_limit = 500);
	ANALYZE t;
});

my %scripts = (
	'insert' => q{\set k random(1, 200000)
INSERT INTO t VALUES (:k, 1, :k % 50), (:k + 1, 2, (:k + 1) % 50), (NULL, 3, NULL), (NULL, 4, :k % 50), (:k, 5, NULL);
},
	'delete' => q{\set k random(1, 200000)
DELETE FROM t WHERE k = :k;
},
	'point' => q{\set k random(1, 200000)
SET enable_seqscan = off; SET enable_bitmapscan = off;
SELECT count(*) FROM t WHERE k = :k;
},
	'range' => q{\set k random(1, 200000)
SET enable_seqscan = off;
SELECT count(*), sum(v) FROM t WHERE k BETWEEN :k AND :k + 500;
},
	'ordered' => q{\set k random(1, 200000)
SET enable_seqscan = off; SET enable_sort = off;
SELECT k FROM t WHERE k > :k ORDER BY k LIMIT 10;
SELECT k FROM t WHERE k < :k ORDER BY k DESC LIMIT 10;
},
	'pair' => q{\set k random(1, 200000)
\set d random(0, 49)
SET enable_seqscan = off;
SELECT count(*), sum(v) FROM t WHERE d = :d AND k BETWEEN :k AND :k + 5000;
SELECT count(*) FROM t WHERE d IN (:d, (:d + 7) % 50) AND k = :k;
SELECT d, k FROM t WHERE d = :d AND k > :k ORDER BY d, k LIMIT 10;
SELECT d, k FROM t WHERE d = :d AND k IS NULL;
});
my %files = map { ("$_\@1" => $scripts{$_}) } keys %scripts;

my $maintenance = IPC::Run::start(
	[ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1' ],
	'<', \(join '', map { "VACUUM t; SELECT learned_merge('t_learned'); SELECT learned_merge('t_pair'); SELECT pg_sleep(0.2);\n" } 1 .. 5 * $seconds),
	'>', \my $maint_out, '2>', \my $maint_err,
	IPC::Run::timeout($seconds * 10 + 60));

$node->pgbench("-n -c 4 -j 2 -T $seconds", 0, [qr/processed: [1-9]/], [qr/^$/], 'mixed workload runs without errors', \%files);
$maintenance->finish;
is($maint_err, '', 'VACUUM and learned_merge loop without errors');

$node->safe_psql('postgres', 'ANALYZE t');
for my $index ('t_learned', 't_pair')
{
	is($node->safe_psql('postgres', "SELECT learned_index_check('$index', true)"), '', "$index: check clean");
}
for my $case (
	[ 't_learned', 'SELECT count(*), sum(k) FROM t WHERE k BETWEEN 50000 AND 150000' ],
	[ 't_learned', 'SELECT count(*) FROM t WHERE k IS NULL' ],
	[ 't_learned', 'SELECT string_agg(k::text, \',\' ORDER BY k) FROM (SELECT k FROM t WHERE k > 99000 ORDER BY k LIMIT 50) s' ],
	[ 't_pair', 'SELECT count(*), sum(k), sum(v) FROM t WHERE d = 17 AND k BETWEEN 50000 AND 150000' ],
	[ 't_pair', 'SELECT count(*), sum(v) FROM t WHERE d IN (3, 4, 49) AND k < 120000' ],
	[ 't_pair', 'SELECT count(*), sum(v) FROM t WHERE d = 5 AND k IS NULL' ],
	[ 't_pair', 'SELECT count(*), sum(v) FROM t WHERE d IS NULL AND k > 1000' ],
	[ 't_pair', 'SELECT string_agg(d || \':\' || k, \',\' ORDER BY d, k) FROM (SELECT d, k FROM t WHERE d >= 48 ORDER BY d, k LIMIT 200) s' ])
{
	my ($index, $query) = @$case;
	my $seq = $node->safe_psql('postgres', "SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off; $query");
	my $settings = "SET enable_seqscan = off; SET enable_bitmapscan = off;";
	like($node->safe_psql('postgres', "$settings EXPLAIN (COSTS OFF) $query"), qr/using $index/, "planned on $index: $query");
	is($node->safe_psql('postgres', "$settings $query"), $seq, "index equals sequential scan: $query");
	my $bitmap = $node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_indexscan = off; SET enable_indexonlyscan = off; $query");
	is($bitmap, $seq, "bitmap scan equals sequential scan: $query");
}

$node->stop;
done_testing();
