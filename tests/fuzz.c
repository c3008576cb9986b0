/* Fuzzing the functions the front owns: WSAAccept and accept first, then listen,
 * SO_CONDITIONAL_ACCEPT, FIONBIO, select, WSAPoll, WSAEventSelect, WSAAsyncSelect,
 * WSAEnumNetworkEvents, closesocket, WSAStartup/WSACleanup and the WinSock 1.1 blocking-hook
 * functions, with random arguments: bad pointers (NULL, small integers, kernel and
 * non-canonical addresses, decommitted and released pages, a no-access page), unaligned
 * pointers into valid memory, read-only buffers, buffers cut short by a no-access page, odd
 * lengths, closed and foreign handles (an event, a file, a pipe, a mutex, pseudo handles,
 * random values that are no handle), sockets of the wrong kind, and condition functions and
 * blocking hooks that call back into Winsock.
 *
 * Every call must
 *   - return: a watchdog ends the process, naming the seed and the iteration, when one
 *     iteration takes longer than HANG_MS (listeners are non-blocking, or have a connection
 *     known to be pending, so no call here may wait for long);
 *   - fail only with a code the function's documentation lists, and one its arguments
 *     justify (the rules of ../shared/spec/wsaaccept.md where they speak, Microsoft's pages
 *     otherwise, and what Windows does where it is known to differ from its page: see
 *     DOC_WSAPOLL); nothing is wrapped in an exception handler, so a fault is a crash;
 *   - consume nothing when it fails its entry checks: each listener has a queue of known
 *     clients (a model of what is pending), every accept that succeeds must return the client
 *     at its head, and after a failure the listener must still be readable and the client
 *     not ended;
 *   - leak no handle: the process's handle count at the end of a run is compared with the
 *     count after a warm-up.
 *
 * Each subtest prints its seed.  WS2_FUZZ_SEED=N (decimal or 0x...) repeats a run;
 * WS2_FUZZ_ITERATIONS=N sets the iterations of each subtest (the default is a short run; the
 * long run uses 100000).  The random choices of iteration I depend only on the seed and I, so
 * a run repeats from its seed, and every failure names both; WINETEST_DEBUG=2 traces every
 * call. */

#include <stdio.h>
#include <limits.h>
#include <stddef.h>
#include "ws2test.h"

#define HANG_MS 10000       /* an iteration that takes longer has hung */
#define MAX_FAILURES 20     /* a subtest stops after this many failed checks */
#define MAX_QUEUE 5         /* clients pending on one listener, well under its backlog */
#define BACKLOG 64
#define HANDLE_SLACK 4      /* see fuzz_end() */

/* ------------------------------------------------------------------------------------ */
/* The run: seed, iterations, random numbers, failures, the watchdog.                   */

static UINT64 seed, rng;
static unsigned iterations, iteration, warm_iteration;
static char seed_text[24];
static LONG failures;
static char desc[768];                  /* the call being made, for messages */
static volatile DWORD iteration_start;
static volatile LONG watching;
static HANDLE watchdog_thread, watchdog_stop;
static DWORD handles_before;
static BOOL handles_measured, begun;
static unsigned calls_made, calls_succeeded;

static UINT64 rnd64(void)
{
    UINT64 z = (rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rnd(unsigned n)
{
    return n ? (unsigned)(rnd64() % n) : 0;
}

static BOOL one_in(unsigned n)
{
    return rnd(n) == 0;
}

static int pick_int(const int *values, unsigned count)
{
    return values[rnd(count)];
}

static int counted(int passed)
{
    if (!passed) InterlockedIncrement(&failures);
    return passed;
}

/* A check that counts towards MAX_FAILURES; the context names the seed and the iteration. */
#define check(cond, ...) counted(ok(cond, __VA_ARGS__))

static DWORD WINAPI watchdog(void *arg)
{
    while (WaitForSingleObject(watchdog_stop, 250) == WAIT_TIMEOUT)
    {
        if (!watching || GetTickCount() - iteration_start < HANG_MS) continue;
        ok(0, "seed %s iteration %u: no return within %u ms from %s\n", seed_text, iteration, HANG_MS,
           desc[0] ? desc : "(between calls)");
        fflush(stdout);
        TerminateProcess(GetCurrentProcess(), WAIT_TIMEOUT);
    }
    return 0;
}

static void iteration_begin(unsigned i)
{
    iteration = i;
    rng = seed ^ (0xd1342543de82ef95ull * (i + 1));
    rnd64();
    desc[0] = 0;
    iteration_start = GetTickCount();
    winetest_push_context("seed %s iteration %u", seed_text, i);
}

static void iteration_end(void)
{
    winetest_pop_context();
}

static void describe(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void describe(const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vsnprintf(desc, sizeof(desc), fmt, args);
    va_end(args);
    if (winetest_debug > 1) trace("%s\n", desc);
}

/* ------------------------------------------------------------------------------------ */
/* Error codes and the documented tables.                                                */

static const int codes[] =
{
    WSAEINTR, WSAEACCES, WSAEFAULT, WSAEINVAL, WSAEMFILE, WSAEWOULDBLOCK, WSAEINPROGRESS,
    WSAENOTSOCK, WSAENOPROTOOPT, WSAEOPNOTSUPP, WSAEADDRINUSE, WSAENETDOWN, WSAENETRESET,
    WSAENOBUFS, WSAEISCONN, WSAENOTCONN, WSAECONNRESET, WSAECONNREFUSED, WSAEPROCLIM,
    WSASYSNOTREADY, WSAVERNOTSUPPORTED, WSANOTINITIALISED, WSATRY_AGAIN, WSA_IO_PENDING,
};
static const char *const code_names[] =
{
    "WSAEINTR", "WSAEACCES", "WSAEFAULT", "WSAEINVAL", "WSAEMFILE", "WSAEWOULDBLOCK", "WSAEINPROGRESS",
    "WSAENOTSOCK", "WSAENOPROTOOPT", "WSAEOPNOTSUPP", "WSAEADDRINUSE", "WSAENETDOWN", "WSAENETRESET",
    "WSAENOBUFS", "WSAEISCONN", "WSAENOTCONN", "WSAECONNRESET", "WSAECONNREFUSED", "WSAEPROCLIM",
    "WSASYSNOTREADY", "WSAVERNOTSUPPORTED", "WSANOTINITIALISED", "WSATRY_AGAIN", "WSA_IO_PENDING",
};
static unsigned error_counts[ARRAYSIZE(codes)], other_errors;

static unsigned bit(int code)
{
    unsigned i;

    for (i = 0; i < ARRAYSIZE(codes); i++)
        if (codes[i] == code) return 1u << i;
    return 0;
}

static const char *set_str(unsigned set)
{
    static char buf[4][256];
    static int next;
    char *out = buf[next++ & 3];
    unsigned i, len = 0;

    out[0] = 0;
    for (i = 0; i < ARRAYSIZE(codes) && len < 200; i++)
        if (set & (1u << i)) len += snprintf(out + len, 256 - len, "%s%s", len ? " " : "", code_names[i]);
    if (!len) snprintf(out, 256, "success");
    return out;
}

/* The codes each function's page lists; WSANOTINITIALISED and WSAEINPROGRESS hold for all
 * (the WinSock 1.1 rules and WSAStartup's page). */
#define COMMON (bit(WSANOTINITIALISED) | bit(WSAEINPROGRESS) | bit(WSAENETDOWN))
#define DOC_ACCEPT (COMMON | bit(WSAECONNRESET) | bit(WSAEFAULT) | bit(WSAEINTR) | bit(WSAEINVAL) | \
    bit(WSAEMFILE) | bit(WSAENOBUFS) | bit(WSAENOTSOCK) | bit(WSAEOPNOTSUPP) | bit(WSAEWOULDBLOCK))
#define DOC_WSAACCEPT (DOC_ACCEPT | bit(WSAEACCES) | bit(WSAECONNREFUSED) | bit(WSATRY_AGAIN))
#define DOC_LISTEN (COMMON | bit(WSAEADDRINUSE) | bit(WSAEINVAL) | bit(WSAEISCONN) | bit(WSAEMFILE) | \
    bit(WSAENOBUFS) | bit(WSAENOTSOCK) | bit(WSAEOPNOTSUPP))
#define DOC_SETSOCKOPT (COMMON | bit(WSAEFAULT) | bit(WSAEINVAL) | bit(WSAENETRESET) | bit(WSAENOPROTOOPT) | \
    bit(WSAENOTCONN) | bit(WSAENOTSOCK))
#define DOC_GETSOCKOPT (COMMON | bit(WSAEFAULT) | bit(WSAEINVAL) | bit(WSAENOPROTOOPT) | bit(WSAENOTSOCK))
/* ioctlsocket: WSAEINVAL is in the remarks (FIONBIO off while WSAAsyncSelect/WSAEventSelect is on). */
#define DOC_IOCTLSOCKET (COMMON | bit(WSAENOTSOCK) | bit(WSAEFAULT) | bit(WSAEINVAL))
#define DOC_WSAIOCTL (COMMON | bit(WSAEFAULT) | bit(WSAEINVAL) | bit(WSAENOTSOCK) | bit(WSAEOPNOTSUPP) | \
    bit(WSA_IO_PENDING) | bit(WSAEWOULDBLOCK))
#define DOC_SELECT (COMMON | bit(WSAEFAULT) | bit(WSAEINVAL) | bit(WSAEINTR) | bit(WSAENOTSOCK))
/* WSAPoll: the page names WSAEINVAL for an array without a valid socket, but Windows (and Wine
 * with it) fails with WSAENOTSOCK then, a code applications are known to handle. */
#define DOC_WSAPOLL (COMMON | bit(WSAEFAULT) | bit(WSAEINVAL) | bit(WSAENOBUFS) | bit(WSAENOTSOCK))
#define DOC_EVENTSELECT (COMMON | bit(WSAEINVAL) | bit(WSAENOTSOCK))
#define DOC_ASYNCSELECT (COMMON | bit(WSAEINVAL) | bit(WSAENOTSOCK))
#define DOC_ENUMEVENTS (COMMON | bit(WSAEINVAL) | bit(WSAENOTSOCK) | bit(WSAEFAULT))
#define DOC_CLOSESOCKET (COMMON | bit(WSAENOTSOCK) | bit(WSAEINTR) | bit(WSAEWOULDBLOCK))
#define DOC_SETHOOK (COMMON | bit(WSAEFAULT) | bit(WSAEOPNOTSUPP))
#define DOC_UNHOOK (bit(WSANOTINITIALISED) | bit(WSAEINPROGRESS) | bit(WSAEOPNOTSUPP))
#define DOC_CANCEL (COMMON | bit(WSAEINVAL) | bit(WSAEOPNOTSUPP))
#define DOC_STARTUP (bit(WSASYSNOTREADY) | bit(WSAVERNOTSUPPORTED) | bit(WSAEINPROGRESS) | bit(WSAEPROCLIM) | \
    bit(WSAEFAULT))
#define DOC_CLEANUP COMMON

static void count_result(BOOL failed, int error)
{
    unsigned i;

    calls_made++;
    if (!failed)
    {
        calls_succeeded++;
        return;
    }
    for (i = 0; i < ARRAYSIZE(codes); i++)
        if (codes[i] == error)
        {
            error_counts[i]++;
            return;
        }
    other_errors++;
}

/* A call that failed with ERROR: a code FN's page lists, and one the arguments justify. */
static BOOL check_error(const char *fn, unsigned documented, unsigned allowed, int error)
{
    count_result(TRUE, error);
    if (!check(documented & bit(error), "%s: error %d is not one %s documents (%s)\n", desc, error, fn,
               set_str(documented)))
        return FALSE;
    return check(allowed & bit(error), "%s: error %s, expected %s\n", desc, set_str(bit(error)), set_str(allowed));
}

/* ------------------------------------------------------------------------------------ */
/* Memory: for each argument slot a read-write page, a no-access page after it and a     */
/* read-only page after that; a decommitted page; a released one.                        */

enum { P_VALID, P_UNALIGNED, P_NULL, P_SMALL, P_KERNEL, P_WILD, P_DECOMMITTED, P_RELEASED, P_NOACCESS,
       P_READONLY, P_SHORT, P_KINDS };
static const char *const ptr_names[P_KINDS] =
{
    "valid", "unaligned", "NULL", "small", "kernel", "non-canonical", "decommitted", "released",
    "no-access", "read-only", "short"
};

struct ptr
{
    int kind;
    char *p;
    SIZE_T writable;    /* bytes from p on that can be written */
    SIZE_T readable;    /* ... and read */
};

#define SLOTS 8     /* addr and addrlen for each of three call depths, and two spares */
struct slot
{
    char *rw, *noaccess, *ro;
};
static struct slot slots[SLOTS];
static char *decommitted, *released;
static SIZE_T page;
static const int interesting[] = { 0, 1, 2, 3, 4, 15, 16, 27, 28, 128, INT_MAX, -1 };
#define RO_TIMEVAL 64       /* where each read-only page holds a 1 ms timeval */
#define RO_INTS 128         /* from here on, interesting ints */

static void memory_init(void)
{
    SYSTEM_INFO info;
    DWORD old;
    SIZE_T j;
    int i;

    GetSystemInfo(&info);
    page = info.dwPageSize;
    for (i = 0; i < SLOTS; i++)
    {
        char *base = VirtualAlloc(NULL, 3 * page, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);

        slots[i].rw = base;
        slots[i].noaccess = base + page;
        slots[i].ro = base + 2 * page;
        memset(slots[i].ro, 0, page);
        ((struct timeval *)(slots[i].ro + RO_TIMEVAL))->tv_usec = 1000;
        for (j = RO_INTS; j + sizeof(int) <= page; j += sizeof(int))
            *(int *)(slots[i].ro + j) = interesting[(j / sizeof(int)) % ARRAYSIZE(interesting)];
        VirtualProtect(slots[i].noaccess, page, PAGE_NOACCESS, &old);
        VirtualProtect(slots[i].ro, page, PAGE_READONLY, &old);
    }
    /* Committed once, then decommitted: the region stays ours, so nothing else lands there. */
    decommitted = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    VirtualFree(decommitted, page, MEM_DECOMMIT);
    released = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    VirtualFree(released, 0, MEM_RELEASE);
}

