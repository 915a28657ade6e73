-- Every allowed and every refused transition, through the functions and
-- through direct INSERT/UPDATE/DELETE, and the invariants the tables keep
-- on their own (I1-I4, I6, modify_date).
\i test/regress_fixture.sql
SET TimeZone = 'UTC';

INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name) VALUES ('TRN', 'Transitions');
INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name, scheduled_callbacks) VALUES ('TRNOFF', 'No callbacks', false);
-- This file is about the day's flow, not calling hours (sql/hours.sql): dial around the clock.
UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours';
INSERT INTO vicidial.vicidial_lists (list_id, list_name, campaign_id) VALUES (800, 'Transitions', 'TRN'), (801, 'Off', 'TRNOFF');
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status) SELECT g, 800, 'NEW' FROM generate_series(8001, 8012) g;
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status) VALUES (8099, 801, 'NEW');

-- Direct DML, allowed: what a front end ported from VICIdial writes.
SELECT n, regress.attempt(call) FROM (VALUES
    ('insert ACTIVE with its lead CBHOLD', $$WITH c AS (INSERT INTO vicidial.vicidial_callbacks (callback_id, lead_id, callback_time, "user", recipient, modify_date)
         VALUES (8101, 8001, now() + interval '1 day', 'agent1', 'USERONLY', '2000-01-01') RETURNING lead_id)
       UPDATE vicidial.vicidial_list SET status = 'CBHOLD' WHERE lead_id IN (SELECT lead_id FROM c)$$),
    ('insert ACTIVE, lead INCALL (called early)', $$WITH c AS (INSERT INTO vicidial.vicidial_callbacks (callback_id, lead_id, callback_time, "user")
         VALUES (8102, 8002, now() + interval '1 day', 'agent2') RETURNING lead_id)
       UPDATE vicidial.vicidial_list SET status = 'INCALL', "user" = 'agent2' WHERE lead_id IN (SELECT lead_id FROM c)$$),
    ('ACTIVE -> LIVE',          $$UPDATE vicidial.vicidial_callbacks SET status = 'LIVE' WHERE callback_id = 8101$$),
    ('LIVE -> ACTIVE, later',   $$UPDATE vicidial.vicidial_callbacks SET status = 'ACTIVE', callback_time = now() + interval '2 days' WHERE callback_id = 8101$$),
    ('ACTIVE -> ARCHIVE, lead released', $$WITH c AS (UPDATE vicidial.vicidial_callbacks SET status = 'ARCHIVE' WHERE callback_id = 8101 RETURNING lead_id)
       UPDATE vicidial.vicidial_list SET status = 'CALLBK' WHERE lead_id IN (SELECT lead_id FROM c)$$),
    ('ACTIVE -> LIVE -> ARCHIVE of an INCALL lead', $$UPDATE vicidial.vicidial_callbacks SET status = 'LIVE' WHERE callback_id = 8102$$),
    ('LIVE -> ARCHIVE',         $$UPDATE vicidial.vicidial_callbacks SET status = 'ARCHIVE' WHERE callback_id = 8102$$),
    ('ACTIVE, same status, new comment', $$WITH c AS (INSERT INTO vicidial.vicidial_callbacks (callback_id, lead_id, callback_time, "user", modify_date)
         VALUES (8103, 8003, now() + interval '1 day', 'agent2', '2000-01-01') RETURNING lead_id)
       UPDATE vicidial.vicidial_list SET status = 'CBHOLD' WHERE lead_id IN (SELECT lead_id FROM c)$$),
    ('comment on an open row',  $$UPDATE vicidial.vicidial_callbacks SET comments = 'noted' WHERE callback_id = 8103$$)
) AS cases(n, call);
SELECT callback_id, lead_id, status, recipient, modify_date > '2000-01-01' AS modify_date_set FROM vicidial.vicidial_callbacks
 WHERE callback_id BETWEEN 8100 AND 8199 ORDER BY callback_id;
SELECT lead_id, status FROM vicidial.vicidial_list WHERE lead_id BETWEEN 8001 AND 8003 ORDER BY lead_id;

