-- 1.1 trust: agents bound to database roles, I10 (a call is
-- its agent's), I11 (no lead stranded, none handed out under a USERONLY
-- callback), status texts, finite times, the isolation level, renames, the
-- private run lock and the restore mode. Each case would pass on 1.0.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';
INSERT INTO vicidial.vicidial_campaigns (campaign_id, dial_statuses) VALUES ('TRUST', '{NEW,CALLBK}');
-- This file is about the day's flow, not calling hours (sql/hours.sql): dial around the clock.
UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours';
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (750, 'TRUST');
INSERT INTO vicidial.vicidial_list (lead_id, list_id, first_name)
SELECT g, 750, 'trust ' || g FROM generate_series(7501, 7512) g;
SELECT date_trunc('day', now()) + interval '2 days 10:00' AS due \gset

-- Identity: ann_b and bob_b are bound to their own database roles; pool_c
-- is not bound (a pooled front end that authenticates agents itself).
-- Their group role holds the agent grants.
CREATE ROLE regress_trust_agents;
SELECT regress.grant_agent('regress_trust_agents');
CREATE ROLE regress_ann IN ROLE regress_trust_agents;
CREATE ROLE regress_bob IN ROLE regress_trust_agents;
CREATE ROLE regress_ann_desk IN ROLE regress_ann;   -- a member of ann's role acts as ann
INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks, db_role) VALUES
    ('ann_b', true, 'regress_ann'), ('bob_b', true, 'regress_bob'), ('pool_c', true, NULL),
    ('gone_b', true, 'regress_no_such_role');
SELECT vicidial.callback_schedule(7501, 'ann_b', :'due', 'USERONLY', 'ann''s customer') AS ann_cb \gset

SET ROLE regress_bob;
SELECT n, regress.attempt(call) FROM (VALUES
    ('read another''s list',   $$SELECT vicidial.agent_callbacks('ann_b')$$),
    ('count another''s',       $$SELECT vicidial.agent_callback_count('ann_b')$$),
    ('dial another''s',        $$SELECT vicidial.callback_dial($$ || :ann_cb || $$, 'ann_b')$$),
    ('schedule as another',    $$SELECT vicidial.callback_schedule(7502, 'ann_b', now() + interval '1 day')$$),
    ('take the hopper as',     $$SELECT vicidial.hopper_next('TRUST', 'ann_b')$$),
    ('role that is gone',      $$SELECT vicidial.agent_callbacks('gone_b')$$),
    ('own list',               $$SELECT vicidial.agent_callbacks('bob_b')$$),
    ('unbound agent',          $$SELECT vicidial.agent_callbacks('pool_c')$$)
) AS cases(n, call);
RESET ROLE;
SET ROLE regress_ann_desk;
SELECT callback_id = :ann_cb AS member_reads_ann, comments FROM vicidial.agent_callbacks('ann_b');
RESET ROLE;
-- The superuser is a member of every role.
SELECT count(*) AS superuser_reads_ann FROM vicidial.agent_callbacks('ann_b');
-- and acts as anyone, even an agent bound to a role that is gone
SELECT count(*) AS superuser_reads_gone FROM vicidial.agent_callbacks('gone_b');

