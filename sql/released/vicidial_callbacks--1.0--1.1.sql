-- 1.0 -> 1.1, the changes to what 1.0 created. The build appends 1.1's
-- tables file (sql/install/11_tables_1.1.sql) and then every replayable
-- file of sql/install (functions, triggers, views, privileges), so what
-- follows here is only what neither can do: changed columns, constraints
-- and indexes, tables of the trust work, and dropping what 1.1 re-creates
-- differently. The upgrade test proves the result equals a fresh install.

\echo Use "ALTER EXTENSION vicidial_callbacks UPDATE TO '1.1'" to load this file. \quit

-- Data that 1.0 accepted and 1.1's rules refuse, repaired first, each
-- change reported by a WARNING (an extension script shows no NOTICE):
--   INCALL in a campaign's dial_statuses: 1.1 never dials a lead that is
--   being called (dial_statuses_without_incall, below), so INCALL is
--   removed from the array.
--   A lead that is INCALL in the hopper (queued by such a campaign, or
--   made INCALL there by hand): a lead being called leaves the hopper, as
--   a dial takes it out, so that it is not dialed again once its call ends.
--   An open callback's lead_status that 1.1 refuses as a given lead status
--   (1 to 6 capital letters or digits, neither INCALL nor CBHOLD): 1.1's
--   guard checks it at every change of the callback, which could then
--   never be dialed, moved or archived. It becomes CALLBK, the default.
--   ARCHIVE rows are final and keep theirs.
-- Campaigns, leads and callbacks all keep their rows. 1.0's triggers are
-- kept out of it (modify_date stays as it was).
SET LOCAL session_replication_role = replica;
DO $$
DECLARE
    repaired record;
BEGIN
    FOR repaired IN
        WITH changed AS (
            UPDATE vicidial.vicidial_campaigns cp SET dial_statuses = array_remove(cp.dial_statuses, 'INCALL')
             WHERE 'INCALL' = ANY (cp.dial_statuses)
            RETURNING cp.campaign_id)
        SELECT ch.campaign_id FROM changed ch ORDER BY ch.campaign_id
    LOOP
        RAISE WARNING 'campaign "%": INCALL removed from dial_statuses', repaired.campaign_id;
    END LOOP;
    FOR repaired IN
        WITH removed AS (
            DELETE FROM vicidial.vicidial_hopper h USING vicidial.vicidial_list l
             WHERE l.lead_id = h.lead_id AND l.status = 'INCALL'
            RETURNING h.lead_id, h.campaign_id)
        SELECT r.lead_id, r.campaign_id FROM removed r ORDER BY r.lead_id
    LOOP
        RAISE WARNING 'lead %: INCALL, taken out of the hopper of campaign "%"', repaired.lead_id, repaired.campaign_id;
    END LOOP;
    FOR repaired IN
        WITH refused AS (
            SELECT c.callback_id, c.lead_status FROM vicidial.vicidial_callbacks c
             WHERE c.status IN ('ACTIVE', 'LIVE')
               AND (c.lead_status !~ '^[A-Z0-9]{1,6}$' OR c.lead_status IN ('INCALL', 'CBHOLD'))),
        changed AS (
            UPDATE vicidial.vicidial_callbacks c SET lead_status = 'CALLBK'
              FROM refused r WHERE c.callback_id = r.callback_id
            RETURNING c.callback_id, r.lead_status)
        SELECT ch.callback_id, ch.lead_status FROM changed ch ORDER BY ch.callback_id
    LOOP
        RAISE WARNING 'callback %: lead_status "%" replaced by CALLBK', repaired.callback_id, repaired.lead_status;
    END LOOP;
END $$;
RESET session_replication_role;

-- Agents bound to database roles (CONTRACT §11).
ALTER TABLE vicidial.vicidial_users ADD COLUMN db_role text;

-- I10: INCALL can never be dialed by the fill; stuck calls time out.
ALTER TABLE vicidial.vicidial_campaigns
    ADD CONSTRAINT dial_statuses_without_incall CHECK ('INCALL' <> ALL (dial_statuses)),
    ADD COLUMN incall_timeout_minutes integer NOT NULL DEFAULT 0
        CONSTRAINT incall_timeout_minutes_range CHECK (incall_timeout_minutes BETWEEN 0 AND 1440);
CREATE INDEX vicidial_list_incall ON vicidial.vicidial_list (last_local_call_time)
    WHERE status = 'INCALL';

-- Renames that would rewrite ARCHIVE rows are refused rather than cascaded.
ALTER TABLE vicidial.vicidial_callbacks
    DROP CONSTRAINT vicidial_callbacks_list_id_fkey,
    DROP CONSTRAINT vicidial_callbacks_campaign_id_fkey,
    DROP CONSTRAINT vicidial_callbacks_user_fkey,
    ADD CONSTRAINT vicidial_callbacks_list_id_fkey FOREIGN KEY (list_id) REFERENCES vicidial.vicidial_lists,
    ADD CONSTRAINT vicidial_callbacks_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES vicidial.vicidial_campaigns,
    ADD CONSTRAINT vicidial_callbacks_user_fkey FOREIGN KEY ("user") REFERENCES vicidial.vicidial_users;

-- The fill's index gains the lead's zone (11_tables_1.1.sql builds it).
DROP INDEX vicidial.vicidial_list_fill;

-- hopper_run's private lock replaces the public advisory lock key.
CREATE TABLE vicidial.hopper_run_lock ();

-- The release now takes lead ids (the sweep serves every LIVE ANYONE
-- callback whose lead still waits, not only the ones it just flipped).
DROP FUNCTION vicidial._release_anyone(bigint[], timestamptz);

-- I2 and I11 are checked once per statement, through a queue of touched
-- leads, instead of by four row-level constraint triggers.
DROP TRIGGER leads_consistent_insert ON vicidial.vicidial_list;
DROP TRIGGER leads_consistent_update ON vicidial.vicidial_list;
DROP TRIGGER callbacks_consistent_insert ON vicidial.vicidial_callbacks;
DROP TRIGGER callbacks_consistent_update ON vicidial.vicidial_callbacks;
DROP FUNCTION vicidial._lead_callback_consistency();
CREATE TABLE vicidial.lead_checks (
    check_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_ids bigint[] NOT NULL
);

-- Calling hours: the window checks take the lead's zone and hours.
DROP FUNCTION vicidial._check_callback_time(timestamptz, vicidial.vicidial_campaigns);
DROP FUNCTION vicidial._callback_window(integer);
DROP FUNCTION vicidial._half_hour_start(timestamptz);

-- Functions whose arguments or result columns change are dropped and
-- created again (callback_slots(d) would otherwise be ambiguous between
-- the two- and three-argument forms). The EXECUTE grants made on them are
-- kept here, under the new signatures, and made again by the privileges
-- file, which then drops this table.
CREATE TABLE vicidial.upgrade_saved_grants AS
SELECT CASE f.oid WHEN 'vicidial.callback_slots(date, varchar)'::regprocedure
                  THEN 'vicidial.callback_slots(date, varchar, bigint)'
                  ELSE f.oid::regprocedure::text END AS signature,
       pg_get_userbyid(a.grantee) AS grantee, a.is_grantable
  FROM pg_catalog.pg_proc f
 CROSS JOIN LATERAL aclexplode(f.proacl) a
 WHERE f.oid IN ('vicidial.callback_slots(date, varchar)'::regprocedure,
                 'vicidial.agent_callbacks(varchar)'::regprocedure,
                 'vicidial.callbacks_report(varchar, bigint, varchar, text, timestamptz, timestamptz, text, boolean, integer, integer)'::regprocedure)
   AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> f.proowner;
DROP FUNCTION vicidial.callback_slots(date, varchar);
DROP FUNCTION vicidial.agent_callbacks(varchar);
DROP FUNCTION vicidial.callbacks_report(varchar, bigint, varchar, text, timestamptz, timestamptz, text, boolean, integer, integer);
-- The tables and columns 1.1 adds for calling hours, do-not-call and the
-- dial log, created once: by
-- CREATE EXTENSION right after 1.0's tables, and by the 1.0 -> 1.1 upgrade
-- script after its own changes. Rows that exist when this runs (only on an
-- upgrade) get what the contract gives them.

\echo Use "CREATE EXTENSION vicidial_callbacks" or "ALTER EXTENSION vicidial_callbacks UPDATE" to load this file. \quit

-- Zones: exactly the names of pg_timezone_names, case-sensitive, read once
-- per backend (src/time_zones.c).
CREATE FUNCTION vicidial._time_zone_known(zone text) RETURNS boolean
LANGUAGE c STABLE STRICT SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_time_zone_known';

-- A campaign created without a zone takes the session's, when that is a
-- zone name (not an offset or a POSIX rule), else UTC.
CREATE FUNCTION vicidial._session_time_zone() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN vicidial._time_zone_known(current_setting('TimeZone')) THEN current_setting('TimeZone') ELSE 'UTC' END
$$;

-- Calling hours (CONTRACT §7). A window is the half-open local interval
-- [start, stop); start = stop closes the day; stop may be 24:00. A
-- weekday's pair, both NULL, falls back to the default pair.
CREATE TABLE vicidial.vicidial_call_times (
    call_time_id     varchar(10) PRIMARY KEY,
    call_time_name   varchar(50),
    ct_default_start time NOT NULL DEFAULT '09:00',
    ct_default_stop  time NOT NULL DEFAULT '21:00',
    ct_sunday_start time, ct_sunday_stop time,
    ct_monday_start time, ct_monday_stop time,
    ct_tuesday_start time, ct_tuesday_stop time,
    ct_wednesday_start time, ct_wednesday_stop time,
    ct_thursday_start time, ct_thursday_stop time,
    ct_friday_start time, ct_friday_stop time,
    ct_saturday_start time, ct_saturday_stop time,
    CONSTRAINT default_window CHECK (ct_default_start <= ct_default_stop),
    CONSTRAINT sunday_window CHECK ((ct_sunday_start IS NULL) = (ct_sunday_stop IS NULL) AND ct_sunday_start <= ct_sunday_stop),
    CONSTRAINT monday_window CHECK ((ct_monday_start IS NULL) = (ct_monday_stop IS NULL) AND ct_monday_start <= ct_monday_stop),
    CONSTRAINT tuesday_window CHECK ((ct_tuesday_start IS NULL) = (ct_tuesday_stop IS NULL) AND ct_tuesday_start <= ct_tuesday_stop),
    CONSTRAINT wednesday_window CHECK ((ct_wednesday_start IS NULL) = (ct_wednesday_stop IS NULL) AND ct_wednesday_start <= ct_wednesday_stop),
    CONSTRAINT thursday_window CHECK ((ct_thursday_start IS NULL) = (ct_thursday_stop IS NULL) AND ct_thursday_start <= ct_thursday_stop),
    CONSTRAINT friday_window CHECK ((ct_friday_start IS NULL) = (ct_friday_stop IS NULL) AND ct_friday_start <= ct_friday_stop),
    CONSTRAINT saturday_window CHECK ((ct_saturday_start IS NULL) = (ct_saturday_stop IS NULL) AND ct_saturday_start <= ct_saturday_stop)
);
-- Shipped, and fixed (a trigger refuses changes): a restore must not load
-- them a second time, so the dump leaves them out.
INSERT INTO vicidial.vicidial_call_times (call_time_id, call_time_name, ct_default_start, ct_default_stop)
VALUES ('24hours', 'All day, every day', '00:00', '24:00'),
       ('9am-9pm', '9 am to 9 pm, every day', '09:00', '21:00');

