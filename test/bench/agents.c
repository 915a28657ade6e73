/*
 * agents.c
 *     The load of the capacity benchmark (test/bench/capacity.sh): N agents
 *     and their supervisors at a call center's pace, through pgbouncer in
 *     transaction mode, from one process over non-blocking libpq
 *     connections driven by epoll.
 *
 *     An agent takes a lead (hopper_next), or, when its last poll counted
 *     LIVE callbacks of its own, reads its list (agent_callbacks) and dials
 *     the first LIVE one (callback_dial); talks 20 to 120 s; hangs up
 *     (lead_disposition: 10% CALLBK due within seconds, half of them
 *     USERONLY; 1% DNC, which also lists the number); and takes the next.
 *     Every 5 s its screen polls agent_callback_count, and reads its list
 *     again when the count changed. Supervisors page through their
 *     campaign's callbacks (callbacks_report) and move one agent's
 *     callbacks to another (callbacks_reassign).
 *
 *     Every request is one transaction in one simple-protocol string,
 *     "BEGIN; SET LOCAL ROLE <agent>; <call>; COMMIT;": one round trip, no
 *     named statement, the role gone at COMMIT. A request that fails
 *     leaves the transaction aborted and is followed by a ROLLBACK.
 *
 *     Timeline (seconds after every connection is up): agents start within
 *     the ramp; a warm-up; the measured window; a tail under full load, so
 *     that callbacks due at the window's end go LIVE under load; then every
 *     held call is hung up and the program ends. A first call's talk time
 *     is drawn from the residual time of a call already in progress, so
 *     that hangups, and the claims that follow them, arrive at the steady
 *     rate from the start rather than in waves.
 *
 *     Latency is from the moment the agent wants the call (a free client
 *     connection waited for included) to its last reply, over calls wanted
 *     inside the window; so are the counts of claims, empty hoppers,
 *     refusals and polls skipped (the previous one still unanswered), but
 *     unexpected errors are counted over the whole run. CPU is read from
 *     /proc at the window's edges.
 *
 * usage: agents [options] CONNINFO
 *   CONNINFO     the pooler, as its login (dialer_pool)
 *   -n N         agents a00001.. (default 100)
 *   -c M         client connections the agents share, as an application
 *                server's pool would; 0: one per agent (default 0)
 *   -C K         campaigns C01..: agent i works campaign (i-1) % K + 1
 *   -A A         supervisors (default N / 100, at least 1)
 *   -r -w -m -t  ramp, warm-up, window and tail seconds (20 15 60 5)
 *   -s SEED      random seed
 *   -P PID       postmaster (CPU of it and its children)
 *   -B PID       pgbouncer (CPU)
 *   -S CONNINFO  pgbouncer's console: SHOW STATS at the window's edges
 *   -D CONNINFO  a direct connection running -M at the window's start and
 *                -E at its end (statistics resets, snapshots)
 *   -x CMD       run by sh -c at the window's start, waited for at exit
 *   -R ROLE      every agent switches to ROLE rather than to a role of its
 *                own (agents not bound to roles: db_role NULL)
 *   -L B -U PFX  pool logins by block: agents 1..B switch roles as login
 *                PFX1, the next B as PFX2, ...; each block its own client
 *                connections (a share of M, at least one), so each server
 *                connection serves the roles of one block (supervisors:
 *                CONNINFO's login)
 *
 * Prints CSV lines: "step,..." once and "call,..." per call; progress on
 * stderr. Exits non-zero if a connection is lost.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include "libpq-fe.h"

#define TALK_MIN 20.0
#define TALK_MAX 120.0
#define POLL_EVERY 5.0
#define RETRY_AFTER 1.0			/* an empty hopper, a refused claim */
#define REPORT_EVERY 60.0		/* per supervisor */
#define REASSIGN_EVERY 300.0	/* per supervisor */
#define DRAIN_SECONDS 60.0		/* longest wait for the last hangups */
#define SQL_SIZE 512

typedef enum Kind
{
	K_HOPPER, K_DISPOSE, K_COUNT, K_LIST, K_DIAL, K_REPORT, K_REASSIGN, NKINDS
} Kind;

static const char *const kind_names[NKINDS] = {
	"hopper_next", "lead_disposition", "agent_callback_count", "agent_callbacks",
	"callback_dial", "callbacks_report", "callbacks_reassign"
};

typedef enum Timer
{
	T_CLAIM, T_DISPOSE, T_POLL, T_REPORT, T_REASSIGN
} Timer;

typedef struct Req
{
	struct Req *next;
	Kind		kind;
	int			who;			/* agent or supervisor */
	bool		to_dial;		/* agent_callbacks read to dial a LIVE one */
	bool		measured;		/* wanted inside the window */
	double		ready;			/* when it was wanted */
	char		sql[SQL_SIZE];
} Req;

