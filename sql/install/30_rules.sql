-- The state machine and the invariants, enforced on every write: the API's
-- functions and a front end's direct INSERT/UPDATE/DELETE meet the same
-- triggers. Rules spanning a lead and its callbacks (I2) are deferred to
-- commit, since any correct change touches both in some order. Trigger
-- functions run as the extension owner so that a role granted only DML on
-- one table still meets every check.

-- Callbacks: insert as ACTIVE only; ACTIVE->LIVE, ACTIVE->ARCHIVE,
-- LIVE->ARCHIVE, LIVE->ACTIVE (to a later time); ARCHIVE is final.
CREATE OR REPLACE FUNCTION vicidial._callbacks_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    campaign vicidial.vicidial_campaigns;
BEGIN
    -- A restore loads rows in the states they had: LIVE, ARCHIVE.
    IF TG_OP = 'INSERT' AND vicidial._restoring_dump() THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF OLD.status = 'ARCHIVE' THEN
            RAISE EXCEPTION 'callback % is ARCHIVE and cannot change', OLD.callback_id
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        IF NEW.callback_id <> OLD.callback_id OR NEW.lead_id <> OLD.lead_id THEN
            RAISE EXCEPTION 'callback %: callback_id and lead_id cannot change', OLD.callback_id
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        PERFORM vicidial._check_callback_status(NEW.status);
        IF NEW.status <> OLD.status
           AND (OLD.status, NEW.status) NOT IN (('ACTIVE', 'LIVE'), ('ACTIVE', 'ARCHIVE'),
                                                ('LIVE', 'ARCHIVE'), ('LIVE', 'ACTIVE')) THEN
            RAISE EXCEPTION 'callback % cannot go from % to %', OLD.callback_id, OLD.status, NEW.status
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        IF OLD.status = 'LIVE' AND NEW.status = 'ACTIVE' AND NEW.callback_time <= now() THEN
            RAISE EXCEPTION 'callback % can go back to ACTIVE only with a callback_time in the future', OLD.callback_id
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        NEW.modify_date := now();
    ELSE
        PERFORM vicidial._check_callback_status(NEW.status);
        IF NEW.status <> 'ACTIVE' THEN
            RAISE EXCEPTION 'a new callback must be ACTIVE, not %', NEW.status
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        -- A front end may give only the lead: the callback belongs to its list and campaign.
        SELECT coalesce(NEW.list_id, l.list_id), coalesce(NEW.campaign_id, li.campaign_id)
          INTO NEW.list_id, NEW.campaign_id
          FROM vicidial.vicidial_list l JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id
         WHERE l.lead_id = NEW.lead_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'lead % does not exist', NEW.lead_id USING ERRCODE = 'no_data_found';
        END IF;
    END IF;

    PERFORM vicidial._check_recipient(NEW.recipient);
    PERFORM vicidial._check_lead_status(NEW.lead_status);
    IF NEW.status = 'ARCHIVE' THEN
        RETURN NEW;
    END IF;

    campaign := vicidial._campaign(NEW.campaign_id);
    IF TG_OP = 'INSERT' AND NOT campaign.scheduled_callbacks THEN
        RAISE EXCEPTION 'campaign "%" does not allow scheduled callbacks', campaign.campaign_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF TG_OP = 'INSERT' OR NEW.callback_time IS DISTINCT FROM OLD.callback_time THEN
        PERFORM vicidial._check_callback_time(NEW.callback_time, campaign);
    END IF;
    IF NEW.recipient = 'USERONLY'
       AND (TG_OP = 'INSERT' OR OLD.recipient <> 'USERONLY' OR NEW."user" IS DISTINCT FROM OLD."user")
       AND NOT EXISTS (SELECT 1 FROM vicidial.vicidial_users u
                        WHERE u."user" = NEW."user" AND u.agentonly_callbacks) THEN
        RAISE EXCEPTION 'agent "%" may not own USERONLY callbacks', NEW."user"
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'USERONLY callbacks need the agent''s agentonly_callbacks';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER callbacks_guard BEFORE INSERT OR UPDATE ON vicidial.vicidial_callbacks
    FOR EACH ROW EXECUTE FUNCTION vicidial._callbacks_guard();

-- I6: no callback row is lost, open or archived.
CREATE OR REPLACE FUNCTION vicidial._callbacks_keep() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'callbacks are kept forever and cannot be truncated'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RAISE EXCEPTION 'callback % is % and cannot be deleted', OLD.callback_id, OLD.status
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'archive it instead: callbacks are kept forever';
END $$;

CREATE OR REPLACE TRIGGER callbacks_keep BEFORE DELETE ON vicidial.vicidial_callbacks
    FOR EACH ROW EXECUTE FUNCTION vicidial._callbacks_keep();
CREATE OR REPLACE TRIGGER callbacks_keep_truncate BEFORE TRUNCATE ON vicidial.vicidial_callbacks
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._callbacks_keep();

