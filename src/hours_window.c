/*
 * hours_window.c
 *     vicidial._hours_window(call_times, day): the window of several call
 *     times on a local date, intersected; every decision on calling hours
 *     (15_hours.sql) comes down to it.
 *
 * The fill, the room count and the sweep ask for the same few windows (a
 * call-times set on a date) hundreds of times in one statement, and each
 * asking ran the query below through PL/pgSQL. A window depends on the
 * call-time tables alone, which cannot change within what one snapshot
 * sees: so the answers are kept at each call site for as long as the
 * snapshot in force sees what the one that read them saw (the same
 * transaction and command, the same transactions in progress), as a
 * STABLE function's may be. A call site can outlive a statement
 * (PL/pgSQL keeps one for the whole transaction), hence the test of the
 * snapshot, not of the statement.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "vicidial_callbacks.h"

/*
 * Each call time's window is the holiday's when the date is one, else the
 * weekday's pair, else the default pair. Closed (NULL start) when any is
 * closed or unknown: a rule narrows, never widens; start = stop closes
 * the day too. NULLs in the array are ignored.
 */
#define WINDOW_QUERY \
	"SELECT CASE WHEN bool_and(w.start IS NOT NULL) THEN max(w.start) END, min(w.stop)" \
	"  FROM unnest($1) AS ct(id)" \
	"  LEFT JOIN vicidial.vicidial_call_times t ON t.call_time_id = ct.id" \
	"  LEFT JOIN vicidial.vicidial_call_time_holidays h ON h.call_time_id = ct.id AND h.holiday_date = $2" \
	" CROSS JOIN LATERAL (" \
	"       SELECT CASE WHEN h.holiday_date IS NOT NULL THEN h.ct_start" \
	"                   ELSE coalesce((ARRAY[t.ct_sunday_start, t.ct_monday_start, t.ct_tuesday_start," \
	"                                        t.ct_wednesday_start, t.ct_thursday_start, t.ct_friday_start," \
	"                                        t.ct_saturday_start])[extract(dow FROM $2)::integer + 1]," \
	"                                 t.ct_default_start) END," \
	"              CASE WHEN h.holiday_date IS NOT NULL THEN h.ct_stop" \
	"                   ELSE coalesce((ARRAY[t.ct_sunday_stop, t.ct_monday_stop, t.ct_tuesday_stop," \
	"                                        t.ct_wednesday_stop, t.ct_thursday_stop, t.ct_friday_stop," \
	"                                        t.ct_saturday_stop])[extract(dow FROM $2)::integer + 1]," \
	"                                 t.ct_default_stop) END) AS w(start, stop)" \
	" WHERE ct.id IS NOT NULL"

/* enough for every (call times, date) pair a fill or a sweep meets */
#define REMEMBERED_WINDOWS 64

typedef struct RememberedWindow
{
	ArrayType  *call_times;
	DateADT		day;
	bool		start_null;
	bool		stop_null;
	TimeADT		start;
	TimeADT		stop;
} RememberedWindow;

typedef struct WindowsOfSnapshot
{
	/* what the snapshot the windows were read in sees by */
	LocalTransactionId transaction;
	SnapshotData seen;			/* with its arrays in context */
	MemoryContext context;		/* those arrays and the remembered ones */
	TupleDesc	result_type;
	int			count;
	RememberedWindow windows[REMEMBERED_WINDOWS];
} WindowsOfSnapshot;

/* planned once per backend, generic: its parameters never change its plan */
static SPIPlanPtr window_plan = NULL;

static void
read_window(Datum call_times, bool call_times_null, Datum day, bool day_null, RememberedWindow *window)
{
	Datum		values[2] = {call_times, day};
	char		nulls[2] = {call_times_null ? 'n' : ' ', day_null ? 'n' : ' '};

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vicidial._hours_window(): SPI_connect failed");
	if (window_plan == NULL)
	{
		Oid			argtypes[2] = {VARCHARARRAYOID, DATEOID};
		SPIPlanPtr	plan = SPI_prepare_cursor(WINDOW_QUERY, 2, argtypes, CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "vicidial._hours_window(): SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		window_plan = plan;
	}
	if (SPI_execute_plan(window_plan, values, nulls, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "vicidial._hours_window(): SPI_execute_plan failed");
	window->start = DatumGetTimeADT(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
												  &window->start_null));
	window->stop = DatumGetTimeADT(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
												 &window->stop_null));
	SPI_finish();
}

/*
 * Whether two snapshots of this transaction see the same rows: the same
 * transactions in progress and the same command of its own.
 */
