-- Calling hours: zones, call times, holidays, state
-- and list rules, DST, and every path that hands a lead to an agent. Time
-- is driven through the functions' time arguments; where a function reads
-- the clock (scheduling, hopper_next, callback_dial), the call times are
-- chosen so that the answer is the same at any hour.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';

INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) VALUES ('hank', true), ('hope', false);
INSERT INTO vicidial.vicidial_call_times (call_time_id, ct_default_start, ct_default_stop,
                                          ct_sunday_start, ct_sunday_stop, ct_saturday_start, ct_saturday_stop) VALUES
    ('weekdays', '09:00', '17:00', '00:00', '00:00', '10:00', '14:00');
INSERT INTO vicidial.vicidial_call_times (call_time_id, ct_default_start, ct_default_stop) VALUES
    ('noon', '12:00', '20:00'),
    ('night', '22:00', '24:00'),
    ('never', '00:00', '00:00'),
    ('flip', '00:00', '24:00');
INSERT INTO vicidial.vicidial_call_time_holidays (call_time_id, holiday_date, ct_start, ct_stop) VALUES
    ('weekdays', '2027-01-18', NULL, NULL),
    ('weekdays', '2027-01-19', '12:00', '13:00');
INSERT INTO vicidial.vicidial_state_call_times (state, call_time_id) VALUES ('TX', 'noon'), ('CA', '24hours');

-- A new campaign: 9am-9pm in its creator's zone.
INSERT INTO vicidial.vicidial_campaigns (campaign_id) VALUES ('DEFLT');
SELECT local_call_time, time_zone FROM vicidial.vicidial_campaigns WHERE campaign_id = 'DEFLT';
SET TimeZone = '+05';
INSERT INTO vicidial.vicidial_campaigns (campaign_id) VALUES ('POSIX');
SELECT time_zone AS offset_session_gets_utc FROM vicidial.vicidial_campaigns WHERE campaign_id = 'POSIX';
SET TimeZone = 'UTC';

INSERT INTO vicidial.vicidial_campaigns (campaign_id, time_zone, hopper_level) VALUES ('HRS', 'America/New_York', 0);
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id, time_zone, local_call_time) VALUES
    (860, 'HRS', NULL, NULL),
    (861, 'HRS', 'Europe/Berlin', NULL),
    (862, 'HRS', NULL, 'weekdays'),
    (863, 'HRS', NULL, 'never'),
    (864, 'HRS', NULL, 'flip');
INSERT INTO vicidial.vicidial_list (lead_id, list_id, time_zone, state, phone_number) VALUES
    (86001, 860, NULL, NULL, '1'),                  -- the campaign's zone
    (86002, 861, NULL, NULL, '2'),                  -- the list's zone
    (86003, 861, 'America/Chicago', NULL, '3'),     -- its own zone over the list's
    (86004, 860, 'America/Chicago', 'TX', '4'),     -- a state rule narrows
    (86005, 860, NULL, 'CA', '5'),                  -- a 24-hour state rule does not widen
    (86006, 862, NULL, NULL, '6'),                  -- a list call time narrows
    (86007, 863, NULL, NULL, '7'),                  -- never dialable
    (86008, 864, NULL, NULL, '8'),                  -- open, until its call time closes
    (86009, 860, 'Asia/Kathmandu', NULL, '9');

-- The zone each lead is read in: its own, else its list's, else its campaign's.
SELECT lead_id, zone, call_times FROM vicidial.lead_hours WHERE lead_id BETWEEN 86001 AND 86009 ORDER BY lead_id;

-- One instant, both sides of a window: 13:30 UTC is 08:30 in New York,
-- 14:30 in Berlin, 07:30 in Chicago.
SELECT lead_id, vicidial.lead_dialable(lead_id, '2027-01-13 13:30+00') AS at_1330_utc,
       vicidial.lead_next_dialable(lead_id, '2027-01-13 13:30+00') AS next
  FROM vicidial.vicidial_list WHERE lead_id BETWEEN 86001 AND 86005 ORDER BY lead_id;

-- [start, stop): 09:00 is in, 21:00 is out, a microsecond before is in.
SELECT vicidial.lead_dialable(86001, '2027-01-13 14:00+00') AS at_0900,
       vicidial.lead_dialable(86001, '2027-01-13 13:59:59.999999+00') AS before_0900,
       vicidial.lead_dialable(86001, '2027-01-14 01:59:59.999999+00') AS before_2100,
       vicidial.lead_dialable(86001, '2027-01-14 02:00+00') AS at_2100;