typedef struct Queue
{
	Req		   *head;
	Req		   *tail;
	int		   *free;			/* idle connections serving this queue */
	int			nfree;
} Queue;

typedef struct Conn
{
	PGconn	   *pg;
	int			queue;
	Req		   *req;			/* in flight */
	PGresult   *rows;			/* the call's result */
	char		state[6];		/* SQLSTATE of the first error */
	bool		rolling_back;
	bool		want_write;
} Conn;

typedef enum AgentState
{
	IDLE, CLAIMING, ON_CALL, HANGING_UP
} AgentState;

typedef struct Agent
{
	AgentState	state;
	long		lead;
	char		phone[24];
	long		live;			/* as of the last poll */
	long		open;
	bool		counted;		/* a poll has answered */
	bool		polling;		/* a poll or list read in flight */
	bool		first_call;
	int			campaign;
} Agent;

typedef struct Event
{
	double		at;
	Timer		what;
	int			who;
} Event;

typedef struct Samples
{
	double	   *ms;
	long		n;
	long		size;
	long		errors;
} Samples;

typedef struct Cpu
{
	double		postgres;		/* postmaster and children, worker excluded */
	double		worker;			/* the callback worker */
	double		pgbouncer;
	double		self;
	double		box_busy;		/* every core, from /proc/stat */
} Cpu;

typedef struct PoolStats
{
	double		xacts;
	double		xact_us;
	double		wait_us;
	bool		valid;
} PoolStats;

/* settings */
static int	n_agents = 100;
static int	n_clients = 0;
static int	clients_asked = 0;	/* -c, shared out among the blocks */
static int	n_campaigns = 10;
static int	n_admins = -1;
static double ramp = 20, warmup = 15, window = 60, tail = 5;
static unsigned long long rng = 88172645463325252ULL;
static pid_t postmaster_pid, pgbouncer_pid;
static const char *console_info, *direct_info, *start_sql, *end_sql, *start_cmd, *shared_role;
static int	block_size = 0;		/* agents per pool login; 0: CONNINFO's login for all */
static const char *block_login = NULL;

/* state */
static Agent *agents;
static Conn *conns;
static int	n_conns;
static Queue *queues;
static int	n_queues;
static int	epfd;
static Event *heap;
static long heap_n, heap_size;
static Samples samples[NKINDS];
static double window_start, window_end, stop_at;
static bool in_window, stopping;
static long claims, empty_hopper, refused, unexpected, skipped_polls, in_flight, queued;
static double mono_to_epoch;
static pid_t cmd_pid;

static void
die(const char *what, PGconn *conn)
{
	fprintf(stderr, "agents: %s%s%s\n", what, conn ? ": " : "", conn ? PQerrorMessage(conn) : "");
	exit(1);
}

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng >> 11) * (1.0 / 9007199254740992.0);
}

static int
pick(int n)
{
	return (int) (uniform() * n);
}

/* A whole call, or what is left of one already in progress at the start. */
static double
talk_time(bool residual)
{
	if (!residual)
		return TALK_MIN + uniform() * (TALK_MAX - TALK_MIN);
	if (uniform() < TALK_MIN / ((TALK_MIN + TALK_MAX) / 2))
		return uniform() * TALK_MIN;
	/* the larger of two uniforms has the triangular density wanted here */
	{
		double		u = uniform(), v = uniform();

		return TALK_MAX - (TALK_MAX - TALK_MIN) * (u > v ? u : v);
	}
}

/* timers: a binary min-heap */
static void
schedule(double at, Timer what, int who)
{
	long		i;

	if (heap_n == heap_size)
	{
		heap_size = heap_size ? heap_size * 2 : 1024;
		heap = realloc(heap, heap_size * sizeof(Event));
		if (heap == NULL)
			die("out of memory", NULL);
	}
	i = heap_n++;
	while (i > 0 && heap[(i - 1) / 2].at > at)
	{
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i].at = at;
	heap[i].what = what;
	heap[i].who = who;
}

static Event
unschedule(void)
{
	Event		top = heap[0];
	Event		last = heap[--heap_n];
	long		i = 0;

	for (;;)
	{
		long		child = 2 * i + 1;

		if (child >= heap_n)
			break;
		if (child + 1 < heap_n && heap[child + 1].at < heap[child].at)
			child++;
		if (heap[child].at >= last.at)
			break;
		heap[i] = heap[child];
		i = child;
	}
	if (heap_n > 0)
		heap[i] = last;
	return top;
}

static void
record(Kind kind, double ms, bool failed)
{
	Samples    *s = &samples[kind];

	if (failed)
		s->errors++;
	if (s->n == s->size)
	{
		s->size = s->size ? s->size * 2 : 4096;
		s->ms = realloc(s->ms, s->size * sizeof(double));
		if (s->ms == NULL)
			die("out of memory", NULL);
	}
	s->ms[s->n++] = ms;
}

