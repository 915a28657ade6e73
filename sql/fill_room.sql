-- The fill skips its count of the hoppers' room while every hopper is
-- known to be full: until the first zone whose rows count closes (15
-- minutes at most), and until a change that can make room is marked. Each way room can appear
-- is shown to make the next fill count again, and the skip is shown by a
-- change made behind the marks' back.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';

INSERT INTO vicidial.vicidial_call_times (call_time_id, ct_default_start, ct_default_stop) VALUES ('room', '09:00', '17:00');
INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name, hopper_level, local_call_time, time_zone) VALUES
    ('ROOM', 'Room', 2, 'room', 'UTC');
INSERT INTO vicidial.vicidial_lists (list_id, list_name, campaign_id, active) VALUES (700, 'Room list', 'ROOM', true);
-- 7001-7006 dial on UTC's clock, 7007-7009 on New York's (4 or 5 hours
-- behind: its 9 to 17 is closed at 12:xx UTC and open at 15:50-16:00 UTC).
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status, called_since_last_reset, time_zone)
SELECT g, 700, 'NEW', 'N', CASE WHEN g >= 7007 THEN 'America/New_York' END FROM generate_series(7001, 7009) g;
SELECT date_trunc('day', now()) + interval '4 days 12:00' AS t \gset

CREATE FUNCTION pg_temp.record() RETURNS TABLE (counted_at text, full_until text, changes bigint) LANGUAGE sql AS $$
    SELECT to_char(r.counted_at, 'HH24:MI:SS'), to_char(r.full_until, 'HH24:MI:SS'),
           (SELECT count(*) FROM vicidial.hopper_room_changes)
      FROM (SELECT 1) one LEFT JOIN vicidial.hopper_room_count r ON true
$$;
CREATE FUNCTION pg_temp.queued() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(h.lead_id::text || ':' || h.status, ' ' ORDER BY h.lead_id) FROM vicidial.vicidial_hopper h
$$;

-- At 12:00 UTC New York's leads are outside their hours: the fill takes
-- two of UTC's and, having found room, remembers nothing.
SELECT vicidial.hopper_fill(:'t') AS filled, pg_temp.queued();
SELECT * FROM pg_temp.record();
-- The next count finds the hopper full, and vouches for 15 minutes (UTC's
-- hours close later, at 17:00).
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '1 minute') AS filled;
SELECT * FROM pg_temp.record();

-- The skip: a row taken out behind the marks' back is not seen, as long
-- as the clock and the hours vouch for the count...
ALTER TABLE vicidial.vicidial_hopper DISABLE TRIGGER hopper_room_removed;
DELETE FROM vicidial.vicidial_hopper WHERE lead_id = 7002;
ALTER TABLE vicidial.vicidial_hopper ENABLE TRIGGER hopper_room_removed;
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '2 minutes') AS skipped, pg_temp.queued();
SELECT * FROM pg_temp.record();
-- ...but a run at an instant before the count is not vouched for: it
-- counts again, and sees the row gone.
SELECT vicidial.hopper_fill(:'t'::timestamptz - interval '1 minute') AS counted, pg_temp.queued();
SELECT * FROM pg_temp.record();

-- A row taken out makes room (a hand-out deletes it the same way; the
-- agents' functions read the wall clock, which this file keeps out).
DELETE FROM vicidial.vicidial_hopper WHERE lead_id = 7001;
SELECT * FROM pg_temp.record();
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '3 minutes') AS filled, pg_temp.queued();
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '4 minutes') AS filled, pg_temp.queued();
SELECT * FROM pg_temp.record();
-- A statement of the hopper that changes no row marks nothing.
DELETE FROM vicidial.vicidial_hopper WHERE lead_id = 7009;
UPDATE vicidial.vicidial_hopper SET priority = 1 WHERE status = 'WAIT';
SELECT * FROM pg_temp.record();

-- So does a campaign's higher level.
UPDATE vicidial.vicidial_campaigns SET hopper_level = 3 WHERE campaign_id = 'ROOM';
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '5 minutes') AS filled, pg_temp.queued();

-- And a queued lead moved to New York's clock, whose row stops counting.
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '6 minutes') AS filled;
UPDATE vicidial.vicidial_list SET time_zone = 'America/New_York' WHERE lead_id = 7003;
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '7 minutes') AS filled, pg_temp.queued();

