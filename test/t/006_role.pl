# vicidial_callbacks.role: the runs execute as an unprivileged role that has
# EXECUTE on the worker's three functions and nothing else. A database named
# twice in vicidial_callbacks.database still gets one worker.
use strict;
use warnings;
use lib 'test';
use CallbackCluster;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = callback_node('role', conf => qq{
vicidial_callbacks.database = 'postgres, postgres'
vicidial_callbacks.role = 'dialer_worker'
vicidial_callbacks.interval = 60s
track_functions = 'all'
});
seed_call_center($node, 'postgres');
# The worker retries until its role exists.
$node->safe_psql('postgres', q{
    CREATE ROLE dialer_worker LOGIN;
    GRANT USAGE ON SCHEMA vicidial TO dialer_worker;
    GRANT EXECUTE ON FUNCTION vicidial._worker_run(integer), vicidial._next_due(),
        vicidial._record_failed_run(timestamptz, text, integer) TO dialer_worker;
});
ok($node->poll_query_until('postgres', q{
    SELECT count(*) = 1 FROM pg_stat_activity
     WHERE backend_type = 'vicidial_callbacks worker' AND usename = 'dialer_worker'}),
    'one worker, connected as the configured role');
is($node->safe_psql('postgres', q{SELECT has_table_privilege('dialer_worker', 'vicidial.vicidial_callbacks', 'SELECT')}),
    'f', 'the role has no right on the tables');

$node->safe_psql('postgres', q{SELECT vicidial.callback_schedule(1, 'bob', vicidial._half_hour_start(now()))});
ok($node->poll_query_until('postgres', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 1}),
    'its runs take due callbacks');
is($node->safe_psql('postgres', q{SELECT count(*) > 0 AND bool_and(error IS NULL) FROM vicidial.hopper_runs}),
    't', 'and are recorded without error');
# Granted 1.1's three functions only, the worker runs in one transaction;
# granted the two parts as well, it sweeps, commits, then fills.
my $calls = q{
    SELECT coalesce(sum(calls) FILTER (WHERE funcname = '_worker_run'), 0) > 0,
           coalesce(sum(calls) FILTER (WHERE funcname = '_worker_sweep'), 0) > 0
      FROM pg_stat_user_functions};
is($node->safe_psql('postgres', $calls), 't|f', "with 1.1's grants, runs in one transaction");
$node->safe_psql('postgres', q{
    GRANT EXECUTE ON FUNCTION vicidial._worker_sweep(integer), vicidial._worker_fill(bigint) TO dialer_worker;
    SELECT vicidial.callback_schedule(2, 'bob', vicidial._half_hour_start(now()));
});
ok($node->poll_query_until('postgres', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 2}),
    'granted the two parts, its runs take due callbacks');
ok($node->poll_query_until('postgres', q{
    SELECT coalesce(sum(calls), 0) > 0 FROM pg_stat_user_functions WHERE funcname = '_worker_sweep'}),
    'in two transactions');
is($node->safe_psql('postgres', q{
    SELECT went_live || ' ' || (error IS NULL) FROM vicidial.hopper_runs ORDER BY run_id DESC LIMIT 1}),
    '1 true', 'each recorded once, whole');

$node->stop;
done_testing();
