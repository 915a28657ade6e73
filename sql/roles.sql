-- An agent role (the fixture's regress.grant_agent) and an admin role:
-- each can do its job through the functions and nothing else.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';
INSERT INTO vicidial.vicidial_campaigns (campaign_id) VALUES ('ROLE');
-- This file is about the day's flow, not calling hours (sql/hours.sql): dial around the clock.
UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours';
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (400, 'ROLE');
INSERT INTO vicidial.vicidial_list (lead_id, list_id) VALUES (4001, 400), (4002, 400);

CREATE ROLE regress_agent;
SELECT regress.grant_agent('regress_agent');
CREATE ROLE regress_admin;
GRANT USAGE ON SCHEMA vicidial TO regress_admin;
GRANT EXECUTE ON FUNCTION
    vicidial.callback_modify(bigint, timestamptz, varchar, text, text, boolean),
    vicidial.callbacks_report(varchar, bigint, varchar, text, timestamptz, timestamptz, text, boolean, integer, integer),
    vicidial.callbacks_summary(varchar, bigint, varchar, text, timestamptz, timestamptz),
    vicidial.invariant_violations()
  TO regress_admin;
GRANT SELECT ON vicidial.worker_status, vicidial.hopper_runs TO regress_admin;
GRANT EXECUTE ON FUNCTION vicidial.worker_state() TO regress_admin;

-- The test helper runs each statement as the role; only its digest of the
-- tables reads them as the superuser.
GRANT USAGE ON SCHEMA regress TO regress_admin;
ALTER FUNCTION regress.state() SECURITY DEFINER;

SET ROLE regress_agent;
SELECT vicidial.callback_schedule(4001, 'agent1', now() + interval '1 day', 'USERONLY') > 0 AS agent_schedules;
SELECT count(*) AS agent_list FROM vicidial.agent_callbacks('agent1');
SELECT n, regress.attempt(call) FROM (VALUES
    ('read a table',      $$SELECT count(*) FROM vicidial.vicidial_callbacks$$),
    ('write a table',     $$UPDATE vicidial.vicidial_list SET status = 'SALE' WHERE lead_id = 4002$$),
    ('admin function',    $$SELECT vicidial.callback_modify(1, archive => true)$$),
    ('server function',   $$SELECT vicidial.hopper_run()$$),
    ('internal function', $$SELECT vicidial._release_anyone('{1}', now())$$)
) AS cases(n, call);
RESET ROLE;

SET ROLE regress_admin;
SELECT status, recipient FROM vicidial.callbacks_report(campaign => 'ROLE');
SELECT status FROM vicidial.callback_modify((SELECT callback_id FROM vicidial.callbacks_report(campaign => 'ROLE')), archive => true);
SELECT count(*) AS violations FROM vicidial.invariant_violations();
SELECT database = current_database() AS sees_worker_status, workers FROM vicidial.worker_status;
SELECT n, regress.attempt(call) FROM (VALUES
    ('agent function',    $$SELECT vicidial.hopper_next('ROLE', 'agent1')$$),
    ('write a table',     $$DELETE FROM vicidial.vicidial_hopper$$)
) AS cases(n, call);
RESET ROLE;
