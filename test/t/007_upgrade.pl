# The 1.0 -> 1.1 upgrade (CONTRACT §10): 1.0 stays installable; a 1.0
# database holding callbacks in every state reaches 1.1 with ALTER
# EXTENSION ... UPDATE, loses nothing, keeps its grants, and ends with a
# catalog equal to a fresh 1.1 install; the worker serves a database on
# either version.
use strict;
use warnings;
use lib 'test';
use CallbackCluster;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = callback_node('upgrade', conf => qq{
vicidial_callbacks.database = 'old, fresh'
vicidial_callbacks.interval = 1h
});
$node->safe_psql('postgres', 'CREATE DATABASE old; CREATE DATABASE fresh; CREATE ROLE agent_role');

$node->safe_psql('old', q{CREATE EXTENSION vicidial_callbacks VERSION '1.0'});
is($node->safe_psql('old', q{SELECT extversion FROM pg_extension WHERE extname = 'vicidial_callbacks'}),
    '1.0', 'the released 1.0 script is still installable');

# 1.0 data in every state: ACTIVE (both recipients), LIVE USERONLY, LIVE
# ANYONE with its lead in the hopper, ARCHIVE (dialed and cancelled), a
# lead INCALL from the hopper, standard hopper rows, a LIVE ANYONE callback
# flipped by hand whose lead 1.0 left in CBHOLD; and grants to keep, on
# functions 1.1 keeps and on ones it re-creates.
$node->safe_psql('old', q{
    INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) VALUES ('ann', true), ('bob', false);
    INSERT INTO vicidial.vicidial_campaigns (campaign_id, dial_statuses, hopper_level) VALUES ('OLD', '{NEW}', 5);
    INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'OLD');
    INSERT INTO vicidial.vicidial_list (list_id, phone_number) SELECT 1, '555000' || g FROM generate_series(1, 12) g;
    SELECT vicidial.callback_schedule(1, 'ann', now() + interval '2 days', 'USERONLY');
    SELECT vicidial.callback_schedule(2, 'bob', now() + interval '2 days', 'ANYONE');
    SELECT vicidial.callback_schedule(3, 'ann', vicidial._half_hour_start(now()), 'USERONLY');
    SELECT vicidial.callback_schedule(4, 'bob', vicidial._half_hour_start(now()), 'ANYONE');
    SELECT vicidial.callback_schedule(5, 'bob', vicidial._half_hour_start(now()), 'ANYONE');
    SELECT vicidial.callback_schedule(6, 'bob', now() + interval '3 days', 'ANYONE');
    SELECT vicidial.callback_schedule(10, 'bob', vicidial._half_hour_start(now()), 'ANYONE');
    SELECT * FROM vicidial.hopper_run();
    SELECT * FROM vicidial.callback_dial(5, 'bob');
    SELECT vicidial.lead_disposition(5, 'bob', 'SALE');
    SELECT * FROM vicidial.callback_modify(6, archive => true);
    SELECT * FROM vicidial.hopper_next('OLD', 'bob');
    SELECT vicidial.callback_schedule(11, 'bob', now() + interval '2 days', 'ANYONE');
    UPDATE vicidial.vicidial_callbacks SET status = 'LIVE' WHERE lead_id = 11;
    GRANT USAGE ON SCHEMA vicidial TO agent_role;
    GRANT EXECUTE ON FUNCTION vicidial.agent_callbacks(varchar), vicidial.hopper_next(varchar, varchar),
                              vicidial.callback_slots(date, varchar) TO agent_role WITH GRANT OPTION;
});
my $states = q{
    SELECT (SELECT string_agg(status || '/' || recipient, ' ' ORDER BY callback_id) FROM vicidial.vicidial_callbacks)
        || ' | ' || (SELECT string_agg(lead_id || ':' || status, ' ' ORDER BY lead_id) FROM vicidial.vicidial_list)
        || ' | ' || (SELECT string_agg(lead_id || ':' || priority || source, ' ' ORDER BY hopper_id) FROM vicidial.vicidial_hopper)
};
my $before = $node->safe_psql('old', $states);
is($before,
    'ACTIVE/USERONLY ACTIVE/ANYONE LIVE/USERONLY LIVE/ANYONE ARCHIVE/ANYONE ARCHIVE/ANYONE LIVE/ANYONE LIVE/ANYONE'
      . ' | 1:CBHOLD 2:CBHOLD 3:CBHOLD 4:INCALL 5:SALE 6:CALLBK 7:NEW 8:NEW 9:NEW 10:CALLBK 11:CBHOLD 12:NEW'
      . ' | 10:50C 7:0S 8:0S',
    '1.0 holds callbacks, leads and hopper rows in every state');

