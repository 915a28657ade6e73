-- The callback story on a throwaway cluster, as a timeline. Times are
-- driven through the functions' "now" argument, so the story takes seconds,
-- not days; then the background worker, disabled until then, shows it does
-- the same on its own, in real time.
\set QUIET on
\pset footer off
SET TimeZone = 'UTC';
CREATE EXTENSION vicidial_callbacks;
INSERT INTO vicidial.vicidial_users ("user", full_name, agentonly_callbacks) VALUES
    ('ann', 'Ann (may keep callbacks for herself)', true), ('bob', 'Bob', false), ('cat', 'Cat', false);
-- The day's story runs at any hour of the real clock: this campaign dials
-- around the clock. Calling hours have their own story below.
INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name, hopper_level, local_call_time)
VALUES ('SALES', 'Spring sales', 10, '24hours');
INSERT INTO vicidial.vicidial_lists (list_id, list_name, campaign_id) VALUES (101, 'Leads of March', 'SALES');
INSERT INTO vicidial.vicidial_list (list_id, phone_number, first_name, last_name) VALUES
    (101, '5550101', 'Una', 'Ulrich'), (101, '5550102', 'Andy', 'Arden'), (101, '5550103', 'Nils', 'Nolan');
SELECT date_trunc('day', now()) + interval '1 day 14:30' AS due_una,
       date_trunc('day', now()) + interval '1 day 15:00' AS due_andy \gset

\echo
\echo '== today: the dialer fills the hopper, Ann and Bob take calls'
SELECT hopper_filled AS "leads put in the hopper" FROM vicidial.hopper_run();
SELECT lead_id, first_name, status, "user" FROM vicidial.hopper_next('SALES', 'ann');
SELECT lead_id, first_name, status, "user" FROM vicidial.hopper_next('SALES', 'bob');

\echo '== hangup: Ann schedules Una for herself (USERONLY), Bob schedules Andy for anyone'
SELECT vicidial.lead_disposition(1, 'ann', 'CALLBK', :'due_una', 'USERONLY', 'call back after lunch') AS "Una's callback";
SELECT vicidial.lead_disposition(2, 'bob', 'CALLBK', :'due_andy', 'ANYONE', 'wants the brochure first') AS "Andy's callback";
SELECT callback_id, first_name, c.status AS callback, recipient, c."user", callback_time, l.status AS lead
  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id) ORDER BY callback_id;
\echo 'Ann''s CALLBACK button (live, open):'
SELECT * FROM vicidial.agent_callback_count('ann');

\echo
\echo '== tomorrow 14:29: nothing is due yet'
SELECT * FROM vicidial.hopper_run(:'due_una'::timestamptz - interval '1 minute');

\echo '== tomorrow 14:30: Una''s callback is due; it goes LIVE for Ann only, the lead stays on hold'
SELECT * FROM vicidial.hopper_run(:'due_una');
SELECT callback_id, first_name, status, comments FROM vicidial.agent_callbacks('ann');
\echo 'Ann''s CALLBACK button flashes (live, open):'
SELECT * FROM vicidial.agent_callback_count('ann');

\echo '== Ann dials Una from her list, makes the sale; the hangup archives the callback'
SELECT lead_id, first_name, status, "user", called_count FROM vicidial.callback_dial(1, 'ann');
SELECT vicidial.lead_disposition(1, 'ann', 'SALE') AS "new callback";
SELECT count(*) AS "callbacks in Ann's list" FROM vicidial.agent_callbacks('ann');

\echo
\echo '== tomorrow 15:00: Andy''s ANYONE callback is due: LIVE, lead CALLBK, top of the hopper'
SELECT * FROM vicidial.hopper_run(:'due_andy');
SELECT h.lead_id, l.first_name, l.status, l.called_since_last_reset, h.priority, h.source
  FROM vicidial.vicidial_hopper h JOIN vicidial.vicidial_list l USING (lead_id) ORDER BY h.priority DESC, h.hopper_id;

\echo '== Cat is free: the dialer gives her Andy first'
SELECT lead_id, first_name, status, "user" FROM vicidial.hopper_next('SALES', 'cat');
SELECT vicidial.lead_disposition(2, 'cat', 'SALE') AS "new callback";