static int
by_value(const void *a, const void *b)
{
	double		x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

/* nearest rank */
static double
percentile(const Samples *s, double p)
{
	long		rank = (long) (p * s->n);

	if (rank < p * s->n)
		rank++;
	if (s->n == 0)
		return NAN;
	if (rank < 1)
		rank = 1;
	return s->ms[rank - 1];
}

/* requests */
static int
n_blocks(void)
{
	return block_size > 0 ? (n_agents + block_size - 1) / block_size : 1;
}

/* agents block * block_size.. switch roles as one pool login */
static int
agent_block(int agent)
{
	return block_size > 0 ? agent / block_size : 0;
}

static int
agents_in_block(int block)
{
	int			first = block * (block_size > 0 ? block_size : n_agents);
	int			end = block_size > 0 && first + block_size < n_agents ? first + block_size : n_agents;

	return end - first;
}

/* a block's share of the shared client connections, at least one */
static int
block_clients(int block)
{
	int			share = (int) ((long) clients_asked * agents_in_block(block) / n_agents);

	return share > 0 ? share : 1;
}

static int
agent_queue(int agent)
{
	return n_clients > 0 ? agent_block(agent) : agent;
}

static int
admin_queue(int admin)
{
	return (n_clients > 0 ? n_blocks() : n_agents) + admin;
}

static void send_next(int queue);

static void
submit(int queue, Kind kind, int who, bool to_dial, const char *format,...)
	__attribute__((format(printf, 5, 6)));

static void
submit(int queue, Kind kind, int who, bool to_dial, const char *format,...)
{
	Req		   *req = malloc(sizeof(Req));
	Queue	   *q = &queues[queue];
	va_list		args;

	if (req == NULL)
		die("out of memory", NULL);
	req->next = NULL;
	req->kind = kind;
	req->who = who;
	req->to_dial = to_dial;
	req->ready = now_mono();
	req->measured = in_window;
	va_start(args, format);
	if (vsnprintf(req->sql, SQL_SIZE, format, args) >= SQL_SIZE)
		die("request too long", NULL);
	va_end(args);
	if (q->tail)
		q->tail->next = req;
	else
		q->head = req;
	q->tail = req;
	queued++;
	send_next(queue);
}

static void
watch(int c, bool write)
{
	struct epoll_event ev;

	if (conns[c].want_write == write)
		return;
	conns[c].want_write = write;
	ev.events = EPOLLIN | (write ? EPOLLOUT : 0);
	ev.data.u32 = c;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, PQsocket(conns[c].pg), &ev) != 0)
		die("epoll_ctl failed", NULL);
}

static void
send_text(int c, const char *sql)
{
	int			flushed;

	if (!PQsendQuery(conns[c].pg, sql))
		die("send failed", conns[c].pg);
	flushed = PQflush(conns[c].pg);
	if (flushed < 0)
		die("flush failed", conns[c].pg);
	watch(c, flushed == 1);
}

static void
send_next(int queue)
{
	Queue	   *q = &queues[queue];

	while (q->nfree > 0 && q->head != NULL)
	{
		int			c = q->free[--q->nfree];
		Req		   *req = q->head;

		q->head = req->next;
		if (q->head == NULL)
			q->tail = NULL;
		queued--;
		in_flight++;
		conns[c].req = req;
		conns[c].state[0] = '\0';
		send_text(c, req->sql);
	}
}

/* the calls, each one transaction as the agent's role */
#define AS_AGENT "BEGIN; SET LOCAL ROLE %s; "

/* the agent's own role, or the one role every agent shares (-R) */
static const char *
role_of(int a)
{
	static char role[16];

	if (shared_role)
		return shared_role;
	snprintf(role, sizeof(role), "a%05d", a + 1);
	return role;
}

static void
claim(int a)
{
	Agent	   *agent = &agents[a];

	agent->state = CLAIMING;
	if (agent->live > 0)
		submit(agent_queue(a), K_LIST, a, true,
			   AS_AGENT "SELECT * FROM vicidial.agent_callbacks('a%05d'); COMMIT;", role_of(a), a + 1);
	else
		submit(agent_queue(a), K_HOPPER, a, false,
			   AS_AGENT "SELECT * FROM vicidial.hopper_next('C%02d', 'a%05d'); COMMIT;",
			   role_of(a), agent->campaign + 1, a + 1);
}

