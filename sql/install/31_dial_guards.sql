-- What may be dialed, from the side of each table that could let a lead
-- slip to an agent: a campaign's dial statuses, a lead becoming CBHOLD or
-- INCALL, a row put in the hopper (I3, I10); and the leads' modify_date,
-- lead_id and status text.

-- Campaigns: dial and retry statuses are status texts (CBHOLD, INCALL and
-- CALLBK are refused where they do not belong by the table's checks).
CREATE OR REPLACE FUNCTION vicidial._campaigns_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._check_status_text(s) FROM unnest(NEW.dial_statuses || NEW.callback_retry_statuses) s;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER campaigns_guard BEFORE INSERT OR UPDATE OF dial_statuses, callback_retry_statuses ON vicidial.vicidial_campaigns
    FOR EACH ROW EXECUTE FUNCTION vicidial._campaigns_guard();

-- Leads: modify_date is now() after every update; set here unless the
-- writer set it so (every function of the API does, in its statement).
CREATE OR REPLACE FUNCTION vicidial._touch_modify_date() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.modify_date := now();
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER leads_modified BEFORE UPDATE ON vicidial.vicidial_list
    FOR EACH ROW WHEN (NEW.modify_date IS DISTINCT FROM now())
    EXECUTE FUNCTION vicidial._touch_modify_date();

-- Leads: a lead keeps its lead_id, which its dials, its callbacks and
-- their history name (renumbered, it would leave its 24-hour limit and an
-- open dial behind); a call stays with its agent until it ends (I10: no
-- function moves one, and the agent it was handed to would end another's
-- call); and its status is a status text, as every function requires of
-- the statuses it is given. A restore loads rows as they were.
CREATE OR REPLACE FUNCTION vicidial._leads_row_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.lead_id <> OLD.lead_id THEN
        RAISE EXCEPTION 'lead %: lead_id cannot change', OLD.lead_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'a lead''s dials and callbacks name it by its lead_id';
    END IF;
    -- (a call left to nobody is the INCALL check constraint's, 23514)
    IF TG_OP = 'UPDATE' AND OLD.status = 'INCALL' AND NEW.status = 'INCALL' AND NEW."user" <> OLD."user" THEN
        RAISE EXCEPTION 'lead % is on a call with agent "%", which cannot be handed to "%"', OLD.lead_id, OLD."user", NEW."user"
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'end the call first (lead_disposition, or agent_release for a stuck call)';
    END IF;
    PERFORM vicidial._check_status_text(NEW.status);
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER leads_row_guard_insert BEFORE INSERT ON vicidial.vicidial_list
    FOR EACH ROW WHEN (NOT vicidial._is_status_text(NEW.status) AND NOT vicidial._restoring_dump())
    EXECUTE FUNCTION vicidial._leads_row_guard();
CREATE OR REPLACE TRIGGER leads_row_guard BEFORE UPDATE OF lead_id, status, "user" ON vicidial.vicidial_list
    FOR EACH ROW WHEN (NEW.lead_id <> OLD.lead_id
                       OR (OLD.status = 'INCALL' AND NEW.status = 'INCALL' AND NEW."user" <> OLD."user")
                       OR (NEW.status IS DISTINCT FROM OLD.status AND NOT vicidial._is_status_text(NEW.status)))
    EXECUTE FUNCTION vicidial._leads_row_guard();

-- I3 and I10 from the lead's side, when a lead becomes CBHOLD or INCALL.
-- The row is locked before this runs, so a hopper insert racing it has
-- either committed (and is seen) or waits for this transaction; seen only
-- by a READ COMMITTED statement, whose snapshot is taken after the lock: a
-- REPEATABLE READ or SERIALIZABLE one would miss a row queued since its
-- snapshot, so such a change is refused there, as the functions that make
-- it are. A lead held again beside a LIVE ANYONE callback waits for its
-- release.
CREATE OR REPLACE FUNCTION vicidial._leads_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._refuse_unless_read_committed(
        format('lead %s can be made %s only in a READ COMMITTED transaction', NEW.lead_id, NEW.status),
        'a hopper row queued after this transaction''s snapshot would not be seen');
    IF EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = NEW.lead_id) THEN
        RAISE EXCEPTION 'lead % is in the hopper and cannot be %', NEW.lead_id, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status = 'CBHOLD' THEN
        PERFORM vicidial._queue_releases(ARRAY(
            SELECT c.lead_id FROM vicidial.vicidial_callbacks c
             WHERE c.lead_id = NEW.lead_id AND c.status = 'LIVE' AND c.recipient = 'ANYONE'));
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER leads_guard BEFORE UPDATE OF status ON vicidial.vicidial_list
    FOR EACH ROW WHEN (NEW.status IN ('CBHOLD', 'INCALL') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION vicidial._leads_guard();

-- I3 and I10 from the hopper's side, once per statement over the rows it
-- queued. Lock the leads, then test their status: a filter on the status
-- in the locking statement would read a row before its lock and let a
-- concurrent scheduling or dial through. Locked rows are read as they are
-- now, so the test sees what a racing writer committed.
CREATE OR REPLACE FUNCTION vicidial._hopper_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    refused record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        WITH locked AS (
            SELECT l.lead_id, l.status FROM vicidial.vicidial_list l
             WHERE l.lead_id IN (SELECT q.lead_id FROM queued q)
             ORDER BY l.lead_id
               FOR SHARE)
        SELECT k.lead_id, k.status INTO refused FROM locked k WHERE k.status IN ('CBHOLD', 'INCALL') LIMIT 1;
    ELSE
        -- Only a lead that an update brings into the hopper: a row's own
        -- lead cannot have become CBHOLD or INCALL while queued (the
        -- leads' guard), and a run that makes a waiting row READY again
        -- must not wait on the lead locks of agents' calls, nor on a lock
        -- of the whole leads table: with no such lead, no lead is locked.
        IF NOT EXISTS (SELECT q.lead_id FROM queued q EXCEPT SELECT o.lead_id FROM unqueued o) THEN
            RETURN NULL;
        END IF;
        WITH locked AS (
            SELECT l.lead_id, l.status FROM vicidial.vicidial_list l
             WHERE l.lead_id IN (SELECT q.lead_id FROM queued q EXCEPT SELECT o.lead_id FROM unqueued o)
             ORDER BY l.lead_id
               FOR SHARE)
        SELECT k.lead_id, k.status INTO refused FROM locked k WHERE k.status IN ('CBHOLD', 'INCALL') LIMIT 1;
    END IF;
    IF FOUND THEN
        RAISE EXCEPTION 'lead % is % and cannot be put in the hopper', refused.lead_id, refused.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

-- The campaigns among these that no other transaction holds FOR UPDATE,
-- deletes or gives a new key, locked FOR KEY SHARE as the hopper's foreign
-- key on its campaign locks them, skipping the others: so a run that
-- queues one campaign's leads never waits for a transaction that holds
-- another's row (an admin's front end, left open), and a lead whose
-- campaign is held so waits for a later run.
CREATE OR REPLACE FUNCTION vicidial._lock_hopper_campaigns(campaign_ids varchar[]) RETURNS varchar[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN ARRAY(SELECT cp.campaign_id FROM vicidial.vicidial_campaigns cp
                  WHERE cp.campaign_id = ANY (campaign_ids) ORDER BY cp.campaign_id
                    FOR KEY SHARE SKIP LOCKED);
END $$;

-- Queues these entries in the hopper as READY, in the order given (a lead
-- already queued keeps its row), and returns how many went in: the one
-- insert of the release and of the fill, which pick their entries in
-- statements planned for the values they hold (force_custom_plan). The
-- hopper's foreign keys are checked row by row, each check a query of its
-- own that follows plan_cache_mode: under the pickers' setting every
-- check was planned anew, most of the cost of a large release. Here the
-- checks run their cached plans, and the insert, which reads only the
-- array, has no plan to choose.
CREATE OR REPLACE FUNCTION vicidial._queue_in_hopper(entries vicidial.hopper_entry[]) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET plan_cache_mode = auto AS $$
DECLARE
    free_campaigns varchar[];
    queued integer;
BEGIN
    -- an entry of a campaign held as _lock_hopper_campaigns says is left out
    free_campaigns := vicidial._lock_hopper_campaigns(ARRAY(SELECT DISTINCT e.campaign_id FROM unnest(entries) AS e));
    INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id, status, priority, source, entry_time,
                                          hours_zone, hours_call_times, hours_keyed_on)
    SELECT e.lead_id, e.campaign_id, e.list_id, 'READY', e.priority, e.source, e.entry_time,
           e.hours_zone, e.hours_call_times, e.hours_keyed_on
      FROM unnest(entries) WITH ORDINALITY AS e
     WHERE e.campaign_id = ANY (free_campaigns)
     ORDER BY e.ordinality
    ON CONFLICT (lead_id) DO NOTHING;
    GET DIAGNOSTICS queued = ROW_COUNT;
    RETURN queued;
END $$;

CREATE OR REPLACE TRIGGER hopper_guard AFTER INSERT ON vicidial.vicidial_hopper
    REFERENCING NEW TABLE AS queued
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._hopper_guard();
CREATE OR REPLACE TRIGGER hopper_guard_update AFTER UPDATE ON vicidial.vicidial_hopper
    REFERENCING OLD TABLE AS unqueued NEW TABLE AS queued
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._hopper_guard();
