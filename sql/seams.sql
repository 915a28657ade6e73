-- 1.2: the seams a real deployment touches. Who may act as a bound agent
-- (the exact role, its privileges, not mere membership), one call per
-- agent, an inactive agent ending its call, another's USERONLY callback,
-- the dial log closed by a scheduling, agents named by archived
-- callbacks, a reassignment that meets a call, a campaign's zone, the
-- scheduling window across DST, a full NOTIFY queue, the restore
-- exemption decided by the role that writes, and what the report and
-- hopper_next read.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';
-- the cost checks count function calls
SET track_functions = 'all';
-- the digest of the tables is read as the superuser, whoever attempts
ALTER FUNCTION regress.state() SECURITY DEFINER;
INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) VALUES
    ('zack', true), ('zoe', true), ('zed', true), ('zara', false), ('zeke', false);
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time) VALUES ('SEAM', 0, '24hours');
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1200, 'SEAM');
INSERT INTO vicidial.vicidial_list (lead_id, list_id, phone_number)
SELECT g, 1200, '555012' || g FROM generate_series(12001, 12030) g;

-- Binding: db_role names a role exactly as written. "Carol" is not carol.
CREATE ROLE carol;
CREATE ROLE "Carol";
GRANT USAGE ON SCHEMA vicidial, regress TO carol, "Carol";
GRANT EXECUTE ON FUNCTION vicidial.agent_callback_count(varchar), vicidial.agent_calls(varchar),
                          vicidial.hopper_next(varchar, varchar) TO carol, "Carol";
UPDATE vicidial.vicidial_users SET db_role = 'Carol' WHERE "user" = 'zed';
SET ROLE carol;
SELECT regress.attempt($$SELECT * FROM vicidial.agent_callback_count('zed')$$) AS lowercase_carol;
RESET ROLE;
SET ROLE "Carol";
SELECT * FROM vicidial.agent_callback_count('zed');
RESET ROLE;

-- Privileges, not membership: a NOINHERIT login that is a member of the
-- agent's role (a pooler's) acts as nobody until it switches to it; an
-- inheriting member acts; SET LOCAL ROLE counts, and ends with its
-- transaction.
CREATE ROLE pool_login NOINHERIT IN ROLE "Carol";
CREATE ROLE carol_member IN ROLE "Carol";
-- (its own grants, so that only the binding can refuse it)
GRANT USAGE ON SCHEMA vicidial, regress TO pool_login;
GRANT EXECUTE ON FUNCTION vicidial.agent_callback_count(varchar) TO pool_login;
SET ROLE pool_login;
SELECT regress.attempt($$SELECT * FROM vicidial.agent_callback_count('zed')$$) AS noinherit_without_switch;
RESET ROLE;
SET ROLE carol_member;
SELECT * FROM vicidial.agent_callback_count('zed');
RESET ROLE;
BEGIN;
SET LOCAL ROLE pool_login;
SET LOCAL ROLE "Carol";
SELECT current_user, * FROM vicidial.agent_callback_count('zed');
COMMIT;
SELECT current_user = session_user AS role_ended_with_transaction;
BEGIN;
SET LOCAL ROLE pool_login;
SELECT set_config('role', 'Carol', true) AS switched;
SELECT * FROM vicidial.agent_callback_count('zed');
COMMIT;
-- A name that needs quoting is still the exact name, and a binding to a
-- role that does not exist (not yet created, or dropped since) refuses
-- every caller but a superuser as not privileged, never with a look-up
-- error.
UPDATE vicidial.vicidial_users SET db_role = 'Night "B". shift' WHERE "user" = 'zed';
SET ROLE "Carol";
SELECT regress.attempt($$SELECT * FROM vicidial.agent_callback_count('zed')$$) AS bound_to_no_role;
RESET ROLE;
CREATE ROLE "Night ""B"". shift";
GRANT "Night ""B"". shift" TO "Carol";
SET ROLE "Carol";
SELECT * FROM vicidial.agent_callback_count('zed');
RESET ROLE;
DROP ROLE "Night ""B"". shift";
SET ROLE "Carol";
SELECT regress.attempt($$SELECT * FROM vicidial.agent_callback_count('zed')$$) AS bound_to_dropped_role;
RESET ROLE;
-- Nor is a name longer than a role's (63 bytes) cut to the role that
-- its first 63 bytes name.
SELECT 'regress_long_' || repeat('x', 50) AS long_role \gset
CREATE ROLE :"long_role";
GRANT :"long_role" TO "Carol";
UPDATE vicidial.vicidial_users SET db_role = :'long_role' WHERE "user" = 'zed';
SET ROLE "Carol";
SELECT count(*) AS bound_to_63_bytes FROM vicidial.agent_callback_count('zed');
RESET ROLE;
UPDATE vicidial.vicidial_users SET db_role = :'long_role' || 'yz' WHERE "user" = 'zed';
SET ROLE "Carol";
SELECT regress.attempt($$SELECT * FROM vicidial.agent_callback_count('zed')$$) AS bound_to_65_bytes;
RESET ROLE;
DROP ROLE :"long_role";
UPDATE vicidial.vicidial_users SET db_role = NULL WHERE "user" = 'zed';

