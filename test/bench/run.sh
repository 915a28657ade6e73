#!/bin/bash
# Every benchmark, one after the other, each on a throwaway cluster of its
# own: speed against the floor and VICIdial's per-row loop (speed.sh), the
# run's cost as the table grows to 5,000,000 rows (growth.sh, with a PNG),
# the worker under 8 agents' load (load.sh), how many agents the box
# serves through pgbouncer (capacity.sh, with a PNG), what a pooled
# screen's poll costs (poll.sh), how soon a burst of 100,000 due
# callbacks is claimable and how fast agents drain it beside a job queue
# (burst.sh), the sweeps of 1.1 and this version, timed and counted
# side by side (versions.sh), a bulk update in a session that made small
# ones first (bulk_after_small.sh), and how late the worker is on an idle
# box (early_wake.sh). Numbers, not a pass/fail: at the end, every goal a
# benchmark measures, met or missed. CSVs and PNGs go to
# test/bench/results/. Run as root on Debian 12; about an hour. REPS=n
# sets the repetitions of speed.sh and bulk_after_small.sh.
set -euo pipefail
here=$(dirname "$0")
. "$here/../lib.sh"
rm -f "$GOALS_FILE"
for bench in speed growth load capacity poll burst versions bulk_after_small early_wake; do
    echo "== $bench"
    bash "$here/$bench.sh"
    echo
done
echo "== goals, $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git -C "$PROJECT_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
print_goals
