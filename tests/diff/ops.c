/* The random operations of an epoch, each traced as one line.  A call that may block runs only
 * when the model says a connection is queued for it, and under a watchdog that connects a
 * rescue client after two seconds, so a wrong guess shows as BLOCKED instead of a hang. */

#include "difftest.h"
#include <string.h>
#include <stdlib.h>

#define WATCHDOG_MS 2000
#define HANG_MS 3000

struct watchdog
{
    struct world *w;
    int listener, rescue_ok, err;
    HANDLE done, thread;
    volatile LONG fired;
    SOCKET rescue;
    unsigned short port;
};

/* Any call may hang on a broken DLL: after two seconds a rescue client connects (an accept
 * waiting for a connection takes it), and if that does not end the call the run ends, traced. */
static DWORD WINAPI watchdog_thread(void *arg)
{
    struct watchdog *wd = arg;
    if (WaitForSingleObject(wd->done, WATCHDOG_MS) != WAIT_TIMEOUT) return 0;
    if (wd->rescue_ok) wd->err = client_connect(wd->w, wd->listener, 1, &wd->rescue, &wd->port);
    InterlockedExchange(&wd->fired, 1);
    if (WaitForSingleObject(wd->done, HANG_MS) == WAIT_TIMEOUT)
    {
        trace("HUNG: the call did not return%s", wd->rescue_ok ? " after a rescue connection" : "");
        ExitProcess(3);
    }
    return 0;
}

/* Registers the rescue client (if the watchdog made one) and says so in the trace text. */
static void rescued(struct world *w, int l, int err, SOCKET s, unsigned short port, char *note, size_t size)
{
    if (err) { snprintf(note, size, " BLOCKED(rescue failed %s)", err_name(err)); return; }
    client_add(w, l, s, port, 1);
    snprintf(note, size, " BLOCKED(rescue %s)", w->c[w->nc - 1].name);
}

static void run_in_child(struct world *w, int l, const char *cmd, int accepts, char *out, size_t size,
                         char *note, size_t nsize)
{
    note[0] = 0;
    if (!child_send(&w->child, cmd)) { snprintf(out, size, "child gone"); return; }
    if (child_wait(&w->child, out, size, WATCHDOG_MS)) return;
    if (accepts)
    {
        SOCKET s;
        unsigned short port;
        int err = client_connect(w, l, 1, &s, &port);
        rescued(w, l, err, s, port, note, nsize);
    }
    else
        snprintf(note, nsize, " BLOCKED");
    if (child_wait(&w->child, out, size, HANG_MS)) return;
    snprintf(out, size, "HUNG in the child");
    TerminateProcess(w->child.process, 1);
    w->child.alive = 0;
}

static void run_here(struct world *w, int l, const char *cmd, int accepts, char *out, size_t size,
                     char *note, size_t nsize)
{
    struct watchdog wd;
    note[0] = 0;
    memset(&wd, 0, sizeof(wd));
    wd.w = w;
    wd.listener = l;
    wd.rescue_ok = accepts;
    wd.done = CreateEventW(NULL, TRUE, FALSE, NULL);
    wd.thread = CreateThread(NULL, 0, watchdog_thread, &wd, 0, NULL);
    exec_command(&w->ctx, cmd, out, size);
    SetEvent(wd.done);
    WaitForSingleObject(wd.thread, INFINITE);
    CloseHandle(wd.thread);
    CloseHandle(wd.done);
    if (wd.fired && accepts) rescued(w, l, wd.err, wd.rescue, wd.port, note, nsize);
    else if (wd.fired) snprintf(note, nsize, " BLOCKED");
}

/* The model: the client an accepted socket or a refusal names leaves its listener's queue. */
static void dequeue(struct world *w, int l, const char *named)
{
    const char *p;
    char name[NAME_LEN] = {0};
    int who = -1;
    struct listener *L = &w->L[l];

    /* An accepted connection without a peer (its client reset it) was the head of the queue. */
    if ((p = strstr(named, "a[peer?"))) name[0] = 0;
    else if ((p = strstr(named, "a[")) && sscanf(p + 2, "%7[^]]", name) == 1) ;
    else if (strstr(named, "WSAECONNREFUSED") && (p = strstr(named, "caller=v")) && sscanf(p + 10, "%7[^/]", name) == 1) ;
    else if (strstr(named, "WSAECONNRESET") || strstr(named, "WSAENOTCONN") || strstr(named, "WSAEACCES") ||
             strstr(named, "WSAECONNREFUSED"))
    {
        if (L->nqueue) memmove(L->queue, L->queue + 1, --L->nqueue * sizeof(int));
        return;
    }
    else return;
    if (!name[0])
    {
        if (L->nqueue) memmove(L->queue, L->queue + 1, --L->nqueue * sizeof(int));
        return;
    }
    for (int i = 0; i < w->nc; i++)
        if (!strcmp(w->c[i].name, name)) who = i;
    for (int k = 0; k < w->nl; k++)
        for (int i = 0; i < w->L[k].nqueue; i++)
            if (w->L[k].queue[i] == who)
            {
                memmove(w->L[k].queue + i, w->L[k].queue + i + 1, (w->L[k].nqueue - i - 1) * sizeof(int));
                w->L[k].nqueue--;
                return;
            }
}

