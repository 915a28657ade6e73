\set ECHO none
-- Where every regression file starts: a database of its own, made afresh,
-- with the extension, the test helpers and a few agents, so that each
-- file runs alone and in any order (the test command also runs them in
-- reverse). Not echoed: the files' outputs show only what they test.
\c postgres
SET client_min_messages = warning;
DROP DATABASE IF EXISTS vicidial_regress WITH (FORCE);
CREATE DATABASE vicidial_regress;
\c vicidial_regress
SET client_min_messages = warning;
CREATE EXTENSION vicidial_callbacks;
CREATE SCHEMA regress;

-- A digest of every row of every table of the extension but the runs'
-- own records (hopper_runs, and the fill's memory of its last count and of
-- the changes since, hopper_room_*): equal before and after means nothing
-- changed.
CREATE FUNCTION regress.state() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    tables regclass;
    part text;
    digest text := '';
BEGIN
    FOR tables IN
        SELECT c.oid::regclass FROM pg_class c
         WHERE c.relnamespace = 'vicidial'::regnamespace AND c.relkind = 'r'
           AND c.oid NOT IN ('vicidial.hopper_runs'::regclass, 'vicidial.hopper_room_count'::regclass,
                             'vicidial.hopper_room_changes'::regclass)
         ORDER BY c.relname
    LOOP
        EXECUTE format('SELECT md5(coalesce(string_agg(t::text, %L ORDER BY t::text), %L)) FROM %s t', ',', '', tables)
           INTO part;
        digest := digest || tables::text || ':' || part || '|';
    END LOOP;
    RETURN md5(digest);
END $$;

-- Run one statement with every deferred check made immediate. Returns "ok",
-- or the SQLSTATE and message (timestamps masked, in any DateStyle). That a
-- failed call changes nothing is PostgreSQL's to guarantee (the statement's
-- subtransaction is rolled back whatever it wrote), so it is not checked
-- here, where it could not fail; what a function could get wrong is to
-- catch its own error and carry on, which shows as "ok" where a refusal is
-- expected.
CREATE FUNCTION regress.attempt(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    SET CONSTRAINTS ALL IMMEDIATE;
    BEGIN
        EXECUTE statement;
    EXCEPTION WHEN OTHERS THEN
        RETURN SQLSTATE || ': '
            || regexp_replace(SQLERRM, '(\w{3} \w{3} \d\d |\d{4}-\d\d-\d\d )\d\d:\d\d:\d\d[^ ]*( \d{4})?( [A-Z]{2,5})?', '<time>', 'g');
    END;
    RETURN 'ok';
END $$;

-- How often the extension's functions ran in this transaction since
-- regress.mark_calls(): a session counts them until it next reports them,
-- which it does only between transactions, so a count is read against a
-- mark taken in the same transaction. Needs track_functions = 'all'.
CREATE TABLE regress.calls_marked (funcname name PRIMARY KEY, calls bigint NOT NULL);
CREATE FUNCTION regress.mark_calls() RETURNS void LANGUAGE sql AS $$
    DELETE FROM regress.calls_marked;
    INSERT INTO regress.calls_marked
    SELECT f.funcname, sum(f.calls) FROM pg_stat_xact_user_functions f WHERE f.schemaname = 'vicidial' GROUP BY f.funcname;
$$;
CREATE FUNCTION regress.calls_since_mark(function_name name) RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce((SELECT sum(f.calls) FROM pg_stat_xact_user_functions f
                      WHERE f.schemaname = 'vicidial' AND f.funcname = function_name), 0)
         - coalesce((SELECT m.calls FROM regress.calls_marked m WHERE m.funcname = function_name), 0)
$$;

-- An agents' role for the files that act as one: the schemas and the
-- agent functions (sql/roles.sql shows that they suffice, and no more).
CREATE FUNCTION regress.grant_agent(role_name name) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA vicidial, regress TO %I', role_name);
    EXECUTE format('GRANT EXECUTE ON FUNCTION
        vicidial.callback_schedule(bigint, varchar, timestamptz, text, text, varchar),
        vicidial.callback_slots(date, varchar, bigint),
        vicidial.agent_callbacks(varchar), vicidial.agent_callback_count(varchar),
        vicidial.callback_dial(bigint, varchar), vicidial.hopper_next(varchar, varchar),
        vicidial.lead_disposition(bigint, varchar, varchar, timestamptz, text, text),
        vicidial.lead_dialable(bigint, timestamptz), vicidial.lead_next_dialable(bigint, timestamptz),
        vicidial.lead_local_time(bigint, timestamp), vicidial.lead_dial_blockers(bigint, timestamptz)
      TO %I', role_name);
END $$;

-- A small call center: each file adds its own campaigns and leads beside it.
INSERT INTO vicidial.vicidial_users ("user", full_name, agentonly_callbacks, active) VALUES
    ('agent1', 'Ann Agent', true, true),
    ('agent2', 'Bob Agent', false, true),
    ('agent3', 'Cat Agent', true, true),
    ('retired', 'Old Agent', true, false);
RESET client_min_messages;
\set ECHO all
