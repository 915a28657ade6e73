/*
 * vicidial_callbacks.h
 *     What the module's C files share: the settings and the wake-up slots.
 */
#ifndef VICIDIAL_CALLBACKS_H
#define VICIDIAL_CALLBACKS_H

#include "datatype/timestamp.h"

/* settings (vicidial_callbacks.c) */
extern char *vicidial_worker_databases;
extern char *vicidial_worker_role;
extern int	vicidial_worker_interval;
extern bool vicidial_worker_enabled;
extern int	vicidial_history_rows;
extern int	vicidial_lock_timeout;
extern double vicidial_notify_queue_limit;
extern int	vicidial_sweep_chunk;

/* wake-up slots, one per served database (wakeup.c) */
extern void wakeup_request_shmem(int nslots);
extern void wakeup_init_shmem(void);
extern void wakeup_register_xact_callback(void);
extern void wakeup_attach(int slot);
extern void wakeup_publish_next(int slot, TimestampTz next_wake);
extern void wakeup_at_commit(void);

#endif
