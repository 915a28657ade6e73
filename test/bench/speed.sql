-- The speed benchmark's data and timers (test/bench/speed.sh runs it):
-- 1,000,000 leads in 10 campaigns, a quarter each in New York, Chicago,
-- Denver and Los Angeles; 1,000,000 callbacks: 100,000 due (half ANYONE),
-- 400,000 ACTIVE later, 500,000 ARCHIVE. Campaigns dial around the clock
-- (24hours) unless a figure says "hours on". Loaded with the triggers off,
-- as a restore would; then every figure is taken on the live rules.
SET client_min_messages = warning;
-- the version a caller names (speed.sh's EXT_VERSION, versions.sh): a
-- released one, to compare builds on the same box the same day; else the
-- default (load.sh)
\if :{?version}
CREATE EXTENSION vicidial_callbacks VERSION :'version';
\else
CREATE EXTENSION vicidial_callbacks;
\endif
CREATE SCHEMA bench;
SELECT date_trunc('day', now()) + interval '1 day 12:00' AS due \gset

BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks)
SELECT 'a' || lpad(g::text, 2, '0'), true FROM generate_series(1, 8) g;
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time, time_zone)
SELECT 'C' || lpad(g::text, 2, '0'), 500, '24hours', 'UTC' FROM generate_series(1, 10) g;
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id)
SELECT g, 'C' || lpad(g::text, 2, '0') FROM generate_series(1, 10) g;
-- leads 1..500,000 wait for their open callback; the rest are dialable
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status, phone_number, time_zone)
SELECT g, 1 + g % 10, CASE WHEN g <= 500000 THEN 'CBHOLD' ELSE 'NEW' END, '555' || g,
       (ARRAY['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'])[1 + g / 7 % 4]
  FROM generate_series(1, 1000000) g;
SELECT setval('vicidial.vicidial_list_lead_id_seq', 1000000) \g /dev/null
-- due ones spread over the 100,000 seconds before :due, callback_id order = time order
INSERT INTO vicidial.vicidial_callbacks (callback_id, lead_id, list_id, campaign_id, status, callback_time, "user", recipient, customer_timezone)
SELECT g, g, 1 + g % 10, 'C' || lpad((1 + g % 10)::text, 2, '0'),
       CASE WHEN g <= 500000 THEN 'ACTIVE' ELSE 'ARCHIVE' END,
       CASE WHEN g <= 100000 THEN :'due'::timestamptz - make_interval(secs => 100000 - g)
            WHEN g <= 500000 THEN :'due'::timestamptz + make_interval(days => 1 + g % 30)
            ELSE :'due'::timestamptz - make_interval(days => 1 + g % 300) END,
       'a' || lpad((1 + g % 8)::text, 2, '0'), CASE WHEN g % 2 = 0 THEN 'ANYONE' ELSE 'USERONLY' END,
       (ARRAY['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'])[1 + g / 7 % 4]
  FROM generate_series(1, 1000000) g;
SELECT setval('vicidial.vicidial_callbacks_callback_id_seq', 1000000) \g /dev/null
COMMIT;
VACUUM ANALYZE;

-- Milliseconds one statement takes, its deferred checks made immediate and
-- timed with it, then undone. replica: with every trigger off (the floor).
-- setup: a statement run first, untimed, with the triggers on.
CREATE FUNCTION bench.time_ms(statement text, replica boolean DEFAULT false, setup text DEFAULT NULL) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz;
    taken numeric;
BEGIN
    BEGIN
        IF setup IS NOT NULL THEN
            EXECUTE setup;
        END IF;
        IF replica THEN
            SET LOCAL session_replication_role = replica;
        END IF;
        SET CONSTRAINTS ALL IMMEDIATE;
        started := clock_timestamp();
        EXECUTE statement;
        taken := extract(epoch FROM clock_timestamp() - started) * 1000;
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN
        IF SQLERRM <> 'undo' THEN
            RAISE;
        END IF;
    END;
    RETURN taken;
END $$;

-- The same rows changed by bare set-based statements: what a sweep cannot beat.
CREATE FUNCTION bench.floor_sweep(at timestamptz) RETURNS text LANGUAGE sql AS $$
    SELECT format($f$
        WITH flipped AS (
            UPDATE vicidial.vicidial_callbacks c SET status = 'LIVE', modify_date = now()
             WHERE c.status = 'ACTIVE' AND c.callback_time <= %L
            RETURNING c.lead_id, c.recipient, c.lead_status, c.campaign_id, c.list_id),
        released AS (
            UPDATE vicidial.vicidial_list l SET status = f.lead_status, called_since_last_reset = 'N'
              FROM flipped f WHERE l.lead_id = f.lead_id AND f.recipient = 'ANYONE'
            RETURNING l.lead_id, f.campaign_id, f.list_id)
        INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id, status, priority, source)
        SELECT lead_id, campaign_id, list_id, 'READY', 50, 'C' FROM released
        ON CONFLICT (lead_id) DO NOTHING$f$, at)