-- A state rule narrows (Texas: 12:00-20:00 inside the campaign's 9-21) and
-- never widens (California: 24 hours, still 9-21).
SELECT vicidial.lead_dialable(86004, '2027-01-13 17:59+00') AS tx_1159,
       vicidial.lead_dialable(86004, '2027-01-13 18:00+00') AS tx_1200,
       vicidial.lead_dialable(86004, '2027-01-14 01:59+00') AS tx_1959,
       vicidial.lead_dialable(86004, '2027-01-14 02:00+00') AS tx_2000,
       vicidial.lead_dialable(86005, '2027-01-13 13:00+00') AS ca_0800,
       vicidial.lead_dialable(86005, '2027-01-14 03:00+00') AS ca_2200;

-- A list call time narrows: weekdays 09-17, Saturday 10-14, Sunday
-- closed; a holiday closed all day; a holiday narrowed to 12-13.
SELECT d.label, vicidial.lead_dialable(86006, d.at) AS dialable
  FROM (VALUES ('Wed 16:59', timestamptz '2027-01-13 21:59+00'),
               ('Wed 17:00', '2027-01-13 22:00+00'),
               ('Sat 09:30', '2027-01-16 14:30+00'),
               ('Sat 10:00', '2027-01-16 15:00+00'),
               ('Sat 14:00', '2027-01-16 19:00+00'),
               ('Sun 12:00', '2027-01-17 17:00+00'),
               ('holiday Mon 12:00', '2027-01-18 17:00+00'),
               ('narrowed Tue 11:59', '2027-01-19 16:59+00'),
               ('narrowed Tue 12:00', '2027-01-19 17:00+00'),
               ('narrowed Tue 13:00', '2027-01-19 18:00+00')) AS d(label, at)
 ORDER BY d.at;
-- From Saturday afternoon the next hours are Tuesday's narrowed noon.
SELECT vicidial.lead_next_dialable(86006, '2027-01-16 19:00+00') AS after_saturday;

-- 24:00 ends the day: a window to midnight is open at 23:59:59 and closed at 00:00.
UPDATE vicidial.vicidial_lists SET local_call_time = 'night' WHERE list_id = 863;
SELECT vicidial.lead_dialable(86007, '2027-01-14 04:59:59+00') AS at_235959,
       vicidial.lead_dialable(86007, '2027-01-14 05:00+00') AS at_midnight,
       vicidial.lead_dialable(86007, '2027-01-14 03:00+00') AS at_2200;
-- ...intersected with the campaign's 9-21, nothing is left: never dialable.
SELECT vicidial.lead_dialable(86007, '2027-01-14 04:00+00') AS at_2300,
       vicidial.lead_next_dialable(86007, '2027-01-13 00:00+00') AS next_within_366_days;
UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours' WHERE campaign_id = 'HRS';
SELECT vicidial.lead_next_dialable(86007, '2027-01-13 00:00+00') AS next_with_24hours_campaign;
UPDATE vicidial.vicidial_campaigns SET local_call_time = '9am-9pm' WHERE campaign_id = 'HRS';
UPDATE vicidial.vicidial_lists SET local_call_time = 'never' WHERE list_id = 863;

-- Zones are IANA names PostgreSQL knows, exactly (22023), wherever written.
SELECT n, regress.attempt(s) AS attempt FROM (VALUES
    ('lead zone, wrong case', $$INSERT INTO vicidial.vicidial_list (list_id, time_zone) VALUES (860, 'america/new_york')$$),
    ('lead zone, offset',     $$INSERT INTO vicidial.vicidial_list (list_id, time_zone) VALUES (860, '+05')$$),
    ('lead zone, update',     $$UPDATE vicidial.vicidial_list SET time_zone = 'Mars/Olympus' WHERE lead_id = 86001$$),
    ('list zone',             $$UPDATE vicidial.vicidial_lists SET time_zone = 'EST5' WHERE list_id = 860$$),
    ('campaign zone',         $$INSERT INTO vicidial.vicidial_campaigns (campaign_id, time_zone) VALUES ('BADZ', 'Nowhere')$$),
    ('bulk load, one bad',    $$INSERT INTO vicidial.vicidial_list (list_id, time_zone) VALUES (860, 'Europe/Paris'), (860, 'Europe/Pariss')$$)
) AS t(n, s);

-- Call times: pairs are both set or both NULL, start <= stop (23514);
-- the shipped ones cannot change (55000).
SELECT n, regress.attempt(s) AS attempt FROM (VALUES
    ('stop before start',     $$INSERT INTO vicidial.vicidial_call_times (call_time_id, ct_default_start, ct_default_stop) VALUES ('bad', '18:00', '09:00')$$),
    ('half a weekday pair',   $$INSERT INTO vicidial.vicidial_call_times (call_time_id, ct_monday_start) VALUES ('bad', '09:00')$$),
    ('half a holiday pair',   $$INSERT INTO vicidial.vicidial_call_time_holidays (call_time_id, holiday_date, ct_stop) VALUES ('weekdays', '2027-12-25', '12:00')$$),
    ('holiday twice',         $$INSERT INTO vicidial.vicidial_call_time_holidays (call_time_id, holiday_date) VALUES ('weekdays', '2027-01-18')$$),
    ('change 9am-9pm',        $$UPDATE vicidial.vicidial_call_times SET ct_default_stop = '22:00' WHERE call_time_id = '9am-9pm'$$),
    ('delete 24hours',        $$DELETE FROM vicidial.vicidial_call_times WHERE call_time_id = '24hours'$$),
    ('unknown call time',     $$UPDATE vicidial.vicidial_campaigns SET local_call_time = 'nope' WHERE campaign_id = 'HRS'$$)
) AS t(n, s);

-- DST: a wall-clock time is read with the zone rules of its own date. 09:00
-- in New York is 14:00 UTC in January and 13:00 UTC in July, whenever it
-- is asked; the skipped hour is refused (22023); the repeated hour is its
-- earlier instant.
SELECT vicidial.lead_local_time(86001, '2027-01-15 09:00') AS january_0900,
       vicidial.lead_local_time(86001, '2027-07-15 09:00') AS july_0900,
       vicidial.lead_local_time(86001, '2027-11-07 01:30') AS repeated_0130,
       vicidial.lead_local_time(86001, '2027-11-07 01:30') + interval '1 hour' AS its_second_time,
       vicidial.lead_local_time(86009, '2027-01-15 09:00') AS kathmandu_0900;
SELECT regress.attempt($$SELECT vicidial.lead_local_time(86001, '2027-03-14 02:30')$$) AS skipped_0230;
-- Hours opening inside a skipped hour start when the clocks jump.
INSERT INTO vicidial.vicidial_call_times (call_time_id, ct_default_start, ct_default_stop) VALUES ('early', '02:30', '21:00');
UPDATE vicidial.vicidial_campaigns SET local_call_time = 'early' WHERE campaign_id = 'HRS';
SELECT vicidial.lead_next_dialable(86001, '2027-03-14 05:00+00') AS opens_at_the_jump;
UPDATE vicidial.vicidial_campaigns SET local_call_time = '9am-9pm' WHERE campaign_id = 'HRS';

-- Unknown leads and bad instants.
SELECT n, regress.attempt(s) AS attempt FROM (VALUES
    ('unknown lead',        $$SELECT vicidial.lead_dialable(999999)$$),
    ('infinite at',         $$SELECT vicidial.lead_dialable(86001, 'infinity')$$),
    ('null local',          $$SELECT vicidial.lead_local_time(86001, NULL)$$),
    ('blockers of nobody',  $$SELECT * FROM vicidial.lead_dial_blockers(999999)$$)
) AS t(n, s);

-- Scheduling: a time outside the lead's hours is refused (22023), by the
-- functions and by direct DML, with the lead's local time and its next
-- dialable time; a day ahead so the window never stands in the way.
CREATE TEMP TABLE day_ahead AS SELECT (current_date + 10)::timestamp AS local_day;
SELECT d.n, left(r.state, 5) AS sqlstate, r.message ~ 'it is .* there \(America/New_York\); the lead is next dialable at ' AS says_when
  FROM day_ahead, LATERAL (VALUES
    ('schedule 07:30', format($$SELECT vicidial.callback_schedule(86001, 'hank', vicidial.lead_local_time(86001, %L))$$, local_day + time '07:30')),
    ('schedule USERONLY 21:00', format($$SELECT vicidial.callback_schedule(86001, 'hank', vicidial.lead_local_time(86001, %L), 'USERONLY')$$, local_day + time '21:00')),
    ('insert 08:59', format($$INSERT INTO vicidial.vicidial_callbacks (lead_id, callback_time, "user") VALUES (86001, vicidial.lead_local_time(86001, %L), 'hank')$$, local_day + time '08:59'))
  ) AS d(n, s),
  LATERAL (SELECT regress.attempt(d.s) AS m) a,
  LATERAL (SELECT split_part(a.m, ':', 1) AS state, a.m AS message) r;

-- In hours it is taken, and the callback remembers the customer's zone.
SELECT vicidial.callback_schedule(86001, 'hank', vicidial.lead_local_time(86001, local_day + time '09:00'), 'USERONLY') AS hank_cb
  FROM day_ahead \gset
SELECT customer_timezone, (callback_time AT TIME ZONE customer_timezone)::time AS local_time
  FROM vicidial.vicidial_callbacks WHERE callback_id = :hank_cb;
SELECT customer_timezone, customer_time::time, dialable_now = vicidial.lead_dialable(86001) AS dialable_now_is_hours,
       next_dialable >= now() AS next_not_past
  FROM vicidial.agent_callbacks('hank');
-- callback_modify checks hours only for a new time.
SELECT left(regress.attempt(format($$SELECT vicidial.callback_modify(%s, callback_time => vicidial.lead_local_time(86001, %L))$$,
                                   :hank_cb, local_day + time '22:00')), 5) AS modify_to_2200
  FROM day_ahead;
SELECT left(regress.attempt(format($$UPDATE vicidial.vicidial_callbacks SET callback_time = vicidial.lead_local_time(86001, %L) WHERE callback_id = %s$$,
                                   local_day + time '06:00', :hank_cb)), 5) AS dml_to_0600
  FROM day_ahead;
UPDATE vicidial.vicidial_lists SET local_call_time = 'weekdays' WHERE list_id = 860;
SELECT comments FROM vicidial.callback_modify(:hank_cb, comments => 'hours changed, time kept');
UPDATE vicidial.vicidial_lists SET local_call_time = NULL WHERE list_id = 860;

-- The slots of a day on the lead's own calendar: its local half hours
-- inside its hours (09:00 .. 20:30 of a 9am-9pm campaign).
SELECT count(*) AS slots, min(local_time)::time AS first, max(local_time)::time AS last,
       bool_and(slot = vicidial.lead_local_time(86001, local_time)) AS slot_is_local_time
  FROM day_ahead, vicidial.callback_slots(local_day::date, NULL, 86001);
-- A Kathmandu lead (UTC+05:45) gets its own :00 and :30.
SELECT count(*) AS kathmandu_slots, min(local_time)::time AS first,
       bool_and(extract(minute FROM local_time) IN (0, 30)) AS on_local_half_hours
  FROM day_ahead, vicidial.callback_slots(local_day::date, NULL, 86009);
-- A DST day in New York has 23 or 25 hours: with hours all day, 46 or 50 slots.
UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours' WHERE campaign_id = 'HRS';
SELECT d AS dst_day_found, (SELECT count(*) FROM vicidial.callback_slots(d, NULL, 86001)) AS slots,
       ((d + 1)::timestamp AT TIME ZONE 'America/New_York') - (d::timestamp AT TIME ZONE 'America/New_York') AS day_length
  FROM (SELECT min(d)::date AS d FROM generate_series(current_date + 1, current_date + 300, interval '1 day') d
         WHERE ((d + interval '1 day') AT TIME ZONE 'America/New_York') - (d AT TIME ZONE 'America/New_York') <> interval '24 hours') x
 WHERE d IS NOT NULL \gset dst_
SELECT :dst_slots = extract(epoch FROM :'dst_day_length'::interval) / 1800 AS slots_fill_the_dst_day;
UPDATE vicidial.vicidial_campaigns SET local_call_time = '9am-9pm' WHERE campaign_id = 'HRS';
-- A never-dialable lead has no bookable slot.
SELECT count(*) AS never_slots FROM day_ahead, vicidial.callback_slots(local_day::date, NULL, 86007);

-- The sweep: a due callback goes LIVE at its time; an ANYONE lead outside
-- its hours waits in CBHOLD and is released by the first run after they
-- open. Callback at 20:45 New York time, run late at 21:10.
UPDATE vicidial.vicidial_lists SET time_zone = NULL WHERE list_id = 861;
SELECT vicidial.callback_schedule(86002, 'hope', vicidial.lead_local_time(86002, local_day + time '20:45')) AS late_cb
  FROM day_ahead \gset
SELECT s.* FROM day_ahead, vicidial.sweep(vicidial.lead_local_time(86002, local_day + time '21:10')) s;
SELECT c.status, l.status AS lead_status, r.release_after = vicidial.lead_local_time(86002, d.local_day + interval '1 day' + time '09:00') AS waits_for_0900,
       EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = 86002) AS queued
  FROM day_ahead d, vicidial.vicidial_callbacks c
  JOIN vicidial.vicidial_list l ON l.lead_id = c.lead_id
  LEFT JOIN vicidial.callback_releases r ON r.lead_id = c.lead_id
 WHERE c.callback_id = :late_cb;
