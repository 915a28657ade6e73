# The upgrade paths: 1.0 -> 1.1, 1.0 -> 1.1 -> 1.2 (one ALTER EXTENSION
# ... UPDATE from 1.0) and 1.1 -> 1.2. Each released version stays
# installable; a database holding data in every state reaches the new
# version, loses and changes no row (but the ones 1.0 accepted and its
# successors refuse, repaired with a warning naming each), keeps its grants,
# obeys every invariant, and ends with a catalog equal to a fresh install of
# that version; the worker serves a database on either version.
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
$node->safe_psql('postgres', 'CREATE DATABASE old; CREATE DATABASE fresh; CREATE ROLE agent_role; CREATE ROLE admin_role');

sub extversion
{
    my ($db) = @_;
    return $node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'vicidial_callbacks'});
}

# The lines of two catalog fingerprints that differ, each side named: empty
# when the two databases have the same installed extension.
sub catalog_differences
{
    my ($upgraded_db, $fresh_db) = @_;
    my %upgraded = map { $_ => 1 } split /\n/, catalog_fingerprint($node, $upgraded_db);
    my %installed = map { $_ => 1 } split /\n/, catalog_fingerprint($node, $fresh_db);
    return join("\n", (map { "only after upgrade: $_" } sort grep { !$installed{$_} } keys %upgraded),
                      (map { "only in a fresh install: $_" } sort grep { !$upgraded{$_} } keys %installed));
}

# A query reading every row of every table the extension has now, over the
# columns they have now (a later version may add tables and columns, never
# drop one), the sequences' last values and the partitions of the logs: one
# line per row, sorted. Built before an upgrade and run before and after
# it, it shows any row lost or changed.
sub rows_query
{
    my ($db) = @_;
    my @parts;
    for my $table (split /\n/, $node->safe_psql($db, q{
        SELECT c.relname || ' ' || string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
          FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE c.relnamespace = 'vicidial'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
         GROUP BY c.relname ORDER BY c.relname}))
    {
        my ($name, $columns) = split / /, $table, 2;
        push @parts, "SELECT '$name ' || row_to_json(r)::text FROM (SELECT $columns FROM vicidial.$name) r";
    }
    my $sequences = $node->safe_psql($db, q{
        SELECT string_agg(quote_literal(c.oid::regclass::text), ', ')
          FROM pg_class c WHERE c.relnamespace = 'vicidial'::regnamespace AND c.relkind = 'S'});
    push @parts, "SELECT 'sequence ' || s || ' ' || coalesce(pg_sequence_last_value(s::regclass)::text, '-')"
      . " FROM unnest(ARRAY[$sequences]::text[]) s" if $sequences ne '';
    my $partitioned = $node->safe_psql($db, q{
        SELECT string_agg(quote_literal(c.oid::regclass::text), ', ')
          FROM pg_class c WHERE c.relnamespace = 'vicidial'::regnamespace AND c.relkind = 'p'});
    push @parts, qq{SELECT 'partition ' || i.inhparent::regclass || ' ' || i.inhrelid::regclass || ' '
                           || pg_get_expr(c.relpartbound, c.oid)
                      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                     WHERE i.inhparent::regclass::text IN ($partitioned)} if $partitioned ne '';
    return "SELECT line FROM (\n" . join("\nUNION ALL\n", @parts) . "\n) rows(line) ORDER BY line COLLATE \"C\"";
}

# The warnings an upgrade printed, one a line.
sub warnings_of
{
    my ($stderr) = @_;
    return join("\n", $stderr =~ /WARNING:  (.*)$/mg);
}

# What a query returns, or the error it raised: a check after an upgrade
# that went wrong fails with the error and the test goes on.
sub result
{
    my ($db, $sql) = @_;
    my ($rc, $out, $err) = $node->psql($db, $sql);
    return $rc == 0 ? $out : "error: $err";
}

$node->safe_psql('old', q{CREATE EXTENSION vicidial_callbacks VERSION '1.0'});
is(extversion('old'), '1.0', 'the released 1.0 script is still installable');

# 1.0 data in every state: ACTIVE (both recipients), LIVE USERONLY, LIVE
# ANYONE with its lead in the hopper, ARCHIVE (dialed and cancelled), a
# lead INCALL from the hopper, standard hopper rows, a LIVE ANYONE callback
# flipped by hand whose lead 1.0 left in CBHOLD; and grants to keep, on
# functions 1.1 keeps and on ones it re-creates.
my $seed_1_0 = q{
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
};
$node->safe_psql('old', $seed_1_0);
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

