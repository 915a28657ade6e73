-- What the background worker needs in the database: retention of the run
-- history (vicidial.hopper_runs), the wake-up trigger, and a view of the
-- worker's health.

-- Keep the newest keep_runs rows: the history never grows without bound.
CREATE OR REPLACE FUNCTION vicidial._trim_hopper_runs(keep_runs integer) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    DELETE FROM vicidial.hopper_runs r
     WHERE r.run_id <= (SELECT max(k.run_id) FROM vicidial.hopper_runs k) - keep_runs
$$;

-- The worker's calls are SECURITY DEFINER, so the role it runs as
-- (vicidial_callbacks.role) needs EXECUTE on them and nothing else.

-- One run of the worker: hopper_run at the transaction's time, recorded
-- (a database on 1.1, whose worker library is newer, is served by this).
CREATE OR REPLACE FUNCTION vicidial._worker_run(keep_runs integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    INSERT INTO vicidial.hopper_runs (started_at, finished_at, went_live, useronly, hopper_inserted, hopper_filled, cut_short)
    SELECT started, clock_timestamp(), r.went_live, r.useronly, r.hopper_inserted, r.hopper_filled, r.cut_short
      FROM vicidial.hopper_run(now()) r;
    PERFORM vicidial._trim_hopper_runs(keep_runs);
END $$;

-- The worker's run in two transactions: the sweep commits first, so that
-- a callback that falls due is LIVE for the agents without waiting for
-- the fill, whose cost follows the hoppers. The sweep records the run (so
-- that its flips are in the history even when the fill never comes); the
-- fill completes that record. A burst is swept in chunks of
-- vicidial_callbacks.sweep_chunk, each committed as soon as it is swept:
-- more_due asks the worker for the next chunk at once, and for no fill
-- before the last.
CREATE OR REPLACE FUNCTION vicidial._worker_sweep(keep_runs integer, OUT run_id bigint, OUT more_due boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    started timestamptz := clock_timestamp();
    swept record;
BEGIN
    SELECT * INTO swept FROM vicidial._run_parts(now(), '{sweep}', vicidial._sweep_chunk()) r;
    INSERT INTO vicidial.hopper_runs (started_at, finished_at, went_live, useronly, hopper_inserted, cut_short)
    VALUES (started, clock_timestamp(), swept.went_live, swept.useronly, swept.hopper_inserted, swept.cut_short)
    RETURNING hopper_runs.run_id INTO run_id;
    more_due := swept.more_due;
    PERFORM vicidial._trim_hopper_runs(keep_runs);
END $$;

CREATE OR REPLACE FUNCTION vicidial._worker_fill(run_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE vicidial.hopper_runs h
       SET finished_at = clock_timestamp(), hopper_filled = r.hopper_filled,
           cut_short = nullif(concat_ws('; ', h.cut_short, r.cut_short), '')
      FROM vicidial._run_parts(now(), '{fill}', NULL) r
     WHERE h.run_id = _worker_fill.run_id;
END $$;

CREATE OR REPLACE FUNCTION vicidial._record_failed_run(started timestamptz, error text, keep_runs integer) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO vicidial.hopper_runs (started_at, finished_at, error) VALUES (started, clock_timestamp(), error);
    SELECT vicidial._trim_hopper_runs(keep_runs);
$$;

-- When the worker must wake for the next callback, the next release (a
-- lead whose hours open), the next move of an owner's callback (due
-- strictly after its instant) or the next queued lead set aside until its
-- hours open; NULL when none waits. Its locks are waited for as a run's
-- (_set_run_lock_timeout): a table it reads that is locked against reads
-- (an admin's LOCK TABLE) leaves the time unknown, and the worker tries
-- again in a second, not stalled (never an infinite time, which the
-- worker could not sleep until).
CREATE OR REPLACE FUNCTION vicidial._next_due() RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- restored at return, whatever the body sets
SET lock_timeout = 0 AS $$
BEGIN
    PERFORM vicidial._set_run_lock_timeout();
    RETURN (SELECT least(b.earliest, b.next_release, b.next_move + interval '1 millisecond',
                         (SELECT min(h.dialable_after) FROM vicidial.vicidial_hopper h WHERE h.status = 'WAIT'))
              FROM vicidial._run_bounds() b);
EXCEPTION WHEN lock_not_available THEN
    RETURN clock_timestamp() + interval '1 second';
END $$;

-- Anything that may make a callback due sooner wakes the worker at commit:
-- an insert (a restore's too), or an update that leaves a callback open
-- with a new status, recipient or time (src/callback_changes.c). An
-- archive or a dial's count of attempts wakes nobody.
CREATE OR REPLACE FUNCTION vicidial._wake_worker() RETURNS trigger
LANGUAGE c SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_wake_worker';
CREATE OR REPLACE TRIGGER callbacks_wake_worker AFTER UPDATE ON vicidial.vicidial_callbacks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._wake_worker();
CREATE OR REPLACE TRIGGER callbacks_wake_worker_insert AFTER INSERT ON vicidial.vicidial_callbacks
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._wake_worker();
-- For a change the triggers cannot see: the worker is woken at commit.
CREATE OR REPLACE FUNCTION vicidial._wake_worker_after_commit() RETURNS void
LANGUAGE c VOLATILE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_wake_worker_after_commit';
-- Whether this transaction, as it stands, wakes the worker at commit: what
-- the tests ask of each kind of write.
CREATE OR REPLACE FUNCTION vicidial._wakes_worker_at_commit() RETURNS boolean
LANGUAGE c VOLATILE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_wakes_worker_at_commit';

-- The workers of this database that are up and the earliest next wake of
-- them, read from shared memory (src/wakeup.c).
CREATE OR REPLACE FUNCTION vicidial._worker_slots(OUT workers integer, OUT next_wake timestamptz)
LANGUAGE c STABLE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_worker_state';

-- The worker's state: the workers up, their next wake, and the latest of
-- its runs that was cut short (a part of it left to a later run because a
-- lock could not be had in time) and why.
CREATE OR REPLACE FUNCTION vicidial.worker_state(OUT workers integer, OUT next_wake timestamptz,
                                                 OUT last_cut_short_at timestamptz, OUT last_cut_short text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT w.workers, w.next_wake, r.finished_at, r.cut_short
      FROM vicidial._worker_slots() w
      LEFT JOIN LATERAL (SELECT k.finished_at, k.cut_short FROM vicidial.hopper_runs k
                          WHERE k.cut_short IS NOT NULL ORDER BY k.run_id DESC LIMIT 1) r ON true
$$;

CREATE OR REPLACE VIEW vicidial.worker_status AS
SELECT current_database() AS database,
       (SELECT r.finished_at FROM vicidial.hopper_runs r ORDER BY r.run_id DESC LIMIT 1) AS last_run,
       (SELECT r.error IS NULL FROM vicidial.hopper_runs r ORDER BY r.run_id DESC LIMIT 1) AS last_run_ok,
       (SELECT r.finished_at FROM vicidial.hopper_runs r WHERE r.error IS NOT NULL ORDER BY r.run_id DESC LIMIT 1) AS last_error_at,
       (SELECT r.error FROM vicidial.hopper_runs r WHERE r.error IS NOT NULL ORDER BY r.run_id DESC LIMIT 1) AS last_error,
       w.next_wake,
       w.workers,
       w.last_cut_short_at,
       w.last_cut_short
  FROM vicidial.worker_state() w;

-- Settings of a run, read through the module so that it is loaded (and
-- its settings defined) in any backend that runs one.
CREATE OR REPLACE FUNCTION vicidial._run_lock_timeout() RETURNS text
LANGUAGE c STABLE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_run_lock_timeout';
CREATE OR REPLACE FUNCTION vicidial._notify_queue_limit() RETURNS double precision
LANGUAGE c STABLE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_notify_queue_limit_setting';
CREATE OR REPLACE FUNCTION vicidial._sweep_chunk() RETURNS integer
LANGUAGE c STABLE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_sweep_chunk_setting';