static void memory_free(void)
{
    int i;

    for (i = 0; i < SLOTS; i++) VirtualFree(slots[i].rw, 0, MEM_RELEASE);
    VirtualFree(decommitted, 0, MEM_RELEASE);
}

/* A pointer of KIND in SLOT for an object of NEED bytes. */
static struct ptr make_ptr(int slot, SIZE_T need, int kind)
{
    struct slot *sl = &slots[slot];
    MEMORY_BASIC_INFORMATION info;
    struct ptr r;
    SIZE_T n;

    memset(&r, 0, sizeof(r));
    r.kind = kind;
    switch (kind)
    {
    case P_VALID:
        n = need + 8 * rnd(9);
        r.p = sl->rw + page - n;
        r.writable = r.readable = n;
        break;
    case P_UNALIGNED:
        n = need + 9 + 2 * rnd(3);
        r.p = sl->rw + page - n;
        r.writable = r.readable = n;
        break;
    case P_NULL:
        break;
    case P_SMALL:
        r.p = (char *)(ULONG_PTR)(1 + rnd(0xfffe));
        break;
    case P_KERNEL:
#ifdef _WIN64
        r.p = (char *)(ULONG_PTR)(0xffff800000000000ull + (rnd64() & 0x00007ffffffffff8ull));
#else
        r.p = (char *)(ULONG_PTR)(0xc0000000u + ((unsigned)rnd64() & 0x3ffffff8u));
#endif
        break;
    case P_WILD:
#ifdef _WIN64
        r.p = one_in(4) ? (char *)(ULONG_PTR)0x8000000000000000ull
                        : (char *)(ULONG_PTR)(0x0000800000000000ull + (rnd64() & 0x00003ffffffffff8ull));
#else
        r.p = (char *)(ULONG_PTR)(0xffff0000u + ((unsigned)rnd64() & 0xfff8u));
#endif
        break;
    case P_RELEASED:
        /* Something else may have been given the range since: then it is the decommitted page. */
        if (VirtualQuery(released, &info, sizeof(info)) && info.State == MEM_FREE)
        {
            r.p = released + rnd(page);
            break;
        }
        /* fall through */
    case P_DECOMMITTED:
        r.p = decommitted + rnd(page);
        break;
    case P_NOACCESS:
        r.p = sl->noaccess + rnd(page);
        break;
    case P_READONLY:
        n = RO_INTS + sizeof(int) * rnd((page - RO_INTS - need - 16) / sizeof(int)) + (one_in(4) ? 1 : 0);
        r.p = sl->ro + n;
        r.readable = page - n;
        break;
    case P_SHORT:
        n = rnd(need);
        r.p = sl->rw + page - n;
        r.writable = r.readable = n;
        break;
    }
    return r;
}

/* Valid (aligned or not) VALID_PERCENT of the time, else any other kind. */
static int pick_kind(unsigned valid_percent)
{
    if (rnd(100) < valid_percent) return one_in(4) ? P_UNALIGNED : P_VALID;
    return P_NULL + rnd(P_KINDS - P_NULL);
}

/* Not NULL, and not all of NEED bytes usable. */
static BOOL bad_for_write(const struct ptr *p, SIZE_T need)
{
    return p->kind != P_NULL && p->writable < need;
}

static BOOL bad_for_read(const struct ptr *p, SIZE_T need)
{
    return p->kind != P_NULL && p->readable < need;
}

static void put_int(const struct ptr *p, int value)
{
    if (p->writable >= sizeof(int)) memcpy(p->p, &value, sizeof(int));
}

static BOOL get_int(const struct ptr *p, int *value)
{
    if (p->readable < sizeof(int)) return FALSE;
    memcpy(value, p->p, sizeof(int));
    return TRUE;
}

static const char *ptr_str(const struct ptr *p)
{
    static char buf[8][48];
    static int next;
    char *out = buf[next++ & 7];

    if (p->kind == P_NULL) return "NULL";
    snprintf(out, 48, "%s:%p", ptr_names[p->kind], p->p);
    return out;
}

/* ------------------------------------------------------------------------------------ */
/* Handles that are no socket, and sockets of the wrong kind.                            */

static HANDLE zoo_event, zoo_file, zoo_pipe_read, zoo_pipe_write, zoo_mutex;
static HWND zoo_hwnd;
static SOCKET zoo_tcp, zoo_bound, zoo_udp;

static BOOL handle_alive(HANDLE h)
{
    DWORD flags;
    return GetHandleInformation(h, &flags);
}

static int port_of(const void *addr)
{
    const SOCKADDR_STORAGE *sa = addr;
    return ntohs(sa->ss_family == AF_INET6 ? ((const SOCKADDR_IN6 *)sa)->sin6_port : ((const SOCKADDR_IN *)sa)->sin_port);
}

static void loopback(int family, SOCKADDR_STORAGE *addr, int *len)
{
    memset(addr, 0, sizeof(*addr));
    addr->ss_family = family;
    if (family == AF_INET)
    {
        ((SOCKADDR_IN *)addr)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof(SOCKADDR_IN);
    }
    else
    {
        ((SOCKADDR_IN6 *)addr)->sin6_addr = in6addr_loopback;
        *len = sizeof(SOCKADDR_IN6);
    }
}

static SOCKET bound_socket(int type)
{
    SOCKADDR_STORAGE addr;
    int len;
    SOCKET s = socket(AF_INET, type, 0);

    loopback(AF_INET, &addr, &len);
    if (s != INVALID_SOCKET) bind(s, (struct sockaddr *)&addr, len);
    return s;
}

static void zoo_init(void)
{
    char path[MAX_PATH];

    zoo_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    GetTempPathA(MAX_PATH, path);
    snprintf(path + strlen(path), MAX_PATH - strlen(path), "ws2_32_fuzz_%lu.tmp", GetCurrentProcessId());
    zoo_file = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
    CreatePipe(&zoo_pipe_read, &zoo_pipe_write, NULL, 0);
    zoo_mutex = CreateMutexW(NULL, FALSE, NULL);
    zoo_hwnd = CreateWindowA("STATIC", "", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, NULL, NULL);
    zoo_tcp = socket(AF_INET, SOCK_STREAM, 0);
    zoo_bound = bound_socket(SOCK_STREAM);
    zoo_udp = bound_socket(SOCK_DGRAM);
    ok(zoo_event && zoo_file != INVALID_HANDLE_VALUE && zoo_pipe_read && zoo_mutex && zoo_hwnd,
       "seed %s: cannot make the foreign handles\n", seed_text);
    ok(zoo_tcp != INVALID_SOCKET && zoo_bound != INVALID_SOCKET && zoo_udp != INVALID_SOCKET,
       "seed %s: cannot make the spare sockets: %d\n", seed_text, WSAGetLastError());
}

static void zoo_free(void)
{
    closesocket(zoo_tcp);
    closesocket(zoo_bound);
    closesocket(zoo_udp);
    DestroyWindow(zoo_hwnd);
    CloseHandle(zoo_event);
    CloseHandle(zoo_file);
    CloseHandle(zoo_pipe_read);
    CloseHandle(zoo_pipe_write);
    CloseHandle(zoo_mutex);
}

static void drain_messages(void)
{
    MSG msg;
    int i;

    for (i = 0; i < 256 && PeekMessageA(&msg, NULL, 0, 0, PM_REMOVE); i++)
        ;
}

/* ------------------------------------------------------------------------------------ */
/* Listeners and what is pending on them.                                                */

enum { ALIVE, ENDED, RESET };   /* what a client did to its end */

struct client
{
    SOCKET s;           /* INVALID_SOCKET once this side closed it */
    USHORT port;
    int state;
    BOOL held;          /* was deferred: the DLL holds it, not the platform */
    BOOL registered;    /* WSAEventSelect/WSAAsyncSelect is on */
};

struct listener
{
    const char *name;
    int family, addr_size;
    SOCKET s;
    SOCKADDR_STORAGE addr;
    struct client q[MAX_QUEUE];     /* q[0] is what the next accept must return */
    int count;
    BOOL blocking;                  /* the application's mode, as far as the model knows */
    BOOL registered;                /* WSAEventSelect/WSAAsyncSelect with a non-zero mask */
    BOOL conditional;               /* SO_CONDITIONAL_ACCEPT */
    HANDLE event;
};

static struct listener lst[2];      /* IPv4 and IPv6, with clients */
static struct listener empty;       /* IPv4, never gets a client */
static int nlst;
static BOOL conditional_listeners;  /* the callbacks subtest sets SO_CONDITIONAL_ACCEPT at random */

static BOOL listener_open(struct listener *l)
{
    SOCKADDR_STORAGE addr;
    BOOL on = TRUE;
    int len;
    SOCKET s = socket(l->family, SOCK_STREAM, IPPROTO_TCP);

    l->s = INVALID_SOCKET;
    l->count = 0;
    l->blocking = l->registered = FALSE;
    l->conditional = conditional_listeners && l != &empty && one_in(2);
    if (s == INVALID_SOCKET) return FALSE;
    if (l->conditional && !check(!setsockopt(s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&on, sizeof(on)),
                                 "%s: SO_CONDITIONAL_ACCEPT failed: %d\n", l->name, WSAGetLastError()))
        l->conditional = FALSE;
    loopback(l->family, &addr, &len);
    if (bind(s, (struct sockaddr *)&addr, len) || listen(s, BACKLOG) || !set_nonblocking(s, TRUE))
    {
        closesocket(s);
        return FALSE;
    }
    l->addr_size = len;
    getsockname(s, (struct sockaddr *)&l->addr, &len);
    l->s = s;
    return TRUE;
}

static void listener_reopen(struct listener *l)
{
    check(listener_open(l), "%s: cannot open the listener again: %d\n", l->name, WSAGetLastError());
}

static BOOL client_add(struct listener *l)
{
    struct client *c = &l->q[l->count];
    SOCKADDR_STORAGE local;
    int len = sizeof(local);
    SOCKET s;

    if (l->count >= MAX_QUEUE || l == &empty) return FALSE;
    s = socket(l->family, SOCK_STREAM, IPPROTO_TCP);
    if (!check(s != INVALID_SOCKET, "%s: socket failed: %d\n", l->name, WSAGetLastError())) return FALSE;
    if (!check(!connect(s, (struct sockaddr *)&l->addr, l->addr_size), "%s: connect failed: %d\n", l->name,
               WSAGetLastError()))
    {
        closesocket(s);
        return FALSE;
    }
    getsockname(s, (struct sockaddr *)&local, &len);
    memset(c, 0, sizeof(*c));
    c->s = s;
    c->port = port_of(&local);
    c->state = ALIVE;
    l->count++;
    return TRUE;
}

static void client_close(struct client *c)
{
    if (c->s != INVALID_SOCKET) closesocket(c->s);
    c->s = INVALID_SOCKET;
}

/* Takes entry I out of the queue; CLOSE also closes the client's end. */
static struct client client_remove(struct listener *l, int i, BOOL close)
{
    struct client c = l->q[i];

    memmove(&l->q[i], &l->q[i + 1], (l->count - i - 1) * sizeof(l->q[0]));
    l->count--;
    if (close) client_close(&c);
    return c;
}

static void client_push_front(struct listener *l, const struct client *c)
{
    memmove(&l->q[1], &l->q[0], l->count * sizeof(l->q[0]));
    l->q[0] = *c;
    l->count++;
}

/* Throws away what is pending, whatever it is, and starts the queue afresh. */
static void resync(struct listener *l)
{
    SOCKET a;
    int type, len = sizeof(type), i;

    if (l->s == INVALID_SOCKET || getsockopt(l->s, SOL_SOCKET, SO_TYPE, (char *)&type, &len))
    {
        if (l->s != INVALID_SOCKET) closesocket(l->s);
        for (i = 0; i < l->count; i++) client_close(&l->q[i]);
        listener_reopen(l);
        return;
    }
    set_nonblocking(l->s, TRUE);
    for (i = 0; i < 2 * MAX_QUEUE + 4; i++)
    {
        a = accept(l->s, NULL, NULL);
        if (a != INVALID_SOCKET) closesocket(a);
        else if (WSAGetLastError() == WSAEWOULDBLOCK || WSAGetLastError() == WSAENOTSOCK) break;
    }
    for (i = 0; i < l->count; i++) client_close(&l->q[i]);
    l->count = 0;
    l->blocking = FALSE;
}

static void replenish(void)
{
    int i;

    for (i = 0; i < nlst; i++)
    {
        if (!lst[i].count) client_add(&lst[i]);
        if (lst[i].count < MAX_QUEUE - 1 && one_in(6)) client_add(&lst[i]);
    }
}

/* Nothing consumed: with connections pending the listener is readable, and the client at
 * the head has seen neither an end nor a reset. */
