# pg_dump of a database using the extension, restored by every route a DBA
# takes (psql, pg_restore, --single-transaction, --disable-triggers) into a
# new database: every row and every sequence position survives with no
# error, the invariants hold, and the state machine works on the copy.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE live');
# A Wednesday two to eight days ahead (before callback 3 falls due),
# whatever today is: the office's hours below are closed on Sundays.
my $office_day = $node->safe_psql('postgres',
    q{SELECT current_date + 2 + (10 - extract(isodow FROM current_date + 2)::integer) % 7});
$node->safe_psql('live', q{
    CREATE EXTENSION vicidial_callbacks;
    INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) VALUES ('ann', true), ('bob', false);
    INSERT INTO vicidial.vicidial_campaigns (campaign_id, dial_statuses, local_call_time) VALUES ('DUMP', '{NEW,CALLBK}', '24hours');
    INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'DUMP');
    INSERT INTO vicidial.vicidial_list (list_id, first_name) SELECT 1, 'lead ' || g FROM generate_series(1, 6) g;
    SELECT vicidial.callback_schedule(1, 'ann', date_trunc('day', now()) + interval '1 day 10:00', 'USERONLY');
    SELECT vicidial.callback_schedule(2, 'bob', date_trunc('day', now()) + interval '1 day 10:00');
    SELECT vicidial.callback_schedule(3, 'bob', date_trunc('day', now()) + interval '10 days');
    SELECT * FROM vicidial.hopper_run(date_trunc('day', now()) + interval '1 day 10:00');
    SELECT * FROM vicidial.callback_dial(1, 'ann');
    SELECT vicidial.lead_disposition(1, 'ann', 'SALE');
    -- Calling hours: the shipped call times and the admin's own, holidays
    -- on both, a state rule, zones; a lead waiting for its hours to open.
    INSERT INTO vicidial.vicidial_call_times (call_time_id, ct_default_start, ct_default_stop, ct_sunday_start, ct_sunday_stop)
    VALUES ('office', '08:00', '18:00', '00:00', '00:00');
    INSERT INTO vicidial.vicidial_call_time_holidays (call_time_id, holiday_date) VALUES ('office', '2027-12-25'), ('9am-9pm', '2027-12-25');
    INSERT INTO vicidial.vicidial_state_call_times (state, call_time_id) VALUES ('TX', 'office');
    INSERT INTO vicidial.vicidial_campaigns (campaign_id, time_zone) VALUES ('ZONE', 'America/Chicago');
    INSERT INTO vicidial.vicidial_lists (list_id, campaign_id, local_call_time, time_zone) VALUES (2, 'ZONE', 'office', 'America/Denver');
    INSERT INTO vicidial.vicidial_list (lead_id, list_id, time_zone, state) VALUES (7, 2, 'America/New_York', 'TX'), (8, 2, NULL, NULL);
    SELECT vicidial.callback_schedule(8, 'bob', vicidial.lead_local_time(8, date ':office_day' + time '17:00'));
    SELECT * FROM vicidial.hopper_run(vicidial.lead_local_time(8, date ':office_day' + time '19:00'));
    -- do-not-call lists and a listed lead
    INSERT INTO vicidial.vicidial_dnc (phone_number) VALUES ('555-0199');
    INSERT INTO vicidial.vicidial_campaign_dnc (campaign_id, phone_number) VALUES ('DUMP', '555 0198');
    UPDATE vicidial.vicidial_list SET phone_number = '5550198' WHERE lead_id = 6;
    -- callback policies set away from their defaults
    UPDATE vicidial.vicidial_campaigns
       SET callback_retry_statuses = '{NA,B}', callback_retry_delay = '2 hours', callback_max_attempts = 5,
           callback_useronly_move_minutes = 15, callback_active_limit = 9, callback_display_days = 2
     WHERE campaign_id = 'DUMP';
    UPDATE vicidial.vicidial_users SET callback_active_limit = 4 WHERE "user" = 'ann';
    -- both logs in month partitions, with rows in the months and in the defaults
    SELECT vicidial.log_partitions_add(date_trunc('month', now()) + interval '3 months');
    INSERT INTO vicidial.vicidial_log (lead_id, list_id, campaign_id, "user", call_date, end_date, status)
    VALUES (5, 1, 'DUMP', 'bob', date_trunc('month', now()) + interval '1 month 2 days', date_trunc('month', now()) + interval '1 month 2 days', 'NA');
    INSERT INTO vicidial.vicidial_callback_log (callback_id, changed_at, new_status, new_callback_time, new_recipient, reason)
    VALUES (3, date_trunc('month', now()) + interval '2 months', 'ACTIVE', now(), 'ANYONE', 'DML');
    -- the fill's memory of full hoppers, beside the marks the writes above left
    SELECT vicidial._record_room_count(now(), now() + interval '10 minutes', vicidial._hours_version());
} =~ s/:office_day/$office_day/gr);

