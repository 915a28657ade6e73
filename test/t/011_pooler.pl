# The pooled deployment of doc/vicidial_callbacks_deployment.md ("Behind a connection pooler"),
# through a real pgbouncer in transaction mode whose every client shares
# ONE server connection: the README's roles, agents bound to roles of their
# own, a NOINHERIT pooler login that acts as nobody until it switches role,
# one transaction per request opened by SET LOCAL ROLE; the whole callback
# flow of twenty agents that way; the one call an agent holds; no role
# left behind for the next client, and the session-level SET ROLE that
# would be; LISTEN through the pooler, which receives nothing; a second
# pool login for a block of agents, which may switch to them only.
use strict;
use warnings;
use lib 'test';
use CallbackCluster;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

# The worker is off: the runs are the superuser's hopper_run, when the test says.
my $node = callback_node('pooler', conf => "vicidial_callbacks.enabled = off\n");
$node->safe_psql('postgres', 'CREATE EXTENSION vicidial_callbacks');

# The README's roles as written (dialer_agent, dialer_admin, dialer_security,
# dialer_pool, and the agent ann bound to the role ann), then more agents
# the same way: "Carol" (a role name that is not lower case), agent03 to
# agent20. A role carol, which the pooler may switch to, is bound to no
# agent: db_role = 'Carol' names "Carol", not carol.
$node->safe_psql('postgres', $_) for readme_roles_sql();
my @agents = ('ann', 'Carol', map { sprintf('agent%02d', $_) } 3 .. 20);
my $n = scalar @agents;
sub ident { my ($name) = @_; $name =~ s/"/""/g; return qq{"$name"}; }
sub literal { my ($text) = @_; $text =~ s/'/''/g; return qq{'$text'}; }
for my $agent (@agents[1 .. $#agents])
{
    my ($role, $name) = (ident($agent), literal($agent));
    $node->safe_psql('postgres', qq{
        CREATE ROLE $role NOLOGIN IN ROLE dialer_agent;
        GRANT $role TO dialer_pool;
        SET ROLE dialer_admin;
        INSERT INTO vicidial.vicidial_users ("user", full_name, agentonly_callbacks) VALUES ($name, $name, true);
        SET ROLE dialer_security;
        UPDATE vicidial.vicidial_users SET db_role = $name WHERE "user" = $name;
        RESET ROLE;
    });
}
$node->safe_psql('postgres', q{
    CREATE ROLE carol NOLOGIN IN ROLE dialer_agent;
    GRANT carol TO dialer_pool;
});
is($node->safe_psql('postgres', q{
    SELECT count(*) || ' ' || count(*) FILTER (WHERE db_role = "user") || ' '
           || (SELECT rolinherit FROM pg_roles WHERE rolname = 'dialer_pool') || ' '
           || (SELECT count(*) FROM pg_auth_members m WHERE m.member = 'dialer_pool'::regrole)
      FROM vicidial.vicidial_users}),
    "$n $n false " . ($n + 1),
    "$n agents, each bound to its own role; dialer_pool is NOINHERIT and a member of every agent role (and carol)");

# A campaign with one list: lead 2k+1 gets agent k's USERONLY callback,
# lead 2k+2 its ANYONE one; lead 2n+1 is spare. No hopper level: the hopper
# holds only the ANYONE callbacks that go LIVE.
my $spare = 2 * $n + 1;
$node->safe_psql('postgres', qq{
    INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time) VALUES ('C', 0, '24hours');
    INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'C');
    INSERT INTO vicidial.vicidial_list (list_id) SELECT 1 FROM generate_series(1, $spare);
});

# pgbouncer in transaction mode, one server connection for every client,
# with passwords as the deployment page sets them up: the logins' SCRAM
# secrets in its auth file, which it also logs in to the node with.
# (dialer_pool_2, the second block's login below, exists from the start:
# pgbouncer reads the secrets when it starts.)
$node->safe_psql('postgres', 'CREATE ROLE dialer_pool_2 LOGIN NOINHERIT');
$ENV{PGPASSWORD} = 'pool secret';
my $pool_port = start_pgbouncer($node, pool_mode => 'transaction', default_pool_size => 1,
                                users => ['dialer_pool', 'dialer_pool_2'], password => 'pool secret');
like(slurp_file(pgbouncer_logfile($pool_port)), qr/process up: PgBouncer/, "pgbouncer is up on port $pool_port");

my @psql_pool = ('psql', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose',
                 '-h', '127.0.0.1', '-p', $pool_port, '-U', 'dialer_pool', '-d', 'postgres');

# One client of the pooler running $sql as psql reads it (statement by
# statement, the simple protocol: unnamed statements only), logged in as
# $login (dialer_pool unless said): its output, or "SQLSTATE: message" of
# the error that stopped it.
sub pooled
{
    my ($sql, $login) = @_;
    my @command = @psql_pool;
    $command[-3] = $login if defined $login;
    my ($out, $err) = ('', '');
    IPC::Run::run(\@command, '<', \$sql, '>', \$out, '2>', \$err,
        IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
    chomp $out;
    my ($state, $message) = $err =~ /ERROR:\s+(\w{5}):\s+([^\n]*)/;
    return "$state: $message" if defined $state;
    return "psql failed: $err" if $? != 0;
    return $out;
}

# The password is checked: by pgbouncer against the secret, and by the
# node, which asks the pooler's logins for it, when pgbouncer logs in.
{
    local $ENV{PGPASSWORD} = 'not the secret';
    like(pooled('SELECT 1'), qr/FATAL:\s+SASL authentication failed/,
        'a client with the wrong password is refused');
}
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_hba_file_rules WHERE 'dialer_pool' = ANY (user_name) AND auth_method = 'scram-sha-256'}),
    '1', 'the node asks dialer_pool for its password');

