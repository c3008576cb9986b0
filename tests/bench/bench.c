/* bench.exe: this DLL against the platform's ws2_32, both loaded by full path into one
 * process and bound into a struct ws2_api each.  Each side uses only its own functions
 * (socket, bind, listen, connect, accept...).  The measurements run in alternating rounds,
 * ours then platform, and are reported as medians over the rounds.  Only 127.0.0.1 is
 * connected to; every loop has a count and a time limit.
 *
 *   bench.exe [OURS_DLL] [--csv FILE] [--rounds N] [--conns N] [--long]
 *
 * OURS_DLL: the argument, else WS2_BENCH_DLL, else the ws2_32.dll beside bench.exe. */

#include "ws2test.h"
#include <psapi.h>

#define MAX_ROUNDS 50
#define RATE_WINDOW 32          /* connects a client may have in flight in a rate pass */
#define PASS_LIMIT_MS 8000      /* one pass of one side; a normal one takes well under 1 s */
#define IDLE_LIMIT_MS 3000      /* a pass ends when no call of its server returned for this long */
#define SLOW_US 50000           /* a lock-step accept this slow waited for something it missed */
#define RUN_LIMIT_MS 150000     /* all rounds: no new round starts after this */
#define CALLS 3000000           /* calls per side per round in the call-cost passes */
#define PINGS 3000              /* round trips per side per round */
#define PING_SIZE 64
#define MEMORY_CONNS 2000
#define MEMORY_CONNS_LONG 100000
#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define STR_(x) #x
#define STR(x) STR_(x)

/* bind.c reports through the test harness; the bench has none, so report on stderr. */
void winetest_set_location(const char *file, int line)
{
}

int winetest_ok(int condition, const char *fmt, ...)
{
    va_list args;

    if (!condition)
    {
        va_start(args, fmt);
        vfprintf(stderr, fmt, args);
        va_end(args);
    }
    return condition;
}

void winetest_trace(const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
}

/* bind.c's drop-in target, unused: the bench binds by path and imports no ws2_32 itself. */
void *imported_function(void)
{
    return NULL;
}

struct side
{
    const char *name;
    struct ws2_api api;
    u_short (WSAAPI *p_htons)(u_short);
    u_long (WSAAPI *p_ntohl)(u_long);
};

enum { OURS, PLATFORM };
static struct side sides[2] = { { "ours" }, { "platform" } };

/* A metric keeps one value per side per round; HIGHER: a rate, LOWER: a time. */
enum { HIGHER, LOWER };

struct metric
{
    const char *name, *unit;
    int better;
    int count[2];
    double value[2][MAX_ROUNDS];
};

enum
{
    M_ACCEPT_RATE, M_ACCEPT_P50, M_ACCEPT_P99,
    M_COND_RATE, M_COND_P50, M_COND_P99,
    M_ANY_RATE, M_ANY_P50, M_ANY_P99,
    M_DEFER_RATE, M_DEFER_P50, M_DEFER_P99,
    M_DEFACC_RATE, M_DEFACC_P50, M_DEFACC_P99,
    M_DEFER_CLOSE_RATE, M_DEFER_CLOSE_P50, M_DEFER_CLOSE_P99,
    M_DEFACC_CLOSE_RATE, M_DEFACC_CLOSE_P50, M_DEFACC_CLOSE_P99,
    M_HTONS, M_NTOHL, M_LASTERROR,
    M_PING_RATE, M_PING_P50,
    M_COUNT
};

static struct metric metrics[M_COUNT] =
{
    { "accept_rate", "conn/s", HIGHER },
    { "accept_p50", "us", LOWER },
    { "accept_p99", "us", LOWER },
    { "wsaaccept_rate", "conn/s", HIGHER },
    { "wsaaccept_p50", "us", LOWER },
    { "wsaaccept_p99", "us", LOWER },
    { "wsaaccept_any_rate", "conn/s", HIGHER },
    { "wsaaccept_any_p50", "us", LOWER },
    { "wsaaccept_any_p99", "us", LOWER },
    { "defer_rate", "conn/s", HIGHER },
    { "defer_p50", "us", LOWER },
    { "defer_p99", "us", LOWER },
    { "defer_accept_rate", "conn/s", HIGHER },
    { "defer_accept_p50", "us", LOWER },
    { "defer_accept_p99", "us", LOWER },
    { "defer_closed_rate", "conn/s", HIGHER },
    { "defer_closed_p50", "us", LOWER },
    { "defer_closed_p99", "us", LOWER },
    { "defer_accept_closed_rate", "conn/s", HIGHER },
    { "defer_accept_closed_p50", "us", LOWER },
    { "defer_accept_closed_p99", "us", LOWER },
    { "call_htons", "ns/call", LOWER },
    { "call_ntohl", "ns/call", LOWER },
    { "call_WSAGetLastError", "ns/call", LOWER },
    { "pingpong_rate", "rt/s", HIGHER },
    { "pingpong_p50", "us", LOWER },
};

/* MODE_DEFER: CF_DEFER, then CF_ACCEPT on the next WSAAccept; MODE_DEFER_ACCEPT: CF_DEFER,
 * then accept() takes the deferred connection. */
enum { MODE_ACCEPT, MODE_COND, MODE_DEFER, MODE_DEFER_ACCEPT };

static const struct accept_bench
{
    const char *what;
    int mode;
    BOOL wildcard;
    BOOL closes;    /* the client closes each connection as soon as it is made */
    int metric;     /* the rate; p50 and p99 follow it */
} accept_benches[] =
{
    { "(a) accept() on a 127.0.0.1 listener", MODE_ACCEPT, FALSE, FALSE, M_ACCEPT_RATE },
    { "(b) WSAAccept, condition says CF_ACCEPT, 127.0.0.1 listener", MODE_COND, FALSE, FALSE, M_COND_RATE },
    { "(c) WSAAccept, condition says CF_ACCEPT, 0.0.0.0 listener", MODE_COND, TRUE, FALSE, M_ANY_RATE },
    { "(d) WSAAccept, CF_DEFER once, CF_ACCEPT on the next call", MODE_DEFER, FALSE, FALSE, M_DEFER_RATE },
    { "(d2) WSAAccept, CF_DEFER, then accept() takes it", MODE_DEFER_ACCEPT, FALSE, FALSE, M_DEFACC_RATE },
    { "(d3) as (d), each client closes at once", MODE_DEFER, FALSE, TRUE, M_DEFER_CLOSE_RATE },
    { "(d4) as (d2), each client closes at once", MODE_DEFER_ACCEPT, FALSE, TRUE, M_DEFACC_CLOSE_RATE },
};

static char problems[32][320];
static int problem_count;
static int passes[2], stalls[2];    /* accept passes run and passes that hit the time limit */
static int timed[2], slow[2];       /* lock-step accepts timed, and those over SLOW_US */

static void problem(const char *fmt, ...)
{
    va_list args;

    if (problem_count < COUNT_OF(problems))
    {
        va_start(args, fmt);
        vsnprintf(problems[problem_count], sizeof(problems[0]), fmt, args);
        va_end(args);
    }
    problem_count++;
}

