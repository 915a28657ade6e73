# The background worker keeps the callback flow moving on its own: due
# callbacks go LIVE with nobody calling hopper_run, on time rather than at
# the next interval; settings reload on SIGHUP; every served database is
# served, one without the extension waits for it; the history stays bounded.
use strict;
use warnings;
use lib 'test';
use CallbackCluster;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = callback_node('worker', conf => qq{
vicidial_callbacks.database = 'postgres, second, plain'
vicidial_callbacks.interval = 60s
log_error_verbosity = verbose
});
$node->safe_psql('postgres', 'CREATE DATABASE second; CREATE DATABASE plain;');
seed_call_center($node, 'postgres');
seed_call_center($node, 'second');

ok($node->poll_query_until('postgres', q{
    SELECT count(*) = 3 FROM pg_stat_activity WHERE backend_type = 'vicidial_callbacks worker'}),
    'one worker per served database shows in pg_stat_activity');

# Due now: an ANYONE and a USERONLY callback, with nobody running the hopper.
$node->safe_psql('postgres', q{
    SELECT vicidial.callback_schedule(1, 'bob', vicidial._half_hour_start(now()), 'ANYONE');
    SELECT vicidial.callback_schedule(2, 'ann', vicidial._half_hour_start(now()), 'USERONLY');
});
ok($node->poll_query_until('postgres', q{
    SELECT count(*) = 2 FROM vicidial.vicidial_callbacks WHERE status = 'LIVE'}),
    'due callbacks go LIVE without anyone calling hopper_run');
is($node->safe_psql('postgres', q{
    SELECT string_agg(l.lead_id || ':' || l.status || ':' || l.called_since_last_reset || ':' ||
                      coalesce(h.priority || h.source, 'none'), ' ' ORDER BY l.lead_id)
      FROM vicidial.vicidial_list l LEFT JOIN vicidial.vicidial_hopper h USING (lead_id) WHERE l.lead_id IN (1, 2)}),
    '1:CALLBK:N:50C 2:CBHOLD:N:none',
    'ANYONE lead is CALLBK in the hopper at 50/C; the USERONLY lead is untouched');

# The early wake: 3 s ahead with a 60 s interval.
$node->safe_psql('postgres',
    q{SELECT vicidial.callback_schedule(3, 'bob', clock_timestamp() + interval '3 seconds')});
ok($node->poll_query_until('postgres', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 3}),
    'a callback 3 s ahead goes LIVE');
my $lateness = $node->safe_psql('postgres', q{
    SELECT extract(epoch FROM modify_date - callback_time) FROM vicidial.vicidial_callbacks WHERE lead_id = 3});
cmp_ok($lateness, '>=', 0, 'not before its time');
cmp_ok($lateness, '<', 10, "within seconds of its time, not at the next 60 s interval ($lateness s late)");
# The early wake after a change of time: moved from tomorrow to 3 s ahead.
$node->safe_psql('postgres', q{SELECT vicidial.callback_schedule(7, 'bob', now() + interval '1 day')});
$node->safe_psql('postgres', q{
    SELECT vicidial.callback_modify(c.callback_id, callback_time => clock_timestamp() + interval '3 seconds')
      FROM vicidial.vicidial_callbacks c WHERE c.lead_id = 7});
ok($node->poll_query_until('postgres', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 7}),
    'a callback moved to 3 s ahead goes LIVE');
$lateness = $node->safe_psql('postgres', q{
    SELECT extract(epoch FROM modify_date - callback_time) FROM vicidial.vicidial_callbacks WHERE lead_id = 7});
cmp_ok($lateness, '<', 10, "a moved callback is on time too ($lateness s late)");
like($node->safe_psql('postgres', 'SELECT last_run_ok, next_wake IS NOT NULL, workers FROM vicidial.worker_status'),
    qr/^t\|t\|1$/, 'worker_status shows the last run, the next wake and the worker');

# SIGHUP: a shorter interval takes effect without a restart.
my $runs = $node->safe_psql('postgres', 'SELECT max(run_id) FROM vicidial.hopper_runs');
$node->append_conf('postgresql.conf', "vicidial_callbacks.interval = 1s\nvicidial_callbacks.history_rows = 10\n");
$node->reload;
ok($node->poll_query_until('postgres', "SELECT max(run_id) >= $runs + 15 FROM vicidial.hopper_runs"),
    'a reloaded 1 s interval makes the worker run every second');
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM vicidial.hopper_runs'), '<=', 10,
    'the run history stays within vicidial_callbacks.history_rows');

