/*
 * vicidial_callbacks.h
 *     What the module's C files share: the settings, the wake-up slots and
 *     the reading of transition tables.
 */
#ifndef VICIDIAL_CALLBACKS_H
#define VICIDIAL_CALLBACKS_H

#include "commands/trigger.h"
#include "datatype/timestamp.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

/* settings (vicidial_callbacks.c) */
extern char *vicidial_worker_databases;
extern char *vicidial_worker_role;
extern int	vicidial_worker_interval;
extern bool vicidial_worker_enabled;
extern int	vicidial_history_rows;
extern int	vicidial_lock_timeout;
extern double vicidial_notify_queue_limit;
extern int	vicidial_sweep_chunk;
extern int	vicidial_fill_interval;

/* wake-up slots, one per served database (wakeup.c) */
extern void wakeup_request_shmem(int nslots);
extern void wakeup_init_shmem(void);
extern void wakeup_register_xact_callback(void);
extern void wakeup_attach(int slot);
extern void wakeup_publish_next(int slot, TimestampTz next_wake);
extern void wakeup_at_commit(void);


/* a statement's transition tables (transition_rows.c) */
typedef struct TransitionReader
{
	Tuplestorestate *rows;
	TupleTableSlot *slot;
} TransitionReader;

/* a growing list of ids, handed to SQL as a bigint[] (NULL when empty) */
typedef struct IdList
{
	int64	   *ids;
	int			count;
	int			size;
} IdList;

/* each new row and, for an update, its old version beside it */
typedef struct TransitionChanges
{
	bool		updated;
	TransitionReader new_rows;
	TransitionReader old_rows;	/* an update's only */
} TransitionChanges;

extern AttrNumber transition_column(Relation relation, const char *name);
extern void transition_reader_open(TransitionReader *reader, Tuplestorestate *rows, Relation relation);
extern bool transition_reader_next(TransitionReader *reader);
extern void transition_reader_close(TransitionReader *reader);
extern void transition_changes_open(TransitionChanges *changes, TriggerData *trigger);
extern bool transition_changes_next(TransitionChanges *changes);
extern void transition_changes_close(TransitionChanges *changes);
extern int64 transition_int64(TupleTableSlot *slot, AttrNumber attnum);
extern text *transition_text(TupleTableSlot *slot, AttrNumber attnum);
extern bool text_is(const text *value, const char *expected);
extern bool same_text(const text *a, const text *b);
extern bool texts_differ(const text *a, const text *b);
extern void id_list_add(IdList *list, int64 id);
extern Datum id_list_array(IdList *list, bool *isnull);
extern void require_statement_trigger(FunctionCallInfo fcinfo, const char *name);
extern void require_transition_tables(FunctionCallInfo fcinfo, const char *name);

/* the leads a statement queues for the check at commit (lead_changes.c) */
extern void queue_lead_checks(IdList *leads);

#endif
