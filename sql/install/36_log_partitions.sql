-- Keeping the logs quick to read: month partitions for vicidial_log and
-- vicidial_callback_log. Both are range-partitioned by their time and
-- start with only a default partition; log_partitions_add creates the
-- months ahead of time (an operator schedules it, e.g. with pg_cron), so a
-- time-range read or the 24-hour count touches only the months it names.
--
-- No row ever moves: a month already holding rows in the default partition
-- is not created (moving rows would mean deleting them from the default,
-- which the logs refuse), so partitions start after the default's last
-- row. Months are UTC months. A month is made LIKE the default partition
-- (its key and indexes), then attached. Each partition refuses TRUNCATE as
-- its log does (a statement trigger is not inherited); UPDATE and DELETE
-- are refused by the log's row triggers, which every partition inherits.
--
-- Attaching a month holds the default partition's ACCESS EXCLUSIVE lock
-- while it reads the default through (PostgreSQL checks that none of its
-- rows falls in the new month): dials and callback changes wait that long,
-- so it is run at a quiet hour, months ahead.

CREATE OR REPLACE TRIGGER vicidial_log_keep_truncate BEFORE TRUNCATE ON vicidial.vicidial_log_default
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._dial_log_keep();
CREATE OR REPLACE TRIGGER vicidial_callback_log_keep_truncate BEFORE TRUNCATE ON vicidial.vicidial_callback_log_default
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._callback_log_keep();

CREATE OR REPLACE FUNCTION vicidial._in_transaction_block() RETURNS boolean
LANGUAGE c STABLE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_in_transaction_block';

CREATE OR REPLACE FUNCTION vicidial.log_partitions_add(until timestamptz DEFAULT now() + interval '3 months')
RETURNS SETOF regclass
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    log record;
    month timestamptz;
    partition text;
BEGIN
    PERFORM vicidial._check_time(until, 'until');
    IF until > now() + interval '10 years' THEN
        RAISE EXCEPTION 'until must be within 10 years, not %', until USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- It holds the default partitions' ACCESS EXCLUSIVE locks until its
    -- transaction ends: inside a transaction block left open, every dial
    -- and every run that logs a change would wait behind it. (A
    -- subtransaction, such as a PL/pgSQL block with EXCEPTION, counts as
    -- a block: it cannot tell whether its transaction is one.)
    IF vicidial._in_transaction_block() THEN
        RAISE EXCEPTION 'log_partitions_add must run as a statement of its own, not inside a transaction block'
            USING ERRCODE = 'active_sql_transaction',
                  HINT = 'call it on its own (SELECT vicidial.log_partitions_add()), as pg_cron does';
    END IF;
    -- The lock attaching a partition takes on each default anyway, taken
    -- first, so that no row reaches a default between reading its last time
    -- and attaching the month after it. Both at once, or neither: a run
    -- writes the callback log and then reads the dial log, most
    -- dispositions the other way round, so holding one default while
    -- waiting for the other would deadlock with one of them. Tried again
    -- until free.
    LOOP
        BEGIN
            LOCK TABLE vicidial.vicidial_log_default, vicidial.vicidial_callback_log_default
                IN ACCESS EXCLUSIVE MODE NOWAIT;
            EXIT;
        EXCEPTION WHEN lock_not_available THEN
            IF clock_timestamp() > statement_timestamp() + interval '1 minute' THEN
                RAISE EXCEPTION 'the logs were busy for a minute: no month was added'
                    USING ERRCODE = 'lock_not_available', HINT = 'run it again at a quieter time';
            END IF;
            PERFORM pg_sleep(0.01);
        END;
    END LOOP;
    FOR log IN
        SELECT * FROM (VALUES ('vicidial_log', 'call_date', '_dial_log_keep'),
                              ('vicidial_callback_log', 'changed_at', '_callback_log_keep')) AS l(name, time_column, keep)
    LOOP
        EXECUTE format('SELECT greatest(date_trunc(''month'', now()), date_trunc(''month'', max(%I)) + interval ''1 month'')
                          FROM vicidial.%I', log.time_column, log.name || '_default')
           INTO month;
        WHILE month < until LOOP
            partition := log.name || '_' || to_char(month, 'YYYY_MM');
            IF to_regclass('vicidial.' || quote_ident(partition)) IS NULL THEN
                EXECUTE format('CREATE TABLE vicidial.%I (LIKE vicidial.%I INCLUDING ALL)', partition, log.name || '_default');
                EXECUTE format('ALTER TABLE vicidial.%I ATTACH PARTITION vicidial.%I FOR VALUES FROM (%L) TO (%L)',
                               log.name, partition, month, month + interval '1 month');
                EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON vicidial.%I FOR EACH STATEMENT EXECUTE FUNCTION vicidial.%I()',
                               log.name || '_keep_truncate', partition, log.keep);
                RETURN NEXT ('vicidial.' || quote_ident(partition))::regclass;
            END IF;
            month := month + interval '1 month';
        END LOOP;
    END LOOP;
END $$;