-- A holiday's window replaces its weekday's; both NULL: closed all day.
CREATE TABLE vicidial.vicidial_call_time_holidays (
    call_time_id varchar(10) NOT NULL REFERENCES vicidial.vicidial_call_times ON UPDATE CASCADE ON DELETE CASCADE,
    holiday_date date NOT NULL,
    ct_start     time,
    ct_stop      time,
    PRIMARY KEY (call_time_id, holiday_date),
    CONSTRAINT holiday_window CHECK ((ct_start IS NULL) = (ct_stop IS NULL) AND ct_start <= ct_stop)
);

-- A lead in this state is further held to this call time (never widened).
CREATE TABLE vicidial.vicidial_state_call_times (
    state        varchar(2) PRIMARY KEY,
    call_time_id varchar(10) NOT NULL REFERENCES vicidial.vicidial_call_times ON UPDATE CASCADE
);
CREATE INDEX vicidial_state_call_times_call_time_id ON vicidial.vicidial_state_call_times (call_time_id);

-- A campaign's hours and zone. Campaigns older than 1.1 get 24hours, so an
-- upgrade changes nobody's dialing, and the zone of the session that runs
-- the upgrade; new ones default to 9am-9pm and their creator's zone (set
-- by trigger: a column default cannot ask pg_timezone_names).
ALTER TABLE vicidial.vicidial_campaigns
    ADD COLUMN local_call_time varchar(10) NOT NULL DEFAULT '24hours'
        REFERENCES vicidial.vicidial_call_times ON UPDATE CASCADE,
    ADD COLUMN time_zone text;
ALTER TABLE vicidial.vicidial_campaigns ALTER COLUMN local_call_time SET DEFAULT '9am-9pm';
UPDATE vicidial.vicidial_campaigns SET time_zone = vicidial._session_time_zone();
ALTER TABLE vicidial.vicidial_campaigns ALTER COLUMN time_zone SET NOT NULL;

-- NULL: the campaign's. A list call time narrows the campaign's.
ALTER TABLE vicidial.vicidial_lists
    ADD COLUMN local_call_time varchar(10) REFERENCES vicidial.vicidial_call_times ON UPDATE CASCADE,
    ADD COLUMN time_zone text;

-- The lead's zone (NULL: its list's, else its campaign's) and state.
ALTER TABLE vicidial.vicidial_list
    ADD COLUMN time_zone text,
    ADD COLUMN state varchar(2);
-- The standard fill reads dialable leads of a list by status and zone
-- (those without a zone of their own under ''), oldest first: a zone
-- outside its hours is skipped without reading its leads.
CREATE INDEX vicidial_list_fill ON vicidial.vicidial_list (list_id, status, coalesce(time_zone, ''), lead_id)
    WHERE called_since_last_reset = 'N';

-- A callback's zone (the lead's when it was scheduled or moved), its dials,
-- and why it was archived. An open callback older than 1.1 gets its lead's
-- zone, which is its campaign's; an ARCHIVE row older than 1.1 says LEGACY.
-- The triggers of the version being upgraded are kept out of this.
ALTER TABLE vicidial.vicidial_callbacks
    ADD COLUMN customer_timezone text,
    ADD COLUMN attempts integer NOT NULL DEFAULT 0 CONSTRAINT attempts_not_negative CHECK (attempts >= 0),
    ADD COLUMN archive_reason varchar(12)
        CONSTRAINT archive_reason_known
        CHECK (archive_reason IN ('DIALED', 'SUPERSEDED', 'CANCELLED', 'MAX_ATTEMPTS', 'DNC', 'LEGACY')),
    ADD CONSTRAINT archive_reason_of_archive_only CHECK (archive_reason IS NULL OR status = 'ARCHIVE');
SET LOCAL session_replication_role = replica;
UPDATE vicidial.vicidial_callbacks c SET customer_timezone = cp.time_zone
  FROM vicidial.vicidial_list l
  JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id
  JOIN vicidial.vicidial_campaigns cp ON cp.campaign_id = li.campaign_id
 WHERE l.lead_id = c.lead_id AND c.status IN ('ACTIVE', 'LIVE');
UPDATE vicidial.vicidial_callbacks SET archive_reason = 'LEGACY' WHERE status = 'ARCHIVE';
RESET session_replication_role;

-- Leads waiting in CBHOLD beside a LIVE ANYONE callback, each to be
-- released by the first run at or after release_after (-infinity: as soon
-- as possible; later: when its calling hours open). The sweep reads only
-- the earliest entry when none is due, however many wait for their hours.
-- Written by the extension's triggers and functions only. A lead left
-- waiting by a version before 1.1 is released by the first run.
CREATE TABLE vicidial.callback_releases (
    lead_id       bigint PRIMARY KEY,
    release_after timestamptz NOT NULL
);
CREATE INDEX callback_releases_release_after ON vicidial.callback_releases (release_after);
INSERT INTO vicidial.callback_releases (lead_id, release_after)
SELECT c.lead_id, '-infinity'
  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l ON l.lead_id = c.lead_id
 WHERE c.status = 'LIVE' AND c.recipient = 'ANYONE' AND l.status = 'CBHOLD';

-- Do-not-call and the dial log (CONTRACT §8, §9).

-- A phone number's digits, what the do-not-call lists compare; NULL when it
-- has none, so that such a number matches nothing. It names the schema of
-- every function and operator instead of pinning search_path, so that it is
-- inlined where it is used per row (index expressions, the hand-out checks).
-- (Not declared STRICT: a strict function whose body is a CASE is never
-- inlined; a NULL number gives NULL all the same.)
CREATE FUNCTION vicidial._digits(phone_number text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN phone_number OPERATOR(pg_catalog.~) '[0-9]'
                THEN pg_catalog.regexp_replace(phone_number, '[^0-9]', '', 'g') END
$$;

-- Every dial (callback_dial, hopper_next) and its disposition. Kept
-- forever, like ARCHIVE callbacks; the 24-hour limit counts it.
--
-- Both logs are partitioned by time: rows outside every month partition
-- (log_partitions_add, 36_log_partitions.sql), and all rows until an
-- operator adds one, are kept in the default partition. Keys and indexes
-- are each partition's own, not the log's: pg_dump cannot restore a
-- partition of an extension's table that has them (attaching it creates
-- the index that the dump then creates again). A month partition is made
-- LIKE the default, so these definitions are the only ones.
CREATE TABLE vicidial.vicidial_log (
    log_id       bigserial,
    lead_id      bigint NOT NULL,
    list_id      bigint NOT NULL,
    campaign_id  varchar(8) NOT NULL,
    callback_id  bigint,
    "user"       varchar(20),
    phone_number varchar(18),
    call_date    timestamptz NOT NULL DEFAULT now(),
    end_date     timestamptz,
    status       varchar(6)
) PARTITION BY RANGE (call_date);
CREATE TABLE vicidial.vicidial_log_default PARTITION OF vicidial.vicidial_log (PRIMARY KEY (log_id)) DEFAULT;
CREATE INDEX vicidial_log_default_lead_id ON vicidial.vicidial_log_default (lead_id, call_date);
-- Written in time order: a BRIN index serves time-range reads at a few
-- pages per million rows.
CREATE INDEX vicidial_log_default_call_date ON vicidial.vicidial_log_default USING brin (call_date);

CREATE TABLE vicidial.vicidial_dnc (
    phone_number varchar(18) PRIMARY KEY
);
CREATE INDEX vicidial_dnc_digits ON vicidial.vicidial_dnc (vicidial._digits(phone_number));
CREATE TABLE vicidial.vicidial_campaign_dnc (
    campaign_id  varchar(8) NOT NULL REFERENCES vicidial.vicidial_campaigns ON UPDATE CASCADE ON DELETE CASCADE,
    phone_number varchar(18) NOT NULL,
    PRIMARY KEY (campaign_id, phone_number)
);
CREATE INDEX vicidial_campaign_dnc_digits ON vicidial.vicidial_campaign_dnc (vicidial._digits(phone_number), campaign_id);
-- The leads a listed number covers.
CREATE INDEX vicidial_list_phone_digits ON vicidial.vicidial_list (vicidial._digits(phone_number));

ALTER TABLE vicidial.vicidial_campaigns
    ADD COLUMN use_internal_dnc boolean NOT NULL DEFAULT true,
    ADD COLUMN use_campaign_dnc boolean NOT NULL DEFAULT true,
    ADD COLUMN call_limit_24hour integer NOT NULL DEFAULT 0
        CONSTRAINT call_limit_24hour_range CHECK (call_limit_24hour BETWEEN 0 AND 1000);

SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_call_times',
                                           $$WHERE call_time_id NOT IN ('24hours', '9am-9pm')$$);
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_call_time_holidays', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_state_call_times', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.callback_releases', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_log_default', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_log_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_dnc', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_campaign_dnc', '');

-- Callback policies (CONTRACT §8). Every one is enforced in the database.
ALTER TABLE vicidial.vicidial_campaigns
    ADD COLUMN callback_useronly_move_minutes integer NOT NULL DEFAULT 0
        CONSTRAINT callback_useronly_move_minutes_range CHECK (callback_useronly_move_minutes BETWEEN 0 AND 527040),
    ADD COLUMN callback_active_limit integer NOT NULL DEFAULT 0
        CONSTRAINT callback_active_limit_range CHECK (callback_active_limit BETWEEN 0 AND 100000),
    ADD COLUMN callback_retry_statuses varchar(6)[] NOT NULL DEFAULT '{}'
        CONSTRAINT callback_retry_statuses_not_holds CHECK (NOT callback_retry_statuses && '{CALLBK,CBHOLD}'),
    ADD COLUMN callback_retry_delay interval NOT NULL DEFAULT '1 day'
        CONSTRAINT callback_retry_delay_range CHECK (callback_retry_delay BETWEEN '1 minute' AND '366 days'),
    ADD COLUMN callback_max_attempts integer NOT NULL DEFAULT 3
        CONSTRAINT callback_max_attempts_range CHECK (callback_max_attempts BETWEEN 1 AND 1000),
    ADD COLUMN callback_display_days integer NOT NULL DEFAULT 0
        CONSTRAINT callback_display_days_range CHECK (callback_display_days BETWEEN 0 AND 366);

-- NULL: the campaign's limit; 0: none.
ALTER TABLE vicidial.vicidial_users
    ADD COLUMN callback_active_limit integer
        CONSTRAINT callback_active_limit_range CHECK (callback_active_limit BETWEEN 0 AND 100000);

