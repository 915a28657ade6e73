#!/bin/bash
# Benchmark: how many agents does this box serve? test/bench/agents (C,
# libpq, non-blocking) plays N agents through pgbouncer in transaction
# mode, each request one transaction "BEGIN; SET LOCAL ROLE <agent>;
# <call>; COMMIT;" as the pooler's NOINHERIT login, at a call center's
# pace: a lead (hopper_next), 20-120 s of talk, the hangup
# (lead_disposition: 10% CALLBK due within seconds, half USERONLY; 1% DNC),
# the callback count polled every 5 s, the agent's LIVE callbacks read and
# dialed (agent_callbacks, callback_dial); one supervisor per 100 agents
# runs callbacks_report every minute and callbacks_reassign every five.
# The worker runs at its defaults; campaigns dial all day, but leads of one
# state are outside its call time now, and numbers are on do-not-call
# lists. Leads: 100 per agent of the largest step, at least 1,000,000.
#
# N steps up (STEPS); per step: p50/p99/max of every call, claims/s,
# due -> LIVE lateness p50/p99 (callback log: changed_at - new_callback_time
# of ACTIVE -> LIVE, for callbacks due in the window), and the CPU of
# PostgreSQL (the worker apart), pgbouncer and the generator (/proc). The
# capacity is the last step inside both limits: p99 of every agent call
# <= 50 ms (calls made at least 100 times in the window: a p99 of fewer is
# their maximum), due -> LIVE p99 <= 1 s; the run stops after the first step
# past them (ALL_STEPS=1 runs every step). Where the server's time goes:
# track_functions, pg_stat_statements and perf for each step's window.
# Then that step (or the last) once more with the agents bound to no role,
# all switching to dialer_agent as a front end that authenticates agents
# itself would: what a role per agent costs (COMPARE=0 skips it).
#
# The agents share client connections as an application server's pool
# would (CLIENTS, default one per 10 agents): the database sees the same
# transactions either way, a front end holds a pool rather than a socket
# per agent, and a socket per agent in both the generator and pgbouncer
# soon meets the hard file-descriptor limit, which root cannot raise in
# every container. CLIENTS=0 gives every agent a connection of its own
# (a step it does not fit is skipped).
#
# Agents switch roles through a pool login per block of POOL_BLOCK
# agents (default 2,000), as the deployment page advises for a large call
# center: dialer_pool_1 may switch to agents 1..2,000, dialer_pool_2 to
# the next 2,000, and so on, each login with its own share of the client
# connections and its own server connections. A server connection then
# caches the role memberships of one block, not of every agent, and
# PostgreSQL searches those one by one at each request's privilege check.
# POOL_BLOCK=0: one login, dialer_pool, for every agent.
#
# Settings (environment): STEPS, CLIENTS, POOL_SIZE (pgbouncer's server
# connections, divided among the agents' pool logins, rounded up and at
# least 2 each; the supervisors' dialer_pool gets a pool of that size),
# POOL_BLOCK, SERVER_LIFETIME (pgbouncer's, in seconds; default 3600,
# its own), CAMPAIGNS, RAMP (default N / 200, at least 20), WARMUP,
# WINDOW, TAIL (seconds), LEADS,
# PERF=0 (no perf), ALL_STEPS=1. CSVs, the PNG and the profile go to
# test/bench/results/. Numbers, not a pass/fail. Run as root on Debian 12;
# about 20 minutes with the default steps.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

STEPS=${STEPS:-"500 1000 2000 5000 10000 20000"}
CLIENTS=${CLIENTS:-}
POOL_SIZE=${POOL_SIZE:-10}
POOL_BLOCK=${POOL_BLOCK:-2000}
SERVER_LIFETIME=${SERVER_LIFETIME:-3600}
CAMPAIGNS=${CAMPAIGNS:-20}
RAMP=${RAMP:-}
WARMUP=${WARMUP:-15}
WINDOW=${WINDOW:-60}
TAIL=${TAIL:-5}
PERF=${PERF:-1}
ALL_STEPS=${ALL_STEPS:-0}
COMPARE=${COMPARE:-1}
began=$(date +%s)

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

max_agents=0
for n in $STEPS; do [ "$n" -gt "$max_agents" ] && max_agents=$n; done
leads=${LEADS:-$((max_agents * 100 > 1000000 ? max_agents * 100 : 1000000))}
# sockets: one per client connection in the generator and in pgbouncer
fd_limit=$(ulimit -Hn)
[ "$fd_limit" = unlimited ] && fd_limit=1048576
ulimit -n "$fd_limit"

