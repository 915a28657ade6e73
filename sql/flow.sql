-- The seed story end to end: two agents disposition CALLBK, one USERONLY and
-- one ANYONE; the sweep at due time; the agent's list and button; dialing
-- from the list and from the hopper; the hangup archives; the viewer still
-- shows what agents no longer see.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';

INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name) VALUES ('FLOW', 'Seed story');
-- This file is about the day's flow, not calling hours (sql/hours.sql): dial around the clock.
UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours';
INSERT INTO vicidial.vicidial_lists (list_id, list_name, campaign_id) VALUES (100, 'Flow list', 'FLOW');
INSERT INTO vicidial.vicidial_list (list_id, phone_number, first_name, last_name) VALUES
    (100, '5550001', 'Una', 'Useronly'),
    (100, '5550002', 'Andy', 'Anyone'),
    (100, '5550003', 'Nora', 'Neverdue');
SELECT lead_id AS lead_u FROM vicidial.vicidial_list WHERE first_name = 'Una' \gset
SELECT lead_id AS lead_a FROM vicidial.vicidial_list WHERE first_name = 'Andy' \gset
SELECT lead_id AS lead_n FROM vicidial.vicidial_list WHERE first_name = 'Nora' \gset
-- Due times: two days ahead at 14:30 and 15:00, and a week ahead.
SELECT date_trunc('day', now()) + interval '2 days 14:30' AS t_u,
       date_trunc('day', now()) + interval '2 days 15:00' AS t_a,
       date_trunc('day', now()) + interval '7 days 09:00' AS t_n \gset

-- The standard fill puts the three NEW leads in the hopper; agents take them.
SELECT vicidial.hopper_fill();
SELECT lead_id = :lead_u AS una, status, "user", called_count, called_since_last_reset
  FROM vicidial.hopper_next('FLOW', 'agent1');
SELECT lead_id = :lead_a AS andy, status, "user", called_count
  FROM vicidial.hopper_next('FLOW', 'agent2');
-- An agent is on one call at a time: agent2 hangs up on Andy (CALLBK with
-- a date and a slot) before taking Nora.
SELECT vicidial.lead_disposition(:lead_a, 'agent2', 'CALLBK', :'t_a', 'ANYONE', 'any agent') AS cb_a \gset
SELECT lead_id = :lead_n AS nora, status, "user", called_count
  FROM vicidial.hopper_next('FLOW', 'agent2');
SELECT count(*) AS hopper_rows FROM vicidial.vicidial_hopper;

-- The other hangups.
SELECT vicidial.lead_disposition(:lead_u, 'agent1', 'CALLBK', :'t_u', 'USERONLY', 'wants Ann only') AS cb_u \gset
SELECT vicidial.lead_disposition(:lead_n, 'agent2', 'CALLBK', :'t_n') AS cb_n \gset
SELECT callback_id = :cb_u AS is_cb_u, lead_id = :lead_u AS is_lead_u, list_id, campaign_id, status, recipient,
       "user", comments, lead_status, callback_time = :'t_u' AS at_t_u
  FROM vicidial.vicidial_callbacks ORDER BY callback_id;
SELECT first_name, status, "user" FROM vicidial.vicidial_list ORDER BY lead_id;

-- Agent 1 sees one scheduled callback; the button does not flash yet.
SELECT callback_id = :cb_u AS is_cb_u, status, recipient, comments, phone_number, first_name, last_name
  FROM vicidial.agent_callbacks('agent1');
SELECT * FROM vicidial.agent_callback_count('agent1');
-- ANYONE callbacks are nobody's list.
SELECT count(*) AS agent2_list FROM vicidial.agent_callbacks('agent2');

-- A minute before the first is due, the sweep does nothing.
SELECT * FROM vicidial.sweep(:'t_u'::timestamptz - interval '1 minute');
SELECT status, count(*) FROM vicidial.vicidial_callbacks GROUP BY status ORDER BY status;

-- At 14:30 the USERONLY callback goes LIVE, the lead untouched (its
-- notification is checked by the isolation suite, which prints payloads).
SELECT * FROM vicidial.sweep(:'t_u');
SELECT first_name, status, "user", called_since_last_reset FROM vicidial.vicidial_list ORDER BY lead_id;
SELECT count(*) AS hopper_rows FROM vicidial.vicidial_hopper;
SELECT * FROM vicidial.agent_callback_count('agent1');
-- The button flashes; agent 1 dials it from the list.
SELECT callback_id = :cb_u AS is_cb_u, status FROM vicidial.agent_callbacks('agent1');
SELECT lead_id = :lead_u AS una, status, "user", called_count, called_since_last_reset,
       last_local_call_time = now() AS dialed_now
  FROM vicidial.callback_dial(:cb_u, 'agent1');
SELECT status FROM vicidial.vicidial_callbacks WHERE callback_id = :cb_u;

-- The hangup archives it: gone from the agent's list and button.
SELECT vicidial.lead_disposition(:lead_u, 'agent1', 'SALE') AS new_callback;
SELECT status FROM vicidial.vicidial_callbacks WHERE callback_id = :cb_u;
SELECT count(*) AS agent1_list FROM vicidial.agent_callbacks('agent1');
SELECT * FROM vicidial.agent_callback_count('agent1');

-- At 15:00 the ANYONE callback goes LIVE: the lead is CALLBK, dialable
-- again, and first in the hopper at priority 50, source C.
SELECT * FROM vicidial.sweep(:'t_a');
SELECT first_name, status, called_since_last_reset FROM vicidial.vicidial_list WHERE lead_id = :lead_a;
SELECT lead_id = :lead_a AS andy, campaign_id, list_id, status, priority, source, entry_time = :'t_a' AS entered_at_sweep
  FROM vicidial.vicidial_hopper;
-- The week-ahead callback is still waiting.
SELECT status FROM vicidial.vicidial_callbacks WHERE callback_id = :cb_n;

-- The next free agent gets it from the hopper.
SELECT lead_id = :lead_a AS andy, status, "user", called_count FROM vicidial.hopper_next('FLOW', 'agent3');
SELECT count(*) AS hopper_rows FROM vicidial.vicidial_hopper;
SELECT vicidial.lead_disposition(:lead_a, 'agent3', 'NI');
SELECT status FROM vicidial.vicidial_callbacks WHERE callback_id = :cb_a;

-- The viewer shows archived rows too; agents never do.
SELECT callback_id = :cb_u AS is_cb_u, callback_id = :cb_a AS is_cb_a, status, recipient, "user", lead_current_status, first_name
  FROM vicidial.callbacks_report(campaign => 'FLOW');
SELECT count(*) AS archived FROM vicidial.callbacks_report(campaign => 'FLOW', callback_status => 'ARCHIVE');
SELECT campaign_id, list_id, "user", status, recipient, callbacks
  FROM vicidial.callbacks_summary(campaign => 'FLOW');
SELECT count(*) AS in_viewer FROM vicidial.callbacks_report(agent => 'agent1');
SELECT count(*) AS in_agent_list FROM vicidial.agent_callbacks('agent1');