static void run_traced_q(struct world *w, int hi, const char *cmd, int may_block, const char *suffix,
                         char *named, size_t size);

/* Runs CMD on handle HI (here or in the child) and traces it; returns the named result. */
static void run_traced(struct world *w, int hi, const char *cmd, int may_block, char *named, size_t size)
{
    run_traced_q(w, hi, cmd, may_block, "", named, size);
}

/* The same, with the model's queue (SUFFIX) after the result, for the driver to know which
 * connection a call was about. */
static void run_traced_q(struct world *w, int hi, const char *cmd, int may_block, const char *suffix,
                         char *named, size_t size)
{
    char out[OUT_LEN], note[64];
    int l = w->h[hi].listener, accepts = !strncmp(cmd, "accept ", 7) || !strncmp(cmd, "wsaaccept", 9);
    if (w->h[hi].in_child) run_in_child(w, l, cmd, accepts, out, sizeof(out), note, sizeof(note));
    else run_here(w, l, cmd, accepts, out, sizeof(out), note, sizeof(note));
    names_substitute(out, named, size);
    trace("%s%s -> %s%s", cmd, note, named, suffix);
}

static void queue_text(struct world *w, int l, char *out, size_t size)
{
    size_t o = snprintf(out, size, " {q=");
    for (int i = 0; i < w->L[l].nqueue; i++)
        o += snprintf(out + o, size - o, "%s%s", i ? "," : "", w->c[w->L[l].queue[i]].name);
    snprintf(out + o, size - o, "}");
}

static int pick_handle(struct world *w, int local_only, int prefer_queued)
{
    int cand[MAX_HANDLES], n = 0, queued[MAX_HANDLES], nq = 0;
    for (int i = 0; i < w->nh; i++)
    {
        if (!w->h[i].live || (w->h[i].in_child && (local_only || !w->child.alive))) continue;
        cand[n++] = i;
        if (w->L[w->h[i].listener].nqueue) queued[nq++] = i;
    }
    if (!n) return -1;
    if (prefer_queued && nq && rng_chance(&w->r, 75)) return queued[rng_below(&w->r, nq)];
    return cand[rng_below(&w->r, n)];
}

static const char *pick_mode(struct world *w)
{
    static const char *modes[] = {"full", "full", "full", "full", "null", "noaddrlen", "short"};
    return modes[rng_below(&w->r, 7)];
}

static void op_accept(struct world *w, int kind)
{
    static const char *conds[] = {"ACCEPT", "ACCEPT", "DEFER", "DEFER", "DEFER", "REJECT", "7", "NULL"};
    char cmd[128], named[OUT_LEN], suffix[128];
    int hi = pick_handle(w, kind == 2, 1), l, may_block;

    if (hi < 0) return;
    l = w->h[hi].listener;
    if (kind == 0) snprintf(cmd, sizeof(cmd), "accept %s %s", w->h[hi].name, pick_mode(w));
    else if (kind == 1)
    {
        const char *c = conds[rng_below(&w->r, 8)];
        snprintf(cmd, sizeof(cmd), "wsaaccept %s %s %s", w->h[hi].name, c, pick_mode(w));
    }
    else snprintf(cmd, sizeof(cmd), "acceptex %s %d", w->h[hi].name, w->L[l].nqueue ? 300 : 50);
    may_block = kind != 2 && !w->L[l].nonblocking;
    if (may_block && !w->L[l].nqueue)
    {
        trace("%s -> skipped: blocking, nothing queued", cmd);
        return;
    }
    queue_text(w, l, suffix, sizeof(suffix));
    run_traced_q(w, hi, cmd, may_block, suffix, named, sizeof(named));
    dequeue(w, l, named);
}

