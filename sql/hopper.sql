-- The server side: the sweep flips each callback at its own time, the fill
-- honours hopper_level and skips inactive lists and campaigns, hopper_next
-- serves priority 50 first, and a second hopper_run changes nothing.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';

INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name, hopper_level, active) VALUES
    ('HOP', 'Hopper', 3, true),
    ('HOPOFF', 'Inactive campaign', 100, true);
-- This file is about the day's flow, not calling hours (sql/hours.sql): dial around the clock.
UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours';
INSERT INTO vicidial.vicidial_lists (list_id, list_name, campaign_id, active) VALUES
    (500, 'Active list', 'HOP', true),
    (501, 'Inactive list', 'HOP', true),
    (502, 'List of the inactive campaign', 'HOPOFF', true);
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status, called_since_last_reset) VALUES
    (5001, 500, 'NEW', 'N'), (5002, 500, 'NEW', 'N'), (5003, 500, 'NEW', 'N'), (5004, 500, 'NEW', 'N'),
    (5005, 500, 'NEW', 'N'), (5006, 500, 'NEW', 'N'),
    (5007, 501, 'NEW', 'N'),
    (5008, 502, 'NEW', 'N'),
    (5009, 500, 'SALE', 'N'),     -- not a dial status
    (5010, 500, 'NEW', 'Y');      -- already called since the last reset
SELECT date_trunc('day', now()) + interval '4 days 10:00' AS t \gset

-- Callbacks while the lists are active: 5005 at t, 5006 at t + 30 min;
-- 5007 (list to be deactivated) and 5008 (campaign to be deactivated) at t.
SELECT vicidial.callback_schedule(5005, 'agent2', :'t') AS cb_5005 \gset
SELECT vicidial.callback_schedule(5006, 'agent2', :'t'::timestamptz + interval '30 minutes') AS cb_5006 \gset
SELECT vicidial.callback_schedule(5007, 'agent2', :'t') AS cb_5007 \gset
SELECT vicidial.callback_schedule(5008, 'agent2', :'t') AS cb_5008 \gset
UPDATE vicidial.vicidial_lists SET active = false WHERE list_id = 501;
UPDATE vicidial.vicidial_campaigns SET active = false WHERE campaign_id = 'HOPOFF';

-- The fill: hopper_level 3, oldest NEW uncalled leads of active lists only.
SELECT vicidial.hopper_fill(:'t'::timestamptz - interval '1 hour') AS filled;
SELECT lead_id, campaign_id, priority, source, status FROM vicidial.vicidial_hopper ORDER BY hopper_id;
SELECT vicidial.hopper_fill(:'t'::timestamptz - interval '1 hour') AS filled_again;

-- Nothing is due before t.
SELECT * FROM vicidial.hopper_run(:'t'::timestamptz - interval '1 second');

-- At t: three callbacks due, 5006 (due at t + 30 min) is not flipped early.
-- Only 5005 joins the hopper: 5007's list and 5008's campaign are inactive.
SELECT * FROM vicidial.hopper_run(:'t');
SELECT lead_id, c.status, l.status AS lead_status, l.called_since_last_reset,
       EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = c.lead_id) AS in_hopper
  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id)
 WHERE lead_id BETWEEN 5005 AND 5008 ORDER BY lead_id;
-- The hopper was full, so the fill added nothing; the callback is on top.
SELECT lead_id, priority, source FROM vicidial.vicidial_hopper ORDER BY priority DESC, hopper_id;

-- A second run at the same time changes nothing at all.
SELECT regress.state() AS before \gset
SELECT * FROM vicidial.hopper_run(:'t');
SELECT regress.state() = :'before' AS unchanged;

-- hopper_next: priority 50 first, then the oldest hopper row; then the fill
-- tops the hopper up again.
SELECT lead_id FROM vicidial.hopper_next('HOP', 'agent1');
SELECT lead_id FROM vicidial.hopper_next('HOP', 'agent2');
SELECT * FROM vicidial.hopper_run(:'t');
SELECT lead_id, priority FROM vicidial.vicidial_hopper ORDER BY priority DESC, hopper_id;
-- An empty campaign gives no row.
SELECT count(*) AS from_inactive_campaign FROM vicidial.hopper_next('HOPOFF', 'agent3');

