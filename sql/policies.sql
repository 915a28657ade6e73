-- Callback policies and the callback log: the active
-- limit at N and N+1 with the per-agent override above and below the
-- campaign's, retries (attempts 1..max and max+1, the wall clock kept, a
-- closed day skipped), the move of an owner's callback after strictly N
-- minutes, the display limit, the bulk reassign, and the log every writer
-- leaves. Campaigns dial around the clock unless a test says otherwise.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';

INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) VALUES
    ('pat', true), ('quin', true), ('ross', false), ('sam', true);
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time, time_zone) VALUES
    ('POL', 0, '24hours', 'UTC'), ('POL2', 0, '24hours', 'UTC');
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (970, 'POL'), (971, 'POL2');
INSERT INTO vicidial.vicidial_list (lead_id, list_id)
SELECT 97000 + n, 970 FROM generate_series(1, 30) n;
INSERT INTO vicidial.vicidial_list (lead_id, list_id) VALUES (97101, 971), (97102, 971);

-- A slot tomorrow, and one the day after, at a fixed wall-clock time.
SELECT date_trunc('day', now()) + interval '1 day 14 hours 30 minutes' AS tomorrow,
       date_trunc('day', now()) + interval '2 days 10 hours' AS later \gset

------------------------------------------------------------------------
-- The active limit: the campaign's, then each agent's override.
------------------------------------------------------------------------
UPDATE vicidial.vicidial_campaigns SET callback_active_limit = 2 WHERE campaign_id = 'POL';
SELECT regress.attempt(format($$SELECT vicidial.callback_schedule(97001, 'pat', %L, 'USERONLY')$$, :'tomorrow')) AS first;
SELECT regress.attempt(format($$SELECT vicidial.callback_schedule(97002, 'pat', %L, 'USERONLY')$$, :'tomorrow')) AS second_at_limit;
SELECT regress.attempt(format($$SELECT vicidial.callback_schedule(97003, 'pat', %L, 'USERONLY')$$, :'tomorrow')) AS third_over_limit;
-- ANYONE callbacks and other campaigns do not count.
SELECT regress.attempt(format($$SELECT vicidial.callback_schedule(97003, 'pat', %L)$$, :'tomorrow')) AS anyone_is_not_counted;
SELECT regress.attempt(format($$SELECT vicidial.callback_schedule(97101, 'pat', %L, 'USERONLY')$$, :'tomorrow')) AS other_campaign;
-- At the limit an agent may still move their own callback on the same lead.
SELECT regress.attempt(format($$SELECT vicidial.callback_schedule(97002, 'pat', %L, 'USERONLY')$$, :'later')) AS supersede_own_at_limit;
-- Direct DML and a change of recipient or owner meet the same limit.
SELECT regress.attempt(format($$INSERT INTO vicidial.vicidial_callbacks (lead_id, callback_time, "user", recipient)
                                VALUES (97004, %L, 'pat', 'USERONLY')$$, :'tomorrow')) AS dml_over_limit;
SELECT regress.attempt($$SELECT vicidial.callback_modify(c.callback_id, recipient => 'USERONLY', agent => 'pat')
                           FROM vicidial.vicidial_callbacks c WHERE c.lead_id = 97003 AND c.status = 'ACTIVE'$$) AS convert_over_limit;
-- An override above the campaign's: 3 for pat; below it: 1 for quin.
UPDATE vicidial.vicidial_users SET callback_active_limit = 3 WHERE "user" = 'pat';
UPDATE vicidial.vicidial_users SET callback_active_limit = 1 WHERE "user" = 'quin';
SELECT regress.attempt(format($$SELECT vicidial.callback_schedule(97004, 'pat', %L, 'USERONLY')$$, :'tomorrow')) AS pat_third_under_own_limit;
SELECT regress.attempt(format($$SELECT vicidial.callback_schedule(97005, 'pat', %L, 'USERONLY')$$, :'tomorrow')) AS pat_fourth_over_own_limit;
SELECT regress.attempt(format($$SELECT vicidial.callback_schedule(97006, 'quin', %L, 'USERONLY')$$, :'tomorrow')) AS quin_first;
SELECT regress.attempt(format($$SELECT vicidial.callback_schedule(97007, 'quin', %L, 'USERONLY')$$, :'tomorrow')) AS quin_second_over_own_limit;
-- 0 for an agent means none; lowering a limit leaves what is open alone.
UPDATE vicidial.vicidial_users SET callback_active_limit = 0 WHERE "user" = 'quin';
SELECT regress.attempt(format($$SELECT vicidial.callback_schedule(97007, 'quin', %L, 'USERONLY')$$, :'tomorrow')) AS quin_no_limit;
UPDATE vicidial.vicidial_users SET callback_active_limit = 1 WHERE "user" = 'pat';
SELECT count(*) AS pat_keeps_open FROM vicidial.vicidial_callbacks
 WHERE "user" = 'pat' AND recipient = 'USERONLY' AND status IN ('ACTIVE', 'LIVE') AND campaign_id = 'POL';