SELECT b.blocker, b.until = vicidial.lead_local_time(86002, d.local_day + interval '1 day' + time '09:00') AS until_0900
  FROM day_ahead d, vicidial.lead_dial_blockers(86002, vicidial.lead_local_time(86002, d.local_day + time '23:00')) b;
-- Runs through the night do nothing for it.
SELECT s.* FROM day_ahead, vicidial.sweep(vicidial.lead_local_time(86002, local_day + interval '1 day' + time '08:59')) s;
-- The first run at 09:00 releases it.
SELECT s.* FROM day_ahead, vicidial.sweep(vicidial.lead_local_time(86002, local_day + interval '1 day' + time '09:00')) s;
SELECT l.status AS lead_status, h.priority, (SELECT count(*) FROM vicidial.callback_releases) AS still_waiting
  FROM vicidial.vicidial_list l JOIN vicidial.vicidial_hopper h ON h.lead_id = l.lead_id WHERE l.lead_id = 86002;

-- A release is looked at again when the hours change: a lead told to wait
-- until tomorrow is released by the next run once its list opens now.
SELECT vicidial.callback_schedule(86003, 'hope', vicidial.lead_local_time(86003, local_day + time '20:00')) AS cb3
  FROM day_ahead \gset
SELECT went_live, hopper_inserted FROM day_ahead, vicidial.sweep(vicidial.lead_local_time(86003, local_day + time '22:00'));
SELECT release_after > now() AS waits FROM vicidial.callback_releases WHERE lead_id = 86003;
UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours' WHERE campaign_id = 'HRS';
-- (the change leaves the entry as it was, decided on hours now old)
SELECT release_after > now() AS still_dated, hours_version < vicidial._hours_version() AS decided_on_old_hours
  FROM vicidial.callback_releases WHERE lead_id = 86003;