$node->safe_psql('old', q{SET TimeZone = 'America/Chicago'; ALTER EXTENSION vicidial_callbacks UPDATE});
is($node->safe_psql('old', q{SELECT extversion FROM pg_extension WHERE extname = 'vicidial_callbacks'}),
    '1.1', 'ALTER EXTENSION ... UPDATE reaches 1.1');
is($node->safe_psql('old', $states), $before, 'the upgrade loses and changes no row');
is($node->safe_psql('old', 'SELECT count(*) FROM vicidial.invariant_violations()'), '0',
    'the upgraded data obeys every invariant');
# Calling hours (CONTRACT §12): a 1.0 campaign dials around the clock in the
# upgrading session's zone; open callbacks take their lead's zone; a lead
# 1.0 left waiting is released by the first run; new campaigns get 9am-9pm.
is($node->safe_psql('old', q{SELECT string_agg(campaign_id || ' ' || local_call_time || ' ' || time_zone, ',') FROM vicidial.vicidial_campaigns}),
    'OLD 24hours America/Chicago', 'a 1.0 campaign gets 24hours and the upgrading session\'s zone');
is($node->safe_psql('old', q{SELECT string_agg(status || ' ' || coalesce(customer_timezone, '-'), ',' ORDER BY callback_id) FROM vicidial.vicidial_callbacks}),
    join(',', ('ACTIVE America/Chicago') x 2, ('LIVE America/Chicago') x 2, ('ARCHIVE -') x 2, ('LIVE America/Chicago') x 2),
    'open callbacks get their lead\'s zone, archived ones none');
is($node->safe_psql('old', q{SELECT string_agg(status || ' ' || coalesce(archive_reason, '-') || ' ' || attempts, ',' ORDER BY callback_id)
                               FROM vicidial.vicidial_callbacks WHERE status = 'ARCHIVE'}),
    'ARCHIVE LEGACY 0,ARCHIVE LEGACY 0', 'archived callbacks older than 1.1 say LEGACY');
# Policies (CONTRACT §8, §12): every setting at its default, retries of
# an open callback count from its time, the callback log starts empty.
is($node->safe_psql('old', q{
    SELECT string_agg(concat_ws(' ', callback_useronly_move_minutes, callback_active_limit, callback_retry_statuses,
                                callback_retry_delay, callback_max_attempts, callback_display_days), ',')
      FROM vicidial.vicidial_campaigns}),
    '0 0 {} 1 day 3 0', 'a 1.0 campaign gets every policy at its default');
is($node->safe_psql('old', q{SELECT count(*) FILTER (WHERE callback_active_limit IS NOT NULL) FROM vicidial.vicidial_users}),
    '0', 'agents take their campaign\'s active limit');
is($node->safe_psql('old', q{
    SELECT string_agg(status || ' ' || coalesce((retry_base_time = callback_time)::text, '-'), ',' ORDER BY callback_id)
      FROM vicidial.vicidial_callbacks}),
    join(',', ('ACTIVE true') x 2, ('LIVE true') x 2, ('ARCHIVE -') x 2, ('LIVE true') x 2),
    'open callbacks count their retries from their own time');
is($node->safe_psql('old', q{SELECT count(*) FROM vicidial.vicidial_callback_log}), '0',
    'the callback log starts at the upgrade');
is($node->safe_psql('old', q{SELECT string_agg(lead_id || ' ' || release_after, ',') FROM vicidial.callback_releases}),
    '11 -infinity', 'the lead 1.0 left waiting beside its LIVE ANYONE callback waits for the first run');
is($node->safe_psql('old', q{SELECT string_agg(call_time_id, ',' ORDER BY call_time_id) FROM vicidial.vicidial_call_times}),
    '24hours,9am-9pm', 'the shipped call times are there');
is($node->safe_psql('old', q{
    SELECT has_function_privilege('agent_role', 'vicidial.callback_slots(date, varchar, bigint)', 'EXECUTE WITH GRANT OPTION')
       AND has_function_privilege('agent_role', 'vicidial.agent_callbacks(varchar)', 'EXECUTE WITH GRANT OPTION')}),
    't', 'grants on the functions 1.1 re-creates are made again, grant option included');
is($node->safe_psql('old', q{
    SELECT has_function_privilege('agent_role', 'vicidial.agent_callbacks(varchar)', 'EXECUTE')
       AND has_function_privilege('agent_role', 'vicidial.hopper_next(varchar, varchar)', 'EXECUTE')
       AND NOT has_function_privilege('agent_role', 'vicidial.callback_modify(bigint, timestamptz, varchar, text, text, boolean)', 'EXECUTE')}),
    't', 'grants made on 1.0 survive the upgrade, and nothing more is granted');

