# Shared by the TAP tests: a cluster that preloads the extension, and the
# small call center every test seeds.
package CallbackCluster;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils ();
use Exporter 'import';
use Time::HiRes qw(usleep);

our @EXPORT = qw(callback_node seed_call_center catalog_fingerprint readme_roles_sql
  start_pgbouncer stop_pgbouncer pgbouncer_logfile);

# A started cluster preloading vicidial_callbacks (and whatever else is
# asked), with the given postgresql.conf lines.
sub callback_node
{
    my ($name, %opts) = @_;
    my $node = PostgreSQL::Test::Cluster->new($name);
    $node->init(%{ $opts{init} || {} });
    my $preload = join(',', 'vicidial_callbacks', @{ $opts{preload} || [] });
    $node->append_conf('postgresql.conf', "shared_preload_libraries = '$preload'\n" . ($opts{conf} || ''));
    $node->start unless $opts{no_start};
    return $node;
}

# The extension, three agents, one campaign with one list, and $leads NEW leads.
sub seed_call_center
{
    my ($node, $db, $leads) = @_;
    $leads ||= 10;
    $node->safe_psql($db, qq{
        CREATE EXTENSION IF NOT EXISTS vicidial_callbacks;
        INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) VALUES ('ann', true), ('bob', false), ('cat', false);
        INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time) VALUES ('C', 0, '24hours');
        INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'C');
        INSERT INTO vicidial.vicidial_list (list_id) SELECT 1 FROM generate_series(1, $leads);
    });
    return;
}

# The ```sql blocks of the README's "## Roles" section, in order: the
# roles exactly as the README writes them.
sub readme_roles_sql
{
    open(my $readme, '<', 'README.md') or die "README.md: $!";
    my $text = do { local $/; <$readme> };
    close $readme;
    my ($section) = $text =~ /^## Roles\n(.*?)^## /ms or die 'no "## Roles" section in README.md';
    return $section =~ /^```sql\n(.*?)^```/msg;
}

# Everything the extension put in the catalog, one line per fact, sorted:
# relations, columns in order, constraints, indexes, triggers, functions
# (whole definition, owner-independent settings, privileges), comments
# on its members and their columns, views,
# sequences, schema privileges, extension members and dump configuration.
# Two databases with equal fingerprints have the same installed extension.
sub catalog_fingerprint
{
    my ($node, $db) = @_;
    return $node->safe_psql($db, q{
        WITH ext AS (SELECT oid, extconfig, extcondition FROM pg_extension WHERE extname = 'vicidial_callbacks'),
        rel AS (SELECT c.oid, c.relname, c.relkind, c.relacl, c.reloptions FROM pg_class c WHERE c.relnamespace = 'vicidial'::regnamespace)
        SELECT line FROM (
            SELECT 'relation ' || relname || ' ' || relkind::text || ' acl=' || coalesce(relacl::text, '-')
                   || ' options=' || coalesce(reloptions::text, '-') AS line
              FROM rel
            UNION ALL
            SELECT 'column ' || rel.relname || ' #' || row_number() OVER (PARTITION BY rel.oid ORDER BY a.attnum)
                   || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                   || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                   || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
                   || coalesce(' acl=' || a.attacl::text, '')
              FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE rel.relkind IN ('r', 'v', 'p')
            UNION ALL
            SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
                   || CASE WHEN condeferrable THEN ' deferrable' ELSE '' END
                   || CASE WHEN condeferred THEN ' deferred' ELSE '' END
              FROM pg_constraint WHERE connamespace = 'vicidial'::regnamespace
            UNION ALL
            SELECT 'index ' || pg_get_indexdef(i.indexrelid)
              FROM pg_index i JOIN rel ON rel.oid = i.indrelid
            UNION ALL
            SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
              FROM pg_trigger t JOIN rel ON rel.oid = t.tgrelid WHERE NOT t.tgisinternal
            UNION ALL
            SELECT 'function ' || p.oid::regprocedure || ' md5=' || md5(pg_get_functiondef(p.oid))
                   || ' acl=' || coalesce(p.proacl::text, '-')
              FROM pg_proc p WHERE p.pronamespace = 'vicidial'::regnamespace
            UNION ALL
            SELECT 'comment ' || pg_describe_object(c.classoid, c.objoid, c.objsubid) || ' md5=' || md5(c.description)
              FROM pg_description c
              JOIN pg_depend d ON d.classid = c.classoid AND d.objid = c.objoid AND d.objsubid = 0
              JOIN ext ON d.refobjid = ext.oid
             WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
            UNION ALL
            SELECT 'view ' || rel.relname || ' ' || md5(pg_get_viewdef(rel.oid))
              FROM rel WHERE rel.relkind = 'v'
            UNION ALL
            SELECT 'sequence ' || s.seqrelid::regclass || ' ' || format_type(s.seqtypid, NULL) || ' '
                   || s.seqstart || ' ' || s.seqincrement || ' ' || s.seqmax || ' ' || s.seqmin || ' ' || s.seqcycle
              FROM pg_sequence s JOIN rel ON rel.oid = s.seqrelid
            UNION ALL
            SELECT 'schema acl=' || coalesce(nspacl::text, '-') FROM pg_namespace WHERE nspname = 'vicidial'
            UNION ALL
            SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
              FROM pg_depend d JOIN ext ON d.refobjid = ext.oid
             WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
            UNION ALL
            SELECT 'dumped ' || cfg.tab::regclass || ' where ' || coalesce(nullif(cfg.c, ''), '-')
              FROM ext, unnest(ext.extconfig, ext.extcondition) AS cfg(tab, c)
        ) facts
        ORDER BY line COLLATE "C"
    });
}