$node->safe_psql('old', q{SET TimeZone = 'America/Chicago'; ALTER EXTENSION vicidial_callbacks UPDATE TO '1.1'});
is(extversion('old'), '1.1', 'ALTER EXTENSION ... UPDATE TO \'1.1\' reaches 1.1');
is($node->safe_psql('old', $states), $before, 'the upgrade loses and changes no row');
is($node->safe_psql('old', 'SELECT count(*) FROM vicidial.invariant_violations()'), '0',
    'the upgraded data obeys every invariant');
# Calling hours: a 1.0 campaign dials around the clock in the upgrading
# session's zone; open callbacks take their lead's zone; a lead 1.0 left
# waiting is released by the first run; new campaigns get 9am-9pm.
is($node->safe_psql('old', q{SELECT string_agg(campaign_id || ' ' || local_call_time || ' ' || time_zone, ',') FROM vicidial.vicidial_campaigns}),
    'OLD 24hours America/Chicago', 'a 1.0 campaign gets 24hours and the upgrading session\'s zone');
is($node->safe_psql('old', q{SELECT string_agg(status || ' ' || coalesce(customer_timezone, '-'), ',' ORDER BY callback_id) FROM vicidial.vicidial_callbacks}),
    join(',', ('ACTIVE America/Chicago') x 2, ('LIVE America/Chicago') x 2, ('ARCHIVE -') x 2, ('LIVE America/Chicago') x 2),
    'open callbacks get their lead\'s zone, archived ones none');
is($node->safe_psql('old', q{SELECT string_agg(status || ' ' || coalesce(archive_reason, '-') || ' ' || attempts, ',' ORDER BY callback_id)
                               FROM vicidial.vicidial_callbacks WHERE status = 'ARCHIVE'}),
    'ARCHIVE LEGACY 0,ARCHIVE LEGACY 0', 'archived callbacks older than 1.1 say LEGACY');
# Policies: every setting at its default, retries of an open callback
# count from its time, the callback log starts empty.
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

# The same grant on a fresh 1.1 install, so that privileges compare too.
$node->safe_psql('fresh', q{
    CREATE EXTENSION vicidial_callbacks VERSION '1.1';
    GRANT USAGE ON SCHEMA vicidial TO agent_role;
    GRANT EXECUTE ON FUNCTION vicidial.agent_callbacks(varchar), vicidial.hopper_next(varchar, varchar),
                              vicidial.callback_slots(date, varchar, bigint) TO agent_role WITH GRANT OPTION;
});
my $fresh = catalog_fingerprint($node, 'fresh');
like($fresh, qr/^function vicidial\.hopper_run\(timestamp with time zone\) /m, 'the fingerprint sees functions');
like($fresh, qr/^dumped vicidial\.vicidial_callbacks /m, 'the fingerprint sees the dump configuration');
# Compared line by line, so that a failure names just the differences.
is(catalog_differences('old', 'fresh'), '', 'the upgraded catalog equals a fresh 1.1 install');

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

# A new database on 1.0 with agent bob, campaign C, its list 1 and $leads
# leads, then $sql.
sub new_1_0_database
{
    my ($db, $leads, $sql) = @_;
    $node->safe_psql('postgres', "CREATE DATABASE $db");
    $node->safe_psql($db, qq{
        CREATE EXTENSION vicidial_callbacks VERSION '1.0';
        INSERT INTO vicidial.vicidial_users ("user") VALUES ('bob');
        INSERT INTO vicidial.vicidial_campaigns (campaign_id) VALUES ('C');
        INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'C');
        INSERT INTO vicidial.vicidial_list (list_id, phone_number) SELECT 1, '555000' || g FROM generate_series(1, $leads) g;
        $sql
    });
    return;
}

new_1_0_database('still_old', 1, q{SELECT vicidial.callback_schedule(1, 'bob', vicidial._half_hour_start(now()));});
$node->append_conf('postgresql.conf', "vicidial_callbacks.database = 'old, fresh, still_old'\n");
$node->restart;
ok($node->poll_query_until('still_old', q{SELECT status = 'LIVE' FROM vicidial.vicidial_callbacks}),
    'the new library serves a database still on 1.0');
is($node->safe_psql('still_old', q{SELECT count(*) FROM vicidial.hopper_runs WHERE error IS NOT NULL}), '0',
    'without a failed run');