# A failing run is logged and recorded, and the worker carries on.
$node->safe_psql('postgres', q{
    CREATE FUNCTION public.hopper_broken() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'hopper out of order' USING DETAIL = 'being repaired', HINT = 'call back later'; END $$;
    CREATE TRIGGER hopper_broken BEFORE INSERT ON vicidial.vicidial_hopper
        FOR EACH ROW EXECUTE FUNCTION public.hopper_broken();
    SELECT vicidial.callback_schedule(6, 'bob', vicidial._half_hour_start(now()));
});
ok($node->poll_query_until('postgres',
    q{SELECT last_run_ok = false AND last_error LIKE '%hopper out of order%' FROM vicidial.worker_status}),
    'a failed run is recorded with its error');
ok($node->log_contains('P0001: vicidial_callbacks: hopper run failed: hopper out of order'),
    'and logged with its SQLSTATE');
ok($node->log_contains('DETAIL:  being repaired'), 'its detail');
ok($node->log_contains('HINT:  call back later'), 'its hint');
ok($node->log_contains('CONTEXT:  PL/pgSQL function public.hopper_broken\(\) line 2 at RAISE'), 'and its context');
is($node->safe_psql('postgres', 'SELECT status FROM vicidial.vicidial_callbacks WHERE lead_id = 6'),
    'ACTIVE', 'the failed run changed nothing');
$node->safe_psql('postgres', 'DROP TRIGGER hopper_broken ON vicidial.vicidial_hopper');
ok($node->poll_query_until('postgres', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 6}),
    'the worker carries on and takes the callback once the fault is gone');

# SIGHUP: enabled = off idles the worker; on again, it catches up.
$node->append_conf('postgresql.conf', "vicidial_callbacks.enabled = off\n");
$node->reload;
ok($node->poll_query_until('postgres', 'SELECT workers = 1 AND next_wake IS NULL FROM vicidial.worker_status'),
    'disabled, the worker (still attached) plans no run');
$node->safe_psql('postgres', q{SELECT vicidial.callback_schedule(4, 'bob', vicidial._half_hour_start(now()))});
# The one deliberate wait: three 1 s intervals in which nothing may happen.
sleep 3;
is($node->safe_psql('postgres', 'SELECT status FROM vicidial.vicidial_callbacks WHERE lead_id = 4'),
    'ACTIVE', 'a disabled worker leaves a due callback alone');
$node->append_conf('postgresql.conf', "vicidial_callbacks.enabled = on\n");
$node->reload;
ok($node->poll_query_until('postgres', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 4}),
    'enabled again, the worker takes the due callback');

# The second database is served too; the one without the extension waits.
$node->safe_psql('second', q{SELECT vicidial.callback_schedule(1, 'bob', vicidial._half_hour_start(now()))});
ok($node->poll_query_until('second', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 1}),
    'the second database is served');
my @missing_lines = slurp_file($node->logfile) =~ /extension not installed in database "plain"/g;
is(scalar @missing_lines, 1, 'the database without the extension is logged once, over many intervals');
seed_call_center($node, 'plain');
$node->safe_psql('plain', q{SELECT vicidial.callback_schedule(1, 'bob', vicidial._half_hour_start(now()))});
ok($node->poll_query_until('plain', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 1}),
    'once the extension is created there, that database is served as well');

# pg_terminate_backend: the worker exits and the postmaster starts it again.
my $pid = $node->safe_psql('postgres', q{
    SELECT pid FROM pg_stat_activity WHERE backend_type = 'vicidial_callbacks worker' AND datname = 'postgres'});
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok($node->poll_query_until('postgres', qq{
    SELECT count(*) = 1 FROM pg_stat_activity
     WHERE backend_type = 'vicidial_callbacks worker' AND datname = 'postgres' AND pid <> $pid}),
    'a terminated worker is restarted');

# DROP EXTENSION and CREATE EXTENSION under a running worker.
$node->safe_psql('postgres', 'DROP EXTENSION vicidial_callbacks CASCADE');
seed_call_center($node, 'postgres');
$node->safe_psql('postgres', q{SELECT vicidial.callback_schedule(5, 'bob', vicidial._half_hour_start(now()))});
ok($node->poll_query_until('postgres', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 5}),
    'the worker survives DROP and CREATE EXTENSION');

# A run that comes sooner than vicidial_callbacks.fill_interval after the
# last fill sweeps and leaves the fill: with an hour's interval, the runs
# (every second here) turn a due callback LIVE and release its lead to
# the hopper, and fill nothing (hopper_filled NULL; a fill of these empty
# hoppers records 0). Set to 0, every run fills again, as the burst below
# needs.
$node->append_conf('postgresql.conf', "vicidial_callbacks.fill_interval = 1h\n");
$node->reload;
my $before_reload = $node->safe_psql('postgres', 'SELECT max(run_id) FROM vicidial.hopper_runs');
# the run under way when the setting came may still fill; the next may not
ok($node->poll_query_until('postgres', "SELECT max(run_id) >= $before_reload + 2 FROM vicidial.hopper_runs"),
    'the worker runs on after the reload');