-- One call per agent: a second claim while one is held is refused and
-- names the call, which agent_calls lists (a reload or a lost reply finds
-- it there).
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (12001, 'SEAM', 1200), (12002, 'SEAM', 1200);
SELECT lead_id, status, "user" FROM vicidial.hopper_next('SEAM', 'zed');
SELECT regress.attempt($$SELECT * FROM vicidial.hopper_next('SEAM', 'zed')$$) AS second_claim;
SELECT vicidial.callback_schedule(12003, 'zara', now() + interval '1 hour') AS anyone_cb \gset
SELECT regress.attempt(format('SELECT * FROM vicidial.callback_dial(%s, %L)', :anyone_cb, 'zed')) AS claim_a_callback_too;
SELECT lead_id, status, "user" FROM vicidial.agent_calls('zed');
SELECT count(*) AS calls_of_a_free_agent FROM vicidial.agent_calls('zara');
SELECT regress.attempt($$SELECT * FROM vicidial.agent_calls('nobody')$$) AS calls_of_nobody;

-- An agent deactivated in the middle of a call still ends it; what it may
-- not do any more is own a USERONLY callback (nor claim another lead).
UPDATE vicidial.vicidial_users SET active = false WHERE "user" = 'zed';
SELECT regress.attempt($$SELECT vicidial.lead_disposition(12001, 'zed', 'CALLBK', now() + interval '1 day', 'USERONLY')$$) AS inactive_useronly;
SELECT vicidial.lead_disposition(12001, 'zed', 'SALE') IS NULL AS inactive_agent_ends_call;
SELECT status, "user" FROM vicidial.vicidial_list WHERE lead_id = 12001;
SELECT regress.attempt($$SELECT * FROM vicidial.hopper_next('SEAM', 'zed')$$) AS inactive_claims;
UPDATE vicidial.vicidial_users SET active = true WHERE "user" = 'zed';

-- Another agent's USERONLY callback is its owner's: zoe cannot supersede
-- zack's, by scheduling or by a CALLBK hangup, and so cannot dial it.
SELECT vicidial.callback_schedule(12004, 'zack', now() + interval '1 hour', 'USERONLY') AS zacks_cb \gset
SELECT regress.attempt($$SELECT vicidial.callback_schedule(12004, 'zoe', now(), 'ANYONE')$$) AS supersede_anothers;
SELECT regress.attempt($$SELECT vicidial.callback_schedule(12004, 'zoe', now() + interval '2 hours', 'USERONLY')$$) AS supersede_as_own;
SELECT regress.attempt($$SELECT vicidial.lead_disposition(12004, 'zoe', 'CALLBK', now() + interval '2 hours', 'ANYONE')$$) AS supersede_by_hangup;
SELECT regress.attempt($$SELECT vicidial.lead_disposition(12004, 'zack', 'SALE')$$) AS owner_not_on_the_call;
SELECT vicidial.callback_schedule(12004, 'zack', now() + interval '2 hours', 'USERONLY') IS NOT NULL AS owner_reschedules;
SELECT status, archive_reason, "user" FROM vicidial.vicidial_callbacks WHERE lead_id = 12004 ORDER BY callback_id;

-- A scheduling by the agent on the call ends the call: its dial is closed.
SELECT lead_id FROM vicidial.hopper_next('SEAM', 'zara');
SELECT vicidial.callback_schedule(12002, 'zara', now() + interval '1 hour') IS NOT NULL AS scheduled_on_the_call;
SELECT status, end_date IS NOT NULL AS closed FROM vicidial.vicidial_log WHERE lead_id = 12002;
SELECT count(*) AS calls_left FROM vicidial.agent_calls('zara');