# 1.0 -> 1.1 -> 1.2, in the one ALTER EXTENSION ... UPDATE an operator runs
# on 1.0. The same 1.0 data and grants, and what 1.0 accepted that its
# successors refuse: a campaign dialing INCALL, a lead it queued while
# being called, an open callback whose lead_status is no status text, and
# an ARCHIVE one (final: kept as it is).
$node->safe_psql('postgres', 'CREATE DATABASE from10; CREATE DATABASE fresh12_from10');
$node->safe_psql('from10', q{CREATE EXTENSION vicidial_callbacks VERSION '1.0'});
$node->safe_psql('from10', $seed_1_0);
$node->safe_psql('from10', q{
    INSERT INTO vicidial.vicidial_users ("user") VALUES ('cat');
    INSERT INTO vicidial.vicidial_campaigns (campaign_id, dial_statuses, hopper_level) VALUES ('INC', '{NEW,INCALL}', 5);
    INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (2, 'INC');
    INSERT INTO vicidial.vicidial_list (list_id, phone_number) VALUES (2, '5551013'), (2, '5551014');
    SELECT vicidial.hopper_fill();
    SELECT * FROM vicidial.hopper_next('INC', 'cat');
    -- the list is reset while lead 13 is being called: the fill queues it again
    UPDATE vicidial.vicidial_list SET called_since_last_reset = 'N' WHERE list_id = 2;
    SELECT vicidial.hopper_fill();
    SELECT vicidial.callback_schedule(12, 'bob', now() + interval '2 days', 'ANYONE', lead_status => 'cb_x');
    SELECT * FROM vicidial.callback_modify(
        vicidial.callback_schedule(9, 'bob', now() + interval '2 days', 'ANYONE', lead_status => 'ab_c'), archive => true);
});
my $cb_x = $node->safe_psql('from10', q{SELECT callback_id FROM vicidial.vicidial_callbacks WHERE lead_status = 'cb_x'});
is($node->safe_psql('from10', $states),
    'ACTIVE/USERONLY ACTIVE/ANYONE LIVE/USERONLY LIVE/ANYONE ARCHIVE/ANYONE ARCHIVE/ANYONE LIVE/ANYONE LIVE/ANYONE'
      . ' ACTIVE/ANYONE ARCHIVE/ANYONE'
      . ' | 1:CBHOLD 2:CBHOLD 3:CBHOLD 4:INCALL 5:SALE 6:CALLBK 7:NEW 8:NEW 9:ab_c 10:CALLBK 11:CBHOLD 12:CBHOLD'
      . ' 13:INCALL 14:NEW'
      . ' | 10:50C 7:0S 8:0S 14:0S 13:0S',
    '1.0 holds what its successors refuse beside data in every state');
my $rows_from10 = rows_query('from10');
my @before_from10 = split /\n/, $node->safe_psql('from10', $rows_from10);

my ($rc, $out, $err) = $node->psql('from10', q{SET TimeZone = 'America/Chicago'; ALTER EXTENSION vicidial_callbacks UPDATE});
is($rc, 0, 'ALTER EXTENSION ... UPDATE from 1.0 succeeds');
is(extversion('from10'), '1.2', 'and reaches 1.2');
is(warnings_of($err),
    join("\n", 'campaign "INC": INCALL removed from dial_statuses',
               'lead 13: INCALL, taken out of the hopper of campaign "INC"',
               qq{callback $cb_x: lead_status "cb_x" replaced by CALLBK}),
    'a warning names each repair, once');
is(result('from10', q{SELECT string_agg(campaign_id || ' ' || dial_statuses::text, ',' ORDER BY campaign_id) FROM vicidial.vicidial_campaigns}),
    'INC {NEW},OLD {NEW}', 'INCALL is no more a dial status, the others stay');
is(result('from10', q{SELECT string_agg(callback_id || ' ' || status || ' ' || lead_status, ',' ORDER BY callback_id)
                        FROM vicidial.vicidial_callbacks WHERE lead_id IN (9, 12)}),
    qq{$cb_x ACTIVE CALLBK,} . ($cb_x + 1) . ' ARCHIVE ab_c',
    'the open callback\'s lead_status is CALLBK, the ARCHIVE one keeps its own');
