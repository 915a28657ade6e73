-- Calling hours: zones, call times and the one
-- predicate every path that hands a lead to an agent applies. A lead's
-- hours are a key, (zone, call times): its zone and the call times that
-- bind it (campaign, list, state), intersected. Set-based callers decide
-- once per distinct key, never once per lead.

-- Zones (the names _time_zone_known knows) are checked where written.
CREATE OR REPLACE FUNCTION vicidial._check_time_zone(zone text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF zone IS NOT NULL AND NOT vicidial._time_zone_known(zone) THEN
        RAISE EXCEPTION 'unknown time zone "%"', left(zone, 60)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'a zone is a name of pg_timezone_names, such as America/New_York (case matters)';
    END IF;
END $$;

-- The window of several call times on a local date, intersected (NULLs
-- in the array are ignored). Each call time's window is the holiday's when
-- the date is one, else the weekday's pair, else the default pair. Closed
-- (NULL start) when any is closed or unknown: a rule narrows, never
-- widens; start = stop closes the day too. In C (src/hours_window.c),
-- its query planned once per backend: the sweep, the fill and hopper_next
-- ask it many times, and each call site reads a window once while
-- nothing could make it read otherwise. No SET clause: the query names
-- the schema of everything it uses, and a SET would cost every call a
-- save and a restore of the setting.
CREATE OR REPLACE FUNCTION vicidial._hours_window(call_times varchar[], day date, OUT start time, OUT stop time)
LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'vicidial_hours_window';

-- I8's predicate: "at" falls in [start, stop) of the window of its own
-- local date, on the zone's wall clock; any NULL is closed. In C beside
-- the window, which it reads with no call between: every hand-out asks it
-- of each lead it tries.
CREATE OR REPLACE FUNCTION vicidial._hours_open(zone text, call_times varchar[], at timestamptz) RETURNS boolean
LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'vicidial_hours_open';

-- A wall-clock time in a zone as an instant: the earlier one when the
-- clocks repeat it, NULL when they skip it. The zone's offset a day before
-- and a day after covers any one transition between them. PL/pgSQL, not
-- SQL, here and in the callback window below: a SQL function with a SET
-- clause is never inlined and is planned again at every call.
CREATE OR REPLACE FUNCTION vicidial._local_instant(local timestamp, zone text) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    as_utc timestamptz := local AT TIME ZONE 'UTC';
    day_before timestamptz := as_utc - interval '1 day';
    day_after timestamptz := as_utc + interval '1 day';
    -- "local" read with the offset of each side of a transition
    with_offset_before timestamptz := as_utc - ((day_before AT TIME ZONE zone) - (day_before AT TIME ZONE 'UTC'));
    with_offset_after timestamptz := as_utc - ((day_after AT TIME ZONE zone) - (day_after AT TIME ZONE 'UTC'));
BEGIN
    -- least() passes over NULLs: the candidates whose clock does not read "local" are none
    RETURN least(CASE WHEN with_offset_before AT TIME ZONE zone = local THEN with_offset_before END,
                 CASE WHEN with_offset_after AT TIME ZONE zone = local THEN with_offset_after END);
END $$;

-- The first instant at which the zone's wall clock reads "local" or later:
-- the instant itself or, inside a gap the clocks skip, the gap's end
-- (transitions fall on whole seconds).
CREATE OR REPLACE FUNCTION vicidial._first_instant_from(local timestamp, zone text) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    exact timestamptz := vicidial._local_instant(local, zone);
    as_utc timestamptz := local AT TIME ZONE 'UTC';
    shows_earlier timestamptz;
    shows_later timestamptz;
    middle timestamptz;
BEGIN
    IF exact IS NOT NULL THEN
        RETURN exact;
    END IF;
    -- Read with the offset after the gap, "local" is an instant whose clock
    -- shows an earlier time; with the offset before it, a later one.
    SELECT min(i.at), max(i.at) INTO shows_earlier, shows_later
      FROM (VALUES (as_utc - interval '1 day'), (as_utc + interval '1 day')) AS near(at)
     CROSS JOIN LATERAL (SELECT as_utc - ((near.at AT TIME ZONE zone) - (near.at AT TIME ZONE 'UTC'))) AS i(at);
    WHILE shows_later - shows_earlier > interval '1 second' LOOP
        middle := shows_earlier + (shows_later - shows_earlier) / 2;
        IF (middle AT TIME ZONE zone) >= local THEN
            shows_later := middle;
        ELSE
            shows_earlier := middle;
        END IF;
    END LOOP;
    RETURN date_trunc('second', shows_later);
END $$;

-- The earliest instant >= after inside the hours, NULL when none comes
-- within 366 days: each local day's window in turn, from after's own.
CREATE OR REPLACE FUNCTION vicidial._next_open(zone text, call_times varchar[], after timestamptz) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    first_day date := (after AT TIME ZONE zone)::date;
    window_of_day record;
    candidate timestamptz;
BEGIN
    FOR day_number IN 0..367 LOOP
        window_of_day := vicidial._hours_window(call_times, first_day + day_number);
        CONTINUE WHEN window_of_day.start IS NULL OR window_of_day.start >= window_of_day.stop;
        candidate := greatest(after, vicidial._first_instant_from(first_day + day_number + window_of_day.start, zone));
        EXIT WHEN candidate > after + interval '366 days';
        IF vicidial._hours_open(zone, call_times, candidate) THEN
            RETURN candidate;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

-- When the hours that are open at "at" close: the end of the window "at"
-- falls in, on the zone's wall clock (the earlier instant when the clocks
-- repeat it); NULL when they are closed at "at". A window that runs to
-- midnight ends there, even when the next day's opens at midnight.
CREATE OR REPLACE FUNCTION vicidial._hours_close(zone text, call_times varchar[], at timestamptz) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    local_day date := (at AT TIME ZONE zone)::date;
BEGIN
    IF NOT vicidial._hours_open(zone, call_times, at) THEN
        RETURN NULL;
    END IF;
    RETURN vicidial._first_instant_from(local_day + (vicidial._hours_window(call_times, local_day)).stop, zone);
