-- Month partitions of the two logs (README, "Keeping the logs quick to
-- read"): created ahead by log_partitions_add, never over a month that
-- already has rows in the default partition, every row kept where it
-- was; rows routed by their time; the logs' rules (closed once, never
-- changed, deleted or truncated) holding in every partition; the 24-hour
-- count and the close of a dial reading across partitions.
\i test/regress_fixture.sql
SET TimeZone = 'UTC';
SELECT date_trunc('month', now()) AS this_month \gset

CREATE TEMP VIEW log_partitions AS
SELECT i.inhparent::regclass AS log,
       regexp_replace(c.relname, '_\d{4}_\d{2}$', '_<month>') AS partition,
       bound.lower, bound.upper,
       c.relname = (SELECT p.relname FROM pg_class p WHERE p.oid = i.inhparent) || '_' || to_char(bound.lower, 'YYYY_MM')
           AS named_for_its_month,
       EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgtype & 32 <> 0) AS truncate_refused,
       (SELECT string_agg(d.index, ', ' ORDER BY d.index)
          FROM pg_index x CROSS JOIN LATERAL regexp_replace(pg_get_indexdef(x.indexrelid), '^.* USING ', '') AS d(index)
         WHERE x.indrelid = c.oid) AS indexes
  FROM pg_inherits i
  JOIN pg_class c ON c.oid = i.inhrelid
 CROSS JOIN LATERAL (
       SELECT m[1]::timestamptz AS lower, m[2]::timestamptz AS upper
         FROM regexp_match(pg_get_expr(c.relpartbound, c.oid), $$FROM \('([^']+)'\) TO \('([^']+)'\)$$) m) bound
 WHERE i.inhparent IN ('vicidial.vicidial_log'::regclass, 'vicidial.vicidial_callback_log'::regclass);

-- Until an operator adds months, both logs are one default partition each,
-- which refuses TRUNCATE as its log does.
SELECT log, partition, truncate_refused, indexes FROM log_partitions ORDER BY 1, 2;
-- Both logs have rows this month (the earlier files wrote some; these
-- make sure of it, whatever ran before).
INSERT INTO vicidial.vicidial_users ("user") VALUES ('parker');
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time, call_limit_24hour) VALUES ('PART', 0, '24hours', 2);
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (990, 'PART');
INSERT INTO vicidial.vicidial_list (lead_id, list_id) VALUES (99001, 990), (99002, 990);
SELECT vicidial.callback_schedule(99002, 'parker', now() + interval '1 day') IS NOT NULL AS scheduled;
INSERT INTO vicidial.vicidial_log (lead_id, list_id, campaign_id, "user", call_date, end_date, status)
VALUES (99002, 990, 'PART', 'parker', now(), now(), 'NA');
SELECT count(*) AS dials_before FROM vicidial.vicidial_log \gset
SELECT count(*) AS changes_before FROM vicidial.vicidial_callback_log \gset
SELECT :dials_before > 0 AS dials_logged, :changes_before > 0 AS changes_logged;

-- Bad arguments (nothing is created).
SELECT n, regress.attempt(s) AS attempt FROM (VALUES
    ('null',          $$SELECT vicidial.log_partitions_add(NULL)$$),
    ('infinity',      $$SELECT vicidial.log_partitions_add('infinity')$$),
    ('11 years',      $$SELECT vicidial.log_partitions_add(now() + interval '11 years')$$)
) AS t(n, s);

-- Three months ahead. This month already has rows in the default
-- partitions, so each log's months start with the next one.
SELECT count(*) AS created
  FROM vicidial.log_partitions_add(:'this_month'::timestamptz + interval '3 months 1 day');
SELECT log, partition, age(lower, :'this_month') AS starts_after, age(upper, lower) AS covers,
       named_for_its_month, truncate_refused, indexes
  FROM log_partitions WHERE lower IS NOT NULL ORDER BY 1, lower;
-- Run again (as a scheduled job would): nothing new; every row still there.
SELECT count(*) AS created_again
  FROM vicidial.log_partitions_add(:'this_month'::timestamptz + interval '3 months 1 day');
SELECT count(*) = :dials_before AS dials_kept,
       count(*) FILTER (WHERE tableoid = 'vicidial.vicidial_log_default'::regclass) = :dials_before AS in_the_default
  FROM vicidial.vicidial_log;