SELECT regress.attempt('UPDATE vicidial.vicidial_users SET callback_active_limit = -1 WHERE "user" = ''pat''') AS negative_limit;
UPDATE vicidial.vicidial_users SET callback_active_limit = NULL;
UPDATE vicidial.vicidial_campaigns SET callback_active_limit = 0 WHERE campaign_id = 'POL';

------------------------------------------------------------------------
-- The display limit: only what falls due before local midnight of today
-- + N days is shown; the count behind the limit sees everything.
------------------------------------------------------------------------
SELECT vicidial.callback_schedule(97008, 'sam', vicidial._half_hour_start(now()), 'USERONLY') AS shown_today \gset
SELECT vicidial.callback_schedule(97009, 'sam', :'tomorrow', 'USERONLY') AS shown_tomorrow \gset
SELECT vicidial.callback_schedule(97010, 'sam', :'later', 'USERONLY') AS shown_later \gset
SELECT (SELECT count(*) FROM vicidial.agent_callbacks('sam')) AS listed_all,
       (SELECT open FROM vicidial.agent_callback_count('sam')) AS counted_all;
UPDATE vicidial.vicidial_campaigns SET callback_display_days = 1 WHERE campaign_id = 'POL';
SELECT (SELECT string_agg(callback_id::text, ',') FROM vicidial.agent_callbacks('sam')) = :'shown_today' AS today_only,
       (SELECT open FROM vicidial.agent_callback_count('sam')) AS counted_1_day;
UPDATE vicidial.vicidial_campaigns SET callback_display_days = 2 WHERE campaign_id = 'POL';
SELECT (SELECT string_agg(callback_id::text, ',' ORDER BY callback_id) FROM vicidial.agent_callbacks('sam'))
       = :'shown_today' || ',' || :'shown_tomorrow' AS today_and_tomorrow,
       (SELECT open FROM vicidial.agent_callback_count('sam')) AS counted_2_days;
UPDATE vicidial.vicidial_campaigns SET callback_display_days = 3 WHERE campaign_id = 'POL';
SELECT (SELECT count(*) FROM vicidial.agent_callbacks('sam')) AS listed_3_days;
UPDATE vicidial.vicidial_campaigns SET callback_display_days = 1, callback_active_limit = 3 WHERE campaign_id = 'POL';
SELECT regress.attempt(format($$SELECT vicidial.callback_schedule(97011, 'sam', %L, 'USERONLY')$$, :'later')) AS limit_counts_hidden_ones;
UPDATE vicidial.vicidial_campaigns SET callback_display_days = 0, callback_active_limit = 0 WHERE campaign_id = 'POL';

------------------------------------------------------------------------
-- Retries: NA means "not reached"; two dials come back, the third is the
-- last. A callback dialed early comes back at its own time.
------------------------------------------------------------------------
UPDATE vicidial.vicidial_campaigns
   SET callback_retry_statuses = '{NA,B}', callback_retry_delay = '1 day', callback_max_attempts = 3
 WHERE campaign_id = 'POL';
SELECT vicidial.callback_schedule(97012, 'pat', :'tomorrow') AS retried \gset
SELECT lead_id FROM vicidial.callback_dial(:retried, 'pat');
SELECT vicidial.lead_disposition(97012, 'pat', 'NA') = :retried AS first_na_came_back;
SELECT c.status, c.callback_time = :'tomorrow' AS own_time, c.attempts, l.status AS lead
  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id) WHERE c.callback_id = :retried;
