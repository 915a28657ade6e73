-- Do-not-call lists, the dial log and the 24-hour limit, and the one
-- predicate that says whether a lead may be handed to an agent now (with
-- the calling hours of 15_hours.sql).

-- The do-not-call status each lead's number earns in its campaign (its
-- list's): DNCL, DNCC or NULL, as lead_rules (14_lead_rules.sql) decides
-- it. Every reader asks it here or through lead_rules (the hand-out
-- predicate below, the fill, the marking of listed leads, the guard of a
-- new callback); a view, so that the planner runs it as part of the
-- reader's own query.
CREATE OR REPLACE VIEW vicidial.lead_dnc AS
SELECT r.lead_id, r.dnc_status FROM vicidial.lead_rules r;

-- A campaign's 24-hour limit for a lead: no row while the lead has fewer
-- than call_limit dials (in any campaign) in (at - 24 h, at] (or there is
-- no limit, 0), else one row, the instant it is under the limit again,
-- when the dial that keeps it at the limit turns 24 hours old. SQL that
-- names the schema of every operator, with no SET clause, so that the
-- planner inlines it into the reader's query (one index range per lead,
-- no function call): the release and the fill read it for many leads.
-- The start of the 24 hours is computed in UTC, where subtracting them is
-- IMMUTABLE (on a timestamptz it is only STABLE): so a plan made for a
-- known "at" (the fill's) finds the months they span while it is planned,
-- and neither locks nor opens the others.
CREATE OR REPLACE FUNCTION vicidial._limit_24h(lead_id bigint, call_limit integer, at timestamptz)
RETURNS TABLE (until timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT d.call_date OPERATOR(pg_catalog.+) interval '24 hours'
      FROM vicidial.vicidial_log d
     WHERE call_limit OPERATOR(pg_catalog.>) 0
       AND d.lead_id OPERATOR(pg_catalog.=) _limit_24h.lead_id
       AND d.call_date OPERATOR(pg_catalog.>) (((at AT TIME ZONE 'UTC') OPERATOR(pg_catalog.-) interval '24 hours') AT TIME ZONE 'UTC')
       AND d.call_date OPERATOR(pg_catalog.<=) at
     ORDER BY d.call_date DESC
    OFFSET pg_catalog.int4larger(call_limit OPERATOR(pg_catalog.-) 1, 0) LIMIT 1
$$;

-- The 24-hour limit of the limited leads among those the predicate below
-- is asked about, in a plan of its own. That predicate runs inside its
-- callers' plans, which the plan cache keeps generic in a hand-out (a
-- custom plan costs it no less), and PostgreSQL 15 locks every partition
-- a generic plan names at each execution: read inline there, the limit
-- would lock every month of the dial log at every hand-out, for leads
-- with no limit (most campaigns have none) too. STRICT: not called when
-- no lead has a limit. Its own plan is generic as well, and locks every
-- month: a plan made for each time asked would read only the months of
-- its 24 hours, but costs far more to make than those locks.
CREATE OR REPLACE FUNCTION vicidial._limits_24h(lead_ids bigint[], at timestamptz)
RETURNS TABLE (lead_id bigint, campaign_id varchar, call_limit_24hour integer, until timestamptz)
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY
    SELECT r.lead_id, r.campaign_id, r.call_limit_24hour, u.until
      FROM (SELECT DISTINCT given.lead_id FROM unnest(lead_ids) AS given(lead_id)) AS given
      JOIN vicidial.lead_rules r ON r.lead_id = given.lead_id
     CROSS JOIN LATERAL vicidial._limit_24h(r.lead_id, r.call_limit_24hour, at) AS u;
END $$;

-- The names of the blockers a caller of _dial_blockers acts on (NULL: all
-- of them), refused if one is unknown: a misspelt name would turn its rule
-- off without a word. IMMUTABLE, so that a caller's list, a constant, is
-- checked while the caller's statement is planned, and the branches of
-- the predicate it does not ask for are cut from the plan there. (A list
-- known only when the statement runs would be checked only by the
-- branches that run; every caller names a constant list.)
CREATE OR REPLACE FUNCTION vicidial._blockers_asked(asked text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    blockers CONSTANT text[] := ARRAY['CBHOLD', 'INCALL', 'HOURS', 'DNC', 'LIMIT_24H', 'LIST_INACTIVE', 'CAMPAIGN_INACTIVE'];
BEGIN
    IF NOT coalesce(asked, blockers) <@ blockers THEN
        RAISE EXCEPTION 'unknown blocker in %', asked USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN coalesce(asked, blockers);
END $$;

-- May these leads be handed to an agent at "at"? The one answer every
-- path gives: hopper_next, callback_dial, the sweep's release and
-- lead_dial_blockers ask it; the fill reads leads through its index by the
-- same rules (its own campaign's hours per zone, lead_dnc, the 24-hour
-- limit), and a test holds every path to this answer. One row per reason
-- a lead is held back, none when it may be dialed:
--   CBHOLD, INCALL   its state (until: an ACTIVE callback's time);
--   HOURS            outside its calling hours (until: when they open);
--   DNC              its number on a list that applies (lead_dnc);
--   LIMIT_24H        its campaign's 24-hour limit (until: under it again);
--   LIST_INACTIVE, CAMPAIGN_INACTIVE   reported only: no hand-out stops on them.
-- A lead is governed by its own campaign (its list's) wherever it is
-- queued: its hours, its campaign's do-not-call list, its 24-hour limit.
-- Hours are decided once per (zone, call times), not once per lead.
-- "asked" names the blockers the caller acts on (NULL: all); the others
-- are not looked for, so that the release of many leads does not pay for
-- the hold it ignores or a do-not-call probe nobody reads.
--
-- SQL that names the schema of everything it uses, with no SET clause,
-- so that the planner inlines it into the caller's statement: a hand-out
-- then runs it inside its own cached plan, without a function call, a
-- result set to fill and read back, or the branches it did not ask for.
-- PostgreSQL inlines it only where its arguments hold no subquery, so a
-- caller passes its leads as an array it has already made. Every step is
-- an index probe per lead, right for one lead (a hand-out, asked at every
-- claim); a release of many is planned for its array (_plan_for_leads).
CREATE OR REPLACE FUNCTION vicidial._dial_blockers(lead_ids bigint[], at timestamptz, asked text[] DEFAULT NULL)
RETURNS TABLE (lead_id bigint, blocker text, detail text, until timestamptz)
LANGUAGE sql STABLE AS $$
    WITH leads AS MATERIALIZED (
        SELECT r.lead_id, r.status, r."user", r.phone_number, r.zone, r.call_times,
               r.list_id, r.list_active, r.campaign_id, r.campaign_active, r.call_limit_24hour,
               CASE WHEN 'DNC' OPERATOR(pg_catalog.=) ANY (vicidial._blockers_asked(asked)) THEN r.dnc_status END AS dnc_status
          FROM pg_catalog.unnest(lead_ids) AS given(lead_id)
          JOIN vicidial.lead_rules r ON r.lead_id OPERATOR(pg_catalog.=) given.lead_id),
    keys AS MATERIALIZED (
        SELECT k.zone, k.call_times, vicidial._hours_open(k.zone, k.call_times, at) AS open
          FROM (SELECT DISTINCT w.zone, w.call_times FROM leads w) k),
    hours AS MATERIALIZED (
        SELECT k.zone, k.call_times, k.open,
               CASE WHEN NOT k.open THEN vicidial._next_open(k.zone, k.call_times, at) END AS opens
          FROM keys k)
    SELECT k.lead_id, 'CBHOLD'::pg_catalog.text,
           'held for callback ' OPERATOR(pg_catalog.||) c.callback_id OPERATOR(pg_catalog.||) ' ('
               OPERATOR(pg_catalog.||) c.status OPERATOR(pg_catalog.||) ', ' OPERATOR(pg_catalog.||) c.recipient
               OPERATOR(pg_catalog.||) ')',
           CASE WHEN c.status OPERATOR(pg_catalog.=) 'ACTIVE' THEN c.callback_time END
      FROM leads k
      LEFT JOIN vicidial.vicidial_callbacks c
        ON c.lead_id OPERATOR(pg_catalog.=) k.lead_id AND c.status OPERATOR(pg_catalog.=) ANY ('{ACTIVE,LIVE}')
     WHERE 'CBHOLD' OPERATOR(pg_catalog.=) ANY (vicidial._blockers_asked(asked)) AND k.status OPERATOR(pg_catalog.=) 'CBHOLD'
    UNION ALL
    SELECT k.lead_id, 'INCALL', 'being called by agent ' OPERATOR(pg_catalog.||) coalesce(k."user", '(none)'),
           NULL::pg_catalog.timestamptz
      FROM leads k
     WHERE 'INCALL' OPERATOR(pg_catalog.=) ANY (vicidial._blockers_asked(asked)) AND k.status OPERATOR(pg_catalog.=) 'INCALL'
    UNION ALL
    SELECT k.lead_id, 'HOURS', pg_catalog.format('outside its calling hours: it is %s there (%s)',
                                                 pg_catalog.to_char(at AT TIME ZONE k.zone, 'Dy YYYY-MM-DD HH24:MI'), k.zone),
           o.opens
      FROM leads k
      JOIN hours o ON o.zone OPERATOR(pg_catalog.=) k.zone AND o.call_times OPERATOR(pg_catalog.=) k.call_times
     WHERE 'HOURS' OPERATOR(pg_catalog.=) ANY (vicidial._blockers_asked(asked)) AND NOT o.open
    UNION ALL
    SELECT k.lead_id, 'DNC', pg_catalog.format('%s is on the %s do-not-call list', k.phone_number,
                                               CASE WHEN k.dnc_status OPERATOR(pg_catalog.=) 'DNCL' THEN 'system'
                                                    ELSE 'campaign''s' END),
           NULL
      FROM leads k
     WHERE 'DNC' OPERATOR(pg_catalog.=) ANY (vicidial._blockers_asked(asked)) AND k.dnc_status IS NOT NULL
    UNION ALL
    SELECT u.lead_id, 'LIMIT_24H', pg_catalog.format('dialed %s times in the 24 hours before, the limit of campaign %s',
                                                     u.call_limit_24hour, u.campaign_id),
           u.until
      FROM vicidial._limits_24h((SELECT pg_catalog.array_agg(w.lead_id) FROM leads w
                                  WHERE w.call_limit_24hour OPERATOR(pg_catalog.>) 0), at) AS u
     WHERE 'LIMIT_24H' OPERATOR(pg_catalog.=) ANY (vicidial._blockers_asked(asked))
    UNION ALL
    SELECT k.lead_id, 'LIST_INACTIVE', 'list ' OPERATOR(pg_catalog.||) k.list_id OPERATOR(pg_catalog.||) ' is inactive', NULL
      FROM leads k
     WHERE 'LIST_INACTIVE' OPERATOR(pg_catalog.=) ANY (vicidial._blockers_asked(asked)) AND NOT k.list_active
    UNION ALL
    SELECT k.lead_id, 'CAMPAIGN_INACTIVE', 'campaign ' OPERATOR(pg_catalog.||) k.campaign_id OPERATOR(pg_catalog.||) ' is inactive',
           NULL
      FROM leads k
     WHERE 'CAMPAIGN_INACTIVE' OPERATOR(pg_catalog.=) ANY (vicidial._blockers_asked(asked)) AND NOT k.campaign_active
$$;

-- Why a lead cannot be handed to an agent at "at", one row per reason, by
-- blocker; no row: dialable.
CREATE OR REPLACE FUNCTION vicidial.lead_dial_blockers(lead_id bigint, at timestamptz DEFAULT now())
RETURNS TABLE (blocker text, detail text, until timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._lead_hours(lead_id);
    PERFORM vicidial._check_time(at, 'at');
    RETURN QUERY
    SELECT b.blocker, b.detail, b.until FROM vicidial._dial_blockers(ARRAY[lead_id], at) b ORDER BY b.blocker;
END $$;

-- I9: leads a do-not-call list now covers (a number listed later, or a
-- lead's number changed onto a list) have their open callbacks archived
-- (reason DNC), leave the hopper and take DNCL or DNCC, in one statement;
-- a lead being called keeps its status until its hangup. The leads are
-- locked in order, then read by the next statement: a statement that
-- waited for a lock inside it reads as of before the wait, and would miss
-- the hopper row or the callback that the lock's holder committed.
CREATE OR REPLACE FUNCTION vicidial._apply_dnc(lead_ids bigint[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan
SET vicidial.change_reason = 'DNC' AS $$
DECLARE
    locked_leads bigint[];
BEGIN
    locked_leads := vicidial._lock_leads(lead_ids);
    WITH locked AS MATERIALIZED (
        SELECT l.lead_id
          FROM unnest(locked_leads) AS given(lead_id)
          JOIN vicidial.vicidial_list l ON l.lead_id = given.lead_id),
    listed AS MATERIALIZED (
        SELECT k.lead_id, d.dnc_status AS status
          FROM locked k JOIN vicidial.lead_dnc d ON d.lead_id = k.lead_id
         WHERE d.dnc_status IS NOT NULL),
    archived AS (
        UPDATE vicidial.vicidial_callbacks c SET status = 'ARCHIVE', archive_reason = 'DNC'
          FROM listed v WHERE c.lead_id = v.lead_id AND c.status IN ('ACTIVE', 'LIVE')),
    unqueued AS (
        DELETE FROM vicidial.vicidial_hopper h USING listed v WHERE h.lead_id = v.lead_id)
    UPDATE vicidial.vicidial_list l SET status = v.status, modify_date = now()
      FROM listed v
     WHERE l.lead_id = v.lead_id AND l.status NOT IN ('INCALL', v.status);
END $$;

-- Listing numbers and giving leads new numbers wait for each other,
-- number by number, until commit: else a number listed while a lead is
-- given it is missed by both (the listing searches the leads before it
-- sees the new number, the change asks the lists before it sees the
-- listing). Each number's digits hash to one of the 256 rows of
-- dnc_number_keys, which a listing locks FOR SHARE (listings never wait
-- for each other; a listing of a million numbers locks at most 256 rows)
-- and a change FOR NO KEY UPDATE, in key order. So a listing waits only
-- for a change whose number shares a key with one of its own, and the
-- other way round, and an admin's open transaction that changed a number
-- holds up only the listings that share its key.
CREATE OR REPLACE FUNCTION vicidial._lock_dnc_numbers(digits text[], listing boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('SELECT FROM vicidial.dnc_number_keys k WHERE k.key = ANY ($1) ORDER BY k.key FOR %s',
                   CASE WHEN listing THEN 'SHARE' ELSE 'NO KEY UPDATE' END)
      USING ARRAY(SELECT DISTINCT (hashtext(d.digits) & 255)::smallint FROM unnest(digits) AS d(digits)
                   WHERE d.digits IS NOT NULL);
END $$;

-- A number added to a list (or a listed number changed): the leads it
-- covers, through the index of their digits, searched once the numbers'
-- keys are held. Searched in this statement's snapshot, which under
-- REPEATABLE READ or SERIALIZABLE is the transaction's and would miss a
-- lead given the number since: refused there, as the functions are (and
-- so is a change of a lead's number, below, for a number listed since).
CREATE OR REPLACE FUNCTION vicidial._dnc_added() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._refuse_unless_read_committed(
        'numbers can be added to a do-not-call list only in a READ COMMITTED transaction',
        'a lead given the number after this transaction''s snapshot would not be marked');
    PERFORM vicidial._lock_dnc_numbers(ARRAY(SELECT vicidial._digits(n.phone_number) FROM listed_numbers n), true);
    PERFORM vicidial._apply_dnc(array_agg(DISTINCT l.lead_id))
       FROM (SELECT DISTINCT vicidial._digits(n.phone_number) AS digits FROM listed_numbers n) n
       JOIN vicidial.vicidial_list l ON vicidial._digits(l.phone_number) = n.digits
     HAVING count(*) > 0;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER dnc_added AFTER INSERT ON vicidial.vicidial_dnc
    REFERENCING NEW TABLE AS listed_numbers
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._dnc_added();
CREATE OR REPLACE TRIGGER dnc_changed AFTER UPDATE ON vicidial.vicidial_dnc
    REFERENCING NEW TABLE AS listed_numbers
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._dnc_added();
CREATE OR REPLACE TRIGGER campaign_dnc_added AFTER INSERT ON vicidial.vicidial_campaign_dnc
    REFERENCING NEW TABLE AS listed_numbers
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._dnc_added();
CREATE OR REPLACE TRIGGER campaign_dnc_changed AFTER UPDATE ON vicidial.vicidial_campaign_dnc
    REFERENCING NEW TABLE AS listed_numbers
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._dnc_added();

-- A lead's number changed: the lists are asked for its new number once
-- its key is held (_lock_dnc_numbers).
CREATE OR REPLACE FUNCTION vicidial._dnc_number_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._refuse_unless_read_committed(
        format('the number of lead %s can be changed only in a READ COMMITTED transaction', NEW.lead_id),
        'a number listed after this transaction''s snapshot would not be seen');
    PERFORM vicidial._lock_dnc_numbers(ARRAY[vicidial._digits(NEW.phone_number)], false);
    PERFORM vicidial._apply_dnc(ARRAY[NEW.lead_id]);
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER leads_dnc AFTER UPDATE OF phone_number ON vicidial.vicidial_list
    FOR EACH ROW WHEN (vicidial._digits(NEW.phone_number) IS DISTINCT FROM vicidial._digits(OLD.phone_number))
    EXECUTE FUNCTION vicidial._dnc_number_changed();

-- The dial log is a record: a dial is closed once (end_date, status) and
-- never changed otherwise, deleted or truncated.
CREATE OR REPLACE FUNCTION vicidial._dial_log_keep() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'dial % of lead % is on record: it is closed once, with end_date and status, and never changed',
            OLD.log_id, OLD.lead_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RAISE EXCEPTION 'the dial log is kept forever: % refused', TG_OP
        USING ERRCODE = 'object_not_in_prerequisite_state';
END $$;

CREATE OR REPLACE TRIGGER vicidial_log_keep BEFORE UPDATE ON vicidial.vicidial_log
    FOR EACH ROW
    WHEN (NOT (OLD.end_date IS NULL AND OLD.status IS NULL AND NEW.end_date IS NOT NULL
               AND vicidial._changed_only(OLD, NEW, '{end_date,status}')))
    EXECUTE FUNCTION vicidial._dial_log_keep();
CREATE OR REPLACE TRIGGER vicidial_log_keep_delete BEFORE DELETE ON vicidial.vicidial_log
    FOR EACH ROW EXECUTE FUNCTION vicidial._dial_log_keep();
CREATE OR REPLACE TRIGGER vicidial_log_keep_truncate BEFORE TRUNCATE ON vicidial.vicidial_log
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._dial_log_keep();

-- The dials found open, closed each through the partition that holds it,
-- with a plan kept per partition (src/dial_log_close.c): an update through
-- the log would lock and open every month it has kept. Returns the
-- leads of the dials it closed.
CREATE OR REPLACE FUNCTION vicidial._close_logged_dials(partitions oid[], log_ids bigint[],
                                                        call_dates timestamptz[], status text)
RETURNS bigint[]
LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'vicidial_close_logged_dials';

-- A disposition (or the end of a stuck call) closes the lead's latest open
-- dial. One index probe per lead and log partition searched, written so
-- that no plan can do otherwise (the LIMIT 1 subquery), and planned once
-- per session: left to choose, the plan cache re-plans it at every
-- disposition, and a plan chosen while the log was small would scan the
-- whole log.
--
-- The search starts at "searched_from", the leads' earliest last call
-- time as the caller read it: a dial is logged at the instant its lead's
-- last_local_call_time is set (_dial_lead), so a lead's open dial is never
-- older unless that time was written since by hand. The bound is a
-- parameter the executor prunes the log's months by before it reads, so
-- a disposition reads the months from that call on, not every month the
-- log has kept (one more a month, forever). A lead with no open dial from
-- then on is searched again in the whole log (as is every lead when the
-- bound is NULL). Its latest open dial is the same either way: if any is
-- at or after the bound, the latest is too.
CREATE OR REPLACE FUNCTION vicidial._close_dials(lead_ids bigint[], status text, searched_from timestamptz)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    since timestamptz := coalesce(searched_from, '-infinity');
    partitions oid[];
    log_ids bigint[];
    call_dates timestamptz[];
    closed bigint[];
BEGIN
    -- At most two passes: from the bound, then the whole log for the leads
    -- the first did not close.
    LOOP
        SELECT array_agg(latest.tableoid), array_agg(latest.log_id), array_agg(latest.call_date)
          INTO partitions, log_ids, call_dates
          FROM unnest(lead_ids) AS given(lead_id)
         CROSS JOIN LATERAL (
               SELECT o.tableoid, o.log_id, o.call_date FROM vicidial.vicidial_log o
                WHERE o.lead_id = given.lead_id AND o.end_date IS NULL AND o.call_date >= since
                ORDER BY o.lead_id DESC, o.call_date DESC, o.log_id DESC
                LIMIT 1) latest;
        closed := vicidial._close_logged_dials(partitions, log_ids, call_dates, status);
        EXIT WHEN since = '-infinity' OR cardinality(closed) = cardinality(lead_ids);
        lead_ids := ARRAY(SELECT DISTINCT given.lead_id FROM unnest(lead_ids) AS given(lead_id)
                           WHERE given.lead_id <> ALL (coalesce(closed, '{}')));
        EXIT WHEN cardinality(lead_ids) = 0;
        since := '-infinity';
    END LOOP;
END $$;