SELECT count(*) = :changes_before AS changes_kept FROM vicidial.vicidial_callback_log;

-- Rows go to the month of their time; a time past the last month goes to
-- the default.
INSERT INTO vicidial.vicidial_log (lead_id, list_id, campaign_id, "user", call_date) VALUES
    (99001, 990, 'PART', 'parker', :'this_month'::timestamptz + interval '2 months 23 hours'),
    (99001, 990, 'PART', 'parker', :'this_month'::timestamptz + interval '2 months 1 day 1 hour'),
    (99001, 990, 'PART', 'parker', :'this_month'::timestamptz + interval '5 months');
-- (the last one closed, so that the latest open dial is in a month partition)
UPDATE vicidial.vicidial_log SET end_date = call_date, status = 'NA'
 WHERE lead_id = 99001 AND call_date = :'this_month'::timestamptz + interval '5 months';
INSERT INTO vicidial.vicidial_callback_log (callback_id, changed_at, new_status, new_callback_time, new_recipient, reason)
VALUES (0, :'this_month'::timestamptz + interval '1 month', 'ACTIVE', :'this_month'::timestamptz + interval '1 month', 'ANYONE', 'DML');
SELECT regexp_replace(tableoid::regclass::text, '_\d{4}_\d{2}$', '_<month>') AS partition,
       age(call_date, :'this_month') AS at
  FROM vicidial.vicidial_log WHERE lead_id = 99001 ORDER BY call_date;
SELECT regexp_replace(tableoid::regclass::text, '_\d{4}_\d{2}$', '_<month>') AS partition,
       to_char(changed_at, 'YYYY_MM') = to_char(:'this_month'::timestamptz + interval '1 month', 'YYYY_MM') AS its_month
  FROM vicidial.vicidial_callback_log WHERE callback_id = 0;

-- The 24-hour count reads across the months: at 1 am on the 2nd day of
-- the month after next, both dials are in the last 24 hours (limit 2).
SELECT age(until, :'this_month') AS limited_until
  FROM vicidial._limit_24h(99001, 2, :'this_month'::timestamptz + interval '2 months 1 day 2 hours');
-- A disposition closes the latest open dial, wherever it is kept; once.
SELECT vicidial._close_dials(ARRAY[99001::bigint], 'NI', NULL);
SELECT age(call_date, :'this_month') AS at, status FROM vicidial.vicidial_log WHERE lead_id = 99001 ORDER BY call_date;
-- The search starts at the leads' last call time (a dial is logged at that
-- instant), so that it reads only the months from then on: 99003's latest
-- open dial is after it and is closed, its older one stays open. 99004's
-- last call time was written by hand after its only open dial: the whole
-- log is searched for it, and it is closed. Each lead once, named twice.
INSERT INTO vicidial.vicidial_list (lead_id, list_id, last_local_call_time) VALUES
    (99003, 990, :'this_month'::timestamptz + interval '1 month 2 hours'),
    (99004, 990, :'this_month'::timestamptz + interval '2 months');
INSERT INTO vicidial.vicidial_log (lead_id, list_id, campaign_id, "user", call_date) VALUES
    (99003, 990, 'PART', 'parker', :'this_month'::timestamptz + interval '1 month 1 hour'),
    (99003, 990, 'PART', 'parker', :'this_month'::timestamptz + interval '2 months 1 hour'),
    (99004, 990, 'PART', 'parker', :'this_month'::timestamptz + interval '1 month 1 hour');
SELECT vicidial._close_dials(ARRAY[99003, 99004, 99003]::bigint[], 'NI', min(last_local_call_time))
  FROM vicidial.vicidial_list WHERE lead_id IN (99003, 99004);
SELECT lead_id, age(call_date, :'this_month') AS at, status,
       regexp_replace(tableoid::regclass::text, '_\d{4}_\d{2}$', '_<month>') AS partition
  FROM vicidial.vicidial_log WHERE lead_id IN (99003, 99004) ORDER BY lead_id, call_date;

