/*
 * callback_changes.c
 *     What a statement did to vicidial_callbacks, read once from its
 *     transition tables: whether a callback may now fall due sooner (the
 *     worker is woken at commit) and which leads must follow their
 *     callbacks (handed to vicidial._apply_callback_effects).
 *
 * Both questions are asked after every statement that writes callbacks,
 * and many statements answer no to both: an agent's dial counts an
 * attempt, a comment changes. Asked in C, a no costs a pass over the rows
 * and nothing is planned; the moves themselves stay in SQL
 * (sql/install/40_leads.sql), asked only of a statement that inserted
 * callbacks or changed the status or recipient of one.
 *
 * An UPDATE's transition tables hold the old and the new version of each
 * row in the same order (trigger.c adds them in pairs).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "vicidial_callbacks.h"

/* the columns read, by number in the statement's relation */
typedef struct CallbackColumns
{
	AttrNumber	callback_id;
	AttrNumber	lead_id;
	AttrNumber	status;
	AttrNumber	recipient;
	AttrNumber	callback_time;
} CallbackColumns;

/* one version of a row, as read */
typedef struct CallbackRow
{
	int64		callback_id;
	int64		lead_id;
	text	   *status;			/* NULL when null */
	text	   *recipient;
	Datum		callback_time;
	bool		callback_time_null;
} CallbackRow;

/* a growing list of ids, handed to SQL as a bigint[] (NULL when empty) */
typedef struct IdList
{
	int64	   *ids;
	int			count;
	int			size;
} IdList;

/* a transition table read from its start, through a read pointer of our own */
typedef struct TransitionReader
{
	Tuplestorestate *rows;
	TupleTableSlot *slot;
} TransitionReader;

static AttrNumber
column_number(Relation relation, const char *name)
{
	int			attnum = SPI_fnumber(RelationGetDescr(relation), name);

	if (attnum <= 0)
		elog(ERROR, "vicidial_callbacks: %s has no column \"%s\"", RelationGetRelationName(relation), name);
	return attnum;
}

static CallbackColumns
callback_columns(Relation relation)
{
	CallbackColumns columns;

	columns.callback_id = column_number(relation, "callback_id");
	columns.lead_id = column_number(relation, "lead_id");
	columns.status = column_number(relation, "status");
	columns.recipient = column_number(relation, "recipient");
	columns.callback_time = column_number(relation, "callback_time");
	return columns;
}

static void
reader_open(TransitionReader *reader, Tuplestorestate *rows, Relation relation)
{
	int			pointer = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);

	tuplestore_select_read_pointer(rows, pointer);
	tuplestore_rescan(rows);
	reader->rows = rows;
	reader->slot = MakeSingleTupleTableSlot(RelationGetDescr(relation), &TTSOpsMinimalTuple);
}

static text *
text_column(TupleTableSlot *slot, AttrNumber attnum)
{
	bool		isnull;
	Datum		value = slot_getattr(slot, attnum, &isnull);

	return isnull ? NULL : DatumGetTextPP(value);
}

/* the next row, false at the end; its text is valid until the next call */
static bool
reader_next(TransitionReader *reader, const CallbackColumns *columns, CallbackRow *row)
{
	bool		isnull;

	if (!tuplestore_gettupleslot(reader->rows, true, false, reader->slot))
		return false;
	row->callback_id = DatumGetInt64(slot_getattr(reader->slot, columns->callback_id, &isnull));
	row->lead_id = DatumGetInt64(slot_getattr(reader->slot, columns->lead_id, &isnull));
	row->status = text_column(reader->slot, columns->status);
	row->recipient = text_column(reader->slot, columns->recipient);
	row->callback_time = slot_getattr(reader->slot, columns->callback_time, &row->callback_time_null);
	return true;
}

/* the old version of the row just read from the new rows: the next one */
static void
read_old_version(TransitionReader *old_rows, const CallbackColumns *columns, CallbackRow *old_row,
				 const CallbackRow *new_row)
{
	if (!reader_next(old_rows, columns, old_row) || old_row->callback_id != new_row->callback_id)
		elog(ERROR, "vicidial_callbacks: the old and new rows of an update are not in pairs");
}

static bool
text_is(const text *value, const char *expected)
{
	size_t		length = strlen(expected);

	return value != NULL && VARSIZE_ANY_EXHDR(value) == length && memcmp(VARDATA_ANY(value), expected, length) == 0;
}