# One request of a pooled front end: a transaction of its own, which
# switches to the agent's role first. Every other agent switches with
# set_config('role', ..., true) instead of SET LOCAL ROLE.
my %switch_by_set_config = map { $agents[$_] => 1 } grep { $_ % 2 } 0 .. $#agents;
sub request
{
    my ($role, $sql, $login) = @_;
    my $switch = $switch_by_set_config{$role}
        ? "SELECT set_config('role', " . literal($role) . ', true) AS switched \\gset'
        : 'SET LOCAL ROLE ' . ident($role) . ';';
    return pooled("BEGIN;\n$switch\n$sql\nCOMMIT;\n", $login);
}

# --- Who may act as whom, through the pooler --------------------------------

like(pooled(q{SELECT * FROM vicidial.agent_callback_count('ann');}),
    qr/^42501: /, 'a request that forgets the role switch is refused with 42501 (a read)');
like(pooled(q{SELECT vicidial.callback_schedule(1, 'ann', now(), 'USERONLY');}),
    qr/^42501: /, 'and so is a write');
is($node->safe_psql('postgres', 'SELECT count(*) FROM vicidial.vicidial_callbacks'), '0',
    'the refused write changed nothing');
like(pooled(qq{SET LOCAL ROLE ann;\nSELECT * FROM vicidial.agent_callback_count('ann');}),
    qr/^42501: /, 'SET LOCAL ROLE outside a transaction block switches nothing: the call after it is refused (42501)');
# Membership alone is not enough: were the pooler login granted the agent
# functions itself, a request that forgets the switch would still act as
# nobody.
$node->safe_psql('postgres', q{
    GRANT USAGE ON SCHEMA vicidial TO dialer_pool;
    GRANT EXECUTE ON FUNCTION vicidial.agent_callback_count(varchar) TO dialer_pool;
});
like(pooled(q{SELECT * FROM vicidial.agent_callback_count('ann');}),
    qr/^42501: .*"dialer_pool".*"ann"/,
    'a member of ann that does not inherit from her may not act as ann, even with EXECUTE (42501)');
