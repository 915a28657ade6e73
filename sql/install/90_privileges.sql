-- Nothing is open to PUBLIC: the DBA grants an agent role and an admin
-- role the functions they need (README, "Roles"). The API functions are
-- SECURITY DEFINER, so neither role needs rights on the tables.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA vicidial FROM PUBLIC;
