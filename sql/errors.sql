-- Every row of the error table (doc/vicidial_callbacks_model.md), for
-- every function. Each case shows the SQLSTATE and message.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';

INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name, scheduled_callbacks, callback_days_limit) VALUES
    ('ERR', 'Errors', true, 10),
    ('NOCB', 'No callbacks', false, 365);
-- This file is about the day's flow, not calling hours (sql/hours.sql): dial around the clock.
UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours';
INSERT INTO vicidial.vicidial_lists (list_id, list_name, campaign_id) VALUES (900, 'Errors', 'ERR'), (901, 'No callbacks', 'NOCB');
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status, "user", first_name) VALUES
    (9001, 900, 'NEW', NULL, 'plain'),
    (9002, 901, 'NEW', NULL, 'no callbacks'),
    (9003, 900, 'INCALL', 'agent2', 'on a call'),
    (9004, 900, 'NEW', NULL, 'LIVE USERONLY'),
    (9005, 900, 'NEW', NULL, 'ARCHIVE');
-- 9104: LIVE USERONLY (agent1); 9105: ARCHIVE; both written as a front end
-- would, lead and callback in one transaction.
BEGIN;
INSERT INTO vicidial.vicidial_callbacks (callback_id, lead_id, callback_time, "user", recipient) VALUES
    (9104, 9004, now(), 'agent1', 'USERONLY'),
    (9105, 9005, now() + interval '1 day', 'agent2', 'ANYONE');
UPDATE vicidial.vicidial_list SET status = 'CBHOLD' WHERE lead_id IN (9004, 9005);
UPDATE vicidial.vicidial_callbacks SET status = 'LIVE' WHERE callback_id = 9104;
UPDATE vicidial.vicidial_callbacks SET status = 'ARCHIVE' WHERE callback_id = 9105;
UPDATE vicidial.vicidial_list SET status = 'CALLBK' WHERE lead_id = 9005;
COMMIT;
SELECT lead_id, l.status, c.callback_id, c.status AS callback_status
  FROM vicidial.vicidial_list l LEFT JOIN vicidial.vicidial_callbacks c USING (lead_id)
 WHERE lead_id > 9000 ORDER BY lead_id;

SELECT n, regress.attempt(call) FROM (VALUES
    ('null lead_id',        $$SELECT vicidial.callback_schedule(NULL, 'agent1', now() + interval '1 day')$$),
    ('null agent',          $$SELECT vicidial.callback_schedule(9001, NULL, now() + interval '1 day')$$),
    ('null callback_time',  $$SELECT vicidial.callback_schedule(9001, 'agent1', NULL)$$),
    ('null recipient',      $$SELECT vicidial.callback_schedule(9001, 'agent1', now() + interval '1 day', NULL)$$),
    ('null lead_status',    $$SELECT vicidial.callback_schedule(9001, 'agent1', now() + interval '1 day', 'ANYONE', NULL, NULL)$$),
    ('unknown lead',        $$SELECT vicidial.callback_schedule(1234567, 'agent1', now() + interval '1 day')$$),
    ('unknown agent',       $$SELECT vicidial.callback_schedule(9001, 'nobody', now() + interval '1 day')$$),
    ('inactive agent',      $$SELECT vicidial.callback_schedule(9001, 'retired', now() + interval '1 day')$$),
    ('before half hour',    $$SELECT vicidial.callback_schedule(9001, 'agent1', vicidial._half_hour_start(now()) - interval '1 minute')$$),
    ('past days limit',     $$SELECT vicidial.callback_schedule(9001, 'agent1', now() + interval '10 days 1 minute')$$),
    ('unknown recipient',   $$SELECT vicidial.callback_schedule(9001, 'agent1', now() + interval '1 day', 'EVERYONE')$$),
    ('lead_status too long',$$SELECT vicidial.callback_schedule(9001, 'agent1', now() + interval '1 day', 'ANYONE', NULL, 'CALLBACK')$$),
    ('lead_status CBHOLD',  $$SELECT vicidial.callback_schedule(9001, 'agent1', now() + interval '1 day', 'ANYONE', NULL, 'CBHOLD')$$),
    ('USERONLY no rights',  $$SELECT vicidial.callback_schedule(9001, 'agent2', now() + interval '1 day', 'USERONLY')$$),
    ('no scheduled_callbacks', $$SELECT vicidial.callback_schedule(9002, 'agent1', now() + interval '1 day')$$)
) AS cases(n, call);