SELECT lead_id FROM vicidial.callback_dial(:retried, 'pat');
SELECT vicidial.lead_disposition(97012, 'pat', 'B') = :retried AS second_came_back;
SELECT c.status, c.callback_time = :'tomorrow' AS own_time, c.attempts, l.status AS lead
  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id) WHERE c.callback_id = :retried;
SELECT lead_id FROM vicidial.callback_dial(:retried, 'pat');
SELECT vicidial.lead_disposition(97012, 'pat', 'NA') AS third_na_returns;
SELECT c.status, c.archive_reason, c.attempts, l.status AS lead
  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id) WHERE c.callback_id = :retried;
-- max + 1: a callback someone gave more dials than the maximum ends too.
SELECT vicidial.callback_schedule(97013, 'pat', :'tomorrow') AS over \gset
UPDATE vicidial.vicidial_callbacks SET attempts = 7 WHERE callback_id = :over;
SELECT lead_id FROM vicidial.callback_dial(:over, 'pat');
SELECT vicidial.lead_disposition(97013, 'pat', 'B') AS over_max_returns;
SELECT status, archive_reason, attempts FROM vicidial.vicidial_callbacks WHERE callback_id = :over;
-- Any other disposition archives as DIALED; the lead takes it.
SELECT vicidial.callback_schedule(97014, 'pat', :'tomorrow') AS sold \gset
SELECT lead_id FROM vicidial.callback_dial(:sold, 'pat');
SELECT vicidial.lead_disposition(97014, 'pat', 'SALE') AS sale_returns;
SELECT c.status, c.archive_reason, l.status AS lead
  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id) WHERE c.callback_id = :sold;
-- CALLBK ends a callback call as any disposition does, DIALED, whether
-- given at the hangup or through the popup while on the call; the popup
-- off a call (the lead held, not dialed) supersedes.
SELECT vicidial.callback_schedule(97023, 'pat', :'tomorrow') AS popup_on_call \gset
SELECT lead_id FROM vicidial.callback_dial(:popup_on_call, 'pat');
SELECT vicidial.callback_schedule(97023, 'pat', :'later') IS NOT NULL AS popup_scheduled;
SELECT vicidial.callback_schedule(97024, 'pat', :'tomorrow') AS hangup_callbk \gset
SELECT lead_id FROM vicidial.callback_dial(:hangup_callbk, 'pat');
SELECT vicidial.lead_disposition(97024, 'pat', 'CALLBK', :'later') IS NOT NULL AS hangup_scheduled;
SELECT vicidial.callback_schedule(97025, 'pat', :'tomorrow') AS off_call \gset
SELECT vicidial.callback_schedule(97025, 'pat', :'later') IS NOT NULL AS rescheduled;
SELECT c.lead_id, c.status, c.archive_reason, (SELECT string_agg(h.reason, ',' ORDER BY h.change_id)
                                                 FROM vicidial.callback_history(c.callback_id) h) AS history
  FROM vicidial.vicidial_callbacks c
 WHERE c.callback_id IN (:popup_on_call, :hangup_callbk, :off_call) ORDER BY c.lead_id;
-- A retry of a callback due in the past keeps its wall-clock time: the
-- first whole number of delays after now.
SELECT vicidial.callback_schedule(97015, 'pat', vicidial._half_hour_start(now())) AS past \gset
-- (its time read back once: a half hour may begin before the check below)
SELECT callback_time AS past_time FROM vicidial.vicidial_callbacks WHERE callback_id = :past \gset
SELECT went_live FROM vicidial.sweep(now());
SELECT lead_id FROM vicidial.callback_dial(:past, 'pat');
SELECT vicidial.lead_disposition(97015, 'pat', 'NA') = :past AS past_came_back;
SELECT status, callback_time - retry_base_time AS moved_by, callback_time > now() AS in_future,
       retry_base_time = :'past_time' AS base_kept
  FROM vicidial.vicidial_callbacks WHERE callback_id = :past;
