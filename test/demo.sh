#!/bin/bash
# The demo: installs what is missing, builds, installs, starts a throwaway
# cluster as postgres with the background worker preloaded, plays the
# callback story, and removes the cluster. Run as root on Debian 12.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

install_packages
build_and_install
# The worker starts disabled: the first half of the story drives time by
# hand, the second half lets the worker do the work.
start_throwaway_cluster "$(scratch_tree)" 54329 <<CONF
shared_preload_libraries = 'vicidial_callbacks'
vicidial_callbacks.enabled = off
CONF
cluster_psql -f "$cluster_tree/test/demo.sql"
