# The README's roles, exactly as it writes them: its "Roles" blocks are run
# as written, then every write they grant is made as those roles, on a
# lead table big enough that updates leave their pages (status and phone
# are indexed, so an update of either is never HOT and evaluates every
# index expression as the writing role).
use strict;
use warnings;
use lib 'test';
use CallbackCluster;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my @blocks = readme_roles_sql();
is(scalar @blocks, 2, 'the README\'s Roles section has its two SQL blocks');

my $node = callback_node('roles', conf => "vicidial_callbacks.enabled = off\n");
$node->safe_psql('postgres', 'CREATE EXTENSION vicidial_callbacks');
$node->safe_psql('postgres', $_) for @blocks;
is($node->safe_psql('postgres', q{SELECT "user" || ' ' || db_role FROM vicidial.vicidial_users}),
    'ann ann', 'the blocks create the agent ann and bind it to its role');

# Run one statement as a role: its output, or the error's SQLSTATE and message.
sub as_role
{
    my ($role, $sql) = @_;
    my ($rc, $out, $err) = $node->psql('postgres', "SET ROLE $role;\n$sql",
        extra_params => ['-v', 'VERBOSITY=verbose', '-v', 'ON_ERROR_STOP=1']);
    return $out if $rc == 0;
    my ($state, $message) = $err =~ /ERROR:\s+(\w{5}):\s+([^\n]*)/;
    return "$state: $message";
}

# The admin builds a call center, 20,000 leads by hand.
is(as_role('dialer_admin', q{
    INSERT INTO vicidial.vicidial_campaigns (campaign_id, local_call_time, hopper_level) VALUES ('SALES', '24hours', 10);
    INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'SALES');
    INSERT INTO vicidial.vicidial_list (list_id, phone_number, first_name)
    SELECT 1, '555' || lpad(g::text, 7, '0'), 'Lead ' || g FROM generate_series(1, 20000) g;
    SELECT count(*) FROM vicidial.vicidial_list}),
    '20000', 'the admin inserts a campaign, a list and leads (the lead sequence, _digits in the index)');
is(as_role('dialer_admin', q{
    UPDATE vicidial.vicidial_list SET status = 'B' WHERE lead_id % 1000 = 7;
    UPDATE vicidial.vicidial_list SET phone_number = '666' || lead_id WHERE lead_id % 1000 = 8;
    SELECT count(*) FILTER (WHERE status = 'B') || ' ' || count(*) FILTER (WHERE phone_number LIKE '666%')
      FROM vicidial.vicidial_list}),
    '20 20', 'the admin changes leads\' statuses and numbers');
is(as_role('dialer_admin', q{UPDATE vicidial.vicidial_list SET status = 'sale' WHERE lead_id = 7}),
    '22023: bad status "sale"', 'the admin\'s lead status that is not a status text is refused as such (22023)');
is(as_role('dialer_admin', q{UPDATE vicidial.vicidial_list SET lead_id = 30000 WHERE lead_id = 7}),
    '55000: lead 7: lead_id cannot change', 'the admin cannot renumber a lead (55000)');
is(as_role('dialer_admin', q{
    UPDATE vicidial.vicidial_campaigns SET local_call_time = '9am-9pm', time_zone = 'America/Chicago', hopper_level = 20;
    UPDATE vicidial.vicidial_lists SET list_name = 'spring';
    UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours';
    SELECT local_call_time || ' ' || time_zone FROM vicidial.vicidial_campaigns}),
    '24hours America/Chicago', 'the admin changes a campaign\'s hours and zone, and a list');
is(as_role('dialer_admin', q{
    INSERT INTO vicidial.vicidial_users ("user", full_name) VALUES ('bob', 'Bob');
    UPDATE vicidial.vicidial_users SET full_name = 'Bob Jones', callback_active_limit = 5, agentonly_callbacks = true
     WHERE "user" = 'bob';
    SELECT full_name FROM vicidial.vicidial_users WHERE "user" = 'bob'}),
    'Bob Jones', 'the admin adds and edits an agent');
