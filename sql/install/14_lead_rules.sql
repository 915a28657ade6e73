-- What the dial rules read of each lead, in one view: its state, its own
-- campaign (its list's, wherever the lead is queued), its hours key and
-- its do-not-call status. lead_hours (15_hours.sql) and lead_dnc
-- (17_dial_limits.sql) are its projections, and the hand-out predicate
-- (_dial_blockers) reads it whole, so that a lead's row is found once
-- however many rules ask. A column nobody selects costs nothing: the
-- planner drops it (and the do-not-call probes with it).
--
-- zone: the lead's own, else its list's, else its campaign's; call_times:
-- the campaign's, the list's and the state's (NULLs ignored where read).
-- dnc_status: DNCL when the system list has the number (and the campaign
-- uses that list), else DNCC when the campaign's own list has it, else
-- NULL; numbers compare on their digits only, through the digits' indexes.
CREATE OR REPLACE VIEW vicidial.lead_rules AS
SELECT l.lead_id, l.status, l."user", l.phone_number,
       li.list_id, li.active AS list_active,
       cp.campaign_id, cp.active AS campaign_active, cp.call_limit_24hour,
       coalesce(l.time_zone, li.time_zone, cp.time_zone) AS zone,
       ARRAY[cp.local_call_time, li.local_call_time, s.call_time_id]::varchar[] AS call_times,
       CASE WHEN cp.use_internal_dnc
                 AND EXISTS (SELECT 1 FROM vicidial.vicidial_dnc d
                              WHERE vicidial._digits(d.phone_number) = vicidial._digits(l.phone_number))
            THEN 'DNCL'
            WHEN cp.use_campaign_dnc
                 AND EXISTS (SELECT 1 FROM vicidial.vicidial_campaign_dnc d
                              WHERE vicidial._digits(d.phone_number) = vicidial._digits(l.phone_number)
                                AND d.campaign_id = cp.campaign_id)
            THEN 'DNCC' END AS dnc_status
  FROM vicidial.vicidial_list l
  JOIN vicidial.vicidial_lists li ON li.list_id = l.list_id
  JOIN vicidial.vicidial_campaigns cp ON cp.campaign_id = li.campaign_id
  LEFT JOIN vicidial.vicidial_state_call_times s ON s.state = l.state;