\echo
\echo '== retries: in SALES a no-answer (NA) brings the callback back at its own time (once passed, a day later at the same time), for 2 dials at most'
UPDATE vicidial.vicidial_campaigns SET callback_retry_statuses = '{NA}', callback_max_attempts = 2 WHERE campaign_id = 'SALES';
SELECT vicidial.callback_schedule(3, 'bob', :'due_una', 'ANYONE', 'never home in the morning') AS nils_cb \gset
\echo 'Bob tries Nils at once (early), nobody answers:'
SELECT lead_id, first_name, status FROM vicidial.callback_dial(:nils_cb, 'bob');
SELECT vicidial.lead_disposition(3, 'bob', 'NA') AS "callback back";
SELECT callback_id, status, callback_time, attempts FROM vicidial.vicidial_callbacks WHERE callback_id = :nils_cb;
\echo 'and again: the second no-answer is the last'
SELECT lead_id, first_name, status FROM vicidial.callback_dial(:nils_cb, 'bob');
SELECT vicidial.lead_disposition(3, 'bob', 'NA') AS "callback back";
SELECT c.status, c.archive_reason, c.attempts, l.status AS lead
  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id) WHERE c.callback_id = :nils_cb;
\echo '== every change of that callback, who made it and why (direct SQL is logged too)'
SELECT reason, old_status, new_status, new_callback_time, new_user, db_user FROM vicidial.callback_history(:nils_cb);
\echo '== the logs grow forever: the operator adds month partitions ahead (a monthly job); no row moves'
SELECT vicidial.log_partitions_add() AS "month partition added";

\echo
\echo '== the admin''s viewer: archived callbacks are kept and shown here, never to agents'
SELECT callback_id, first_name, status, recipient, "user", lead_current_status, comments
  FROM vicidial.callbacks_report(campaign => 'SALES');
SELECT * FROM vicidial.callbacks_summary(campaign => 'SALES');

\echo '== and nobody can rewrite history, not even with plain SQL:'
\set ON_ERROR_STOP off
UPDATE vicidial.vicidial_callbacks SET status = 'ACTIVE' WHERE callback_id = 1;
DELETE FROM vicidial.vicidial_callbacks;

\echo
\echo '== calling hours: every customer is called only inside 9 am - 9 pm on their own clock'
-- Two customers far apart: Lea where it is now mid-day, Kim where it is now
-- night (which zones depends on when the demo runs).
SELECT (SELECT z FROM unnest(ARRAY['Europe/Berlin', 'America/New_York', 'America/Los_Angeles', 'Pacific/Honolulu',
                                   'Pacific/Kiritimati', 'Asia/Tokyo', 'Asia/Kolkata']) WITH ORDINALITY AS c(z, n)
         WHERE (now() AT TIME ZONE z)::time >= '10:00' AND (now() AT TIME ZONE z)::time < '18:00' ORDER BY n LIMIT 1) AS lea_zone,
       (SELECT z FROM unnest(ARRAY['America/Los_Angeles', 'Europe/Berlin', 'America/New_York', 'Pacific/Honolulu',
                                   'Pacific/Kiritimati', 'Asia/Tokyo', 'Asia/Kolkata']) WITH ORDINALITY AS c(z, n)
         WHERE (now() AT TIME ZONE z)::time < '06:00' ORDER BY n LIMIT 1) AS kim_zone \gset
INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name, hopper_level, time_zone)
VALUES ('WORLD', 'Customers everywhere', 0, 'UTC');
INSERT INTO vicidial.vicidial_lists (list_id, list_name, campaign_id) VALUES (201, 'Abroad', 'WORLD');
INSERT INTO vicidial.vicidial_list (lead_id, list_id, phone_number, first_name, time_zone) VALUES
    (21, 201, '4930555', 'Lea', :'lea_zone'), (22, 201, '1213555', 'Kim', :'kim_zone');
SELECT lead_id, first_name, time_zone, to_char(now() AT TIME ZONE time_zone, 'Dy HH24:MI') AS "their time now",
       vicidial.lead_dialable(lead_id) AS "dialable now", vicidial.lead_next_dialable(lead_id) AS "next dialable"
  FROM vicidial.vicidial_list WHERE lead_id IN (21, 22) ORDER BY lead_id;

\echo '== Bob books Kim for 07:30 her time tomorrow: refused, with her clock and her next hours'
\set ON_ERROR_STOP off
\set SHOW_CONTEXT never
SELECT vicidial.callback_schedule(22, 'bob', vicidial.lead_local_time(22, (now() AT TIME ZONE :'kim_zone')::date + 1 + time '07:30'));
\set SHOW_CONTEXT errors
\set ON_ERROR_STOP on
\echo '== the popup offers Kim only her bookable half hours, on her clock (first and last of tomorrow):'
SELECT min(local_time) AS "first slot, her time", max(local_time) AS "last slot, her time", count(*) AS slots
  FROM vicidial.callback_slots((now() AT TIME ZONE :'kim_zone')::date + 1, lead_id => 22);
\echo '== so both are booked for 10:00 tomorrow, each on their own clock'
SELECT vicidial.callback_schedule(21, 'bob', vicidial.lead_local_time(21, (now() AT TIME ZONE :'lea_zone')::date + 1 + time '10:00')) AS lea_cb,
       vicidial.callback_schedule(22, 'bob', vicidial.lead_local_time(22, (now() AT TIME ZONE :'kim_zone')::date + 1 + time '10:00')) AS kim_cb \gset
