/*
 * hours_window.c
 *     vicidial._hours_window(call_times, day): the window of several call
 *     times on a local date, intersected; every decision on calling hours
 *     (15_hours.sql) comes down to it.
 *
 * The fill, the room count and the sweep ask for the same few windows (a
 * call-times set on a date) over and over in one statement, and each
 * asking ran the query below through PL/pgSQL. A window depends on the
 * call-time tables alone: so the answers are kept at each call site for
 * as long as nothing can make the tables read otherwise, as a STABLE
 * function's may be. That is while the same role reads, in the same
 * subtransaction (one rolled back takes its writes with it, and what
 * runs next runs in another, or in its parent), with a snapshot that sees the same: the same
 * command of its own and the same transactions in progress. A call site
 * can outlive a statement (PL/pgSQL keeps one for the whole transaction),
 * hence the test of the snapshot, not of the statement. A snapshot whose
 * list of subtransactions overflowed does not say which ones it sees: the
 * window is read again at every call.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

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

/* per call site; past it, each new reading takes the oldest one's place */
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
	/* what the windows were read under */
	LocalTransactionId transaction;
	SubTransactionId subtransaction;
	Oid			user;
	TransactionId xmin;
	TransactionId xmax;
	CommandId	command;
	uint32		xcnt;
	int32		subxcnt;
	TransactionId *xip;			/* in seen_context */
	TransactionId *subxip;		/* in seen_context */
	MemoryContext seen_context;
	MemoryContext windows_context;	/* the remembered arrays */
	TupleDesc	result_type;
	bool		usable;			/* the windows may be served under this snapshot */
	int			count;
	int			oldest;			/* the next to be replaced once count is full */
	RememberedWindow windows[REMEMBERED_WINDOWS];
} WindowsOfSnapshot;

/* planned once per backend, generic: its parameters never change its plan */
static SPIPlanPtr window_plan = NULL;

static void
read_window(Datum call_times, bool call_times_null, Datum day, bool day_null, RememberedWindow *window)
{
	Datum		values[2] = {call_times, day};
	char		nulls[2] = {call_times_null ? 'n' : ' ', day_null ? 'n' : ' '};
	int			result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vicidial._hours_window(): SPI_connect failed");
	if (window_plan == NULL)
	{
		Oid			argtypes[2] = {VARCHARARRAYOID, DATEOID};
		SPIPlanPtr	plan = SPI_prepare_cursor(WINDOW_QUERY, 2, argtypes, CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL)
			elog(ERROR, "vicidial._hours_window(): SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "vicidial._hours_window(): SPI_keepplan failed");
		window_plan = plan;
	}
	result = SPI_execute_plan(window_plan, values, nulls, true, 1);
	if (result != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "vicidial._hours_window(): SPI_execute_plan returned %s, %llu rows",
			 SPI_result_code_string(result), (unsigned long long) SPI_processed);
	window->start = DatumGetTimeADT(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
												  &window->start_null));
	window->stop = DatumGetTimeADT(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
												 &window->stop_null));
	SPI_finish();
}

static bool
same_ids(const TransactionId *a, const TransactionId *b, int count)
{
	return count == 0 || memcmp(a, b, count * sizeof(TransactionId)) == 0;
}

/* Whether the windows were read under what reads now (see the header). */
static bool
read_under_the_same(WindowsOfSnapshot *remembered, Snapshot snapshot)
{
	return remembered->transaction == MyProc->lxid &&
		remembered->subtransaction == GetCurrentSubTransactionId() &&
		remembered->user == GetUserId() &&
		remembered->xmin == snapshot->xmin && remembered->xmax == snapshot->xmax &&
		remembered->command == snapshot->curcid &&
		remembered->xcnt == snapshot->xcnt && remembered->subxcnt == snapshot->subxcnt &&
		same_ids(remembered->xip, snapshot->xip, snapshot->xcnt) &&
		same_ids(remembered->subxip, snapshot->subxip, snapshot->subxcnt);
}