$node->safe_psql('postgres', q{SELECT vicidial.callback_schedule(8, 'bob', vicidial._half_hour_start(now()))});
ok($node->poll_query_until('postgres', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 8}),
    'a callback falls due under a fill interval of an hour');
is($node->safe_psql('postgres', qq{
    SELECT count(*) FILTER (WHERE went_live > 0) || ' swept, ' || count(hopper_filled) || ' filled'
      FROM vicidial.hopper_runs WHERE run_id > $before_reload + 1}),
    '1 swept, 0 filled', 'runs within the fill interval sweep and do not fill');
is($node->safe_psql('postgres', q{
    SELECT l.status || ':' || h.priority || h.source FROM vicidial.vicidial_list l
      JOIN vicidial.vicidial_hopper h USING (lead_id) WHERE l.lead_id = 8}),
    'CALLBK:50C', 'the due ANYONE lead is in the hopper all the same');
# A queued lead set aside until a time (WAIT, as hopper_next sets aside a
# lead outside its hours) is back in line at that time though no fill
# comes: the sweep part of the worker's run returns it.
$node->safe_psql('postgres', q{
    UPDATE vicidial.vicidial_hopper SET status = 'WAIT', dialable_after = clock_timestamp() + interval '2 seconds',
                                        hours_version = vicidial._hours_version()
     WHERE lead_id = 8});
ok($node->poll_query_until('postgres', q{SELECT status = 'READY' FROM vicidial.vicidial_hopper WHERE lead_id = 8}),
    'a lead set aside is back in line at its time under a fill interval of an hour');
is($node->safe_psql('postgres', "SELECT count(hopper_filled) FROM vicidial.hopper_runs WHERE run_id > $before_reload + 1"),
    '0', 'with no fill');
# Reloads with the given settings and waits for a fill after the runs
# recorded so far; returns the last of those runs.
sub reload_and_await_fill
{
    my ($settings, $name) = @_;
    $node->append_conf('postgresql.conf', $settings);
    $node->reload;
    my $before = $node->safe_psql('postgres', 'SELECT max(run_id) FROM vicidial.hopper_runs');
    ok($node->poll_query_until('postgres', qq{
        SELECT count(hopper_filled) > 0 FROM vicidial.hopper_runs WHERE run_id > $before}), $name);
    return $before;
}

# The fill put off comes at its time, with no other run to bring it: 20 s
# between fills, an hour between the worker's regular runs.
my $before_fill = reload_and_await_fill("vicidial_callbacks.fill_interval = 20s\nvicidial_callbacks.interval = 1h\n",
    'a fill comes once the shorter fill interval allows it');
my ($filled_run, $filled_at) = split /\|/, $node->safe_psql('postgres', qq{
    SELECT run_id, started_at FROM vicidial.hopper_runs
     WHERE run_id > $before_fill AND hopper_filled IS NOT NULL ORDER BY run_id LIMIT 1});
$node->safe_psql('postgres', q{SELECT vicidial.callback_schedule(9, 'bob', vicidial._half_hour_start(now()))});
ok($node->poll_query_until('postgres', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 9}),
    'a callback due within 20 s of that fill goes LIVE');
ok($node->poll_query_until('postgres', qq{
    SELECT count(hopper_filled) > 0 FROM vicidial.hopper_runs WHERE run_id > $filled_run}),
    'the fill put off by its run comes without another run to bring it');
is($node->safe_psql('postgres', qq{
    SELECT string_agg(CASE WHEN went_live > 0 THEN 'sweep' ELSE 'run' END
                      || CASE WHEN hopper_filled IS NULL THEN '' ELSE ' then fill' END, ', ' ORDER BY run_id)
      FROM vicidial.hopper_runs WHERE run_id > $filled_run}),
    'sweep, run then fill', 'the due callback swept at once, the fill at its time');
cmp_ok($node->safe_psql('postgres', qq{
    SELECT extract(epoch FROM max(started_at) - '$filled_at') FROM vicidial.hopper_runs WHERE run_id > $filled_run}),
    '>=', 19.5, 'no sooner than 20 s after the fill before it');

# A fill that fails is not tried again at once: the worker waits for its
# next run or the next callback due, as after any failed run, even when
# the fill that fails is one a run put off. Every fill fails here (a
# trigger refuses the fill's record). Callback 10, due a moment after the
# fill above, is swept by a run that puts its fill off to 20 s after that
# fill, when the fill fails; callback 6, due 3 s after that failure,
# brings the only other run, whose sweep commits and whose fill fails. A
# worker that tried the failed fill again at once would fail hundreds of
# times in those 3 s.
$node->safe_psql('postgres', q{
    CREATE FUNCTION public.refuse_fill() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the test refuses every fill';
    END $$;
    CREATE TRIGGER refuse_fill BEFORE UPDATE ON vicidial.hopper_runs
        FOR EACH ROW WHEN (NEW.hopper_filled IS NOT NULL) EXECUTE FUNCTION public.refuse_fill()});
