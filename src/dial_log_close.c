/*
 * dial_log_close.c
 *     vicidial._close_logged_dials(partitions, log_ids, call_dates, status):
 *     the dials of the dial log that vicidial._close_dials
 *     (17_dial_limits.sql) found open, closed each through the partition
 *     that holds it. Returns the leads of those it closed.
 *
 * An update through the partitioned log, planned once per session, names
 * every month the log has kept, and PostgreSQL 15 locks every one of them
 * and opens it as a target at every execution, though a disposition
 * changes one row in one month: a site's dispositions would grow slower
 * with every month it adds. Here each partition has its own plan,
 * prepared the first time a dial in it is closed and kept for the
 * session; any change to the partition (renamed, detached, dropped,
 * altered) forgets it, and the next close prepares it again. Only a
 * partition of vicidial.vicidial_log is ever updated, whatever the caller
 * passes. The update is checked and triggered as one on the partition:
 * the log's row guard fires (partitions carry the log's row triggers),
 * but statement triggers a site puts on the log itself do not, and its
 * privileges are the partition's: the extension's owner, whom the callers
 * run as, must be able to update it (log_partitions_add makes it the
 * owner).
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

typedef struct PartitionPlan
{
	Oid			partition;		/* hash key */
	SPIPlanPtr	plan;
	bool		valid;			/* false once the partition changed */
} PartitionPlan;

static HTAB *partition_plans = NULL;

/*
 * A relcache invalidation of a partition, or of every relation
 * (InvalidOid): its plan is made again before its next use. Nothing is
 * freed here: the plan may be running.
 */
static void
forget_partition_plan(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS scan;
	PartitionPlan *entry;

	if (partition_plans == NULL)
		return;
	if (OidIsValid(relid))
	{
		entry = hash_search(partition_plans, &relid, HASH_FIND, NULL);
		if (entry != NULL)
			entry->valid = false;
		return;
	}
	hash_seq_init(&scan, partition_plans);
	while ((entry = hash_seq_search(&scan)) != NULL)
		entry->valid = false;
}

/* the plans of partitions dropped since, freed when a plan is made */
static void
free_dropped_partitions(void)
{
	HASH_SEQ_STATUS scan;
	PartitionPlan *entry;

	hash_seq_init(&scan, partition_plans);
	while ((entry = hash_seq_search(&scan)) != NULL)
		if (!entry->valid && !SearchSysCacheExists1(RELOID, ObjectIdGetDatum(entry->partition)))
		{
			if (entry->plan != NULL)
				SPI_freeplan(entry->plan);
			hash_search(partition_plans, &entry->partition, HASH_REMOVE, NULL);
		}
}

static SPIPlanPtr
partition_plan(Oid partition)
{
	PartitionPlan *entry;
	bool		found;
	Oid			log;
	char	   *name;
	char	   *query;
	Oid			argtypes[3] = {INT8OID, TIMESTAMPTZOID, TEXTOID};
	SPIPlanPtr	plan;

	if (partition_plans == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(PartitionPlan);
		partition_plans = hash_create("vicidial dial log partition plans", 16, &ctl,
									  HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(forget_partition_plan, (Datum) 0);
	}
	entry = hash_search(partition_plans, &partition, HASH_ENTER, &found);
	if (found && entry->valid && entry->plan != NULL)
		return entry->plan;
	if (!found)
		entry->plan = NULL;
	if (entry->plan != NULL)
		SPI_freeplan(entry->plan);
	entry->plan = NULL;
	/* from here on, a change to the partition marks the plan made below */
	entry->valid = true;
	free_dropped_partitions();

	/* the caller's search read the partition, so it is locked and named */
	log = get_relname_relid("vicidial_log", get_namespace_oid("vicidial", false));
	name = get_rel_name(partition);
	if (name == NULL || !get_rel_relispartition(partition)
		|| !list_member_oid(get_partition_ancestors(partition), log))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" is not a partition of vicidial.vicidial_log",
						name != NULL ? name : psprintf("%u", partition))));
	/*
	 * No test of end_date: a dial closed since the caller's search is
	 * refused by the log's guard (vicidial_log_keep), as an update through
	 * the log would be, rather than passed over.
	 */
	query = psprintf("UPDATE ONLY %s SET end_date = pg_catalog.now(), status = $3"
					 " WHERE log_id OPERATOR(pg_catalog.=) $1 AND call_date OPERATOR(pg_catalog.=) $2"
					 " RETURNING lead_id",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(partition)), name));
	plan = SPI_prepare_cursor(query, 3, argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "vicidial._close_logged_dials(): SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "vicidial._close_logged_dials(): SPI_keepplan failed");
	entry->plan = plan;
	return plan;
}

/* one array argument's elements, all of the given type and none NULL */
static Datum *
array_elements(ArrayType *array, Oid type, int *count)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elements;
	bool	   *nulls;

	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	deconstruct_array(array, type, typlen, typbyval, typalign, &elements, &nulls, count);
	for (int i = 0; i < *count; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a dial to close must not be null")));
	return elements;
}

/* named before, by an earlier element: closed once (a lead named twice) */
static bool
named_before(Datum *partitions, Datum *log_ids, int i)
{
	for (int j = 0; j < i; j++)
		if (partitions[j] == partitions[i] && DatumGetInt64(log_ids[j]) == DatumGetInt64(log_ids[i]))
			return true;
	return false;
}

PG_FUNCTION_INFO_V1(vicidial_close_logged_dials);

Datum
vicidial_close_logged_dials(PG_FUNCTION_ARGS)
{
	int			partition_count;
	int			log_id_count;
	int			call_date_count;
	Datum	   *partitions = array_elements(PG_GETARG_ARRAYTYPE_P(0), OIDOID, &partition_count);
	Datum	   *log_ids = array_elements(PG_GETARG_ARRAYTYPE_P(1), INT8OID, &log_id_count);
	Datum	   *call_dates = array_elements(PG_GETARG_ARRAYTYPE_P(2), TIMESTAMPTZOID, &call_date_count);
	Datum		status = PG_GETARG_DATUM(3);
	int64	   *closed = palloc(sizeof(int64) * Max(partition_count, 1));
	Datum	   *closed_leads;
	int			closed_count = 0;

	if (log_id_count != partition_count || call_date_count != partition_count)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the partitions, log ids and call dates must have as many elements")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vicidial._close_logged_dials(): SPI_connect failed");
	for (int i = 0; i < partition_count; i++)
	{
		Datum		values[3] = {log_ids[i], call_dates[i], status};
		int			rc;

		if (named_before(partitions, log_ids, i))
			continue;
		rc = SPI_execute_plan(partition_plan(DatumGetObjectId(partitions[i])), values, NULL, false, 0);
		if (rc != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "vicidial._close_logged_dials(): SPI_execute_plan failed: %s", SPI_result_code_string(rc));
		if (SPI_processed > 0)
		{
			bool		isnull;

			closed[closed_count++] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_finish();
	closed_leads = palloc(sizeof(Datum) * Max(closed_count, 1));
	for (int i = 0; i < closed_count; i++)
		closed_leads[i] = Int64GetDatum(closed[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(closed_leads, closed_count, INT8OID, sizeof(int64),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