SELECT n, regress.attempt(call) FROM (VALUES
    ('null day',            $$SELECT vicidial.callback_slots(NULL)$$),
    ('unknown campaign',    $$SELECT vicidial.callback_slots(current_date, 'NOPE')$$),
    ('no scheduled_callbacks', $$SELECT vicidial.callback_slots(current_date, 'NOCB')$$)
) AS cases(n, call);

SELECT n, regress.attempt(call) FROM (VALUES
    ('list: null agent',      $$SELECT vicidial.agent_callbacks(NULL)$$),
    ('list: unknown agent',   $$SELECT vicidial.agent_callbacks('nobody')$$),
    ('list: inactive agent',  $$SELECT vicidial.agent_callbacks('retired')$$),
    ('count: null agent',     $$SELECT vicidial.agent_callback_count(NULL)$$),
    ('count: unknown agent',  $$SELECT vicidial.agent_callback_count('nobody')$$),
    ('count: inactive agent', $$SELECT vicidial.agent_callback_count('retired')$$)
) AS cases(n, call);

SELECT n, regress.attempt(call) FROM (VALUES
    ('null callback_id',    $$SELECT vicidial.callback_dial(NULL, 'agent1')$$),
    ('null agent',          $$SELECT vicidial.callback_dial(9104, NULL)$$),
    ('unknown callback',    $$SELECT vicidial.callback_dial(1234567, 'agent1')$$),
    ('unknown agent',       $$SELECT vicidial.callback_dial(9104, 'nobody')$$),
    ('inactive agent',      $$SELECT vicidial.callback_dial(9104, 'retired')$$),
    ('another''s USERONLY', $$SELECT vicidial.callback_dial(9104, 'agent3')$$),
    ('ARCHIVE',             $$SELECT vicidial.callback_dial(9105, 'agent1')$$)
) AS cases(n, call);

SELECT n, regress.attempt(call) FROM (VALUES
    ('null campaign_id',    $$SELECT vicidial.hopper_next(NULL, 'agent1')$$),
    ('null agent',          $$SELECT vicidial.hopper_next('ERR', NULL)$$),
    ('unknown campaign',    $$SELECT vicidial.hopper_next('NOPE', 'agent1')$$),
    ('unknown agent',       $$SELECT vicidial.hopper_next('ERR', 'nobody')$$),
    ('inactive agent',      $$SELECT vicidial.hopper_next('ERR', 'retired')$$)
) AS cases(n, call);

SELECT n, regress.attempt(call) FROM (VALUES
    ('null lead_id',        $$SELECT vicidial.lead_disposition(NULL, 'agent1', 'SALE')$$),
    ('null agent',          $$SELECT vicidial.lead_disposition(9003, NULL, 'SALE')$$),
    ('null status',         $$SELECT vicidial.lead_disposition(9003, 'agent2', NULL)$$),
    ('unknown lead',        $$SELECT vicidial.lead_disposition(1234567, 'agent1', 'SALE')$$),
    ('unknown agent',       $$SELECT vicidial.lead_disposition(9003, 'nobody', 'SALE')$$),
    ('inactive agent',      $$SELECT vicidial.lead_disposition(9003, 'retired', 'SALE')$$),
    ('CBHOLD given',        $$SELECT vicidial.lead_disposition(9003, 'agent2', 'CBHOLD')$$),
    ('INCALL given',        $$SELECT vicidial.lead_disposition(9003, 'agent2', 'INCALL')$$),
    ('bad status text',     $$SELECT vicidial.lead_disposition(9003, 'agent2', 'no way')$$),
    ('lead not INCALL',     $$SELECT vicidial.lead_disposition(9001, 'agent1', 'SALE')$$),
    ('CBHOLD lead',         $$SELECT vicidial.lead_disposition(9004, 'agent1', 'SALE')$$),
    ('CALLBK without time', $$SELECT vicidial.lead_disposition(9003, 'agent2', 'CALLBK')$$),
    ('CALLBK too late',     $$SELECT vicidial.lead_disposition(9003, 'agent2', 'CALLBK', now() + interval '11 days')$$),
    ('CALLBK bad recipient',$$SELECT vicidial.lead_disposition(9003, 'agent2', 'CALLBK', now() + interval '1 day', 'me')$$),
    ('CALLBK USERONLY no rights', $$SELECT vicidial.lead_disposition(9003, 'agent2', 'CALLBK', now() + interval '1 day', 'USERONLY')$$)
) AS cases(n, call);