-- The time a retry counts from: callback_time as last set by scheduling,
-- an admin or direct DML, never by a retry (so "2:30 pm" stays "2:30 pm"
-- after a retry moved into the lead's hours). Open callbacks older than
-- 1.1 count from their time.
ALTER TABLE vicidial.vicidial_callbacks ADD COLUMN retry_base_time timestamptz;
SET LOCAL session_replication_role = replica;
UPDATE vicidial.vicidial_callbacks SET retry_base_time = callback_time WHERE status IN ('ACTIVE', 'LIVE');
RESET session_replication_role;
-- The run that moves owners' overdue callbacks to anyone reads, per
-- campaign, the oldest LIVE USERONLY callback: few rows, and only flips of
-- USERONLY callbacks write this index.
CREATE INDEX vicidial_callbacks_live_useronly ON vicidial.vicidial_callbacks (campaign_id, callback_time)
    WHERE status = 'LIVE' AND recipient = 'USERONLY';

-- Every change of a callback's status, time, owner or recipient, by every
-- writer, and who made it. Kept forever: rows are never changed or
-- deleted. Partitioned and indexed as the dial log is.
CREATE TABLE vicidial.vicidial_callback_log (
    change_id         bigserial,
    callback_id       bigint NOT NULL,
    changed_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    old_status        varchar(10),
    new_status        varchar(10) NOT NULL,
    old_callback_time timestamptz,
    new_callback_time timestamptz NOT NULL,
    old_user          varchar(20),
    new_user          varchar(20),
    old_recipient     varchar(10),
    new_recipient     varchar(10) NOT NULL,
    reason            varchar(12) NOT NULL,
    db_user           name NOT NULL DEFAULT session_user
) PARTITION BY RANGE (changed_at);
CREATE TABLE vicidial.vicidial_callback_log_default PARTITION OF vicidial.vicidial_callback_log (PRIMARY KEY (change_id)) DEFAULT;
CREATE INDEX vicidial_callback_log_default_callback_id ON vicidial.vicidial_callback_log_default (callback_id, change_id);
CREATE INDEX vicidial_callback_log_default_changed_at ON vicidial.vicidial_callback_log_default USING brin (changed_at);

SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_callback_log_default', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.vicidial_callback_log_change_id_seq', '');
-- Calling hours (CONTRACT §7, §9, §12): zones, call times and the one
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
-- widens; start = stop closes the day too. PL/pgSQL with a generic plan,
-- so that its one query is planned once per session: the sweep, the fill
-- and hopper_next ask it many times. (Left to choose, the plan cache
-- re-plans it at every call, 0.12 ms: a custom plan knows the array's
-- length and always looks cheaper than the generic one.)
CREATE OR REPLACE FUNCTION vicidial._hours_window(call_times varchar[], day date, OUT start time, OUT stop time)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    weekday integer := extract(dow FROM day)::integer + 1;
BEGIN
    SELECT CASE WHEN bool_and(w.start IS NOT NULL) THEN max(w.start) END, min(w.stop)
      INTO start, stop
      FROM unnest(call_times) AS ct(id)
      LEFT JOIN vicidial.vicidial_call_times t ON t.call_time_id = ct.id
      LEFT JOIN vicidial.vicidial_call_time_holidays h ON h.call_time_id = ct.id AND h.holiday_date = day
     CROSS JOIN LATERAL (
           SELECT CASE WHEN h.holiday_date IS NOT NULL THEN h.ct_start
                       ELSE coalesce((ARRAY[t.ct_sunday_start, t.ct_monday_start, t.ct_tuesday_start, t.ct_wednesday_start,
                                            t.ct_thursday_start, t.ct_friday_start, t.ct_saturday_start])[weekday],
                                     t.ct_default_start) END,
                  CASE WHEN h.holiday_date IS NOT NULL THEN h.ct_stop
                       ELSE coalesce((ARRAY[t.ct_sunday_stop, t.ct_monday_stop, t.ct_tuesday_stop, t.ct_wednesday_stop,
                                            t.ct_thursday_stop, t.ct_friday_stop, t.ct_saturday_stop])[weekday],
                                     t.ct_default_stop) END) AS w(start, stop)
     WHERE ct.id IS NOT NULL;
END $$;

-- I8's predicate: "at" falls in [start, stop) of the window of its own
-- local date, on the zone's wall clock.
CREATE OR REPLACE FUNCTION vicidial._hours_open(zone text, call_times varchar[], at timestamptz) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    local timestamp := at AT TIME ZONE zone;
    hours record := vicidial._hours_window(call_times, local::date);
BEGIN
    RETURN coalesce(local::time >= hours.start AND local::time < hours.stop, false);
END $$;

-- A wall-clock time in a zone as an instant: the earlier one when the
-- clocks repeat it, NULL when they skip it. The zone's offset a day before
-- and a day after covers any one transition between them.
CREATE OR REPLACE FUNCTION vicidial._local_instant(local timestamp, zone text) RETURNS timestamptz
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT min(i.at)
      FROM (SELECT local AT TIME ZONE 'UTC') AS utc(at)
     CROSS JOIN LATERAL (VALUES (utc.at - interval '1 day'), (utc.at + interval '1 day')) AS near(at)
     CROSS JOIN LATERAL (SELECT utc.at - ((near.at AT TIME ZONE zone) - (near.at AT TIME ZONE 'UTC'))) AS i(at)
     WHERE i.at AT TIME ZONE zone = local
$$;

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

-- The dialable_now and next_dialable columns of the agent's and the
-- admin's lists: hours only, next_dialable = now() when dialable now.
CREATE OR REPLACE FUNCTION vicidial._dialable_now(zone text, call_times varchar[],
                                                 OUT dialable_now boolean, OUT next_dialable timestamptz)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT o.open, CASE WHEN o.open THEN now() ELSE vicidial._next_open(zone, call_times, now()) END
      FROM (SELECT vicidial._hours_open(zone, call_times, now())) AS o(open)
$$;

-- Each lead's hours key: its zone (its own, else its list's, else its
-- campaign's) and the call times that bind it (campaign, list, state).
CREATE OR REPLACE VIEW vicidial.lead_hours AS
SELECT l.lead_id,
       coalesce(l.time_zone, li.time_zone, cp.time_zone) AS zone,
       ARRAY[cp.local_call_time, li.local_call_time, s.call_time_id]::varchar[] AS call_times
  FROM vicidial.vicidial_list l
  JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id
  JOIN vicidial.vicidial_campaigns cp ON cp.campaign_id = li.campaign_id
  LEFT JOIN vicidial.vicidial_state_call_times s ON s.state = l.state;

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

-- A change of hours waits for a run in progress (and a run for the
-- change), so that no release is deferred on hours already changed. A
-- restore loads the releases as they were dumped.
CREATE OR REPLACE FUNCTION vicidial._recheck_all_releases() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF vicidial._restoring_dump() THEN
        RETURN NULL;
    END IF;
    PERFORM vicidial._serialize_hopper_runs();
    -- Locked in lead order first, as every writer of the queue locks; then
    -- updated by a plain scan. A join of the two (a CTE) is planned from
    -- the queue's statistics, which a night's sweep makes stale at once:
    -- with 50,000 waiting leads it ran as a nested loop for minutes.
    PERFORM FROM vicidial.callback_releases w WHERE w.release_after > '-infinity'
      ORDER BY w.lead_id
        FOR UPDATE;
    UPDATE vicidial.callback_releases r SET release_after = '-infinity' WHERE r.release_after > '-infinity';
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER call_times_recheck AFTER INSERT OR UPDATE OR DELETE ON vicidial.vicidial_call_times
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._recheck_all_releases();
CREATE OR REPLACE TRIGGER holidays_recheck AFTER INSERT OR UPDATE OR DELETE ON vicidial.vicidial_call_time_holidays
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._recheck_all_releases();
CREATE OR REPLACE TRIGGER state_call_times_recheck AFTER INSERT OR UPDATE OR DELETE ON vicidial.vicidial_state_call_times
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._recheck_all_releases();
CREATE OR REPLACE TRIGGER campaigns_hours_recheck AFTER UPDATE OF local_call_time, time_zone ON vicidial.vicidial_campaigns
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._recheck_all_releases();
CREATE OR REPLACE TRIGGER lists_hours_recheck AFTER UPDATE OF local_call_time, time_zone, campaign_id ON vicidial.vicidial_lists
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._recheck_all_releases();

CREATE OR REPLACE FUNCTION vicidial._recheck_lead_release() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE vicidial.callback_releases r SET release_after = '-infinity'
     WHERE r.lead_id = NEW.lead_id AND r.release_after > '-infinity';
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER leads_hours_recheck AFTER UPDATE OF time_zone, state, list_id ON vicidial.vicidial_list
    FOR EACH ROW
    WHEN ((NEW.time_zone, NEW.state, NEW.list_id) IS DISTINCT FROM (OLD.time_zone, OLD.state, OLD.list_id))
    EXECUTE FUNCTION vicidial._recheck_lead_release();

-- Zones are checked where they are written. A campaign without one takes
-- the session's.
CREATE OR REPLACE FUNCTION vicidial._zone_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_TABLE_NAME = 'vicidial_campaigns' THEN
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
-- Do-not-call lists and the dial log: with calling hours (15_hours.sql),
-- what keeps a lead from being handed to an agent (CONTRACT §8, §9), and
-- the record of every dial.

-- The do-not-call status a lead's number earns in a campaign: DNCL when
-- the system list has it (and the campaign uses that list), else DNCC when
-- the campaign's own list has it; NULL when neither. Numbers compare on
-- their digits only. PL/pgSQL, like the other helpers asked per lead:
-- its queries are planned once per session, not at every call.
CREATE OR REPLACE FUNCTION vicidial._dnc_status(phone_number text, campaign vicidial.vicidial_campaigns) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    digits text := vicidial._digits(phone_number);
BEGIN
    IF campaign.use_internal_dnc
       AND EXISTS (SELECT 1 FROM vicidial.vicidial_dnc d WHERE vicidial._digits(d.phone_number) = digits) THEN
        RETURN 'DNCL';
    END IF;
    IF campaign.use_campaign_dnc
       AND EXISTS (SELECT 1 FROM vicidial.vicidial_campaign_dnc d
                    WHERE vicidial._digits(d.phone_number) = digits AND d.campaign_id = campaign.campaign_id) THEN
        RETURN 'DNCC';
    END IF;
    RETURN NULL;
END $$;

-- A campaign's 24-hour limit: NULL while the lead has fewer than
-- call_limit dials (in any campaign) in (at - 24 h, at], else the instant
-- it is under the limit again, when the dial that keeps it at the limit
-- turns 24 hours old.
CREATE OR REPLACE FUNCTION vicidial._limit_24h_until(lead_id bigint, call_limit integer, at timestamptz) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF call_limit <= 0 THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT d.call_date + interval '24 hours'
              FROM vicidial.vicidial_log d
             WHERE d.lead_id = _limit_24h_until.lead_id AND d.call_date > at - interval '24 hours' AND d.call_date <= at
             ORDER BY d.call_date DESC
            OFFSET call_limit - 1 LIMIT 1);
END $$;

