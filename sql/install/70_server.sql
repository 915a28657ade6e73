-- The server side: the sweep that turns due callbacks LIVE, the standard
-- hopper fill, and hopper_run, the one transaction the background worker
-- (or pg_cron) runs each interval. All set-based: a run costs what is due.

-- Every sweep, fill and run in the database takes this transaction-level
-- lock, so two drivers at once (worker and pg_cron) do the work once. Only
-- the extension's owner may lock the table, so no other role can stall a
-- run by holding it.
CREATE OR REPLACE FUNCTION vicidial._serialize_hopper_runs() RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    LOCK TABLE vicidial.hopper_run_lock IN EXCLUSIVE MODE
$$;

-- What a run may have to do: the earliest ACTIVE callback, the earliest
-- release and the next move of an owner's callback (due strictly after
-- it). Each is one index probe whatever the time; planned once per session
-- (plan_cache_mode = auto undoes the caller's custom plans), so that an
-- idle run, which stops after these, pays no planning for them. The
-- worker's next wake is the earliest of the three.
CREATE OR REPLACE FUNCTION vicidial._run_bounds(OUT earliest timestamptz, OUT next_release timestamptz,
                                                OUT next_move timestamptz)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = auto AS $$
BEGIN
    -- Ordered as the due index is, so that no other index can serve it: as
    -- min(callback_time) the planner may walk the plain callback_time
    -- index through every ARCHIVE row in the past to the first ACTIVE one,
    -- at every idle run.
    earliest := (SELECT c.callback_time FROM vicidial.vicidial_callbacks c WHERE c.status = 'ACTIVE'
                  ORDER BY c.callback_time, c.callback_id LIMIT 1);
    next_release := (SELECT min(r.release_after) FROM vicidial.callback_releases r);
    next_move := vicidial._next_move();
END $$;

-- The sweep of the callbacks due at "now", the earliest "chunk" of them
-- (NULL: all). chunk_full says that the chunk was full: more may be due.
CREATE OR REPLACE FUNCTION vicidial._sweep(now timestamptz, chunk integer,
                                           OUT went_live integer, OUT useronly integer, OUT hopper_inserted integer,
                                           OUT chunk_full boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
-- planned for the actual now, not a generic plan (a few leads: see
-- _plan_for_leads); no JIT for a short statement
SET plan_cache_mode = force_custom_plan SET jit = off SET vicidial.change_reason = 'SWEEP' AS $$
DECLARE
    earliest timestamptz;
    next_release timestamptz;
    next_move timestamptz;
    hours_now bigint;
    hours_changed boolean;
    due_leads bigint[];
    locked_leads bigint[];
    notices text[];
BEGIN
    PERFORM vicidial._check_time(_sweep.now, 'now');
    PERFORM vicidial._require_read_committed('sweep');
    PERFORM vicidial._serialize_hopper_runs();
    -- The due range is [earliest ACTIVE time, now], both constants of each
    -- statement's plan: the planner then estimates the due rows, not every
    -- ACTIVE row older than now (the ARCHIVE rows in the past would have it
    -- expect half of them, and walk them all), and an idle run reads one
    -- index entry.
    SELECT b.earliest, b.next_release, b.next_move INTO earliest, next_release, next_move FROM vicidial._run_bounds() b;
    -- releases deferred on hours changed since are decided again (the
    -- oldest version, one index entry: an EXISTS planned on stale
    -- statistics walked every deferred release)
    hours_now := vicidial._hours_version();
    hours_changed := coalesce((SELECT min(r.hours_version) FROM vicidial.callback_releases r
                                WHERE r.release_after > '-infinity') < hours_now, false);
    -- Nothing due, no release due (however many leads wait for their
    -- hours) and no owner's callback to move: the idle run stops here,
    -- before planning the statements below, having read one entry of each
    -- index.
    IF (earliest IS NULL OR earliest > _sweep.now) AND (next_release IS NULL OR next_release > _sweep.now)
       AND (next_move IS NULL OR next_move >= _sweep.now) AND NOT hours_changed THEN
        went_live := 0;
        useronly := 0;
        hopper_inserted := 0;
        chunk_full := false;
        RETURN;
    END IF;
    -- Leads before callbacks, the lock order of every writer. A lead another
    -- transaction holds is skipped, not waited for: its callback goes at a
    -- later run, every other one on time.
    -- First the leads of the due callbacks, the earliest callback first,
    -- each locked as it is chosen (in that order, not lead_id's: a sweep
    -- never waits, so its locks cannot close a cycle). A chunk is the
    -- first "chunk" of them that could be locked: no later callback goes
    -- before an earlier one that could, and leads held elsewhere never
    -- fill a chunk.
    due_leads := ARRAY(
        SELECT l.lead_id FROM vicidial.vicidial_callbacks c
          JOIN vicidial.vicidial_list l ON l.lead_id = c.lead_id
         WHERE c.status = 'ACTIVE' AND c.callback_time BETWEEN earliest AND _sweep.now
         ORDER BY c.callback_time, c.callback_id
         LIMIT chunk
           FOR UPDATE OF l SKIP LOCKED);
    chunk_full := coalesce(cardinality(due_leads) = chunk, false);
    -- Then the leads of the releases due and of the owners' callbacks due
    -- to move. All of them in lead order, the order of the table's rows,
    -- for the statements below that read and write them one by one.
    locked_leads := ARRAY(SELECT DISTINCT k.lead_id FROM unnest(due_leads || vicidial._lock_leads(ARRAY(
        SELECT r.lead_id FROM vicidial.callback_releases r WHERE r.release_after <= _sweep.now
        UNION
        SELECT r.lead_id FROM vicidial.callback_releases r
         WHERE hours_changed AND r.release_after > '-infinity' AND r.hours_version < hours_now
        UNION
        SELECT c.lead_id FROM vicidial.vicidial_campaigns cp
          JOIN vicidial.vicidial_callbacks c ON c.campaign_id = cp.campaign_id
         WHERE next_move < _sweep.now AND cp.callback_useronly_move_minutes > 0
           AND c.status = 'LIVE' AND c.recipient = 'USERONLY'
           AND c.callback_time < _sweep.now - make_interval(mins => cp.callback_useronly_move_minutes)), true))
                                 AS k(lead_id)
                          ORDER BY k.lead_id);
    PERFORM vicidial._plan_for_leads(cardinality(locked_leads));

    -- Then test under the lock: only the chosen leads' due callbacks flip,
    -- so a callback committed meanwhile is neither flipped nor locked
    -- before its lead.
    WITH due AS (
        SELECT c.callback_id
          FROM unnest(due_leads) AS locked(lead_id)
          JOIN vicidial.vicidial_callbacks c ON c.lead_id = locked.lead_id
         WHERE c.status = 'ACTIVE' AND c.callback_time BETWEEN earliest AND _sweep.now
           FOR UPDATE OF c SKIP LOCKED),
    flipped AS (
        UPDATE vicidial.vicidial_callbacks c SET status = 'LIVE', modify_date = now()
          FROM due WHERE c.callback_id = due.callback_id
        RETURNING c.callback_id, c.recipient, c.lead_id, c."user", c.campaign_id)
    -- each USERONLY callback's notification, taken from the flip itself (a
    -- search of the callbacks for them read the whole table in a burst)
    SELECT count(*)::integer, (count(*) FILTER (WHERE f.recipient = 'USERONLY'))::integer,
           array_agg(row_to_json(n)::text ORDER BY f.callback_id) FILTER (WHERE f.recipient = 'USERONLY')
      INTO went_live, useronly, notices
      FROM flipped f
     CROSS JOIN LATERAL (SELECT 'live' AS event, f.callback_id, f.lead_id, f."user", f.campaign_id) n;

    -- An agent screen LISTENs instead of polling for its USERONLY callbacks.
    -- Notifications are hints: a queue that a listener stuck in an open
    -- transaction has filled would make the commit fail, so past
    -- vicidial_callbacks.notify_queue_limit the run sends none and says so.
    IF useronly > 0 THEN
        IF pg_notification_queue_usage() < vicidial._notify_queue_limit() THEN
            PERFORM pg_notify('vicidial_callbacks', notice) FROM unnest(notices) AS notice;
        ELSE
            RAISE WARNING 'vicidial_callbacks: the NOTIFY queue is % full: % callbacks went LIVE without a notification',
                to_char(pg_notification_queue_usage() * 100, 'FM990.0%'), useronly
                USING HINT = 'a session that LISTENs is not reading its notifications (an open transaction?); screens see them by polling agent_callback_count';
        END IF;
    END IF;

    IF next_move < _sweep.now THEN
        PERFORM vicidial._move_overdue(locked_leads, _sweep.now);
    END IF;
    hopper_inserted := vicidial._release_anyone(locked_leads, _sweep.now);
END $$;

CREATE OR REPLACE FUNCTION vicidial.sweep(now timestamptz DEFAULT now())
RETURNS TABLE (went_live integer, useronly integer, hopper_inserted integer)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.went_live, s.useronly, s.hopper_inserted FROM vicidial._sweep(now, NULL) s
$$;

-- Rows hopper_next set aside until their hours open (or the 24-hour limit
-- lapses) are READY again at that time, in their place, and so are those
-- set aside on hours that have changed since (hours_now, the version the
-- caller read); a row another session holds is left to the next run. Part
-- of every fill and of every run's sweep, so that a lead is back in line
-- at its time even while the worker puts its fill off
-- (vicidial_callbacks.fill_interval): the worker wakes for that time.
CREATE OR REPLACE FUNCTION vicidial._back_in_line(now timestamptz, hours_now bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- Asked first, each one index entry (the earliest time, the oldest
    -- version): an update fires the hopper's statement triggers even when
    -- it changes no row.
    IF (SELECT min(w.dialable_after) FROM vicidial.vicidial_hopper w WHERE w.status = 'WAIT') <= _back_in_line.now
       OR (SELECT min(w.hours_version) FROM vicidial.vicidial_hopper w WHERE w.status = 'WAIT') < hours_now THEN
        UPDATE vicidial.vicidial_hopper h SET status = 'READY', dialable_after = NULL, hours_version = NULL
          FROM (SELECT w.hopper_id FROM vicidial.vicidial_hopper w
                 WHERE w.status = 'WAIT' AND (w.dialable_after <= _back_in_line.now OR w.hours_version < hours_now)
                 ORDER BY w.hopper_id
                   FOR UPDATE SKIP LOCKED) due
         WHERE h.hopper_id = due.hopper_id;
    END IF;
END $$;

-- Each active campaign's room at "at": hopper_level less the READY rows
-- that hopper_next would hand out then (only campaigns with room), and
-- full_until, the first instant at which hours whose rows count close.
-- Planned once per session: a fill that finds no room stops after it,
-- and planning it costs more than running it. Forced, since under "auto"
-- the plan cache judged the generic plan dearer than a custom one and
-- planned it at every run.
CREATE OR REPLACE FUNCTION vicidial._fill_room(at timestamptz, OUT campaigns varchar[], OUT sizes bigint[],
                                               OUT full_until timestamptz)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    -- A row waiting for its lead's hours or over the 24-hour limit keeps
    -- its place but does not count. (No queued lead is CBHOLD or INCALL,
    -- I3 and I10, so the lead's status is not read. A lead's row leaves
    -- the hopper when its number is listed.) Rows are grouped by their
    -- lead's hours key, read from the row where it still holds
    -- (37_hopper_room.sql; against the hours' version read in this
    -- statement, which sees the hours it decides on), and the hours are
    -- decided once per key. The 24-hour limit is asked only of campaigns
    -- that have one: _limit_24h answers nothing for the others, and asking
    -- costs a probe per row. With no campaign to count for, no row is read.
    IF NOT EXISTS (SELECT 1 FROM vicidial.vicidial_campaigns cp WHERE cp.active AND cp.hopper_level > 0) THEN
        full_until := 'infinity';
        RETURN;
    END IF;
    WITH version AS MATERIALIZED (
        SELECT vicidial._hours_version() AS now),
    queued AS (
        SELECT h.campaign_id, h.hours_zone AS zone, h.hours_call_times AS call_times, h.lead_id, cp.call_limit_24hour
          FROM vicidial.vicidial_campaigns cp
          JOIN vicidial.vicidial_hopper h ON h.campaign_id = cp.campaign_id AND h.status = 'READY'
         WHERE cp.active AND cp.hopper_level > 0 AND h.hours_keyed_on = (SELECT v.now FROM version v)
        UNION ALL
        SELECT h.campaign_id, r.zone, r.call_times, h.lead_id, cp.call_limit_24hour
          FROM vicidial.vicidial_campaigns cp
          JOIN vicidial.vicidial_hopper h ON h.campaign_id = cp.campaign_id AND h.status = 'READY'
          JOIN vicidial.lead_rules r ON r.lead_id = h.lead_id
         WHERE cp.active AND cp.hopper_level > 0 AND h.hours_keyed_on IS DISTINCT FROM (SELECT v.now FROM version v)),
    counted AS MATERIALIZED (
        SELECT q.campaign_id, q.zone, q.call_times, count(*) AS rows
          FROM queued q
         WHERE q.call_limit_24hour <= 0
            OR NOT EXISTS (SELECT 1 FROM vicidial._limit_24h(q.lead_id, q.call_limit_24hour, at))
         GROUP BY q.campaign_id, q.zone, q.call_times),
    -- a key's hours close (NULL: they are not open) asked once per key:
    -- OFFSET 0 keeps the planner from pushing the test below the DISTINCT,
    -- where it would be asked once per campaign and key
    open_hours AS MATERIALIZED (
        SELECT o.zone, o.call_times, o.closes
          FROM (SELECT k.zone, k.call_times, vicidial._hours_close(k.zone, k.call_times, at) AS closes
                  FROM (SELECT DISTINCT c.zone, c.call_times FROM counted c) k
                OFFSET 0) o
         WHERE o.closes IS NOT NULL),
    takeable AS (
        SELECT c.campaign_id, sum(c.rows) AS rows
          FROM counted c JOIN open_hours o ON o.zone = c.zone AND o.call_times = c.call_times
         GROUP BY c.campaign_id)
    SELECT array_agg(cp.campaign_id ORDER BY cp.campaign_id), array_agg(cp.hopper_level - coalesce(t.rows, 0)::bigint ORDER BY cp.campaign_id),
           coalesce((SELECT min(o.closes) FROM open_hours o), 'infinity')
      INTO campaigns, sizes, full_until
      FROM vicidial.vicidial_campaigns cp LEFT JOIN takeable t ON t.campaign_id = cp.campaign_id
     WHERE cp.active AND cp.hopper_level > coalesce(t.rows, 0);
END $$;

CREATE OR REPLACE FUNCTION vicidial.hopper_fill(now timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Each candidate range must be read in the fill index's order and left as
-- soon as "room" leads pass: a bitmap scan (which the planner prefers when
-- it underestimates a zone's range) would test every lead of the range.
SET plan_cache_mode = force_custom_plan SET jit = off SET enable_bitmapscan = off AS $$
DECLARE
    hours_now bigint;
    room_campaigns varchar[];
    room_sizes bigint[];
    full_until timestamptz;
    queued_leads bigint[];
BEGIN
    PERFORM vicidial._check_time(hopper_fill.now, 'now');
    PERFORM vicidial._require_read_committed('hopper_fill');
    PERFORM vicidial._serialize_hopper_runs();
    hours_now := vicidial._hours_version();
    PERFORM vicidial._back_in_line(hopper_fill.now, hours_now);
    -- Every hopper still full since the last count, by the clock, the
    -- hours and every change since (37_hopper_room.sql): stop before
    -- counting.
    IF vicidial._hoppers_known_full(hopper_fill.now, hours_now) THEN
        RETURN 0;
    END IF;
    SELECT r.campaigns, r.sizes, r.full_until INTO room_campaigns, room_sizes, full_until
      FROM vicidial._fill_room(hopper_fill.now) r;
    -- Every active campaign's hopper full: remembered, and stop before
    -- planning the fill.
    IF room_campaigns IS NULL THEN
        PERFORM vicidial._record_room_count(hopper_fill.now, full_until, hours_now);
        RETURN 0;
    END IF;
    PERFORM vicidial._record_room_count(hopper_fill.now, NULL, hours_now);
    -- The leads already queued, tested per candidate as a hashed constant:
    -- a small, churning hopper's statistics would have the planner scan it
    -- once per candidate lead. (A lead queued meanwhile meets ON CONFLICT.)
    queued_leads := ARRAY(SELECT h.lead_id FROM vicidial.vicidial_hopper h);
    -- Each (active list, dial status) pair of a campaign is read one lead
    -- zone at a time (leads without a zone of their own under ''), in
    -- order of the fill index: a zone outside the hours of the campaign
    -- and list is never read, and a lead whose state's call time is closed,
    -- whose number is on a do-not-call list or who is over the 24-hour
    -- limit is passed over. At most "room" leads not yet queued are read per
    -- range; the oldest "room" of them are locked and queued. Leads another
    -- session holds (being scheduled, dialed) are skipped, and the lock
    -- re-reads each lead, so none that just became CBHOLD or INCALL slips in.
    -- The campaigns with room and the pick are each materialized, so that
    -- each campaign's leads are picked once: in one FROM with the room
    -- arrays and the hours keys' tables, the planner may join the pick
    -- below a table whose match it tests only afterwards, and pick every
    -- campaign's leads once per row of that table.
    RETURN vicidial._queue_in_hopper(ARRAY(
        WITH campaigns_with_room AS MATERIALIZED (
            SELECT c.campaign_id, c.dial_statuses, c.time_zone, c.local_call_time, c.call_limit_24hour, free.room
              FROM unnest(room_campaigns, room_sizes) AS free(campaign_id, room)
              JOIN vicidial.vicidial_campaigns c ON c.campaign_id = free.campaign_id),
        picked AS MATERIALIZED (
            SELECT cp.campaign_id, pick.lead_id, pick.list_id
              FROM campaigns_with_room cp
             CROSS JOIN LATERAL (
                   SELECT l.lead_id, l.list_id
                     FROM vicidial.vicidial_list l
                    WHERE l.lead_id IN (
                          SELECT candidate.lead_id
                            FROM vicidial.vicidial_lists li
                           CROSS JOIN unnest(cp.dial_statuses) AS dial(status)
                           CROSS JOIN LATERAL (
                                 WITH RECURSIVE zones(key) AS (
                                     SELECT min(coalesce(r.time_zone, '')) FROM vicidial.vicidial_list r
                                      WHERE r.list_id = li.list_id AND r.status = dial.status AND r.called_since_last_reset = 'N'
                                     UNION ALL
                                     SELECT (SELECT min(coalesce(r.time_zone, '')) FROM vicidial.vicidial_list r
                                              WHERE r.list_id = li.list_id AND r.status = dial.status
                                                AND r.called_since_last_reset = 'N' AND coalesce(r.time_zone, '') > zones.key)
                                       FROM zones WHERE zones.key IS NOT NULL)
                                 SELECT zones.key, coalesce(nullif(zones.key, ''), li.time_zone, cp.time_zone) AS zone
                                   FROM zones
                                  WHERE zones.key IS NOT NULL
                                    AND vicidial._hours_open(coalesce(nullif(zones.key, ''), li.time_zone, cp.time_zone),
                                                             ARRAY[cp.local_call_time, li.local_call_time]::varchar[],
                                                             hopper_fill.now)) AS z
                           CROSS JOIN LATERAL (
                                 SELECT coalesce(array_agg(st.state), '{}') AS states
                                   FROM vicidial.vicidial_state_call_times st
                                  WHERE NOT vicidial._hours_open(z.zone, ARRAY[st.call_time_id]::varchar[], hopper_fill.now)) AS closed
                           CROSS JOIN LATERAL (
                                 SELECT r.lead_id FROM vicidial.vicidial_list r
                                  WHERE r.list_id = li.list_id AND r.status = dial.status
                                    AND coalesce(r.time_zone, '') = z.key
                                    AND r.called_since_last_reset = 'N'
                                    AND (r.state IS NULL OR r.state <> ALL (closed.states))
                                    AND r.lead_id <> ALL (queued_leads)
                                    -- the predicate's do-not-call rule (the lead's campaign is cp)
                                    AND NOT EXISTS (SELECT 1 FROM vicidial.lead_dnc d
                                                     WHERE d.lead_id = r.lead_id AND d.dnc_status IS NOT NULL)
                                    AND NOT EXISTS (SELECT 1 FROM vicidial._limit_24h(r.lead_id, cp.call_limit_24hour, hopper_fill.now))
                                  ORDER BY r.lead_id
                                  LIMIT cp.room) AS candidate
                           WHERE li.campaign_id = cp.campaign_id AND li.active
                           ORDER BY candidate.lead_id
                           LIMIT cp.room)
                      AND l.status = ANY (cp.dial_statuses) AND l.called_since_last_reset = 'N'
                    ORDER BY l.lead_id
                      FOR SHARE OF l SKIP LOCKED) AS pick)
        SELECT ROW(p.lead_id, p.campaign_id, p.list_id, 0, 'S', hopper_fill.now,
                   key.zone, key.call_times, hours_now)::vicidial.hopper_entry
          FROM picked p
         -- its hours key, looked up per lead picked (37_hopper_room.sql checks
         -- it again once the rows are in)
         CROSS JOIN LATERAL (SELECT r.zone, r.call_times FROM vicidial.lead_rules r WHERE r.lead_id = p.lead_id) AS key
         ORDER BY p.campaign_id, p.lead_id));
END $$;

-- Calls held INCALL longer than their campaign's incall_timeout_minutes
-- at the given time, among the given leads only when they are given: the
-- timeout's candidates, and the same test again once they are locked.
CREATE OR REPLACE FUNCTION vicidial._timed_out_calls(at timestamptz, among bigint[] DEFAULT NULL)
RETURNS bigint[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT ARRAY(
        SELECT l.lead_id
          FROM vicidial.vicidial_campaigns cp
          JOIN vicidial.vicidial_lists li ON li.campaign_id = cp.campaign_id
          JOIN vicidial.vicidial_list l ON l.list_id = li.list_id
         WHERE cp.incall_timeout_minutes > 0 AND l.status = 'INCALL'
           AND l.last_local_call_time < at - make_interval(mins => cp.incall_timeout_minutes)
           AND (among IS NULL OR l.lead_id = ANY (among))
         ORDER BY l.lead_id)
$$;

-- Timed-out calls end as agent_release would end them; a lead another
-- transaction holds (its agent hanging up right now) is skipped.
CREATE OR REPLACE FUNCTION vicidial._end_timed_out_calls(at timestamptz) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    stuck bigint[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM vicidial.vicidial_campaigns cp WHERE cp.incall_timeout_minutes > 0) THEN
        RETURN 0;
    END IF;
    stuck := vicidial._lock_leads(vicidial._timed_out_calls(at), true);
    IF cardinality(stuck) = 0 THEN
        RETURN 0;
    END IF;
    -- tested again as locked: a call that ended before its lead's lock,
    -- even one dialed again since, has not timed out
    stuck := vicidial._timed_out_calls(at, stuck);
    RETURN vicidial._end_calls(stuck, at);
END $$;

-- How long a part of a run may wait for a lock: until the run's deadline,
-- vicidial_callbacks.lock_timeout after the run began ("starts", its first
-- part, the sweep), so that its waits add up to no more than that; past
-- it, only the locks a part can have at once (1 ms). Its rows are taken
-- with SKIP LOCKED, so only a table lock (an admin's LOCK TABLE) or the
-- runs' lock is ever waited for. The deadline lasts the session, since the
-- worker's fill and its reading of its next wake come in transactions of
-- their own.
CREATE OR REPLACE FUNCTION vicidial._set_run_lock_timeout(starts boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- in seconds since the epoch, read back whatever the session's DateStyle
    deadline text := nullif(current_setting('vicidial.run_lock_deadline', true), '');
BEGIN
    IF starts OR deadline IS NULL THEN
        deadline := extract(epoch FROM clock_timestamp() + vicidial._run_lock_timeout()::interval)::text;
        PERFORM set_config('vicidial.run_lock_deadline', deadline, false);
    END IF;
    PERFORM set_config('lock_timeout',
                       greatest(1, ceil(1000 * (deadline::numeric - extract(epoch FROM clock_timestamp()))))::bigint || 'ms',
                       true);
END $$;

-- The parts of a run, serialized with every other run: 'sweep' (the
-- INCALL timeout, the sweep, then the queued leads set aside whose time
-- has come or whose hours have changed) and 'fill'. Locks are waited for no
-- longer than vicidial_callbacks.lock_timeout, by the run as a whole
-- (_set_run_lock_timeout): a part that cannot get its locks in time (a
-- writer holds them open) is rolled back alone and left to a later run,
-- and cut_short says which and why.
CREATE OR REPLACE FUNCTION vicidial._run_parts(now timestamptz, parts text[], sweep_chunk integer,
                                               OUT went_live integer, OUT useronly integer, OUT hopper_inserted integer,
                                               OUT hopper_filled integer, OUT cut_short text, OUT more_due boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
-- restored at return, whatever the body sets
SET lock_timeout = 0 AS $$
BEGIN
    PERFORM vicidial._check_time(_run_parts.now, 'now');
    PERFORM vicidial._require_read_committed('hopper_run');
    PERFORM vicidial._set_run_lock_timeout('sweep' = ANY (parts));
    went_live := 0;
    useronly := 0;
    hopper_inserted := 0;
    hopper_filled := 0;
    more_due := false;
    BEGIN
        PERFORM vicidial._serialize_hopper_runs();
    EXCEPTION WHEN lock_not_available THEN
        cut_short := 'all: another run, sweep or fill held the run lock';
        RETURN;
    END;
    IF 'sweep' = ANY (parts) THEN
        BEGIN
            PERFORM vicidial._set_run_lock_timeout();
            PERFORM vicidial._end_timed_out_calls(_run_parts.now);
        EXCEPTION WHEN lock_not_available THEN
            cut_short := concat_ws('; ', cut_short, 'stuck calls: ' || SQLERRM);
        END;
        BEGIN
            PERFORM vicidial._set_run_lock_timeout();
            SELECT s.went_live, s.useronly, s.hopper_inserted, s.chunk_full INTO went_live, useronly, hopper_inserted, more_due
              FROM vicidial._sweep(_run_parts.now, sweep_chunk) s;
        EXCEPTION WHEN lock_not_available THEN
            cut_short := concat_ws('; ', cut_short, 'sweep: ' || SQLERRM);
        END;
        BEGIN
            PERFORM vicidial._set_run_lock_timeout();
            PERFORM vicidial._back_in_line(_run_parts.now, vicidial._hours_version());
        EXCEPTION WHEN lock_not_available THEN
            cut_short := concat_ws('; ', cut_short, 'leads set aside: ' || SQLERRM);
        END;
    END IF;
    IF 'fill' = ANY (parts) THEN
        BEGIN
            PERFORM vicidial._set_run_lock_timeout();
            hopper_filled := vicidial.hopper_fill(_run_parts.now);
        EXCEPTION WHEN lock_not_available THEN
            cut_short := concat_ws('; ', cut_short, 'fill: ' || SQLERRM);
        END;
    END IF;
END $$;

-- One run: the INCALL timeout, then the sweep, then the fill, in one
-- transaction (pg_cron's, or a person's). The worker runs the same parts
-- in two transactions (75_worker.sql).
CREATE OR REPLACE FUNCTION vicidial.hopper_run(now timestamptz DEFAULT now())
RETURNS TABLE (went_live integer, useronly integer, hopper_inserted integer, hopper_filled integer, cut_short text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT r.went_live, r.useronly, r.hopper_inserted, r.hopper_filled, r.cut_short
      FROM vicidial._run_parts(now, '{sweep,fill}', NULL) r
$$;
