#!/bin/bash
# Benchmark: does the sweep's cost follow the due rows or the table? The
# same 1,000 due ANYONE callbacks are swept beside 1,000 and then beside
# 100,000 ACTIVE callbacks that are not due, in one session; each figure is
# the median of 7 sweeps, each rolled back, with the commit-time checks made
# immediate so that they are timed too. Numbers, not a pass/fail. Run as
# root on Debian 12.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

install_packages
build_and_install
start_throwaway_cluster "$(scratch_tree)" 54349 <<CONF
shared_preload_libraries = 'vicidial_callbacks'
vicidial_callbacks.enabled = off
CONF

seed_one_campaign
cluster_psql -q <<'SQL'
INSERT INTO vicidial.vicidial_list (list_id) SELECT 1 FROM generate_series(1, 101000);
SELECT date_trunc('day', now()) + interval '1 day' AS due \gset

-- ACTIVE callbacks for leads [first, last]: due at :due, or days later.
CREATE FUNCTION pg_temp.add_callbacks(first bigint, last bigint, at timestamptz) RETURNS void LANGUAGE sql AS $$
    WITH c AS (
        INSERT INTO vicidial.vicidial_callbacks (lead_id, callback_time, "user")
        SELECT g, at, 'bob' FROM generate_series(first, last) g RETURNING lead_id)
    UPDATE vicidial.vicidial_list SET status = 'CBHOLD' WHERE lead_id IN (SELECT lead_id FROM c)
$$;

-- Median of 7 sweeps at "at", each undone by a rolled-back subtransaction.
CREATE FUNCTION pg_temp.sweep_ms(at timestamptz) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    timings numeric[] := '{}';
    started timestamptz;
    flipped integer;
BEGIN
    SET CONSTRAINTS ALL IMMEDIATE;
    FOR i IN 1..7 LOOP
        BEGIN
            started := clock_timestamp();
            SELECT went_live INTO flipped FROM vicidial.sweep(at);
            timings := timings || extract(epoch FROM clock_timestamp() - started) * 1000;
            IF flipped <> 1000 THEN
                RAISE EXCEPTION 'expected 1000 due callbacks, swept %', flipped;
            END IF;
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'undo';
        EXCEPTION WHEN raise_exception THEN
            IF SQLERRM <> 'undo' THEN RAISE; END IF;
        END;
    END LOOP;
    RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t) FROM unnest(timings) t);
END $$;

SELECT pg_temp.add_callbacks(1, 1000, :'due') \g /dev/null
SELECT pg_temp.add_callbacks(1001, 2000, :'due'::timestamptz + interval '5 days') \g /dev/null
ANALYZE;
SELECT pg_temp.sweep_ms(:'due') AS small \gset
SELECT pg_temp.add_callbacks(2001, 101000, :'due'::timestamptz + interval '5 days') \g /dev/null
ANALYZE;
SELECT pg_temp.sweep_ms(:'due') AS large \gset

SELECT 'beside 1,000 not due' AS "1,000 due ANYONE callbacks", round(:small, 1) AS median_ms, 1.0 AS ratio
UNION ALL
SELECT 'beside 100,000 not due', round(:large, 1), round(:large / :small, 2);
SQL