-- An admin's new time is the new base.
SELECT callback_time = :'later' AS admin_time FROM vicidial.callback_modify(:past, callback_time => :'later');
SELECT retry_base_time = :'later' AS new_base FROM vicidial.vicidial_callbacks WHERE callback_id = :past;
-- Retry settings are checked.
SELECT regress.attempt($$UPDATE vicidial.vicidial_campaigns SET callback_retry_statuses = '{NA,CALLBK}' WHERE campaign_id = 'POL'$$) AS callbk_is_no_retry;
SELECT regress.attempt($$UPDATE vicidial.vicidial_campaigns SET callback_retry_statuses = '{CBHOLD}' WHERE campaign_id = 'POL'$$) AS cbhold_is_no_retry;
SELECT regress.attempt($$UPDATE vicidial.vicidial_campaigns SET callback_retry_statuses = '{na}' WHERE campaign_id = 'POL'$$) AS lowercase_retry;
SELECT regress.attempt($$UPDATE vicidial.vicidial_campaigns SET callback_max_attempts = 0 WHERE campaign_id = 'POL'$$) AS zero_attempts;
SELECT regress.attempt($$UPDATE vicidial.vicidial_campaigns SET callback_retry_delay = '0' WHERE campaign_id = 'POL'$$) AS zero_delay;

-- The retry time itself, at chosen instants: "2:30 pm" stays 2:30 pm
-- across a DST change; a month is a calendar month; a closed day is
-- skipped to the next open window; no open time within 366 days is NULL.
INSERT INTO vicidial.vicidial_call_times (call_time_id, ct_default_start, ct_default_stop, ct_sunday_start, ct_sunday_stop)
VALUES ('nosunday', '09:00', '21:00', '00:00', '00:00'), ('shut', '00:00', '00:00', NULL, NULL);
SELECT label, vicidial._retry_time(base, delay, row(NULL, zone, call_times)::vicidial.lead_hours, at) AT TIME ZONE zone AS retry_local
  FROM (VALUES
    ('dst: base Fri 14:30 EST, at Mon 12:00 EDT', timestamptz '2026-03-06 14:30 America/New_York', interval '1 day',
     'America/New_York', '{24hours}'::varchar[], timestamptz '2026-03-09 12:00 America/New_York'),
    ('exactly on a step is not after it', '2026-03-06 14:30 America/New_York', '1 day',
     'America/New_York', '{24hours}', '2026-03-09 14:30 America/New_York'),
    ('base in the future: its own time', '2026-03-20 14:30 America/New_York', '1 day',
     'America/New_York', '{24hours}', '2026-03-09 12:00 America/New_York'),
    ('calendar months', '2026-01-31 10:00 UTC', '1 month', 'UTC', '{24hours}', '2026-03-01 00:00 UTC'),
    ('a week of hours', '2026-01-01 10:00 UTC', '1 hour', 'UTC', '{24hours}', '2026-01-08 09:59 UTC'),
    ('lands on a closed Sunday: Monday 09:00', '2026-11-28 15:00 UTC', '1 day', 'UTC', '{nosunday}', '2026-11-28 16:00 UTC'),
    ('lands after hours: next morning', '2026-11-23 20:30 UTC', '1 hour', 'UTC', '{9am-9pm}', '2026-11-23 20:45 UTC'),
    ('never open: none', '2026-11-23 20:30 UTC', '1 day', 'UTC', '{shut}', '2026-11-23 20:45 UTC'))
    AS t(label, base, delay, zone, call_times, at);
-- A retry's time in the flow is moved into the lead's hours: tomorrow's
-- 14:30 callback in a campaign closed on that weekday comes back the next
-- open day, still counted from 14:30. (Dialed while the campaign is open
-- around the clock, so that the test holds at any hour; its hours change
-- before the disposition that computes the retry.)
SELECT vicidial.callback_schedule(97016, 'pat', :'tomorrow') AS closed_day \gset
SELECT lead_id FROM vicidial.callback_dial(:closed_day, 'pat');
UPDATE vicidial.vicidial_campaigns SET local_call_time = '9am-9pm' WHERE campaign_id = 'POL';
INSERT INTO vicidial.vicidial_call_time_holidays (call_time_id, holiday_date) VALUES ('9am-9pm', (:'tomorrow'::timestamptz)::date);
SELECT vicidial.lead_disposition(97016, 'pat', 'NA') = :closed_day AS came_back;
SELECT callback_time = date_trunc('day', :'tomorrow'::timestamptz) + interval '1 day 9 hours' AS next_open_morning,
       retry_base_time = :'tomorrow' AS base_kept
  FROM vicidial.vicidial_callbacks WHERE callback_id = :closed_day;
