# vicidial_callbacks: PGXS build, install and tests.

EXTENSION = vicidial_callbacks
MODULE_big = vicidial_callbacks
OBJS = src/vicidial_callbacks.o
PGFILEDESC = "vicidial_callbacks - scheduled callbacks and the dialer hopper"

# The install script is one file per concern under sql/install, joined in order.
INSTALL_SOURCES = $(sort $(wildcard sql/install/*.sql))
DATA_built = vicidial_callbacks--1.0.sql

REGRESS = setup flow errors transitions window admin hopper dump_objects
REGRESS_OPTS = --temp-instance=./tmp_check --temp-config=test/regress.conf

PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

vicidial_callbacks--1.0.sql: $(INSTALL_SOURCES)
	cat $^ > $@
