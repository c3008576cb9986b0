/* The calls the tester makes on listener handles.  The parent runs them on its own handles and
 * the child on the handles it holds, from the same command text, so both report alike.  Output
 * names ports as #PORT#; the parent turns those into client and listener names. */

#include "difftest.h"
#include <string.h>
#include <stdlib.h>

#define CALLBACK_MAGIC ((DWORD_PTR)0x5eed0fca11ull)

struct handle_slot *ctx_find(struct exec_ctx *ctx, const char *name)
{
    for (int i = 0; i < ctx->nhandles; i++)
        if (!strcmp(ctx->handles[i].name, name)) return &ctx->handles[i];
    return NULL;
}

struct handle_slot *ctx_add(struct exec_ctx *ctx, const char *name, SOCKET s, int family)
{
    struct handle_slot *h;
    if (ctx->nhandles >= MAX_HANDLES) return NULL;
    h = &ctx->handles[ctx->nhandles++];
    snprintf(h->name, NAME_LEN, "%s", name);
    h->s = s;
    h->ev = NULL;
    h->family = family;
    h->live = 1;
    return h;
}

/* Idle sockets that only make select and WSAPoll sets large. */
void ctx_make_pads(struct exec_ctx *ctx, int count)
{
    while (ctx->npads < count && ctx->npads < MAX_PADS)
    {
        int udp = ctx->npads % 3 != 0;
        SOCKET s = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, udp ? IPPROTO_UDP : IPPROTO_TCP);
        if (s == INVALID_SOCKET) break;
        SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
        ctx->pads[ctx->npads++] = s;
    }
}

void ctx_close_all(struct exec_ctx *ctx)
{
    for (int i = 0; i < ctx->nhandles; i++)
    {
        if (ctx->handles[i].live) closesocket(ctx->handles[i].s);
        if (ctx->handles[i].ev) WSACloseEvent(ctx->handles[i].ev);
    }
    for (int i = 0; i < ctx->npads; i++) closesocket(ctx->pads[i]);
    for (int i = 0; i < ctx->naccepted; i++) closesocket(ctx->accepted[i]);
    ctx->nhandles = ctx->npads = ctx->naccepted = 0;
}

/* What the condition function was given, for the trace. */
static struct
{
    int calls, ret;
    char seen[512];
} cond;

static void fmt_wsabuf_addr(char *out, size_t size, const WSABUF *b)
{
    if (!b) snprintf(out, size, "null");
    else if (!b->buf) snprintf(out, size, "nullbuf/%lu", (unsigned long)b->len);
    else if (b->len > 256 || IsBadReadPtr(b->buf, b->len ? b->len : 1)) snprintf(out, size, "bad/%lu", (unsigned long)b->len);
    else fmt_addr(out, size, (const struct sockaddr *)b->buf, (int)b->len);
}

static int CALLBACK condition(LPWSABUF caller, LPWSABUF caller_data, LPQOS sqos, LPQOS gqos,
                              LPWSABUF callee, LPWSABUF callee_data, GROUP *g, DWORD_PTR cb)
{
    char a[96], b[96], ce[48], gs[24];
    fmt_wsabuf_addr(a, sizeof(a), caller);
    fmt_wsabuf_addr(b, sizeof(b), callee);
    if (!callee_data) snprintf(ce, sizeof(ce), "null");
    else snprintf(ce, sizeof(ce), "%lu/%s", (unsigned long)callee_data->len, callee_data->buf ? "buf" : "null");
    if (!g) snprintf(gs, sizeof(gs), "null");
    else snprintf(gs, sizeof(gs), "%lu", (unsigned long)*g);
    snprintf(cond.seen, sizeof(cond.seen),
             "caller=%s callee=%s cdata=%s sqos=%s gqos=%s cedata=%s g=%s cb=%s", a, b,
             caller_data ? (caller_data->len ? "set" : "empty") : "null", sqos ? "set" : "null",
             gqos ? "set" : "null", ce, gs, cb == CALLBACK_MAGIC ? "ok" : "bad");
    cond.calls++;
    return cond.ret;
}

