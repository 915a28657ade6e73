# Plans that must not follow the statistics into a rescan. The release
# queue, vicidial.callback_releases, empties after every burst, and
# autovacuum analyzes it so: pages and no row. A statement that joined it
# to the arrays of a burst's entries was then planned with the queue as
# one row, outside a nested loop, and read the array again for each
# entry (a sweep of 100,000 ran for minutes). The release tests the
# queue against its arrays with "= ANY" alone: every statement of a
# sweep that reads the queue reads it, and each array, once.
#
# The plans are auto_explain's, with the rows each node ran (not its
# time), as notices to the session that sweeps.
use strict;
use warnings;
use lib 'test';
use CallbackCluster;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $entries = 500;
my $node = callback_node('plans', conf => q{
vicidial_callbacks.interval = 1h
autovacuum = off
});
seed_call_center($node, 'postgres', $entries);

# A burst for tomorrow, swept below with "now" driven past it: the worker
# sleeps until then and leaves it alone.
$node->safe_psql('postgres', qq{
    SELECT count(vicidial.callback_schedule(g, 'bob', vicidial._half_hour_start(now() + interval '1 day')))
      FROM generate_series(1, $entries) g});

# The queue as autovacuum leaves it after a burst.
$node->safe_psql('postgres', q{
    UPDATE pg_class SET reltuples = 0, relpages = 500 WHERE oid = 'vicidial.callback_releases'::regclass});

my ($out, $err);
$node->psql('postgres', q{
    LOAD 'auto_explain';
    SET auto_explain.log_min_duration = 0;
    SET auto_explain.log_nested_statements = on;
    SET auto_explain.log_analyze = on;
    SET auto_explain.log_timing = off;
    SET auto_explain.log_format = json;
    SET auto_explain.log_level = notice;
    SELECT went_live || ' ' || hopper_inserted FROM vicidial.sweep(now() + interval '1 day 1 minute');
}, stdout => \$out, stderr => \$err, on_error_die => 1);
is($out, "$entries $entries", "the sweep flipped and released the burst of $entries");

# Every node of a plan, depth first.
sub nodes
{
    my ($node) = @_;
    return ($node, map { nodes($_) } @{ $node->{Plans} || [] });
}

my ($queue_plans, $worst) = (0, 0);
my $worst_text = '';
foreach my $json ($err =~ /^(\{\n.*?^\})$/msg)
{
    my $plan = decode_json($json);
    my @nodes = nodes($plan->{Plan});
    next unless grep { ($_->{'Relation Name'} // '') eq 'callback_releases' } @nodes;
    $queue_plans++;
    # the queue's scans, and the arrays' (a function scan of unnest)
    foreach my $n (grep { ($_->{'Relation Name'} // '') eq 'callback_releases' || $_->{'Node Type'} eq 'Function Scan' }
        @nodes)
    {
        next unless $n->{'Actual Loops'} > $worst;
        $worst = $n->{'Actual Loops'};
        $worst_text = $plan->{'Query Text'};
    }
}
cmp_ok($queue_plans, '>=', 3, 'the sweep\'s statements that read the release queue were explained')
  or diag($err);
is($worst, 1, 'each reads the queue, and each array it tests the queue against, once')
  or diag("read $worst times in:\n$worst_text");

$node->stop;
done_testing();
