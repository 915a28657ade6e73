-- The agent side: the CALLBK popup and its slots, the agent's callback list
-- and button, dialing a callback or the next hopper lead, the hangup.

CREATE OR REPLACE FUNCTION vicidial.callback_schedule(
    lead_id bigint,
    agent varchar,
    callback_time timestamptz,
    recipient text DEFAULT 'ANYONE',
    comments text DEFAULT NULL,
    lead_status varchar DEFAULT 'CALLBK')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET vicidial.change_reason = 'SCHEDULED' AS $$
BEGIN
    PERFORM vicidial._require_read_committed('callback_schedule');
    PERFORM vicidial._check_schedule_arguments(callback_time, recipient, comments, lead_status);
    PERFORM vicidial._lock_acting_agent(agent);
    RETURN vicidial._schedule_callback(vicidial._lock_lead(callback_schedule.lead_id), agent, callback_time,
                                       recipient, comments, lead_status);
END $$;

-- The arguments of a scheduling, checked before the values meet their
-- varchar columns.
CREATE OR REPLACE FUNCTION vicidial._check_schedule_arguments(callback_time timestamptz, recipient text,
                                                              comments text, lead_status text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._check_time(callback_time, 'callback_time');
    PERFORM vicidial._not_null(recipient, 'recipient');
    PERFORM vicidial._not_null(lead_status, 'lead_status');
    PERFORM vicidial._check_recipient(recipient);
    PERFORM vicidial._check_comments(comments);
    PERFORM vicidial._check_lead_status(lead_status);
END $$;

-- A new callback for a lead the caller has locked (and whose agent it has
-- checked): the CALLBK popup and the CALLBK disposition. The lead becomes
-- CBHOLD with its agent, leaves the hopper, and its open callback is
-- superseded; the call the agent was on, if any, is over, and the open
-- callback of a lead on a call was that call's, so it ends as any
-- disposition ends a callback call, DIALED (as lead_disposition archives
-- it; CALLBK is never a retry status). The guard
-- trigger checks recipient, USERONLY rights, the campaign and the time of
-- the new row.
CREATE OR REPLACE FUNCTION vicidial._schedule_callback(lead vicidial.vicidial_list, agent varchar,
                                                       callback_time timestamptz, recipient text, comments text,
                                                       lead_status text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_callback_id bigint;
BEGIN
    -- I10: a call in progress is its agent's to settle.
    IF lead.status = 'INCALL' AND lead."user" IS DISTINCT FROM agent THEN
        RAISE EXCEPTION 'lead % is INCALL with agent "%"', lead.lead_id, lead."user"
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM vicidial._refuse_anothers_useronly(lead.lead_id, agent);
    IF lead.status = 'INCALL' THEN
        PERFORM vicidial._close_dials(ARRAY[lead.lead_id], 'CALLBK', lead.last_local_call_time);
    END IF;

    DELETE FROM vicidial.vicidial_hopper h WHERE h.lead_id = lead.lead_id;
    WITH superseded AS (
        UPDATE vicidial.vicidial_callbacks c
           SET status = 'ARCHIVE', archive_reason = CASE WHEN lead.status = 'INCALL' THEN 'DIALED' ELSE 'SUPERSEDED' END
         WHERE c.lead_id = lead.lead_id AND c.status IN ('ACTIVE', 'LIVE')
        RETURNING c.callback_id),
    scheduled AS (
        -- Reading "superseded" archives the open row before its successor
        -- meets the one-open-callback index.
        INSERT INTO vicidial.vicidial_callbacks (lead_id, status, callback_time, "user", recipient, comments, lead_status)
        SELECT lead.lead_id, 'ACTIVE', _schedule_callback.callback_time, _schedule_callback.agent,
               _schedule_callback.recipient, _schedule_callback.comments, _schedule_callback.lead_status
          FROM (SELECT count(*) FROM superseded) AS archived_first
        RETURNING vicidial_callbacks.callback_id, vicidial_callbacks.lead_id),
    held AS (
        UPDATE vicidial.vicidial_list l SET status = 'CBHOLD', "user" = _schedule_callback.agent, modify_date = now()
          FROM scheduled s WHERE l.lead_id = s.lead_id)
    SELECT s.callback_id INTO new_callback_id FROM scheduled s;
    RETURN new_callback_id;
END $$;

-- The popup's slots for a day. With a lead: the day is on the lead's
-- calendar and only the half hours callback_schedule would accept for that
-- lead are listed (its calling hours, its campaign's day limit); without
-- one, 1.0's slots in the session's TimeZone.
CREATE OR REPLACE FUNCTION vicidial.callback_slots(day date, campaign varchar DEFAULT NULL, lead_id bigint DEFAULT NULL)
RETURNS TABLE (slot timestamptz, is_default boolean, local_time timestamp)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    days_limit integer := 365;
    chosen vicidial.vicidial_campaigns;
    hours vicidial.lead_hours;
    zone text := current_setting('TimeZone');
    allowed tstzrange;
BEGIN
    PERFORM vicidial._not_null(day, 'day');
    IF NOT isfinite(day) THEN
        RAISE EXCEPTION 'day must be a finite date, not %', day USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF callback_slots.lead_id IS NOT NULL THEN
        hours := vicidial._lead_hours(callback_slots.lead_id);
        zone := hours.zone;
        campaign := (SELECT li.campaign_id FROM vicidial.vicidial_list l JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id
                      WHERE l.lead_id = callback_slots.lead_id);
    END IF;
    IF campaign IS NOT NULL THEN
        chosen := vicidial._campaign(campaign);
        IF NOT chosen.scheduled_callbacks THEN
            RAISE EXCEPTION 'campaign "%" does not allow scheduled callbacks', campaign
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        days_limit := chosen.callback_days_limit;
    END IF;
    allowed := vicidial._callback_window(days_limit, zone);
    -- Local midnight to local midnight in absolute half hours: 46 or 50 on a DST day.
    RETURN QUERY
    SELECT s, s = lower(allowed), s AT TIME ZONE zone
      FROM generate_series(vicidial._first_instant_from(day::timestamp, zone),
                           vicidial._first_instant_from((day + 1)::timestamp, zone) - interval '1 microsecond',
                           interval '30 minutes') AS s
     WHERE s <@ allowed
       AND (hours.lead_id IS NULL OR vicidial._hours_open(hours.zone, hours.call_times, s))
     ORDER BY s;
END $$;

-- An agent's open USERONLY callbacks, with the customer's clock, as far
-- ahead as the campaign's callback_display_days shows them.
CREATE OR REPLACE FUNCTION vicidial.agent_callbacks(agent varchar)
RETURNS TABLE (callback_id bigint, lead_id bigint, campaign_id varchar, list_id bigint, status varchar,
               callback_time timestamptz, entry_time timestamptz, recipient varchar, comments varchar,
               phone_number varchar, first_name varchar, last_name varchar,
               customer_timezone text, customer_time timestamp, dialable_now boolean, next_dialable timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._acting_agent(agent);
    RETURN QUERY
    SELECT c.callback_id, c.lead_id, c.campaign_id, c.list_id, c.status, c.callback_time, c.entry_time,
           c.recipient, c.comments, l.phone_number, l.first_name, l.last_name,
           c.customer_timezone, c.callback_time AT TIME ZONE c.customer_timezone, d.dialable_now, d.next_dialable
      FROM vicidial.vicidial_callbacks c
      JOIN vicidial.vicidial_list l ON l.lead_id = c.lead_id
      JOIN vicidial.lead_hours h ON h.lead_id = c.lead_id
      JOIN vicidial.agent_display_limits s ON s.campaign_id = c.campaign_id
     CROSS JOIN LATERAL vicidial._dialable_now(h.zone, h.call_times) d
     WHERE c."user" = agent AND c.recipient = 'USERONLY' AND c.status IN ('ACTIVE', 'LIVE')
       AND c.callback_time < s.shown_before
     ORDER BY c.callback_time, c.callback_id;
END $$;

CREATE OR REPLACE FUNCTION vicidial.agent_callback_count(agent varchar)
RETURNS TABLE (live bigint, open bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._acting_agent(agent);
    RETURN QUERY
    -- the agent's open USERONLY callbacks from their index, against each
    -- campaign's limit decided once
    SELECT count(*) FILTER (WHERE c.status = 'LIVE'), count(*)
      FROM vicidial.vicidial_callbacks c
      JOIN vicidial.agent_display_limits s ON s.campaign_id = c.campaign_id
     WHERE c."user" = agent AND c.recipient = 'USERONLY' AND c.status IN ('ACTIVE', 'LIVE')
       AND c.callback_time < s.shown_before;
END $$;

CREATE OR REPLACE FUNCTION vicidial.callback_dial(callback_id bigint, agent varchar)
RETURNS SETOF vicidial.vicidial_list
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET vicidial.change_reason = 'DIAL' AS $$
DECLARE
    callback vicidial.vicidial_callbacks;
    refused record;
BEGIN
    PERFORM vicidial._require_read_committed('callback_dial');
    PERFORM vicidial._claiming_agent(agent);
    callback := vicidial._lock_callback(callback_dial.callback_id);
    IF callback.status = 'ARCHIVE' THEN
        RAISE EXCEPTION 'callback % is ARCHIVE and cannot be dialed', callback.callback_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF callback.recipient = 'USERONLY' AND callback."user" IS DISTINCT FROM agent THEN
        RAISE EXCEPTION 'callback % belongs to agent "%", not "%"', callback.callback_id, callback."user", agent
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- The lead is locked: what the predicate says is current. With no
    -- override, every blocker but the hold for this very callback refuses.
    SELECT b.blocker, b.detail, b.until INTO refused
      FROM vicidial._dial_blockers(ARRAY[callback.lead_id], statement_timestamp(), ARRAY['INCALL', 'HOURS', 'DNC', 'LIMIT_24H']) b
     ORDER BY array_position(ARRAY['INCALL', 'HOURS', 'DNC', 'LIMIT_24H'], b.blocker)
     LIMIT 1;
    IF refused.blocker = 'INCALL' THEN
        RAISE EXCEPTION 'lead % of callback % is already INCALL', callback.lead_id, callback.callback_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    ELSIF refused.blocker = 'HOURS' THEN
        RAISE EXCEPTION 'lead % of callback % is outside its calling hours: %', callback.lead_id, callback.callback_id,
            vicidial._hours_detail(vicidial._lead_hours(callback.lead_id), statement_timestamp())
            USING ERRCODE = 'object_not_in_prerequisite_state';
    ELSIF refused.blocker IS NOT NULL THEN
        RAISE EXCEPTION 'lead % of callback % cannot be dialed: %', callback.lead_id, callback.callback_id,
            refused.detail || coalesce('; dialable again at ' || refused.until, '')
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE vicidial.vicidial_callbacks c SET status = 'LIVE'
     WHERE c.callback_id = callback.callback_id AND c.status = 'ACTIVE';
    RETURN QUERY SELECT * FROM vicidial._dial_lead(callback.lead_id, agent);
END $$;

CREATE OR REPLACE FUNCTION vicidial.hopper_next(campaign_id varchar, agent varchar)
RETURNS SETOF vicidial.vicidial_list
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- A cursor, not a FOR over a query: a cursor is planned for its first
    -- rows (cursor_tuple_fraction), so it reads the hopper index in
    -- hand-out order and stops at the first lead taken; a FOR loop's query
    -- is planned for all its rows, and sorts the campaign's whole hopper
    -- at every hand-out.
    candidates CURSOR FOR
        SELECT h.lead_id FROM vicidial.vicidial_hopper h
         WHERE h.campaign_id = hopper_next.campaign_id AND h.status = 'READY'
         ORDER BY h.priority DESC, h.hopper_id;
    locked bigint;
    held_back record;
    picked bigint;
    -- read before anything is decided on the hours
    decided_on bigint := vicidial._hours_version();
BEGIN
    PERFORM vicidial._require_read_committed('hopper_next');
    PERFORM vicidial._not_null(campaign_id, 'campaign_id');
    PERFORM vicidial._campaign(campaign_id);
    PERFORM vicidial._claiming_agent(agent);
    -- The campaign's READY rows in hand-out order, tried one by one until a
    -- lead may be dialed: its hopper row and lead are locked, skipping any
    -- another session holds, so concurrent dialers never wait or collide,
    -- and then tested as locked (the hopper's guards keep CBHOLD and INCALL
    -- leads out; this is the last word). A lead outside its calling hours
    -- or over the 24-hour limit keeps its row, place and priority but waits
    -- out of the READY rows until then (WAIT; a run makes it READY again),
    -- so that the next hand-out does not read it again; one on a
    -- do-not-call list is passed over (§9). One row at a time, so that
    -- those tests cost what the rows tried cost, not the whole hopper.
    -- The hours and the 24-hour limit are those of this statement's time,
    -- not of its transaction's start: in a transaction opened earlier,
    -- now() would judge a closed lead open, and miss dials logged since.
    FOR candidate IN candidates LOOP
        SELECT h.lead_id INTO locked
          FROM vicidial.vicidial_hopper h
          JOIN vicidial.vicidial_list l ON l.lead_id = h.lead_id
         WHERE h.lead_id = candidate.lead_id AND h.campaign_id = hopper_next.campaign_id AND h.status = 'READY'
           FOR UPDATE OF h, l SKIP LOCKED;
        CONTINUE WHEN NOT FOUND;
        SELECT bool_or(b.blocker IN ('CBHOLD', 'INCALL', 'DNC')) AS passed_over,
               max(coalesce(b.until, statement_timestamp() + interval '1 day')) FILTER (WHERE b.blocker IN ('HOURS', 'LIMIT_24H')) AS waits_until
          INTO held_back
          FROM vicidial._dial_blockers(ARRAY[locked], statement_timestamp(), ARRAY['CBHOLD', 'INCALL', 'DNC', 'HOURS', 'LIMIT_24H']) b;
        CONTINUE WHEN held_back.passed_over;
        IF held_back.waits_until IS NOT NULL THEN
            UPDATE vicidial.vicidial_hopper h
               SET status = 'WAIT', dialable_after = held_back.waits_until, hours_version = decided_on
             WHERE h.lead_id = locked;
            CONTINUE;
        END IF;
        picked := locked;
        EXIT;
    END LOOP;
    IF picked IS NOT NULL THEN
        RETURN QUERY SELECT * FROM vicidial._dial_lead(picked, agent);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION vicidial.lead_disposition(
    lead_id bigint,
    agent varchar,
    status varchar,
    callback_time timestamptz DEFAULT NULL,
    recipient text DEFAULT 'ANYONE',
    comments text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET vicidial.change_reason = 'DIALED' AS $$
DECLARE
    lead vicidial.vicidial_list;
    callback vicidial.vicidial_callbacks;
    outcome record;
BEGIN
    PERFORM vicidial._require_read_committed('lead_disposition');
    PERFORM vicidial._not_null(status, 'status');
    -- bound, but not necessarily active: an agent always ends a call they
    -- hold, even after being deactivated
    PERFORM vicidial._bound_agent(agent, true);
    lead := vicidial._lock_lead(lead_disposition.lead_id);
    IF status = 'CBHOLD' THEN
        RAISE EXCEPTION 'CBHOLD cannot be given as a disposition (lead %)', lead.lead_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'give CALLBK with a callback_time to schedule a callback';
    END IF;
    PERFORM vicidial._check_lead_status(status);
    IF lead.status <> 'INCALL' THEN
        -- a lead held for another agent's USERONLY callback is refused as theirs
        PERFORM vicidial._refuse_anothers_useronly(lead.lead_id, agent);
        RAISE EXCEPTION 'lead % is %, not INCALL', lead.lead_id, lead.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- I10: only the agent holding the call ends it.
    IF lead."user" IS DISTINCT FROM agent THEN
        RAISE EXCEPTION 'lead % is INCALL with agent "%", not "%"', lead.lead_id, lead."user", agent
            USING ERRCODE = 'insufficient_privilege';
    END IF;

    -- The hangup of a callback call: a retry status brings the callback back
    -- (the campaign's retry policy), else it is archived. The lead is
    -- INCALL, so archiving first leaves it consistent. The dial is closed
    -- with the disposition; a CALLBK's by the scheduling below, as the end
    -- of the call it is on (closed here as well, the second close would
    -- take the lead's next older open dial, if any).
    IF status <> 'CALLBK' THEN
        PERFORM vicidial._close_dials(ARRAY[lead.lead_id], status, lead.last_local_call_time);
    END IF;
    SELECT * INTO callback FROM vicidial.vicidial_callbacks c
     WHERE c.lead_id = lead.lead_id AND c.status IN ('ACTIVE', 'LIVE')
       FOR UPDATE;
    IF FOUND THEN
        outcome := vicidial._retry_callback(callback, status);
        IF outcome.retried IS NOT NULL THEN
            RETURN outcome.retried;
        END IF;
        UPDATE vicidial.vicidial_callbacks c SET status = 'ARCHIVE', archive_reason = outcome.archive_reason
         WHERE c.callback_id = callback.callback_id;
    END IF;
    IF status = 'CALLBK' THEN
        PERFORM vicidial._check_schedule_arguments(callback_time, recipient, comments, 'CALLBK');
        PERFORM set_config('vicidial.change_reason', 'SCHEDULED', true);
        RETURN vicidial._schedule_callback(lead, agent, callback_time, recipient, comments, 'CALLBK');
    END IF;
    UPDATE vicidial.vicidial_list l SET status = lead_disposition.status, "user" = agent, modify_date = now()
     WHERE l.lead_id = lead.lead_id;
    RETURN NULL;
END $$;

-- The calls the agent holds (INCALL leads with the agent as user): what a
-- screen shows after a reload, or after losing the reply to its claim.
-- An inactive agent still sees the calls it must end.
CREATE OR REPLACE FUNCTION vicidial.agent_calls(agent varchar)
RETURNS SETOF vicidial.vicidial_list
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._bound_agent(agent, false);
    RETURN QUERY
    SELECT l.* FROM vicidial.vicidial_list l
     WHERE l."user" = agent AND l.status = 'INCALL'
     ORDER BY l.last_local_call_time, l.lead_id;
END $$;

-- The open callback of each call the agent holds: whether the call is a
-- callback call (one taken from the hopper after an ANYONE callback fell
-- due, or dialed from the list) and what its scheduler wrote. Bound like
-- agent_calls.
CREATE OR REPLACE FUNCTION vicidial.agent_call_callbacks(agent varchar)
RETURNS TABLE (lead_id bigint, callback_id bigint, recipient varchar, scheduled_by varchar, comments varchar,
               callback_time timestamptz, customer_time timestamp, attempts integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._bound_agent(agent, false);
    RETURN QUERY
    SELECT l.lead_id, c.callback_id, c.recipient, c."user", c.comments, c.callback_time,
           c.callback_time AT TIME ZONE c.customer_timezone, c.attempts
      FROM vicidial.vicidial_list l
      JOIN vicidial.vicidial_callbacks c ON c.lead_id = l.lead_id AND c.status IN ('ACTIVE', 'LIVE')
     WHERE l."user" = agent AND l.status = 'INCALL'
     ORDER BY l.last_local_call_time, l.lead_id;
END $$;