static BOOL verify_pending(struct listener *l)
{
    WSAPOLLFD pfd;
    int state;

    if (!l->count || l->s == INVALID_SOCKET) return TRUE;
    pfd.fd = l->s;
    pfd.events = POLLRDNORM;
    pfd.revents = 0;
    if (WSAPoll(&pfd, 1, 0) != 1)
    {
        /* A late arrival shows within a moment; a consumed connection never comes back. */
        pfd.revents = 0;
        if (!check(WSAPoll(&pfd, 1, 500) == 1 && (pfd.revents & POLLRDNORM),
                   "%s: %s has %d connection(s) pending but is not readable (revents %#x)\n", desc, l->name,
                   l->count, pfd.revents))
        {
            resync(l);
            return FALSE;
        }
    }
    if (l->q[0].state == ALIVE && l->q[0].s != INVALID_SOCKET)
    {
        state = peer_state(l->q[0].s, 0);
        if (!check(state == PEER_OPEN, "%s: the pending client (port %u) of %s saw its connection end (%d)\n",
                   desc, l->q[0].port, l->name, state))
        {
            resync(l);
            return FALSE;
        }
    }
    return TRUE;
}

static void verify_some_listener(void)
{
    if (one_in(4)) verify_pending(&lst[rnd(nlst)]);
}

/* The outcome the next accept on L has for the head of its queue: 0 for the connection, or
 * the error for a held connection that died (E3, E4). */
static int head_error(const struct listener *l)
{
    const struct client *c = &l->q[0];

    if (!c->held) return 0;
    if (c->state == RESET) return WSAECONNRESET;
    if (c->state == ENDED && l->conditional) return WSAEACCES;
    return 0;
}

static int remote_port(SOCKET s)
{
    SOCKADDR_STORAGE addr;
    int len = sizeof(addr);

    return getpeername(s, (struct sockaddr *)&addr, &len) ? -1 : port_of(&addr);
}

/* Every pending connection, in order: what the model says is there is there, and no more. */
static void drain_compare(struct listener *l)
{
    SOCKET a;
    int i, error, expected, port;

    if (l->s == INVALID_SOCKET) return;
    describe("draining %s (%d pending)", l->name, l->count);
    if (!check(set_nonblocking(l->s, TRUE), "%s: FIONBIO failed: %d\n", desc, WSAGetLastError())) return;
    l->blocking = FALSE;
    for (i = 0; l->count; i++)
    {
        expected = head_error(l);
        a = accept(l->s, NULL, NULL);
        error = a == INVALID_SOCKET ? WSAGetLastError() : 0;
        port = a == INVALID_SOCKET ? -1 : remote_port(a);
        if (a != INVALID_SOCKET) closesocket(a);
        if (expected)
            check(error == expected, "%s: the dead connection of port %u gave %d (port %d), expected %d\n", desc,
                  l->q[0].port, error, port, expected);
        else if (!check(port == l->q[0].port, "%s: connection %d: got port %d (error %d), expected port %u\n", desc,
                        i, port, error, l->q[0].port))
        {
            resync(l);
            return;
        }
        client_remove(l, 0, TRUE);
    }
    a = accept(l->s, NULL, NULL);
    error = WSAGetLastError();
    check(a == INVALID_SOCKET && error == WSAEWOULDBLOCK, "%s: more was pending than the model knew: %#Ix, %d\n",
          desc, (ULONG_PTR)a, error);
    if (a != INVALID_SOCKET) closesocket(a);
}

static BOOL fixture_open(void)
{
    lst[0].name = "the IPv4 listener";
    lst[0].family = AF_INET;
    lst[1].name = "the IPv6 listener";
    lst[1].family = AF_INET6;
    empty.name = "the empty listener";
    empty.family = AF_INET;
    lst[0].event = CreateEventW(NULL, TRUE, FALSE, NULL);
    lst[1].event = CreateEventW(NULL, TRUE, FALSE, NULL);
    empty.event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!check(listener_open(&lst[0]) && listener_open(&empty), "seed %s: cannot open the listeners: %d\n",
               seed_text, WSAGetLastError()))
        return FALSE;
    nlst = 2;
    if (!listener_open(&lst[1]))
    {
        trace("no IPv6 loopback (%d): IPv4 only\n", WSAGetLastError());
        nlst = 1;
    }
    return TRUE;
}

static void fixture_close(void)
{
    int i, j;

    for (i = 0; i < nlst; i++)
    {
        for (j = 0; j < lst[i].count; j++) client_close(&lst[i].q[j]);
        lst[i].count = 0;
        if (lst[i].s != INVALID_SOCKET) closesocket(lst[i].s);
    }
    if (empty.s != INVALID_SOCKET) closesocket(empty.s);
    CloseHandle(lst[0].event);
    CloseHandle(lst[1].event);
    CloseHandle(empty.event);
}

/* ------------------------------------------------------------------------------------ */
/* Socket arguments.                                                                     */

enum { S_LISTENER, S_EMPTY, S_CLIENT, S_TCP, S_BOUND, S_UDP, S_CLOSED, S_CLOSED_LISTENER, S_EVENT, S_FILE,
       S_PIPE, S_MUTEX, S_INVALID, S_ZERO, S_PSEUDO, S_RANDOM, S_KINDS };
static const char *const sock_names[S_KINDS] =
{
    "listener", "empty listener", "client", "tcp", "bound tcp", "udp", "closed", "closed listener", "event",
    "file", "pipe", "mutex", "INVALID_SOCKET", "0", "pseudo handle", "random"
};

struct sock_arg
{
    int kind;
    SOCKET s;
    struct listener *l;     /* S_LISTENER, S_EMPTY */
    struct client *c;       /* S_CLIENT */
    BOOL fresh;             /* made for this call: closed after it */
};

static BOOL not_a_socket(int kind)
{
    return kind >= S_CLOSED;
}

static struct client *any_client(void)
{
    struct client *found[2 * MAX_QUEUE];
    int i, j, n = 0;

    for (i = 0; i < nlst; i++)
        for (j = 0; j < lst[i].count; j++)
            if (lst[i].q[j].s != INVALID_SOCKET) found[n++] = &lst[i].q[j];
    return n ? found[rnd(n)] : NULL;
}

/* A value that names no handle of this process (the kernel ignores the low two bits and
 * Wine the high 32, so the check asks the system rather than comparing values). */
static SOCKET random_socket(void)
{
    static const unsigned widths[] = { 8, 16, 24, 32, 48, 64 };
    ULONG_PTR v;
    unsigned width;
    int i;

    for (i = 0; i < 16; i++)
    {
        width = widths[rnd(ARRAYSIZE(widths))];
        v = (ULONG_PTR)(width >= 64 ? rnd64() : rnd64() & ((1ull << width) - 1));
        if (v && v < (ULONG_PTR)-16 && !handle_alive((HANDLE)v)) return (SOCKET)v;
    }
    return (SOCKET)(ULONG_PTR)0x7ffffff0;
}

/* Chooses the socket argument last of all, so that a closed handle stays unused until the call. */
static void make_sock(struct sock_arg *sa, int kind, BOOL fresh)
{
    SOCKADDR_STORAGE addr;
    int len;
    SOCKET s;

    memset(sa, 0, sizeof(*sa));
    if (kind == S_CLIENT && !(sa->c = any_client())) kind = S_TCP;
    sa->kind = kind;
    switch (kind)
    {
    case S_LISTENER:
        sa->l = &lst[rnd(nlst)];
        sa->s = sa->l->s;
        break;
    case S_EMPTY:
        sa->l = &empty;
        sa->s = empty.s;
        break;
    case S_CLIENT:
        sa->s = sa->c->s;
        break;
    case S_TCP:
        sa->s = fresh ? socket(AF_INET, SOCK_STREAM, 0) : zoo_tcp;
        sa->fresh = fresh;
        break;
    case S_BOUND:
        sa->s = fresh ? bound_socket(SOCK_STREAM) : zoo_bound;
        sa->fresh = fresh;
        break;
    case S_UDP:
        sa->s = fresh ? bound_socket(SOCK_DGRAM) : zoo_udp;
        sa->fresh = fresh;
        break;
    case S_CLOSED:
        s = socket(one_in(2) ? AF_INET : AF_INET6, one_in(3) ? SOCK_DGRAM : SOCK_STREAM, 0);
        closesocket(s);
        sa->s = s;
        break;
    case S_CLOSED_LISTENER:
        s = socket(AF_INET, SOCK_STREAM, 0);
        loopback(AF_INET, &addr, &len);
        bind(s, (struct sockaddr *)&addr, len);
        listen(s, 1);
        closesocket(s);
        sa->s = s;
        break;
    case S_EVENT: sa->s = (SOCKET)zoo_event; break;
    case S_FILE: sa->s = (SOCKET)zoo_file; break;
    case S_PIPE: sa->s = (SOCKET)zoo_pipe_read; break;
    case S_MUTEX: sa->s = (SOCKET)zoo_mutex; break;
    case S_INVALID: sa->s = INVALID_SOCKET; break;
    case S_ZERO: sa->s = 0; break;
    case S_PSEUDO: sa->s = (SOCKET)(INT_PTR)(-2 - (int)rnd(5)); break;
    case S_RANDOM: sa->s = random_socket(); break;
    }
}

/* LISTENER_PERCENT of the time a listener with clients, else any other kind. */
static int pick_sock_kind(unsigned listener_percent)
{
    if (rnd(100) < listener_percent) return S_LISTENER;
    return S_EMPTY + rnd(S_KINDS - S_EMPTY);
}

static void sock_finish(struct sock_arg *sa)
{
    if (sa->fresh && sa->s != INVALID_SOCKET) closesocket(sa->s);
    sa->fresh = FALSE;
}

static const char *sock_str(const struct sock_arg *sa)
{
    static char buf[4][64];
    static int next;
    char *out = buf[next++ & 3];

    if (sa->l) snprintf(out, 64, "%s %#llx [%d pending%s%s]", sa->l == &empty ? "empty listener" : sa->l->name,
                        (unsigned long long)sa->s, sa->l->count, sa->l->blocking ? ", blocking" : "",
                        sa->l->registered ? ", registered" : "");
    else snprintf(out, 64, "%s %#llx", sock_names[sa->kind], (unsigned long long)sa->s);
    return out;
}

/* The error the socket argument alone justifies for a call that needs a listening socket. */
static unsigned listener_errors(const struct sock_arg *sa)
{
    if (not_a_socket(sa->kind)) return bit(WSAENOTSOCK);
    if (sa->kind == S_UDP) return bit(WSAEOPNOTSUPP);
    if (sa->kind == S_TCP || sa->kind == S_BOUND || sa->kind == S_CLIENT) return bit(WSAEINVAL);
    return 0;
}

/* The model's view of whether the socket has a readiness registration. */
static BOOL sock_registered(const struct sock_arg *sa)
{
    if (sa->l) return sa->l->registered;
    if (sa->c) return sa->c->registered;
    return FALSE;
}

/* A listener argument must not leave a call waiting: blocking only with a connection pending. */
static BOOL make_bounded(struct listener *l)
{
    WSAPOLLFD pfd;

    if (!l || !l->blocking) return TRUE;
    if (!l->count)
    {
        if (check(set_nonblocking(l->s, TRUE), "%s: FIONBIO failed: %d\n", l->name, WSAGetLastError()))
            l->blocking = FALSE;
        return !l->blocking;
    }
    pfd.fd = l->s;
    pfd.events = POLLRDNORM;
    pfd.revents = 0;
    if (WSAPoll(&pfd, 1, 500) == 1) return TRUE;
    check(0, "%s: blocking with %d connection(s) pending, but not readable\n", l->name, l->count);
    resync(l);
    return FALSE;
}

/* ------------------------------------------------------------------------------------ */
/* The condition function: checks what it is given (C3-C9), checks the connection it is  */
/* offered is the head of the queue, and does what the call's plan says.                 */

enum { ACT_NONE, ACT_SCRIBBLE, ACT_GETSOCKOPT, ACT_POLL, ACT_SELECT, ACT_STARTUP_PAIR, ACT_END_CLIENT,
       ACT_RESET_CLIENT, ACT_NESTED_OTHER, ACT_NESTED_BAD, ACT_NESTED_SAME, ACT_CLOSE_LISTENER, ACT_EVENTSELECT,
       ACT_EVENTSELECT_OFF, ACT_FIONBIO, ACT_COUNT };
#define ACT_NESTABLE ACT_NESTED_SAME  /* actions below this one are allowed inside a nested call */
static const char *const act_names[ACT_COUNT] =
{
    "none", "scribble", "getsockopt", "WSAPoll", "select", "WSAStartup+WSACleanup", "client ends",
    "client resets", "WSAAccept on the other listener", "WSAAccept on no listener",
    "WSAAccept on the same listener", "closesocket(listener)", "WSAEventSelect", "WSAEventSelect off",
    "FIONBIO"
};

struct cond_ctx
{
    struct listener *l;
    DWORD_PTR data;
    int ret, action, depth;
    LONG calls;
    BOOL took_head;
    struct client head;             /* the connection offered, out of the queue while deciding */
    BOOL closed_listener, ended_client, scribbled;
};

static struct cond_ctx *cond_stack[8];
static int cond_depth;

static BOOL same_address(const void *buf, ULONG len, const struct listener *l, int port)
{
    const SOCKADDR_STORAGE *sa = buf;

    if (!buf || len != (ULONG)l->addr_size || sa->ss_family != l->family || port_of(sa) != port) return FALSE;
    if (l->family == AF_INET) return ((const SOCKADDR_IN *)sa)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    return !memcmp(&((const SOCKADDR_IN6 *)sa)->sin6_addr, &in6addr_loopback, sizeof(in6addr_loopback));
}

struct accept_call;
static void run_accept(struct accept_call *a);
static void nested_accept(struct cond_ctx *ctx, int target);