my $before_failures = $node->safe_psql('postgres', 'SELECT max(run_id) FROM vicidial.hopper_runs');
$node->safe_psql('postgres', q{SELECT vicidial.callback_schedule(10, 'bob', vicidial._half_hour_start(now()))});
ok($node->poll_query_until('postgres', qq{
    SELECT count(*) > 0 FROM vicidial.hopper_runs WHERE run_id > $before_failures AND error IS NOT NULL}),
    'a failing fill is recorded as a failed run');
$node->safe_psql('postgres', q{SELECT vicidial.callback_schedule(6, 'bob', clock_timestamp() + interval '3 seconds')});
# the sweep, then the failed fill's record, each committed on its own
ok($node->poll_query_until('postgres', qq{
    SELECT count(*) FILTER (WHERE error IS NOT NULL) >= 2
           AND (SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 6)
      FROM vicidial.hopper_runs WHERE run_id > $before_failures}),
    'a callback due after the failed fill is swept all the same, and its fill fails');
# On a box slow enough that callback 10 was swept 20 s or more after the
# last fill, its own run fills (and fails) at once: no run comes between.
my $put_off = $node->safe_psql('postgres', qq{
    SELECT min(r.started_at) < (SELECT max(f.started_at) FROM vicidial.hopper_runs f
                                 WHERE f.run_id <= $before_failures AND f.hopper_filled IS NOT NULL)
                               + interval '20 seconds'
      FROM vicidial.hopper_runs r WHERE r.run_id > $before_failures});
is($node->safe_psql('postgres', qq{
    SELECT string_agg(CASE WHEN error IS NOT NULL THEN 'failed' WHEN went_live > 0 THEN 'sweep' ELSE 'run' END,
                      ', ' ORDER BY run_id)
      FROM vicidial.hopper_runs WHERE run_id > $before_failures}),
    $put_off eq 't' ? 'sweep, run, failed, sweep, failed' : 'sweep, failed, sweep, failed',
    'the fill put off fails once and is not tried again before the next callback due');
$node->safe_psql('postgres', 'DROP TRIGGER refuse_fill ON vicidial.hopper_runs');

reload_and_await_fill("vicidial_callbacks.fill_interval = 0\nvicidial_callbacks.interval = 1s\n",
    'a fill interval of 0 fills at every run again');

# A burst, swept in chunks: 450 callbacks due at the same instant (one
# time for all, read once: clock_timestamp() per row could straddle a
# second and split the burst) with a
# chunk of 100 go LIVE in runs of 100, 100, 100, 100 and 50, each
# committed on its own, and only the last is followed by the fill (a
# fill at every run, as set above).
$node->append_conf('postgresql.conf', "vicidial_callbacks.sweep_chunk = 100\n");
$node->reload;
ok($node->poll_query_until('postgres', 'SELECT setting = \'100\' FROM pg_settings WHERE name = \'vicidial_callbacks.sweep_chunk\''),
    'the chunk setting is reloaded');
my $runs_before = $node->safe_psql('postgres', 'SELECT max(run_id) FROM vicidial.hopper_runs');
$node->safe_psql('postgres', q{
    INSERT INTO vicidial.vicidial_list (lead_id, list_id) SELECT g, 1 FROM generate_series(1001, 1450) g;
    WITH due AS MATERIALIZED (SELECT date_trunc('second', clock_timestamp()) + interval '3 seconds' AS at)
    SELECT count(vicidial.callback_schedule(g, 'bob', due.at)) FROM generate_series(1001, 1450) g, due});
ok($node->poll_query_until('postgres', q{
    SELECT count(*) = 450 FROM vicidial.vicidial_callbacks WHERE lead_id > 1000 AND status = 'LIVE'}),
    'a burst of 450 due callbacks goes LIVE');
is($node->safe_psql('postgres', qq{
    SELECT string_agg(went_live || CASE WHEN hopper_filled IS NULL THEN '' ELSE ' then fill' END, ', ' ORDER BY run_id)
      FROM vicidial.hopper_runs WHERE run_id > $runs_before AND went_live > 0}),
    '100, 100, 100, 100, 50 then fill', 'in chunks of 100, each committed, the fill after the last');
diag($node->safe_psql('postgres', qq{
    SELECT 'from the first chunk committed to the last: '
           || round(extract(epoch FROM max(finished_at) - min(finished_at))::numeric, 3) || ' s'
      FROM vicidial.hopper_runs WHERE run_id > $runs_before AND went_live > 0}));

$node->stop;
done_testing();
