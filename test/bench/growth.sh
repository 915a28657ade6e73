#!/bin/bash
# Benchmark: does a run cost what is due, or grow with the table? The same
# 1,000 ANYONE callbacks are due while vicidial_callbacks grows from 10,000
# to 5,000,000 rows the way it does on a floor: the archive grows forever
# (90% of the rows) beside open callbacks for the coming weeks (10%, each
# with its own lead). At each size: the sweep of the 1,000 due (median of
# 7, each rolled back, its commit-time checks timed too) and an idle run
# (median of 21). A CSV and a PNG of the curve (gnuplot) go to
# test/bench/results/. Numbers, not a pass/fail. Run as root on Debian 12;
# about five minutes.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

PACKAGES="$PACKAGES gnuplot-nox" install_packages
build_and_install
start_throwaway_cluster "$(scratch_tree)" 54379 <<CONF
shared_preload_libraries = 'vicidial_callbacks'
vicidial_callbacks.enabled = off
shared_buffers = 1GB
max_wal_size = 4GB
CONF
sql() { cluster_psql -q -A -t "$@"; }

seed_one_campaign
cluster_psql -q <<'SQL'
CREATE SCHEMA bench;
CREATE TABLE bench.results (callbacks bigint, sweep_ms numeric, idle_ms numeric);
INSERT INTO vicidial.vicidial_list (list_id) SELECT 1 FROM generate_series(1, 1000);
SELECT date_trunc('day', now()) + interval '1 day' AS due \gset
SELECT count(vicidial.callback_schedule(g, 'bob', :'due')) FROM generate_series(1, 1000) g \g /dev/null

-- Grow the table to "total" rows, loaded as a restore would (triggers off):
-- one in ten an ACTIVE callback days after :due on a new CBHOLD lead, the
-- rest ARCHIVE rows of the past on those leads.
CREATE FUNCTION bench.grow_to(total bigint, due timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    have bigint := (SELECT count(*) FROM vicidial.vicidial_callbacks);
    open_rows bigint := (total - have) / 10;
    first_lead bigint;
BEGIN
    SET LOCAL session_replication_role = replica;
    first_lead := (SELECT max(lead_id) + 1 FROM vicidial.vicidial_list);
    INSERT INTO vicidial.vicidial_list (lead_id, list_id, status)
    SELECT first_lead + g, 1, 'CBHOLD' FROM generate_series(0, open_rows - 1) g;
    INSERT INTO vicidial.vicidial_callbacks (lead_id, list_id, campaign_id, status, callback_time, "user", recipient, customer_timezone)
    SELECT first_lead + g, 1, 'C', 'ACTIVE', due + make_interval(days => (1 + g % 30)::integer), 'bob', 'ANYONE', 'UTC'
      FROM generate_series(0, open_rows - 1) g;
    INSERT INTO vicidial.vicidial_callbacks (lead_id, list_id, campaign_id, status, callback_time, "user", recipient, customer_timezone)
    SELECT first_lead + g % open_rows, 1, 'C', 'ARCHIVE', due - make_interval(days => (1 + g % 300)::integer), 'bob', 'ANYONE', 'UTC' 
      FROM generate_series(0, total - have - open_rows - 1) g;
    PERFORM setval('vicidial.vicidial_list_lead_id_seq', (SELECT max(lead_id) FROM vicidial.vicidial_list));
END $$;

-- Median of "times" runs of a statement, each undone by a rolled-back
-- subtransaction, the deferred checks made immediate and timed with it.
CREATE FUNCTION bench.median_ms(statement text, times integer) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    timings numeric[] := '{}';
    started timestamptz;
BEGIN
    SET CONSTRAINTS ALL IMMEDIATE;
    FOR i IN 1..times LOOP
        BEGIN
            started := clock_timestamp();
            EXECUTE statement;
            timings := timings || extract(epoch FROM clock_timestamp() - started) * 1000;
            RAISE EXCEPTION 'undo';
        EXCEPTION WHEN raise_exception THEN
            IF SQLERRM <> 'undo' THEN RAISE; END IF;
        END;
    END LOOP;
    RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t) FROM unnest(timings) t);
END $$;
SQL
due=$(sql -c "SELECT date_trunc('day', now()) + interval '1 day'")

for size in 10000 30000 100000 300000 1000000 3000000 5000000; do
    sql -c "SELECT bench.grow_to($size, '$due')" >/dev/null
    sql -c "VACUUM ANALYZE vicidial.vicidial_callbacks, vicidial.vicidial_list" >/dev/null
    # every measured sweep flips exactly the 1,000 due
    [ "$(sql -c "SELECT count(*) FROM vicidial.vicidial_callbacks WHERE status = 'ACTIVE' AND callback_time <= '$due'")" = 1000 ]
    sql -c "INSERT INTO bench.results
            SELECT count(*), bench.median_ms(\$s\$SELECT * FROM vicidial.sweep('$due')\$s\$, 7),
                   bench.median_ms(\$s\$SELECT * FROM vicidial.hopper_run('$due'::timestamptz - interval '1 hour')\$s\$, 21)
              FROM vicidial.vicidial_callbacks" >/dev/null
    echo "$(sql -c "SELECT max(callbacks) FROM bench.results") rows measured"
done

results="$PROJECT_ROOT/test/bench/results"
mkdir -p "$results"
sql -c "COPY (SELECT callbacks, round(sweep_ms, 2) AS sweep_ms, round(idle_ms, 3) AS idle_ms FROM bench.results ORDER BY callbacks)
        TO STDOUT WITH CSV HEADER" > "$results/growth.csv"
gnuplot <<PLOT
set terminal pngcairo size 900,500 noenhanced
set output '$results/growth.png'
set datafile separator ','
set key top left autotitle columnhead
set logscale x
set xlabel 'rows in vicidial_callbacks (1,000 due)'
set ylabel 'ms (median)'
set yrange [0:*]
set grid
set title 'vicidial_callbacks $(date -u +%Y-%m-%d): run cost as the table grows'
plot '$results/growth.csv' using 1:2 with linespoints title 'sweep of the 1,000 due', \
     '' using 1:3 with linespoints title 'idle run'
PLOT
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(sql -c 'SHOW server_version'); $results/growth.csv and growth.png"
cluster_psql -q -c "
SELECT callbacks AS \"rows\", round(sweep_ms, 1) AS \"sweep of 1,000 due, ms\",
       round(sweep_ms / first_value(sweep_ms) OVER (ORDER BY callbacks), 2) AS \"x at 10,000\",
       round(idle_ms, 3) AS \"idle run, ms\"
  FROM bench.results ORDER BY callbacks"