SELECT n, regress.attempt(call) FROM (VALUES
    ('null callback_id',    $$SELECT vicidial.callback_modify(NULL, comments => 'x')$$),
    ('null archive',        $$SELECT vicidial.callback_modify(9104, archive => NULL)$$),
    ('unknown callback',    $$SELECT vicidial.callback_modify(1234567, comments => 'x')$$),
    ('unknown agent',       $$SELECT vicidial.callback_modify(9104, agent => 'nobody')$$),
    ('inactive agent',      $$SELECT vicidial.callback_modify(9104, agent => 'retired')$$),
    ('ARCHIVE row',         $$SELECT vicidial.callback_modify(9105, comments => 'x')$$),
    ('ARCHIVE row archived',$$SELECT vicidial.callback_modify(9105, archive => true)$$),
    ('unknown recipient',   $$SELECT vicidial.callback_modify(9104, recipient => 'NOBODY')$$),
    ('before half hour',    $$SELECT vicidial.callback_modify(9104, callback_time => vicidial._half_hour_start(now()) - interval '1 minute')$$),
    ('past days limit',     $$SELECT vicidial.callback_modify(9104, callback_time => now() + interval '10 days 1 minute')$$),
    ('USERONLY to agent2',  $$SELECT vicidial.callback_modify(9104, agent => 'agent2')$$)
) AS cases(n, call);

SELECT n, regress.attempt(call) FROM (VALUES
    ('null sort_by',        $$SELECT vicidial.callbacks_report(sort_by => NULL)$$),
    ('null descending',     $$SELECT vicidial.callbacks_report(descending => NULL)$$),
    ('null max_rows',       $$SELECT vicidial.callbacks_report(max_rows => NULL)$$),
    ('null skip_rows',      $$SELECT vicidial.callbacks_report(skip_rows => NULL)$$),
    ('unknown sort_by',     $$SELECT vicidial.callbacks_report(sort_by => 'phone_number; DROP TABLE x')$$),
    ('negative max_rows',   $$SELECT vicidial.callbacks_report(max_rows => -1)$$),
    ('negative skip_rows',  $$SELECT vicidial.callbacks_report(skip_rows => -1)$$),
    ('bad callback_status', $$SELECT vicidial.callbacks_report(callback_status => 'DONE')$$),
    ('unknown campaign',    $$SELECT vicidial.callbacks_report(campaign => 'NOPE')$$),
    ('unknown list',        $$SELECT vicidial.callbacks_report(list => 424242)$$),
    ('unknown agent',       $$SELECT vicidial.callbacks_report(agent => 'nobody')$$),
    ('reversed time range', $$SELECT vicidial.callbacks_report(time_from => now(), time_to => now() - interval '1 day')$$),
    ('summary: bad status', $$SELECT vicidial.callbacks_summary(callback_status => 'live')$$),
    ('summary: unknown campaign', $$SELECT vicidial.callbacks_summary(campaign => 'NOPE')$$),
    ('summary: unknown list', $$SELECT vicidial.callbacks_summary(list => 424242)$$),
    ('summary: unknown agent', $$SELECT vicidial.callbacks_summary(agent => 'nobody')$$),
    ('summary: reversed range', $$SELECT vicidial.callbacks_summary(time_from => now(), time_to => now() - interval '1 day')$$)
) AS cases(n, call);

SELECT n, regress.attempt(call) FROM (VALUES
    ('sweep: null now',       $$SELECT vicidial.sweep(NULL)$$),
    ('hopper_fill: null now', $$SELECT vicidial.hopper_fill(NULL)$$),
    ('hopper_run: null now',  $$SELECT vicidial.hopper_run(NULL)$$)
) AS cases(n, call);

-- The one refused call above that reaches a busy lead: dialing a callback
-- whose lead is already on a call: its own, here, so the one-call rule answers.
UPDATE vicidial.vicidial_list SET status = 'INCALL', "user" = 'agent1' WHERE lead_id = 9004;
SELECT regress.attempt($$SELECT vicidial.callback_dial(9104, 'agent1')$$) AS dial_busy_lead;

-- Nothing above changed a row: the leads and callbacks are as set up.
SELECT lead_id, l.status, l."user", l.called_count, c.callback_id, c.status AS callback_status, c."user" AS owner
  FROM vicidial.vicidial_list l LEFT JOIN vicidial.vicidial_callbacks c USING (lead_id)
 WHERE lead_id > 9000 ORDER BY lead_id;

-- The calls set up above end here, so that the agents of the shared call
-- center are free for the files after this one (an agent holds one call).
SELECT vicidial.agent_release('agent1') AS agent1_released, vicidial.agent_release('agent2') AS agent2_released;