-- Scheduling a callback takes its lead out of the hopper.
SELECT count(*) AS in_hopper_before FROM vicidial.vicidial_hopper WHERE lead_id = 5003;
SELECT vicidial.callback_schedule(5003, 'agent1', :'t'::timestamptz + interval '3 hours') IS NOT NULL AS scheduled;
SELECT status, EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = 5003) AS in_hopper
  FROM vicidial.vicidial_list WHERE lead_id = 5003;

-- At t + 30 min, 5006 goes LIVE.
SELECT * FROM vicidial.hopper_run(:'t'::timestamptz + interval '30 minutes');
SELECT status FROM vicidial.vicidial_callbacks WHERE callback_id = :cb_5006;
-- Any active agent may dial an ANYONE callback (agent2 scheduled it); that
-- takes its lead out of the hopper.
SELECT lead_id, status, "user" FROM vicidial.callback_dial(:cb_5006, 'agent3');
SELECT count(*) AS in_hopper FROM vicidial.vicidial_hopper WHERE lead_id = 5006;
SELECT vicidial.lead_disposition(5006, 'agent3', 'SALE');

-- An ANYONE callback whose lead is on a call when it falls due (a front end
-- dialed it early, writing the lead itself) goes LIVE, but the lead is left
-- to the agent's hangup: not released, not queued.
SELECT status FROM vicidial.vicidial_list WHERE lead_id = 5001;
SELECT vicidial.lead_disposition(5001, 'agent2', 'CALLBK', :'t'::timestamptz + interval '1 hour') AS cb_5001 \gset
UPDATE vicidial.vicidial_list SET status = 'INCALL' WHERE lead_id = 5001;
SELECT went_live, hopper_inserted FROM vicidial.sweep(:'t'::timestamptz + interval '1 hour');
SELECT c.status, l.status AS lead_status,
       EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = 5001) AS in_hopper
  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id) WHERE c.callback_id = :cb_5001;
SELECT vicidial.lead_disposition(5001, 'agent2', 'SALE');

-- hopper_level 0 keeps the standard fill out; callbacks still come in.
UPDATE vicidial.vicidial_campaigns SET hopper_level = 0 WHERE campaign_id = 'HOP';
DELETE FROM vicidial.vicidial_hopper;
SELECT vicidial.callback_schedule(5002, 'agent2', :'t'::timestamptz + interval '2 hours') IS NOT NULL AS scheduled;
SELECT * FROM vicidial.hopper_run(:'t'::timestamptz + interval '2 hours');
SELECT lead_id, priority, source FROM vicidial.vicidial_hopper;
SELECT * FROM vicidial.invariant_violations();

-- The worker sweeps a burst in chunks (vicidial_callbacks.sweep_chunk),
-- each in a transaction of its own, so that agents get the first while
-- the rest are swept. A chunk is the earliest due callbacks: 5003's (due
-- at t + 3 hours, above), then these, due in the reverse order of their
-- leads.
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status) SELECT g, 500, 'NEW' FROM generate_series(5101, 5114) g;
SELECT count(vicidial.callback_schedule(g, 'agent2', :'t'::timestamptz + interval '6 hours' - make_interval(mins => g - 5100)))
  FROM generate_series(5101, 5105) g;
CREATE TEMP VIEW live_burst AS
SELECT array_agg(c.lead_id ORDER BY c.lead_id) AS live FROM vicidial.vicidial_callbacks c
 WHERE c.status = 'LIVE' AND (c.lead_id = 5003 OR c.lead_id > 5100);
