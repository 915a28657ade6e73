-- What the background worker needs in the database: retention of the run
-- history (vicidial.hopper_runs), the wake-up trigger, and a view of the
-- worker's health.

-- Keep the newest keep_runs rows: the history never grows without bound.
CREATE OR REPLACE FUNCTION vicidial._trim_hopper_runs(keep_runs integer) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    DELETE FROM vicidial.hopper_runs r
     WHERE r.run_id <= (SELECT max(k.run_id) FROM vicidial.hopper_runs k) - keep_runs
$$;

-- The worker's three calls are SECURITY DEFINER, so the role it runs as
-- (vicidial_callbacks.role) needs EXECUTE on them and nothing else.

-- One run of the worker: hopper_run at the transaction's time, recorded.
CREATE OR REPLACE FUNCTION vicidial._worker_run(keep_runs integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    INSERT INTO vicidial.hopper_runs (started_at, finished_at, went_live, useronly, hopper_inserted, hopper_filled)
    SELECT started, clock_timestamp(), r.went_live, r.useronly, r.hopper_inserted, r.hopper_filled
      FROM vicidial.hopper_run(now()) r;
    PERFORM vicidial._trim_hopper_runs(keep_runs);
END $$;

CREATE OR REPLACE FUNCTION vicidial._record_failed_run(started timestamptz, error text, keep_runs integer) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO vicidial.hopper_runs (started_at, finished_at, error) VALUES (started, clock_timestamp(), error);
    SELECT vicidial._trim_hopper_runs(keep_runs);
$$;

-- When the worker must wake for the next callback, the next release (a
-- lead whose hours open) or the next move of an owner's callback (due
-- strictly after its instant); NULL when none waits.
CREATE OR REPLACE FUNCTION vicidial._next_due() RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT least(b.earliest, b.next_release, b.next_move + interval '1 millisecond') FROM vicidial._run_bounds() b
$$;

-- Anything that may make a callback due sooner wakes the worker at commit.
CREATE OR REPLACE FUNCTION vicidial._wake_worker() RETURNS trigger
LANGUAGE c SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_wake_worker';
CREATE OR REPLACE TRIGGER callbacks_wake_worker AFTER INSERT OR UPDATE OF callback_time, status, recipient ON vicidial.vicidial_callbacks
    FOR EACH STATEMENT EXECUTE FUNCTION vicidial._wake_worker();

CREATE OR REPLACE FUNCTION vicidial.worker_state(OUT workers integer, OUT next_wake timestamptz)
LANGUAGE c STABLE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'vicidial_worker_state';

CREATE OR REPLACE VIEW vicidial.worker_status AS
SELECT current_database() AS database,
       (SELECT r.finished_at FROM vicidial.hopper_runs r ORDER BY r.run_id DESC LIMIT 1) AS last_run,
       (SELECT r.error IS NULL FROM vicidial.hopper_runs r ORDER BY r.run_id DESC LIMIT 1) AS last_run_ok,
       (SELECT r.finished_at FROM vicidial.hopper_runs r WHERE r.error IS NOT NULL ORDER BY r.run_id DESC LIMIT 1) AS last_error_at,
       (SELECT r.error FROM vicidial.hopper_runs r WHERE r.error IS NOT NULL ORDER BY r.run_id DESC LIMIT 1) AS last_error,
       w.next_wake,
       w.workers
  FROM vicidial.worker_state() w;
