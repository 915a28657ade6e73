-- 1.1 -> 1.2, the changes to what 1.1 created. The build appends 1.2's
-- tables file (when there is one) and then every replayable file of
-- sql/install (functions, triggers, views, privileges), so what follows
-- here is only what neither can do. The upgrade test proves the result
-- equals a fresh install.

\echo Use "ALTER EXTENSION vicidial_callbacks UPDATE TO '1.2'" to load this file. \quit

-- Data that 1.0 accepted, that a 1.1 database upgraded from 1.0 may still
-- hold, and that the rules refuse: repaired first, as the 1.0 -> 1.1
-- upgrade now does, each change reported by a WARNING (an extension
-- script shows no NOTICE). A lead that is INCALL leaves the hopper, so
-- that it is not dialed again once its call ends; an open callback whose
-- lead_status is refused as a given lead status (1 to 6 capital letters
-- or digits, neither INCALL nor CBHOLD), which could never be dialed,
-- moved or archived, takes CALLBK; ARCHIVE rows are final and keep theirs.
-- 1.1's triggers are kept out of it (modify_date stays as it was).
SET LOCAL session_replication_role = replica;
DO $$
DECLARE
    repaired record;
BEGIN
    FOR repaired IN
        WITH removed AS (
            DELETE FROM vicidial.vicidial_hopper h USING vicidial.vicidial_list l
             WHERE l.lead_id = h.lead_id AND l.status = 'INCALL'
            RETURNING h.lead_id, h.campaign_id)
        SELECT r.lead_id, r.campaign_id FROM removed r ORDER BY r.lead_id
    LOOP
        RAISE WARNING 'lead %: INCALL, taken out of the hopper of campaign "%"', repaired.lead_id, repaired.campaign_id;
    END LOOP;
    FOR repaired IN
        WITH refused AS (
            SELECT c.callback_id, c.lead_status FROM vicidial.vicidial_callbacks c
             WHERE c.status IN ('ACTIVE', 'LIVE')
               AND (c.lead_status !~ '^[A-Z0-9]{1,6}$' OR c.lead_status IN ('INCALL', 'CBHOLD'))),
        changed AS (
            UPDATE vicidial.vicidial_callbacks c SET lead_status = 'CALLBK'
              FROM refused r WHERE c.callback_id = r.callback_id
            RETURNING c.callback_id, r.lead_status)
        SELECT ch.callback_id, ch.lead_status FROM changed ch ORDER BY ch.callback_id
    LOOP
        RAISE WARNING 'callback %: lead_status "%" replaced by CALLBK', repaired.callback_id, repaired.lead_status;
    END LOOP;
END $$;
RESET session_replication_role;