static bool
sees_the_same(Snapshot seen, Snapshot snapshot)
{
	return seen->xmin == snapshot->xmin && seen->xmax == snapshot->xmax &&
		seen->curcid == snapshot->curcid &&
		seen->suboverflowed == snapshot->suboverflowed &&
		seen->takenDuringRecovery == snapshot->takenDuringRecovery &&
		seen->xcnt == snapshot->xcnt && seen->subxcnt == snapshot->subxcnt &&
		memcmp(seen->xip, snapshot->xip, snapshot->xcnt * sizeof(TransactionId)) == 0 &&
		memcmp(seen->subxip, snapshot->subxip, snapshot->subxcnt * sizeof(TransactionId)) == 0;
}

/*
 * The windows remembered at this call site, emptied when the snapshot in
 * force does not see what the one they were read in saw; NULL when no
 * snapshot is in force.
 */
static WindowsOfSnapshot *
windows_of_snapshot(FunctionCallInfo fcinfo)
{
	WindowsOfSnapshot *remembered = (WindowsOfSnapshot *) fcinfo->flinfo->fn_extra;
	Snapshot	snapshot;

	if (!ActiveSnapshotSet())
		return NULL;
	snapshot = GetActiveSnapshot();
	if (snapshot->snapshot_type != SNAPSHOT_MVCC)
		return NULL;
	if (remembered == NULL)
	{
		TupleDesc	result_type;
		MemoryContext caller_context;

		if (get_call_result_type(fcinfo, NULL, &result_type) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "vicidial._hours_window(): its result is not a row");
		caller_context = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		remembered = palloc0(sizeof(WindowsOfSnapshot));
		remembered->context = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "vicidial hours windows",
													ALLOCSET_SMALL_SIZES);
		remembered->result_type = BlessTupleDesc(CreateTupleDescCopy(result_type));
		MemoryContextSwitchTo(caller_context);
		remembered->transaction = InvalidLocalTransactionId;
		fcinfo->flinfo->fn_extra = remembered;
	}
	if (remembered->transaction != MyProc->lxid || !sees_the_same(&remembered->seen, snapshot) ||
		remembered->count == REMEMBERED_WINDOWS)
	{
		MemoryContextReset(remembered->context);
		remembered->count = 0;
		remembered->transaction = MyProc->lxid;
		remembered->seen = *snapshot;
		remembered->seen.xip = MemoryContextAlloc(remembered->context,
												  Max(snapshot->xcnt, 1) * sizeof(TransactionId));
		memcpy(remembered->seen.xip, snapshot->xip, snapshot->xcnt * sizeof(TransactionId));
		remembered->seen.subxip = MemoryContextAlloc(remembered->context,
													 Max(snapshot->subxcnt, 1) * sizeof(TransactionId));
		memcpy(remembered->seen.subxip, snapshot->subxip, snapshot->subxcnt * sizeof(TransactionId));
	}
	return remembered;
}

PG_FUNCTION_INFO_V1(vicidial_hours_window);

Datum
vicidial_hours_window(PG_FUNCTION_ARGS)
{
	WindowsOfSnapshot *remembered = NULL;
	RememberedWindow read;
	RememberedWindow *window = NULL;
	ArrayType  *call_times = NULL;
	DateADT		day = 0;
	TupleDesc	result_type;
	Datum		values[2];
	bool		nulls[2];

	if (!PG_ARGISNULL(0) && !PG_ARGISNULL(1))
	{
		call_times = PG_GETARG_ARRAYTYPE_P(0);
		day = PG_GETARG_DATEADT(1);
		remembered = windows_of_snapshot(fcinfo);
	}
	for (int i = 0; remembered != NULL && i < remembered->count; i++)
		if (remembered->windows[i].day == day &&
			VARSIZE(remembered->windows[i].call_times) == VARSIZE(call_times) &&
			memcmp(remembered->windows[i].call_times, call_times, VARSIZE(call_times)) == 0)
		{
			window = &remembered->windows[i];
			break;
		}
	if (window == NULL)
	{
		window = remembered ? &remembered->windows[remembered->count] : &read;
		read_window(PG_GETARG_DATUM(0), PG_ARGISNULL(0), PG_GETARG_DATUM(1), PG_ARGISNULL(1), window);
		if (remembered)
		{
			window->day = day;
			window->call_times = MemoryContextAlloc(remembered->context, VARSIZE(call_times));
			memcpy(window->call_times, call_times, VARSIZE(call_times));
			remembered->count++;
		}
	}

	if (remembered)
		result_type = remembered->result_type;
	else if (get_call_result_type(fcinfo, NULL, &result_type) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "vicidial._hours_window(): its result is not a row");
	else
		result_type = BlessTupleDesc(result_type);
	values[0] = TimeADTGetDatum(window->start);
	nulls[0] = window->start_null;
	values[1] = TimeADTGetDatum(window->stop);
	nulls[1] = window->stop_null;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(result_type, values, nulls)));
}
