#!/bin/bash
# Benchmark: what a pooled screen's poll costs. agent_callback_count for an
# agent with no open callback and for one with 1,000, beside 200,000
# callbacks of 200 agents, through pgbench on one connection for 5 s each
# (its latency includes the round trip, which the script also measures
# with SELECT 1). Numbers, not a pass/fail. Run as root on Debian 12.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

install_packages
build_and_install
tree=$(scratch_tree)
start_throwaway_cluster "$tree" 54359 <<CONF
shared_preload_libraries = 'vicidial_callbacks'
vicidial_callbacks.enabled = off
CONF

cluster_psql -q <<'SQL'
CREATE EXTENSION vicidial_callbacks;
INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) SELECT 'a' || g, true FROM generate_series(1, 200) g;
INSERT INTO vicidial.vicidial_users ("user") VALUES ('idle');
INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time) VALUES ('C', 0, '24hours');
INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'C');
-- 200,000 open USERONLY callbacks, 1,000 per agent, loaded as a restore
-- would (the rules are the regression suites' business, not this one's)
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO vicidial.vicidial_list (list_id, status) SELECT 1, 'CBHOLD' FROM generate_series(1, 200000);
INSERT INTO vicidial.vicidial_callbacks (lead_id, list_id, campaign_id, status, callback_time, "user", recipient, customer_timezone)
SELECT lead_id, 1, 'C', CASE WHEN lead_id % 10 = 0 THEN 'LIVE' ELSE 'ACTIVE' END,
       now() + (lead_id % 1000) * interval '1 hour', 'a' || (lead_id % 200 + 1), 'USERONLY', 'UTC'
  FROM vicidial.vicidial_list;
COMMIT;
VACUUM ANALYZE;
SQL

bench()
{
    echo "$1" > "$tree/poll.sql"
    chown postgres: "$tree/poll.sql"
    as_postgres pgbench -h "$tree" -p 54359 -n -T 5 -f "$tree/poll.sql" postgres 2>/dev/null \
        | sed -n 's/^latency average = \(.*\) ms$/\1/p'
}
round_trip=$(bench 'SELECT 1;')
none=$(bench "SELECT * FROM vicidial.agent_callback_count('idle');")
many=$(bench "SELECT * FROM vicidial.agent_callback_count('a7');")
echo "agent_callback_count, one connection, mean latency in ms (pgbench)"
printf '%-36s %8s\n' "SELECT 1 (the round trip)" "$round_trip" \
    "an agent with no open callback" "$none" "an agent with 1,000 open callbacks" "$many"
