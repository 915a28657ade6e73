-- What happens to a lead when its callback changes, goes LIVE or is
-- dialed, shared by the agent, admin and server functions and direct DML
-- so that each move is written once.
--
-- A rule for every writer here: a lead and its callbacks change in one
-- statement whenever a half-done change would break I2, so that a session
-- that made the I2 checks IMMEDIATE still gets through every function.

-- What a callback's transition does to its lead and the hopper, for every
-- writer (the functions and direct DML alike): writers change the callback
-- only, saying which transition (status, recipient) and why
-- (archive_reason); the lead follows here, at the end of their statement.
--   - Archived: a lead left in CBHOLD without an open callback takes the
--     callback's lead_status, dialable again (called_since_last_reset 'N').
--   - New (ACTIVE), or back to ACTIVE or LIVE for its owner only from LIVE
--     for anyone: the lead is held in CBHOLD and leaves the hopper.
--   - LIVE for anyone: the lead waits in the release queue for the next
--     run (33_release_queue.sql), unless the writer releases it itself
--     (_release_anyone, below), as every function of the API does.
-- A lead on a call (INCALL) is left to its hangup, and a lead the same
-- statement already moved on (a new callback, a do-not-call status) is
-- not held back: only a lead still in the state the change left behind
-- moves.
-- The statement's rows are sorted in C (src/callback_changes.c), which
-- calls this only for a statement that inserted callbacks or changed the
-- status or recipient of one: inserted callbacks (their leads, held here
-- unless already), archived callbacks (their leads released here if still
-- held), leads whose callback left LIVE ANYONE for another open state
-- (held again), and leads whose callback became LIVE ANYONE.
CREATE OR REPLACE FUNCTION vicidial._apply_callback_effects(inserted bigint[], archived bigint[], held bigint[],
                                                            live_for_anyone bigint[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
-- Planned once: each statement walks its array through primary and unique
-- keys, a nested loop whatever the array's length, which is the plan a
-- custom planning would pick too, at a planning per call (every hangup of
-- a callback call asks about its archived callback). What runs inside
-- (the leads' triggers, the foreign-key checks, _queue_releases) probes
-- by key as well, and is planned once too.
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    -- A new callback (ACTIVE) holds its lead. The API's scheduling has
    -- held it in the same statement: nothing is left to do.
    IF inserted IS NOT NULL THEN
        held := ARRAY(SELECT DISTINCT l.lead_id FROM unnest(inserted) AS n(lead_id)
                        JOIN vicidial.vicidial_list l ON l.lead_id = n.lead_id
                       WHERE l.status NOT IN ('CBHOLD', 'INCALL') ORDER BY l.lead_id);
    END IF;
    -- Only a lead still held moves; a callback call's hangup (its lead
    -- INCALL) runs no update.
    IF archived IS NOT NULL THEN
        archived := ARRAY(SELECT c.callback_id FROM unnest(archived) AS closed(callback_id)
                            JOIN vicidial.vicidial_callbacks c ON c.callback_id = closed.callback_id
                            JOIN vicidial.vicidial_list l ON l.lead_id = c.lead_id AND l.status = 'CBHOLD');
    END IF;
    IF archived <> '{}' THEN
        UPDATE vicidial.vicidial_list l
           SET status = c.lead_status, called_since_last_reset = 'N', modify_date = now()
          FROM unnest(archived) AS closed(callback_id)
          JOIN vicidial.vicidial_callbacks c ON c.callback_id = closed.callback_id
         WHERE l.lead_id = c.lead_id AND l.status = 'CBHOLD'
           AND NOT EXISTS (SELECT 1 FROM vicidial.vicidial_callbacks o
                            WHERE o.lead_id = l.lead_id AND o.status IN ('ACTIVE', 'LIVE'));
    END IF;
    IF held <> '{}' THEN
        -- out of the hopper first: the leads' guard refuses a queued lead in CBHOLD
        DELETE FROM vicidial.vicidial_hopper h
         USING unnest(held) AS k(lead_id), vicidial.vicidial_list l
         WHERE h.lead_id = k.lead_id AND l.lead_id = k.lead_id AND l.status NOT IN ('CBHOLD', 'INCALL');
        UPDATE vicidial.vicidial_list l SET status = 'CBHOLD', modify_date = now()
          FROM unnest(held) AS k(lead_id)
         WHERE l.lead_id = k.lead_id AND l.status NOT IN ('CBHOLD', 'INCALL');
    END IF;
    IF live_for_anyone IS NOT NULL THEN
        PERFORM vicidial._queue_releases(live_for_anyone);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION vicidial._callback_effects() RETURNS trigger
LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_callback_effects';

-- Named to fire before the statement's consistency check is queued
-- (callbacks_checked_update): triggers of one event fire in name order,
-- and a session that made the checks IMMEDIATE must see the lead moved.
CREATE OR REPLACE TRIGGER callbacks_apply_effects AFTER UPDATE ON vicidial.vicidial_callbacks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._callback_effects();
-- A restore loads leads and callbacks as they were dumped.
CREATE OR REPLACE TRIGGER callbacks_apply_effects_insert AFTER INSERT ON vicidial.vicidial_callbacks
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT vicidial._restoring_dump()) EXECUTE FUNCTION vicidial._callback_effects();

-- How the rest of the calling function's statements are planned, for the
-- number of leads they act on. A few (an early wake's one or two
-- callbacks): on the plans the session made once, since planning them for
-- their values costs more than running them on a generic plan, whose
-- index probe per lead is right for a few. More: planned for their values
-- (force_custom_plan), as a burst needs. The setting lasts until the
-- caller returns: the caller's own SET plan_cache_mode clause ends it (a
-- function's SET clause scopes only the settings it names).
CREATE OR REPLACE FUNCTION vicidial._plan_for_leads(leads integer) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT set_config('plan_cache_mode',
                      CASE WHEN leads <= 50 THEN 'force_generic_plan' ELSE 'force_custom_plan' END, true)
$$;

-- Of these leads (locked by the caller), those waiting in CBHOLD beside a
-- LIVE ANYONE callback that nothing else holds back at "at" (the hand-out
-- predicate, _dial_blockers) are released: the lead takes the callback's
-- lead_status, is dialable again, and joins the hopper of the callback's
-- campaign at priority 50 when that campaign and the lead's list are
-- active. The others wait in callback_releases until their hours open and
-- they are under the limit; the given leads' other entries there, as it
-- read them, are done with. Returns how many hopper rows were added.
CREATE OR REPLACE FUNCTION vicidial._release_anyone(lead_ids bigint[], at timestamptz) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
-- many leads: planned for the arrays given, which each statement reads as
-- a relation (unnest), sized by the planner and joined to the leads and
-- callbacks by their keys, except where it reads the release queue
-- (below); a few: see _plan_for_leads
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    -- read before anything is decided on the hours
    decided_on bigint := vicidial._hours_version();
    waiting bigint[];
    waiting_campaigns varchar[];
    free_campaigns varchar[];
    blocked bigint[];
    entries_read bigint[];
    entries_read_as text[];
    done_leads bigint[];
    done_as text[];
    open_leads bigint[];
    held_back bigint[];
    held_back_until timestamptz[];
    lockable bigint[];
    queued vicidial.hopper_entry[];
BEGIN
    PERFORM vicidial._plan_for_leads(cardinality(lead_ids));
    -- The leads waiting in CBHOLD beside a LIVE ANYONE callback, and what
    -- holds each back (besides that hold) by the hand-out predicate: a lead
    -- outside its hours or over its 24-hour limit waits until the later of
    -- the two (a day, when its hours never open within 366 days). The
    -- waiting leads are an array of their own, not a subquery of the
    -- predicate's statement: PostgreSQL inlines the predicate only when
    -- its arguments hold no subquery.
    -- The leads' entries in the release queue are read with them, in the
    -- same snapshot, each with the version read, named by the lead and its
    -- xmin, one text value ('lead/xmin') so that one "= ANY" tests both
    -- (the lead's own "= ANY" lets the queue's key find them): the
    -- release deletes an entry only as it read it.
    -- A writer that makes a callback LIVE ANYONE queues its lead without
    -- locking the lead; an entry it wrote or wrote again since was not
    -- part of this decision, and stays for the next run to decide. This
    -- transaction writes no entry of those it deletes between the read and
    -- the delete (its deferrals are of other leads), so an entry with the
    -- xmin read is the version read.
    -- Their campaigns are read with them (see below).
    SELECT coalesce(w.leads, '{}'), w.campaigns, e.leads, e.versions
      INTO waiting, waiting_campaigns, entries_read, entries_read_as
      FROM (SELECT array_agg(given.lead_id) AS leads, array_agg(DISTINCT c.campaign_id) AS campaigns
              FROM unnest(lead_ids) AS given(lead_id)
              JOIN vicidial.vicidial_callbacks c
                ON c.lead_id = given.lead_id AND c.status = 'LIVE' AND c.recipient = 'ANYONE'
              JOIN vicidial.vicidial_list l ON l.lead_id = given.lead_id AND l.status = 'CBHOLD') w,
           (SELECT array_agg(r.lead_id) AS leads, array_agg(r.lead_id || '/' || r.xmin) AS versions
              FROM vicidial.callback_releases r
             WHERE r.lead_id = ANY (lead_ids)) e;
    WITH waits AS MATERIALIZED (
        SELECT w.lead_id, b.until IS NULL AS open, b.until
          FROM unnest(waiting) AS w(lead_id)
          LEFT JOIN (SELECT d.lead_id, max(coalesce(d.until, at + interval '1 day')) AS until
                       FROM vicidial._dial_blockers(waiting, at, ARRAY['HOURS', 'LIMIT_24H', 'DNC']) d
                      GROUP BY d.lead_id) b ON b.lead_id = w.lead_id)
    SELECT o.leads, b.leads, b.untils, d.leads, d.versions
      INTO open_leads, held_back, held_back_until, done_leads, done_as
      FROM (SELECT array_agg(w.lead_id) AS leads FROM waits w WHERE w.open) o,
           (SELECT array_agg(w.lead_id ORDER BY w.lead_id) AS leads, array_agg(w.until ORDER BY w.lead_id) AS untils
              FROM waits w WHERE NOT w.open) b,
           (SELECT array_agg(read.lead_id) AS leads, array_agg(read.version) AS versions
              FROM unnest(entries_read, entries_read_as) AS read(lead_id, version)
             WHERE NOT EXISTS (SELECT 1 FROM waits w WHERE w.lead_id = read.lead_id AND NOT w.open)) d;

    -- A lead whose campaign another transaction holds FOR UPDATE, deletes
    -- or gives a new key waits for a later run, its entry kept, as a lead
    -- another transaction holds does: queued, its hopper row's foreign key
    -- would wait for that transaction and cut the whole sweep short, every
    -- campaign's releases with it. The others are locked as that key
    -- locks them (_lock_hopper_campaigns), so the insert waits for nothing.
    IF open_leads IS NOT NULL THEN
        free_campaigns := vicidial._lock_hopper_campaigns(waiting_campaigns);
        IF cardinality(free_campaigns) < cardinality(waiting_campaigns) THEN
            blocked := ARRAY(
                SELECT o.lead_id
                  FROM unnest(open_leads) AS o(lead_id)
                  JOIN vicidial.vicidial_callbacks c
                    ON c.lead_id = o.lead_id AND c.status = 'LIVE' AND c.recipient = 'ANYONE'
                 WHERE c.campaign_id <> ALL (free_campaigns));
            open_leads := ARRAY(SELECT o.lead_id FROM unnest(open_leads) AS o(lead_id) WHERE o.lead_id <> ALL (blocked));
            SELECT array_agg(d.lead_id), array_agg(d.version) INTO done_leads, done_as
              FROM unnest(done_leads, done_as) AS d(lead_id, version)
             WHERE d.lead_id <> ALL (blocked);
        END IF;
    END IF;

    -- The leads that wait are deferred: each one's entry rewritten. Each
    -- has one, read above: the change that made its callback LIVE ANYONE,
    -- or held it again beside one, queued it (a lead without one breaks
    -- I11, and invariant_violations names it). An entry that cannot be
    -- locked at once is not waited for: another transaction holds it, and
    -- it stays as that transaction leaves it, for a later run to decide
    -- (waiting would cut every run short for as long as it stays open).
    -- A waiting lead's entry is rewritten between the read and this lock
    -- only by a change that commits with the lead, which this run holds
    -- (its callback leaving LIVE ANYONE has the lead checked, and locked,
    -- at commit): the entry locked is the one read, unless the
    -- extension's owner wrote the queue by hand.
    lockable := ARRAY(SELECT q.lead_id
                        FROM vicidial.callback_releases q
                       WHERE q.lead_id = ANY (held_back)
                         FOR UPDATE SKIP LOCKED);
    -- An upsert that always finds its row: it reaches each entry by the
    -- queue's key, where an update joined to the arrays would be planned
    -- on the queue's statistics (below).
    INSERT INTO vicidial.callback_releases AS r (lead_id, release_after, hours_version)
    SELECT s.lead_id, s.until, decided_on
      FROM unnest(held_back, held_back_until) AS s(lead_id, until)
     WHERE s.lead_id = ANY (lockable)
     ORDER BY s.lead_id
    ON CONFLICT (lead_id) DO UPDATE SET release_after = excluded.release_after, hours_version = excluded.hours_version;

    -- The entries done with (read, and not deferred) go, each only as read
    -- and only if it can be locked at once: one a writer holds (its
    -- transaction still open) is left to the next run, not waited for;
    -- one written and committed since is locked as written, and its xmin
    -- is not the one read.
    -- The queue is read here, and above, by "= ANY" of the arrays alone,
    -- never joined to them: it can be empty when it is analyzed (it
    -- empties after each burst), and a join planned on those statistics,
    -- with the queue as one row, rescanned one side once per row of the
    -- other. A custom plan hashes the versions' array or walks the
    -- queue's key; a generic one (a few leads) searches a few.
    done_leads := ARRAY(SELECT q.lead_id
                          FROM vicidial.callback_releases q
                         WHERE q.lead_id = ANY (done_leads) AND (q.lead_id || '/' || q.xmin) = ANY (done_as)
                           FOR UPDATE SKIP LOCKED);
    DELETE FROM vicidial.callback_releases r WHERE r.lead_id = ANY (done_leads);

    -- The hopper entries come from the update's own rows: searching the
    -- leads and their LIVE callbacks again read every LIVE callback in a
    -- burst. The update still releases the leads of inactive lists and
    -- campaigns, which are not queued.
    WITH released AS (
        UPDATE vicidial.vicidial_list l
           SET status = c.lead_status, called_since_last_reset = 'N', modify_date = now()
          FROM unnest(open_leads) AS opened(lead_id)
          JOIN vicidial.vicidial_callbacks c ON c.lead_id = opened.lead_id AND c.recipient = 'ANYONE' AND c.status = 'LIVE'
         WHERE l.lead_id = opened.lead_id AND l.status = 'CBHOLD'
        RETURNING l.lead_id, l.list_id, c.campaign_id, c.callback_id)
    -- in callback_id order, the sweep's order in the contract: hopper_next
    -- takes rows of equal priority in the order they were queued
    SELECT array_agg(ROW(r.lead_id, r.campaign_id, r.list_id, 50, 'C', at, NULL, NULL, NULL)::vicidial.hopper_entry
                     ORDER BY r.callback_id)
      INTO queued
      FROM released r
      JOIN vicidial.vicidial_lists li ON li.list_id = r.list_id AND li.active
      JOIN vicidial.vicidial_campaigns cp ON cp.campaign_id = r.campaign_id AND cp.active;

    -- A separate statement, so that the hopper's guard sees the released leads.
    RETURN vicidial._queue_in_hopper(coalesce(queued, '{}'));
END $$;

-- An agent takes the lead: out of the hopper, INCALL, counted as called;
-- the dial is logged and, for a callback call, counted as an attempt of
-- the lead's open callback.
CREATE OR REPLACE FUNCTION vicidial._dial_lead(lead_id bigint, agent varchar) RETURNS SETOF vicidial.vicidial_list
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    callback_call bigint;
BEGIN
    DELETE FROM vicidial.vicidial_hopper h WHERE h.lead_id = _dial_lead.lead_id;
    SELECT c.callback_id INTO callback_call FROM vicidial.vicidial_callbacks c
     WHERE c.lead_id = _dial_lead.lead_id AND c.status IN ('ACTIVE', 'LIVE');
    -- only a callback call touches the callbacks (and their statement triggers)
    IF callback_call IS NOT NULL THEN
        UPDATE vicidial.vicidial_callbacks c SET attempts = c.attempts + 1, modify_date = now()
         WHERE c.callback_id = callback_call;
    END IF;
    INSERT INTO vicidial.vicidial_log (lead_id, list_id, campaign_id, callback_id, "user", phone_number, call_date)
    SELECT l.lead_id, l.list_id, li.campaign_id, callback_call, _dial_lead.agent, l.phone_number, now()
      FROM vicidial.vicidial_list l JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id
     WHERE l.lead_id = _dial_lead.lead_id;
    RETURN QUERY
    UPDATE vicidial.vicidial_list l
       SET status = 'INCALL', "user" = _dial_lead.agent, called_count = l.called_count + 1,
           called_since_last_reset = 'Y', last_local_call_time = now(), modify_date = now()
     WHERE l.lead_id = _dial_lead.lead_id
    RETURNING l.*;
END $$;

-- Calls that will never be dispositioned (the agent's client died): these
-- INCALL leads end as a hangup with 'ERI' would, except that a callback
-- call leaves its callback open as it was before the dial: ACTIVE again if
-- it is not due yet, else LIVE, its lead back in CBHOLD for its owner or,
-- for ANYONE, released to the hopper again. The caller has locked the
-- leads and tested them again as locked for its own reasons (the agent,
-- the call's age); a lead no longer INCALL (its agent hung up first) is
-- left alone here whatever the caller passed. Returns how many calls
-- ended.
CREATE OR REPLACE FUNCTION vicidial._end_calls(lead_ids bigint[], at timestamptz) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan
SET vicidial.change_reason = 'CALL_ENDED' AS $$
DECLARE
    ended integer;
    dialed_since timestamptz;
BEGIN
    SELECT array_agg(l.lead_id ORDER BY l.lead_id), min(l.last_local_call_time) INTO lead_ids, dialed_since
      FROM vicidial.vicidial_list l WHERE l.lead_id = ANY (lead_ids) AND l.status = 'INCALL';
    IF lead_ids IS NULL THEN
        RETURN 0;
    END IF;
    -- Callback and lead in one statement (I2 holds at every step).
    WITH reopened AS (
        UPDATE vicidial.vicidial_callbacks c
           SET status = CASE WHEN c.callback_time > greatest(at, now()) THEN 'ACTIVE' ELSE 'LIVE' END
         WHERE c.lead_id = ANY (lead_ids) AND c.status IN ('ACTIVE', 'LIVE')
        RETURNING c.lead_id),
    held_again AS (
        UPDATE vicidial.vicidial_list l SET status = 'CBHOLD', modify_date = now()
          FROM reopened r
         WHERE l.lead_id = r.lead_id AND l.status = 'INCALL'
        RETURNING l.lead_id),
    hung_up AS (
        UPDATE vicidial.vicidial_list l SET status = 'ERI', modify_date = now()
         WHERE l.lead_id = ANY (lead_ids) AND l.status = 'INCALL'
           AND l.lead_id NOT IN (SELECT r.lead_id FROM reopened r)
        RETURNING l.lead_id)
    SELECT ((SELECT count(*) FROM held_again) + (SELECT count(*) FROM hung_up))::integer INTO ended;
    PERFORM vicidial._close_dials(lead_ids, 'ERI', dialed_since);
    PERFORM vicidial._release_anyone(lead_ids, at);
    -- A callback left LIVE changed no column the worker's wake reads, but
    -- its lead is off the call: its owner's move or its release, left to
    -- the hangup while the call lasted, is the worker's again.
    IF ended > 0 THEN
        PERFORM vicidial._wake_worker_after_commit();
    END IF;
    RETURN ended;
END $$;