/* After a successful accept: name the connection by its peer and tell the client who took it. */
static void took(struct exec_ctx *ctx, SOCKET a, const char *via, char *out, size_t size)
{
    struct sockaddr_storage peer;
    int len = sizeof(peer);
    size_t o = strlen(out);

    SetHandleInformation((HANDLE)a, HANDLE_FLAG_INHERIT, 0);
    if (!getpeername(a, (struct sockaddr *)&peer, &len))
    {
        unsigned short port = peer.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&peer)->sin6_port
                                                          : ((struct sockaddr_in *)&peer)->sin_port;
        o += snprintf(out + o, size - o, "a[#%u#]", ntohs(port));
    }
    else
        o += snprintf(out + o, size - o, "a[peer?%s]", err_name(WSAGetLastError()));
    if (send(a, via, (int)strlen(via), 0) != (int)strlen(via))
        snprintf(out + o, size - o, " send=%s", err_name(WSAGetLastError()));
    if (ctx->naccepted < MAX_ACCEPTED) ctx->accepted[ctx->naccepted++] = a;
    else closesocket(a);
}

static int parse_cond(const char *c)
{
    if (!strcmp(c, "ACCEPT")) return CF_ACCEPT;
    if (!strcmp(c, "REJECT")) return CF_REJECT;
    if (!strcmp(c, "DEFER")) return CF_DEFER;
    return atoi(c);
}

/* accept or WSAAccept (COND NULL: plain accept) with one of the address variants. */
static void do_accept(struct exec_ctx *ctx, struct handle_slot *h, const char *c, const char *mode,
                      char *out, size_t size)
{
    struct sockaddr_storage addr;
    struct sockaddr *pa = NULL;
    int addrlen = 0, *plen = NULL, err;
    SOCKET a;
    size_t o;

    memset(&addr, 0xab, sizeof(addr));
    if (!strcmp(mode, "full")) { pa = (struct sockaddr *)&addr; addrlen = sizeof(addr); plen = &addrlen; }
    else if (!strcmp(mode, "noaddrlen")) pa = (struct sockaddr *)&addr;
    else if (!strcmp(mode, "short")) { pa = (struct sockaddr *)&addr; addrlen = 0; plen = &addrlen; }
    cond.calls = 0;
    cond.seen[0] = 0;
    if (c)
    {
        cond.ret = parse_cond(c);
        a = WSAAccept(h->s, pa, plen, !strcmp(c, "NULL") ? NULL : condition, CALLBACK_MAGIC);
    }
    else
        a = accept(h->s, pa, plen);
    err = a == INVALID_SOCKET ? WSAGetLastError() : 0;
    if (a == INVALID_SOCKET) snprintf(out, size, "-1 %s", err_name(err));
    else { out[0] = 0; took(ctx, a, h->name, out, size); }
    o = strlen(out);
    if (cond.calls) o += snprintf(out + o, size - o, " cond%s[%s]", cond.calls > 1 ? "*N" : "", cond.seen);
    if (!strcmp(mode, "full") && a != INVALID_SOCKET)
    {
        char s[96];
        fmt_addr(s, sizeof(s), pa, addrlen);
        o += snprintf(out + o, size - o, " addr=%s", s);
    }
    else if (!strcmp(mode, "short") || (!strcmp(mode, "full") && addrlen != sizeof(addr)))
        o += snprintf(out + o, size - o, " addrlen=%d", addrlen);
    else if (!strcmp(mode, "noaddrlen"))
    {
        unsigned char *p = (unsigned char *)&addr;
        int touched = 0;
        for (size_t i = 0; i < sizeof(addr); i++) touched |= p[i] != 0xab;
        o += snprintf(out + o, size - o, " addr=%s", touched ? "written" : "untouched");
    }
}

