#!/bin/bash
# The burst benchmark: 100,000 ANYONE callbacks due at the same instant,
# swept by the worker in chunks (vicidial_callbacks.sweep_chunk, 5,000 by
# default) beside the same burst swept in one transaction (a chunk larger
# than the burst). It reports when the first callbacks were claimable
# (LIVE, their leads in the hopper, committed) and when the last were,
# counted from the instant they fell due, and the runs it took. Then the
# drain: 8 agents take and end the calls of 100,000 released callbacks
# (hopper_next, then lead_disposition), beside the floor of any job queue,
# 8 workers claiming and completing 100,000 jobs of a plain table with
# FOR UPDATE SKIP LOCKED (a claim and a completion, each its own
# transaction, as pg-boss and graphile-worker do), checking nothing, and
# beside the same work written by hand in plain SQL on trigger-free
# copies of the tables (the agent's one call, calling hours, both
# do-not-call lists, the 24-hour limit, the dial log opened and closed,
# the callback's attempt counted, archived and logged): what any
# implementation of the rules pays. Each with the CPU its backends used
# per cycle (perf stat). Numbers, not a pass/fail. Run as root on Debian
# 12; about eight minutes.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

burst=${BURST:-100000}
# the drain splits a burst evenly between its 8 clients
[ $((burst % 8)) = 0 ] || { echo "BURST must be a multiple of 8" >&2; exit 1; }
install_packages
install_perf
build_and_install
start_throwaway_cluster "$(scratch_tree)" 54373 <<CONF
shared_preload_libraries = 'vicidial_callbacks'
vicidial_callbacks.interval = 1s
shared_buffers = 1GB
max_wal_size = 4GB
CONF
sql() { cluster_psql -q -A -t "$@"; }

seed_one_campaign
sql -c "CREATE TABLE bursts (chunk text, due timestamptz, first_s numeric, last_s numeric, runs integer)" \
    -c "CREATE TABLE drains (driver text, rep integer, per_s numeric, cpu_ms numeric)" \
    -c "INSERT INTO vicidial.vicidial_users (\"user\") SELECT 'a' || lpad(g::text, 2, '0') FROM generate_series(1, 8) g" >/dev/null

