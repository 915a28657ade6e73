#!/bin/bash
# Benchmark: how late does a callback go LIVE? 1,000 ANYONE callbacks spread
# at random over one minute, the worker at its default 60 s interval. It
# reports percentiles of (time turned LIVE - callback_time), measured by the
# database, beside the lateness a once-a-minute sweep (VICIdial's cron
# script, pg_cron 1.4) would have had for the very same callback times.
# Numbers, not a pass/fail. Run as root on Debian 12.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

callbacks=${CALLBACKS:-1000}
install_packages
build_and_install
start_throwaway_cluster "$(scratch_tree)" 54339 <<CONF
shared_preload_libraries = 'vicidial_callbacks'
vicidial_callbacks.interval = 60s
CONF
sql() { cluster_psql -q -A -t "$@"; }

seed_one_campaign
sql -c "
INSERT INTO vicidial.vicidial_list (list_id) SELECT 1 FROM generate_series(1, $callbacks);
SELECT setseed(0.42);
SELECT count(vicidial.callback_schedule(g, 'bob', clock_timestamp() + interval '5 seconds' + random() * interval '60 seconds'))
  FROM generate_series(1, $callbacks) g;" >/dev/null
echo "scheduled $callbacks callbacks over the next minute; waiting for them to go LIVE"
for _ in $(seq 1 180); do
    [ "$(sql -c "SELECT count(*) FROM vicidial.vicidial_callbacks WHERE status = 'ACTIVE'")" = 0 ] && break
    sleep 1
done
sql -c "
CREATE VIEW late AS
SELECT extract(epoch FROM modify_date - callback_time) AS worker,
       -- a sweep at every minute boundary takes each callback at the next one
       extract(epoch FROM date_trunc('minute', callback_time) + interval '1 minute' - callback_time) AS once_a_minute
  FROM vicidial.vicidial_callbacks WHERE status = 'LIVE'"
cluster_psql -q -c "
WITH driver AS (
    SELECT 'early-wake worker (measured)' AS driver, count(*) AS callbacks,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY worker) AS p50,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY worker) AS p99, max(worker) AS max
      FROM late
    UNION ALL
    SELECT 'once a minute (same times)', count(*),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY once_a_minute),
           percentile_cont(0.99) WITHIN GROUP (ORDER BY once_a_minute), max(once_a_minute)
      FROM late)
SELECT driver, callbacks, round(p50::numeric, 4) AS p50_s, round(p99::numeric, 4) AS p99_s, round(max::numeric, 4) AS max_s,
       round((max(p99) OVER () / nullif(min(p99) OVER (), 0))::numeric) AS p99_ratio
  FROM driver"
# What limits the tail: a callback that falls due while a run is under way
# waits for that run to end, so the p99 follows the length of a run.
cluster_psql -q -c "
SELECT count(*) AS worker_runs,
       round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - r.started_at))::numeric, 2) AS run_p50_ms,
       round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - r.started_at))::numeric, 2) AS run_p99_ms,
       (SELECT count(*) FROM vicidial.vicidial_callbacks c
         WHERE c.status = 'LIVE'
           AND EXISTS (SELECT 1 FROM vicidial.hopper_runs d WHERE c.callback_time > d.started_at AND c.callback_time < d.finished_at))
         AS due_during_a_run
  FROM vicidial.hopper_runs r"
# The goal: on an idle box, a callback LIVE within 10 ms of its time (p99).
record_goals early_wake "
SELECT 'early-wake lateness on an idle box, p99 s', '< 0.01', round(p.p99::numeric, 4)::text,
       CASE WHEN p.p99 < 0.01 THEN 'met' ELSE 'missed' END
  FROM (SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY worker) AS p99 FROM late) p"
