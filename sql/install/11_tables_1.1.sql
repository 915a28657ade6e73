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

-- Calling hours. A window is the half-open local interval
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

-- Do-not-call and the dial log.

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

-- Callback policies. Every one is enforced in the database.
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