END $$;

-- The dialable_now and next_dialable columns of the agent's and the
-- admin's lists: hours only, next_dialable = now() when dialable now.
CREATE OR REPLACE FUNCTION vicidial._dialable_now(zone text, call_times varchar[],
                                                 OUT dialable_now boolean, OUT next_dialable timestamptz)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT o.open, CASE WHEN o.open THEN now() ELSE vicidial._next_open(zone, call_times, now()) END
      FROM (SELECT vicidial._hours_open(zone, call_times, now())) AS o(open)
$$;

-- Each lead's hours key: its zone (its own, else its list's, else its
-- campaign's) and the call times that bind it (campaign, list, state), as
-- lead_rules (14_lead_rules.sql) decides them.
CREATE OR REPLACE VIEW vicidial.lead_hours AS
SELECT r.lead_id, r.zone, r.call_times FROM vicidial.lead_rules r;

CREATE OR REPLACE FUNCTION vicidial._lead_hours(lead_id bigint) RETURNS vicidial.lead_hours
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    hours vicidial.lead_hours;
BEGIN
    PERFORM vicidial._not_null(lead_id, 'lead_id');
    SELECT * INTO hours FROM vicidial.lead_hours h WHERE h.lead_id = _lead_hours.lead_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'lead % does not exist', lead_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN hours;
END $$;

-- "It is Tuesday 07:30 there (America/Chicago); dialable from ..." for
-- the errors of every path that refuses a time or a dial.
CREATE OR REPLACE FUNCTION vicidial._hours_detail(hours vicidial.lead_hours, at timestamptz) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format('it is %s there (%s); the lead is next dialable at %s',
                  to_char(at AT TIME ZONE hours.zone, 'Dy YYYY-MM-DD HH24:MI'), hours.zone,
                  coalesce(vicidial._next_open(hours.zone, hours.call_times, at)::text, 'no time within 366 days'))
$$;

CREATE OR REPLACE FUNCTION vicidial.lead_dialable(lead_id bigint, at timestamptz DEFAULT now()) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    hours vicidial.lead_hours := vicidial._lead_hours(lead_id);
BEGIN
    PERFORM vicidial._check_time(at, 'at');
    RETURN vicidial._hours_open(hours.zone, hours.call_times, at);
END $$;

CREATE OR REPLACE FUNCTION vicidial.lead_next_dialable(lead_id bigint, after timestamptz DEFAULT now()) RETURNS timestamptz
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    hours vicidial.lead_hours := vicidial._lead_hours(lead_id);
BEGIN
    PERFORM vicidial._check_time(after, 'after');
    RETURN vicidial._next_open(hours.zone, hours.call_times, after);
