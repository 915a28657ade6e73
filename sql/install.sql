-- What CREATE EXTENSION installs (test/regress_fixture.sql creates it, as
-- every file's first line does).
\i test/regress_fixture.sql
\dx vicidial_callbacks
-- pg_dump keeps every table's rows and every sequence's position.
SELECT unnest(extconfig)::regclass AS dumped_with_data FROM pg_extension
 WHERE extname = 'vicidial_callbacks';
-- Nothing is open to PUBLIC.
SELECT p.proname FROM pg_proc p
 WHERE p.pronamespace = 'vicidial'::regnamespace AND has_function_privilege('public', p.oid, 'EXECUTE');
-- Every function pins its search_path, but _digits, _limit_24h and
-- _dial_blockers, which name the schema of everything they use so that
-- the planner can inline them; _changed_only, C that looks nothing up
-- by name, called for every row a sweep flips; _hours_window and
-- _hours_open, C whose one query names the schema of everything, asked
-- for every lead a hand-out tries; and _bound_agent, _acting_agent and
-- _lock_acting_agent, C likewise, one of which every agent call asks
-- first (a SET clause would cost each call a save and a restore of the
-- setting); _close_logged_dials, C whose updates name the schema of
-- everything, run by every disposition; and _is_status_text, C that looks
-- nothing up, asked by the leads' row guard on every hand-out and hang-up.
SELECT p.proname FROM pg_proc p
 WHERE p.pronamespace = 'vicidial'::regnamespace
   AND NOT coalesce(p.proconfig, '{}') @> ARRAY['search_path=pg_catalog, pg_temp']
   AND p.oid NOT IN ('vicidial._digits(text)'::regprocedure, 'vicidial._limit_24h(bigint, integer, timestamptz)'::regprocedure,
                     'vicidial._dial_blockers(bigint[], timestamptz, text[])'::regprocedure,
                     'vicidial._changed_only(record, record, text[])'::regprocedure,
                     'vicidial._hours_window(varchar[], date)'::regprocedure,
                     'vicidial._hours_open(text, varchar[], timestamptz)'::regprocedure,
                     'vicidial._bound_agent(varchar, boolean)'::regprocedure,
                     'vicidial._acting_agent(varchar)'::regprocedure,
                     'vicidial._lock_acting_agent(varchar)'::regprocedure,
                     'vicidial._close_logged_dials(oid[], bigint[], timestamptz[], text)'::regprocedure,
                     'vicidial._is_status_text(text)'::regprocedure);