-- And a dial logged by hand that puts a queued lead at its 24-hour limit.
UPDATE vicidial.vicidial_campaigns SET call_limit_24hour = 1 WHERE campaign_id = 'ROOM';
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '8 minutes') AS filled;
SELECT * FROM pg_temp.record();
INSERT INTO vicidial.vicidial_log (lead_id, list_id, campaign_id, call_date)
VALUES (7004, 700, 'ROOM', :'t'::timestamptz + interval '8 minutes');
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '9 minutes') AS filled, pg_temp.queued();

-- And a queued row set aside (as hopper_next sets aside a row outside its
-- lead's hours), which stops counting.
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '9 minutes 30 seconds') AS filled;
UPDATE vicidial.vicidial_hopper SET status = 'WAIT', dialable_after = :'t'::timestamptz + interval '1 hour',
                                    hours_version = vicidial._hours_version()
 WHERE lead_id = 7005;
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '9 minutes 40 seconds') AS filled, pg_temp.queued();

-- A change of hours is compared, not marked: the next fill counts.
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '10 minutes') AS filled;
UPDATE vicidial.vicidial_call_times SET ct_default_stop = '16:00' WHERE call_time_id = 'room';
SELECT * FROM pg_temp.record();
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '11 minutes') AS filled;
SELECT * FROM pg_temp.record();

-- The 15 minutes up, the fill counts again.
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '25 minutes 59 seconds') AS filled;
SELECT * FROM pg_temp.record();
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '26 minutes') AS filled;
SELECT * FROM pg_temp.record();

-- The clock: a count at 15:50 vouches until 16:00, when UTC's hours
-- close; then UTC's rows stop counting, and the fill takes New York's
-- leads.
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '3 hours 50 minutes') AS filled;
SELECT * FROM pg_temp.record();
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '3 hours 59 minutes 59 seconds') AS before_close;
SELECT * FROM pg_temp.record();
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '4 hours') AS at_close, pg_temp.queued();

-- An emptied hopper is counted again.
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '4 hours 1 minute') AS filled;
TRUNCATE vicidial.vicidial_hopper;
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '4 hours 2 minutes') AS filled, pg_temp.queued();

-- Truncating an hours table is a change of hours too.
SELECT vicidial._hours_version() AS version \gset
TRUNCATE vicidial.vicidial_call_time_holidays;
TRUNCATE vicidial.vicidial_state_call_times;
SELECT vicidial._hours_version() - :version AS counted_up;

-- The count reads a queued row's hours key from the row, not from its
-- lead, while the key holds (37_hopper_room.sql). A campaign of its own,
-- on UTC's hours (open at 12:00 UTC, New York's closed).
UPDATE vicidial.vicidial_campaigns SET active = false WHERE campaign_id = 'ROOM';
INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name, hopper_level, local_call_time, time_zone) VALUES
    ('KEY', 'Keys', 2, '24hours', 'UTC');
INSERT INTO vicidial.vicidial_call_times (call_time_id, ct_default_start, ct_default_stop) VALUES ('keys', '09:00', '17:00');
UPDATE vicidial.vicidial_campaigns SET local_call_time = 'keys' WHERE campaign_id = 'KEY';
INSERT INTO vicidial.vicidial_lists (list_id, list_name, campaign_id, active) VALUES (710, 'Keys list', 'KEY', true);
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status, called_since_last_reset)
SELECT g, 710, 'NEW', 'N' FROM generate_series(7101, 7105) g;
-- The fill keys what it queues, on the hours' current version.
SELECT vicidial.hopper_fill(:'t'::timestamptz) AS filled;
SELECT lead_id, hours_zone, hours_call_times, hours_keyed_on = vicidial._hours_version() AS on_current_hours
  FROM vicidial.vicidial_hopper WHERE campaign_id = 'KEY' ORDER BY lead_id;
