/*-------------------------------------------------------------------------
 *
 * time_zones.c
 *	  Which names are time zones: exactly the names pg_timezone_names lists.
 *
 * pg_timezone_names reads the whole zone directory on every call (tens of
 * milliseconds), far too slow to check each lead written. This file reads
 * it once per backend, with the same filter, into a hash table; a check is
 * then one probe. A zone added to the system's data while a backend runs
 * is known to the backends started after it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(vicidial_time_zone_known);

typedef struct KnownZone
{
	char		name[TZ_STRLEN_MAX + 1];
} KnownZone;

static HTAB *known_zones = NULL;

static HTAB *
read_known_zones(void)
{
	HASHCTL		ctl;
	HTAB	   *zones;
	pg_tzenum  *tzenum;
	pg_tz	   *tz;

	ctl.keysize = TZ_STRLEN_MAX + 1;
	ctl.entrysize = sizeof(KnownZone);
	zones = hash_create("vicidial_callbacks time zones", 1024, &ctl, HASH_ELEM | HASH_STRINGS);

	tzenum = pg_tzenumerate_start();
	while ((tz = pg_tzenumerate_next(tzenum)) != NULL)
	{
		int			tzoff;
		struct pg_tm tm;
		fsec_t		fsec;
		const char *abbrev = NULL;

		/* The filter of pg_timezone_names: a zone that converts, with a sane abbreviation. */
		if (timestamp2tm(GetCurrentTransactionStartTimestamp(), &tzoff, &tm, &fsec, &abbrev, tz) != 0)
			continue;
		if (abbrev && strlen(abbrev) > 31)
			continue;
		hash_search(zones, pg_get_timezone_name(tz), HASH_ENTER, NULL);
	}
	pg_tzenumerate_end(tzenum);
	return zones;
}

/* vicidial._time_zone_known(zone text) RETURNS boolean: case-sensitive. */
Datum
vicidial_time_zone_known(PG_FUNCTION_ARGS)
{
	char	   *zone = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		found = false;

	if (known_zones == NULL)
		known_zones = read_known_zones();
	if (strlen(zone) <= TZ_STRLEN_MAX)
		hash_search(known_zones, zone, HASH_FIND, &found);
	PG_RETURN_BOOL(found);
}
