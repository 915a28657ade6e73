# vicidial_callbacks: PGXS build, install and tests.

EXTENSION = vicidial_callbacks
MODULE_big = vicidial_callbacks
OBJS = src/vicidial_callbacks.o src/wakeup.o src/worker.o
PGFILEDESC = "vicidial_callbacks - scheduled callbacks and the dialer hopper"

# The install script is one file per concern under sql/install, joined in order.
INSTALL_SOURCES = $(sort $(wildcard sql/install/*.sql))
DATA_built = vicidial_callbacks--1.0.sql

# Every suite runs in a throwaway instance of its own; none needs a server.
REGRESS = setup flow errors transitions window admin hopper roles
REGRESS_OPTS = --temp-instance=./tmp_check --temp-config=test/regress.conf
ISOLATION = concurrency
ISOLATION_OPTS = --inputdir=test/isolation --temp-instance=./tmp_check_iso --temp-config=test/regress.conf
TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

vicidial_callbacks--1.0.sql: $(INSTALL_SOURCES)
	cat $^ > $@
