-- Do-not-call (I9), the 24-hour limit and the dial log: every hand-out
-- path, every writer. Campaigns dial around the clock
-- here, so that calling hours (sql/hours.sql) never stand in the way.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';

INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) VALUES ('dina', true), ('dave', false);
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time) VALUES
    ('DNC', 0, '24hours'), ('DNC2', 0, '24hours');
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (950, 'DNC'), (951, 'DNC2');
INSERT INTO vicidial.vicidial_list (lead_id, list_id, phone_number) VALUES
    (90001, 950, '(555) 010-0001'),   -- in the hopper when listed
    (90002, 950, '555-010-0002'),     -- INCALL when listed
    (90003, 950, '5550100003'),       -- LIVE ANYONE callback when listed
    (90004, 950, '555 010 0004'),     -- ACTIVE USERONLY callback when listed
    (90005, 950, '5550100005'),       -- on the campaign's list only
    (90006, 951, '5550100005'),       -- the same number in another campaign
    (90007, 950, 'n/a'),              -- no digits: matches nothing
    (90008, 950, '5550100008'),       -- changes its number onto the list
    (90009, 950, '5550100009');       -- the 24-hour limit

-- The setup: a lead in the hopper, one being called, a LIVE ANYONE
-- callback, an ACTIVE USERONLY one.
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id, priority) VALUES (90001, 'DNC', 950, 0), (90002, 'DNC', 950, 9);
SELECT lead_id, status FROM vicidial.hopper_next('DNC', 'dave');
SELECT vicidial.callback_schedule(90003, 'dave', vicidial._half_hour_start(now())) AS cb3 \gset
SELECT went_live FROM vicidial.sweep(now());
SELECT vicidial.callback_schedule(90004, 'dina', now() + interval '1 day', 'USERONLY') AS cb4 \gset
SELECT lead_id, status FROM vicidial.vicidial_list WHERE lead_id BETWEEN 90001 AND 90004 ORDER BY 1;

-- Listing numbers (system list), written as a person would: the digits decide.
INSERT INTO vicidial.vicidial_dnc (phone_number) VALUES ('555.010.0001'), ('+5550100002'), ('5550100003'), ('(555)0100004'), ('---');
-- Open callbacks archived (DNC), hopper rows gone, DNCL; the INCALL lead keeps its status.
SELECT l.lead_id, l.status, c.status AS callback, c.archive_reason,
       EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = l.lead_id) AS queued
  FROM vicidial.vicidial_list l
  LEFT JOIN vicidial.vicidial_callbacks c ON c.lead_id = l.lead_id
 WHERE l.lead_id BETWEEN 90001 AND 90004 ORDER BY 1;
-- Nobody touches a listed lead again (55000), by function or by hand.
SELECT n, regress.attempt(s) AS attempt FROM (VALUES
    ('schedule',        $$SELECT vicidial.callback_schedule(90001, 'dave', now() + interval '1 day')$$),
    ('insert callback', $$INSERT INTO vicidial.vicidial_callbacks (lead_id, callback_time, "user") VALUES (90003, now() + interval '1 day', 'dave')$$),
    ('CALLBK disposition of a listed call',
                        $$SELECT vicidial.lead_disposition(90002, 'dave', 'CALLBK', now() + interval '1 day')$$)
) AS t(n, s);
-- The INCALL lead's hangup takes the agent's disposition; its dial is closed.
SELECT vicidial.lead_disposition(90002, 'dave', 'NI');
SELECT status, end_date IS NOT NULL AS closed FROM vicidial.vicidial_log WHERE lead_id = 90002;
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (90001, 'DNC', 950);
SELECT count(*) AS listed_lead_handed_out FROM vicidial.hopper_next('DNC', 'dave');
SELECT lead_id AS still_queued FROM vicidial.vicidial_hopper WHERE campaign_id = 'DNC';
DELETE FROM vicidial.vicidial_hopper WHERE lead_id = 90001;
SELECT blocker, detail FROM vicidial.lead_dial_blockers(90001) ORDER BY 1;

