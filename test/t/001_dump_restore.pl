# pg_dump of a database using the extension, restored into a new database:
# every row and every sequence position survives, and the state machine
# works on the restored copy.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE live');
$node->safe_psql('live', q{
    CREATE EXTENSION vicidial_callbacks;
    INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) VALUES ('ann', true), ('bob', false);
    INSERT INTO vicidial.vicidial_campaigns (campaign_id, dial_statuses) VALUES ('DUMP', '{NEW,CALLBK}');
    INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'DUMP');
    INSERT INTO vicidial.vicidial_list (list_id, first_name) SELECT 1, 'lead ' || g FROM generate_series(1, 6) g;
    SELECT vicidial.callback_schedule(1, 'ann', date_trunc('day', now()) + interval '1 day 10:00', 'USERONLY');
    SELECT vicidial.callback_schedule(2, 'bob', date_trunc('day', now()) + interval '1 day 10:00');
    SELECT vicidial.callback_schedule(3, 'bob', date_trunc('day', now()) + interval '5 days');
    SELECT * FROM vicidial.hopper_run(date_trunc('day', now()) + interval '1 day 10:00');
    SELECT * FROM vicidial.callback_dial(1, 'ann');
    SELECT vicidial.lead_disposition(1, 'ann', 'SALE');
});

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
        UNION ALL SELECT 'sequences', string_agg(s.sequencename || '=' || coalesce(s.last_value, 0), ';' ORDER BY s.sequencename)
                    FROM pg_sequences s WHERE s.schemaname = 'vicidial'
    });
}

my $before = snapshot('live');
like($before, qr/ACTIVE.*LIVE.*ARCHIVE|ARCHIVE.*LIVE.*ACTIVE|LIVE/s, 'the source holds callbacks in several states');

my $dump = $node->basedir . '/live.sql';
$node->command_ok([ 'pg_dump', '--no-sync', '-d', $node->connstr('live'), '-f', $dump ], 'pg_dump of the live database');

# A plain restore meets the same rules as any other writer: loading LIVE and
# ARCHIVE rows is refused, so it stops on the first of them.
$node->safe_psql('postgres', 'CREATE DATABASE plain');
$node->command_fails(
    [ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('plain'), '-f', $dump ],
    'a plain restore is refused by the callback rules');

# The documented way: load with the triggers off, as pg_restore --disable-triggers would.
$node->safe_psql('postgres', 'CREATE DATABASE restored');
{
    local $ENV{PGOPTIONS} = '-c session_replication_role=replica';
    $node->command_ok(
        [ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored'), '-f', $dump ],
        'restore with session_replication_role = replica');
}

is(snapshot('restored'), $before, 'every row and every sequence position is restored');
is($node->safe_psql('restored', 'SELECT count(*) FROM vicidial.invariant_violations()'),
    '0', 'the restored data holds the invariants');

# The state machine works on the restored copy.
my $new_id = $node->safe_psql('restored',
    q{SELECT vicidial.callback_schedule(4, 'bob', date_trunc('day', now()) + interval '2 days')});
cmp_ok($new_id, '>', 3, 'a new callback continues the restored sequence');
is($node->safe_psql('restored', 'SELECT went_live FROM vicidial.sweep(date_trunc(\'day\', now()) + interval \'5 days\')'),
    '2', 'the sweep takes the restored and the new ACTIVE callbacks');
my ($rc, $out, $err) = $node->psql('restored',
    q{UPDATE vicidial.vicidial_callbacks SET comments = 'x' WHERE status = 'ARCHIVE'});
like($err, qr/is ARCHIVE and cannot change/, 'restored ARCHIVE rows are still final');
($rc, $out, $err) = $node->psql('restored', q{DELETE FROM vicidial.vicidial_callbacks});
like($err, qr/cannot be deleted/, 'restored callbacks cannot be deleted');

$node->stop;
done_testing();