-- The rules hold in the partitions, through the log and directly.
SELECT n, regexp_replace(regress.attempt(s), 'dial \d+', 'dial <id>') AS attempt FROM (VALUES
    ('reopen a closed dial',      $$UPDATE vicidial.vicidial_log SET status = 'SALE' WHERE lead_id = 99001 AND status = 'NI'$$),
    ('change a partition''s row', $$UPDATE vicidial.vicidial_callback_log SET reason = 'X' WHERE callback_id = 0$$),
    ('delete a partition''s row', $$DELETE FROM vicidial.vicidial_callback_log WHERE callback_id = 0$$),
    ('delete a dial',             $$DELETE FROM vicidial.vicidial_log WHERE lead_id = 99001$$)
) AS t(n, s);
SELECT format('TRUNCATE %s', c.oid::regclass) AS truncate_partition
  FROM pg_class c WHERE c.relname = 'vicidial_callback_log_' || to_char(:'this_month'::timestamptz + interval '1 month', 'YYYY_MM') \gset
SELECT n, regress.attempt(s) AS attempt FROM (VALUES
    ('truncate a month',          :'truncate_partition'),
    ('truncate a default',        'TRUNCATE vicidial.vicidial_log_default'),
    ('truncate a log',            'TRUNCATE vicidial.vicidial_callback_log')
) AS t(n, s);
SELECT count(*) = :changes_before + 1 AS changes_kept FROM vicidial.vicidial_callback_log;
-- Not open to PUBLIC: the DBA grants it to whoever runs the maintenance.
SELECT has_function_privilege('public', 'vicidial.log_partitions_add(timestamptz)', 'EXECUTE') AS public_may_add;

-- A month holding rows in the default partition is never created (its
-- rows would have to move): the dial log's months start after its default's
-- last row (month 5), the callback log's where its months end.
SELECT regexp_replace(p::text, '_\d{4}_\d{2}$', '_<month>') AS created, n AS months_ahead
  FROM vicidial.log_partitions_add(:'this_month'::timestamptz + interval '7 months 1 day') AS p
  LEFT JOIN generate_series(1, 7) n ON right(p::text, 7) = to_char(:'this_month'::timestamptz + interval '1 month' * n, 'YYYY_MM')
 ORDER BY 1, n;
SELECT count(*) AS dials_in_the_default_in_month_5
  FROM vicidial.vicidial_log_default WHERE call_date >= :'this_month'::timestamptz + interval '5 months';

-- The dials closed through the partition that holds them
-- (_close_logged_dials, in C, a plan kept per partition): only a
-- partition of the dial log is ever updated, whatever the caller passes,
-- and a dial closed since the caller found it is refused by the log's
-- guard, not passed over; a renamed partition's plan is made again, not
-- run on its old name.
SELECT n, regexp_replace(regress.attempt(s), 'dial \d+', 'dial <id>') AS attempt FROM (VALUES
    ('a table not the log', $$SELECT vicidial._close_logged_dials(ARRAY['vicidial.vicidial_list'::regclass::oid],
                                                                ARRAY[1::bigint], ARRAY[now()], 'NI')$$),
    ('the log itself',      $$SELECT vicidial._close_logged_dials(ARRAY['vicidial.vicidial_log'::regclass::oid],
                                                                ARRAY[1::bigint], ARRAY[now()], 'NI')$$),
    ('arrays not as long',  $$SELECT vicidial._close_logged_dials(ARRAY['vicidial.vicidial_log_default'::regclass::oid],
                                                                ARRAY[1, 2]::bigint[], ARRAY[now()], 'NI')$$),
    ('a dial closed before', $$SELECT vicidial._close_logged_dials(array_agg(tableoid::oid), array_agg(log_id),
                                                                  array_agg(call_date), 'NI')
                                 FROM vicidial.vicidial_log WHERE lead_id = 99001 AND status = 'NI'$$)
) AS t(n, s);
INSERT INTO vicidial.vicidial_list (lead_id, list_id) VALUES (99007, 990), (99008, 990);
INSERT INTO vicidial.vicidial_log (lead_id, list_id, campaign_id, "user", call_date) VALUES
    (99007, 990, 'PART', 'parker', :'this_month'::timestamptz + interval '1 month 3 hours'),
    (99008, 990, 'PART', 'parker', :'this_month'::timestamptz + interval '1 month 4 hours');
