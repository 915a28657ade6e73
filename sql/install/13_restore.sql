-- What a restore may do that no other writer may: load rows in the
-- states they were dumped in (LIVE and ARCHIVE callbacks, the logs, the
-- releases waiting for their hours), without the checks and side effects
-- of an ordinary write.
--
-- A restore is a superuser loading a dump: pg_dump's script and
-- pg_restore both set row_security = off, which an everyday session does
-- not. The test is asked only in the WHEN clause of the triggers that a
-- restore passes, where the current user is the role doing the write
-- (src/vicidial_callbacks.c): code owned by another role that runs during
-- a restore (a materialized view being refreshed, say) runs as that role
-- and meets every rule. Never asked inside a SECURITY DEFINER function,
-- which runs as the extension's owner.
CREATE OR REPLACE FUNCTION vicidial._restoring_dump() RETURNS boolean
LANGUAGE c STABLE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_restoring_dump';
