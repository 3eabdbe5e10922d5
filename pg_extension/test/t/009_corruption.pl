# Damaged index pages. Each trial builds fresh learned indexes (a cold run of packed and plain groups,
# NULLs, hot pages listed in the directory and a tail; PGM or RMI), stops the server, flips random bytes
# of one random page of one index (seeded by OMENDB_CORRUPT_SEED; OMENDB_CORRUPT_TRIALS trials), starts
# it and runs scans of every kind, inserts, deletes, VACUUM, a merge and the check. Every statement either
# succeeds, a query with the sequential scan's answer, or fails with an error; the server never restarts.
# Bytes are flipped in what the extension and WAL write (the page header past its LSN and checksum, the
# contents up to pd_lower, the special space), not in the hole past pd_lower, where hint bits live as
# unprotected as btree's LP_DEAD bits in a cluster without data checksums.
#
# Then an index whose metapage says it was written in the previous layout version (5) is refused by every
# path with the REINDEX hint, and REINDEX makes it usable again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $trials = $ENV{OMENDB_CORRUPT_TRIALS} || 24;
my $seed = $ENV{OMENDB_CORRUPT_SEED} || 20261202;
srand($seed);
note("seed $seed, $trials trials");

my $node = PostgreSQL::Test::Cluster->new('corruption');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\nrestart_after_crash = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION omendb');
my $restarts = 0;

sub setup
{
	my ($model) = @_;
	$node->safe_psql('postgres', qq{
		DROP TABLE IF EXISTS c;
		CREATE TABLE c (k int8, pad text) WITH (autovacuum_enabled = false);
		INSERT INTO c SELECT g, 'p' FROM generate_series(1, 6000) g;
		INSERT INTO c SELECT (g * 7919) % 100000 + 100000, repeat('q', 300) FROM generate_series(1, 3000) g;
		INSERT INTO c SELECT NULL, 'n' FROM generate_series(1, 40) g;
		CREATE INDEX c_k ON c USING learned (k) WITH (model = '$model', hot_limit = 1000000);
		INSERT INTO c SELECT (g * 104729) % 300000, 'h' FROM generate_series(1, 2500) g;
		INSERT INTO c SELECT NULL, 'hn' FROM generate_series(1, 10) g;
		DROP TABLE IF EXISTS cref;
		CREATE TABLE cref AS SELECT * FROM c;
		CHECKPOINT;
	});
}

# The queries an index answers, each as the same query answers on cref, the table's copy without an
# index (the planner reads the damaged index's metapage for every query on c, so c itself cannot be the
# oracle: the query may fail there too), which every statement that succeeds on c changes alike.
my @queries = (
	'SELECT count(*), sum(k) FROM c WHERE k BETWEEN 100 AND 5000',
	'SELECT count(*), sum(k) FROM c WHERE k >= 150000',
	'SELECT k FROM c WHERE k = 4242 OR k = 123456 ORDER BY k',
	'SELECT count(*) FROM c WHERE k IS NULL',
	'SELECT k FROM c WHERE k IS NOT NULL ORDER BY k DESC LIMIT 5',
	'SELECT count(*) FROM c WHERE k = ANY (ARRAY[1, 77, 250000, 299999])',
);
my %plans = (
	index => 'SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;',
	'index-only' => 'SET enable_seqscan = off; SET enable_bitmapscan = off;',
	bitmap => 'SET enable_seqscan = off; SET enable_indexscan = off; SET enable_indexonlyscan = off;',
);

my ($statements, $errors, $wrong, $lost) = (0, 0, 0, 0);

# Runs sql; an error is an acceptable outcome, a lost connection is not.
sub attempt
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql);
	$statements++;
	if ($ret != 0)
	{
		$errors++;
		if ($err !~ /ERROR:/ || $err =~ /server closed the connection|terminated abnormally/)
		{
			$lost++;
			diag("not an error: $err");
		}
		return undef;
	}
	return $out;
}

sub check_queries
{
	my ($label) = @_;
	for my $query (@queries)
	{
		(my $reference = $query) =~ s/FROM c /FROM cref /;
		my $truth = $node->safe_psql('postgres', $reference);
		for my $plan (sort keys %plans)
		{
			my $answer = attempt("$plans{$plan} $query");
			next unless defined $answer;
			if ($answer ne $truth)
			{
				$wrong++;
				diag("$label, $plan scan: '$query' gave '$answer', the table '$truth'");
			}
		}
	}
}

# Flips 1..4 bytes of one random page of the index file at path.
sub damage
{
	my ($path) = @_;
	my $size = -s $path;
	my $pages = int($size / 8192);
	my $page = int(rand($pages));
	open(my $fh, '+<:raw', $path) or die "open $path: $!";
	sysseek($fh, $page * 8192, 0);
	sysread($fh, my $block, 8192) == 8192 or die "read $path";
	my ($lower, $upper) = unpack('v v', substr($block, 12, 4));
	my @flips;
	for (1 .. 1 + int(rand(4)))
	{
		my $offset;
		do { $offset = 10 + int(rand(8192 - 10)) } while ($lower < $upper && $offset >= $lower && $offset < $upper);
		my $mask = 1 + int(rand(255));
		substr($block, $offset, 1) = chr(ord(substr($block, $offset, 1)) ^ $mask);
		push @flips, sprintf('%d^%02x', $offset, $mask);
	}
	sysseek($fh, $page * 8192, 0);
	syswrite($fh, $block) == 8192 or die "write $path";
	close($fh);
	return "page $page of $pages: " . join(' ', @flips);
}

