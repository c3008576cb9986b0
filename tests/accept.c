/* WSAAccept and accept, rule by rule: each subtest is named by its rule id in
 * ../shared/spec/wsaaccept.md (kept in docs/conformance.md), and each checks what would
 * catch the wrong behaviour. */

#include <stdio.h>
#include "ws2test.h"

#define WSA_CODE(e) ((e) >= WSABASEERR && (e) <= WSABASEERR + 1200)

/* ------------------------------------------------------------------------------------ */
/* The condition function records what it was given and does what the test asks.       */

struct cond_record
{
    LONG calls;
    DWORD thread;
    int ret;                        /* what to return */
    void (*action)(void);           /* what to do first, if anything */
    SOCKET listener;                /* for actions that use it */
    BOOL has_caller_id;
    char *caller_id_buf;
    SOCKADDR_STORAGE caller;
    ULONG caller_len;
    void *caller_data, *sqos, *gqos;
    BOOL has_callee_id;
    SOCKADDR_STORAGE callee;
    ULONG callee_len;
    BOOL has_callee_data;
    ULONG callee_data_len;
    char *callee_data_buf;
    BOOL has_group;
    GROUP group;
    DWORD_PTR data;
};

static struct cond_record rec;

static void rec_reset(int ret)
{
    memset(&rec, 0, sizeof(rec));
    rec.ret = ret;
}

static int CALLBACK condition(WSABUF *caller_id, WSABUF *caller_data, QOS *sqos, QOS *gqos,
                              WSABUF *callee_id, WSABUF *callee_data, GROUP *g, DWORD_PTR data)
{
    InterlockedIncrement(&rec.calls);
    rec.thread = GetCurrentThreadId();
    rec.data = data;
    rec.caller_data = caller_data;
    rec.sqos = sqos;
    rec.gqos = gqos;
    if ((rec.has_caller_id = caller_id != NULL))
    {
        rec.caller_id_buf = caller_id->buf;
        rec.caller_len = caller_id->len;
        if (caller_id->buf && caller_id->len <= sizeof(rec.caller)) memcpy(&rec.caller, caller_id->buf, caller_id->len);
    }
    if ((rec.has_callee_id = callee_id != NULL))
    {
        rec.callee_len = callee_id->len;
        if (callee_id->buf && callee_id->len <= sizeof(rec.callee)) memcpy(&rec.callee, callee_id->buf, callee_id->len);
    }
    if ((rec.has_callee_data = callee_data != NULL))
    {
        rec.callee_data_len = callee_data->len;
        rec.callee_data_buf = callee_data->buf;
        callee_data->len = 0; /* what the documentation tells a callback to do */
    }
    if ((rec.has_group = g != NULL))
    {
        rec.group = *g;
        *g = SG_UNCONSTRAINED_GROUP;
    }
    if (rec.action) rec.action();
    return rec.ret;
}

static SOCKET wsa_accept(SOCKET l, int ret)
{
    rec_reset(ret);
    return WSAAccept(l, NULL, NULL, condition, (DWORD_PTR)&rec);
}

static int port_of(const void *addr)
{
    const SOCKADDR_STORAGE *sa = addr;
    return ntohs(sa->ss_family == AF_INET6 ? ((const SOCKADDR_IN6 *)sa)->sin6_port : ((const SOCKADDR_IN *)sa)->sin_port);
}

static int local_port(SOCKET s)
{
    SOCKADDR_STORAGE addr;
    return sockaddr_of(s, &addr) ? port_of(&addr) : -1;
}

static int remote_port(SOCKET s)
{
    SOCKADDR_STORAGE addr;
    int len = sizeof(addr);
    return getpeername(s, (struct sockaddr *)&addr, &len) ? -1 : port_of(&addr);
}

/* The accepted socket S is the server end of CLIENT. */
static BOOL same_connection(SOCKET s, SOCKET client)
{
    return s != INVALID_SOCKET && remote_port(s) == local_port(client);
}

static void expect_error(SOCKET ret, int expected, const char *what)
{
    int error = WSAGetLastError();
    ok(ret == INVALID_SOCKET && error == expected, "%s: returned %#Ix, error %d, expected %d\n",
       what, (ULONG_PTR)ret, error, expected);
}

/* Nothing consumed: the pending connection CLIENT is the one the next accept returns, and
 * its peer saw neither an end nor a reset meanwhile. */
static void expect_still_pending(SOCKET l, SOCKET client)
{
    SOCKET a;

    ok(peer_state(client, 100) == PEER_OPEN, "the client's connection was ended\n");
    a = accept(l, NULL, NULL);
    ok(same_connection(a, client), "the pending connection was lost (accept returned %#Ix, error %d)\n",
       (ULONG_PTR)a, WSAGetLastError());
    if (a != INVALID_SOCKET) closesocket(a);
}

struct server
{
    SOCKET l, c;
};

static void server_up(struct server *srv, int family, const char *address)
{
    startup();
    srv->l = tcp_listener(family, address, 16);
    srv->c = tcp_connect(srv->l);
    wait_pending(srv->l, 1000);
}

static void server_down(struct server *srv)
{
    closesocket(srv->c);
    closesocket(srv->l);
    cleanup();
}

/* ------------------------------------------------------------------------------------ */
/* A. Entry checks                                                                      */

static void test_A1(void)
{
    WSADATA data;
    SOCKET ret;

    SetLastError(0xdeadbeef);
    ret = WSAAccept(0, NULL, NULL, NULL, 0);
    expect_error(ret, WSANOTINITIALISED, "before WSAStartup");
    ok(!WSAStartup(MAKEWORD(2, 2), &data), "WSAStartup failed\n");
    ok(!WSACleanup(), "WSACleanup failed\n");
    ret = WSAAccept(0, NULL, NULL, condition, 0);
    expect_error(ret, WSANOTINITIALISED, "after the last WSACleanup");
    ret = accept(0, NULL, NULL);
    expect_error(ret, WSANOTINITIALISED, "accept after the last WSACleanup");
}

static SOCKET a2_other;
static int a2_inner_error, a2_hook_calls;

static BOOL CALLBACK a2_hook(void)
{
    SOCKET ret;

    if (++a2_hook_calls == 1)
    {
        ret = WSAAccept(a2_other, NULL, NULL, NULL, 0);
        a2_inner_error = ret == INVALID_SOCKET ? WSAGetLastError() : 0;
    }
    if (a2_hook_calls >= 3) WSACancelBlockingCall();
    return FALSE;
}

static void test_A2(void)
{
    WSADATA data;
    SOCKET l;

    ok(!WSAStartup(MAKEWORD(1, 1), &data), "WSAStartup(1.1) failed\n");
    l = tcp_listener(AF_INET, "127.0.0.1", 4);
    a2_other = tcp_listener(AF_INET, "127.0.0.1", 4);
    ok(WSASetBlockingHook((FARPROC)a2_hook) != NULL, "WSASetBlockingHook failed: %d\n", WSAGetLastError());
    expect_error(WSAAccept(l, NULL, NULL, NULL, 0), WSAEINTR, "the cancelled outer call");
    ok(a2_hook_calls >= 1, "the blocking hook never ran\n");
    ok(a2_inner_error == WSAEINPROGRESS, "WSAAccept inside the blocking hook gave %d\n", a2_inner_error);
    WSAUnhookBlockingHook();
    closesocket(a2_other);
    closesocket(l);
    cleanup();
}

static void test_A3(void)
{
    char path[MAX_PATH];
    HANDLE file;
    SOCKET s;

    startup();
    expect_error(WSAAccept(0, NULL, NULL, NULL, 0), WSAENOTSOCK, "socket 0");
    expect_error(WSAAccept(INVALID_SOCKET, NULL, NULL, condition, 0), WSAENOTSOCK, "INVALID_SOCKET");
    s = tcp_listener(AF_INET, "127.0.0.1", 1);
    closesocket(s);
    expect_error(WSAAccept(s, NULL, NULL, condition, 0), WSAENOTSOCK, "a closed socket");
    GetTempPathA(MAX_PATH, path);
    strcat(path, "ws2_32_A3.tmp");
    file = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
    ok(file != INVALID_HANDLE_VALUE, "cannot create a file\n");
    expect_error(WSAAccept((SOCKET)file, NULL, NULL, condition, 0), WSAENOTSOCK, "a file handle");
    expect_error(accept((SOCKET)file, NULL, NULL), WSAENOTSOCK, "accept on a file handle");
    CloseHandle(file);
    cleanup();
}

static void test_A4(void)
{
    SOCKET s;

    startup();
    s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    expect_error(WSAAccept(s, NULL, NULL, condition, 0), WSAEOPNOTSUPP, "a UDP socket");
    expect_error(accept(s, NULL, NULL), WSAEOPNOTSUPP, "accept on a UDP socket");
    closesocket(s);
    cleanup();
}

static void test_A5(void)
{
    SOCKADDR_IN addr = { AF_INET };
    SOCKET s;

    startup();
    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    expect_error(WSAAccept(s, NULL, NULL, condition, 0), WSAEINVAL, "an unbound TCP socket");
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&addr, sizeof(addr));
    expect_error(WSAAccept(s, NULL, NULL, condition, 0), WSAEINVAL, "a bound TCP socket never listened");
    expect_error(accept(s, NULL, NULL), WSAEINVAL, "accept on it");
    closesocket(s);
    cleanup();
}

static void test_A6(void)
{
    struct server srv;
    SOCKADDR_STORAGE addr;
    int len, sizes[] = { 0, 1, 15 }, i;
    SOCKET ret;

    server_up(&srv, AF_INET, "127.0.0.1");
    for (i = 0; i < ARRAYSIZE(sizes); i++)
    {
        winetest_push_context("addrlen %d", sizes[i]);
        len = sizes[i];
        rec_reset(CF_ACCEPT);
        ret = WSAAccept(srv.l, (struct sockaddr *)&addr, &len, condition, 0);
        expect_error(ret, WSAEFAULT, "short addrlen");
        ok(len == sizes[i], "*addrlen changed to %d\n", len);
        ok(!rec.calls, "the condition function was called\n");
        if (ret != INVALID_SOCKET) closesocket(ret);
        winetest_pop_context();
    }
    len = 0;
    expect_error(accept(srv.l, (struct sockaddr *)&addr, &len), WSAEFAULT, "accept with addrlen 0");
    expect_still_pending(srv.l, srv.c);
    server_down(&srv);
}

static void test_A7(void)
{
    struct server srv;
    SOCKADDR_STORAGE addr;
    char *readonly, *freed;
    int len, *readonly_len;

    server_up(&srv, AF_INET, "127.0.0.1");
    readonly = VirtualAlloc(NULL, 4096, MEM_COMMIT, PAGE_READWRITE);
    *(int *)readonly = sizeof(SOCKADDR_STORAGE);
    readonly_len = (int *)readonly;
    VirtualProtect(readonly, 4096, PAGE_READONLY, (DWORD *)&len);
    freed = VirtualAlloc(NULL, 4096, MEM_COMMIT, PAGE_READWRITE);
    VirtualFree(freed, 0, MEM_RELEASE);

    len = sizeof(addr);
    expect_error(WSAAccept(srv.l, (struct sockaddr *)1, &len, condition, 0), WSAEFAULT, "addr (void *)1");
    expect_error(WSAAccept(srv.l, (struct sockaddr *)&addr, (int *)1, condition, 0), WSAEFAULT, "addrlen (void *)1");
    expect_error(WSAAccept(srv.l, (struct sockaddr *)&addr, &len, (LPCONDITIONPROC)1, 0), WSAEFAULT,
                 "lpfnCondition (void *)1");
    expect_error(WSAAccept(srv.l, (struct sockaddr *)&addr, &len, (LPCONDITIONPROC)freed, 0), WSAEFAULT,
                 "lpfnCondition in a freed page");
    expect_error(WSAAccept(srv.l, (struct sockaddr *)freed, &len, condition, 0), WSAEFAULT, "addr in a freed page");
    expect_error(WSAAccept(srv.l, (struct sockaddr *)readonly + 64, &len, condition, 0), WSAEFAULT,
                 "addr in read-only memory");
    expect_error(WSAAccept(srv.l, (struct sockaddr *)&addr, readonly_len, condition, 0), WSAEFAULT,
                 "addrlen in read-only memory");
    expect_error(accept(srv.l, (struct sockaddr *)freed, &len), WSAEFAULT, "accept, addr in a freed page");
    expect_still_pending(srv.l, srv.c);
    VirtualFree(readonly, 0, MEM_RELEASE);
    server_down(&srv);
}