-- Direct DML, refused. 8103 is ACTIVE (lead 8003 CBHOLD); 8101 and 8102 are ARCHIVE.
SELECT n, regress.attempt(call) FROM (VALUES
    ('insert as LIVE',          $$INSERT INTO vicidial.vicidial_callbacks (lead_id, status, callback_time) VALUES (8004, 'LIVE', now() + interval '1 day')$$),
    ('insert as ARCHIVE',       $$INSERT INTO vicidial.vicidial_callbacks (lead_id, status, callback_time) VALUES (8004, 'ARCHIVE', now() + interval '1 day')$$),
    ('insert unknown status',   $$INSERT INTO vicidial.vicidial_callbacks (lead_id, status, callback_time) VALUES (8004, 'DONE', now() + interval '1 day')$$),
    ('insert unknown recipient',$$INSERT INTO vicidial.vicidial_callbacks (lead_id, recipient, callback_time) VALUES (8004, 'ALL', now() + interval '1 day')$$),
    ('insert unknown lead',     $$INSERT INTO vicidial.vicidial_callbacks (lead_id, callback_time) VALUES (424242, now() + interval '1 day')$$),
    ('insert in the past',      $$INSERT INTO vicidial.vicidial_callbacks (lead_id, callback_time) VALUES (8004, now() - interval '1 hour')$$),
    ('insert a year and a day ahead', $$INSERT INTO vicidial.vicidial_callbacks (lead_id, callback_time) VALUES (8004, now() + interval '366 days')$$),
    ('insert USERONLY, no rights', $$INSERT INTO vicidial.vicidial_callbacks (lead_id, callback_time, "user", recipient) VALUES (8004, now() + interval '1 day', 'agent2', 'USERONLY')$$),
    ('insert USERONLY, no owner',  $$INSERT INTO vicidial.vicidial_callbacks (lead_id, callback_time, recipient) VALUES (8004, now() + interval '1 day', 'USERONLY')$$),
    ('insert, campaign without callbacks', $$INSERT INTO vicidial.vicidial_callbacks (lead_id, callback_time) VALUES (8099, now() + interval '1 day')$$),
    ('second open callback (I1)', $$INSERT INTO vicidial.vicidial_callbacks (lead_id, callback_time) VALUES (8003, now() + interval '1 day')$$),
    ('ARCHIVE -> ACTIVE',       $$UPDATE vicidial.vicidial_callbacks SET status = 'ACTIVE' WHERE callback_id = 8101$$),
    ('ARCHIVE -> LIVE',         $$UPDATE vicidial.vicidial_callbacks SET status = 'LIVE' WHERE callback_id = 8101$$),
    ('ARCHIVE comment',         $$UPDATE vicidial.vicidial_callbacks SET comments = 'rewrite history' WHERE callback_id = 8102$$),
    ('ARCHIVE no-op update',    $$UPDATE vicidial.vicidial_callbacks SET status = status WHERE callback_id = 8102$$),
    ('ACTIVE -> DONE',          $$UPDATE vicidial.vicidial_callbacks SET status = 'DONE' WHERE callback_id = 8103$$),
    ('LIVE -> ACTIVE, time not later', $$UPDATE vicidial.vicidial_callbacks SET status = 'LIVE', callback_time = vicidial._half_hour_start(now()) WHERE callback_id = 8103;
                                         UPDATE vicidial.vicidial_callbacks SET status = 'ACTIVE' WHERE callback_id = 8103$$),
    ('move to the past',        $$UPDATE vicidial.vicidial_callbacks SET callback_time = now() - interval '1 day' WHERE callback_id = 8103$$),
    ('recipient to USERONLY of agent2', $$UPDATE vicidial.vicidial_callbacks SET recipient = 'USERONLY' WHERE callback_id = 8103$$),
    ('change lead_id',          $$UPDATE vicidial.vicidial_callbacks SET lead_id = 8004 WHERE callback_id = 8103$$),
    ('change callback_id',      $$UPDATE vicidial.vicidial_callbacks SET callback_id = 8199 WHERE callback_id = 8103$$),
    ('delete ACTIVE',           $$DELETE FROM vicidial.vicidial_callbacks WHERE callback_id = 8103$$),
    ('delete ARCHIVE',          $$DELETE FROM vicidial.vicidial_callbacks WHERE callback_id = 8101$$),
    ('truncate',                $$TRUNCATE vicidial.vicidial_callbacks CASCADE$$),
    ('lead CBHOLD with no callback (I2)', $$UPDATE vicidial.vicidial_list SET status = 'CBHOLD' WHERE lead_id = 8005$$),
    ('lead with ACTIVE callback to NEW (I2)', $$UPDATE vicidial.vicidial_list SET status = 'NEW' WHERE lead_id = 8003$$),
    ('lead renumbered',         $$UPDATE vicidial.vicidial_list SET lead_id = 8099 WHERE lead_id = 8005$$),
    ('lead status not a status text', $$UPDATE vicidial.vicidial_list SET status = 'cbhold' WHERE lead_id = 8005$$),
    ('lead inserted with an empty status', $$INSERT INTO vicidial.vicidial_list (lead_id, list_id, status) VALUES (8098, 800, '')$$),
    ('CBHOLD lead into the hopper (I3)', $$INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (8003, 'TRN', 800)$$),
    ('CBHOLD in dial_statuses (I3)', $$UPDATE vicidial.vicidial_campaigns SET dial_statuses = '{NEW,CBHOLD}' WHERE campaign_id = 'TRN'$$),
    ('new campaign dialing CBHOLD (I3)', $$INSERT INTO vicidial.vicidial_campaigns (campaign_id, dial_statuses) VALUES ('BAD', '{CBHOLD}')$$),
    ('days limit 0',            $$UPDATE vicidial.vicidial_campaigns SET callback_days_limit = 0 WHERE campaign_id = 'TRN'$$),
    ('days limit 366',          $$UPDATE vicidial.vicidial_campaigns SET callback_days_limit = 366 WHERE campaign_id = 'TRN'$$)
) AS cases(n, call);