PACKAGES="$PACKAGES gnuplot-nox" install_packages
[ "$PERF" = 1 ] && ! command -v perf >/dev/null && PACKAGES="linux-perf" install_packages
build_and_install
tree=$(scratch_tree)
start_throwaway_cluster "$tree" 54359 <<CONF
shared_preload_libraries = 'vicidial_callbacks, pg_stat_statements'
vicidial_callbacks.enabled = off
shared_buffers = 1GB
max_wal_size = 8GB
max_connections = 200
track_functions = pl
track_io_timing = on
pg_stat_statements.track = top
pg_stat_statements.track_utility = off
pg_stat_statements.max = 200000
CONF
sql() { cluster_psql -q -A -t "$@"; }
pool_port=54358
results="$PROJECT_ROOT/test/bench/results"
mkdir -p "$results"

echo "loading $leads leads, their callbacks and $max_agents agents bound to roles"
cluster_psql -q -v agents="$max_agents" -v leads="$leads" -v campaigns="$CAMPAIGNS" -v block="$POOL_BLOCK" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION vicidial_callbacks;
CREATE EXTENSION pg_stat_statements;
CREATE SCHEMA bench;

-- The roles of the documentation, with the grants this load uses.
CREATE ROLE dialer_agent;
GRANT USAGE ON SCHEMA vicidial TO dialer_agent;
GRANT EXECUTE ON FUNCTION vicidial.hopper_next, vicidial.lead_disposition, vicidial.agent_callback_count,
    vicidial.agent_callbacks, vicidial.callback_dial TO dialer_agent;
GRANT SELECT, INSERT ON vicidial.vicidial_dnc, vicidial.vicidial_campaign_dnc TO dialer_agent;
CREATE ROLE dialer_admin;
GRANT USAGE ON SCHEMA vicidial TO dialer_admin;
GRANT EXECUTE ON FUNCTION vicidial.callbacks_report, vicidial.callbacks_reassign TO dialer_admin;
CREATE ROLE dialer_pool LOGIN NOINHERIT;
GRANT dialer_admin TO dialer_pool;

-- Agents a00001.. each bound to a role of its own that the pooler may
-- switch to: as the login of its block of agents (dialer_pool_1, ...),
-- or as dialer_pool.
SELECT set_config('bench.agents', :'agents', false), set_config('bench.block', :'block', false) \g /dev/null
DO $$
DECLARE
    block integer := current_setting('bench.block')::integer;
    pool_login text;
BEGIN
    FOR i IN 1..current_setting('bench.agents')::integer LOOP
        pool_login := CASE WHEN block > 0 THEN 'dialer_pool_' || ((i - 1) / block + 1) ELSE 'dialer_pool' END;
        IF block > 0 AND (i - 1) % block = 0 THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOINHERIT', pool_login);
        END IF;
        EXECUTE format('CREATE ROLE %I NOLOGIN IN ROLE dialer_agent', 'a' || lpad(i::text, 5, '0'));
        EXECUTE format('GRANT %I TO %I', 'a' || lpad(i::text, 5, '0'), pool_login);
    END LOOP;
END $$;
INSERT INTO vicidial.vicidial_users ("user", full_name, agentonly_callbacks, db_role)
SELECT 'a' || lpad(g::text, 5, '0'), 'Agent ' || g, true, 'a' || lpad(g::text, 5, '0')
  FROM generate_series(1, :agents) g;

-- Hours on at any hour of the run: the campaigns' call time is open all
-- day; the state AK's is closed now in every US zone (opening hours
-- at least four hours away), so its leads are passed over.
INSERT INTO vicidial.vicidial_call_times (call_time_id, call_time_name, ct_default_start, ct_default_stop)
VALUES ('allday', 'all day', '00:00', '24:00');
INSERT INTO vicidial.vicidial_call_times (call_time_id, call_time_name, ct_default_start, ct_default_stop)
SELECT 'shut', 'closed during the run',
       CASE WHEN h >= 12 THEN time '00:00' ELSE make_time(h + 4, 0, 0) END,
       CASE WHEN h >= 12 THEN make_time(h - 5, 0, 0) ELSE time '20:00' END
  FROM (SELECT extract(hour FROM now() AT TIME ZONE 'America/New_York')::integer AS h) now_there;
INSERT INTO vicidial.vicidial_state_call_times (state, call_time_id) VALUES ('AK', 'shut');
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time, time_zone)
SELECT 'C' || lpad(g::text, 2, '0'), 100, 'allday', 'America/New_York' FROM generate_series(1, :campaigns) g;
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id)
SELECT g, 'C' || lpad(g::text, 2, '0') FROM generate_series(1, :campaigns) g;