-- A campaign's own list covers that campaign only; a number on both lists is DNCL.
INSERT INTO vicidial.vicidial_campaign_dnc (campaign_id, phone_number) VALUES ('DNC', '555-010-0005');
SELECT lead_id, status FROM vicidial.vicidial_list WHERE lead_id IN (90005, 90006) ORDER BY 1;
INSERT INTO vicidial.vicidial_campaign_dnc (campaign_id, phone_number) VALUES ('DNC', '5550100001');
INSERT INTO vicidial.vicidial_list (lead_id, list_id, phone_number) VALUES (90099, 950, 'n/a');
SELECT (SELECT dnc_status FROM vicidial.lead_dnc WHERE lead_id = 90001) AS on_both_lists,
       (SELECT dnc_status FROM vicidial.lead_dnc WHERE lead_id = 90099) AS no_digits;
-- A campaign that does not use the lists is not covered.
UPDATE vicidial.vicidial_campaigns SET use_internal_dnc = false, use_campaign_dnc = false WHERE campaign_id = 'DNC2';
INSERT INTO vicidial.vicidial_dnc (phone_number) VALUES ('5550100005');
SELECT status AS other_campaign_not_using_lists FROM vicidial.vicidial_list WHERE lead_id = 90006;
-- The number without digits matched nothing.
SELECT status AS no_digits_lead FROM vicidial.vicidial_list WHERE lead_id = 90007;

-- A lead whose number changes onto a list is treated as listed: its
-- callback is archived at once (I9), whoever changes the number.
SELECT vicidial.callback_schedule(90008, 'dina', now() + interval '1 day', 'USERONLY') AS cb8 \gset
UPDATE vicidial.vicidial_list SET phone_number = '555-010-0003' WHERE lead_id = 90008;
SELECT l.status, c.status AS callback, c.archive_reason
  FROM vicidial.vicidial_list l JOIN vicidial.vicidial_callbacks c ON c.lead_id = l.lead_id WHERE c.callback_id = :cb8;

-- The 24-hour limit counts the dial log, ANYONE callbacks included: N
-- dials in (now - 24 h, now] stop the lead; one dial fewer does not.
UPDATE vicidial.vicidial_campaigns SET call_limit_24hour = 2 WHERE campaign_id = 'DNC';
INSERT INTO vicidial.vicidial_log (lead_id, list_id, campaign_id, call_date) VALUES
    (90009, 950, 'DNC2', now() - interval '23 hours'),     -- in any campaign
    (90009, 950, 'DNC', now() - interval '25 hours');      -- outside the window
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (90009, 'DNC', 950);
SELECT count(*) AS blockers_at_one_dial FROM vicidial.lead_dial_blockers(90009);
SELECT lead_id AS handed_out_at_limit_minus_one, status FROM vicidial.hopper_next('DNC', 'dave');
SELECT call_date > now() - interval '1 minute' AS logged_now, callback_id, "user", end_date FROM vicidial.vicidial_log WHERE lead_id = 90009 ORDER BY log_id DESC LIMIT 1;
SELECT vicidial.lead_disposition(90009, 'dave', 'CALLBK', vicidial._half_hour_start(now())) AS cb9 \gset
SELECT status, end_date IS NOT NULL AS closed FROM vicidial.vicidial_log WHERE lead_id = 90009 ORDER BY log_id DESC LIMIT 1;
-- Two dials in 24 hours: the LIVE ANYONE callback's lead waits until the
-- older of them turns 24 hours old, then for its hours.
SELECT went_live, hopper_inserted FROM vicidial.sweep(now());
SELECT vicidial_log.call_date + interval '24 hours' AS oldest_turns_24h FROM vicidial.vicidial_log WHERE lead_id = 90009 AND campaign_id = 'DNC2' \gset
SELECT l.status, r.release_after = :'oldest_turns_24h' AS waits_for_the_oldest_dial
  FROM vicidial.vicidial_list l JOIN vicidial.callback_releases r ON r.lead_id = l.lead_id WHERE l.lead_id = 90009;