static void cond_action(struct cond_ctx *ctx, WSABUF *caller_id, WSABUF *callee_id, WSABUF *callee_data, GROUP *g)
{
    struct listener *l = ctx->l;
    struct timeval tv = { 0, 0 };
    LINGER linger = { 1, 0 };
    WSAPOLLFD pfd = { l->s, POLLRDNORM, 0 };
    WSADATA data;
    fd_set set;
    u_long arg;
    int type = 0, len = sizeof(type), ret;

    switch (ctx->action)
    {
    case ACT_SCRIBBLE:
        /* The documentation tells a callback to set lpCalleeData->len to 0; the rest the DLL
         * must shrug off: its buffers are copies (C3, C10), the group is ignored (C8). */
        if (caller_id && caller_id->buf) memset(caller_id->buf, 0x5a, caller_id->len);
        if (callee_id && callee_id->buf) memset(callee_id->buf, 0xa5, callee_id->len);
        if (caller_id) caller_id->len = (ULONG)rnd64();
        if (callee_id) callee_id->len = (ULONG)rnd64();
        if (callee_data) callee_data->len = 0;
        if (g) *g = (GROUP)rnd64();
        ctx->scribbled = TRUE;
        break;
    case ACT_GETSOCKOPT:
        ret = getsockopt(l->s, SOL_SOCKET, SO_TYPE, (char *)&type, &len);
        check(!ret && type == SOCK_STREAM, "%s: getsockopt(SO_TYPE) in the callback: %d, type %d, error %d\n", desc,
              ret, type, WSAGetLastError());
        len = sizeof(type);
        ret = getsockopt(l->s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&type, &len);
        check(!ret && !type == !l->conditional, "%s: SO_CONDITIONAL_ACCEPT in the callback: %d, %d, error %d\n",
              desc, ret, type, WSAGetLastError());
        break;
    case ACT_POLL:
        ret = WSAPoll(&pfd, 1, 0);
        check(ret >= 0, "%s: WSAPoll in the callback failed: %d\n", desc, WSAGetLastError());
        break;
    case ACT_SELECT:
        FD_ZERO(&set);
        FD_SET(l->s, &set);
        ret = select(0, &set, NULL, NULL, &tv);
        check(ret >= 0, "%s: select in the callback failed: %d\n", desc, WSAGetLastError());
        break;
    case ACT_STARTUP_PAIR:
        check(!WSAStartup(MAKEWORD(2, 2), &data), "%s: WSAStartup in the callback failed\n", desc);
        check(!WSACleanup(), "%s: WSACleanup in the callback failed: %d\n", desc, WSAGetLastError());
        break;
    case ACT_END_CLIENT:
    case ACT_RESET_CLIENT:
        if (!ctx->took_head || ctx->head.s == INVALID_SOCKET) break;
        if (ctx->action == ACT_RESET_CLIENT)
            setsockopt(ctx->head.s, SOL_SOCKET, SO_LINGER, (char *)&linger, sizeof(linger));
        client_close(&ctx->head);
        if (ctx->head.state == ALIVE) ctx->head.state = ctx->action == ACT_RESET_CLIENT ? RESET : ENDED;
        ctx->ended_client = TRUE;
        break;
    case ACT_NESTED_OTHER:
        nested_accept(ctx, 0);
        break;
    case ACT_NESTED_BAD:
        nested_accept(ctx, 1);
        break;
    case ACT_NESTED_SAME:
        nested_accept(ctx, 2);
        break;
    case ACT_CLOSE_LISTENER:
        ret = closesocket(l->s);
        check(!ret, "%s: closesocket(listener) in the callback failed: %d\n", desc, WSAGetLastError());
        ctx->closed_listener = TRUE;
        break;
    case ACT_EVENTSELECT:
        ret = WSAEventSelect(l->s, l->event, FD_ACCEPT);
        if (check(!ret, "%s: WSAEventSelect in the callback failed: %d\n", desc, WSAGetLastError()))
        {
            l->registered = TRUE;
            l->blocking = FALSE;
        }
        break;
    case ACT_EVENTSELECT_OFF:
        ret = WSAEventSelect(l->s, NULL, 0);
        if (check(!ret, "%s: WSAEventSelect(0) in the callback failed: %d\n", desc, WSAGetLastError()))
        {
            l->registered = FALSE;
            l->blocking = FALSE;
        }
        break;
    case ACT_FIONBIO:
        arg = rnd(2);
        ret = ioctlsocket(l->s, FIONBIO, &arg);
        if (!arg && l->registered)
            check(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL,
                  "%s: FIONBIO 0 on a registered listener in the callback: %d, error %d\n", desc, ret,
                  WSAGetLastError());
        else if (check(!ret, "%s: FIONBIO %lu in the callback failed: %d\n", desc, arg, WSAGetLastError()))
            l->blocking = !arg;
        break;
    }
}

static int CALLBACK fuzz_condition(WSABUF *caller_id, WSABUF *caller_data, QOS *sqos, QOS *gqos,
                                   WSABUF *callee_id, WSABUF *callee_data, GROUP *g, DWORD_PTR data)
{
    struct cond_ctx *ctx = cond_depth ? cond_stack[cond_depth - 1] : NULL;
    struct listener *l;

    if (!check(ctx != NULL, "%s: a condition function was called with no WSAAccept in progress\n", desc))
        return CF_REJECT;
    l = ctx->l;
    ctx->calls++;
    if (!check(ctx->calls == 1, "%s: the condition function was called %ld times\n", desc, ctx->calls))
        return CF_DEFER;
    check(data == ctx->data, "%s: dwCallbackData %#Ix, passed %#Ix (C9)\n", desc, (ULONG_PTR)data,
          (ULONG_PTR)ctx->data);
    if (!check(l && l->count, "%s: the condition function was called on %s with nothing pending\n", desc,
               l ? l->name : "no listener"))
        return CF_DEFER;
    check(caller_id && same_address(caller_id->buf, caller_id->len, l, l->q[0].port),
          "%s: lpCallerId is %s (len %lu), the head of the queue is port %u (C3, D3)\n", desc,
          caller_id && caller_id->buf ? addr_str(caller_id->buf) : "missing", caller_id ? caller_id->len : 0,
          l->q[0].port);
    check(!caller_data, "%s: lpCallerData %p (C4)\n", desc, caller_data);
    check(!sqos && !gqos, "%s: lpSQOS %p, lpGQOS %p (C5)\n", desc, sqos, gqos);
    check(callee_id && same_address(callee_id->buf, callee_id->len, l, port_of(&l->addr)),
          "%s: lpCalleeId is %s (len %lu), the listener is %s (C6)\n", desc,
          callee_id && callee_id->buf ? addr_str(callee_id->buf) : "missing", callee_id ? callee_id->len : 0,
          addr_str(&l->addr));
    check(callee_data && !callee_data->len && !callee_data->buf, "%s: lpCalleeData %p (C7)\n", desc, callee_data);
    check(g && !*g, "%s: g %p, *g %lu (C8)\n", desc, g, g ? (unsigned long)*g : 0);

    /* While it decides, the connection is no longer pending: nested calls see the rest. */
    ctx->head = client_remove(l, 0, FALSE);
    ctx->took_head = TRUE;
    cond_action(ctx, caller_id, callee_id, callee_data, g);
    client_push_front(l, &ctx->head);
    return ctx->ret;
}

/* ------------------------------------------------------------------------------------ */
/* One accept or WSAAccept, and everything its outcome must show.                        */

enum { C_NULL, C_VALID, C_BAD };

struct accept_call
{
    BOOL wsa;
    struct sock_arg sock;
    struct ptr addr, addrlen;
    int len_before;             /* *addrlen before the call, when readable */
    int cond;
    struct ptr bad_cond;
    struct cond_ctx ctx;
};

static int random_ret(void)
{
    static const int odd[] = { 3, -1, 4, 255, INT_MIN, INT_MAX, 0x10000, -2 };
    unsigned r = rnd(100);

    if (r < 40) return CF_ACCEPT;
    if (r < 60) return CF_REJECT;
    if (r < 80) return CF_DEFER;
    return one_in(2) ? pick_int(odd, ARRAYSIZE(odd)) : (int)rnd64();
}

static const char *cond_str(const struct accept_call *a)
{
    static char buf[2][96];
    static int next;
    char *out = buf[next++ & 1];

    if (a->cond == C_NULL) return "NULL";
    if (a->cond == C_BAD) return ptr_str(&a->bad_cond);
    snprintf(out, 96, "returns %d after %s, data %#llx", a->ctx.ret, act_names[a->ctx.action],
             (unsigned long long)a->ctx.data);
    return out;
}

/* The listener was closed from the callback: what it held and what was queued ends (E5). */
static void after_listener_closed(struct listener *l)
{
    int i, state;

    for (i = 0; i < l->count; i++)
    {
        if (l->q[i].state != ALIVE || l->q[i].s == INVALID_SOCKET) continue;
        state = peer_state(l->q[i].s, 2000);
        check(state == PEER_FIN || state == PEER_RESET,
              "%s: the listener was closed, but pending client %d (port %u) saw no end (%d) (E5)\n", desc, i,
              l->q[i].port, state);
    }
    for (i = 0; i < l->count; i++) client_close(&l->q[i]);
    l->count = 0;
    listener_reopen(l);
}

static void run_accept(struct accept_call *a)
{
    struct listener *l = a->sock.l;
    const char *fn = a->wsa ? "WSAAccept" : "accept";
    unsigned documented = a->wsa ? DOC_WSAACCEPT : DOC_ACCEPT, required, maybe;
    int family_size = l ? l->addr_size : (int)sizeof(SOCKADDR_IN), len_after, error, expected, port, state;
    char before[64], *addr_copy = NULL;
    BOOL normal, consumed = FALSE, killed, took_it;
    int dead = 0;
    struct client head;
    SOCKET ret;

    if (!make_bounded(l)) return;
    if (a->addrlen.writable >= sizeof(int)) put_int(&a->addrlen, a->len_before);
    else get_int(&a->addrlen, &a->len_before);
    if (a->addr.writable)
    {
        memset(a->addr.p, 0xcc, min(a->addr.writable, sizeof(before)));
        memcpy(before, a->addr.p, min(a->addr.writable, sizeof(before)));
        addr_copy = before;
    }

    /* What the arguments justify (A3-A8, B1). */
    required = listener_errors(&a->sock);
    maybe = 0;
    if (l && !l->count) required |= bit(WSAEWOULDBLOCK);
    if (a->addrlen.kind != P_NULL)
    {
        if (a->addrlen.writable < sizeof(int)) required |= bit(WSAEFAULT);
        else if (a->addr.kind != P_NULL)
        {
            if (a->len_before < family_size || a->addr.writable < (SIZE_T)family_size) required |= bit(WSAEFAULT);
            else if (a->addr.writable < (SIZE_T)a->len_before) maybe |= bit(WSAEFAULT);
        }
    }
    else if (bad_for_write(&a->addr, family_size)) maybe |= bit(WSAEFAULT);
    if (a->wsa && a->cond == C_BAD) required |= bit(WSAEFAULT);
    normal = !required && l && l->count;
    if (normal)
    {
        head = l->q[0];
        dead = head_error(l);
    }

    describe("%s(%s, addr %s, addrlen %s -> %d, condition %s)", fn, sock_str(&a->sock), ptr_str(&a->addr),
             ptr_str(&a->addrlen), a->len_before, a->wsa ? cond_str(a) : "-");

    a->ctx.l = l;
    a->ctx.depth = cond_depth;
    if (a->wsa) cond_stack[cond_depth++] = &a->ctx;
    ret = a->wsa ? WSAAccept(a->sock.s, (struct sockaddr *)a->addr.p, (int *)a->addrlen.p,
                             a->cond == C_VALID ? fuzz_condition : a->cond == C_BAD ? (LPCONDITIONPROC)a->bad_cond.p : NULL,
                             a->ctx.data)
                 : accept(a->sock.s, (struct sockaddr *)a->addr.p, (int *)a->addrlen.p);
    error = ret == INVALID_SOCKET ? WSAGetLastError() : 0;
    if (a->wsa) cond_depth--;
    len_after = a->len_before;
    if (a->addrlen.writable >= sizeof(int)) get_int(&a->addrlen, &len_after);

    if (!normal)
    {
        /* An entry check failed: nothing reached, nothing consumed. */
        if (!check(ret == INVALID_SOCKET, "%s: returned %#Ix, expected %s\n", desc, (ULONG_PTR)ret,
                   set_str(required | maybe)))
        {
            count_result(FALSE, 0);
            closesocket(ret);
            if (l) resync(l);
            return;
        }
        check_error(fn, documented, required | maybe, error);
        check(!a->ctx.calls, "%s: the condition function was called\n", desc);
        check(len_after == a->len_before, "%s: *addrlen went from %d to %d\n", desc, a->len_before, len_after);
        if (l) verify_pending(l);
        else verify_some_listener();
        return;
    }
    if (maybe && ret == INVALID_SOCKET && error == WSAEFAULT && !a->ctx.calls)
    {
        /* The argument the DLL may refuse (more claimed than there is room for). */
        count_result(TRUE, error);
        check(!a->ctx.calls, "%s: the condition function was called\n", desc);
        check(len_after == a->len_before, "%s: *addrlen went from %d to %d\n", desc, a->len_before, len_after);
        verify_pending(l);
        return;
    }

    /* The call reached the head of the queue. */
    expected = dead;
    killed = FALSE;
    took_it = TRUE;
    if (expected)
    {
        check(!a->ctx.calls, "%s: the dead connection (port %u) was offered to the condition function (E3, E4)\n",
              desc, head.port);
        consumed = TRUE;
    }
    else if (a->wsa && a->cond == C_VALID)
    {
        if (!check(a->ctx.calls == 1, "%s: the condition function was called %ld times\n", desc, a->ctx.calls))
        {
            if (ret != INVALID_SOCKET) closesocket(ret);
            resync(l);
            return;
        }
        killed = a->ctx.ended_client;
        if (a->ctx.closed_listener && a->ctx.ret != CF_ACCEPT) expected = WSAENOTSOCK, consumed = TRUE;
        else if (a->ctx.ret == CF_ACCEPT) expected = 0;
        else if (a->ctx.ret == CF_REJECT) expected = WSAECONNREFUSED, consumed = TRUE;
        else
        {
            expected = a->ctx.ret == CF_DEFER ? WSATRY_AGAIN : WSAEINVAL;
            took_it = FALSE;
        }
    }

    if (!expected)
    {
        if (!check(ret != INVALID_SOCKET || (killed && error == WSAECONNRESET),
                   "%s: failed with %d, expected the connection of port %u\n", desc, error, head.port))
        {
            count_result(TRUE, error);
            resync(l);
            return;
        }
        if (ret == INVALID_SOCKET)
        {
            count_result(TRUE, error);
            client_remove(l, 0, TRUE);
            return;
        }
        count_result(FALSE, 0);
        port = remote_port(ret);
        /* A connection its client reset may have no peer address left. */
        if (port == -1 && killed) port = head.port;
        if (!check(port == head.port, "%s: returned the connection of port %d, the head of the queue is port %u\n",
                   desc, port, head.port))
        {
            closesocket(ret);
            resync(l);
            return;
        }
        if (a->addrlen.writable >= sizeof(int) && a->addr.kind != P_NULL)
        {
            check(len_after == family_size, "%s: *addrlen %d, expected %d (D1)\n", desc, len_after, family_size);
            check(same_address(a->addr.p, family_size, l, head.port), "%s: addr is %s, the peer is port %u (D1, C10)\n",
                  desc, addr_str(a->addr.p), head.port);
        }
        else if (a->addrlen.kind == P_NULL && addr_copy)
            check(!memcmp(a->addr.p, addr_copy, min(a->addr.writable, sizeof(before))),
                  "%s: addr was written without addrlen (A8)\n", desc);
        if (a->ctx.scribbled)
        {
            GROUP group = 1;
            int len = sizeof(group);
            check(!getsockopt(ret, SOL_SOCKET, SO_GROUP_ID, (char *)&group, &len) && !group,
                  "%s: SO_GROUP_ID %lu after the callback wrote *g (C8)\n", desc, (unsigned long)group);
        }
        closesocket(ret);
        client_remove(l, 0, TRUE);
        if (a->ctx.closed_listener) after_listener_closed(l);
        return;
    }

    if (!check(ret == INVALID_SOCKET, "%s: returned %#Ix (port %d), expected %s\n", desc, (ULONG_PTR)ret,
               remote_port(ret), set_str(bit(expected))))
    {
        count_result(FALSE, 0);
        closesocket(ret);
        resync(l);
        return;
    }
    check_error(fn, documented, bit(expected), error);
    check(len_after == a->len_before, "%s: *addrlen went from %d to %d\n", desc, a->len_before, len_after);
    if (error != expected)
    {
        if (a->ctx.closed_listener) after_listener_closed(l);
        else resync(l);
        return;
    }
    if (consumed)
    {
        /* Refused (D2) or closed with the listener (D5): the client sees the end. */
        if (l->q[0].state == ALIVE && l->q[0].s != INVALID_SOCKET)
        {
            state = peer_state(l->q[0].s, 2000);
            check(state == PEER_FIN || state == PEER_RESET, "%s: the refused client (port %u) saw no end (%d)\n",
                  desc, l->q[0].port, state);
        }
        client_remove(l, 0, TRUE);
        if (a->ctx.closed_listener) after_listener_closed(l);
        else verify_pending(l);
        return;
    }
    if (!took_it)
    {
        /* D3, D4: the connection stays at the head, held. */
        l->q[0].held = TRUE;
        if (a->ctx.closed_listener) after_listener_closed(l);
        else verify_pending(l);
    }
}