-- Campaigns: dial statuses are status texts (CBHOLD and INCALL are refused
-- by the table's checks).
CREATE OR REPLACE FUNCTION vicidial._campaigns_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._check_status_text(s) FROM unnest(NEW.dial_statuses) s;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER campaigns_guard BEFORE INSERT OR UPDATE OF dial_statuses ON vicidial.vicidial_campaigns
    FOR EACH ROW EXECUTE FUNCTION vicidial._campaigns_guard();

-- Leads: modify_date on every update; I3 and I10 from the lead's side. The
-- row is locked before this runs, so a hopper insert racing it has either
-- committed (and is seen) or waits for this transaction.
CREATE OR REPLACE FUNCTION vicidial._leads_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.modify_date := now();
    IF NEW.status IN ('CBHOLD', 'INCALL') AND OLD.status <> NEW.status
       AND EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = NEW.lead_id) THEN
        RAISE EXCEPTION 'lead % is in the hopper and cannot be %', NEW.lead_id, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER leads_guard BEFORE UPDATE ON vicidial.vicidial_list
    FOR EACH ROW EXECUTE FUNCTION vicidial._leads_guard();

-- I3 and I10 from the hopper's side. Lock the lead, then test its status:
-- a filter on the status in the locking statement would read the row
-- before the lock and let a concurrent scheduling or dial through.
CREATE OR REPLACE FUNCTION vicidial._hopper_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lead_status varchar;
BEGIN
    SELECT l.status INTO lead_status FROM vicidial.vicidial_list l WHERE l.lead_id = NEW.lead_id FOR SHARE;
    IF lead_status IN ('CBHOLD', 'INCALL') THEN
        RAISE EXCEPTION 'lead % is % and cannot be put in the hopper', NEW.lead_id, lead_status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER hopper_guard BEFORE INSERT OR UPDATE OF lead_id ON vicidial.vicidial_hopper
    FOR EACH ROW EXECUTE FUNCTION vicidial._hopper_guard();

-- I2 and I11, checked at commit: a CBHOLD lead has an open callback; a lead
-- with an ACTIVE callback is CBHOLD, or INCALL while someone is calling it
-- early; a lead with an open USERONLY callback is CBHOLD, or INCALL held by
-- the callback's owner. The lead is locked before it is read, so a writer
-- of the lead and a writer of its callback never both pass on stale reads.
CREATE OR REPLACE FUNCTION vicidial._lead_callback_consistency() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lead vicidial.vicidial_list;
    open_callback vicidial.vicidial_callbacks;
BEGIN
    -- A restore loads leads and callbacks in separate statements.
    IF TG_OP = 'INSERT' AND vicidial._restoring_dump() THEN
        RETURN NULL;
    END IF;
    SELECT * INTO lead FROM vicidial.vicidial_list l WHERE l.lead_id = NEW.lead_id FOR SHARE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- I1 leaves at most one.
    SELECT * INTO open_callback FROM vicidial.vicidial_callbacks c
     WHERE c.lead_id = NEW.lead_id AND c.status IN ('ACTIVE', 'LIVE');
    IF lead.status = 'CBHOLD' AND open_callback.callback_id IS NULL THEN
        RAISE EXCEPTION 'lead % is CBHOLD but has no open callback', lead.lead_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF open_callback.status = 'ACTIVE' AND lead.status NOT IN ('CBHOLD', 'INCALL') THEN
        RAISE EXCEPTION 'lead % is % but its callback % is ACTIVE', lead.lead_id, lead.status, open_callback.callback_id
            USING ERRCODE = 'check_violation',
                  HINT = 'a lead with an ACTIVE callback is CBHOLD';
    END IF;
    IF open_callback.recipient = 'USERONLY' AND lead.status <> 'CBHOLD'
       AND NOT (lead.status = 'INCALL' AND lead."user" IS NOT DISTINCT FROM open_callback."user") THEN
        RAISE EXCEPTION 'lead % is % but its callback % is % for agent "%" only', lead.lead_id, lead.status,
            open_callback.callback_id, open_callback.status, open_callback."user"
            USING ERRCODE = 'check_violation',
                  HINT = 'a lead with an open USERONLY callback is CBHOLD, or INCALL with the callback''s owner';
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS leads_consistent_insert ON vicidial.vicidial_list;
CREATE CONSTRAINT TRIGGER leads_consistent_insert AFTER INSERT ON vicidial.vicidial_list
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.status = 'CBHOLD')
    EXECUTE FUNCTION vicidial._lead_callback_consistency();
DROP TRIGGER IF EXISTS leads_consistent_update ON vicidial.vicidial_list;
CREATE CONSTRAINT TRIGGER leads_consistent_update AFTER UPDATE OF status, "user" ON vicidial.vicidial_list
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.status = 'CBHOLD' OR OLD.status IN ('CBHOLD', 'INCALL'))
    EXECUTE FUNCTION vicidial._lead_callback_consistency();
DROP TRIGGER IF EXISTS callbacks_consistent_insert ON vicidial.vicidial_callbacks;
CREATE CONSTRAINT TRIGGER callbacks_consistent_insert AFTER INSERT ON vicidial.vicidial_callbacks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION vicidial._lead_callback_consistency();
-- ACTIVE->LIVE cannot break I2 or I11, so the sweep's flips are not re-checked.
DROP TRIGGER IF EXISTS callbacks_consistent_update ON vicidial.vicidial_callbacks;
CREATE CONSTRAINT TRIGGER callbacks_consistent_update AFTER UPDATE OF status, recipient, "user" ON vicidial.vicidial_callbacks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.status <> NEW.status AND NEW.status IN ('ACTIVE', 'ARCHIVE'))
          OR (NEW.recipient = 'USERONLY' AND NEW.status <> 'ARCHIVE'
              AND (OLD.recipient <> NEW.recipient OR OLD."user" IS DISTINCT FROM NEW."user")))
    EXECUTE FUNCTION vicidial._lead_callback_consistency();