-- Direct DML that changes the callback alone: the lead follows as it does
-- for the functions, since one place decides what a transition does to
-- the lead and the hopper. A LIVE ANYONE callback moved back to ACTIVE
-- holds its lead in CBHOLD again, out of the hopper; an archive alone
-- gives a CBHOLD lead its lead_status, dialable again (never stranded).
SELECT regress.attempt($$WITH c AS (INSERT INTO vicidial.vicidial_callbacks (callback_id, lead_id, callback_time, "user", lead_status)
         VALUES (8111, 8011, now() + interval '1 day', 'agent2', 'RECALL') RETURNING lead_id)
       UPDATE vicidial.vicidial_list SET status = 'CBHOLD', called_since_last_reset = 'Y' WHERE lead_id IN (SELECT lead_id FROM c)$$) AS scheduled_by_hand;
SELECT vicidial.callback_schedule(8010, 'agent2', vicidial._half_hour_start(now())) AS due_now \gset
SELECT went_live, hopper_inserted FROM vicidial.sweep();
SELECT regress.attempt($$UPDATE vicidial.vicidial_callbacks SET status = 'ACTIVE', callback_time = now() + interval '5 days' WHERE callback_id = $$ || :due_now) AS live_back_to_active;
SELECT regress.attempt('UPDATE vicidial.vicidial_callbacks SET status = ''ARCHIVE'' WHERE callback_id = 8111') AS archived_alone;
-- A callback inserted alone holds its lead (8012, in the hopper); a
-- front end's own rescheduling, the old callback archived and a new one
-- inserted, holds it again.
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (8012, 'TRN', 800);
SELECT regress.attempt($$INSERT INTO vicidial.vicidial_callbacks (callback_id, lead_id, callback_time, "user") VALUES (8112, 8012, now() + interval '1 day', 'agent2')$$) AS inserted_alone;
SELECT regress.attempt($$UPDATE vicidial.vicidial_callbacks SET status = 'ARCHIVE' WHERE callback_id = 8112;
                         INSERT INTO vicidial.vicidial_callbacks (callback_id, lead_id, callback_time, "user") VALUES (8113, 8012, now() + interval '2 days', 'agent2')$$) AS rescheduled_by_hand;
