# Failover under load with pg_auto_failover: a monitor and two nodes,
# four agents on a multi-host connection string (read-write), the worker
# running and callbacks falling due; the primary crashes mid-load. The
# standby is promoted, its worker takes over, the agents reconnect by
# themselves; no callback is lost, none goes LIVE twice, no lead is handed
# out twice. The switch and the lateness of the callbacks that fell due
# during it are printed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Copy qw(copy);
use IO::Handle;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time usleep);

my $CALLBACKS = 200;
my $AGENTS = 4;
my $WINDOW = 30;          # seconds over which the callbacks fall due
my $DEADLINE = $PostgreSQL::Test::Utils::timeout_default;

sub in_path
{
    my ($program) = @_;
    my ($dir) = grep { -x "$_/$program" } split /:/, $ENV{PATH};
    return defined $dir ? "$dir/$program" : undef;
}
# Not a skip: a failover test that cannot run must fail.
my $autoctl = in_path('pg_autoctl');
my $pg_ctl = in_path('pg_ctl');
unless ($autoctl && $pg_ctl)
{
    fail('pg_autoctl (postgresql-15-auto-failover, pg-auto-failover-cli) and pg_ctl are in PATH');
    done_testing();
    exit 1;
}

my $monitor = PostgreSQL::Test::Cluster->new('monitor');
my $node1 = PostgreSQL::Test::Cluster->new('node1');
my $node2 = PostgreSQL::Test::Cluster->new('node2');
my $monitor_uri = 'postgres://autoctl_node@127.0.0.1:' . $monitor->port . '/pg_auto_failover?sslmode=disable';

# pg_autoctl keeps its configuration and state under the XDG directories:
# the test's own, not the postgres user's home. Its Postgres servers put
# their sockets where the test's psql looks.
my $scratch = PostgreSQL::Test::Utils::tempdir;
for my $xdg (qw(CONFIG_HOME DATA_HOME RUNTIME_DIR))
{
    mkdir "$scratch/$xdg" or die "mkdir: $!";
    $ENV{"XDG_$xdg"} = "$scratch/$xdg";
}
$ENV{PG_REGRESS_SOCK_DIR} = $monitor->host;

my %services;    # pg_autoctl run (or create --run) per data directory: pid
my @agent_pids;

# pg_autoctl run is a supervisor: started in a session of its own, since
# it may signal its whole process group when it stops.
sub start_service
{
    my ($node, @args) = @_;
    my $log = "$PostgreSQL::Test::Utils::log_path/014_failover_autoctl_" . $node->name . '.log';
    my $pid = fork() // die "fork: $!";
    if ($pid == 0)
    {
        POSIX::setsid();
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>>', $log);
        open(STDERR, '>&', \*STDOUT);
        exec($autoctl, @args) or POSIX::_exit(127);
    }
    $services{ $node->data_dir } = $pid;
    return;
}

sub autoctl
{
    my ($node, @args) = @_;
    my $log = "$PostgreSQL::Test::Utils::log_path/014_failover_autoctl_" . $node->name . '.log';
    return IPC::Run::run([ $autoctl, @args ], '<', \undef, '>>', $log, '2>&1');
}

