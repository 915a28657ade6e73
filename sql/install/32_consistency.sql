-- A lead and its callbacks agree (I2, I11): checked at commit, since any
-- correct change touches both in some order, once per statement that
-- touched them.

-- I2 and I11, checked at commit: a CBHOLD lead has an open callback; a lead
-- with an ACTIVE callback is CBHOLD, or INCALL while someone is calling it
-- early; a lead with an open USERONLY callback is CBHOLD, or INCALL held by
-- the callback's owner.
--
-- Checked once per statement, not once per row: statement triggers queue
-- the leads a statement touched in a way that can break a rule (one row
-- of vicidial.lead_checks holding their ids), and a deferred constraint
-- trigger on that queue checks them together at commit (or at once, under
-- SET CONSTRAINTS IMMEDIATE). The leads are locked, in order, before they
-- are read, so a writer of a lead and a writer of its callback never both
-- pass on stale reads.
CREATE OR REPLACE FUNCTION vicidial._check_leads() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- the statements below probe per lead whatever the queue's length: one
-- generic plan, not a re-planning at every commit; and nested loops, which
-- those probes are, whatever the caller set (a session that made the
-- checks IMMEDIATE runs this inside the statement that queued the leads,
-- under whatever settings that statement's function made)
SET plan_cache_mode = force_generic_plan SET enable_nestloop = on AS $$
DECLARE
    broken record;
BEGIN
    -- Each statement below walks the queued ids in order and probes each
    -- lead and its open callback through their unique indexes (the LIMIT 1
    -- subqueries keep the planner from joining otherwise): the cost follows
    -- the leads queued, never the size of the tables, whatever the
    -- statistics say. The leads are locked in order first, then read.
    PERFORM FROM (SELECT DISTINCT q.lead_id FROM unnest(NEW.lead_ids) AS q(lead_id) ORDER BY q.lead_id) queued
     CROSS JOIN LATERAL (SELECT 1 FROM vicidial.vicidial_list l WHERE l.lead_id = queued.lead_id
                           FOR SHARE) locked;
    SELECT queued.lead_id, l.status, c.callback_id, c.status AS callback_status, c."user" AS owner,
           CASE WHEN l.status = 'CBHOLD' AND c.callback_id IS NULL THEN 'I2 hold'
                WHEN c.status = 'ACTIVE' AND l.status NOT IN ('CBHOLD', 'INCALL') THEN 'I2 active'
                ELSE 'I11' END AS rule
      INTO broken
      FROM (SELECT DISTINCT q.lead_id FROM unnest(NEW.lead_ids) AS q(lead_id) ORDER BY q.lead_id) queued
     CROSS JOIN LATERAL (
            SELECT k.status, k."user" FROM vicidial.vicidial_list k WHERE k.lead_id = queued.lead_id LIMIT 1) l
      LEFT JOIN LATERAL (
            SELECT o.callback_id, o.status, o.recipient, o."user" FROM vicidial.vicidial_callbacks o
             WHERE o.lead_id = queued.lead_id AND o.status IN ('ACTIVE', 'LIVE')
             LIMIT 1) c ON true
     WHERE (l.status = 'CBHOLD' AND c.callback_id IS NULL)
        OR (c.status = 'ACTIVE' AND l.status NOT IN ('CBHOLD', 'INCALL'))
        OR (c.recipient = 'USERONLY' AND l.status <> 'CBHOLD'
            AND NOT (l.status = 'INCALL' AND l."user" IS NOT DISTINCT FROM c."user"))
     ORDER BY queued.lead_id
     LIMIT 1;
    IF broken.rule = 'I2 hold' THEN
        RAISE EXCEPTION 'lead % is CBHOLD but has no open callback', broken.lead_id
            USING ERRCODE = 'check_violation';
    ELSIF broken.rule = 'I2 active' THEN
        RAISE EXCEPTION 'lead % is % but its callback % is ACTIVE', broken.lead_id, broken.status, broken.callback_id
            USING ERRCODE = 'check_violation',
                  HINT = 'a lead with an ACTIVE callback is CBHOLD';
    ELSIF broken.rule = 'I11' THEN
        RAISE EXCEPTION 'lead % is % but its callback % is % for agent "%" only', broken.lead_id, broken.status,
            broken.callback_id, broken.callback_status, broken.owner
            USING ERRCODE = 'check_violation',
                  HINT = 'a lead with an open USERONLY callback is CBHOLD, or INCALL with the callback''s owner';
    END IF;
    DELETE FROM vicidial.lead_checks q WHERE q.check_id = NEW.check_id;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS lead_checks_at_commit ON vicidial.lead_checks;
CREATE CONSTRAINT TRIGGER lead_checks_at_commit AFTER INSERT ON vicidial.lead_checks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION vicidial._check_leads();

-- Queue the leads one statement touched in a way that can break a rule,
-- read in C from the statement's transition tables, a pass over its rows
-- that plans nothing when nothing is queued (src/lead_changes.c,
-- src/callback_changes.c). A restore loads leads and callbacks in
-- separate statements and is not queued (the inserts' WHEN clauses).
--   leads: inserted as CBHOLD, or status or user changed into or out of
--   CBHOLD or INCALL.
CREATE OR REPLACE FUNCTION vicidial._queue_lead_checks_of_leads() RETURNS trigger
LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'vicidial_queue_lead_checks_of_leads';

--   callbacks: inserted, made ACTIVE or ARCHIVE, or made or moved as
--   USERONLY. ACTIVE->LIVE cannot break a rule: the sweep's flips queue
--   nothing.
CREATE OR REPLACE FUNCTION vicidial._queue_lead_checks_of_callbacks() RETURNS trigger
LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'vicidial_queue_lead_checks_of_callbacks';

CREATE OR REPLACE TRIGGER leads_checked_insert AFTER INSERT ON vicidial.vicidial_list
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT vicidial._restoring_dump()) EXECUTE FUNCTION vicidial._queue_lead_checks_of_leads();
CREATE OR REPLACE TRIGGER leads_checked_update AFTER UPDATE ON vicidial.vicidial_list
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._queue_lead_checks_of_leads();
CREATE OR REPLACE TRIGGER callbacks_checked_insert AFTER INSERT ON vicidial.vicidial_callbacks
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT vicidial._restoring_dump()) EXECUTE FUNCTION vicidial._queue_lead_checks_of_callbacks();
CREATE OR REPLACE TRIGGER callbacks_checked_update AFTER UPDATE ON vicidial.vicidial_callbacks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._queue_lead_checks_of_callbacks();
