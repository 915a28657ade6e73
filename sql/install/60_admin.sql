-- The admin side: the modify-lead screen and the callback viewer (search,
-- sort, page, summarise).

CREATE OR REPLACE FUNCTION vicidial.callback_modify(
    callback_id bigint,
    callback_time timestamptz DEFAULT NULL,
    agent varchar DEFAULT NULL,
    recipient text DEFAULT NULL,
    comments text DEFAULT NULL,
    archive boolean DEFAULT false)
RETURNS SETOF vicidial.vicidial_callbacks
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET vicidial.change_reason = 'MODIFIED' AS $$
DECLARE
    callback vicidial.vicidial_callbacks;
    locked_owner varchar;
    on_call record;
    new_status varchar;
BEGIN
    PERFORM vicidial._require_read_committed('callback_modify');
    PERFORM vicidial._not_null(archive, 'archive');
    IF callback_modify.callback_time IS NOT NULL THEN
        PERFORM vicidial._check_time(callback_modify.callback_time, 'callback_time');
    END IF;
    IF recipient IS NOT NULL THEN
        PERFORM vicidial._check_recipient(recipient);
    END IF;
    PERFORM vicidial._check_comments(comments);
    IF agent IS NOT NULL THEN
        PERFORM vicidial._active_agent(agent);
    END IF;
    -- The owner it will have (the one given, else the one it has) is
    -- locked before its lead, the lock order of every writer (the guard
    -- locks it again, to count its callbacks).
    SELECT u."user" INTO locked_owner FROM vicidial.vicidial_users u
     WHERE u."user" = coalesce(callback_modify.agent,
                               (SELECT c."user" FROM vicidial.vicidial_callbacks c
                                 WHERE c.callback_id = callback_modify.callback_id))
       FOR NO KEY UPDATE;
    IF callback_modify.agent IS NOT NULL AND locked_owner IS NULL THEN
        -- deleted or renamed since: P0002; if it is back, it is not locked
        PERFORM vicidial._active_agent(callback_modify.agent);
        RAISE EXCEPTION 'agent "%" changed while callback % was being changed', callback_modify.agent, callback_modify.callback_id
            USING ERRCODE = 'serialization_failure',
                  HINT = 'try again';
    END IF;
    callback := vicidial._lock_callback(callback_modify.callback_id);
    -- The owner it has was read before either lock, and another change
    -- may have given it a new one before its lead's lock was had. If this
    -- call makes the callback USERONLY, the guard locks that owner: it is
    -- locked here only if that waits for nobody, as waiting for an agent
    -- while holding the lead could deadlock with that agent's own writes.
    -- If it is busy, the call is refused (40001), to be retried.
    IF callback_modify.agent IS NULL AND callback."user" IS DISTINCT FROM locked_owner AND callback."user" IS NOT NULL
       AND NOT archive AND callback.recipient <> 'USERONLY'
       AND coalesce(callback_modify.recipient, callback.recipient) = 'USERONLY' THEN
        PERFORM FROM vicidial.vicidial_users u WHERE u."user" = callback."user" FOR NO KEY UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'callback % was given to agent "%" while it was being changed', callback.callback_id, callback."user"
                USING ERRCODE = 'serialization_failure',
                      HINT = 'try again';
        END IF;
    END IF;
    -- A call in progress is its agent's (I11): its callback cannot become
    -- another agent's alone until the hangup. Refused here, before
    -- anything changes, not at commit. (The lead is locked.)
    SELECT l.lead_id, l."user" INTO on_call FROM vicidial.vicidial_list l
     WHERE l.lead_id = callback.lead_id AND l.status = 'INCALL';
    IF FOUND AND NOT archive AND coalesce(callback_modify.recipient, callback.recipient) = 'USERONLY'
       AND on_call."user" IS DISTINCT FROM coalesce(callback_modify.agent, callback."user") THEN
        RAISE EXCEPTION 'lead % of callback % is on a call with agent "%": the callback cannot be agent "%"''s only',
            callback.lead_id, callback.callback_id, on_call."user", coalesce(callback_modify.agent, callback."user")
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'change it after the call ends';
    END IF;
    new_status := CASE
                      WHEN archive THEN 'ARCHIVE'
                      -- a LIVE callback moved to a later time waits again
                      WHEN callback.status = 'LIVE' AND callback_modify.callback_time > now() THEN 'ACTIVE'
                      ELSE callback.status
                  END;
    -- The guard trigger refuses ARCHIVE rows and checks the new values;
    -- what the change does to the lead and the hopper follows from the
    -- transition (_callback_effects).
    UPDATE vicidial.vicidial_callbacks c
       SET callback_time = coalesce(callback_modify.callback_time, c.callback_time),
           "user"        = coalesce(callback_modify.agent, c."user"),
           recipient     = coalesce(callback_modify.recipient, c.recipient),
           comments      = coalesce(callback_modify.comments, c.comments),
           status        = new_status
     WHERE c.callback_id = callback.callback_id
    RETURNING c.* INTO callback;
    IF callback.status = 'LIVE' AND callback.recipient = 'ANYONE' THEN
        PERFORM vicidial._release_anyone(ARRAY[callback.lead_id], now());
    END IF;
    RETURN NEXT callback;
