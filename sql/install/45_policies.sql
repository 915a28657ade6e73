-- Callback policies: the active limit, retries, the move of
-- an absent owner's callbacks to anyone, the display limit and the bulk
-- reassign. Each rule's test and its effect are here; the triggers and
-- functions that enforce them call in.

-- The active limit: an agent holds at most N open (ACTIVE or LIVE)
-- USERONLY callbacks in a campaign, N the agent's own limit, else the
-- campaign's; 0 is none. The lead being written is not counted, so that an
-- agent at the limit may still reschedule (supersede) a callback of theirs
-- on the same lead. Under a limit the agent's row is locked before the
-- count, so two schedulings for one agent are counted one after the other.
CREATE OR REPLACE FUNCTION vicidial._check_active_limit(agent varchar, campaign vicidial.vicidial_campaigns,
                                                        lead_id bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    active_limit integer;
    held bigint;
BEGIN
    SELECT coalesce(u.callback_active_limit, campaign.callback_active_limit) INTO active_limit
      FROM vicidial.vicidial_users u WHERE u."user" = agent;
    IF coalesce(active_limit, 0) = 0 THEN
        RETURN;
    END IF;
    -- lock, then read the limit and count as they are now
    SELECT coalesce(u.callback_active_limit, campaign.callback_active_limit) INTO active_limit
      FROM vicidial.vicidial_users u WHERE u."user" = agent
       FOR NO KEY UPDATE;
    IF active_limit = 0 THEN
        RETURN;
    END IF;
    SELECT count(*) INTO held FROM vicidial.vicidial_callbacks c
     WHERE c."user" = agent AND c.recipient = 'USERONLY' AND c.status IN ('ACTIVE', 'LIVE')
       AND c.campaign_id = campaign.campaign_id AND c.lead_id <> _check_active_limit.lead_id;
    IF held >= active_limit THEN
        RAISE EXCEPTION 'agent "%" already holds % open USERONLY callbacks in campaign "%", the limit is %',
            agent, held, campaign.campaign_id, active_limit
            USING ERRCODE = 'check_violation',
                  HINT = 'the limit is vicidial_users.callback_active_limit, else the campaign''s callback_active_limit';
    END IF;
END $$;

-- When a callback that ends with a retry status comes back: the first
-- instant after "at" that is its base time plus a whole number of delays
-- on the lead's wall clock (so "2:30 pm" stays "2:30 pm" across DST), moved
-- to the lead's next dialable instant when that falls outside its hours.
-- NULL when no such instant comes within 366 days.
CREATE OR REPLACE FUNCTION vicidial._retry_time(base timestamptz, delay interval, hours vicidial.lead_hours,
                                                at timestamptz) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    local_base timestamp := base AT TIME ZONE hours.zone;
    steps integer := 0;
    candidate timestamptz;
BEGIN
    -- An estimate of the steps, then exact on the wall clock: a month is
    -- not always 30 days, and a DST change moves the instant, not the clock.
    IF base <= at THEN
        steps := greatest(floor(extract(epoch FROM at - base) / extract(epoch FROM delay))::integer - 1, 0);
    END IF;
    candidate := vicidial._first_instant_from(local_base + steps * delay, hours.zone);
    WHILE steps > 0 AND candidate > at LOOP
        steps := steps - 1;
        candidate := vicidial._first_instant_from(local_base + steps * delay, hours.zone);
    END LOOP;
    WHILE candidate <= at LOOP
        steps := steps + 1;
        candidate := vicidial._first_instant_from(local_base + steps * delay, hours.zone);
    END LOOP;
    IF vicidial._hours_open(hours.zone, hours.call_times, candidate) THEN
        RETURN candidate;
    END IF;
    RETURN vicidial._next_open(hours.zone, hours.call_times, candidate);
END $$;

-- The hangup of a callback call with a retry status: the callback comes
-- back ACTIVE at its retry time, its lead held in CBHOLD, while it has been
-- dialed fewer than callback_max_attempts times and a retry time exists in
-- the campaign's window. Returns the callback's id when it did, else the
-- archive_reason the caller archives it with. The caller has locked the
-- lead and the callback.
CREATE OR REPLACE FUNCTION vicidial._retry_callback(callback vicidial.vicidial_callbacks, disposition varchar,
                                                    OUT retried bigint, OUT archive_reason varchar)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    campaign vicidial.vicidial_campaigns := vicidial._campaign(callback.campaign_id);
    hours vicidial.lead_hours;
    retry_at timestamptz;
BEGIN
    archive_reason := 'DIALED';
    IF NOT disposition = ANY (campaign.callback_retry_statuses) THEN
        RETURN;
    END IF;
    IF callback.attempts >= campaign.callback_max_attempts THEN
        archive_reason := 'MAX_ATTEMPTS';
        RETURN;
    END IF;
    hours := vicidial._lead_hours(callback.lead_id);
    retry_at := vicidial._retry_time(coalesce(callback.retry_base_time, callback.callback_time),
                                     campaign.callback_retry_delay, hours, now());
    -- none within 366 days, or beyond the campaign's days limit: done with
    IF retry_at IS NULL OR NOT retry_at <@ vicidial._callback_window(campaign.callback_days_limit, hours.zone) THEN
        RETURN;
    END IF;
    PERFORM set_config('vicidial.change_reason', 'RETRY', true);
    INSERT INTO vicidial.retrying_callbacks (callback_id) VALUES (callback.callback_id);
    -- callback and lead in one statement (I2)
    WITH again AS (
        UPDATE vicidial.vicidial_callbacks c SET status = 'ACTIVE', callback_time = retry_at
         WHERE c.callback_id = callback.callback_id
        RETURNING c.callback_id, c.lead_id)
    UPDATE vicidial.vicidial_list l SET status = 'CBHOLD', modify_date = now()
      FROM again a WHERE l.lead_id = a.lead_id;
    DELETE FROM vicidial.retrying_callbacks r WHERE r.callback_id = callback.callback_id;
    retried := callback.callback_id;
    archive_reason := NULL;
END $$;

-- When the next owner's callback is due to move to anyone: the earliest
-- callback_time + N minutes over the LIVE USERONLY callbacks of the
-- campaigns that move them (N = callback_useronly_move_minutes > 0); NULL
-- when there is none. A move is due strictly after that instant. A
-- callback its owner is calling is not counted: the hangup settles it, and
-- the worker must not wake for it again and again. One index probe per
-- such campaign, so that an idle run stays cheap.
CREATE OR REPLACE FUNCTION vicidial._next_move() RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT min(o.oldest + make_interval(mins => cp.callback_useronly_move_minutes))
              FROM vicidial.vicidial_campaigns cp
             CROSS JOIN LATERAL (
                   SELECT c.callback_time AS oldest
                     FROM vicidial.vicidial_callbacks c
                     JOIN vicidial.vicidial_list l ON l.lead_id = c.lead_id AND l.status <> 'INCALL'
                    WHERE c.campaign_id = cp.campaign_id AND c.status = 'LIVE' AND c.recipient = 'USERONLY'
                    ORDER BY c.callback_time
                    LIMIT 1) o
             WHERE cp.callback_useronly_move_minutes > 0);