/* IS NOT DISTINCT FROM */
static bool
same_text(const text *a, const text *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

static bool
same_time(const CallbackRow *a, const CallbackRow *b)
{
	if (a->callback_time_null || b->callback_time_null)
		return a->callback_time_null == b->callback_time_null;
	return DatumGetTimestampTz(a->callback_time) == DatumGetTimestampTz(b->callback_time);
}

static bool
live_for_anyone(const CallbackRow *row)
{
	return text_is(row->status, "LIVE") && text_is(row->recipient, "ANYONE");
}

static bool
open_callback(const CallbackRow *row)
{
	return text_is(row->status, "ACTIVE") || text_is(row->status, "LIVE");
}

static void
id_list_add(IdList *list, int64 id)
{
	if (list->count == list->size)
	{
		list->size = list->size == 0 ? 16 : list->size * 2;
		list->ids = list->ids == NULL ? palloc(list->size * sizeof(int64))
			: repalloc(list->ids, list->size * sizeof(int64));
	}
	list->ids[list->count++] = id;
}

static int
compare_ids(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* in ascending order, the order in which every path locks leads and callbacks */
static Datum
id_list_array(IdList *list, bool *isnull)
{
	Datum	   *elements;
	int			i;

	*isnull = list->count == 0;
	if (*isnull)
		return (Datum) 0;
	qsort(list->ids, list->count, sizeof(int64), compare_ids);
	elements = palloc(list->count * sizeof(Datum));
	for (i = 0; i < list->count; i++)
		elements[i] = Int64GetDatum(list->ids[i]);
	return PointerGetDatum(construct_array(elements, list->count, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static void
require_statement_trigger(FunctionCallInfo fcinfo, const char *name)
{
	TriggerData *trigger = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigger->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigger->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s must be called as an after statement trigger", name)));
}

PG_FUNCTION_INFO_V1(vicidial_wake_worker);

/*
 * Wakes the worker at commit when the statement may have made a callback
 * due sooner: an insert, or an update that left a callback open (ACTIVE
 * or LIVE) with a new status, recipient or time. An archive, a count of
 * attempts or a new comment moves nothing the worker waits for. Without
 * transition tables (a database still on an older version's trigger) it
 * always wakes.
 */
Datum
vicidial_wake_worker(PG_FUNCTION_ARGS)
{
	TriggerData *trigger = (TriggerData *) fcinfo->context;
	bool		wake = true;

	require_statement_trigger(fcinfo, "vicidial._wake_worker()");
	if (TRIGGER_FIRED_BY_UPDATE(trigger->tg_event) && trigger->tg_oldtable != NULL && trigger->tg_newtable != NULL)
	{
		CallbackColumns columns = callback_columns(trigger->tg_relation);
		TransitionReader old_rows;
		TransitionReader new_rows;
		CallbackRow old_row;
		CallbackRow new_row;

		reader_open(&old_rows, trigger->tg_oldtable, trigger->tg_relation);
		reader_open(&new_rows, trigger->tg_newtable, trigger->tg_relation);
		wake = false;
		while (!wake && reader_next(&new_rows, &columns, &new_row))
		{
			read_old_version(&old_rows, &columns, &old_row, &new_row);
			wake = open_callback(&new_row) &&
				!(same_text(old_row.status, new_row.status) && same_text(old_row.recipient, new_row.recipient) &&
				  same_time(&old_row, &new_row));
		}
		ExecDropSingleTupleTableSlot(old_rows.slot);
		ExecDropSingleTupleTableSlot(new_rows.slot);
	}
	if (wake)
		wakeup_at_commit();
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(vicidial_callback_effects);

/*
 * Sorts the statement's rows into the moves of _apply_callback_effects:
 * inserted (their leads held unless already), archived, leaving LIVE
 * ANYONE for another open state (their leads held again) and newly LIVE
 * ANYONE (their leads released); a row whose status and recipient did not
 * change moves nothing. Nothing to move, nothing is called.
 */
Datum
vicidial_callback_effects(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr apply = NULL;
	TriggerData *trigger = (TriggerData *) fcinfo->context;
	CallbackColumns columns;
	TransitionReader new_rows;
	TransitionReader old_rows;
	CallbackRow new_row;
	CallbackRow old_row;
	IdList		moves[4] = {{0}};	/* inserted, archived, held, live_for_anyone */
	Datum		args[4];
	char		nulls[4];
	bool		any = false;
	int			i;

	require_statement_trigger(fcinfo, "vicidial._callback_effects()");
	if (trigger->tg_newtable == NULL ||
		(TRIGGER_FIRED_BY_UPDATE(trigger->tg_event) && trigger->tg_oldtable == NULL) ||
		!(TRIGGER_FIRED_BY_INSERT(trigger->tg_event) || TRIGGER_FIRED_BY_UPDATE(trigger->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("vicidial._callback_effects() needs the transition tables of an insert or an update")));

	columns = callback_columns(trigger->tg_relation);
	reader_open(&new_rows, trigger->tg_newtable, trigger->tg_relation);
	if (TRIGGER_FIRED_BY_INSERT(trigger->tg_event))
	{
		while (reader_next(&new_rows, &columns, &new_row))
			id_list_add(&moves[0], new_row.lead_id);
	}
	else
	{
		reader_open(&old_rows, trigger->tg_oldtable, trigger->tg_relation);
		while (reader_next(&new_rows, &columns, &new_row))
		{
			read_old_version(&old_rows, &columns, &old_row, &new_row);
			if (same_text(old_row.status, new_row.status) && same_text(old_row.recipient, new_row.recipient))
				continue;
			if (text_is(new_row.status, "ARCHIVE"))
				id_list_add(&moves[1], new_row.callback_id);
			else if (live_for_anyone(&old_row))
				id_list_add(&moves[2], new_row.lead_id);
			if (live_for_anyone(&new_row))
				id_list_add(&moves[3], new_row.lead_id);
		}
		ExecDropSingleTupleTableSlot(old_rows.slot);
	}
	ExecDropSingleTupleTableSlot(new_rows.slot);

	for (i = 0; i < 4; i++)
	{
		bool		isnull;

		args[i] = id_list_array(&moves[i], &isnull);
		nulls[i] = isnull ? 'n' : ' ';
		any |= !isnull;
	}
	if (!any)
		return PointerGetDatum(NULL);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vicidial_callbacks: SPI_connect failed");
	if (apply == NULL)
	{
		Oid			argtypes[4] = {INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
		SPIPlanPtr	plan = SPI_prepare("SELECT vicidial._apply_callback_effects($1, $2, $3, $4)", 4, argtypes);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "vicidial_callbacks: could not prepare the callback effects: %s", SPI_result_code_string(SPI_result));
		apply = plan;
	}
	if (SPI_execute_plan(apply, args, nulls, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "vicidial_callbacks: the callback effects failed");
	SPI_finish();
	return PointerGetDatum(NULL);
}