static LARGE_INTEGER qpc_freq;

static LONGLONG now(void)
{
    LARGE_INTEGER t;

    QueryPerformanceCounter(&t);
    return t.QuadPart;
}

static double ticks_us(LONGLONG ticks)
{
    return ticks * 1e6 / qpc_freq.QuadPart;
}

static DWORD time_left(ULONGLONG deadline)
{
    ULONGLONG t = GetTickCount64();

    return t >= deadline ? 0 : (DWORD)(deadline - t);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Nearest rank; sorts V. */
static double percentile(double *v, int n, int permille)
{
    int rank = (permille * n + 999) / 1000;

    qsort(v, n, sizeof(*v), compare_doubles);
    return v[rank > 0 ? rank - 1 : 0];
}

static double median(const double *v, int n)
{
    double sorted[MAX_ROUNDS];

    memcpy(sorted, v, n * sizeof(*v));
    qsort(sorted, n, sizeof(*sorted), compare_doubles);
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

static void record(int metric, int side, double value)
{
    struct metric *m = &metrics[metric];

    if (m->count[side] < MAX_ROUNDS) m->value[side][m->count[side]++] = value;
}

static void set_loopback(SOCKADDR_IN *addr)
{
    addr->sin_addr.S_un.S_un_b.s_b1 = 127;
    addr->sin_addr.S_un.S_un_b.s_b2 = 0;
    addr->sin_addr.S_un.S_un_b.s_b3 = 0;
    addr->sin_addr.S_un.S_un_b.s_b4 = 1;
}

/* A listener on 127.0.0.1 (or 0.0.0.0) and an ephemeral port; TARGET is where to connect. */
static SOCKET make_listener(const struct ws2_api *api, BOOL wildcard, SOCKADDR_IN *target)
{
    SOCKADDR_IN addr;
    int len = sizeof(addr), error;
    SOCKET s = api->p_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);

    if (s == INVALID_SOCKET) return s;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    if (!wildcard) set_loopback(&addr);
    if (api->p_bind(s, (struct sockaddr *)&addr, sizeof(addr)) || api->p_listen(s, SOMAXCONN) ||
        api->p_getsockname(s, (struct sockaddr *)&addr, &len))
    {
        error = api->p_WSAGetLastError();
        api->p_closesocket(s);
        api->p_WSASetLastError(error);
        return INVALID_SOCKET;
    }
    *target = addr;
    set_loopback(target);
    return s;
}

/* Clients end with a reset, so that no connection lingers in TIME_WAIT. */
static void close_abort(const struct ws2_api *api, SOCKET s)
{
    struct linger abort_close = { 1, 0 };

    api->p_setsockopt(s, SOL_SOCKET, SO_LINGER, (char *)&abort_close, sizeof(abort_close));
    api->p_closesocket(s);
}

static int CALLBACK condition_accept(LPWSABUF caller_id, LPWSABUF caller_data, LPQOS sqos, LPQOS gqos,
                                     LPWSABUF callee_id, LPWSABUF callee_data, GROUP *g, DWORD_PTR data)
{
    return CF_ACCEPT;
}

/* Defers each connection once: the deferred one is offered again first. */
static int CALLBACK condition_defer(LPWSABUF caller_id, LPWSABUF caller_data, LPQOS sqos, LPQOS gqos,
                                    LPWSABUF callee_id, LPWSABUF callee_data, GROUP *g, DWORD_PTR data)
{
    int *deferred = (int *)data;

    if (!*deferred)
    {
        *deferred = 1;
        return CF_DEFER;
    }
    *deferred = 0;
    return CF_ACCEPT;
}

/* One pass: a client thread connects COUNT times, at most WINDOW ahead of the server (the main
 * thread), which accepts and closes each.  With WINDOW 1 each connection is timed from the
 * client's connect() to accept() returning it. */
enum { RUNNING, DONE, TIMED_OUT };

/* Where the server and the client of a pass are: told when a pass stalls. */
enum { AT_START, AT_CREDIT, AT_SOCKET, AT_CONNECT, AT_CLOSE, AT_ACCEPT, AT_END };
static const char *const at_names[] =
{
    "starting", "waiting for the server", "in socket()", "in connect()", "in closesocket()",
    "in accept()", "at the end"
};

struct accept_pass
{
    const struct ws2_api *api;
    int mode, count, window;
    BOOL closes;
    ULONGLONG deadline;
    SOCKET listener;
    SOCKADDR_IN target;
    HANDLE credit;              /* semaphore: connections the client may still make */
    HANDLE server_done;
    LONG state;
    LONGLONG connect_start;     /* WINDOW 1: when the client called connect() */
    int connected, client_error;
    int accepted, deferrals, server_error;
    volatile LONG progress;     /* the server's calls that returned */
    volatile LONG server_at, client_at;
    LONG watched;               /* the watchdog's: progress when last seen, and since when */
    ULONGLONG watched_since;
    BOOL idle;                  /* the watchdog ended the pass: nothing returned for a while */
    int pending_at_limit;       /* what select said of the listener then */
    LONG server_was, client_was;
    LONGLONG first, last;
    double *latency;
};

static DWORD WINAPI accept_client(void *arg)
{
    struct accept_pass *p = arg;
    const struct ws2_api *api = p->api;
    SOCKET ring[RATE_WINDOW], s;
    int i, slot;

    for (i = 0; i < p->window; i++) ring[i] = INVALID_SOCKET;
    for (i = 0; i < p->count; i++)
    {
        HANDLE waits[2] = { p->credit, p->server_done };

        p->client_at = AT_CREDIT;
        if (WaitForMultipleObjects(2, waits, FALSE, time_left(p->deadline)) != WAIT_OBJECT_0) break;
        if (p->state != RUNNING) break;
        /* The credit means the connection WINDOW places back was accepted: end it. */
        slot = i % p->window;
        p->client_at = AT_CLOSE;
        if (ring[slot] != INVALID_SOCKET) close_abort(api, ring[slot]);
        ring[slot] = INVALID_SOCKET;
        p->client_at = AT_SOCKET;
        if ((s = api->p_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)) == INVALID_SOCKET)
        {
            p->client_error = api->p_WSAGetLastError();
            break;
        }
        p->client_at = AT_CONNECT;
        InterlockedExchange64(&p->connect_start, now());
        if (api->p_connect(s, (struct sockaddr *)&p->target, sizeof(p->target)))
        {
            p->client_error = api->p_WSAGetLastError();
            api->p_closesocket(s);
            break;
        }
        p->connected++;
        if (p->closes) api->p_closesocket(s);
        else ring[slot] = s;
    }
    p->client_at = AT_END;
    WaitForSingleObject(p->server_done, time_left(p->deadline));
    for (i = 0; i < p->window; i++)
        if (ring[i] != INVALID_SOCKET) close_abort(api, ring[i]);
    return 0;
}

