-- What each kind of write to the callbacks sets off, read once per
-- statement from its transition tables (src/callback_changes.c,
-- src/lead_changes.c): whether the worker is woken at commit, whether the
-- leads' moves are handed to SQL (_apply_callback_effects), and how many
-- leads are queued for the check of I2 and I11 at commit. Many writes do
-- none of it: a dial counts an attempt, a comment changes, a hand-out
-- takes a lead no rule holds; a callback call's hangup archives, which
-- asks SQL about the lead and has it checked but wakes nobody. Each case
-- is its own transaction, rolled back or committed as the story needs.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';
SET track_functions = 'all';

INSERT INTO vicidial.vicidial_campaigns (campaign_id, local_call_time, hopper_level) VALUES ('CHG', '24hours', 0);
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (700, 'CHG');
INSERT INTO vicidial.vicidial_list (lead_id, list_id, phone_number) VALUES
    (7001, 700, '5557001'), (7002, 700, '5557002'), (7003, 700, '5557003');
SELECT date_trunc('day', now()) + interval '2 days 10:00' AS due \gset

-- What this transaction has set off since regress.mark_calls().
CREATE VIEW regress.set_off AS
SELECT vicidial._wakes_worker_at_commit() AS wakes_worker,
       regress.calls_since_mark('_apply_callback_effects') AS moves_applied,
       (SELECT coalesce(sum(cardinality(q.lead_ids)), 0) FROM vicidial.lead_checks q) AS leads_checked;

-- Scheduling inserts: the worker wakes for the new due time; the API's
-- scheduling has held the lead, which the moves confirm.
BEGIN;
SELECT regress.mark_calls() \gset
SELECT vicidial.callback_schedule(7001, 'agent1', :'due') AS cb1 \gset
SELECT vicidial.callback_schedule(7002, 'agent1', :'due'::timestamptz - interval '30 minutes') AS cb2 \gset
SELECT * FROM regress.set_off;
COMMIT;

-- A new comment moves nothing and wakes nobody, for one callback or two
-- (whose times differ, so that an old row read against another's new row
-- would look re-timed).
BEGIN;
SELECT regress.mark_calls() \gset
UPDATE vicidial.vicidial_callbacks SET comments = 'call after lunch' WHERE callback_id = :cb1;
UPDATE vicidial.vicidial_callbacks SET comments = 'both' WHERE callback_id IN (:cb1, :cb2);
SELECT * FROM regress.set_off;
ROLLBACK;

-- A new time may make it due sooner: the worker wakes; no lead moves.
BEGIN;
SELECT regress.mark_calls() \gset
UPDATE vicidial.vicidial_callbacks SET callback_time = :'due'::timestamptz + interval '1 hour' WHERE callback_id = :cb1;
SELECT * FROM regress.set_off;
ROLLBACK;

-- Archived by hand: the lead is released from CBHOLD, and nothing the
-- worker waits for has moved.
BEGIN;
SELECT regress.mark_calls() \gset
UPDATE vicidial.vicidial_callbacks SET status = 'ARCHIVE' WHERE callback_id = :cb2;
SELECT * FROM regress.set_off;
SELECT status FROM vicidial.vicidial_list WHERE lead_id = 7002;
ROLLBACK;

-- One statement, two transitions: the pairs of old and new rows are read
-- together, so that each row's own change decides.
BEGIN;
SELECT regress.mark_calls() \gset
UPDATE vicidial.vicidial_callbacks
   SET status = CASE callback_id WHEN :cb2 THEN 'ARCHIVE' ELSE status END,
       callback_time = CASE callback_id WHEN :cb1 THEN callback_time + interval '1 day' ELSE callback_time END
 WHERE callback_id IN (:cb1, :cb2);
SELECT * FROM regress.set_off;
SELECT lead_id, status FROM vicidial.vicidial_list WHERE lead_id IN (7001, 7002) ORDER BY lead_id;
ROLLBACK;

-- Due: both go LIVE for anyone and their leads are released to the hopper.
SELECT went_live FROM vicidial.sweep(:'due');
SELECT lead_id, status FROM vicidial.vicidial_hopper ORDER BY lead_id;

-- An agent takes the first: the dial counts an attempt on the callback,
-- which sets off nothing.
BEGIN;
SELECT regress.mark_calls() \gset
SELECT lead_id, status FROM vicidial.hopper_next('CHG', 'agent2');
SELECT attempts FROM vicidial.vicidial_callbacks WHERE callback_id = :cb1;
SELECT * FROM regress.set_off;
COMMIT;

-- The hangup archives the callback: the moves are asked, and find its
-- lead on the call and nothing to do; the worker is not woken.
BEGIN;
SELECT regress.mark_calls() \gset
SELECT vicidial.lead_disposition(7001, 'agent2', 'SALE');
SELECT * FROM regress.set_off;
COMMIT;
SELECT c.status AS callback, l.status AS lead FROM vicidial.vicidial_callbacks c
  JOIN vicidial.vicidial_list l ON l.lead_id = c.lead_id WHERE c.callback_id = :cb1;

-- Handed back to its owner alone, a LIVE ANYONE callback holds its lead
-- again (out of the hopper, CBHOLD), and the worker wakes to its owner's
-- next move.
BEGIN;
SELECT regress.mark_calls() \gset
UPDATE vicidial.vicidial_callbacks SET recipient = 'USERONLY' WHERE callback_id = :cb2;
SELECT * FROM regress.set_off;
SELECT status, EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = 7002) AS in_hopper
  FROM vicidial.vicidial_list WHERE lead_id = 7002;
ROLLBACK;

-- An agent released from a callback call they hold: a USERONLY callback
-- already due stays LIVE, so no column the triggers read changes, but its
-- lead is off the call and the move of an overdue callback to anyone is
-- the worker's again, so the worker wakes.
SELECT vicidial.callback_schedule(7003, 'agent1', vicidial._half_hour_start(now()), 'USERONLY') AS cb3 \gset
SELECT went_live FROM vicidial.sweep(now());
SELECT lead_id, status FROM vicidial.callback_dial(:cb3, 'agent1');
BEGIN;
SELECT regress.mark_calls() \gset
SELECT vicidial.agent_release('agent1') AS calls_ended;
SELECT * FROM regress.set_off;
SELECT c.status AS callback, l.status AS lead FROM vicidial.vicidial_callbacks c
  JOIN vicidial.vicidial_list l ON l.lead_id = c.lead_id WHERE c.callback_id = :cb3;
ROLLBACK;

-- The trigger functions written in C, called other than as their
-- triggers (a direct call, which their owner or a superuser can make),
-- refuse with 39P01 before reading any trigger data.
SELECT p.oid::regprocedure AS trigger_function, regress.attempt('SELECT ' || p.oid::regprocedure::text) AS called_directly
  FROM pg_proc p
 WHERE p.pronamespace = 'vicidial'::regnamespace AND p.prorettype = 'trigger'::regtype
   AND p.prolang = (SELECT l.oid FROM pg_language l WHERE l.lanname = 'c')
 ORDER BY 1::text;
