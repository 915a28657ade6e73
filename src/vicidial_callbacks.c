/*
 * vicidial_callbacks.c
 *     Module entry point: the settings and, when preloaded, one background
 *     worker per served database.
 *
 * The callback state machine lives in SQL (sql/install). Loaded without
 * shared_preload_libraries the module only defines its settings, and
 * pg_cron or a person drives vicidial.hopper_run().
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/rls.h"
#include "utils/varlena.h"

#include "vicidial_callbacks.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

char	   *vicidial_worker_databases = NULL;
char	   *vicidial_worker_role = NULL;
int			vicidial_worker_interval = 60;
bool		vicidial_worker_enabled = true;
int			vicidial_history_rows = 10000;
int			vicidial_lock_timeout = 1000;
double		vicidial_notify_queue_limit = 0.5;
int			vicidial_sweep_chunk = 5000;
int			vicidial_fill_interval = 1000;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static int	served_databases = 0;

static void
request_shmem(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	wakeup_request_shmem(served_databases);
}

static void
startup_shmem(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	wakeup_init_shmem();
}

/* Reloadable settings: defined in every backend that loads the module. */
static void
define_reloadable_settings(void)
{
	DefineCustomIntVariable("vicidial_callbacks.interval",
							"Time between hopper runs of the background worker.",
							"Due callbacks also wake the worker at their own time.",
							&vicidial_worker_interval, 60, 1, 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomBoolVariable("vicidial_callbacks.enabled",
							 "Whether the background worker runs hopper_run; off leaves it to pg_cron or a person.",
							 NULL, &vicidial_worker_enabled, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vicidial_callbacks.history_rows",
							"How many rows of vicidial.hopper_runs the worker keeps.",
							NULL, &vicidial_history_rows, 10000, 10, 10000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vicidial_callbacks.lock_timeout",
							"Longest a hopper run waits for locks, in all.",
							"A part of a run that cannot get its locks in time is left to a later run "
							"and reported by worker_state(); nothing a writer holds open stalls runs for longer.",
							&vicidial_lock_timeout, 1000, 1, 600000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomRealVariable("vicidial_callbacks.notify_queue_limit",
							 "Fill of the NOTIFY queue above which a sweep sends no notifications.",
							 "Notifications are hints; a full queue would make every sweep fail at commit.",
							 &vicidial_notify_queue_limit, 0.5, 0.0, 1.0,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vicidial_callbacks.sweep_chunk",
							"Most due callbacks the background worker turns LIVE in one transaction.",
							"A burst is swept in chunks, each committed at once, so that agents get "
							"the first while the rest are swept; hopper_run and sweep take them all.",
							&vicidial_sweep_chunk, 5000, 1, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vicidial_callbacks.fill_interval",
							"Shortest time between two fills of the hoppers by the background worker.",
							"A run that comes sooner (a callback fell due) sweeps and leaves the fill "
							"to the time this allows; 0 fills at every run.",
							&vicidial_fill_interval, 1000, 0, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* Settings fixed at server start: PostgreSQL allows them only while preloading. */
static void
define_startup_settings(void)
{
	DefineCustomStringVariable("vicidial_callbacks.database",
							   "Databases served by a callback worker, comma-separated.",
							   "One background worker is started for each.",
							   &vicidial_worker_databases, "postgres",
							   PGC_POSTMASTER, GUC_LIST_INPUT, NULL, NULL, NULL);
	DefineCustomStringVariable("vicidial_callbacks.role",
							   "Role the hopper runs execute as; empty means the bootstrap superuser.",
							   NULL, &vicidial_worker_role, "",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
}

static void
register_workers(void)
{
	char	   *names = pstrdup(vicidial_worker_databases);
	List	   *databases = NIL;
	ListCell   *cell;

	if (!SplitIdentifierString(names, ',', &databases))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid list syntax in vicidial_callbacks.database: \"%s\"",
						vicidial_worker_databases)));

	foreach(cell, databases)
	{
		const char *database = (const char *) lfirst(cell);
		BackgroundWorker worker;
		ListCell   *earlier;
		bool		listed_before = false;

		/* a database named twice still gets one worker */
		foreach(earlier, databases)
		{
			if (earlier == cell)
				break;
			listed_before |= strcmp((const char *) lfirst(earlier), database) == 0;
		}
		if (listed_before)
			continue;

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		/* never on a standby: the worker starts once recovery is over */
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = 5;
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "vicidial_callbacks");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "vicidial_worker_main");
		snprintf(worker.bgw_name, BGW_MAXLEN, "vicidial_callbacks worker for %s", database);
		snprintf(worker.bgw_type, BGW_MAXLEN, "vicidial_callbacks worker");
		strlcpy(worker.bgw_extra, database, BGW_EXTRALEN);
		worker.bgw_main_arg = Int32GetDatum(served_databases);
		RegisterBackgroundWorker(&worker);
		served_databases++;
	}
}

void
_PG_init(void)
{
	define_reloadable_settings();
	wakeup_register_xact_callback();

	if (!process_shared_preload_libraries_in_progress)
		return;
	define_startup_settings();
	MarkGUCPrefixReserved("vicidial_callbacks");
	if (IsBinaryUpgrade)
		return;

	register_workers();
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = request_shmem;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = startup_shmem;
}

PG_FUNCTION_INFO_V1(vicidial_run_lock_timeout);

/* The lock_timeout of a hopper run, as set_config takes it. */
Datum
vicidial_run_lock_timeout(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%dms", vicidial_lock_timeout)));
}

PG_FUNCTION_INFO_V1(vicidial_notify_queue_limit_setting);

Datum
vicidial_notify_queue_limit_setting(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(vicidial_notify_queue_limit);
}

PG_FUNCTION_INFO_V1(vicidial_sweep_chunk_setting);

Datum
vicidial_sweep_chunk_setting(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(vicidial_sweep_chunk);
}

PG_FUNCTION_INFO_V1(vicidial_restoring_dump);

/*
 * A superuser loading a dump: pg_dump's script and pg_restore both set
 * row_security = off, which an everyday session does not. Asked in the
 * WHEN clause of the triggers that let a restore load rows as they were
 * dumped, where the current user is the role doing the write: code owned
 * by another role that runs during a restore (a materialized view being
 * refreshed, say) runs as that role, and is bound; and the session's own
 * role must be a superuser's as well.
 */
Datum
vicidial_restoring_dump(PG_FUNCTION_ARGS)
{
	/*
	 * The session's role too: a statement that a SECURITY DEFINER function
	 * of the extension issues runs as its owner, a superuser, on behalf of
	 * whoever called it.
	 */
	PG_RETURN_BOOL(!row_security && superuser() && superuser_arg(GetOuterUserId()));
}

PG_FUNCTION_INFO_V1(vicidial_in_transaction_block);

Datum
vicidial_in_transaction_block(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(IsTransactionBlock());
}