-- Leads, loaded as a restore would (triggers off). Lead g is in list
-- (g - 1) % campaigns + 1; leads 1..2b (b: agents rounded up to a
-- multiple of the campaigns) hold two USERONLY callbacks days ahead for
-- each agent, in the agent's campaign; then 5% of the leads ANYONE
-- callbacks days ahead, 10% done with an archived callback; the rest NEW.
-- 4% are in AK; 1% of the numbers on the internal do-not-call list, 0.5%
-- on their campaign's.
SELECT (:agents + :campaigns - 1) / :campaigns * :campaigns AS b \gset
SELECT 2 * :b AS useronly_end, 2 * :b + :leads / 20 AS anyone_end, 2 * :b + :leads / 20 + :leads / 10 AS archive_end \gset
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status, "user", phone_number, time_zone, state)
SELECT g, (g - 1) % :campaigns + 1,
       CASE WHEN g <= :useronly_end AND (g - 1) % :b < :agents THEN 'CBHOLD'
            WHEN g <= :useronly_end THEN 'NEW'
            WHEN g <= :anyone_end THEN 'CBHOLD'
            WHEN g <= :archive_end THEN 'SALE'
            ELSE 'NEW' END,
       CASE WHEN g <= :useronly_end AND (g - 1) % :b < :agents THEN 'a' || lpad(((g - 1) % :b + 1)::text, 5, '0') END,
       (2000000000 + g)::text, z.zone,
       CASE WHEN g % 25 = 7 THEN 'AK' ELSE z.state END
  FROM generate_series(1, :leads) g
 CROSS JOIN LATERAL (SELECT (ARRAY['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'])[1 + g / 7 % 4] AS zone,
                            (ARRAY['NY', 'IL', 'CO', 'CA'])[1 + g / 7 % 4] AS state) z;
SELECT setval('vicidial.vicidial_list_lead_id_seq', :leads) \g /dev/null
INSERT INTO vicidial.vicidial_callbacks (lead_id, list_id, campaign_id, status, callback_time, "user", recipient,
                                         customer_timezone, retry_base_time, archive_reason)
SELECT l.lead_id, l.list_id, 'C' || lpad(l.list_id::text, 2, '0'), s.status, s.at, l."user",
       CASE WHEN l.lead_id <= :useronly_end THEN 'USERONLY' ELSE 'ANYONE' END, l.time_zone,
       CASE WHEN s.status = 'ACTIVE' THEN s.at END, CASE WHEN s.status = 'ARCHIVE' THEN 'DIALED' END
  FROM vicidial.vicidial_list l
 CROSS JOIN LATERAL (SELECT CASE WHEN l.lead_id <= :anyone_end THEN 'ACTIVE' ELSE 'ARCHIVE' END AS status,
                            date_trunc('day', now()) + make_interval(days => CASE WHEN l.lead_id <= :anyone_end
                                                                                  THEN 2 + l.lead_id % 20
                                                                                  ELSE -1 - l.lead_id % 300 END::integer,
                                                                     hours => (10 + l.lead_id % 8)::integer) AS at) s
 WHERE l.lead_id <= :archive_end AND l.status <> 'NEW';
COMMIT;
INSERT INTO vicidial.vicidial_dnc (phone_number)
SELECT (2000000000 + g)::text FROM generate_series(1, :leads) g WHERE g % 100 = 3;
INSERT INTO vicidial.vicidial_campaign_dnc (campaign_id, phone_number)
SELECT 'C' || lpad(((g - 1) % :campaigns + 1)::text, 2, '0'), (2000000000 + g)::text
  FROM generate_series(1, :leads) g WHERE g % 200 = 11;
VACUUM ANALYZE;

-- What each step measured; run: the order of the steps.
CREATE TABLE bench.steps (run integer PRIMARY KEY, roles text, agents integer, clients integer, supervisors integer,
    window_start double precision, window_end double precision, claims bigint, claims_per_s numeric,
    empty_hopper bigint, refused bigint, unexpected bigint, skipped_polls bigint,
    cpu_postgres numeric, cpu_worker numeric, cpu_pgbouncer numeric, cpu_generator numeric, cpu_box numeric,
    xacts_per_s numeric, xacts numeric, pool_xact_ms numeric, pool_wait_ms numeric);
CREATE TABLE bench.calls (run integer, call text, n bigint, errors bigint, p50_ms numeric, p99_ms numeric, max_ms numeric,
    PRIMARY KEY (run, call));