static void test_A8(void)
{
    struct server srv;
    SOCKADDR_STORAGE addr;
    SOCKET a, c2;
    char untouched[sizeof(addr)];

    server_up(&srv, AF_INET, "127.0.0.1");
    memset(&addr, 0xcc, sizeof(addr));
    memcpy(untouched, &addr, sizeof(addr));
    rec_reset(CF_ACCEPT);
    a = WSAAccept(srv.l, (struct sockaddr *)&addr, NULL, condition, 0);
    ok(same_connection(a, srv.c), "addr without addrlen failed: %d\n", WSAGetLastError());
    ok(!memcmp(&addr, untouched, sizeof(addr)), "addr was written without addrlen\n");
    closesocket(a);
    c2 = tcp_connect(srv.l);
    a = WSAAccept(srv.l, NULL, NULL, condition, 0);
    ok(same_connection(a, c2), "both NULL failed: %d\n", WSAGetLastError());
    closesocket(a);
    closesocket(c2);
    server_down(&srv);
}

/* ------------------------------------------------------------------------------------ */
/* B. Waiting                                                                           */

static void test_B1(void)
{
    SOCKET l, c, a;

    startup();
    l = tcp_listener(AF_INET, "127.0.0.1", 4);
    ok(set_nonblocking(l, TRUE), "FIONBIO failed\n");
    expect_error(WSAAccept(l, NULL, NULL, condition, 0), WSAEWOULDBLOCK, "nothing pending");
    expect_error(accept(l, NULL, NULL), WSAEWOULDBLOCK, "accept, nothing pending");
    c = tcp_connect(l);
    wait_pending(l, 1000);
    expect_error(wsa_accept(l, CF_DEFER), WSATRY_AGAIN, "deferring");
    a = accept(l, NULL, NULL);
    ok(same_connection(a, c), "the deferred connection did not count as pending: %d\n", WSAGetLastError());
    expect_error(accept(l, NULL, NULL), WSAEWOULDBLOCK, "once it was taken");
    closesocket(a);
    closesocket(c);
    closesocket(l);
    cleanup();
}

struct waiter
{
    SOCKET l;
    BOOL use_condition;
    int cond_ret;
    SOCKET result;
    int error;
    DWORD done_at;
    HANDLE thread;
};

static DWORD WINAPI waiter_thread(void *arg)
{
    struct waiter *w = arg;

    w->result = w->use_condition ? WSAAccept(w->l, NULL, NULL, condition, (DWORD_PTR)w)
                                 : accept(w->l, NULL, NULL);
    w->error = w->result == INVALID_SOCKET ? WSAGetLastError() : 0;
    w->done_at = GetTickCount();
    return 0;
}

static void waiter_start(struct waiter *w, SOCKET l, BOOL use_condition)
{
    memset(w, 0, sizeof(*w));
    w->l = l;
    w->use_condition = use_condition;
    w->thread = CreateThread(NULL, 0, waiter_thread, w, 0, NULL);
}

static BOOL waiter_done(struct waiter *w, DWORD ms)
{
    return WaitForSingleObject(w->thread, ms) == WAIT_OBJECT_0;
}

static void waiter_end(struct waiter *w)
{
    if (!waiter_done(w, 5000)) TerminateThread(w->thread, 1);
    CloseHandle(w->thread);
    if (w->result != INVALID_SOCKET) closesocket(w->result);
}

static void test_B2(void)
{
    struct waiter w;
    SOCKET l, c;

    startup();
    l = tcp_listener(AF_INET, "127.0.0.1", 4);
    rec_reset(CF_ACCEPT);
    waiter_start(&w, l, TRUE);
    ok(!waiter_done(&w, 300), "WSAAccept on a blocking listener returned at once: %d\n", w.error);
    c = tcp_connect(l);
    ok(waiter_done(&w, 3000), "the waiter did not wake for the connection\n");
    ok(same_connection(w.result, c), "the waiter got %#Ix, error %d\n", (ULONG_PTR)w.result, w.error);
    waiter_end(&w);
    closesocket(c);
    closesocket(l);
    cleanup();
}

static LONG apc_ran;

static void CALLBACK apc(ULONG_PTR arg)
{
    InterlockedIncrement(&apc_ran);
}

static void test_B3(void)
{
    struct waiter w;
    SOCKET l, c;

    startup();
    l = tcp_listener(AF_INET, "127.0.0.1", 4);
    rec_reset(CF_ACCEPT);
    waiter_start(&w, l, TRUE);
    Sleep(200);
    apc_ran = 0;
    ok(QueueUserAPC(apc, w.thread, 0), "QueueUserAPC failed\n");
    Sleep(300);
    ok(apc_ran == 1, "the APC did not run during the wait\n");
    ok(!waiter_done(&w, 0), "the APC ended the wait: result %#Ix, error %d\n", (ULONG_PTR)w.result, w.error);
    c = tcp_connect(l);
    ok(waiter_done(&w, 3000), "the waiter did not go on waiting after the APC\n");
    ok(same_connection(w.result, c), "after the APC the waiter got %#Ix, error %d\n", (ULONG_PTR)w.result, w.error);
    waiter_end(&w);
    closesocket(c);
    closesocket(l);
    cleanup();
}

static void test_B4(void)
{
    struct waiter w;
    DWORD closed_at;
    SOCKET l;

    startup();
    l = tcp_listener(AF_INET, "127.0.0.1", 4);
    rec_reset(CF_ACCEPT);
    waiter_start(&w, l, TRUE);
    Sleep(200);
    closed_at = GetTickCount();
    ok(!closesocket(l), "closesocket failed: %d\n", WSAGetLastError());
    ok(waiter_done(&w, 1000), "the waiter did not return within 1 s of closesocket\n");
    ok(w.result == INVALID_SOCKET, "the waiter got a socket\n");
    ok(w.error == WSAEINTR, "the waiter's error is %d, expected WSAEINTR\n", w.error);
    if (w.done_at) ok(w.done_at - closed_at < 1000, "the waiter took %lu ms\n", w.done_at - closed_at);
    waiter_end(&w);
    cleanup();
}

/* B2, woken: a blocked accept sleeps until something wakes it, as on the platform, where it
 * waits in the kernel.  The DLL's own waits are counted through its import of
 * WaitForSingleObjectEx while a thread waits 1 s for a connection: at most two (a look after
 * the registration may wake once), none with a timeout; a wait cut into slices, the DLL
 * looking again every so often, shows as timed waits.  The connection then ends it at once. */
static __typeof__(WaitForSingleObjectEx) *real_wait_ex;
static DWORD main_thread_id;
static LONG waits_counted, waits_timed;

static DWORD WINAPI counted_wait_ex(HANDLE handle, DWORD ms, BOOL alertable)
{
    if (GetCurrentThreadId() != main_thread_id)
    {
        InterlockedIncrement(&waits_counted);
        if (ms != INFINITE) InterlockedIncrement(&waits_timed);
    }
    return real_wait_ex(handle, ms, alertable);
}

static void test_B2_woken(void)
{
    ULONG_PTR *slot = import_slot(ws2->module, "WaitForSingleObjectEx");
    struct waiter w;
    DWORD connected_at;
    SOCKET l, c;
    int mode;

    if (!slot)
    {
        ok(!strcmp(ws2_target, "platform"), "the DLL does not import WaitForSingleObjectEx\n");
        skip("B2_woken counts this DLL's own waits; the %s waits inside the system\n", ws2_target);
        return;
    }
    startup();
    main_thread_id = GetCurrentThreadId();
    real_wait_ex = replace_slot(slot, (void *)counted_wait_ex);
    for (mode = 0; mode < 2; mode++)
    {
        l = tcp_listener(AF_INET, "127.0.0.1", 4);
        rec_reset(CF_ACCEPT);
        waits_counted = waits_timed = 0;
        waiter_start(&w, l, mode);
        Sleep(1000);
        ok(!waiter_done(&w, 0), "%s returned without a connection\n", mode ? "WSAAccept" : "accept");
        ok(waits_counted <= 2 && !waits_timed, "%s: %ld waits in 1 s idle, %ld with a timeout\n",
           mode ? "WSAAccept" : "accept", waits_counted, waits_timed);
        /* Timed from before the connect: the accept may return before connect() does. */
        connected_at = GetTickCount();
        c = tcp_connect(l);
        ok(waiter_done(&w, 2000), "the waiter did not return within 2 s of the connection\n");
        ok(w.result != INVALID_SOCKET, "the waiter failed: %d\n", w.error);
        if (w.done_at) ok(w.done_at - connected_at < 500, "the waiter took %lu ms\n", w.done_at - connected_at);
        waiter_end(&w);
        closesocket(c);
        closesocket(l);
    }
    replace_slot(slot, (void *)real_wait_ex);
    cleanup();
}

/* B4 for select and WSAPoll: a closesocket of a watched listener from another thread ends the
 * wait at once, with the listener reported (select: in the read set; WSAPoll: POLLNVAL), never
 * an error because the close came between two of the front's looks.  The closes land at many
 * points of the wait, around the moments a wait cut into slices would look again. */
struct b4_select
{
    SOCKET l;
    BOOL poll;
    HANDLE started;
    LARGE_INTEGER begun, ended;
    int ret, error;
    BOOL reported;
};

static DWORD WINAPI b4_select_thread(void *arg)
{
    struct b4_select *b = arg;
    struct timeval tv = { 10, 0 };
    WSAPOLLFD pfd = { b->l, POLLRDNORM, 0 };
    fd_set rd;

    FD_ZERO(&rd);
    FD_SET(b->l, &rd);
    SetEvent(b->started);
    QueryPerformanceCounter(&b->begun);
    b->ret = b->poll ? WSAPoll(&pfd, 1, 10000) : select(0, &rd, NULL, NULL, &tv);
    QueryPerformanceCounter(&b->ended);
    b->error = b->ret == SOCKET_ERROR ? WSAGetLastError() : 0;
    b->reported = b->poll ? (pfd.revents & (POLLNVAL | POLLHUP | POLLRDNORM)) != 0 : FD_ISSET(b->l, &rd);
    return 0;
}

static void test_B4_select(void)
{
    LARGE_INTEGER freq, now;
    int round, errors = 0, unreported = 0, slow = 0, rounds = 24;
    double worst_ms = 0;

    startup();
    QueryPerformanceFrequency(&freq);
    for (round = 0; round < rounds + 2; round++)
    {
        struct b4_select b = { 0 };
        HANDLE thread;
        double close_at_ms, took_ms;

        b.l = tcp_listener(AF_INET, "127.0.0.1", 4);
        b.poll = round >= rounds;
        b.started = CreateEventW(NULL, TRUE, FALSE, NULL);
        thread = CreateThread(NULL, 0, b4_select_thread, &b, 0, NULL);
        WaitForSingleObject(b.started, 2000);
        /* Just past 200 ms, in steps of 80 us, busy-waiting for the moment. */
        close_at_ms = 200.0 + round * 0.08;
        Sleep(190);
        do QueryPerformanceCounter(&now);
        while (!b.begun.QuadPart || (now.QuadPart - b.begun.QuadPart) * 1000.0 / freq.QuadPart < close_at_ms);
        closesocket(b.l);
        QueryPerformanceCounter(&now);
        ok(WaitForSingleObject(thread, 12000) == WAIT_OBJECT_0, "the wait did not end\n");
        took_ms = (b.ended.QuadPart - now.QuadPart) * 1000.0 / freq.QuadPart;
        if (took_ms > worst_ms) worst_ms = took_ms;
        if (b.ret == SOCKET_ERROR) errors++;
        else if (b.ret != 1 || !b.reported) unreported++;
        if (took_ms > 500) slow++;
        if (b.ret != 1 || !b.reported || took_ms > 500)
            trace("%s, close at %.2f ms: ret %d, error %d, reported %d, ended %.1f ms after the close\n",
                  b.poll ? "WSAPoll" : "select", close_at_ms, b.ret, b.error, b.reported, took_ms);
        CloseHandle(thread);
        CloseHandle(b.started);
    }
    ok(!errors, "%d of %d waits failed with an error when their listener was closed\n", errors, rounds + 2);
    ok(!unreported, "%d of %d waits did not report the closed listener\n", unreported, rounds + 2);
    ok(!slow, "%d of %d waits took more than 500 ms to end after the close (worst %.1f ms)\n", slow, rounds + 2,
       worst_ms);
    cleanup();
}

/* B5: WinSock 1.1's blocking hook. */
static SOCKET b5_listener;
static int b5_calls, b5_is_blocking, b5_inner_socket_error, b5_inner_getsockopt_error, b5_cancel_ret;