static void accept_server(struct accept_pass *p)
{
    const struct ws2_api *api = p->api;
    SOCKADDR_STORAGE peer;
    int len, deferred = 0;
    LONGLONG t;
    SOCKET s;

    while (p->accepted < p->count && p->deferrals <= p->count)
    {
        if (!time_left(p->deadline)) break;
        len = sizeof(peer);
        p->server_at = AT_ACCEPT;
        if (p->mode == MODE_ACCEPT || (p->mode == MODE_DEFER_ACCEPT && deferred))
        {
            s = api->p_accept(p->listener, (struct sockaddr *)&peer, &len);
            deferred = 0;
        }
        else
            s = api->p_WSAAccept(p->listener, (struct sockaddr *)&peer, &len,
                                 p->mode == MODE_COND ? condition_accept : condition_defer, (DWORD_PTR)&deferred);
        t = now();
        p->progress++;
        if (s == INVALID_SOCKET)
        {
            p->server_error = api->p_WSAGetLastError();
            if (p->mode >= MODE_DEFER && p->server_error == WSATRY_AGAIN)
            {
                p->deferrals++;
                continue;
            }
            break;
        }
        if (p->latency) p->latency[p->accepted] = ticks_us(t - InterlockedCompareExchange64(&p->connect_start, 0, 0));
        if (!p->accepted) p->first = t;
        p->last = t;
        p->accepted++;
        p->server_at = AT_CLOSE;
        api->p_closesocket(s);
        p->progress++;
        ReleaseSemaphore(p->credit, 1, NULL);
    }
    p->server_at = AT_END;
    SetEvent(p->server_done);
}

/* A blocking accept has no time limit of its own.  Past the deadline, or when no accept
 * returned for IDLE_LIMIT_MS, note whether the listener has a connection ready (then the
 * blocked accept missed it), and close the listener: that ends the wait. */
static VOID CALLBACK accept_watchdog(void *arg, BOOLEAN fired)
{
    struct accept_pass *p = arg;
    struct timeval zero = { 0, 0 };
    ULONGLONG t = GetTickCount64();
    LONG progress = p->progress;
    fd_set set;

    if (progress != p->watched)
    {
        p->watched = progress;
        p->watched_since = t;
    }
    if (t < p->deadline + 1000 && t - p->watched_since < IDLE_LIMIT_MS) return;
    if (InterlockedCompareExchange(&p->state, TIMED_OUT, RUNNING) != RUNNING) return;
    p->idle = t < p->deadline + 1000;
    p->server_was = p->server_at;
    p->client_was = p->client_at;
    FD_ZERO(&set);
    FD_SET(p->listener, &set);
    p->pending_at_limit = p->api->p_select(0, &set, NULL, NULL, &zero);
    p->api->p_closesocket(p->listener);
}

/* Returns TRUE when all COUNT connections were accepted. */
static BOOL run_accept_pass(struct accept_pass *p, const struct side *side, int mode, BOOL wildcard,
                            BOOL closes, int count, int window, DWORD limit_ms, const char *what)
{
    HANDLE thread = NULL, timer = NULL;
    char why[160] = "";
    BOOL timed_out;

    memset(p, 0, sizeof(*p));
    p->api = &side->api;
    p->mode = mode;
    p->count = count;
    p->window = window;
    p->closes = closes;
    p->state = RUNNING;
    if (window == 1) p->latency = calloc(count, sizeof(*p->latency));
    if ((p->listener = make_listener(p->api, wildcard, &p->target)) == INVALID_SOCKET)
    {
        problem("%s, %s: no listener (error %d)", side->name, what, p->api->p_WSAGetLastError());
        return FALSE;
    }
    p->credit = CreateSemaphoreA(NULL, window, count + window, NULL);
    p->server_done = CreateEventA(NULL, TRUE, FALSE, NULL);
    p->deadline = GetTickCount64() + limit_ms;
    p->watched_since = GetTickCount64();
    CreateTimerQueueTimer(&timer, NULL, accept_watchdog, p, 250, 250, WT_EXECUTEINTIMERTHREAD);
    if ((thread = CreateThread(NULL, 0, accept_client, p, 0, NULL))) accept_server(p);
    else SetEvent(p->server_done);
    timed_out = InterlockedCompareExchange(&p->state, DONE, RUNNING) != RUNNING;
    if (timer) DeleteTimerQueueTimer(NULL, timer, INVALID_HANDLE_VALUE);
    if (thread && WaitForSingleObject(thread, 10000) != WAIT_OBJECT_0)
    {
        problem("%s, %s: the client thread did not end; terminated", side->name, what);
        TerminateThread(thread, 1);
    }
    if (thread) CloseHandle(thread);
    if (!timed_out) p->api->p_closesocket(p->listener);
    CloseHandle(p->credit);
    CloseHandle(p->server_done);
    passes[side - sides]++;
    if (p->accepted == count && (mode < MODE_DEFER || p->deferrals == count)) return TRUE;
    if (timed_out || !time_left(p->deadline))
    {
        stalls[side - sides]++;
        if (!timed_out) snprintf(why, sizeof(why), "; time limit reached");
        else snprintf(why, sizeof(why), "; %s: server %s, client %s, select said the listener was %s",
                      p->idle ? "no progress for " STR(IDLE_LIMIT_MS) " ms" : "time limit reached",
                      at_names[p->server_was], at_names[p->client_was],
                      p->pending_at_limit == 1 ? "readable" : p->pending_at_limit == 0 ? "not readable" : "?");
    }
    problem("%s, %s, %d in flight: %d of %d accepted, %d deferrals, %d connected; server error %d, "
            "client error %d%s", side->name, what, window, p->accepted, count, p->deferrals,
            p->connected, p->server_error, p->client_error, why);
    return FALSE;
}

static void bench_accept(const struct accept_bench *b, int s, int count)
{
    struct accept_pass p;

    if (run_accept_pass(&p, &sides[s], b->mode, b->wildcard, b->closes, count, RATE_WINDOW, PASS_LIMIT_MS, b->what) &&
        p.last > p.first)
        record(b->metric, s, (p.accepted - 1) / (ticks_us(p.last - p.first) / 1e6));
    if (run_accept_pass(&p, &sides[s], b->mode, b->wildcard, b->closes, count, 1, PASS_LIMIT_MS, b->what))
    {
        int i;

        for (i = 0; i < count; i++) slow[s] += p.latency[i] > SLOW_US;
        timed[s] += count;
        record(b->metric + 1, s, percentile(p.latency, count, 500));
        record(b->metric + 2, s, percentile(p.latency, count, 990));
    }
    free(p.latency);
}

/* (e): a forwarded export, called through the pointer GetProcAddress gave. */
static volatile ULONG_PTR call_sink;