SELECT went_live, hopper_inserted FROM day_ahead, vicidial.sweep(vicidial.lead_local_time(86003, local_day + time '22:01'));
UPDATE vicidial.vicidial_campaigns SET local_call_time = '9am-9pm' WHERE campaign_id = 'HRS';

-- A USERONLY callback made ANYONE by direct DML while LIVE waits for a run
-- like any other; outside hours it waits for them.
SELECT vicidial.callback_schedule(86005, 'hank', vicidial.lead_local_time(86005, local_day + time '10:00'), 'USERONLY') AS cb5
  FROM day_ahead \gset
SELECT went_live, useronly FROM day_ahead, vicidial.sweep(vicidial.lead_local_time(86005, local_day + time '10:00'));
UPDATE vicidial.vicidial_callbacks SET recipient = 'ANYONE' WHERE callback_id = :cb5;
SELECT release_after FROM vicidial.callback_releases WHERE lead_id = 86005;
SELECT hopper_inserted FROM day_ahead, vicidial.sweep(vicidial.lead_local_time(86005, local_day + time '23:00'));
SELECT l.status, r.release_after = vicidial.lead_local_time(86005, d.local_day + interval '1 day' + time '09:00') AS waits_for_0900
  FROM day_ahead d, vicidial.vicidial_list l JOIN vicidial.callback_releases r ON r.lead_id = l.lead_id WHERE l.lead_id = 86005;
