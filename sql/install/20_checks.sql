-- Argument checks and look-ups shared by the triggers and the API, so that
-- a rule is written once and raises the same SQLSTATE on every path.

CREATE OR REPLACE FUNCTION vicidial._not_null(value anyelement, argument text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% must not be null', argument USING ERRCODE = 'null_value_not_allowed';
    END IF;
END $$;

-- A time argument: given, and a real instant (±infinity would make a sweep
-- take every callback, or a slot list never end).
CREATE OR REPLACE FUNCTION vicidial._check_time(value timestamptz, argument text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._not_null(value, argument);
    IF NOT isfinite(value) THEN
        RAISE EXCEPTION '% must be a finite time, not %', argument, value
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END $$;

-- What needs READ COMMITTED is refused under any other level, naming it:
-- "refused" says what, "hint" why or what to do instead.
CREATE OR REPLACE FUNCTION vicidial._refuse_unless_read_committed(refused text, hint text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION '%, not %', refused, upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = hint;
    END IF;
END $$;

-- The writers lock a row and then read it fresh; a snapshot held for the
-- whole transaction would make them fail with bare serialization errors.
-- PL/pgSQL, not SQL: every call of the API asks it, and a SQL function
-- that cannot be inlined (its SET clause) is planned again at each call.
CREATE OR REPLACE FUNCTION vicidial._require_read_committed(caller text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._refuse_unless_read_committed(format('vicidial.%s needs READ COMMITTED', caller),
                                                   'call it in a READ COMMITTED transaction (the default)');
END $$;

-- Start of the half hour that contains "at" on the zone's wall clock (the
-- session's by default): the popup's default slot. Minutes are taken
-- locally so zones offset by :30 or :45 get their own half hours.
CREATE OR REPLACE FUNCTION vicidial._half_hour_start(at timestamptz, zone text DEFAULT current_setting('TimeZone'))
RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN date_trunc('minute', at) - make_interval(mins => extract(minute FROM at AT TIME ZONE zone)::int % 30);
END $$;

-- The window callback_schedule accepts: from the start of the current half
-- hour to now + days_limit days, both ends included, both on the zone's
-- wall clock (days counted in the session's zone would move the end by an
-- hour across a DST change there).
CREATE OR REPLACE FUNCTION vicidial._callback_window(days_limit integer, zone text) RETURNS tstzrange
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN tstzrange(vicidial._half_hour_start(now(), zone),
                     vicidial._first_instant_from((now() AT TIME ZONE zone) + make_interval(days => days_limit), zone),
                     '[]');
END $$;

-- A callback time must fall in the campaign's window, read on the lead's
-- clock, and inside the lead's calling hours (I8).
CREATE OR REPLACE FUNCTION vicidial._check_callback_time(callback_time timestamptz, campaign vicidial.vicidial_campaigns,
                                                         hours vicidial.lead_hours)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    allowed tstzrange := vicidial._callback_window(campaign.callback_days_limit, hours.zone);
BEGIN
    IF NOT callback_time <@ allowed THEN
        RAISE EXCEPTION 'callback time % is outside the allowed window from % to % (campaign "%")',
            callback_time, lower(allowed), upper(allowed), campaign.campaign_id
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'a callback is due no earlier than the current half hour and within the campaign''s callback_days_limit';
    END IF;
    IF NOT vicidial._hours_open(hours.zone, hours.call_times, callback_time) THEN
        RAISE EXCEPTION 'callback time % is outside the calling hours of lead %: %',
            callback_time, hours.lead_id, vicidial._hours_detail(hours, callback_time)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'choose a time inside the lead''s calling hours (lead_next_dialable, callback_slots with the lead)';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION vicidial._check_recipient(recipient text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF recipient IS DISTINCT FROM 'USERONLY' AND recipient IS DISTINCT FROM 'ANYONE' THEN
        RAISE EXCEPTION 'unknown recipient "%"', left(recipient, 40)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'recipient is USERONLY or ANYONE';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION vicidial._check_callback_status(status text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF status IS NULL OR status NOT IN ('ACTIVE', 'LIVE', 'ARCHIVE') THEN
        RAISE EXCEPTION 'unknown callback status "%"', status
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'a callback status is ACTIVE, LIVE or ARCHIVE';
    END IF;
END $$;

-- A status text (disposition, lead_status, dial status, a lead's status):
-- 1 to 6 capital letters or digits. In C (src/status_text.c): the leads'
-- row guard asks it in its WHEN clause, on every hand-out and hang-up.
CREATE OR REPLACE FUNCTION vicidial._is_status_text(status text) RETURNS boolean
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'vicidial_is_status_text';

-- Checked before the value meets a varchar(6) column.
CREATE OR REPLACE FUNCTION vicidial._check_status_text(status text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT coalesce(vicidial._is_status_text(status), false) THEN
        RAISE EXCEPTION 'bad status "%"', left(status, 40)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'a status is 1 to 6 capital letters or digits';
    END IF;
END $$;

-- A lead status a person may give: INCALL is set by dialing and CBHOLD by
-- scheduling, never given.
CREATE OR REPLACE FUNCTION vicidial._check_lead_status(status text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._check_status_text(status);
    IF status IN ('INCALL', 'CBHOLD') THEN
        RAISE EXCEPTION 'bad lead status "%"', status
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'INCALL is set by dialing and CBHOLD by scheduling; neither can be given';
    END IF;
END $$;

-- comments go in a varchar(255): too long is a bad argument, not a 22001.
CREATE OR REPLACE FUNCTION vicidial._check_comments(comments text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF length(comments) > 255 THEN
        RAISE EXCEPTION 'comments are % characters long, at most 255 fit', length(comments)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION vicidial._campaign(campaign_id varchar) RETURNS vicidial.vicidial_campaigns
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

-- An agent named by an admin: must exist.
CREATE OR REPLACE FUNCTION vicidial._agent(agent varchar, argument text DEFAULT 'agent') RETURNS vicidial.vicidial_users
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found_agent vicidial.vicidial_users;
BEGIN
    PERFORM vicidial._not_null(agent, argument);
    SELECT * INTO found_agent FROM vicidial.vicidial_users u WHERE u."user" = agent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'agent "%" does not exist', agent USING ERRCODE = 'no_data_found';
    END IF;
    RETURN found_agent;
END $$;

-- An agent named as a new owner or acting: must exist and be active.
CREATE OR REPLACE FUNCTION vicidial._active_agent(agent varchar) RETURNS vicidial.vicidial_users
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found_agent vicidial.vicidial_users := vicidial._agent(agent);
BEGIN
    IF NOT found_agent.active THEN
        RAISE EXCEPTION 'agent "%" is inactive', agent USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN found_agent;
END $$;

-- Who may act as an agent, in C (src/bound_agent.c, which says the rule):
-- the agent an agent function names, read or locked (agents are locked
-- before leads), and acted for only by a caller with the privileges of its
-- db_role; _acting_agent and _lock_acting_agent also require it active.
-- Their queries name the schema of everything: no SET clause, as every
-- agent call asks one of them first.
CREATE OR REPLACE FUNCTION vicidial._bound_agent(agent varchar, for_update boolean) RETURNS vicidial.vicidial_users
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'vicidial_bound_agent';

CREATE OR REPLACE FUNCTION vicidial._acting_agent(agent varchar) RETURNS vicidial.vicidial_users
LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'vicidial_acting_agent';

-- For an agent function that writes: one agent's writes (a double click)
-- run one after the other.
CREATE OR REPLACE FUNCTION vicidial._lock_acting_agent(agent varchar) RETURNS vicidial.vicidial_users
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'vicidial_lock_acting_agent';

-- An agent claiming a lead (hopper_next, callback_dial): locked and
-- active, and holding no call: a second claim while one is held (a double
-- click, a reload that lost the first reply) is refused and names the
-- call, which agent_calls lists.
CREATE OR REPLACE FUNCTION vicidial._claiming_agent(agent varchar) RETURNS vicidial.vicidial_users
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    claiming vicidial.vicidial_users := vicidial._lock_acting_agent(agent);
    held bigint;
BEGIN
    SELECT l.lead_id INTO held FROM vicidial.vicidial_list l
     WHERE l."user" = agent AND l.status = 'INCALL'
     ORDER BY l.lead_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'agent "%" is already on a call with lead %', agent, held
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'end that call with lead_disposition first (agent_calls lists the calls an agent holds)';
    END IF;
    RETURN claiming;
END $$;

-- Another agent's open USERONLY callback is its owner's: nobody else
-- replaces it, by a scheduling or by a hangup of its lead (42501). Asked
-- with the lead locked.
CREATE OR REPLACE FUNCTION vicidial._refuse_anothers_useronly(lead_id bigint, agent varchar) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    owned record;
BEGIN
    SELECT c.callback_id, c."user" INTO owned FROM vicidial.vicidial_callbacks c
     WHERE c.lead_id = _refuse_anothers_useronly.lead_id AND c.status IN ('ACTIVE', 'LIVE')
       AND c.recipient = 'USERONLY' AND c."user" IS DISTINCT FROM agent;
    IF FOUND THEN
        RAISE EXCEPTION 'lead % has callback % for agent "%" only: agent "%" may not replace it',
            lead_id, owned.callback_id, owned."user", agent
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'the owner, or an admin with callback_modify, changes it';
    END IF;
END $$;

-- The lock order of every writer: agents, then leads (several in lead_id
-- order), then callbacks, so that two writers never wait on each other in
-- opposite orders.
CREATE OR REPLACE FUNCTION vicidial._lock_lead(lead_id bigint) RETURNS vicidial.vicidial_list
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

-- Several leads, locked in lead_id order (the order every writer locks
-- them in, so that two writers of overlapping sets never deadlock), and
-- the ids of those locked: with skip_locked, a lead another transaction
-- holds is left out rather than waited for (the runs). The caller chose
-- the candidates before their locks, so it tests them again as locked.
CREATE OR REPLACE FUNCTION vicidial._lock_leads(candidates bigint[], skip_locked boolean DEFAULT false)
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF skip_locked THEN
        RETURN ARRAY(SELECT l.lead_id FROM vicidial.vicidial_list l WHERE l.lead_id = ANY (candidates)
                      ORDER BY l.lead_id FOR UPDATE SKIP LOCKED);
    END IF;
    RETURN ARRAY(SELECT l.lead_id FROM vicidial.vicidial_list l WHERE l.lead_id = ANY (candidates)
                  ORDER BY l.lead_id FOR UPDATE);
END $$;

CREATE OR REPLACE FUNCTION vicidial._lock_callback(callback_id bigint) RETURNS vicidial.vicidial_callbacks
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
