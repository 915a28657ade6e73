/*
 * wakeup.c
 *     The shared slots through which a committed change wakes the worker
 *     of its database, and through which the worker tells when it will
 *     wake next.
 *
 * A change that may make a callback due sooner (an insert, a new time)
 * fires a statement trigger (callback_changes.c) that only notes the
 * wish; the latch is set after commit, so the worker never wakes to an
 * uncommitted row. The worker's own runs wake nobody: it reads the next
 * due time itself. A prepared transaction wakes nobody either (COMMIT
 * PREPARED runs no callback of ours): its callbacks are seen at the
 * worker's next wake.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "vicidial_callbacks.h"

typedef struct WakeupSlot
{
	Oid			database;		/* InvalidOid until the worker connects */
	Latch	   *latch;			/* the worker's, NULL while it is down */
	TimestampTz next_wake;		/* 0 when not known */
} WakeupSlot;

typedef struct WakeupShared
{
	slock_t		mutex;
	int			nslots;
	WakeupSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} WakeupShared;

static WakeupShared *wakeup = NULL;
static int	requested_slots = 0;
static bool wake_at_commit = false;
static bool am_worker = false;

static Size
wakeup_size(int nslots)
{
	return add_size(offsetof(WakeupShared, slots), mul_size(nslots, sizeof(WakeupSlot)));
}

void
wakeup_request_shmem(int nslots)
{
	requested_slots = nslots;
	RequestAddinShmemSpace(wakeup_size(nslots));
}

void
wakeup_init_shmem(void)
{
	bool		found;

	/* where every process attaches (EXEC_BACKEND), none may see it half initialized */
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	wakeup = ShmemInitStruct("vicidial_callbacks wakeup", wakeup_size(requested_slots), &found);
	if (!found)
	{
		memset(wakeup, 0, wakeup_size(requested_slots));
		SpinLockInit(&wakeup->mutex);
		wakeup->nslots = requested_slots;
	}
	LWLockRelease(AddinShmemInitLock);
}

static void
wakeup_detach(int code, Datum slot_arg)
{
	int			slot = DatumGetInt32(slot_arg);

	SpinLockAcquire(&wakeup->mutex);
	wakeup->slots[slot].latch = NULL;
	wakeup->slots[slot].next_wake = 0;
	SpinLockRelease(&wakeup->mutex);
}

void
wakeup_attach(int slot)
{
	if (wakeup == NULL || slot >= wakeup->nslots)
		elog(ERROR, "vicidial_callbacks: no wakeup slot %d", slot);
	SpinLockAcquire(&wakeup->mutex);
	wakeup->slots[slot].database = MyDatabaseId;
	wakeup->slots[slot].latch = MyLatch;
	SpinLockRelease(&wakeup->mutex);
	am_worker = true;
	before_shmem_exit(wakeup_detach, Int32GetDatum(slot));
}

void
wakeup_publish_next(int slot, TimestampTz next_wake)
{
	SpinLockAcquire(&wakeup->mutex);
	wakeup->slots[slot].next_wake = next_wake;
	SpinLockRelease(&wakeup->mutex);
}

static void
wake_workers_of_this_database(void)
{
	int			i;

	if (wakeup == NULL)
		return;
	for (i = 0; i < wakeup->nslots; i++)
	{
		Latch	   *latch;

		/* SetLatch may signal: never under the spinlock */
		SpinLockAcquire(&wakeup->mutex);
		latch = wakeup->slots[i].database == MyDatabaseId ? wakeup->slots[i].latch : NULL;
		SpinLockRelease(&wakeup->mutex);
		if (latch != NULL)
			SetLatch(latch);
	}
}

static void
wake_after_commit(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (wake_at_commit && !am_worker)
				wake_workers_of_this_database();
			wake_at_commit = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			wake_at_commit = false;
			break;
		default:
			break;
	}
}

void
wakeup_register_xact_callback(void)
{
	RegisterXactCallback(wake_after_commit, NULL);
}

/* Wakes the worker of this database once the transaction commits. */
void
wakeup_at_commit(void)
{
	wake_at_commit = true;
}

PG_FUNCTION_INFO_V1(vicidial_wake_worker_after_commit);

Datum
vicidial_wake_worker_after_commit(PG_FUNCTION_ARGS)
{
	wakeup_at_commit();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(vicidial_wakes_worker_at_commit);

/* Whether this transaction, as it stands, wakes the worker at commit. */
Datum
vicidial_wakes_worker_at_commit(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(wake_at_commit);
}

PG_FUNCTION_INFO_V1(vicidial_worker_state);

/*
 * The workers of this database that are up, and when the earliest of them
 * plans to wake next (NULL when none plans to). Read from shared memory,
 * so it needs no right to see other roles' rows of pg_stat_activity.
 */
Datum
vicidial_worker_state(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, true};
	int			workers = 0;
	TimestampTz next_wake = 0;
	int			i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "vicidial_callbacks: worker_state must return a record");

	for (i = 0; wakeup != NULL && i < wakeup->nslots; i++)
	{
		SpinLockAcquire(&wakeup->mutex);
		if (wakeup->slots[i].database == MyDatabaseId && wakeup->slots[i].latch != NULL)
		{
			workers++;
			if (wakeup->slots[i].next_wake != 0 &&
				(next_wake == 0 || wakeup->slots[i].next_wake < next_wake))
				next_wake = wakeup->slots[i].next_wake;
		}
		SpinLockRelease(&wakeup->mutex);
	}
	values[0] = Int32GetDatum(workers);
	values[1] = TimestampTzGetDatum(next_wake);
	nulls[1] = next_wake == 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