SELECT * FROM vicidial.invariant_violations();

-- The fill adds only leads inside their hours, deciding per zone, and does
-- not count toward hopper_level a queued row that hopper_next would pass
-- over. At 13:30 UTC on a Wednesday Berlin (14:30) is open, New York
-- (08:30) and Chicago (07:30) are not.
INSERT INTO vicidial.vicidial_campaigns (campaign_id, time_zone, hopper_level) VALUES ('FIL', 'America/New_York', 3);
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (870, 'FIL');
INSERT INTO vicidial.vicidial_list (lead_id, list_id, time_zone, state) VALUES
    (87101, 870, NULL, NULL), (87102, 870, 'Europe/Berlin', NULL), (87103, 870, 'America/Chicago', NULL),
    (87104, 870, 'Europe/Berlin', 'TX'), (87105, 870, 'Europe/Berlin', NULL), (87106, 870, 'Europe/Berlin', NULL),
    (87107, 870, 'Europe/Berlin', NULL);
-- A New York lead queued by hand waits there, not counted.
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (87101, 'FIL', 870);
SELECT vicidial.hopper_fill('2027-01-13 13:30+00') AS filled;
SELECT h.lead_id, l.time_zone, l.state FROM vicidial.vicidial_hopper h JOIN vicidial.vicidial_list l USING (lead_id)
 WHERE h.campaign_id = 'FIL' ORDER BY h.lead_id;
