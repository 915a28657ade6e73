#!/bin/bash
# Benchmark: the background worker under load. On the speed benchmark's
# data (a million leads and callbacks), with the worker at its default 60 s
# interval:
#   - due -> LIVE lateness (p50, p99, max of the callback log's time of the
#     ACTIVE -> LIVE change less callback_time; not modify_date, which the
#     agents' dials of the released leads move on) of 200 ANYONE callbacks
#     spread over a minute,
#     while 8 clients run the agent cycle (hopper_next, lead_disposition with
#     10% CALLBK), and again with no agents;
#   - the worker's runs during each measurement (how many, how long, how
#     many failed), which is what a callback waits for;
#   - the worker's resident memory after 100 and after 10,000 runs (total
#     and private: shared buffers it touched count in the first only).
# Numbers, not a pass/fail; a CSV goes to test/bench/results/. Run as root
# on Debian 12; about eight minutes.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

install_packages
build_and_install
tree=$(scratch_tree)
start_throwaway_cluster "$tree" 54389 <<CONF
shared_preload_libraries = 'vicidial_callbacks'
vicidial_callbacks.enabled = off
vicidial_callbacks.history_rows = 1000
shared_buffers = 1GB
max_wal_size = 4GB
CONF
sql() { cluster_psql -q -A -t "$@"; }

echo "loading 1,000,000 leads and 1,000,000 callbacks"
cluster_psql -q -f "$tree/test/bench/speed.sql"
# what is already due goes LIVE now, not in the middle of the measurement
sql -c "UPDATE vicidial.vicidial_campaigns SET hopper_level = 6000, dial_statuses = '{NEW}'" \
    -c "SELECT count(*) FROM vicidial.hopper_run()" -c "VACUUM ANALYZE" >/dev/null
sql -c "CREATE TABLE bench.lateness (load text, callback_id bigint)" >/dev/null
sql -c "CREATE TABLE bench.runs (load text, run_id bigint, started_at timestamptz, seconds numeric, failed boolean)" >/dev/null
sql -c "ALTER SYSTEM SET vicidial_callbacks.enabled = on" -c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 60); do
    [ "$(sql -c "SELECT count(*) FROM vicidial.hopper_runs")" != 0 ] && break
    sleep 1
done

# 200 ANYONE callbacks over the next minute on leads nobody dials, then
# wait (at most 3 minutes) until the worker has taken them all LIVE.
lateness()
{
    local label=$1 first_lead=$2
    local since
    since=$(sql -c "SELECT clock_timestamp()")
    sql -c "SELECT setseed(0.42);
            INSERT INTO bench.lateness
            SELECT '$label', vicidial.callback_schedule(g, 'a01', clock_timestamp() + interval '5 seconds' + random() * interval '60 seconds')
              FROM generate_series($first_lead, $first_lead + 199) g" >/dev/null
    for _ in $(seq 1 180); do
        [ "$(sql -c "SELECT count(*) FROM vicidial.vicidial_callbacks c JOIN bench.lateness b USING (callback_id)
                     WHERE b.load = '$label' AND c.status = 'ACTIVE'")" = 0 ] && break
        sleep 1
    done
    [ "$(sql -c "SELECT count(*) FROM vicidial.vicidial_callbacks c JOIN bench.lateness b USING (callback_id)
                 WHERE b.load = '$label' AND c.status = 'ACTIVE'")" = 0 ] || echo "not all LIVE after 3 minutes" >&2
    # the runs of this measurement, before the history's retention drops them
    sql -c "INSERT INTO bench.runs
            SELECT '$label', r.run_id, r.started_at, extract(epoch FROM r.finished_at - r.started_at), r.error IS NOT NULL
              FROM vicidial.hopper_runs r WHERE r.started_at >= '$since'" >/dev/null
}

echo "lateness while 8 clients run the agent cycle"
as_postgres pgbench -n -h "$cluster_tree" -p "$cluster_port" -c 8 -j 2 -T 110 \
    -f "$tree/test/bench/cycle_ours.pgbench" postgres > "$tree/pgbench.out" 2>&1 &
agents=$!
sleep 10
lateness 'while 8 agents dial' 999001
wait "$agents" || true
echo "agent cycle: $(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$tree/pgbench.out" | head -1) cycles/s during the measurement"
echo "lateness with no agents"
lateness 'no agents' 999401

