-- The admin side: the viewer's filters, sorts, paging and summary, and the
-- modify-lead screen (move, reassign, change recipient, cancel).
\i test/regress_fixture.sql
SET TimeZone = 'UTC';

INSERT INTO vicidial.vicidial_campaigns (campaign_id, campaign_name) VALUES ('ADM', 'Admin');
-- This file is about the day's flow, not calling hours (sql/hours.sql): dial around the clock.
UPDATE vicidial.vicidial_campaigns SET local_call_time = '24hours';
INSERT INTO vicidial.vicidial_lists (list_id, list_name, campaign_id) VALUES (600, 'Admin A', 'ADM'), (601, 'Admin B', 'ADM');
INSERT INTO vicidial.vicidial_list (lead_id, list_id, first_name) VALUES
    (6001, 600, 'one'), (6002, 600, 'two'), (6003, 601, 'three'), (6004, 601, 'four'), (6005, 600, 'five');
SELECT date_trunc('day', now()) + interval '3 days' AS base \gset
-- Five callbacks, their comments naming them c1..c5, scheduled in the order c3 c1 c5 c2 c4.
SELECT vicidial.callback_schedule(6003, 'agent3', :'base'::timestamptz + interval '11:00', 'USERONLY', 'c3');
SELECT vicidial.callback_schedule(6001, 'agent1', :'base'::timestamptz + interval '09:00', 'USERONLY', 'c1');
SELECT vicidial.callback_schedule(6005, 'agent1', :'base'::timestamptz + interval '13:00', 'ANYONE', 'c5');
SELECT vicidial.callback_schedule(6002, 'agent2', :'base'::timestamptz + interval '10:00', 'ANYONE', 'c2');
SELECT vicidial.callback_schedule(6004, 'agent2', :'base'::timestamptz + interval '12:00', 'ANYONE', 'c4');
-- c1 and c2 go LIVE; c5 is cancelled.
SELECT * FROM vicidial.sweep(:'base'::timestamptz + interval '10:30');
SELECT status FROM vicidial.callback_modify((SELECT callback_id FROM vicidial.vicidial_callbacks WHERE comments = 'c5'), archive => true);

-- Filters, each alone and combined; the time range is [from, to).
CREATE FUNCTION regress.names(rows text[]) RETURNS text LANGUAGE sql AS $$ SELECT array_to_string(rows, ' ') $$;
SELECT 'campaign' AS filter, regress.names(array(SELECT comments FROM vicidial.callbacks_report(campaign => 'ADM'))) AS callbacks
UNION ALL SELECT 'list 601', regress.names(array(SELECT comments FROM vicidial.callbacks_report(list => 601)))
UNION ALL SELECT 'agent2', regress.names(array(SELECT comments FROM vicidial.callbacks_report(campaign => 'ADM', agent => 'agent2')))
UNION ALL SELECT 'LIVE', regress.names(array(SELECT comments FROM vicidial.callbacks_report(campaign => 'ADM', callback_status => 'LIVE')))
UNION ALL SELECT 'ARCHIVE', regress.names(array(SELECT comments FROM vicidial.callbacks_report(campaign => 'ADM', callback_status => 'ARCHIVE')))
UNION ALL SELECT '[10:00, 12:00)', regress.names(array(SELECT comments FROM vicidial.callbacks_report(
              campaign => 'ADM', time_from => :'base'::timestamptz + interval '10:00', time_to => :'base'::timestamptz + interval '12:00')))
UNION ALL SELECT 'from 12:00', regress.names(array(SELECT comments FROM vicidial.callbacks_report(campaign => 'ADM', time_from => :'base'::timestamptz + interval '12:00')))
UNION ALL SELECT 'agent2 and list 601', regress.names(array(SELECT comments FROM vicidial.callbacks_report(list => 601, agent => 'agent2')))
UNION ALL SELECT 'agent1 and ACTIVE', regress.names(array(SELECT comments FROM vicidial.callbacks_report(agent => 'agent1', callback_status => 'ACTIVE')));

-- Every sort key, both ways; ties (one campaign) broken by callback_id.
SELECT key,
       regress.names(array(SELECT comments FROM vicidial.callbacks_report(campaign => 'ADM', sort_by => key))) AS ascending,
       regress.names(array(SELECT comments FROM vicidial.callbacks_report(campaign => 'ADM', sort_by => key, descending => true))) AS descending
  FROM unnest(ARRAY['callback_time', 'entry_time', 'modify_date', 'campaign_id', 'list_id', 'user', 'status', 'lead_id', 'callback_id']) AS key;