END $$;

-- Stuck calls: every call the agent holds ends (see _end_calls). For an
-- agent whose client died after its claim committed.
CREATE OR REPLACE FUNCTION vicidial.agent_release(agent varchar) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    held bigint[];
BEGIN
    PERFORM vicidial._require_read_committed('agent_release');
    PERFORM vicidial._agent(agent);
    held := vicidial._lock_leads(ARRAY(
        SELECT l.lead_id FROM vicidial.vicidial_list l WHERE l.status = 'INCALL' AND l."user" = agent));
    -- tested again as locked: a lead dialed again since by another agent
    -- is not this agent's call (_end_calls leaves alone one no longer INCALL)
    held := ARRAY(SELECT l.lead_id FROM vicidial.vicidial_list l
                   WHERE l.lead_id = ANY (held) AND l."user" = agent
                   ORDER BY l.lead_id);
    RETURN vicidial._end_calls(held, now());
END $$;

-- The viewer's filters, each optional, combined with AND. Arguments are
-- checked here; the WHERE clause they feed is _callbacks_filter().
CREATE OR REPLACE FUNCTION vicidial._check_callbacks_filter(
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
    IF agent IS NOT NULL THEN
        PERFORM vicidial._agent(agent);
    END IF;
    IF callback_status IS NOT NULL THEN
        PERFORM vicidial._check_callback_status(callback_status);
    END IF;
    IF NOT isfinite(time_from) OR NOT isfinite(time_to) THEN
        RAISE EXCEPTION 'time_from and time_to must be finite times (got % and %)', time_from, time_to
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'leave a bound NULL for an open range';
    END IF;
    IF time_from > time_to THEN
        RAISE EXCEPTION 'time_from % is after time_to %', time_from, time_to
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END $$;

-- $1..$6 are the six filters above, in that order. Run through EXECUTE, so
-- each query is planned with the filters actually given.
CREATE OR REPLACE FUNCTION vicidial._callbacks_filter() RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT '($1 IS NULL OR c.campaign_id = $1) AND ($2 IS NULL OR c.list_id = $2)'
        || ' AND ($3 IS NULL OR c."user" = $3) AND ($4 IS NULL OR c.status = $4)'
        || ' AND ($5 IS NULL OR c.callback_time >= $5) AND ($6 IS NULL OR c.callback_time < $6)'
$$;

CREATE OR REPLACE FUNCTION vicidial.callbacks_report(
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
               phone_number varchar, first_name varchar, last_name varchar,
               customer_timezone text, customer_time timestamp, dialable_now boolean, next_dialable timestamptz)
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
    -- The page is chosen first; the hours (a function call per row) are
    -- asked only for the rows on it, whatever the sort.
    RETURN QUERY EXECUTE format(
        'SELECT c.callback_id, c.lead_id, c.list_id, c.campaign_id, c.status, c.entry_time, c.callback_time,'
        '       c.modify_date, c."user", c.recipient, c.comments, l.status, l.phone_number, l.first_name, l.last_name,'
        '       c.customer_timezone, c.callback_time AT TIME ZONE c.customer_timezone, d.dialable_now, d.next_dialable'
        '  FROM (SELECT c.* FROM vicidial.vicidial_callbacks c'
        '         WHERE %s ORDER BY c.%I %s, c.callback_id %s LIMIT $7 OFFSET $8) c'
        '  JOIN vicidial.vicidial_list l ON l.lead_id = c.lead_id'
        '  JOIN vicidial.lead_hours h ON h.lead_id = c.lead_id'
        ' CROSS JOIN LATERAL vicidial._dialable_now(h.zone, h.call_times) d'
        ' ORDER BY c.%I %s, c.callback_id %s',
        vicidial._callbacks_filter(), sort_by, direction, direction, sort_by, direction, direction)
    USING campaign, list, agent, callback_status, time_from, time_to, max_rows, skip_rows;
END $$;

CREATE OR REPLACE FUNCTION vicidial.callbacks_summary(
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
