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
    hours vicidial.lead_hours;
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
    -- I9: no open callback for a number on an applicable do-not-call list.
    IF TG_OP = 'INSERT'
       AND (SELECT d.dnc_status FROM vicidial.lead_dnc d WHERE d.lead_id = NEW.lead_id) IS NOT NULL THEN
        RAISE EXCEPTION 'lead %''s number is on a do-not-call list: it cannot have a callback', NEW.lead_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF TG_OP = 'INSERT' AND NOT campaign.scheduled_callbacks THEN
        RAISE EXCEPTION 'campaign "%" does not allow scheduled callbacks', campaign.campaign_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
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
        IF NOT EXISTS (SELECT 1 FROM vicidial.vicidial_users u
                        WHERE u."user" = NEW."user" AND u.agentonly_callbacks) THEN
            RAISE EXCEPTION 'agent "%" may not own USERONLY callbacks', NEW."user"
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'USERONLY callbacks need the agent''s agentonly_callbacks';
        END IF;
        -- deactivation hands an agent's USERONLY callbacks to anyone; none comes back
        IF NOT (SELECT u.active FROM vicidial.vicidial_users u WHERE u."user" = NEW."user") THEN
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
-- A pure ACTIVE->LIVE flip whose writer set modify_date to now() itself
-- (the sweep) is a legal transition with nothing else to check or set: the
-- guard is skipped without a call, so a sweep of many rows pays for no
-- row-by-row check.
CREATE OR REPLACE TRIGGER callbacks_guard BEFORE UPDATE ON vicidial.vicidial_callbacks
    FOR EACH ROW
    WHEN (NOT (OLD.status = 'ACTIVE' AND NEW.status = 'LIVE' AND NEW.modify_date = now()
               AND (NEW.callback_id, NEW.lead_id, NEW.list_id, NEW.campaign_id, NEW.entry_time, NEW.callback_time,
                    NEW."user", NEW.recipient, NEW.comments, NEW.lead_status, NEW.customer_timezone,
                    NEW.attempts, NEW.archive_reason, NEW.retry_base_time)
                   IS NOT DISTINCT FROM
                   (OLD.callback_id, OLD.lead_id, OLD.list_id, OLD.campaign_id, OLD.entry_time, OLD.callback_time,
                    OLD."user", OLD.recipient, OLD.comments, OLD.lead_status, OLD.customer_timezone,
                    OLD.attempts, OLD.archive_reason, OLD.retry_base_time)))
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

-- I3 and I10 from the lead's side, when a lead becomes CBHOLD or INCALL.
-- The row is locked before this runs, so a hopper insert racing it has
-- either committed (and is seen) or waits for this transaction. A lead
-- held again beside a LIVE ANYONE callback waits for its release.
CREATE OR REPLACE FUNCTION vicidial._leads_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = NEW.lead_id) THEN
        RAISE EXCEPTION 'lead % is in the hopper and cannot be %', NEW.lead_id, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status = 'CBHOLD' THEN
        INSERT INTO vicidial.callback_releases (lead_id, release_after)
        SELECT c.lead_id, '-infinity' FROM vicidial.vicidial_callbacks c
         WHERE c.lead_id = NEW.lead_id AND c.status = 'LIVE' AND c.recipient = 'ANYONE'
        ON CONFLICT (lead_id) DO UPDATE SET release_after = excluded.release_after;
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
        -- must not wait on the lead locks of agents' calls.
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

CREATE OR REPLACE TRIGGER hopper_guard AFTER INSERT ON vicidial.vicidial_hopper
    REFERENCING NEW TABLE AS queued
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._hopper_guard();
CREATE OR REPLACE TRIGGER hopper_guard_update AFTER UPDATE ON vicidial.vicidial_hopper
    REFERENCING OLD TABLE AS unqueued NEW TABLE AS queued
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._hopper_guard();

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
-- generic plan, not a re-planning (0.6 ms) at every commit
SET plan_cache_mode = force_generic_plan AS $$
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

