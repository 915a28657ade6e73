-- The time window of callback_schedule and the slots of callback_slots:
-- from the start of the current half hour (the popup's default, due at
-- once) to now + the campaign's callback_days_limit days.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';

INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name, callback_days_limit) VALUES ('WIN', 'Ten days', 10);
-- This file is about the day's flow, not calling hours (sql/hours.sql): dial around the clock.
UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours';
INSERT INTO vicidial.vicidial_lists (list_id, list_name, campaign_id) VALUES (700, 'Window', 'WIN');
INSERT INTO vicidial.vicidial_list (lead_id, list_id) SELECT g, 700 FROM generate_series(7001, 7010) g;

-- The half hour is local: in Kathmandu (+05:45) 10:47 UTC is 16:32, whose
-- half hour began at 16:30 local, 10:45 UTC.
SELECT vicidial._half_hour_start('2026-03-01 10:47:13+00') AS utc_half_hour;
SET TimeZone = 'Asia/Kathmandu';
SELECT vicidial._half_hour_start('2026-03-01 10:47:13+00') AS kathmandu_half_hour;
SET TimeZone = 'UTC';

-- The start of the current half hour is accepted and due at once; a minute
-- before it is not.
SELECT regress.attempt($$SELECT vicidial.callback_schedule(7001, 'agent2', vicidial._half_hour_start(now()))$$) AS current_half_hour;
SELECT regress.attempt($$SELECT vicidial.callback_schedule(7002, 'agent2', vicidial._half_hour_start(now()) - interval '1 minute')$$) AS minute_before;
SELECT went_live FROM vicidial.sweep(now());
SELECT lead_id, status FROM vicidial.vicidial_list WHERE lead_id IN (7001, 7002) ORDER BY lead_id;

-- callback_days_limit: 10 days to the second, not a second more.
BEGIN;
SELECT regress.attempt($$SELECT vicidial.callback_schedule(7003, 'agent2', now() + interval '10 days')$$) AS ten_days;
SELECT regress.attempt($$SELECT vicidial.callback_schedule(7004, 'agent2', now() + interval '10 days 1 second')$$) AS ten_days_and_a_second;
COMMIT;
-- Without a campaign limit, a year.
INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name, local_call_time) VALUES ('YEAR', 'Default limit', '24hours');
INSERT INTO vicidial.vicidial_lists (list_id, list_name, campaign_id) VALUES (701, 'Year', 'YEAR');
INSERT INTO vicidial.vicidial_list (lead_id, list_id) VALUES (7101, 701), (7102, 701);
BEGIN;
SELECT regress.attempt($$SELECT vicidial.callback_schedule(7101, 'agent2', now() + interval '365 days')$$) AS a_year;
SELECT regress.attempt($$SELECT vicidial.callback_schedule(7102, 'agent2', now() + interval '365 days 1 second')$$) AS a_year_and_a_second;
COMMIT;

-- Slots of today: from the current half hour, which is the default, to midnight.
SELECT count(*) = extract(epoch FROM (current_date + 1)::timestamptz - vicidial._half_hour_start(now())) / 1800 AS to_midnight,
       min(slot) = vicidial._half_hour_start(now()) AS starts_now,
       count(*) FILTER (WHERE is_default) AS defaults,
       bool_and(is_default = (slot = vicidial._half_hour_start(now()))) AS default_is_current
  FROM vicidial.callback_slots(current_date);
-- Yesterday has none; tomorrow all 48, none default.
SELECT count(*) AS yesterday FROM vicidial.callback_slots(current_date - 1);
SELECT count(*) AS tomorrow, count(*) FILTER (WHERE is_default) AS defaults,
       min(slot) = (current_date + 1)::timestamptz AS from_midnight,
       max(slot) = (current_date + 1)::timestamptz + interval '23:30' AS to_half_past_eleven
  FROM vicidial.callback_slots(current_date + 1);
-- The campaign's limit ends its slots: day 10 is cut at now + 10 days, day 11 is empty.
SELECT count(*) AS day_11 FROM vicidial.callback_slots(current_date + 11, 'WIN');
SELECT max(slot) <= now() + interval '10 days' AND max(slot) > now() + interval '10 days' - interval '30 minutes' AS day_10_cut
  FROM vicidial.callback_slots(current_date + 10, 'WIN');
SELECT count(*) AS day_11_no_campaign FROM vicidial.callback_slots(current_date + 11);
-- Without a campaign the limit is a year: day 364 is whole, day 366 empty.
SELECT count(*) AS day_364_no_campaign FROM vicidial.callback_slots(current_date + 364);
SELECT count(*) AS day_366_no_campaign FROM vicidial.callback_slots(current_date + 366);

-- Every slot offered is accepted, and the one after the last is not.
SELECT max(slot) AS last_slot FROM vicidial.callback_slots(current_date + 10, 'WIN') \gset
SELECT regress.attempt(format('SELECT vicidial.callback_schedule(7005, %L, %L)', 'agent2', :'last_slot')) AS last_slot;
SELECT regress.attempt(format('SELECT vicidial.callback_schedule(7006, %L, %L::timestamptz + interval %L)', 'agent2', :'last_slot', '30 minutes')) AS after_last;
SELECT bool_and(regress.attempt(format('SELECT vicidial.callback_schedule(7007, %L, %L)', 'agent2', slot)) = 'ok') AS all_tomorrow_accepted
  FROM vicidial.callback_slots(current_date + 1, 'WIN');

-- A DST day has 46 or 50 slots in the session's zone: every whole day of
-- the coming year has one slot per local half hour, and at least one of
-- them is a DST day (New York changes clocks twice a year).
SET TimeZone = 'America/New_York';
SELECT bool_and(n = hours * 2) AS one_slot_per_half_hour, bool_or(n <> 48) AS a_dst_day_seen,
       bool_and(n IN (46, 48, 50)) AS only_46_48_50
  FROM (SELECT d, (SELECT count(*) FROM vicidial.callback_slots(d)) AS n,
               extract(epoch FROM (d + 1)::timestamptz - d::timestamptz) / 3600 AS hours
          FROM generate_series(current_date + 1, current_date + 364, interval '1 day') AS g(day), LATERAL (SELECT g.day::date AS d) x) days;
SET TimeZone = 'UTC';