static void bench_calls(int s)
{
    const struct side *side = &sides[s];
    u_short (WSAAPI *htons_fn)(u_short) = side->p_htons;
    u_long (WSAAPI *ntohl_fn)(u_long) = side->p_ntohl;
    int (WSAAPI *lasterror_fn)(void) = side->api.p_WSAGetLastError;
    ULONGLONG deadline = GetTickCount64() + PASS_LIMIT_MS;
    ULONG_PTR sum = 0;
    LONGLONG t;
    int i;

    if (htons_fn)
    {
        t = now();
        for (i = 0; i < CALLS; i++)
        {
            sum += htons_fn((u_short)i);
            if (!(i & 0xffff) && !time_left(deadline)) break;
        }
        record(M_HTONS, s, ticks_us(now() - t) * 1000 / (i ? i : 1));
    }
    if (ntohl_fn)
    {
        t = now();
        for (i = 0; i < CALLS; i++)
        {
            sum += ntohl_fn((u_long)i);
            if (!(i & 0xffff) && !time_left(deadline)) break;
        }
        record(M_NTOHL, s, ticks_us(now() - t) * 1000 / (i ? i : 1));
    }
    t = now();
    for (i = 0; i < CALLS; i++)
    {
        sum += lasterror_fn();
        if (!(i & 0xffff) && !time_left(deadline)) break;
    }
    record(M_LASTERROR, s, ticks_us(now() - t) * 1000 / (i ? i : 1));
    call_sink += sum;
}

/* (f): one side of a connected pair echoes what the other sends. */
struct echo
{
    const struct ws2_api *api;
    SOCKET s;
    int limit;
};

static BOOL send_all(const struct ws2_api *api, SOCKET s, const char *buf, int len)
{
    int n, tries;

    for (tries = 0; len > 0 && tries < 1000; tries++)
    {
        if ((n = api->p_send(s, buf, len, 0)) <= 0) return FALSE;
        buf += n;
        len -= n;
    }
    return !len;
}

static BOOL recv_all(const struct ws2_api *api, SOCKET s, char *buf, int len)
{
    int n, tries;

    for (tries = 0; len > 0 && tries < 1000; tries++)
    {
        if ((n = api->p_recv(s, buf, len, 0)) <= 0) return FALSE;
        buf += n;
        len -= n;
    }
    return !len;
}

static DWORD WINAPI echo_thread(void *arg)
{
    struct echo *e = arg;
    char buf[PING_SIZE];
    int i, n;

    for (i = 0; i < e->limit; i++)
    {
        if ((n = e->api->p_recv(e->s, buf, sizeof(buf), 0)) <= 0) break;
        if (!send_all(e->api, e->s, buf, n)) break;
    }
    return 0;
}

static void pair_options(const struct ws2_api *api, SOCKET s)
{
    DWORD ms = 5000;
    BOOL nodelay = TRUE;

    api->p_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (char *)&nodelay, sizeof(nodelay));
    api->p_setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (char *)&ms, sizeof(ms));
    api->p_setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, (char *)&ms, sizeof(ms));
}

static void bench_pingpong(int s)
{
    const struct side *side = &sides[s];
    const struct ws2_api *api = &side->api;
    ULONGLONG deadline = GetTickCount64() + PASS_LIMIT_MS;
    SOCKET listener, client = INVALID_SOCKET, server = INVALID_SOCKET;
    struct echo echo;
    SOCKADDR_IN target;
    char buf[PING_SIZE];
    double *latency = calloc(PINGS, sizeof(*latency));
    HANDLE thread = NULL;
    LONGLONG start, t;
    int i = 0, error = 0;

    memset(buf, 'p', sizeof(buf));
    if ((listener = make_listener(api, FALSE, &target)) == INVALID_SOCKET) error = api->p_WSAGetLastError();
    else
    {
        /* connect() completes against the backlog, so one thread can make the pair. */
        if ((client = api->p_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)) == INVALID_SOCKET ||
            api->p_connect(client, (struct sockaddr *)&target, sizeof(target)) ||
            (server = api->p_accept(listener, NULL, NULL)) == INVALID_SOCKET)
            error = api->p_WSAGetLastError();
        api->p_closesocket(listener);
    }
    if (!error)
    {
        pair_options(api, client);
        pair_options(api, server);
        echo.api = api;
        echo.s = server;
        echo.limit = PINGS * PING_SIZE + 1;
        if (!(thread = CreateThread(NULL, 0, echo_thread, &echo, 0, NULL))) error = -1;
    }
    if (!error)
    {
        start = now();
        for (i = 0; i < PINGS; i++)
        {
            if (!(i & 63) && !time_left(deadline)) break;
            t = now();
            if (!send_all(api, client, buf, sizeof(buf)) || !recv_all(api, client, buf, sizeof(buf)))
            {
                error = api->p_WSAGetLastError();
                break;
            }
            latency[i] = ticks_us(now() - t);
        }
        t = now();
        if (i == PINGS)
        {
            record(M_PING_RATE, s, i / (ticks_us(t - start) / 1e6));
            record(M_PING_P50, s, percentile(latency, i, 500));
        }
    }
    if (client != INVALID_SOCKET) api->p_closesocket(client);
    if (thread)
    {
        if (WaitForSingleObject(thread, 10000) != WAIT_OBJECT_0)
        {
            problem("%s, ping-pong: the echo thread did not end; terminated", side->name);
            TerminateThread(thread, 1);
        }
        CloseHandle(thread);
    }
    if (server != INVALID_SOCKET) api->p_closesocket(server);
    if (error || i < PINGS)
        problem("%s, ping-pong: %d of %d round trips, error %d", side->name, i, PINGS, error);
    free(latency);
}

/* (g): private bytes and handles around many deferred-then-accepted connections on our DLL. */
struct memory_use
{
    double private_bytes, working_set;
    DWORD handles;
    const char *private_source, *handle_source;
};

/* Wine 8.0's GetProcessHandleCount succeeds with 0; its SystemHandleInformation is right. */
struct handle_entry
{
    ULONG pid;
    BYTE type, flags;
    USHORT handle;
    void *object;
    ULONG access;
};

static DWORD count_handles_by_listing(void)
{
    LONG (WINAPI *query)(ULONG, void *, ULONG, ULONG *) =
        (void *)GetProcAddress(GetModuleHandleA("ntdll.dll"), "NtQuerySystemInformation");
    ULONG size, got, i, pid = GetCurrentProcessId(), count = 0;
    struct { ULONG count; struct handle_entry entries[1]; } *list = NULL;
    LONG status = -1;

    if (!query) return 0;
    for (size = 1 << 16; size <= 1 << 28; size *= 2)
    {
        if (!(list = malloc(size))) return 0;
        /* 16: SystemHandleInformation; 0xc0000004: STATUS_INFO_LENGTH_MISMATCH */
        if ((status = query(16, list, size, &got)) != (LONG)0xc0000004) break;
        free(list);
        list = NULL;
    }
    if (list && !status)
        for (i = 0; i < list->count; i++) count += list->entries[i].pid == pid;
    free(list);
    return count;
}

static void memory_use(struct memory_use *m)
{
    PROCESS_MEMORY_COUNTERS_EX pmc;

    memset(&pmc, 0, sizeof(pmc));
    pmc.cb = sizeof(pmc);
    K32GetProcessMemoryInfo(GetCurrentProcess(), (PROCESS_MEMORY_COUNTERS *)&pmc, sizeof(pmc));
    m->private_bytes = pmc.PrivateUsage;
    m->private_source = "PrivateUsage";
    /* Wine 8.0 leaves PrivateUsage 0 and puts the private (anonymous) memory in PagefileUsage. */
    if (!pmc.PrivateUsage)
    {
        m->private_bytes = pmc.PagefileUsage;
        m->private_source = "PagefileUsage (PrivateUsage is 0 here)";
    }
    m->working_set = pmc.WorkingSetSize;
    m->handles = 0;
    m->handle_source = "GetProcessHandleCount";
    if (!GetProcessHandleCount(GetCurrentProcess(), &m->handles) || !m->handles)
    {
        m->handles = count_handles_by_listing();
        m->handle_source = "SystemHandleInformation (GetProcessHandleCount gave 0)";
    }
}

