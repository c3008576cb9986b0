/* The world of one epoch: listeners on loopback, several handles to each (in this process and
 * in a child), padding sockets, and the clients that connect to them. */

#include "difftest.h"
#include <string.h>

static void loopback(int family, unsigned short port, struct sockaddr_storage *ss, int *len)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET6)
    {
        struct sockaddr_in6 *in6 = (void *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        in6->sin6_port = htons(port);
        *len = sizeof(*in6);
    }
    else
    {
        struct sockaddr_in *in = (void *)ss;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        in->sin_port = htons(port);
        *len = sizeof(*in);
    }
}

static unsigned short local_port(SOCKET s)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (getsockname(s, (struct sockaddr *)&ss, &len)) return 0;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

/* Connects without ever blocking for long: non-blocking connect, then at most a second. */
int client_connect(struct world *w, int l, int rescue, SOCKET *out, unsigned short *port)
{
    struct sockaddr_storage ss;
    struct timeval tv = {1, 0};
    fd_set wr, ex;
    u_long nb = 1;
    int len, err = 0, errlen = sizeof(err);
    SOCKET s = socket(w->L[l].family, SOCK_STREAM, IPPROTO_TCP);

    if (s == INVALID_SOCKET) return WSAGetLastError();
    SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    ioctlsocket(s, FIONBIO, &nb);
    loopback(w->L[l].family, w->L[l].port, &ss, &len);
    if (connect(s, (struct sockaddr *)&ss, len) && WSAGetLastError() != WSAEWOULDBLOCK)
        err = WSAGetLastError();
    else
    {
        FD_ZERO(&wr);
        FD_ZERO(&ex);
        FD_SET(s, &wr);
        FD_SET(s, &ex);
        if (select(0, NULL, &wr, &ex, &tv) <= 0) err = WSAETIMEDOUT;
        else if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &errlen)) err = WSAGetLastError();
    }
    if (err) { closesocket(s); return err; }
    *out = s;
    *port = local_port(s);
    return 0;
}

int client_add(struct world *w, int l, SOCKET s, unsigned short port, int rescue)
{
    struct client *c;
    if (w->nc >= MAX_CLIENTS) { closesocket(s); return -1; }
    c = &w->c[w->nc];
    if (rescue) snprintf(c->name, NAME_LEN, "r%d", ++w->nrescue);
    else snprintf(c->name, NAME_LEN, "c%d", w->nc + 1);
    c->s = s;
    c->listener = l;
    c->state = CLIENT_OPEN;
    ports_name(port, c->name);
    w->L[l].queue[w->L[l].nqueue++] = w->nc;
    return w->nc++;
}

/* What each open client has received: one non-blocking recv after a short settle. */
void observe(struct world *w)
{
    Sleep(30);
    for (int i = 0; i < w->nc; i++)
    {
        struct client *c = &w->c[i];
        char buf[64];
        int n;
        if (c->state != CLIENT_OPEN) continue;
        n = recv(c->s, buf, sizeof(buf) - 1, 0);
        if (n > 0) { buf[n] = 0; trace("recv %s -> DATA:%s", c->name, buf); }
        else if (n == 0) { trace("recv %s -> FIN", c->name); c->state = CLIENT_ENDED; }
        else if (WSAGetLastError() == WSAEWOULDBLOCK) trace("recv %s -> OPEN", c->name);
        else if (WSAGetLastError() == WSAECONNRESET) { trace("recv %s -> RESET", c->name); c->state = CLIENT_ENDED; }
        else { trace("recv %s -> ERR:%s", c->name, err_name(WSAGetLastError())); c->state = CLIENT_ENDED; }
    }
}

static int add_handle(struct world *w, int l, int in_child, SOCKET s, const char *how, const char *extra)
{
    struct whandle *h = &w->h[w->nh];
    snprintf(h->name, NAME_LEN, "h%d", w->nh + 1);
    h->listener = l;
    h->in_child = in_child;
    h->live = 1;
    if (!in_child)
    {
        SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
        ctx_add(&w->ctx, h->name, s, w->L[l].family);
    }
    trace("handle %s L%d %s%s", h->name, l + 1, how, extra ? extra : "");
    return w->nh++;
}

static void make_listener(struct world *w, int l)
{
    struct listener *L = &w->L[l];
    struct sockaddr_storage ss;
    int len, ret = 0;
    BOOL on = TRUE;
    u_long nb = 1;
    char name[NAME_LEN];
    SOCKET s;

    L->family = rng_chance(&w->r, 50) ? AF_INET6 : AF_INET;
    L->nonblocking = rng_chance(&w->r, 50);
    L->condaccept = rng_chance(&w->r, 30);
    L->nqueue = 0;
    s = socket(L->family, SOCK_STREAM, IPPROTO_TCP);
    if (L->condaccept) ret = setsockopt(s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&on, sizeof(on));
    loopback(L->family, 0, &ss, &len);
    bind(s, (struct sockaddr *)&ss, len);
    listen(s, 16);
    if (L->nonblocking) ioctlsocket(s, FIONBIO, &nb);
    L->port = local_port(s);
    snprintf(name, NAME_LEN, "L%d", l + 1);
    ports_name(L->port, name);
    trace("listener L%d %s %s condaccept=%s", l + 1, L->family == AF_INET6 ? "v6" : "v4",
          L->nonblocking ? "nonblocking" : "blocking", L->condaccept ? (ret ? err_name(WSAGetLastError()) : "set") : "no");
    add_handle(w, l, 0, s, "original", NULL);
}