for my $trial (1 .. $trials)
{
	setup($trial % 3 == 0 ? 'rmi' : 'pgm');
	my $path = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('c_k')");
	$node->stop('fast');
	my $where = damage($path);
	$node->start;
	my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
	my $label = "trial $trial ($where)";
	note($label);
	check_queries("$label, after the damage");
	for my $change ('INSERT INTO c SELECT g, \'i\' FROM generate_series(400000, 401500) g',
		'INSERT INTO c VALUES (NULL, \'i\'), (50, \'i\')', 'DELETE FROM c WHERE k BETWEEN 2000 AND 2600')
	{
		(my $reference = $change) =~ s/ c / cref /;
		$node->safe_psql('postgres', $reference) if defined attempt($change);
	}
	attempt('VACUUM c');
	check_queries("$label, after inserts and VACUUM");
	attempt("SELECT learned_merge('c_k')");
	check_queries("$label, after a merge");
	attempt("SELECT learned_index_check('c_k', true)");
	attempt("SELECT * FROM learned_index_info('c_k')");
	attempt("SELECT * FROM learned_page_usage('c_k')");
	$restarts++ if $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()') ne $started;
}
is($wrong, 0, "$statements statements on damaged indexes ($errors refused with an error): no wrong answer");
is($lost, 0, 'every refusal is an error, not a lost connection');
is($restarts, 0, 'the server never restarted');
unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC/, 'no backend crashed');

# CRC-32C of `data` continued from `crc`, without the final inversion (as the pages store it).
sub crc32c
{
	my ($crc, $data) = @_;
	for my $byte (unpack('C*', $data))
	{
		$crc ^= $byte;
		$crc = ($crc >> 1) ^ (($crc & 1) ? 0x82F63B78 : 0) for 1 .. 8;
	}
	return $crc;
}

# Writes layout version `version` into the metapage of `index` (the server stopped meanwhile); with
# `reseal`, the page checksum is made to match, as if that version had written the page.
sub set_layout_version
{
	my ($index, $version, $reseal) = @_;
	my $path = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$index')");
	$node->stop('fast');
	open(my $fh, '+<:raw', $path) or die "open $path: $!";
	sysread($fh, my $page, 8192) == 8192 or die 'read';
	my $was = unpack('V', substr($page, 24 + 4, 4));
	substr($page, 24 + 4, 4) = pack('V', $version);	# after the page header and the magic
	# The metapage ends with the hot directory before version 9, then the heap model's fields: 16 bytes
	# in version 9, 24 (with heap_last_key) in version 10, 32 (with heap_runs) from version 11.
	my $heap_fields = sub { $_[0] <= 8 ? 0 : $_[0] == 9 ? 16 : $_[0] == 10 ? 24 : 32 };
	substr($page, 12, 2) = pack('v', unpack('v', substr($page, 12, 2)) - ($heap_fields->($was) - $heap_fields->($version)))
	  if $heap_fields->($was) > $heap_fields->($version);
	if ($reseal)
	{
		# The special space's fields before `checksum` (36 bytes), then the contents up to pd_lower.
		my ($lower, $upper, $special) = unpack('v v v', substr($page, 12, 6));
		my $crc = crc32c(0xFFFFFFFF, substr($page, $special, 36));
		$crc = crc32c($crc, substr($page, 24, $lower - 24));
		substr($page, $special + 36, 4) = pack('V', $crc);
	}
	sysseek($fh, 0, 0);
	syswrite($fh, $page) == 8192 or die 'write';
	close($fh);
	$node->start;
}

