-- The callback state machine, enforced on every write: the API's
-- functions and a front end's direct INSERT/UPDATE/DELETE meet the same
-- triggers, which run as the extension owner so that a role granted only
-- DML on the table still meets every check. Rules spanning a lead and its
-- callbacks are in 32_consistency.sql; what may be dialed, in
-- 31_dial_guards.sql.

-- Callbacks: insert as ACTIVE only; ACTIVE->LIVE, ACTIVE->ARCHIVE,
-- LIVE->ARCHIVE, LIVE->ACTIVE (to a later time); ARCHIVE is final.
CREATE OR REPLACE FUNCTION vicidial._callbacks_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    campaign vicidial.vicidial_campaigns;
    hours vicidial.lead_hours;
    owner vicidial.vicidial_users;
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
        -- set by the engine when the time is set, below
        NEW.customer_timezone := OLD.customer_timezone;
        NEW.retry_base_time := OLD.retry_base_time;
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
        -- archived by an admin or by hand unless the writer says why
        IF OLD.status <> 'ARCHIVE' THEN
            NEW.archive_reason := coalesce(NEW.archive_reason, 'CANCELLED');
        END IF;
        RETURN NEW;
    END IF;

    campaign := vicidial._campaign(NEW.campaign_id);
    -- Asked of an insert only, in a statement of its own: a condition
    -- joining TG_OP to the query would be planned anew at every update.
    IF TG_OP = 'INSERT' THEN
        -- I9: no open callback for a number on an applicable do-not-call list.
        IF (SELECT d.dnc_status FROM vicidial.lead_dnc d WHERE d.lead_id = NEW.lead_id) IS NOT NULL THEN
            RAISE EXCEPTION 'lead %''s number is on a do-not-call list: it cannot have a callback', NEW.lead_id
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        IF NOT campaign.scheduled_callbacks THEN
            RAISE EXCEPTION 'campaign "%" does not allow scheduled callbacks', campaign.campaign_id
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.callback_time IS DISTINCT FROM OLD.callback_time THEN
        hours := vicidial._lead_hours(NEW.lead_id);
        PERFORM vicidial._check_callback_time(NEW.callback_time, campaign, hours);
        NEW.customer_timezone := hours.zone;
        -- a retry keeps counting from the time it was given
        IF NOT EXISTS (SELECT 1 FROM vicidial.retrying_callbacks r WHERE r.callback_id = NEW.callback_id) THEN
            NEW.retry_base_time := NEW.callback_time;
        END IF;
    END IF;
    IF NEW.recipient = 'USERONLY'
       AND (TG_OP = 'INSERT' OR OLD.recipient <> 'USERONLY' OR NEW."user" IS DISTINCT FROM OLD."user") THEN
        -- The owner is locked, then tested: a deactivation committed
        -- meanwhile is seen, and a later one waits for this transaction and
        -- then hands this callback to anyone. It is the lock the active
        -- limit takes, which the API's callers hold already.
        SELECT * INTO owner FROM vicidial.vicidial_users u WHERE u."user" = NEW."user" FOR NO KEY UPDATE;
        IF NOT coalesce(owner.agentonly_callbacks, false) THEN
            RAISE EXCEPTION 'agent "%" may not own USERONLY callbacks', NEW."user"
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'USERONLY callbacks need the agent''s agentonly_callbacks';
        END IF;
        -- deactivation hands an agent's USERONLY callbacks to anyone; none comes back
        IF NOT owner.active THEN
            RAISE EXCEPTION 'agent "%" is inactive and cannot own USERONLY callbacks', NEW."user"
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        PERFORM vicidial._check_active_limit(NEW."user", campaign, NEW.lead_id);
    END IF;
    RETURN NEW;
END $$;

-- A restore loads rows in the states they had (LIVE, ARCHIVE): a
-- superuser's load is not checked row by row (see _restoring_dump).
CREATE OR REPLACE TRIGGER callbacks_guard_insert BEFORE INSERT ON vicidial.vicidial_callbacks
    FOR EACH ROW WHEN (NOT vicidial._restoring_dump()) EXECUTE FUNCTION vicidial._callbacks_guard();
-- An open callback whose writer set modify_date to now() itself and
-- changed nothing but its count of attempts, or that and a flip from
-- ACTIVE to LIVE (the sweep), has nothing to check or set: the guard is
-- skipped without a call, so that a sweep of many rows pays for no
-- row-by-row check, and a dial of a callback for no guard. A NULL where
-- the writer owed a value runs the guard.
CREATE OR REPLACE TRIGGER callbacks_guard BEFORE UPDATE ON vicidial.vicidial_callbacks
    FOR EACH ROW
    WHEN (NOT coalesce(OLD.status IN ('ACTIVE', 'LIVE') AND NEW.status IN (OLD.status, 'LIVE')
                       AND NEW.modify_date = now()
                       AND vicidial._changed_only(OLD, NEW, '{status,modify_date,attempts}'), false))
    EXECUTE FUNCTION vicidial._callbacks_guard();

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
