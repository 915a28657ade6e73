-- 1.0 -> 1.1, the changes to what 1.0 created. The build appends 1.1's
-- tables file (sql/install/11_tables_1.1.sql) and then every replayable
-- file of sql/install (functions, triggers, views, privileges), so what
-- follows here is only what neither can do: changed columns, constraints
-- and indexes, tables of the trust work, and dropping what 1.1 re-creates
-- differently. The upgrade test proves the result equals a fresh install.

\echo Use "ALTER EXTENSION vicidial_callbacks UPDATE TO '1.1'" to load this file. \quit

-- Agents bound to database roles (CONTRACT §11).
ALTER TABLE vicidial.vicidial_users ADD COLUMN db_role text;

-- I10: INCALL can never be dialed by the fill; stuck calls time out.
ALTER TABLE vicidial.vicidial_campaigns
    ADD CONSTRAINT dial_statuses_without_incall CHECK ('INCALL' <> ALL (dial_statuses)),
    ADD COLUMN incall_timeout_minutes integer NOT NULL DEFAULT 0
        CONSTRAINT incall_timeout_minutes_range CHECK (incall_timeout_minutes BETWEEN 0 AND 1440);
CREATE INDEX vicidial_list_incall ON vicidial.vicidial_list (last_local_call_time)
    WHERE status = 'INCALL';

-- Renames that would rewrite ARCHIVE rows are refused rather than cascaded.
ALTER TABLE vicidial.vicidial_callbacks
    DROP CONSTRAINT vicidial_callbacks_list_id_fkey,
    DROP CONSTRAINT vicidial_callbacks_campaign_id_fkey,
    DROP CONSTRAINT vicidial_callbacks_user_fkey,
    ADD CONSTRAINT vicidial_callbacks_list_id_fkey FOREIGN KEY (list_id) REFERENCES vicidial.vicidial_lists,
    ADD CONSTRAINT vicidial_callbacks_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES vicidial.vicidial_campaigns,
    ADD CONSTRAINT vicidial_callbacks_user_fkey FOREIGN KEY ("user") REFERENCES vicidial.vicidial_users;

-- The fill's index gains the lead's zone (11_tables_1.1.sql builds it).
DROP INDEX vicidial.vicidial_list_fill;

-- hopper_run's private lock replaces the public advisory lock key.
CREATE TABLE vicidial.hopper_run_lock ();

-- The release now takes lead ids (the sweep serves every LIVE ANYONE
-- callback whose lead still waits, not only the ones it just flipped).
DROP FUNCTION vicidial._release_anyone(bigint[], timestamptz);

-- I2 and I11 are checked once per statement, through a queue of touched
-- leads, instead of by four row-level constraint triggers.
DROP TRIGGER leads_consistent_insert ON vicidial.vicidial_list;
DROP TRIGGER leads_consistent_update ON vicidial.vicidial_list;
DROP TRIGGER callbacks_consistent_insert ON vicidial.vicidial_callbacks;
DROP TRIGGER callbacks_consistent_update ON vicidial.vicidial_callbacks;
DROP FUNCTION vicidial._lead_callback_consistency();
CREATE TABLE vicidial.lead_checks (
    check_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_ids bigint[] NOT NULL
);

-- Calling hours: the window checks take the lead's zone and hours.
DROP FUNCTION vicidial._check_callback_time(timestamptz, vicidial.vicidial_campaigns);
DROP FUNCTION vicidial._callback_window(integer);
DROP FUNCTION vicidial._half_hour_start(timestamptz);

-- Functions whose arguments or result columns change are dropped and
-- created again (callback_slots(d) would otherwise be ambiguous between
-- the two- and three-argument forms). The EXECUTE grants made on them are
-- kept here, under the new signatures, and made again by the privileges
-- file, which then drops this table.
CREATE TABLE vicidial.upgrade_saved_grants AS
SELECT CASE f.oid WHEN 'vicidial.callback_slots(date, varchar)'::regprocedure
                  THEN 'vicidial.callback_slots(date, varchar, bigint)'
                  ELSE f.oid::regprocedure::text END AS signature,
       pg_get_userbyid(a.grantee) AS grantee, a.is_grantable
  FROM pg_catalog.pg_proc f
 CROSS JOIN LATERAL aclexplode(f.proacl) a
 WHERE f.oid IN ('vicidial.callback_slots(date, varchar)'::regprocedure,
                 'vicidial.agent_callbacks(varchar)'::regprocedure,
                 'vicidial.callbacks_report(varchar, bigint, varchar, text, timestamptz, timestamptz, text, boolean, integer, integer)'::regprocedure)
   AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> f.proowner;
DROP FUNCTION vicidial.callback_slots(date, varchar);
DROP FUNCTION vicidial.agent_callbacks(varchar);
DROP FUNCTION vicidial.callbacks_report(varchar, bigint, varchar, text, timestamptz, timestamptz, text, boolean, integer, integer);
