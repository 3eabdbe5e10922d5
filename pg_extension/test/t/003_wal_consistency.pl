# The whole regression workload runs on a primary with wal_consistency_checking = 'generic' and a
# streaming standby: replay must reproduce every page exactly (a mismatch stops the standby).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "wal_consistency_checking = 'generic'\n");
$primary->start;
$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;

my $dir = dirname(__FILE__) . '/../sql';
# setup.sql defines the helpers the other files use.
my @files = sort { ($b =~ /setup\.sql$/) <=> ($a =~ /setup\.sql$/) || $a cmp $b } glob("$dir/*.sql");
ok(@files > 0, 'found the regression workload');
$primary->safe_psql('postgres', 'CREATE DATABASE regress');
$primary->safe_psql('regress', 'CREATE EXTENSION omendb');
for my $file (@files)
{
	# The workload's own errors (refusals it tests) are expected; only replay matters here.
	$primary->psql('regress', '', extra_params => [ '-f', $file ], on_error_stop => 0);
}
$primary->safe_psql('regress', 'CHECKPOINT');
$primary->wait_for_catchup($standby);
ok($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()') eq 't', 'standby still replaying');
my $log = slurp_file($standby->logfile);
unlike($log, qr/inconsistent page found|PANIC|FATAL:.*redo/, 'no replay inconsistency');

$standby->stop;
$primary->stop;
done_testing();