static void print_memory_use(const char *when, const struct memory_use *m)
{
    printf("  %-12s private %10.1f KiB   working set %10.1f KiB   handles %6lu\n", when,
           m->private_bytes / 1024, m->working_set / 1024, m->handles);
}

/* N connections; a pass that stalls is ended by its watchdog and the rest go to a new one. */
static int memory_connections(int n, ULONGLONG deadline, int *stalled)
{
    struct accept_pass p;
    int done = 0, tries;

    for (tries = 0; done < n && tries < 100 && time_left(deadline); tries++)
    {
        if (!run_accept_pass(&p, &sides[OURS], MODE_DEFER, FALSE, FALSE, n - done, RATE_WINDOW, time_left(deadline),
                             "(g) memory, CF_DEFER then CF_ACCEPT")) (*stalled)++;
        done += p.accepted;
    }
    return done;
}

static void bench_memory(int count, FILE *csv)
{
    struct memory_use before, half, after;
    ULONGLONG deadline = GetTickCount64() + (count > MEMORY_CONNS ? 1800000 : 120000);
    char label[64];
    LONGLONG start = now();
    int done, stalled = 0;

    printf("\n(g) memory: %d connections through a 127.0.0.1 listener on our DLL, each deferred once and\n"
           "    then accepted (%d connects in flight); the listener is closed after each half\n", count, RATE_WINDOW);
    memory_use(&before);
    done = memory_connections(count / 2, deadline, &stalled);
    memory_use(&half);
    done += memory_connections(count - count / 2, deadline, &stalled);
    memory_use(&after);
    printf("  private bytes: %s; handles: %s\n", before.private_source, before.handle_source);
    print_memory_use("before", &before);
    snprintf(label, sizeof(label), "after %d", count / 2);
    print_memory_use(label, &half);
    snprintf(label, sizeof(label), "after %d", count);
    print_memory_use(label, &after);
    printf("  %d of %d connections accepted in %.1f s; over the second half: %+.1f bytes and %+.4f handles\n"
           "  per connection\n",
           done, count, ticks_us(now() - start) / 1e6,
           (after.private_bytes - half.private_bytes) / (count - count / 2),
           ((double)after.handles - half.handles) / (count - count / 2));
    if (stalled)
        printf("  %d passes ended early (see problems); each time the rest went on through a new listener\n", stalled);
    if (csv)
    {
        fprintf(csv, "mem_connections,count,%d,,\n", done);
        fprintf(csv, "mem_private_before,KiB,%.1f,,\n", before.private_bytes / 1024);
        fprintf(csv, "mem_private_after,KiB,%.1f,,\n", after.private_bytes / 1024);
        fprintf(csv, "mem_handles_before,handles,%lu,,\n", before.handles);
        fprintf(csv, "mem_handles_after,handles,%lu,,\n", after.handles);
    }
}

static BOOL load_side(struct side *side, HMODULE module)
{
    WSADATA data;
    int ret;

    if (!module) return FALSE;
    if (!ws2_bind_module(&side->api, module, NULL))
    {
        fprintf(stderr, "bench: %s (%s) lacks a function the bench uses\n", side->name, side->api.path);
        return FALSE;
    }
    side->p_htons = (void *)GetProcAddress(module, "htons");
    side->p_ntohl = (void *)GetProcAddress(module, "ntohl");
    if ((ret = side->api.p_WSAStartup(MAKEWORD(2, 2), &data)))
    {
        fprintf(stderr, "bench: WSAStartup of %s failed: %d\n", side->name, ret);
        return FALSE;
    }
    return TRUE;
}

static HMODULE load_ours(const char *arg)
{
    char path[MAX_PATH], full[MAX_PATH], *p;
    HMODULE module;

    if (arg) snprintf(path, sizeof(path), "%s", arg);
    else if (!GetEnvironmentVariableA("WS2_BENCH_DLL", path, sizeof(path)) || !path[0])
    {
        GetModuleFileNameA(NULL, path, sizeof(path));
        if ((p = strrchr(path, '\\'))) p[1] = 0;
        else path[0] = 0;
        strncat(path, "ws2_32.dll", sizeof(path) - strlen(path) - 1);
    }
    if (!GetFullPathNameA(path, sizeof(full), full, NULL)) snprintf(full, sizeof(full), "%s", path);
    if (!(module = LoadLibraryA(full)))
    {
        fprintf(stderr, "bench: cannot load %s (error %lu)\n", full, GetLastError());
        return NULL;
    }
    /* Where the loader hands out another copy (KnownDLLs on Windows), there is nothing to compare. */
    GetModuleFileNameA(module, path, sizeof(path));
    if (lstrcmpiA(path, full))
    {
        fprintf(stderr, "bench: asked for %s, the loader gave %s\n", full, path);
        return NULL;
    }
    return module;
}