static void
hang_up(int a)
{
	Agent	   *agent = &agents[a];
	int			roll = pick(1000);

	agent->state = HANGING_UP;
	if (roll < 100)
		submit(agent_queue(a), K_DISPOSE, a, false,
			   AS_AGENT "SELECT vicidial.lead_disposition(%ld, 'a%05d', 'CALLBK', now() + interval '%d seconds', '%s'); COMMIT;",
			   role_of(a), agent->lead, a + 1, 5 + pick(86), roll < 50 ? "USERONLY" : "ANYONE");
	else if (roll < 110)
		submit(agent_queue(a), K_DISPOSE, a, false,
			   AS_AGENT "SELECT vicidial.lead_disposition(%ld, 'a%05d', 'DNC'); "
			   "INSERT INTO vicidial.vicidial_dnc VALUES ('%s') ON CONFLICT DO NOTHING; COMMIT;",
			   role_of(a), agent->lead, a + 1, agent->phone);
	else
	{
		static const char *const statuses[] = {"SALE", "NI", "NA", "B", "A", "N"};

		submit(agent_queue(a), K_DISPOSE, a, false,
			   AS_AGENT "SELECT vicidial.lead_disposition(%ld, 'a%05d', '%s'); COMMIT;",
			   role_of(a), agent->lead, a + 1, statuses[pick(6)]);
	}
}

static void
poll_count(int a)
{
	if (agents[a].polling)
	{
		skipped_polls += in_window;
		return;
	}
	agents[a].polling = true;
	submit(agent_queue(a), K_COUNT, a, false,
		   AS_AGENT "SELECT * FROM vicidial.agent_callback_count('a%05d'); COMMIT;", role_of(a), a + 1);
}

/* a random agent of a campaign, or -1 */
static int
agent_of(int campaign)
{
	int			count = (n_agents - campaign + n_campaigns - 1) / n_campaigns;

	return count > 0 ? campaign + n_campaigns * pick(count) : -1;
}

static void
supervise(Timer what, int s)
{
	int			campaign = s % n_campaigns;

	if (what == T_REPORT)
		submit(admin_queue(s), K_REPORT, s, false,
			   "BEGIN; SET LOCAL ROLE dialer_admin; SELECT * FROM vicidial.callbacks_report(campaign => 'C%02d', "
			   "time_from => now(), time_to => now() + interval '1 day', max_rows => 100); COMMIT;",
			   campaign + 1);
	else
	{
		int			from = agent_of(campaign), to = agent_of(campaign);

		if (from >= 0 && to >= 0 && from != to)
			submit(admin_queue(s), K_REASSIGN, s, false,
				   "BEGIN; SET LOCAL ROLE dialer_admin; SELECT vicidial.callbacks_reassign('a%05d', 'a%05d', 'C%02d'); COMMIT;",
				   from + 1, to + 1, campaign + 1);
	}
}

static void
on_call(int a, const PGresult *rows, int row)
{
	Agent	   *agent = &agents[a];

	agent->state = ON_CALL;
	agent->lead = atol(PQgetvalue(rows, row, PQfnumber(rows, "lead_id")));
	snprintf(agent->phone, sizeof(agent->phone), "%s", PQgetvalue(rows, row, PQfnumber(rows, "phone_number")));
	if (in_window)
		claims++;
	if (stopping)
		hang_up(a);
	else
	{
		schedule(now_mono() + talk_time(agent->first_call), T_DISPOSE, a);
		agent->first_call = false;
	}
}

static void
claim_again_later(int a)
{
	agents[a].state = IDLE;
	if (!stopping)
		schedule(now_mono() + RETRY_AFTER, T_CLAIM, a);
}