SELECT went_live, chunk_full FROM vicidial._sweep(:'t'::timestamptz + interval '6 hours', 2);
SELECT * FROM live_burst;
SELECT went_live, chunk_full FROM vicidial._sweep(:'t'::timestamptz + interval '6 hours', 2);
SELECT * FROM live_burst;
SELECT went_live, chunk_full FROM vicidial._sweep(:'t'::timestamptz + interval '6 hours', 2);
SELECT * FROM live_burst;
SELECT went_live, chunk_full FROM vicidial._sweep(:'t'::timestamptz + interval '6 hours', 2);
-- The worker's sweep reads the setting and says whether to go on at once.
SELECT count(vicidial.callback_schedule(g, 'agent2', vicidial._half_hour_start(now()))) FROM generate_series(5106, 5108) g;
SET vicidial_callbacks.sweep_chunk = 2;
SELECT w.more_due FROM vicidial._worker_sweep(100) w;
SELECT * FROM live_burst;
SELECT w.more_due FROM vicidial._worker_sweep(100) w;
SELECT * FROM live_burst;
-- sweep and hopper_run take every due callback, whatever the setting.
SELECT count(vicidial.callback_schedule(g, 'agent2', :'t'::timestamptz + interval '7 hours')) FROM generate_series(5109, 5111) g;
SELECT went_live FROM vicidial.sweep(:'t'::timestamptz + interval '7 hours');
SELECT count(vicidial.callback_schedule(g, 'agent2', :'t'::timestamptz + interval '8 hours')) FROM generate_series(5112, 5114) g;
SELECT went_live FROM vicidial.hopper_run(:'t'::timestamptz + interval '8 hours');
RESET vicidial_callbacks.sweep_chunk;

-- A queued lead set aside until a time (WAIT, as hopper_next sets aside a
-- lead outside its hours) is back in line at that time in the sweep part
-- of a run, the part the worker runs at every wake: it does not wait for
-- a fill, which the worker may put off (vicidial_callbacks.fill_interval).
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status) VALUES (5120, 500, 'SALE');  -- no fill takes it after
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (5120, 'HOP', 500);
UPDATE vicidial.vicidial_hopper SET status = 'WAIT', dialable_after = :'t'::timestamptz + interval '10 hours',
                                    hours_version = vicidial._hours_version()
 WHERE lead_id = 5120;
SELECT cut_short FROM vicidial._run_parts(:'t'::timestamptz + interval '10 hours' - interval '1 second', '{sweep}', NULL);
SELECT status, dialable_after IS NOT NULL AS waits FROM vicidial.vicidial_hopper WHERE lead_id = 5120;
SELECT cut_short FROM vicidial._run_parts(:'t'::timestamptz + interval '10 hours', '{sweep}', NULL);
SELECT status, dialable_after IS NOT NULL AS waits FROM vicidial.vicidial_hopper WHERE lead_id = 5120;
DELETE FROM vicidial.vicidial_hopper WHERE lead_id = 5120;

-- The hopper's foreign keys are checked row by row, each check a query of
-- its own that follows plan_cache_mode: the release and the fill pick
-- their rows under force_custom_plan but queue them under auto, so that
-- the checks run their cached plans instead of being planned row by row.
CREATE TABLE regress.queued_under (lead_id bigint, source char(1), plan_cache_mode text);
CREATE FUNCTION regress.record_queued_under() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO regress.queued_under VALUES (NEW.lead_id, NEW.source, current_setting('plan_cache_mode'));
    RETURN NULL;
END $$;
CREATE TRIGGER record_queued_under AFTER INSERT ON vicidial.vicidial_hopper
    FOR EACH ROW EXECUTE FUNCTION regress.record_queued_under();
DELETE FROM vicidial.vicidial_hopper;
UPDATE vicidial.vicidial_campaigns SET hopper_level = 3 WHERE campaign_id = 'HOP';
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status) VALUES (5115, 500, 'NEW');
SELECT vicidial.callback_schedule(5115, 'agent2', :'t'::timestamptz + interval '9 hours') IS NOT NULL AS scheduled;
SELECT went_live, hopper_inserted, hopper_filled FROM vicidial.hopper_run(:'t'::timestamptz + interval '9 hours');
SELECT source, plan_cache_mode, count(*) AS queued FROM regress.queued_under GROUP BY 1, 2 ORDER BY 1, 2;
DROP TRIGGER record_queued_under ON vicidial.vicidial_hopper;

