# Shared by the demo and the test runner: the packages the project needs,
# the build and install (as root), and a copy of the tree that the
# unprivileged postgres user may write in, since PostgreSQL refuses to run
# as root.

PG_BINDIR=/usr/lib/postgresql/15/bin
PG_CONFIG=$PG_BINDIR/pg_config
PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PACKAGES="make gcc postgresql-15 postgresql-server-dev-15 postgresql-15-cron libpq-dev libipc-run-perl"

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
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
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