/* select or WSAPoll on 1-3 handles of one process, among padding sockets. */
static void op_readiness(struct world *w, int poll)
{
    char cmd[256], named[OUT_LEN];
    int hi = pick_handle(w, 0, 1), in_child, o, count = 1 + rng_below(&w->r, 3), pads;

    if (hi < 0) return;
    in_child = w->h[hi].in_child;
    pads = in_child ? w->child_pads : w->ctx.npads;
    o = snprintf(cmd, sizeof(cmd), "%s %d %u %d %s", poll ? "poll" : "select", rng_chance(&w->r, 50) ? 0 : 50,
                 rng_below(&w->r, 1000000), pads ? (int)rng_below(&w->r, pads + 1) : 0, w->h[hi].name);
    for (int i = 0; i < w->nh && count > 1; i++)
        if (i != hi && w->h[i].live && w->h[i].in_child == in_child && rng_chance(&w->r, 50))
        {
            o += snprintf(cmd + o, sizeof(cmd) - o, " %s", w->h[i].name);
            count--;
        }
    run_traced(w, hi, cmd, 0, named, sizeof(named));
}

static void op_simple(struct world *w, const char *what)
{
    char cmd[128], named[OUT_LEN];
    int hi = pick_handle(w, 0, 0), l;
    if (hi < 0) return;
    l = w->h[hi].listener;
    if (!strcmp(what, "fionbio"))
    {
        int on = rng_chance(&w->r, 50);
        snprintf(cmd, sizeof(cmd), "fionbio %s %d", w->h[hi].name, on);
        run_traced(w, hi, cmd, 0, named, sizeof(named));
        if (!strcmp(named, "0")) w->L[l].nonblocking = on;
        return;
    }
    if (!strcmp(what, "enum")) snprintf(cmd, sizeof(cmd), "enum %s %d", w->h[hi].name, rng_chance(&w->r, 50) ? 0 : 20);
    else snprintf(cmd, sizeof(cmd), "%s %s", what, w->h[hi].name);
    run_traced(w, hi, cmd, 0, named, sizeof(named));
    /* WSAEventSelect makes the socket non-blocking. */
    if (!strcmp(what, "evsel") && !strcmp(named, "0")) w->L[l].nonblocking = 1;
}

/* Closes one handle of a listener that keeps another. */
static void op_close_handle(struct world *w)
{
    char cmd[64], named[OUT_LEN];
    int hi = pick_handle(w, 0, 0), others = 0;
    if (hi < 0) return;
    for (int i = 0; i < w->nh; i++)
        if (i != hi && w->h[i].live && w->h[i].listener == w->h[hi].listener &&
            (!w->h[i].in_child || w->child.alive)) others++;
    if (!others) return;
    snprintf(cmd, sizeof(cmd), "close %s", w->h[hi].name);
    run_traced(w, hi, cmd, 0, named, sizeof(named));
    w->h[hi].live = 0;
}

static void op_connect(struct world *w)
{
    int l = rng_below(&w->r, w->nl), err, ci;
    SOCKET s;
    unsigned short port;
    if (w->nc >= 12 || w->L[l].nqueue >= 10) return;
    err = client_connect(w, l, 0, &s, &port);
    if (err) { trace("connect L%d -> %s", l + 1, err_name(err)); return; }
    ci = client_add(w, l, s, port, 0);
    /* Let the listener's side see the connection before anything looks at it. */
    Sleep(10);
    trace("connect %s L%d -> 0", w->c[ci].name, l + 1);
}

static void op_client(struct world *w)
{
    int open[MAX_CLIENTS], n = 0, what = rng_below(&w->r, 3);
    struct client *c;
    for (int i = 0; i < w->nc; i++)
        if (w->c[i].state != CLIENT_CLOSED) open[n++] = i;
    if (!n) return;
    c = &w->c[open[rng_below(&w->r, n)]];
    if (what == 0)
    {
        int ret = send(c->s, "q", 1, 0);
        trace("send %s -> %s", c->name, ret == 1 ? "1" : err_name(WSAGetLastError()));
    }
    else
    {
        if (what == 2)
        {
            struct linger lg = {1, 0};
            setsockopt(c->s, SOL_SOCKET, SO_LINGER, (char *)&lg, sizeof(lg));
        }
        closesocket(c->s);
        c->state = CLIENT_CLOSED;
        trace("%s %s", what == 2 ? "reset" : "close", c->name);
    }
    Sleep(10);
}

