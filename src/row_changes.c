/*-------------------------------------------------------------------------
 *
 * row_changes.c
 *	  Whether an update changed a row in no column but the ones named.
 *
 * Asked in the WHEN clauses of the triggers that let one narrow change
 * pass without a call (the sweep's ACTIVE -> LIVE flip of a callback, the
 * closing of a dial). Written out in SQL, that test names every other
 * column twice, and PostgreSQL reads a WHEN clause's expression anew for
 * each statement: the longer the clause, the dearer every one-row update.
 * Here it is one call that reads the table's own columns, so that a column
 * added later is compared without anyone remembering to list it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(vicidial_changed_only);

/*
 * True when old_row and new_row, two versions of one table's row, differ
 * in no column outside "columns". Values are compared as stored (a value
 * rewritten to an equal one with other bytes counts as changed), the safe
 * side for a test that lets a change skip its checks.
 */
Datum
vicidial_changed_only(PG_FUNCTION_ARGS)
{
	HeapTupleHeader old_header = PG_GETARG_HEAPTUPLEHEADER(0);
	HeapTupleHeader new_header = PG_GETARG_HEAPTUPLEHEADER(1);
	ArrayType  *columns = PG_GETARG_ARRAYTYPE_P(2);
	Oid			row_type = HeapTupleHeaderGetTypeId(old_header);
	int32		row_typmod = HeapTupleHeaderGetTypMod(old_header);
	TupleDesc	desc;
	HeapTupleData old_tuple;
	HeapTupleData new_tuple;
	Datum	   *column_datums;
	bool	   *column_nulls;
	int			column_count;
	char	  **column_names;
	bool		unchanged = true;

	if (row_type != HeapTupleHeaderGetTypeId(new_header))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("rows of different types cannot be compared")));
	deconstruct_array(columns, TEXTOID, -1, false, TYPALIGN_INT,
					  &column_datums, &column_nulls, &column_count);
	column_names = palloc(sizeof(char *) * Max(column_count, 1));
	for (int i = 0; i < column_count; i++)
		column_names[i] = column_nulls[i] ? NULL : TextDatumGetCString(column_datums[i]);
	desc = lookup_rowtype_tupdesc(row_type, row_typmod);

	old_tuple.t_len = HeapTupleHeaderGetDatumLength(old_header);
	ItemPointerSetInvalid(&old_tuple.t_self);
	old_tuple.t_tableOid = InvalidOid;
	old_tuple.t_data = old_header;
	new_tuple.t_len = HeapTupleHeaderGetDatumLength(new_header);
	ItemPointerSetInvalid(&new_tuple.t_self);
	new_tuple.t_tableOid = InvalidOid;
	new_tuple.t_data = new_header;

	for (int attnum = 1; attnum <= desc->natts && unchanged; attnum++)
	{
		Form_pg_attribute attribute = TupleDescAttr(desc, attnum - 1);
		bool		named = false;
		bool		old_null;
		bool		new_null;
		Datum		old_value;
		Datum		new_value;

		if (attribute->attisdropped)
			continue;
		for (int i = 0; i < column_count && !named; i++)
			named = column_names[i] != NULL && strcmp(column_names[i], NameStr(attribute->attname)) == 0;
		if (named)
			continue;
		old_value = heap_getattr(&old_tuple, attnum, desc, &old_null);
		new_value = heap_getattr(&new_tuple, attnum, desc, &new_null);
		if (old_null || new_null)
			unchanged = old_null && new_null;
		else
			unchanged = datum_image_eq(old_value, new_value, attribute->attbyval, attribute->attlen);
	}
	ReleaseTupleDesc(desc);
	PG_RETURN_BOOL(unchanged);
}