static void plan_condition(struct accept_call *a, int max_action)
{
    unsigned r = rnd(100);

    a->ctx.data = (DWORD_PTR)rnd64();
    a->ctx.ret = random_ret();
    a->ctx.action = ACT_NONE;
    if (max_action > ACT_NONE && r >= 40) a->ctx.action = 1 + rnd(max_action - 1);
}

/* From inside a condition function: WSAAccept on the other listener (0), on something that is
 * no listener (1), or on the same one (2), checked like any other call. */
static void nested_accept(struct cond_ctx *ctx, int target)
{
    static const int no_listener[] = { S_UDP, S_CLOSED, S_EVENT, S_TCP, S_INVALID, S_EMPTY };
    struct accept_call *a = calloc(1, sizeof(*a));
    char saved[sizeof(desc)];
    struct listener *l;

    memcpy(saved, desc, sizeof(desc));
    a->wsa = TRUE;
    a->addr = make_ptr(2 + 2 * ctx->depth, 128, P_VALID);
    a->addrlen = make_ptr(3 + 2 * ctx->depth, sizeof(int), one_in(3) ? P_NULL : P_VALID);
    a->len_before = 128;
    a->cond = C_VALID;
    plan_condition(a, ctx->depth < 1 ? ACT_NESTABLE : ACT_NESTED_OTHER);
    if (target == 1)
    {
        make_sock(&a->sock, no_listener[rnd(ARRAYSIZE(no_listener))], FALSE);
    }
    else
    {
        l = target == 2 ? ctx->l : nlst > 1 ? &lst[ctx->l == &lst[0]] : &empty;
        memset(&a->sock, 0, sizeof(a->sock));
        a->sock.kind = l == &empty ? S_EMPTY : S_LISTENER;
        a->sock.l = l;
        a->sock.s = l->s;
    }
    run_accept(a);
    memcpy(desc, saved, sizeof(desc));
    free(a);
}

/* ------------------------------------------------------------------------------------ */
/* Subtest scaffolding.                                                                  */

static void quiesce(void)
{
    int i;

    for (i = 0; i < nlst; i++) resync(&lst[i]);
    resync(&empty);
    drain_messages();
}

static BOOL fuzz_begin(unsigned short_run, WORD version)
{
    char value[64];
    LARGE_INTEGER now;
    WSADATA data;
    unsigned i;

    if (GetEnvironmentVariableA("WS2_FUZZ_SEED", value, sizeof(value)) && value[0])
        seed = strtoull(value, NULL, 0);
    else
    {
        QueryPerformanceCounter(&now);
        seed = ((UINT64)now.QuadPart * 0x9e3779b97f4a7c15ull) ^ ((UINT64)GetCurrentProcessId() << 40) ^ GetTickCount();
    }
    snprintf(seed_text, sizeof(seed_text), "0x%08lx%08lx", (unsigned long)(seed >> 32), (unsigned long)seed);
    iterations = short_run;
    if (GetEnvironmentVariableA("WS2_FUZZ_ITERATIONS", value, sizeof(value)) && strtoul(value, NULL, 0))
        iterations = strtoul(value, NULL, 0);
    warm_iteration = min(iterations / 10, 200);
    trace("seed %s, %u iterations (WS2_FUZZ_SEED=%s WS2_FUZZ_ITERATIONS=%u repeats this run)\n", seed_text,
          iterations, seed_text, iterations);
    failures = 0;
    calls_made = calls_succeeded = other_errors = 0;
    for (i = 0; i < ARRAYSIZE(codes); i++) error_counts[i] = 0;
    handles_measured = FALSE;
    conditional_listeners = FALSE;
    rng = seed;
    begun = FALSE;

    if (!check(!WSAStartup(version, &data), "seed %s: WSAStartup failed\n", seed_text)) return FALSE;
    memory_init();
    zoo_init();
    begun = TRUE;
    if (!fixture_open()) return FALSE;
    watchdog_stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    watchdog_thread = CreateThread(NULL, 0, watchdog, NULL, 0, NULL);
    iteration_start = GetTickCount();
    watching = 1;
    return TRUE;
}

static void fuzz_loop(void (*one)(void))
{
    DWORD start = GetTickCount();
    unsigned i;

    for (i = 0; i < iterations && failures < MAX_FAILURES; i++)
    {
        if (i == warm_iteration)
        {
            iteration_start = GetTickCount();
            quiesce();
            GetProcessHandleCount(GetCurrentProcess(), &handles_before);
            handles_measured = TRUE;
        }
        iteration_begin(i);
        one();
        iteration_end();
    }
    ok(failures < MAX_FAILURES, "seed %s: stopped at iteration %u after %ld failures\n", seed_text, i, failures);
    trace("%u iterations in %lu ms\n", i, GetTickCount() - start);
}

static void fuzz_end(void)
{
    DWORD after;
    char line[512];
    unsigned i, len;
    int j;

    if (!begun) return;
    winetest_push_context("seed %s end", seed_text);
    iteration_start = GetTickCount();
    for (j = 0; j < nlst; j++) drain_compare(&lst[j]);
    drain_compare(&empty);
    quiesce();
    /* A leak in any path that runs more than a handful of times shows as hundreds of handles;
     * the slack is for objects Wine's own DLLs make once, on the first use of a path that the
     * warm-up happened not to take (a window's message queue, a thread's wait object). */
    GetProcessHandleCount(GetCurrentProcess(), &after);
    if (handles_measured)
        check(after <= handles_before + HANDLE_SLACK, "handles went from %lu to %lu over the run\n",
              handles_before, after);
    winetest_pop_context();
    watching = 0;
    if (watchdog_thread)
    {
        SetEvent(watchdog_stop);
        WaitForSingleObject(watchdog_thread, INFINITE);
        CloseHandle(watchdog_thread);
        CloseHandle(watchdog_stop);
        watchdog_thread = watchdog_stop = NULL;
    }
    fixture_close();
    zoo_free();
    memory_free();
    WSACleanup();

    len = snprintf(line, sizeof(line), "%u calls, %u succeeded;", calls_made, calls_succeeded);
    for (i = 0; i < ARRAYSIZE(codes) && len < sizeof(line) - 40; i++)
        if (error_counts[i]) len += snprintf(line + len, sizeof(line) - len, " %s %u", code_names[i], error_counts[i]);
    if (other_errors) snprintf(line + len, sizeof(line) - len, " other %u", other_errors);
    trace("%s\n", line);
}

/* ------------------------------------------------------------------------------------ */
/* wsaaccept, accept: random arguments.                                                  */

static void random_accept_args(struct accept_call *a, BOOL wsa)
{
    static const int lens[] = { 0, 1, 15, 16, 27, 28, 128, INT_MAX, -1, INT_MIN };
    static const int sizes[] = { 16, 28, 128 };
    static const int bad_code[] = { P_SMALL, P_KERNEL, P_WILD, P_DECOMMITTED, P_RELEASED, P_NOACCESS, P_READONLY,
                                    P_VALID };
    unsigned r;

    memset(a, 0, sizeof(*a));
    a->wsa = wsa;
    a->addr = make_ptr(0, sizes[rnd(ARRAYSIZE(sizes))], pick_kind(60));
    a->addrlen = make_ptr(1, sizeof(int), pick_kind(65));
    r = rnd(10);
    a->len_before = r < 5 ? pick_int(lens, ARRAYSIZE(lens)) : r < 8 ? (int)a->addr.writable : (int)rnd64();
    if (wsa)
    {
        r = rnd(100);
        a->cond = r < 70 ? C_VALID : r < 85 ? C_NULL : C_BAD;
        /* A data pointer is no code either: the DLL must not call it. */
        if (a->cond == C_BAD) a->bad_cond = make_ptr(2, 16, bad_code[rnd(ARRAYSIZE(bad_code))]);
        plan_condition(a, ACT_SCRIBBLE + 1);
    }
}

static void toggle_blocking(void)
{
    struct listener *l = &lst[rnd(nlst)];

    if (l->registered || !one_in(40)) return;
    if (set_nonblocking(l->s, l->blocking)) l->blocking = !l->blocking;
}

static void accept_iteration(BOOL wsa)
{
    struct accept_call a;

    replenish();
    toggle_blocking();
    random_accept_args(&a, wsa);
    make_sock(&a.sock, pick_sock_kind(55), FALSE);
    run_accept(&a);
}

static void wsaaccept_one(void) { accept_iteration(TRUE); }
static void accept_one(void) { accept_iteration(FALSE); }

static void test_wsaaccept(void)
{
    if (fuzz_begin(3000, MAKEWORD(2, 2))) fuzz_loop(wsaaccept_one);
    fuzz_end();
}

static void test_accept(void)
{
    if (fuzz_begin(3000, MAKEWORD(2, 2))) fuzz_loop(accept_one);
    fuzz_end();
}

/* ------------------------------------------------------------------------------------ */
/* callbacks: condition functions that call back into Winsock.                           */

static void callbacks_one(void)
{
    struct accept_call a;
    struct listener *l;
    int i;

    replenish();
    toggle_blocking();
    memset(&a, 0, sizeof(a));
    a.wsa = TRUE;
    a.cond = C_VALID;
    l = &lst[rnd(nlst)];
    if (!l->count) client_add(l);
    for (i = rnd(3); i > 0; i--) client_add(l);
    a.addr = make_ptr(0, 128, one_in(4) ? P_NULL : P_VALID);
    a.addrlen = make_ptr(1, sizeof(int), one_in(4) ? P_NULL : P_UNALIGNED);
    a.len_before = 128;
    plan_condition(&a, ACT_COUNT);
    /* Inside the callback the same listener must not be able to wait. */
    if (a.ctx.action == ACT_NESTED_SAME && l->blocking && set_nonblocking(l->s, TRUE)) l->blocking = FALSE;
    memset(&a.sock, 0, sizeof(a.sock));
    a.sock.kind = S_LISTENER;
    a.sock.l = l;
    a.sock.s = l->s;
    run_accept(&a);
}

