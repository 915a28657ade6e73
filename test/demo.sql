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
INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name, hopper_level) VALUES ('SALES', 'Spring sales', 10);
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
\echo '== the admin''s viewer: archived callbacks are kept and shown here, never to agents'
SELECT callback_id, first_name, status, recipient, "user", lead_current_status, comments
  FROM vicidial.callbacks_report(campaign => 'SALES');
SELECT * FROM vicidial.callbacks_summary(campaign => 'SALES');

\echo '== and nobody can rewrite history, not even with plain SQL:'
\set ON_ERROR_STOP off
UPDATE vicidial.vicidial_callbacks SET status = 'ACTIVE' WHERE callback_id = 1;
DELETE FROM vicidial.vicidial_callbacks;

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