$$;

CREATE FUNCTION bench.floor_fill(at timestamptz) RETURNS text LANGUAGE sql AS $$
    SELECT format($f$
        INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id, status, priority, source, entry_time)
        SELECT pick.lead_id, cp.campaign_id, pick.list_id, 'READY', 0, 'S', %L
          FROM vicidial.vicidial_campaigns cp
         CROSS JOIN LATERAL (
               SELECT c.lead_id, c.list_id
                 FROM vicidial.vicidial_lists li
                CROSS JOIN unnest(cp.dial_statuses) AS dial(status)
                CROSS JOIN LATERAL (
                      SELECT l.lead_id, l.list_id FROM vicidial.vicidial_list l
                       WHERE l.list_id = li.list_id AND l.status = dial.status AND l.called_since_last_reset = 'N'
                       ORDER BY l.lead_id LIMIT cp.hopper_level) c
                WHERE li.campaign_id = cp.campaign_id
                ORDER BY c.lead_id LIMIT cp.hopper_level) pick$f$, at)
$$;

-- The leads taken from full hoppers put back by one bare insert: the
-- rows any refill writes, with nothing to find or decide.
CREATE FUNCTION bench.floor_refill(leads bigint[], at timestamptz) RETURNS text LANGUAGE sql AS $$
    SELECT format($f$
        INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id, status, priority, source, entry_time)
        SELECT l.lead_id, li.campaign_id, l.list_id, 'READY', 0, 'S', %L
          FROM vicidial.vicidial_list l JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id
         WHERE l.lead_id = ANY (%L::bigint[])$f$, at, leads)
$$;

CREATE TABLE bench.results (what text, driver text, rep integer, ms numeric);

-- A log two years old: the months a site adds with log_partitions_add
-- (the setup page's monthly job), 24 before this one, this one and 3
-- after it, UTC months as there, for both logs, made once and attached
-- or detached by the cycle's figure. A site's rows of this month are in
-- this month's partition, made months ahead: attaching moves the default
-- partition's rows of these months into them first (the triggers off, as
-- in a restore), so that a dial is logged where it would be on that
-- site, and detaching moves them back, so that both sides read one log.
CREATE FUNCTION bench.log_months(action text) RETURNS void
LANGUAGE plpgsql SET TimeZone = 'UTC' AS $$
DECLARE
    log text;
    time_column text;
    month timestamptz;
    partition text;
BEGIN
    FOREACH log IN ARRAY ARRAY['vicidial_log', 'vicidial_callback_log'] LOOP
        time_column := CASE log WHEN 'vicidial_log' THEN 'call_date' ELSE 'changed_at' END;
        FOR i IN -24..3 LOOP
            month := date_trunc('month', now()) + make_interval(months => i);
            partition := log || '_' || to_char(month, 'YYYY_MM');
            CASE action
            WHEN 'create' THEN
                EXECUTE format('CREATE TABLE bench.%I (LIKE vicidial.%I INCLUDING ALL)', partition, log || '_default');
            WHEN 'attach' THEN
                SET LOCAL session_replication_role = replica;
                EXECUTE format('WITH moved AS (DELETE FROM vicidial.%I WHERE %I >= %L AND %I < %L RETURNING *)
                                INSERT INTO bench.%I SELECT * FROM moved',
                               log || '_default', time_column, month, time_column, month + interval '1 month', partition);
                SET LOCAL session_replication_role = origin;
                EXECUTE format('ALTER TABLE vicidial.%I ATTACH PARTITION bench.%I FOR VALUES FROM (%L) TO (%L)',
                               log, partition, month, month + interval '1 month');
            WHEN 'detach' THEN
                EXECUTE format('ALTER TABLE vicidial.%I DETACH PARTITION bench.%I', log, partition);
                SET LOCAL session_replication_role = replica;
                EXECUTE format('WITH moved AS (DELETE FROM bench.%I RETURNING *) INSERT INTO vicidial.%I SELECT * FROM moved',
                               partition, log || '_default');
                SET LOCAL session_replication_role = origin;
            END CASE;
        END LOOP;
    END LOOP;
END $$;
SELECT bench.log_months('create') \g /dev/null