END $$;

-- The LIVE USERONLY callbacks of these leads (locked by the caller) that
-- have been LIVE for more than their campaign's move minutes at "at" become
-- ANYONE callbacks, user kept; a lead its owner is calling right now is
-- left to the hangup. The caller releases the leads.
CREATE OR REPLACE FUNCTION vicidial._move_overdue(lead_ids bigint[], at timestamptz) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan
SET vicidial.change_reason = 'MOVED' AS $$
BEGIN
    UPDATE vicidial.vicidial_callbacks c SET recipient = 'ANYONE', modify_date = now()
      FROM unnest(lead_ids) AS locked(lead_id)
      JOIN vicidial.vicidial_list l ON l.lead_id = locked.lead_id AND l.status = 'CBHOLD',
           vicidial.vicidial_campaigns cp
     WHERE c.lead_id = locked.lead_id AND c.status = 'LIVE' AND c.recipient = 'USERONLY'
       AND cp.campaign_id = c.campaign_id AND cp.callback_useronly_move_minutes > 0
       AND c.callback_time < at - make_interval(mins => cp.callback_useronly_move_minutes);
END $$;

-- The display limit of the agent's list and button: each campaign shows
-- callbacks due before local midnight of today + N days in its zone (N =
-- callback_display_days; 0 shows all). Decided once per campaign, never
-- per callback: a screen polls the button every few seconds. Display
-- only: the active limit counts every open callback.
CREATE OR REPLACE VIEW vicidial.agent_display_limits AS
SELECT cp.campaign_id,
       CASE WHEN cp.callback_display_days = 0 THEN 'infinity'::timestamptz
            ELSE vicidial._first_instant_from((now() AT TIME ZONE cp.time_zone)::date + cp.callback_display_days,
                                              cp.time_zone) END AS shown_before
  FROM vicidial.vicidial_campaigns cp;

