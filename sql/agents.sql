-- Agents who leave: an agent owning an open callback cannot
-- be deleted (55000); deactivating one hands their open USERONLY callbacks
-- to anyone in the same transaction, user kept, the LIVE ones' leads
-- released to the hopper as the sweep would.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';

INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) VALUES ('ada', true), ('cid', false);
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time) VALUES ('AGT', 0, '24hours');
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (960, 'AGT');
INSERT INTO vicidial.vicidial_list (lead_id, list_id) VALUES (96001, 960), (96002, 960), (96003, 960);
SELECT vicidial.callback_schedule(96001, 'ada', now() + interval '1 day', 'USERONLY') AS later \gset
SELECT vicidial.callback_schedule(96002, 'ada', vicidial._half_hour_start(now()), 'USERONLY') AS due \gset
SELECT vicidial.callback_schedule(96003, 'cid', vicidial._half_hour_start(now())) AS cids \gset
SELECT went_live, useronly FROM vicidial.sweep(now());

SELECT regress.attempt($$DELETE FROM vicidial.vicidial_users WHERE "user" = 'ada'$$) AS delete_with_open_callbacks;

UPDATE vicidial.vicidial_users SET active = false WHERE "user" = 'ada';
SELECT c.lead_id, c.status, c.recipient, c."user", l.status AS lead,
       EXISTS (SELECT 1 FROM vicidial.vicidial_hopper h WHERE h.lead_id = c.lead_id AND h.priority = 50) AS queued
  FROM vicidial.vicidial_callbacks c JOIN vicidial.vicidial_list l USING (lead_id)
 WHERE c.callback_id IN (:later, :due) ORDER BY c.lead_id;
SELECT * FROM vicidial.invariant_violations();
-- Inactive, they still own the callbacks (user kept): still not deleted.
SELECT regress.attempt($$DELETE FROM vicidial.vicidial_users WHERE "user" = 'ada'$$) AS delete_inactive_with_open_callbacks;
-- An agent without callbacks goes.
INSERT INTO vicidial.vicidial_users ("user") VALUES ('gone');
DELETE FROM vicidial.vicidial_users WHERE "user" = 'gone';
SELECT count(*) AS gone FROM vicidial.vicidial_users WHERE "user" = 'gone';