-- An agent named only by archived callbacks is kept: they keep the name
-- of who had them, forever.
SELECT vicidial.callback_schedule(12005, 'zeke', now() + interval '1 hour') AS olds_cb \gset
SELECT status FROM vicidial.callback_modify(:olds_cb, archive => true);
SELECT regress.attempt($$DELETE FROM vicidial.vicidial_users WHERE "user" = 'zeke'$$) AS delete_named_by_archive;
INSERT INTO vicidial.vicidial_users ("user") VALUES ('temp');
SELECT regress.attempt($$DELETE FROM vicidial.vicidial_users WHERE "user" = 'temp'$$) AS delete_named_by_none;

-- A reassignment that meets a callback on a call refuses before changing
-- anything, and names it; narrowed past it, it goes through.
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time) VALUES ('SEAM2', 0, '24hours');
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1201, 'SEAM2');
INSERT INTO vicidial.vicidial_list (lead_id, list_id) VALUES (12101, 1201);
SELECT vicidial.callback_schedule(12006, 'zack', now() + interval '1 hour', 'USERONLY') IS NOT NULL AS zack_2;
SELECT vicidial.callback_schedule(12101, 'zack', vicidial._half_hour_start(now()), 'USERONLY') AS on_call_cb \gset
SELECT lead_id FROM vicidial.callback_dial(:on_call_cb, 'zack');
SELECT regress.attempt(format($$SELECT vicidial.callbacks_reassign('zack', 'zoe')$$)) ~ ('^55000: callback ' || :on_call_cb || ' cannot be reassigned: its lead 12101 is on a call$') AS reassign_refused;
SELECT vicidial.callbacks_reassign('zack', 'zoe', campaign => 'SEAM') AS moved_elsewhere;
SELECT lead_id, "user", recipient FROM vicidial.vicidial_callbacks WHERE status <> 'ARCHIVE' AND lead_id IN (12004, 12006, 12101) ORDER BY lead_id;
SELECT vicidial.lead_disposition(12101, 'zack', 'SALE') IS NULL AS zack_hangs_up;

-- A campaign's zone is never NULL: written over, it is refused, not
-- guessed from the session.
SELECT regress.attempt($$UPDATE vicidial.vicidial_campaigns SET time_zone = NULL WHERE campaign_id = 'SEAM'$$) AS null_zone;

-- The window's end is counted on the lead's wall clock, whatever the
-- session's zone: here a lead in New York, a year ahead.
-- (One transaction: one now().)
BEGIN;
SELECT upper(vicidial._callback_window(365, 'America/New_York')) AS utc_session_end \gset
SET LOCAL TimeZone = 'Asia/Kolkata';
SELECT upper(vicidial._callback_window(365, 'America/New_York')) = :'utc_session_end' AS end_independent_of_session,
       (:'utc_session_end'::timestamptz AT TIME ZONE 'America/New_York')::time
       = (now() AT TIME ZONE 'America/New_York')::time AS end_at_the_same_local_time;
COMMIT;

-- Notifications are hints: past vicidial_callbacks.notify_queue_limit of
-- the queue the sweep sends none, warns, and still commits its work.
SELECT FROM vicidial.sweep(now());
LISTEN vicidial_callbacks;
SELECT vicidial.callback_schedule(12008, 'zack', vicidial._half_hour_start(now()), 'USERONLY') IS NOT NULL AS due_now;
SET vicidial_callbacks.notify_queue_limit = 0;
SELECT useronly FROM vicidial.sweep(now());
SELECT status FROM vicidial.vicidial_callbacks WHERE lead_id = 12008 AND status <> 'ARCHIVE';
RESET vicidial_callbacks.notify_queue_limit;
UNLISTEN vicidial_callbacks;

-- The restore exemption is the writing role's: a superuser's session with
-- row_security off loads a LIVE callback as dumped, but code owned by
-- another role that runs there (a materialized view refreshed during a
-- restore) is bound, as is that role itself.
CREATE ROLE mallory;
GRANT USAGE ON SCHEMA vicidial TO mallory;
GRANT INSERT ON vicidial.vicidial_callbacks TO mallory;
GRANT USAGE ON SEQUENCE vicidial.vicidial_callbacks_callback_id_seq TO mallory;
CREATE FUNCTION regress.plant() RETURNS int LANGUAGE sql AS $$
    INSERT INTO vicidial.vicidial_callbacks (lead_id, status, callback_time, recipient)
    VALUES (12009, 'LIVE', now(), 'ANYONE') RETURNING 1