SELECT 'vicidial_log_' || to_char(:'this_month'::timestamptz + interval '1 month', 'YYYY_MM') AS month_1 \gset
SELECT vicidial._close_dials(ARRAY[99007::bigint], 'NI', :'this_month'::timestamptz + interval '1 month 3 hours');
ALTER TABLE vicidial.:month_1 RENAME TO renamed_month;
SELECT vicidial._close_dials(ARRAY[99008::bigint], 'NI', :'this_month'::timestamptz + interval '1 month 4 hours');
ALTER TABLE vicidial.renamed_month RENAME TO :month_1;
SELECT lead_id, status, tableoid::regclass::text = 'vicidial.' || :'month_1' AS in_month_1
  FROM vicidial.vicidial_log WHERE lead_id IN (99007, 99008) ORDER BY lead_id;

-- PostgreSQL 15 locks every partition a kept generic plan names, at each
-- execution, and opens every one an update names as a target. A hand-out
-- in a campaign without a 24-hour limit (PARTN) locks no month but the
-- one its dial is written to (here the default partition; one with a
-- limit, PART, reads its count in a kept plan, which locks them all),
-- and a disposition writes only the month of its dial (its search, a kept
-- plan, locks every month to read): here the call is in the default
-- partition, and no month is written. A plan made for a known time reads
-- and locks only the months of its 24 hours: not a month two years back,
-- attached here by hand as a site's own months are.
SELECT count(*) AS default_rows_two_years_back FROM vicidial.vicidial_log_default
 WHERE call_date >= :'this_month'::timestamptz - interval '24 months'
   AND call_date < :'this_month'::timestamptz - interval '23 months';
CREATE TABLE vicidial.vicidial_log_two_years_back (LIKE vicidial.vicidial_log_default INCLUDING ALL);
ALTER TABLE vicidial.vicidial_log ATTACH PARTITION vicidial.vicidial_log_two_years_back
    FOR VALUES FROM (:'this_month'::timestamptz - interval '24 months') TO (:'this_month'::timestamptz - interval '23 months');
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time) VALUES ('PARTN', 0, '24hours');
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (991, 'PARTN');
INSERT INTO vicidial.vicidial_list (lead_id, list_id) VALUES (99005, 990), (99006, 991);
INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id) VALUES (99005, 'PART', 990), (99006, 'PARTN', 991);
CREATE TEMP VIEW dial_log_locked AS
SELECT count(*) FILTER (WHERE k.relation = 'vicidial.vicidial_log_default'::regclass) AS default_locks,
       count(*) FILTER (WHERE k.relation <> 'vicidial.vicidial_log_default'::regclass) AS month_locks,
       count(*) FILTER (WHERE k.relation <> 'vicidial.vicidial_log_default'::regclass
                          AND k.mode = 'RowExclusiveLock') AS months_written
  FROM pg_locks k JOIN pg_inherits i ON i.inhrelid = k.relation
 WHERE k.pid = pg_backend_pid() AND i.inhparent = 'vicidial.vicidial_log'::regclass;
SELECT count(*) AS dial_log_months FROM pg_inherits i
 WHERE i.inhparent = 'vicidial.vicidial_log'::regclass AND i.inhrelid <> 'vicidial.vicidial_log_default'::regclass;
BEGIN;
SELECT lead_id FROM vicidial.hopper_next('PART', 'parker');
SELECT 'handed out' AS after, * FROM dial_log_locked;
SELECT vicidial.lead_disposition(99005, 'parker', 'NI') IS NULL AS disposed;
SELECT 'disposed' AS after, * FROM dial_log_locked;
ROLLBACK;
BEGIN;
SELECT lead_id FROM vicidial.hopper_next('PARTN', 'parker');
SELECT 'handed out' AS after, * FROM dial_log_locked;
ROLLBACK;
SELECT now() AS now_written_out \gset
BEGIN;
SELECT count(*) AS at_the_limit FROM vicidial._limit_24h(99005, 2, :'now_written_out');
SELECT 'counted' AS after, * FROM dial_log_locked;
ROLLBACK;
ALTER TABLE vicidial.vicidial_log DETACH PARTITION vicidial.vicidial_log_two_years_back;
DROP TABLE vicidial.vicidial_log_two_years_back;
