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

-- Once per statement, so that the leads of every agent it deactivates are
-- locked together in lead_id order (row by row, one agent's after
-- another's, they were not). The candidates are found in this statement's
-- snapshot, which under REPEATABLE READ or SERIALIZABLE is the
-- transaction's and would miss a callback scheduled since: a deactivation
-- is refused there, as the functions are.
CREATE OR REPLACE FUNCTION vicidial._agents_deactivated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan
SET vicidial.change_reason = 'DEACTIVATED' AS $$
DECLARE
    leaving varchar[];
    held bigint[];
BEGIN
    -- The agents active before it and inactive after, by a set operation:
    -- a join of the two tables, which have no index, could be planned as a
    -- nested loop. (An agent renamed by the statement is named by no
    -- callback, or the rename was refused: it is not leaving.)
    leaving := ARRAY(SELECT n."user" FROM agents_after n WHERE NOT n.active
                     INTERSECT
                     SELECT o."user" FROM agents_before o WHERE o.active);
    IF leaving = '{}' THEN
        RETURN NULL;
    END IF;
    PERFORM vicidial._refuse_unless_read_committed(
        'agents can be deactivated only in a READ COMMITTED transaction',
        'a callback scheduled after this transaction''s snapshot would not be handed to anyone');
    held := vicidial._lock_leads(ARRAY(
        SELECT c.lead_id FROM vicidial.vicidial_callbacks c
         WHERE c."user" = ANY (leaving) AND c.recipient = 'USERONLY' AND c.status IN ('ACTIVE', 'LIVE')));
    UPDATE vicidial.vicidial_callbacks c SET recipient = 'ANYONE'
      FROM unnest(held) AS locked(lead_id)
     WHERE c.lead_id = locked.lead_id AND c."user" = ANY (leaving) AND c.recipient = 'USERONLY'
       AND c.status IN ('ACTIVE', 'LIVE');
    PERFORM vicidial._release_anyone(held, now());
    RETURN NULL;
END $$;

-- Transition tables cannot go with a column list (UPDATE OF active): every
-- update of agents, an admin's write, runs it once.
CREATE OR REPLACE TRIGGER agents_deactivated AFTER UPDATE ON vicidial.vicidial_users
    REFERENCING OLD TABLE AS agents_before NEW TABLE AS agents_after
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._agents_deactivated();