/* AcceptEx through the pointer WSAIoctl hands out, waiting WAIT_MS for it. */
static void do_acceptex(struct exec_ctx *ctx, struct handle_slot *h, int wait_ms, char *out, size_t size)
{
    GUID guid = WSAID_ACCEPTEX;
    LPFN_ACCEPTEX fn = NULL;
    DWORD bytes = 0, flags = 0;
    SOCKET a;
    OVERLAPPED *ov;
    char *buf;
    BOOL ok;
    int err;

    if (WSAIoctl(h->s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof(guid), &fn, sizeof(fn),
                 &bytes, NULL, NULL) || !fn)
    {
        snprintf(out, size, "ioctl %s", err_name(WSAGetLastError()));
        return;
    }
    a = socket(h->family, SOCK_STREAM, IPPROTO_TCP);
    SetHandleInformation((HANDLE)a, HANDLE_FLAG_INHERIT, 0);
    /* Kept for good if a cancelled AcceptEx never completes: the system may still write them. */
    ov = calloc(1, sizeof(*ov));
    buf = calloc(1, 2 * (sizeof(struct sockaddr_storage) + 16));
    ov->hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    ok = fn(h->s, a, buf, 0, sizeof(struct sockaddr_storage) + 16, sizeof(struct sockaddr_storage) + 16,
            &bytes, ov);
    err = ok ? 0 : WSAGetLastError();
    if (!ok && err != WSA_IO_PENDING)
    {
        snprintf(out, size, "FALSE %s", err_name(err));
        closesocket(a);
        return;
    }
    if (!ok && WaitForSingleObject(ov->hEvent, wait_ms) != WAIT_OBJECT_0)
    {
        CancelIoEx((HANDLE)h->s, ov);
        if (WaitForSingleObject(ov->hEvent, 1000) != WAIT_OBJECT_0)
        {
            snprintf(out, size, "pending, cancel never completed");
            return;
        }
        ok = WSAGetOverlappedResult(h->s, ov, &bytes, FALSE, &flags);
        snprintf(out, size, "pending, cancelled: %s", ok ? "completed anyway " : err_name(WSAGetLastError()));
        if (!ok) { closesocket(a); return; }
    }
    else if (!ok)
    {
        ok = WSAGetOverlappedResult(h->s, ov, &bytes, FALSE, &flags);
        snprintf(out, size, "pending, %s", ok ? "done " : err_name(WSAGetLastError()));
        if (!ok) { closesocket(a); return; }
    }
    else
        snprintf(out, size, "TRUE ");
    if (setsockopt(a, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&h->s, sizeof(h->s)))
    {
        size_t o = strlen(out);
        snprintf(out + o, size - o, "update=%s ", err_name(WSAGetLastError()));
    }
    took(ctx, a, h->name, out + strlen(out), size - strlen(out));
    CloseHandle(ov->hEvent);
    free(ov);
    free(buf);
}

/* The handles to test, and where in a set of NPAD padding sockets each goes (from LSEED). */
struct layout
{
    int n;
    SOCKET entries[MAX_PADS + MAX_HANDLES];
    int pos[MAX_HANDLES];
    struct handle_slot *hs[MAX_HANDLES];
    int nh;
};

static int make_layout(struct exec_ctx *ctx, struct layout *l, unsigned lseed, int npad,
                       char **names, int nnames, char *out, size_t size)
{
    struct rng r;
    int taken[MAX_PADS + MAX_HANDLES] = {0};

    rng_seed(&r, lseed, 7);
    if (npad > ctx->npads) npad = ctx->npads;
    l->n = npad + nnames;
    l->nh = 0;
    for (int i = 0; i < nnames; i++)
    {
        struct handle_slot *h = ctx_find(ctx, names[i]);
        int pos;
        if (!h) { snprintf(out, size, "unknown handle %s", names[i]); return 0; }
        /* Half the time near the end of the set, where a fixed 64-entry view would not look. */
        do
            pos = rng_chance(&r, 50) && l->n > 64 ? 64 + rng_below(&r, l->n - 64) : rng_below(&r, l->n);
        while (taken[pos]);
        taken[pos] = 1;
        l->pos[l->nh] = pos;
        l->hs[l->nh++] = h;
        l->entries[pos] = h->s;
    }
    for (int i = 0, p = 0; i < l->n; i++)
        if (!taken[i]) l->entries[i] = ctx->pads[p++];
    return 1;
}