CREATE TABLE bench.lateness (run integer PRIMARY KEY, callbacks bigint, not_live bigint,
    p50_s numeric, p99_s numeric, max_s numeric);
CREATE TABLE bench.runs (run integer, runs bigint, p50_s numeric, max_s numeric, failed bigint);
-- Server time in the window: the statistics at its end less those at its
-- start (no reset: pg_stat_statements keys its entries by role, one per
-- agent, and a reset would make each agent's next call create them again).
CREATE TABLE bench.functions (run integer, funcname text, calls bigint, total_ms numeric, self_ms numeric);
CREATE TABLE bench.statements (run integer, query text, calls bigint, total_ms numeric);
CREATE FUNCTION bench.snapshot(run integer, sign integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO bench.functions
    SELECT run, funcname, sign * calls, sign * total_time, sign * self_time FROM pg_stat_user_functions;
    INSERT INTO bench.statements
    SELECT run, query, sign * sum(calls), sign * sum(total_exec_time) FROM pg_stat_statements GROUP BY query;
$$;
SQL
[ "$(sql -c "SELECT count(*) FROM vicidial.invariant_violations()")" = 0 ] || { echo "the loaded data breaks the invariants" >&2; exit 1; }
sql -c "ALTER SYSTEM SET vicidial_callbacks.enabled = on" -c "SELECT pg_reload_conf()" >/dev/null
echo "loaded in $(( $(date +%s) - began )) s"

# pgbouncer, transaction mode, on a Unix socket in the scratch tree (no
# port range to run out of); its console for SHOW STATS.
bouncer="$tree/pgbouncer"
as_postgres mkdir -p "$bouncer"
block_logins=$(sql -c "SELECT format('\"%s\" \"\"', rolname) FROM pg_roles WHERE rolname LIKE 'dialer\_pool\_%' ORDER BY oid")
as_postgres tee "$bouncer/userlist.txt" >/dev/null <<USERS
"dialer_pool" ""
"postgres" ""
$block_logins
USERS
# The pool's size per login ($1): written before each step, with RELOAD.
pool_ini()
{
    as_postgres tee "$bouncer/pgbouncer.ini" >/dev/null <<INI
[databases]
postgres = host=$tree port=$cluster_port dbname=postgres

[pgbouncer]
listen_addr =
listen_port = $pool_port
unix_socket_dir = $tree
auth_type = trust
auth_file = $bouncer/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = $1
server_lifetime = $SERVER_LIFETIME
max_client_conn = $((fd_limit - 200))
log_connections = 0
log_disconnections = 0
logfile = $bouncer/pgbouncer.log
pidfile = $bouncer/pgbouncer.pid
INI
}
pool_ini "$POOL_SIZE"
# stopped before the cluster when the script exits
eval "set -- $(trap -p EXIT)"
trap "kill \$(cat '$bouncer/pgbouncer.pid' 2>/dev/null) 2>/dev/null || true; sleep 1; $3" EXIT
as_postgres bash -c "ulimit -n $fd_limit && exec pgbouncer -d -q '$bouncer/pgbouncer.ini'"
for _ in $(seq 1 50); do
    [ "$(as_postgres psql -X -A -t -h "$tree" -p "$pool_port" -U dialer_pool -d postgres -c 'SELECT 1' 2>/dev/null)" = 1 ] && break
    sleep 0.2
done
postmaster=$(head -1 "$tree/data/postmaster.pid")
bouncer_pid=$(cat "$bouncer/pgbouncer.pid")

# PostgreSQL's stages that perf's inclusive times are shown for
# (pg_plan_queries: all planning, plan cache included; GetCachedPlan: the
# plans of PL/pgSQL statements; pg_analyze_and_rewrite_fixedparams: the
# requests' own statements)
stages="PostgresMain|exec_simple_query|pg_parse_query|pg_analyze_and_rewrite_fixedparams|pg_plan_queries|standard_planner"
stages="$stages|GetCachedPlan|BuildCachedPlan|standard_ExecutorRun|plpgsql_exec_function|CommitTransactionCommand"
stages="$stages|AfterTriggerFireDeferred|XLogFlush|SearchCatCacheList|vicidial_worker_main|pq_getbyte|secure_write"

# The first $1 lines of a perf report of this run's window.
perf_report()
{
    local lines=$1
    shift
    { perf report -i "$tree/perf.$run.data" --stdio "$@" 2>/dev/null || true; } | { grep -v -e '^#' -e '^$' || true; } | sed -n "1,${lines}p"
}

# One measured step: $1 agents; $2 "own" (each agent switches to its own
# role, as bound) or "shared" (agents not bound to roles, all switching to
# dialer_agent: what a front end that authenticates agents itself does).
# Sets "past" to t when the step is past the limits.
run=0
measure()
{
    local n=$1 roles=$2 clients ramp level first_run perf_cmd verdict worst late claims_rate shared="" logins=1 blocks="" pool_size
    run=$((run + 1))
    clients=${CLIENTS:-$(( n / 10 > 20 ? n / 10 : 20 ))}
    # every agent's first claim within the ramp: at most 200 a second
    ramp=${RAMP:-$(( n / 200 > 20 ? n / 200 : 20 ))}
    past=skipped
    if [ "$(( (clients == 0 ? n : clients) + n / 100 + 100 ))" -gt "$fd_limit" ]; then
        echo "== $n agents: skipped, more connections than the file-descriptor limit ($fd_limit) allows"
        return
    fi
    if [ "$roles" = shared ]; then
        shared="-R dialer_agent"
        sql -c "UPDATE vicidial.vicidial_users SET db_role = NULL" >/dev/null
    fi
    # the pool logins of this step's agents, each with a pool of POOL_SIZE
    # divided among them (the supervisors' dialer_pool the same size);
    # new server connections for each step
    if [ "$POOL_BLOCK" -gt 0 ]; then
        logins=$(( (n + POOL_BLOCK - 1) / POOL_BLOCK ))
        blocks="-L $POOL_BLOCK -U dialer_pool_"
    fi
    pool_size=$(( (POOL_SIZE + logins - 1) / logins ))
    [ "$pool_size" -ge 2 ] || pool_size=2
    pool_ini "$pool_size"
    as_postgres psql -X -q -h "$tree" -p "$pool_port" -U postgres -d pgbouncer -c RELOAD -c RECONNECT >/dev/null
    # hoppers of about two minutes of their campaign's claims
    level=$(( (2 * n + CAMPAIGNS - 1) / CAMPAIGNS ))
    sql -c "UPDATE vicidial.vicidial_campaigns SET hopper_level = greatest($level, 100)" \
        -c "SELECT count(*) FROM vicidial.hopper_run()" -c "VACUUM ANALYZE vicidial.vicidial_hopper" >/dev/null
    first_run=$(sql -c "SELECT coalesce(max(run_id), 0) FROM vicidial.hopper_runs")
    perf_cmd=""
    [ "$PERF" = 1 ] && perf_cmd="timeout -s INT $WINDOW perf record -q -g -F 199 -o '$tree/perf.$run.data' \
        -p \"\$(pgrep -d, -P $postmaster),$postmaster,$bouncer_pid,\$PPID\" >/dev/null 2>&1"
    echo "== $n agents, $( [ "$clients" = 0 ] && echo "one connection each" || echo "$clients client connections"),"\
         "$( [ "$roles" = own ] && echo "each agent its own role" || echo "one role for every agent"),"\
         "$logins pool login(s) of $pool_size server connections each"
    # shellcheck disable=SC2086
    "$PROJECT_ROOT/test/bench/agents" -n "$n" -c "$clients" -C "$CAMPAIGNS" -r "$ramp" -w "$WARMUP" -m "$WINDOW" -t "$TAIL" \
        -s "$n" -P "$postmaster" -B "$bouncer_pid" $shared $blocks \
        -S "host=$tree port=$pool_port user=postgres dbname=pgbouncer" \
        -D "host=$tree port=$cluster_port user=postgres dbname=postgres" \
        -M "SELECT bench.snapshot($run, -1)" -E "SELECT bench.snapshot($run, 1)" \
        -x "$perf_cmd" \
        "host=$tree port=$pool_port user=dialer_pool dbname=postgres" > "$tree/step.$run.csv"
    [ "$roles" = shared ] && sql -c "UPDATE vicidial.vicidial_users SET db_role = \"user\"" >/dev/null
    grep '^step,' "$tree/step.$run.csv" | cut -d, -f2- | sed "s/^/$run,$roles,/" |
        sql -c "COPY bench.steps FROM STDIN WITH CSV NULL 'nan'"
    grep '^call,' "$tree/step.$run.csv" | cut -d, -f3- | sed "s/^/$run,/" |
        sql -c "COPY bench.calls FROM STDIN WITH CSV NULL 'nan'"
    # calls the generator could not hang up (it waits at most a minute)
    sql -c "SELECT count(vicidial.agent_release(u)) FROM (SELECT DISTINCT l.\"user\" AS u FROM vicidial.vicidial_list l
            WHERE l.status = 'INCALL') held" >/dev/null
    # due -> LIVE of the callbacks due in the window; one not LIVE yet counts as late as it is now
    sql -c "INSERT INTO bench.lateness
            SELECT $run, count(*), count(*) FILTER (WHERE NOT flipped),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY late), percentile_cont(0.99) WITHIN GROUP (ORDER BY late), max(late)
              FROM (SELECT extract(epoch FROM g.changed_at - g.new_callback_time) AS late, true AS flipped
                      FROM vicidial.vicidial_callback_log g, bench.steps s
                     WHERE s.run = $run AND g.old_status = 'ACTIVE' AND g.new_status = 'LIVE'
                       AND g.new_callback_time >= to_timestamp(s.window_start) AND g.new_callback_time < to_timestamp(s.window_end)
                    UNION ALL
                    SELECT extract(epoch FROM clock_timestamp() - c.callback_time), false
                      FROM vicidial.vicidial_callbacks c, bench.steps s
                     WHERE s.run = $run AND c.status = 'ACTIVE'
                       AND c.callback_time >= to_timestamp(s.window_start) AND c.callback_time < to_timestamp(s.window_end)) x" >/dev/null
    sql -c "INSERT INTO bench.runs
            SELECT $run, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)),
                   max(extract(epoch FROM finished_at - started_at)), count(*) FILTER (WHERE error IS NOT NULL)
              FROM vicidial.hopper_runs r, bench.steps s
             WHERE s.run = $run AND r.run_id > $first_run
               AND r.started_at >= to_timestamp(s.window_start) AND r.started_at < to_timestamp(s.window_end)" >/dev/null
    if [ "$PERF" = 1 ] && [ -s "$tree/perf.$run.data" ]; then
        { echo "-- perf: CPU samples by command and object"
          perf_report 15 --no-children --sort comm,dso -g none
          echo "-- perf: top symbols"
          perf_report 30 --no-children --sort comm,sym -g none
          echo "-- perf: PostgreSQL's time by stage (inclusive: a stage counts what it calls)"
          perf_report 1000000 --children --comm postgres --sort sym -g none | grep -E "\] ($stages)\s*$" | awk '!seen[$NF]++' || true
          echo "-- perf: who calls the top PostgreSQL symbols"
          perf_report 80 --no-children --comm postgres --sort sym --percent-limit 3 -g caller,0.5,callee,function,percent
        } > "$tree/perf.$run.txt"
        rm -f "$tree/perf.$run.data"
    fi
    verdict=$(sql -c "SELECT round(max(c.p99_ms), 1) || ' ms (' || (array_agg(c.call ORDER BY c.p99_ms DESC))[1] || ')|'
                             || coalesce(round(l.p99_s, 3)::text, '-') || ' s|' || round(s.claims_per_s, 1) || '|'
                             || (max(c.p99_ms) > 50 OR coalesce(l.p99_s > 1, false))
                        FROM bench.calls c JOIN bench.steps s USING (run) LEFT JOIN bench.lateness l USING (run)
                       WHERE c.run = $run AND c.n >= 100 AND c.call NOT LIKE 'callbacks\_%'
                       GROUP BY l.p99_s, s.claims_per_s")
    IFS='|' read -r worst late claims_rate past <<<"$verdict"
    echo "   worst agent p99 $worst, due -> LIVE p99 $late, $claims_rate claims/s"
}

