-- When the fill may skip counting the hoppers' room, and what the count
-- reads instead of the queued leads.
--
-- The count (_fill_room, 70_server.sql) groups every queued row by its
-- lead's hours key. A row the fill queued carries that key
-- (vicidial_hopper.hours_zone and hours_call_times, read from lead_rules)
-- and the hours version it was read on (hours_keyed_on): the count reads
-- the key from the row and never the lead, while the hours are at that
-- version; a change of the lead's zone, state or list clears it
-- (_recheck_lead_release, 33_release_queue.sql), a key inserted is kept
-- only if it is the lead's (_check_inserted_hours_keys below), and an
-- update of a row's lead or key leaves it untrusted. Any other row (a
-- release's, one written by hand) has its lead read. A change made with
-- triggers off (a data-only restore, session_replication_role = replica)
-- leaves keys as they were: after changing leads' zones, states or lists,
-- or the hours, that way, distrust them all (UPDATE
-- vicidial.vicidial_hopper SET hours_keyed_on = NULL).
--
-- Even so a count reads every queued row, so a run with full
-- hoppers and nothing to do would cost what the hoppers hold. When a
-- count finds every active campaign's hopper full, the fill records until
-- when the clock alone keeps it so: the first instant at which hours whose
-- rows count close (rows of hours that open, or of a lead whose 24-hour
-- limit lapses, only fill a hopper further), and at most 15 minutes. Until
-- then a run skips the count, unless a change that can make room was
-- marked since. What can make room, each marked by a statement trigger
-- below that inserts a row into hopper_room_changes (an insert, so that
-- writers never wait on each other or on a run for it):
--   - a hopper row removed or changed (a hand-out, a row set aside to
--     WAIT, a truncation, any DML; a row added only takes room);
--   - a campaign added, changed or removed (its level, activity, limit);
--   - a lead's zone, state or list changed (its hours key);
--   - a dial logged (a queued lead's 24-hour limit);
--   - a change of calling hours, which counts the hours' version up
--     (33_release_queue.sql) and is compared, not marked.
-- A count first deletes the marks it can see, then counts in a newer
-- snapshot: what a deleted mark marked is counted, and a change that
-- commits later leaves its mark for the next run. A statement of the
-- campaigns, leads or log marks whatever rows it changed (that costs a
-- count, never a missed change); one of the hopper that changed no row
-- (the hopper is written by statements that often match none) marks
-- nothing. A change no trigger sees (a bulk load or a data-only restore
-- with triggers off, rows a restore adds to a database already in use, a
-- dial written straight into a log partition, whose statement triggers
-- the parent's do not reach) is counted when the 15 minutes are up, with
-- the keys as they stand (above).

-- A key is kept only while it is its lead's. Rows inserted with one (the
-- fill's, or rows copied or written by hand) are checked once the
-- statement is done, in a snapshot of their own, their leads held by the
-- hopper's guard (hopper_guard, which fires first, by name): a key that is
-- not the lead's now (one the fill read before a change committed under
-- its lock, or a wrong one) or that claims a version still to come is not
-- trusted. An update never makes a key trusted: one that changes a row's
-- lead or key leaves it untrusted. A restore loads the rows as dumped,
-- with the version they were keyed on.
CREATE OR REPLACE FUNCTION vicidial._check_inserted_hours_keys() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    wrong bigint[];
BEGIN
    SELECT array_agg(n.hopper_id) INTO wrong
      FROM new_rows n
     WHERE n.hours_keyed_on IS NOT NULL
       AND (n.hours_keyed_on > vicidial._hours_version()
            OR NOT EXISTS (SELECT 1 FROM vicidial.lead_rules r
                            WHERE r.lead_id = n.lead_id
                              AND (r.zone, r.call_times) IS NOT DISTINCT FROM (n.hours_zone, n.hours_call_times)));
    -- asked first: an update fires the hopper's statement triggers even when it changes no row
    IF wrong IS NOT NULL THEN
        UPDATE vicidial.vicidial_hopper h SET hours_keyed_on = NULL WHERE h.hopper_id = ANY (wrong);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION vicidial._untrust_hours_key() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.hours_keyed_on := NULL;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER hopper_hours_keys_inserted AFTER INSERT ON vicidial.vicidial_hopper
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT vicidial._restoring_dump()) EXECUTE FUNCTION vicidial._check_inserted_hours_keys();
CREATE OR REPLACE TRIGGER hopper_hours_key BEFORE UPDATE OF lead_id, hours_zone, hours_call_times, hours_keyed_on
    ON vicidial.vicidial_hopper
    FOR EACH ROW
    WHEN (NEW.hours_keyed_on IS NOT NULL
          AND (NEW.lead_id, NEW.hours_zone, NEW.hours_call_times, NEW.hours_keyed_on)
              IS DISTINCT FROM (OLD.lead_id, OLD.hours_zone, OLD.hours_call_times, OLD.hours_keyed_on))
    EXECUTE FUNCTION vicidial._untrust_hours_key();

