/*
 * transition_rows.c
 *     Reading a statement's transition tables from C: the rows of an
 *     after-statement trigger, the columns it reads by name, and the ids
 *     it collects to hand to SQL as a bigint[].
 *
 * The statement triggers that only sort a statement's rows (which
 * callbacks wake the worker or move their leads, which leads are checked
 * at commit) read them here in one pass and plan nothing; SQL is asked
 * only when there is something to do. An UPDATE's transition tables hold
 * the old and the new version of each row in the same order (trigger.c
 * adds them in pairs), so an old row is the next one read beside its new
 * row, never a join: the only join that stays correct at every size
 * without a plan (see "Plans for many rows" in the design page).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "vicidial_callbacks.h"

AttrNumber
transition_column(Relation relation, const char *name)
{
	int			attnum = SPI_fnumber(RelationGetDescr(relation), name);

	if (attnum <= 0)
		elog(ERROR, "vicidial_callbacks: %s has no column \"%s\"", RelationGetRelationName(relation), name);
	return attnum;
}

/* from the table's start, through a read pointer of our own */
void
transition_reader_open(TransitionReader *reader, Tuplestorestate *rows, Relation relation)
{
	int			pointer = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);

	tuplestore_select_read_pointer(rows, pointer);
	tuplestore_rescan(rows);
	reader->rows = rows;
	reader->slot = MakeSingleTupleTableSlot(RelationGetDescr(relation), &TTSOpsMinimalTuple);
}

/* the next row into reader->slot, false at the end */
bool
transition_reader_next(TransitionReader *reader)
{
	return tuplestore_gettupleslot(reader->rows, true, false, reader->slot);
}

void
transition_reader_close(TransitionReader *reader)
{
	ExecDropSingleTupleTableSlot(reader->slot);
}

/*
 * A statement's rows, each new row with, for an update, its old version:
 * the next row of the old table, at the same position as its new one.
 */
void
transition_changes_open(TransitionChanges *changes, TriggerData *trigger)
{
	changes->updated = TRIGGER_FIRED_BY_UPDATE(trigger->tg_event);
	transition_reader_open(&changes->new_rows, trigger->tg_newtable, trigger->tg_relation);
	if (changes->updated)
		transition_reader_open(&changes->old_rows, trigger->tg_oldtable, trigger->tg_relation);
}

/* the next row into new_rows.slot (and old_rows.slot), false at the end */
bool
transition_changes_next(TransitionChanges *changes)
{
	bool		more = transition_reader_next(&changes->new_rows);

	if (changes->updated && transition_reader_next(&changes->old_rows) != more)
		elog(ERROR, "vicidial_callbacks: the old and new rows of an update are not in pairs");
	return more;
}

void
transition_changes_close(TransitionChanges *changes)
{
	transition_reader_close(&changes->new_rows);
	if (changes->updated)
		transition_reader_close(&changes->old_rows);
}

int64
transition_int64(TupleTableSlot *slot, AttrNumber attnum)
{
	bool		isnull;
	Datum		value = slot_getattr(slot, attnum, &isnull);

	if (isnull)
		elog(ERROR, "vicidial_callbacks: a row's id is null");
	return DatumGetInt64(value);
}

/* NULL when null; valid until the slot's next row */
text *
transition_text(TupleTableSlot *slot, AttrNumber attnum)
{
	bool		isnull;
	Datum		value = slot_getattr(slot, attnum, &isnull);

	return isnull ? NULL : DatumGetTextPP(value);
}

/* value = expected, as SQL would take it in a WHERE clause: false for NULL */
bool
text_is(const text *value, const char *expected)
{
	size_t		length = strlen(expected);

	return value != NULL && VARSIZE_ANY_EXHDR(value) == length && memcmp(VARDATA_ANY(value), expected, length) == 0;
}

/* IS NOT DISTINCT FROM */
bool
same_text(const text *a, const text *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

/* a <> b, as SQL would take it in a WHERE clause: false when either is NULL */
bool
texts_differ(const text *a, const text *b)
{
	return a != NULL && b != NULL && !same_text(a, b);
}

void
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
Datum
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

void
require_statement_trigger(FunctionCallInfo fcinfo, const char *name)
{
	TriggerData *trigger = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigger->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigger->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s must be called as an after statement trigger", name)));
}

/*
 * The transition tables of an insert (new rows) or an update (old and new
 * rows), which the trigger must declare.
 */
void
require_transition_tables(FunctionCallInfo fcinfo, const char *name)
{
	TriggerData *trigger = (TriggerData *) fcinfo->context;

	require_statement_trigger(fcinfo, name);
	if (trigger->tg_newtable == NULL ||
		(TRIGGER_FIRED_BY_UPDATE(trigger->tg_event) && trigger->tg_oldtable == NULL) ||
		!(TRIGGER_FIRED_BY_INSERT(trigger->tg_event) || TRIGGER_FIRED_BY_UPDATE(trigger->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s needs the transition tables of an insert or an update", name)));
}