$$;
ALTER FUNCTION regress.plant() OWNER TO mallory;
GRANT USAGE, CREATE ON SCHEMA regress TO mallory;
SET ROLE mallory;
CREATE MATERIALIZED VIEW regress.planted AS SELECT regress.plant() AS planted WITH NO DATA;
RESET ROLE;
SET row_security = off;
SELECT regress.attempt($$REFRESH MATERIALIZED VIEW regress.planted$$) AS refreshed_in_a_restore;
SET ROLE mallory;
SELECT regress.attempt($$SELECT regress.plant()$$) AS planted_by_its_role;
RESET ROLE;
INSERT INTO vicidial.vicidial_callbacks (lead_id, list_id, campaign_id, status, callback_time, recipient, archive_reason)
VALUES (12010, 1200, 'SEAM', 'ARCHIVE', now() - interval '1 day', 'ANYONE', 'DIALED');
RESET row_security;
SELECT count(*) AS planted FROM vicidial.vicidial_callbacks WHERE lead_id = 12009;
SELECT status, archive_reason FROM vicidial.vicidial_callbacks WHERE lead_id = 12010;

-- log_partitions_add runs on its own, never inside a transaction block
-- left open, where it would hold the logs' default partitions.
BEGIN;
SELECT vicidial.log_partitions_add();
ROLLBACK;

-- Costs: the report asks the hours only for the rows of its page, however
-- it sorts; hopper_next asks a lead set aside for its hours nothing more.
SELECT vicidial.callback_schedule(g, 'zara', now() + make_interval(hours => g - 12010)) IS NOT NULL AS scheduled
  FROM generate_series(12011, 12020) g GROUP BY 1;
BEGIN;
SELECT coalesce(pg_stat_get_xact_function_calls('vicidial._dialable_now'::regproc), 0) AS before \gset
SELECT count(*) AS page FROM vicidial.callbacks_report(campaign => 'SEAM', sort_by => 'modify_date', max_rows => 2);
SELECT coalesce(pg_stat_get_xact_function_calls('vicidial._dialable_now'::regproc), 0) - :before AS hours_asked;
COMMIT;
INSERT INTO vicidial.vicidial_call_times (call_time_id, ct_default_start, ct_default_stop) VALUES ('closed', '00:00', '00:00');
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time) VALUES ('SEAM3', 0, '24hours');
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id, local_call_time) VALUES (1202, 'SEAM3', 'closed'), (1203, 'SEAM3', NULL);
INSERT INTO vicidial.vicidial_list (lead_id, list_id) SELECT g, 1202 FROM generate_series(12201, 12205) g;
INSERT INTO vicidial.vicidial_list (lead_id, list_id) VALUES (12301, 1203);
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id)
SELECT g, 'SEAM3', 1202 FROM generate_series(12201, 12205) g;
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (12301, 'SEAM3', 1203);
BEGIN;
SELECT coalesce(pg_stat_get_xact_function_calls('vicidial._hours_open'::regproc), 0) AS before \gset
SELECT lead_id FROM vicidial.hopper_next('SEAM3', 'zoe');
SELECT coalesce(pg_stat_get_xact_function_calls('vicidial._hours_open'::regproc), 0) - :before AS hours_asked_first;
COMMIT;
SELECT vicidial.lead_disposition(12301, 'zoe', 'NA') IS NULL AS zoe_hangs_up;
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (12301, 'SEAM3', 1203);
BEGIN;
SELECT coalesce(pg_stat_get_xact_function_calls('vicidial._hours_open'::regproc), 0) AS before \gset
SELECT lead_id FROM vicidial.hopper_next('SEAM3', 'zoe');
SELECT coalesce(pg_stat_get_xact_function_calls('vicidial._hours_open'::regproc), 0) - :before AS hours_asked_again;
COMMIT;
SELECT status, count(*) FROM vicidial.vicidial_hopper WHERE campaign_id = 'SEAM3' GROUP BY status;
-- Their hours open: the next run makes the set-aside rows READY again, in
-- place (they were set aside on hours that have changed since).
UPDATE vicidial.vicidial_call_times SET ct_default_stop = '24:00' WHERE call_time_id = 'closed';
SELECT status, count(*) FROM vicidial.vicidial_hopper WHERE campaign_id = 'SEAM3' GROUP BY status;
SELECT vicidial.hopper_fill(now()) >= 0 AS a_run;
SELECT status, count(*) FROM vicidial.vicidial_hopper WHERE campaign_id = 'SEAM3' GROUP BY status;
SELECT vicidial.lead_disposition(12301, 'zoe', 'SALE') IS NULL AS zoe_hangs_up_again;

