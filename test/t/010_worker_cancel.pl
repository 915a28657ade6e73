# pg_cancel_backend() on the worker cancels only the run under way: a
# cancel that finds it idle is ignored, one during a run fails that run
# (logged and recorded in vicidial.hopper_runs); either way the same
# process carries on and its next run succeeds.
use strict;
use warnings;
use lib 'test';
use CallbackCluster;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# A long interval: every run below is one the test asked for.
my $node = callback_node('cancel', conf => q{
vicidial_callbacks.interval = 1h
track_functions = 'all'
});
seed_call_center($node, 'postgres');

my $worker = q{FROM pg_stat_activity WHERE backend_type = 'vicidial_callbacks worker'};

# Idle: waiting on its latch, after the statistics of its last pass were sent.
sub wait_idle
{
    my ($name) = @_;
    return ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 AND bool_and(wait_event_type = 'Extension') $worker"), $name);
}

# How often the worker has looked at the next due time (each of its passes does).
my $looks_sql = q{SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions
                   WHERE schemaname = 'vicidial' AND funcname = '_next_due'};
sub looks
{
    return $node->safe_psql('postgres', $looks_sql);
}

sub due_now
{
    my ($lead) = @_;
    $node->safe_psql('postgres',
        qq{SELECT vicidial.callback_schedule($lead, 'bob', vicidial._half_hour_start(now()), 'ANYONE')});
    return;
}

sub status_of
{
    my ($lead) = @_;
    return $node->safe_psql('postgres', "SELECT status FROM vicidial.vicidial_callbacks WHERE lead_id = $lead");
}

# What the log says of process $pid after $offset: its errors, and its exit.
sub worker_trouble
{
    my ($pid, $offset) = @_;
    my $log = slurp_file($node->logfile, $offset);
    return join("\n", $log =~ /^(.*\[$pid\] (?:ERROR|FATAL|PANIC):.*|.*\(PID $pid\) exited.*)$/mg);
}

# (a) A cancel while the worker is idle.
wait_idle('the worker is up and idle');
my $pid = $node->safe_psql('postgres', "SELECT pid $worker");
my $looks = looks();
my $offset = -s $node->logfile;
is($node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"), 't', 'the idle worker is sent a cancel');
# The cancel sets the worker's latch: a pass after it shows it was handled.
ok($node->poll_query_until('postgres', "SELECT ($looks_sql) > $looks"),
    'the worker has woken since the cancel');
due_now(1);
ok($node->poll_query_until('postgres', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 1}),
    'after a cancel while idle, a due callback goes LIVE');
is($node->safe_psql('postgres', "SELECT pid $worker"), $pid, 'the same worker process took it: the cancel did not end it');
is($node->safe_psql('postgres', "SELECT count(*) $worker"), '1', 'and it is the only worker');
is($node->safe_psql('postgres', 'SELECT count(*) FROM vicidial.hopper_runs WHERE error IS NOT NULL'), '0',
    'a cancel while idle fails no run');
is(worker_trouble($pid, $offset), '', 'the worker logged no error and did not exit');

# (b) A cancel during a run that waits for the run lock. Should a run's
# lock waits be bounded, the bound must outlast the test's own wait.
if ($node->safe_psql('postgres',
        q{SELECT count(*) FROM pg_settings WHERE name = 'vicidial_callbacks.lock_timeout'}) eq '1')
{
    wait_idle('the worker is idle before the reload');
    $looks = looks();
    $node->safe_psql('postgres', q{ALTER SYSTEM SET vicidial_callbacks.lock_timeout = '10min'});
    $node->safe_psql('postgres', 'SELECT pg_reload_conf()');
    # SIGHUP wakes the worker, which reloads before it looks again.
    ok($node->poll_query_until('postgres', "SELECT ($looks_sql) > $looks"),
        'the worker has reloaded its settings');
    is($node->safe_psql('postgres', 'SHOW vicidial_callbacks.lock_timeout'), '10min', 'runs wait for locks at length');
}
wait_idle('the worker is idle before the run');
$pid = $node->safe_psql('postgres', "SELECT pid $worker");
my $last_run = $node->safe_psql('postgres', 'SELECT coalesce(max(run_id), 0) FROM vicidial.hopper_runs');
$offset = -s $node->logfile;
my $locker = $node->background_psql('postgres', on_error_stop => 1);
$locker->query_safe('BEGIN; LOCK vicidial.hopper_run_lock IN EXCLUSIVE MODE;');
due_now(2);
ok($node->poll_query_until('postgres', "SELECT wait_event_type = 'Lock' $worker"),
    'the worker runs and waits for the run lock');
is($node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"), 't', 'the running worker is sent a cancel');
ok($node->poll_query_until('postgres', "SELECT count(*) > 0 FROM vicidial.hopper_runs WHERE run_id > $last_run"),
    'the cancelled run is recorded');
is($node->safe_psql('postgres', "SELECT string_agg(coalesce(error, '(none)'), ', ') FROM vicidial.hopper_runs WHERE run_id > $last_run"),
    'canceling statement due to user request', 'as a failed run, with the cancel as its error');
ok($node->log_contains('vicidial_callbacks: hopper run failed: canceling statement due to user request', $offset),
    'the failed run is logged');
is(status_of(2), 'ACTIVE', 'the cancelled run changed nothing');
wait_idle('the worker is idle again');
is($node->safe_psql('postgres', "SELECT pid $worker"), $pid, 'the same worker process carries on');
$locker->query_safe('COMMIT');
$locker->quit;

# A failed run is not retried before the interval: the next change wakes the worker.
due_now(3);
ok($node->poll_query_until('postgres', q{
    SELECT count(*) = 2 FROM vicidial.vicidial_callbacks WHERE lead_id IN (2, 3) AND status = 'LIVE'}),
    'once the lock is released, the next run takes the due callbacks');
is($node->safe_psql('postgres', 'SELECT error IS NULL FROM vicidial.hopper_runs ORDER BY run_id DESC LIMIT 1'), 't',
    'and succeeds');
is($node->safe_psql('postgres', "SELECT pid $worker"), $pid, 'still in the same worker process');
is($node->safe_psql('postgres', "SELECT count(*) $worker"), '1', 'which is the only worker');
is(worker_trouble($pid, $offset), '', 'the worker logged no error and did not exit');

$node->stop;
done_testing();
