/*
 * rowloop.c
 *     The baseline of the speed benchmark: VICIdial's callback sweep as
 *     AST_VDhopper does it, one round trip per row over libpq on plain
 *     tables (triggers off): read the due callbacks, then for each flip it,
 *     and for an ANYONE one update its lead and queue it. Runs in one
 *     transaction that is rolled back, and prints the milliseconds taken.
 *
 * usage: rowloop CONNINFO DUE_BEFORE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libpq-fe.h"

static void
must(PGconn *conn, PGresult *result)
{
	ExecStatusType status = PQresultStatus(result);

	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "rowloop: %s", PQerrorMessage(conn));
		exit(1);
	}
}

static double
elapsed_ms(const struct timespec *from)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - from->tv_sec) * 1000.0 + (now.tv_nsec - from->tv_nsec) / 1e6;
}

int
main(int argc, char **argv)
{
	PGconn	   *conn;
	PGresult   *due;
	struct timespec started;
	int			i;

	if (argc != 3)
	{
		fprintf(stderr, "usage: %s CONNINFO DUE_BEFORE\n", argv[0]);
		return 2;
	}
	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "rowloop: %s", PQerrorMessage(conn));
		return 1;
	}
	PQclear(PQexec(conn, "BEGIN"));
	PQclear(PQexec(conn, "SET LOCAL session_replication_role = replica"));
	clock_gettime(CLOCK_MONOTONIC, &started);
	{
		const char *params[1] = {argv[2]};

		due = PQexecParams(conn,
						   "SELECT callback_id, lead_id, recipient, lead_status, campaign_id, list_id"
						   "  FROM vicidial.vicidial_callbacks"
						   " WHERE status = 'ACTIVE' AND callback_time <= $1 ORDER BY callback_id",
						   1, NULL, params, NULL, NULL, 0);
		must(conn, due);
	}
	for (i = 0; i < PQntuples(due); i++)
	{
		const char *flip[1] = {PQgetvalue(due, i, 0)};

		must(conn, PQexecParams(conn,
								"UPDATE vicidial.vicidial_callbacks SET status = 'LIVE', modify_date = now()"
								" WHERE callback_id = $1", 1, NULL, flip, NULL, NULL, 0));
		if (strcmp(PQgetvalue(due, i, 2), "ANYONE") == 0)
		{
			const char *lead[2] = {PQgetvalue(due, i, 1), PQgetvalue(due, i, 3)};
			const char *queue[3] = {PQgetvalue(due, i, 1), PQgetvalue(due, i, 4), PQgetvalue(due, i, 5)};

			must(conn, PQexecParams(conn,
									"UPDATE vicidial.vicidial_list SET status = $2, called_since_last_reset = 'N'"
									" WHERE lead_id = $1", 2, NULL, lead, NULL, NULL, 0));
			must(conn, PQexecParams(conn,
									"INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id, status, priority, source)"
									" VALUES ($1, $2, $3, 'READY', 50, 'C') ON CONFLICT (lead_id) DO NOTHING",
									3, NULL, queue, NULL, NULL, 0));
		}
	}
	printf("%.1f\n", elapsed_ms(&started));
	PQclear(due);
	PQclear(PQexec(conn, "ROLLBACK"));
	PQfinish(conn);
	return 0;
}