static void
remember_reading_under(WindowsOfSnapshot *remembered, Snapshot snapshot)
{
	MemoryContextReset(remembered->seen_context);
	MemoryContextReset(remembered->windows_context);
	remembered->count = 0;
	remembered->oldest = 0;
	remembered->transaction = MyProc->lxid;
	remembered->subtransaction = GetCurrentSubTransactionId();
	remembered->user = GetUserId();
	remembered->xmin = snapshot->xmin;
	remembered->xmax = snapshot->xmax;
	remembered->command = snapshot->curcid;
	remembered->xcnt = snapshot->xcnt;
	remembered->subxcnt = snapshot->subxcnt;
	remembered->xip = MemoryContextAlloc(remembered->seen_context,
										 Max(snapshot->xcnt, 1) * sizeof(TransactionId));
	if (snapshot->xcnt > 0)
		memcpy(remembered->xip, snapshot->xip, snapshot->xcnt * sizeof(TransactionId));
	remembered->subxip = MemoryContextAlloc(remembered->seen_context,
											Max(snapshot->subxcnt, 1) * sizeof(TransactionId));
	if (snapshot->subxcnt > 0)
		memcpy(remembered->subxip, snapshot->subxip, snapshot->subxcnt * sizeof(TransactionId));
}

/*
 * This call site's windows, emptied unless they were read under what
 * reads now; not usable when there is no snapshot, or one that does not
 * tell what it sees.
 */
static WindowsOfSnapshot *
windows_of_call_site(FunctionCallInfo fcinfo)
{
	WindowsOfSnapshot *remembered = (WindowsOfSnapshot *) fcinfo->flinfo->fn_extra;
	Snapshot	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : NULL;

	if (remembered == NULL)
	{
		TupleDesc	result_type;
		MemoryContext caller_context;

		if (get_call_result_type(fcinfo, NULL, &result_type) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "vicidial._hours_window(): its result is not a row");
		caller_context = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		remembered = palloc0(sizeof(WindowsOfSnapshot));
		remembered->seen_context = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "vicidial hours snapshot",
														 ALLOCSET_SMALL_SIZES);
		remembered->windows_context = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "vicidial hours windows",
															ALLOCSET_SMALL_SIZES);
		remembered->result_type = BlessTupleDesc(CreateTupleDescCopy(result_type));
		MemoryContextSwitchTo(caller_context);
		remembered->transaction = InvalidLocalTransactionId;
		fcinfo->flinfo->fn_extra = remembered;
	}
	remembered->usable = snapshot != NULL && snapshot->snapshot_type == SNAPSHOT_MVCC && !snapshot->suboverflowed;
	if (remembered->usable && !read_under_the_same(remembered, snapshot))
		remember_reading_under(remembered, snapshot);
	return remembered;
}

PG_FUNCTION_INFO_V1(vicidial_hours_window);

Datum
vicidial_hours_window(PG_FUNCTION_ARGS)
{
	WindowsOfSnapshot *remembered = windows_of_call_site(fcinfo);
	bool		keep = remembered->usable && !PG_ARGISNULL(0) && !PG_ARGISNULL(1);
	RememberedWindow fresh;
	RememberedWindow *window = NULL;
	ArrayType  *call_times = keep ? PG_GETARG_ARRAYTYPE_P(0) : NULL;
	DateADT		day = keep ? PG_GETARG_DATEADT(1) : 0;
	Datum		values[2];
	bool		nulls[2];

	for (int i = 0; keep && i < remembered->count; i++)
		if (remembered->windows[i].day == day &&
			VARSIZE(remembered->windows[i].call_times) == VARSIZE(call_times) &&
			memcmp(remembered->windows[i].call_times, call_times, VARSIZE(call_times)) == 0)
		{
			window = &remembered->windows[i];
			break;
		}
	if (window == NULL)
	{
		read_window(PG_GETARG_DATUM(0), PG_ARGISNULL(0), PG_GETARG_DATUM(1), PG_ARGISNULL(1), &fresh);
		window = &fresh;
	}
	if (keep && window == &fresh)
	{
		RememberedWindow *slot;

		if (remembered->count < REMEMBERED_WINDOWS)
			slot = &remembered->windows[remembered->count++];
		else
		{
			slot = &remembered->windows[remembered->oldest];
			remembered->oldest = (remembered->oldest + 1) % REMEMBERED_WINDOWS;
			pfree(slot->call_times);
		}
		*slot = fresh;
		slot->day = day;
		slot->call_times = MemoryContextAlloc(remembered->windows_context, VARSIZE(call_times));
		memcpy(slot->call_times, call_times, VARSIZE(call_times));
	}

	values[0] = TimeADTGetDatum(window->start);
	nulls[0] = window->start_null;
	values[1] = TimeADTGetDatum(window->stop);
	nulls[1] = window->stop_null;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(remembered->result_type, values, nulls)));
}
