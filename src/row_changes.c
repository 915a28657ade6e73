/*
 * row_changes.c
 *     vicidial._changed_only(old, new, columns): whether an update changed
 *     no column of a row but those named. Asked in the WHEN clause of the
 *     row guards that let a routine write through unchecked (the sweep's
 *     flip of a callback, a dial's count of attempts, the closing of a
 *     dial).
 *
 * Written out in SQL, the same test names every other column twice, and
 * PostgreSQL reads a WHEN clause's text again for every statement that
 * fires its trigger: on the agents' path that reading cost more than the
 * guard it spared. Every column of the row is compared, those added
 * later too. Values are compared as stored: two equal values stored
 * differently (one compressed, say) count as a change, which only runs
 * the guard.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "vicidial_callbacks.h"

/* The columns that may change, worked out once per call site and row type. */
typedef struct ColumnsThatMayChange
{
	Oid			row_type;
	int32		row_typmod;		/* what tells one anonymous record type from another */
	ArrayType  *names;			/* as given, to know the call site's constant again */
	int			natts;
	bool		may_change[FLEXIBLE_ARRAY_MEMBER];
} ColumnsThatMayChange;

static ColumnsThatMayChange *
columns_that_may_change(FunctionCallInfo fcinfo, Oid row_type, int32 row_typmod, TupleDesc descriptor,
						ArrayType *names)
{
	ColumnsThatMayChange *cached = (ColumnsThatMayChange *) fcinfo->flinfo->fn_extra;
	Datum	   *name_datums;
	bool	   *name_nulls;
	int			name_count;
	int			i;

	if (cached != NULL && cached->row_type == row_type && cached->row_typmod == row_typmod &&
		cached->natts == descriptor->natts &&
		VARSIZE(cached->names) == VARSIZE(names) && memcmp(cached->names, names, VARSIZE(names)) == 0)
		return cached;

	cached = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									offsetof(ColumnsThatMayChange, may_change) + descriptor->natts * sizeof(bool));
	cached->row_type = row_type;
	cached->row_typmod = row_typmod;
	cached->natts = descriptor->natts;
	cached->names = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE(names));
	memcpy(cached->names, names, VARSIZE(names));
	deconstruct_array(names, TEXTOID, -1, false, TYPALIGN_INT, &name_datums, &name_nulls, &name_count);
	for (i = 0; i < name_count; i++)
	{
		char	   *name = name_nulls[i] ? NULL : TextDatumGetCString(name_datums[i]);
		int			attnum;

		for (attnum = 0; name != NULL && attnum < descriptor->natts; attnum++)
			if (!TupleDescAttr(descriptor, attnum)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(descriptor, attnum)->attname), name) == 0)
				break;
		if (name == NULL || attnum == descriptor->natts)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("vicidial._changed_only(): row type %s has no column \"%s\"",
							format_type_be(row_type), name ? name : "NULL")));
		cached->may_change[attnum] = true;
	}
	fcinfo->flinfo->fn_extra = cached;
	return cached;
}

PG_FUNCTION_INFO_V1(vicidial_changed_only);

Datum
vicidial_changed_only(PG_FUNCTION_ARGS)
{
	HeapTupleHeader old_header = PG_GETARG_HEAPTUPLEHEADER(0);
	HeapTupleHeader new_header = PG_GETARG_HEAPTUPLEHEADER(1);
	ArrayType  *names = PG_GETARG_ARRAYTYPE_P(2);
	Oid			row_type = HeapTupleHeaderGetTypeId(old_header);
	TupleDesc	descriptor;
	ColumnsThatMayChange *columns;
	HeapTupleData old_tuple;
	HeapTupleData new_tuple;
	Datum	   *old_values;
	Datum	   *new_values;
	bool	   *old_nulls;
	bool	   *new_nulls;
	bool		changed_only = true;
	int			i;

	if (HeapTupleHeaderGetTypeId(new_header) != row_type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("vicidial._changed_only() compares two versions of one row type")));
	if (HeapTupleHeaderGetTypMod(new_header) != HeapTupleHeaderGetTypMod(old_header))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("vicidial._changed_only() compares two versions of one row type")));
	descriptor = lookup_rowtype_tupdesc(row_type, HeapTupleHeaderGetTypMod(old_header));
	columns = columns_that_may_change(fcinfo, row_type, HeapTupleHeaderGetTypMod(old_header), descriptor, names);

	old_tuple.t_len = HeapTupleHeaderGetDatumLength(old_header);
	old_tuple.t_data = old_header;
	new_tuple.t_len = HeapTupleHeaderGetDatumLength(new_header);
	new_tuple.t_data = new_header;
	old_values = palloc(descriptor->natts * sizeof(Datum));
	new_values = palloc(descriptor->natts * sizeof(Datum));
	old_nulls = palloc(descriptor->natts * sizeof(bool));
	new_nulls = palloc(descriptor->natts * sizeof(bool));
	heap_deform_tuple(&old_tuple, descriptor, old_values, old_nulls);
	heap_deform_tuple(&new_tuple, descriptor, new_values, new_nulls);

	for (i = 0; changed_only && i < descriptor->natts; i++)
	{
		Form_pg_attribute attribute = TupleDescAttr(descriptor, i);

		if (attribute->attisdropped || columns->may_change[i])
			continue;
		if (old_nulls[i] || new_nulls[i])
			changed_only = old_nulls[i] && new_nulls[i];
		else
			changed_only = datumIsEqual(old_values[i], new_values[i], attribute->attbyval, attribute->attlen);
	}
	ReleaseTupleDesc(descriptor);
	PG_RETURN_BOOL(changed_only);
}
