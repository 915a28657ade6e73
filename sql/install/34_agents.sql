-- Agents who leave: never deleted while callbacks name them; deactivated,
-- their USERONLY callbacks go to anyone.

-- Agents: an agent named by any callback cannot be deleted, open ones
-- (they would lose their owner) or archived ones (kept forever, with the
-- name of who had them); deactivating an agent hands their open USERONLY
-- callbacks to anyone (user kept) in the same transaction, the LIVE ones'
-- leads released to the hopper as the sweep releases them (calling hours
-- apply).
CREATE OR REPLACE FUNCTION vicidial._agent_keeps_callbacks() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    named record;
BEGIN
    SELECT count(*) FILTER (WHERE c.status IN ('ACTIVE', 'LIVE')) AS open, count(*) FILTER (WHERE c.status = 'ARCHIVE') AS archived
      INTO named
      FROM vicidial.vicidial_callbacks c WHERE c."user" = OLD."user";
    IF named.open > 0 THEN
        RAISE EXCEPTION 'agent "%" owns % open callbacks and cannot be deleted', OLD."user", named.open
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'deactivate the agent (active = false) instead, or move the callbacks first';
    END IF;
    IF named.archived > 0 THEN
        RAISE EXCEPTION 'agent "%" is named by % archived callbacks, which are kept forever, and cannot be deleted',
            OLD."user", named.archived
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'deactivate the agent (active = false) instead';
    END IF;
    RETURN OLD;
END $$;

CREATE OR REPLACE TRIGGER agents_keep_callbacks BEFORE DELETE ON vicidial.vicidial_users
    FOR EACH ROW EXECUTE FUNCTION vicidial._agent_keeps_callbacks();

CREATE OR REPLACE FUNCTION vicidial._agent_deactivated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan
SET vicidial.change_reason = 'DEACTIVATED' AS $$
DECLARE
    held bigint[];
BEGIN
    held := vicidial._lock_leads(ARRAY(
        SELECT c.lead_id FROM vicidial.vicidial_callbacks c
         WHERE c."user" = NEW."user" AND c.recipient = 'USERONLY' AND c.status IN ('ACTIVE', 'LIVE')));
    UPDATE vicidial.vicidial_callbacks c SET recipient = 'ANYONE'
      FROM unnest(held) AS locked(lead_id)
     WHERE c.lead_id = locked.lead_id AND c."user" = NEW."user" AND c.recipient = 'USERONLY'
       AND c.status IN ('ACTIVE', 'LIVE');
    PERFORM vicidial._release_anyone(held, now());
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER agents_deactivated AFTER UPDATE OF active ON vicidial.vicidial_users
    FOR EACH ROW WHEN (OLD.active AND NOT NEW.active)
    EXECUTE FUNCTION vicidial._agent_deactivated();