is(result('from10', q{SELECT string_agg(lead_id || ':' || priority || source, ' ' ORDER BY hopper_id) FROM vicidial.vicidial_hopper}),
    '10:50C 7:0S 8:0S 14:0S', 'the lead being called is out of the hopper, every other row is in it');
# Every other row, as it was.
my @expected_from10 = sort map {
    my $row = $_;
    $row =~ s/^(vicidial_campaigns \{"campaign_id":"INC",.*"dial_statuses":\["NEW"),"INCALL"\]/$1]/;
    $row =~ s/^(vicidial_callbacks \{"callback_id":$cb_x,.*"lead_status":)"cb_x"/$1"CALLBK"/;
    $row =~ /^vicidial_hopper \{.*"lead_id":13,/ ? () : ($row)
} @before_from10;
is(join("\n", sort split /\n/, result('from10', $rows_from10)), join("\n", @expected_from10),
    'the upgrade from 1.0 loses and changes no other row');
is(result('from10', 'SELECT count(*) FROM vicidial.invariant_violations()'), '0',
    'the data upgraded from 1.0 obeys every invariant of 1.2');
is(result('from10', q{
    SELECT has_function_privilege('agent_role', 'vicidial.callback_slots(date, varchar, bigint)', 'EXECUTE WITH GRANT OPTION')
       AND has_function_privilege('agent_role', 'vicidial.agent_callbacks(varchar)', 'EXECUTE WITH GRANT OPTION')
       AND has_function_privilege('agent_role', 'vicidial.hopper_next(varchar, varchar)', 'EXECUTE WITH GRANT OPTION')}),
    't', 'grants made on 1.0 survive the upgrade to 1.2');
$node->safe_psql('fresh12_from10', q{
    CREATE EXTENSION vicidial_callbacks;
    GRANT USAGE ON SCHEMA vicidial TO agent_role;
    GRANT EXECUTE ON FUNCTION vicidial.agent_callbacks(varchar), vicidial.hopper_next(varchar, varchar),
                              vicidial.callback_slots(date, varchar, bigint) TO agent_role WITH GRANT OPTION;
});
is(catalog_differences('from10', 'fresh12_from10'), '', 'the catalog upgraded from 1.0 equals a fresh 1.2 install');
# The repaired callback goes on: it can be archived, and its lead's number
# put on the do-not-call list (which archives it).
is(result('from10', qq{
    BEGIN;
    SELECT status || ' ' || archive_reason FROM vicidial.callback_modify($cb_x, archive => true);
    ROLLBACK;}),
    'ARCHIVE CANCELLED', 'the repaired callback can be archived');
is(result('from10', qq{
    INSERT INTO vicidial.vicidial_dnc (phone_number) SELECT phone_number FROM vicidial.vicidial_list WHERE lead_id = 12;
    SELECT status || ' ' || archive_reason FROM vicidial.vicidial_callbacks WHERE callback_id = $cb_x}),
    'ARCHIVE DNC', 'and its lead\'s number put on the do-not-call list, which archives it');

# 1.1 -> 1.2: a database created on 1.1 holding data in every state:
# callbacks ACTIVE, LIVE and ARCHIVE of both recipients, a LIVE ANYONE
# callback whose lead waits in CBHOLD, leads INCALL (from the hopper and
# from a callback), hopper rows of both sources, the callback and dial
# logs in a month partition, do-not-call numbers, calling hours; and grants
# on functions 1.2 keeps and on ones it re-creates.
$node->safe_psql('postgres', 'CREATE DATABASE from11; CREATE DATABASE fresh12_from11');
$node->safe_psql('from11', q{CREATE EXTENSION vicidial_callbacks VERSION '1.1'});
is(extversion('from11'), '1.1', 'the released 1.1 script is still installable');
my $until = $node->safe_psql('postgres', q{SELECT date_trunc('month', now(), 'UTC') + interval '2 months'});
# A statement of its own, before any log row: the logs' rows go to this month's partition.
$node->safe_psql('from11', qq{SELECT vicidial.log_partitions_add('$until')});
$node->safe_psql('from11', q{
    SET TimeZone = 'America/Chicago';
    INSERT INTO vicidial.vicidial_call_times (call_time_id, call_time_name, ct_default_start, ct_default_stop, ct_sunday_start, ct_sunday_stop)
    VALUES ('WEEKDAYS', 'closed on Sundays', '08:00', '20:00', '00:00', '00:00');
    INSERT INTO vicidial.vicidial_call_time_holidays (call_time_id, holiday_date) VALUES ('WEEKDAYS', '2030-12-25');
    INSERT INTO vicidial.vicidial_state_call_times (state, call_time_id) VALUES ('ZZ', 'WEEKDAYS');
    INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) VALUES ('ann', true), ('bob', false);
    INSERT INTO vicidial.vicidial_campaigns (campaign_id, dial_statuses, hopper_level, local_call_time) VALUES ('NEW', '{NEW}', 5, '24hours');
    INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'NEW');
    INSERT INTO vicidial.vicidial_list (list_id, phone_number) SELECT 1, '555000' || g FROM generate_series(1, 14) g;
    INSERT INTO vicidial.vicidial_dnc (phone_number) VALUES ('5550014');
    INSERT INTO vicidial.vicidial_campaign_dnc (campaign_id, phone_number) VALUES ('NEW', '5550013');
    SELECT vicidial.callback_schedule(1, 'ann', now() + interval '2 days', 'USERONLY');
    SELECT vicidial.callback_schedule(2, 'bob', now() + interval '2 days', 'ANYONE');
    SELECT vicidial.callback_schedule(3, 'ann', now(), 'USERONLY');
    SELECT vicidial.callback_schedule(4, 'bob', now(), 'ANYONE');
    SELECT vicidial.callback_schedule(5, 'bob', now(), 'ANYONE');
    SELECT vicidial.callback_schedule(6, 'bob', now() + interval '3 days', 'ANYONE');
    SELECT vicidial.callback_schedule(10, 'bob', now(), 'ANYONE');
    SELECT vicidial.callback_schedule(12, 'ann', now(), 'USERONLY');
    SELECT * FROM vicidial.hopper_run();
    SELECT * FROM vicidial.callback_dial(5, 'bob');
    SELECT vicidial.lead_disposition(5, 'bob', 'SALE');
    SELECT * FROM vicidial.callback_modify(6, archive => true);
    SELECT * FROM vicidial.hopper_next('NEW', 'bob');
    SELECT * FROM vicidial.callback_dial(8, 'ann');
    SELECT vicidial.callback_schedule(11, 'bob', now() + interval '2 days', 'ANYONE');
    UPDATE vicidial.vicidial_callbacks SET status = 'LIVE' WHERE lead_id = 11;
    GRANT USAGE ON SCHEMA vicidial TO agent_role, admin_role;
    GRANT EXECUTE ON FUNCTION vicidial.agent_callbacks(varchar), vicidial.hopper_next(varchar, varchar),
                              vicidial.callback_slots(date, varchar, bigint) TO agent_role WITH GRANT OPTION;
    GRANT EXECUTE ON FUNCTION vicidial.hopper_run(timestamptz), vicidial.worker_state() TO admin_role;
    GRANT SELECT ON vicidial.worker_status TO admin_role;
});
is($node->safe_psql('from11', $states),
    'ACTIVE/USERONLY ACTIVE/ANYONE LIVE/USERONLY LIVE/ANYONE ARCHIVE/ANYONE ARCHIVE/ANYONE LIVE/ANYONE LIVE/USERONLY LIVE/ANYONE'
      . ' | 1:CBHOLD 2:CBHOLD 3:CBHOLD 4:INCALL 5:SALE 6:CALLBK 7:NEW 8:NEW 9:NEW 10:CALLBK 11:CBHOLD 12:INCALL 13:NEW 14:NEW'
      . ' | 10:50C 7:0S 8:0S',
    '1.1 holds callbacks, leads and hopper rows in every state');