-- I10: lead 7503 is on a call with agent1. Nobody else reschedules it, ends
-- it, dials it, or queues it; INCALL cannot be a dial status.
SELECT lead_id FROM vicidial.callback_dial(vicidial.callback_schedule(7503, 'agent1', vicidial._half_hour_start(now())), 'agent1');
SELECT n, regress.attempt(call) FROM (VALUES
    ('schedule another''s call', $$SELECT vicidial.callback_schedule(7503, 'agent2', now() + interval '1 day')$$),
    ('end another''s call',      $$SELECT vicidial.lead_disposition(7503, 'agent2', 'SALE')$$),
    ('lowercase reserved',       $$SELECT vicidial.lead_disposition(7503, 'agent1', 'cbhold')$$),
    ('lowercase status',         $$SELECT vicidial.lead_disposition(7503, 'agent1', 'sale')$$),
    ('lowercase lead_status',    $$SELECT vicidial.callback_schedule(7504, 'agent1', now() + interval '1 day', 'ANYONE', NULL, 'callbk')$$),
    ('recipient too long',       $$SELECT vicidial.callback_schedule(7504, 'agent1', now() + interval '1 day', 'USERONLY-PLEASE')$$),
    ('comments too long',        $$SELECT vicidial.callback_schedule(7504, 'agent1', now() + interval '1 day', 'ANYONE', repeat('x', 256))$$),
    ('modify: comments too long',$$SELECT vicidial.callback_modify($$ || :ann_cb || $$, comments => repeat('x', 256))$$),
    ('modify: recipient too long',$$SELECT vicidial.callback_modify($$ || :ann_cb || $$, recipient => 'ANYONE-AT-ALL')$$),
    ('hopper insert of INCALL',  $$INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (7503, 'TRUST', 750)$$),
    ('the call held by nobody',  $$UPDATE vicidial.vicidial_list SET "user" = NULL WHERE lead_id = 7503$$),
    ('a call made for nobody',   $$UPDATE vicidial.vicidial_list SET status = 'INCALL', "user" = NULL WHERE lead_id = 7504$$),
    ('a lead loaded on a call',  $$INSERT INTO vicidial.vicidial_list (list_id, status) VALUES (750, 'INCALL')$$),
    ('INCALL as dial status',    $$UPDATE vicidial.vicidial_campaigns SET dial_statuses = '{NEW,INCALL}' WHERE campaign_id = 'TRUST'$$),
    ('lowercase dial status',    $$UPDATE vicidial.vicidial_campaigns SET dial_statuses = '{NEW,callbk}' WHERE campaign_id = 'TRUST'$$),
    ('dial the INCALL lead',     $$SELECT vicidial.callback_dial((SELECT callback_id FROM vicidial.vicidial_callbacks WHERE lead_id = 7503 AND status = 'LIVE'), 'agent2')$$)
) AS cases(n, call);
-- The holder ends it.
SELECT vicidial.lead_disposition(7503, 'agent1', 'SALE') AS holder_ends_call;

-- I11 through direct DML. A LIVE USERONLY callback's lead cannot be set
-- dialable behind its owner's back...
SELECT vicidial.callback_schedule(7505, 'agent1', vicidial._half_hour_start(now()), 'USERONLY') AS useronly_cb \gset
SELECT went_live FROM vicidial.sweep(now());
SELECT regress.attempt($$UPDATE vicidial.vicidial_list SET status = 'NEW' WHERE lead_id = 7505$$) AS free_useronly_lead;
-- ...and a callback made LIVE or ANYONE by hand is released by the next run,
-- never left stranded in CBHOLD.
SELECT vicidial.callback_schedule(7506, 'agent2', :'due') AS anyone_cb \gset
UPDATE vicidial.vicidial_callbacks SET status = 'LIVE' WHERE callback_id = :anyone_cb;
UPDATE vicidial.vicidial_callbacks SET recipient = 'ANYONE' WHERE callback_id = :useronly_cb;
SELECT lead_id, status FROM vicidial.vicidial_list WHERE lead_id IN (7505, 7506) ORDER BY lead_id;
SELECT went_live, hopper_inserted FROM vicidial.sweep(now());
SELECT l.lead_id, l.status, h.priority, h.source
  FROM vicidial.vicidial_list l LEFT JOIN vicidial.vicidial_hopper h USING (lead_id)
 WHERE l.lead_id IN (7505, 7506) ORDER BY l.lead_id;

