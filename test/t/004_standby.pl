# A streaming standby runs no worker while in recovery; once promoted, its
# worker starts and serves the callbacks that fell due meanwhile.
use strict;
use warnings;
use lib 'test';
use CallbackCluster;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = callback_node('primary', init => { allows_streaming => 1 },
    conf => "vicidial_callbacks.interval = 60s\n");
seed_call_center($primary, 'postgres');
$primary->backup('base');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# The primary's worker is switched off (the standby's settings, copied
# before, keep it on), so that nothing but the promoted standby can take
# the callbacks, however slow the steps between are. Due in 2 s: they fall
# due while the primary is gone and before promotion.
$primary->append_conf('postgresql.conf', "vicidial_callbacks.enabled = off\n");
$primary->reload;
ok($primary->poll_query_until('postgres', 'SELECT next_wake IS NULL FROM vicidial.worker_status'),
    'the primary\'s worker plans no run');
$primary->safe_psql('postgres', q{
    SELECT vicidial.callback_schedule(1, 'bob', clock_timestamp() + interval '2 seconds', 'ANYONE');
    SELECT vicidial.callback_schedule(2, 'ann', clock_timestamp() + interval '2 seconds', 'USERONLY');
});
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
is($standby->safe_psql('postgres',
    q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vicidial_callbacks worker'}),
    '0', 'no worker runs on a standby');
$primary->stop;

ok($standby->poll_query_until('postgres',
    q{SELECT clock_timestamp() > max(callback_time) FROM vicidial.vicidial_callbacks}),
    'the callbacks fall due while the standby is still in recovery');
is($standby->safe_psql('postgres', q{SELECT string_agg(status, ',' ORDER BY lead_id) FROM vicidial.vicidial_callbacks}),
    'ACTIVE,ACTIVE', 'and are still ACTIVE when it is promoted');

$standby->promote;
ok($standby->poll_query_until('postgres',
    q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vicidial_callbacks worker'}),
    'after promotion the worker runs');
ok($standby->poll_query_until('postgres',
    q{SELECT count(*) = 2 FROM vicidial.vicidial_callbacks WHERE status = 'LIVE'}),
    'and serves the callbacks that fell due');
is($standby->safe_psql('postgres', q{
    SELECT string_agg(status, ',' ORDER BY lead_id) FROM vicidial.vicidial_list WHERE lead_id IN (1, 2)}),
    'CALLBK,CBHOLD', 'the ANYONE lead is released, the USERONLY lead untouched');

$standby->stop;
done_testing();
