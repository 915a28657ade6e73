# The worker's own bookkeeping: its commits reach the statistics while it
# lives (so autovacuum sees its churn), and its own runs do not wake it
# again: one external change costs one extra look at the next due time,
# one due callback one run.
use strict;
use warnings;
use lib 'test';
use CallbackCluster;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = callback_node('quiet', conf => q{
vicidial_callbacks.interval = 1h
track_functions = 'all'
});
seed_call_center($node, 'postgres');
ok($node->poll_query_until('postgres', 'SELECT next_wake IS NOT NULL FROM vicidial.worker_status'),
    'the worker is up and idle');

# Runs of the worker (each begins with a sweep, or is one call where the
# run is not split) and its looks at the next due time, as the statistics
# see them (the worker reports its own after each commit, while it lives).
my $calls = q{
    SELECT coalesce(sum(calls) FILTER (WHERE funcname IN ('_worker_sweep', '_worker_run')), 0) || ' '
        || coalesce(sum(calls) FILTER (WHERE funcname = '_next_due'), 0)
      FROM pg_stat_user_functions WHERE schemaname = 'vicidial'};
my ($runs, $looks) = split / /, $node->safe_psql('postgres', $calls);
my $hopper_runs_inserts = $node->safe_psql('postgres',
    q{SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = 'vicidial.hopper_runs'::regclass});

# One callback due now: its commit wakes the worker (one look), the
# worker runs it (one run and one look); its own commit wakes nobody.
$node->safe_psql('postgres', q{SELECT vicidial.callback_schedule(1, 'bob', vicidial._half_hour_start(now()))});
ok($node->poll_query_until('postgres', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 1}),
    'the due callback goes LIVE');
# A later change: one more look, after which the worker plans its wake.
$node->safe_psql('postgres', q{SELECT vicidial.callback_schedule(2, 'bob', now() + interval '10 minutes')});
ok($node->poll_query_until('postgres', q{
    SELECT w.next_wake = c.callback_time FROM vicidial.worker_status w, vicidial.vicidial_callbacks c WHERE c.lead_id = 2}),
    'the worker plans to wake for the later callback');
ok($node->poll_query_until('postgres', "SELECT ($calls) = '" . ($runs + 1) . ' ' . ($looks + 3) . "'"),
    'one run and three looks at the next due time: the run did not wake the worker again')
  or diag('runs and looks before: ' . "$runs $looks" . ', after: ' . $node->safe_psql('postgres', $calls));
ok($node->poll_query_until('postgres', qq{
    SELECT n_tup_ins > $hopper_runs_inserts FROM pg_stat_user_tables WHERE relid = 'vicidial.hopper_runs'::regclass}),
    'the run\'s history row is counted for autovacuum');

$node->stop;
done_testing();
