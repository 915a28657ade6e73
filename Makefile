# vicidial_callbacks: PGXS build, install and tests.

EXTENSION = vicidial_callbacks
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)
MODULE_big = vicidial_callbacks
OBJS = src/vicidial_callbacks.o src/wakeup.o src/transition_rows.o src/callback_changes.o src/lead_changes.o src/row_changes.o src/worker.o src/time_zones.o src/hours_window.o src/bound_agent.o src/dial_log_close.o src/status_text.o
PGFILEDESC = "vicidial_callbacks - scheduled callbacks and the dialer hopper"

# The current version's install script is one file per concern under
# sql/install, joined in order. The tables files (10_tables.sql for 1.0,
# 11_tables_<version>.sql for what a later version adds) run once; every
# other file is replayable (CREATE OR REPLACE, DROP ... IF EXISTS). So an
# upgrade script is its hand-written changes to what exists, then the
# version's tables file, then those same replayable files: a table or a
# function is written once for both paths.
INSTALL_SOURCES = $(sort $(wildcard sql/install/*.sql))
INSTALL_TABLES = $(wildcard sql/install/*_tables*.sql)
NEW_TABLES = $(wildcard sql/install/*_tables_$(EXTVERSION).sql)
INSTALL_REPLAYABLE = $(filter-out $(INSTALL_TABLES), $(INSTALL_SOURCES))
UPGRADE_SOURCES = $(wildcard sql/upgrade/$(EXTENSION)--*--$(EXTVERSION).sql)
# Released versions' full scripts stay installable, byte for byte.
DATA = $(wildcard sql/released/$(EXTENSION)--*.sql)
DATA_built = $(EXTENSION)--$(EXTVERSION).sql $(notdir $(UPGRADE_SOURCES))
DOCS = $(wildcard doc/*.md)

# Every suite runs in a throwaway instance of its own; none needs a server.
REGRESS = install flow errors transitions callback_changes window admin hopper fill_room roles trust hours dial_limits agents policies log_partitions seams paths lint
REGRESS_OPTS = --temp-instance=./tmp_check --temp-config=test/regress.conf
ISOLATION = concurrency races hours policies seams fill_room call_end dnc agents handout_time held_keys
ISOLATION_OPTS = --inputdir=test/isolation --temp-instance=./tmp_check_iso --temp-config=test/regress.conf
TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# libpq clients: the stress of test/t/009_stress.pl and the per-row
# baseline of the speed benchmark.
CLIENTS = test/stress/stress test/bench/rowloop test/bench/agents
EXTRA_CLEAN = $(CLIENTS)
all: $(CLIENTS)
$(CLIENTS): %: %.c
	$(CC) $(CFLAGS) $(PG_CFLAGS) -I$(shell $(PG_CONFIG) --includedir) $< -L$(shell $(PG_CONFIG) --libdir) -lpq -o $@

$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_SOURCES)
	cat $^ > $@

$(EXTENSION)--%--$(EXTVERSION).sql: sql/upgrade/$(EXTENSION)--%--$(EXTVERSION).sql $(NEW_TABLES) $(INSTALL_REPLAYABLE)
	cat $^ > $@
