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

-- Leads: modify_date on every update; I3 from the lead's side.
CREATE OR REPLACE FUNCTION vicidial._leads_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.modify_date := now();
    IF NEW.status = 'CBHOLD' AND OLD.status <> 'CBHOLD'
       AND EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = NEW.lead_id) THEN
        RAISE EXCEPTION 'lead % is in the hopper and cannot be CBHOLD', NEW.lead_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER leads_guard BEFORE UPDATE ON vicidial.vicidial_list
    FOR EACH ROW EXECUTE FUNCTION vicidial._leads_guard();

-- I3 from the hopper's side. The lead is share-locked so that a concurrent
-- change of its status is seen, not raced.
CREATE OR REPLACE FUNCTION vicidial._hopper_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM FROM vicidial.vicidial_list l
      WHERE l.lead_id = NEW.lead_id AND l.status = 'CBHOLD'
      FOR SHARE;
    IF FOUND THEN
        RAISE EXCEPTION 'lead % is CBHOLD and cannot be put in the hopper', NEW.lead_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER hopper_guard BEFORE INSERT OR UPDATE OF lead_id ON vicidial.vicidial_hopper
    FOR EACH ROW EXECUTE FUNCTION vicidial._hopper_guard();

-- I2, checked at commit: a CBHOLD lead has an open callback; a lead with an
-- ACTIVE callback is CBHOLD, or INCALL while someone is calling it early.
CREATE OR REPLACE FUNCTION vicidial._lead_callback_consistency() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lead_status varchar;
    active_callback bigint;
BEGIN
    SELECT l.status INTO lead_status FROM vicidial.vicidial_list l WHERE l.lead_id = NEW.lead_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF lead_status = 'CBHOLD'
       AND NOT EXISTS (SELECT 1 FROM vicidial.vicidial_callbacks c
                        WHERE c.lead_id = NEW.lead_id AND c.status IN ('ACTIVE', 'LIVE')) THEN
        RAISE EXCEPTION 'lead % is CBHOLD but has no open callback', NEW.lead_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF lead_status NOT IN ('CBHOLD', 'INCALL') THEN
        SELECT c.callback_id INTO active_callback FROM vicidial.vicidial_callbacks c
         WHERE c.lead_id = NEW.lead_id AND c.status = 'ACTIVE';
        IF FOUND THEN
            RAISE EXCEPTION 'lead % is % but its callback % is ACTIVE', NEW.lead_id, lead_status, active_callback
                USING ERRCODE = 'check_violation',
                      HINT = 'a lead with an ACTIVE callback is CBHOLD';
        END IF;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS leads_consistent_insert ON vicidial.vicidial_list;
CREATE CONSTRAINT TRIGGER leads_consistent_insert AFTER INSERT ON vicidial.vicidial_list
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.status = 'CBHOLD')
    EXECUTE FUNCTION vicidial._lead_callback_consistency();
DROP TRIGGER IF EXISTS leads_consistent_update ON vicidial.vicidial_list;
CREATE CONSTRAINT TRIGGER leads_consistent_update AFTER UPDATE OF status ON vicidial.vicidial_list
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.status = 'CBHOLD' OR OLD.status IN ('CBHOLD', 'INCALL'))
    EXECUTE FUNCTION vicidial._lead_callback_consistency();
DROP TRIGGER IF EXISTS callbacks_consistent_insert ON vicidial.vicidial_callbacks;
CREATE CONSTRAINT TRIGGER callbacks_consistent_insert AFTER INSERT ON vicidial.vicidial_callbacks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION vicidial._lead_callback_consistency();
-- ACTIVE->LIVE cannot break I2, so the sweep's flips are not re-checked.
DROP TRIGGER IF EXISTS callbacks_consistent_update ON vicidial.vicidial_callbacks;
CREATE CONSTRAINT TRIGGER callbacks_consistent_update AFTER UPDATE OF status ON vicidial.vicidial_callbacks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.status IN ('ACTIVE', 'ARCHIVE') AND OLD.status <> NEW.status)
    EXECUTE FUNCTION vicidial._lead_callback_consistency();