-- The sweep's flips skip the callbacks guard only when nothing but the
-- status (ACTIVE -> LIVE) and modify_date = now() changes: a flip that
-- changes anything else still meets every check.
SELECT vicidial.callback_schedule(7512, 'agent2', :'due') AS flip_cb \gset
SELECT n, regress.attempt(call) FROM (VALUES
    ('flip with a bad lead_status', $$UPDATE vicidial.vicidial_callbacks SET status = 'LIVE', modify_date = now(), lead_status = 'callbk' WHERE callback_id = $$ || :flip_cb),
    ('flip made USERONLY',          $$UPDATE vicidial.vicidial_callbacks SET status = 'LIVE', modify_date = now(), recipient = 'USERONLY' WHERE callback_id = $$ || :flip_cb),
    ('flip to a past time',         $$UPDATE vicidial.vicidial_callbacks SET status = 'LIVE', modify_date = now(), callback_time = now() - interval '1 day' WHERE callback_id = $$ || :flip_cb)
) AS cases(n, call);
UPDATE vicidial.vicidial_callbacks SET status = 'LIVE', modify_date = now() WHERE callback_id = :flip_cb;
SELECT status, modify_date >= entry_time AS modified FROM vicidial.vicidial_callbacks WHERE callback_id = :flip_cb;

-- Every function with a time argument answers at once, ±infinity included.
SELECT n, regress.attempt(call) FROM (VALUES
    ('slots of infinity',      $$SELECT count(*) FROM vicidial.callback_slots('infinity')$$),
    ('slots of -infinity',     $$SELECT count(*) FROM vicidial.callback_slots('-infinity', 'TRUST')$$),
    ('schedule at infinity',   $$SELECT vicidial.callback_schedule(7507, 'agent1', 'infinity')$$),
    ('modify to infinity',     $$SELECT vicidial.callback_modify($$ || :ann_cb || $$, callback_time => 'infinity')$$),
    ('sweep at infinity',      $$SELECT vicidial.sweep('infinity')$$),
    ('fill at -infinity',      $$SELECT vicidial.hopper_fill('-infinity')$$),
    ('run at infinity',        $$SELECT vicidial.hopper_run('infinity')$$),
    ('report to infinity',     $$SELECT count(*) FROM vicidial.callbacks_report(time_to => 'infinity')$$),
    ('summary from -infinity', $$SELECT count(*) FROM vicidial.callbacks_summary(time_from => '-infinity')$$)
) AS cases(n, call);

-- Under REPEATABLE READ and SERIALIZABLE the writers say why, never a bare 40001.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT * FROM vicidial.hopper_run(now());
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT * FROM vicidial.hopper_next('TRUST', 'agent1');
ROLLBACK;
-- So does direct SQL that makes a lead CBHOLD or INCALL: in a snapshot
-- older than a hopper row queued since, the check that keeps such a lead
-- out of the hopper would not see it (I3, I10).
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT regress.attempt($$UPDATE vicidial.vicidial_list SET status = 'INCALL', "user" = 'agent1' WHERE lead_id = (SELECT min(lead_id) FROM vicidial.vicidial_list WHERE status = 'NEW')$$) AS rr_incall;
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT regress.attempt($$UPDATE vicidial.vicidial_list SET status = 'CBHOLD' WHERE lead_id = (SELECT min(lead_id) FROM vicidial.vicidial_list WHERE status = 'NEW')$$) AS serializable_cbhold;
ROLLBACK;
-- So does direct SQL that deactivates an agent, lists a number or gives a
-- lead a new number: its search in an older snapshot would miss a callback
-- scheduled since, a lead given the number since, or a listing since.
INSERT INTO vicidial.vicidial_users ("user", active) VALUES ('gone1', false);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT regress.attempt($$UPDATE vicidial.vicidial_users SET active = false WHERE "user" = 'agent1'$$) AS rr_deactivate;
-- (renaming an agent already inactive deactivates nobody)
SELECT regress.attempt($$UPDATE vicidial.vicidial_users SET "user" = 'gone2' WHERE "user" = 'gone1'$$) AS rr_rename_inactive;
SELECT regress.attempt($$INSERT INTO vicidial.vicidial_dnc (phone_number) VALUES ('5550100')$$) AS rr_list;
SELECT regress.attempt($$UPDATE vicidial.vicidial_list SET phone_number = '5550101' WHERE lead_id = (SELECT min(lead_id) FROM vicidial.vicidial_list)$$) AS rr_renumber;
ROLLBACK;
-- Readers work there.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) AS rr_reads FROM vicidial.agent_callbacks('ann_b');
ROLLBACK;

