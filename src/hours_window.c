/*
 * hours_window.c
 *     vicidial._hours_window(call_times, day): the window of several call
 *     times on a local date, intersected; every decision on calling hours
 *     (15_hours.sql) comes down to it. And vicidial._hours_open(zone,
 *     call_times, at), I8's predicate, which a hand-out asks for every lead
 *     it tries: in C, so that it reads the window here, with no function
 *     call between.
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
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

/*
 * Each call time's window is the holiday's when the date is one, else the
 * weekday's pair, else the default pair. Closed (NULL start) when any is
 * closed or unknown: a rule narrows, never widens; start = stop closes
 * the day too. NULLs in the array are ignored. Everything is named with
 * its schema, so that the caller's search_path cannot change what it reads:
 * the two functions carry no SET clause, which would save and restore the
 * setting at every call.
 */
#define WINDOW_QUERY \
	"SELECT CASE WHEN pg_catalog.bool_and(w.start IS NOT NULL) THEN pg_catalog.max(w.start) END," \
	"       pg_catalog.min(w.stop)" \
	"  FROM pg_catalog.unnest($1) AS ct(id)" \
	"  LEFT JOIN vicidial.vicidial_call_times t ON t.call_time_id OPERATOR(pg_catalog.=) ct.id" \
	"  LEFT JOIN vicidial.vicidial_call_time_holidays h" \
	"         ON h.call_time_id OPERATOR(pg_catalog.=) ct.id AND h.holiday_date OPERATOR(pg_catalog.=) $2" \
	" CROSS JOIN LATERAL (" \
	"       SELECT CASE WHEN h.holiday_date IS NOT NULL THEN h.ct_start" \
	"                   ELSE coalesce((ARRAY[t.ct_sunday_start, t.ct_monday_start, t.ct_tuesday_start," \
	"                                        t.ct_wednesday_start, t.ct_thursday_start, t.ct_friday_start," \
	"                                        t.ct_saturday_start])[extract(dow FROM $2)::integer OPERATOR(pg_catalog.+) 1]," \
	"                                 t.ct_default_start) END," \
	"              CASE WHEN h.holiday_date IS NOT NULL THEN h.ct_stop" \
	"                   ELSE coalesce((ARRAY[t.ct_sunday_stop, t.ct_monday_stop, t.ct_tuesday_stop," \
	"                                        t.ct_wednesday_stop, t.ct_thursday_stop, t.ct_friday_stop," \
	"                                        t.ct_saturday_stop])[extract(dow FROM $2)::integer OPERATOR(pg_catalog.+) 1]," \
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
	TupleDesc	result_type;	/* _hours_window's, once asked */
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
		remembered = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(WindowsOfSnapshot));
		remembered->seen_context = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "vicidial hours snapshot",
														 ALLOCSET_SMALL_SIZES);
		remembered->windows_context = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "vicidial hours windows",
															ALLOCSET_SMALL_SIZES);
		remembered->transaction = InvalidLocalTransactionId;
		fcinfo->flinfo->fn_extra = remembered;
	}
	remembered->usable = snapshot != NULL && snapshot->snapshot_type == SNAPSHOT_MVCC && !snapshot->suboverflowed;
	if (remembered->usable && !read_under_the_same(remembered, snapshot))
		remember_reading_under(remembered, snapshot);
	return remembered;
}

/*
 * The window of call_times on day: remembered at this call site, else read
 * into *fresh (and remembered when it may be served again).
 */
static RememberedWindow *
window_of(FunctionCallInfo fcinfo, Datum call_times_datum, bool call_times_null, Datum day_datum, bool day_null,
		  RememberedWindow *fresh)
{
	WindowsOfSnapshot *remembered = windows_of_call_site(fcinfo);
	bool		keep = remembered->usable && !call_times_null && !day_null;
	ArrayType  *call_times = keep ? DatumGetArrayTypeP(call_times_datum) : NULL;
	DateADT		day = keep ? DatumGetDateADT(day_datum) : 0;
	RememberedWindow *slot;

	for (int i = 0; keep && i < remembered->count; i++)
		if (remembered->windows[i].day == day &&
			VARSIZE(remembered->windows[i].call_times) == VARSIZE(call_times) &&
			memcmp(remembered->windows[i].call_times, call_times, VARSIZE(call_times)) == 0)
			return &remembered->windows[i];
	read_window(call_times_datum, call_times_null, day_datum, day_null, fresh);
	if (!keep)
		return fresh;
	if (remembered->count < REMEMBERED_WINDOWS)
		slot = &remembered->windows[remembered->count++];
	else
	{
		slot = &remembered->windows[remembered->oldest];
		remembered->oldest = (remembered->oldest + 1) % REMEMBERED_WINDOWS;
		pfree(slot->call_times);
	}
	*slot = *fresh;
	slot->day = day;
	slot->call_times = MemoryContextAlloc(remembered->windows_context, VARSIZE(call_times));
	memcpy(slot->call_times, call_times, VARSIZE(call_times));
	return slot;
}

PG_FUNCTION_INFO_V1(vicidial_hours_window);

Datum
vicidial_hours_window(PG_FUNCTION_ARGS)
{
	RememberedWindow fresh;
	RememberedWindow *window = window_of(fcinfo, PG_GETARG_DATUM(0), PG_ARGISNULL(0),
										 PG_GETARG_DATUM(1), PG_ARGISNULL(1), &fresh);
	WindowsOfSnapshot *remembered = (WindowsOfSnapshot *) fcinfo->flinfo->fn_extra;
	Datum		values[2];
	bool		nulls[2];

	if (remembered->result_type == NULL)
	{
		TupleDesc	result_type;
		MemoryContext caller_context;

		if (get_call_result_type(fcinfo, NULL, &result_type) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "vicidial._hours_window(): its result is not a row");
		caller_context = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		remembered->result_type = BlessTupleDesc(CreateTupleDescCopy(result_type));
		MemoryContextSwitchTo(caller_context);
	}
	values[0] = TimeADTGetDatum(window->start);
	nulls[0] = window->start_null;
	values[1] = TimeADTGetDatum(window->stop);
	nulls[1] = window->stop_null;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(remembered->result_type, values, nulls)));
}

/*
 * vicidial._hours_open(zone, call_times, at): "at" falls in [start, stop)
 * of the window of its own local date, on the zone's wall clock. Not
 * strict: any NULL is closed (false), as is an infinite "at", which has no
 * wall-clock time. An unknown zone is AT TIME ZONE's own error, whenever
 * there is an instant to read in it.
 */
PG_FUNCTION_INFO_V1(vicidial_hours_open);

Datum
vicidial_hours_open(PG_FUNCTION_ARGS)
{
	Timestamp	local;
	RememberedWindow fresh;
	RememberedWindow *window;
	TimeADT		time_of_day;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		PG_RETURN_BOOL(false);
	local = DatumGetTimestamp(DirectFunctionCall2(timestamptz_zone, PG_GETARG_DATUM(0), PG_GETARG_DATUM(2)));
	if (PG_ARGISNULL(1) || TIMESTAMP_NOT_FINITE(local))
		PG_RETURN_BOOL(false);
	window = window_of(fcinfo, PG_GETARG_DATUM(1), false, DirectFunctionCall1(timestamp_date, TimestampGetDatum(local)),
					   false, &fresh);
	if (window->start_null || window->stop_null)
		PG_RETURN_BOOL(false);
	time_of_day = DatumGetTimeADT(DirectFunctionCall1(timestamp_time, TimestampGetDatum(local)));
	PG_RETURN_BOOL(time_of_day >= window->start && time_of_day < window->stop);
}
