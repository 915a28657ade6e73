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

# Both drivers at once, forced: the runs' lock is held across the minute
# 50 callbacks fall due, so that the cron job's run and the worker's run
# (woken for them: its interval is an hour here, and the lock timeout
# long) both start and wait for it together. Released, they run one after
# the other: the result is what one driver gives.
$node->append_conf('postgresql.conf', qq{
vicidial_callbacks.enabled = on
vicidial_callbacks.interval = 3600
vicidial_callbacks.lock_timeout = 600s
});
$node->reload;
ok($node->poll_query_until('postgres', 'SELECT next_wake IS NOT NULL FROM vicidial.worker_status'),
    'the worker is enabled again');
# Early enough in a minute that this minute's cron run is over and the
# next minute is well ahead.
ok($node->poll_query_until('postgres', q{SELECT extract(second FROM clock_timestamp()) BETWEEN 5 AND 35}),
    'early in a minute');
my $due = $node->safe_psql('postgres', q{SELECT date_trunc('minute', clock_timestamp()) + interval '1 minute'});
$node->safe_psql('postgres', qq{SELECT vicidial.callback_schedule(g, 'bob', '$due') FROM generate_series(2, 51) g});
# this minute's cron run is over before the lock is taken
ok($node->poll_query_until('postgres', q{
    SELECT count(*) = 0 FROM cron.job_run_details WHERE status IN ('starting', 'running')}),
    'no cron run is under way before the due minute');
my $holder = $node->background_psql('postgres', on_error_stop => 1);
$holder->query_safe('BEGIN; LOCK TABLE vicidial.hopper_run_lock IN EXCLUSIVE MODE');
ok($node->poll_query_until('postgres', qq{
    SELECT count(*) FILTER (WHERE a.query = 'SELECT vicidial.hopper_run()') = 1
           AND count(*) FILTER (WHERE a.query LIKE 'SELECT vicidial._worker_%') = 1
      FROM pg_locks l JOIN pg_stat_activity a USING (pid)
     WHERE l.relation = 'vicidial.hopper_run_lock'::regclass AND NOT l.granted AND a.xact_start >= '$due'}),
    'at the due minute, the cron job\'s run and the worker\'s both wait for the runs\' lock');
$holder->query_safe('COMMIT');
$holder->quit;
ok($node->poll_query_until('postgres', qq{
    SELECT count(*) FILTER (WHERE d.status = 'succeeded') = 1 AND count(*) FILTER (WHERE d.status <> 'succeeded') = 0
      FROM cron.job_run_details d JOIN cron.job j USING (jobid)
     WHERE j.jobname = 'vicidial-hopper' AND d.start_time >= '$due' AND d.start_time < '$due'::timestamptz + interval '1 minute'}),
    'the cron job\'s run of the due minute succeeded');
ok($node->poll_query_until('postgres', qq{
    SELECT count(*) >= 1 FROM vicidial.hopper_runs WHERE started_at >= '$due' AND error IS NULL}),
    'and so did the worker\'s');
is($node->safe_psql('postgres', q{
    SELECT count(*) FILTER (WHERE c.status = 'LIVE') || ' ' || count(DISTINCT h.lead_id) || ' ' || count(h.lead_id)
      FROM vicidial.vicidial_callbacks c LEFT JOIN vicidial.vicidial_hopper h USING (lead_id)
     WHERE c.lead_id BETWEEN 2 AND 51}),
    '50 50 50', 'with both drivers, every callback is LIVE and its lead in the hopper once');
is($node->safe_psql('postgres', q{
    SELECT count(*) FROM vicidial.vicidial_callback_log g JOIN vicidial.vicidial_callbacks c USING (callback_id)
     WHERE c.lead_id BETWEEN 2 AND 51 AND g.new_status = 'LIVE'}),
    '50', 'each went LIVE once');
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
