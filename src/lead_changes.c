/*
 * lead_changes.c
 *     What a statement did to vicidial_list, read once from its transition
 *     tables (transition_rows.c): which leads it touched in a way that can
 *     break I2 or I11, queued in vicidial.lead_checks for the check at
 *     commit (sql/install/32_consistency.sql), as callback_changes.c
 *     queues the leads of the callbacks a statement changed.
 *
 * Every statement that writes leads asks, and most answer no: a hand-out
 * makes a NEW lead INCALL, which can break no rule, and a dial count or a
 * comment changes nothing that a rule reads. Asked in C, a no costs a
 * pass over the rows, and only a yes runs a query.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"

#include "vicidial_callbacks.h"

/* the statement's lead ids, as one row of lead_checks; none, no row */
void
queue_lead_checks(IdList *leads)
{
	static SPIPlanPtr queue = NULL;
	bool		isnull;
	Datum		ids = id_list_array(leads, &isnull);

	if (isnull)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vicidial_callbacks: SPI_connect failed");
	if (queue == NULL)
	{
		Oid			argtypes[1] = {INT8ARRAYOID};
		SPIPlanPtr	plan = SPI_prepare("INSERT INTO vicidial.lead_checks (lead_ids) VALUES ($1)", 1, argtypes);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "vicidial_callbacks: could not prepare the queue of lead checks: %s",
				 SPI_result_code_string(SPI_result));
		queue = plan;
	}
	if (SPI_execute_plan(queue, &ids, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "vicidial_callbacks: the queue of lead checks failed");
	SPI_finish();
}

PG_FUNCTION_INFO_V1(vicidial_queue_lead_checks_of_leads);

/*
 * Inserted as CBHOLD; or updated with a new status or user, when the lead
 * is CBHOLD now or was CBHOLD or INCALL.
 */
Datum
vicidial_queue_lead_checks_of_leads(PG_FUNCTION_ARGS)
{
	TriggerData *trigger = (TriggerData *) fcinfo->context;
	AttrNumber	lead_id;
	AttrNumber	status;
	AttrNumber	user;
	TransitionChanges changes;
	IdList		leads = {0};

	require_transition_tables(fcinfo, "vicidial._queue_lead_checks_of_leads()");
	lead_id = transition_column(trigger->tg_relation, "lead_id");
	status = transition_column(trigger->tg_relation, "status");
	user = transition_column(trigger->tg_relation, "user");
	transition_changes_open(&changes, trigger);
	while (transition_changes_next(&changes))
	{
		TupleTableSlot *new_row = changes.new_rows.slot;
		TupleTableSlot *old_row;
		text	   *new_status = transition_text(new_row, status);
		text	   *old_status;

		if (!changes.updated)
		{
			if (text_is(new_status, "CBHOLD"))
				id_list_add(&leads, transition_int64(new_row, lead_id));
			continue;
		}
		old_row = changes.old_rows.slot;
		old_status = transition_text(old_row, status);
		if ((text_is(new_status, "CBHOLD") || text_is(old_status, "CBHOLD") || text_is(old_status, "INCALL")) &&
			(texts_differ(old_status, new_status) ||
			 !same_text(transition_text(old_row, user), transition_text(new_row, user))))
			id_list_add(&leads, transition_int64(new_row, lead_id));
	}
	transition_changes_close(&changes);
	queue_lead_checks(&leads);
	return PointerGetDatum(NULL);
}
