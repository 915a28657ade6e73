/*
 * stress.c
 *     A randomized concurrency stress of the extension over libpq: agents,
 *     an admin, two direct-DML writers (which also list do-not-call numbers
 *     and give leads those numbers) and hopper_run drivers at once, each a
 *     process with its own connection, for a bounded time. Prints one line
 *     of tallies that the caller checks against the database: every claim
 *     and every callback accounted for, no unexpected error.
 *
 * usage: stress CONNINFO SECONDS SEED
 * The database holds the call center of test/t/009_stress.pl: campaign
 * 'S', agents s01..s08 (USERONLY allowed).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "libpq-fe.h"

#define AGENTS 8
#define WRITERS 2
#define RUNNERS 2

typedef enum Role { AGENT, ADMIN, WRITER, RUNNER } Role;

/* what a process did; summed by the parent */
typedef struct Tally
{
	long		claims;			/* hopper_next or callback_dial that returned a lead */
	long		ends;			/* lead_disposition of a claimed lead */
	long		held_at_exit;	/* claims left INCALL on purpose (a dying client) */
	long		scheduled;		/* callbacks created (lead_disposition CALLBK) */
	long		runs;			/* hopper_run calls */
	long		admin_changes;	/* callback_modify calls that committed */
	long		dml_writes;		/* direct writes that committed */
	long		refused;		/* expected refusals: the rules at work */
	long		deadlocks;		/* 40P01 between a direct writer and the API */
	long		failed_ends;	/* dispositions of one's own claim that failed: must be 0 */
	long		unexpected;		/* any other error: must be 0 */
} Tally;

static unsigned int seed;

static int
pick(int n)
{
	return rand_r(&seed) % n;
}

/*
 * Runs a statement; counts its error, and returns NULL on error. What a
 * refusal may be depends on the writer: a function of the API refuses a
 * call up front, with 55000 or 42501 (a state or a right it checked), never
 * by tripping a table's constraint or the commit-time checks (23514,
 * 23505), which only direct DML may meet.
 */
static PGresult *
run(PGconn *conn, Tally *tally, const char *sql, const char *const *params, int nparams, bool dml)
{
	PGresult   *result = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType status = PQresultStatus(result);
	const char *state;

	if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
		return result;
	state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
	if (state == NULL)
		state = "?????";
	if (strcmp(state, "40P01") == 0)
		tally->deadlocks++;
	/* 42501: a callback reassigned by the admin between list and dial */
	else if (strcmp(state, "55000") == 0 || strcmp(state, "42501") == 0 ||
			 (dml && (strcmp(state, "23514") == 0 || strcmp(state, "23505") == 0)))
		tally->refused++;
	else
	{
		tally->unexpected++;
		fprintf(stderr, "unexpected %s: %s  in: %s\n", state, PQresultErrorMessage(result), sql);
	}
	PQclear(result);
	return NULL;
}

/* Whether the lead's number is on a do-not-call list that applies to it. */
static bool
listed(PGconn *conn, const char *lead)
{
	const char *params[1] = {lead};
	PGresult   *result = PQexecParams(conn,
									  "SELECT dnc_status IS NOT NULL FROM vicidial.lead_dnc WHERE lead_id = $1::bigint",
									  1, NULL, params, NULL, NULL, 0);
	bool		answer = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1
		&& strcmp(PQgetvalue(result, 0, 0), "t") == 0;

	PQclear(result);
	return answer;
}