static void print_value(char *out, size_t size, const struct metric *m, int side)
{
    double v;

    if (!m->count[side])
    {
        snprintf(out, size, "n/a");
        return;
    }
    v = median(m->value[side], m->count[side]);
    snprintf(out, size, v >= 1000 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
}

/* Half the range over the rounds, as a share of the median. */
static void print_spread(char *out, size_t size, const struct metric *m, int side)
{
    double sorted[MAX_ROUNDS], mid;
    int n = m->count[side];

    if (!n)
    {
        snprintf(out, size, "-");
        return;
    }
    memcpy(sorted, m->value[side], n * sizeof(double));
    qsort(sorted, n, sizeof(double), compare_doubles);
    mid = median(sorted, n);
    snprintf(out, size, "%.0f%%", mid > 0 ? (sorted[n - 1] - sorted[0]) / 2 / mid * 100 : 0.0);
}

static void report(FILE *csv, int rounds)
{
    char ours[32], platform[32], ratio[32], spread_ours[16], spread_platform[16];
    const struct metric *m;
    double o, pl, r;
    int i, s;

    printf("\nMedians over %d rounds (ours, platform, ours, platform...).\n"
           "ratio > 1 means ours is better: ours/platform for rates (conn/s, rt/s),\n"
           "platform/ours for latencies (us) and call costs (ns/call).  spread: half the range\n"
           "over the rounds, as a share of the median.\n\n", rounds);
    printf("%-22s %-8s %12s %12s %8s %8s %8s\n", "metric", "unit", "ours", "platform", "ratio",
           "spread-o", "spread-p");
    for (i = 0; i < M_COUNT; i++)
    {
        m = &metrics[i];
        print_value(ours, sizeof(ours), m, OURS);
        print_value(platform, sizeof(platform), m, PLATFORM);
        print_spread(spread_ours, sizeof(spread_ours), m, OURS);
        print_spread(spread_platform, sizeof(spread_platform), m, PLATFORM);
        o = m->count[OURS] ? median(m->value[OURS], m->count[OURS]) : 0;
        pl = m->count[PLATFORM] ? median(m->value[PLATFORM], m->count[PLATFORM]) : 0;
        r = 0;
        if (o > 0 && pl > 0) r = m->better == HIGHER ? o / pl : pl / o;
        if (r > 0) snprintf(ratio, sizeof(ratio), "%.3f", r);
        else snprintf(ratio, sizeof(ratio), "n/a");
        printf("%-22s %-8s %12s %12s %8s %8s %8s\n", m->name, m->unit, ours, platform, ratio,
               spread_ours, spread_platform);
        if (!csv) continue;
        fprintf(csv, "%s,%s,", m->name, m->unit);
        if (m->count[OURS]) fprintf(csv, "%.6g", o);
        fprintf(csv, ",");
        if (m->count[PLATFORM]) fprintf(csv, "%.6g", pl);
        fprintf(csv, ",");
        if (r > 0) fprintf(csv, "%.4f", r);
        fprintf(csv, "\n");
    }
    /* A median hides a round with a long wait: name the rounds far off their median. */
    for (i = 0; i < M_COUNT; i++)
    {
        m = &metrics[i];
        for (s = 0; s < 2; s++)
        {
            double worst = 0, mid;
            int j;

            if (m->better != LOWER || !m->count[s]) continue;
            mid = median(m->value[s], m->count[s]);
            for (j = 0; j < m->count[s]; j++) if (m->value[s][j] > worst) worst = m->value[s][j];
            if (worst > 5 * mid)
                printf("%s, %s: one round gave %.1f %s, %.0f times its median\n", m->name, sides[s].name,
                       worst, m->unit, worst / mid);
        }
    }
    printf("\naccept passes that stalled (no progress for %d s, or past %d s; left out of the medians,\n"
           "see problems below): ours %d of %d, platform %d of %d\n", IDLE_LIMIT_MS / 1000, PASS_LIMIT_MS / 1000,
           stalls[OURS], passes[OURS], stalls[PLATFORM], passes[PLATFORM]);
    printf("lock-step accepts slower than %d ms: ours %d of %d, platform %d of %d\n", SLOW_US / 1000,
           slow[OURS], timed[OURS], slow[PLATFORM], timed[PLATFORM]);
    if (csv)
    {
        fprintf(csv, "stalled_passes,passes,%d,%d,\n", stalls[OURS], stalls[PLATFORM]);
        fprintf(csv, "slow_accepts,count,%d,%d,\n", slow[OURS], slow[PLATFORM]);
    }
}

/* ------------------------------------------------------------------------------------ */
/* The event-loop server (--serve): what a busy server under Wine does with each DLL.  A
 * non-blocking listener and non-blocking accepted sockets in one select or WSAPoll loop; each
 * connection sends a request, gets a response and is closed (no keep-alive).  Ours listens on
 * PORT, the platform on PORT + 1, each in a thread of its own, so that clients from the Linux
 * side (tools/bench-serve.sh) can measure both in alternating pairs. */

#define SERVE_MAX 1000
#define RESPONSE "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

struct serve_set
{
    u_int fd_count;
    SOCKET fd_array[SERVE_MAX + 1];
};

struct server_thread
{
    const struct side *side;
    u_short port;
    BOOL poll;
    int idle;               /* 0, or the idle wait to sit in: 'a'ccept, 's'elect, 'p'oll */
    int defer;              /* 0, or a blocking listener: plain accept ('n'), or CF_DEFER, then
                             * 'w'SAAccept or 'a'ccept */
    LONG served, limit;     /* limit: stop after this many connections (0: never) */
    ULONGLONG deadline;
};

struct serve_conn
{
    SOCKET s;
    int got;
    char buf[512];
};

/* A request ends with an empty line; a client that ends early is closed. */
static BOOL serve_read(const struct ws2_api *api, struct serve_conn *c)
{
    int n = api->p_recv(c->s, c->buf + c->got, sizeof(c->buf) - 1 - c->got, 0);

    if (n == SOCKET_ERROR) return api->p_WSAGetLastError() == WSAEWOULDBLOCK;
    if (n == 0) return FALSE;
    c->got += n;
    c->buf[c->got] = 0;
    if (!strstr(c->buf, "\r\n\r\n") && c->got < (int)sizeof(c->buf) - 1) return TRUE;
    api->p_send(c->s, RESPONSE, sizeof(RESPONSE) - 1, 0);
    return FALSE;
}

static SOCKET serve_listener(const struct ws2_api *api, u_short port)
{
    SOCKADDR_IN addr;
    u_long on = 1;
    BOOL reuse = TRUE;
    SOCKET s = api->p_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);

    if (s == INVALID_SOCKET) return s;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = (u_short)((port >> 8) | (port << 8));
    set_loopback(&addr);
    api->p_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, (char *)&reuse, sizeof(reuse));
    if (api->p_bind(s, (struct sockaddr *)&addr, sizeof(addr)) || api->p_listen(s, SOMAXCONN) ||
        api->p_ioctlsocket(s, FIONBIO, &on))
    {
        fprintf(stderr, "bench: cannot listen on 127.0.0.1:%u: %d\n", port, api->p_WSAGetLastError());
        api->p_closesocket(s);
        return INVALID_SOCKET;
    }
    return s;
}

/* Takes every connection the listener has; each becomes non-blocking. */
static void serve_accept(struct server_thread *t, SOCKET l, struct serve_conn *conns, int *count)
{
    const struct ws2_api *api = &t->side->api;
    u_long on = 1;
    SOCKET a;

    while (*count < SERVE_MAX && (a = api->p_accept(l, NULL, NULL)) != INVALID_SOCKET)
    {
        api->p_ioctlsocket(a, FIONBIO, &on);
        conns[*count].s = a;
        conns[*count].got = 0;
        (*count)++;
    }
}

static void serve_close(struct server_thread *t, struct serve_conn *conns, int *count, int i)
{
    t->side->api.p_closesocket(conns[i].s);
    conns[i] = conns[--*count];
    InterlockedIncrement(&t->served);
}