static void fmt_positions(struct layout *l, char *out, size_t size)
{
    size_t o = snprintf(out, size, "n=%d", l->n);
    for (int i = 0; i < l->nh; i++) o += snprintf(out + o, size - o, " %s@%d", l->hs[i]->name, l->pos[i]);
}

static void do_select(struct exec_ctx *ctx, int tmo, unsigned lseed, int npad, char **names, int nnames,
                      char *out, size_t size)
{
    static fd_set rd, ex;
    struct timeval tv = {0, tmo * 1000};
    struct layout l;
    char where[256];
    int ret, padr = 0;
    size_t o;

    if (!make_layout(ctx, &l, lseed, npad, names, nnames, out, size)) return;
    fmt_positions(&l, where, sizeof(where));
    rd.fd_count = ex.fd_count = 0;
    for (int i = 0; i < l.n; i++) rd.fd_array[rd.fd_count++] = l.entries[i];
    for (int i = 0; i < l.nh; i++) ex.fd_array[ex.fd_count++] = l.hs[i]->s;
    ret = select(0, &rd, NULL, &ex, &tv);
    if (ret == SOCKET_ERROR) { snprintf(out, size, "(%s) -1 %s", where, err_name(WSAGetLastError())); return; }
    o = snprintf(out, size, "(%s) %d r=[", where, ret);
    for (int i = 0; i < l.nh; i++)
        if (FD_ISSET(l.hs[i]->s, &rd)) o += snprintf(out + o, size - o, "%s%s", out[o - 1] == '[' ? "" : ",", l.hs[i]->name);
    o += snprintf(out + o, size - o, "] e=[");
    for (int i = 0; i < l.nh; i++)
        if (FD_ISSET(l.hs[i]->s, &ex)) o += snprintf(out + o, size - o, "%s%s", out[o - 1] == '[' ? "" : ",", l.hs[i]->name);
    for (int i = 0; i < ctx->npads; i++) padr += FD_ISSET(ctx->pads[i], &rd) ? 1 : 0;
    snprintf(out + o, size - o, "] padr=%d", padr);
}

static void fmt_revents(char *out, size_t size, short re)
{
    static const struct { short bit; const char *name; } bits[] =
    {
        {POLLRDNORM, "RDNORM"}, {POLLRDBAND, "RDBAND"}, {POLLWRNORM, "WRNORM"}, {POLLERR, "ERR"},
        {POLLHUP, "HUP"}, {POLLNVAL, "NVAL"}, {POLLPRI, "PRI"},
    };
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        if (re & bits[i].bit) o += snprintf(out + o, size - o, "%s%s", o ? "|" : "", bits[i].name);
    if (!o) snprintf(out, size, "0");
}

static void do_poll(struct exec_ctx *ctx, int tmo, unsigned lseed, int npad, char **names, int nnames,
                    char *out, size_t size)
{
    static WSAPOLLFD fds[MAX_PADS + MAX_HANDLES];
    struct layout l;
    char where[256], re[64];
    int ret, padready = 0;
    size_t o;

    if (!make_layout(ctx, &l, lseed, npad, names, nnames, out, size)) return;
    fmt_positions(&l, where, sizeof(where));
    for (int i = 0; i < l.n; i++)
    {
        fds[i].fd = l.entries[i];
        fds[i].events = POLLRDNORM;
        fds[i].revents = 0;
    }
    ret = WSAPoll(fds, l.n, tmo);
    if (ret == SOCKET_ERROR) { snprintf(out, size, "(%s) -1 %s", where, err_name(WSAGetLastError())); return; }
    o = snprintf(out, size, "(%s) %d", where, ret);
    for (int i = 0; i < l.nh; i++)
    {
        fmt_revents(re, sizeof(re), fds[l.pos[i]].revents);
        o += snprintf(out + o, size - o, " %s=%s", l.hs[i]->name, re);
    }
    for (int i = 0; i < l.n; i++) padready += fds[i].revents ? 1 : 0;
    for (int i = 0; i < l.nh; i++) padready -= fds[l.pos[i]].revents ? 1 : 0;
    snprintf(out + o, size - o, " padready=%d", padready);
}