-- At 21:30 UTC New York (16:30) and Chicago (15:30) are open, Berlin
-- (22:30) is not.
DELETE FROM vicidial.vicidial_hopper WHERE campaign_id = 'FIL';
UPDATE vicidial.vicidial_campaigns SET hopper_level = 10 WHERE campaign_id = 'FIL';
SELECT vicidial.hopper_fill('2027-01-13 21:30+00') AS filled_at_2130_utc;
SELECT array_agg(h.lead_id ORDER BY h.lead_id) AS queued_at_2130_utc
  FROM vicidial.vicidial_hopper h WHERE h.campaign_id = 'FIL';

-- hopper_next passes over a lead outside its hours without waiting and
-- without removing its row; callback_dial refuses (55000).
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level) VALUES ('NXT', 0);
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id, local_call_time) VALUES (880, 'NXT', 'never'), (881, 'NXT', 'flip');
UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours' WHERE campaign_id = 'NXT';
INSERT INTO vicidial.vicidial_list (lead_id, list_id) VALUES (88201, 880), (88202, 881), (88203, 881);
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id, priority) VALUES (88201, 'NXT', 880, 99), (88202, 'NXT', 881, 1);
SELECT lead_id FROM vicidial.hopper_next('NXT', 'hope');
-- 88201 keeps its row, place and priority, set aside (WAIT) until its
-- hours open, so that the next hand-out does not read it again.
SELECT lead_id, priority, status, dialable_after IS NOT NULL AS waits_until_a_time FROM vicidial.vicidial_hopper WHERE campaign_id = 'NXT';
SELECT count(*) AS nothing_left FROM vicidial.hopper_next('NXT', 'hank');
SELECT vicidial.lead_disposition(88202, 'hope', 'SALE') IS NULL AS hope_hangs_up;
SELECT vicidial.callback_schedule(88203, 'hope', vicidial._half_hour_start(now())) AS cb8203 \gset
UPDATE vicidial.vicidial_call_times SET ct_default_stop = '00:00' WHERE call_time_id = 'flip';
SELECT regress.attempt(format('SELECT vicidial.callback_dial(%s, %L)', :cb8203, 'hope')) ~ '^55000: lead 88203 of callback \d+ is outside its calling hours: it is .* there' AS dial_refused;
SELECT blocker, CASE WHEN blocker <> 'HOURS' THEN detail END AS detail FROM vicidial.lead_dial_blockers(88203);
-- Inactive list and campaign are reported, in order, beside the hours.
UPDATE vicidial.vicidial_lists SET active = false WHERE list_id = 880;
UPDATE vicidial.vicidial_campaigns SET active = false WHERE campaign_id = 'NXT';
SELECT blocker, CASE WHEN blocker <> 'HOURS' THEN detail END AS detail, until FROM vicidial.lead_dial_blockers(88201);
SELECT count(*) AS blockers_of_a_dialable_lead FROM vicidial.lead_dial_blockers(87102, '2027-01-13 13:30+00');

-- The admin's list shows the customer's clock.
SELECT lead_id, status, customer_timezone, customer_time::time,
       dialable_now = vicidial.lead_dialable(lead_id) AS dialable_now_is_hours,
       next_dialable = CASE WHEN dialable_now THEN now() ELSE vicidial.lead_next_dialable(lead_id) END AS next_is_next
  FROM vicidial.callbacks_report(campaign => 'HRS', sort_by => 'lead_id') WHERE status <> 'ARCHIVE';

