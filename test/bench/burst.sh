#!/bin/bash
# The burst benchmark: 100,000 ANYONE callbacks due at the same instant,
# swept by the worker in chunks (vicidial_callbacks.sweep_chunk, 5,000 by
# default) beside the same burst swept in one transaction (a chunk larger
# than the burst). It reports when the first callbacks were claimable
# (LIVE, their leads in the hopper, committed) and when the last were,
# counted from the instant they fell due, and the runs it took. Numbers,
# not a pass/fail. Run as root on Debian 12; about two minutes.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

burst=${BURST:-100000}
install_packages
build_and_install
start_throwaway_cluster "$(scratch_tree)" 54373 <<CONF
shared_preload_libraries = 'vicidial_callbacks'
vicidial_callbacks.interval = 1s
shared_buffers = 1GB
max_wal_size = 4GB
CONF
sql() { cluster_psql -q -A -t "$@"; }

seed_one_campaign
sql -c "CREATE TABLE bursts (chunk text, due timestamptz, first_s numeric, last_s numeric, runs integer)" >/dev/null

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

echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(sql -c 'SHOW server_version')"
cluster_psql -q -c "
SELECT CASE chunk WHEN '5000' THEN 'chunks of 5,000 (the default)' ELSE 'one transaction' END AS sweep,
       string_agg(first_s::text, ', ' ORDER BY due) AS \"first claimable, s after due\",
       string_agg(last_s::text, ', ' ORDER BY due) AS \"last claimable, s after due\",
       string_agg(runs::text, ', ' ORDER BY due) AS runs
  FROM bursts GROUP BY chunk ORDER BY chunk"