/* A lead this agent holds ends with a random disposition. */
static void
hang_up(PGconn *conn, Tally *tally, const char *agent, const char *lead)
{
	static const char *const statuses[] = {"SALE", "NA", "B", "CALLBK", "CALLBK", "CALLBK"};
	const char *status = statuses[pick(6)];
	const char *recipient = pick(3) == 0 ? "USERONLY" : "ANYONE";
	const char *params[4] = {lead, agent, status, recipient};
	int			try;

	for (try = 0; try < 3; try++)
	{
		long		deadlocks = tally->deadlocks;
		long		refused = tally->refused;
		PGresult   *result = run(conn, tally,
								 "SELECT vicidial.lead_disposition($1::bigint, $2::varchar, $3::varchar,"
								 " CASE $3::varchar WHEN 'CALLBK' THEN vicidial._half_hour_start(now())"
								 " + make_interval(secs => floor(random() * 3)) END, $4)",
								 params, 4, false);

		if (result != NULL)
		{
			tally->ends++;
			if (!PQgetisnull(result, 0, 0))
				tally->scheduled++;
			PQclear(result);
			return;
		}
		/*
		 * A callback refused because the number was listed during the call
		 * leaves the call to end otherwise, as an agent would; any other
		 * refusal is a failed end. Else only a deadlock is worth a retry.
		 */
		if (tally->refused > refused && strcmp(params[2], "CALLBK") == 0 && listed(conn, lead))
			params[2] = "NA";
		else if (tally->deadlocks == deadlocks)
			break;
	}
	tally->failed_ends++;
}

static void
agent_step(PGconn *conn, Tally *tally, const char *agent)
{
	const char *params[1] = {agent};
	PGresult   *result;

	if (pick(3) == 0)
		result = run(conn, tally,
					 "SELECT d.lead_id FROM vicidial.agent_callbacks($1) c,"
					 " LATERAL vicidial.callback_dial(c.callback_id, $1) d"
					 " WHERE c.status = 'LIVE' LIMIT 1", params, 1, false);
	else
		result = run(conn, tally, "SELECT lead_id FROM vicidial.hopper_next('S', $1)", params, 1, false);
	if (result == NULL)
		return;
	if (PQntuples(result) == 1)
	{
		char		lead[32];

		snprintf(lead, sizeof(lead), "%s", PQgetvalue(result, 0, 0));
		tally->claims++;
		if (pick(200) == 0)
			tally->held_at_exit++;	/* the client "dies" on the call */
		else
			hang_up(conn, tally, agent, lead);
	}
	PQclear(result);
}

static void
admin_step(PGconn *conn, Tally *tally)
{
	static const char *const changes[] = {
		"SELECT vicidial.callback_modify(c.callback_id, callback_time => now() + make_interval(secs => 1 + floor(random() * 5)))",
		"SELECT vicidial.callback_modify(c.callback_id, archive => true)",
		"SELECT vicidial.callback_modify(c.callback_id, recipient => 'ANYONE')",
		"SELECT vicidial.callback_modify(c.callback_id, agent => 's0' || (1 + floor(random() * 8))::int, recipient => 'USERONLY')",
	};
	char		sql[512];
	PGresult   *result;

	snprintf(sql, sizeof(sql), "%s FROM (SELECT callback_id FROM vicidial.vicidial_callbacks"
			 " WHERE status IN ('ACTIVE', 'LIVE') ORDER BY random() LIMIT 1) c", changes[pick(4)]);
	result = run(conn, tally, sql, NULL, 0, false);
	if (result != NULL)
	{
		tally->admin_changes++;
		PQclear(result);
	}
}

static void
writer_step(PGconn *conn, Tally *tally)
{
	static const char *const writes[] = {
		"UPDATE vicidial.vicidial_callbacks SET status = 'LIVE' WHERE callback_id ="
		" (SELECT callback_id FROM vicidial.vicidial_callbacks WHERE status = 'ACTIVE' ORDER BY random() LIMIT 1)",
		"UPDATE vicidial.vicidial_callbacks SET recipient = 'ANYONE' WHERE callback_id ="
		" (SELECT callback_id FROM vicidial.vicidial_callbacks WHERE status = 'LIVE' AND recipient = 'USERONLY' ORDER BY random() LIMIT 1)",
		"INSERT INTO vicidial.vicidial_hopper (lead_id, campaign_id, list_id)"
		" SELECT lead_id, 'S', list_id FROM vicidial.vicidial_list WHERE list_id IN (1, 2)"
		" ORDER BY random() LIMIT 1",
		"UPDATE vicidial.vicidial_list SET status = 'NEW', called_since_last_reset = 'N'"
		" WHERE lead_id = (SELECT lead_id FROM vicidial.vicidial_list WHERE list_id IN (1, 2) ORDER BY random() LIMIT 1)"
		" AND status <> 'INCALL'",
		/* one of ten numbers listed again (its leads marked again) */
		"INSERT INTO vicidial.vicidial_dnc (phone_number) VALUES ('5559' || floor(random() * 10)::int)"
		" ON CONFLICT (phone_number) DO UPDATE SET phone_number = EXCLUDED.phone_number",
		/* a lead given one of those numbers, or a number of its own again */
		"UPDATE vicidial.vicidial_list SET phone_number = CASE WHEN random() < 0.3"
		" THEN '5559' || floor(random() * 10)::int ELSE '556' || lead_id END"
		" WHERE lead_id = (SELECT lead_id FROM vicidial.vicidial_list WHERE list_id IN (1, 2) ORDER BY random() LIMIT 1)",
	};
	PGresult   *result = run(conn, tally, writes[pick(6)], NULL, 0, true);

	if (result != NULL)
	{
		tally->dml_writes++;
		PQclear(result);
	}
}

