#!/bin/bash
# Two versions side by side: the speed benchmark's data loaded twice in
# one cluster, once under a released version (OLD, default 1.1) and once
# under the current one, and the sweeps of 100,000 and 1,000 due timed in
# turn, with the floor of each, so that a drift of the machine between
# runs cannot pass for a change of the build. Then the sweep of 100,000
# under each version once more, in a single-user backend under valgrind's
# callgrind, counting the instructions it executes: a count that the
# machine's drift and load do not move, where the timings differ by more
# from run to run than the two builds do. Numbers, not a pass/fail.
# Run as root on Debian 12; about twelve minutes (four with
# INSTRUCTIONS=0, which skips the count). REPS=n (default 3).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

old=${OLD:-1.1}
new=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$(dirname "$0")/../../vicidial_callbacks.control")
reps=${REPS:-3}
PACKAGES="$PACKAGES valgrind" install_packages
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

[ "${INSTRUCTIONS:-1}" = 0 ] && exit 0
# Instructions: each version's sweep, and a statement that does nothing
# (the backend's start and the timer), each in a single-user backend on a
# copy of the cluster, so that both versions start from the same rows
# (the count moves with the rows' physical state: compare versions within
# one run only). The sweep's count is the difference. Two copies of the
# cluster exist at once: it needs room for them.
for v in "$old" "$new"; do clean "v$v"; done
as_postgres pg_ctl -D "$cluster_tree/data" -m fast stop >/dev/null
count_instructions()
{
    local v=$1 what=$2 statement=$3 copy="$tree/copy-$1-$2"
    cp -a "$tree/data" "$copy"
    printf '%s\n' "$statement" | as_postgres valgrind --tool=callgrind --callgrind-out-file="$tree/callgrind-$v-$what" \
        postgres --single -D "$copy" "v$v" >"$tree/backend-$v-$what" 2>&1
    rm -rf "$copy"
    # a single-user backend goes on after an error: a sweep that failed
    # must not be counted
    if grep -q 'ERROR' "$tree/backend-$v-$what"; then
        cat "$tree/backend-$v-$what" >&2
        return 1
    fi
    sed -n 's/^summary: //p' "$tree/callgrind-$v-$what" > "$tree/instructions-$v-$what"
}
echo
echo "instructions of the sweep of 100,000 due (callgrind, single-user backend)"
counting=()
for v in "$old" "$new"; do
    (count_instructions "$v" sweep "SELECT bench.time_ms(\$s\$SELECT * FROM vicidial.sweep('$due')\$s\$)" &&
     count_instructions "$v" nothing "SELECT bench.time_ms(\$s\$SELECT 1\$s\$)") &
    counting+=($!)
done
for pid in "${counting[@]}"; do wait "$pid"; done
for v in "$old" "$new"; do
    echo "$v $(( $(cat "$tree/instructions-$v-sweep") - $(cat "$tree/instructions-$v-nothing") ))"
done | awk -v old="$old" '{ n[$1] = $2; order[NR] = $1 }
    END { for (i = 1; i <= NR; i++) printf "%s: %.0f million instructions, %.3f of %s\n",
          order[i], n[order[i]] / 1e6, n[order[i]] / n[old], old }'