static void serve_loop(struct server_thread *t, SOCKET l)
{
    const struct ws2_api *api = &t->side->api;
    static WSAPOLLFD fds[2][SERVE_MAX + 1];
    WSAPOLLFD *pfd = fds[t->side == &sides[PLATFORM]];
    struct serve_conn *conns = calloc(SERVE_MAX, sizeof(*conns));
    struct serve_set *rd = malloc(sizeof(*rd));
    int count = 0, i, ret;

    while (GetTickCount64() < t->deadline && (!t->limit || t->served < t->limit))
    {
        BOOL listener_ready;

        if (t->poll)
        {
            pfd[0].fd = l;
            pfd[0].events = POLLRDNORM;
            for (i = 0; i < count; i++)
            {
                pfd[i + 1].fd = conns[i].s;
                pfd[i + 1].events = POLLRDNORM;
            }
            ret = api->p_WSAPoll(pfd, count + 1, 1000);
            listener_ready = ret > 0 && pfd[0].revents;
        }
        else
        {
            struct timeval tv = { 1, 0 };
            rd->fd_count = 0;
            rd->fd_array[rd->fd_count++] = l;
            for (i = 0; i < count; i++) rd->fd_array[rd->fd_count++] = conns[i].s;
            ret = api->p_select(0, (fd_set *)rd, NULL, NULL, &tv);
            listener_ready = ret > 0 && api->p___WSAFDIsSet(l, (fd_set *)rd);
        }
        if (ret == SOCKET_ERROR)
        {
            fprintf(stderr, "bench: %s: %s failed: %d\n", t->side->name, t->poll ? "WSAPoll" : "select",
                    api->p_WSAGetLastError());
            break;
        }
        if (ret <= 0) continue;
        /* The connections first, from the end, since a closed one takes the last one's place. */
        for (i = count - 1; i >= 0; i--)
        {
            BOOL ready = t->poll ? pfd[i + 1].revents != 0 : api->p___WSAFDIsSet(conns[i].s, (fd_set *)rd);
            if (ready && !serve_read(api, &conns[i])) serve_close(t, conns, &count, i);
        }
        if (listener_ready) serve_accept(t, l, conns, &count);
    }
    while (count) serve_close(t, conns, &count, count - 1);
    free(conns);
    free(rd);
}

/* Answers one connection of a blocking server: a client that closed at once gets nothing.
 * No receive timeout: a client run ends with a reset of every connection it has open. */
static void serve_blocking(const struct ws2_api *api, SOCKET a)
{
    struct serve_conn c = { a, 0 };

    while (serve_read(api, &c))
        ;
    api->p_closesocket(a);
}

/* A blocking listener whose condition function defers each connection once; the deferred one
 * is then taken by WSAAccept again or by accept(): the front's own work, measured from outside.
 * With no deferral ('n') every connection is taken by accept(): what the deferring servers
 * would serve if deferring cost nothing. */
static void blocking_loop(struct server_thread *t, SOCKET l)
{
    const struct ws2_api *api = &t->side->api;
    u_long off = 0;
    int deferred = 0;
    SOCKET a;

    api->p_ioctlsocket(l, FIONBIO, &off);
    while (GetTickCount64() < t->deadline && (!t->limit || t->served < t->limit))
    {
        if (t->defer == 'n' || (deferred && t->defer == 'a'))
        {
            a = api->p_accept(l, NULL, NULL);
            deferred = 0;
        }
        else a = api->p_WSAAccept(l, NULL, NULL, condition_defer, (DWORD_PTR)&deferred);
        if (a == INVALID_SOCKET)
        {
            int error = api->p_WSAGetLastError();

            if (error == WSATRY_AGAIN) continue;
            /* The deferred connection's client reset it (a client run ending): the next is new. */
            deferred = 0;
            if (error == WSAECONNRESET) continue;
            fprintf(stderr, "bench: %s: accept failed: %d\n", t->side->name, error);
            break;
        }
        serve_blocking(api, a);
        InterlockedIncrement(&t->served);
    }
}

/* Sits in one wait until the deadline: what an idle server costs the machine. */
static void idle_loop(struct server_thread *t, SOCKET l)
{
    const struct ws2_api *api = &t->side->api;
    u_long off = 0;

    if (t->idle == 'a') api->p_ioctlsocket(l, FIONBIO, &off);
    while (GetTickCount64() < t->deadline)
    {
        if (t->idle == 'a')
        {
            SOCKET a = api->p_accept(l, NULL, NULL);
            if (a == INVALID_SOCKET) break;
            api->p_closesocket(a);
        }
        else if (t->idle == 'p')
        {
            WSAPOLLFD pfd = { l, POLLRDNORM, 0 };
            api->p_WSAPoll(&pfd, 1, 1000);
        }
        else
        {
            struct timeval tv = { 1, 0 };
            fd_set rd;
            rd.fd_count = 1;
            rd.fd_array[0] = l;
            api->p_select(0, &rd, NULL, NULL, &tv);
        }
    }
}

static DWORD WINAPI server_thread(void *arg)
{
    struct server_thread *t = arg;
    SOCKET l = serve_listener(&t->side->api, t->port);

    if (l == INVALID_SOCKET) return 1;
    /* The thread id, as Wine's +server trace shows it: the script counts its requests. */
    printf("%s: listening on 127.0.0.1:%u (%s), thread %04lx\n", t->side->name, t->port,
           t->idle ? "idle" : t->defer == 'n' ? "blocking accept" : t->defer == 'a' ? "defer, then accept" :
           t->defer ? "defer, then WSAAccept" : t->poll ? "WSAPoll loop" : "select loop", GetCurrentThreadId());
    if (t->idle) idle_loop(t, l);
    else if (t->defer) blocking_loop(t, l);
    else serve_loop(t, l);
    t->side->api.p_closesocket(l);
    return 0;
}

/* --serve PORT: both servers (or --only one) until --seconds pass or each served --limit. */
static int serve(u_short port, BOOL poll, int idle, int defer, int only, int seconds, int limit)
{
    struct server_thread t[2];
    HANDLE threads[2];
    int s, n = 0;

    for (s = 0; s < 2; s++)
    {
        if (only >= 0 && s != only) continue;
        memset(&t[s], 0, sizeof(t[s]));
        t[s].side = &sides[s];
        t[s].port = port + s;
        t[s].poll = poll;
        t[s].idle = idle;
        t[s].defer = defer;
        t[s].limit = limit;
        t[s].deadline = GetTickCount64() + seconds * 1000ull;
        threads[n++] = CreateThread(NULL, 0, server_thread, &t[s], 0, NULL);
    }
    /* A blocking accept has no deadline of its own: past the run's, the process just ends. */
    WaitForMultipleObjects(n, threads, TRUE, seconds * 1000 + 5000);
    for (s = 0; s < 2; s++)
        if (only < 0 || s == only) printf("%s: served %ld connections\n", sides[s].name, t[s].served);
    return 0;
}

/* --requests: each accept mode once on one side, between markers on stderr, so that a run
 * under WINEDEBUG=+server can count the server thread's requests per accepted connection
 * (tools/bench-serve.sh).  The server is this thread; the client thread's are not counted. */
static int count_requests(int s, int conns)
{
    struct accept_pass p;
    int b;

    for (b = 0; b < COUNT_OF(accept_benches); b++)
    {
        const struct accept_bench *ab = &accept_benches[b];

        run_accept_pass(&p, &sides[s], ab->mode, ab->wildcard, ab->closes, 20, RATE_WINDOW, PASS_LIMIT_MS, "warm-up");
        fprintf(stderr, "requests-begin %s\n", metrics[ab->metric].name);
        run_accept_pass(&p, &sides[s], ab->mode, ab->wildcard, ab->closes, conns, RATE_WINDOW, PASS_LIMIT_MS, ab->what);
        fprintf(stderr, "requests-end %s %04lx %d\n", metrics[ab->metric].name, GetCurrentThreadId(), p.accepted);
        printf("%s: %s: %d accepted\n", sides[s].name, ab->what, p.accepted);
    }
    return 0;
}

