# Plans that must not follow the statistics into a rescan. The release
# queue, vicidial.callback_releases, empties after every burst, and
# autovacuum analyzes it so: pages and no row. A statement that joined it
# to the arrays of a burst's entries was then planned with the queue as
# one row, outside a nested loop, and read the array again for each
# entry (a sweep of 100,000 ran for minutes). The release tests the
# queue against its arrays with "= ANY" alone: each of its statements
# that reads the queue reads it, and each array, once, for a burst it
# releases and for one it defers (hours closed).
#
# The count a pooled screen polls (agent_callback_count) reads the
# callbacks through their index of open USERONLY callbacks by agent, and
# no other way, on a table of archived rows.
#
# The plans are auto_explain's, with the rows each node ran (not its
# time), as notices to the session that runs the statements.
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

# Two bursts for tomorrow, swept below with "now" driven past them (the
# worker sleeps until then and leaves them alone): one in campaign C,
# released, and one in a campaign whose hours then close for good,
# deferred.
$node->safe_psql('postgres', qq{
    INSERT INTO vicidial.vicidial_call_times (call_time_id, ct_default_start, ct_default_stop)
         VALUES ('shut', '00:00', '24:00');
    INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time) VALUES ('S', 0, 'shut');
    INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (2, 'S');
    INSERT INTO vicidial.vicidial_list (list_id) SELECT 2 FROM generate_series(1, $entries);
    SELECT count(vicidial.callback_schedule(g, 'bob', vicidial._half_hour_start(now() + interval '1 day')))
      FROM generate_series(1, 2 * $entries) g;
    UPDATE vicidial.vicidial_call_times SET ct_default_stop = '00:00' WHERE call_time_id = 'shut';
});

# The queue as autovacuum leaves it after a burst.
$node->safe_psql('postgres', q{
    UPDATE pg_class SET reltuples = 0, relpages = 500 WHERE oid = 'vicidial.callback_releases'::regclass});

# Runs $sql with every statement it runs explained: its output, and the
# plans (auto_explain's JSON notices, the text as it came).
sub explained
{
    my ($sql) = @_;
    my ($out, $err);
    $node->psql('postgres', qq{
        LOAD 'auto_explain';
        SET auto_explain.log_min_duration = 0;
        SET auto_explain.log_nested_statements = on;
        SET auto_explain.log_analyze = on;
        SET auto_explain.log_timing = off;
        SET auto_explain.log_format = json;
        SET auto_explain.log_level = notice;
        $sql
    }, stdout => \$out, stderr => \$err, on_error_die => 1);
    return ($out, $err);
}

my ($out, $err) = explained(q{SELECT went_live || ' ' || hopper_inserted FROM vicidial.sweep(now() + interval '1 day 1 minute');});
is($out, 2 * $entries . " $entries", "the sweep flipped both bursts and released the open one");
is($node->safe_psql('postgres', q{
        SELECT count(*) FILTER (WHERE release_after > now() + interval '1 day 1 minute') || ' ' || count(*)
          FROM vicidial.callback_releases}),
    "$entries $entries", "it deferred the other, and emptied the queue of the released");

# Every node of a plan, depth first.
sub plan_nodes
{
    my ($plan_node) = @_;
    return ($plan_node, map { plan_nodes($_) } @{ $plan_node->{Plans} || [] });
}

# The release's statements that read the queue, each found by its text;
# for each, the most times a node of its plan read the queue or an array.
my %statements = (
    'the read of the given leads\' entries' => qr/WHERE r\.lead_id = ANY \(lead_ids\)/,
    'the lock of the entries to defer'     => qr/WHERE q\.lead_id = ANY \(held_back\)/,
    'the deferral'                         => qr/INSERT INTO vicidial\.callback_releases AS r/,
    'the lock of the entries done with'    => qr/WHERE q\.lead_id = ANY \(done_leads\)/,
    'the delete'                           => qr/DELETE FROM vicidial\.callback_releases r WHERE/,);
my %explained;
foreach my $json ($err =~ /^(\{\n.*?^\})$/msg)
{
    my $plan = decode_json($json);
    my ($name) = grep { $plan->{'Query Text'} =~ $statements{$_} } sort keys %statements;
    next unless defined $name;
    my $loops = 0;
    foreach my $n (plan_nodes($plan->{Plan}))
    {
        next unless ($n->{'Relation Name'} // '') eq 'callback_releases' || $n->{'Node Type'} eq 'Function Scan';
        $loops = $n->{'Actual Loops'} if $n->{'Actual Loops'} > $loops;
    }
    $explained{$name} = $loops if $loops > ($explained{$name} // -1);
}
foreach my $name (sort keys %statements)
{
    is($explained{$name}, 1, "$name reads the queue, and each array it tests the queue against, once")
      or diag($explained{$name} ? "read $explained{$name} times" : "not explained:\n$err");
}

# agent_callback_count, which a pooled screen polls every 5 seconds, reads
# an agent's open USERONLY callbacks from their index, whatever else the
# table holds: here agent x1's three beside 100,000 archived ones of a
# hundred agents, x1's thousand among them (loaded as a restore loads
# them, then analyzed).
$node->safe_psql('postgres', q{
    INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) SELECT 'x' || g, true FROM generate_series(1, 100) g;
    INSERT INTO vicidial.vicidial_list (list_id) SELECT 1 FROM generate_series(1, 3);
    BEGIN;
    SET LOCAL session_replication_role = replica;
    INSERT INTO vicidial.vicidial_callbacks (lead_id, list_id, campaign_id, status, callback_time, "user", recipient, archive_reason)
    SELECT 1 + g % 1000, 1, 'C', 'ARCHIVE', now() - g * interval '1 minute', 'x' || (1 + g % 100), 'USERONLY', 'DIALED'
      FROM generate_series(1, 100000) g;
    INSERT INTO vicidial.vicidial_callbacks (lead_id, list_id, campaign_id, status, callback_time, "user", recipient)
    SELECT l.lead_id, 1, 'C', 'ACTIVE', now() + interval '1 day', 'x1', 'USERONLY'
      FROM vicidial.vicidial_list l ORDER BY l.lead_id DESC LIMIT 3;
    COMMIT;
    ANALYZE vicidial.vicidial_callbacks;
});
($out, $err) = explained(q{SELECT live || ' ' || open FROM vicidial.agent_callback_count('x1');});
is($out, '0 3', 'agent_callback_count counts the agent\'s three open callbacks');
my ($count_plan) = grep { $_->{'Query Text'} =~ /JOIN vicidial\.agent_display_limits/ }
                   map { decode_json($_) } $err =~ /^(\{\n.*?^\})$/msg;
my @count_nodes = plan_nodes($count_plan ? $count_plan->{Plan} : {});
is(join(',', map { $_->{'Index Name'} // 'no index' }
             grep { ($_->{'Relation Name'} // '') eq 'vicidial_callbacks' || ($_->{'Index Name'} // '') =~ /^vicidial_callbacks/ }
             grep { $_->{'Node Type'} ne 'Bitmap Heap Scan' } @count_nodes),
    'vicidial_callbacks_agent_open',
    'and reads the callbacks through the index of open USERONLY callbacks by agent, and no other way')
  or diag($count_plan ? encode_json($count_plan->{Plan}) : "not explained:\n$err");

$node->stop;
done_testing();