first_past=""
last=""
for n in $STEPS; do
    measure "$n" own
    [ "$past" = skipped ] && continue
    last=$n
    if [ "$past" = true ]; then
        # the first step past the limits, even when ALL_STEPS runs the rest
        [ -n "$first_past" ] || first_past=$n
        [ "$ALL_STEPS" = 1 ] || break
    fi
done
# the same load at the step that broke the limits (else the last), with
# no role per agent: what binding every agent to a role costs
[ "$COMPARE" = 1 ] && [ -n "${first_past:-$last}" ] && measure "${first_past:-$last}" shared

# CSVs: one row per step (every agent call's p50/p99/max beside the
# totals), one per step and call; the PNG; the profile.
sql -c "CREATE VIEW bench.summary AS
        SELECT s.run, s.roles, s.agents, s.clients, s.supervisors, round(s.claims_per_s, 1) AS claims_per_s,
               round(s.xacts_per_s) AS xacts_per_s,
               (SELECT max(c.p99_ms) FROM bench.calls c WHERE c.run = s.run AND c.n >= 100
                   AND c.call NOT LIKE 'callbacks\_%') AS agent_p99_ms,
               l.callbacks AS due_callbacks, l.not_live, round(l.p50_s, 3) AS late_p50_s, round(l.p99_s, 3) AS late_p99_s,
               round(l.max_s, 3) AS late_max_s,
               s.cpu_postgres, s.cpu_worker, s.cpu_pgbouncer, s.cpu_generator,
               s.cpu_box - s.cpu_postgres - s.cpu_worker - s.cpu_pgbouncer - s.cpu_generator AS cpu_other, s.cpu_box,
               round(s.pool_xact_ms, 3) AS pool_xact_ms, round(s.pool_wait_ms, 3) AS pool_wait_ms,
               s.empty_hopper, s.refused, s.unexpected, s.skipped_polls,
               r.runs AS worker_runs, round(r.p50_s, 3) AS worker_run_p50_s, round(r.max_s, 3) AS worker_run_max_s
          FROM bench.steps s LEFT JOIN bench.lateness l USING (run) LEFT JOIN bench.runs r USING (run)" >/dev/null