SELECT l.lead_id, l.status, l.called_since_last_reset, h.lead_id IS NOT NULL AS queued, c.callback_id, c.status AS callback_status
  FROM vicidial.vicidial_list l
  LEFT JOIN vicidial.vicidial_hopper h ON h.lead_id = l.lead_id
  LEFT JOIN vicidial.vicidial_callbacks c ON c.lead_id = l.lead_id
 WHERE l.lead_id IN (8010, 8011, 8012) ORDER BY l.lead_id, c.callback_id;

-- I2 and I11 whichever side one statement changes, each change that can
-- break them checked at commit: a lead inserted as CBHOLD, a lead leaving
-- INCALL or changing hands, a callback inserted, moved to another owner or
-- made USERONLY. 8200 is being called early by agent1 (its ANYONE callback
-- ACTIVE, for agent3); agent1 calls 8201 as the owner of its USERONLY
-- callback; agent1 calls 8202, which has no callback. (Due after every
-- sweep below, outside the leads whose callbacks it counts.)
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status) SELECT g, 800, 'NEW' FROM generate_series(8200, 8202) g;
SELECT regress.attempt($$INSERT INTO vicidial.vicidial_callbacks (callback_id, lead_id, callback_time, "user", recipient) VALUES
           (8210, 8200, now() + interval '30 days', 'agent3', 'ANYONE'), (8211, 8201, now() + interval '30 days', 'agent1', 'USERONLY');
       UPDATE vicidial.vicidial_list SET status = 'INCALL', "user" = 'agent1' WHERE lead_id IN (8200, 8201, 8202)$$) AS being_called;
SELECT n, regress.attempt(call) FROM (VALUES
    ('insert a lead as CBHOLD (I2)', $$INSERT INTO vicidial.vicidial_list (lead_id, list_id, status) VALUES (8209, 800, 'CBHOLD')$$),
    ('called early, lead to NEW (I2)', $$UPDATE vicidial.vicidial_list SET status = 'NEW' WHERE lead_id = 8200$$),
    ('USERONLY call handed to another agent (I10)', $$UPDATE vicidial.vicidial_list SET "user" = 'agent3' WHERE lead_id = 8201$$),
    ('call handed to another agent (I10)', $$UPDATE vicidial.vicidial_list SET "user" = 'agent3' WHERE lead_id = 8202$$),
    ('USERONLY moved off the agent calling it (I11)', $$UPDATE vicidial.vicidial_callbacks SET "user" = 'agent3' WHERE callback_id = 8211$$),
    ('called early, made USERONLY of its owner (I11)', $$UPDATE vicidial.vicidial_callbacks SET recipient = 'USERONLY' WHERE callback_id = 8210$$),
    ('insert USERONLY for a call of another agent (I11)', $$INSERT INTO vicidial.vicidial_callbacks (callback_id, lead_id, callback_time, "user", recipient)
                                                           VALUES (8212, 8202, now() + interval '30 days', 'agent3', 'USERONLY')$$)
) AS cases(n, call);
SELECT l.lead_id, l.status, l."user", c.callback_id, c.status AS callback_status, c.recipient, c."user" AS owner
  FROM vicidial.vicidial_list l LEFT JOIN vicidial.vicidial_callbacks c ON c.lead_id = l.lead_id
 WHERE l.lead_id BETWEEN 8200 AND 8209 ORDER BY l.lead_id;