is(as_role('dialer_admin', q{
    INSERT INTO vicidial.vicidial_call_times (call_time_id, ct_default_start, ct_default_stop) VALUES ('days', '08:00', '20:00');
    INSERT INTO vicidial.vicidial_call_time_holidays (call_time_id, holiday_date) VALUES ('days', '2030-12-25');
    INSERT INTO vicidial.vicidial_call_times (call_time_id, ct_default_start, ct_default_stop) VALUES ('tx', '12:00', '20:00');
    INSERT INTO vicidial.vicidial_state_call_times (state, call_time_id) VALUES ('TX', 'tx');
    UPDATE vicidial.vicidial_call_times SET ct_default_stop = '21:00' WHERE call_time_id = 'days';
    UPDATE vicidial.vicidial_campaigns SET local_call_time = 'days';
    UPDATE vicidial.vicidial_list SET state = 'TX' WHERE lead_id = 9;
    SELECT count(*) FROM vicidial.vicidial_call_times}),
    '4', 'the admin writes calling hours, holidays and state hours');
# closed on the holiday, then open from the state's noon
is($node->safe_psql('postgres', q{
    SELECT vicidial.lead_next_dialable(9, '2030-12-25 12:00 America/Chicago') = '2030-12-26 12:00 America/Chicago'}),
    't', 'which govern the leads at once');
is(as_role('dialer_admin', q{
    UPDATE vicidial.vicidial_call_time_holidays SET ct_start = '10:00', ct_stop = '11:00';
    UPDATE vicidial.vicidial_state_call_times SET call_time_id = 'days' WHERE state = 'TX';
    UPDATE vicidial.vicidial_list SET state = NULL WHERE lead_id = 9;
    UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours';
    DELETE FROM vicidial.vicidial_state_call_times;
    DELETE FROM vicidial.vicidial_call_time_holidays;
    DELETE FROM vicidial.vicidial_call_times WHERE call_time_id IN ('days', 'tx');
    SELECT count(*) FROM vicidial.vicidial_call_times}),
    '2', 'and changes and removes them');
is(as_role('dialer_admin', q{
    INSERT INTO vicidial.vicidial_dnc (phone_number) VALUES ('(555) 000-0004');
    INSERT INTO vicidial.vicidial_campaign_dnc (campaign_id, phone_number) VALUES ('SALES', '5550000005');
    SELECT string_agg(status, ' ' ORDER BY lead_id) FROM vicidial.vicidial_list WHERE lead_id IN (4, 5)}),
    'DNCL DNCC', 'the admin adds numbers to both do-not-call lists, which marks the leads they cover');
is(as_role('dialer_admin', q{UPDATE vicidial.vicidial_users SET db_role = 'dialer_admin' WHERE "user" = 'bob'}),
    '42501: permission denied for table vicidial_users', 'the admin may not bind an agent to a role');
is(as_role('dialer_admin', q{INSERT INTO vicidial.vicidial_users ("user", db_role) VALUES ('eve', 'dialer_admin')}),
    '42501: permission denied for table vicidial_users', 'nor create one bound');
is(as_role('dialer_security', q{
    UPDATE vicidial.vicidial_users SET db_role = 'bob' WHERE "user" = 'bob';
    SELECT db_role FROM vicidial.vicidial_users WHERE "user" = 'bob'}),
    'bob', 'the security role binds an agent');
is(as_role('dialer_security', q{UPDATE vicidial.vicidial_users SET active = false WHERE "user" = 'bob'}),
    '42501: permission denied for table vicidial_users', 'and does nothing else to agents');
$node->safe_psql('postgres', q{UPDATE vicidial.vicidial_users SET db_role = NULL WHERE "user" = 'bob'});

# The agent ann, through its own role: the whole flow, and the do-not-call lists.
is(as_role('ann', q{
    SELECT lead_id FROM vicidial.hopper_next('SALES', 'ann')}),
    '', 'ann sees an empty hopper');
