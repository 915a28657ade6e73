-- Every path that hands a lead to an agent gives the one answer of the
-- hand-out predicate (lead_dial_blockers): the fill, hopper_next,
-- callback_dial and the sweep's release, for leads each held back by one
-- rule, at one instant. A path that assembled the rules itself and drifted
-- (another campaign's do-not-call list, a limit read elsewhere) shows here
-- as a row whose answers differ.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';
INSERT INTO vicidial.vicidial_users ("user") VALUES ('pat');
INSERT INTO vicidial.vicidial_call_times (call_time_id, ct_default_start, ct_default_stop) VALUES ('never', '00:00', '00:00');
INSERT INTO vicidial.vicidial_state_call_times (state, call_time_id) VALUES ('ZZ', 'never');
-- One campaign per case, each dialing around the clock with a 24-hour
-- limit of one dial; the lead's number and state say what holds it back.
CREATE TEMP TABLE cases (lead_id bigint, name text, phone text, state text, queued_in varchar);
INSERT INTO cases VALUES
    (13001, 'dialable',              '5550130001', NULL, NULL),
    (13002, 'outside its hours',     '5550130002', 'ZZ', NULL),
    (13003, 'system do-not-call',    '5550130003', NULL, NULL),
    (13004, 'campaign do-not-call',  '5550130004', NULL, NULL),
    (13005, 'over its 24-hour limit','5550130005', NULL, NULL),
    -- queued by a callback of another campaign after its list moved to a
    -- campaign whose own list has the number
    (13006, 'moved under a listing', '5550130006', NULL, 'PTHQ');
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time, call_limit_24hour)
SELECT 'PTH' || (lead_id - 13000), 1, '24hours', 1 FROM cases
UNION ALL SELECT 'PTHQ', 0, '24hours', 1;
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) SELECT lead_id, 'PTH' || (lead_id - 13000) FROM cases;
INSERT INTO vicidial.vicidial_list (lead_id, list_id, phone_number, state) SELECT lead_id, lead_id, phone, state FROM cases;
INSERT INTO vicidial.vicidial_dnc (phone_number) VALUES ('5550130003');
INSERT INTO vicidial.vicidial_campaign_dnc (campaign_id, phone_number) VALUES ('PTH4', '5550130004'), ('PTH6', '5550130006');
INSERT INTO vicidial.vicidial_log (lead_id, list_id, campaign_id, call_date) VALUES (13005, 13005, 'PTH5', now() - interval '1 hour');
-- (the listings marked those leads; their dial-status is given back, so
-- that only the list holds them back)
SET session_replication_role = replica;
UPDATE vicidial.vicidial_list SET status = 'NEW' WHERE lead_id IN (13003, 13004, 13006);
RESET session_replication_role;

-- Each path's answer for a lead, each tried in a subtransaction that is
-- undone: true when the path would hand the lead to an agent now.
CREATE FUNCTION pg_temp.answers(lead bigint, OUT predicate boolean, OUT fill boolean, OUT hopper_next boolean,
                                OUT callback_dial boolean, OUT release boolean)
LANGUAGE plpgsql AS $$
DECLARE
    queue varchar := coalesce((SELECT c.queued_in FROM cases c WHERE c.lead_id = lead),
                              (SELECT li.campaign_id FROM vicidial.vicidial_list l
                                 JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id WHERE l.lead_id = lead));
    list bigint := (SELECT l.list_id FROM vicidial.vicidial_list l WHERE l.lead_id = lead);
