/*
 * worker.c
 *     The background worker of one database: runs vicidial.hopper_run()
 *     every vicidial_callbacks.interval, and also at the earliest ACTIVE
 *     callback_time, so a callback goes LIVE on time rather than up to an
 *     interval late. Such a run sweeps at once but fills the hoppers at
 *     most once per vicidial_callbacks.fill_interval: under load a
 *     callback falls due every few seconds, and each fill counts every
 *     hopper's room again.
 *
 * Modelled on worker_spi: a latch loop, SIGHUP reloads the settings,
 * SIGTERM exits with a code that makes the postmaster restart the worker,
 * one transaction per run. A failed run is logged and recorded in
 * vicidial.hopper_runs, and the worker carries on; so does a cancelled
 * run (pg_cancel_backend), and a cancel while idle is ignored.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "vicidial_callbacks.h"

PGDLLEXPORT void vicidial_worker_main(Datum main_arg);

/* what one pass found */
typedef enum PassResult
{
	PASS_DONE,
	PASS_NO_EXTENSION,
	PASS_FAILED
} PassResult;

static MemoryContext worker_context;

/*
 * The sweep of a database whose extension runs in two parts (1.2 and
 * later), in a transaction of its own, committed before the fill starts:
 * a callback that falls due is LIVE for the agents without waiting for
 * the fill. It records the run; *run_id is that record, for the fill to
 * complete; *more_due, that it swept a full chunk
 * (vicidial_callbacks.sweep_chunk) and more callbacks are due, for the
 * next chunk to follow at once. False when the installed version runs in
 * one part (_worker_run), or when the worker's role may not run the two
 * parts (granted the one-part call only, as 1.1 documented).
 */