-- The check at commit stands behind the moves that a callback's change
-- makes to its lead: with those moves off, an archive that leaves its lead
-- in CBHOLD, and a LIVE ANYONE callback made ACTIVE again while its lead
-- waits in the hopper, are refused. 8203's callback is LIVE for anyone,
-- its lead released; 8204's is ACTIVE, its lead held.
BEGIN;
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status) SELECT g, 800, 'NEW' FROM generate_series(8203, 8204) g;
INSERT INTO vicidial.vicidial_callbacks (callback_id, lead_id, callback_time, "user") VALUES
    (8213, 8203, now() + interval '30 days', 'agent2'), (8214, 8204, now() + interval '30 days', 'agent2');
UPDATE vicidial.vicidial_callbacks SET status = 'LIVE' WHERE callback_id = 8213;
SELECT hopper_inserted >= 1 AS released FROM vicidial.sweep();
SELECT lead_id, status FROM vicidial.vicidial_list WHERE lead_id IN (8203, 8204) ORDER BY lead_id;
ALTER TABLE vicidial.vicidial_callbacks DISABLE TRIGGER callbacks_apply_effects;
SELECT n, regress.attempt(call) FROM (VALUES
    ('made ACTIVE, its lead released (I2)', $$UPDATE vicidial.vicidial_callbacks SET status = 'ACTIVE', callback_time = now() + interval '31 days' WHERE callback_id = 8213$$),
    ('archived, its lead held (I2)', $$UPDATE vicidial.vicidial_callbacks SET status = 'ARCHIVE' WHERE callback_id = 8214$$)
) AS cases(n, call);
ROLLBACK;

-- I3 from the lead's side: a lead in the hopper cannot turn CBHOLD, and I4:
-- a lead is in the hopper once.
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (8006, 'TRN', 800);
SELECT n, regress.attempt(call) FROM (VALUES
    ('hopper lead to CBHOLD (I3)', $$WITH c AS (INSERT INTO vicidial.vicidial_callbacks (lead_id, callback_time) VALUES (8006, now() + interval '1 day') RETURNING lead_id)
                                    UPDATE vicidial.vicidial_list SET status = 'CBHOLD' WHERE lead_id IN (SELECT lead_id FROM c)$$),
    ('lead in the hopper twice (I4)', $$INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (8006, 'TRN', 800)$$),
    ('hopper row to a CBHOLD lead (I3)', $$UPDATE vicidial.vicidial_hopper SET lead_id = 8003 WHERE lead_id = 8006$$),
    ('unknown hopper source',   $$UPDATE vicidial.vicidial_hopper SET source = 'X' WHERE lead_id = 8006$$)
) AS cases(n, call);
-- Leads record their own changes.
UPDATE vicidial.vicidial_list SET modify_date = '2000-01-01', phone_number = '5551234' WHERE lead_id = 8007;
SELECT modify_date > '2000-01-01' AS lead_modify_date_set FROM vicidial.vicidial_list WHERE lead_id = 8007;

-- Through the functions: insert ACTIVE (schedule), ACTIVE -> ARCHIVE
-- (superseded), ACTIVE -> LIVE (sweep, dial), LIVE -> ACTIVE and
-- LIVE -> ARCHIVE (modify), LIVE -> ARCHIVE (hangup).
SELECT vicidial.callback_schedule(8008, 'agent1', now() + interval '1 day', 'USERONLY') AS first \gset
-- Another agent may not replace an agent's USERONLY callback (42501); its
-- owner may, and then hands it on as USERONLY for agent3.
SELECT regress.attempt($$SELECT vicidial.callback_schedule(8008, 'agent3', now() + interval '2 days', 'ANYONE')$$) AS taken_by_another;
SELECT vicidial.callback_schedule(8008, 'agent1', now() + interval '2 days', 'ANYONE', 'rescheduled') AS second \gset
SELECT status FROM vicidial.callback_modify(:second, agent => 'agent3', recipient => 'USERONLY');
SELECT callback_id = :first AS is_first, status, "user", comments FROM vicidial.vicidial_callbacks WHERE lead_id = 8008 ORDER BY callback_id;
-- (the sweep also takes 8103 and 8113, due a day and two days ahead)
SELECT * FROM vicidial.sweep(now() + interval '2 days');
SELECT status FROM vicidial.vicidial_callbacks WHERE callback_id = :second;
SELECT status FROM vicidial.callback_modify(:second, callback_time => now() + interval '3 days');
SELECT status FROM vicidial.vicidial_list WHERE lead_id = 8008;
SELECT status FROM vicidial.vicidial_callbacks WHERE callback_id = :second;
SELECT status, "user" FROM vicidial.callback_dial(:second, 'agent3');
SELECT status FROM vicidial.vicidial_callbacks WHERE callback_id = :second;
SELECT vicidial.lead_disposition(8008, 'agent3', 'DNC');
SELECT status FROM vicidial.vicidial_callbacks WHERE lead_id = 8008 ORDER BY callback_id;
SELECT status FROM vicidial.vicidial_list WHERE lead_id = 8008;

