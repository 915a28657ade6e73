# A randomized concurrency stress (test/stress/stress.c, on libpq): eight
# agents, an admin, a direct-DML writer (leads, callbacks, the hopper, and
# do-not-call numbers listed while leads are given them), two hopper_run
# drivers and the worker at once. Afterwards every claim and every callback is accounted
# for and the invariants hold. STRESS_SECONDS (default 15) makes it a soak.
use strict;
use warnings;
use lib 'test';
use CallbackCluster;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $seconds = $ENV{STRESS_SECONDS} || 15;
my $seed = $ENV{STRESS_SEED} || 1;
my $node = callback_node('stress', conf => q{
vicidial_callbacks.interval = 1s
max_connections = 40
deadlock_timeout = 100ms
});
$node->safe_psql('postgres', q{
    CREATE EXTENSION vicidial_callbacks;
    INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks)
    SELECT 's' || lpad(g::text, 2, '0'), true FROM generate_series(1, 8) g;
    INSERT INTO vicidial.vicidial_campaigns (campaign_id, dial_statuses, hopper_level, local_call_time) VALUES ('S', '{NEW,CALLBK,NA,B}', 20, '24hours');
    INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'S'), (2, 'S');
    INSERT INTO vicidial.vicidial_list (list_id, phone_number) SELECT 1 + g % 2, '555' || g FROM generate_series(1, 400) g;
});

my ($stdout, $stderr);
IPC::Run::run [ 'test/stress/stress', $node->connstr('postgres'), $seconds, $seed ], '>', \$stdout, '2>', \$stderr;
note("stress, $seconds s, seed $seed: $stdout");
note($stderr) if $stderr;
my %tally = $stdout =~ /(\w+)=(-?\d+)/g;
# (how many is the box's business, not a rule's: any progress will do)
cmp_ok($tally{claims} // 0, '>', 0, 'the agents claimed leads');
cmp_ok($tally{runs} // 0, '>', 0, 'the drivers ran');
cmp_ok(($tally{admin_changes} // 0) + ($tally{dml_writes} // 0), '>', 0, 'the admin and the writer changed rows');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM vicidial.vicidial_list WHERE status = 'DNCL'}), '>', 0,
    'the writer\'s listings marked leads');
is($tally{unexpected}, '0', 'no unexpected error (only the rules\' refusals and detected deadlocks)');
is($tally{failed_ends}, '0', 'every agent could end every call it claimed: no lead was handed to two agents');
is($tally{missing_processes}, '0', 'every client reported');
is($node->safe_psql('postgres', 'SELECT count(*) FROM vicidial.invariant_violations()'), '0',
    'the invariants hold after the storm');
is($node->safe_psql('postgres', q{SELECT count(*) FROM vicidial.vicidial_list WHERE status = 'INCALL'}),
    $tally{claims} - $tally{ends}, 'every claim is ended or still held by its agent');
is($tally{claims} - $tally{ends}, $tally{held_at_exit}, 'and held only by the clients that walked away');
is($node->safe_psql('postgres', q{SELECT count(*) FROM vicidial.vicidial_callbacks}),
    $tally{scheduled}, 'every callback scheduled is there, none lost, none invented');
is($node->safe_psql('postgres', q{SELECT sum(vicidial.agent_release("user")) FROM vicidial.vicidial_users}),
    $tally{held_at_exit}, 'agent_release ends exactly the abandoned calls');
is($node->safe_psql('postgres', q{
    SELECT count(*) FILTER (WHERE status = 'INCALL') || ' ' || (SELECT count(*) FROM vicidial.invariant_violations())
      FROM vicidial.vicidial_list}), '0 0', 'after which nothing is INCALL and the invariants hold');

$node->stop;
done_testing();