static void test_callbacks(void)
{
    if (fuzz_begin(2000, MAKEWORD(2, 2)))
    {
        /* Half the listeners refuse connections whose peer gave up while deferred (E4). */
        conditional_listeners = TRUE;
        closesocket(lst[0].s);
        listener_reopen(&lst[0]);
        if (nlst > 1)
        {
            closesocket(lst[1].s);
            listener_reopen(&lst[1]);
        }
        fuzz_loop(callbacks_one);
    }
    fuzz_end();
}

/* ------------------------------------------------------------------------------------ */
/* owned: the other functions the front owns.                                            */

/* Checks a call that returned SOCKET_ERROR or 0: documented, justified, or expected to work. */
static BOOL check_int_call(const char *fn, unsigned documented, int ret, int error, unsigned required,
                           unsigned maybe)
{
    if (ret == SOCKET_ERROR)
    {
        check_error(fn, documented, required | maybe, error);
        return FALSE;
    }
    count_result(FALSE, 0);
    check(!ret, "%s: returned %d\n", desc, ret);
    check(!required, "%s: succeeded, expected %s\n", desc, set_str(required));
    return !required;
}

static void op_listen(void)
{
    static const int backlogs[] = { 0, 1, 5, SOMAXCONN, -1, INT_MIN, INT_MAX, 200 };
    struct sock_arg sa;
    int backlog = rnd(2) ? pick_int(backlogs, ARRAYSIZE(backlogs)) : (int)rnd64(), ret, error;
    unsigned required = 0, maybe = 0;

    make_sock(&sa, pick_sock_kind(30), TRUE);
    if (not_a_socket(sa.kind)) required = bit(WSAENOTSOCK);
    else if (sa.kind == S_UDP) required = bit(WSAEOPNOTSUPP);
    else if (sa.kind == S_CLIENT) required = bit(WSAEISCONN) | bit(WSAEINVAL);
    else if (sa.kind == S_TCP) maybe = bit(WSAEINVAL);     /* unbound: Windows refuses, others bind it */
    describe("listen(%s, %d)", sock_str(&sa), backlog);
    ret = listen(sa.s, backlog);
    error = WSAGetLastError();
    check_int_call("listen", DOC_LISTEN, ret, error, required, maybe);
    if (sa.l && !ret)
    {
        /* Back to a backlog that leaves room for the clients the fuzz adds. */
        check(!listen(sa.s, BACKLOG), "%s: listen(%d) again failed: %d\n", desc, BACKLOG, WSAGetLastError());
        verify_pending(sa.l);
    }
    else verify_some_listener();
    sock_finish(&sa);
}

static BOOL is_tcp_kind(int kind)
{
    return kind == S_LISTENER || kind == S_EMPTY || kind == S_CLIENT || kind == S_TCP || kind == S_BOUND;
}

static void op_setsockopt(void)
{
    static const int lens[] = { 0, 1, 3, 4, 5, 8, INT_MAX, -1, INT_MIN };
    static const int values[] = { 0, 1, 2, -1 };
    struct sock_arg sa;
    struct ptr value = make_ptr(2, sizeof(BOOL), pick_kind(70));
    int len = pick_int(lens, ARRAYSIZE(lens)), v = pick_int(values, ARRAYSIZE(values)), ret, error, got, got_len;
    unsigned required = 0, maybe = 0;

    put_int(&value, v);
    get_int(&value, &v);
    make_sock(&sa, pick_sock_kind(30), TRUE);
    /* F1: a TCP socket that does not listen yet. */
    if (not_a_socket(sa.kind)) required |= bit(WSAENOTSOCK);
    else if (sa.kind == S_UDP) required |= bit(WSAENOPROTOOPT);
    else if (sa.l) required |= bit(WSAEINVAL);
    if (len < (int)sizeof(BOOL) || value.readable < sizeof(BOOL)) required |= bit(WSAEFAULT);
    else if (value.readable < (SIZE_T)len) maybe |= bit(WSAEFAULT);
    describe("setsockopt(%s, SO_CONDITIONAL_ACCEPT, %s -> %d, %d)", sock_str(&sa), ptr_str(&value), v, len);
    ret = setsockopt(sa.s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, value.p, len);
    error = WSAGetLastError();
    if (check_int_call("setsockopt", DOC_SETSOCKOPT, ret, error, required, maybe) && is_tcp_kind(sa.kind))
    {
        got_len = sizeof(got);
        got = 7;
        check(!getsockopt(sa.s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&got, &got_len) && got == (v != 0),
              "%s: reads back %d, error %d\n", desc, got, WSAGetLastError());
    }
    if (sa.l) verify_pending(sa.l);
    sock_finish(&sa);
}

static void op_getsockopt(void)
{
    static const int lens[] = { 0, 1, 3, 4, 5, 8, 128, INT_MAX, -1 };
    struct sock_arg sa;
    struct ptr value = make_ptr(2, sizeof(BOOL), pick_kind(70)), len = make_ptr(3, sizeof(int), pick_kind(70));
    int len_before = pick_int(lens, ARRAYSIZE(lens)), len_after = 0, got = -1, ret, error;
    unsigned required = 0, maybe = 0;

    put_int(&len, len_before);
    get_int(&len, &len_before);
    put_int(&value, 0x55555555);
    make_sock(&sa, pick_sock_kind(30), TRUE);
    if (not_a_socket(sa.kind)) required |= bit(WSAENOTSOCK);
    else if (sa.kind == S_UDP) required |= bit(WSAENOPROTOOPT);
    if (len.writable < sizeof(int) || len_before < (int)sizeof(BOOL) || value.writable < sizeof(BOOL))
        required |= bit(WSAEFAULT);
    else if (value.writable < (SIZE_T)len_before) maybe |= bit(WSAEFAULT);
    describe("getsockopt(%s, SO_CONDITIONAL_ACCEPT, %s, %s -> %d)", sock_str(&sa), ptr_str(&value), ptr_str(&len),
             len_before);
    ret = getsockopt(sa.s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, value.p, (int *)len.p);
    error = WSAGetLastError();
    if (check_int_call("getsockopt", DOC_GETSOCKOPT, ret, error, required, maybe))
    {
        get_int(&len, &len_after);
        get_int(&value, &got);
        check(len_after == sizeof(BOOL) && (got == 0 || got == 1), "%s: value %d, length %d\n", desc, got, len_after);
        if (sa.l) check(got == sa.l->conditional, "%s: %d, the listener has %d\n", desc, got, sa.l->conditional);
    }
    if (sa.l) verify_pending(sa.l);
    sock_finish(&sa);
}

static void after_mode_change(struct sock_arg *sa, u_long value)
{
    if (sa->l) sa->l->blocking = !value;
}

static void op_fionbio(void)
{
    static const int values[] = { 0, 1, 0, 1, -1, 0x100 };
    struct sock_arg sa;
    struct ptr arg = make_ptr(2, sizeof(u_long), pick_kind(75));
    int v = pick_int(values, ARRAYSIZE(values)), ret, error;
    unsigned required = 0;

    put_int(&arg, v);
    get_int(&arg, &v);
    make_sock(&sa, pick_sock_kind(35), TRUE);
    if (not_a_socket(sa.kind)) required |= bit(WSAENOTSOCK);
    if (arg.readable < sizeof(u_long)) required |= bit(WSAEFAULT);
    /* ioctlsocket's remarks: no blocking mode while a registration is on. */
    if (!required && !v && sock_registered(&sa)) required = bit(WSAEINVAL);
    describe("ioctlsocket(%s, FIONBIO, %s -> %d)", sock_str(&sa), ptr_str(&arg), v);
    ret = ioctlsocket(sa.s, FIONBIO, (u_long *)arg.p);
    error = WSAGetLastError();
    if (check_int_call("ioctlsocket", DOC_IOCTLSOCKET, ret, error, required, 0)) after_mode_change(&sa, v);
    if (sa.l) verify_pending(sa.l);
    sock_finish(&sa);
}

static void op_wsaioctl(void)
{
    static const DWORD sizes[] = { 0, 1, 3, 4, 4, 8, 0xffffffff };
    struct sock_arg sa;
    struct ptr in = make_ptr(2, sizeof(u_long), pick_kind(75)), returned = make_ptr(3, sizeof(DWORD), pick_kind(70));
    DWORD size = sizes[rnd(ARRAYSIZE(sizes))];
    int v = rnd(2), ret, error;
    unsigned required = 0, maybe = 0;

    put_int(&in, v);
    get_int(&in, &v);
    make_sock(&sa, pick_sock_kind(35), TRUE);
    if (not_a_socket(sa.kind)) required |= bit(WSAENOTSOCK);
    if (in.readable < sizeof(u_long) || size < sizeof(u_long)) required |= bit(WSAEFAULT);
    else if (in.readable < size) maybe |= bit(WSAEFAULT);
    if (returned.writable < sizeof(DWORD)) maybe |= bit(WSAEFAULT);
    if (!required && !v && sock_registered(&sa)) required = bit(WSAEINVAL);
    describe("WSAIoctl(%s, FIONBIO, %s -> %d, %lu, returned %s)", sock_str(&sa), ptr_str(&in), v, size,
             ptr_str(&returned));
    ret = WSAIoctl(sa.s, FIONBIO, in.p, size, NULL, 0, (DWORD *)returned.p, NULL, NULL);
    error = WSAGetLastError();
    if (check_int_call("WSAIoctl", DOC_WSAIOCTL, ret, error, required, maybe)) after_mode_change(&sa, v);
    if (sa.l) verify_pending(sa.l);
    sock_finish(&sa);
}

/* A socket for a set or a poll entry: mostly real ones, sometimes anything. */
static void member_sock(struct sock_arg *sa)
{
    static const int kinds[] = { S_LISTENER, S_LISTENER, S_LISTENER, S_EMPTY, S_CLIENT, S_CLIENT, S_UDP, S_BOUND };

    make_sock(sa, one_in(8) ? pick_sock_kind(0) : kinds[rnd(ARRAYSIZE(kinds))], FALSE);
}

struct fdset_arg
{
    struct ptr ptr;
    int count;                  /* the fd_count written */
    BOOL has_invalid;           /* a member that is no socket */
    struct listener *ready[4];  /* listeners with connections pending, which must come back readable */
    int nready;
};

static void make_fdset(struct fdset_arg *f, int slot, BOOL read_set)
{
    fd_set *set;
    struct sock_arg sa;
    int n = rnd(4), i, kind = rnd(10) < 3 ? P_NULL : pick_kind(75);
    SIZE_T need = offsetof(fd_set, fd_array) + n * sizeof(SOCKET);

    memset(f, 0, sizeof(*f));
    if (kind == P_NULL)
    {
        f->ptr.kind = P_NULL;
        return;
    }
    f->ptr = make_ptr(slot, need, kind);
    if (f->ptr.kind == P_SHORT && n == 0) n = 1 + rnd(3);
    f->count = n;
    set = (fd_set *)f->ptr.p;
    if (f->ptr.writable >= sizeof(u_int)) set->fd_count = n;
    for (i = 0; i < n; i++)
    {
        member_sock(&sa);
        if (f->ptr.writable >= offsetof(fd_set, fd_array) + (i + 1) * sizeof(SOCKET)) set->fd_array[i] = sa.s;
        if (not_a_socket(sa.kind)) f->has_invalid = TRUE;
        if (read_set && sa.l && sa.l->count) f->ready[f->nready++] = sa.l;
    }
    if (f->ptr.kind == P_READONLY)
    {
        /* What the read-only page holds: counts and handles made of interesting ints. */
        f->count = *(u_int *)f->ptr.p;
        f->has_invalid = TRUE;
        f->nready = 0;
    }
}

/* The bytes a set needs for the fd_count it claims. */
static UINT64 fdset_size(const struct fdset_arg *f)
{
    return offsetof(fd_set, fd_array) + (UINT64)(unsigned)f->count * sizeof(SOCKET);
}