-- §9: why a lead cannot be handed to an agent at "at", one row per reason.
CREATE OR REPLACE FUNCTION vicidial.lead_dial_blockers(lead_id bigint, at timestamptz DEFAULT now())
RETURNS TABLE (blocker text, detail text, until timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    hours vicidial.lead_hours := vicidial._lead_hours(lead_id);
BEGIN
    PERFORM vicidial._check_time(at, 'at');
    RETURN QUERY
    SELECT b.blocker, b.detail, b.until FROM (
        SELECT 'CBHOLD' AS blocker, 'held for callback ' || c.callback_id || ' (' || c.status || ', ' || c.recipient || ')' AS detail,
               CASE WHEN c.status = 'ACTIVE' THEN c.callback_time END AS until
          FROM vicidial.vicidial_list l
          LEFT JOIN vicidial.vicidial_callbacks c ON c.lead_id = l.lead_id AND c.status IN ('ACTIVE', 'LIVE')
         WHERE l.lead_id = lead_dial_blockers.lead_id AND l.status = 'CBHOLD'
        UNION ALL
        SELECT 'INCALL', 'being called by agent ' || coalesce(l."user", '(none)'), NULL
          FROM vicidial.vicidial_list l
         WHERE l.lead_id = lead_dial_blockers.lead_id AND l.status = 'INCALL'
        UNION ALL
        SELECT 'HOURS', format('outside its calling hours: it is %s there (%s)',
                               to_char(at AT TIME ZONE hours.zone, 'Dy YYYY-MM-DD HH24:MI'), hours.zone),
               vicidial._next_open(hours.zone, hours.call_times, at)
         WHERE NOT vicidial._hours_open(hours.zone, hours.call_times, at)
        UNION ALL
        SELECT 'DNC', format('%s is on the %s do-not-call list', l.phone_number,
                             CASE d.status WHEN 'DNCL' THEN 'system' ELSE 'campaign''s' END), NULL
          FROM vicidial.vicidial_list l
          JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id
          JOIN vicidial.vicidial_campaigns cp ON cp.campaign_id = li.campaign_id
         CROSS JOIN LATERAL (SELECT vicidial._dnc_status(l.phone_number, cp)) AS d(status)
         WHERE l.lead_id = lead_dial_blockers.lead_id AND d.status IS NOT NULL
        UNION ALL
        SELECT 'LIMIT_24H', format('dialed %s times in the 24 hours before, the limit of campaign %s', cp.call_limit_24hour, cp.campaign_id),
               u.until
          FROM vicidial.vicidial_list l
          JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id
          JOIN vicidial.vicidial_campaigns cp ON cp.campaign_id = li.campaign_id
         CROSS JOIN LATERAL (SELECT vicidial._limit_24h_until(l.lead_id, cp.call_limit_24hour, at)) AS u(until)
         WHERE l.lead_id = lead_dial_blockers.lead_id AND u.until IS NOT NULL
        UNION ALL
        SELECT 'LIST_INACTIVE', 'list ' || li.list_id || ' is inactive', NULL
          FROM vicidial.vicidial_list l JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id
         WHERE l.lead_id = lead_dial_blockers.lead_id AND NOT li.active
        UNION ALL
        SELECT 'CAMPAIGN_INACTIVE', 'campaign ' || cp.campaign_id || ' is inactive', NULL
          FROM vicidial.vicidial_list l JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id
          JOIN vicidial.vicidial_campaigns cp ON cp.campaign_id = li.campaign_id
         WHERE l.lead_id = lead_dial_blockers.lead_id AND NOT cp.active) b
     ORDER BY b.blocker;
END $$;

-- I9: leads a do-not-call list now covers (a number listed later, or a
-- lead's number changed onto a list) have their open callbacks archived
-- (reason DNC), leave the hopper and take DNCL or DNCC, in one statement;
-- a lead being called keeps its status until its hangup. The leads are
-- locked in order, then read.
CREATE OR REPLACE FUNCTION vicidial._apply_dnc(lead_ids bigint[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan
SET vicidial.change_reason = 'DNC' AS $$
BEGIN
    WITH locked AS MATERIALIZED (
        SELECT l.lead_id, l.phone_number, l.list_id
          FROM unnest(lead_ids) AS given(lead_id)
          JOIN vicidial.vicidial_list l ON l.lead_id = given.lead_id
         ORDER BY l.lead_id
           FOR UPDATE OF l),
    listed AS MATERIALIZED (
        SELECT k.lead_id, d.status
          FROM locked k
          JOIN vicidial.vicidial_lists li ON li.list_id = k.list_id
          JOIN vicidial.vicidial_campaigns cp ON cp.campaign_id = li.campaign_id
         CROSS JOIN LATERAL (SELECT vicidial._dnc_status(k.phone_number, cp)) AS d(status)
         WHERE d.status IS NOT NULL),
    archived AS (
        UPDATE vicidial.vicidial_callbacks c SET status = 'ARCHIVE', archive_reason = 'DNC'
          FROM listed v WHERE c.lead_id = v.lead_id AND c.status IN ('ACTIVE', 'LIVE')),
    unqueued AS (
        DELETE FROM vicidial.vicidial_hopper h USING listed v WHERE h.lead_id = v.lead_id)
    UPDATE vicidial.vicidial_list l SET status = v.status, modify_date = now()
      FROM listed v
     WHERE l.lead_id = v.lead_id AND l.status NOT IN ('INCALL', v.status);
END $$;

-- A number added to a list (or a listed number changed): the leads it
-- covers, through the index of their digits.
CREATE OR REPLACE FUNCTION vicidial._dnc_added() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._apply_dnc(array_agg(DISTINCT l.lead_id))
       FROM (SELECT DISTINCT vicidial._digits(n.phone_number) AS digits FROM listed_numbers n) n
       JOIN vicidial.vicidial_list l ON vicidial._digits(l.phone_number) = n.digits
     HAVING count(*) > 0;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER dnc_added AFTER INSERT ON vicidial.vicidial_dnc
    REFERENCING NEW TABLE AS listed_numbers
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._dnc_added();
CREATE OR REPLACE TRIGGER dnc_changed AFTER UPDATE ON vicidial.vicidial_dnc
    REFERENCING NEW TABLE AS listed_numbers
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._dnc_added();
CREATE OR REPLACE TRIGGER campaign_dnc_added AFTER INSERT ON vicidial.vicidial_campaign_dnc
    REFERENCING NEW TABLE AS listed_numbers
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._dnc_added();
CREATE OR REPLACE TRIGGER campaign_dnc_changed AFTER UPDATE ON vicidial.vicidial_campaign_dnc
    REFERENCING NEW TABLE AS listed_numbers
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._dnc_added();

CREATE OR REPLACE FUNCTION vicidial._dnc_number_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._apply_dnc(ARRAY[NEW.lead_id]);
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER leads_dnc AFTER UPDATE OF phone_number ON vicidial.vicidial_list
    FOR EACH ROW WHEN (vicidial._digits(NEW.phone_number) IS DISTINCT FROM vicidial._digits(OLD.phone_number))
    EXECUTE FUNCTION vicidial._dnc_number_changed();

-- The dial log is a record: a dial is closed once (end_date, status) and
-- never changed otherwise, deleted or truncated.
CREATE OR REPLACE FUNCTION vicidial._dial_log_keep() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'dial % of lead % is on record: it is closed once, with end_date and status, and never changed',
            OLD.log_id, OLD.lead_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RAISE EXCEPTION 'the dial log is kept forever: % refused', TG_OP
        USING ERRCODE = 'object_not_in_prerequisite_state';
END $$;

CREATE OR REPLACE TRIGGER vicidial_log_keep BEFORE UPDATE ON vicidial.vicidial_log
    FOR EACH ROW
    WHEN (NOT (OLD.end_date IS NULL AND OLD.status IS NULL AND NEW.end_date IS NOT NULL
               AND (NEW.log_id, NEW.lead_id, NEW.list_id, NEW.campaign_id, NEW.callback_id, NEW."user",
                    NEW.phone_number, NEW.call_date)
                   IS NOT DISTINCT FROM
                   (OLD.log_id, OLD.lead_id, OLD.list_id, OLD.campaign_id, OLD.callback_id, OLD."user",
                    OLD.phone_number, OLD.call_date)))
    EXECUTE FUNCTION vicidial._dial_log_keep();
CREATE OR REPLACE TRIGGER vicidial_log_keep_delete BEFORE DELETE ON vicidial.vicidial_log
    FOR EACH ROW EXECUTE FUNCTION vicidial._dial_log_keep();
CREATE OR REPLACE TRIGGER vicidial_log_keep_truncate BEFORE TRUNCATE ON vicidial.vicidial_log
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._dial_log_keep();

-- A disposition (or the end of a stuck call) closes the lead's latest open
-- dial. One index probe per lead (and log partition), written so that no
-- plan can do otherwise (the LIMIT 1 subquery), and planned once per
-- session: left to choose, the plan cache re-plans it at every
-- disposition (0.5 ms), and a plan chosen while the log was small would
-- scan the whole log.
CREATE OR REPLACE FUNCTION vicidial._close_dials(lead_ids bigint[], status text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    UPDATE vicidial.vicidial_log g SET end_date = now(), status = _close_dials.status
      FROM unnest(lead_ids) AS given(lead_id)
     CROSS JOIN LATERAL (
           SELECT o.log_id, o.call_date FROM vicidial.vicidial_log o
            WHERE o.lead_id = given.lead_id AND o.end_date IS NULL
            ORDER BY o.lead_id DESC, o.call_date DESC, o.log_id DESC
            LIMIT 1) latest
     WHERE g.log_id = latest.log_id AND g.call_date = latest.call_date;
END $$;
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

-- The writers lock a row and then read it fresh; a snapshot held for the
-- whole transaction would make them fail with bare serialization errors.
CREATE OR REPLACE FUNCTION vicidial._require_read_committed(caller text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'vicidial.% needs READ COMMITTED, not %', caller,
            upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'call it in a READ COMMITTED transaction (the default)';
    END IF;
END $$;

-- Start of the half hour that contains "at" on the zone's wall clock (the
-- session's by default): the popup's default slot. Minutes are taken
-- locally so zones offset by :30 or :45 get their own half hours.
CREATE OR REPLACE FUNCTION vicidial._half_hour_start(at timestamptz, zone text DEFAULT current_setting('TimeZone'))
RETURNS timestamptz
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT date_trunc('minute', at)
           - make_interval(mins => extract(minute FROM at AT TIME ZONE zone)::int % 30)
$$;

-- The window callback_schedule accepts: from the start of the current half
-- hour to now + days_limit days, both ends included.
CREATE OR REPLACE FUNCTION vicidial._callback_window(days_limit integer, zone text) RETURNS tstzrange
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT tstzrange(vicidial._half_hour_start(now(), zone), now() + make_interval(days => days_limit), '[]')
$$;

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

-- A status text (disposition, lead_status, dial status): 1 to 6 capital
-- letters or digits, checked before the value meets a varchar(6) column.
CREATE OR REPLACE FUNCTION vicidial._check_status_text(status text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF status IS NULL OR status !~ '^[A-Z0-9]{1,6}$' THEN
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

-- The role the caller acts as: the session's SET ROLE, else its login. A
-- SECURITY DEFINER function runs as its owner, so current_user says
-- nothing about the caller; these two do. (PL/pgSQL, as every helper
-- asked on the hot paths: a SQL function that sets search_path is never
-- inlined and is planned again at every call, 50-200 us.)
CREATE OR REPLACE FUNCTION vicidial._calling_role() RETURNS name
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN CASE current_setting('role') WHEN 'none' THEN session_user ELSE current_setting('role')::name END;
END $$;

-- A superuser restoring a dump: pg_dump's script and pg_restore both set
-- row_security = off, which a superuser's everyday session does not. Rows
-- are then loaded in the state they were dumped in; every other writer,
-- and a superuser in any other session, meets every rule.
CREATE OR REPLACE FUNCTION vicidial._restoring_dump() RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN current_setting('row_security') = 'off'
       AND coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = vicidial._calling_role()), false);
END $$;

-- An agent acting through an agent function: active, and when the agent
-- is bound to a database role (db_role), called by a member of that role.
CREATE OR REPLACE FUNCTION vicidial._acting_agent(agent varchar) RETURNS vicidial.vicidial_users
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    acting vicidial.vicidial_users := vicidial._active_agent(agent);
    caller name := vicidial._calling_role();
BEGIN
    IF acting.db_role IS NOT NULL
       AND NOT coalesce(pg_has_role(caller, to_regrole(acting.db_role), 'MEMBER'), false) THEN
        RAISE EXCEPTION 'role "%" may not act as agent "%"', caller, agent
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('agent "%s" is bound to the database role "%s"', agent, acting.db_role);
    END IF;
    RETURN acting;
END $$;

-- Leads are locked before their callbacks everywhere, so that two writers
-- never wait on each other in opposite orders.
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
    -- A restore loads rows in the states they had: LIVE, ARCHIVE.
    IF TG_OP = 'INSERT' AND vicidial._restoring_dump() THEN
        RETURN NEW;
    END IF;
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
       AND vicidial._dnc_status((SELECT l.phone_number FROM vicidial.vicidial_list l WHERE l.lead_id = NEW.lead_id),
                                campaign) IS NOT NULL THEN
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
        IF vicidial._change_reason() <> 'RETRY' THEN
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
        PERFORM vicidial._check_active_limit(NEW."user", campaign, NEW.lead_id);
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER callbacks_guard_insert BEFORE INSERT ON vicidial.vicidial_callbacks
    FOR EACH ROW EXECUTE FUNCTION vicidial._callbacks_guard();
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
    WITH locked AS (
        SELECT l.lead_id, l.status FROM vicidial.vicidial_list l
         WHERE l.lead_id IN (SELECT q.lead_id FROM queued q)
         ORDER BY l.lead_id
           FOR SHARE)
    SELECT k.lead_id, k.status INTO refused FROM locked k WHERE k.status IN ('CBHOLD', 'INCALL') LIMIT 1;
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
    REFERENCING NEW TABLE AS queued
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
-- queued.
--   leads: inserted as CBHOLD, or status or user changed into or out of
--   CBHOLD or INCALL.
CREATE OR REPLACE FUNCTION vicidial._queue_lead_checks_of_leads() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO vicidial.lead_checks (lead_ids)
        SELECT array_agg(n.lead_id) FROM new_rows n
         WHERE n.status = 'CBHOLD' AND NOT vicidial._restoring_dump()
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
         WHERE NOT vicidial._restoring_dump()
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
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._queue_lead_checks_of_leads();
CREATE OR REPLACE TRIGGER leads_checked_update AFTER UPDATE ON vicidial.vicidial_list
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._queue_lead_checks_of_leads();
CREATE OR REPLACE TRIGGER callbacks_checked_insert AFTER INSERT ON vicidial.vicidial_callbacks
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._queue_lead_checks_of_callbacks();
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

-- Agents (CONTRACT §8): an agent who still owns an open callback cannot be
-- deleted; deactivating an agent hands their open USERONLY callbacks to
-- anyone (user kept) in the same transaction, the LIVE ones' leads released
-- to the hopper as the sweep releases them (calling hours apply).
CREATE OR REPLACE FUNCTION vicidial._agent_keeps_callbacks() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    open_callbacks bigint := (SELECT count(*) FROM vicidial.vicidial_callbacks c
                               WHERE c."user" = OLD."user" AND c.status IN ('ACTIVE', 'LIVE'));
BEGIN
    IF open_callbacks > 0 THEN
        RAISE EXCEPTION 'agent "%" owns % open callbacks and cannot be deleted', OLD."user", open_callbacks
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'deactivate the agent (active = false) instead, or move the callbacks first';
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
    -- leads before callbacks, in order, as every writer locks them
    SELECT coalesce(array_agg(l.lead_id), '{}') INTO held
      FROM (SELECT l.lead_id FROM vicidial.vicidial_list l
             WHERE l.lead_id IN (SELECT c.lead_id FROM vicidial.vicidial_callbacks c
                                  WHERE c."user" = NEW."user" AND c.recipient = 'USERONLY' AND c.status IN ('ACTIVE', 'LIVE'))
             ORDER BY l.lead_id
               FOR UPDATE) l;
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
-- The history of every callback (CONTRACT §8): vicidial_callback_log gets
-- one row per change of a callback's status, time, owner or recipient (and
-- one per new callback), by every writer, written once per statement from
-- its transition tables, never a trigger call per row. The rows are kept
-- forever.
--
-- Why a callback changed: each function of the extension names its cause
-- for the length of its call (SET vicidial.change_reason in its header, or
-- set_config(..., true) between its statements, which the header's SET
-- undoes at return); an archive gives its archive_reason; any other writer
-- is DML. A session can set the reason itself (cut to the column's 12
-- characters, so that its own writes never fail on it), but never db_user,
-- which is the session's login.

CREATE OR REPLACE FUNCTION vicidial._change_reason() RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN left(coalesce(nullif(current_setting('vicidial.change_reason', true), ''), 'DML'), 12);
END $$;

CREATE OR REPLACE FUNCTION vicidial._log_callback_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    reason text := vicidial._change_reason();
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- a restore loads the log as it was dumped
        IF vicidial._restoring_dump() THEN
            RETURN NULL;
        END IF;
        INSERT INTO vicidial.vicidial_callback_log
               (callback_id, new_status, new_callback_time, new_user, new_recipient, reason, db_user)
        SELECT n.callback_id, n.status, n.callback_time, n."user", n.recipient, reason, session_user
          FROM new_rows n
         ORDER BY n.callback_id;
    ELSE
        INSERT INTO vicidial.vicidial_callback_log
               (callback_id, old_status, new_status, old_callback_time, new_callback_time,
                old_user, new_user, old_recipient, new_recipient, reason, db_user)
        SELECT n.callback_id, o.status, n.status, o.callback_time, n.callback_time,
               o."user", n."user", o.recipient, n.recipient,
               CASE WHEN n.status = 'ARCHIVE' AND o.status <> 'ARCHIVE' AND reason <> 'DML'
                    THEN n.archive_reason ELSE reason END,
               session_user
          FROM new_rows n JOIN old_rows o ON o.callback_id = n.callback_id
         WHERE (n.status, n.callback_time, n."user", n.recipient)
               IS DISTINCT FROM (o.status, o.callback_time, o."user", o.recipient)
         ORDER BY n.callback_id;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER callbacks_logged_insert AFTER INSERT ON vicidial.vicidial_callbacks
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._log_callback_changes();
CREATE OR REPLACE TRIGGER callbacks_logged_update AFTER UPDATE ON vicidial.vicidial_callbacks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._log_callback_changes();

-- The log is a record: no writer changes, deletes or truncates it.
CREATE OR REPLACE FUNCTION vicidial._callback_log_keep() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'the callback log is kept forever: % refused', TG_OP
        USING ERRCODE = 'object_not_in_prerequisite_state';
END $$;

CREATE OR REPLACE TRIGGER callback_log_keep BEFORE UPDATE OR DELETE ON vicidial.vicidial_callback_log
    FOR EACH ROW EXECUTE FUNCTION vicidial._callback_log_keep();
CREATE OR REPLACE TRIGGER callback_log_keep_truncate BEFORE TRUNCATE ON vicidial.vicidial_callback_log
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._callback_log_keep();

-- Admin: a callback's changes, oldest first.
CREATE OR REPLACE FUNCTION vicidial.callback_history(callback_id bigint)
RETURNS SETOF vicidial.vicidial_callback_log
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._not_null(callback_id, 'callback_id');
    IF NOT EXISTS (SELECT 1 FROM vicidial.vicidial_callbacks c WHERE c.callback_id = callback_history.callback_id) THEN
        RAISE EXCEPTION 'callback % does not exist', callback_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN QUERY
    SELECT g.* FROM vicidial.vicidial_callback_log g
     WHERE g.callback_id = callback_history.callback_id
     ORDER BY g.change_id;
END $$;
-- Keeping the logs quick to read: month partitions for vicidial_log and
-- vicidial_callback_log. Both are range-partitioned by their time and
-- start with only a default partition; log_partitions_add creates the
-- months ahead of time (an operator schedules it, e.g. with pg_cron), so a
-- time-range read or the 24-hour count touches only the months it names.
--
-- No row ever moves: a month already holding rows in the default partition
-- is not created (moving rows would mean deleting them from the default,
-- which the logs refuse), so partitions start after the default's last
-- row. Months are UTC months. A month is made LIKE the default partition
-- (its key and indexes), then attached. Each partition refuses TRUNCATE as
-- its log does (a statement trigger is not inherited); UPDATE and DELETE
-- are refused by the log's row triggers, which every partition inherits.
--
-- Attaching a month holds the default partition's ACCESS EXCLUSIVE lock
-- while it reads the default through (PostgreSQL checks that none of its
-- rows falls in the new month): dials and callback changes wait that long,
-- so it is run at a quiet hour, months ahead.

CREATE OR REPLACE TRIGGER vicidial_log_keep_truncate BEFORE TRUNCATE ON vicidial.vicidial_log_default
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._dial_log_keep();
CREATE OR REPLACE TRIGGER vicidial_callback_log_keep_truncate BEFORE TRUNCATE ON vicidial.vicidial_callback_log_default
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._callback_log_keep();

CREATE OR REPLACE FUNCTION vicidial.log_partitions_add(until timestamptz DEFAULT now() + interval '3 months')
RETURNS SETOF regclass
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    log record;
    month timestamptz;
    partition text;
BEGIN
    PERFORM vicidial._check_time(until, 'until');
    IF until > now() + interval '10 years' THEN
        RAISE EXCEPTION 'until must be within 10 years, not %', until USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR log IN
        SELECT * FROM (VALUES ('vicidial_log', 'call_date', '_dial_log_keep'),
                              ('vicidial_callback_log', 'changed_at', '_callback_log_keep')) AS l(name, time_column, keep)
    LOOP
        -- The lock attaching a partition takes on the default anyway, taken
        -- first: no row reaches the default between reading its last time
        -- and attaching the month after it, and no lock is upgraded.
        EXECUTE format('LOCK TABLE vicidial.%I IN ACCESS EXCLUSIVE MODE', log.name || '_default');
        EXECUTE format('SELECT greatest(date_trunc(''month'', now()), date_trunc(''month'', max(%I)) + interval ''1 month'')
                          FROM vicidial.%I', log.time_column, log.name || '_default')
           INTO month;
        WHILE month < until LOOP
            partition := log.name || '_' || to_char(month, 'YYYY_MM');
            IF to_regclass('vicidial.' || quote_ident(partition)) IS NULL THEN
                EXECUTE format('CREATE TABLE vicidial.%I (LIKE vicidial.%I INCLUDING ALL)', partition, log.name || '_default');
                EXECUTE format('ALTER TABLE vicidial.%I ATTACH PARTITION vicidial.%I FOR VALUES FROM (%L) TO (%L)',
                               log.name, partition, month, month + interval '1 month');
                EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON vicidial.%I FOR EACH STATEMENT EXECUTE FUNCTION vicidial.%I()',
                               log.name || '_keep_truncate', partition, log.keep);
                RETURN NEXT ('vicidial.' || quote_ident(partition))::regclass;
            END IF;
            month := month + interval '1 month';
        END LOOP;
    END LOOP;
END $$;
-- What happens to a lead when its callback goes LIVE or is dialed, shared
-- by the agent, admin and server functions so that each move is written
-- once.
--
-- A rule for every writer here: a lead and its callbacks change in one
-- statement whenever a half-done change would break I2, so that a session
-- that made the I2 checks IMMEDIATE still gets through every function.

-- Of these leads (locked by the caller), those waiting in CBHOLD beside a
-- LIVE ANYONE callback, inside their calling hours and under their
-- campaign's 24-hour limit at "at", are released: the lead takes the
-- callback's lead_status, is dialable again, and joins the hopper of the
-- callback's campaign at priority 50 when that campaign and the lead's
-- list are active. The others wait in callback_releases until their hours
-- open and they are under the limit; the given leads' other entries there
-- are done with. Hours are decided once per (zone, call
-- times), not once per lead. Returns how many hopper rows were added.
CREATE OR REPLACE FUNCTION vicidial._release_anyone(lead_ids bigint[], at timestamptz) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
-- planned for the arrays given, which each statement reads as a relation
-- (unnest): joined by "= ANY", a probe per row would search the array
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    open_leads bigint[];
    released_leads bigint[];
    queued integer;
BEGIN
    WITH waiting AS (
        SELECT c.lead_id, h.zone, h.call_times,
               CASE WHEN cp.call_limit_24hour > 0 THEN vicidial._limit_24h_until(c.lead_id, cp.call_limit_24hour, at) END AS limit_until
          FROM unnest(lead_ids) AS given(lead_id)
          JOIN vicidial.vicidial_callbacks c ON c.lead_id = given.lead_id AND c.status = 'LIVE' AND c.recipient = 'ANYONE'
          JOIN vicidial.vicidial_campaigns cp ON cp.campaign_id = c.campaign_id
          JOIN vicidial.vicidial_list l ON l.lead_id = given.lead_id AND l.status = 'CBHOLD'
          JOIN vicidial.lead_hours h ON h.lead_id = given.lead_id),
    -- materialized: the hours are asked once per key, never per lead
    decided AS MATERIALIZED (
        SELECT k.zone, k.call_times, k.open,
               CASE WHEN NOT k.open THEN coalesce(vicidial._next_open(k.zone, k.call_times, at), at + interval '1 day') END AS until
          FROM (SELECT w.zone, w.call_times, vicidial._hours_open(w.zone, w.call_times, at) AS open
                  FROM (SELECT DISTINCT w.zone, w.call_times FROM waiting w) w) k),
    -- a lead over its campaign's 24-hour limit waits until it is under
    -- it, and then for its hours
    waits AS (
        SELECT w.lead_id, d.open AND w.limit_until IS NULL AS open,
               greatest(d.until, w.limit_until) AS until
          FROM waiting w JOIN decided d ON d.zone = w.zone AND d.call_times = w.call_times),
    deferred AS (
        INSERT INTO vicidial.callback_releases AS r (lead_id, release_after)
        SELECT w.lead_id, w.until FROM waits w WHERE NOT w.open ORDER BY w.lead_id
        ON CONFLICT (lead_id) DO UPDATE SET release_after = excluded.release_after),
    done AS (
        DELETE FROM vicidial.callback_releases r
         USING unnest(lead_ids) AS given(lead_id)
         WHERE r.lead_id = given.lead_id
           AND NOT EXISTS (SELECT 1 FROM waits w WHERE w.lead_id = r.lead_id AND NOT w.open))
    SELECT array_agg(w.lead_id) INTO open_leads FROM waits w WHERE w.open;

    WITH released AS (
        UPDATE vicidial.vicidial_list l
           SET status = c.lead_status, called_since_last_reset = 'N', modify_date = now()
          FROM unnest(open_leads) AS opened(lead_id)
          JOIN vicidial.vicidial_callbacks c ON c.lead_id = opened.lead_id AND c.recipient = 'ANYONE' AND c.status = 'LIVE'
         WHERE l.lead_id = opened.lead_id AND l.status = 'CBHOLD'
        RETURNING l.lead_id)
    SELECT array_agg(r.lead_id) INTO released_leads FROM released r;

    -- A separate statement, so that the hopper's guard sees the released leads.
    INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id, status, priority, source, entry_time)
    SELECT l.lead_id, c.campaign_id, l.list_id, 'READY', 50, 'C', at
      FROM unnest(released_leads) AS released(lead_id)
      JOIN vicidial.vicidial_list l ON l.lead_id = released.lead_id
      JOIN vicidial.vicidial_callbacks c ON c.lead_id = released.lead_id AND c.status = 'LIVE'
      JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id AND li.active
      JOIN vicidial.vicidial_campaigns cp ON cp.campaign_id = c.campaign_id AND cp.active
     ORDER BY c.callback_id
    ON CONFLICT (lead_id) DO NOTHING;
    GET DIAGNOSTICS queued = ROW_COUNT;
    RETURN queued;
END $$;

-- An agent takes the lead: out of the hopper, INCALL, counted as called;
-- the dial is logged and, for a callback call, counted as an attempt of
-- the lead's open callback.
CREATE OR REPLACE FUNCTION vicidial._dial_lead(lead_id bigint, agent varchar) RETURNS SETOF vicidial.vicidial_list
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    callback_call bigint;
BEGIN
    DELETE FROM vicidial.vicidial_hopper h WHERE h.lead_id = _dial_lead.lead_id;
    SELECT c.callback_id INTO callback_call FROM vicidial.vicidial_callbacks c
     WHERE c.lead_id = _dial_lead.lead_id AND c.status IN ('ACTIVE', 'LIVE');
    -- only a callback call touches the callbacks (and their statement triggers)
    IF callback_call IS NOT NULL THEN
        UPDATE vicidial.vicidial_callbacks c SET attempts = c.attempts + 1, modify_date = now()
         WHERE c.callback_id = callback_call;
    END IF;
    INSERT INTO vicidial.vicidial_log (lead_id, list_id, campaign_id, callback_id, "user", phone_number, call_date)
    SELECT l.lead_id, l.list_id, li.campaign_id, callback_call, _dial_lead.agent, l.phone_number, now()
      FROM vicidial.vicidial_list l JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id
     WHERE l.lead_id = _dial_lead.lead_id;
    RETURN QUERY
    UPDATE vicidial.vicidial_list l
       SET status = 'INCALL', "user" = _dial_lead.agent, called_count = l.called_count + 1,
           called_since_last_reset = 'Y', last_local_call_time = now(), modify_date = now()
     WHERE l.lead_id = _dial_lead.lead_id
    RETURNING l.*;
END $$;

-- Calls that will never be dispositioned (the agent's client died): these
-- INCALL leads, locked by the caller, end as a hangup with 'ERI' would,
-- except that a callback call leaves its callback open as it was before
-- the dial: ACTIVE again if it is not due yet, else LIVE, its lead back in
-- CBHOLD for its owner or, for ANYONE, released to the hopper again.
-- Returns how many calls ended.
CREATE OR REPLACE FUNCTION vicidial._end_calls(lead_ids bigint[], at timestamptz) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan
SET vicidial.change_reason = 'CALL_ENDED' AS $$
DECLARE
    ended integer;
BEGIN
    -- Callback and lead in one statement (I2 holds at every step).
    WITH reopened AS (
        UPDATE vicidial.vicidial_callbacks c
           SET status = CASE WHEN c.callback_time > greatest(at, now()) THEN 'ACTIVE' ELSE 'LIVE' END
         WHERE c.lead_id = ANY (lead_ids) AND c.status IN ('ACTIVE', 'LIVE')
        RETURNING c.lead_id),
    held_again AS (
        UPDATE vicidial.vicidial_list l SET status = 'CBHOLD', modify_date = now()
          FROM reopened r
         WHERE l.lead_id = r.lead_id AND l.status = 'INCALL'
        RETURNING l.lead_id),
    hung_up AS (
        UPDATE vicidial.vicidial_list l SET status = 'ERI', modify_date = now()
         WHERE l.lead_id = ANY (lead_ids) AND l.status = 'INCALL'
           AND l.lead_id NOT IN (SELECT r.lead_id FROM reopened r)
        RETURNING l.lead_id)
    SELECT ((SELECT count(*) FROM held_again) + (SELECT count(*) FROM hung_up))::integer INTO ended;
    PERFORM vicidial._close_dials(lead_ids, 'ERI');
    PERFORM vicidial._release_anyone(lead_ids, at);
    RETURN ended;
END $$;
-- Callback policies (CONTRACT §8): the active limit, retries, the move of
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
    -- callback and lead in one statement (I2)
    WITH again AS (
        UPDATE vicidial.vicidial_callbacks c SET status = 'ACTIVE', callback_time = retry_at
         WHERE c.callback_id = callback.callback_id
        RETURNING c.callback_id, c.lead_id)
    UPDATE vicidial.vicidial_list l SET status = 'CBHOLD', modify_date = now()
      FROM again a WHERE l.lead_id = a.lead_id;
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

-- The display limit of the agent's list and button: callbacks due before
-- local midnight of today + N days in the campaign's zone (N =
-- callback_display_days; 0 shows all). Display only: the active limit
-- counts every open callback.
CREATE OR REPLACE FUNCTION vicidial._shown_to_agent(callback_time timestamptz, campaign vicidial.vicidial_campaigns)
RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN campaign.callback_display_days = 0
        OR callback_time < vicidial._first_instant_from(
               (now() AT TIME ZONE campaign.time_zone)::date + campaign.callback_display_days, campaign.time_zone);
END $$;

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
    changed integer;
BEGIN
    PERFORM vicidial._require_read_committed('callbacks_reassign');
    PERFORM vicidial._not_null(from_agent, 'from_agent');
    -- an unknown agent, campaign or list is P0002, as in the viewer
    PERFORM vicidial._check_callbacks_filter(campaign, list, from_agent, NULL, NULL, NULL);
    IF to_agent IS NOT NULL THEN
        PERFORM vicidial._active_agent(to_agent);
    END IF;
    -- leads before callbacks, in order, as every writer locks them; the
    -- lock re-reads each lead, and the callbacks are tested after it
    SELECT coalesce(array_agg(l.lead_id), '{}') INTO held
      FROM (SELECT l.lead_id FROM vicidial.vicidial_list l
             WHERE l.lead_id IN (SELECT c.lead_id FROM vicidial.vicidial_callbacks c
                                  WHERE c."user" = from_agent AND c.recipient = 'USERONLY'
                                    AND c.status IN ('ACTIVE', 'LIVE'))
             ORDER BY l.lead_id
               FOR UPDATE) l;
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
DECLARE
    lead vicidial.vicidial_list;
    new_callback_id bigint;
BEGIN
    PERFORM vicidial._require_read_committed('callback_schedule');
    PERFORM vicidial._check_time(callback_time, 'callback_time');
    PERFORM vicidial._not_null(recipient, 'recipient');
    PERFORM vicidial._not_null(lead_status, 'lead_status');
    -- before the values meet their varchar columns
    PERFORM vicidial._check_recipient(recipient);
    PERFORM vicidial._check_comments(comments);
    PERFORM vicidial._check_lead_status(lead_status);
    lead := vicidial._lock_lead(callback_schedule.lead_id);
    PERFORM vicidial._acting_agent(agent);
    -- I10: a call in progress is its agent's to settle.
    IF lead.status = 'INCALL' AND lead."user" IS DISTINCT FROM agent THEN
        RAISE EXCEPTION 'lead % is INCALL with agent "%"', lead.lead_id, lead."user"
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    DELETE FROM vicidial.vicidial_hopper h WHERE h.lead_id = lead.lead_id;
    -- The guard trigger checks recipient, USERONLY rights, the campaign and
    -- the time window of the new row.
    WITH superseded AS (
        UPDATE vicidial.vicidial_callbacks c SET status = 'ARCHIVE', archive_reason = 'SUPERSEDED'
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
        UPDATE vicidial.vicidial_list l SET status = 'CBHOLD', "user" = callback_schedule.agent, modify_date = now()
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
      JOIN vicidial.vicidial_campaigns cp ON cp.campaign_id = c.campaign_id
     CROSS JOIN LATERAL vicidial._dialable_now(h.zone, h.call_times) d
     WHERE c."user" = agent AND c.recipient = 'USERONLY' AND c.status IN ('ACTIVE', 'LIVE')
       AND vicidial._shown_to_agent(c.callback_time, cp)
     ORDER BY c.callback_time, c.callback_id;
END $$;

CREATE OR REPLACE FUNCTION vicidial.agent_callback_count(agent varchar)
RETURNS TABLE (live bigint, open bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._acting_agent(agent);
    RETURN QUERY
    SELECT count(*) FILTER (WHERE c.status = 'LIVE'), count(*)
      FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_campaigns cp ON cp.campaign_id = c.campaign_id
     WHERE c."user" = agent AND c.recipient = 'USERONLY' AND c.status IN ('ACTIVE', 'LIVE')
       AND vicidial._shown_to_agent(c.callback_time, cp);
END $$;

CREATE OR REPLACE FUNCTION vicidial.callback_dial(callback_id bigint, agent varchar)
RETURNS SETOF vicidial.vicidial_list
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET vicidial.change_reason = 'DIAL' AS $$
DECLARE
    callback vicidial.vicidial_callbacks;
    hours vicidial.lead_hours;
    refused record;
BEGIN
    PERFORM vicidial._require_read_committed('callback_dial');
    PERFORM vicidial._acting_agent(agent);
    callback := vicidial._lock_callback(callback_dial.callback_id);
    IF callback.status = 'ARCHIVE' THEN
        RAISE EXCEPTION 'callback % is ARCHIVE and cannot be dialed', callback.callback_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF callback.recipient = 'USERONLY' AND callback."user" IS DISTINCT FROM agent THEN
        RAISE EXCEPTION 'callback % belongs to agent "%", not "%"', callback.callback_id, callback."user", agent
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- The lead is locked: its status is current.
    IF EXISTS (SELECT 1 FROM vicidial.vicidial_list l WHERE l.lead_id = callback.lead_id AND l.status = 'INCALL') THEN
        RAISE EXCEPTION 'lead % of callback % is already INCALL', callback.lead_id, callback.callback_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- §9, with no override: hours (I8), do-not-call (I9), the 24-hour limit.
    hours := vicidial._lead_hours(callback.lead_id);
    IF NOT vicidial._hours_open(hours.zone, hours.call_times, now()) THEN
        RAISE EXCEPTION 'lead % of callback % is outside its calling hours: %', callback.lead_id, callback.callback_id,
            vicidial._hours_detail(hours, now())
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT b.blocker, b.detail, b.until INTO refused
      FROM vicidial.lead_dial_blockers(callback.lead_id) b WHERE b.blocker IN ('DNC', 'LIMIT_24H') LIMIT 1;
    IF FOUND THEN
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
    campaign vicidial.vicidial_campaigns;
    -- A cursor, not a FOR over a query: a cursor is planned for its first
    -- rows (cursor_tuple_fraction), so it reads the hopper index in
    -- hand-out order and stops at the first lead taken; a FOR loop's query
    -- is planned for all its rows, and sorted the campaign's whole hopper
    -- (2 ms for 3,000 rows) at every hand-out.
    candidates CURSOR FOR
        SELECT h.lead_id FROM vicidial.vicidial_hopper h
         WHERE h.campaign_id = hopper_next.campaign_id AND h.status = 'READY'
         ORDER BY h.priority DESC, h.hopper_id;
    picked bigint;
BEGIN
    PERFORM vicidial._require_read_committed('hopper_next');
    PERFORM vicidial._not_null(campaign_id, 'campaign_id');
    campaign := vicidial._campaign(campaign_id);
    PERFORM vicidial._acting_agent(agent);
    -- The campaign's READY rows in hand-out order, tried one by one until a
    -- lead may be dialed: its hopper row and lead are locked, skipping any
    -- another session holds, so concurrent dialers never wait or collide,
    -- and tested as locked (the hopper's guards keep CBHOLD and INCALL
    -- leads out; this is the last word). A lead outside its calling hours,
    -- on a do-not-call list or over the 24-hour limit is passed over and
    -- keeps its row, place and priority (§9). One row at a time, so that
    -- those tests cost what the rows tried cost, not the whole hopper.
    FOR candidate IN candidates LOOP
        SELECT h.lead_id INTO picked
          FROM vicidial.vicidial_hopper h
          JOIN vicidial.vicidial_list l ON l.lead_id = h.lead_id
          JOIN vicidial.lead_hours lh ON lh.lead_id = h.lead_id
         WHERE h.lead_id = candidate.lead_id AND h.campaign_id = hopper_next.campaign_id AND h.status = 'READY'
           AND l.status NOT IN ('CBHOLD', 'INCALL')
           AND vicidial._hours_open(lh.zone, lh.call_times, now())
           AND vicidial._dnc_status(l.phone_number, campaign) IS NULL
           AND (campaign.call_limit_24hour = 0
                OR vicidial._limit_24h_until(l.lead_id, campaign.call_limit_24hour, now()) IS NULL)
           FOR UPDATE OF h, l SKIP LOCKED;
        EXIT WHEN picked IS NOT NULL;
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
    lead := vicidial._lock_lead(lead_disposition.lead_id);
    PERFORM vicidial._acting_agent(agent);
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
    -- I10: only the agent holding the call ends it.
    IF lead."user" IS DISTINCT FROM agent THEN
        RAISE EXCEPTION 'lead % is INCALL with agent "%", not "%"', lead.lead_id, lead."user", agent
            USING ERRCODE = 'insufficient_privilege';
    END IF;

    -- The hangup of a callback call: a retry status brings the callback back
    -- (the campaign's retry policy), else it is archived. The lead is
    -- INCALL, so archiving first leaves it consistent. The dial is closed
    -- with the disposition.
    PERFORM vicidial._close_dials(ARRAY[lead.lead_id], status);
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
        RETURN vicidial.callback_schedule(lead.lead_id, agent, callback_time, recipient, comments);
    END IF;
    UPDATE vicidial.vicidial_list l SET status = lead_disposition.status, "user" = agent, modify_date = now()
     WHERE l.lead_id = lead.lead_id;
    RETURN NULL;
END $$;
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
    new_status varchar;
    lead_held boolean;
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
               called_since_last_reset = CASE WHEN lead_held THEN l.called_since_last_reset ELSE 'N' END,
               modify_date = now()
          FROM changed ch
         WHERE l.lead_id = ch.lead_id
           AND CASE WHEN lead_held THEN l.status NOT IN ('CBHOLD', 'INCALL')
                    ELSE ch.status = 'ARCHIVE' AND l.status = 'CBHOLD' END)
    SELECT * INTO callback FROM changed;
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
    -- Locked in lead order; the lock re-reads each row, so a call that
    -- ended meanwhile is left alone.
    SELECT coalesce(array_agg(l.lead_id), '{}') INTO held
      FROM (SELECT l.lead_id FROM vicidial.vicidial_list l
             WHERE l.status = 'INCALL' AND l."user" = agent
             ORDER BY l.lead_id
               FOR UPDATE) l;
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
    RETURN QUERY EXECUTE format(
        'SELECT c.callback_id, c.lead_id, c.list_id, c.campaign_id, c.status, c.entry_time, c.callback_time,'
        '       c.modify_date, c."user", c.recipient, c.comments, l.status, l.phone_number, l.first_name, l.last_name,'
        '       c.customer_timezone, c.callback_time AT TIME ZONE c.customer_timezone, d.dialable_now, d.next_dialable'
        '  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l ON l.lead_id = c.lead_id'
        '  JOIN vicidial.lead_hours h ON h.lead_id = c.lead_id'
        ' CROSS JOIN LATERAL vicidial._dialable_now(h.zone, h.call_times) d'
        ' WHERE %s ORDER BY c.%I %s, c.callback_id %s LIMIT $7 OFFSET $8',
        vicidial._callbacks_filter(), sort_by, direction, direction)
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
-- idle run, which stops after these, pays no planning for them (1 ms). The
-- worker's next wake is the earliest of the three.
CREATE OR REPLACE FUNCTION vicidial._run_bounds(OUT earliest timestamptz, OUT next_release timestamptz,
                                                OUT next_move timestamptz)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = auto AS $$
BEGIN
    -- Ordered as the due index is, so that no other index can serve it: as
    -- min(callback_time) the planner may walk the plain callback_time
    -- index through every ARCHIVE row in the past to the first ACTIVE one
    -- (70 ms for 100,000 of them, at every idle run).
    earliest := (SELECT c.callback_time FROM vicidial.vicidial_callbacks c WHERE c.status = 'ACTIVE'
                  ORDER BY c.callback_time, c.callback_id LIMIT 1);
    next_release := (SELECT min(r.release_after) FROM vicidial.callback_releases r);
    next_move := vicidial._next_move();
END $$;

CREATE OR REPLACE FUNCTION vicidial.sweep(now timestamptz DEFAULT now())
RETURNS TABLE (went_live integer, useronly integer, hopper_inserted integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- planned for the actual now, not a generic plan; no JIT for a short statement
SET plan_cache_mode = force_custom_plan SET jit = off SET vicidial.change_reason = 'SWEEP' AS $$
DECLARE
    earliest timestamptz;
    next_release timestamptz;
    next_move timestamptz;
    locked_leads bigint[];
    due_ids bigint[];
BEGIN
    PERFORM vicidial._check_time(sweep.now, 'now');
    PERFORM vicidial._require_read_committed('sweep');
    PERFORM vicidial._serialize_hopper_runs();
    -- The due range is [earliest ACTIVE time, now], both constants of each
    -- statement's plan: the planner then estimates the due rows, not every
    -- ACTIVE row older than now (the ARCHIVE rows in the past would have it
    -- expect half of them, and walk them all), and an idle run reads one
    -- index entry.
    SELECT b.earliest, b.next_release, b.next_move INTO earliest, next_release, next_move FROM vicidial._run_bounds() b;
    -- Nothing due, no release due (however many leads wait for their
    -- hours) and no owner's callback to move: the idle run stops here,
    -- before planning the statements below, having read one entry of each
    -- index.
    IF (earliest IS NULL OR earliest > sweep.now) AND (next_release IS NULL OR next_release > sweep.now)
       AND (next_move IS NULL OR next_move >= sweep.now) THEN
        went_live := 0;
        useronly := 0;
        hopper_inserted := 0;
        RETURN NEXT;
        RETURN;
    END IF;
    -- Leads before callbacks, the lock order of every writer: the leads of
    -- due callbacks, of the releases due and of the owners' callbacks due to
    -- move.
    -- A lead another transaction holds is skipped, not waited for: its
    -- callback goes at the next run, every other one on time.
    SELECT coalesce(array_agg(l.lead_id), '{}') INTO locked_leads
      FROM (SELECT l.lead_id FROM vicidial.vicidial_list l
             WHERE l.lead_id IN (SELECT c.lead_id FROM vicidial.vicidial_callbacks c
                                  WHERE c.status = 'ACTIVE' AND c.callback_time BETWEEN earliest AND sweep.now
                                 UNION ALL
                                 SELECT r.lead_id FROM vicidial.callback_releases r WHERE r.release_after <= sweep.now
                                 UNION ALL
                                 SELECT c.lead_id FROM vicidial.vicidial_campaigns cp
                                   JOIN vicidial.vicidial_callbacks c ON c.campaign_id = cp.campaign_id
                                  WHERE next_move < sweep.now AND cp.callback_useronly_move_minutes > 0
                                    AND c.status = 'LIVE' AND c.recipient = 'USERONLY'
                                    AND c.callback_time < sweep.now - make_interval(mins => cp.callback_useronly_move_minutes))
             ORDER BY l.lead_id
               FOR UPDATE SKIP LOCKED) l;

    -- Then test under the lock: only those leads' due callbacks flip, so a
    -- callback committed meanwhile is neither flipped nor locked before its
    -- lead.
    WITH due AS (
        SELECT c.callback_id
          FROM unnest(locked_leads) AS locked(lead_id)
          JOIN vicidial.vicidial_callbacks c ON c.lead_id = locked.lead_id
         WHERE c.status = 'ACTIVE' AND c.callback_time BETWEEN earliest AND sweep.now
           FOR UPDATE OF c SKIP LOCKED),
    flipped AS (
        UPDATE vicidial.vicidial_callbacks c SET status = 'LIVE', modify_date = now()
          FROM due WHERE c.callback_id = due.callback_id
        RETURNING c.callback_id, c.recipient)
    SELECT coalesce(array_agg(f.callback_id ORDER BY f.callback_id), '{}'),
           count(*)::integer, (count(*) FILTER (WHERE f.recipient = 'USERONLY'))::integer
      INTO due_ids, went_live, useronly
      FROM flipped f;

    -- An agent screen LISTENs instead of polling for its USERONLY callbacks.
    PERFORM pg_notify('vicidial_callbacks', row_to_json(n)::text)
       FROM (SELECT 'live' AS event, c.callback_id, c.lead_id, c."user", c.campaign_id
               FROM vicidial.vicidial_callbacks c
              WHERE c.callback_id = ANY (due_ids) AND c.recipient = 'USERONLY'
              ORDER BY c.callback_id) n;

    IF next_move < sweep.now THEN
        PERFORM vicidial._move_overdue(locked_leads, sweep.now);
    END IF;
    hopper_inserted := vicidial._release_anyone(locked_leads, sweep.now);
    RETURN NEXT;
END $$;

-- Each active campaign's room at "at": hopper_level less the READY rows
-- that hopper_next would hand out then (only campaigns with room). Planned
-- once per session, like _run_bounds: an idle fill stops after it, and
-- planning it took 3 ms.
CREATE OR REPLACE FUNCTION vicidial._fill_room(at timestamptz, OUT campaigns varchar[], OUT sizes bigint[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = auto AS $$
BEGIN
    -- A row held (CBHOLD, INCALL), waiting for its lead's hours or over the
    -- 24-hour limit keeps its place but does not count. Hours are decided
    -- once per (zone, call times). (A lead's row leaves the hopper when its
    -- number is listed.)
    WITH queued AS (
        SELECT h.campaign_id, lh.zone, lh.call_times
          FROM vicidial.vicidial_campaigns cp
          JOIN vicidial.vicidial_hopper h ON h.campaign_id = cp.campaign_id AND h.status = 'READY'
          JOIN vicidial.vicidial_list l ON l.lead_id = h.lead_id AND l.status NOT IN ('CBHOLD', 'INCALL')
          JOIN vicidial.lead_hours lh ON lh.lead_id = h.lead_id
         WHERE cp.active AND cp.hopper_level > 0
           AND (cp.call_limit_24hour = 0 OR vicidial._limit_24h_until(l.lead_id, cp.call_limit_24hour, at) IS NULL)),
    -- materialized, so that the hours are asked once per key, not per row
    hours AS MATERIALIZED (
        SELECT DISTINCT q.zone, q.call_times FROM queued q),
    open_hours AS (
        SELECT k.zone, k.call_times FROM hours k WHERE vicidial._hours_open(k.zone, k.call_times, at)),
    takeable AS (
        SELECT q.campaign_id, count(*) AS rows
          FROM queued q JOIN open_hours o ON o.zone = q.zone AND o.call_times = q.call_times
         GROUP BY q.campaign_id)
    SELECT array_agg(cp.campaign_id ORDER BY cp.campaign_id), array_agg(cp.hopper_level - coalesce(t.rows, 0) ORDER BY cp.campaign_id)
      INTO campaigns, sizes
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
    room_campaigns varchar[];
    room_sizes bigint[];
    queued_leads bigint[];
    filled integer;
BEGIN
    PERFORM vicidial._check_time(hopper_fill.now, 'now');
    PERFORM vicidial._require_read_committed('hopper_fill');
    PERFORM vicidial._serialize_hopper_runs();
    SELECT r.campaigns, r.sizes INTO room_campaigns, room_sizes FROM vicidial._fill_room(hopper_fill.now) r;
    -- Every active campaign's hopper full: stop before planning the fill.
    IF room_campaigns IS NULL THEN
        RETURN 0;
    END IF;
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
    INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id, status, priority, source, entry_time)
    SELECT pick.lead_id, cp.campaign_id, pick.list_id, 'READY', 0, 'S', hopper_fill.now
      FROM unnest(room_campaigns, room_sizes) AS free(campaign_id, room)
      JOIN vicidial.vicidial_campaigns cp ON cp.campaign_id = free.campaign_id
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
                            -- _dnc_status's test, as anti-joins the planner runs per candidate
                            AND NOT (cp.use_internal_dnc
                                     AND EXISTS (SELECT 1 FROM vicidial.vicidial_dnc d
                                                  WHERE vicidial._digits(d.phone_number) = vicidial._digits(r.phone_number)))
                            AND NOT (cp.use_campaign_dnc
                                     AND EXISTS (SELECT 1 FROM vicidial.vicidial_campaign_dnc d
                                                  WHERE vicidial._digits(d.phone_number) = vicidial._digits(r.phone_number)
                                                    AND d.campaign_id = cp.campaign_id))
                            AND (cp.call_limit_24hour = 0
                                 OR vicidial._limit_24h_until(r.lead_id, cp.call_limit_24hour, hopper_fill.now) IS NULL)
                          ORDER BY r.lead_id
                          LIMIT free.room) AS candidate
                   WHERE li.campaign_id = cp.campaign_id AND li.active
                   ORDER BY candidate.lead_id
                   LIMIT free.room)
              AND l.status = ANY (cp.dial_statuses) AND l.called_since_last_reset = 'N'
            ORDER BY l.lead_id
              FOR SHARE OF l SKIP LOCKED) AS pick
     ORDER BY cp.campaign_id, pick.lead_id
    ON CONFLICT (lead_id) DO NOTHING;
    GET DIAGNOSTICS filled = ROW_COUNT;
    RETURN filled;
END $$;

-- Calls held INCALL longer than their campaign's incall_timeout_minutes
-- end as agent_release would end them; a lead another transaction holds
-- (its agent hanging up right now) is skipped.
CREATE OR REPLACE FUNCTION vicidial._end_timed_out_calls(at timestamptz) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan SET jit = off AS $$
DECLARE
    stuck bigint[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM vicidial.vicidial_campaigns cp WHERE cp.incall_timeout_minutes > 0) THEN
        RETURN 0;
    END IF;
    SELECT coalesce(array_agg(l.lead_id), '{}') INTO stuck
      FROM (SELECT l.lead_id
              FROM vicidial.vicidial_campaigns cp
              JOIN vicidial.vicidial_lists li ON li.campaign_id = cp.campaign_id
              JOIN vicidial.vicidial_list l ON l.list_id = li.list_id
             WHERE cp.incall_timeout_minutes > 0 AND l.status = 'INCALL'
               AND l.last_local_call_time < at - make_interval(mins => cp.incall_timeout_minutes)
             ORDER BY l.lead_id
               FOR UPDATE OF l SKIP LOCKED) l;
    RETURN vicidial._end_calls(stuck, at);
END $$;

CREATE OR REPLACE FUNCTION vicidial.hopper_run(now timestamptz DEFAULT now())
RETURNS TABLE (went_live integer, useronly integer, hopper_inserted integer, hopper_filled integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._check_time(hopper_run.now, 'now');
    PERFORM vicidial._require_read_committed('hopper_run');
    PERFORM vicidial._serialize_hopper_runs();
    PERFORM vicidial._end_timed_out_calls(hopper_run.now);
    SELECT s.went_live, s.useronly, s.hopper_inserted INTO went_live, useronly, hopper_inserted
      FROM vicidial.sweep(hopper_run.now) s;
    hopper_filled := vicidial.hopper_fill(hopper_run.now);
    RETURN NEXT;
END $$;
-- What the background worker needs in the database: retention of the run
-- history (vicidial.hopper_runs), the wake-up trigger, and a view of the
-- worker's health.

-- Keep the newest keep_runs rows: the history never grows without bound.
CREATE OR REPLACE FUNCTION vicidial._trim_hopper_runs(keep_runs integer) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    DELETE FROM vicidial.hopper_runs r
     WHERE r.run_id <= (SELECT max(k.run_id) FROM vicidial.hopper_runs k) - keep_runs
$$;

-- The worker's three calls are SECURITY DEFINER, so the role it runs as
-- (vicidial_callbacks.role) needs EXECUTE on them and nothing else.

-- One run of the worker: hopper_run at the transaction's time, recorded.
CREATE OR REPLACE FUNCTION vicidial._worker_run(keep_runs integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    INSERT INTO vicidial.hopper_runs (started_at, finished_at, went_live, useronly, hopper_inserted, hopper_filled)
    SELECT started, clock_timestamp(), r.went_live, r.useronly, r.hopper_inserted, r.hopper_filled
      FROM vicidial.hopper_run(now()) r;
    PERFORM vicidial._trim_hopper_runs(keep_runs);
END $$;

CREATE OR REPLACE FUNCTION vicidial._record_failed_run(started timestamptz, error text, keep_runs integer) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO vicidial.hopper_runs (started_at, finished_at, error) VALUES (started, clock_timestamp(), error);
    SELECT vicidial._trim_hopper_runs(keep_runs);
$$;

-- When the worker must wake for the next callback, the next release (a
-- lead whose hours open) or the next move of an owner's callback (due
-- strictly after its instant); NULL when none waits.
CREATE OR REPLACE FUNCTION vicidial._next_due() RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT least(b.earliest, b.next_release, b.next_move + interval '1 millisecond') FROM vicidial._run_bounds() b
$$;

-- Anything that may make a callback due sooner wakes the worker at commit.
CREATE OR REPLACE FUNCTION vicidial._wake_worker() RETURNS trigger
LANGUAGE c SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_wake_worker';
CREATE OR REPLACE TRIGGER callbacks_wake_worker AFTER INSERT OR UPDATE OF callback_time, status, recipient ON vicidial.vicidial_callbacks
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._wake_worker();

CREATE OR REPLACE FUNCTION vicidial.worker_state(OUT workers integer, OUT next_wake timestamptz)
LANGUAGE c STABLE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_worker_state';

CREATE OR REPLACE VIEW vicidial.worker_status AS
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
-- Empty means the tables hold I1-I4, I10 and I11, and every lead waiting
-- for its hours will be released.

CREATE OR REPLACE FUNCTION vicidial.invariant_violations()
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
    -- I3 for CBHOLD, I10 for INCALL: never queued, never a dial status.
    SELECT CASE l.status WHEN 'CBHOLD' THEN 'I3' ELSE 'I10' END, h.lead_id, l.status || ' lead in the hopper'
      FROM vicidial.vicidial_hopper h JOIN vicidial.vicidial_list l ON l.lead_id = h.lead_id
     WHERE l.status IN ('CBHOLD', 'INCALL')
    UNION ALL
    SELECT CASE reserved.status WHEN 'CBHOLD' THEN 'I3' ELSE 'I10' END, NULL,
           'campaign ' || cp.campaign_id || ' dials ' || reserved.status
      FROM vicidial.vicidial_campaigns cp, unnest(ARRAY['CBHOLD', 'INCALL']) AS reserved(status)
     WHERE reserved.status = ANY (cp.dial_statuses)
    UNION ALL
    SELECT 'I11', l.lead_id, l.status || coalesce(' with ' || l."user", '') || ' under USERONLY callback '
                             || c.callback_id || ' of ' || c."user"
      FROM vicidial.vicidial_list l JOIN vicidial.vicidial_callbacks c ON c.lead_id = l.lead_id
     WHERE c.status IN ('ACTIVE', 'LIVE') AND c.recipient = 'USERONLY'
       AND l.status <> 'CBHOLD' AND NOT (l.status = 'INCALL' AND l."user" IS NOT DISTINCT FROM c."user")
    UNION ALL
    -- I8's release: a lead held beside a LIVE ANYONE callback is released
    -- by a run, which must know of it.
    SELECT 'I8', l.lead_id, 'CBHOLD under LIVE ANYONE callback ' || c.callback_id || ' and never to be released'
      FROM vicidial.vicidial_list l JOIN vicidial.vicidial_callbacks c ON c.lead_id = l.lead_id
     WHERE c.status = 'LIVE' AND c.recipient = 'ANYONE' AND l.status = 'CBHOLD'
       AND NOT EXISTS (SELECT 1 FROM vicidial.callback_releases r WHERE r.lead_id = l.lead_id)
    ORDER BY 1, 2
$$;
-- Nothing is open to PUBLIC: the DBA grants an agent role and an admin
-- role the functions they need (README, "Roles"). The API functions are
-- SECURITY DEFINER, so neither role needs rights on the tables.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA vicidial FROM PUBLIC;

-- An upgrade that re-created functions (their arguments or results changed)
-- saved the grants made on the old ones: they are made again here.
DO $$
DECLARE
    saved record;
BEGIN
    IF to_regclass('vicidial.upgrade_saved_grants') IS NOT NULL THEN
        FOR saved IN EXECUTE 'SELECT signature, grantee, is_grantable FROM vicidial.upgrade_saved_grants' LOOP
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I%s', saved.signature, saved.grantee,
                           CASE WHEN saved.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
        DROP TABLE vicidial.upgrade_saved_grants;
    END IF;
END $$;