END $$;

-- The lead's wall clock at "at", with its zone: what a screen needs to ask
-- callback_slots for "tomorrow" on the customer's calendar.
CREATE OR REPLACE FUNCTION vicidial.lead_clock(lead_id bigint, at timestamptz DEFAULT now(),
                                               OUT local_time timestamp, OUT time_zone text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    hours vicidial.lead_hours := vicidial._lead_hours(lead_id);
BEGIN
    PERFORM vicidial._check_time(at, 'at');
    local_time := at AT TIME ZONE hours.zone;
    time_zone := hours.zone;
END $$;

CREATE OR REPLACE FUNCTION vicidial.lead_local_time(lead_id bigint, local timestamp) RETURNS timestamptz
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    hours vicidial.lead_hours := vicidial._lead_hours(lead_id);
    instant timestamptz;
BEGIN
    PERFORM vicidial._not_null(local, 'local');
    IF NOT isfinite(local) THEN
        RAISE EXCEPTION 'local must be a finite time, not %', local USING ERRCODE = 'invalid_parameter_value';
    END IF;
    instant := vicidial._local_instant(local, hours.zone);
    IF instant IS NULL THEN
        RAISE EXCEPTION 'local time % does not exist in %: the clocks skip it', local, hours.zone
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'a daylight saving change skips that hour; choose a time after it';
    END IF;
    RETURN instant;
END $$;

-- Call times: the shipped ones are fixed; every other change may open
-- hours earlier than a waiting release was told, so every waiting lead is
-- looked at again by the next run.
CREATE OR REPLACE FUNCTION vicidial._call_times_shipped_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF OLD.call_time_id IN ('24hours', '9am-9pm') THEN
        RAISE EXCEPTION 'call time "%" ships with the extension and cannot be changed', OLD.call_time_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'create a call time of your own and point the campaign at it';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE OR REPLACE TRIGGER call_times_shipped BEFORE UPDATE OR DELETE ON vicidial.vicidial_call_times
    FOR EACH ROW EXECUTE FUNCTION vicidial._call_times_shipped_guard();

-- Zones are checked where they are written. A campaign without one takes
-- the session's.
CREATE OR REPLACE FUNCTION vicidial._zone_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_TABLE_NAME = 'vicidial_campaigns' THEN
        -- the column is NOT NULL: a new campaign takes its creator's zone,
        -- but a NULL written over a zone is refused rather than guessed
        IF TG_OP = 'UPDATE' AND NEW.time_zone IS NULL THEN
            RAISE EXCEPTION 'campaign "%": time_zone cannot be null', NEW.campaign_id
                USING ERRCODE = 'not_null_violation',
                      HINT = 'a zone is a name of pg_timezone_names, such as America/New_York';
        END IF;
        NEW.time_zone := coalesce(NEW.time_zone, vicidial._session_time_zone());
    END IF;
    PERFORM vicidial._check_time_zone(NEW.time_zone);
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER campaigns_zone BEFORE INSERT OR UPDATE OF time_zone ON vicidial.vicidial_campaigns
    FOR EACH ROW EXECUTE FUNCTION vicidial._zone_guard();
CREATE OR REPLACE TRIGGER lists_zone BEFORE INSERT OR UPDATE OF time_zone ON vicidial.vicidial_lists
    FOR EACH ROW WHEN (NEW.time_zone IS NOT NULL) EXECUTE FUNCTION vicidial._zone_guard();
CREATE OR REPLACE TRIGGER leads_zone BEFORE UPDATE OF time_zone ON vicidial.vicidial_list
    FOR EACH ROW WHEN (NEW.time_zone IS DISTINCT FROM OLD.time_zone AND NEW.time_zone IS NOT NULL)
    EXECUTE FUNCTION vicidial._zone_guard();

-- Leads are loaded in bulk: their zones are checked once per statement,
-- each distinct zone once.
CREATE OR REPLACE FUNCTION vicidial._zones_guard_of_leads() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._check_time_zone(z.zone)
       FROM (SELECT DISTINCT n.time_zone FROM new_rows n WHERE n.time_zone IS NOT NULL) AS z(zone);
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER leads_zones_insert AFTER INSERT ON vicidial.vicidial_list
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._zones_guard_of_leads();