-- A lead's zone changed clears its key: read from the lead, it is outside
-- its hours, so it does not count and the fill queues another.
UPDATE vicidial.vicidial_list SET time_zone = 'America/New_York' WHERE lead_id = 7102;
SELECT lead_id, hours_keyed_on IS NULL AS key_cleared FROM vicidial.vicidial_hopper WHERE lead_id = 7102;
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '1 minute') AS filled, pg_temp.queued();
-- A change of hours leaves every key on an older version: the campaign
-- moved to New York's clock, no queued row counts (the count finds room,
-- and remembers nothing), though none can be added.
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '2 minutes') AS filled, pg_temp.record();
UPDATE vicidial.vicidial_campaigns SET time_zone = 'America/New_York' WHERE campaign_id = 'KEY';
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '3 minutes') AS filled, pg_temp.record();
-- A key written by hand by an update is not trusted (here a wrong one),
-- and the count reads the lead.
UPDATE vicidial.vicidial_campaigns SET time_zone = 'UTC' WHERE campaign_id = 'KEY';
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '4 minutes') AS filled, pg_temp.record();
UPDATE vicidial.vicidial_hopper SET hours_zone = 'America/New_York', hours_keyed_on = vicidial._hours_version()
 WHERE lead_id = 7101;
SELECT lead_id, hours_zone, hours_keyed_on IS NULL AS not_trusted FROM vicidial.vicidial_hopper WHERE lead_id = 7101;
-- The count reads that lead (UTC, open): still full.
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '5 minutes') AS filled, pg_temp.record();
-- An update never makes a key trusted: a row moved to another lead, even
-- one with the same key (7105, UTC as 7101), leaves it untrusted.
UPDATE vicidial.vicidial_hopper SET lead_id = 7105 WHERE lead_id = 7101;
SELECT lead_id, hours_zone, hours_keyed_on IS NULL AS not_trusted FROM vicidial.vicidial_hopper WHERE lead_id = 7105;
DELETE FROM vicidial.vicidial_hopper WHERE lead_id = 7105;
-- A row queued again with its lead's key, as the fill queues it.
CREATE FUNCTION pg_temp.rekey(lead bigint) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    queued vicidial.vicidial_hopper;
BEGIN
    DELETE FROM vicidial.vicidial_hopper h WHERE h.lead_id = lead RETURNING * INTO queued;
    INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id, priority, hours_zone, hours_call_times, hours_keyed_on)
    SELECT queued.lead_id, queued.campaign_id, queued.list_id, queued.priority, r.zone, r.call_times, vicidial._hours_version()
      FROM vicidial.lead_rules r WHERE r.lead_id = lead;
    RETURN (SELECT h.hours_keyed_on = vicidial._hours_version() FROM vicidial.vicidial_hopper h WHERE h.lead_id = lead);
END $$;
-- Rows inserted with a key keep it only if it is the lead's, on a version
-- already reached: 7105's right key is trusted, 7106's wrong one and a
-- right one on a version still to come are not.
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status, called_since_last_reset, time_zone)
VALUES (7106, 710, 'DIALED', 'Y', 'America/New_York'), (7107, 710, 'DIALED', 'Y', NULL);
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id, hours_zone, hours_call_times, hours_keyed_on)
SELECT g, 'KEY', 710, 'UTC', '{keys,NULL,NULL}', vicidial._hours_version() + CASE WHEN g = 7107 THEN 1 ELSE 0 END
  FROM generate_series(7105, 7107) g;
SELECT lead_id, hours_keyed_on = vicidial._hours_version() AS trusted FROM vicidial.vicidial_hopper
 WHERE lead_id BETWEEN 7105 AND 7107 ORDER BY lead_id;