-- Admin: the open USERONLY callbacks of from_agent (in a campaign, a list,
-- when given) go to to_agent, whose rights and active limit apply, or with
-- no to_agent become ANYONE callbacks (user kept), the LIVE ones' leads
-- released to the hopper as the sweep releases them. All or nothing.
-- Returns how many callbacks changed.
CREATE OR REPLACE FUNCTION vicidial.callbacks_reassign(from_agent varchar, to_agent varchar DEFAULT NULL,
                                                       campaign varchar DEFAULT NULL, list bigint DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan
SET vicidial.change_reason = 'REASSIGNED' AS $$
DECLARE
    held bigint[];
    on_call record;
    changed integer;
BEGIN
    PERFORM vicidial._require_read_committed('callbacks_reassign');
    PERFORM vicidial._not_null(from_agent, 'from_agent');
    -- an unknown agent, campaign or list is P0002, as in the viewer
    PERFORM vicidial._check_callbacks_filter(campaign, list, from_agent, NULL, NULL, NULL);
    IF to_agent IS NOT NULL THEN
        PERFORM vicidial._active_agent(to_agent);
        PERFORM FROM vicidial.vicidial_users u WHERE u."user" = to_agent FOR NO KEY UPDATE;
    END IF;
    -- the callbacks are tested again after their leads' locks
    held := vicidial._lock_leads(ARRAY(
        SELECT c.lead_id FROM vicidial.vicidial_callbacks c
         WHERE c."user" = from_agent AND c.recipient = 'USERONLY' AND c.status IN ('ACTIVE', 'LIVE')));
    -- A callback its owner is calling right now is the hangup's to settle:
    -- refused before anything changes, rather than failing at commit.
    SELECT c.callback_id, c.lead_id INTO on_call
      FROM unnest(held) AS locked(lead_id)
      JOIN vicidial.vicidial_list l ON l.lead_id = locked.lead_id AND l.status = 'INCALL'
      JOIN vicidial.vicidial_callbacks c ON c.lead_id = locked.lead_id
     WHERE c."user" = from_agent AND c.recipient = 'USERONLY' AND c.status IN ('ACTIVE', 'LIVE')
       AND (callbacks_reassign.campaign IS NULL OR c.campaign_id = callbacks_reassign.campaign)
       AND (callbacks_reassign.list IS NULL OR c.list_id = callbacks_reassign.list)
     ORDER BY c.callback_id
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'callback % cannot be reassigned: its lead % is on a call', on_call.callback_id, on_call.lead_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'reassign after the call ends, or narrow the reassignment with campaign or list';
    END IF;
    UPDATE vicidial.vicidial_callbacks c
       SET "user" = coalesce(to_agent, c."user"),
           recipient = CASE WHEN to_agent IS NULL THEN 'ANYONE' ELSE c.recipient END
      FROM unnest(held) AS locked(lead_id)
     WHERE c.lead_id = locked.lead_id AND c."user" = from_agent AND c.recipient = 'USERONLY'
       AND c.status IN ('ACTIVE', 'LIVE')
       AND (callbacks_reassign.campaign IS NULL OR c.campaign_id = callbacks_reassign.campaign)
       AND (callbacks_reassign.list IS NULL OR c.list_id = callbacks_reassign.list);
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF to_agent IS NULL THEN
        PERFORM vicidial._release_anyone(held, now());
    END IF;
    RETURN changed;
END $$;