static BOOL CALLBACK b5_hook(void)
{
    int type, len = sizeof(type);

    b5_calls++;
    if (b5_calls == 1)
    {
        b5_is_blocking = WSAIsBlocking();
        b5_inner_socket_error = socket(AF_INET, SOCK_STREAM, 0) == INVALID_SOCKET ? WSAGetLastError() : 0;
        b5_inner_getsockopt_error = getsockopt(b5_listener, SOL_SOCKET, SO_TYPE, (char *)&type, &len) ? WSAGetLastError() : 0;
    }
    if (b5_calls == 5) b5_cancel_ret = WSACancelBlockingCall();
    return FALSE;
}

static LONG b5_wndproc_calls;

static LRESULT CALLBACK b5_wndproc(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
    if (msg == WM_USER + 1)
    {
        InterlockedIncrement(&b5_wndproc_calls);
        WSACancelBlockingCall();
        return 0;
    }
    return DefWindowProcA(hwnd, msg, wparam, lparam);
}

static void test_B5(void)
{
    WNDCLASSA cls = { 0 };
    WSADATA data;
    FARPROC previous;
    HWND hwnd;
    SOCKET ret;

    /* WinSock 2: the 1.1 model is gone. */
    startup();
    SetLastError(0);
    ok(WSASetBlockingHook((FARPROC)b5_hook) == NULL && WSAGetLastError() == WSAEOPNOTSUPP,
       "WSASetBlockingHook under 2.2: error %d\n", WSAGetLastError());
    ok(WSAUnhookBlockingHook() == SOCKET_ERROR && WSAGetLastError() == WSAEOPNOTSUPP,
       "WSAUnhookBlockingHook under 2.2: error %d\n", WSAGetLastError());
    ok(WSACancelBlockingCall() == SOCKET_ERROR && WSAGetLastError() == WSAEOPNOTSUPP,
       "WSACancelBlockingCall under 2.2: error %d\n", WSAGetLastError());
    ok(!WSAIsBlocking(), "WSAIsBlocking under 2.2\n");
    cleanup();

    ok(!WSAStartup(MAKEWORD(1, 1), &data) && data.wVersion == MAKEWORD(1, 1), "WSAStartup(1.1) failed\n");
    b5_listener = tcp_listener(AF_INET, "127.0.0.1", 4);
    ok(!WSAIsBlocking(), "WSAIsBlocking outside a blocking call\n");
    ok(WSACancelBlockingCall() == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL,
       "WSACancelBlockingCall with nothing to cancel: %d\n", WSAGetLastError());
    previous = WSASetBlockingHook((FARPROC)b5_hook);
    ok(previous != NULL, "WSASetBlockingHook failed: %d\n", WSAGetLastError());
    ret = WSAAccept(b5_listener, NULL, NULL, condition, 0);
    expect_error(ret, WSAEINTR, "cancelled from the hook");
    ok(b5_calls >= 5, "the hook ran %d times\n", b5_calls);
    ok(b5_is_blocking, "WSAIsBlocking was FALSE inside the hook\n");
    ok(b5_inner_socket_error == WSAEINPROGRESS, "socket() inside the hook gave %d\n", b5_inner_socket_error);
    ok(b5_inner_getsockopt_error == WSAEINPROGRESS, "getsockopt() inside the hook gave %d\n", b5_inner_getsockopt_error);
    ok(!b5_cancel_ret, "WSACancelBlockingCall inside the hook failed\n");
    ok(!WSAIsBlocking(), "WSAIsBlocking after the call\n");

    /* The default hook dispatches messages: a window's procedure runs and cancels. */
    ok(!WSAUnhookBlockingHook(), "WSAUnhookBlockingHook failed: %d\n", WSAGetLastError());
    cls.lpfnWndProc = b5_wndproc;
    cls.lpszClassName = "ws2_32_B5";
    RegisterClassA(&cls);
    hwnd = CreateWindowA("ws2_32_B5", "", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, NULL, NULL);
    PostMessageA(hwnd, WM_USER + 1, 0, 0);
    ret = accept(b5_listener, NULL, NULL);
    expect_error(ret, WSAEINTR, "cancelled from a message dispatched by the default hook");
    ok(b5_wndproc_calls == 1, "the default hook dispatched %ld messages\n", b5_wndproc_calls);
    DestroyWindow(hwnd);
    closesocket(b5_listener);
    cleanup();
}

/* ------------------------------------------------------------------------------------ */
/* C. The condition function                                                            */

static void test_C1(void)
{
    struct server srv;
    SOCKADDR_STORAGE addr, client;
    int len = sizeof(addr);
    SOCKET a;

    server_up(&srv, AF_INET, "127.0.0.1");
    a = WSAAccept(srv.l, (struct sockaddr *)&addr, &len, NULL, 0);
    ok(same_connection(a, srv.c), "WSAAccept without a condition function failed: %d\n", WSAGetLastError());
    sockaddr_of(srv.c, &client);
    ok(len == sizeof(SOCKADDR_IN) && !memcmp(&addr, &client, len), "address %s, len %d\n", addr_str(&addr), len);
    ok(send(a, "x", 1, 0) == 1 && peer_state(srv.c, 1000) == PEER_DATA, "the socket does not work\n");
    closesocket(a);
    server_down(&srv);
}

static SOCKET c2_other;
static int c2_type, c2_inner_error;

static void c2_action(void)
{
    int len = sizeof(c2_type);
    SOCKET ret;

    getsockopt(rec.listener, SOL_SOCKET, SO_TYPE, (char *)&c2_type, &len);
    ret = WSAAccept(c2_other, NULL, NULL, condition, 0);
    c2_inner_error = ret == INVALID_SOCKET ? WSAGetLastError() : 0;
}

static void test_C2(void)
{
    struct server srv;
    SOCKET a;

    server_up(&srv, AF_INET, "127.0.0.1");
    c2_other = tcp_listener(AF_INET, "127.0.0.1", 1);
    set_nonblocking(c2_other, TRUE);
    rec_reset(CF_ACCEPT);
    rec.listener = srv.l;
    rec.action = c2_action;
    a = WSAAccept(srv.l, NULL, NULL, condition, 0);
    ok(same_connection(a, srv.c), "WSAAccept failed: %d\n", WSAGetLastError());
    ok(rec.calls == 1, "the condition function was called %ld times\n", rec.calls);
    ok(rec.thread == GetCurrentThreadId(), "the condition function ran on another thread\n");
    ok(c2_type == SOCK_STREAM, "getsockopt on the listener inside the callback gave type %d\n", c2_type);
    ok(c2_inner_error == WSAEWOULDBLOCK, "WSAAccept on another listener inside the callback gave %d\n", c2_inner_error);
    closesocket(a);
    closesocket(c2_other);
    server_down(&srv);
}

static void check_caller_id(SOCKET client, int expected_len)
{
    SOCKADDR_STORAGE local;

    sockaddr_of(client, &local);
    ok(rec.has_caller_id && rec.caller_id_buf, "no lpCallerId\n");
    ok(rec.caller_len == (ULONG)expected_len, "lpCallerId->len %lu, expected %d\n", rec.caller_len, expected_len);
    ok(rec.caller.ss_family == (expected_len == sizeof(SOCKADDR_IN6) ? AF_INET6 : AF_INET),
       "caller family %d\n", rec.caller.ss_family);
    if (local.ss_family == rec.caller.ss_family)
        ok(!memcmp(&rec.caller, &local, expected_len), "caller %s, the client is %s\n",
           addr_str(&rec.caller), addr_str(&local));
}

static void test_C3(void)
{
    struct server srv;
    SOCKADDR_STORAGE addr;
    SOCKADDR_IN6 *mapped;
    int len = sizeof(addr), off = 0;
    SOCKET a, l6, c4;

    /* IPv4, with the caller's own buffer: the callback's buffer is the DLL's. */
    server_up(&srv, AF_INET, "127.0.0.1");
    rec_reset(CF_ACCEPT);
    a = WSAAccept(srv.l, (struct sockaddr *)&addr, &len, condition, 0);
    ok(same_connection(a, srv.c), "WSAAccept failed: %d\n", WSAGetLastError());
    check_caller_id(srv.c, sizeof(SOCKADDR_IN));
    ok(rec.caller_id_buf != (char *)&addr, "lpCallerId->buf is the caller's addr buffer\n");
    closesocket(a);
    server_down(&srv);

    /* IPv6: the whole sockaddr_in6, and without any addr from the caller. */
    server_up(&srv, AF_INET6, "::1");
    a = wsa_accept(srv.l, CF_ACCEPT);
    ok(same_connection(a, srv.c), "WSAAccept over IPv6 failed: %d\n", WSAGetLastError());
    check_caller_id(srv.c, sizeof(SOCKADDR_IN6));
    closesocket(a);
    server_down(&srv);

    /* A v4 peer of a dual-stack listener is a v4-mapped sockaddr_in6. */
    startup();
    l6 = socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP);
    setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, (char *)&off, sizeof(off));
    memset(&addr, 0, sizeof(addr));
    addr.ss_family = AF_INET6;
    ok(!bind(l6, (struct sockaddr *)&addr, sizeof(SOCKADDR_IN6)), "bind :: failed\n");
    listen(l6, 4);
    sockaddr_of(l6, &addr);
    {
        SOCKADDR_IN v4 = { AF_INET };
        v4.sin_port = ((SOCKADDR_IN6 *)&addr)->sin6_port;
        v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        c4 = tcp_connect_to((SOCKADDR_STORAGE *)&v4, sizeof(v4));
    }
    wait_pending(l6, 1000);
    a = wsa_accept(l6, CF_ACCEPT);
    ok(a != INVALID_SOCKET, "WSAAccept on the dual-stack listener failed: %d\n", WSAGetLastError());
    mapped = (SOCKADDR_IN6 *)&rec.caller;
    ok(rec.caller_len == sizeof(SOCKADDR_IN6) && mapped->sin6_family == AF_INET6 &&
       IN6_IS_ADDR_V4MAPPED(&mapped->sin6_addr) && port_of(mapped) == local_port(c4),
       "v4-mapped caller: len %lu, %s\n", rec.caller_len, addr_str(&rec.caller));
    closesocket(a);
    closesocket(c4);
    closesocket(l6);
    cleanup();
}

static void test_C4(void)
{
    struct server srv;
    SOCKET a;

    server_up(&srv, AF_INET, "127.0.0.1");
    a = wsa_accept(srv.l, CF_ACCEPT);
    ok(rec.calls == 1 && rec.caller_data == NULL, "lpCallerData is %p\n", rec.caller_data);
    closesocket(a);
    server_down(&srv);
}

static void test_C5(void)
{
    struct server srv;
    SOCKET a;

    server_up(&srv, AF_INET, "127.0.0.1");
    a = wsa_accept(srv.l, CF_ACCEPT);
    ok(rec.calls == 1 && rec.sqos == NULL, "lpSQOS is %p\n", rec.sqos);
    ok(rec.calls == 1 && rec.gqos == NULL, "lpGQOS is %p\n", rec.gqos);
    closesocket(a);
    server_down(&srv);
}

static void check_callee(int family, const char *wildcard)
{
    struct server srv;
    SOCKADDR_STORAGE local;
    SOCKET a;

    server_up(&srv, family, wildcard);
    a = wsa_accept(srv.l, CF_ACCEPT);
    ok(a != INVALID_SOCKET, "WSAAccept failed: %d\n", WSAGetLastError());
    sockaddr_of(a, &local);
    ok(rec.has_callee_id, "no lpCalleeId\n");
    ok(rec.callee_len == (family == AF_INET ? sizeof(SOCKADDR_IN) : sizeof(SOCKADDR_IN6)),
       "lpCalleeId->len %lu\n", rec.callee_len);
    ok(!memcmp(&rec.callee, &local, rec.callee_len), "lpCalleeId %s, getsockname says %s\n",
       addr_str(&rec.callee), addr_str(&local));
    closesocket(a);
    server_down(&srv);
}

static void test_C6(void)
{
    check_callee(AF_INET, "0.0.0.0");
    check_callee(AF_INET, "127.0.0.1");
    check_callee(AF_INET6, "::");
    check_callee(AF_INET6, "::1");
}