/* A3-A5 on sockets that are not listeners. */
static void op_probe(struct world *w)
{
    static const char *kinds[] = {"notsock", "udp", "unlistened"};
    int k = rng_below(&w->r, 3), wsa = rng_chance(&w->r, 50), err;
    SOCKET s = k == 0 ? INVALID_SOCKET : k == 1 ? socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) : socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    SOCKET a = wsa ? WSAAccept(s, NULL, NULL, NULL, 0) : accept(s, NULL, NULL);
    err = a == INVALID_SOCKET ? WSAGetLastError() : 0;
    trace("probe %s %s -> %s", wsa ? "wsaaccept" : "accept", kinds[k], a == INVALID_SOCKET ? err_name(err) : "a socket");
    if (a != INVALID_SOCKET) closesocket(a);
    if (s != INVALID_SOCKET) closesocket(s);
}

void run_op(struct world *w)
{
    static const struct { const char *name; int weight; } ops[] =
    {
        {"connect", 14}, {"accept", 8}, {"wsaaccept", 18}, {"acceptex", 4}, {"select", 8},
        {"poll", 6}, {"evsel", 3}, {"enum", 4}, {"fionbio", 4}, {"fionread", 2}, {"closehandle", 2},
        {"client", 10}, {"observe", 8}, {"probe", 2},
    };
    int total = 0, pick;
    const char *op = NULL;

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) total += ops[i].weight;
    pick = rng_below(&w->r, total);
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]) && !op; i++)
        if ((pick -= ops[i].weight) < 0) op = ops[i].name;
    if (!strcmp(op, "connect")) op_connect(w);
    else if (!strcmp(op, "accept")) op_accept(w, 0);
    else if (!strcmp(op, "wsaaccept")) op_accept(w, 1);
    else if (!strcmp(op, "acceptex")) op_accept(w, 2);
    else if (!strcmp(op, "select")) op_readiness(w, 0);
    else if (!strcmp(op, "poll")) op_readiness(w, 1);
    else if (!strcmp(op, "closehandle")) op_close_handle(w);
    else if (!strcmp(op, "client")) op_client(w);
    else if (!strcmp(op, "observe")) observe(w);
    else if (!strcmp(op, "probe")) op_probe(w);
    else op_simple(w, op);
}

/* WSACleanup as the last call of an epoch: then every socket of this process should be gone. */
void run_cleanup(struct world *w)
{
    WSADATA wsa;
    char out[OUT_LEN], named[OUT_LEN];
    int ret = WSACleanup();
    trace("WSACleanup -> %s", ret ? err_name(WSAGetLastError()) : "0");
    ret = WSAStartup(MAKEWORD(2, 2), &wsa);
    trace("WSAStartup -> %d", ret);
    w->cleaned_up = 1;
    for (int i = 0; i < w->nh; i++)
        if (w->h[i].live && !w->h[i].in_child)
        {
            char cmd[64];
            snprintf(cmd, sizeof(cmd), "fionread %s", w->h[i].name);
            exec_command(&w->ctx, cmd, out, sizeof(out));
            names_substitute(out, named, sizeof(named));
            trace("%s after cleanup -> %s", cmd, named);
            break;
        }
    observe(w);
}

/* Every handle closed: a connection a listener still held must end for its client (E5). */
void final_close(struct world *w)
{
    char cmd[64], named[OUT_LEN];
    for (int i = 0; i < w->nh; i++)
    {
        if (!w->h[i].live || (w->h[i].in_child && !w->child.alive)) continue;
        snprintf(cmd, sizeof(cmd), "close %s", w->h[i].name);
        run_traced(w, i, cmd, 0, named, sizeof(named));
        w->h[i].live = 0;
    }
    observe(w);
}

int run_epochs(uint64_t seed, int ops)
{
    static struct world w;
    WSADATA wsa;
    int done = 0;

    WSAStartup(MAKEWORD(2, 2), &wsa);
    for (int epoch = 1; done < ops; epoch++)
    {
        int n, cleanup;
        memset(&w, 0, sizeof(w));
        rng_seed(&w.r, seed, epoch);
        trace_epoch = epoch;
        trace_op = 0;
        ports_clear();
        trace("epoch begin");
        world_build(&w);
        n = 20 + rng_below(&w.r, 21);
        if (n > ops - done) n = ops - done;
        cleanup = rng_chance(&w.r, 10);
        for (int i = 0; i < n; i++)
        {
            trace_op = i + 1;
            if (cleanup && i == n - 1) run_cleanup(&w);
            else run_op(&w);
        }
        trace_op = n + 1;
        if (!w.cleaned_up) final_close(&w);
        trace("epoch end");
        world_teardown(&w);
        done += n;
    }
    WSACleanup();
    return 0;
}