static void
child(const char *conninfo, Role role, int number, time_t deadline, int out)
{
	PGconn	   *conn = PQconnectdb(conninfo);
	Tally		tally;
	char		agent[16];

	memset(&tally, 0, sizeof(tally));
	snprintf(agent, sizeof(agent), "s%02d", number + 1);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "connection failed: %s", PQerrorMessage(conn));
		tally.unexpected++;
	}
	else
		while (time(NULL) < deadline)
		{
			switch (role)
			{
				case AGENT:
					agent_step(conn, &tally, agent);
					break;
				case ADMIN:
					admin_step(conn, &tally);
					usleep(20000);
					break;
				case WRITER:
					writer_step(conn, &tally);
					usleep(20000);
					break;
				case RUNNER:
					{
						PGresult   *result = run(conn, &tally, "SELECT * FROM vicidial.hopper_run()", NULL, 0, false);

						if (result != NULL)
						{
							tally.runs++;
							PQclear(result);
						}
						usleep(50000);
					}
					break;
			}
		}
	PQfinish(conn);
	if (write(out, &tally, sizeof(tally)) != (ssize_t) sizeof(tally))
		exit(2);
	exit(0);
}

int
main(int argc, char **argv)
{
	int			pipes[2];
	int			processes = 0;
	int			i;
	time_t		deadline;
	Tally		total;
	Tally		one;

	if (argc != 4)
	{
		fprintf(stderr, "usage: %s CONNINFO SECONDS SEED\n", argv[0]);
		return 2;
	}
	deadline = time(NULL) + atoi(argv[2]);
	if (pipe(pipes) != 0)
		return 2;
	for (i = 0; i < AGENTS + 1 + WRITERS + RUNNERS; i++)
	{
		Role		role = i < AGENTS ? AGENT : i == AGENTS ? ADMIN : i <= AGENTS + WRITERS ? WRITER : RUNNER;

		if (fork() == 0)
		{
			seed = (unsigned int) atoi(argv[3]) * 1000u + (unsigned int) i;
			close(pipes[0]);
			child(argv[1], role, i, deadline, pipes[1]);
		}
		processes++;
	}
	close(pipes[1]);
	memset(&total, 0, sizeof(total));
	while (processes > 0 && read(pipes[0], &one, sizeof(one)) == (ssize_t) sizeof(one))
	{
		total.claims += one.claims;
		total.ends += one.ends;
		total.held_at_exit += one.held_at_exit;
		total.scheduled += one.scheduled;
		total.runs += one.runs;
		total.admin_changes += one.admin_changes;
		total.dml_writes += one.dml_writes;
		total.refused += one.refused;
		total.deadlocks += one.deadlocks;
		total.failed_ends += one.failed_ends;
		total.unexpected += one.unexpected;
		processes--;
	}
	while (wait(NULL) > 0)
		;
	printf("claims=%ld ends=%ld held_at_exit=%ld scheduled=%ld runs=%ld admin_changes=%ld"
		   " dml_writes=%ld refused=%ld deadlocks=%ld failed_ends=%ld unexpected=%ld missing_processes=%d\n",
		   total.claims, total.ends, total.held_at_exit, total.scheduled, total.runs, total.admin_changes,
		   total.dml_writes, total.refused, total.deadlocks, total.failed_ends, total.unexpected, processes);
	return 0;
}