# Layout 7 differs from 8 only in PGM models (their 16-byte lines are no longer read), layout 6 also in
# float keys: their RMI integer indexes read on; PGM and float indexes are refused.
setup('rmi');
$node->safe_psql('postgres', "CREATE TABLE f (x float8); INSERT INTO f SELECT i / 7.0 FROM generate_series(1, 1000) i;
	CREATE INDEX f_x ON f USING learned (x) WITH (model = 'rmi')");
set_layout_version('c_k', 6, 1);
set_layout_version('f_x', 6, 1);
is($node->safe_psql('postgres', "$plans{index} SELECT count(*) FROM c WHERE k < 100"), '99', 'an int8 RMI index of layout 6 reads on');
my ($f_ret, $f_out, $f_err) = $node->psql('postgres', "$plans{index} SELECT count(*) FROM f WHERE x < 1");
like($f_err, qr/has layout version 6, this build reads \d+.*HINT:  Rebuild it with REINDEX INDEX f_x/s,
	'a float8 index of layout 6 is refused with the REINDEX hint');
set_layout_version('f_x', 7, 1);
is($node->safe_psql('postgres', "$plans{index} SELECT count(*) FROM f WHERE x < 1"), '6', 'a float8 RMI index of layout 7 reads on');
$node->safe_psql('postgres', 'DROP TABLE f');
setup('pgm');
set_layout_version('c_k', 7, 1);
my ($p_ret, $p_out, $p_err) = $node->psql('postgres', "$plans{index} SELECT count(*) FROM c WHERE k < 100");
like($p_err, qr/has layout version 7, this build reads \d+.*HINT:  Rebuild it with REINDEX INDEX c_k/s,
	'a PGM index of layout 7 is refused with the REINDEX hint');
$node->safe_psql('postgres', 'REINDEX INDEX c_k');
# Layout 8 lacks only the heap model's fields at the metapage's end: it reads on, in the sorted layout.
set_layout_version('c_k', 8, 1);
is($node->safe_psql('postgres', "$plans{index} SELECT count(*) FROM c WHERE k < 100"), '99', 'a PGM index of layout 8 reads on');
is($node->safe_psql('postgres', "SELECT learned_index_check('c_k', true)"), '', 'a PGM index of layout 8 checks clean');
$node->safe_psql('postgres', 'REINDEX INDEX c_k');
# A heap-layout index of layout 9 (no heap_last_key) reads on; its merges keep its heap model as it was,
# the rows appended since staying explicit entries.
$node->safe_psql('postgres', "CREATE TABLE h (k int8); INSERT INTO h SELECT generate_series(1, 20000);
	CREATE INDEX h_k ON h USING learned (k) WITH (layout = 'heap')");
set_layout_version('h_k', 9, 1);
$node->safe_psql('postgres', "INSERT INTO h SELECT generate_series(20001, 30000); SELECT learned_merge('h_k')");
is($node->safe_psql('postgres', "$plans{bitmap} SELECT count(*) FROM h WHERE k > 19990 AND k <= 20010"), '20',
	'a heap index of layout 9 reads on');
is($node->safe_psql('postgres', "SELECT covered_rows, cold_entries FROM learned_index_info('h_k')"), '20000|10000',
	'its merge keeps the model, the appended rows explicit');
is($node->safe_psql('postgres', "SELECT learned_index_check('h_k', true)"), '', 'a heap index of layout 9 checks clean');
$node->safe_psql('postgres', 'REINDEX INDEX h_k');
$node->safe_psql('postgres', "INSERT INTO h SELECT generate_series(30001, 40000); SELECT learned_merge('h_k')");
is($node->safe_psql('postgres', "SELECT covered_rows, cold_entries FROM learned_index_info('h_k')"), '40000|0',
	'rebuilt, its merges extend the model by the appended rows');
# Layout 10 stores its one run as 11 does: it reads on, and the merge that adds a run (rows in key order
# behind the model's, a backfill) makes it layout 11. Set back to 10, its two runs are refused.
set_layout_version('h_k', 10, 1);
is($node->safe_psql('postgres', "$plans{bitmap} SELECT count(*) FROM h WHERE k > 19990 AND k <= 20010"), '20',
	'a heap index of layout 10 reads on');
$node->safe_psql('postgres', "INSERT INTO h SELECT generate_series(-3000, -1); SELECT learned_merge('h_k')");
is($node->safe_psql('postgres', "SELECT covered_rows, cold_entries, heap_runs FROM learned_index_info('h_k')"), '43000|0|2',
	'its merge adds a run for the backfill');
is($node->safe_psql('postgres', "$plans{bitmap} SELECT count(*) FROM h WHERE k < 10"), '3009', 'both runs answer');
is($node->safe_psql('postgres', "SELECT learned_index_check('h_k', true)"), '', 'the index of two runs checks clean');
set_layout_version('h_k', 10, 1);
my ($h_ret, $h_out, $h_err) = $node->psql('postgres', "$plans{bitmap} SELECT count(*) FROM h WHERE k < 10");
like($h_err, qr/heap model load.*HINT:/s, 'a layout-10 metapage naming two runs is refused as corrupt');
$node->safe_psql('postgres', 'DROP TABLE h');

# An index of an older layout version: refused everywhere with the REINDEX hint.
set_layout_version('c_k', 5);
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
for my $sql ("$plans{index} SELECT count(*) FROM c WHERE k < 100", "$plans{bitmap} SELECT count(*) FROM c WHERE k < 100",
	"INSERT INTO c VALUES (1, 'x')", 'VACUUM c', "SELECT learned_merge('c_k')", "SELECT * FROM learned_index_info('c_k')",
	"SELECT learned_index_check('c_k')", "SELECT * FROM learned_explain_lookup('c_k', 5::int8)")
{
	my ($ret, $out, $err) = $node->psql('postgres', $sql);
	like($err, qr/has layout version 5, this build reads \d+.*HINT:  Rebuild it with REINDEX INDEX c_k/s,
		"layout 5 refused with the REINDEX hint: $sql");
}
$node->safe_psql('postgres', 'REINDEX INDEX c_k');
is($node->safe_psql('postgres', "$plans{index} SELECT count(*) FROM c WHERE k < 100"), '99', 'REINDEX makes it usable');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started, 'the server never restarted');

$node->stop;
done_testing();
