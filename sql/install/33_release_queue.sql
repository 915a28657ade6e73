-- The release queue, vicidial.callback_releases: the leads waiting in
-- CBHOLD beside a LIVE ANYONE callback, each to be released by the first
-- run at or after its release_after ('-infinity': as soon as a run comes).
-- What each writer may do to it, and nothing else writes it:
--   - a callback becoming LIVE ANYONE by any writer, and a lead held again
--     in CBHOLD beside one, queue it at -infinity (the transitions'
--     effects in 40_leads.sql, and the leads' guard in 31_dial_guards.sql);
--   - the release (_release_anyone, 40_leads.sql) defers the leads it
--     was given that wait, to when the hand-out predicate lets them go
--     (their hours open, the 24-hour limit lapses), and deletes the other
--     entries of those leads as it read them: an entry written since
--     stays for the next run, and one it read that another transaction
--     holds is neither deferred nor deleted but stays for a later run,
--     not waited for;
--   - a change of hours counts the hours' version up, and a run decides
--     again every entry deferred on an older version; a change of a
--     lead's zone, state or list resets that lead's entry (below);
--   - a restore loads it as dumped.
-- A run reads only its earliest entry when none is due, however many wait.

-- These leads, each beside a LIVE ANYONE callback, wait for the next run,
-- at once ('-infinity'), whatever they waited for before.
CREATE OR REPLACE FUNCTION vicidial._queue_releases(lead_ids bigint[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO vicidial.callback_releases (lead_id, release_after)
    SELECT given.lead_id, '-infinity' FROM unnest(lead_ids) AS given(lead_id) ORDER BY given.lead_id
    ON CONFLICT (lead_id) DO UPDATE SET release_after = excluded.release_after;
END $$;

-- The hours' version (see 12_tables_1.2.sql): read by whatever decides on
-- the hours, before it decides, so that a change committed meanwhile makes
-- the decision look old.
CREATE OR REPLACE FUNCTION vicidial._hours_version() RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN coalesce((SELECT v.version FROM vicidial.hours_version v), 0);
END $$;

-- A change of hours counts the version up. It takes no lock a run or a
-- hand-out needs: the run after its commit decides again every waiting
-- release and every queued lead set aside on an older version, and one
-- before it stamps what it decides with the version it read. A restore
-- loads the version as dumped.
CREATE OR REPLACE FUNCTION vicidial._hours_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO vicidial.hours_version AS v (singleton, version) VALUES (true, 1)
    ON CONFLICT (singleton) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END $$;

-- A change that changes nothing counts nothing.
DROP TRIGGER IF EXISTS call_times_recheck ON vicidial.vicidial_call_times;
CREATE TRIGGER call_times_recheck AFTER INSERT OR UPDATE OR DELETE ON vicidial.vicidial_call_times
    FOR EACH ROW WHEN (NOT vicidial._restoring_dump()) EXECUTE FUNCTION vicidial._hours_changed();
DROP TRIGGER IF EXISTS holidays_recheck ON vicidial.vicidial_call_time_holidays;
CREATE TRIGGER holidays_recheck AFTER INSERT OR UPDATE OR DELETE ON vicidial.vicidial_call_time_holidays
    FOR EACH ROW WHEN (NOT vicidial._restoring_dump()) EXECUTE FUNCTION vicidial._hours_changed();
DROP TRIGGER IF EXISTS state_call_times_recheck ON vicidial.vicidial_state_call_times;
CREATE TRIGGER state_call_times_recheck AFTER INSERT OR UPDATE OR DELETE ON vicidial.vicidial_state_call_times
    FOR EACH ROW WHEN (NOT vicidial._restoring_dump()) EXECUTE FUNCTION vicidial._hours_changed();
-- A truncation changes the hours as its rows' deletions would.
CREATE OR REPLACE TRIGGER call_times_truncated AFTER TRUNCATE ON vicidial.vicidial_call_times
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._hours_changed();
CREATE OR REPLACE TRIGGER holidays_truncated AFTER TRUNCATE ON vicidial.vicidial_call_time_holidays
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._hours_changed();
CREATE OR REPLACE TRIGGER state_call_times_truncated AFTER TRUNCATE ON vicidial.vicidial_state_call_times
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._hours_changed();
DROP TRIGGER IF EXISTS campaigns_hours_recheck ON vicidial.vicidial_campaigns;
CREATE TRIGGER campaigns_hours_recheck AFTER UPDATE OF local_call_time, time_zone ON vicidial.vicidial_campaigns
    FOR EACH ROW WHEN ((NEW.local_call_time, NEW.time_zone) IS DISTINCT FROM (OLD.local_call_time, OLD.time_zone))
    EXECUTE FUNCTION vicidial._hours_changed();
-- A list or campaign added or removed (one removed and another added
-- under its id, in one statement, passes the foreign keys) is a change of
-- hours too.
CREATE OR REPLACE TRIGGER campaigns_added_or_removed AFTER INSERT OR DELETE ON vicidial.vicidial_campaigns
    FOR EACH ROW WHEN (NOT vicidial._restoring_dump()) EXECUTE FUNCTION vicidial._hours_changed();
CREATE OR REPLACE TRIGGER lists_added_or_removed AFTER INSERT OR DELETE ON vicidial.vicidial_lists
    FOR EACH ROW WHEN (NOT vicidial._restoring_dump()) EXECUTE FUNCTION vicidial._hours_changed();
DROP TRIGGER IF EXISTS lists_hours_recheck ON vicidial.vicidial_lists;
CREATE TRIGGER lists_hours_recheck AFTER UPDATE OF local_call_time, time_zone, campaign_id ON vicidial.vicidial_lists
    FOR EACH ROW
    WHEN ((NEW.local_call_time, NEW.time_zone, NEW.campaign_id) IS DISTINCT FROM (OLD.local_call_time, OLD.time_zone, OLD.campaign_id))
    EXECUTE FUNCTION vicidial._hours_changed();

-- A lead whose zone, state or list changed: its deferred release is
-- decided again at the next run, a row of it set aside is READY again, and
-- the hours key its queued row carries is no longer trusted
-- (37_hopper_room.sql). Those rows are found in this statement's snapshot,
-- which under REPEATABLE READ or SERIALIZABLE is the transaction's and may
-- miss a row a run queued since: such a change is refused there, as the
-- functions' changes are.
CREATE OR REPLACE FUNCTION vicidial._recheck_lead_release() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._refuse_unless_read_committed(
        format('the zone, state or list of lead %s can be changed only in a READ COMMITTED transaction', NEW.lead_id),
        'a hopper row queued after this transaction''s snapshot would not be seen');
    UPDATE vicidial.callback_releases r SET release_after = '-infinity'
     WHERE r.lead_id = NEW.lead_id AND r.release_after > '-infinity';
    UPDATE vicidial.vicidial_hopper h
       SET status = CASE WHEN h.status = 'WAIT' THEN 'READY' ELSE h.status END,
           dialable_after = CASE WHEN h.status = 'WAIT' THEN NULL ELSE h.dialable_after END,
           hours_keyed_on = NULL
     WHERE h.lead_id = NEW.lead_id AND (h.status = 'WAIT' OR h.hours_keyed_on IS NOT NULL);
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER leads_hours_recheck AFTER UPDATE OF time_zone, state, list_id ON vicidial.vicidial_list
    FOR EACH ROW
    WHEN ((NEW.time_zone, NEW.state, NEW.list_id) IS DISTINCT FROM (OLD.time_zone, OLD.state, OLD.list_id))
    EXECUTE FUNCTION vicidial._recheck_lead_release();