# Every process of the supervisor's session but Postgres itself.
sub service_processes
{
    my ($sid, $postmaster) = @_;
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat')
    {
        open(my $fh, '<', $stat) or next;
        my $line = <$fh> // next;
        my ($pid, $session) = $line =~ /^(\d+) \(.*\) \S+ \d+ \d+ (\d+)/ or next;
        push @pids, $pid if $session == $sid && $pid != ($postmaster // 0);
    }
    return @pids;
}

sub postmaster_pid
{
    my ($node) = @_;
    open(my $fh, '<', $node->data_dir . '/postmaster.pid') or return undef;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid;
}

# A crash of the node's machine, as far as this one machine can show it:
# pg_autoctl dies at once, Postgres stops without a shutdown checkpoint
# and without sending the rest of its WAL. (pg_autoctl stop, even with
# --immediate, shuts Postgres down in fast mode, which replicates
# everything first.)
sub crash
{
    my ($node) = @_;
    my $sid = delete $services{ $node->data_dir };
    if (defined $sid)
    {
        kill 'KILL', service_processes($sid, postmaster_pid($node));
        waitpid($sid, 0);
    }
    IPC::Run::run([ $pg_ctl, '-D', $node->data_dir, '-m', 'immediate', '-w', 'stop' ], '>', '/dev/null', '2>&1')
      if defined postmaster_pid($node);
    return;
}

sub stop_service
{
    my ($node) = @_;
    my $pid = delete $services{ $node->data_dir } // return;
    autoctl($node, 'stop', '--pgdata', $node->data_dir);
    my $until = time + $DEADLINE;
    usleep(100_000) while waitpid($pid, WNOHANG) == 0 && time < $until;
    return;
}

# Each node's server log, from its data directory. (A base backup and
# pg_rewind copy the other node's files there too, same names.)
my $node1_rejoined = 0;
sub collect_logs
{
    my ($node, $name) = @_;
    for my $log (glob($node->data_dir . '/log/*.log'))
    {
        my ($file) = $log =~ m{([^/]+)$};
        copy($log, "$PostgreSQL::Test::Utils::log_path/014_failover_${name}_$file");
    }
    return;
}

# Also on failure: nothing of this test may outlive it.
END
{
    my $exit_code = $?;
    kill 'KILL', @agent_pids;
    for my $node (grep { defined } $node2, $node1, $monitor)
    {
        crash($node) if exists $services{ $node->data_dir };
        IPC::Run::run([ $pg_ctl, '-D', $node->data_dir, '-m', 'immediate', '-w', 'stop' ], '>', '/dev/null', '2>&1')
          if defined postmaster_pid($node);
    }
    collect_logs($monitor, 'monitor') if defined $monitor;
    collect_logs($node2, 'node2') if defined $node2;
    collect_logs($node1, $node1_rejoined ? 'node1_rejoined' : 'node1') if defined $node1;
    $? = $exit_code;
}

sub monitor_states
{
    return $monitor->safe_psql('pg_auto_failover', q{
        SELECT string_agg(nodename || ':' || reportedstate || '/' || goalstate, ' ' ORDER BY nodeid)
          FROM pgautofailover.node});
}

# A loop on a condition, with a deadline; returns when it first held.
sub wait_for
{
    my ($what, $check) = @_;
    my $until = time + $DEADLINE;
    while (time < $until)
    {
        return time if $check->();
        usleep(100_000);
    }
    diag("timed out waiting for $what");
    return undef;
}

# One answer, or '' while the node does not answer. The query goes on the
# command line: poll_query_until writes it to psql's standard input, and a
# psql that fails to connect exits before reading it, which can end the
# test with a broken pipe while a server is still starting.
sub query
{
    my ($node, $sql, $dbname) = @_;
    my ($out, $err) = ('', '');
    IPC::Run::run([ 'psql', '-XAtq', '-d', $node->connstr($dbname // 'vici'), '-c', $sql ], '>', \$out, '2>', \$err);
    chomp $out;
    return $out;
}

# The monitor. Its timings are shortened so that the test takes seconds,
# not the default minute: safe here only because the test knows the old
# primary is dead (the demote timeout is what lets a primary cut off by a
# network partition notice and step down before the standby is promoted).
is(autoctl($monitor, 'create', 'monitor', '--pgctl', $pg_ctl, '--pgdata', $monitor->data_dir,
    '--pgport', $monitor->port, '--hostname', '127.0.0.1', '--listen', '127.0.0.1',
    '--auth', 'trust', '--no-ssl'), 1, 'pg_autoctl creates the monitor');
$monitor->append_conf('postgresql.conf', q{
pgautofailover.health_check_period = 1000
pgautofailover.health_check_timeout = 1000
pgautofailover.health_check_max_retries = 1
pgautofailover.health_check_retry_delay = 500
pgautofailover.node_considered_unhealthy_timeout = 3000
pgautofailover.primary_demote_timeout = 3000
});
start_service($monitor, 'run', '--pgdata', $monitor->data_dir);
ok(defined wait_for('the monitor to answer', sub { query($monitor, 'SELECT true', 'pg_auto_failover') eq 't' }),
    'the monitor runs') or die 'no monitor';

# The first node: created (and stopped again) by pg_autoctl, which
# includes its own settings file at the top of postgresql.conf; lines
# appended after it win, and the standby's base backup copies them.
my @node_options = ('--pgctl', $pg_ctl, '--hostname', '127.0.0.1', '--listen', '127.0.0.1',
    '--auth', 'trust', '--no-ssl', '--dbname', 'vici', '--monitor', $monitor_uri);
is(autoctl($node1, 'create', 'postgres', '--pgdata', $node1->data_dir, '--pgport', $node1->port,
    '--name', 'node1', @node_options), 1, 'pg_autoctl creates the first node');
$node1->append_conf('postgresql.conf', q{
shared_preload_libraries = 'vicidial_callbacks'
vicidial_callbacks.database = 'vici'
vicidial_callbacks.interval = 1s
});
start_service($node1, 'run', '--pgdata', $node1->data_dir);
ok(defined wait_for('the first node to run alone', sub { monitor_states() eq 'node1:single/single' }),
    'the first node runs alone') or die 'no first node: ' . monitor_states();
start_service($node2, 'create', 'postgres', '--pgdata', $node2->data_dir, '--pgport', $node2->port,
    '--name', 'node2', @node_options, '--run');
ok(defined wait_for('the standby to join',
        sub { monitor_states() eq 'node1:primary/primary node2:secondary/secondary' }),
    'the second node joins as its standby') or die 'no standby: ' . monitor_states();

# pg_auto_failover makes the standby synchronous: a commit that a client
# saw is on the standby, so "nothing lost" means nothing any client saw.
is($node1->safe_psql('vici', 'SHOW synchronous_standby_names'), 'ANY 1 (pgautofailover_standby_2)',
    'replication to the standby is synchronous');

# The call center: a scheduler, four agents, a campaign that dials only
# the callbacks' leads (hopper_level 0) at any hour, a lead per callback,
# and the callbacks due over the window, starting in a few seconds.
my $start = time;
$node1->safe_psql('vici', qq{
    CREATE EXTENSION vicidial_callbacks;
    INSERT INTO vicidial.vicidial_users ("user") VALUES ('sched'), ('a1'), ('a2'), ('a3'), ('a4');
    INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time) VALUES ('C', 0, '24hours');
    INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'C');
    INSERT INTO vicidial.vicidial_list (list_id, phone_number) SELECT 1, '555' || g FROM generate_series(1, $CALLBACKS) g;
    SELECT count(vicidial.callback_schedule(lead_id, 'sched',
                 to_timestamp($start + 5) + interval '$WINDOW seconds' * (lead_id - 1) / ($CALLBACKS - 1)))
      FROM vicidial.vicidial_list;
});
my $window_end = $start + 5 + $WINDOW;
ok($node1->poll_query_until('vici',
    q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vicidial_callbacks worker'}),
    'the worker runs on the primary');
is($node2->safe_psql('vici',
    q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vicidial_callbacks worker'}),
    '0', 'and not on the standby');

# An agent: claim, dispose, claim again; a lost connection is retried
# through the multi-host string, which finds whichever node is the
# read-write one. After a lost connection the agent asks what it holds
# (agent_calls), as a screen does after losing the reply to its claim.
my $agents_connstr = sprintf(
    'host=127.0.0.1,127.0.0.1 port=%d,%d dbname=vici target_session_attrs=read-write connect_timeout=2',
    $node1->port, $node2->port);
my $stop_agents = "$scratch/stop_agents";

sub agent_sql
{
    my ($agent, $sql) = @_;
    my ($out, $err) = ('', '');
    my $ok = eval {
        IPC::Run::run([ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', "$agents_connstr application_name=$agent",
            '-c', $sql ], '<', \undef, '>', \$out, '2>', \$err, IPC::Run::timeout(60));
        1;
    };
    return (-1, '', "psql: $@") unless $ok;
    chomp $out;
    $err =~ s/\s+/ /g;
    # psql: 2 is a connection that could not be made or went bad
    return ($? >> 8, $out, $err);
}

sub agent
{
    my ($agent) = @_;
    open(my $rec, '>', "$scratch/$agent") or die "$agent: $!";
    $rec->autoflush(1);
    my $held;
    my $unsure = 0;
    my $fail = sub {
        my ($rc, $err) = @_;
        printf $rec "%s %.3f %s\n", ($rc == 2 ? 'connerr' : 'error'), time, $err;
        $unsure = 1;
        usleep(200_000);
    };
    until (-e $stop_agents)
    {
        if ($unsure)
        {
            my ($rc, $out, $err) = agent_sql($agent, "SELECT lead_id FROM vicidial.agent_calls('$agent')");
            if ($rc) { $fail->($rc, $err); next; }
            $unsure = 0;
            my @calls = split /\n/, $out;
            printf $rec "error %.3f holds %s\n", time, join(',', @calls) if @calls > 1;
            if (@calls && !(defined $held && $held eq $calls[0]))
            {
                printf $rec "claim %s %.3f recovered\n", $calls[0], time;
            }
            elsif (!@calls && defined $held)
            {
                printf $rec "dispo %s %.3f recovered\n", $held, time;
            }
            $held = $calls[0];
        }
        elsif (defined $held)
        {
            my ($rc, $out, $err) = agent_sql($agent, "SELECT vicidial.lead_disposition($held, '$agent', 'SALE')");
            if ($rc) { $fail->($rc, $err); next; }
            printf $rec "dispo %s %.3f\n", $held, time;
            undef $held;
        }
        else
        {
            my ($rc, $out, $err) = agent_sql($agent, "SELECT lead_id FROM vicidial.hopper_next('C', '$agent')");
            if ($rc) { $fail->($rc, $err); next; }
            if ($out eq '') { usleep(100_000); next; }
            $held = $out;
            printf $rec "claim %s %.3f\n", $held, time;
        }
    }
    close $rec;
    return;
}

for my $n (1 .. $AGENTS)
{
    my $pid = fork() // die "fork: $!";
    if ($pid == 0)
    {
        # never the parent's END blocks: they would stop the servers
        my $ok = eval { agent("a$n"); 1 };
        print STDERR "agent a$n: $@" unless $ok;
        POSIX::_exit($ok ? 0 : 1);
    }
    push @agent_pids, $pid;
}

# The crash, once the agents have worked a while.
ok($node1->poll_query_until('vici', q{
    SELECT count(*) >= 40 FROM vicidial.vicidial_callbacks WHERE status = 'ARCHIVE'}),
    'the agents work the callbacks as they fall due');
my $crashed_at = time;
crash($node1);
ok(!defined postmaster_pid($node1), 'the primary is down');

my $promoted_at = wait_for('the standby to be promoted',
    sub { query($node2, 'SELECT pg_is_in_recovery()') eq 'f' });
my $writable_at = wait_for('the new primary to accept writes',
    sub { query($node2, q{SELECT pg_is_in_recovery() OR current_setting('transaction_read_only')::bool}) eq 'f' });
my $monitor_at = wait_for('the monitor to name the new primary',
    sub { monitor_states() =~ /node2:(wait_)?primary\/(wait_)?primary/ });
note('monitor: ' . monitor_states());
ok(defined $monitor_at, 'the monitor reports the old standby as the primary');
ok($node2->poll_query_until('vici',
    q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vicidial_callbacks worker'}),
    'the worker runs on the new primary');

# Every callback falls due within the window: wait for all to go LIVE,
# then for the agents to have dialed and ended every one.
ok($node2->poll_query_until('vici', qq{
    SELECT clock_timestamp() > to_timestamp($window_end)
           AND NOT EXISTS (SELECT FROM vicidial.vicidial_callbacks WHERE status = 'ACTIVE')}),
    'every callback due went LIVE on the new primary');
ok($node2->poll_query_until('vici', q{
    SELECT NOT EXISTS (SELECT FROM vicidial.vicidial_callbacks WHERE status <> 'ARCHIVE')}),
    'and the agents dialed and ended every one');
open(my $touch, '>', $stop_agents) or die "$stop_agents: $!";
close $touch;
my $agents_done = wait_for('the agents to stop', sub {
    @agent_pids = grep { waitpid($_, WNOHANG) == 0 } @agent_pids;
    !@agent_pids;
});
ok(defined $agents_done, 'the agents stopped');

# What the agents saw.
my (%claims, %connerr, %worked_after, @errors, $claims_before);
my $recovered = 0;
for my $n (1 .. $AGENTS)
{
    my $agent = "a$n";
    open(my $rec, '<', "$scratch/$agent") or die "$agent: $!";
    while (my $line = <$rec>)
    {
        my ($kind, $what, $at) = split ' ', $line;
        if ($kind eq 'claim')
        {
            push @{ $claims{$what} }, $agent;
            $recovered++ if $line =~ /recovered$/;
            $claims_before++ if $at < $crashed_at;
            $worked_after{$agent} = 1 if defined $writable_at && $at > $writable_at;
        }
        $connerr{$agent}++ if $kind eq 'connerr';
        push @errors, "$agent: $line" if $kind eq 'error';
    }
}
note(sprintf('agents: %d hand-outs, %d before the crash, %d found through agent_calls after a lost reply; '
      . 'failed connection attempts per agent: %s',
    scalar(map { @$_ } values %claims), $claims_before // 0, $recovered,
    join(' ', map { "$_=" . ($connerr{$_} // 0) } map { "a$_" } 1 .. $AGENTS)));
my $handed_twice = grep { @{ $claims{$_} } > 1 } keys %claims;
my $agents_dials = join(' ', map { "$_:$claims{$_}[0]" } sort { $a <=> $b } keys %claims);

is(scalar(@errors), 0, 'the agents met no error but lost connections') or diag(@errors);
is(scalar(keys %connerr), $AGENTS, 'every agent lost its connection');
is(scalar(keys %worked_after), $AGENTS, 'and every agent got leads again from the new primary');
cmp_ok($claims_before // 0, '>', 0, 'leads were handed out before the crash');
is($handed_twice, 0, 'no lead was handed out twice');
is($node2->safe_psql('vici', q{
    SELECT string_agg(lead_id || ':' || "user", ' ' ORDER BY lead_id) FROM vicidial.vicidial_log}),
    $agents_dials, 'the dial log holds exactly the hand-outs the agents saw, each to its agent');
is($node2->safe_psql('vici', q{
    SELECT count(*) || ' ' || count(*) FILTER (WHERE status = 'SALE' AND end_date IS NOT NULL)
      FROM vicidial.vicidial_log}),
    "$CALLBACKS $CALLBACKS", 'one dial per callback, each ended with its disposition');
is($node2->safe_psql('vici', q{
    SELECT count(*) || ' ' || count(*) FILTER (WHERE status = 'ARCHIVE') FROM vicidial.vicidial_callbacks}),
    "$CALLBACKS $CALLBACKS", 'no callback lost: all there, all archived');
is($node2->safe_psql('vici', q{
    SELECT count(*) || ' ' || count(DISTINCT callback_id) FROM vicidial.vicidial_callback_log
     WHERE old_status = 'ACTIVE' AND new_status = 'LIVE'}),
    "$CALLBACKS $CALLBACKS", 'each callback went from ACTIVE to LIVE exactly once');
is($node2->safe_psql('vici', 'SELECT count(*) FROM vicidial.invariant_violations()'), '0',
    'the invariants hold on the new primary');

# The switch, and the lateness of the callbacks it delayed (those that
# went LIVE on the new primary though due before it took writes) beside
# the others'.
SKIP:
{
    skip 'the switch did not complete', 1 unless defined $writable_at;
    note(sprintf('switch: crash at +%.1f s; standby promoted after %.1f s, writable after %.1f s, '
          . 'the monitor reported it after %.1f s',
        $crashed_at - $start, $promoted_at - $crashed_at, $writable_at - $crashed_at,
        ($monitor_at // $writable_at) - $crashed_at));
    my $lateness = $node2->safe_psql('vici', qq{
        SELECT during, count(*), round(max(late)::numeric, 3), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY late)::numeric, 3)
          FROM (SELECT new_callback_time <= to_timestamp($writable_at) AND changed_at >= to_timestamp($crashed_at) AS during,
                       extract(epoch FROM changed_at - new_callback_time) AS late
                  FROM vicidial.vicidial_callback_log WHERE old_status = 'ACTIVE' AND new_status = 'LIVE') l
         GROUP BY during ORDER BY during});
    my %late = map { my ($during, @rest) = split /\|/; ($during => \@rest) } split /\n/, $lateness;
    note(sprintf('lateness of the %d callbacks the switch delayed: max %s s, p50 %s s', @{ $late{t} || [ 0, '-', '-' ] }));
    note(sprintf('lateness of the other %d: max %s s, p50 %s s', @{ $late{f} || [ 0, '-', '-' ] }));
    cmp_ok($late{t} ? $late{t}[0] : 0, '>', 0, 'callbacks fell due during the switch');
}

# The old primary comes back: pg_autoctl run on it is all it takes. It
# rewinds if it must and rejoins as the standby, without its worker.
collect_logs($node1, 'node1');
$node1_rejoined = 1;
start_service($node1, 'run', '--pgdata', $node1->data_dir);
ok(defined wait_for('the old primary to rejoin',
    sub { monitor_states() eq 'node1:secondary/secondary node2:primary/primary' }),
    'the old primary rejoins as the standby') or diag(monitor_states());
ok($node1->poll_query_until('vici', qq{
    SELECT pg_is_in_recovery() AND count(*) FILTER (WHERE status = 'ARCHIVE') = $CALLBACKS
      FROM vicidial.vicidial_callbacks}), 'and replays what the new primary did');
is($node1->safe_psql('vici',
    q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vicidial_callbacks worker'}),
    '0', 'with no worker');

stop_service($_) for $node1, $node2, $monitor;
done_testing();