# The same grant on a fresh install, so that privileges compare too.
$node->safe_psql('fresh', q{
    CREATE EXTENSION vicidial_callbacks;
    GRANT USAGE ON SCHEMA vicidial TO agent_role;
    GRANT EXECUTE ON FUNCTION vicidial.agent_callbacks(varchar), vicidial.hopper_next(varchar, varchar),
                              vicidial.callback_slots(date, varchar, bigint) TO agent_role WITH GRANT OPTION;
});
my $fresh = catalog_fingerprint($node, 'fresh');
like($fresh, qr/^function vicidial\.hopper_run\(timestamp with time zone\) /m, 'the fingerprint sees functions');
like($fresh, qr/^dumped vicidial\.vicidial_callbacks /m, 'the fingerprint sees the dump configuration');
# Compared line by line, so that a failure names just the differences.
my %upgraded = map { $_ => 1 } split /\n/, catalog_fingerprint($node, 'old');
my %installed = map { $_ => 1 } split /\n/, $fresh;
is(join("\n", (map { "only after upgrade: $_" } sort grep { !$installed{$_} } keys %upgraded),
               (map { "only in a fresh install: $_" } sort grep { !$upgraded{$_} } keys %installed)),
    '', 'the upgraded catalog equals a fresh 1.1 install');

# The upgraded database goes on working, and the worker serves both.
$node->safe_psql('old', q{SELECT vicidial.callback_schedule(9, 'bob', vicidial._half_hour_start(now()), 'ANYONE')});
ok($node->poll_query_until('old', q{
    SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks WHERE lead_id = 9 AND status <> 'ARCHIVE'}),
    'the worker serves the upgraded database');
ok($node->poll_query_until('old', q{SELECT status = 'CALLBK' FROM vicidial.vicidial_list WHERE lead_id = 11}),
    'and releases the lead 1.0 left waiting');
is($node->safe_psql('old', q{
    SELECT string_agg(reason || ' ' || coalesce(old_status, '-') || ' ' || new_status, ',' ORDER BY change_id)
      FROM vicidial.vicidial_callback_log g JOIN vicidial.vicidial_callbacks c USING (callback_id) WHERE c.lead_id = 9}),
    'SCHEDULED - ACTIVE,SWEEP ACTIVE LIVE', 'and logs the changes of the upgraded database\'s callbacks');
is($node->safe_psql('old', 'SELECT count(*) FROM vicidial.callback_releases'), '0', 'which waits no more');

$node->safe_psql('postgres', 'CREATE DATABASE still_old');
$node->safe_psql('still_old', q{
    CREATE EXTENSION vicidial_callbacks VERSION '1.0';
    INSERT INTO vicidial.vicidial_users ("user") VALUES ('bob');
    INSERT INTO vicidial.vicidial_campaigns (campaign_id) VALUES ('C');
    INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'C');
    INSERT INTO vicidial.vicidial_list (list_id) VALUES (1);
    SELECT vicidial.callback_schedule(1, 'bob', vicidial._half_hour_start(now()));
});
$node->append_conf('postgresql.conf', "vicidial_callbacks.database = 'old, fresh, still_old'\n");
$node->restart;
ok($node->poll_query_until('still_old', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks}),
    'the new library serves a database still on 1.0');
is($node->safe_psql('still_old', q{SELECT count(*) FROM vicidial.hopper_runs WHERE error IS NOT NULL}), '0',
    'without a failed run');

# A fresh install takes an existing vicidial schema only when it is empty
# and a superuser's: another owner could drop the extension's objects, and
# objects already there would sit beside them unchecked.
$node->safe_psql('postgres', q{
    CREATE DATABASE squatted; CREATE DATABASE planted; CREATE DATABASE prepared; CREATE ROLE squatter;
});
$node->safe_psql('squatted', 'CREATE SCHEMA vicidial AUTHORIZATION squatter');
my ($rc, $out, $err) = $node->psql('squatted', 'CREATE EXTENSION vicidial_callbacks');
like($err, qr/schema "vicidial" already exists and belongs to "squatter", who is not a superuser/,
    'a schema owned by a role that is not a superuser is refused');
$node->safe_psql('planted', 'CREATE SCHEMA vicidial; CREATE FUNCTION vicidial.now() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$');
($rc, $out, $err) = $node->psql('planted', 'CREATE EXTENSION vicidial_callbacks');
like($err, qr/schema "vicidial" already exists and is not empty/, 'a schema with objects in it is refused');
$node->safe_psql('prepared', 'CREATE SCHEMA vicidial');
is($node->safe_psql('prepared', q{CREATE EXTENSION vicidial_callbacks; SELECT extversion FROM pg_extension WHERE extname = 'vicidial_callbacks'}),
    '1.1', 'an empty schema of a superuser is taken (as a restore creates it)');

$node->stop;
done_testing();