$node->safe_psql('postgres', q{
    REVOKE EXECUTE ON FUNCTION vicidial.agent_callback_count(varchar) FROM dialer_pool;
    REVOKE USAGE ON SCHEMA vicidial FROM dialer_pool;
});
like(request('agent03', q{SELECT * FROM vicidial.agent_callback_count('ann');}),
    qr/^42501: .*"agent03".*"ann"/, 'one agent\'s role may not act as another agent (42501)');
like(request('dialer_agent', q{SELECT * FROM vicidial.agent_callback_count('ann');}),
    qr/^42501: .*"ann"/, 'nor may dialer_agent, which ann is a member of, act as ann');
like(request('carol', q{SELECT * FROM vicidial.agent_callback_count('Carol');}),
    qr/^42501: .*"carol".*"Carol"/, 'db_role \'Carol\' is the role "Carol": the role carol may not act as it');
is(request('Carol', q{SELECT current_user || ' ' || live || ' ' || open FROM vicidial.agent_callback_count('Carol');}),
    'Carol 0 0', 'the role "Carol" acts as agent Carol');
is(request('ann', q{SELECT current_user || ' ' || live || ' ' || open FROM vicidial.agent_callback_count('ann');}),
    'ann 0 0', 'SET LOCAL ROLE ann: the pooler acts as ann');
is(request('agent04', q{SELECT current_user || ' ' || live || ' ' || open FROM vicidial.agent_callback_count('agent04');}),
    'agent04 0 0', "set_config('role', 'agent04', true): the pooler acts as agent04");
is($node->safe_psql('postgres', q{SELECT live || ' ' || open FROM vicidial.agent_callback_count('ann')}),
    '0 0', 'a superuser acts as anyone');

# --- The whole flow, every request its own transaction through the pooler ---

my (@got, @want);
for my $k (0 .. $#agents)
{
    my ($agent, $name) = ($agents[$k], literal($agents[$k]));
    my ($useronly, $anyone) = (2 * $k + 1, 2 * $k + 2);
    push @got, "$agent: " . request($agent, qq{
        SELECT vicidial.callback_schedule($useronly, $name, now(), 'USERONLY') > 0;
        SELECT vicidial.callback_schedule($anyone, $name, now(), 'ANYONE') > 0;
        SELECT current_user;});
    push @want, "$agent: t\nt\n$agent";
}
is(join("\n", @got), join("\n", @want), "$n agents each schedule a USERONLY and an ANYONE callback, due now");

$node->safe_psql('postgres', 'SELECT * FROM vicidial.hopper_run()');
is($node->safe_psql('postgres', q{
    SELECT count(*) FILTER (WHERE c.status = 'LIVE' AND c.recipient = 'USERONLY' AND l.status = 'CBHOLD') || ' '
           || count(*) FILTER (WHERE c.status = 'LIVE' AND c.recipient = 'ANYONE' AND h.lead_id IS NOT NULL)
      FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id)
      LEFT JOIN vicidial.vicidial_hopper h USING (lead_id)}),
    "$n $n", 'the superuser\'s hopper_run: every callback is LIVE, the ANYONE leads are in the hopper');

