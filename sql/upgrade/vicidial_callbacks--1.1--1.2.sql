-- 1.1 -> 1.2, the changes to what 1.1 created. The build appends 1.2's
-- tables file (when there is one) and then every replayable file of
-- sql/install (functions, triggers, views, privileges), so what follows
-- here is only what neither can do. The upgrade test proves the result
-- equals a fresh install.

\echo Use "ALTER EXTENSION vicidial_callbacks UPDATE TO '1.2'" to load this file. \quit
