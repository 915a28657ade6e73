# Shared by the demo and the test runner: the packages the project needs,
# the build and install (as root), and a copy of the tree that the
# unprivileged postgres user may write in, since PostgreSQL refuses to run
# as root.

PG_BINDIR=/usr/lib/postgresql/15/bin
PG_CONFIG=$PG_BINDIR/pg_config
PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PACKAGES="make gcc postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-15-plpgsql-check libpq-dev libipc-run-perl pgbouncer postgresql-15-auto-failover pg-auto-failover-cli"

install_packages()
{
    local missing=""
    for package in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing="$missing $package"
    done
    [ -z "$missing" ] && return 0
    echo "installing:$missing"
    # No cluster of the package's own: every run makes a throwaway one.
    mkdir -p /etc/postgresql-common
    grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
        echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $missing >/dev/null
}

build_and_install()
{
    make -s -C "$PROJECT_ROOT" PG_CONFIG="$PG_CONFIG" all install >/dev/null
}

# A scratch copy of the tree owned by postgres; prints its path.
scratch_tree()
{
    local dir
    dir=$(mktemp -d /tmp/vicidial_callbacks.XXXXXX)
    cp -a "$PROJECT_ROOT"/. "$dir"/
    chown -R postgres: "$dir"
    echo "$dir"
}

as_postgres()
{
    runuser -u postgres -- env PATH="$PG_BINDIR:$PATH" "$@"
}

# A throwaway cluster run by postgres inside the scratch tree $1, on port
# $2, with the postgresql.conf lines given on standard input; stopped and
# removed, tree and all, when the script exits.
start_throwaway_cluster()
{
    cluster_tree=$1
    cluster_port=$2
    as_postgres initdb -D "$cluster_tree/data" -A trust >/dev/null
    as_postgres tee -a "$cluster_tree/data/postgresql.conf" >/dev/null
    trap 'as_postgres pg_ctl -D "$cluster_tree/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$cluster_tree"' EXIT
    as_postgres pg_ctl -D "$cluster_tree/data" -l "$cluster_tree/server.log" -w \
        -o "-p $cluster_port -k $cluster_tree -c listen_addresses=''" start >/dev/null
}

cluster_psql()
{
    as_postgres psql -X -h "$cluster_tree" -p "$cluster_port" -d postgres -v ON_ERROR_STOP=1 "$@"
}

# The extension and the smallest call center a benchmark of the worker
# needs: agent bob, campaign C dialing around the clock with no standard
# fill (hopper level 0), and its list 1.
seed_one_campaign()
{
    cluster_psql -q -c "
        SET client_min_messages = warning;
        CREATE EXTENSION vicidial_callbacks;
        INSERT INTO vicidial.vicidial_users (\"user\") VALUES ('bob');
        INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time) VALUES ('C', 0, '24hours');
        INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'C');" >/dev/null
}

# perf for pgbench_backend_cpu, installed once if it can be; a benchmark
# that cannot have it still runs, without its CPU figures.
install_perf()
{
    command -v perf >/dev/null || PACKAGES="linux-perf" install_packages >&2 || true
}

# pgbench on the cluster with the arguments after the first two, its
# output on standard output, and the CPU its $1 sessions' backends used
# written to the file $2 in milliseconds: perf stat, attached once all of
# them are connected (found by an application name of this run's own), so
# that a ratio of two drivers says how much more work the server did per
# cycle, apart from the client and the waits. Not counted: the work of
# the cycles before perf attached (a caller that divides by all of them
# reads a little low), and any other process's work for them (the
# extension's worker, autovacuum, WAL writing). Nothing is written where
# perf is missing (install_perf) or cannot count, or pgbench ended first.
pgbench_backend_cpu()
{
    local clients=$1 cpu_file=$2 name="pgbench_cpu_$$_$RANDOM" bench perf="" pids=""
    shift 2
    rm -f "$cpu_file" "$cpu_file.stat"
    as_postgres env PGAPPNAME="$name" pgbench "$@" > "$cpu_file.pgbench" 2>&1 &
    bench=$!
    while [ -z "$pids" ] && kill -0 "$bench" 2>/dev/null; do
        sleep 0.05
        pids=$(cluster_psql -A -t -c "SELECT string_agg(pid::text, ',') FROM pg_stat_activity
                                      WHERE application_name = '$name' HAVING count(*) = $clients")
    done
    if [ -n "$pids" ] && command -v perf >/dev/null; then
        LC_ALL=C perf stat -x, -e task-clock -p "$pids" -o "$cpu_file.stat" &
        perf=$!
    fi
    wait "$bench" || true
    if [ -n "$perf" ]; then
        kill -INT "$perf" 2>/dev/null || true
        wait "$perf" || true
        # "<not counted>" and the like are no figure
        awk -F, '$3 ~ /^task-clock/ && $1 ~ /^[0-9.]+$/ { print $1 }' "$cpu_file.stat" > "$cpu_file" 2>/dev/null || true
    fi
    cat "$cpu_file.pgbench"
}

# The goals a benchmark measures, each met or missed. The query $2, run on
# the benchmark's cluster, gives one row per goal (figure, goal, measured,
# met or missed, and optionally what the benchmark measured of the limit
# that holds the figure where it is); they replace benchmark $1's lines in
# test/bench/results/goals.txt, which run.sh prints at its end, and are
# printed.
GOALS_FILE=$PROJECT_ROOT/test/bench/results/goals.txt
record_goals()
{
    local rows
    rows=$(cluster_psql -q -A -t -F '|' -c "$2")
    mkdir -p "$(dirname "$GOALS_FILE")"
    { grep -v "^$1|" "$GOALS_FILE" 2>/dev/null || true; sed "s/^/$1|/" <<<"$rows"; } > "$GOALS_FILE.new"
    mv "$GOALS_FILE.new" "$GOALS_FILE"
    echo "goals:"
    print_goals "$1"
}

# The goals file as a table, only benchmark $1's lines when it is given.
print_goals()
{
    awk -F'|' -v only="${1:-}" '
        only != "" && $1 != only { next }
        { rows[++n] = $0; for (i = 1; i <= NF; i++) if (length($i) > w[i]) w[i] = length($i) }
        END {
            for (r = 1; r <= n; r++) {
                split(rows[r], f, "|")
                printf "  %-" w[1] "s  %-" w[2] "s  %-" w[3] "s  %" w[4] "s  %s\n", f[1], f[2], f[3], f[4], f[5]
                if (f[6] != "") printf "  %-" w[1] "s    limit: %s\n", "", f[6]
            }
        }' "$GOALS_FILE"
}