-- Renaming a key that callbacks name would rewrite ARCHIVE rows: refused.
SELECT n, regress.attempt(call) FROM (VALUES
    ('rename an agent',    $$UPDATE vicidial.vicidial_users SET "user" = 'agent1x' WHERE "user" = 'agent1'$$),
    ('rename a campaign',  $$UPDATE vicidial.vicidial_campaigns SET campaign_id = 'TRUSTX' WHERE campaign_id = 'TRUST'$$),
    ('renumber a list',    $$UPDATE vicidial.vicidial_lists SET list_id = 7700 WHERE list_id = 750$$)
) AS cases(n, call);

-- The run lock is private: an agent role cannot take it.
SET ROLE regress_bob;
SELECT regress.attempt($$LOCK TABLE vicidial.hopper_run_lock IN EXCLUSIVE MODE$$) AS agent_takes_run_lock;
RESET ROLE;

-- Restore mode: a superuser with row_security = off (pg_dump's and
-- pg_restore's setting) loads rows in their dumped state; nobody else does.
GRANT INSERT ON vicidial.vicidial_callbacks TO regress_bob;
GRANT USAGE ON SEQUENCE vicidial.vicidial_callbacks_callback_id_seq TO regress_bob;
SET row_security = off;
SET ROLE regress_bob;
SELECT regress.attempt($$INSERT INTO vicidial.vicidial_callbacks (lead_id, status, callback_time) VALUES (7508, 'ARCHIVE', now())$$) AS non_superuser_loads;
RESET ROLE;
BEGIN;
INSERT INTO vicidial.vicidial_callbacks (lead_id, list_id, campaign_id, status, callback_time, recipient)
VALUES (7508, 750, 'TRUST', 'ARCHIVE', now(), 'ANYONE');
SELECT status FROM vicidial.vicidial_callbacks WHERE lead_id = 7508;
ROLLBACK;
RESET row_security;
SELECT regress.attempt($$INSERT INTO vicidial.vicidial_callbacks (lead_id, status, callback_time) VALUES (7508, 'ARCHIVE', now())$$) AS superuser_session_loads;
REVOKE INSERT ON vicidial.vicidial_callbacks FROM regress_bob;
REVOKE USAGE ON SEQUENCE vicidial.vicidial_callbacks_callback_id_seq FROM regress_bob;

-- Stuck calls, one per agent: stuck2 holds a standard call (7521), stuck3
-- an ANYONE callback dialed early (7522), stuck4 a LIVE ANYONE lead taken
-- from the hopper (7523); stuck1 holds its own LIVE USERONLY callback (7524).
INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) VALUES
    ('stuck1', true), ('stuck2', false), ('stuck3', false), ('stuck4', false);
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, dial_statuses, local_call_time) VALUES ('STUCK', 0, '{NEW}', '24hours');
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (751, 'STUCK');
INSERT INTO vicidial.vicidial_list (lead_id, list_id) SELECT g, 751 FROM generate_series(7521, 7526) g;
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (7521, 'STUCK', 751);
SELECT lead_id FROM vicidial.hopper_next('STUCK', 'stuck2');
SELECT lead_id FROM vicidial.callback_dial(vicidial.callback_schedule(7522, 'stuck3', :'due'), 'stuck3');
SELECT vicidial.callback_schedule(7523, 'stuck4', vicidial._half_hour_start(now())) IS NOT NULL AS anyone_due;
SELECT vicidial.callback_schedule(7524, 'stuck1', vicidial._half_hour_start(now()), 'USERONLY') AS useronly_due \gset
SELECT hopper_inserted FROM vicidial.hopper_run(now());
SELECT lead_id FROM vicidial.hopper_next('STUCK', 'stuck4');
SELECT lead_id FROM vicidial.callback_dial(:useronly_due, 'stuck1');
CREATE FUNCTION regress.calls(first bigint, last bigint) RETURNS TABLE (lead_id bigint, lead_status varchar, owner varchar,
                                                                       callback varchar, recipient varchar, in_hopper text)