static void op_select(void)
{
    struct fdset_arg sets[3];
    struct ptr tv;
    struct timeval *t;
    unsigned required = 0, maybe = 0;
    int i, j, ret, error, members = 0, nfds = one_in(2) ? 0 : (int)rnd64();
    BOOL unbounded;
    fd_set *rd;

    for (i = 0; i < 3; i++) make_fdset(&sets[i], i, i == 0);
    i = rnd(100);
    if (i < 60)
    {
        tv = make_ptr(3, sizeof(struct timeval), one_in(3) ? P_UNALIGNED : P_VALID);
        t = (struct timeval *)tv.p;
        t->tv_sec = 0;
        t->tv_usec = one_in(2) ? 0 : rnd(2000);
    }
    else if (i < 75)
    {
        tv.kind = P_NULL;
        tv.p = NULL;
        tv.readable = tv.writable = 0;
    }
    else if (i < 85)
    {
        tv = make_ptr(3, sizeof(struct timeval), P_READONLY);
        tv.p = slots[3].ro + RO_TIMEVAL;
        tv.readable = page - RO_TIMEVAL;
    }
    else tv = make_ptr(3, sizeof(struct timeval), P_NULL + 1 + rnd(P_READONLY - P_NULL - 1));

    /* Without a timeout select would wait for ever unless a listener is known ready. */
    unbounded = tv.kind == P_NULL;
    if (unbounded && !(sets[0].nready && sets[0].ptr.writable >= fdset_size(&sets[0]) && !sets[0].has_invalid))
    {
        tv = make_ptr(3, sizeof(struct timeval), P_VALID);
        memset(tv.p, 0, sizeof(struct timeval));
    }
    for (i = 0; i < 3; i++)
    {
        if (sets[i].ptr.kind == P_NULL) continue;
        if (sets[i].ptr.readable < sizeof(u_int) || sets[i].ptr.readable < fdset_size(&sets[i]))
            required |= bit(WSAEFAULT);
        else if (sets[i].ptr.writable < fdset_size(&sets[i])) maybe |= bit(WSAEFAULT);
        if (sets[i].has_invalid) maybe |= bit(WSAENOTSOCK);
        members += sets[i].count;
    }
    if (bad_for_read(&tv, sizeof(struct timeval))) required |= bit(WSAEFAULT);
    if (!members) maybe |= bit(WSAEINVAL);
    describe("select(%d, %s [%d], %s [%d], %s [%d], %s)", nfds, ptr_str(&sets[0].ptr), sets[0].count,
             ptr_str(&sets[1].ptr), sets[1].count, ptr_str(&sets[2].ptr), sets[2].count,
             tv.kind == P_NULL ? "NULL" : ptr_str(&tv));
    ret = select(nfds, (fd_set *)sets[0].ptr.p, (fd_set *)sets[1].ptr.p, (fd_set *)sets[2].ptr.p,
                 (struct timeval *)tv.p);
    error = WSAGetLastError();
    if (ret == SOCKET_ERROR) check_error("select", DOC_SELECT, required | maybe, error);
    else
    {
        count_result(FALSE, 0);
        check(!required, "%s: returned %d, expected %s\n", desc, ret, set_str(required));
        /* E1: a listener with a connection pending, held or not, is in the read set. */
        rd = (fd_set *)sets[0].ptr.p;
        if (!required && !(maybe & bit(WSAENOTSOCK)))
            for (j = 0; j < sets[0].nready; j++)
                check(__WSAFDIsSet(sets[0].ready[j]->s, rd), "%s: %s (%d pending) is not in the read set (E1)\n",
                      desc, sets[0].ready[j]->name, sets[0].ready[j]->count);
    }
    for (i = 0; i < nlst; i++) verify_pending(&lst[i]);
}

static void op_poll(void)
{
    static const SHORT events[] = { POLLRDNORM, POLLIN, POLLRDNORM | POLLWRNORM, POLLOUT, POLLPRI, POLLRDBAND, 0 };
    static const ULONG odd_counts[] = { 0, 0x10000000, 0xffffffff, 0x7fffffff };
    struct listener *ready[4];
    struct sock_arg sa;
    struct ptr fds;
    WSAPOLLFD *pfd;
    ULONG count, n = 1 + rnd(4), i, nready = 0;
    int timeout = one_in(4) ? 1 : 0, ret, error, ready_index[4];
    unsigned required = 0, maybe = 0;
    BOOL all_invalid = TRUE, odd_flags = FALSE;

    fds = make_ptr(0, n * sizeof(WSAPOLLFD), pick_kind(75));
    count = rnd(10) < 8 ? n : rnd(2) ? n + 1 + rnd(4) : odd_counts[rnd(ARRAYSIZE(odd_counts))];
    pfd = (WSAPOLLFD *)fds.p;
    for (i = 0; i < n; i++)
    {
        SHORT ev = rnd(6) ? events[rnd(ARRAYSIZE(events))] : (SHORT)rnd64();

        member_sock(&sa);
        if (fds.writable >= (i + 1) * sizeof(WSAPOLLFD))
        {
            pfd[i].fd = sa.s;
            pfd[i].events = ev;
            pfd[i].revents = (SHORT)rnd64();
        }
        if (!not_a_socket(sa.kind)) all_invalid = FALSE;
        if (ev & ~(POLLRDNORM | POLLRDBAND | POLLWRNORM | POLLIN | POLLOUT)) odd_flags = TRUE;
        if (sa.l && sa.l->count && (ev & POLLRDNORM) && nready < 4)
        {
            ready_index[nready] = i;
            ready[nready++] = sa.l;
        }
    }
    if (fds.kind == P_READONLY) all_invalid = odd_flags = TRUE, nready = 0;
    if (count && fds.writable < (UINT64)count * sizeof(WSAPOLLFD)) required |= bit(WSAEFAULT);
    if (!count || fds.kind == P_NULL) maybe |= bit(WSAEINVAL);
    if (count > n) maybe |= bit(WSAEINVAL) | bit(WSAENOBUFS);
    if (all_invalid || odd_flags) maybe |= bit(WSAEINVAL);
    if (all_invalid) maybe |= bit(WSAENOTSOCK);
    /* Waiting for ever only with a listener known ready and nothing odd. */
    if (one_in(10) && nready && !required && !maybe && count == n) timeout = -1;
    describe("WSAPoll(%s [%lu entries], %lu, %d)", ptr_str(&fds), n, count, timeout);
    ret = WSAPoll((WSAPOLLFD *)fds.p, count, timeout);
    error = WSAGetLastError();
    if (ret == SOCKET_ERROR) check_error("WSAPoll", DOC_WSAPOLL, required | maybe, error);
    else
    {
        count_result(FALSE, 0);
        check(!required, "%s: returned %d, expected %s\n", desc, ret, set_str(required));
        if (!required && !maybe)
            for (i = 0; i < nready; i++)
                check(pfd[ready_index[i]].revents & POLLRDNORM, "%s: %s (%d pending): revents %#x (E1)\n", desc,
                      ready[i]->name, ready[i]->count, pfd[ready_index[i]].revents);
    }
    for (i = 0; i < (ULONG)nlst; i++) verify_pending(&lst[i]);
}

static LONG random_mask(void)
{
    unsigned r = rnd(10);

    if (r < 2) return 0;
    if (r < 5) return FD_ACCEPT;
    if (r < 8) return (LONG)(rnd64() & FD_ALL_EVENTS);
    return (LONG)rnd64();
}

/* An event argument: the listener's own, a shared one, NULL, or something that is no event. */
static HANDLE random_event(struct sock_arg *sa, BOOL *valid)
{
    HANDLE h;
    unsigned r = rnd(10);

    *valid = TRUE;
    if (r < 4 && sa->l) return sa->l->event;
    if (r < 6) return zoo_event;
    *valid = FALSE;
    if (r < 7) return NULL;
    if (r < 8) return zoo_file;
    if (r < 9)
    {
        h = CreateEventW(NULL, FALSE, FALSE, NULL);
        CloseHandle(h);
        return h;
    }
    return (HANDLE)random_socket();
}

static void after_registration(struct sock_arg *sa, LONG mask)
{
    if (sa->l)
    {
        sa->l->registered = mask != 0;
        sa->l->blocking = FALSE;
    }
    if (sa->c) sa->c->registered = mask != 0;
}

static void op_eventselect(void)
{
    struct sock_arg sa;
    HANDLE event;
    LONG mask = random_mask();
    BOOL valid;
    int ret, error;
    unsigned required = 0, maybe = 0;

    make_sock(&sa, pick_sock_kind(40), TRUE);
    event = random_event(&sa, &valid);
    if (not_a_socket(sa.kind)) required |= bit(WSAENOTSOCK);
    if (!valid || (mask & ~FD_ALL_EVENTS)) maybe |= bit(WSAEINVAL);
    describe("WSAEventSelect(%s, %p, %#lx)", sock_str(&sa), event, mask);
    ret = WSAEventSelect(sa.s, event, mask);
    error = WSAGetLastError();
    check_int_call("WSAEventSelect", DOC_EVENTSELECT, ret, error, required, maybe);
    if (!ret) after_registration(&sa, mask);
    if (sa.l) verify_pending(sa.l);
    sock_finish(&sa);
}

static void op_asyncselect(void)
{
    struct sock_arg sa;
    HWND hwnd;
    UINT msg = one_in(4) ? (UINT)rnd64() : WM_USER + rnd(100);
    LONG mask = random_mask();
    int ret, error;
    unsigned required = 0, maybe = 0, r = rnd(10);

    make_sock(&sa, pick_sock_kind(40), TRUE);
    hwnd = r < 6 ? zoo_hwnd : r < 8 ? NULL : (HWND)(ULONG_PTR)rnd64();
    if (not_a_socket(sa.kind)) required |= bit(WSAENOTSOCK);
    /* WSAAsyncSelect's page: WSAEINVAL when the window handle names no existing window. */
    if (mask && !IsWindow(hwnd)) required |= bit(WSAEINVAL);
    else if (hwnd != zoo_hwnd || (mask & ~FD_ALL_EVENTS) || msg >= 0xc0000000) maybe |= bit(WSAEINVAL);
    describe("WSAAsyncSelect(%s, %p, %#x, %#lx)", sock_str(&sa), hwnd, msg, mask);
    ret = WSAAsyncSelect(sa.s, hwnd, msg, mask);
    error = WSAGetLastError();
    check_int_call("WSAAsyncSelect", DOC_ASYNCSELECT, ret, error, required, maybe);
    if (!ret) after_registration(&sa, mask);
    if (sa.l) verify_pending(sa.l);
    sock_finish(&sa);
    drain_messages();
}

static void op_enumevents(void)
{
    struct sock_arg sa;
    struct ptr events = make_ptr(2, sizeof(WSANETWORKEVENTS), pick_kind(70));
    WSANETWORKEVENTS *ne = (WSANETWORKEVENTS *)events.p;
    HANDLE event;
    BOOL valid;
    int ret, error;
    unsigned required = 0, maybe = 0;

    make_sock(&sa, pick_sock_kind(45), TRUE);
    event = random_event(&sa, &valid);
    if (not_a_socket(sa.kind)) required |= bit(WSAENOTSOCK);
    if (events.writable < sizeof(WSANETWORKEVENTS)) required |= bit(WSAEFAULT);
    if (!valid && event) maybe |= bit(WSAEINVAL);
    if (events.writable >= sizeof(*ne)) memset(ne, 0x5a, sizeof(*ne));
    describe("WSAEnumNetworkEvents(%s, %p, %s)", sock_str(&sa), event, ptr_str(&events));
    ret = WSAEnumNetworkEvents(sa.s, event, ne);
    error = WSAGetLastError();
    if (check_int_call("WSAEnumNetworkEvents", DOC_ENUMEVENTS, ret, error, required, maybe))
        check(!(ne->lNetworkEvents & ~FD_ALL_EVENTS), "%s: lNetworkEvents %#lx\n", desc, ne->lNetworkEvents);
    if (sa.l) verify_pending(sa.l);
    sock_finish(&sa);
}

static void op_closesocket(void)
{
    struct sock_arg sa;
    int kind = pick_sock_kind(0), ret, error;
    unsigned required = 0;

    /* Now and then a listener, with what it has pending (E5). */
    if (one_in(100)) kind = S_LISTENER;
    make_sock(&sa, kind, TRUE);
    if (not_a_socket(sa.kind)) required = bit(WSAENOTSOCK);
    describe("closesocket(%s)", sock_str(&sa));
    ret = closesocket(sa.s);
    error = WSAGetLastError();
    if (check_int_call("closesocket", DOC_CLOSESOCKET, ret, error, required, 0)) sa.fresh = FALSE;
    if (!ret && sa.l)
    {
        sa.fresh = FALSE;
        after_listener_closed(sa.l);
    }
    else if (!ret && sa.c)
    {
        sa.c->s = INVALID_SOCKET;
        if (sa.c->state == ALIVE) sa.c->state = ENDED;
    }
    if (sa.kind >= S_EVENT && sa.kind <= S_MUTEX)
        check(handle_alive((HANDLE)sa.s), "%s: closed a handle that is no socket\n", desc);
    verify_some_listener();
    sock_finish(&sa);
}

/* A second hook: it ends a blocking call too, should one ever reach it. */
static BOOL CALLBACK spare_hook(void)
{
    WSACancelBlockingCall();
    return FALSE;
}

/* B5: under WinSock 2 the 1.1 blocking-hook functions are refused. */
static void op_hookapi(void)
{
    static const int kinds[] = { P_NULL, P_SMALL, P_KERNEL, P_DECOMMITTED, P_NOACCESS, P_READONLY };
    struct ptr hook;
    FARPROC prev;
    int ret, error;

    switch (rnd(4))
    {
    case 0:
        hook.kind = P_VALID;
        hook.p = (char *)spare_hook;
        if (one_in(2)) hook = make_ptr(2, 16, kinds[rnd(ARRAYSIZE(kinds))]);
        describe("WSASetBlockingHook(%s) under WinSock 2", hook.kind == P_VALID ? "a function" : ptr_str(&hook));
        SetLastError(0);
        prev = WSASetBlockingHook((FARPROC)hook.p);
        error = WSAGetLastError();
        if (check(!prev, "%s: returned %p\n", desc, prev))
            check_error("WSASetBlockingHook", DOC_SETHOOK,
                        bit(WSAEOPNOTSUPP) | (hook.kind != P_VALID ? bit(WSAEFAULT) : 0), error);
        break;
    case 1:
        describe("WSAUnhookBlockingHook() under WinSock 2");
        ret = WSAUnhookBlockingHook();
        error = WSAGetLastError();
        check_int_call("WSAUnhookBlockingHook", DOC_UNHOOK, ret, error, bit(WSAEOPNOTSUPP), 0);
        break;
    case 2:
        describe("WSACancelBlockingCall() under WinSock 2");
        ret = WSACancelBlockingCall();
        error = WSAGetLastError();
        check_int_call("WSACancelBlockingCall", DOC_CANCEL, ret, error, bit(WSAEOPNOTSUPP), 0);
        break;
    case 3:
        describe("WSAIsBlocking() under WinSock 2");
        check(!WSAIsBlocking(), "%s: TRUE\n", desc);
        break;
    }
}

/* H1, H3: an extra WSAStartup (never a 1.x one: that would change the process's rules) and
 * its WSACleanup leave every socket as it was. */