-- Queue the leads one statement touched in a way that can break a rule. A
-- restore loads leads and callbacks in separate statements and is not
-- queued (the inserts' WHEN clauses).
--   leads: inserted as CBHOLD, or status or user changed into or out of
--   CBHOLD or INCALL.
CREATE OR REPLACE FUNCTION vicidial._queue_lead_checks_of_leads() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO vicidial.lead_checks (lead_ids)
        SELECT array_agg(n.lead_id) FROM new_rows n
         WHERE n.status = 'CBHOLD'
        HAVING count(*) > 0;
    ELSE
        INSERT INTO vicidial.lead_checks (lead_ids)
        SELECT array_agg(n.lead_id) FROM new_rows n JOIN old_rows o ON o.lead_id = n.lead_id
         WHERE (n.status = 'CBHOLD' OR o.status IN ('CBHOLD', 'INCALL'))
           AND (n.status <> o.status OR n."user" IS DISTINCT FROM o."user")
        HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END $$;

--   callbacks: inserted, made ACTIVE or ARCHIVE, or made or moved as
--   USERONLY. ACTIVE->LIVE cannot break a rule: the sweep's flips queue
--   nothing.
CREATE OR REPLACE FUNCTION vicidial._queue_lead_checks_of_callbacks() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO vicidial.lead_checks (lead_ids)
        SELECT array_agg(n.lead_id) FROM new_rows n
        HAVING count(*) > 0;
    ELSE
        INSERT INTO vicidial.lead_checks (lead_ids)
        SELECT array_agg(n.lead_id) FROM new_rows n JOIN old_rows o ON o.callback_id = n.callback_id
         WHERE (o.status <> n.status AND n.status IN ('ACTIVE', 'ARCHIVE'))
            OR (n.recipient = 'USERONLY' AND n.status <> 'ARCHIVE'
                AND (o.recipient <> n.recipient OR o."user" IS DISTINCT FROM n."user"))
        HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END $$;

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

-- A callback that became LIVE ANYONE, by any writer, has its lead waiting
-- for release: the next run releases it (inside its hours) unless the
-- writer already did, as every function of the API does in its own
-- transaction.
CREATE OR REPLACE FUNCTION vicidial._wait_for_release() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO vicidial.callback_releases (lead_id, release_after)
    SELECT n.lead_id, '-infinity' FROM new_rows n JOIN old_rows o ON o.callback_id = n.callback_id
     WHERE n.status = 'LIVE' AND n.recipient = 'ANYONE' AND (o.status <> 'LIVE' OR o.recipient <> 'ANYONE')
    ON CONFLICT (lead_id) DO UPDATE SET release_after = excluded.release_after;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER callbacks_wait_for_release AFTER UPDATE ON vicidial.vicidial_callbacks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._wait_for_release();

-- Agents: an agent named by any callback cannot be deleted, open ones
-- (they would lose their owner) or archived ones (kept forever, with the
-- name of who had them); deactivating an agent hands their open USERONLY
-- callbacks to anyone (user kept) in the same transaction, the LIVE ones'
-- leads released to the hopper as the sweep releases them (calling hours
-- apply).
CREATE OR REPLACE FUNCTION vicidial._agent_keeps_callbacks() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    named record;
BEGIN
    SELECT count(*) FILTER (WHERE c.status IN ('ACTIVE', 'LIVE')) AS open, count(*) FILTER (WHERE c.status = 'ARCHIVE') AS archived
      INTO named
      FROM vicidial.vicidial_callbacks c WHERE c."user" = OLD."user";
    IF named.open > 0 THEN
        RAISE EXCEPTION 'agent "%" owns % open callbacks and cannot be deleted', OLD."user", named.open
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'deactivate the agent (active = false) instead, or move the callbacks first';
    END IF;
    IF named.archived > 0 THEN
        RAISE EXCEPTION 'agent "%" is named by % archived callbacks, which are kept forever, and cannot be deleted',
            OLD."user", named.archived
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'deactivate the agent (active = false) instead';
    END IF;
    RETURN OLD;
END $$;

CREATE OR REPLACE TRIGGER agents_keep_callbacks BEFORE DELETE ON vicidial.vicidial_users
    FOR EACH ROW EXECUTE FUNCTION vicidial._agent_keeps_callbacks();

CREATE OR REPLACE FUNCTION vicidial._agent_deactivated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan
SET vicidial.change_reason = 'DEACTIVATED' AS $$
DECLARE
    held bigint[];
BEGIN
    held := vicidial._lock_leads(ARRAY(
        SELECT c.lead_id FROM vicidial.vicidial_callbacks c
         WHERE c."user" = NEW."user" AND c.recipient = 'USERONLY' AND c.status IN ('ACTIVE', 'LIVE')));
    UPDATE vicidial.vicidial_callbacks c SET recipient = 'ANYONE'
      FROM unnest(held) AS locked(lead_id)
     WHERE c.lead_id = locked.lead_id AND c."user" = NEW."user" AND c.recipient = 'USERONLY'
       AND c.status IN ('ACTIVE', 'LIVE');
    PERFORM vicidial._release_anyone(held, now());
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER agents_deactivated AFTER UPDATE OF active ON vicidial.vicidial_users
    FOR EACH ROW WHEN (OLD.active AND NOT NEW.active)
    EXECUTE FUNCTION vicidial._agent_deactivated();