static void test_C7(void)
{
    struct server srv;
    SOCKET a;

    server_up(&srv, AF_INET, "127.0.0.1");
    a = wsa_accept(srv.l, CF_ACCEPT);
    ok(a != INVALID_SOCKET, "WSAAccept failed: %d\n", WSAGetLastError());
    ok(rec.has_callee_data, "lpCalleeData is NULL: a callback that sets len = 0 would crash\n");
    ok(rec.callee_data_len == 0 && rec.callee_data_buf == NULL, "lpCalleeData is { %lu, %p }\n",
       rec.callee_data_len, rec.callee_data_buf);
    ok(peer_state(srv.c, 300) == PEER_OPEN, "the client received something\n");
    closesocket(a);
    server_down(&srv);
}

static void test_C8(void)
{
    struct server srv;
    GROUP group = 0xdead;
    int len = sizeof(group);
    SOCKET a;

    server_up(&srv, AF_INET, "127.0.0.1");
    a = wsa_accept(srv.l, CF_ACCEPT);
    ok(a != INVALID_SOCKET, "WSAAccept failed: %d\n", WSAGetLastError());
    ok(rec.has_group && rec.group == 0, "g is %s %#x\n", rec.has_group ? "set to" : "NULL", rec.group);
    ok(!getsockopt(a, SOL_SOCKET, SO_GROUP_ID, (char *)&group, &len) && group == 0,
       "SO_GROUP_ID is %#x after the callback wrote SG_UNCONSTRAINED_GROUP\n", group);
    closesocket(a);
    server_down(&srv);
}

static void test_C9(void)
{
    struct server srv;
    DWORD_PTR value = (DWORD_PTR)0x8765432112345678ull;
    SOCKET a;

    server_up(&srv, AF_INET, "127.0.0.1");
    rec_reset(CF_ACCEPT);
    a = WSAAccept(srv.l, NULL, NULL, condition, value);
    ok(a != INVALID_SOCKET, "WSAAccept failed: %d\n", WSAGetLastError());
    ok(rec.data == value, "dwCallbackData %#Ix, expected %#Ix\n", rec.data, value);
    closesocket(a);
    server_down(&srv);
}

static void test_C10(void)
{
    struct server srv;
    SOCKADDR_STORAGE addr;
    int len = sizeof(addr);
    SOCKET a;

    server_up(&srv, AF_INET6, "::1");
    rec_reset(CF_ACCEPT);
    a = WSAAccept(srv.l, (struct sockaddr *)&addr, &len, condition, 0);
    ok(a != INVALID_SOCKET, "WSAAccept failed: %d\n", WSAGetLastError());
    ok(len == (int)rec.caller_len && !memcmp(&addr, &rec.caller, len), "addr %s (len %d), callback saw %s (len %lu)\n",
       addr_str(&addr), len, addr_str(&rec.caller), rec.caller_len);
    closesocket(a);
    server_down(&srv);
}

/* ------------------------------------------------------------------------------------ */
/* D. What the return value does                                                        */

static void test_D1(void)
{
    struct server srv;
    SOCKADDR_STORAGE addr, client;
    int len = sizeof(addr);
    char buf[4];
    SOCKET a;

    server_up(&srv, AF_INET, "127.0.0.1");
    rec_reset(CF_ACCEPT);
    a = WSAAccept(srv.l, (struct sockaddr *)&addr, &len, condition, 0);
    ok(same_connection(a, srv.c), "CF_ACCEPT did not return the connection: %d\n", WSAGetLastError());
    sockaddr_of(srv.c, &client);
    ok(len == sizeof(SOCKADDR_IN) && !memcmp(&addr, &client, len), "addr %s, len %d\n", addr_str(&addr), len);
    ok(send(srv.c, "abc", 3, 0) == 3 && recv(a, buf, 3, 0) == 3, "no data through the new socket\n");
    closesocket(a);
    server_down(&srv);
}

static void test_D2(void)
{
    struct server srv;
    char byte = 'x';
    int ret;

    server_up(&srv, AF_INET, "127.0.0.1");
    set_nonblocking(srv.l, TRUE);
    expect_error(wsa_accept(srv.l, CF_REJECT), WSAECONNREFUSED, "CF_REJECT");
    ok(peer_state(srv.c, 2000) == PEER_RESET, "the refused client did not see a reset\n");
    ret = send(srv.c, &byte, 1, 0);
    ok(ret == SOCKET_ERROR, "the refused client could still send\n");
    expect_error(accept(srv.l, NULL, NULL), WSAEWOULDBLOCK, "the refused connection left the queue");
    server_down(&srv);
}