# Memory: runs as fast as commits wake the worker (a callback due at once,
# scheduled again and again), hoppers empty so that each run is cheap.
echo "worker memory over 10,000 runs"
sql -c "UPDATE vicidial.vicidial_campaigns SET hopper_level = 0" >/dev/null
echo "SELECT vicidial.callback_schedule(999801, 'a01', now());" > "$tree/wake.pgbench"
chown postgres: "$tree/wake.pgbench"
worker_pid=$(sql -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'vicidial_callbacks worker'")
first_run=$(sql -c "SELECT coalesce(max(run_id), 0) FROM vicidial.hopper_runs")
as_postgres pgbench -n -h "$cluster_tree" -p "$cluster_port" -c 1 -T 900 -f "$tree/wake.pgbench" postgres >/dev/null 2>&1 &
waker=$!
memory()
{
    local runs=$1
    while [ "$(sql -c "SELECT max(run_id) - $first_run FROM vicidial.hopper_runs")" -lt "$runs" ]; do sleep 0.2; done
    sql -c "INSERT INTO bench.memory VALUES ($runs,
            $(awk '/^VmRSS/ {print $2}' "/proc/$worker_pid/status"), $(awk '/^RssAnon/ {print $2}' "/proc/$worker_pid/status"))" >/dev/null
}
sql -c "CREATE TABLE bench.memory (runs integer, rss_kb bigint, private_kb bigint)" >/dev/null
memory 100
memory 1000
memory 10000
kill "$waker" 2>/dev/null || true
wait "$waker" 2>/dev/null || true

results="$PROJECT_ROOT/test/bench/results"
mkdir -p "$results"
# when each callback went LIVE: the sweep's row in the callback log; and
# when that became visible: the end of the run that wrote it
sql -c "CREATE VIEW bench.late AS
        SELECT b.load, b.callback_id, extract(epoch FROM g.changed_at - c.callback_time) AS late_s,
               extract(epoch FROM r.started_at + r.seconds * interval '1 second' - c.callback_time) AS visible_s
          FROM bench.lateness b JOIN vicidial.vicidial_callbacks c USING (callback_id)
          JOIN LATERAL (SELECT g.changed_at FROM vicidial.vicidial_callback_log g
                         WHERE g.callback_id = b.callback_id AND g.old_status = 'ACTIVE' AND g.new_status = 'LIVE'
                         ORDER BY g.change_id LIMIT 1) g ON true
          LEFT JOIN LATERAL (SELECT r.started_at, r.seconds FROM bench.runs r
                              WHERE r.load = b.load AND r.started_at <= g.changed_at
                              ORDER BY r.started_at DESC LIMIT 1) r ON true" >/dev/null
sql -c "COPY (SELECT * FROM bench.late ORDER BY 1, 2)
        TO STDOUT WITH CSV HEADER" > "$results/lateness.csv"
sql -c "COPY bench.memory TO STDOUT WITH CSV HEADER" > "$results/memory.csv"
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(sql -c 'SHOW server_version'); $results/lateness.csv, memory.csv"
cluster_psql -q -c "
SELECT b.load AS \"due -> LIVE, default 60 s interval\", count(*) AS callbacks,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY b.late_s)::numeric, 3) AS p50_s,
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY b.late_s)::numeric, 3) AS p99_s,
       round(max(b.late_s)::numeric, 3) AS max_s,
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY b.visible_s)::numeric, 3) AS \"p99 until committed\",
       round(max(b.visible_s)::numeric, 3) AS \"max until committed\"
  FROM bench.late b JOIN vicidial.vicidial_callbacks c USING (callback_id)
 GROUP BY b.load ORDER BY b.load DESC"
cluster_psql -q -c "
SELECT r.load AS \"worker runs during\", count(*) AS runs, count(*) FILTER (WHERE r.failed) AS failed,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY r.seconds)::numeric, 3) AS p50_s, round(max(r.seconds), 3) AS max_s,
       round(max(extract(epoch FROM r.started_at - r.previous_start)), 3) AS longest_gap_s
  FROM (SELECT *, lag(started_at) OVER (PARTITION BY load ORDER BY run_id) AS previous_start FROM bench.runs) r
 GROUP BY r.load ORDER BY r.load DESC"
cluster_psql -q -c "SELECT runs AS \"worker runs\", rss_kb AS \"resident kB\", private_kb AS \"private kB\" FROM bench.memory ORDER BY runs"