DELETE FROM vicidial.vicidial_call_time_holidays WHERE call_time_id = '9am-9pm';
UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours' WHERE campaign_id = 'POL';

------------------------------------------------------------------------
-- An owner's LIVE callback moves to anyone after strictly N minutes.
------------------------------------------------------------------------
UPDATE vicidial.vicidial_campaigns SET callback_useronly_move_minutes = 30 WHERE campaign_id = 'POL';
SELECT vicidial._half_hour_start(now()) AS due_at \gset
SELECT vicidial.callback_schedule(97017, 'quin', :'due_at', 'USERONLY') AS owned \gset
SELECT vicidial.callback_schedule(97018, 'quin', :'due_at', 'USERONLY') AS being_called \gset
SELECT went_live, useronly FROM vicidial.sweep(:'due_at');
SELECT lead_id FROM vicidial.callback_dial(:being_called, 'quin');
SELECT vicidial._next_move() = :'due_at'::timestamptz + interval '30 minutes' AS next_move_of_the_idle_one;
SELECT hopper_inserted FROM vicidial.sweep(:'due_at'::timestamptz + interval '29 minutes');
SELECT recipient AS after_29_minutes FROM vicidial.vicidial_callbacks WHERE callback_id = :owned;
SELECT hopper_inserted FROM vicidial.sweep(:'due_at'::timestamptz + interval '30 minutes');
SELECT recipient AS after_30_minutes FROM vicidial.vicidial_callbacks WHERE callback_id = :owned;
SELECT hopper_inserted FROM vicidial.sweep(:'due_at'::timestamptz + interval '30 minutes 1 second');
SELECT c.status, c.recipient AS after_30_minutes_1_second, c."user", l.status AS lead,
       EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = 97017 AND h.priority = 50) AS queued
  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id) WHERE c.callback_id = :owned;
-- The one its owner is calling stays theirs until the hangup.
SELECT recipient, "user" FROM vicidial.vicidial_callbacks WHERE callback_id = :being_called;
SELECT vicidial._next_move() AS nothing_left_to_move;
SELECT vicidial.lead_disposition(97018, 'quin', 'SALE');
UPDATE vicidial.vicidial_campaigns SET callback_useronly_move_minutes = 0 WHERE campaign_id = 'POL';
SELECT * FROM vicidial.invariant_violations();

------------------------------------------------------------------------
-- The bulk reassign: to an agent (rights and limit apply, all or
-- nothing), or to anyone, LIVE ones released.
------------------------------------------------------------------------
INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) VALUES ('vera', true), ('walt', true);
SELECT vicidial.callback_schedule(97019, 'vera', :'tomorrow', 'USERONLY') AS v1 \gset
SELECT vicidial.callback_schedule(97020, 'vera', :'due_at', 'USERONLY') AS v2 \gset
SELECT vicidial.callback_schedule(97102, 'vera', :'tomorrow', 'USERONLY') AS v3 \gset
SELECT went_live FROM vicidial.sweep(now());
SELECT regress.attempt($$SELECT vicidial.callbacks_reassign('vera', 'ross')$$) AS to_agent_without_rights;
UPDATE vicidial.vicidial_users SET callback_active_limit = 1 WHERE "user" = 'walt';
SELECT regress.attempt($$SELECT vicidial.callbacks_reassign('vera', 'walt', 'POL')$$) AS over_the_new_owners_limit;
UPDATE vicidial.vicidial_users SET callback_active_limit = NULL WHERE "user" = 'walt';
SELECT regress.attempt($$SELECT vicidial.callbacks_reassign('nobody')$$) AS unknown_agent;
SELECT regress.attempt($$SELECT vicidial.callbacks_reassign('vera', 'nobody')$$) AS unknown_new_owner;
SELECT regress.attempt($$SELECT vicidial.callbacks_reassign('vera', list => 99999)$$) AS unknown_list;
SELECT regress.attempt($$SELECT vicidial.callbacks_reassign('vera', campaign => 'NOPE')$$) AS unknown_campaign;
SELECT vicidial.callbacks_reassign('vera', 'walt', list => 971) AS moved_by_list;
SELECT vicidial.callbacks_reassign('vera') AS made_anyone;
SELECT c.lead_id, c.status, c.recipient, c."user", l.status AS lead,
       EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = c.lead_id) AS queued
  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id)
 WHERE c.callback_id IN (:v1, :v2, :v3) ORDER BY c.lead_id;