/* what a finished request means for its agent */
static void
done(Req *req, const PGresult *rows, const char *state)
{
	Agent	   *agent = req->kind < K_REPORT ? &agents[req->who] : NULL;
	int			a = req->who;
	bool		failed = state[0] != '\0';

	if (req->measured)
		record(req->kind, (now_mono() - req->ready) * 1000, failed);
	if (failed)
	{
		/* refusals by design: a callback reassigned or on a call meanwhile */
		if (strcmp(state, "55000") == 0 || strcmp(state, "42501") == 0)
			refused += req->measured;
		else
		{
			unexpected++;
			if (unexpected <= 10)
				fprintf(stderr, "agents: unexpected %s in: %s\n", state, req->sql);
		}
	}
	switch (req->kind)
	{
		case K_HOPPER:
			if (!failed && PQntuples(rows) == 1)
				on_call(a, rows, 0);
			else
			{
				if (!failed)
					empty_hopper += req->measured;
				claim_again_later(a);
			}
			break;
		case K_DIAL:
			if (!failed && PQntuples(rows) == 1)
				on_call(a, rows, 0);
			else
			{
				agent->live = 0;
				if (stopping)
					agent->state = IDLE;
				else
					claim(a);
			}
			break;
		case K_LIST:
			if (req->to_dial)
			{
				int			row;
				int			status = failed ? -1 : PQfnumber(rows, "status");

				for (row = 0; status >= 0 && row < PQntuples(rows); row++)
					if (strcmp(PQgetvalue(rows, row, status), "LIVE") == 0)
						break;
				if (stopping)
					agent->state = IDLE;
				else if (status >= 0 && row < PQntuples(rows))
					submit(agent_queue(a), K_DIAL, a, false,
						   AS_AGENT "SELECT * FROM vicidial.callback_dial(%s, 'a%05d'); COMMIT;",
						   role_of(a), PQgetvalue(rows, row, PQfnumber(rows, "callback_id")), a + 1);
				else
				{
					agent->live = 0;
					submit(agent_queue(a), K_HOPPER, a, false,
						   AS_AGENT "SELECT * FROM vicidial.hopper_next('C%02d', 'a%05d'); COMMIT;",
						   role_of(a), agent->campaign + 1, a + 1);
				}
			}
			else
				agent->polling = false;
			break;
		case K_DISPOSE:
			if (failed && !stopping)
			{
				/* still on the call: hang up again shortly */
				agent->state = ON_CALL;
				schedule(now_mono() + RETRY_AFTER, T_DISPOSE, a);
			}
			else
			{
				agent->state = IDLE;
				if (!stopping)
					claim(a);
			}
			break;
		case K_COUNT:
			agent->polling = false;
			if (!failed && PQntuples(rows) == 1)
			{
				long		live = atol(PQgetvalue(rows, 0, 0));
				long		open = atol(PQgetvalue(rows, 0, 1));
				bool		changed = agent->counted && (live != agent->live || open != agent->open);

				agent->live = live;
				agent->open = open;
				agent->counted = true;
				/* the screen shows the list again */
				if (changed && !stopping)
				{
					agent->polling = true;
					submit(agent_queue(a), K_LIST, a, false,
						   AS_AGENT "SELECT * FROM vicidial.agent_callbacks('a%05d'); COMMIT;", role_of(a), a + 1);
				}
			}
			break;
		case K_REPORT:
		case K_REASSIGN:
		case NKINDS:
			break;
	}
}

static void
free_conn(int c)
{
	Queue	   *q = &queues[conns[c].queue];

	q->free[q->nfree++] = c;
	send_next(conns[c].queue);
}

/* every reply of the request's string has arrived */
static void
finished(int c)
{
	Conn	   *conn = &conns[c];
	Req		   *req = conn->req;

	if (conn->rolling_back)
	{
		conn->rolling_back = false;
		free_conn(c);
		return;
	}
	conn->req = NULL;
	in_flight--;
	done(req, conn->rows, conn->state);
	free(req);
	if (conn->rows)
		PQclear(conn->rows);
	conn->rows = NULL;
	if (PQtransactionStatus(conn->pg) == PQTRANS_INERROR)
	{
		conn->rolling_back = true;
		send_text(c, "ROLLBACK");
	}
	else
		free_conn(c);
}

static void
readable(int c)
{
	Conn	   *conn = &conns[c];
	PGresult   *result;

	if (!PQconsumeInput(conn->pg))
		die("connection lost", conn->pg);
	while (!PQisBusy(conn->pg))
	{
		result = PQgetResult(conn->pg);
		if (result == NULL)
		{
			finished(c);
			return;
		}
		switch (PQresultStatus(result))
		{
			case PGRES_TUPLES_OK:
				if (conn->rows)
					PQclear(conn->rows);
				conn->rows = result;
				continue;
			case PGRES_FATAL_ERROR:
				if (conn->state[0] == '\0')
				{
					const char *state = PQresultErrorField(result, PG_DIAG_SQLSTATE);

					snprintf(conn->state, sizeof(conn->state), "%s", state ? state : "?????");
				}
				break;
			default:
				break;
		}
		PQclear(result);
	}
}

/* CPU from /proc, in seconds */
static bool
proc_times(pid_t pid, pid_t *ppid, double *own, double *children)
{
	char		path[64], buf[1024], *p;
	FILE	   *f;
	size_t		len;
	long		field[16];
	int			i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return false;
	p += 2;						/* to field 3, the state */
	for (i = 0; i < 16 && *p; i++)
	{
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
		field[i] = strtol(p, NULL, 10);
	}
	if (i < 16)
		return false;
	/* field[i] is field i + 4 of proc(5) */
	if (ppid)
		*ppid = (pid_t) field[0];
	*own = (field[10] + field[11]) / (double) sysconf(_SC_CLK_TCK);
	if (children)
		*children = (field[12] + field[13]) / (double) sysconf(_SC_CLK_TCK);
	return true;
}

static bool
is_worker(pid_t pid)
{
	char		path[64], buf[256];
	FILE	   *f;
	size_t		len;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	return strstr(buf, "vicidial_callbacks") != NULL;
}