-- A window is read once per call site while nothing could make it read
-- otherwise (src/hours_window.c). PL/pgSQL keeps a simple expression's
-- call site for the whole transaction, so this function's call of
-- _hours_open serves the statements of a transaction from one cache: the
-- transaction's own change of the hours is still seen by its next
-- statement (closed at 10:00, then open). REPEATABLE READ, so that no
-- other session's commit (autovacuum's) moves the snapshot between the
-- two reads that must share a window.
CREATE FUNCTION regress.open_kept(zone text, call_times varchar[], at timestamptz) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN vicidial._hours_open(zone, call_times, at);
END $$;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT regress.open_kept('UTC', '{noon}', '2027-01-20 10:00+00') AS open_at_ten;
SELECT coalesce(sum(seq_scan + idx_scan), 0) AS scans FROM pg_stat_xact_user_tables
 WHERE relid = 'vicidial.vicidial_call_times'::regclass \gset
SELECT regress.open_kept('UTC', '{noon}', '2027-01-20 10:00+00') AS open_at_ten_again;
SELECT sum(seq_scan + idx_scan) - :scans AS call_times_read_again FROM pg_stat_xact_user_tables
 WHERE relid = 'vicidial.vicidial_call_times'::regclass;
UPDATE vicidial.vicidial_call_times SET ct_default_start = '09:00' WHERE call_time_id = 'noon';
SELECT regress.open_kept('UTC', '{noon}', '2027-01-20 10:00+00') AS open_at_ten_after_change;
ROLLBACK;

-- A subtransaction rolled back takes its change of the hours with it,
-- though the snapshot may not move (REPEATABLE READ keeps one; ROLLBACK
-- TO counts no command): open after the change, closed again after.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SAVEPOINT before_change;
UPDATE vicidial.vicidial_call_times SET ct_default_start = '09:00' WHERE call_time_id = 'noon';
SELECT regress.open_kept('UTC', '{noon}', '2027-01-20 10:00+00') AS open_in_savepoint;
ROLLBACK TO before_change;
SELECT regress.open_kept('UTC', '{noon}', '2027-01-20 10:00+00') AS open_after_rollback;
ROLLBACK;
-- The same in READ COMMITTED, a savepoint inside another: the inner one
-- rolled back keeps the change, the outer one takes it.
BEGIN;
SAVEPOINT outer_change;
UPDATE vicidial.vicidial_call_times SET ct_default_start = '09:00' WHERE call_time_id = 'noon';
SAVEPOINT inner_change;
CREATE TEMP TABLE inner_scratch (i integer);
ROLLBACK TO inner_change;
SELECT regress.open_kept('UTC', '{noon}', '2027-01-20 10:00+00') AS open_after_inner_rollback;
ROLLBACK TO outer_change;
SELECT regress.open_kept('UTC', '{noon}', '2027-01-20 10:00+00') AS open_after_outer_rollback;
ROLLBACK;
-- And a PL/pgSQL block that fails: its change is gone after it.
BEGIN ISOLATION LEVEL REPEATABLE READ;
DO $$
BEGIN
    BEGIN
        UPDATE vicidial.vicidial_call_times SET ct_default_start = '09:00' WHERE call_time_id = 'noon';
        RAISE NOTICE 'open in the block: %', regress.open_kept('UTC', '{noon}', '2027-01-20 10:00+00');
        RAISE division_by_zero;
    EXCEPTION WHEN division_by_zero THEN
        NULL;
    END;
    RAISE NOTICE 'open after the block failed: %', regress.open_kept('UTC', '{noon}', '2027-01-20 10:00+00');
END $$;
ROLLBACK;
-- What it saves: one statement asking a window a hundred times on two
-- dates reads the call times twice.
BEGIN;
SELECT coalesce(sum(seq_scan + idx_scan), 0) AS scans FROM pg_stat_xact_user_tables
 WHERE relid = 'vicidial.vicidial_call_times'::regclass \gset
SELECT count(*) FILTER (WHERE (vicidial._hours_window('{noon}', '2027-01-20'::date + g % 2)).start = '12:00') AS noon_openings
  FROM generate_series(1, 100) g;
SELECT sum(seq_scan + idx_scan) - :scans AS call_times_read FROM pg_stat_xact_user_tables
 WHERE relid = 'vicidial.vicidial_call_times'::regclass;
ROLLBACK;
-- Nor is a window read by one role served to another in the same
-- transaction: a role that may run the functions but not read the call
-- times is refused, though the owner read the same window just before.
CREATE ROLE regress_hours_reader;
GRANT USAGE ON SCHEMA vicidial TO regress_hours_reader;
GRANT USAGE ON SCHEMA regress TO regress_hours_reader;
GRANT EXECUTE ON FUNCTION vicidial._hours_open(text, varchar[], timestamptz),
    vicidial._hours_window(varchar[], date), regress.open_kept(text, varchar[], timestamptz) TO regress_hours_reader;