-- A sweep of a few leads (up to 50: an early wake's one or two callbacks)
-- runs its statements, and the release of its leads, on the session's
-- generic plans, since planning them for their values would cost more than
-- running them; a sweep of more plans each for its leads, as a burst
-- needs. The setting is the sweep's own, and the release's: the caller's
-- is as it was after either.
CREATE TABLE regress.swept_under (table_name text, plan_cache_mode text);
CREATE FUNCTION regress.record_swept_under() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO regress.swept_under VALUES (TG_TABLE_NAME, current_setting('plan_cache_mode'));
    RETURN NULL;
END $$;
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status) SELECT g, 500, 'NEW' FROM generate_series(5200, 5300) g;
SELECT count(vicidial.callback_schedule(g, 'agent2', :'t'::timestamptz + interval '11 hours')) AS fifty_due
  FROM generate_series(5200, 5249) g;
SELECT count(vicidial.callback_schedule(g, 'agent2', :'t'::timestamptz + interval '12 hours')) AS fifty_one_due
  FROM generate_series(5250, 5300) g;
CREATE TRIGGER record_swept_under AFTER UPDATE ON vicidial.vicidial_callbacks
    FOR EACH ROW EXECUTE FUNCTION regress.record_swept_under();
CREATE TRIGGER record_swept_under AFTER UPDATE ON vicidial.vicidial_list
    FOR EACH ROW EXECUTE FUNCTION regress.record_swept_under();
BEGIN;
SET LOCAL plan_cache_mode = auto;
SELECT went_live, hopper_inserted FROM vicidial.sweep(:'t'::timestamptz + interval '11 hours');
SHOW plan_cache_mode;
SELECT vicidial._release_anyone('{5200}', :'t'::timestamptz + interval '11 hours') AS released_again;
SHOW plan_cache_mode;
COMMIT;
SELECT table_name, plan_cache_mode, count(*) AS rows_changed FROM regress.swept_under GROUP BY 1, 2 ORDER BY 1, 2;
DELETE FROM regress.swept_under;
SELECT went_live, hopper_inserted FROM vicidial.sweep(:'t'::timestamptz + interval '12 hours');
SELECT table_name, plan_cache_mode, count(*) AS rows_changed FROM regress.swept_under GROUP BY 1, 2 ORDER BY 1, 2;
DROP TRIGGER record_swept_under ON vicidial.vicidial_callbacks;
DROP TRIGGER record_swept_under ON vicidial.vicidial_list;

-- Leads released together are queued in the order of their callbacks'
-- ids, the sweep's order: neither in the order the callbacks fell due nor
-- in the leads' order.
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status)
VALUES (5301, 500, 'NEW'), (5302, 500, 'NEW'), (5303, 500, 'NEW'), (5304, 500, 'NEW');
SELECT vicidial.callback_schedule(5302, 'agent2', :'t'::timestamptz + interval '13 hours 30 minutes') AS cb_5302 \gset
SELECT vicidial.callback_schedule(5301, 'agent2', :'t'::timestamptz + interval '12 hours 30 minutes') AS cb_5301 \gset
SELECT vicidial.callback_schedule(5304, 'agent2', :'t'::timestamptz + interval '13 hours') AS cb_5304 \gset
SELECT vicidial.callback_schedule(5303, 'agent2', :'t'::timestamptz + interval '13 hours') AS cb_5303 \gset
SELECT :cb_5302 < :cb_5301 AND :cb_5301 < :cb_5304 AND :cb_5304 < :cb_5303 AS created_in_that_order;
SELECT went_live, hopper_inserted FROM vicidial.sweep(:'t'::timestamptz + interval '13 hours 30 minutes');
SELECT array_agg(lead_id ORDER BY hopper_id) AS queued_in_order FROM vicidial.vicidial_hopper WHERE lead_id > 5300;
