-- Nothing is open to PUBLIC: the DBA grants an agent role and an admin
-- role the functions they need (README, "Roles"). The API functions are
-- SECURITY DEFINER, so neither role needs rights on the tables.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA vicidial FROM PUBLIC;

-- An upgrade that re-created functions (their arguments or results changed)
-- saved the grants made on the old ones: they are made again here.
DO $$
DECLARE
    saved record;
BEGIN
    IF to_regclass('vicidial.upgrade_saved_grants') IS NOT NULL THEN
        FOR saved IN EXECUTE 'SELECT signature, grantee, is_grantable FROM vicidial.upgrade_saved_grants' LOOP
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I%s', saved.signature, saved.grantee,
                           CASE WHEN saved.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
        DROP TABLE vicidial.upgrade_saved_grants;
    END IF;
END $$;
