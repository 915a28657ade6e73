-- Tables: VICIdial's names, keys and defaults, the constraints that need no
-- trigger, and the indexes the sweep, the fill and the dialer read through.
-- The install script is built by concatenating sql/install/*.sql in order.
-- This file and the tables file of each later version run once; the other
-- files are replayable, and each upgrade script carries the schema changes
-- that bring a database here.

\echo Use "CREATE EXTENSION vicidial_callbacks" to load this file. \quit

-- CREATE EXTENSION creates the schema named in the control file, or takes
-- one that exists (a restore creates it first). Taken, it must be empty
-- and owned by a superuser: the owner of a schema may drop what is in it,
-- and anything already there would sit beside the extension unchecked.
DO $$
DECLARE
    owner name := (SELECT n.nspowner::regrole::name FROM pg_catalog.pg_namespace n WHERE n.nspname = 'vicidial');
BEGIN
    IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = owner) THEN
        RAISE EXCEPTION 'schema "vicidial" already exists and belongs to "%", who is not a superuser', owner
            USING ERRCODE = 'duplicate_schema',
                  HINT = 'drop that schema, or give it to a superuser';
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.relnamespace = 'vicidial'::regnamespace)
       OR EXISTS (SELECT FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'vicidial'::regnamespace)
       OR EXISTS (SELECT FROM pg_catalog.pg_type t WHERE t.typnamespace = 'vicidial'::regnamespace) THEN
        RAISE EXCEPTION 'schema "vicidial" already exists and is not empty'
            USING ERRCODE = 'duplicate_schema',
                  HINT = 'the extension installs into an empty schema of its own';
    END IF;
END $$;

CREATE TABLE vicidial.vicidial_users (
    "user"              varchar(20) PRIMARY KEY,
    full_name           varchar(50),
    active              boolean NOT NULL DEFAULT true,
    agentonly_callbacks boolean NOT NULL DEFAULT false,
    -- 1.1: when set, only members of this database role may act as the agent
    db_role             text
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
    CONSTRAINT callback_days_limit_range CHECK (callback_days_limit BETWEEN 1 AND 365),
    -- I10: a lead someone is calling must never be dialed by the fill.
    CONSTRAINT dial_statuses_without_incall CHECK ('INCALL' <> ALL (dial_statuses)),
    -- 1.1: hopper_run ends calls held INCALL longer than this (0: never)
    incall_timeout_minutes integer NOT NULL DEFAULT 0
        CONSTRAINT incall_timeout_minutes_range CHECK (incall_timeout_minutes BETWEEN 0 AND 1440)
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
-- The standard fill's index is built with the lead's zone, in the tables of 1.1.
-- Calls in progress, oldest first: agent_release and the INCALL timeout.
CREATE INDEX vicidial_list_incall ON vicidial.vicidial_list (last_local_call_time)
    WHERE status = 'INCALL';

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
    -- No ON UPDATE CASCADE: renaming a list, campaign or agent would have to
    -- change ARCHIVE rows, which are final, so a rename they name is refused.
    list_id       bigint NOT NULL REFERENCES vicidial.vicidial_lists,
    campaign_id   varchar(8) NOT NULL REFERENCES vicidial.vicidial_campaigns,
    status        varchar(10) NOT NULL DEFAULT 'ACTIVE',
    entry_time    timestamptz NOT NULL DEFAULT now(),
    callback_time timestamptz NOT NULL,
    modify_date   timestamptz NOT NULL DEFAULT now(),
    "user"        varchar(20) REFERENCES vicidial.vicidial_users,
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
-- The sweep reads only what is due, and the worker the earliest of it.
CREATE INDEX vicidial_callbacks_due ON vicidial.vicidial_callbacks (callback_time, callback_id)
    WHERE status = 'ACTIVE';
-- An agent's list and button read only open USERONLY rows.
CREATE INDEX vicidial_callbacks_agent_open ON vicidial.vicidial_callbacks ("user", callback_time)
    WHERE status IN ('ACTIVE', 'LIVE') AND recipient = 'USERONLY';

-- The background worker's run history, kept to vicidial_callbacks.history_rows.
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

-- Leads whose consistency with their callbacks (I2, I11) is checked at
-- commit, one row per statement that touched them; each row is deleted by
-- its own check. Empty between transactions; never dumped.
CREATE TABLE vicidial.lead_checks (
    check_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_ids bigint[] NOT NULL
);

-- hopper_run serializes on this table, which no role but the extension's
-- owner may lock: a public advisory lock key would let any role stall runs.
CREATE TABLE vicidial.hopper_run_lock ();

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
SELECT pg_catalog.pg_extension_config_dump('vicidial.hopper_runs', '');
SELECT pg_catalog.pg_extension_config_dump('vicidial.hopper_runs_run_id_seq', '');