SELECT blocker, until = :'oldest_turns_24h' AS until_oldest_plus_24h FROM vicidial.lead_dial_blockers(90009) ORDER BY 1;
SELECT regress.attempt(format('SELECT vicidial.callback_dial(%s, %L)', :cb9, 'dave')) ~ '^55000: lead 90009 of callback \d+ cannot be dialed: dialed 2 times in the 24 hours before, the limit of campaign DNC; dialable again at ' AS dial_refused;
SELECT hopper_inserted AS released_an_hour_later FROM vicidial.sweep(now() + interval '1 hour');
SELECT l.status, h.priority FROM vicidial.vicidial_list l JOIN vicidial.vicidial_hopper h ON h.lead_id = l.lead_id WHERE l.lead_id = 90009;
UPDATE vicidial.vicidial_campaigns SET call_limit_24hour = 0 WHERE campaign_id = 'DNC';

-- Attempts count each dial of a callback's lead; a hangup archives it as DIALED.
SELECT lead_id FROM vicidial.hopper_next('DNC', 'dave');
SELECT attempts, status FROM vicidial.vicidial_callbacks WHERE callback_id = :cb9;
SELECT vicidial.lead_disposition(90009, 'dave', 'SALE');
SELECT attempts, status, archive_reason FROM vicidial.vicidial_callbacks WHERE callback_id = :cb9;
SELECT l.log_id IS NOT NULL AS logged_with_its_callback FROM vicidial.vicidial_log l WHERE l.callback_id = :cb9 ORDER BY log_id LIMIT 1;

-- The fill skips what hopper_next would refuse: numbers loaded after they
-- were listed (system or campaign list; their status untouched) and a lead
-- at its 24-hour limit. hopper_next passes over a lead at the limit put in
-- the hopper by hand, and leaves its row.
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time, call_limit_24hour) VALUES ('DNCF', 10, '24hours', 1);
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (952, 'DNCF');
INSERT INTO vicidial.vicidial_campaign_dnc (campaign_id, phone_number) VALUES ('DNCF', '(555) 010-9999');
INSERT INTO vicidial.vicidial_list (lead_id, list_id, phone_number) VALUES
    (90021, 952, '555-010-0001'),     -- on the system list
    (90022, 952, '5550109999'),       -- on the campaign's list
    (90023, 952, '5550100023'),       -- dialed an hour ago
    (90024, 952, '5550100024');       -- dialable
INSERT INTO vicidial.vicidial_log (lead_id, list_id, campaign_id, call_date) VALUES (90023, 952, 'DNCF', now() - interval '1 hour');
SELECT vicidial.hopper_fill(now()) > 0 AS filled;
SELECT array_agg(lead_id ORDER BY lead_id) AS queued_by_fill FROM vicidial.vicidial_hopper WHERE campaign_id = 'DNCF';
SELECT array_agg(status ORDER BY lead_id) AS statuses_untouched FROM vicidial.vicidial_list WHERE lead_id IN (90021, 90022);
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (90023, 'DNCF', 952);
SELECT lead_id AS first FROM vicidial.hopper_next('DNCF', 'dave');
SELECT count(*) AS over_the_limit_handed_out FROM vicidial.hopper_next('DNCF', 'dina');
SELECT lead_id AS still_queued FROM vicidial.vicidial_hopper WHERE campaign_id = 'DNCF';
SELECT vicidial.lead_disposition(90024, 'dave', 'SALE');

-- Archive reasons: superseded, cancelled by an admin, by hand (CANCELLED
-- unless given); never on an open row (23514).
INSERT INTO vicidial.vicidial_list (lead_id, list_id, phone_number) VALUES (90010, 950, '5550100010');
SELECT vicidial.callback_schedule(90010, 'dave', now() + interval '1 day') AS first \gset
SELECT vicidial.callback_schedule(90010, 'dave', now() + interval '2 days') AS second \gset
SELECT archive_reason AS superseded FROM vicidial.vicidial_callbacks WHERE callback_id = :first;
SELECT archive_reason AS admin FROM vicidial.callback_modify(:second, archive => true);
SELECT vicidial.callback_schedule(90010, 'dave', now() + interval '1 day') AS third \gset
SELECT regress.attempt(format($$UPDATE vicidial.vicidial_callbacks SET archive_reason = 'DNC' WHERE callback_id = %s$$, :third)) AS reason_on_open_row;
BEGIN;
UPDATE vicidial.vicidial_callbacks SET status = 'ARCHIVE' WHERE callback_id = :third;
UPDATE vicidial.vicidial_list SET status = 'NEW' WHERE lead_id = 90010;
COMMIT;
SELECT archive_reason AS by_hand FROM vicidial.vicidial_callbacks WHERE callback_id = :third;