CREATE OR REPLACE FUNCTION vicidial._mark_room_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO vicidial.hopper_room_changes DEFAULT VALUES;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION vicidial._mark_hopper_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_rows) THEN
        INSERT INTO vicidial.hopper_room_changes DEFAULT VALUES;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER hopper_room_updated AFTER UPDATE ON vicidial.vicidial_hopper
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._mark_hopper_change();
CREATE OR REPLACE TRIGGER hopper_room_removed AFTER DELETE ON vicidial.vicidial_hopper
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._mark_hopper_change();
CREATE OR REPLACE TRIGGER hopper_room_truncated AFTER TRUNCATE ON vicidial.vicidial_hopper
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._mark_room_change();
-- A restore loads the marks as dumped.
CREATE OR REPLACE TRIGGER campaigns_room_changed AFTER INSERT OR UPDATE OR DELETE ON vicidial.vicidial_campaigns
    FOR EACH STATEMENT WHEN (NOT vicidial._restoring_dump()) EXECUTE FUNCTION vicidial._mark_room_change();
CREATE OR REPLACE TRIGGER leads_room_changed AFTER UPDATE OF time_zone, state, list_id ON vicidial.vicidial_list
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._mark_room_change();
CREATE OR REPLACE TRIGGER dials_room_changed AFTER INSERT ON vicidial.vicidial_log
    FOR EACH STATEMENT WHEN (NOT vicidial._restoring_dump()) EXECUTE FUNCTION vicidial._mark_room_change();

-- True when the last count found every hopper full, "at" is still inside
-- what it vouched for (from counted_at, before full_until), the hours are
-- those it counted with, and no change is marked since: the fill stops.
-- Otherwise the marks are cleared for the count that follows, and false.
CREATE OR REPLACE FUNCTION vicidial._hoppers_known_full(at timestamptz, hours_now bigint) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM vicidial.hopper_room_count r
                WHERE r.counted_at <= at AND at < r.full_until AND r.hours_version = hours_now)
       AND NOT EXISTS (SELECT 1 FROM vicidial.hopper_room_changes) THEN
        RETURN true;
    END IF;
    DELETE FROM vicidial.hopper_room_changes;
    RETURN false;
END $$;

-- The outcome of a count: every hopper full until full_until, or 15
-- minutes at most (NULL: room was found, and nothing is vouched for).
CREATE OR REPLACE FUNCTION vicidial._record_room_count(at timestamptz, full_until timestamptz, hours_now bigint)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF full_until IS NULL THEN
        DELETE FROM vicidial.hopper_room_count;
        RETURN;
    END IF;
    INSERT INTO vicidial.hopper_room_count AS r (counted_at, full_until, hours_version)
    VALUES (at, least(full_until, at + interval '15 minutes'), hours_now)
    ON CONFLICT (singleton) DO UPDATE
       SET counted_at = excluded.counted_at, full_until = excluded.full_until, hours_version = excluded.hours_version;
END $$;