# Each owner polls its count, finds its LIVE callback, dials it, ends it.
(@got, @want) = ();
for my $k (0 .. $#agents)
{
    my ($agent, $name) = ($agents[$k], literal($agents[$k]));
    my $useronly = 2 * $k + 1;
    push @got, "$agent count: " . request($agent, qq{
        SELECT live || ' ' || open FROM vicidial.agent_callback_count($name);});
    push @want, "$agent count: 1 1";
    my $listed = request($agent, qq{
        SELECT callback_id || ' ' || lead_id || ' ' || status FROM vicidial.agent_callbacks($name);});
    my ($callback_id) = $listed =~ /^(\d+) /;
    $callback_id //= 0;
    push @got, "$agent list: $listed";
    push @want, "$agent list: $callback_id $useronly LIVE";
    push @got, "$agent dial: " . request($agent, qq{
        SELECT lead_id || ' ' || status || ' ' || "user" FROM vicidial.callback_dial($callback_id, $name);
        SELECT string_agg(lead_id::text, ' ') FROM vicidial.agent_calls($name);});
    push @want, "$agent dial: $useronly INCALL $agent\n$useronly";
    push @got, "$agent hangup: " . request($agent, qq{
        SELECT vicidial.lead_disposition($useronly, $name, 'SALE') IS NULL;
        SELECT live || ' ' || open FROM vicidial.agent_callback_count($name);
        SELECT count(*) FROM vicidial.agent_calls($name);});
    push @want, "$agent hangup: t\n0 0\n0";
}
is(join("\n", @got), join("\n", @want),
    'each owner sees its LIVE callback in agent_callback_count, dials it, holds it (agent_calls) and ends it');

# ann books a callback for tomorrow: something to callback_dial while on a call.
my $tomorrow = request('ann', qq{SELECT vicidial.callback_schedule($spare, 'ann', now() + interval '1 day', 'USERONLY');});
like($tomorrow, qr/^\d+$/, 'ann books a USERONLY callback for tomorrow');

# The released ANYONE leads, in the hopper's order, each taken by the agent
# after the one who scheduled it; while more wait in the hopper, the taker
# asks again and is refused, naming the call it holds.
my @order = split / /, $node->safe_psql('postgres', q{
    SELECT string_agg(lead_id::text, ' ' ORDER BY priority DESC, hopper_id)
      FROM vicidial.vicidial_hopper WHERE campaign_id = 'C' AND status = 'READY'});
is(scalar @order, $n, "$n ANYONE leads wait in the hopper");
(@got, @want) = ();
my %taker;
for my $lead (@order)
{
    my $scheduler = int(($lead - 1) / 2);
    my $agent = $agents[($scheduler + 1) % $n];
    my $name = literal($agent);
    $taker{$lead} = $agent;
    push @got, "$agent takes: " . request($agent, qq{
        SELECT lead_id || ' ' || status || ' ' || "user" FROM vicidial.hopper_next('C', $name);});
    push @want, "$agent takes: $lead INCALL $agent";
    my $again = request($agent, qq{SELECT lead_id FROM vicidial.hopper_next('C', $name);});
    push @got, "$agent again: " . ($again =~ /^55000: .*\b$lead\b/ ? "55000 naming lead $lead" : $again);
    push @want, "$agent again: 55000 naming lead $lead";
    push @got, "$agent holds: " . request($agent, qq{
        SELECT string_agg(lead_id || ' ' || status, ', ') FROM vicidial.agent_calls($name);});
    push @want, "$agent holds: $lead INCALL";
}
is(join("\n", @got), join("\n", @want),
    'another agent takes each released ANYONE lead with hopper_next; a second hopper_next while holding it is 55000 '
    . 'naming the held lead; agent_calls lists exactly that lead');

my ($ann_holds) = grep { $taker{$_} eq 'ann' } @order;
my $dial_again = request('ann', qq{SELECT lead_id FROM vicidial.callback_dial($tomorrow, 'ann');});
like($dial_again, qr/^55000: .*\b$ann_holds\b/, 'callback_dial by ann while she holds a call is 55000 naming it');
like(request('agent03', q{SELECT lead_id FROM vicidial.agent_calls('ann');}), qr/^42501: /,
    'agent_calls is bound like the other agent functions: agent03 may not list ann\'s calls');

(@got, @want) = ();
for my $lead (@order)
{
    my ($agent, $name) = ($taker{$lead}, literal($taker{$lead}));
    push @got, "$agent hangup: " . request($agent, qq{
        SELECT vicidial.lead_disposition($lead, $name, 'NI') IS NULL;
        SELECT count(*) FROM vicidial.agent_calls($name);});
    push @want, "$agent hangup: t\n0";
}
is(join("\n", @got), join("\n", @want), 'each taker ends its call with NI');

# The end state, exactly.
my @leads;
for my $k (0 .. $#agents)
{
    my ($useronly, $anyone) = (2 * $k + 1, 2 * $k + 2);
    push @leads, "$useronly:SALE:$agents[$k]", "$anyone:NI:$taker{$anyone}";
}
push @leads, "$spare:CBHOLD:ann";
is($node->safe_psql('postgres', qq{
    SELECT string_agg(lead_id || ':' || status || ':' || "user", ' ' ORDER BY lead_id)
      FROM vicidial.vicidial_list WHERE lead_id <= $spare}),
    join(' ', @leads), 'the leads: USERONLY ones SALE with their owner, ANYONE ones NI with their taker');
my @callbacks = map {
    my ($useronly, $anyone) = (2 * $_ + 1, 2 * $_ + 2);
    ("$useronly:USERONLY:ARCHIVE:$agents[$_]", "$anyone:ANYONE:ARCHIVE:$agents[$_]")
} 0 .. $#agents;
push @callbacks, "$spare:USERONLY:ACTIVE:ann";
is($node->safe_psql('postgres', q{
    SELECT string_agg(lead_id || ':' || recipient || ':' || status || ':' || "user", ' ' ORDER BY lead_id)
      FROM vicidial.vicidial_callbacks}),
    join(' ', @callbacks), 'the callbacks: every dialed one ARCHIVE, tomorrow\'s ACTIVE');
is($node->safe_psql('postgres', q{
    SELECT (SELECT count(*) FROM vicidial.vicidial_hopper) || ' '
           || (SELECT count(*) FROM vicidial.vicidial_list WHERE status = 'INCALL') || ' '
           || (SELECT count(*) FROM vicidial.invariant_violations())}),
    '0 0 0', 'the hopper is empty, nobody is on a call, no invariant is violated');

# --- No role left behind on the one server connection -----------------------

my $after_local = request('ann', q{SELECT current_user || ' ' || pg_backend_pid();});
like($after_local, qr/^ann \d+$/, 'a request with SET LOCAL ROLE ann runs as ann');
my ($server_pid) = $after_local =~ /^ann (\d+)$/;
$server_pid //= 0;
is(pooled(q{SELECT current_user || ' ' || pg_backend_pid();}), "dialer_pool $server_pid",
    'the next client, on the same server connection, is dialer_pool again');
is(pooled(q{SET ROLE ann;}), '', 'a client SETs ROLE ann for its session (the mistake)');
is(pooled(q{SELECT current_user || ' ' || pg_backend_pid();}), "ann $server_pid",
    'the next client on that server connection is ann: a session-level SET ROLE leaks to other clients');
is(pooled(q{SELECT live || ' ' || open FROM vicidial.agent_callback_count('ann');}), '0 1',
    'and is served as agent ann without switching to her role');
is(pooled(qq{RESET ROLE;\nSELECT current_user || ' ' || pg_backend_pid();}), "dialer_pool $server_pid",
    'RESET ROLE cleans the server connection up');

# --- LISTEN through the pooler receives nothing -----------------------------

# A psql kept open, fed statement by statement; client_run returns what
# one batch printed (psql prints a notification after the statement during
# which it arrived).
my $marker = 0;
sub open_client
{
    my (@command) = @_;
    my %client = (in => '', out => '', err => '');
    $client{timer} = IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default);
    $client{handle} = IPC::Run::start(\@command, '<', \$client{in}, '>', \$client{out}, '2>', \$client{err},
        $client{timer});
    return \%client;
}
sub client_run
{
    my ($client, $sql) = @_;
    $marker++;
    $client->{out} = '';
    $client->{in} .= "$sql\n\\echo done $marker\n";
    pump_until($client->{handle}, $client->{timer}, \$client->{out}, qr/^done $marker\n/m)
        or die "no reply to: $sql\n$client->{err}";
    (my $printed = $client->{out}) =~ s/^done $marker\n//m;
    return $printed;
}
sub close_client
{
    my ($client) = @_;
    $client->{in} .= "\\q\n";
    $client->{handle}->finish;
    return;
}

my $direct = open_client('psql', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', $node->host, '-p', $node->port,
                         '-d', 'postgres');
my $screen = open_client(@psql_pool);
client_run($direct, 'LISTEN vicidial_callbacks;');
client_run($screen, 'LISTEN vicidial_callbacks;');
$node->safe_psql('postgres', q{NOTIFY vicidial_callbacks, '{"event":"live","user":"ann"}'});

# The direct listener gets it (polled: it shows after a statement).
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
my $heard = '';
$heard .= client_run($direct, 'SELECT 1;') until $heard =~ /Asynchronous notification/ || time > $deadline;
like($heard, qr/Asynchronous notification "vicidial_callbacks" with payload "\{"event":"live","user":"ann"\}" received/,
    'a direct LISTEN receives the notification');

# Through the pooler, the server connection got it while linked to no
# client, and pgbouncer dropped it (and says so in its log).
my $log = pgbouncer_logfile($pool_port);
usleep(100_000) until slurp_file($log) =~ /got packet 'A' from server when not linked/ || time > $deadline;
like(slurp_file($log), qr/got packet 'A' from server when not linked/,
    'pgbouncer drops the notification that reaches the idle server connection');
my $screen_heard = client_run($screen, 'SELECT 1;') . client_run($screen, 'SELECT 2;');
is($screen_heard, "1\n2\n", 'the pooled client that LISTENed receives nothing');
is(pooled(q{SELECT string_agg(c, ' ') FROM pg_listening_channels() c;}), 'vicidial_callbacks',
    'and its LISTEN stays on the shared server connection, for whichever client comes next');
is(pooled(qq{UNLISTEN *;\nSELECT count(*) FROM pg_listening_channels();}), '0', 'UNLISTEN * cleans it up');
close_client($screen);
close_client($direct);

# The pooled screen polls instead: ann's LIVE callback shows in the count.
$node->safe_psql('postgres', qq{
    SELECT vicidial.callback_modify(callback_id, callback_time => now()) FROM vicidial.vicidial_callbacks
     WHERE lead_id = $spare;
    SELECT * FROM vicidial.hopper_run();
});
is(request('ann', q{SELECT live || ' ' || open FROM vicidial.agent_callback_count('ann');}), '1 1',
    'the pooled screen polls agent_callback_count and sees the callback go LIVE');

# --- A pool login per block of agents ---------------------------------------

# The deployment page's "Many agents": agent11 to agent20 move to a login
# of their own, dialer_pool_2, NOINHERIT and granted their roles only;
# dialer_pool gives them up. agent15 switches with SET LOCAL ROLE, agent16
# with set_config.
my $count = q{SELECT current_user || ' ' || live || ' ' || open FROM vicidial.agent_callback_count(%s);};
my %before = map { $_ => request($_, sprintf($count, literal($_))) } qw(agent15 agent16);
like("$before{agent15}|$before{agent16}", qr/^agent15 \d+ \d+\|agent16 \d+ \d+$/,
    'through dialer_pool, agent15 and agent16 read their counts, as themselves');
$node->safe_psql('postgres', join('', map { my $role = ident($_); "GRANT $role TO dialer_pool_2; REVOKE $role FROM dialer_pool;" }
                   @agents[10 .. $#agents]));
for my $agent (qw(agent15 agent16))
{
    is(request($agent, sprintf($count, literal($agent)), 'dialer_pool_2'), $before{$agent},
        "${agent}'s request goes through its block's login, dialer_pool_2, and reads the same count as $agent");
    like(request($agent, sprintf($count, literal($agent))), qr/^42501: permission denied to set role "$agent"/,
        "through dialer_pool, which gave $agent up, the request is refused at the switch (42501)");
}
like(request('ann', sprintf($count, literal('ann')), 'dialer_pool_2'), qr/^42501: permission denied to set role "ann"/,
    'an agent of the first block is refused through the second block\'s login (42501)');
like(pooled(sprintf($count, literal('agent15')), 'dialer_pool_2'), qr/^42501: permission denied for schema vicidial/,
    'and the block\'s login, until it switches, acts as nobody: it has no right of its own (42501)');
like(request('ann', sprintf($count, literal('ann'))), qr/^ann \d+ \d+$/,
    'the first block still goes through dialer_pool, and is served');

stop_pgbouncer($pool_port);
$node->stop;
done_testing();