LANGUAGE sql AS $$
    SELECT l.lead_id, l.status, l."user", c.status, c.recipient,
           (SELECT h.priority || '/' || h.source FROM vicidial.vicidial_hopper h WHERE h.lead_id = l.lead_id)
      FROM vicidial.vicidial_list l
      LEFT JOIN vicidial.vicidial_callbacks c ON c.lead_id = l.lead_id AND c.status <> 'ARCHIVE'
     WHERE l.lead_id BETWEEN first AND last ORDER BY l.lead_id
$$;
SELECT * FROM regress.calls(7521, 7524);
SELECT n, regress.attempt(call) FROM (VALUES
    ('release nobody',        $$SELECT vicidial.agent_release(NULL)$$),
    ('release a stranger',    $$SELECT vicidial.agent_release('nobody')$$)
) AS cases(n, call);
SELECT vicidial.agent_release('stuck2') + vicidial.agent_release('stuck3') + vicidial.agent_release('stuck4')
       AS anyone_calls_ended;
SELECT vicidial.agent_release('stuck1') AS stuck1_calls_ended;
SELECT vicidial.agent_release('stuck1') AS nothing_left;
SELECT * FROM regress.calls(7521, 7524);
-- The INCALL timeout: 7525 was dialed 6 minutes before the run, 7526 4.
SELECT lead_id FROM vicidial.hopper_next('STUCK', 'stuck2');
SELECT vicidial.lead_disposition(7523, 'stuck2', 'SALE') AS callback_call_ended;
UPDATE vicidial.vicidial_campaigns SET incall_timeout_minutes = 5 WHERE campaign_id = 'STUCK';
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (7525, 'STUCK', 751), (7526, 'STUCK', 751);
SELECT lead_id FROM vicidial.hopper_next('STUCK', 'stuck2');
SELECT lead_id FROM vicidial.hopper_next('STUCK', 'stuck3');
UPDATE vicidial.vicidial_list SET last_local_call_time = now() - interval '6 minutes' WHERE lead_id = 7525;
UPDATE vicidial.vicidial_list SET last_local_call_time = now() - interval '4 minutes' WHERE lead_id = 7526;
SELECT went_live FROM vicidial.hopper_run(now());
SELECT * FROM regress.calls(7525, 7526);
UPDATE vicidial.vicidial_campaigns SET incall_timeout_minutes = 0 WHERE campaign_id = 'STUCK';
SELECT vicidial.lead_disposition(7526, 'stuck3', 'SALE') AS still_stuck3s_call;

-- invariant_violations() finds what the triggers would have refused, when
-- they were off (session_replication_role = replica, a bulk load).
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM vicidial.vicidial_hopper WHERE lead_id IN (7507, 7509, 7510);
UPDATE vicidial.vicidial_list SET status = 'CBHOLD' WHERE lead_id = 7509;
UPDATE vicidial.vicidial_list SET status = 'INCALL', "user" = 'agent1' WHERE lead_id = 7510;
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (7509, 'TRUST', 750), (7510, 'TRUST', 750);
UPDATE vicidial.vicidial_list SET status = 'NEW' WHERE lead_id = 7501;
INSERT INTO vicidial.vicidial_callbacks (lead_id, list_id, campaign_id, callback_time, "user")
VALUES (7511, 750, 'TRUST', now() + interval '1 day', 'agent1');
-- A LIVE ANYONE callback beside a CBHOLD lead that no run knows to release.
UPDATE vicidial.vicidial_list SET status = 'CBHOLD' WHERE lead_id = 7507;
INSERT INTO vicidial.vicidial_callbacks (lead_id, list_id, campaign_id, status, callback_time, "user", recipient)
VALUES (7507, 750, 'TRUST', 'LIVE', now(), 'agent1', 'ANYONE');
SELECT invariant, lead_id, regexp_replace(detail, 'callback \d+', 'callback <id>') AS detail
  FROM vicidial.invariant_violations();
ROLLBACK;

SELECT count(*) AS violations FROM vicidial.invariant_violations();
