-- 1.0 -> 1.1, the schema changes. The build appends every replayable file
-- of sql/install (functions, triggers, views, privileges) after this one,
-- so what follows here is only what CREATE OR REPLACE cannot do: new and
-- changed columns, constraints, indexes and tables, and data the new rules
-- need. The upgrade test proves the result equals a fresh 1.1 install.

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

CREATE INDEX vicidial_callbacks_live_anyone ON vicidial.vicidial_callbacks (lead_id)
    WHERE status = 'LIVE' AND recipient = 'ANYONE';


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
