/*
 * status_text.c
 *     vicidial._is_status_text(status): whether a status is 1 to 6 capital
 *     letters or digits, the one test of every status the extension is
 *     given and of every lead status direct SQL writes.
 *
 * Asked in the WHEN clause of the leads' row guard, which every update of
 * a lead's status meets (each hand-out and hang-up among them). PostgreSQL
 * prepares a WHEN clause again for every statement that fires it, and a
 * SQL function there is inlined anew each time, its text parsed: on the
 * agents' path that cost more than the test. In C it is one call, which
 * looks nothing up.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(vicidial_is_status_text);

Datum
vicidial_is_status_text(PG_FUNCTION_ARGS)
{
	text	   *status = PG_GETARG_TEXT_PP(0);
	const char *chars = VARDATA_ANY(status);
	int			length = VARSIZE_ANY_EXHDR(status);

	if (length < 1 || length > 6)
		PG_RETURN_BOOL(false);
	for (int i = 0; i < length; i++)
	{
		/* no byte of a multibyte character, in any server encoding, is ASCII */
		if (!((chars[i] >= 'A' && chars[i] <= 'Z') || (chars[i] >= '0' && chars[i] <= '9')))
			PG_RETURN_BOOL(false);
	}
	PG_RETURN_BOOL(true);
}
