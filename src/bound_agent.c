/*
 * bound_agent.c
 *     Who may act as an agent. vicidial._bound_agent(agent, for_update):
 *     the agent an agent function names, read (or locked, for a writer:
 *     agents are locked before leads) and, when bound to a database role
 *     (db_role, the exact role name), acted for only by a caller that has
 *     that role's privileges: a member that inherits them, or a NOINHERIT
 *     login that has switched to it (SET ROLE). A superuser acts as
 *     anyone. vicidial._acting_agent(agent) and
 *     vicidial._lock_acting_agent(agent): the same, read or locked, and
 *     active.
 *
 * Every agent call asks one of them first, and a pooled screen polls its
 * callback count every few seconds: in C, with its two queries planned
 * once per backend, a poll pays one index probe for it. The caller is the
 * outer user: the session's SET ROLE (or SET LOCAL ROLE), else its login,
 * which a SECURITY DEFINER function does not change. A read sees what the
 * calling statement sees, as a STABLE function's should; a lock takes a
 * fresh snapshot, as the statements of a VOLATILE one do.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

/* the whole row, so that it has the table's row type whatever its columns */
#define AGENT_QUERY \
	"SELECT u FROM vicidial.vicidial_users u WHERE u.\"user\" OPERATOR(pg_catalog.=) $1"

static SPIPlanPtr
agent_plan(bool for_update)
{
	static SPIPlanPtr read_plan = NULL;
	static SPIPlanPtr lock_plan = NULL;
	SPIPlanPtr *kept = for_update ? &lock_plan : &read_plan;

	if (*kept == NULL)
	{
		Oid			argtypes[1] = {VARCHAROID};
		SPIPlanPtr	plan = SPI_prepare_cursor(for_update ? AGENT_QUERY " FOR NO KEY UPDATE OF u" : AGENT_QUERY,
											  1, argtypes, CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL)
			elog(ERROR, "vicidial._bound_agent(): SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "vicidial._bound_agent(): SPI_keepplan failed");
		*kept = plan;
	}
	return *kept;
}

/*
 * Refuses a caller without the privileges of the role named, exactly. A
 * superuser acts as anyone, even for an agent bound to a role that no
 * longer exists. A name longer than a role name can be is no role, and is
 * not looked up: the catalog cache would remember the miss under the name
 * cut short, where no later look-up finds it, and so grow at every call.
 */
static void
require_role(Oid caller, const char *role_name, const char *agent_name)
{
	Oid			role;

	if (superuser_arg(caller))
		return;
	role = strlen(role_name) < NAMEDATALEN ? get_role_oid(role_name, true) : InvalidOid;
	if (!OidIsValid(role) || !has_privs_of_role(caller, role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may not act as agent \"%s\"", GetUserNameFromId(caller, false), agent_name),
				 errhint("agent \"%s\" is bound to the database role \"%s\": act as that role (SET LOCAL ROLE)",
						 agent_name, role_name)));
}

/* The agent named, bound to the caller, as a vicidial_users row. */
static HeapTupleHeader
bound_agent(FunctionCallInfo fcinfo, bool for_update)
{
	Datum		agent;
	Datum		row;
	HeapTupleHeader bound;
	Datum		db_role;
	bool		isnull;
	int			result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("agent must not be null")));
	agent = PG_GETARG_DATUM(0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vicidial._bound_agent(): SPI_connect failed");
	result = SPI_execute_plan(agent_plan(for_update), &agent, NULL, !for_update, 1);
	if (result != SPI_OK_SELECT)
		elog(ERROR, "vicidial._bound_agent(): SPI_execute_plan returned %s", SPI_result_code_string(result));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("agent \"%s\" does not exist", TextDatumGetCString(agent))));
	/* into the caller's memory, which SPI_finish leaves; a whole row is never NULL */
	row = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull), false, -1);
	Assert(!isnull);
	SPI_finish();
	/* after SPI_finish, so that a detoasted copy is the caller's too */
	bound = DatumGetHeapTupleHeader(row);

	db_role = GetAttributeByName(bound, "db_role", &isnull);
	if (!isnull)
		require_role(GetOuterUserId(), TextDatumGetCString(db_role), TextDatumGetCString(agent));
	return bound;
}

/* The agent named, bound to the caller and active. */
static HeapTupleHeader
acting_agent(FunctionCallInfo fcinfo, bool for_update)
{
	HeapTupleHeader acting = bound_agent(fcinfo, for_update);
	bool		isnull;
	Datum		active = GetAttributeByName(acting, "active", &isnull);

	if (isnull || !DatumGetBool(active))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agent \"%s\" is inactive", TextDatumGetCString(PG_GETARG_DATUM(0)))));
	return acting;
}

PG_FUNCTION_INFO_V1(vicidial_bound_agent);

Datum
vicidial_bound_agent(PG_FUNCTION_ARGS)
{
	PG_RETURN_HEAPTUPLEHEADER(bound_agent(fcinfo, !PG_ARGISNULL(1) && PG_GETARG_BOOL(1)));
}

PG_FUNCTION_INFO_V1(vicidial_acting_agent);

Datum
vicidial_acting_agent(PG_FUNCTION_ARGS)
{
	PG_RETURN_HEAPTUPLEHEADER(acting_agent(fcinfo, false));
}

/*
 * For an agent function that writes: the agent's row is locked first, so
 * that one agent's writes (a double click) run one after the other, and
 * tested as locked.
 */
PG_FUNCTION_INFO_V1(vicidial_lock_acting_agent);

Datum
vicidial_lock_acting_agent(PG_FUNCTION_ARGS)
{
	PG_RETURN_HEAPTUPLEHEADER(acting_agent(fcinfo, true));
}