-- Paging.
SELECT regress.names(array(SELECT comments FROM vicidial.callbacks_report(campaign => 'ADM', max_rows => 2))) AS page_1,
       regress.names(array(SELECT comments FROM vicidial.callbacks_report(campaign => 'ADM', max_rows => 2, skip_rows => 2))) AS page_2,
       regress.names(array(SELECT comments FROM vicidial.callbacks_report(campaign => 'ADM', max_rows => 2, skip_rows => 4))) AS page_3,
       (SELECT count(*) FROM vicidial.callbacks_report(campaign => 'ADM', max_rows => 0)) AS none;
-- What the viewer shows of a row.
SELECT comments, lead_id, list_id, campaign_id, status, "user", recipient, lead_current_status, first_name,
       callback_time - :'base'::timestamptz AS at
  FROM vicidial.callbacks_report(campaign => 'ADM');

-- The summary, with and without filters.
SELECT campaign_id, list_id, "user", status, recipient, callbacks,
       first_callback_time - :'base'::timestamptz AS first_at, last_callback_time - :'base'::timestamptz AS last_at
  FROM vicidial.callbacks_summary(campaign => 'ADM');
SELECT campaign_id, list_id, "user", status, recipient, callbacks
  FROM vicidial.callbacks_summary(agent => 'agent2', time_to => :'base'::timestamptz + interval '12:00');

-- callback_modify. c2 is LIVE ANYONE: its lead is CALLBK and in the hopper.
SELECT callback_id AS c2 FROM vicidial.vicidial_callbacks WHERE comments = 'c2' \gset
SELECT callback_id AS c1 FROM vicidial.vicidial_callbacks WHERE comments = 'c1' \gset
SELECT callback_id AS c3 FROM vicidial.vicidial_callbacks WHERE comments = 'c3' \gset
CREATE FUNCTION regress.lead_of(callback bigint) RETURNS TABLE (callback_status varchar, owner varchar, recipient varchar,
                                                                lead_status varchar, called_since_last_reset varchar, in_hopper text)
LANGUAGE sql AS $$
    SELECT c.status, c."user", c.recipient, l.status, l.called_since_last_reset,
           (SELECT h.priority || '/' || h.source FROM vicidial.vicidial_hopper h WHERE h.lead_id = l.lead_id)
      FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id) WHERE c.callback_id = callback
$$;
SELECT * FROM regress.lead_of(:c2);
-- Moving a LIVE callback within the current half hour keeps it LIVE.
SELECT status FROM vicidial.callback_modify(:c2, callback_time => vicidial._half_hour_start(now()));
SELECT * FROM regress.lead_of(:c2);
-- Moved later: ACTIVE again, the lead back in CBHOLD and out of the hopper.
SELECT status, callback_time = :'base'::timestamptz + interval '1 day 10:00' AS moved
  FROM vicidial.callback_modify(:c2, callback_time => :'base'::timestamptz + interval '1 day 10:00');
SELECT * FROM regress.lead_of(:c2);
-- Reassign: c3 moves from agent3's list to agent1's.
SELECT "user" FROM vicidial.callback_modify(:c3, agent => 'agent1');
SELECT regress.names(array(SELECT comments FROM vicidial.agent_callbacks('agent1'))) AS agent1,
       regress.names(array(SELECT comments FROM vicidial.agent_callbacks('agent3'))) AS agent3;
-- A LIVE USERONLY callback made ANYONE: its lead goes to the dialer...
SELECT * FROM regress.lead_of(:c1);
SELECT recipient FROM vicidial.callback_modify(:c1, recipient => 'ANYONE');
SELECT * FROM regress.lead_of(:c1);
-- ...and back to USERONLY: back in CBHOLD, out of the hopper.
SELECT recipient FROM vicidial.callback_modify(:c1, recipient => 'USERONLY', agent => 'agent3');
SELECT * FROM regress.lead_of(:c1);
-- Comments alone: modify_date moves, nothing else.
UPDATE vicidial.vicidial_callbacks SET modify_date = '2000-01-01' WHERE callback_id = :c1;
SELECT comments, modify_date > '2000-01-01' AS modified, status FROM vicidial.callback_modify(:c1, comments => 'c1 note');
-- Cancel: LIVE USERONLY (lead CBHOLD) and ACTIVE USERONLY; no lead is left in CBHOLD.
SELECT status FROM vicidial.callback_modify(:c1, archive => true);
SELECT * FROM regress.lead_of(:c1);
SELECT status FROM vicidial.callback_modify(:c3, archive => true);
SELECT * FROM regress.lead_of(:c3);
-- A cancelled callback with its own lead_status gives that status back.
SELECT vicidial.callback_schedule(6003, 'agent2', now() + interval '1 day', 'ANYONE', 'c6', 'NEW') AS c6 \gset
SELECT status FROM vicidial.callback_modify(:c6, archive => true);
SELECT * FROM regress.lead_of(:c6);
SELECT * FROM vicidial.invariant_violations();
