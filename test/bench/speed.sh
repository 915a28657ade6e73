#!/bin/bash
# The speed benchmark: the sweep, the idle run, the fill and the agent
# cycle on a million callbacks and a million leads, each beside the floor
# (the same rows changed by bare statements with no trigger) and, for the
# sweep, VICIdial's per-row loop on libpq (test/bench/rowloop.c); the sweep
# and the fill with calling hours on (9am-9pm in four US zones) beside the
# same with hours off (24hours); an idle run while 50,000 leads wait for
# their hours; the sweep and the agent cycle with the callback log on (as
# shipped) beside the same with its triggers off; the agent cycle with a
# log two years old (28 month partitions) beside the log as installed
# (its default partition alone). The agent cycles also report the CPU
# their backends used per cycle (perf stat), and one more sweep of
# 100,000 is profiled statement by statement (pg_stat_statements): what
# the goals' limit lines show. EXT_VERSION picks the extension version
# measured (default: the current one). Drivers
# alternate within each repetition; each figure is the median of the
# repetitions, with their spread. Numbers, not a pass/fail; a CSV of every
# repetition goes to test/bench/results/. Run as root on Debian 12; about
# five minutes. REPS=n changes the repetitions (default 3).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

reps=${REPS:-3}
# EXT_VERSION=1.1 measures a released version's SQL (with this build's
# library, which serves it) beside the same floors, on the same box.
ext_version=${EXT_VERSION:-$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$(dirname "$0")/../../vicidial_callbacks.control")}
install_packages
install_perf
build_and_install
tree=$(scratch_tree)
start_throwaway_cluster "$tree" 54369 <<CONF
shared_preload_libraries = 'vicidial_callbacks, pg_stat_statements'
pg_stat_statements.track = none
compute_query_id = off
vicidial_callbacks.enabled = off
shared_buffers = 1GB
max_wal_size = 4GB
CONF
sql() { cluster_psql -q -A -t "$@"; }
conninfo="host=$cluster_tree port=$cluster_port dbname=postgres"

echo "loading 1,000,000 leads and 1,000,000 callbacks"
cluster_psql -q -v version="$ext_version" -f "$tree/test/bench/speed.sql"
due=$(sql -c "SELECT date_trunc('day', now()) + interval '1 day 12:00'")
due_1k=$(sql -c "SELECT '$due'::timestamptz - interval '99000 seconds'")
idle=$(sql -c "SELECT '$due'::timestamptz - interval '200000 seconds'")
# 12:00 UTC is night in every US zone: hours on, every ANYONE lead waits.
# 15:30 UTC: New York and Chicago open, Denver and Los Angeles not yet.
fill_mixed=$(sql -c "SELECT '$due'::timestamptz + interval '3 hours 30 minutes'")
hours() { sql -c "UPDATE vicidial.vicidial_campaigns SET local_call_time = '$1'" >/dev/null; }
# the callback log's two statement triggers off or on again
callback_log() { sql -c "ALTER TABLE vicidial.vicidial_callbacks $1 TRIGGER callbacks_logged_insert;
                         ALTER TABLE vicidial.vicidial_callbacks $1 TRIGGER callbacks_logged_update" >/dev/null; }
# the two years of log months (speed.sql) attached or detached, and the
# dead rows their move left vacuumed away
log_months() { sql -c "SELECT bench.log_months('$1')" >/dev/null
               sql -c "VACUUM vicidial.vicidial_log_default, vicidial.vicidial_callback_log_default" >/dev/null; }

record() { sql -c "INSERT INTO bench.results VALUES ('$1', '$2', $3, $4)"; }
# Each measurement starts from clean tables: the rolled-back one before it
# left dead row versions and index entries behind (a sweep's in the
# releases too, which an idle run's search for the next release reads).
clean() { sql -c "VACUUM vicidial.vicidial_callbacks, vicidial.vicidial_list, vicidial.vicidial_hopper, vicidial.callback_releases" >/dev/null; }
timed() { clean; sql -c "SELECT bench.time_ms(\$s\$$1\$s\$, $2)"; }
rowloop() { clean; as_postgres "$tree/test/bench/rowloop" "$conninfo" "$1"; }
# an idle run: the median of 21 in one session, as the worker keeps one
warm() { sql -c "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY bench.time_ms(\$s\$$1\$s\$)) FROM generate_series(1, 21)"; }

for rep in $(seq 1 "$reps"); do
    echo "repetition $rep of $reps"
    record 'sweep 100,000 due' floor "$rep" "$(timed "$(sql -c "SELECT bench.floor_sweep('$due')")" true)"
    record 'sweep 100,000 due' ours "$rep" "$(timed "SELECT * FROM vicidial.sweep('$due')" false)"
    record 'sweep 100,000 due' 'per-row loop' "$rep" "$(rowloop "$due")"
    record 'sweep 1,000 due' floor "$rep" "$(timed "$(sql -c "SELECT bench.floor_sweep('$due_1k')")" true)"
    record 'sweep 1,000 due' ours "$rep" "$(timed "SELECT * FROM vicidial.sweep('$due_1k')" false)"
    record 'sweep 1,000 due' 'per-row loop' "$rep" "$(rowloop "$due_1k")"
    # idle: nothing due and every hopper full, as between a run's due callbacks
    sql -c "UPDATE vicidial.vicidial_campaigns SET hopper_level = 0" >/dev/null
    clean
    record 'idle run (nothing due)' floor "$rep" "$(warm 'SELECT 1')"
    record 'idle run (nothing due)' ours "$rep" "$(warm "SELECT * FROM vicidial.hopper_run('$idle')")"
    sql -c "UPDATE vicidial.vicidial_campaigns SET hopper_level = 500" >/dev/null
    record 'fill 10 campaigns x 500' floor "$rep" "$(timed "$(sql -c "SELECT bench.floor_fill('$due')")" true)"
    record 'fill 10 campaigns x 500' ours "$rep" "$(timed "SELECT vicidial.hopper_fill('$due')" false)"
    # calling hours on against the same statement with hours off
    record 'sweep 100,000 due, hours on (all wait)' 'hours off' "$rep" "$(timed "SELECT * FROM vicidial.sweep('$due')" false)"
    hours 9am-9pm
    record 'sweep 100,000 due, hours on (all wait)' ours "$rep" "$(timed "SELECT * FROM vicidial.sweep('$due')" false)"
    record 'fill 10 campaigns x 500, hours on (2 of 4 zones open)' ours "$rep" "$(timed "SELECT vicidial.hopper_fill('$fill_mixed')" false)"
    hours 24hours
    record 'fill 10 campaigns x 500, hours on (2 of 4 zones open)' 'hours off' "$rep" "$(timed "SELECT vicidial.hopper_fill('$fill_mixed')" false)"
    # the callback log (100,000 rows for this sweep) against none
    record 'sweep 100,000 due, callback log on' ours "$rep" "$(timed "SELECT * FROM vicidial.sweep('$due')" false)"
    callback_log DISABLE
    record 'sweep 100,000 due, callback log on' 'log off' "$rep" "$(timed "SELECT * FROM vicidial.sweep('$due')" false)"
    callback_log ENABLE
done

# Where a sweep of 100,000 spends its time: one more, rolled back, with
# every statement it runs counted (pg_stat_statements, in this session
# only: no other figure pays for a query id or a count; each statement's
# time includes the statements and triggers it runs). The wrappers (the
# timer, sweep and _sweep) are left out.
clean
sql -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()" >/dev/null
sql -c "SET compute_query_id = on; SET pg_stat_statements.track = 'all'; SELECT bench.time_ms(\$s\$SELECT * FROM vicidial.sweep('$due')\$s\$)" >/dev/null
sql -c "CREATE TABLE bench.sweep_profile AS
        SELECT replace(left(btrim(split_part(regexp_replace(s.query, '\s+', ' ', 'g'), '(', 1)), 50), '|', '/') AS statement,
               s.calls, round(s.total_exec_time::numeric) AS ms
          FROM pg_stat_statements s
         WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND s.query !~ 'bench\.time_ms|vicidial\.sweep\(|vicidial\._sweep\(|pg_stat_statements'
         ORDER BY s.total_exec_time DESC LIMIT 12" >/dev/null
echo "one sweep of 100,000 due, its costliest statements (inclusive):"
cluster_psql -q -c "SELECT * FROM bench.sweep_profile ORDER BY ms DESC"

# A refill, as each of the worker's runs makes while agents take leads:
# the hoppers full (10 x 500, committed), the first 5 of each taken out
# (untimed), put back; the median of 21 in one session, as the worker
# keeps one. Ours counts the room, decides hours, do-not-call and the
# 24-hour limit and queues; the floor inserts the same 50 leads bare.
sql -c "UPDATE vicidial.vicidial_campaigns SET hopper_level = 500; SELECT vicidial.hopper_fill('$due')" >/dev/null
first="SELECT q.hopper_id, q.lead_id FROM (SELECT h.hopper_id, h.lead_id, row_number() OVER (PARTITION BY h.campaign_id ORDER BY h.priority DESC, h.hopper_id) AS n FROM vicidial.vicidial_hopper h) q WHERE q.n <= 5"
take="DELETE FROM vicidial.vicidial_hopper WHERE hopper_id IN (SELECT f.hopper_id FROM ($first) f)"
floor_refill=$(sql -c "SELECT bench.floor_refill(array_agg(f.lead_id), '$due') FROM ($first) f")
refill() { clean; sql -c "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY bench.time_ms(\$s\$$1\$s\$, $2, \$s\$$take\$s\$)) FROM generate_series(1, 21)"; }
for rep in $(seq 1 "$reps"); do
    record 'refill 10 campaigns x 5 taken' floor "$rep" "$(refill "$floor_refill" true)"
    record 'refill 10 campaigns x 5 taken' ours "$rep" "$(refill "SELECT vicidial.hopper_fill('$due')" false)"
done
sql -c "DELETE FROM vicidial.vicidial_hopper" >/dev/null

# An idle run while the 50,000 ANYONE leads of the due callbacks wait for
# their hours (a night's sweep, committed): it reads what an idle run reads.
hours 9am-9pm
sql -c "UPDATE vicidial.vicidial_campaigns SET hopper_level = 0; SELECT * FROM vicidial.sweep('$due')" >/dev/null
clean
for rep in $(seq 1 "$reps"); do
    record 'idle run, 50,000 leads waiting for their hours' floor "$rep" "$(warm 'SELECT 1')"
    record 'idle run, 50,000 leads waiting for their hours' ours "$rep" "$(warm "SELECT * FROM vicidial.hopper_run('$due'::timestamptz + interval '1 minute')")"
done
echo "waiting for their hours: $(sql -c 'SELECT count(*) FROM vicidial.callback_releases')"

# The agent cycle: hopper_next then lead_disposition (10% CALLBK), 8
# clients for 10 s, each client its own agent (an agent holds one call at
# a time), beside two baselines on trigger-free copies of the tables: the
# same cycle written by hand in plain SQL doing the same work (the agent's
# one call, calling hours with holidays and state call times, both
# do-not-call lists, the 24-hour limit, the dial log opened and closed),
# the fair floor; and a bare cycle that checks nothing. Every driver runs
# its statements prepared, as a front end would.
echo "agent cycle: 8 clients, 10 s per driver and repetition"
sql -c "UPDATE vicidial.vicidial_campaigns SET hopper_level = 20000, dial_statuses = '{NEW}', local_call_time = '24hours';
        SELECT vicidial.hopper_fill('$due');
        CREATE TABLE bench.list (LIKE vicidial.vicidial_list INCLUDING ALL);
        INSERT INTO bench.list SELECT * FROM vicidial.vicidial_list;
        CREATE TABLE bench.hopper (LIKE vicidial.vicidial_hopper INCLUDING ALL);
        INSERT INTO bench.hopper SELECT * FROM vicidial.vicidial_hopper;
        -- and every other dialable lead after them: the floor and the bare
        -- cycle take far more leads than ours in the same time, and
        -- emptied the copied 200,000 within three repetitions
        INSERT INTO bench.hopper (lead_id, campaign_id, list_id, status, priority, source, entry_time)
        SELECT l.lead_id, li.campaign_id, l.list_id, 'READY', 0, 'S', now()
          FROM vicidial.vicidial_list l JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id
         WHERE l.status = 'NEW' AND l.called_since_last_reset = 'N'
           AND NOT EXISTS (SELECT 1 FROM bench.hopper h WHERE h.lead_id = l.lead_id)
         ORDER BY l.lead_id;
        CREATE TABLE bench.callbacks (LIKE vicidial.vicidial_callbacks INCLUDING ALL);
        CREATE TABLE bench.log (LIKE vicidial.vicidial_log_default INCLUDING ALL);" >/dev/null
sql -c "VACUUM ANALYZE" 
# One driver's cycles (a cycle is one run of the script cycle_$1): ms per
# cycle per client, recorded as figure $2 of driver $3; with a fourth
# argument, the backends' CPU per cycle too, recorded as that figure
# (NULL where perf could not measure it). Called as a command, not in
# $(...), so that a failed driver stops the benchmark.
cycle() {
    local out tps cycles cpu=NULL
    out=$(pgbench_backend_cpu 8 "$tree/cpu" -n -M prepared -h "$cluster_tree" -p "$cluster_port" -c 8 -j 2 -T 10 \
          -f "$tree/test/bench/cycle_$1.pgbench" postgres) || true
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
    cycles=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
    # a client that failed (an empty hopper, a refused call) would shrink the load unseen
    if [ -z "$tps" ] || grep -q 'error' <<<"$out"; then echo "$out" >&2; exit 1; fi
    record "$2" "$3" "$rep" "$(awk -v t="$tps" 'BEGIN { printf "%.4f", 8000 / t }')"
    [ -s "$tree/cpu" ] && cpu=$(awk -v c="$(cat "$tree/cpu")" -v n="$cycles" 'BEGIN { printf "%.4f", c / n }')
    if [ -n "${4:-}" ]; then record "$4" "$3" "$rep" "$cpu"; fi
}
for rep in $(seq 1 "$reps"); do
    # what the last repetition's cycles took, queued again (untimed)
    sql -c "SELECT vicidial.hopper_fill('$due')" >/dev/null
    for driver in ours floor bare; do
        cycle "$driver" 'agent cycle, 8 clients (ms per cycle)' "$driver" 'agent cycle, 8 clients, backend CPU (ms per cycle)'
    done
    cycle ours 'agent cycle, 8 clients, callback log on (ms per cycle)' ours
    callback_log DISABLE
    cycle ours 'agent cycle, 8 clients, callback log on (ms per cycle)' 'log off'
    callback_log ENABLE
    # a log two years old (28 months in each log) beside the log as
    # installed (one default partition each), in turns: a disposition
    # should not slow down as the months pile up
    sides='months none'; [ $((rep % 2)) = 1 ] || sides='none months'
    for side in $sides; do
        if [ "$side" = months ]; then
            log_months attach
            cycle ours 'agent cycle, 8 clients, log of 28 months (ms per cycle)' ours \
                  'agent cycle, 8 clients, log of 28 months, backend CPU (ms per cycle)'
            log_months detach
        else
            cycle ours 'agent cycle, 8 clients, log of 28 months (ms per cycle)' 'no months' \
                  'agent cycle, 8 clients, log of 28 months, backend CPU (ms per cycle)'
        fi
    done
done

# A run with nothing to do in the steady state: every hopper topped up to
# its 20,000 (what the cycles took, filled again by a run committed
# first), no callback due. (Each measured run is rolled back: without that
# committed run, each would fill the hoppers again.) A second committed
# run counts the full hoppers and remembers it, as the worker's next run
# would; without it, each measured run would count them again.
sql -c "SELECT * FROM vicidial.hopper_run()" >/dev/null
sql -c "SELECT * FROM vicidial.hopper_run()" >/dev/null
# The marks the cycles left, which that count deleted, are vacuumed away
# as autovacuum would within a minute of a quiet spell.
sql -c "VACUUM vicidial.hopper_room_changes" >/dev/null
clean
for rep in $(seq 1 "$reps"); do
    record 'idle run, hoppers full (200,000 queued)' floor "$rep" "$(warm 'SELECT 1')"
    record 'idle run, hoppers full (200,000 queued)' ours "$rep" "$(warm 'SELECT * FROM vicidial.hopper_run()')"
done

mkdir -p "$PROJECT_ROOT/test/bench/results"
csv="$PROJECT_ROOT/test/bench/results/speed.csv"
sql -c "COPY (SELECT * FROM bench.results ORDER BY what, driver, rep) TO STDOUT WITH CSV HEADER" > "$csv"
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(sql -c 'SHOW server_version'); every repetition in $csv"
cluster_psql -q -c "
WITH m AS (
    SELECT what, driver, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS median, min(ms) AS lo, max(ms) AS hi
      FROM bench.results GROUP BY what, driver)
SELECT o.what,
       round(o.median::numeric, 2) || ' (' || round(o.lo, 2) || '-' || round(o.hi, 2) || ')' AS \"ours ms (spread)\",
       f.driver || ' ' || round(f.median::numeric, 2) || ' (' || round(f.lo, 2) || '-' || round(f.hi, 2) || ')' AS \"baseline ms\",
       round((o.median / nullif(f.median, 0))::numeric, 2) AS \"ours / baseline\",
       coalesce(round(l.median::numeric, 1) || ' (' || round((l.median / nullif(o.median, 0))::numeric, 1) || 'x ours)', '') AS \"per-row loop ms\"
  FROM m o
  JOIN m f ON f.what = o.what AND f.driver IN ('floor', 'bare', 'hours off', 'log off', 'no months')
  LEFT JOIN m l ON l.what = o.what AND l.driver = 'per-row loop'
 WHERE o.driver = 'ours'
 ORDER BY o.what"
# The goals, each on the medians: the sweeps and the fill against their
# floors and VICIdial's loop, the idle runs in every state, the agent
# cycle against its same-work floor and the rate of the job queues
# graphile-worker 0.18 (2,200 a second) and pg-boss 12 (1,460) measured
# on this box with 8 clients, and the agent cycle on a log two years old
# against the same cycle on the log as installed.
record_goals speed "
CREATE FUNCTION pg_temp.median(what text, driver text) RETURNS numeric LANGUAGE sql AS
    \$\$ SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY r.ms)::numeric FROM bench.results r
         WHERE r.what = median.what AND r.driver = median.driver \$\$;
-- what one agent cycle costs the server: the backends' CPU per cycle
CREATE FUNCTION pg_temp.cycle_cpu() RETURNS text LANGUAGE sql AS
    \$\$ SELECT 'backend CPU per cycle: ours ' || round(o, 2) || ' ms, same-work floor ' || round(f, 2)
              || ' ms (' || round(o / nullif(f, 0), 2) || 'x), bare ' || round(b, 2) || ' ms'
         FROM (SELECT pg_temp.median('agent cycle, 8 clients, backend CPU (ms per cycle)', 'ours') AS o,
                      pg_temp.median('agent cycle, 8 clients, backend CPU (ms per cycle)', 'floor') AS f,
                      pg_temp.median('agent cycle, 8 clients, backend CPU (ms per cycle)', 'bare') AS b) m \$\$;
WITH goals (n, figure, goal, measured, measured_limit) AS (
    VALUES (1, 'sweep of 100,000 due, ours / floor', '<= 1.3',
            pg_temp.median('sweep 100,000 due', 'ours') / pg_temp.median('sweep 100,000 due', 'floor'),
            'the floor''s one statement ' || round(pg_temp.median('sweep 100,000 due', 'floor')) || ' ms; ours, profiled: '
            || (SELECT string_agg(p.statement || ' ' || p.ms || ' ms', '; ' ORDER BY p.ms DESC)
                  FROM (SELECT * FROM bench.sweep_profile ORDER BY ms DESC LIMIT 4) p)),
           (2, 'sweep of 100,000 due, VICIdial''s per-row loop / ours', '>= 5',
            pg_temp.median('sweep 100,000 due', 'per-row loop') / pg_temp.median('sweep 100,000 due', 'ours'), NULL),
           (3, 'sweep of 1,000 due, ours / floor', '<= 1.3',
            pg_temp.median('sweep 1,000 due', 'ours') / pg_temp.median('sweep 1,000 due', 'floor'), NULL),
           (4, 'fill of 10 campaigns x 500, ours / floor', '<= 2',
            pg_temp.median('fill 10 campaigns x 500', 'ours') / pg_temp.median('fill 10 campaigns x 500', 'floor'), NULL),
           (5, 'idle run, nothing due, ms', '<= 1', pg_temp.median('idle run (nothing due)', 'ours'), NULL),
           (6, 'idle run, 50,000 leads waiting for their hours, ms', '<= 1',
            pg_temp.median('idle run, 50,000 leads waiting for their hours', 'ours'), NULL),
           (7, 'idle run, hoppers full (200,000 queued), ms', '<= 1',
            pg_temp.median('idle run, hoppers full (200,000 queued)', 'ours'), NULL),
           (8, 'agent cycle, 8 clients, ours / same-work floor', '<= 1.3',
            pg_temp.median('agent cycle, 8 clients (ms per cycle)', 'ours')
            / pg_temp.median('agent cycle, 8 clients (ms per cycle)', 'floor'),
            pg_temp.cycle_cpu()),
           (9, 'agent cycles a second, 8 clients (job queues: 2,200 and 1,460)', '>= 2200',
            8000 / pg_temp.median('agent cycle, 8 clients (ms per cycle)', 'ours'),
            'the same-work floor made ' || round(8000 / pg_temp.median('agent cycle, 8 clients (ms per cycle)', 'floor'))
            || ' a second, the bare cycle ' || round(8000 / pg_temp.median('agent cycle, 8 clients (ms per cycle)', 'bare'))
            || coalesce('; ' || pg_temp.cycle_cpu(), '')),
           (10, 'agent cycle, 8 clients, log of 28 months / none', '<= 1.1',
            pg_temp.median('agent cycle, 8 clients, log of 28 months (ms per cycle)', 'ours')
            / pg_temp.median('agent cycle, 8 clients, log of 28 months (ms per cycle)', 'no months'),
            'backend CPU per cycle: 28 months '
            || round(pg_temp.median('agent cycle, 8 clients, log of 28 months, backend CPU (ms per cycle)', 'ours'), 3)
            || ' ms, none '
            || round(pg_temp.median('agent cycle, 8 clients, log of 28 months, backend CPU (ms per cycle)', 'no months'), 3)
            || ' ms (' || round(pg_temp.median('agent cycle, 8 clients, log of 28 months, backend CPU (ms per cycle)', 'ours')
                                / nullif(pg_temp.median('agent cycle, 8 clients, log of 28 months, backend CPU (ms per cycle)',
                                                        'no months'), 0), 2) || 'x)'))
SELECT figure, goal, round(measured, 2),
       CASE WHEN CASE split_part(goal, ' ', 1) WHEN '<=' THEN measured <= split_part(goal, ' ', 2)::numeric
                                               ELSE measured >= split_part(goal, ' ', 2)::numeric END
            THEN 'met' ELSE 'missed' END,
       measured_limit
  FROM goals ORDER BY n"