static bool
sweep_in_transaction(int64 *run_id, bool *more_due)
{
	bool		split = false;
	bool		isnull;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (OidIsValid(get_extension_oid("vicidial_callbacks", true)) &&
		SPI_execute("SELECT coalesce(has_function_privilege(to_regprocedure('vicidial._worker_sweep(integer)'), 'EXECUTE')"
					" AND has_function_privilege(to_regprocedure('vicidial._worker_fill(bigint)'), 'EXECUTE'), false)",
					true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		split = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (split)
	{
		Oid			argtypes[1] = {INT4OID};
		Datum		args[1] = {Int32GetDatum(vicidial_history_rows)};

		pgstat_report_activity(STATE_RUNNING, "SELECT vicidial._worker_sweep()");
		if (SPI_execute_with_args("SELECT run_id, more_due FROM vicidial._worker_sweep($1)", 1, argtypes, args,
								  NULL, false, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "vicidial_callbacks: SPI_execute failed for _worker_sweep");
		*run_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		*more_due = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)) && !isnull;
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return split;
}

/*
 * One transaction: if the extension is installed, optionally run the
 * hopper (the fill of a sweep already committed, when "fill" allows it,
 * or the whole run) and record it, then read when the worker must wake
 * next. *filled says whether the hoppers were filled.
 */
static PassResult
pass_in_transaction(bool run, bool fill, TimestampTz *next_due, bool *more_due, bool *filled)
{
	PassResult	result = PASS_NO_EXTENSION;
	int64		run_id = 0;
	bool		split = run && sweep_in_transaction(&run_id, more_due);

	*next_due = DT_NOEND;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());

	if (OidIsValid(get_extension_oid("vicidial_callbacks", true)))
	{
		bool		isnull;
		Datum		earliest;

		if (split)
		{
			Oid			argtypes[1] = {INT8OID};
			Datum		args[1] = {Int64GetDatum(run_id)};

			/* a burst's fill waits for its last chunk */
			if (!*more_due && fill)
			{
				pgstat_report_activity(STATE_RUNNING, "SELECT vicidial._worker_fill()");
				if (SPI_execute_with_args("SELECT vicidial._worker_fill($1)", 1, argtypes, args,
										  NULL, false, 0) != SPI_OK_SELECT)
					elog(ERROR, "vicidial_callbacks: SPI_execute failed for _worker_fill");
				*filled = true;
			}
		}
		else if (run)
		{
			Oid			argtypes[1] = {INT4OID};
			Datum		args[1] = {Int32GetDatum(vicidial_history_rows)};

			pgstat_report_activity(STATE_RUNNING, "SELECT vicidial._worker_run()");
			if (SPI_execute_with_args("SELECT vicidial._worker_run($1)", 1, argtypes, args,
									  NULL, false, 0) != SPI_OK_SELECT)
				elog(ERROR, "vicidial_callbacks: SPI_execute failed for _worker_run");
			/* a version that runs in one part fills at every run */
			*filled = true;
		}
		/* not read-only: a fresh snapshot, which sees what the run just flipped */
		if (SPI_execute("SELECT vicidial._next_due()", false, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "vicidial_callbacks: SPI_execute failed for the next due time");
		earliest = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
			*next_due = DatumGetTimestampTz(earliest);
		result = PASS_DONE;
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	/* so that autovacuum sees the flips and the history rows */
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, NULL);
	return result;
}

/* A failed run leaves its error in the history, in a transaction of its own. */
static void
record_failure(TimestampTz started, const char *message)
{
	Oid			argtypes[3] = {TIMESTAMPTZOID, TEXTOID, INT4OID};
	Datum		args[3];

	args[0] = TimestampTzGetDatum(started);
	args[1] = CStringGetTextDatum(message);
	args[2] = Int32GetDatum(vicidial_history_rows);

	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (OidIsValid(get_extension_oid("vicidial_callbacks", true)))
		SPI_execute_with_args("SELECT vicidial._record_failed_run($1, $2, $3)", 3, argtypes, args,
							  NULL, false, 0);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(true);
}

static PassResult
pass(bool run, bool fill, TimestampTz *next_due, bool *more_due, bool *filled)
{
	volatile PassResult result = PASS_FAILED;
	TimestampTz started = GetCurrentTimestamp();

	*more_due = false;
	*filled = false;
	PG_TRY();
	{
		result = pass_in_transaction(run, fill, next_due, more_due, filled);
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(worker_context);
		error = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		/* the abort leaves TopMemoryContext current: nothing may leak there */
		MemoryContextSwitchTo(worker_context);
		pgstat_report_activity(STATE_IDLE, NULL);
		ereport(LOG,
				(errcode(error->sqlerrcode),
				 errmsg("vicidial_callbacks: hopper run failed: %s", error->message),
				 error->detail ? errdetail_internal("%s", error->detail) : 0,
				 error->hint ? errhint("%s", error->hint) : 0,
				 error->context ? errcontext("%s", error->context) : 0));
		PG_TRY();
		{
			record_failure(started, error->message);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(worker_context);
			FlushErrorState();
			AbortCurrentTransaction();
			MemoryContextSwitchTo(worker_context);
			ereport(LOG, (errmsg("vicidial_callbacks: could not record the failed run")));
		}
		PG_END_TRY();
		/* do not retry before the next interval */
		*next_due = DT_NOEND;
		*more_due = false;
		*filled = false;
	}
	PG_END_TRY();
	MemoryContextReset(worker_context);
	return result;
}

void
vicidial_worker_main(Datum main_arg)
{
	int			slot = DatumGetInt32(main_arg);
	char		database[BGW_EXTRALEN];
	TimestampTz next_run = 0;	/* run once at start */
	TimestampTz next_due = DT_NOEND;
	TimestampTz last_fill = 0;	/* none yet: the first run fills */
	bool		fill_put_off = false;	/* by fill_interval, for later */
	bool		missing_logged = false;
	bool		woken = true;
	bool		more_due = false;

	strlcpy(database, MyBgworkerEntry->bgw_extra, BGW_EXTRALEN);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(database,
										 vicidial_worker_role[0] ? vicidial_worker_role : NULL, 0);
	worker_context = AllocSetContextCreate(TopMemoryContext, "vicidial_callbacks worker",
										   ALLOCSET_DEFAULT_SIZES);
	wakeup_attach(slot);
	ereport(LOG, (errmsg("vicidial_callbacks worker started for database \"%s\"", database)));

	for (;;)
	{
		TimestampTz now;
		TimestampTz next_wake;
		TimestampTz fill_allowed;
		PassResult	result = PASS_FAILED;
		bool		passed = false;
		bool		filled;
		int			events;

		/*
		 * A cancel (SIGINT) is meant for a run; one pending here came while
		 * idle, with nothing to cancel. Raised here, outside pass()'s
		 * PG_TRY, its ERROR would end the worker: so cancels are held while
		 * other interrupts (die, reload) are served, then dropped. One that
		 * comes after that waits for the next run's first check, inside
		 * pass(). (Not DoingCommandRead, which would make die() process
		 * interrupts inside the signal handler.)
		 */
		HOLD_CANCEL_INTERRUPTS();
		CHECK_FOR_INTERRUPTS();
		QueryCancelPending = false;
		RESUME_CANCEL_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			next_run = Min(next_run, TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
																 vicidial_worker_interval * 1000L));
		}

		now = GetCurrentTimestamp();
		/* from the setting as it is now, so that a reload moves a fill put off */
		fill_allowed = TimestampTzPlusMilliseconds(last_fill, vicidial_fill_interval);
		if (vicidial_worker_enabled &&
			(now >= next_run || now >= next_due || (fill_put_off && now >= fill_allowed)))
		{
			result = pass(true, now >= fill_allowed, &next_due, &more_due, &filled);
			passed = true;
			next_run = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), vicidial_worker_interval * 1000L);
			/*
			 * A fill put off comes when the interval allows; a burst's,
			 * after its last chunk. A failed pass leaves it to the next
			 * regular run, as it leaves everything else: a fill time
			 * already past would run the failing pass again at once.
			 */
			if (filled)
			{
				last_fill = now;
				fill_put_off = false;
			}
			else if (result != PASS_DONE)
				fill_put_off = false;
			else if (!more_due)
				fill_put_off = true;
			fill_allowed = TimestampTzPlusMilliseconds(last_fill, vicidial_fill_interval);
			/*
			 * A full chunk swept: the next chunk at once. Otherwise a
			 * callback that was due before the run began and is still
			 * ACTIVE after it has a lead that another transaction held: the
			 * run skipped it. Try again in a second rather than at once, in
			 * a loop, while that lock lasts. One that fell due during the
			 * run is taken at once.
			 */
			if (more_due)
				next_due = GetCurrentTimestamp();
			else if (next_due <= now)
				next_due = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 1000);
		}
		else if (vicidial_worker_enabled && woken)
		{
			/* a change may have made something due sooner */
			result = pass(false, false, &next_due, &more_due, &filled);
			passed = true;
		}

		/* a missing extension is logged once, and again only after it was back */
		if (passed && result == PASS_NO_EXTENSION && !missing_logged)
			ereport(LOG,
					(errmsg("vicidial_callbacks: extension not installed in database \"%s\", waiting for CREATE EXTENSION",
							database)));
		if (passed && result != PASS_FAILED)
			missing_logged = (result == PASS_NO_EXTENSION);

		next_wake = vicidial_worker_enabled ? Min(next_run, Min(next_due, fill_put_off ? fill_allowed : DT_NOEND))
			: TimestampTzPlusMilliseconds(GetCurrentTimestamp(), vicidial_worker_interval * 1000L);
		wakeup_publish_next(slot, vicidial_worker_enabled ? next_wake : 0);

		events = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						   TimestampDifferenceMilliseconds(GetCurrentTimestamp(), next_wake),
						   PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		woken = (events & WL_LATCH_SET) != 0;
	}
}