calls="hopper_next lead_disposition agent_callback_count agent_callbacks callback_dial callbacks_report callbacks_reassign"
wide=""
for call in $calls; do
    for q in p50 p99 max; do
        wide="$wide, (SELECT c.${q}_ms FROM bench.calls c WHERE c.run = s.run AND c.call = '$call') AS ${call}_$q"
    done
done
sql -c "COPY (SELECT s.* $wide FROM bench.summary s ORDER BY s.run) TO STDOUT WITH CSV HEADER" > "$results/capacity.csv"
sql -c "COPY (SELECT s.roles, s.agents, c.call, c.n, c.errors, c.p50_ms, c.p99_ms, c.max_ms
                FROM bench.calls c JOIN bench.steps s USING (run) ORDER BY c.run, c.call)
        TO STDOUT WITH CSV HEADER" > "$results/capacity_calls.csv"
# the plot's points: the steps, each agent bound to its own role
sql -c "COPY (SELECT s.* $wide FROM bench.summary s WHERE s.roles = 'own' ORDER BY s.agents) TO STDOUT WITH CSV HEADER" \
    > "$tree/plot.csv"
gnuplot <<PLOT || true
set terminal pngcairo size 1000,700 noenhanced
set output '$results/capacity.png'
set datafile separator ','
set datafile missing 'NaN'
set multiplot layout 2,1 title 'vicidial_callbacks $(date -u +%Y-%m-%d), $(nproc) cores: agents through pgbouncer (transaction mode)'
set logscale xy
set grid
set key outside right
set xlabel 'simulated agents'
set ylabel 'p99 latency, ms'
set yrange [0.1:100<*]
plot for [call in "$calls"] '$tree/plot.csv' using 'agents':(column(call.'_p99')) with linespoints title call, \
     50 with lines dashtype 2 lc 'black' title 'limit: 50 ms'
