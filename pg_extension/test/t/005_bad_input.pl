# Random values of every key type, the extremes, NULLs and NaN, inserted and queried in random orders:
# every answer through the learned index equals the sequential scan's. OMENDB_RANDOM_ROUNDS scales it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rounds = $ENV{OMENDB_RANDOM_ROUNDS} || 3;
my $node = PostgreSQL::Test::Cluster->new('random');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION omendb');

# Each type: a SQL expression for a random value (fed setseed-driven random()), and its extremes.
my %types = (
	int2 => [ q{(random() * 65535 - 32768)::int2}, [ "'-32768'", "'32767'", "'0'", "'-1'" ] ],
	int4 => [ q{(random() * 4294967295 - 2147483648)::int4}, [ "'-2147483648'", "'2147483647'", "'0'" ] ],
	int8 => [ q{((random() - 0.5) * 1.8e19)::int8}, [ "'-9223372036854775808'", "'9223372036854775807'", "'0'" ] ],
	float4 => [ q{((random() - 0.5) * 1e30)::float4}, [ "'NaN'", "'Infinity'", "'-Infinity'", "'-0'", "'0'", "'3.4028235e38'", "'-3.4028235e38'", "'1.4e-45'" ] ],
	float8 => [ q{((random() - 0.5) * 1e300)::float8}, [ "'NaN'", "'Infinity'", "'-Infinity'", "'-0'", "'0'", "'1.7976931348623157e308'", "'-1.7976931348623157e308'", "'5e-324'" ] ],
	date => [ q{(date '2000-01-01' + (random() * 200000 - 100000)::int)}, [ "'infinity'", "'-infinity'", "'4713-01-01 BC'", "'5874897-12-31'" ] ],
	timestamp => [ q{(timestamp '2000-01-01' + (random() - 0.5) * interval '100000 days')}, [ "'infinity'", "'-infinity'", "'4713-01-01 00:00:00 BC'", "'294276-12-31 23:59:59.999999'" ] ],
	timestamptz => [ q{(timestamptz '2000-01-01 UTC' + (random() - 0.5) * interval '100000 days')}, [ "'infinity'", "'-infinity'", "'4713-01-01 00:00:00+00 BC'", "'294276-12-31 23:59:59.999999+00'" ] ],
);

my $seq = 'SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;';
for my $type (sort keys %types)
{
	my ($random, $extremes) = @{ $types{$type} };
	my $extreme_values = join(', ', map { "(${_}::$type)" } @$extremes);
	for my $round (1 .. $rounds)
	{
		my $seed = $round / ($rounds + 1);
		$node->safe_psql('postgres', qq{
			DROP TABLE IF EXISTS r;
			SELECT setseed($seed);
			CREATE TABLE r (k $type);
			INSERT INTO r SELECT CASE WHEN random() < 0.05 THEN NULL ELSE $random END FROM generate_series(1, 2000);
			INSERT INTO r VALUES $extreme_values, (NULL);
			CREATE INDEX r_learned ON r USING learned (k) WITH (epsilon = 4, hot_limit = 100);
			INSERT INTO r SELECT CASE WHEN random() < 0.05 THEN NULL ELSE $random END FROM generate_series(1, 500);
			INSERT INTO r VALUES $extreme_values;
			ANALYZE r;
		});
		# Probes: existing values, extremes and fresh random values, with every operator.
		my @probes = split /\n/, $node->safe_psql('postgres', qq{
			SELECT quote_literal(k::text) FROM (SELECT k FROM r WHERE k IS NOT NULL ORDER BY random() LIMIT 8) s
			UNION ALL SELECT quote_literal(($random)::text) FROM generate_series(1, 4)});
		push @probes, @$extremes;
		# Every operator against every probe, answered three ways in one session each; the index changes
		# (deletes, inserts, VACUUM, merge) between the batches.
		my $text = $type =~ /float/ ? "coalesce((k + 0)::text, 'null')" : "coalesce(k::text, 'null')";
		my @queries = ('SELECT count(*) FROM r WHERE k IS NULL', 'SELECT count(*) FROM r WHERE k IS NOT NULL',
			"SELECT md5(string_agg($text, ',')) FROM (SELECT k FROM r ORDER BY k) s",
			"SELECT md5(string_agg($text, ',')) FROM (SELECT k FROM r ORDER BY k DESC) s");
		for my $probe (@probes)
		{
			push @queries, map { "SELECT count(*), count(DISTINCT k) FROM r WHERE k $_ ${probe}::$type" } ('=', '<', '<=', '>', '>=');
		}
		my $batch = join('', map { "$_;\n" } @queries);
		my $mismatches = 0;
		for my $change (1 .. 3)
		{
			my $expected = $node->safe_psql('postgres', "$seq $batch");
			my $index = $node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off; $batch");
			my $bitmap = $node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_indexscan = off; $batch");
			$mismatches++ if $index ne $expected;
			$mismatches++ if $bitmap ne $expected;
			$node->safe_psql('postgres', qq{DELETE FROM r WHERE ctid IN (SELECT ctid FROM r ORDER BY random() LIMIT 50);
				INSERT INTO r SELECT $random FROM generate_series(1, 50); INSERT INTO r VALUES $extreme_values, (NULL);
				VACUUM r; SELECT learned_merge('r_learned')});
		}
		is($mismatches, 0, "$type round $round: every index answer equals the sequential scan");
		is($node->safe_psql('postgres', q{SELECT learned_index_check('r_learned', true)}), '', "$type round $round: check clean");
	}
}

$node->stop;
done_testing();