# A pgbouncer (Debian's, /usr/sbin/pgbouncer) in front of $node, run as
# the test's own OS user: it listens on 127.0.0.1 only, on a free port, and
# keeps its ini, auth file, log and pid file in a temporary directory of
# the test. It serves every database of the node (a fallback "*" entry,
# over the node's Unix socket) to the roles named in $opts{users} (default
# dialer_pool), without a password (auth_type trust); with $opts{password},
# as the deployment page sets it up: each user gets that password, the
# node asks the pooler's logins for it (scram-sha-256 in pg_hba.conf), and
# the auth file holds each one's secret as pg_authid keeps it, which
# pgbouncer checks clients against and logs in to the node with (clients
# then need PGPASSWORD). Other options:
# pool_mode (default transaction), default_pool_size (default 1: every
# client of a user shares one server connection), max_client_conn
# (default 100), ini (more lines for the [pgbouncer] section), dbname
# (default postgres). Returns the port once the first of the users, which
# must exist on the node, gets through to dbname. stop_pgbouncer($port)
# stops it; any still running are stopped when the test exits.
my %pgbouncers;

sub start_pgbouncer
{
    my ($node, %opts) = @_;
    my $binary = $opts{binary} || '/usr/sbin/pgbouncer';
    die "$binary is not installed (Debian package pgbouncer)" unless -x $binary;
    my @users = @{ $opts{users} || ['dialer_pool'] };
    my $dir = PostgreSQL::Test::Utils::tempdir('pgbouncer');
    my $port = PostgreSQL::Test::Cluster::get_free_port();
    my %conf = (
        listen_addr => '127.0.0.1',
        listen_port => $port,
        unix_socket_dir => '',
        auth_type => $opts{password} ? 'scram-sha-256' : 'trust',
        auth_file => "$dir/userlist.txt",
        pool_mode => $opts{pool_mode} || 'transaction',
        default_pool_size => $opts{default_pool_size} || 1,
        max_client_conn => $opts{max_client_conn} || 100,
        logfile => "$dir/pgbouncer.log",
        pidfile => "$dir/pgbouncer.pid");
    my $host = $node->host;
    my $node_port = $node->port;
    my %secret = map { $_ => '' } @users;
    if (defined $opts{password})
    {
        for my $user (@users)
        {
            $node->safe_psql('postgres', qq{ALTER ROLE "$user" PASSWORD '$opts{password}'});
            $secret{$user} = $node->safe_psql('postgres', qq{SELECT rolpassword FROM pg_authid WHERE rolname = '$user'});
        }
        my $hba = join('', map { "local all \"$_\" scram-sha-256\n" } @users);
        my $rest = PostgreSQL::Test::Utils::slurp_file($node->data_dir . '/pg_hba.conf');
        open(my $fh, '>', $node->data_dir . '/pg_hba.conf') or die "pg_hba.conf: $!";
        print $fh $hba, $rest;
        close $fh;
        $node->reload;
    }
    PostgreSQL::Test::Utils::append_to_file("$dir/userlist.txt",
        join('', map { my $u = $_; $u =~ s/"/""/g; qq{"$u" "$secret{$_}"\n} } @users));
    PostgreSQL::Test::Utils::append_to_file("$dir/pgbouncer.ini",
        "[databases]\n* = host=$host port=$node_port\n\n[pgbouncer]\n"
        . join('', map { "$_ = $conf{$_}\n" } sort keys %conf)
        . ($opts{ini} || ''));
    PostgreSQL::Test::Utils::system_or_bail($binary, '-d', '-q', "$dir/pgbouncer.ini");
    $pgbouncers{$port} = { dir => $dir };

    # Up when the pid file is there and a client gets through to the node.
    local $ENV{PGPASSWORD} = $opts{password} // $ENV{PGPASSWORD};
    my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
    while (1)
    {
        my ($out) = PostgreSQL::Test::Utils::run_command(
            [ 'psql', '-X', '-A', '-t', '-h', '127.0.0.1', '-p', $port, '-U', $users[0],
              '-d', $opts{dbname} || 'postgres', '-c', 'SELECT 1' ]);
        last if -s "$dir/pgbouncer.pid" && $out eq '1';
        if (time > $deadline)
        {
            stop_pgbouncer($port);
            die "pgbouncer on port $port did not come up; see $dir/pgbouncer.log";
        }
        usleep(100_000);
    }
    chomp($pgbouncers{$port}{pid} = PostgreSQL::Test::Utils::slurp_file("$dir/pgbouncer.pid"));
    return $port;
}

sub pgbouncer_logfile
{
    my ($port) = @_;
    return "$pgbouncers{$port}{dir}/pgbouncer.log";
}

# Immediate shutdown (SIGTERM), waited for.
sub stop_pgbouncer
{
    my ($port) = @_;
    my $bouncer = delete $pgbouncers{$port} or return;
    my $pid = $bouncer->{pid};
    if (!$pid && -s "$bouncer->{dir}/pgbouncer.pid")
    {
        chomp($pid = PostgreSQL::Test::Utils::slurp_file("$bouncer->{dir}/pgbouncer.pid"));
    }
    return unless $pid && $pid =~ /^\d+$/;
    kill 'TERM', $pid;
    my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
    usleep(50_000) while kill(0, $pid) && time < $deadline;
    return;
}

END
{
    my $exit = $?;
    stop_pgbouncer($_) for keys %pgbouncers;
    $? = $exit;
}

1;
