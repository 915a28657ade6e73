-- 1.1 -> 1.2, the changes to what 1.1 created. The build appends 1.2's
-- tables file (when there is one) and then every replayable file of
-- sql/install (functions, triggers, views, privileges), so what follows
-- here is only what neither can do. The upgrade test proves the result
-- equals a fresh install.

\echo Use "ALTER EXTENSION vicidial_callbacks UPDATE TO '1.2'" to load this file. \quit

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