BEGIN;
SELECT regress.open_kept('UTC', '{noon}', '2027-01-20 13:00+00') AS open_read_by_owner;
SET LOCAL ROLE regress_hours_reader;
\set VERBOSITY terse
SELECT regress.open_kept('UTC', '{noon}', '2027-01-20 13:00+00') AS open_read_by_reader;
\set VERBOSITY default
ROLLBACK;
DROP OWNED BY regress_hours_reader;
DROP ROLE regress_hours_reader;
DROP FUNCTION regress.open_kept(text, varchar[], timestamptz);

-- _hours_open is C (src/hours_window.c): it answers as its definition,
-- written here in SQL, on every zone, call-times set and instant of a
-- grid that crosses holidays, a weekend, two DST changes, midnight and
-- every NULL and infinity.
CREATE FUNCTION regress.hours_open_by_definition(zone text, call_times varchar[], at timestamptz) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(l.local::time >= w.start AND l.local::time < w.stop, false)
      FROM (SELECT at AT TIME ZONE zone) AS l(local)
     CROSS JOIN LATERAL vicidial._hours_window(call_times, l.local::date) AS w
$$;
WITH grid AS (
    SELECT z.zone, c.call_times, a.at
      FROM unnest(ARRAY['America/New_York', 'Europe/Berlin', 'Asia/Kathmandu', 'UTC', NULL]) AS z(zone)
     CROSS JOIN (VALUES ('{weekdays}'::varchar[]), ('{noon}'), ('{night}'), ('{never}'), ('{flip}'), ('{weekdays,noon}'),
                        ('{noon,NULL}'), ('{missing}'), ('{}'), (NULL)) AS c(call_times)
     CROSS JOIN (SELECT g FROM generate_series('2027-01-15 00:00+00'::timestamptz, '2027-01-21 00:00+00', '17 minutes') g
                 UNION ALL
                 SELECT g FROM generate_series('2027-03-13 00:00+00'::timestamptz, '2027-03-15 00:00+00', '10 minutes') g
                 UNION ALL
                 SELECT g FROM generate_series('2027-03-27 00:00+00'::timestamptz, '2027-03-29 00:00+00', '10 minutes') g
                 UNION ALL
                 VALUES (NULL::timestamptz), ('infinity'), ('-infinity')) AS a(at))
SELECT count(*) AS asked, count(*) FILTER (WHERE vicidial._hours_open(zone, call_times, at)) AS open,
       count(*) FILTER (WHERE vicidial._hours_open(zone, call_times, at)
                              IS DISTINCT FROM regress.hours_open_by_definition(zone, call_times, at)) AS disagreeing
  FROM grid;
DROP FUNCTION regress.hours_open_by_definition(text, varchar[], timestamptz);
-- An unknown zone is AT TIME ZONE's error, with call times or without.
SELECT regress.attempt($$SELECT vicidial._hours_open('Mars/Olympus', '{noon}', '2027-01-20 10:00+00')$$) AS unknown_zone,
       regress.attempt($$SELECT vicidial._hours_open('Mars/Olympus', NULL, '2027-01-20 10:00+00')$$) AS unknown_zone_no_call_times;

-- Neither the window and the predicate nor the agent check
-- (src/bound_agent.c) carries a SET clause: their queries name the schema
-- of everything, so that a caller's search_path cannot change them. Here
-- one puts before pg_catalog an unnest that turns "never" into "24hours"
-- and an = on varchar that is always true (any agent name would match).
BEGIN;
CREATE SCHEMA regress_hijack;
CREATE FUNCTION regress_hijack.unnest(varchar[]) RETURNS SETOF varchar LANGUAGE sql AS $$ SELECT '24hours'::varchar $$;
CREATE FUNCTION regress_hijack.always(varchar, varchar) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR regress_hijack.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = regress_hijack.always);
SET LOCAL search_path = regress_hijack, pg_catalog;
SELECT vicidial._hours_open('UTC', '{never}', '2027-01-20 10:00+00') AS never_open_with_hijack,
       (vicidial._hours_window('{never}', '2027-01-20')).stop AS never_window_stop;
SELECT regress.attempt($$SELECT vicidial._bound_agent('nobody', false)$$) AS agent_with_hijack;
ROLLBACK;