# Every row of every table, in key order, and where each sequence stands.
sub snapshot
{
    my ($db) = @_;
    return $node->safe_psql($db, q{
        SELECT 'users', string_agg(t::text, ';' ORDER BY t."user") FROM vicidial.vicidial_users t
        UNION ALL SELECT 'campaigns', string_agg(t::text, ';' ORDER BY t.campaign_id) FROM vicidial.vicidial_campaigns t
        UNION ALL SELECT 'lists', string_agg(t::text, ';' ORDER BY t.list_id) FROM vicidial.vicidial_lists t
        UNION ALL SELECT 'leads', string_agg(t::text, ';' ORDER BY t.lead_id) FROM vicidial.vicidial_list t
        UNION ALL SELECT 'hopper', string_agg(t::text, ';' ORDER BY t.hopper_id) FROM vicidial.vicidial_hopper t
        UNION ALL SELECT 'callbacks', string_agg(t::text, ';' ORDER BY t.callback_id) FROM vicidial.vicidial_callbacks t
        UNION ALL SELECT 'call times', string_agg(t::text, ';' ORDER BY t.call_time_id) FROM vicidial.vicidial_call_times t
        UNION ALL SELECT 'holidays', string_agg(t::text, ';' ORDER BY t.call_time_id, t.holiday_date) FROM vicidial.vicidial_call_time_holidays t
        UNION ALL SELECT 'state call times', string_agg(t::text, ';' ORDER BY t.state) FROM vicidial.vicidial_state_call_times t
        UNION ALL SELECT 'releases', string_agg(t::text, ';' ORDER BY t.lead_id) FROM vicidial.callback_releases t
        UNION ALL SELECT 'dial log', string_agg(t::text, ';' ORDER BY t.log_id) FROM vicidial.vicidial_log t
        UNION ALL SELECT 'callback log', string_agg(t::text, ';' ORDER BY t.change_id) FROM vicidial.vicidial_callback_log t
        UNION ALL SELECT 'dnc', string_agg(t::text, ';' ORDER BY t.phone_number) FROM vicidial.vicidial_dnc t
        UNION ALL SELECT 'campaign dnc', string_agg(t::text, ';' ORDER BY t.phone_number) FROM vicidial.vicidial_campaign_dnc t
        UNION ALL SELECT 'room count', string_agg(t::text, ';') FROM vicidial.hopper_room_count t
        UNION ALL SELECT 'room changes', count(*) || ' ' || string_agg(t::text, ';' ORDER BY t::text) FROM vicidial.hopper_room_changes t
        UNION ALL SELECT 'log partitions', string_agg(c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid) || ' '
                                                        || (SELECT string_agg(t.tgname, ',' ORDER BY t.tgname) FROM pg_trigger t WHERE t.tgrelid = c.oid)
                                                        || ' ' || (SELECT count(*) FROM vicidial.vicidial_log g WHERE g.tableoid = c.oid)
                                                        || ' ' || (SELECT count(*) FROM vicidial.vicidial_callback_log g WHERE g.tableoid = c.oid)
                                                        || ' ' || (SELECT string_agg(pg_get_indexdef(x.indexrelid), ',' ORDER BY pg_get_indexdef(x.indexrelid)) FROM pg_index x WHERE x.indrelid = c.oid),
                                                        ';' ORDER BY c.relname)
                    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                   WHERE i.inhparent IN ('vicidial.vicidial_log'::regclass, 'vicidial.vicidial_callback_log'::regclass)
        UNION ALL SELECT 'sequences', string_agg(s.sequencename || '=' || coalesce(s.last_value, 0), ';' ORDER BY s.sequencename)
                    FROM pg_sequences s WHERE s.schemaname = 'vicidial'
                     -- the commit-time check queue is empty at rest; its numbering means nothing
                     AND s.sequencename <> 'lead_checks_check_id_seq'
    });
}

my $before = snapshot('live');
is($node->safe_psql('live', q{SELECT string_agg(status || '/' || recipient, ' ' ORDER BY callback_id) FROM vicidial.vicidial_callbacks}),
    'ARCHIVE/USERONLY LIVE/ANYONE ACTIVE/ANYONE LIVE/ANYONE', 'the source holds ACTIVE, LIVE and ARCHIVE callbacks');
is($node->safe_psql('live', q{SELECT lead_id || ' ' || (release_after = vicidial.lead_next_dialable(8, vicidial.lead_local_time(8, date ':office_day' + time '19:00')))
                              FROM vicidial.callback_releases} =~ s/:office_day/$office_day/gr),
    '8 true', 'and a lead waiting for its office hours to open');
