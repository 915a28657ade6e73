#!/bin/bash
# Two versions side by side: the speed benchmark's data loaded twice in
# one cluster, once under a released version (OLD, default 1.1) and once
# under the current one, and the sweeps of 100,000 and 1,000 due timed in
# turn, with the floor of each, so that a drift of the machine between
# runs cannot pass for a change of the build. Numbers, not a pass/fail.
# Run as root on Debian 12; about four minutes. REPS=n (default 3).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

old=${OLD:-1.1}
new=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$(dirname "$0")/../../vicidial_callbacks.control")
reps=${REPS:-3}
install_packages
build_and_install
tree=$(scratch_tree)
start_throwaway_cluster "$tree" 54381 <<CONF
shared_preload_libraries = 'vicidial_callbacks'
vicidial_callbacks.enabled = off
shared_buffers = 1GB
max_wal_size = 4GB
CONF
q() { as_postgres psql -X -h "$cluster_tree" -p "$cluster_port" -d "$1" -v ON_ERROR_STOP=1 -qAt -c "$2"; }
for v in "$old" "$new"; do
    q postgres "CREATE DATABASE \"v$v\""
    as_postgres psql -X -h "$cluster_tree" -p "$cluster_port" -d "v$v" -q -v ON_ERROR_STOP=1 -v version="$v" \
        -f "$tree/test/bench/speed.sql" >/dev/null
done
q postgres "CREATE TABLE results (version text, what text, rep integer, ours numeric, floor numeric)"
due=$(q postgres "SELECT date_trunc('day', now()) + interval '1 day 12:00'")
clean() { q "$1" "VACUUM vicidial.vicidial_callbacks, vicidial.vicidial_list, vicidial.vicidial_hopper" >/dev/null; }
timed() { clean "$1"; q "$1" "SELECT bench.time_ms(\$s\$$2\$s\$, $3)"; }
echo "sweeps under $old and $new in turn, $reps repetitions"
for rep in $(seq 1 "$reps"); do
    for v in "$old" "$new"; do
        for what in 100000 1000; do
            at=$(q postgres "SELECT '$due'::timestamptz - make_interval(secs => 100000 - $what)")
            floor=$(timed "v$v" "$(q "v$v" "SELECT bench.floor_sweep('$at')")" true)
            ours=$(timed "v$v" "SELECT * FROM vicidial.sweep('$at')" false)
            q postgres "INSERT INTO results VALUES ('$v', 'sweep of $what due', $rep, $ours, $floor)"
        done
    done
done
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(q postgres 'SHOW server_version')"
as_postgres psql -X -h "$cluster_tree" -p "$cluster_port" -d postgres -q -c "
SELECT what, version, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ours)::numeric, 1) AS ours_ms,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY floor)::numeric, 1) AS floor_ms,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ours / floor)::numeric, 2) AS ours_per_floor,
       string_agg(round(ours, 0)::text, ', ' ORDER BY rep) AS each_ours_ms
  FROM results GROUP BY what, version ORDER BY what, version"
