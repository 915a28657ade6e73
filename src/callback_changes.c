/*
 * callback_changes.c
 *     What a statement did to vicidial_callbacks, read once from its
 *     transition tables (transition_rows.c): whether a callback may now
 *     fall due sooner (the worker is woken at commit), which leads must
 *     follow their callbacks (handed to vicidial._apply_callback_effects)
 *     and which leads are checked at commit (queued as lead_changes.c
 *     queues them).
 *
 * These questions are asked after every statement that writes callbacks,
 * and many statements answer no to all: an agent's dial counts an
 * attempt, a comment changes. Asked in C, a no costs a pass over the rows
 * and nothing is planned; the moves themselves stay in SQL
 * (sql/install/40_leads.sql), asked only of a statement that inserted
 * callbacks or changed the status or recipient of one.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/timestamp.h"

#include "vicidial_callbacks.h"

/* the columns read, by number in the statement's relation */
typedef struct CallbackColumns
{
	AttrNumber	callback_id;
	AttrNumber	lead_id;
	AttrNumber	status;
	AttrNumber	recipient;
	AttrNumber	callback_time;
	AttrNumber	user;
} CallbackColumns;

/* one version of a row, as read */
typedef struct CallbackRow
{
	int64		callback_id;
	int64		lead_id;
	text	   *status;			/* NULL when null */
	text	   *recipient;
	text	   *user;
	Datum		callback_time;
	bool		callback_time_null;
} CallbackRow;

static CallbackColumns
callback_columns(Relation relation)
{
	CallbackColumns columns;

	columns.callback_id = transition_column(relation, "callback_id");
	columns.lead_id = transition_column(relation, "lead_id");
	columns.status = transition_column(relation, "status");
	columns.recipient = transition_column(relation, "recipient");
	columns.callback_time = transition_column(relation, "callback_time");
	columns.user = transition_column(relation, "user");
	return columns;
}

/* one version of a row; its text is valid until the slot's next row */
static void
read_callback_row(TupleTableSlot *slot, const CallbackColumns *columns, CallbackRow *row)
{
	row->callback_id = transition_int64(slot, columns->callback_id);
	row->lead_id = transition_int64(slot, columns->lead_id);
	row->status = transition_text(slot, columns->status);
	row->recipient = transition_text(slot, columns->recipient);
	row->user = transition_text(slot, columns->user);
	row->callback_time = slot_getattr(slot, columns->callback_time, &row->callback_time_null);
}

/* a statement's rows, read as callbacks (transition_changes_next) */
typedef struct CallbackChanges
{
	CallbackColumns columns;
	TransitionChanges rows;
	CallbackRow new_row;
	CallbackRow old_row;		/* an update's only */
} CallbackChanges;

static void
callback_changes_open(CallbackChanges *changes, TriggerData *trigger)
{
	changes->columns = callback_columns(trigger->tg_relation);
	transition_changes_open(&changes->rows, trigger);
}

static bool
callback_changes_next(CallbackChanges *changes)
{
	if (!transition_changes_next(&changes->rows))
		return false;
	read_callback_row(changes->rows.new_rows.slot, &changes->columns, &changes->new_row);
	if (changes->rows.updated)
		read_callback_row(changes->rows.old_rows.slot, &changes->columns, &changes->old_row);
	return true;
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
		CallbackChanges changes;

		callback_changes_open(&changes, trigger);
		wake = false;
		while (!wake && callback_changes_next(&changes))
			wake = open_callback(&changes.new_row) &&
				!(same_text(changes.old_row.status, changes.new_row.status) &&
				  same_text(changes.old_row.recipient, changes.new_row.recipient) &&
				  same_time(&changes.old_row, &changes.new_row));
		transition_changes_close(&changes.rows);
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
	CallbackChanges changes;
	IdList		moves[4] = {{0}};	/* inserted, archived, held, live_for_anyone */
	Datum		args[4];
	char		nulls[4];
	bool		any = false;
	int			i;

	require_transition_tables(fcinfo, "vicidial._callback_effects()");
	callback_changes_open(&changes, (TriggerData *) fcinfo->context);
	while (callback_changes_next(&changes))
	{
		CallbackRow *old_row = &changes.old_row;
		CallbackRow *new_row = &changes.new_row;

		if (!changes.rows.updated)
		{
			id_list_add(&moves[0], new_row->lead_id);
			continue;
		}
		if (same_text(old_row->status, new_row->status) && same_text(old_row->recipient, new_row->recipient))
			continue;
		if (text_is(new_row->status, "ARCHIVE"))
			id_list_add(&moves[1], new_row->callback_id);
		else if (live_for_anyone(old_row))
			id_list_add(&moves[2], new_row->lead_id);
		if (live_for_anyone(new_row))
			id_list_add(&moves[3], new_row->lead_id);
	}
	transition_changes_close(&changes.rows);

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

PG_FUNCTION_INFO_V1(vicidial_queue_lead_checks_of_callbacks);

/*
 * The leads whose callbacks a statement changed in a way that can break
 * I2 or I11, queued for the check at commit (lead_changes.c): every
 * inserted row's; an update's that made a callback ACTIVE or ARCHIVE, or
 * made or moved an open USERONLY one (another recipient or owner).
 * ACTIVE -> LIVE breaks no rule: the sweep's flips queue nothing.
 */
Datum
vicidial_queue_lead_checks_of_callbacks(PG_FUNCTION_ARGS)
{
	CallbackChanges changes;
	IdList		leads = {0};

	require_transition_tables(fcinfo, "vicidial._queue_lead_checks_of_callbacks()");
	callback_changes_open(&changes, (TriggerData *) fcinfo->context);
	while (callback_changes_next(&changes))
	{
		CallbackRow *old_row = &changes.old_row;
		CallbackRow *new_row = &changes.new_row;
		bool		made_active_or_archived;
		bool		useronly_made_or_moved;

		if (!changes.rows.updated)
		{
			id_list_add(&leads, new_row->lead_id);
			continue;
		}
		made_active_or_archived = texts_differ(old_row->status, new_row->status) &&
			(text_is(new_row->status, "ACTIVE") || text_is(new_row->status, "ARCHIVE"));
		useronly_made_or_moved = text_is(new_row->recipient, "USERONLY") &&
			new_row->status != NULL && !text_is(new_row->status, "ARCHIVE") &&
			(texts_differ(old_row->recipient, new_row->recipient) || !same_text(old_row->user, new_row->user));
		if (made_active_or_archived || useronly_made_or_moved)
			id_list_add(&leads, new_row->lead_id);
	}
	transition_changes_close(&changes.rows);
	queue_lead_checks(&leads);
	return PointerGetDatum(NULL);
}