static void do_enum(struct handle_slot *h, int wait_ms, char *out, size_t size)
{
    WSANETWORKEVENTS ne;
    size_t o = 0;
    if (h->ev)
        o = snprintf(out, size, "%s ", WaitForSingleObject(h->ev, wait_ms) == WAIT_OBJECT_0 ? "signalled" : "unsignalled");
    else
        out[0] = 0;
    memset(&ne, 0, sizeof(ne));
    if (WSAEnumNetworkEvents(h->s, h->ev, &ne))
        snprintf(out + o, size - o, "-1 %s", err_name(WSAGetLastError()));
    else if (ne.lNetworkEvents & FD_ACCEPT)
        snprintf(out + o, size - o, "0 FD_ACCEPT(%s)%s", err_name(ne.iErrorCode[FD_ACCEPT_BIT]),
                 ne.lNetworkEvents & ~FD_ACCEPT ? " +other" : "");
    else
        snprintf(out + o, size - o, "0 none%s", ne.lNetworkEvents ? " +other" : "");
}

static void result(char *out, size_t size, int ret)
{
    if (ret) snprintf(out, size, "%d %s", ret, err_name(WSAGetLastError()));
    else snprintf(out, size, "0");
}

void exec_command(struct exec_ctx *ctx, const char *cmd, char *out, size_t size)
{
    char copy[512], *argv[MAX_HANDLES + 8], *save = NULL;
    int argc = 0;
    struct handle_slot *h = NULL;

    snprintf(copy, sizeof(copy), "%s", cmd);
    for (char *t = strtok_r(copy, " ", &save); t && argc < (int)(sizeof(argv) / sizeof(argv[0])); t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    if (argc < 2) { snprintf(out, size, "bad command"); return; }
    if (strcmp(argv[0], "select") && strcmp(argv[0], "poll") && !(h = ctx_find(ctx, argv[1])))
    {
        snprintf(out, size, "unknown handle %s", argv[1]);
        return;
    }
    if (!strcmp(argv[0], "accept") && argc == 3) do_accept(ctx, h, NULL, argv[2], out, size);
    else if (!strcmp(argv[0], "wsaaccept") && argc == 4) do_accept(ctx, h, argv[2], argv[3], out, size);
    else if (!strcmp(argv[0], "acceptex") && argc == 3) do_acceptex(ctx, h, atoi(argv[2]), out, size);
    else if (!strcmp(argv[0], "select") && argc >= 5)
        do_select(ctx, atoi(argv[1]), strtoul(argv[2], NULL, 10), atoi(argv[3]), argv + 4, argc - 4, out, size);
    else if (!strcmp(argv[0], "poll") && argc >= 5)
        do_poll(ctx, atoi(argv[1]), strtoul(argv[2], NULL, 10), atoi(argv[3]), argv + 4, argc - 4, out, size);
    else if (!strcmp(argv[0], "evsel"))
    {
        if (!h->ev) h->ev = WSACreateEvent();
        result(out, size, WSAEventSelect(h->s, h->ev, FD_ACCEPT));
    }
    else if (!strcmp(argv[0], "enum") && argc == 3) do_enum(h, atoi(argv[2]), out, size);
    else if (!strcmp(argv[0], "fionbio") && argc == 3)
    {
        u_long v = atoi(argv[2]);
        result(out, size, ioctlsocket(h->s, FIONBIO, &v));
    }
    else if (!strcmp(argv[0], "fionread"))
    {
        u_long v = 12345;
        int ret = ioctlsocket(h->s, FIONREAD, &v);
        if (ret) result(out, size, ret);
        else snprintf(out, size, "0 %s", v ? "nonzero" : "zero");
    }
    else if (!strcmp(argv[0], "close"))
    {
        result(out, size, closesocket(h->s));
        h->live = 0;
    }
    else snprintf(out, size, "bad command");
}