# One burst: its leads waiting in CBHOLD and their callbacks loaded as a
# restore would (no trigger), due 20 s later; the worker finds them at its
# next run and wakes for them.
run_burst() {
    local chunk=$1 offset=$2
    sql -c "ALTER SYSTEM SET vicidial_callbacks.sweep_chunk = $chunk" -c "SELECT pg_reload_conf()" >/dev/null
    local due
    due=$(sql -c "SELECT date_trunc('second', clock_timestamp()) + interval '20 seconds'")
    sql -c "
        BEGIN;
        SET LOCAL session_replication_role = replica;
        INSERT INTO vicidial.vicidial_list (lead_id, list_id, status)
        SELECT $offset + g, 1, 'CBHOLD' FROM generate_series(1, $burst) g;
        INSERT INTO vicidial.vicidial_callbacks (lead_id, list_id, campaign_id, status, callback_time, \"user\", recipient, customer_timezone)
        SELECT $offset + g, 1, 'C', 'ACTIVE', '$due', 'bob', 'ANYONE', 'UTC' FROM generate_series(1, $burst) g;
        COMMIT;
        ANALYZE vicidial.vicidial_list, vicidial.vicidial_callbacks;" >/dev/null
    [ "$(sql -c "SELECT clock_timestamp() < '$due'")" = t ] || { echo "the load took longer than 20 s" >&2; exit 1; }
    for _ in $(seq 1 600); do
        [ "$(sql -c "SELECT count(*) FROM vicidial.vicidial_callbacks WHERE status = 'ACTIVE'")" = 0 ] && break
        sleep 1
    done
    sql -c "
        INSERT INTO bursts
        SELECT '$chunk', '$due', round(extract(epoch FROM min(finished_at) - '$due')::numeric, 3),
               round(extract(epoch FROM max(finished_at) - '$due')::numeric, 3), count(*)
          FROM vicidial.hopper_runs WHERE finished_at >= '$due' AND went_live > 0" >/dev/null
}

echo "$burst callbacks due at once, in chunks and in one transaction"
run_burst 5000 0
run_burst 10000000 "$burst"
run_burst 5000 $((2 * burst))
run_burst 10000000 $((3 * burst))

# The drain: 8 clients, each its own agent, through the burst's hopper
# rows (four bursts queued, a burst's worth taken per repetition), beside
# 8 workers through a job queue of the same size and 8 clients doing the
# same work by hand through copies of the four bursts; per second, from
# pgbench's count of completed cycles, and the backends' CPU per cycle.
drain() {
    local out tps cpu
    out=$(pgbench_backend_cpu 8 "$cluster_tree/cpu" -n -M prepared -h "$cluster_tree" -p "$cluster_port" -c 8 -j 2 \
          -t $((burst / 8)) -f "$cluster_tree/test/bench/drain_$1.pgbench" postgres) || true
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
    # a client that failed (an empty hopper, a refused call) would end the drain early, unseen
    if [ -z "$tps" ] || grep -q 'error' <<<"$out"; then echo "$out" >&2; exit 1; fi
    # NULL where perf could not measure it
    cpu=NULL
    [ -s "$cluster_tree/cpu" ] && cpu=$(cat "$cluster_tree/cpu")
    sql -c "INSERT INTO drains VALUES ('$1', $2, round($tps), $cpu::numeric / $burst)" >/dev/null
}
echo "draining $burst by agents, by a job queue and by the same work by hand, twice each"
sql -c "CREATE SCHEMA bench;
        CREATE TABLE bench.jobs (id bigserial PRIMARY KEY, state text NOT NULL DEFAULT 'created',
                                 priority integer NOT NULL DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now(),
                                 started_at timestamptz, completed_at timestamptz);
        CREATE INDEX ON bench.jobs (priority DESC, id) WHERE state = 'created';
        CREATE TABLE bench.list (LIKE vicidial.vicidial_list INCLUDING ALL);
        INSERT INTO bench.list SELECT * FROM vicidial.vicidial_list;
        CREATE TABLE bench.hopper (LIKE vicidial.vicidial_hopper INCLUDING ALL);
        INSERT INTO bench.hopper SELECT * FROM vicidial.vicidial_hopper;
        CREATE TABLE bench.callbacks (LIKE vicidial.vicidial_callbacks INCLUDING ALL);
        INSERT INTO bench.callbacks SELECT * FROM vicidial.vicidial_callbacks;
        CREATE TABLE bench.log (LIKE vicidial.vicidial_log_default INCLUDING ALL);
        CREATE TABLE bench.callback_log (LIKE vicidial.vicidial_callback_log_default INCLUDING ALL);" >/dev/null
for rep in 1 2; do
    sql -c "TRUNCATE bench.jobs" -c "INSERT INTO bench.jobs (priority) SELECT 50 FROM generate_series(1, $burst)" \
        -c "VACUUM ANALYZE bench.jobs, vicidial.vicidial_hopper, vicidial.vicidial_list, vicidial.vicidial_callbacks,
                          bench.hopper, bench.list, bench.callbacks" >/dev/null
    # the agents and the work by hand each go first once, so that neither
    # always inherits another's dirty buffers; the job queue, the lightest,
    # goes second both times
    if [ "$rep" = 1 ]; then drain ours "$rep"; drain queue "$rep"; drain floor "$rep"
    else drain floor "$rep"; drain queue "$rep"; drain ours "$rep"; fi
    [ "$(sql -c "SELECT count(*) FROM bench.jobs WHERE state <> 'completed'")" = 0 ] || { echo "jobs left undone" >&2; exit 1; }
done
for drained in vicidial.vicidial_list bench.list; do
    [ "$(sql -c "SELECT count(*) FROM $drained WHERE status = 'SALE'")" = $((2 * burst)) ] ||
        { echo "the drain of $drained did not end $((2 * burst)) calls" >&2; exit 1; }
done

echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(sql -c 'SHOW server_version')"
cluster_psql -q -c "
SELECT CASE chunk WHEN '5000' THEN 'chunks of 5,000 (the default)' ELSE 'one transaction' END AS sweep,
       string_agg(first_s::text, ', ' ORDER BY due) AS \"first claimable, s after due\",
       string_agg(last_s::text, ', ' ORDER BY due) AS \"last claimable, s after due\",
       string_agg(runs::text, ', ' ORDER BY due) AS runs
  FROM bursts GROUP BY chunk ORDER BY chunk"
cluster_psql -q -c "
SELECT CASE driver WHEN 'ours' THEN 'agents: hopper_next, lead_disposition'
                   WHEN 'floor' THEN 'the same work by hand (plain SQL, no triggers)'
                   ELSE 'job queue: claim, complete' END AS drain,
       string_agg(per_s::text, ', ' ORDER BY rep) AS \"per second\",
       string_agg(round(cpu_ms, 3)::text, ', ' ORDER BY rep) AS \"backend CPU per cycle, ms\",
       round($burst / max(per_s), 1) AS \"burst drained in, s (best)\"
  FROM drains GROUP BY driver ORDER BY array_position(ARRAY['ours', 'floor', 'queue'], driver)"
# The goals: the first of the burst claimable within 1 s of its time (in
# every burst swept in chunks), and agents draining it no slower than a
# job queue drains as many jobs (best against best).
record_goals burst "
SELECT 'first of a burst of ' || to_char($burst, 'FM999,999,999') || ' claimable, s after due (chunks, the slower burst)', '<= 1',
       max(first_s)::text, CASE WHEN max(first_s) <= 1 THEN 'met' ELSE 'missed' END, NULL
  FROM bursts WHERE chunk = '5000'
UNION ALL
SELECT 'drain: agents / job queue floor, best against best', '>= 1', round(r.ratio, 2)::text,
       CASE WHEN r.ratio >= 1 THEN 'met' ELSE 'missed' END,
       'the same work by hand drains at ' || round(r.floor_ratio, 2) || ' of the job queue'
       -- no CPU figures where perf could not count
       || coalesce('; backend CPU per cycle, least: agents ' || round(r.ours_cpu, 3) || ' ms, by hand '
                   || round(r.floor_cpu, 3) || ' ms, job queue ' || round(r.queue_cpu, 3) || ' ms (agents / job queue '
                   || round(r.ours_cpu / nullif(r.queue_cpu, 0), 1) || 'x)', '')
  FROM (SELECT max(per_s) FILTER (WHERE driver = 'ours') / max(per_s) FILTER (WHERE driver = 'queue') AS ratio,
               max(per_s) FILTER (WHERE driver = 'floor') / max(per_s) FILTER (WHERE driver = 'queue') AS floor_ratio,
               min(cpu_ms) FILTER (WHERE driver = 'ours') AS ours_cpu, min(cpu_ms) FILTER (WHERE driver = 'floor') AS floor_cpu,
               min(cpu_ms) FILTER (WHERE driver = 'queue') AS queue_cpu
          FROM drains) r"