/* More handles to the same socket in this process: DuplicateHandle and WSADuplicateSocketW. */
static void dup_in_process(struct world *w, int l, SOCKET orig)
{
    if (rng_chance(&w->r, 50))
    {
        HANDLE dup = NULL;
        if (DuplicateHandle(GetCurrentProcess(), (HANDLE)orig, GetCurrentProcess(), &dup, 0, FALSE, DUPLICATE_SAME_ACCESS))
            add_handle(w, l, 0, (SOCKET)dup, "DuplicateHandle", NULL);
        else
            trace("DuplicateHandle L%d failed %lu", l + 1, GetLastError());
    }
    else
    {
        WSAPROTOCOL_INFOW info;
        SOCKET s = INVALID_SOCKET;
        if (!WSADuplicateSocketW(orig, GetCurrentProcessId(), &info))
            s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, 0);
        if (s != INVALID_SOCKET) add_handle(w, l, 0, s, "WSADuplicateSocketW", NULL);
        else trace("WSADuplicateSocketW L%d failed %s", l + 1, err_name(WSAGetLastError()));
    }
}

static SOCKET original(struct world *w, int l)
{
    for (int i = 0; i < w->nh; i++)
        if (w->h[i].listener == l && !w->h[i].in_child) return ctx_find(&w->ctx, w->h[i].name)->s;
    return INVALID_SOCKET;
}

/* The child: one listener handle inherited (its value on the command line), and maybe one more
 * made in the child from WSADuplicateSocketW's protocol info for the child's pid. */
static void make_child(struct world *w)
{
    int inherit = rng_chance(&w->r, 60), l = rng_below(&w->r, w->nl), l2 = rng_below(&w->r, w->nl);
    int second = !inherit || rng_chance(&w->r, 40);
    char args[128] = "", answer[OUT_LEN];
    SOCKET s = original(w, l);

    if (inherit)
    {
        snprintf(args, sizeof(args), "h%d=%llu:%d", w->nh + 1, (unsigned long long)s, w->L[l].family);
        SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    }
    if (!child_start(&w->child, args))
    {
        trace("child start failed %lu", GetLastError());
        return;
    }
    if (inherit)
    {
        SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
        add_handle(w, l, 1, s, "child-inherited", NULL);
    }
    if (second)
    {
        WSAPROTOCOL_INFOW info;
        char cmd[2 * sizeof(info) + 64];
        int o;
        if (WSADuplicateSocketW(original(w, l2), w->child.pid, &info))
        {
            trace("WSADuplicateSocketW for child L%d failed %s", l2 + 1, err_name(WSAGetLastError()));
            return;
        }
        o = snprintf(cmd, sizeof(cmd), "adoptproto h%d %d ", w->nh + 1, w->L[l2].family);
        for (size_t i = 0; i < sizeof(info); i++) o += snprintf(cmd + o, sizeof(cmd) - o, "%02x", ((unsigned char *)&info)[i]);
        child_send(&w->child, cmd);
        if (!child_wait(&w->child, answer, sizeof(answer), 5000)) snprintf(answer, sizeof(answer), "no answer");
        if (!strcmp(answer, "0")) add_handle(w, l2, 1, INVALID_SOCKET, "child-WSADuplicateSocketW", NULL);
        else trace("child-WSADuplicateSocketW L%d -> %s", l2 + 1, answer);
    }
    w->child_pads = 1 + rng_below(&w->r, 200);
    snprintf(args, sizeof(args), "pads %d", w->child_pads);
    child_send(&w->child, args);
    child_wait(&w->child, answer, sizeof(answer), 5000);
}

int world_simple;

void world_build(struct world *w)
{
    int npads;

    w->nl = 1 + rng_below(&w->r, 3);
    for (int l = 0; l < w->nl; l++) make_listener(w, l);
    for (int l = 0; l < w->nl; l++)
        for (int k = rng_below(&w->r, 3); k > 0; k--)
            if (!world_simple) dup_in_process(w, l, original(w, l));
    if (rng_chance(&w->r, 75) && !world_simple) make_child(w);
    /* Sets of a few entries, around 64 and of a few hundred. */
    switch (rng_below(&w->r, 4))
    {
    case 0: npads = rng_below(&w->r, 8); break;
    case 1: npads = 56 + rng_below(&w->r, 16); break;
    default: npads = 100 + rng_below(&w->r, 200); break;
    }
    ctx_make_pads(&w->ctx, npads);
    trace("pads %d here%s", w->ctx.npads, w->child.alive ? ", and in the child" : "");
}

void world_teardown(struct world *w)
{
    child_stop(&w->child);
    if (!w->cleaned_up)
    {
        ctx_close_all(&w->ctx);
        for (int i = 0; i < w->nc; i++)
            if (w->c[i].state != CLIENT_CLOSED) closesocket(w->c[i].s);
    }
    memset(w, 0, sizeof(*w));
}