$node->safe_psql('postgres', 'SELECT vicidial.hopper_fill()');
is(as_role('ann', q{
    SELECT lead_id || ' ' || status FROM vicidial.hopper_next('SALES', 'ann');
    SELECT vicidial.lead_disposition(1, 'ann', 'CALLBK', date_trunc('hour', now()) + interval '1 day', 'USERONLY') > 0;
    SELECT open FROM vicidial.agent_callback_count('ann')}),
    "1 INCALL\nt\n1", 'ann takes a lead and books a USERONLY callback');
is(as_role('ann', q{
    INSERT INTO vicidial.vicidial_dnc (phone_number) VALUES ('(555) 000-0002');
    INSERT INTO vicidial.vicidial_campaign_dnc (campaign_id, phone_number) VALUES ('SALES', '5550000003');
    SELECT count(*) FROM vicidial.vicidial_dnc}),
    '2', 'ann adds numbers to both do-not-call lists');
is($node->safe_psql('postgres', q{SELECT string_agg(status, ' ' ORDER BY lead_id) FROM vicidial.vicidial_list WHERE lead_id IN (2, 3)}),
    'DNCL DNCC', 'which marks the leads they cover');
is(as_role('dialer_agent', q{SELECT * FROM vicidial.agent_callback_count('ann')}),
    '42501: role "dialer_agent" may not act as agent "ann"', 'the agents\' group role may not act as a bound agent');
is(as_role('dialer_pool', q{SELECT * FROM vicidial.agent_callback_count('ann')}),
    '42501: permission denied for schema vicidial', 'the pooler login has no rights of its own');
is(as_role('dialer_pool', q{BEGIN; SET LOCAL ROLE ann; SELECT live || ' ' || open FROM vicidial.agent_callback_count('ann'); COMMIT;}),
    '0 1', 'until it switches to the agent\'s role');

# The admin's functions and the worker's health.
is(as_role('dialer_admin', q{
    SELECT count(*) FROM vicidial.callbacks_report(campaign => 'SALES');
    SELECT vicidial.callbacks_reassign('ann');
    SELECT count(*) FROM vicidial.invariant_violations();
    SELECT workers >= 0 FROM vicidial.worker_status;
    SELECT last_cut_short IS NULL FROM vicidial.worker_state();
    SELECT count(*) >= 0 FROM vicidial.log_partitions_add()}),
    "1\n1\n0\nt\nt\nt", 'the admin reports, reassigns, checks, reads the worker\'s health, adds log months');
# What the admin pages tell an admin to read: a callback's archive_reason
# and attempts, the hopper, the dial log, and why a lead is not dialed.
is(as_role('dialer_admin', q{
    SELECT count(*) || ' ' || count(*) FILTER (WHERE archive_reason IS NULL AND attempts = 0)
      FROM vicidial.vicidial_callbacks;
    SELECT count(*) >= 0 FROM vicidial.vicidial_hopper;
    SELECT count(*) >= 0 FROM vicidial.vicidial_log;
    SELECT count(*) FROM vicidial.lead_dial_blockers(1);
    SELECT vicidial.lead_dialable(1) IS NOT NULL AND vicidial.lead_next_dialable(1) IS NOT NULL}),
    "1 1\nt\nt\n1\nt", 'the admin reads the callbacks, the hopper, the dial log and a lead\'s blockers');
is(as_role('dialer_admin', q{UPDATE vicidial.vicidial_callbacks SET comments = 'x'}),
    '42501: permission denied for table vicidial_callbacks', 'and writes the callbacks only through the functions');
is(as_role('dialer_admin', q{SELECT * FROM vicidial.hopper_next('SALES', 'ann')}),
    '42501: permission denied for function hopper_next', 'the admin is no agent');
is(as_role('dialer_agent', q{SELECT vicidial.callback_modify(1, archive => true)}),
    '42501: permission denied for function callback_modify', 'nor an agent an admin');
is($node->safe_psql('postgres', 'SELECT count(*) FROM vicidial.invariant_violations()'), '0',
    'the invariants hold after every write');

$node->stop;
done_testing();
