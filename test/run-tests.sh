#!/bin/bash
# Runs every suite (pg_regress, isolation, TAP) against throwaway instances
# and ends with one "N passed, N failed" line. Run as root on Debian 12.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

install_packages || { echo "package install failed"; exit 1; }
build_and_install || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
tree=$(scratch_tree)
trap 'rm -rf "$tree"' EXIT

passed=0
failed=0

# One suite: make installcheck with the other two switched off.
run_suite()
{
    local name=$1; shift
    local log="$tree/$name.log"
    echo "== $name"
    as_postgres make -C "$tree" PG_CONFIG="$PG_CONFIG" "$@" installcheck >"$log" 2>&1
    local status=$?
    grep -E '^(test |ok |not ok |#|[^ ]*\.pl |Files=|Result:| All | *[0-9]+ of [0-9]+ tests)' "$log" | grep -v '^# Looks like' || true
    if [ "$name" = tap ]; then
        local total bad
        total=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$log" | tail -1)
        bad=$(grep -cE '^\s*not ok ' "$log")
        passed=$((passed + ${total:-0} - bad))
        failed=$((failed + bad))
    else
        passed=$((passed + $(grep -cE '^(test|ok) .* ok ' "$log")))
        failed=$((failed + $(grep -cE '^(test|not ok) .* FAILED' "$log")))
    fi
    if [ $status -ne 0 ]; then
        # A suite that failed without naming a failed test still counts once.
        grep -qE 'FAILED|^not ok|^\s*not ok' "$log" || failed=$((failed + 1))
        for diffs in "$tree"/regression.diffs "$tree"/output_iso/regression.diffs; do
            [ -s "$diffs" ] && { echo "-- $diffs"; cat "$diffs"; }
        done
        grep -h -B2 -A20 'not ok\|Dubious\|died' "$log" | head -80
        for tap_log in "$tree"/tmp_check/log/regress_log_*; do
            [ -f "$tap_log" ] && grep -q 'not ok' "$tap_log" && { echo "-- $tap_log"; tail -40 "$tap_log"; }
        done
    fi
}

run_suite regress ISOLATION= TAP_TESTS=
# Each regression file makes its own database: in reverse order they pass
# alike, or one leans on what another left behind.
run_suite regress_reversed ISOLATION= TAP_TESTS= \
    REGRESS="$(sed -n 's/^REGRESS = //p' "$tree/Makefile" | tr ' ' '\n' | tac | tr '\n' ' ')"
run_suite isolation REGRESS= TAP_TESTS=
run_suite tap REGRESS= ISOLATION= PROVE_FLAGS=--verbose

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