is($node->safe_psql('from11', q{
    SELECT (SELECT count(*) FROM vicidial.vicidial_log) || ' ' || (SELECT count(*) FROM vicidial.vicidial_callback_log)
           || ' ' || (SELECT string_agg(DISTINCT tableoid::regclass::text, ',') FROM vicidial.vicidial_log)
           || ' ' || (SELECT string_agg(lead_id || ' ' || release_after, ',') FROM vicidial.callback_releases)}),
    '3 17 vicidial.vicidial_log_' . $node->safe_psql('postgres', q{SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')})
      . ' 11 -infinity',
    'dials and callback changes are logged in a month partition; a lead waits for its release');
my $rows_from11 = rows_query('from11');
my $before_from11 = $node->safe_psql('from11', $rows_from11);
($rc, $out, $err) = $node->psql('from11', q{SET TimeZone = 'America/Chicago'; ALTER EXTENSION vicidial_callbacks UPDATE});
is($rc, 0, 'ALTER EXTENSION ... UPDATE from 1.1 succeeds');
is(extversion('from11'), '1.2', 'and reaches 1.2');
is(warnings_of($err), '', 'without a warning: there is nothing to repair');
is($node->safe_psql('from11', $rows_from11), $before_from11, 'the upgrade from 1.1 loses and changes no row');
is($node->safe_psql('from11', 'SELECT count(*) FROM vicidial.invariant_violations()'), '0',
    'the data upgraded from 1.1 obeys every invariant of 1.2');
is($node->safe_psql('from11', q{
    SELECT has_function_privilege('agent_role', 'vicidial.callback_slots(date, varchar, bigint)', 'EXECUTE WITH GRANT OPTION')
       AND has_function_privilege('agent_role', 'vicidial.agent_callbacks(varchar)', 'EXECUTE WITH GRANT OPTION')
       AND has_function_privilege('agent_role', 'vicidial.hopper_next(varchar, varchar)', 'EXECUTE WITH GRANT OPTION')
       AND has_function_privilege('admin_role', 'vicidial.hopper_run(timestamptz)', 'EXECUTE')
       AND has_function_privilege('admin_role', 'vicidial.worker_state()', 'EXECUTE')
       AND has_table_privilege('admin_role', 'vicidial.worker_status', 'SELECT')
       AND NOT has_function_privilege('agent_role', 'vicidial.hopper_run(timestamptz)', 'EXECUTE')}),
    't', 'grants made on 1.1 survive the upgrade, and nothing more is granted');
$node->safe_psql('fresh12_from11', q{
    CREATE EXTENSION vicidial_callbacks;
    GRANT USAGE ON SCHEMA vicidial TO agent_role, admin_role;
    GRANT EXECUTE ON FUNCTION vicidial.agent_callbacks(varchar), vicidial.hopper_next(varchar, varchar),
                              vicidial.callback_slots(date, varchar, bigint) TO agent_role WITH GRANT OPTION;
    GRANT EXECUTE ON FUNCTION vicidial.hopper_run(timestamptz), vicidial.worker_state() TO admin_role;
    GRANT SELECT ON vicidial.worker_status TO admin_role;
});
$node->safe_psql('fresh12_from11', qq{SELECT vicidial.log_partitions_add('$until')});
is(catalog_differences('from11', 'fresh12_from11'), '', 'the catalog upgraded from 1.1 equals a fresh 1.2 install');

# A 1.1 database upgraded from 1.0 before 1.0's data was repaired may hold
# an open callback whose lead_status 1.1 refuses and a lead queued while
# being called (written here with the triggers off, as 1.1 refuses both):
# the upgrade to 1.2 repairs them as the upgrade from 1.0 does.
$node->safe_psql('postgres', 'CREATE DATABASE legacy11');
$node->safe_psql('legacy11', q{
    CREATE EXTENSION vicidial_callbacks VERSION '1.1';
    INSERT INTO vicidial.vicidial_users ("user") VALUES ('bob');
    INSERT INTO vicidial.vicidial_campaigns (campaign_id, local_call_time) VALUES ('C', '24hours');
    INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'C');
    INSERT INTO vicidial.vicidial_list (list_id, phone_number) SELECT 1, '555000' || g FROM generate_series(1, 3) g;
    SELECT vicidial.callback_schedule(1, 'bob', now() + interval '2 days');
    SELECT * FROM vicidial.hopper_run();
    SELECT * FROM vicidial.hopper_next('C', 'bob');
    SET session_replication_role = replica;
    UPDATE vicidial.vicidial_callbacks SET lead_status = 'cb_x' WHERE lead_id = 1;
    INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (2, 'C', 1);
    RESET session_replication_role;
});
is($node->safe_psql('legacy11', $states), 'ACTIVE/ANYONE | 1:CBHOLD 2:INCALL 3:NEW | 3:0S 2:0S',
    'a 1.1 database holds what 1.0 left behind');
($rc, $out, $err) = $node->psql('legacy11', 'ALTER EXTENSION vicidial_callbacks UPDATE');
is(extversion('legacy11'), '1.2', 'ALTER EXTENSION ... UPDATE from such a 1.1 database reaches 1.2');
is(warnings_of($err),
    join("\n", 'lead 2: INCALL, taken out of the hopper of campaign "C"', 'callback 1: lead_status "cb_x" replaced by CALLBK'),
    'a warning names each repair');
is(result('legacy11', $states), 'ACTIVE/ANYONE | 1:CBHOLD 2:INCALL 3:NEW | 3:0S',
    'the lead being called is out of the hopper, every other row is kept');
is(result('legacy11', q{SELECT lead_status FROM vicidial.vicidial_callbacks}), 'CALLBK',
    'the open callback\'s lead_status is CALLBK');
is(result('legacy11', 'SELECT count(*) FROM vicidial.invariant_violations()'), '0',
    'and the data obeys every invariant of 1.2');
is(result('legacy11', q{
    BEGIN;
    SELECT status || ' ' || archive_reason FROM vicidial.callback_modify(1, archive => true);
    ROLLBACK;}),
    'ARCHIVE CANCELLED', 'the repaired callback can be archived');
is(result('legacy11', q{
    INSERT INTO vicidial.vicidial_dnc (phone_number) VALUES ('5550001');
    SELECT status || ' ' || archive_reason FROM vicidial.vicidial_callbacks}),
    'ARCHIVE DNC', 'and its lead\'s number put on the do-not-call list');

# Calls held by no agent, which direct SQL on 1.0 could leave: a lead
# INCALL with no user, one of them beside its open callback. No agent
# could end them; the upgrade ends them as stuck calls are ended, says so,
# and from 1.2 on no writer makes another.
new_1_0_database('agentless10', 3, q{
    SELECT vicidial.callback_schedule(2, 'bob', now() + interval '2 days');
    UPDATE vicidial.vicidial_list SET status = 'INCALL', "user" = NULL WHERE lead_id IN (1, 2);
});
($rc, $out, $err) = $node->psql('agentless10', 'ALTER EXTENSION vicidial_callbacks UPDATE');
is(extversion('agentless10'), '1.2', 'ALTER EXTENSION ... UPDATE from 1.0 with calls held by no agent reaches 1.2');
is(warnings_of($err),
    join("\n", 'lead 1: INCALL held by no agent, its call ended (now ERI)',
               'lead 2: INCALL held by no agent, its call ended (now CBHOLD)'),
    'a warning names each call ended');
is(result('agentless10', q{
    SELECT string_agg(lead_id || ':' || status, ' ' ORDER BY lead_id) FROM vicidial.vicidial_list;
    SELECT status FROM vicidial.vicidial_callbacks;
    SELECT count(*) FROM vicidial.invariant_violations();
    SELECT count(*) FROM vicidial.lead_checks}),
    "1:ERI 2:CBHOLD 3:NEW\nACTIVE\n0\n0",
    'the lead beside its callback waits for it again, the other is ended; every invariant holds, checked at the upgrade');
($rc, $out, $err) = $node->psql('agentless10', q{UPDATE vicidial.vicidial_list SET status = 'INCALL' WHERE lead_id = 3},
    extra_params => ['-v', 'VERBOSITY=verbose']);
like($err, qr/23514: new row for relation "vicidial_list" violates check constraint "vicidial_list_incall_held"/,
    'and a lead made INCALL with no agent is refused (23514)');

# A fresh install takes an existing vicidial schema only when it is empty
# and a superuser's: another owner could drop the extension's objects, and
# objects already there would sit beside them unchecked.
$node->safe_psql('postgres', q{
    CREATE DATABASE squatted; CREATE DATABASE planted; CREATE DATABASE prepared; CREATE ROLE squatter;
});
$node->safe_psql('squatted', 'CREATE SCHEMA vicidial AUTHORIZATION squatter');
($rc, $out, $err) = $node->psql('squatted', 'CREATE EXTENSION vicidial_callbacks');
like($err, qr/schema "vicidial" already exists and belongs to "squatter", who is not a superuser/,
    'a schema owned by a role that is not a superuser is refused');
$node->safe_psql('planted', 'CREATE SCHEMA vicidial; CREATE FUNCTION vicidial.now() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$');
($rc, $out, $err) = $node->psql('planted', 'CREATE EXTENSION vicidial_callbacks');
like($err, qr/schema "vicidial" already exists and is not empty/, 'a schema with objects in it is refused');
$node->safe_psql('prepared', 'CREATE SCHEMA vicidial');
$node->safe_psql('prepared', 'CREATE EXTENSION vicidial_callbacks');
is(extversion('prepared'), '1.2', 'an empty schema of a superuser is taken (as a restore creates it)');

$node->stop;
done_testing();