static void op_startup(void)
{
    static const WORD versions[] = { 0x0000, 0x0100, 0xff00, 0x0002, 0x0102, 0x0202, 0x0302, 0xff02, 0x0003,
                                     0x00ff, 0xffff };
    struct ptr data = make_ptr(2, sizeof(WSADATA), pick_kind(70));
    WORD version = versions[rnd(ARRAYSIZE(versions))];
    WSADATA *d = (WSADATA *)data.p;
    unsigned required = 0;
    int ret, i;

    if (!LOBYTE(version)) required |= bit(WSAVERNOTSUPPORTED);
    if (data.writable < sizeof(WSADATA)) required |= bit(WSAEFAULT);
    describe("WSAStartup(%#x, %s)", version, ptr_str(&data));
    ret = WSAStartup(version, d);
    if (ret)
    {
        check_error("WSAStartup", DOC_STARTUP, required, ret);
        return;
    }
    count_result(FALSE, 0);
    check(!required, "%s: succeeded, expected %s\n", desc, set_str(required));
    check(LOBYTE(d->wVersion) == 2 && HIBYTE(d->wVersion) <= 2, "%s: negotiated %#x\n", desc, d->wVersion);
    describe("WSACleanup() after WSAStartup(%#x)", version);
    ret = WSACleanup();
    check(!ret, "%s: failed: %d\n", desc, WSAGetLastError());
    for (i = 0; i < nlst; i++) verify_pending(&lst[i]);
}

/* A valid WSAAccept that defers, so that listeners hold connections (select and WSAPoll then
 * take the DLL's own path), or one that accepts. */
static void op_accept(BOOL defer)
{
    struct accept_call a;

    memset(&a, 0, sizeof(a));
    a.wsa = !defer ? one_in(2) : TRUE;
    a.cond = C_VALID;
    a.addr.kind = a.addrlen.kind = P_NULL;
    plan_condition(&a, ACT_NONE);
    a.ctx.ret = defer ? CF_DEFER : CF_ACCEPT;
    make_sock(&a.sock, S_LISTENER, FALSE);
    run_accept(&a);
}

static void owned_one(void)
{
    static const struct { void (*fn)(void); unsigned weight; } ops[] =
    {
        { op_listen, 8 }, { op_setsockopt, 8 }, { op_getsockopt, 6 }, { op_fionbio, 8 }, { op_wsaioctl, 5 },
        { op_select, 14 }, { op_poll, 14 }, { op_eventselect, 7 }, { op_asyncselect, 5 }, { op_enumevents, 7 },
        { op_closesocket, 6 }, { op_hookapi, 3 }, { op_startup, 3 },
    };
    unsigned total = 0, r, i;

    replenish();
    r = rnd(100);
    if (r < 12)
    {
        op_accept(TRUE);
        return;
    }
    if (r < 17)
    {
        op_accept(FALSE);
        return;
    }
    for (i = 0; i < ARRAYSIZE(ops); i++) total += ops[i].weight;
    r = rnd(total);
    for (i = 0; r >= ops[i].weight; i++) r -= ops[i].weight;
    ops[i].fn();
}

static void test_owned(void)
{
    if (fuzz_begin(3000, MAKEWORD(2, 2))) fuzz_loop(owned_one);
    fuzz_end();
}

/* ------------------------------------------------------------------------------------ */
/* hooks: WinSock 1.1, blocking calls whose blocking hook calls back into Winsock.       */

static struct
{
    struct listener *waiting;   /* the listener the blocking call waits on */
    int calls, cancel_at;
    FARPROC current;            /* what WSASetBlockingHook last installed (NULL: the default) */
    FARPROC default_hook;       /* what it returns for the default, once seen */
} hook;

/* One Winsock call from inside the hook: it must be refused with WSAEINPROGRESS (A2, B5)
 * and change nothing. */
static void hook_inner_call(void)
{
    struct listener *l = &lst[0];
    struct timeval tv = { 0, 0 };
    struct ptr bad = make_ptr(3, 16, P_SMALL + rnd(P_NOACCESS - P_SMALL + 1));
    WSAPOLLFD pfd = { l->s, POLLRDNORM, 0 };
    WSANETWORKEVENTS events;
    WSADATA data;
    u_long arg = 1;
    BOOL value = TRUE, bad_args = one_in(4);
    int len = sizeof(value), ret = 0, error, which = rnd(17);
    const char *name = "";
    SOCKET s = 0;
    fd_set set;

    FD_ZERO(&set);
    FD_SET(l->s, &set);
    SetLastError(0);
    switch (which)
    {
    case 0: name = "accept"; s = accept(l->s, bad_args ? (struct sockaddr *)bad.p : NULL, bad_args ? (int *)bad.p : NULL); break;
    case 1: name = "WSAAccept"; s = WSAAccept(l->s, NULL, NULL, fuzz_condition, 0); break;
    case 2: name = "closesocket"; ret = closesocket(l->s); break;
    case 3: name = "listen"; ret = listen(l->s, 1); break;
    case 4: name = "ioctlsocket"; ret = ioctlsocket(l->s, FIONBIO, bad_args ? (u_long *)bad.p : &arg); break;
    case 5: name = "setsockopt"; ret = setsockopt(zoo_tcp, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&value, len); break;
    case 6: name = "getsockopt"; ret = getsockopt(l->s, SOL_SOCKET, SO_TYPE, (char *)&value, &len); break;
    case 7: name = "select"; ret = select(0, &set, NULL, NULL, &tv); break;
    case 8: name = "WSAPoll"; ret = WSAPoll(bad_args ? (WSAPOLLFD *)bad.p : &pfd, 1, 0); break;
    case 9: name = "WSAEventSelect"; ret = WSAEventSelect(l->s, l->event, FD_ACCEPT); break;
    case 10: name = "WSAAsyncSelect"; ret = WSAAsyncSelect(l->s, zoo_hwnd, WM_USER, FD_ACCEPT); break;
    case 11: name = "WSAEnumNetworkEvents"; ret = WSAEnumNetworkEvents(l->s, NULL, bad_args ? (WSANETWORKEVENTS *)bad.p : &events); break;
    case 12: name = "socket"; s = socket(AF_INET, SOCK_STREAM, 0); break;
    case 13: name = "WSAStartup"; ret = WSAStartup(MAKEWORD(2, 2), &data); break;
    case 14: name = "WSACleanup"; ret = WSACleanup(); break;
    case 15: name = "WSASetBlockingHook"; s = (SOCKET)WSASetBlockingHook((FARPROC)spare_hook); break;
    case 16: name = "WSAUnhookBlockingHook"; ret = WSAUnhookBlockingHook(); break;
    }
    error = which == 13 ? ret : GetLastError();
    if (which == 0 || which == 1 || which == 12) ret = s == INVALID_SOCKET ? SOCKET_ERROR : 0;
    if (which == 15) ret = s ? 0 : SOCKET_ERROR;
    if (which == 13) ret = ret ? SOCKET_ERROR : 0;
    if (!check(ret == SOCKET_ERROR, "%s: %s inside the blocking hook succeeded (A2, B5)\n", desc, name))
    {
        /* Undo what it did, so that the run can go on. */
        if (which == 0 || which == 1 || which == 12) closesocket(s);
        if (which == 2) l->s = INVALID_SOCKET;
        if (which == 13) WSACleanup();
        if (which == 14) WSAStartup(MAKEWORD(1, 1), &data);
        return;
    }
    check(error == WSAEINPROGRESS || (bad_args && error == WSAEFAULT),
          "%s: %s inside the blocking hook failed with %d, expected WSAEINPROGRESS (A2, B5)\n", desc, name, error);
}

static BOOL CALLBACK fuzz_hook(void)
{
    int i, n = rnd(4);

    hook.calls++;
    check(WSAIsBlocking(), "%s: WSAIsBlocking is FALSE inside the hook (B5)\n", desc);
    for (i = 0; i < n; i++) hook_inner_call();
    if (hook.calls >= hook.cancel_at)
        check(!WSACancelBlockingCall(), "%s: WSACancelBlockingCall inside the hook failed: %lu (B5)\n", desc,
              GetLastError());
    return FALSE;
}

static void hooks_set(FARPROC fn, const char *what)
{
    FARPROC prev;

    describe("WSASetBlockingHook(%s)", what);
    prev = WSASetBlockingHook(fn);
    if (!check(prev != NULL, "%s: failed: %d\n", desc, WSAGetLastError())) return;
    count_result(FALSE, 0);
    if (!hook.current && !hook.default_hook) hook.default_hook = prev;
    check(prev == (hook.current ? hook.current : hook.default_hook), "%s: returned %p, the hook was %p\n", desc,
          prev, hook.current ? hook.current : hook.default_hook);
    hook.current = fn == hook.default_hook ? NULL : fn;
}

static void hooks_blocking_call(void)
{
    struct accept_call a;
    struct listener *w = &empty;
    SOCKET ret;
    int error;

    if (hook.current != (FARPROC)fuzz_hook) hooks_set((FARPROC)fuzz_hook, "the fuzz hook");
    if (hook.current != (FARPROC)fuzz_hook) return;
    if (w->blocking || check(set_nonblocking(w->s, FALSE), "FIONBIO 0 on the empty listener failed: %d\n",
                             WSAGetLastError()))
        w->blocking = TRUE;
    hook.calls = 0;
    hook.cancel_at = 1 + rnd(3);
    memset(&a, 0, sizeof(a));
    a.wsa = one_in(2);
    plan_condition(&a, ACT_NONE);
    a.ctx.l = w;
    describe("%s on the blocking empty listener, the hook cancelling at its call %d", a.wsa ? "WSAAccept" : "accept",
             hook.cancel_at);
    if (a.wsa) cond_stack[cond_depth++] = &a.ctx;
    ret = a.wsa ? WSAAccept(w->s, NULL, NULL, fuzz_condition, a.ctx.data) : accept(w->s, NULL, NULL);
    error = WSAGetLastError();
    if (a.wsa) cond_depth--;
    if (ret != INVALID_SOCKET) closesocket(ret);
    if (check(ret == INVALID_SOCKET, "%s: returned %#Ix\n", desc, (ULONG_PTR)ret))
        check_error(a.wsa ? "WSAAccept" : "accept", a.wsa ? DOC_WSAACCEPT : DOC_ACCEPT, bit(WSAEINTR), error);
    check(hook.calls == hook.cancel_at, "%s: the hook ran %d times\n", desc, hook.calls);
    check(!a.ctx.calls, "%s: the condition function was called\n", desc);
    check(!WSAIsBlocking(), "%s: WSAIsBlocking is TRUE after the call\n", desc);
    if (lst[0].s == INVALID_SOCKET) listener_reopen(&lst[0]);
    verify_pending(&lst[0]);
}

static void hooks_one(void)
{
    static const int bad[] = { P_NULL, P_SMALL, P_KERNEL, P_WILD, P_DECOMMITTED, P_RELEASED, P_NOACCESS, P_READONLY,
                               P_VALID };
    struct ptr p;
    FARPROC prev;
    int ret, error;
    unsigned r;

    replenish();
    r = rnd(100);
    if (r < 30)
    {
        hooks_blocking_call();
        return;
    }
    if (r < 45)
    {
        hooks_set(one_in(2) ? (FARPROC)fuzz_hook : (FARPROC)spare_hook, "a function");
        return;
    }
    if (r < 65)
    {
        /* Outside the address space: refused, and the hook stays what it was.  Memory that
         * holds no code may be taken (the page only asks for a valid address); it is never
         * called, since a blocking call installs the fuzz hook first. */
        p = make_ptr(2, 16, bad[rnd(ARRAYSIZE(bad))]);
        describe("WSASetBlockingHook(%s)", ptr_str(&p));
        SetLastError(0);
        prev = WSASetBlockingHook((FARPROC)p.p);
        error = WSAGetLastError();
        if (prev && (p.kind == P_VALID || p.kind == P_READONLY))
        {
            count_result(FALSE, 0);
            check(prev == (hook.current ? hook.current : hook.default_hook), "%s: returned %p\n", desc, prev);
            hook.current = (FARPROC)p.p;
        }
        else if (check(!prev, "%s: returned %p\n", desc, prev))
            check_error("WSASetBlockingHook", DOC_SETHOOK, bit(WSAEFAULT), error);
        else hook.current = (FARPROC)p.p;
        return;
    }
    if (r < 75)
    {
        describe("WSAUnhookBlockingHook()");
        ret = WSAUnhookBlockingHook();
        error = WSAGetLastError();
        if (check_int_call("WSAUnhookBlockingHook", DOC_UNHOOK, ret, error, 0, 0)) hook.current = NULL;
        return;
    }
    if (r < 85)
    {
        describe("WSACancelBlockingCall() with no call in progress");
        ret = WSACancelBlockingCall();
        error = WSAGetLastError();
        check_int_call("WSACancelBlockingCall", DOC_CANCEL, ret, error, bit(WSAEINVAL), 0);
        return;
    }
    if (r < 90)
    {
        describe("WSAIsBlocking() with no call in progress");
        check(!WSAIsBlocking(), "%s: TRUE\n", desc);
        return;
    }
    op_accept(r < 95);
}

static void test_hooks(void)
{
    memset(&hook, 0, sizeof(hook));
    if (fuzz_begin(1500, MAKEWORD(1, 1))) fuzz_loop(hooks_one);
    /* The default hook back, or none if the run never got a hook in. */
    if (hook.current) WSAUnhookBlockingHook();
    fuzz_end();
}

START_TEST(fuzz)
{
    if (!ws2_bind()) return;
    subtest("wsaaccept", test_wsaaccept);
    subtest("accept", test_accept);
    subtest("callbacks", test_callbacks);
    subtest("owned", test_owned);
    subtest("hooks", test_hooks);
}
