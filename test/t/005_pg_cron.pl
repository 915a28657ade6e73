# pg_cron as the alternative driver: with the worker disabled, the cron job
# from the README drives hopper_run; with both on, runs serialize and the
# result is what one driver gives.
use strict;
use warnings;
use lib 'test';
use CallbackCluster;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = callback_node('cron', preload => ['pg_cron'], conf => q{
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
vicidial_callbacks.enabled = off
});
seed_call_center($node, 'postgres', 60);
$node->safe_psql('postgres', q{
    CREATE EXTENSION pg_cron;
    SELECT cron.schedule('vicidial-hopper', '* * * * *', 'SELECT vicidial.hopper_run()');
    SELECT vicidial.callback_schedule(1, 'bob', vicidial._half_hour_start(now()), 'ANYONE');
    -- the logs' monthly job as the README schedules it, then made to run
    -- every minute so that this test sees it run
    SELECT cron.alter_job(cron.schedule('log-months', '0 3 1 * *', 'SELECT vicidial.log_partitions_add()'),
                          schedule => '* * * * *');
});

# pg_cron runs once a minute: the generous poll covers it.
ok($node->poll_query_until('postgres', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 1}),
    'pg_cron drives hopper_run with the worker disabled');
is($node->safe_psql('postgres', q{SELECT count(*) FROM vicidial.hopper_runs}),
    '0', 'the disabled worker ran nothing');
is($node->safe_psql('postgres', q{SELECT count(*) > 0 FROM cron.job_run_details WHERE status = 'succeeded'}),
    't', 'the cron job succeeded');
ok($node->poll_query_until('postgres', q{
        SELECT count(*) = 2 FROM pg_inherits
         WHERE inhparent IN ('vicidial.vicidial_log'::regclass, 'vicidial.vicidial_callback_log'::regclass)
           AND inhrelid::regclass::text ~ ('_' || to_char((now() + interval '2 months') AT TIME ZONE 'UTC', 'YYYY_MM') || '$')}),
    'the logs\' monthly job from the README adds their months under pg_cron');
$node->safe_psql('postgres', q{SELECT cron.unschedule('log-months')});

# Both drivers: 50 callbacks due at the start of the next minute, when the
# cron job fires and the worker wakes for them.
$node->append_conf('postgresql.conf', "vicidial_callbacks.enabled = on\n");
$node->reload;
ok($node->poll_query_until('postgres', 'SELECT next_wake IS NOT NULL FROM vicidial.worker_status'),
    'the worker is enabled again');
my $due = $node->safe_psql('postgres', q{SELECT date_trunc('minute', clock_timestamp()) + interval '1 minute'});
$node->safe_psql('postgres', qq{SELECT vicidial.callback_schedule(g, 'bob', '$due') FROM generate_series(2, 51) g});
ok($node->poll_query_until('postgres', qq{
    SELECT count(*) > 0 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
     WHERE j.jobname = 'vicidial-hopper' AND d.status = 'succeeded' AND d.start_time >= '$due'}),
    'the cron job ran at the due minute');
is($node->safe_psql('postgres', q{
    SELECT count(*) FILTER (WHERE c.status = 'LIVE') || ' ' || count(DISTINCT h.lead_id) || ' ' || count(h.lead_id)
      FROM vicidial.vicidial_callbacks c LEFT JOIN vicidial.vicidial_hopper h USING (lead_id)
     WHERE c.lead_id BETWEEN 2 AND 51}),
    '50 50 50', 'with both drivers, every callback is LIVE and its lead in the hopper once');
# Two drivers never collide: neither sees an error (a second flip of a
# LIVE callback, a duplicate hopper row) while the other runs.
is($node->safe_psql('postgres', qq{
    SELECT count(*) FROM vicidial.hopper_runs WHERE error IS NOT NULL}), '0', 'no worker run failed');
# (a run of this minute may still be starting or running: only a failed
# one counts, with its message to say why)
is($node->safe_psql('postgres', qq{
    SELECT count(*) || coalesce(': ' || string_agg(return_message, '; '), '')
      FROM cron.job_run_details WHERE status = 'failed'}), '0', 'no cron run failed');
is($node->safe_psql('postgres', 'SELECT count(*) FROM vicidial.invariant_violations()'), '0', 'the invariants hold');

$node->stop;
done_testing();