static Cpu
cpu_now(void)
{
	Cpu			cpu = {0};
	double		own, children;
	FILE	   *f;

	if (postmaster_pid > 0 && proc_times(postmaster_pid, NULL, &own, &children))
	{
		DIR		   *proc = opendir("/proc");
		struct dirent *entry;

		/* reaped children count in the postmaster's own children time */
		cpu.postgres = own + children;
		while (proc && (entry = readdir(proc)) != NULL)
		{
			pid_t		pid = (pid_t) atoi(entry->d_name), ppid;

			if (pid > 0 && proc_times(pid, &ppid, &own, NULL) && ppid == postmaster_pid)
			{
				if (is_worker(pid))
					cpu.worker += own;
				else
					cpu.postgres += own;
			}
		}
		if (proc)
			closedir(proc);
	}
	if (pgbouncer_pid > 0 && proc_times(pgbouncer_pid, NULL, &own, NULL))
		cpu.pgbouncer = own;
	if (proc_times(getpid(), NULL, &own, NULL))
		cpu.self = own;
	if ((f = fopen("/proc/stat", "r")) != NULL)
	{
		unsigned long long v[8] = {0};

		if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
				   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
		{
			double		tick = sysconf(_SC_CLK_TCK);

			cpu.box_busy = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / tick;
		}
		fclose(f);
	}
	return cpu;
}

/* pgbouncer's totals for the database, from its console */
static PoolStats
pool_stats(PGconn *console, const char *database)
{
	PoolStats	stats = {0};
	PGresult   *result;
	int			row;

	if (console == NULL)
		return stats;
	result = PQexec(console, "SHOW STATS");
	if (PQresultStatus(result) == PGRES_TUPLES_OK)
		for (row = 0; row < PQntuples(result); row++)
			if (strcmp(PQgetvalue(result, row, PQfnumber(result, "database")), database) == 0)
			{
				stats.xacts = atof(PQgetvalue(result, row, PQfnumber(result, "total_xact_count")));
				stats.xact_us = atof(PQgetvalue(result, row, PQfnumber(result, "total_xact_time")));
				stats.wait_us = atof(PQgetvalue(result, row, PQfnumber(result, "total_wait_time")));
				stats.valid = true;
			}
	PQclear(result);
	return stats;
}

static void
run_direct(PGconn *direct, const char *sql)
{
	PGresult   *result;

	if (direct == NULL || sql == NULL)
		return;
	/* results are not waited for here: read at the next edge or at exit */
	while ((result = PQgetResult(direct)) != NULL)
		PQclear(result);
	if (!PQsendQuery(direct, sql))
		die("direct connection", direct);
}

static void
drain_direct(PGconn *direct)
{
	PGresult   *result;

	if (direct == NULL)
		return;
	while ((result = PQgetResult(direct)) != NULL)
	{
		if (PQresultStatus(result) == PGRES_FATAL_ERROR)
			fprintf(stderr, "agents: direct connection: %s", PQresultErrorMessage(result));
		PQclear(result);
	}
}

static PGconn *
connect_to(const char *info)
{
	PGconn	   *conn = PQconnectdb(info);

	if (PQstatus(conn) != CONNECTION_OK)
		die("cannot connect", conn);
	return conn;
}