-- A lead INCALL with no user (direct SQL on 1.0 could leave one) is a
-- call no agent can end: it is ended as a stuck call is (1.1's _end_calls,
-- with 1.1's rules on), before 1.2's tables file forbids it.
DO $$
DECLARE
    agentless bigint[] := ARRAY(SELECT l.lead_id FROM vicidial.vicidial_list l
                                 WHERE l.status = 'INCALL' AND l."user" IS NULL ORDER BY l.lead_id);
    lead bigint;
BEGIN
    IF agentless <> '{}' THEN
        PERFORM vicidial._end_calls(agentless, now());
        FOREACH lead IN ARRAY agentless LOOP
            RAISE WARNING 'lead %: INCALL held by no agent, its call ended (now %)', lead,
                (SELECT l.status FROM vicidial.vicidial_list l WHERE l.lead_id = lead);
        END LOOP;
    END IF;
END $$;
-- 1.1's check of the leads it ended runs now: the script re-creates the
-- trigger that would run it at commit, and a pending event of a dropped
-- trigger is skipped.
SET CONSTRAINTS vicidial.lead_checks_at_commit IMMEDIATE;
SET CONSTRAINTS vicidial.lead_checks_at_commit DEFERRED;

-- Functions and views whose result columns change are dropped and
-- created again by the replayable files; the grants made on them are kept
-- here and made again by the privileges file, which then drops this table.
CREATE TABLE vicidial.upgrade_saved_grants AS
SELECT 'FUNCTION ' || f.oid::regprocedure::text AS object, a.privilege_type AS privilege,
       pg_get_userbyid(a.grantee) AS grantee, a.is_grantable
  FROM pg_catalog.pg_proc f
 CROSS JOIN LATERAL aclexplode(f.proacl) a
 WHERE f.oid IN ('vicidial.hopper_run(timestamptz)'::regprocedure, 'vicidial.worker_state()'::regprocedure)
   AND a.grantee <> 0 AND a.grantee <> f.proowner
UNION ALL
SELECT 'TABLE ' || c.oid::regclass::text, a.privilege_type, pg_get_userbyid(a.grantee), a.is_grantable
  FROM pg_catalog.pg_class c
 CROSS JOIN LATERAL aclexplode(c.relacl) a
 WHERE c.oid = 'vicidial.worker_status'::regclass
   AND a.grantee <> 0 AND a.grantee <> c.relowner;

-- hopper_run reports what a run left to a later one; worker_state reports
-- the latest such run.
DROP VIEW vicidial.worker_status;
DROP FUNCTION vicidial.worker_state();
DROP FUNCTION vicidial.hopper_run(timestamptz);

-- The display limit is decided per campaign (the view
-- agent_display_limits), no more per callback.
DROP FUNCTION vicidial._shown_to_agent(timestamptz, vicidial.vicidial_campaigns);

-- The do-not-call rule is the view lead_dnc, read by the one hand-out
-- predicate (_dial_blockers) and every other reader.
DROP FUNCTION vicidial._dnc_status(text, vicidial.vicidial_campaigns);

-- The worker runs in two transactions (_worker_sweep, then _worker_fill);
-- a role that may run the one-transaction _worker_run may run those too.
INSERT INTO vicidial.upgrade_saved_grants (object, privilege, grantee, is_grantable)
SELECT part.object, 'EXECUTE', pg_get_userbyid(a.grantee), a.is_grantable
  FROM pg_catalog.pg_proc f
 CROSS JOIN LATERAL aclexplode(f.proacl) a
 CROSS JOIN (VALUES ('FUNCTION vicidial._worker_sweep(integer)'),
                    ('FUNCTION vicidial._worker_fill(bigint)')) AS part(object)
 WHERE f.oid = 'vicidial._worker_run(integer)'::regprocedure
   AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> f.proowner;

-- A change of hours counts the hours' version up instead of resetting the
-- waiting releases under the runs' lock (which a role could hold open).
DROP TRIGGER call_times_recheck ON vicidial.vicidial_call_times;
DROP TRIGGER holidays_recheck ON vicidial.vicidial_call_time_holidays;
DROP TRIGGER state_call_times_recheck ON vicidial.vicidial_state_call_times;
DROP TRIGGER campaigns_hours_recheck ON vicidial.vicidial_campaigns;
DROP TRIGGER lists_hours_recheck ON vicidial.vicidial_lists;
DROP FUNCTION vicidial._recheck_all_releases();

-- The 24-hour limit is read inline (_limit_24h), no more by a call per lead.
DROP FUNCTION vicidial._limit_24h_until(bigint, integer, timestamptz);

-- A disposition's search for the open dial starts at the lead's last call
-- (_close_dials), a bound its caller passes: one more argument.
DROP FUNCTION vicidial._close_dials(bigint[], text);

-- What a callback's change does to its lead is decided in one place for
-- every writer (_callback_effects), which also queues the releases.
DROP TRIGGER callbacks_wait_for_release ON vicidial.vicidial_callbacks;
DROP FUNCTION vicidial._wait_for_release();

-- The count of the hoppers' room also says until when the hoppers stay
-- full by the clock alone (37_hopper_room.sql): one more result column.
DROP FUNCTION vicidial._fill_room(timestamptz);

-- The agent's binding is checked in C (_bound_agent, src/bound_agent.c),
-- which reads the caller from the session itself.
DROP FUNCTION vicidial._calling_role();

-- Deactivation hands over the callbacks of all the agents a statement
-- deactivates at once (_agents_deactivated), their leads locked together
-- in lead_id order: a statement trigger, no more one per row.
DROP TRIGGER agents_deactivated ON vicidial.vicidial_users;
DROP FUNCTION vicidial._agent_deactivated();