SELECT count(*) AS violations FROM vicidial.invariant_violations();

-- Whether a new time is a retry (which keeps the base later retries count
-- from) is decided by the extension, not by the label a session may set:
-- a writer's new time is the new base even under a forged RETRY reason.
SELECT vicidial.callback_schedule(12021, 'zara', now() + interval '1 hour') AS based_cb \gset
SET vicidial.change_reason = 'RETRY';
UPDATE vicidial.vicidial_callbacks SET callback_time = now() + interval '5 hours' WHERE callback_id = :based_cb
RETURNING retry_base_time = callback_time AS base_follows_the_new_time;
RESET vicidial.change_reason;
SELECT reason FROM vicidial.callback_history(:based_cb) ORDER BY change_id DESC LIMIT 1;

-- A callback on a call is its caller's until the hangup: the admin cannot
-- make it another agent's alone (refused up front, not at commit).
SELECT vicidial.callback_schedule(12022, 'zara', vicidial._half_hour_start(now())) AS on_call_anyone \gset
SELECT lead_id FROM vicidial.callback_dial(:on_call_anyone, 'zara');
SELECT regress.attempt(format('SELECT vicidial.callback_modify(%s, agent => %L, recipient => %L)', :on_call_anyone, 'zoe', 'USERONLY'))
       ~ '^55000: lead 12022 of callback \d+ is on a call with agent "zara": the callback cannot be agent "zoe"''s only$' AS given_away_on_a_call;
SELECT vicidial.lead_disposition(12022, 'zara', 'SALE') IS NULL AS zara_hangs_up;

-- A screen learns the customer's date (for callback_slots) from the lead's
-- clock, and whether its call is a callback call, with the scheduler's
-- comments, from agent_call_callbacks.
UPDATE vicidial.vicidial_list SET time_zone = 'Pacific/Honolulu' WHERE lead_id = 12023;
SELECT local_time = (now() AT TIME ZONE 'Pacific/Honolulu') AS on_the_leads_clock, time_zone
  FROM vicidial.lead_clock(12023);
SELECT regress.attempt($$SELECT * FROM vicidial.lead_clock(1234567)$$) AS clock_of_nobody;
SELECT vicidial.callback_schedule(12023, 'zara', vicidial._half_hour_start(now()), 'ANYONE', 'ask for Pilar') AS pilar \gset
SELECT hopper_inserted FROM vicidial.sweep(now());
SELECT lead_id FROM vicidial.callback_dial(:pilar, 'zoe');
SELECT lead_id, callback_id = :pilar AS its_callback, recipient, scheduled_by, comments, attempts
  FROM vicidial.agent_call_callbacks('zoe');
SELECT count(*) AS of_an_agent_with_no_call FROM vicidial.agent_call_callbacks('zara');
SELECT vicidial.lead_disposition(12023, 'zoe', 'SALE') IS NULL AS zoe_hangs_up;

-- The restore exemption is also the session's role's: an API call by a
-- role that set row_security off runs its statements as the extension's
-- owner, and is still bound (here: a time beyond the window is refused).
CREATE ROLE regress_rls_off;
GRANT USAGE ON SCHEMA vicidial, regress TO regress_rls_off;
GRANT EXECUTE ON FUNCTION vicidial.callback_schedule(bigint, varchar, timestamptz, text, text, varchar) TO regress_rls_off;
SET ROLE regress_rls_off;
SET row_security = off;
SELECT regress.attempt($$SELECT vicidial.callback_schedule(12024, 'zara', now() + interval '400 days')$$) ~ '^22023: callback time .* is outside the allowed window' AS still_bound;
RESET row_security;
RESET ROLE;
