# pgbench runs inserts, deletes, point and range lookups and ORDER BY LIMIT from several clients while
# VACUUM and learned_merge loop; then the index checks clean and answers as the sequential scan does.
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
	CREATE TABLE t (k int8, v int);
	INSERT INTO t SELECT g, g FROM generate_series(1, 100000) g;
	CREATE INDEX t_learned ON t USING learned (k) WITH (hot_limit = 500);
	ANALYZE t;
});

my %scripts = (
	'insert' => q{\set k random(1, 200000)
INSERT INTO t VALUES (:k, 1), (:k + 1, 2), (NULL, 3);
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
});
my %files = map { ("$_\@1" => $scripts{$_}) } keys %scripts;

my $maintenance = IPC::Run::start(
	[ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1' ],
	'<', \(join '', map { "VACUUM t; SELECT learned_merge('t_learned'); SELECT pg_sleep(0.2);\n" } 1 .. 5 * $seconds),
	'>', \my $maint_out, '2>', \my $maint_err,
	IPC::Run::timeout($seconds * 10 + 60));

$node->pgbench("-n -c 4 -j 2 -T $seconds", 0, [qr/processed: [1-9]/], [qr/^$/], 'mixed workload runs without errors', \%files);
$maintenance->finish;
is($maint_err, '', 'VACUUM and learned_merge loop without errors');

is($node->safe_psql('postgres', q{SELECT learned_index_check('t_learned', true)}), '', 'check clean');
for my $query (
	'SELECT count(*), sum(k) FROM t WHERE k BETWEEN 50000 AND 150000',
	'SELECT count(*) FROM t WHERE k IS NULL',
	'SELECT string_agg(k::text, \',\' ORDER BY k) FROM (SELECT k FROM t WHERE k > 99000 ORDER BY k LIMIT 50) s')
{
	my $seq = $node->safe_psql('postgres', "SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off; $query");
	my $idx = $node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; $query");
	is($idx, $seq, "index equals sequential scan: $query");
}

$node->stop;
done_testing();
