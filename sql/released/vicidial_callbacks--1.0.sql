-- Tables: VICIdial's names, keys and defaults, the constraints that need no
-- trigger, and the indexes the sweep, the fill and the dialer read through.
-- The extension script is built by concatenating sql/install/*.sql in order.

\echo Use "CREATE EXTENSION vicidial_callbacks" to load this file. \quit

CREATE TABLE vicidial.vicidial_users (
    "user"              varchar(20) PRIMARY KEY,
    full_name           varchar(50),
    active              boolean NOT NULL DEFAULT true,
    agentonly_callbacks boolean NOT NULL DEFAULT false
);

CREATE TABLE vicidial.vicidial_campaigns (
    campaign_id         varchar(8) PRIMARY KEY,
    campaign_name       varchar(40),
    active              boolean NOT NULL DEFAULT true,
    dial_statuses       varchar(6)[] NOT NULL DEFAULT '{NEW}',
    hopper_level        integer NOT NULL DEFAULT 100,
    scheduled_callbacks boolean NOT NULL DEFAULT true,
    callback_days_limit integer NOT NULL DEFAULT 365,
    -- I3: a CBHOLD lead must never be dialed by the standard fill.
    CONSTRAINT dial_statuses_without_cbhold CHECK ('CBHOLD' <> ALL (dial_statuses)),
    CONSTRAINT hopper_level_range CHECK (hopper_level BETWEEN 0 AND 100000),
    CONSTRAINT callback_days_limit_range CHECK (callback_days_limit BETWEEN 1 AND 365)
);

CREATE TABLE vicidial.vicidial_lists (
    list_id     bigint PRIMARY KEY,
    list_name   varchar(30),
    campaign_id varchar(8) NOT NULL REFERENCES vicidial.vicidial_campaigns ON UPDATE CASCADE,
    active      boolean NOT NULL DEFAULT true
);
CREATE INDEX vicidial_lists_campaign_id ON vicidial.vicidial_lists (campaign_id);

CREATE TABLE vicidial.vicidial_list (
    lead_id                 bigserial PRIMARY KEY,
    entry_date              timestamptz NOT NULL DEFAULT now(),
    modify_date             timestamptz NOT NULL DEFAULT now(),
    status                  varchar(6) NOT NULL DEFAULT 'NEW',
    "user"                  varchar(20),
    list_id                 bigint NOT NULL REFERENCES vicidial.vicidial_lists ON UPDATE CASCADE,
    called_since_last_reset varchar(3) NOT NULL DEFAULT 'N',
    called_count            integer NOT NULL DEFAULT 0,
    phone_number            varchar(18),
    first_name              varchar(30),
    last_name               varchar(30),
    last_local_call_time    timestamptz
);
-- The standard fill reads dialable leads of a list by status, oldest first.
CREATE INDEX vicidial_list_fill ON vicidial.vicidial_list (list_id, status, lead_id)
    WHERE called_since_last_reset = 'N';

CREATE TABLE vicidial.vicidial_hopper (
    hopper_id   bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL UNIQUE                -- I4
                REFERENCES vicidial.vicidial_list ON DELETE CASCADE,
    campaign_id varchar(8) NOT NULL
                REFERENCES vicidial.vicidial_campaigns ON UPDATE CASCADE ON DELETE CASCADE,
    list_id     bigint NOT NULL,
    status      varchar(10) NOT NULL DEFAULT 'READY',
    "user"      varchar(20),
    priority    integer NOT NULL DEFAULT 0,
    source      char(1) NOT NULL DEFAULT 'S',
    entry_time  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT source_known CHECK (source IN ('C', 'S'))
);
-- hopper_next: highest priority, then oldest, of one campaign's READY rows.
CREATE INDEX vicidial_hopper_next ON vicidial.vicidial_hopper (campaign_id, priority DESC, hopper_id)
    WHERE status = 'READY';

CREATE TABLE vicidial.vicidial_callbacks (
    callback_id   bigserial PRIMARY KEY,
    lead_id       bigint NOT NULL REFERENCES vicidial.vicidial_list,
    list_id       bigint NOT NULL REFERENCES vicidial.vicidial_lists ON UPDATE CASCADE,
    campaign_id   varchar(8) NOT NULL REFERENCES vicidial.vicidial_campaigns ON UPDATE CASCADE,
    status        varchar(10) NOT NULL DEFAULT 'ACTIVE',
    entry_time    timestamptz NOT NULL DEFAULT now(),
    callback_time timestamptz NOT NULL,
    modify_date   timestamptz NOT NULL DEFAULT now(),
    "user"        varchar(20) REFERENCES vicidial.vicidial_users ON UPDATE CASCADE,
    recipient     varchar(10) NOT NULL DEFAULT 'ANYONE',
    comments      varchar(255),
    lead_status   varchar(6) NOT NULL DEFAULT 'CALLBK',
    -- Backstops: the guard trigger raises the contract's SQLSTATE first.
    CONSTRAINT status_known CHECK (status IN ('ACTIVE', 'LIVE', 'ARCHIVE')),
    CONSTRAINT recipient_known CHECK (recipient IN ('USERONLY', 'ANYONE'))
);
CREATE INDEX vicidial_callbacks_lead_id ON vicidial.vicidial_callbacks (lead_id);
CREATE INDEX vicidial_callbacks_status ON vicidial.vicidial_callbacks (status);
CREATE INDEX vicidial_callbacks_callback_time ON vicidial.vicidial_callbacks (callback_time);
CREATE INDEX vicidial_callbacks_campaign_id ON vicidial.vicidial_callbacks (campaign_id, callback_time);
CREATE INDEX vicidial_callbacks_user ON vicidial.vicidial_callbacks ("user", callback_time);
-- I1: at most one open callback per lead.
CREATE UNIQUE INDEX vicidial_callbacks_one_open_per_lead ON vicidial.vicidial_callbacks (lead_id)
    WHERE status IN ('ACTIVE', 'LIVE');
-- The sweep reads only what is due: its cost follows the due rows.
CREATE INDEX vicidial_callbacks_due ON vicidial.vicidial_callbacks (callback_time, callback_id)
    WHERE status = 'ACTIVE';
-- An agent's list and button read only open USERONLY rows.
CREATE INDEX vicidial_callbacks_agent_open ON vicidial.vicidial_callbacks ("user", callback_time)
    WHERE status IN ('ACTIVE', 'LIVE') AND recipient = 'USERONLY';

-- pg_dump keeps the data of extension tables only when they are registered.
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_users', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_campaigns', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_lists', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_list', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_list_lead_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_hopper', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_hopper_hopper_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_callbacks', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_callbacks_callback_id_seq', '');
-- Argument checks and look-ups shared by the triggers and the API, so that
-- a rule is written once and raises the same SQLSTATE on every path.

CREATE FUNCTION vicidial._not_null(value anyelement, argument text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% must not be null', argument USING ERRCODE = 'null_value_not_allowed';
    END IF;
END $$;

-- Start of the half hour that contains "at", in the session's TimeZone: the
-- popup's default slot. Minutes are taken locally so zones offset by :30 or
-- :45 get their own half hours.
CREATE FUNCTION vicidial._half_hour_start(at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT date_trunc('minute', at)
           - make_interval(mins => extract(minute FROM at)::int % 30)
$$;

-- The window callback_schedule accepts: from the start of the current half
-- hour to now + days_limit days, both ends included.
CREATE FUNCTION vicidial._callback_window(days_limit integer) RETURNS tstzrange
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT tstzrange(vicidial._half_hour_start(now()), now() + make_interval(days => days_limit), '[]')
$$;

CREATE FUNCTION vicidial._check_callback_time(callback_time timestamptz, campaign vicidial.vicidial_campaigns)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    allowed tstzrange := vicidial._callback_window(campaign.callback_days_limit);
BEGIN
    IF NOT callback_time <@ allowed THEN
        RAISE EXCEPTION 'callback time % is outside the allowed window from % to % (campaign "%")',
            callback_time, lower(allowed), upper(allowed), campaign.campaign_id
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'a callback is due no earlier than the current half hour and within the campaign''s callback_days_limit';
    END IF;
END $$;

CREATE FUNCTION vicidial._check_recipient(recipient text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF recipient IS DISTINCT FROM 'USERONLY' AND recipient IS DISTINCT FROM 'ANYONE' THEN
        RAISE EXCEPTION 'unknown recipient "%"', recipient
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'recipient is USERONLY or ANYONE';
    END IF;
END $$;

CREATE FUNCTION vicidial._check_callback_status(status text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF status IS NULL OR status NOT IN ('ACTIVE', 'LIVE', 'ARCHIVE') THEN
        RAISE EXCEPTION 'unknown callback status "%"', status
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'a callback status is ACTIVE, LIVE or ARCHIVE';
    END IF;
END $$;

-- A lead status a person may give: 1 to 6 letters, digits or underscores.
-- INCALL is set by dialing and CBHOLD by scheduling, never given.
CREATE FUNCTION vicidial._check_lead_status(status text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF status !~ '^[A-Za-z0-9_]{1,6}$' OR status IN ('INCALL', 'CBHOLD') THEN
        RAISE EXCEPTION 'bad lead status "%"', status
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'a lead status is 1 to 6 letters, digits or underscores, and neither INCALL nor CBHOLD';
    END IF;
END $$;

CREATE FUNCTION vicidial._campaign(campaign_id varchar) RETURNS vicidial.vicidial_campaigns
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found_campaign vicidial.vicidial_campaigns;
BEGIN
    SELECT * INTO found_campaign FROM vicidial.vicidial_campaigns c WHERE c.campaign_id = _campaign.campaign_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'campaign "%" does not exist', campaign_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN found_campaign;
END $$;

-- An agent acting: must exist and be active.
CREATE FUNCTION vicidial._active_agent(agent varchar) RETURNS vicidial.vicidial_users
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found_agent vicidial.vicidial_users;
BEGIN
    PERFORM vicidial._not_null(agent, 'agent');
    SELECT * INTO found_agent FROM vicidial.vicidial_users u WHERE u."user" = agent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'agent "%" does not exist', agent USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT found_agent.active THEN
        RAISE EXCEPTION 'agent "%" is inactive', agent USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN found_agent;
END $$;

-- Leads are locked before their callbacks everywhere, so that two writers
-- never wait on each other in opposite orders.
CREATE FUNCTION vicidial._lock_lead(lead_id bigint) RETURNS vicidial.vicidial_list
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    locked_lead vicidial.vicidial_list;
BEGIN
    PERFORM vicidial._not_null(lead_id, 'lead_id');
    SELECT * INTO locked_lead FROM vicidial.vicidial_list l WHERE l.lead_id = _lock_lead.lead_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'lead % does not exist', lead_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN locked_lead;
END $$;

CREATE FUNCTION vicidial._lock_callback(callback_id bigint) RETURNS vicidial.vicidial_callbacks
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    locked_callback vicidial.vicidial_callbacks;
BEGIN
    PERFORM vicidial._not_null(callback_id, 'callback_id');
    -- lead_id never changes, so it can be read before the lead is locked.
    PERFORM vicidial._lock_lead(c.lead_id)
       FROM vicidial.vicidial_callbacks c WHERE c.callback_id = _lock_callback.callback_id;
    SELECT * INTO locked_callback FROM vicidial.vicidial_callbacks c
     WHERE c.callback_id = _lock_callback.callback_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'callback % does not exist', callback_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN locked_callback;
END $$;
-- The state machine and the invariants, enforced on every write: the API's
-- functions and a front end's direct INSERT/UPDATE/DELETE meet the same
-- triggers. Rules spanning a lead and its callbacks (I2) are deferred to
-- commit, since any correct change touches both in some order. Trigger
-- functions run as the extension owner so that a role granted only DML on
-- one table still meets every check.

-- Callbacks: insert as ACTIVE only; ACTIVE->LIVE, ACTIVE->ARCHIVE,
-- LIVE->ARCHIVE, LIVE->ACTIVE (to a later time); ARCHIVE is final.
CREATE FUNCTION vicidial._callbacks_guard() RETURNS trigger
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

CREATE TRIGGER callbacks_guard BEFORE INSERT OR UPDATE ON vicidial.vicidial_callbacks
    FOR EACH ROW EXECUTE FUNCTION vicidial._callbacks_guard();

-- I6: no callback row is lost, open or archived.
CREATE FUNCTION vicidial._callbacks_keep() RETURNS trigger
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

CREATE TRIGGER callbacks_keep BEFORE DELETE ON vicidial.vicidial_callbacks
    FOR EACH ROW EXECUTE FUNCTION vicidial._callbacks_keep();
CREATE TRIGGER callbacks_keep_truncate BEFORE TRUNCATE ON vicidial.vicidial_callbacks
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._callbacks_keep();

-- Leads: modify_date on every update; I3 from the lead's side.
CREATE FUNCTION vicidial._leads_guard() RETURNS trigger
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

CREATE TRIGGER leads_guard BEFORE UPDATE ON vicidial.vicidial_list
    FOR EACH ROW EXECUTE FUNCTION vicidial._leads_guard();

-- I3 from the hopper's side. The lead is share-locked so that a concurrent
-- change of its status is seen, not raced.
CREATE FUNCTION vicidial._hopper_guard() RETURNS trigger
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

CREATE TRIGGER hopper_guard BEFORE INSERT OR UPDATE OF lead_id ON vicidial.vicidial_hopper
    FOR EACH ROW EXECUTE FUNCTION vicidial._hopper_guard();

-- I2, checked at commit: a CBHOLD lead has an open callback; a lead with an
-- ACTIVE callback is CBHOLD, or INCALL while someone is calling it early.
CREATE FUNCTION vicidial._lead_callback_consistency() RETURNS trigger
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

CREATE CONSTRAINT TRIGGER leads_consistent_insert AFTER INSERT ON vicidial.vicidial_list
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.status = 'CBHOLD')
    EXECUTE FUNCTION vicidial._lead_callback_consistency();
CREATE CONSTRAINT TRIGGER leads_consistent_update AFTER UPDATE OF status ON vicidial.vicidial_list
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.status = 'CBHOLD' OR OLD.status IN ('CBHOLD', 'INCALL'))
    EXECUTE FUNCTION vicidial._lead_callback_consistency();
CREATE CONSTRAINT TRIGGER callbacks_consistent_insert AFTER INSERT ON vicidial.vicidial_callbacks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION vicidial._lead_callback_consistency();
-- ACTIVE->LIVE cannot break I2, so the sweep's flips are not re-checked.
CREATE CONSTRAINT TRIGGER callbacks_consistent_update AFTER UPDATE OF status ON vicidial.vicidial_callbacks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.status IN ('ACTIVE', 'ARCHIVE') AND OLD.status <> NEW.status)
    EXECUTE FUNCTION vicidial._lead_callback_consistency();
-- What happens to a lead when its callback goes LIVE or is dialed, shared
-- by the agent, admin and server functions so that each move is written
-- once.
--
-- A rule for every writer here: a lead and its callbacks change in one
-- statement whenever a half-done change would break I2, so that a session
-- that made the I2 checks IMMEDIATE still gets through every function.

-- LIVE ANYONE callbacks whose lead still waits in CBHOLD: the lead takes the
-- callback's lead_status, is dialable again, and joins the hopper of the
-- callback's campaign at priority 50 when that campaign and the lead's list
-- are active. Returns how many hopper rows were added.
CREATE FUNCTION vicidial._release_anyone(callback_ids bigint[], at timestamptz) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    released_leads bigint[];
    queued integer;
BEGIN
    WITH released AS (
        UPDATE vicidial.vicidial_list l
           SET status = c.lead_status, called_since_last_reset = 'N'
          FROM vicidial.vicidial_callbacks c
         WHERE c.callback_id = ANY (callback_ids)
           AND c.recipient = 'ANYONE' AND c.status = 'LIVE'
           AND l.lead_id = c.lead_id AND l.status = 'CBHOLD'
        RETURNING l.lead_id)
    SELECT array_agg(r.lead_id) INTO released_leads FROM released r;

    -- A separate statement, so that the hopper's guard sees the released leads.
    INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id, status, priority, source, entry_time)
    SELECT l.lead_id, c.campaign_id, l.list_id, 'READY', 50, 'C', at
      FROM vicidial.vicidial_callbacks c
      JOIN vicidial.vicidial_list l ON l.lead_id = c.lead_id
      JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id AND li.active
      JOIN vicidial.vicidial_campaigns cp ON cp.campaign_id = c.campaign_id AND cp.active
     WHERE c.callback_id = ANY (callback_ids) AND l.lead_id = ANY (released_leads)
     ORDER BY c.callback_id
    ON CONFLICT (lead_id) DO NOTHING;
    GET DIAGNOSTICS queued = ROW_COUNT;
    RETURN queued;
END $$;

-- An agent takes the lead: out of the hopper, INCALL, counted as called.
CREATE FUNCTION vicidial._dial_lead(lead_id bigint, agent varchar) RETURNS SETOF vicidial.vicidial_list
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    DELETE FROM vicidial.vicidial_hopper h WHERE h.lead_id = _dial_lead.lead_id;
    UPDATE vicidial.vicidial_list l
       SET status = 'INCALL', "user" = _dial_lead.agent, called_count = l.called_count + 1,
           called_since_last_reset = 'Y', last_local_call_time = now()
     WHERE l.lead_id = _dial_lead.lead_id
    RETURNING l.*;
$$;
-- The agent side: the CALLBK popup and its slots, the agent's callback list
-- and button, dialing a callback or the next hopper lead, the hangup.

CREATE FUNCTION vicidial.callback_schedule(
    lead_id bigint,
    agent varchar,
    callback_time timestamptz,
    recipient text DEFAULT 'ANYONE',
    comments text DEFAULT NULL,
    lead_status varchar DEFAULT 'CALLBK')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lead vicidial.vicidial_list;
    new_callback_id bigint;
BEGIN
    PERFORM vicidial._not_null(callback_time, 'callback_time');
    PERFORM vicidial._not_null(recipient, 'recipient');
    PERFORM vicidial._not_null(lead_status, 'lead_status');
    -- before the value meets the column's varchar(6)
    PERFORM vicidial._check_lead_status(lead_status);
    lead := vicidial._lock_lead(callback_schedule.lead_id);
    PERFORM vicidial._active_agent(agent);

    DELETE FROM vicidial.vicidial_hopper h WHERE h.lead_id = lead.lead_id;
    -- The guard trigger checks recipient, USERONLY rights, the campaign and
    -- the time window of the new row.
    WITH superseded AS (
        UPDATE vicidial.vicidial_callbacks c SET status = 'ARCHIVE'
         WHERE c.lead_id = lead.lead_id AND c.status IN ('ACTIVE', 'LIVE')
        RETURNING c.callback_id),
    scheduled AS (
        -- Reading "superseded" archives the open row before its successor
        -- meets the one-open-callback index.
        INSERT INTO vicidial.vicidial_callbacks (lead_id, status, callback_time, "user", recipient, comments, lead_status)
        SELECT lead.lead_id, 'ACTIVE', callback_schedule.callback_time, callback_schedule.agent,
               callback_schedule.recipient, callback_schedule.comments, callback_schedule.lead_status
          FROM (SELECT count(*) FROM superseded) AS archived_first
        RETURNING vicidial_callbacks.callback_id, vicidial_callbacks.lead_id),
    held AS (
        UPDATE vicidial.vicidial_list l SET status = 'CBHOLD', "user" = callback_schedule.agent
          FROM scheduled s WHERE l.lead_id = s.lead_id)
    SELECT s.callback_id INTO new_callback_id FROM scheduled s;
    RETURN new_callback_id;
END $$;

CREATE FUNCTION vicidial.callback_slots(day date, campaign varchar DEFAULT NULL)
RETURNS TABLE (slot timestamptz, is_default boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    days_limit integer := 365;
    chosen vicidial.vicidial_campaigns;
    allowed tstzrange;
BEGIN
    PERFORM vicidial._not_null(day, 'day');
    IF campaign IS NOT NULL THEN
        chosen := vicidial._campaign(campaign);
        IF NOT chosen.scheduled_callbacks THEN
            RAISE EXCEPTION 'campaign "%" does not allow scheduled callbacks', campaign
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        days_limit := chosen.callback_days_limit;
    END IF;
    allowed := vicidial._callback_window(days_limit);
    -- Local midnight to local midnight in absolute half hours: 46 or 50 on a DST day.
    RETURN QUERY
    SELECT s, s = lower(allowed)
      FROM generate_series(day::timestamptz, (day + 1)::timestamptz - interval '1 microsecond',
                           interval '30 minutes') AS s
     WHERE s <@ allowed
     ORDER BY s;
END $$;

CREATE FUNCTION vicidial.agent_callbacks(agent varchar)
RETURNS TABLE (callback_id bigint, lead_id bigint, campaign_id varchar, list_id bigint, status varchar,
               callback_time timestamptz, entry_time timestamptz, recipient varchar, comments varchar,
               phone_number varchar, first_name varchar, last_name varchar)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._active_agent(agent);
    RETURN QUERY
    SELECT c.callback_id, c.lead_id, c.campaign_id, c.list_id, c.status, c.callback_time, c.entry_time,
           c.recipient, c.comments, l.phone_number, l.first_name, l.last_name
      FROM vicidial.vicidial_callbacks c
      JOIN vicidial.vicidial_list l ON l.lead_id = c.lead_id
     WHERE c."user" = agent AND c.recipient = 'USERONLY' AND c.status IN ('ACTIVE', 'LIVE')
     ORDER BY c.callback_time, c.callback_id;
END $$;

CREATE FUNCTION vicidial.agent_callback_count(agent varchar)
RETURNS TABLE (live bigint, open bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._active_agent(agent);
    RETURN QUERY
    SELECT count(*) FILTER (WHERE c.status = 'LIVE'), count(*)
      FROM vicidial.vicidial_callbacks c
     WHERE c."user" = agent AND c.recipient = 'USERONLY' AND c.status IN ('ACTIVE', 'LIVE');
END $$;

CREATE FUNCTION vicidial.callback_dial(callback_id bigint, agent varchar)
RETURNS SETOF vicidial.vicidial_list
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    callback vicidial.vicidial_callbacks;
BEGIN
    PERFORM vicidial._active_agent(agent);
    callback := vicidial._lock_callback(callback_dial.callback_id);
    IF callback.status = 'ARCHIVE' THEN
        RAISE EXCEPTION 'callback % is ARCHIVE and cannot be dialed', callback.callback_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF callback.recipient = 'USERONLY' AND callback."user" IS DISTINCT FROM agent THEN
        RAISE EXCEPTION 'callback % belongs to agent "%", not "%"', callback.callback_id, callback."user", agent
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (SELECT 1 FROM vicidial.vicidial_list l WHERE l.lead_id = callback.lead_id AND l.status = 'INCALL') THEN
        RAISE EXCEPTION 'lead % of callback % is already INCALL', callback.lead_id, callback.callback_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE vicidial.vicidial_callbacks c SET status = 'LIVE'
     WHERE c.callback_id = callback.callback_id AND c.status = 'ACTIVE';
    RETURN QUERY SELECT * FROM vicidial._dial_lead(callback.lead_id, agent);
END $$;

CREATE FUNCTION vicidial.hopper_next(campaign_id varchar, agent varchar)
RETURNS SETOF vicidial.vicidial_list
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    picked bigint;
BEGIN
    PERFORM vicidial._not_null(campaign_id, 'campaign_id');
    PERFORM vicidial._campaign(campaign_id);
    PERFORM vicidial._active_agent(agent);
    -- Lead and hopper row are both locked, skipping any another session
    -- holds, so concurrent dialers never wait or collide.
    SELECT h.lead_id INTO picked
      FROM vicidial.vicidial_hopper h
      JOIN vicidial.vicidial_list l ON l.lead_id = h.lead_id
     WHERE h.campaign_id = hopper_next.campaign_id AND h.status = 'READY'
     ORDER BY h.priority DESC, h.hopper_id
     LIMIT 1
       FOR UPDATE OF h, l SKIP LOCKED;
    IF picked IS NOT NULL THEN
        RETURN QUERY SELECT * FROM vicidial._dial_lead(picked, agent);
    END IF;
END $$;

CREATE FUNCTION vicidial.lead_disposition(
    lead_id bigint,
    agent varchar,
    status varchar,
    callback_time timestamptz DEFAULT NULL,
    recipient text DEFAULT 'ANYONE',
    comments text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lead vicidial.vicidial_list;
BEGIN
    PERFORM vicidial._not_null(status, 'status');
    lead := vicidial._lock_lead(lead_disposition.lead_id);
    PERFORM vicidial._active_agent(agent);
    IF status = 'CBHOLD' THEN
        RAISE EXCEPTION 'CBHOLD cannot be given as a disposition (lead %)', lead.lead_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'give CALLBK with a callback_time to schedule a callback';
    END IF;
    PERFORM vicidial._check_lead_status(status);
    IF lead.status <> 'INCALL' THEN
        RAISE EXCEPTION 'lead % is %, not INCALL', lead.lead_id, lead.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    -- The hangup of a callback call: the lead is INCALL, so archiving first
    -- leaves it consistent.
    UPDATE vicidial.vicidial_callbacks c SET status = 'ARCHIVE'
     WHERE c.lead_id = lead.lead_id AND c.status IN ('ACTIVE', 'LIVE');
    IF status = 'CALLBK' THEN
        RETURN vicidial.callback_schedule(lead.lead_id, agent, callback_time, recipient, comments);
    END IF;
    UPDATE vicidial.vicidial_list l SET status = lead_disposition.status, "user" = agent
     WHERE l.lead_id = lead.lead_id;
    RETURN NULL;
END $$;
-- The admin side: the modify-lead screen and the callback viewer (search,
-- sort, page, summarise).

CREATE FUNCTION vicidial.callback_modify(
    callback_id bigint,
    callback_time timestamptz DEFAULT NULL,
    agent varchar DEFAULT NULL,
    recipient text DEFAULT NULL,
    comments text DEFAULT NULL,
    archive boolean DEFAULT false)
RETURNS SETOF vicidial.vicidial_callbacks
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    callback vicidial.vicidial_callbacks;
    new_status varchar;
    lead_held boolean;
BEGIN
    PERFORM vicidial._not_null(archive, 'archive');
    callback := vicidial._lock_callback(callback_modify.callback_id);
    IF agent IS NOT NULL THEN
        PERFORM vicidial._active_agent(agent);
    END IF;
    new_status := CASE
                      WHEN archive THEN 'ARCHIVE'
                      -- a LIVE callback moved to a later time waits again
                      WHEN callback.status = 'LIVE' AND callback_modify.callback_time > now() THEN 'ACTIVE'
                      ELSE callback.status
                  END;
    -- The lead waits in CBHOLD for an ACTIVE callback and for its owner's
    -- LIVE USERONLY one; a cancelled one gives it back to the dialer.
    lead_held := new_status = 'ACTIVE'
                 OR (new_status = 'LIVE' AND coalesce(recipient, callback.recipient) = 'USERONLY');
    IF lead_held THEN
        DELETE FROM vicidial.vicidial_hopper h WHERE h.lead_id = callback.lead_id;
    END IF;
    -- Callback and lead in one statement; the guard trigger refuses ARCHIVE
    -- rows and checks the new values. A lead someone is calling is left to
    -- the hangup.
    WITH changed AS (
        UPDATE vicidial.vicidial_callbacks c
           SET callback_time = coalesce(callback_modify.callback_time, c.callback_time),
               "user"        = coalesce(callback_modify.agent, c."user"),
               recipient     = coalesce(callback_modify.recipient, c.recipient),
               comments      = coalesce(callback_modify.comments, c.comments),
               status        = new_status
         WHERE c.callback_id = callback.callback_id
        RETURNING c.*),
    settled AS (
        UPDATE vicidial.vicidial_list l
           SET status = CASE WHEN lead_held THEN 'CBHOLD' ELSE ch.lead_status END,
               called_since_last_reset = CASE WHEN lead_held THEN l.called_since_last_reset ELSE 'N' END
          FROM changed ch
         WHERE l.lead_id = ch.lead_id
           AND CASE WHEN lead_held THEN l.status NOT IN ('CBHOLD', 'INCALL')
                    ELSE ch.status = 'ARCHIVE' AND l.status = 'CBHOLD' END)
    SELECT * INTO callback FROM changed;
    IF callback.status = 'LIVE' AND callback.recipient = 'ANYONE' THEN
        PERFORM vicidial._release_anyone(ARRAY[callback.callback_id], now());
    END IF;
    RETURN NEXT callback;
END $$;

-- The viewer's filters, each optional, combined with AND. Arguments are
-- checked here; the WHERE clause they feed is _callbacks_filter().
CREATE FUNCTION vicidial._check_callbacks_filter(
    campaign varchar, list bigint, agent varchar, callback_status text,
    time_from timestamptz, time_to timestamptz)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF campaign IS NOT NULL THEN
        PERFORM vicidial._campaign(campaign);
    END IF;
    IF list IS NOT NULL AND NOT EXISTS (SELECT 1 FROM vicidial.vicidial_lists li WHERE li.list_id = list) THEN
        RAISE EXCEPTION 'list % does not exist', list USING ERRCODE = 'no_data_found';
    END IF;
    IF agent IS NOT NULL AND NOT EXISTS (SELECT 1 FROM vicidial.vicidial_users u WHERE u."user" = agent) THEN
        RAISE EXCEPTION 'agent "%" does not exist', agent USING ERRCODE = 'no_data_found';
    END IF;
    IF callback_status IS NOT NULL THEN
        PERFORM vicidial._check_callback_status(callback_status);
    END IF;
    IF time_from > time_to THEN
        RAISE EXCEPTION 'time_from % is after time_to %', time_from, time_to
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END $$;

-- $1..$6 are the six filters above, in that order. Run through EXECUTE, so
-- each query is planned with the filters actually given.
CREATE FUNCTION vicidial._callbacks_filter() RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT '($1 IS NULL OR c.campaign_id = $1) AND ($2 IS NULL OR c.list_id = $2)'
        || ' AND ($3 IS NULL OR c."user" = $3) AND ($4 IS NULL OR c.status = $4)'
        || ' AND ($5 IS NULL OR c.callback_time >= $5) AND ($6 IS NULL OR c.callback_time < $6)'
$$;

CREATE FUNCTION vicidial.callbacks_report(
    campaign varchar DEFAULT NULL,
    list bigint DEFAULT NULL,
    agent varchar DEFAULT NULL,
    callback_status text DEFAULT NULL,
    time_from timestamptz DEFAULT NULL,
    time_to timestamptz DEFAULT NULL,
    sort_by text DEFAULT 'callback_time',
    descending boolean DEFAULT false,
    max_rows integer DEFAULT 1000,
    skip_rows integer DEFAULT 0)
RETURNS TABLE (callback_id bigint, lead_id bigint, list_id bigint, campaign_id varchar, status varchar,
               entry_time timestamptz, callback_time timestamptz, modify_date timestamptz, "user" varchar,
               recipient varchar, comments varchar, lead_current_status varchar,
               phone_number varchar, first_name varchar, last_name varchar)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    direction text;
BEGIN
    PERFORM vicidial._not_null(sort_by, 'sort_by');
    PERFORM vicidial._not_null(descending, 'descending');
    PERFORM vicidial._not_null(max_rows, 'max_rows');
    PERFORM vicidial._not_null(skip_rows, 'skip_rows');
    IF sort_by NOT IN ('callback_time', 'entry_time', 'modify_date', 'campaign_id', 'list_id',
                       'user', 'status', 'lead_id', 'callback_id') THEN
        RAISE EXCEPTION 'unknown sort_by "%"', sort_by
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'sort by callback_time, entry_time, modify_date, campaign_id, list_id, user, status, lead_id or callback_id';
    END IF;
    IF max_rows < 0 THEN
        RAISE EXCEPTION 'max_rows must not be negative (got %)', max_rows USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF skip_rows < 0 THEN
        RAISE EXCEPTION 'skip_rows must not be negative (got %)', skip_rows USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM vicidial._check_callbacks_filter(campaign, list, agent, callback_status, time_from, time_to);

    direction := CASE WHEN descending THEN 'DESC' ELSE 'ASC' END;
    RETURN QUERY EXECUTE format(
        'SELECT c.callback_id, c.lead_id, c.list_id, c.campaign_id, c.status, c.entry_time, c.callback_time,'
        '       c.modify_date, c."user", c.recipient, c.comments, l.status, l.phone_number, l.first_name, l.last_name'
        '  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l ON l.lead_id = c.lead_id'
        ' WHERE %s ORDER BY c.%I %s, c.callback_id %s LIMIT $7 OFFSET $8',
        vicidial._callbacks_filter(), sort_by, direction, direction)
    USING campaign, list, agent, callback_status, time_from, time_to, max_rows, skip_rows;
END $$;

CREATE FUNCTION vicidial.callbacks_summary(
    campaign varchar DEFAULT NULL,
    list bigint DEFAULT NULL,
    agent varchar DEFAULT NULL,
    callback_status text DEFAULT NULL,
    time_from timestamptz DEFAULT NULL,
    time_to timestamptz DEFAULT NULL)
RETURNS TABLE (campaign_id varchar, list_id bigint, "user" varchar, status varchar, recipient varchar,
               callbacks bigint, first_callback_time timestamptz, last_callback_time timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._check_callbacks_filter(campaign, list, agent, callback_status, time_from, time_to);
    RETURN QUERY EXECUTE format(
        'SELECT c.campaign_id, c.list_id, c."user", c.status, c.recipient,'
        '       count(*), min(c.callback_time), max(c.callback_time)'
        '  FROM vicidial.vicidial_callbacks c WHERE %s'
        ' GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5',
        vicidial._callbacks_filter())
    USING campaign, list, agent, callback_status, time_from, time_to;
END $$;
-- The server side: the sweep that turns due callbacks LIVE, the standard
-- hopper fill, and hopper_run, the one transaction the background worker
-- (or pg_cron) runs each interval. All set-based: a run costs what is due.

-- Every sweep, fill and run in the database takes this transaction-level
-- lock, so two drivers at once (worker and pg_cron) do the work once.
CREATE FUNCTION vicidial._serialize_hopper_runs() RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_advisory_xact_lock(hashtext('vicidial_callbacks'), hashtext('hopper_run'))
$$;

CREATE FUNCTION vicidial.sweep(now timestamptz DEFAULT now())
RETURNS TABLE (went_live integer, useronly integer, hopper_inserted integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    due_ids bigint[];
BEGIN
    PERFORM vicidial._not_null(sweep.now, 'now');
    PERFORM vicidial._serialize_hopper_runs();
    -- Leads before callbacks: the lock order of every writer.
    PERFORM FROM vicidial.vicidial_list l
      WHERE l.lead_id IN (SELECT c.lead_id FROM vicidial.vicidial_callbacks c
                           WHERE c.status = 'ACTIVE' AND c.callback_time <= sweep.now)
      ORDER BY l.lead_id
      FOR UPDATE;

    WITH flipped AS (
        UPDATE vicidial.vicidial_callbacks c SET status = 'LIVE'
         WHERE c.status = 'ACTIVE' AND c.callback_time <= sweep.now
        RETURNING c.callback_id, c.recipient)
    SELECT coalesce(array_agg(f.callback_id ORDER BY f.callback_id), '{}'),
           count(*), count(*) FILTER (WHERE f.recipient = 'USERONLY')
      INTO due_ids, went_live, useronly
      FROM flipped f;

    -- An agent screen LISTENs instead of polling for its USERONLY callbacks.
    PERFORM pg_notify('vicidial_callbacks', row_to_json(n)::text)
       FROM (SELECT 'live' AS event, c.callback_id, c.lead_id, c."user", c.campaign_id
               FROM vicidial.vicidial_callbacks c
              WHERE c.callback_id = ANY (due_ids) AND c.recipient = 'USERONLY'
              ORDER BY c.callback_id) n;

    hopper_inserted := vicidial._release_anyone(due_ids, sweep.now);
    RETURN NEXT;
END $$;

CREATE FUNCTION vicidial.hopper_fill(now timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    filled integer;
BEGIN
    PERFORM vicidial._not_null(hopper_fill.now, 'now');
    PERFORM vicidial._serialize_hopper_runs();
    -- Leads another session holds (being scheduled, dialed) are skipped, and
    -- the lock re-reads each lead, so none that just became CBHOLD slips in.
    INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id, status, priority, source, entry_time)
    SELECT pick.lead_id, cp.campaign_id, pick.list_id, 'READY', 0, 'S', hopper_fill.now
      FROM vicidial.vicidial_campaigns cp
     CROSS JOIN LATERAL (
           SELECT greatest(cp.hopper_level - count(*), 0) AS room
             FROM vicidial.vicidial_hopper h
            WHERE h.campaign_id = cp.campaign_id AND h.status = 'READY') AS free
     CROSS JOIN LATERAL (
           SELECT l.lead_id, l.list_id
             FROM vicidial.vicidial_list l
             JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id
            WHERE li.campaign_id = cp.campaign_id AND li.active
              AND l.status = ANY (cp.dial_statuses)
              AND l.called_since_last_reset = 'N'
              AND NOT EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = l.lead_id)
            ORDER BY l.lead_id
            LIMIT free.room
              FOR SHARE OF l SKIP LOCKED) AS pick
     WHERE cp.active
     ORDER BY cp.campaign_id, pick.lead_id
    ON CONFLICT (lead_id) DO NOTHING;
    GET DIAGNOSTICS filled = ROW_COUNT;
    RETURN filled;
END $$;

CREATE FUNCTION vicidial.hopper_run(now timestamptz DEFAULT now())
RETURNS TABLE (went_live integer, useronly integer, hopper_inserted integer, hopper_filled integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._not_null(hopper_run.now, 'now');
    PERFORM vicidial._serialize_hopper_runs();
    SELECT s.went_live, s.useronly, s.hopper_inserted INTO went_live, useronly, hopper_inserted
      FROM vicidial.sweep(hopper_run.now) s;
    hopper_filled := vicidial.hopper_fill(hopper_run.now);
    RETURN NEXT;
END $$;
-- What the background worker needs in the database: the run history with
-- bounded retention, the wake-up trigger, and a view of the worker's health.

CREATE TABLE vicidial.hopper_runs (
    run_id          bigserial PRIMARY KEY,
    database        name NOT NULL DEFAULT current_database(),
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz NOT NULL,
    went_live       integer,
    useronly        integer,
    hopper_inserted integer,
    hopper_filled   integer,
    error           text
);
SELECT pg_catalog.pg_extension_config_dump('vicidial.hopper_runs', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.hopper_runs_run_id_seq', '');

-- Keep the newest keep_runs rows: the history never grows without bound.
CREATE FUNCTION vicidial._trim_hopper_runs(keep_runs integer) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    DELETE FROM vicidial.hopper_runs r
     WHERE r.run_id <= (SELECT max(k.run_id) FROM vicidial.hopper_runs k) - keep_runs
$$;

-- The worker's three calls are SECURITY DEFINER, so the role it runs as
-- (vicidial_callbacks.role) needs EXECUTE on them and nothing else.

-- One run of the worker: hopper_run at the transaction's time, recorded.
CREATE FUNCTION vicidial._worker_run(keep_runs integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    INSERT INTO vicidial.hopper_runs (started_at, finished_at, went_live, useronly, hopper_inserted, hopper_filled)
    SELECT started, clock_timestamp(), r.went_live, r.useronly, r.hopper_inserted, r.hopper_filled
      FROM vicidial.hopper_run(now()) r;
    PERFORM vicidial._trim_hopper_runs(keep_runs);
END $$;

CREATE FUNCTION vicidial._record_failed_run(started timestamptz, error text, keep_runs integer) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO vicidial.hopper_runs (started_at, finished_at, error) VALUES (started, clock_timestamp(), error);
    SELECT vicidial._trim_hopper_runs(keep_runs);
$$;

-- When the worker must wake for the next callback; NULL when none waits.
CREATE FUNCTION vicidial._next_due() RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT min(c.callback_time) FROM vicidial.vicidial_callbacks c WHERE c.status = 'ACTIVE'
$$;

-- Anything that may make a callback due sooner wakes the worker at commit.
CREATE FUNCTION vicidial._wake_worker() RETURNS trigger
LANGUAGE c SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_wake_worker';
CREATE TRIGGER callbacks_wake_worker AFTER INSERT OR UPDATE OF callback_time, status ON vicidial.vicidial_callbacks
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._wake_worker();

CREATE FUNCTION vicidial.worker_state(OUT workers integer, OUT next_wake timestamptz)
LANGUAGE c STABLE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_worker_state';

CREATE VIEW vicidial.worker_status AS
SELECT current_database() AS database,
       (SELECT r.finished_at FROM vicidial.hopper_runs r ORDER BY r.run_id DESC LIMIT 1) AS last_run,
       (SELECT r.error IS NULL FROM vicidial.hopper_runs r ORDER BY r.run_id DESC LIMIT 1) AS last_run_ok,
       (SELECT r.finished_at FROM vicidial.hopper_runs r WHERE r.error IS NOT NULL ORDER BY r.run_id DESC LIMIT 1) AS last_error_at,
       (SELECT r.error FROM vicidial.hopper_runs r WHERE r.error IS NOT NULL ORDER BY r.run_id DESC LIMIT 1) AS last_error,
       w.next_wake,
       w.workers
  FROM vicidial.worker_state() w;
-- A check a DBA runs after a restore, a bulk load or anything done with the
-- triggers off: every row that breaks an invariant, with the rule it breaks.
-- Empty means the tables hold I1-I4.

CREATE FUNCTION vicidial.invariant_violations()
RETURNS TABLE (invariant text, lead_id bigint, detail text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'I1', c.lead_id, count(*) || ' open callbacks'
      FROM vicidial.vicidial_callbacks c WHERE c.status IN ('ACTIVE', 'LIVE')
     GROUP BY c.lead_id HAVING count(*) > 1
    UNION ALL
    SELECT 'I2', l.lead_id, 'CBHOLD without an open callback'
      FROM vicidial.vicidial_list l
     WHERE l.status = 'CBHOLD'
       AND NOT EXISTS (SELECT 1 FROM vicidial.vicidial_callbacks c
                        WHERE c.lead_id = l.lead_id AND c.status IN ('ACTIVE', 'LIVE'))
    UNION ALL
    SELECT 'I2', l.lead_id, l.status || ' with ACTIVE callback ' || c.callback_id
      FROM vicidial.vicidial_list l JOIN vicidial.vicidial_callbacks c ON c.lead_id = l.lead_id
     WHERE c.status = 'ACTIVE' AND l.status NOT IN ('CBHOLD', 'INCALL')
    UNION ALL
    SELECT 'I3', h.lead_id, 'CBHOLD lead in the hopper'
      FROM vicidial.vicidial_hopper h JOIN vicidial.vicidial_list l ON l.lead_id = h.lead_id
     WHERE l.status = 'CBHOLD'
    UNION ALL
    SELECT 'I3', NULL, 'campaign ' || cp.campaign_id || ' dials CBHOLD'
      FROM vicidial.vicidial_campaigns cp WHERE 'CBHOLD' = ANY (cp.dial_statuses)
    ORDER BY 1, 2
$$;
-- Nothing is open to PUBLIC: the DBA grants an agent role and an admin
-- role the functions they need (README, "Roles"). The API functions are
-- SECURITY DEFINER, so neither role needs rights on the tables.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA vicidial FROM PUBLIC;
