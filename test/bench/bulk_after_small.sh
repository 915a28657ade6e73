#!/bin/bash
# Benchmark: a bulk update of 10,000 leads in a session that made a few
# one-row updates first (an agent's, a pooled connection's, the worker's
# between bursts), beside the same update in a fresh session; and both
# again with the leads' statement trigger as 1.1 shipped it, a PL/pgSQL
# join of the update's old and new rows (this version reads them side by
# side in C). A session's plan cache keeps the plan of such a join built
# for the statement that built it: built for one row, a nested loop over
# two tables without indexes.
# Median of REPS (default 5) of each, in ms. Numbers, not a pass/fail. Run
# as root on Debian 12; about two minutes.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

reps=${REPS:-5}
install_packages
build_and_install
start_throwaway_cluster "$(scratch_tree)" 54375 <<CONF
shared_preload_libraries = 'vicidial_callbacks'
vicidial_callbacks.enabled = off
CONF
sql() { cluster_psql -q -A -t "$@"; }

seed_one_campaign
sql -c "INSERT INTO vicidial.vicidial_list (lead_id, list_id, status, first_name) SELECT g, 1, 'NEW', 'a' FROM generate_series(1, 100000) g" \
    -c "CREATE TABLE bulk (plans text, session text, rep integer, ms numeric)" >/dev/null
sql -c "VACUUM ANALYZE" >/dev/null

joined_in_1_1=$(sed -n '/^CREATE OR REPLACE FUNCTION vicidial._queue_lead_checks_of_leads() RETURNS trigger/,/^END \$\$;/p' \
                    "$PROJECT_ROOT/sql/released/vicidial_callbacks--1.1.sql")
[ -n "$joined_in_1_1" ] || { echo "1.1's queue of lead checks not found" >&2; exit 1; }
bulk="UPDATE vicidial.vicidial_list SET first_name = 'r' || :rep WHERE lead_id BETWEEN 50001 AND 60000"
one_row="UPDATE vicidial.vicidial_list SET first_name = 'one' WHERE lead_id = 1;"
# one psql session: (a few one-row updates, then) the bulk update, timed
timed() {
    local warm=$1 rep=$2
    cluster_psql -q -A -t -v rep="$rep" <<SQL | tail -1
$( [ "$warm" = after ] && for _ in $(seq 1 8); do echo "$one_row"; done )
SELECT clock_timestamp() AS started \gset
$bulk;
SELECT round(extract(epoch FROM clock_timestamp() - :'started') * 1000, 1);
SQL
}
for plans in 'side by side in C (this version)' 'joined in PL/pgSQL (1.1)'; do
    if [ "$plans" = 'joined in PL/pgSQL (1.1)' ]; then
        sql -c "$joined_in_1_1" >/dev/null
    fi
    for rep in $(seq 1 "$reps"); do
        for session in fresh after; do
            sql -c "INSERT INTO bulk VALUES ('$plans', '$session', $rep, $(timed "$session" "$rep"))" >/dev/null
        done
    done
done

echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(sql -c 'SHOW server_version'); update of 10,000 leads, median of $reps, ms"
cluster_psql -q -c "
SELECT plans AS \"old and new rows read\",
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE session = 'fresh') AS \"fresh session\",
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE session = 'after') AS \"after 8 one-row updates\",
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE session = 'after')
            / percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE session = 'fresh'))::numeric, 2) AS \"after / fresh\"
  FROM bulk GROUP BY plans ORDER BY plans DESC"