set ylabel 'due -> LIVE p99, s'
set yrange [0.001:100]
plot '$tree/plot.csv' using 'agents':'late_p99_s' with linespoints title 'due -> LIVE p99', \
     1 with lines dashtype 2 lc 'black' title 'limit: 1 s'
unset multiplot
PLOT
[ -s "$results/capacity.png" ] || echo "no plot: gnuplot failed" >&2
label() { sql -c "SELECT agents || ' agents, ' || CASE roles WHEN 'own' THEN 'each agent its own role'
                   ELSE 'one role for every agent' END FROM bench.steps WHERE run = $1"; }
{
    for r in $(sql -c "SELECT run FROM bench.steps ORDER BY run"); do
        echo "== run $r: $(label "$r")"
        echo "-- server time by function (track_functions, the window)"
        cluster_psql -q -c "
            SELECT funcname AS function, sum(calls) AS calls, round(sum(self_ms) / nullif(sum(calls), 0), 3) AS self_ms_per_call,
                   round(sum(self_ms)) AS self_ms, round(sum(total_ms)) AS total_ms,
                   round(100 * sum(self_ms) / sum(sum(self_ms)) OVER (), 1) AS \"% of self\"
              FROM bench.functions WHERE run = $r GROUP BY funcname ORDER BY sum(self_ms) DESC LIMIT 20"
        echo "-- top-level statements (pg_stat_statements, the window)"
        cluster_psql -q -c "
            SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 70) AS statement, sum(calls) AS calls,
                   round(sum(total_ms) / nullif(sum(calls), 0), 3) AS mean_ms, round(sum(total_ms)) AS total_ms,
                   round(100 * sum(total_ms) / sum(sum(total_ms)) OVER (), 1) AS pct
              FROM bench.statements WHERE run = $r GROUP BY query HAVING sum(calls) > 0
             ORDER BY sum(total_ms) DESC LIMIT 12"
        [ -f "$tree/perf.$r.txt" ] && cat "$tree/perf.$r.txt"
        echo
    done
} > "$results/capacity_profile.txt"

