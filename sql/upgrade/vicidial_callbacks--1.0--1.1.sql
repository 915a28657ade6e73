-- 1.0 -> 1.1, the schema changes. The build appends every replayable file
-- of sql/install (functions, triggers, views, privileges) after this one,
-- so what follows here is only what CREATE OR REPLACE cannot do: new and
-- changed columns, constraints, indexes and tables, and data the new rules
-- need. The upgrade test proves the result equals a fresh 1.1 install.

\echo Use "ALTER EXTENSION vicidial_callbacks UPDATE TO '1.1'" to load this file. \quit
