-- The history of every callback: vicidial_callback_log gets
-- one row per change of a callback's status, time, owner or recipient (and
-- one per new callback), by every writer, written once per statement from
-- its transition tables, never a trigger call per row. The rows are kept
-- forever.
--
-- Why a callback changed: each function of the extension names its cause
-- for the length of its call (SET vicidial.change_reason in its header, or
-- set_config(..., true) between its statements, which the header's SET
-- undoes at return); an archive gives its archive_reason; any other writer
-- is DML. A session can set the reason itself (cut to the column's 12
-- characters, so that its own writes never fail on it), but never db_user,
-- which is the session's login.

CREATE OR REPLACE FUNCTION vicidial._change_reason() RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN left(coalesce(nullif(current_setting('vicidial.change_reason', true), ''), 'DML'), 12);
END $$;

CREATE OR REPLACE FUNCTION vicidial._log_callback_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- joins an update's old and new rows: never by a nested loop (see
-- "Plans for many rows" in the design page)
SET enable_nestloop = off AS $$
DECLARE
    reason text := vicidial._change_reason();
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO vicidial.vicidial_callback_log
               (callback_id, new_status, new_callback_time, new_user, new_recipient, reason, db_user)
        SELECT n.callback_id, n.status, n.callback_time, n."user", n.recipient, reason, session_user
          FROM new_rows n
         ORDER BY n.callback_id;
    ELSE
        INSERT INTO vicidial.vicidial_callback_log
               (callback_id, old_status, new_status, old_callback_time, new_callback_time,
                old_user, new_user, old_recipient, new_recipient, reason, db_user)
        SELECT n.callback_id, o.status, n.status, o.callback_time, n.callback_time,
               o."user", n."user", o.recipient, n.recipient,
               CASE WHEN n.status = 'ARCHIVE' AND o.status <> 'ARCHIVE' AND reason <> 'DML'
                    THEN n.archive_reason ELSE reason END,
               session_user
          FROM new_rows n JOIN old_rows o ON o.callback_id = n.callback_id
         WHERE (n.status, n.callback_time, n."user", n.recipient)
               IS DISTINCT FROM (o.status, o.callback_time, o."user", o.recipient)
         ORDER BY n.callback_id;
    END IF;
    RETURN NULL;
END $$;

-- A restore loads the log as it was dumped.
CREATE OR REPLACE TRIGGER callbacks_logged_insert AFTER INSERT ON vicidial.vicidial_callbacks
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT vicidial._restoring_dump()) EXECUTE FUNCTION vicidial._log_callback_changes();
CREATE OR REPLACE TRIGGER callbacks_logged_update AFTER UPDATE ON vicidial.vicidial_callbacks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._log_callback_changes();

-- The log is a record: no writer changes, deletes or truncates it.
CREATE OR REPLACE FUNCTION vicidial._callback_log_keep() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'the callback log is kept forever: % refused', TG_OP
        USING ERRCODE = 'object_not_in_prerequisite_state';
END $$;

CREATE OR REPLACE TRIGGER callback_log_keep BEFORE UPDATE OR DELETE ON vicidial.vicidial_callback_log
    FOR EACH ROW EXECUTE FUNCTION vicidial._callback_log_keep();
CREATE OR REPLACE TRIGGER callback_log_keep_truncate BEFORE TRUNCATE ON vicidial.vicidial_callback_log
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._callback_log_keep();

-- Admin: a callback's changes, oldest first.
CREATE OR REPLACE FUNCTION vicidial.callback_history(callback_id bigint)
RETURNS SETOF vicidial.vicidial_callback_log
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vicidial._not_null(callback_id, 'callback_id');
    IF NOT EXISTS (SELECT 1 FROM vicidial.vicidial_callbacks c WHERE c.callback_id = callback_history.callback_id) THEN
        RAISE EXCEPTION 'callback % does not exist', callback_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN QUERY
    SELECT g.* FROM vicidial.vicidial_callback_log g
     WHERE g.callback_id = callback_history.callback_id
     ORDER BY g.change_id;
END $$;