echo
echo "$(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)," \
     "$(sql -c 'SHOW server_version'), pgbouncer $(pgbouncer --version | awk 'NR == 1 {print $2}'), $POOL_SIZE server connections$( [ "$POOL_BLOCK" -gt 0 ] && echo " divided among pool logins of $POOL_BLOCK agents");" \
     "load average before the run: $load_before"
echo "$results/capacity.csv, capacity_calls.csv, capacity.png, capacity_profile.txt"
cluster_psql -q -c "
SELECT agents, roles, clients, claims_per_s AS \"claims/s\", xacts_per_s AS \"xacts/s\",
       agent_p99_ms AS \"worst agent p99 ms\", late_p50_s AS \"due->LIVE p50 s\", late_p99_s AS \"due->LIVE p99 s\",
       cpu_postgres AS \"CPU% postgres\", cpu_worker AS \"CPU% worker\", cpu_pgbouncer AS \"CPU% pgbouncer\",
       cpu_generator AS \"CPU% generator\", cpu_other AS \"CPU% others\", cpu_box AS \"CPU% box\", pool_wait_ms AS \"pool wait ms\",
       CASE WHEN agent_p99_ms > 50 OR late_p99_s > 1 THEN 'past' ELSE 'inside' END AS limits
  FROM bench.summary ORDER BY run"
cluster_psql -q -c "
SELECT s.agents, s.roles, c.call, c.n AS calls, c.errors, c.p50_ms, c.p99_ms, c.max_ms
  FROM bench.calls c JOIN bench.steps s USING (run) WHERE c.n > 0 ORDER BY c.run, c.call"
cluster_psql -q -c "
SELECT agents, roles, due_callbacks AS \"due in window\", not_live AS \"not LIVE yet\", late_max_s AS \"due->LIVE max s\",
       worker_runs AS \"worker runs\", worker_run_p50_s AS \"run p50 s\", worker_run_max_s AS \"run max s\",
       empty_hopper AS \"empty hopper\", refused, unexpected, skipped_polls AS \"polls skipped\"
  FROM bench.summary ORDER BY run"
capacity=$(sql -c "SELECT max(agents) FROM bench.summary WHERE roles = 'own' AND agents < coalesce(${first_past:-NULL}, 2147483647)")
if [ -n "$first_past" ]; then
    echo "capacity: ${capacity:-below the first step} agents (the last step inside the limits); the first step past them" \
         "(p99 of an agent call > 50 ms or due -> LIVE p99 > 1 s): $first_past"
    past_run=$(sql -c "SELECT run FROM bench.steps WHERE roles = 'own' AND agents = $first_past")
    echo "where the time went at $first_past agents ($results/capacity_profile.txt has every step):"
    awk -v r="$past_run" '/^== run [0-9]+:/ {show = ($3 == r ":")} show' "$results/capacity_profile.txt"
else
    echo "capacity: every step inside the limits, up to $capacity agents"
fi
# The goals: 10,000 agents inside the limits, and callbacks on time
# (due -> LIVE p99 at most 250 ms) at the box's capacity.
record_goals capacity "
SELECT 'agents served inside the limits (an agent call p99 <= 50 ms, due -> LIVE p99 <= 1 s)', '>= 10000',
       coalesce(nullif('$capacity', ''), 'below the first step'),
       CASE WHEN coalesce(nullif('$capacity', '')::integer, 0) >= 10000 THEN 'met' ELSE 'missed' END
UNION ALL
SELECT 'due -> LIVE p99 at that step, s', '<= 0.25', coalesce(s.late_p99_s::text, '-'),
       CASE WHEN s.late_p99_s <= 0.25 THEN 'met' ELSE 'missed' END
  FROM (VALUES (nullif('$capacity', '')::integer)) AS at(agents)
  LEFT JOIN bench.summary s ON s.roles = 'own' AND s.agents = at.agents"
echo "invariant violations after the run: $(sql -c "SELECT count(*) FROM vicidial.invariant_violations()")"
echo "elapsed: $(( ($(date +%s) - began) / 60 )) min $(( ($(date +%s) - began) % 60 )) s"
