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
	Relation	relation = trigger->tg_relation;
	AttrNumber	lead_id;
	AttrNumber	status;
	AttrNumber	user;
	TransitionReader new_rows;
	TransitionReader old_rows;
	IdList		leads = {0};

	require_transition_tables(fcinfo, "vicidial._queue_lead_checks_of_leads()");
	lead_id = transition_column(relation, "lead_id");
	status = transition_column(relation, "status");
	user = transition_column(relation, "user");
	transition_reader_open(&new_rows, trigger->tg_newtable, relation);
	if (TRIGGER_FIRED_BY_INSERT(trigger->tg_event))
	{
		while (transition_reader_next(&new_rows))
			if (text_is(transition_text(new_rows.slot, status), "CBHOLD"))
				id_list_add(&leads, transition_int64(new_rows.slot, lead_id));
	}
	else
	{
		transition_reader_open(&old_rows, trigger->tg_oldtable, relation);
		while (transition_reader_next(&new_rows))
		{
			text	   *new_status = transition_text(new_rows.slot, status);
			text	   *old_status;
			bool		held_or_called;

			/* the same row's old version: the tables are in pairs */
			if (!transition_reader_next(&old_rows))
				elog(ERROR, "vicidial_callbacks: the old and new rows of an update are not in pairs");
			old_status = transition_text(old_rows.slot, status);
			held_or_called = text_is(new_status, "CBHOLD") ||
				text_is(old_status, "CBHOLD") || text_is(old_status, "INCALL");
			if (held_or_called &&
				(texts_differ(old_status, new_status) ||
				 !same_text(transition_text(old_rows.slot, user), transition_text(new_rows.slot, user))))
				id_list_add(&leads, transition_int64(new_rows.slot, lead_id));
		}
		transition_reader_close(&old_rows);
	}
	transition_reader_close(&new_rows);
	queue_lead_checks(&leads);
	return PointerGetDatum(NULL);
}
