/*
 * vicidial_callbacks.c
 *     Module entry point: the library's magic block and _PG_init.
 *
 * The callback state machine lives in SQL (sql/install); this library
 * exists to host what SQL cannot do, starting with the background worker.
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
}
