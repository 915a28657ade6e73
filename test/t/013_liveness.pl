# Nothing a role with the README's grants holds open stalls the worker: an
# admin's open transaction that touched the hours (even changing nothing)
# or changed them, and one that locked the leads, the campaigns or a
# calling-hours table, even against reads; a run that cannot get a lock
# within vicidial_callbacks.lock_timeout leaves that part to a later run
# and says so (hopper_run's cut_short, worker_state()), and waits that
# long once, not once per part.
use strict;
use warnings;
use lib 'test';
use CallbackCluster;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = callback_node('liveness', conf => qq{
vicidial_callbacks.interval = 1s
vicidial_callbacks.lock_timeout = 300ms
log_lock_waits = on
deadlock_timeout = 100ms
});
seed_call_center($node, 'postgres');
$node->safe_psql('postgres', (readme_roles_sql())[0]);

# A callback due now, made by the superuser; its run is polled for.
sub due_now
{
    my ($lead) = @_;
    $node->safe_psql('postgres', qq{
        SELECT vicidial.callback_schedule($lead, 'bob', vicidial._half_hour_start(now()), 'ANYONE')});
    return $node->poll_query_until('postgres', qq{
        SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = $lead AND status <> 'ARCHIVE'});
}

my $admin = $node->background_psql('postgres', on_error_stop => 1);

# 1.1: an update of the hours that matched nothing took the run lock and
# held it until commit; every run waited behind it.
$admin->query_safe(q{SET ROLE dialer_admin; BEGIN;
    UPDATE vicidial.vicidial_campaigns SET time_zone = time_zone WHERE false});
ok(due_now(1), 'a run is not stalled by an open transaction that touched the hours');