-- No row was ever deleted: every callback written above is still there.
SELECT status, count(*) FROM vicidial.vicidial_callbacks WHERE lead_id BETWEEN 8001 AND 8099 GROUP BY status ORDER BY status;

-- The guard is skipped for an open callback whose writer set modify_date
-- to now() and changed nothing else but its count of attempts and a flip
-- from ACTIVE to LIVE (the sweep's flip, a dial's count): every other
-- column is compared, old and new, so that nothing rides along unchecked,
-- a column added to the table later too. Counted by the guard's calls.
SET track_functions = 'all';
INSERT INTO vicidial.vicidial_list (lead_id, list_id) VALUES (8090, 800);
SELECT vicidial.callback_schedule(8090, 'agent1', now() + interval '3 days') AS skipped \gset
BEGIN;
SELECT regress.mark_calls() \gset
UPDATE vicidial.vicidial_callbacks SET status = 'LIVE', modify_date = now() WHERE callback_id = :skipped;
UPDATE vicidial.vicidial_callbacks SET attempts = attempts + 1, modify_date = now() WHERE callback_id = :skipped;
SELECT regress.calls_since_mark('_callbacks_guard') AS guard_calls;
-- anything more runs it: here it keeps the zone, which only the engine sets
UPDATE vicidial.vicidial_callbacks SET attempts = attempts + 1, modify_date = now(), customer_timezone = 'Asia/Tokyo'
 WHERE callback_id = :skipped;
SELECT regress.calls_since_mark('_callbacks_guard') AS guard_calls;
SELECT status, attempts, customer_timezone = 'Asia/Tokyo' AS zone_taken FROM vicidial.vicidial_callbacks WHERE callback_id = :skipped;
ROLLBACK;
BEGIN;
ALTER TABLE vicidial.vicidial_callbacks ADD COLUMN note_added_later text;
SELECT regress.mark_calls() \gset
UPDATE vicidial.vicidial_callbacks SET status = 'LIVE', modify_date = now(), note_added_later = 'rides along'
 WHERE callback_id = :skipped;
SELECT regress.calls_since_mark('_callbacks_guard') AS guard_calls;
ROLLBACK;
-- Back to ACTIVE with a count of attempts is no routine write: the guard
-- runs, and refuses a callback_time that is not in the future.
INSERT INTO vicidial.vicidial_list (lead_id, list_id) VALUES (8091, 800);
SELECT vicidial.callback_schedule(8091, 'agent1', vicidial._half_hour_start(now())) AS due_now \gset
UPDATE vicidial.vicidial_callbacks SET status = 'LIVE', modify_date = now() WHERE callback_id = :due_now;
SELECT regress.attempt(format($$UPDATE vicidial.vicidial_callbacks SET status = 'ACTIVE', attempts = attempts + 1, modify_date = now()
                                 WHERE callback_id = %s$$, :due_now)) AS back_to_active_counted;
-- An archived callback's count is refused like any change to it.
SELECT regress.attempt(format($$UPDATE vicidial.vicidial_callbacks SET attempts = attempts + 1, modify_date = now()
                                 WHERE callback_id = %s$$,
                              (SELECT min(callback_id) FROM vicidial.vicidial_callbacks WHERE status = 'ARCHIVE')));
