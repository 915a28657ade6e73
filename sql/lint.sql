-- Static analysis of every PL/pgSQL function of the extension with
-- plpgsql_check: no error, and no warning (performance and extra warnings
-- included) but the two explained below. Trigger functions are checked
-- against the table they serve, with its transition tables.
--
-- Explained, and left: callbacks_report and callbacks_summary fill their
-- result columns with RETURN QUERY EXECUTE (the sort column is chosen at
-- run time), which a static checker cannot follow, so their "OUT variable
-- is maybe unmodified" warnings are filtered out here; and both name a
-- result column "user", a reserved word, as the public API does
-- (doc/vicidial_callbacks_admin.md).
-- log_partitions_add creates tables with EXECUTE, which the checker cannot
-- see either, and _lock_leads and _lock_hopper_campaigns lock rows in ARRAY()
-- subqueries, which it does not count as writes, so their "should be
-- STABLE" is filtered out.
\i test/regress_fixture.sql
CREATE EXTENSION plpgsql_check;
WITH checked AS (
    SELECT p.oid::regprocedure AS function, coalesce(t.tgrelid, 0) AS relid, t.tgoldtable, t.tgnewtable
      FROM pg_proc p
      JOIN pg_language lang ON lang.oid = p.prolang AND lang.lanname = 'plpgsql'
      -- the trigger with the most transition tables, so that every branch is checked
      LEFT JOIN LATERAL (SELECT tg.tgrelid, tg.tgoldtable, tg.tgnewtable FROM pg_trigger tg WHERE tg.tgfoid = p.oid
                          ORDER BY tg.tgoldtable IS NULL, tg.tgnewtable IS NULL LIMIT 1) t ON true
     WHERE p.pronamespace = 'vicidial'::regnamespace)
SELECT c.function, r.lineno, r.level, r.message
  FROM checked c
 CROSS JOIN LATERAL plpgsql_check_function_tb(c.function, c.relid,
                                               performance_warnings => true, extra_warnings => true,
                                               oldtable => c.tgoldtable, newtable => c.tgnewtable) r
 WHERE NOT (c.function IN ('vicidial.callbacks_report(varchar, bigint, varchar, text, timestamptz, timestamptz, text, boolean, integer, integer)'::regprocedure,
                           'vicidial.callbacks_summary(varchar, bigint, varchar, text, timestamptz, timestamptz)'::regprocedure)
             AND r.message LIKE 'OUT variable "%" is maybe unmodified')
   AND NOT (c.function IN ('vicidial.log_partitions_add(timestamptz)'::regprocedure,
                           'vicidial._lock_leads(bigint[], boolean)'::regprocedure,
                           'vicidial._lock_hopper_campaigns(varchar[])'::regprocedure)
            AND r.message = 'routine is marked as VOLATILE, should be STABLE')
 ORDER BY 1, 2;
DROP EXTENSION plpgsql_check;
-- Every public object says what it is in psql (\df+, \dt+, \dv+): each
-- function not starting with "_", and each table and view of the
-- extension, has a comment (sql/install/95_comments.sql). The logs' month
-- partitions, which log_partitions_add creates later, are not the
-- extension's. Expected: no rows.
SELECT o.kind, o.name
  FROM (SELECT 'function' AS kind, p.oid::regprocedure::text AS name, obj_description(p.oid, 'pg_proc') AS description
          FROM pg_proc p
         WHERE p.pronamespace = 'vicidial'::regnamespace AND p.proname NOT LIKE '\_%'
        UNION ALL
        SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END, c.oid::regclass::text, obj_description(c.oid, 'pg_class')
          FROM pg_class c
          JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
                          AND d.refclassid = 'pg_extension'::regclass
         WHERE c.relnamespace = 'vicidial'::regnamespace AND c.relkind IN ('r', 'p', 'v')) o
 WHERE coalesce(o.description, '') = ''
 ORDER BY 1, 2;
-- A trigger function that reads both its update's old and new rows never
-- joins them by a nested loop (enable_nestloop = off): the transition
-- tables have no index, and a plan the session cached after a few one-row
-- updates would compare every row of a bulk update with every other.
-- Explained, and left: _hopper_guard and _agents_deactivated read the two
-- with EXCEPT and INTERSECT, set operations that hash or sort, and the
-- setting, which holds for everything a function runs, would make them
-- scan every lead instead of probing the ones they touch. Expected: the
-- functions that read both, each with the setting.
SELECT DISTINCT t.tgfoid::regproc::text AS reads_old_and_new_rows,
       coalesce(p.proconfig, '{}') @> ARRAY['enable_nestloop=off'] AS never_by_nested_loop
  FROM pg_trigger t
  JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE t.tgrelid IN (SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'vicidial'::regnamespace)
   AND t.tgoldtable IS NOT NULL AND t.tgnewtable IS NOT NULL
   AND p.prosrc ~* ('\m' || t.tgoldtable || '\M') AND p.prosrc ~* ('\m' || t.tgnewtable || '\M')
   AND p.oid NOT IN ('vicidial._hopper_guard()'::regprocedure, 'vicidial._agents_deactivated()'::regprocedure)
 ORDER BY 1;