BEGIN
    predicate := NOT EXISTS (SELECT 1 FROM vicidial.lead_dial_blockers(lead, now()) b
                              WHERE b.blocker IN ('HOURS', 'DNC', 'LIMIT_24H'));
    BEGIN
        PERFORM vicidial.hopper_fill(now());
        fill := EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = lead);
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN
    END;
    BEGIN
        INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (lead, queue, list);
        hopper_next := EXISTS (SELECT 1 FROM vicidial.hopper_next(queue, 'pat') n WHERE n.lead_id = lead);
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN
    END;
    -- A LIVE ANYONE callback for the lead, as a run or a front end left it.
    SET LOCAL session_replication_role = replica;
    BEGIN
        INSERT INTO vicidial.vicidial_callbacks (lead_id, list_id, campaign_id, status, callback_time, recipient, "user")
        VALUES (lead, list, queue, 'LIVE', now() - interval '1 minute', 'ANYONE', 'pat');
        UPDATE vicidial.vicidial_list SET status = 'CBHOLD' WHERE lead_id = lead;
        SET LOCAL session_replication_role = origin;
        callback_dial := EXISTS (SELECT 1 FROM vicidial.callback_dial(
                                     (SELECT c.callback_id FROM vicidial.vicidial_callbacks c
                                       WHERE c.lead_id = lead AND c.status = 'LIVE'), 'pat'));
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN
        callback_dial := coalesce(callback_dial, false);
    WHEN object_not_in_prerequisite_state THEN
        callback_dial := false;
    END;
    SET LOCAL session_replication_role = replica;
    BEGIN
        INSERT INTO vicidial.vicidial_callbacks (lead_id, list_id, campaign_id, status, callback_time, recipient, "user")
        VALUES (lead, list, queue, 'LIVE', now() - interval '1 minute', 'ANYONE', 'pat');
        UPDATE vicidial.vicidial_list SET status = 'CBHOLD' WHERE lead_id = lead;
        INSERT INTO vicidial.callback_releases (lead_id, release_after) VALUES (lead, '-infinity');
        SET LOCAL session_replication_role = origin;
        PERFORM vicidial.sweep(now());
        release := EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = lead);
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN
    END;
    SET LOCAL session_replication_role = origin;
END $$;

SELECT c.name, a.* FROM cases c CROSS JOIN LATERAL pg_temp.answers(c.lead_id) a ORDER BY c.lead_id;
-- Every path agrees with the predicate.
SELECT count(*) AS disagreements
  FROM cases c CROSS JOIN LATERAL pg_temp.answers(c.lead_id) a
 WHERE (a.fill, a.hopper_next, a.callback_dial, a.release) IS DISTINCT FROM (a.predicate, a.predicate, a.predicate, a.predicate);
-- Nothing above stayed: the leads are as set up.
SELECT lead_id, status FROM vicidial.vicidial_list WHERE lead_id BETWEEN 13001 AND 13006 ORDER BY lead_id;
SELECT count(*) AS callbacks_left FROM vicidial.vicidial_callbacks WHERE lead_id BETWEEN 13001 AND 13006;
-- Each path names the blockers it acts on; a name the predicate does not
-- know is refused rather than read as a rule turned off.
SELECT regress.attempt($$SELECT * FROM vicidial._dial_blockers(ARRAY[13001::bigint], now(), ARRAY['HOURS', 'DNCC'])$$) AS misspelt;
-- Every path runs the predicate inside its own statement's plan: the
-- planner inlines it, so it is never called as a function (counted here
-- while every path answers for every case, as above)...
BEGIN;
SET LOCAL track_functions = 'all';
SELECT count(*) AS answers FROM cases c CROSS JOIN LATERAL pg_temp.answers(c.lead_id) a;
SELECT coalesce(sum(f.calls), 0) AS predicate_calls
  FROM pg_stat_xact_user_functions f WHERE f.schemaname = 'vicidial' AND f.funcname = '_dial_blockers';
ROLLBACK;
-- ...and a hand-out's kept plan holds no branch of a blocker it did not
-- ask for (here the inactive list and campaign), cut while it is made.
CREATE FUNCTION pg_temp.plan_lines(statement text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || statement;
END $$;
SET plan_cache_mode = force_generic_plan;
PREPARE hand_out(bigint) AS
    SELECT bool_or(b.blocker IN ('CBHOLD', 'INCALL', 'DNC'))
      FROM vicidial._dial_blockers(ARRAY[$1], now(), ARRAY['CBHOLD', 'INCALL', 'DNC', 'HOURS', 'LIMIT_24H']) b;
SELECT count(*) FILTER (WHERE p.line ~ '_dial_blockers') AS predicate_scans,
       count(*) FILTER (WHERE p.line ~ 'is inactive') AS unasked_branches
  FROM pg_temp.plan_lines('EXECUTE hand_out(13001)') AS p(line);
DEALLOCATE hand_out;
RESET plan_cache_mode;