-- The dial log is a record: closed once, never changed, deleted or truncated.
SELECT n, regress.attempt(s) AS attempt FROM (VALUES
    ('close again',  $$UPDATE vicidial.vicidial_log SET end_date = now(), status = 'X' WHERE lead_id = 90002$$),
    ('change a dial', $$UPDATE vicidial.vicidial_log SET "user" = 'dina' WHERE lead_id = 90009$$),
    ('delete',       $$DELETE FROM vicidial.vicidial_log WHERE lead_id = 90009$$),
    ('truncate',     $$TRUNCATE vicidial.vicidial_log$$)
) AS t(n, s);
-- Closing a dial changes its end_date and status, and nothing else with them.
BEGIN;
INSERT INTO vicidial.vicidial_log (lead_id, list_id, campaign_id, "user", phone_number, call_date)
VALUES (90005, 950, 'DNC', 'dave', '5550100005', now()) RETURNING log_id AS open_dial \gset
SELECT regress.attempt(format($$UPDATE vicidial.vicidial_log SET end_date = now(), status = 'X', "user" = 'dina' WHERE log_id = %s$$,
                              :open_dial)) AS close_and_change;
SELECT regress.attempt(format($$UPDATE vicidial.vicidial_log SET end_date = now(), status = 'X' WHERE log_id = %s$$,
                              :open_dial)) AS close;
ROLLBACK;
-- A disposition closes the lead's latest open dial and only it, a CALLBK
-- (which schedules as it hangs up) as much as any other: an older dial
-- left open stays open.
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time) VALUES ('DIAL', 0, '24hours');
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (953, 'DIAL');
INSERT INTO vicidial.vicidial_list (lead_id, list_id, phone_number) VALUES (90040, 953, '5550100040');
INSERT INTO vicidial.vicidial_log (lead_id, list_id, campaign_id, "user", phone_number, call_date)
VALUES (90040, 953, 'DIAL', 'dave', '5550100040', now() - interval '2 days');
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (90040, 'DIAL', 953);
SELECT lead_id FROM vicidial.hopper_next('DIAL', 'dave');
SELECT vicidial.lead_disposition(90040, 'dave', 'CALLBK', now() + interval '1 day') IS NOT NULL AS scheduled;
SELECT CASE WHEN call_date < now() - interval '1 day' THEN 'two days ago' ELSE 'this call' END AS dial, status
  FROM vicidial.vicidial_log WHERE lead_id = 90040 ORDER BY call_date;
SELECT * FROM vicidial.invariant_violations();
-- I9 in the check: a number listed with the triggers off (a load, a
-- restore's order) leaves lead 90040's callback open, which the check names.
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO vicidial.vicidial_dnc (phone_number) VALUES ('555-010-0040');
RESET session_replication_role;
SELECT * FROM vicidial.invariant_violations();
ROLLBACK;
-- The keys a listing and a change of a number wait on are the extension
-- owner's alone: a role that may list numbers lists them (its trigger
-- takes the keys), but cannot hold a key itself.
CREATE ROLE regress_dnc_lister;
GRANT USAGE ON SCHEMA vicidial TO regress_dnc_lister;
GRANT INSERT ON vicidial.vicidial_dnc TO regress_dnc_lister;
SET ROLE regress_dnc_lister;
INSERT INTO vicidial.vicidial_dnc (phone_number) VALUES ('555-010-9999');
SELECT FROM vicidial.dnc_number_keys FOR SHARE;
RESET ROLE;
DROP OWNED BY regress_dnc_lister;
DROP ROLE regress_dnc_lister;