is($node->safe_psql('live', q{SELECT (SELECT count(*) FROM vicidial.vicidial_log WHERE end_date IS NOT NULL) || ' '
                                     || (SELECT status FROM vicidial.vicidial_list WHERE lead_id = 6)}),
    '2 DNCC', 'and closed dials in the log, and a lead on a campaign\'s do-not-call list');
is($node->safe_psql('live', q{SELECT string_agg(DISTINCT reason, ',' ORDER BY reason) FROM vicidial.vicidial_callback_log}),
    'DIALED,DML,SCHEDULED,SWEEP', 'and the callback log of those changes');
is($node->safe_psql('live', q{SELECT (SELECT count(*) FROM vicidial.vicidial_log WHERE tableoid <> 'vicidial.vicidial_log_default'::regclass)
                                     || ' ' || (SELECT count(*) FROM vicidial.vicidial_callback_log WHERE tableoid <> 'vicidial.vicidial_callback_log_default'::regclass)
                                     || ' ' || (SELECT count(*) FROM pg_inherits WHERE inhparent = 'vicidial.vicidial_log'::regclass)}),
    '1 1 3', 'and both logs in month partitions (two months and the default), with a row in a month of each');

my $plain = $node->basedir . '/live.sql';
my $custom = $node->basedir . '/live.dump';
$node->command_ok([ 'pg_dump', '--no-sync', '-d', $node->connstr('live'), '-f', $plain ], 'pg_dump, plain');
$node->command_ok([ 'pg_dump', '--no-sync', '-Fc', '-d', $node->connstr('live'), '-f', $custom ], 'pg_dump, custom format');

# A DBA's routes, each as a superuser with default options into a fresh
# database: every row back, no error, the invariants hold.
my %routes = (
    psql => [ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', $plain ],
    pg_restore => [ 'pg_restore', '--exit-on-error', $custom ],
    pg_restore_single => [ 'pg_restore', '--exit-on-error', '--single-transaction', $custom ],
    pg_restore_disable_triggers => [ 'pg_restore', '--exit-on-error', '--disable-triggers', $custom ],
);
foreach my $route (sort keys %routes)
{
    my @command = @{ $routes{$route} };
    $node->safe_psql('postgres', "CREATE DATABASE $route");
    my ($stdout, $stderr);
    my $ok = IPC::Run::run [ @command, '-d', $node->connstr($route) ], '>', \$stdout, '2>', \$stderr;
    ok($ok, "$route: restores with exit code 0");
    is($stderr, '', "$route: restores without an error or warning");
    is(snapshot($route), $before, "$route: every row and every sequence position is restored");
    is($node->safe_psql($route, 'SELECT count(*) FROM vicidial.invariant_violations()'),
        '0', "$route: the restored data holds the invariants");
}

# The restored copy goes on working, and its rules bind every writer.
my $new_id = $node->safe_psql('psql',
    q{SELECT vicidial.callback_schedule(4, 'bob', date_trunc('day', now()) + interval '2 days')});
cmp_ok($new_id, '>', 3, 'a new callback continues the restored sequence');
is($node->safe_psql('psql', 'SELECT went_live FROM vicidial.sweep(date_trunc(\'day\', now()) + interval \'10 days\')'),
    '2', 'the sweep takes the restored and the new ACTIVE callbacks');
my ($rc, $out, $err) = $node->psql('psql',
    q{UPDATE vicidial.vicidial_callbacks SET comments = 'x' WHERE status = 'ARCHIVE'});
like($err, qr/is ARCHIVE and cannot change/, 'restored ARCHIVE rows are still final');
($rc, $out, $err) = $node->psql('psql', q{DELETE FROM vicidial.vicidial_callbacks});
like($err, qr/cannot be deleted/, 'restored callbacks cannot be deleted');
# Restore mode is a superuser's with row_security off: a role granted
# INSERT that sets it too still meets the rules.
$node->safe_psql('psql', q{
    CREATE ROLE loader LOGIN;
    GRANT USAGE ON SCHEMA vicidial TO loader;
    GRANT INSERT ON vicidial.vicidial_callbacks TO loader;
    GRANT USAGE ON SEQUENCE vicidial.vicidial_callbacks_callback_id_seq TO loader;
});
($rc, $out, $err) = $node->psql('psql',
    q{SET row_security = off; INSERT INTO vicidial.vicidial_callbacks (lead_id, status, callback_time) VALUES (5, 'ARCHIVE', now())},
    extra_params => [ '-U', 'loader' ]);
like($err, qr/a new callback must be ACTIVE, not ARCHIVE/, 'a non-superuser cannot load rows in any state');

$node->stop;
done_testing();