SELECT vicidial.callbacks_reassign('vera') AS nothing_left;
SELECT * FROM vicidial.invariant_violations();

------------------------------------------------------------------------
-- The callback log: every writer, every change, and why.
------------------------------------------------------------------------
SELECT reason, old_status, new_status, old_recipient, new_recipient, old_user, new_user,
       new_callback_time - coalesce(old_callback_time, new_callback_time) AS time_moved, db_user = session_user AS db_user
  FROM vicidial.callback_history(:retried);
SELECT reason, old_status, new_status, old_recipient, new_recipient, new_user
  FROM vicidial.callback_history(:owned);
SELECT reason, old_status, new_status, old_recipient, new_recipient, old_user, new_user
  FROM vicidial.callback_history(:v1);
SELECT reason, old_status, new_status FROM vicidial.callback_history(:past);
-- Direct DML is logged as DML; a change of comments alone is not logged.
BEGIN;
INSERT INTO vicidial.vicidial_callbacks (lead_id, callback_time) VALUES (97021, :'tomorrow') RETURNING callback_id AS by_hand \gset
UPDATE vicidial.vicidial_list SET status = 'CBHOLD' WHERE lead_id = 97021;
COMMIT;
UPDATE vicidial.vicidial_callbacks SET comments = 'call after lunch' WHERE callback_id = :by_hand;
UPDATE vicidial.vicidial_callbacks SET callback_time = :'later' WHERE callback_id = :by_hand;
BEGIN;
UPDATE vicidial.vicidial_callbacks SET status = 'ARCHIVE' WHERE callback_id = :by_hand;
UPDATE vicidial.vicidial_list SET status = 'NEW' WHERE lead_id = 97021;
COMMIT;
SELECT reason, old_status, new_status, new_callback_time = :'later' AS later, db_user = session_user AS db_user
  FROM vicidial.callback_history(:by_hand);
SELECT vicidial.callback_schedule(97022, 'pat', :'tomorrow') AS first_cb \gset
SELECT vicidial.callback_schedule(97022, 'pat', :'later') AS second_cb \gset
SELECT (SELECT string_agg(reason, ',' ORDER BY change_id) FROM vicidial.callback_history(:first_cb)) AS superseded,
       (SELECT string_agg(reason, ',' ORDER BY change_id) FROM vicidial.callback_history(:second_cb)) AS scheduled;
SELECT status FROM vicidial.callback_modify(:second_cb, archive => true);
SELECT reason, new_status FROM vicidial.callback_history(:second_cb) ORDER BY change_id DESC LIMIT 1;
-- The log cannot be changed, deleted or truncated; an unknown callback is P0002.
SELECT regress.attempt('UPDATE vicidial.vicidial_callback_log SET reason = ''X''') AS change_log;
SELECT regress.attempt('DELETE FROM vicidial.vicidial_callback_log') AS delete_log;
SELECT regress.attempt('TRUNCATE vicidial.vicidial_callback_log') AS truncate_log;
SELECT regress.attempt('SELECT vicidial.callback_history(-1)') AS unknown_callback;
SELECT regress.attempt('SELECT vicidial.callback_history(NULL)') AS null_callback;
-- Every callback has its insert logged, and every logged row names a reason.
SELECT count(*) AS callbacks_without_insert_row FROM vicidial.vicidial_callbacks c
 WHERE c.lead_id BETWEEN 97000 AND 97200
   AND NOT EXISTS (SELECT 1 FROM vicidial.vicidial_callback_log g WHERE g.callback_id = c.callback_id AND g.old_status IS NULL);
SELECT * FROM vicidial.invariant_violations();