SELECT callback_id, first_name, callback_time, customer_timezone, customer_time
  FROM vicidial.callbacks_report(campaign => 'WORLD') ORDER BY callback_id;

\echo '== then the office declares tomorrow a holiday, on each customer''s calendar'
INSERT INTO vicidial.vicidial_call_time_holidays (call_time_id, holiday_date)
SELECT DISTINCT '9am-9pm', (now() AT TIME ZONE z)::date + 1 FROM unnest(ARRAY[:'lea_zone', :'kim_zone']) z;
SELECT callback_time AS lea_due FROM vicidial.vicidial_callbacks WHERE callback_id = :lea_cb \gset
SELECT callback_time AS kim_due FROM vicidial.vicidial_callbacks WHERE callback_id = :kim_cb \gset
SELECT vicidial.lead_next_dialable(21, :'lea_due') AS lea_opens, vicidial.lead_next_dialable(22, :'kim_due') AS kim_opens \gset

\echo '== the runs at their due times: the callbacks go LIVE on time, the customers are held for their next hours'
SELECT 'Lea due' AS run, * FROM vicidial.hopper_run(:'lea_due')
UNION ALL SELECT 'Kim due', * FROM vicidial.hopper_run(:'kim_due');
SELECT first_name, c.status AS callback, l.status AS lead, r.release_after AS "held until",
       to_char(r.release_after AT TIME ZONE l.time_zone, 'Dy HH24:MI') AS "their time then"
  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id)
  JOIN vicidial.callback_releases r USING (lead_id) WHERE c.callback_id IN (:lea_cb, :kim_cb) ORDER BY c.callback_id;

\echo '== the first run after one of them wakes up releases just that customer, at the top of the hopper'
SELECT * FROM vicidial.hopper_run(least(:'lea_opens'::timestamptz, :'kim_opens'::timestamptz));
SELECT h.lead_id, l.first_name, l.status, h.priority FROM vicidial.vicidial_hopper h JOIN vicidial.vicidial_list l USING (lead_id)
 WHERE h.campaign_id = 'WORLD';
SELECT first_name, l.status AS lead, r.release_after AS "held until" FROM vicidial.vicidial_list l
  JOIN vicidial.callback_releases r USING (lead_id) ORDER BY lead_id;
\echo '== and the run when the other wakes up, the other'
SELECT * FROM vicidial.hopper_run(greatest(:'lea_opens'::timestamptz, :'kim_opens'::timestamptz));
SELECT h.lead_id, l.first_name, l.status, h.priority FROM vicidial.vicidial_hopper h JOIN vicidial.vicidial_list l USING (lead_id)
 WHERE h.campaign_id = 'WORLD' ORDER BY h.hopper_id;
\echo '== Cat asks for the next lead now: it is night for Kim, whose row waits in the hopper, so she gets Lea'
SELECT lead_id, first_name, status, "user" FROM vicidial.hopper_next('WORLD', 'cat');
SELECT h.lead_id, l.first_name AS "still queued" FROM vicidial.vicidial_hopper h JOIN vicidial.vicidial_list l USING (lead_id)
 WHERE h.campaign_id = 'WORLD';

\echo
\echo '== the background worker, in real time: callbacks due in 2 and 4 seconds, nobody calls hopper_run'
ALTER SYSTEM SET vicidial_callbacks.enabled = on;
SELECT pg_reload_conf() AS "worker enabled";
INSERT INTO vicidial.vicidial_list (list_id, phone_number, first_name, last_name) VALUES
    (101, '5550104', 'Wes', 'Worker'), (101, '5550105', 'Wendy', 'Worker');
SELECT vicidial.callback_schedule(4, 'ann', clock_timestamp() + interval '2 seconds', 'USERONLY') AS "Wes's callback",
       vicidial.callback_schedule(5, 'bob', clock_timestamp() + interval '4 seconds', 'ANYONE') AS "Wendy's callback";
DO $$
BEGIN
    FOR i IN 1..300 LOOP
        EXIT WHEN NOT EXISTS (SELECT 1 FROM vicidial.vicidial_callbacks WHERE lead_id IN (4, 5) AND status = 'ACTIVE');
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
SELECT c.callback_id, l.first_name, c.recipient, c.status, l.status AS lead,
       round(extract(epoch FROM c.modify_date - c.callback_time)::numeric, 3) AS "seconds after its time"
  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id) WHERE c.lead_id IN (4, 5);
SELECT database, last_run_ok, workers, next_wake IS NOT NULL AS "next wake planned" FROM vicidial.worker_status;