DELETE FROM vicidial.vicidial_hopper WHERE lead_id BETWEEN 7105 AND 7107;
-- A lead's state and list changed clear its key as its zone does.
SELECT lead_id, hours_keyed_on IS NOT NULL AS keyed FROM vicidial.vicidial_hopper WHERE campaign_id = 'KEY' ORDER BY lead_id;
INSERT INTO vicidial.vicidial_lists (list_id, list_name, campaign_id, active) VALUES (711, 'Keys list 2', 'KEY', true);
SELECT pg_temp.rekey(7103) AS trusted;
UPDATE vicidial.vicidial_list SET state = 'TX' WHERE lead_id = 7103;
SELECT lead_id, hours_keyed_on IS NULL AS cleared_by_state FROM vicidial.vicidial_hopper WHERE lead_id = 7103;
SELECT pg_temp.rekey(7103) AS trusted;
UPDATE vicidial.vicidial_list SET list_id = 711 WHERE lead_id = 7103;
SELECT lead_id, hours_keyed_on IS NULL AS cleared_by_list FROM vicidial.vicidial_hopper WHERE lead_id = 7103;
-- Such a change counts no version up: only that row's key is cleared.
SELECT vicidial._hours_version() AS version \gset
UPDATE vicidial.vicidial_list SET state = 'CA' WHERE lead_id IN (7103, 7104);
SELECT vicidial._hours_version() - :version AS counted_up;
-- A REPEATABLE READ or SERIALIZABLE writer may not see a row queued after
-- its snapshot, so it may not make that change (55000).
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT regress.attempt($$UPDATE vicidial.vicidial_list SET state = NULL WHERE lead_id = 7103$$) AS rr_state;
ROLLBACK;
UPDATE vicidial.vicidial_list SET state = NULL WHERE lead_id IN (7103, 7104);
-- Adding or removing a list or a campaign counts the version up; a
-- statement that adds or removes none does not.
SELECT vicidial._hours_version() AS version \gset
INSERT INTO vicidial.vicidial_lists (list_id, list_name, campaign_id, active) VALUES (712, 'Keys list 3', 'KEY', true);
SELECT vicidial._hours_version() - :version AS list_added;
DELETE FROM vicidial.vicidial_lists WHERE list_id = 712;
SELECT vicidial._hours_version() - :version AS and_removed;
INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name) VALUES ('KEY2', 'Keys 2');
SELECT vicidial._hours_version() - :version AS campaign_added;
DELETE FROM vicidial.vicidial_campaigns WHERE campaign_id = 'KEY2';
SELECT vicidial._hours_version() - :version AS and_removed;
SELECT vicidial._hours_version() AS version \gset
DELETE FROM vicidial.vicidial_lists WHERE list_id = 712;
INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name) VALUES ('KEY', 'Keys') ON CONFLICT DO NOTHING;
SELECT vicidial._hours_version() - :version AS none_added_or_removed;
-- A change made with triggers off is not seen: the count believes the key
-- it left (7101 moved to New York's clock, closed, yet counted: full),
-- until the keys are distrusted by hand (then 7104 is queued).
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '7 minutes') AS filled, pg_temp.queued();
SELECT lead_id, pg_temp.rekey(lead_id) AS trusted FROM vicidial.vicidial_hopper
 WHERE campaign_id = 'KEY' ORDER BY lead_id;
SET session_replication_role = replica;
UPDATE vicidial.vicidial_list SET time_zone = 'America/New_York' WHERE lead_id = 7101;
RESET session_replication_role;
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '8 minutes') AS filled, pg_temp.record();
UPDATE vicidial.vicidial_hopper SET hours_keyed_on = NULL;
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '9 minutes') AS filled, pg_temp.queued();

-- The count decides each hours key once, however many campaigns queue
-- leads of it: two campaigns queue leads of the same two keys (UTC and
-- Chicago, both open), and _hours_close is asked twice, not once per
-- campaign and key.
SET track_functions = 'all';
UPDATE vicidial.vicidial_campaigns SET active = false WHERE campaign_id = 'KEY';
INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name, hopper_level, local_call_time, time_zone) VALUES
    ('TWO1', 'Two keys 1', 5, '24hours', 'UTC'), ('TWO2', 'Two keys 2', 5, '24hours', 'UTC');
INSERT INTO vicidial.vicidial_lists (list_id, list_name, campaign_id, active) VALUES
    (720, 'Two keys 1', 'TWO1', true), (721, 'Two keys 2', 'TWO2', true);
INSERT INTO vicidial.vicidial_list (lead_id, list_id, status, called_since_last_reset, time_zone)
SELECT g, 720 + g % 2, 'NEW', 'N', CASE WHEN g % 4 < 2 THEN 'America/Chicago' END FROM generate_series(7201, 7208) g;
SELECT vicidial.hopper_fill(:'t'::timestamptz + interval '10 minutes') AS filled;
SELECT campaign_id, string_agg(DISTINCT hours_zone, ' ') AS keys FROM vicidial.vicidial_hopper
 WHERE campaign_id LIKE 'TWO_' GROUP BY campaign_id ORDER BY campaign_id;
BEGIN;
SELECT regress.mark_calls();
SELECT campaigns, sizes FROM vicidial._fill_room(:'t'::timestamptz + interval '11 minutes');
SELECT regress.calls_since_mark('_hours_close') AS keys_decided;
ROLLBACK;
