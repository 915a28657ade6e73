#!/bin/bash
# The demo: installs what is missing, builds, installs, starts a throwaway
# cluster as postgres with the background worker preloaded, plays the
# callback story, and removes the cluster.
# Run as root on Debian 12.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

install_packages
build_and_install
tree=$(scratch_tree)
port=54329
cleanup()
{
    as_postgres pg_ctl -D "$tree/demo_data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$tree"
}
trap cleanup EXIT

as_postgres initdb -D "$tree/demo_data" -A trust >/dev/null
# The worker is preloaded but starts disabled: the first half of the story
# drives time by hand, the second half lets the worker do the work.
cat >>"$tree/demo_data/postgresql.conf" <<CONF
shared_preload_libraries = 'vicidial_callbacks'
vicidial_callbacks.enabled = off
CONF
as_postgres pg_ctl -D "$tree/demo_data" -l "$tree/demo.log" -w \
    -o "-p $port -k $tree -c listen_addresses=''" start >/dev/null
as_postgres psql -X -h "$tree" -p "$port" -d postgres -f "$tree/test/demo.sql"
