-- The tables and columns 1.2 adds, created once: by CREATE EXTENSION
-- after 1.1's tables, and by the 1.1 -> 1.2 upgrade script after its own
-- changes.

\echo Use "CREATE EXTENSION vicidial_callbacks" or "ALTER EXTENSION vicidial_callbacks UPDATE" to load this file. \quit

-- The calls an agent holds: agent_calls, and the one-call-per-agent test
-- of every claim, read without touching the other INCALL leads.
CREATE INDEX vicidial_list_agent_calls ON vicidial.vicidial_list ("user") WHERE status = 'INCALL';
-- I10: a call is held by an agent, its user. A lead INCALL with no user
-- could be ended by no agent (lead_disposition, agent_release); the
-- upgrade ends such calls first.
ALTER TABLE vicidial.vicidial_list
    ADD CONSTRAINT vicidial_list_incall_held CHECK (status <> 'INCALL' OR "user" IS NOT NULL);

-- A queued lead that hopper_next found outside its calling hours (or over
-- its 24-hour limit) waits as WAIT until dialable_after, out of the READY
-- index that every hand-out walks; a run makes it READY again, in the
-- same place and at the same priority.
ALTER TABLE vicidial.vicidial_hopper ADD COLUMN dialable_after timestamptz;
CREATE INDEX vicidial_hopper_waiting ON vicidial.vicidial_hopper (dialable_after) WHERE status = 'WAIT';

-- A run that could not take a lock in time leaves that part to a later
-- run and says so here (worker_state reports the latest).
ALTER TABLE vicidial.hopper_runs ADD COLUMN cut_short text;
CREATE INDEX hopper_runs_cut_short ON vicidial.hopper_runs (run_id) WHERE cut_short IS NOT NULL;

-- The callbacks a retry is moving in this transaction (lead_disposition;
-- empty between transactions): the one writer whose new callback_time is
-- no new base for the next retry. Written by the extension only, so that
-- whether a change counts as a retry is data no session can forge, not a
-- label it can set.
CREATE TABLE vicidial.retrying_callbacks (callback_id bigint PRIMARY KEY);

-- The version of the calling hours: every change of them (call times,
-- holidays, state rules, a campaign's or a list's hours or zone) counts it
-- up, in the changing transaction. What is decided on the hours (a
-- release deferred until they open, a queued lead set aside) is stamped
-- with the version it was decided on, and a run decides again whatever an
-- older version decided. Nothing waits on it but another change: a change
-- left open holds only this row. (No row yet: version 0.)
CREATE TABLE vicidial.hours_version (
    singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT one_row CHECK (singleton),
    version   bigint NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('vicidial.hours_version', '');
ALTER TABLE vicidial.callback_releases ADD COLUMN hours_version bigint NOT NULL DEFAULT 0;
-- Only a deferred entry is decided again on a change of hours: one queued
-- at -infinity is due at the next run anyway, and is not indexed, so that
-- queuing the releases of a burst writes one index less.
CREATE INDEX callback_releases_hours_version ON vicidial.callback_releases (hours_version)
    WHERE release_after > '-infinity';
ALTER TABLE vicidial.vicidial_hopper ADD COLUMN hours_version bigint;
CREATE INDEX vicidial_hopper_waiting_hours_version ON vicidial.vicidial_hopper (hours_version) WHERE status = 'WAIT';

-- The queued lead's hours key (lead_rules: its zone and call times) as the
-- fill read it, and the hours version it read it on: the count of the
-- hoppers' room groups rows by it without reading their leads. A key is
-- trusted only while the hours are still at that version, the lead's
-- zone, state and list are unchanged (the change clears it) and the row's
-- lead and key are as inserted (37_hopper_room.sql); a row without one
-- (queued by a release, or by hand) has its lead read.
ALTER TABLE vicidial.vicidial_hopper ADD COLUMN hours_zone text, ADD COLUMN hours_call_times varchar[],
    ADD COLUMN hours_keyed_on bigint;

-- What the fill remembers of its last count of the hoppers' room
-- (37_hopper_room.sql): that every active campaign's hopper was full at
-- counted_at and stays full by the clock alone until full_until (no row:
-- count), and the marks of every change since that could make room. Both
-- are dumped like every table (one snapshot, so the record and its marks
-- agree); a restore passes the marking triggers.
CREATE TABLE vicidial.hopper_room_count (
    singleton     boolean PRIMARY KEY DEFAULT true CONSTRAINT one_row CHECK (singleton),
    counted_at    timestamptz NOT NULL,
    full_until    timestamptz NOT NULL,
    hours_version bigint NOT NULL
);
CREATE TABLE vicidial.hopper_room_changes (
    changed_at timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('vicidial.hopper_room_count', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.hopper_room_changes', '');

-- A row for the hopper as the release and the fill pick it, queued by
-- _queue_in_hopper (31_dial_guards.sql).
CREATE TYPE vicidial.hopper_entry AS (
    lead_id          bigint,
    campaign_id      varchar(8),
    list_id          bigint,
    priority         integer,
    source           character(1),
    entry_time       timestamptz,
    hours_zone       text,
    hours_call_times varchar[],
    hours_keyed_on   bigint
);

-- A listing of do-not-call numbers and a change of a lead's number wait for
-- each other on these rows, one per key of the numbers' digits
-- (_lock_dnc_numbers, 17_dial_limits.sql). A table, not advisory locks:
-- only the extension's owner may lock its rows, where any role could take
-- an advisory key and stall every listing. Fixed rows, made by the
-- install; not dumped.
CREATE TABLE vicidial.dnc_number_keys (
    key smallint PRIMARY KEY
);
INSERT INTO vicidial.dnc_number_keys (key) SELECT k FROM generate_series(0, 255) k;
