-- Nothing of the API is open to PUBLIC: the DBA grants an agent role and
-- an admin role the functions they need (README, "Roles"). The API
-- functions are SECURITY DEFINER, so neither role needs rights on the
-- tables.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA vicidial FROM PUBLIC;

-- Except what a writer's own statement evaluates as that writer: _digits
-- sits in index expressions and a trigger's WHEN clause (an admin adding
-- a lead, an agent adding a do-not-call number), _restoring_dump in the
-- WHEN clauses of the triggers a restore passes, and _changed_only and
-- _is_status_text in those of the row guards. None reads or changes
-- anything.
GRANT EXECUTE ON FUNCTION vicidial._digits(text), vicidial._restoring_dump(),
    vicidial._changed_only(record, record, text[]), vicidial._is_status_text(text) TO PUBLIC;

-- An upgrade that re-created functions or views (their arguments or
-- results changed) saved the grants made on the old ones: they are made
-- again here.
DO $$
DECLARE
    saved record;
BEGIN
    IF to_regclass('vicidial.upgrade_saved_grants') IS NOT NULL THEN
        FOR saved IN EXECUTE 'SELECT object, privilege, grantee, is_grantable FROM vicidial.upgrade_saved_grants' LOOP
            EXECUTE format('GRANT %s ON %s TO %I%s', saved.privilege, saved.object, saved.grantee,
                           CASE WHEN saved.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
        DROP TABLE vicidial.upgrade_saved_grants;
    END IF;
END $$;