static void usage(void)
{
    printf("usage: bench.exe [OURS_DLL] [--csv FILE] [--rounds N] [--conns N] [--long]\n"
           "       bench.exe [OURS_DLL] --serve PORT [--loop select|poll|accept|defer|defer-accept|\n"
           "                 idle-accept|idle-select|idle-poll]\n"
           "                 [--only ours|platform] [--seconds N] [--limit N]\n"
           "       bench.exe [OURS_DLL] --requests ours|platform [--conns N]\n"
           "  OURS_DLL    our ws2_32.dll (default: WS2_BENCH_DLL, else the one beside bench.exe)\n"
           "  --csv FILE  also write metric,unit,ours,platform,ratio\n"
           "  --rounds N  rounds per side, %d or more (default 7)\n"
           "  --conns N   connections per accept pass (default 300)\n"
           "  --long      %d connections in the memory part instead of %d\n"
           "  --serve     servers for clients from outside (tools/bench-serve.sh), ours on PORT,\n"
           "              the platform on PORT+1: a select or WSAPoll loop, a blocking accept,\n"
           "              one that defers first, or one idle; --limit: connections each\n"
           "  --requests  each accept mode once on one side, marked on stderr for a +server count\n",
           5, MEMORY_CONNS_LONG, MEMORY_CONNS);
}

int main(int argc, char **argv)
{
    const char *dll = NULL, *csv_name = NULL;
    int rounds = 7, conns = 300, memory_conns = MEMORY_CONNS, round, s, i, b;
    int serve_port = 0, serve_poll = 0, serve_idle = 0, serve_defer = 0, serve_only = -1, serve_seconds = 60, serve_limit = 0;
    int requests_side = -1;
    ULONGLONG run_deadline;
    FILE *csv = NULL;
    LONGLONG start;

    for (i = 1; i < argc; i++)
    {
        if (!strcmp(argv[i], "--csv") && i + 1 < argc) csv_name = argv[++i];
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--conns") && i + 1 < argc) conns = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--long")) memory_conns = MEMORY_CONNS_LONG;
        else if (!strcmp(argv[i], "--serve") && i + 1 < argc) serve_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) serve_seconds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc) serve_limit = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--requests") && i + 1 < argc)
            requests_side = !strcmp(argv[++i], "ours") ? OURS : PLATFORM;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            serve_only = !strcmp(argv[++i], "ours") ? OURS : PLATFORM;
        else if (!strcmp(argv[i], "--loop") && i + 1 < argc)
        {
            const char *loop = argv[++i];
            serve_poll = !strcmp(loop, "poll");
            if (!strncmp(loop, "idle-", 5)) serve_idle = loop[5];
            if (!strcmp(loop, "accept")) serve_defer = 'n';
            if (!strcmp(loop, "defer")) serve_defer = 'w';
            if (!strcmp(loop, "defer-accept")) serve_defer = 'a';
            if (!serve_poll && !serve_idle && !serve_defer && strcmp(loop, "select"))
            {
                usage();
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
        {
            usage();
            return 0;
        }
        else if (argv[i][0] == '-' || dll)
        {
            usage();
            return 2;
        }
        else dll = argv[i];
    }
    if (rounds < 5 || rounds > MAX_ROUNDS || conns < 10 || conns > 10000)
    {
        fprintf(stderr, "bench: --rounds must be 5 to %d, --conns 10 to 10000\n", MAX_ROUNDS);
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    QueryPerformanceFrequency(&qpc_freq);

    if (!load_side(&sides[OURS], load_ours(dll))) return 1;
    if (!load_side(&sides[PLATFORM], ws2_load_platform())) return 1;
    if (sides[OURS].api.module == sides[PLATFORM].api.module)
    {
        fprintf(stderr, "bench: ours and the platform are one module (%s): nothing to compare\n",
                sides[OURS].api.path);
        return 1;
    }
    if (requests_side >= 0) return count_requests(requests_side, conns);
    if (serve_port) return serve(serve_port, serve_poll, serve_idle, serve_defer, serve_only, serve_seconds, serve_limit);
    if (csv_name && !(csv = fopen(csv_name, "w")))
    {
        fprintf(stderr, "bench: cannot write %s\n", csv_name);
        return 1;
    }
    printf("ours:     %s\nplatform: %s\n", sides[OURS].api.path, sides[PLATFORM].api.path);
    printf("%s, %d connections per accept pass, %d round trips of %d bytes, %d calls per export\n",
#ifdef _WIN64
           "x64",
#else
           "x86",
#endif
           conns, PINGS, PING_SIZE, CALLS);
    for (b = 0; b < COUNT_OF(accept_benches); b++) printf("%s\n", accept_benches[b].what);
    printf("    rate: accepted per second, a client thread keeps %d connects in flight;\n"
           "    p50/p99: client's connect() to accept() returning, one connection at a time\n"
           "(e) htons, ntohl, WSAGetLastError through each DLL's GetProcAddress pointer\n"
           "(f) ping-pong: %d bytes each way over a connected 127.0.0.1 pair, TCP_NODELAY\n",
           RATE_WINDOW, PING_SIZE);

    /* A warm-up round, not counted: first-use costs of both DLLs and of the stack. */
    for (s = 0; s < 2; s++)
    {
        struct accept_pass p;

        for (b = 0; b < COUNT_OF(accept_benches); b++)
            run_accept_pass(&p, &sides[s], accept_benches[b].mode, accept_benches[b].wildcard, accept_benches[b].closes, 50,
                            RATE_WINDOW, PASS_LIMIT_MS, "warm-up");
        free(p.latency);
    }
    problem_count = 0;
    passes[OURS] = passes[PLATFORM] = stalls[OURS] = stalls[PLATFORM] = 0;
    timed[OURS] = timed[PLATFORM] = slow[OURS] = slow[PLATFORM] = 0;

    start = now();
    run_deadline = GetTickCount64() + RUN_LIMIT_MS;
    for (round = 0; round < rounds; round++)
    {
        if (round && !time_left(run_deadline))
        {
            problem("stopped after %d rounds: the run's time limit (%d s) was reached", round, RUN_LIMIT_MS / 1000);
            break;
        }
        printf("round %d of %d...\n", round + 1, rounds);
        for (b = 0; b < COUNT_OF(accept_benches); b++)
            for (s = 0; s < 2; s++) bench_accept(&accept_benches[b], s, conns);
        for (s = 0; s < 2; s++) bench_calls(s);
        for (s = 0; s < 2; s++) bench_pingpong(s);
    }
    if (csv) fprintf(csv, "metric,unit,ours,platform,ratio\n");
    report(csv, round);
    printf("(rounds took %.1f s)\n", ticks_us(now() - start) / 1e6);

    bench_memory(memory_conns, csv);

    if (problem_count)
    {
        printf("\nproblems (%d):\n", problem_count);
        for (i = 0; i < problem_count && i < COUNT_OF(problems); i++) printf("  %s\n", problems[i]);
    }
    if (csv) fclose(csv);
    for (s = 0; s < 2; s++) sides[s].api.p_WSACleanup();
    return 0;
}
