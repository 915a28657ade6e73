# Crashes: kill -9 of the worker, and of an ordinary backend (which makes
# the postmaster reinitialize the whole server). The worker comes back and
# finishes the work: every due callback LIVE exactly once, no run lost.
use strict;
use warnings;
use lib 'test';
use CallbackCluster;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = callback_node('crash', conf => "vicidial_callbacks.interval = 60s\nrestart_after_crash = on\n");
seed_call_center($node, 'postgres', 400);

sub worker_pid
{
    return $node->safe_psql('postgres',
        q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vicidial_callbacks worker'});
}

sub schedule_burst
{
    my ($first, $last) = @_;
    # ANYONE callbacks, one every 20 ms from 2 s ahead
    $node->safe_psql('postgres', qq{
        SELECT vicidial.callback_schedule(g, 'bob', clock_timestamp() + interval '2 seconds' + (g - $first) * interval '20 ms')
          FROM generate_series($first, $last) g});
}

# The result every crash must still reach: all LIVE, each lead queued once,
# each flip counted by exactly one recorded run.
sub check_all_live
{
    my ($upto, $what) = @_;
    ok($node->poll_query_until('postgres',
        "SELECT count(*) = $upto FROM vicidial.vicidial_callbacks WHERE status = 'LIVE'"),
        "$what: every due callback goes LIVE");
    # (the hopper's unique index keeps a lead there once whatever happens;
    # the callback log says whether any callback was flipped twice)
    is($node->safe_psql('postgres', q{
        SELECT count(*) || ' ' || count(*) FILTER (WHERE flips = 1)
          FROM (SELECT g.callback_id, count(*) AS flips FROM vicidial.vicidial_callback_log g
                 WHERE g.old_status = 'ACTIVE' AND g.new_status = 'LIVE' GROUP BY g.callback_id) f}),
        "$upto $upto", "$what: each callback went LIVE exactly once");
    is($node->safe_psql('postgres', 'SELECT sum(went_live) FROM vicidial.hopper_runs'),
        $upto, "$what: the recorded runs flipped each callback exactly once");
    is($node->safe_psql('postgres', 'SELECT count(*) FROM vicidial.invariant_violations()'),
        '0', "$what: the invariants hold");
}

ok($node->poll_query_until('postgres',
    q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vicidial_callbacks worker'}),
    'the worker runs');

# kill -9 of the worker while a burst of callbacks falls due.
schedule_burst(1, 200);
ok($node->poll_query_until('postgres', q{SELECT count(*) > 0 FROM vicidial.vicidial_callbacks WHERE status = 'LIVE'}),
    'the burst has started to go LIVE');
my $pid = worker_pid();
kill 'KILL', $pid;
ok($node->poll_query_until('postgres', qq{
    SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vicidial_callbacks worker' AND pid <> $pid}),
    'the worker is back after kill -9 and the server\'s crash recovery');
check_all_live(200, 'worker killed');

# kill -9 of an ordinary backend while the second burst goes LIVE: the
# whole server restarts.
schedule_burst(201, 400);
ok($node->poll_query_until('postgres', q{SELECT count(*) > 200 FROM vicidial.vicidial_callbacks WHERE status = 'LIVE'}),
    'the second burst has started to go LIVE');
my $victim = $node->background_psql('postgres');
my $victim_pid = $victim->query_safe('SELECT pg_backend_pid()');
kill 'KILL', $victim_pid;
ok($node->poll_query_until('postgres', 'SELECT true'), 'the server accepts connections again');
ok($node->log_contains("server process \\(PID $victim_pid\\) was terminated by signal 9"),
    'the killed backend made the server go through crash recovery');
check_all_live(400, 'backend killed');

$node->stop;
done_testing();