static void
usage(void)
{
	fprintf(stderr, "usage: agents [-n agents] [-c clients] [-C campaigns] [-A supervisors] [-r ramp] [-w warmup]\n"
			"              [-m window] [-t tail] [-s seed] [-P postmaster] [-B pgbouncer]\n"
			"              [-S console] [-D direct -M sql -E sql] [-x command] [-R role]\n"
			"              [-L agents -U login_prefix] CONNINFO\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int			opt, i, c;
	double		t0, started, last_report;
	Cpu			cpu0 = {0}, cpu1 = {0};
	PoolStats	pool0 = {0}, pool1 = {0};
	PGconn	   *console = NULL, *direct = NULL;
	struct epoll_event events[1024];
	struct timespec rt;
	bool		ended = false;
	long		on_call_left;

	while ((opt = getopt(argc, argv, "n:c:C:A:r:w:m:t:s:P:B:S:D:M:E:x:R:L:U:")) != -1)
	{
		switch (opt)
		{
			case 'n': n_agents = atoi(optarg); break;
			case 'c': n_clients = atoi(optarg); break;
			case 'C': n_campaigns = atoi(optarg); break;
			case 'A': n_admins = atoi(optarg); break;
			case 'r': ramp = atof(optarg); break;
			case 'w': warmup = atof(optarg); break;
			case 'm': window = atof(optarg); break;
			case 't': tail = atof(optarg); break;
			case 's': rng ^= strtoull(optarg, NULL, 10) * 0x9E3779B97F4A7C15ULL; break;
			case 'P': postmaster_pid = (pid_t) atoi(optarg); break;
			case 'B': pgbouncer_pid = (pid_t) atoi(optarg); break;
			case 'S': console_info = optarg; break;
			case 'D': direct_info = optarg; break;
			case 'M': start_sql = optarg; break;
			case 'E': end_sql = optarg; break;
			case 'x': start_cmd = optarg; break;
			case 'R': shared_role = optarg; break;
			case 'L': block_size = atoi(optarg); break;
			case 'U': block_login = optarg; break;
			default: usage();
		}
	}
	if (optind != argc - 1 || n_agents < 1 || n_agents > 99999 || n_clients < 0 || n_campaigns < 1 ||
		n_campaigns > 99 || ramp < 0 || warmup < 0 || window <= 0 || tail < 0 ||
		block_size < 0 || (block_size > 0) != (block_login != NULL))
		usage();
	if (n_admins < 0)
		n_admins = n_agents / 100 > 0 ? n_agents / 100 : 1;
	if (n_clients > n_agents)
		n_clients = n_agents;
	signal(SIGPIPE, SIG_IGN);

	/*
	 * connections: the agents' (one each, or a shared pool per block of
	 * agents), one per supervisor
	 */
	if (n_clients > 0)
	{
		int			agent_conns = 0;

		clients_asked = n_clients;
		for (i = 0; i < n_blocks(); i++)
			agent_conns += block_clients(i);
		n_clients = agent_conns;
	}
	n_queues = (n_clients > 0 ? n_blocks() : n_agents) + n_admins;
	n_conns = (n_clients > 0 ? n_clients : n_agents) + n_admins;
	queues = calloc(n_queues, sizeof(Queue));
	conns = calloc(n_conns, sizeof(Conn));
	agents = calloc(n_agents, sizeof(Agent));
	if (queues == NULL || conns == NULL || agents == NULL || (epfd = epoll_create1(0)) < 0)
		die("out of memory", NULL);
	for (i = 0; i < n_queues; i++)
	{
		int			serving = (n_clients > 0 && i < n_blocks()) ? block_clients(i) : 1;

		queues[i].free = malloc(serving * sizeof(int));
		if (queues[i].free == NULL)
			die("out of memory", NULL);
	}
	started = now_mono();
	for (c = 0, i = 0; c < n_conns; c++)
	{
		struct epoll_event ev;
		int			agent_conns = n_clients > 0 ? n_clients : n_agents;
		int			queue;
		int			block = -1;
		char		info[1024];

		if (c >= agent_conns)
			queue = admin_queue(c - agent_conns);
		else if (n_clients == 0)
			queue = c, block = agent_block(c);
		else
		{
			/* the block's connections one after the other */
			while (queues[i].nfree == block_clients(i))
				i++;
			queue = i, block = i;
		}
		if (block_size > 0 && block >= 0)
			snprintf(info, sizeof(info), "%s user=%s%d", argv[optind], block_login, block + 1);
		else
			snprintf(info, sizeof(info), "%s", argv[optind]);
		conns[c].pg = connect_to(info);
		if (PQsetnonblocking(conns[c].pg, 1) != 0)
			die("cannot make the connection non-blocking", conns[c].pg);
		conns[c].queue = queue;
		queues[queue].free[queues[queue].nfree++] = c;
		ev.events = EPOLLIN;
		ev.data.u32 = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, PQsocket(conns[c].pg), &ev) != 0)
			die("epoll_ctl failed (file descriptors?)", NULL);
	}
	if (console_info)
		console = connect_to(console_info);
	if (direct_info)
		direct = connect_to(direct_info);
	t0 = now_mono();
	clock_gettime(CLOCK_REALTIME, &rt);
	mono_to_epoch = rt.tv_sec + rt.tv_nsec / 1e9 - t0;
	fprintf(stderr, "agents: %d agents, %d client connections, %d supervisors; connected in %.1f s\n",
			n_agents, n_conns - n_admins, n_admins, t0 - started);

	for (i = 0; i < n_agents; i++)
	{
		agents[i].campaign = i % n_campaigns;
		agents[i].first_call = true;
		schedule(t0 + uniform() * ramp, T_CLAIM, i);
		schedule(t0 + uniform() * POLL_EVERY, T_POLL, i);
	}
	for (i = 0; i < n_admins; i++)
	{
		schedule(t0 + uniform() * REPORT_EVERY, T_REPORT, i);
		schedule(t0 + uniform() * REASSIGN_EVERY, T_REASSIGN, i);
	}
	window_start = t0 + ramp + warmup;
	window_end = window_start + window;
	stop_at = window_end + tail;
	last_report = t0;

	for (;;)
	{
		double		now = now_mono();
		int			n, timeout;

		if (!in_window && !ended && now >= window_start)
		{
			in_window = true;
			run_direct(direct, start_sql);
			pool0 = pool_stats(console, "postgres");
			cpu0 = cpu_now();
			if (start_cmd && (cmd_pid = fork()) == 0)
			{
				execl("/bin/sh", "sh", "-c", start_cmd, (char *) NULL);
				_exit(127);
			}
		}
		if (in_window && now >= window_end)
		{
			cpu1 = cpu_now();
			pool1 = pool_stats(console, "postgres");
			run_direct(direct, end_sql);
			in_window = false;
			ended = true;
		}
		if (!stopping && now >= stop_at)
		{
			/* the end of the shift: every held call is hung up, nothing new starts */
			stopping = true;
			for (i = 0; i < n_agents; i++)
				if (agents[i].state == ON_CALL)
					hang_up(i);
		}
		if (stopping)
		{
			on_call_left = 0;
			for (i = 0; i < n_agents; i++)
				on_call_left += agents[i].state != IDLE;
			if ((on_call_left == 0 && in_flight == 0 && queued == 0) || now > stop_at + DRAIN_SECONDS)
				break;
		}
		while (heap_n > 0 && heap[0].at <= now)
		{
			Event		e = unschedule();

			if (stopping)
				continue;
			switch (e.what)
			{
				case T_CLAIM:
					claim(e.who);
					break;
				case T_DISPOSE:
					hang_up(e.who);
					break;
				case T_POLL:
					poll_count(e.who);
					schedule(e.at + POLL_EVERY, T_POLL, e.who);
					break;
				case T_REPORT:
					supervise(T_REPORT, e.who);
					schedule(e.at + REPORT_EVERY, T_REPORT, e.who);
					break;
				case T_REASSIGN:
					supervise(T_REASSIGN, e.who);
					schedule(e.at + REASSIGN_EVERY, T_REASSIGN, e.who);
					break;
			}
		}
		if (now - last_report >= 30)
		{
			fprintf(stderr, "agents: %4.0f s: %ld in flight, %ld queued, %ld claims in the window\n",
					now - t0, in_flight, queued, claims);
			last_report = now;
		}
		timeout = 50;
		if (heap_n > 0 && !stopping)
		{
			double		wait_ms = (heap[0].at - now_mono()) * 1000;

			timeout = wait_ms < 0 ? 0 : wait_ms < 50 ? (int) wait_ms + 1 : 50;
		}
		n = epoll_wait(epfd, events, 1024, timeout);
		if (n < 0 && errno != EINTR)
			die("epoll_wait failed", NULL);
		for (i = 0; i < n; i++)
		{
			c = (int) events[i].data.u32;
			if (events[i].events & EPOLLOUT)
			{
				int			flushed = PQflush(conns[c].pg);

				if (flushed < 0)
					die("flush failed", conns[c].pg);
				watch(c, flushed == 1);
			}
			if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				readable(c);
		}
	}

	on_call_left = 0;
	for (i = 0; i < n_agents; i++)
		on_call_left += agents[i].state != IDLE;
	if (on_call_left > 0 || in_flight > 0)
		fprintf(stderr, "agents: %ld agents still busy, %ld requests in flight after the drain\n",
				on_call_left, in_flight);
	drain_direct(direct);
	for (c = 0; c < n_conns; c++)
		PQfinish(conns[c].pg);
	if (console)
		PQfinish(console);
	if (direct)
		PQfinish(direct);
	if (cmd_pid > 0)
		waitpid(cmd_pid, NULL, 0);

	{
		double		seconds = window_end - window_start;
		double		busy = 100 * (cpu1.box_busy - cpu0.box_busy) / seconds;
		double		xacts = pool1.valid ? pool1.xacts - pool0.xacts : NAN;

		printf("step,%d,%d,%d,%.3f,%.3f,%ld,%.1f,%ld,%ld,%ld,%ld,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.0f,%.3f,%.3f\n",
			   n_agents, n_clients, n_admins,
			   window_start + mono_to_epoch, window_end + mono_to_epoch,
			   claims, claims / seconds, empty_hopper, refused, unexpected, skipped_polls,
			   100 * (cpu1.postgres - cpu0.postgres) / seconds,
			   100 * (cpu1.worker - cpu0.worker) / seconds,
			   100 * (cpu1.pgbouncer - cpu0.pgbouncer) / seconds,
			   100 * (cpu1.self - cpu0.self) / seconds,
			   busy,
			   xacts / seconds, xacts,
			   xacts > 0 ? (pool1.xact_us - pool0.xact_us) / xacts / 1000 : NAN,
			   xacts > 0 ? (pool1.wait_us - pool0.wait_us) / xacts / 1000 : NAN);
		for (i = 0; i < NKINDS; i++)
		{
			Samples    *s = &samples[i];

			qsort(s->ms, s->n, sizeof(double), by_value);
			printf("call,%d,%s,%ld,%ld,%.2f,%.2f,%.2f\n", n_agents, kind_names[i], s->n, s->errors,
				   percentile(s, 0.5), percentile(s, 0.99), s->n ? s->ms[s->n - 1] : NAN);
		}
	}
	return 0;
}