# A real change of hours, left open: runs go on; its commit has the next
# run look at the waiting leads again.
$admin->query_safe(q{UPDATE vicidial.vicidial_campaigns SET local_call_time = '9am-9pm' WHERE campaign_id = 'C'});
ok(due_now(2), 'nor by an open change of the hours');
$admin->query_safe('COMMIT');
$admin->query_safe(q{BEGIN; UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours' WHERE campaign_id = 'C'; COMMIT});

# An admin may lock the leads table (it may update it). The run cannot
# sweep or fill meanwhile: each part gives up after the lock timeout, the
# run commits the rest and says which part it left.
$node->safe_psql('postgres', q{
    SELECT vicidial.callback_schedule(3, 'bob', clock_timestamp() + interval '3 seconds', 'ANYONE')});
# A queued lead set aside until a moment after the lock is taken is back
# in line all the same: that brings no lead into the hopper, so it locks
# no lead.
$node->safe_psql('postgres', q{
    INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (9, 'C', 1);
    UPDATE vicidial.vicidial_hopper SET status = 'WAIT', dialable_after = clock_timestamp() + interval '5 seconds',
                                        hours_version = vicidial._hours_version()
     WHERE lead_id = 9});
$admin->query_safe(q{BEGIN; LOCK TABLE vicidial.vicidial_list IN EXCLUSIVE MODE});
my $runs_before = $node->safe_psql('postgres', 'SELECT max(run_id) FROM vicidial.hopper_runs');
ok($node->poll_query_until('postgres', qq{
    SELECT count(*) >= 2 FROM vicidial.hopper_runs WHERE run_id > $runs_before AND cut_short IS NOT NULL}),
    'runs go on while the leads table is locked, each cut short');
ok($node->poll_query_until('postgres', q{SELECT status = 'READY' FROM vicidial.vicidial_hopper WHERE lead_id = 9}),
    'a queued lead set aside is back in line at its time while the leads table is locked');
is($node->safe_psql('postgres', qq{
    SELECT string_agg(DISTINCT cut_short || ' | ' || (error IS NULL), ', ') FROM vicidial.hopper_runs
     WHERE run_id > $runs_before AND cut_short IS NOT NULL}),
    'sweep: canceling statement due to lock timeout | true',
    'a cut-short run names the part it left and why, and is not a failed run');
is($node->safe_psql('postgres', q{
    SELECT last_cut_short || ' | ' || (last_cut_short_at > now() - interval '1 minute') FROM vicidial.worker_state()}),
    'sweep: canceling statement due to lock timeout | true',
    'worker_state() reports the latest cut-short run');
is($node->safe_psql('postgres', q{SELECT last_cut_short IS NOT NULL FROM vicidial.worker_status}), 't',
    'and so does worker_status');
$admin->query_safe('COMMIT');
ok($node->poll_query_until('postgres', q{
    SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 3 AND status <> 'ARCHIVE'}),
    'once the lock is gone, a run does the work it left');
is($node->safe_psql('postgres', q{
    SELECT cut_short IS NULL FROM vicidial.hopper_runs ORDER BY run_id DESC LIMIT 1}), 't',
    'and is whole');

# An admin may also lock a calling-hours table (it may write them): runs
# go on, cut short, and do the work once it is free.
$node->safe_psql('postgres', q{
    SELECT vicidial.callback_schedule(4, 'bob', clock_timestamp() + interval '2 seconds', 'ANYONE')});
$runs_before = $node->safe_psql('postgres', 'SELECT max(run_id) FROM vicidial.hopper_runs');
$admin->query_safe(q{SET ROLE dialer_admin; BEGIN; LOCK TABLE vicidial.vicidial_call_times IN ACCESS EXCLUSIVE MODE});
ok($node->poll_query_until('postgres', qq{
    SELECT count(*) >= 2 FROM vicidial.hopper_runs WHERE run_id > $runs_before AND cut_short IS NOT NULL}),
    'runs go on while a calling-hours table is locked, each cut short');
$admin->query_safe('COMMIT');
ok($node->poll_query_until('postgres', q{
    SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 4 AND status <> 'ARCHIVE'}),
    'and do the work they left once it is free');

# An admin may lock the leads or the campaigns table against reads too
# (ACCESS EXCLUSIVE), which every part of a run reads, and so does the
# worker's reading of its next wake: the worker goes on, its runs cut
# short, and does the work once the table is free.
for my $locked (['vicidial_list', 5], ['vicidial_campaigns', 6])
{
    my ($table, $lead) = @$locked;
    $node->safe_psql('postgres', qq{
        SELECT vicidial.callback_schedule($lead, 'bob', clock_timestamp() + interval '2 seconds', 'ANYONE')});
    $runs_before = $node->safe_psql('postgres', 'SELECT max(run_id) FROM vicidial.hopper_runs');
    $admin->query_safe("BEGIN; LOCK TABLE vicidial.$table IN ACCESS EXCLUSIVE MODE");
    ok($node->poll_query_until('postgres', qq{
        SELECT count(*) >= 3 FROM vicidial.hopper_runs WHERE run_id > $runs_before AND cut_short IS NOT NULL}),
        "the worker goes on while $table is locked against reads, its runs cut short");
    # The worker's reading of its next wake, which a wake between runs (a
    # callback written elsewhere, a reload) also makes, cannot read the
    # table: it still names a time to wake at, a second away, never an
    # infinite one, which the worker's wait cannot take.
    is($node->safe_psql('postgres', q{
        SELECT d > now() AND d < clock_timestamp() + interval '1 minute' FROM vicidial._next_due() d}),
        't', "the next wake, unknown while $table is locked, is a second away");
    $admin->query_safe('COMMIT');
    ok($node->poll_query_until('postgres', qq{
        SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = $lead AND status <> 'ARCHIVE'}),
        "and does the work it left once $table is free");
}

# A run waits for locks the run's lock timeout in all, not once per part:
# once its deadline has passed, its parts take only what they can have at
# once. By hand, in a database no worker serves (whose runs would hold
# the runs' lock), with each wait past deadlock_timeout logged.
$node->safe_psql('postgres', 'CREATE DATABASE by_hand');
seed_call_center($node, 'by_hand');
$node->safe_psql('by_hand', q{UPDATE vicidial.vicidial_campaigns SET hopper_level = 5});
my $holder = $node->background_psql('by_hand', on_error_stop => 1);
for my $locked (['vicidial_list', 'sweep: canceling statement due to lock timeout; fill: canceling statement due to lock timeout'],
                ['vicidial_campaigns', 'stuck calls: canceling statement due to lock timeout; sweep: canceling statement due to lock timeout; fill: canceling statement due to lock timeout'])
{
    my ($table, $cut_short) = @$locked;
    $holder->query_safe("BEGIN; LOCK TABLE vicidial.$table IN ACCESS EXCLUSIVE MODE");
    my $log_offset = -s $node->logfile;
    is($node->safe_psql('by_hand', q{SET application_name = 'run_by_hand'; SELECT cut_short FROM vicidial.hopper_run()}),
        $cut_short, "a run with $table locked against reads leaves each part that reads it");
    my @waits = slurp_file($node->logfile, $log_offset) =~ /run_by_hand.*still waiting for/g;
    is(scalar(@waits), 1, "and waits for $table once");
    $holder->query_safe('COMMIT');
}
$holder->quit;

# The runs' lock, which only the extension's owner can take (a superuser
# here): a run that cannot get it within the lock timeout does nothing and
# says so.
$admin->query_safe(q{RESET ROLE; BEGIN; LOCK TABLE vicidial.hopper_run_lock IN EXCLUSIVE MODE});
is($node->safe_psql('postgres', q{SELECT cut_short FROM vicidial.hopper_run()}),
    'all: another run, sweep or fill held the run lock',
    'a run that cannot take the runs\' lock in time is cut short whole');
$admin->query_safe('COMMIT');
is($node->safe_psql('postgres', 'SELECT count(*) FROM vicidial.invariant_violations()'), '0', 'the invariants hold');

$admin->quit;
$node->stop;
done_testing();