static void test_D3(void)
{
    struct server srv;
    SOCKADDR_STORAGE first;
    SOCKET c2, a;

    server_up(&srv, AF_INET, "127.0.0.1");
    c2 = tcp_connect(srv.l);
    expect_error(wsa_accept(srv.l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER");
    first = rec.caller;
    ok(port_of(&first) == local_port(srv.c), "the first connection offered is not the first one\n");
    expect_error(wsa_accept(srv.l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER again");
    ok(rec.calls == 1 && !memcmp(&rec.caller, &first, sizeof(SOCKADDR_IN)),
       "the second call offered %s, not the deferred %s\n", addr_str(&rec.caller), addr_str(&first));
    a = accept(srv.l, NULL, NULL);
    ok(same_connection(a, srv.c), "accept did not take the deferred connection first\n");
    ok(peer_state(srv.c, 100) == PEER_OPEN, "the deferred client's connection was ended\n");
    closesocket(a);
    a = accept(srv.l, NULL, NULL);
    ok(same_connection(a, c2), "the connection behind it was lost\n");
    closesocket(a);
    closesocket(c2);
    server_down(&srv);
    if (strcmp(ws2_target, "platform"))
        skip("AcceptEx taking a deferred connection first is not reachable here: the held connection "
             "is a platform socket of its own and cannot be moved into the caller's accept socket\n");
}

static void test_D4(void)
{
    struct server srv;
    int values[] = { 2 + 1, -1, 42 }, i;
    SOCKET a;

    server_up(&srv, AF_INET, "127.0.0.1");
    for (i = 0; i < ARRAYSIZE(values); i++)
    {
        winetest_push_context("returning %d", values[i]);
        expect_error(wsa_accept(srv.l, values[i]), WSAEINVAL, "an invalid return value");
        ok(rec.calls == 1 && port_of(&rec.caller) == local_port(srv.c), "offered %s\n", addr_str(&rec.caller));
        ok(peer_state(srv.c, 100) == PEER_OPEN, "the connection was ended\n");
        winetest_pop_context();
    }
    a = wsa_accept(srv.l, CF_ACCEPT);
    ok(same_connection(a, srv.c), "the connection did not stay at the head of the queue\n");
    closesocket(a);
    server_down(&srv);
}

static void d5_close_listener(void)
{
    closesocket(rec.listener);
}

static void test_D5(void)
{
    struct server srv;
    SOCKET a;
    int state;

    server_up(&srv, AF_INET, "127.0.0.1");
    rec_reset(CF_ACCEPT);
    rec.listener = srv.l;
    rec.action = d5_close_listener;
    a = WSAAccept(srv.l, NULL, NULL, condition, 0);
    ok(same_connection(a, srv.c), "after closing the listener, CF_ACCEPT gave %#Ix, error %d\n",
       (ULONG_PTR)a, WSAGetLastError());
    ok(a != INVALID_SOCKET && send(a, "x", 1, 0) == 1 && peer_state(srv.c, 1000) == PEER_DATA,
       "the returned socket does not work\n");
    closesocket(a);
    closesocket(srv.c);

    srv.l = tcp_listener(AF_INET, "127.0.0.1", 4);
    srv.c = tcp_connect(srv.l);
    wait_pending(srv.l, 1000);
    rec_reset(CF_DEFER);
    rec.listener = srv.l;
    rec.action = d5_close_listener;
    a = WSAAccept(srv.l, NULL, NULL, condition, (DWORD_PTR)&rec);
    expect_error(a, WSAENOTSOCK, "CF_DEFER after closing the listener");
    state = peer_state(srv.c, 2000);
    ok(state == PEER_FIN || state == PEER_RESET, "the connection was not closed (state %d)\n", state);
    closesocket(srv.c);
    cleanup();
}

/* ------------------------------------------------------------------------------------ */
/* E. A connection that waits                                                           */

/* A select or WSAPoll that began while nothing was pending, in another thread. */
struct late_waiter
{
    SOCKET l;
    BOOL poll;
    HANDLE started, thread;
    int ret;
    DWORD took_ms;
};

static DWORD WINAPI late_waiter_thread(void *arg)
{
    struct late_waiter *w = arg;
    struct timeval tv = { 5, 0 };
    WSAPOLLFD pfd = { w->l, POLLRDNORM, 0 };
    DWORD start = GetTickCount();
    fd_set rd;

    FD_ZERO(&rd);
    FD_SET(w->l, &rd);
    SetEvent(w->started);
    w->ret = w->poll ? WSAPoll(&pfd, 1, 5000) : select(0, &rd, NULL, NULL, &tv);
    if (w->ret == 1 && (w->poll ? !(pfd.revents & POLLRDNORM) : !FD_ISSET(w->l, &rd))) w->ret = -2;
    w->took_ms = GetTickCount() - start;
    return 0;
}

/* Starts the waiter once this call has taken the connection, lets it block, then defers. */
static int CALLBACK defer_under_waiter(WSABUF *caller_id, WSABUF *caller_data, QOS *sqos, QOS *gqos,
                                       WSABUF *callee_id, WSABUF *callee_data, GROUP *g, DWORD_PTR data)
{
    struct late_waiter *w = (struct late_waiter *)data;

    w->thread = CreateThread(NULL, 0, late_waiter_thread, w, 0, NULL);
    WaitForSingleObject(w->started, 2000);
    Sleep(400);
    return CF_DEFER;
}

static void check_late_waiter(struct server *srv, BOOL poll)
{
    struct late_waiter w = { srv->l, poll, CreateEventW(NULL, TRUE, FALSE, NULL) };
    SOCKET c = tcp_connect(srv->l), a;

    winetest_push_context(poll ? "WSAPoll already waiting" : "select already waiting");
    wait_pending(srv->l, 1000);
    a = WSAAccept(srv->l, NULL, NULL, defer_under_waiter, (DWORD_PTR)&w);
    expect_error(a, WSATRY_AGAIN, "CF_DEFER");
    ok(w.thread && WaitForSingleObject(w.thread, 8000) == WAIT_OBJECT_0, "the waiter did not return\n");
    ok(w.ret == 1 && w.took_ms < 2500, "a deferral by another thread did not end the wait: %d after %lu ms\n",
       w.ret, w.took_ms);
    a = accept(srv->l, NULL, NULL);
    ok(same_connection(a, c), "accept did not take the held connection\n");
    closesocket(a);
    closesocket(c);
    if (w.thread) CloseHandle(w.thread);
    CloseHandle(w.started);
    winetest_pop_context();
}

static void test_E1(void)
{
    struct server srv;
    WSAPOLLFD pfd;
    fd_set rd, wr, ex;
    struct timeval tv = { 0, 0 };
    u_long held_bytes = 77, pending_bytes = 77;
    int held_ret, pending_ret, ret;
    SOCKET a, c2;

    server_up(&srv, AF_INET, "127.0.0.1");
    pending_ret = ioctlsocket(srv.l, FIONREAD, &pending_bytes);
    expect_error(wsa_accept(srv.l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER");

    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_ZERO(&ex);
    FD_SET(srv.l, &rd);
    FD_SET(srv.l, &wr);
    FD_SET(srv.l, &ex);
    ret = select(0, &rd, &wr, &ex, &tv);
    ok(ret == 1 && FD_ISSET(srv.l, &rd), "select: %d, the listener is %sin the read set\n", ret,
       FD_ISSET(srv.l, &rd) ? "" : "not ");
    ok(!FD_ISSET(srv.l, &wr) && !FD_ISSET(srv.l, &ex), "the listener is in the write or except set\n");

    pfd.fd = srv.l;
    pfd.events = POLLRDNORM;
    pfd.revents = 0;
    ret = WSAPoll(&pfd, 1, 0);
    ok(ret == 1 && (pfd.revents & POLLRDNORM), "WSAPoll: %d, revents %#x\n", ret, pfd.revents);

    held_ret = ioctlsocket(srv.l, FIONREAD, &held_bytes);
    ok(held_ret == pending_ret && held_bytes == pending_bytes, "FIONREAD: %d/%lu held, %d/%lu pending\n",
       held_ret, held_bytes, pending_ret, pending_bytes);

    /* Still readable after a second look, until it is taken. */
    ok(readable(srv.l, 0), "the listener stopped being readable\n");
    a = accept(srv.l, NULL, NULL);
    ok(same_connection(a, srv.c), "accept did not take the deferred connection\n");
    ok(!readable(srv.l, 0), "readable with nothing pending\n");
    closesocket(a);

    /* A blocking select wakes for a held connection too: defer, then select with a timeout. */
    c2 = tcp_connect(srv.l);
    wait_pending(srv.l, 1000);
    expect_error(wsa_accept(srv.l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER");
    ok(readable(srv.l, 2000), "a select with a timeout did not see the held connection\n");
    a = wsa_accept(srv.l, CF_REJECT);
    expect_error(a, WSAECONNREFUSED, "CF_REJECT of the held connection");
    ok(!readable(srv.l, 0), "readable after the held connection was rejected\n");
    closesocket(c2);

    /* A wait that began before the deferral, while nothing was pending, ends with it. */
    check_late_waiter(&srv, FALSE);
    check_late_waiter(&srv, TRUE);
    server_down(&srv);
}

static void test_E2(void)
{
    WSANETWORKEVENTS events;
    struct server srv;
    HANDLE event = CreateEventW(NULL, TRUE, FALSE, NULL);
    SOCKET c2, a;

    startup();
    srv.l = tcp_listener(AF_INET, "127.0.0.1", 8);
    ok(!WSAEventSelect(srv.l, event, FD_ACCEPT), "WSAEventSelect failed: %d\n", WSAGetLastError());
    srv.c = tcp_connect(srv.l);
    ok(WaitForSingleObject(event, 2000) == WAIT_OBJECT_0, "no FD_ACCEPT for the first connection\n");
    ok(!WSAEnumNetworkEvents(srv.l, event, &events) && events.lNetworkEvents == FD_ACCEPT, "events %#lx\n",
       events.lNetworkEvents);
    expect_error(wsa_accept(srv.l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER");
    ok(WaitForSingleObject(event, 300) == WAIT_TIMEOUT, "the deferred connection posted FD_ACCEPT on its own\n");

    c2 = tcp_connect(srv.l);
    ok(WaitForSingleObject(event, 2000) == WAIT_OBJECT_0, "no FD_ACCEPT for a connection behind the deferred one\n");
    ok(!WSAEnumNetworkEvents(srv.l, event, &events) && (events.lNetworkEvents & FD_ACCEPT), "events %#lx\n",
       events.lNetworkEvents);

    a = wsa_accept(srv.l, CF_ACCEPT);
    ok(same_connection(a, srv.c), "the deferred connection was not first\n");
    closesocket(a);
    /* accept re-enabled FD_ACCEPT and a connection is still pending: it is posted again. */
    ok(WaitForSingleObject(event, 2000) == WAIT_OBJECT_0, "FD_ACCEPT was not re-enabled by WSAAccept\n");
    events.lNetworkEvents = 0;
    ok(!WSAEnumNetworkEvents(srv.l, event, &events) && (events.lNetworkEvents & FD_ACCEPT), "events %#lx, error %d\n",
       events.lNetworkEvents, WSAGetLastError());
    a = accept(srv.l, NULL, NULL);
    ok(same_connection(a, c2), "the second connection was lost\n");
    closesocket(a);
    closesocket(c2);
    CloseHandle(event);
    server_down(&srv);
}

/* The FD_ACCEPT messages WSAAsyncSelect posted for L within MS milliseconds. */
static int fd_accept_messages(HWND hwnd, SOCKET l, int ms)
{
    DWORD end = GetTickCount() + ms;
    int count = 0;
    MSG msg;

    do
    {
        while (PeekMessageA(&msg, hwnd, WM_USER + 2, WM_USER + 2, PM_REMOVE))
            if ((SOCKET)msg.wParam == l && WSAGETSELECTEVENT(msg.lParam) == FD_ACCEPT) count++;
        if (count) break;
        MsgWaitForMultipleObjects(0, NULL, FALSE, 20, QS_POSTMESSAGE);
    } while ((LONG)(GetTickCount() - end) < 0);
    return count;
}

/* E2 through WSAAsyncSelect: the same rules, as window messages. */
static void test_E2_async(void)
{
    struct server srv;
    SOCKET c2, a;
    HWND hwnd;

    startup();
    hwnd = CreateWindowA("STATIC", "", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, NULL, NULL);
    srv.l = tcp_listener(AF_INET, "127.0.0.1", 8);
    ok(!WSAAsyncSelect(srv.l, hwnd, WM_USER + 2, FD_ACCEPT), "WSAAsyncSelect failed: %d\n", WSAGetLastError());
    srv.c = tcp_connect(srv.l);
    ok(fd_accept_messages(hwnd, srv.l, 2000) == 1, "no FD_ACCEPT message for the first connection\n");
    expect_error(wsa_accept(srv.l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER");
    ok(!fd_accept_messages(hwnd, srv.l, 300), "the deferred connection posted FD_ACCEPT on its own\n");
    c2 = tcp_connect(srv.l);
    ok(fd_accept_messages(hwnd, srv.l, 2000) >= 1, "no FD_ACCEPT message for the connection behind it\n");
    a = wsa_accept(srv.l, CF_ACCEPT);
    ok(same_connection(a, srv.c), "the deferred connection was not first\n");
    closesocket(a);
    ok(fd_accept_messages(hwnd, srv.l, 2000) >= 1, "FD_ACCEPT was not posted again after WSAAccept\n");
    a = accept(srv.l, NULL, NULL);
    ok(same_connection(a, c2), "the second connection was lost\n");
    closesocket(a);
    closesocket(c2);
    DestroyWindow(hwnd);
    server_down(&srv);
}

static void reset_close(SOCKET s)
{
    LINGER linger = { 1, 0 };

    setsockopt(s, SOL_SOCKET, SO_LINGER, (char *)&linger, sizeof(linger));
    closesocket(s);
}

static void test_E3(void)
{
    struct server srv;
    SOCKET c2, a;

    server_up(&srv, AF_INET, "127.0.0.1");
    c2 = tcp_connect(srv.l);
    expect_error(wsa_accept(srv.l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER");
    reset_close(srv.c);
    Sleep(200);
    expect_error(wsa_accept(srv.l, CF_ACCEPT), WSAECONNRESET, "the deferred peer reset");
    ok(rec.calls == 0, "the dead connection was offered to the callback\n");
    a = wsa_accept(srv.l, CF_ACCEPT);
    ok(same_connection(a, c2), "the next connection did not follow: %d\n", WSAGetLastError());
    closesocket(a);
    closesocket(c2);
    closesocket(srv.l);
    cleanup();
}

/* E3 for a connection never offered before: its client reset it while it waited in the
 * platform's queue.  The condition function must not see it (it has no caller address left:
 * Wine 10's accept hands it out with an empty one), WSAAccept and accept fail with
 * WSAECONNRESET, and the next connection follows. */
static void test_E3_queued(void)
{
    SOCKADDR_STORAGE addr;
    struct server srv;
    SOCKET c2, c3, a;
    int len;

    server_up(&srv, AF_INET, "127.0.0.1");
    c2 = tcp_connect(srv.l);
    reset_close(srv.c);
    Sleep(200);
    expect_error(wsa_accept(srv.l, CF_ACCEPT), WSAECONNRESET, "WSAAccept of the reset connection");
    ok(rec.calls == 0, "the condition function saw the reset connection (caller id len %lu)\n", rec.caller_len);
    a = wsa_accept(srv.l, CF_ACCEPT);
    ok(same_connection(a, c2), "the next connection did not follow: %d\n", WSAGetLastError());
    ok(rec.calls == 1 && rec.caller_len == sizeof(SOCKADDR_IN), "the next connection's caller id len %lu\n",
       rec.caller_len);
    closesocket(a);
    closesocket(c2);

    /* accept, with an address buffer: no socket with an empty address either. */
    c3 = tcp_connect(srv.l);
    c2 = tcp_connect(srv.l);
    reset_close(c3);
    Sleep(200);
    len = sizeof(addr);
    memset(&addr, 0xcc, sizeof(addr));
    a = accept(srv.l, (struct sockaddr *)&addr, &len);
    ok(a == INVALID_SOCKET && WSAGetLastError() == WSAECONNRESET,
       "accept of the reset connection returned %#Ix, error %d, address length %d\n", (ULONG_PTR)a,
       WSAGetLastError(), len);
    if (a != INVALID_SOCKET) closesocket(a);
    a = accept(srv.l, NULL, NULL);
    ok(same_connection(a, c2), "after the reset connection, accept did not take the next: %d\n", WSAGetLastError());
    closesocket(a);
    closesocket(c2);
    closesocket(srv.l);
    cleanup();
}

static void test_E4(void)
{
    SOCKET l, c1, c2, a;
    BOOL on = TRUE;

    startup();
    l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ok(!setsockopt(l, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&on, sizeof(on)),
       "SO_CONDITIONAL_ACCEPT failed: %d\n", WSAGetLastError());
    {
        SOCKADDR_IN addr = { AF_INET };
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(l, (struct sockaddr *)&addr, sizeof(addr));
    }
    listen(l, 4);
    c1 = tcp_connect(l);
    c2 = tcp_connect(l);
    wait_pending(l, 1000);
    expect_error(wsa_accept(l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER");
    closesocket(c1);
    Sleep(200);
    expect_error(wsa_accept(l, CF_ACCEPT), WSAEACCES, "the deferred peer gave up");
    ok(rec.calls == 0, "the withdrawn connection was offered to the callback\n");
    a = wsa_accept(l, CF_ACCEPT);
    ok(same_connection(a, c2), "the next connection did not follow: %d\n", WSAGetLastError());
    closesocket(a);
    closesocket(c2);
    closesocket(l);
    cleanup();
}

static void test_E5(void)
{
    struct server srv;
    DWORD before, after;
    int state, i;

    server_up(&srv, AF_INET, "127.0.0.1");
    expect_error(wsa_accept(srv.l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER");
    closesocket(srv.l);
    state = peer_state(srv.c, 2000);
    ok(state == PEER_FIN || state == PEER_RESET, "closing the listener did not end its held connection (%d)\n", state);
    closesocket(srv.c);

    /* And nothing stays behind: handles are back where they were. */
    GetProcessHandleCount(GetCurrentProcess(), &before);
    for (i = 0; i < 50; i++)
    {
        srv.l = tcp_listener(AF_INET, "127.0.0.1", 4);
        srv.c = tcp_connect(srv.l);
        wait_pending(srv.l, 1000);
        wsa_accept(srv.l, CF_DEFER);
        closesocket(srv.l);
        closesocket(srv.c);
    }
    GetProcessHandleCount(GetCurrentProcess(), &after);
    ok(after <= before + 2, "handles went from %lu to %lu over 50 deferred connections\n", before, after);
    cleanup();
}

struct option_value
{
    int level, name;
    const char *text;
    char value[16];
    int len;
};

static void set_option(SOCKET s, struct option_value *o)
{
    ok(!setsockopt(s, o->level, o->name, o->value, o->len), "setting %s failed: %d\n", o->text, WSAGetLastError());
}

static void check_inherited(SOCKET l, SOCKET a, struct option_value *opts, int count, HANDLE event, SOCKET client)
{
    WSANETWORKEVENTS events;
    char value[16], byte;
    int i, len, ret;

    for (i = 0; i < count; i++)
    {
        memset(value, 0, sizeof(value));
        len = opts[i].len;
        ok(!getsockopt(a, opts[i].level, opts[i].name, value, &len) && !memcmp(value, opts[i].value, opts[i].len),
           "%s was not inherited\n", opts[i].text);
    }
    ret = recv(a, &byte, 1, 0);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEWOULDBLOCK, "non-blocking mode was not inherited: %d, %d\n",
       ret, WSAGetLastError());
    ResetEvent(event);
    send(client, "x", 1, 0);
    ok(WaitForSingleObject(event, 2000) == WAIT_OBJECT_0, "the WSAEventSelect registration was not inherited\n");
    ok(!WSAEnumNetworkEvents(a, event, &events) && (events.lNetworkEvents & FD_READ),
       "FD_READ was not reported on the accepted socket: %#lx\n", events.lNetworkEvents);
}

static void test_E6(void)
{
    struct option_value opts[] =
    {
        { SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE" },
        { SOL_SOCKET, SO_OOBINLINE, "SO_OOBINLINE" },
        { SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF" },
        { SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF" },
        { SOL_SOCKET, SO_SNDTIMEO, "SO_SNDTIMEO" },
        { SOL_SOCKET, SO_RCVTIMEO, "SO_RCVTIMEO" },
        { IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY" },
        { SOL_SOCKET, SO_LINGER, "SO_LINGER" },
        { SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR" },
    };
    SOCKADDR_IN addr = { AF_INET };
    HANDLE event = CreateEventW(NULL, TRUE, FALSE, NULL);
    LINGER linger = { 1, 7 };
    SOCKET l, c1, c2, c3, a;
    int values[] = { 1, 1, 65536, 131072, 1234, 4321, 1 }, i;

    for (i = 0; i < ARRAYSIZE(values); i++)
    {
        memcpy(opts[i].value, &values[i], sizeof(int));
        opts[i].len = sizeof(int);
    }
    memcpy(opts[7].value, &linger, sizeof(linger));
    opts[7].len = sizeof(linger);
    *(int *)opts[8].value = 1;
    opts[8].len = sizeof(int);

    startup();
    l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    for (i = 0; i < ARRAYSIZE(opts); i++) set_option(l, &opts[i]);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(l, (struct sockaddr *)&addr, sizeof(addr));
    listen(l, 4);
    ok(!WSAEventSelect(l, event, FD_ACCEPT | FD_READ), "WSAEventSelect failed: %d\n", WSAGetLastError());
    c1 = tcp_connect(l);
    c2 = tcp_connect(l);
    Sleep(100);

    winetest_push_context("accepted at once");
    a = wsa_accept(l, CF_ACCEPT);
    ok(same_connection(a, c1), "WSAAccept failed: %d\n", WSAGetLastError());
    if (a != INVALID_SOCKET) check_inherited(l, a, opts, ARRAYSIZE(opts), event, c1);
    closesocket(a);
    winetest_pop_context();

    winetest_push_context("deferred first");
    expect_error(wsa_accept(l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER");
    a = wsa_accept(l, CF_ACCEPT);
    ok(same_connection(a, c2), "WSAAccept failed: %d\n", WSAGetLastError());
    if (a != INVALID_SOCKET) check_inherited(l, a, opts, ARRAYSIZE(opts), event, c2);
    closesocket(a);
    winetest_pop_context();

    /* What the listener is when the connection goes out, not when it came. */
    winetest_push_context("changed while held");
    c3 = tcp_connect(l);
    Sleep(100);
    expect_error(wsa_accept(l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER");
    *(int *)opts[4].value = 2222;
    *(int *)opts[5].value = 3333;
    set_option(l, &opts[4]);
    set_option(l, &opts[5]);
    a = wsa_accept(l, CF_ACCEPT);
    ok(same_connection(a, c3), "WSAAccept failed: %d\n", WSAGetLastError());
    if (a != INVALID_SOCKET) check_inherited(l, a, opts, ARRAYSIZE(opts), event, c3);
    closesocket(a);
    winetest_pop_context();

    closesocket(c1);
    closesocket(c2);
    closesocket(c3);
    closesocket(l);
    CloseHandle(event);
    cleanup();
}

/* ------------------------------------------------------------------------------------ */
/* F. SO_CONDITIONAL_ACCEPT                                                             */

static void test_F1(void)
{
    SOCKADDR_IN addr = { AF_INET };
    BOOL value = 7, on = TRUE;
    int len = sizeof(value);
    SOCKET s, u;

    startup();
    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ok(!getsockopt(s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&value, &len) && value == FALSE && len == sizeof(BOOL),
       "default: ret error %d, value %d, len %d\n", WSAGetLastError(), value, len);
    ok(!setsockopt(s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&on, sizeof(on)), "set failed: %d\n", WSAGetLastError());
    len = sizeof(value);
    ok(!getsockopt(s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&value, &len) && value == TRUE,
       "after set: value %d, error %d\n", value, WSAGetLastError());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&addr, sizeof(addr));
    listen(s, 1);
    ok(setsockopt(s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&on, sizeof(on)) == SOCKET_ERROR &&
       WSAGetLastError() == WSAEINVAL, "set after listen: error %d\n", WSAGetLastError());
    closesocket(s);

    u = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    ok(setsockopt(u, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&on, sizeof(on)) == SOCKET_ERROR &&
       WSAGetLastError() == WSAENOPROTOOPT, "set on UDP: error %d\n", WSAGetLastError());
    len = sizeof(value);
    ok(getsockopt(u, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&value, &len) == SOCKET_ERROR &&
       WSAGetLastError() == WSAENOPROTOOPT, "get on UDP: error %d\n", WSAGetLastError());
    closesocket(u);
    cleanup();
}

/* F2: on this stack the handshake completes before the decision; the option changes E4 only. */
static void test_F2(void)
{
    SOCKADDR_IN addr = { AF_INET };
    BOOL on = TRUE;
    SOCKET l, c, a;

    startup();
    l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    setsockopt(l, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&on, sizeof(on));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(l, (struct sockaddr *)&addr, sizeof(addr));
    listen(l, 4);
    c = tcp_connect(l);
    ok(c != INVALID_SOCKET, "connect did not complete before the decision\n");
    ok(send(c, "early", 5, 0) == 5, "the client cannot send before the decision\n");
    a = wsa_accept(l, CF_ACCEPT);
    ok(same_connection(a, c), "CF_ACCEPT failed: %d\n", WSAGetLastError());
    closesocket(a);
    closesocket(c);
    closesocket(l);
    cleanup();
}

/* ------------------------------------------------------------------------------------ */
/* G. Errors the platform reports                                                       */

/* One step of the accept path fails with CODE (WS2_32_FAULTS=STEP=CODE) and the call must
 * fail with EXPECT, leaving the pending connection queued. */
static void check_fault_step(const char *step, int code, int expect)
{
    char setting[64];
    struct server srv;

    /* A wildcard listener asks the platform for each connection's local address. */
    server_up(&srv, AF_INET, "0.0.0.0");
    winetest_push_context("%s fails with %d", step, code);
    /* The mode is set at hand-out when the connection came in another: deferred while the
     * listener was non-blocking, it is taken after the listener was made blocking. */
    if (!strcmp(step, "fionbio"))
    {
        set_nonblocking(srv.l, TRUE);
        wait_pending(srv.l, 1000);
        expect_error(wsa_accept(srv.l, CF_DEFER), WSATRY_AGAIN, "WSAAccept deferring");
        set_nonblocking(srv.l, FALSE);
    }
    snprintf(setting, sizeof(setting), "%s=%d", step, code);
    SetEnvironmentVariableA("WS2_32_FAULTS", setting);
    expect_error(wsa_accept(srv.l, CF_ACCEPT), expect, "WSAAccept");
    /* Only a condition function needs the local address. */
    if (strcmp(step, "getsockname")) expect_error(accept(srv.l, NULL, NULL), expect, "accept");
    SetEnvironmentVariableA("WS2_32_FAULTS", NULL);
    expect_still_pending(srv.l, srv.c);
    winetest_pop_context();
    server_down(&srv);
}

/* A blocking accept that cannot set up its wait fails with nothing taken; the listener goes on. */
static void check_fault_wait(int code)
{
    char setting[64];
    SOCKET l, c;

    startup();
    winetest_push_context("the wait fails with %d", code);
    l = tcp_listener(AF_INET, "127.0.0.1", 4);
    snprintf(setting, sizeof(setting), "register=%d", code);
    SetEnvironmentVariableA("WS2_32_FAULTS", setting);
    expect_error(wsa_accept(l, CF_ACCEPT), code, "WSAAccept with nothing pending");
    SetEnvironmentVariableA("WS2_32_FAULTS", NULL);
    c = tcp_connect(l);
    wait_pending(l, 1000);
    expect_still_pending(l, c);
    closesocket(c);
    closesocket(l);
    winetest_pop_context();
    cleanup();
}

/* A fresh copy of the fault-seam DLL, so that its platform is loaded again under FAULTS. */
static void check_fault_platform(const char *fault_dll, const char *faults, int expect_startup,
                                 const char *lacking)
{
    char dir[MAX_PATH], copy[MAX_PATH];
    int (WSAAPI *p_startup)(WORD, WSADATA *);
    int (WSAAPI *p_cleanup)(void);
    WSADATA data;
    HMODULE module;
    int ret;

    winetest_push_context("%s", faults);
    GetTempPathA(sizeof(dir), dir);
    GetTempFileNameA(dir, "ws2", 0, copy);
    DeleteFileA(copy);
    strcat(copy, ".dll");
    ok(CopyFileA(fault_dll, copy, FALSE), "cannot copy %s to %s\n", fault_dll, copy);
    SetEnvironmentVariableA("WS2_32_FAULTS", faults);
    module = LoadLibraryA(copy);
    ok(module != NULL, "cannot load %s: %lu\n", copy, GetLastError());
    if (module)
    {
        p_startup = (void *)GetProcAddress(module, "WSAStartup");
        p_cleanup = (void *)GetProcAddress(module, "WSACleanup");
        ret = p_startup(MAKEWORD(2, 2), &data);
        ok(ret == expect_startup, "WSAStartup returned %d, expected %d\n", ret, expect_startup);
        if (lacking)
        {
            BOOL (WSAAPI *p_lacking)(void *, void *, void *, void *, void *) =
                (void *)GetProcAddress(module, lacking);
            char buf[64];
            DWORD len = sizeof(buf);
            SOCKADDR_IN addr = { AF_INET };

            SetLastError(0xdead);
            ret = p_lacking(&addr, (void *)sizeof(addr), NULL, buf, &len);
            ok(ret == SOCKET_ERROR && GetLastError() == WSAEOPNOTSUPP, "%s: %d, error %lu\n", lacking, ret,
               GetLastError());
        }
        if (!ret || lacking) p_cleanup();
        FreeLibrary(module);
    }
    SetEnvironmentVariableA("WS2_32_FAULTS", NULL);
    DeleteFileA(copy);
    winetest_pop_context();
}

/* An accept held between its checks and the platform (the seam's pause) while another thread
 * closes the listener and a new listener takes the handle value (Wine hands out the lowest
 * free one): the accept must fail, not take the new listener's connection.  The same order
 * keeps the platform from closing a listener with an accept of it in flight. */
static void check_close_during_accept(void)
{
    struct server srv;
    struct waiter w;
    DWORD started;
    SOCKET l2, c2;

    server_up(&srv, AF_INET, "127.0.0.1");
    winetest_push_context("closed during an accept");
    SetEnvironmentVariableA("WS2_32_FAULTS", "pause=1000");
    started = GetTickCount();
    waiter_start(&w, srv.l, FALSE);
    Sleep(200);
    closesocket(srv.l);
    l2 = tcp_listener(AF_INET, "127.0.0.1", 4);
    c2 = tcp_connect(l2);
    wait_pending(l2, 1000);
    ok(waiter_done(&w, 5000), "the accept did not return\n");
    ok(w.result == INVALID_SOCKET && (w.error == WSAEINTR || w.error == WSAENOTSOCK),
       "the accept returned %#Ix, error %d\n", (ULONG_PTR)w.result, w.error);
    if (w.done_at - started < 900) trace("the accept did not reach the pause before the close\n");
    if (l2 != srv.l) skip("the new listener did not get the closed one's handle value\n");
    /* Non-blocking: a connection taken by the stray accept must fail here, not hang. */
    set_nonblocking(l2, TRUE);
    expect_still_pending(l2, c2);
    SetEnvironmentVariableA("WS2_32_FAULTS", NULL);
    waiter_end(&w);
    closesocket(c2);
    closesocket(l2);
    closesocket(srv.c);
    cleanup();
    winetest_pop_context();
}

static void test_G1(void)
{
    static const int codes[] = { WSAEMFILE, WSAENOBUFS, WSAENETDOWN };
    static const char *steps[] = { "accept", "getsockname", "fionbio" };
    struct ws2_api fault, *saved = ws2;
    char path[MAX_PATH];
    HMODULE module;
    unsigned int i, j;

    if (!strcmp(ws2_target, "platform") || !GetEnvironmentVariableA("WS2_TEST_FAULT_DLL", path, sizeof(path)))
    {
        skip("G1 is not reachable on the %s: out of descriptors, buffers or network cannot be produced on demand; "
             "this DLL's test build reaches them through its fault seam (WS2_TEST_FAULT_DLL)\n", ws2_target);
        return;
    }
    module = LoadLibraryA(path);
    ok(module != NULL && ws2_bind_module(&fault, module, NULL), "cannot load the fault-seam build %s\n", path);
    if (!module) return;
    ws2 = &fault;
    for (j = 0; j < ARRAYSIZE(steps); j++)
        for (i = 0; i < ARRAYSIZE(codes); i++)
            check_fault_step(steps[j], codes[i], codes[i]);
    /* The front's own allocations failing: out of buffer space. */
    check_fault_step("alloc", 1, WSAENOBUFS);
    for (i = 0; i < ARRAYSIZE(codes); i++) check_fault_wait(codes[i]);
    check_close_during_accept();
    ws2 = saved;

    /* No platform DLL, or one without a function the front needs: not ready.  Without one it
     * only forwards: that export alone fails, with WSAEOPNOTSUPP. */
    check_fault_platform(path, "platform=1", WSASYSNOTREADY, NULL);
    check_fault_platform(path, "lack=WSAEventSelect", WSASYSNOTREADY, NULL);
    check_fault_platform(path, "lack=WSAAddressToStringA", 0, "WSAAddressToStringA");
}

static void expect_wsa_code(SOCKET ret, const char *what)
{
    int error = WSAGetLastError();
    ok(ret == INVALID_SOCKET && WSA_CODE(error), "%s: returned %#Ix, error %d is not a WSA code\n",
       what, (ULONG_PTR)ret, error);
}

static void test_G2(void)
{
    struct server srv;
    struct waiter w;
    int len = 0;
    SOCKET u;

    expect_wsa_code(WSAAccept(0, NULL, NULL, NULL, 0), "not initialised");
    server_up(&srv, AF_INET, "127.0.0.1");
    expect_wsa_code(WSAAccept(0, NULL, NULL, NULL, 0), "not a socket");
    u = socket(AF_INET, SOCK_DGRAM, 0);
    expect_wsa_code(WSAAccept(u, NULL, NULL, NULL, 0), "UDP");
    closesocket(u);
    expect_wsa_code(WSAAccept(srv.l, (struct sockaddr *)&len, &len, condition, 0), "short addrlen");
    expect_wsa_code(wsa_accept(srv.l, CF_DEFER), "CF_DEFER");
    expect_wsa_code(wsa_accept(srv.l, 99), "invalid return value");
    expect_wsa_code(wsa_accept(srv.l, CF_REJECT), "CF_REJECT");
    set_nonblocking(srv.l, TRUE);
    expect_wsa_code(wsa_accept(srv.l, CF_ACCEPT), "nothing pending");
    set_nonblocking(srv.l, FALSE);
    rec_reset(CF_ACCEPT);
    waiter_start(&w, srv.l, TRUE);
    Sleep(200);
    closesocket(srv.l);
    ok(waiter_done(&w, 2000), "the waiter did not return\n");
    ok(w.result == INVALID_SOCKET && WSA_CODE(w.error), "closed while waiting: error %d is not a WSA code\n", w.error);
    waiter_end(&w);
    closesocket(srv.c);
    cleanup();
}

/* ------------------------------------------------------------------------------------ */
/* H. Startup and cleanup                                                               */

static void test_H1(void)
{
    WSADATA data;

    ok(WSACleanup() == SOCKET_ERROR && WSAGetLastError() == WSANOTINITIALISED,
       "WSACleanup without WSAStartup: error %d\n", WSAGetLastError());
    ok(!WSAStartup(MAKEWORD(2, 2), &data), "first WSAStartup failed\n");
    ok(!WSAStartup(MAKEWORD(2, 2), &data), "second WSAStartup failed\n");
    ok(!WSACleanup(), "first WSACleanup failed\n");
    ok(socket(AF_INET, SOCK_STREAM, 0) != INVALID_SOCKET, "one startup is still outstanding, but socket failed: %d\n",
       WSAGetLastError());
    ok(!WSACleanup(), "second WSACleanup failed\n");
    ok(WSACleanup() == SOCKET_ERROR && WSAGetLastError() == WSANOTINITIALISED,
       "a third WSACleanup: error %d\n", WSAGetLastError());
}

static void h2_client(void)
{
    char value[16];
    SOCKADDR_IN addr = { AF_INET };
    SOCKET c;
    int state;

    startup();
    GetEnvironmentVariableA("WS2_H2_PORT", value, sizeof(value));
    addr.sin_port = htons(atoi(value));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c = tcp_connect_to((SOCKADDR_STORAGE *)&addr, sizeof(addr));
    state = peer_state(c, 10000);
    ok(state == PEER_FIN || state == PEER_RESET, "the held connection was not closed by WSACleanup (%d)\n", state);
    closesocket(c);
    cleanup();
}

static void test_H2(void)
{
    char args[64], value[16];
    PROCESS_INFORMATION pi;
    STARTUPINFOA si = { sizeof(si) };
    char **argv, cmdline[MAX_PATH + 64];
    DWORD before, after, code = 1;
    SOCKET l, a, c, held_listener;
    int type, len = sizeof(type), i;

    winetest_get_mainargs(&argv);
    startup();
    l = tcp_listener(AF_INET, "127.0.0.1", 4);
    snprintf(value, sizeof(value), "%d", local_port(l));
    SetEnvironmentVariableA("WS2_H2_PORT", value);
    snprintf(args, sizeof(args), "%s H2_client", winetest_unit);
    snprintf(cmdline, sizeof(cmdline), "\"%s\" %s", argv[0], args);
    ok(CreateProcessA(NULL, cmdline, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi), "cannot start the client\n");
    SetEnvironmentVariableA("WS2_H2_PORT", NULL);
    ok(wait_pending(l, 10000), "the client did not connect\n");
    expect_error(wsa_accept(l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER");
    c = tcp_connect(l);
    a = accept(l, NULL, NULL);
    held_listener = l;
    ok(!WSACleanup(), "the last WSACleanup failed\n");

    ok(WaitForSingleObject(pi.hProcess, 15000) == WAIT_OBJECT_0, "the client did not finish\n");
    GetExitCodeProcess(pi.hProcess, &code);
    ok(code == 0, "the client saw its held connection survive WSACleanup\n");
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);

    startup();
    ok(getsockopt(held_listener, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == SOCKET_ERROR &&
       WSAGetLastError() == WSAENOTSOCK, "the old listener still works: error %d\n", WSAGetLastError());
    ok(getsockopt(a, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == SOCKET_ERROR &&
       WSAGetLastError() == WSAENOTSOCK, "an old accepted socket still works: error %d\n", WSAGetLastError());
    ok(getsockopt(c, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == SOCKET_ERROR &&
       WSAGetLastError() == WSAENOTSOCK, "an old client socket still works: error %d\n", WSAGetLastError());

    /* Nothing leaks across startup/cleanup cycles with held connections. */
    GetProcessHandleCount(GetCurrentProcess(), &before);
    for (i = 0; i < 20; i++)
    {
        startup();
        l = tcp_listener(AF_INET, "127.0.0.1", 4);
        c = tcp_connect(l);
        wait_pending(l, 1000);
        wsa_accept(l, CF_DEFER);
        cleanup();
    }
    GetProcessHandleCount(GetCurrentProcess(), &after);
    ok(after <= before + 2, "handles went from %lu to %lu over 20 cycles\n", before, after);
    cleanup();
}

static void test_H3(void)
{
    static const struct { WORD request, version; } cases[] =
    {
        { MAKEWORD(1, 1), MAKEWORD(1, 1) },
        { MAKEWORD(2, 0), MAKEWORD(2, 0) },
        { MAKEWORD(2, 2), MAKEWORD(2, 2) },
        { MAKEWORD(3, 0), MAKEWORD(2, 2) },
    };
    WSADATA data;
    int i, ret;

    for (i = 0; i < ARRAYSIZE(cases); i++)
    {
        memset(&data, 0, sizeof(data));
        ret = WSAStartup(cases[i].request, &data);
        ok(!ret && data.wVersion == cases[i].version && data.wHighVersion == MAKEWORD(2, 2),
           "request %#x: ret %d, version %#x, high %#x\n", cases[i].request, ret, data.wVersion, data.wHighVersion);
        if (!ret) WSACleanup();
    }
    ret = WSAStartup(MAKEWORD(0, 9), &data);
    ok(ret == WSAVERNOTSUPPORTED, "request 0.9 gave %d\n", ret);
    if (!ret) WSACleanup();
}

/* ------------------------------------------------------------------------------------ */
/* I. Concurrency                                                                       */

#define I1_CLIENTS 40
#define I1_THREADS 4

static LONG i1_offered[65536];
static LONG i1_overlap, i1_deferred_once[65536];

static int CALLBACK i1_condition(WSABUF *caller_id, WSABUF *caller_data, QOS *sqos, QOS *gqos,
                                 WSABUF *callee_id, WSABUF *callee_data, GROUP *g, DWORD_PTR data)
{
    int port = port_of(caller_id->buf), ret;

    if (InterlockedIncrement(&i1_offered[port]) > 1) InterlockedIncrement(&i1_overlap);
    Sleep(1);
    ret = InterlockedExchange(&i1_deferred_once[port], 1) ? CF_ACCEPT : CF_DEFER;
    InterlockedDecrement(&i1_offered[port]);
    return ret;
}

struct i1_worker
{
    SOCKET l;
    int index;
    SOCKET got[I1_CLIENTS];
    int count;
};

static DWORD WINAPI i1_thread(void *arg)
{
    struct i1_worker *w = arg;
    SOCKET a;

    for (;;)
    {
        a = w->index % 2 ? accept(w->l, NULL, NULL) : WSAAccept(w->l, NULL, NULL, i1_condition, 0);
        if (a != INVALID_SOCKET) w->got[w->count++] = a;
        else if (WSAGetLastError() != WSATRY_AGAIN) break;
    }
    return 0;
}

static void test_I1(void)
{
    struct i1_worker workers[I1_THREADS];
    HANDLE threads[I1_THREADS];
    SOCKET clients[I1_CLIENTS], l;
    int seen[I1_CLIENTS] = { 0 }, total = 0, i, j, twice = 0, lost = 0;
    char byte;

    startup();
    l = tcp_listener(AF_INET, "127.0.0.1", I1_CLIENTS);
    for (i = 0; i < I1_THREADS; i++)
    {
        memset(&workers[i], 0, sizeof(workers[i]));
        workers[i].l = l;
        workers[i].index = i;
        threads[i] = CreateThread(NULL, 0, i1_thread, &workers[i], 0, NULL);
    }
    for (i = 0; i < I1_CLIENTS; i++)
    {
        clients[i] = tcp_connect(l);
        byte = (char)i;
        send(clients[i], &byte, 1, 0);
    }
    for (j = 0; j < 100; j++)
    {
        for (i = total = 0; i < I1_THREADS; i++) total += workers[i].count;
        if (total >= I1_CLIENTS) break;
        Sleep(50);
    }
    closesocket(l);
    ok(WaitForMultipleObjects(I1_THREADS, threads, TRUE, 5000) == WAIT_OBJECT_0, "the accepting threads did not end\n");
    for (i = 0; i < I1_THREADS; i++)
    {
        for (j = 0; j < workers[i].count; j++)
        {
            set_short_timeouts(workers[i].got[j]);
            if (recv(workers[i].got[j], &byte, 1, 0) == 1 && byte >= 0 && byte < I1_CLIENTS) seen[(int)byte]++;
            closesocket(workers[i].got[j]);
        }
        CloseHandle(threads[i]);
    }
    for (i = 0; i < I1_CLIENTS; i++)
    {
        if (seen[i] > 1) twice++;
        if (!seen[i]) lost++;
        closesocket(clients[i]);
    }
    ok(!twice && !lost, "%d connections returned twice, %d lost, of %d (%d accepted)\n", twice, lost, I1_CLIENTS, total);
    ok(!i1_overlap, "a deferred connection was offered to %ld callers at once\n", i1_overlap);
    cleanup();
}

static struct waiter i2_waiter;

static void i2_start_waiter(void)
{
    /* The connection is being offered here: the other thread finds nothing and waits. */
    waiter_start(&i2_waiter, rec.listener, FALSE);
    Sleep(300);
}

static void test_I2(void)
{
    struct server srv;

    server_up(&srv, AF_INET, "127.0.0.1");
    rec_reset(CF_DEFER);
    rec.listener = srv.l;
    rec.action = i2_start_waiter;
    expect_error(WSAAccept(srv.l, NULL, NULL, condition, 0), WSATRY_AGAIN, "CF_DEFER");
    ok(waiter_done(&i2_waiter, 2000), "a thread waiting in accept was not woken by the deferral\n");
    ok(same_connection(i2_waiter.result, srv.c), "the waiter got %#Ix, error %d\n", (ULONG_PTR)i2_waiter.result,
       i2_waiter.error);
    waiter_end(&i2_waiter);
    server_down(&srv);
}

/* ------------------------------------------------------------------------------------ */
/* One socket, many handles: the queue is the socket's, whichever handle or process asks.  */

/* A handle of L made the way the platform makes one for another process, in this one. */
static SOCKET duplicate_socket(SOCKET l)
{
    WSAPROTOCOL_INFOW info;
    SOCKET s;

    ok(!WSADuplicateSocketW(l, GetCurrentProcessId(), &info), "WSADuplicateSocketW failed: %d\n", WSAGetLastError());
    s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED);
    ok(s != INVALID_SOCKET, "WSASocketW(FROM_PROTOCOL_INFO) failed: %d\n", WSAGetLastError());
    return s;
}

static SOCKET duplicate_handle(SOCKET l)
{
    HANDLE copy = NULL;

    ok(DuplicateHandle(GetCurrentProcess(), (HANDLE)l, GetCurrentProcess(), &copy, 0, FALSE, DUPLICATE_SAME_ACCESS),
       "DuplicateHandle failed: %lu\n", GetLastError());
    return (SOCKET)copy;
}

/* D3 through other handles of the listener: a connection deferred through one is taken first
 * through another, by accept, by WSAAccept, made non-blocking through a third. */
/* A DuplicateHandle copy: Wine 8.0's closesocket refuses a handle its ws2_32 did not make. */
static void close_copy(SOCKET s)
{
    if (closesocket(s)) ok(CloseHandle((HANDLE)s), "cannot close the copy: %lu\n", GetLastError());
}

static void test_D3_handles(void)
{
    SOCKET l, l2, l3, c1, c2, c3, a;
    u_long on = 1;

    startup();
    l = tcp_listener(AF_INET, "127.0.0.1", 8);
    l2 = duplicate_socket(l);
    c1 = tcp_connect(l);
    wait_pending(l, 1000);
    expect_error(wsa_accept(l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER through the first handle");
    ok(port_of(&rec.caller) == local_port(c1), "offered %s first\n", addr_str(&rec.caller));
    ok(readable(l2, 0), "E1: the WSADuplicateSocket handle is not readable while a connection is deferred\n");
    /* A copy the front has not seen yet: readiness is then the platform's (README), accepts not. */
    l3 = duplicate_handle(l);
    ok(!ioctlsocket(l3, FIONBIO, &on), "FIONBIO through a duplicated handle failed: %d\n", WSAGetLastError());
    c2 = tcp_connect(l);
    c3 = tcp_connect(l);
    wait_pending(l, 1000);
    a = accept(l2, NULL, NULL);
    ok(same_connection(a, c1), "a non-blocking accept through the WSADuplicateSocket handle gave %#Ix, error %d, "
       "not the deferred connection\n", (ULONG_PTR)a, WSAGetLastError());
    if (a != INVALID_SOCKET) closesocket(a);

    expect_error(wsa_accept(l2, CF_DEFER), WSATRY_AGAIN, "CF_DEFER through the second handle");
    ok(port_of(&rec.caller) == local_port(c2), "offered %s second\n", addr_str(&rec.caller));
    a = wsa_accept(l3, CF_ACCEPT);
    ok(same_connection(a, c2), "WSAAccept through the DuplicateHandle handle gave %#Ix, error %d, not the "
       "deferred connection\n", (ULONG_PTR)a, WSAGetLastError());
    ok(rec.calls == 1 && port_of(&rec.caller) == local_port(c2), "the condition function was offered %s\n",
       addr_str(&rec.caller));
    if (a != INVALID_SOCKET) closesocket(a);

    a = accept(l, NULL, NULL);
    ok(same_connection(a, c3), "the connection behind the deferred ones was lost\n");
    if (a != INVALID_SOCKET) closesocket(a);
    closesocket(c1);
    closesocket(c2);
    closesocket(c3);
    close_copy(l3);
    closesocket(l2);
    closesocket(l);
    cleanup();
}

/* E5 with several handles: closing one handle leaves the socket, its deferred connection
 * included, to the others; closing the last one ends it. */
static void test_E5_handles(void)
{
    SOCKET l, l2, l3, c, a;
    int state;

    startup();
    l = tcp_listener(AF_INET6, "::1", 8);
    l2 = duplicate_socket(l);
    l3 = duplicate_handle(l);
    c = tcp_connect(l);
    wait_pending(l, 1000);
    expect_error(wsa_accept(l3, CF_DEFER), WSATRY_AGAIN, "CF_DEFER through the DuplicateHandle copy");
    close_copy(l3);
    ok(peer_state(c, 200) == PEER_OPEN, "closing the copy ended the deferred connection\n");
    expect_error(wsa_accept(l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER through the first handle");
    ok(rec.calls == 1 && port_of(&rec.caller) == local_port(c), "the deferred connection was not offered again (%s)\n",
       addr_str(&rec.caller));
    closesocket(l);
    ok(peer_state(c, 200) == PEER_OPEN, "closing the first handle ended the deferred connection\n");
    a = accept(l2, NULL, NULL);
    ok(same_connection(a, c), "the last handle did not get the deferred connection: %#Ix, error %d\n", (ULONG_PTR)a,
       WSAGetLastError());
    if (a != INVALID_SOCKET) closesocket(a);
    closesocket(c);

    c = tcp_connect(l2);
    wait_pending(l2, 1000);
    expect_error(wsa_accept(l2, CF_DEFER), WSATRY_AGAIN, "CF_DEFER through the last handle");
    closesocket(l2);
    state = peer_state(c, 2000);
    ok(state == PEER_FIN || state == PEER_RESET, "closing the last handle left the deferred connection open (%d)\n", state);
    closesocket(c);
    cleanup();
}

/* The child's side of D3_process: the listener arrives by inheritance or WSADuplicateSocket;
 * a non-blocking accept takes the connection the parent deferred, then a blocking accept,
 * after select reported the listener readable, the next one.  Each gets a byte to tell. */
static void d3_child(void)
{
    char value[MAX_PATH];
    WSAPROTOCOL_INFOW info;
    SOCKET l, a;
    u_long mode = 1;
    HANDLE file;
    DWORD got = 0;

    startup();
    GetEnvironmentVariableA("WS2_CHILD_LISTENER", value, sizeof(value));
    if (!strncmp(value, "file:", 5))
    {
        file = CreateFileA(value + 5, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
        ok(file != INVALID_HANDLE_VALUE && ReadFile(file, &info, sizeof(info), &got, NULL) && got == sizeof(info),
           "cannot read the protocol info\n");
        CloseHandle(file);
        l = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED);
    }
    else l = (SOCKET)_strtoui64(value, NULL, 16);
    ok(!ioctlsocket(l, FIONBIO, &mode), "FIONBIO on %#Ix failed: %d\n", (ULONG_PTR)l, WSAGetLastError());
    a = accept(l, NULL, NULL);
    ok(a != INVALID_SOCKET, "a non-blocking accept in the child failed: %d\n", WSAGetLastError());
    if (a != INVALID_SOCKET)
    {
        send(a, "1", 1, 0);
        closesocket(a);
    }
    mode = 0;
    ok(!ioctlsocket(l, FIONBIO, &mode), "FIONBIO off failed: %d\n", WSAGetLastError());
    ok(readable(l, 5000), "select in the child did not report the listener readable\n");
    a = accept(l, NULL, NULL);
    ok(a != INVALID_SOCKET, "a blocking accept in the child failed: %d\n", WSAGetLastError());
    if (a != INVALID_SOCKET)
    {
        send(a, "2", 1, 0);
        closesocket(a);
    }
    closesocket(l);
    cleanup();
}

static BOOL got_byte(SOCKET c, char expected)
{
    char byte = 0;

    return peer_state(c, 5000) == PEER_DATA && recv(c, &byte, 1, 0) == 1 && byte == expected;
}

static void d3_process(BOOL inherit)
{
    char **argv, cmdline[MAX_PATH + 64], value[MAX_PATH], path[MAX_PATH];
    STARTUPINFOA si = { sizeof(si) };
    PROCESS_INFORMATION pi;
    WSAPROTOCOL_INFOW info;
    SOCKET l, c1, c2;
    DWORD code = 1, written;
    HANDLE file;

    winetest_get_mainargs(&argv);
    startup();
    l = tcp_listener(AF_INET, "127.0.0.1", 8);
    c1 = tcp_connect(l);
    c2 = tcp_connect(l);
    wait_pending(l, 1000);
    expect_error(wsa_accept(l, CF_DEFER), WSATRY_AGAIN, "CF_DEFER in the parent");
    ok(port_of(&rec.caller) == local_port(c1), "offered %s first\n", addr_str(&rec.caller));

    GetTempPathA(sizeof(path), path);
    strcat(path, "ws2_d3_child.bin");
    if (inherit)
    {
        ok(SetHandleInformation((HANDLE)l, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT), "cannot make it inheritable\n");
        snprintf(value, sizeof(value), "%llx", (unsigned long long)l);
    }
    else snprintf(value, sizeof(value), "file:%s", path);
    SetEnvironmentVariableA("WS2_CHILD_LISTENER", value);
    snprintf(cmdline, sizeof(cmdline), "\"%s\" %s D3_child", argv[0], winetest_unit);
    ok(CreateProcessA(NULL, cmdline, NULL, NULL, inherit, CREATE_SUSPENDED, NULL, NULL, &si, &pi),
       "cannot start the child\n");
    SetEnvironmentVariableA("WS2_CHILD_LISTENER", NULL);
    if (!inherit)
    {
        ok(!WSADuplicateSocketW(l, pi.dwProcessId, &info), "WSADuplicateSocketW failed: %d\n", WSAGetLastError());
        file = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
        ok(WriteFile(file, &info, sizeof(info), &written, NULL), "cannot write the protocol info\n");
        CloseHandle(file);
    }
    ResumeThread(pi.hThread);
    ok(got_byte(c1, '1'), "the child's non-blocking accept did not take the deferred connection\n");
    ok(got_byte(c2, '2'), "the child's blocking accept did not take the next connection\n");
    ok(WaitForSingleObject(pi.hProcess, 10000) == WAIT_OBJECT_0, "the child did not end\n");
    GetExitCodeProcess(pi.hProcess, &code);
    ok(!code, "the child failed (%lu)\n", code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    if (!inherit) DeleteFileA(path);
    closesocket(c1);
    closesocket(c2);
    closesocket(l);
    cleanup();
}

/* A3 and D3 across processes: an inherited listener is a socket to accept on, and the
 * connection the parent deferred is the first the child takes. */
static void test_D3_inherited(void)
{
    d3_process(TRUE);
}

static void test_D3_process(void)
{
    d3_process(FALSE);
}

START_TEST(accept)
{
    if (!ws2_bind()) return;
    if (GetEnvironmentVariableA("WS2_H2_PORT", NULL, 0)) subtest("H2_client", h2_client);
    if (GetEnvironmentVariableA("WS2_CHILD_LISTENER", NULL, 0)) subtest("D3_child", d3_child);
    subtest("A1", test_A1);
    subtest("A2", test_A2);
    subtest("A3", test_A3);
    subtest("A4", test_A4);
    subtest("A5", test_A5);
    subtest("A6", test_A6);
    subtest("A7", test_A7);
    subtest("A8", test_A8);
    subtest("B1", test_B1);
    subtest("B2", test_B2);
    subtest("B2_woken", test_B2_woken);
    subtest("B3", test_B3);
    subtest("B4", test_B4);
    subtest("B4_select", test_B4_select);
    subtest("B5", test_B5);
    subtest("C1", test_C1);
    subtest("C2", test_C2);
    subtest("C3", test_C3);
    subtest("C4", test_C4);
    subtest("C5", test_C5);
    subtest("C6", test_C6);
    subtest("C7", test_C7);
    subtest("C8", test_C8);
    subtest("C9", test_C9);
    subtest("C10", test_C10);
    subtest("D1", test_D1);
    subtest("D2", test_D2);
    subtest("D3", test_D3);
    subtest("D3_handles", test_D3_handles);
    subtest("D3_inherited", test_D3_inherited);
    subtest("D3_process", test_D3_process);
    subtest("D4", test_D4);
    subtest("D5", test_D5);
    subtest("E1", test_E1);
    subtest("E2", test_E2);
    subtest("E2_async", test_E2_async);
    subtest("E3", test_E3);
    subtest("E3_queued", test_E3_queued);
    subtest("E4", test_E4);
    subtest("E5", test_E5);
    subtest("E5_handles", test_E5_handles);
    subtest("E6", test_E6);
    subtest("F1", test_F1);
    subtest("F2", test_F2);
    subtest("G1", test_G1);
    subtest("G2", test_G2);
    subtest("H1", test_H1);
    subtest("H2", test_H2);
    subtest("H3", test_H3);
    subtest("I1", test_I1);
    subtest("I2", test_I2);
}
