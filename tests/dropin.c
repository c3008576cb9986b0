/* The DLL as a drop-in: programs and Wine's own DLLs that import ws2_32 get it and work
 * end to end; exports the platform lacks fail cleanly. */

#include <stdio.h>
#include "ws2test.h"
#include "exports.h"

static BOOL is_ours(void)
{
    return strcmp(ws2_target, "platform") != 0;
}

static void same_dir(const char *a, const char *b, BOOL *same)
{
    char da[MAX_PATH], db[MAX_PATH], *p;

    lstrcpynA(da, a, MAX_PATH);
    lstrcpynA(db, b, MAX_PATH);
    if ((p = strrchr(da, '\\'))) *p = 0;
    if ((p = strrchr(db, '\\'))) *p = 0;
    *same = !lstrcmpiA(da, db);
}

static void test_module(void)
{
    char exe[MAX_PATH];
    HMODULE by_name;
    BOOL same;

    GetModuleFileNameA(NULL, exe, sizeof(exe));
    startup();
    if (!strcmp(ws2_target, "dropin"))
    {
        same_dir(exe, ws2->path, &same);
        if (!winetest_platform_is_wine() && !same)
            skip("Windows binds imports of ws2_32 to the system copy (KnownDLLs): %s\n", ws2->path);
        else
            ok(same, "the import bound %s, not the DLL next to %s\n", ws2->path, exe);
    }
    /* The platform is loaded now: a by-name lookup must still find the DLL the program uses. */
    by_name = GetModuleHandleA("ws2_32.dll");
    if (!strcmp(ws2_target, "dropin"))
    {
        ok(by_name == ws2->module, "GetModuleHandle(ws2_32.dll) returned %p, the program's is %p\n",
           by_name, ws2->module);
        ok(LoadLibraryA("ws2_32.dll") == ws2->module, "LoadLibrary(ws2_32.dll) returned another module\n");
    }
    if (is_ours())
        ok(ws2_load_platform() != ws2->module || !winetest_platform_is_wine(),
           "the platform path loads the DLL under test itself\n");
    cleanup();
}

static void round_trip(SOCKET a, SOCKET b)
{
    char buf[16] = {0};
    int ret;

    ok(send(a, "ping", 4, 0) == 4, "send failed: %d\n", WSAGetLastError());
    ret = recv(b, buf, sizeof(buf), 0);
    ok(ret == 4 && !memcmp(buf, "ping", 4), "recv got %d '%.4s'\n", ret, buf);
    ok(send(b, "pong", 4, 0) == 4, "send back failed: %d\n", WSAGetLastError());
    ret = recv(a, buf, sizeof(buf), 0);
    ok(ret == 4 && !memcmp(buf, "pong", 4), "recv back got %d '%.4s'\n", ret, buf);
}

static void tcp_over(int family, const char *address)
{
    SOCKET l, c, a;
    SOCKADDR_STORAGE peer, local;
    int len = sizeof(peer);

    startup();
    l = tcp_listener(family, address, 5);
    c = tcp_connect(l);
    a = accept(l, (struct sockaddr *)&peer, &len);
    ok(a != INVALID_SOCKET, "accept failed: %d\n", WSAGetLastError());
    sockaddr_of(c, &local);
    ok(peer.ss_family == family && len == (family == AF_INET ? 16 : 28), "peer %s, len %d\n", addr_str(&peer), len);
    ok(!memcmp(&peer, &local, len), "accept says %s, the client is %s\n", addr_str(&peer), addr_str(&local));
    round_trip(c, a);
    ok(!shutdown(c, SD_SEND), "shutdown failed: %d\n", WSAGetLastError());
    ok(peer_state(a, 2000) == PEER_FIN, "the end of the stream did not arrive\n");
    closesocket(a);
    closesocket(c);
    closesocket(l);
    cleanup();
}

static void test_tcp4(void) { tcp_over(AF_INET, "127.0.0.1"); }
static void test_tcp6(void) { tcp_over(AF_INET6, "::1"); }

static void test_udp(void)
{
    SOCKADDR_IN addr = { AF_INET }, from;
    int len = sizeof(addr), ret;
    SOCKET a, b;
    char buf[8];

    startup();
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    b = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    ok(!bind(b, (struct sockaddr *)&addr, sizeof(addr)), "bind failed: %d\n", WSAGetLastError());
    getsockname(b, (struct sockaddr *)&addr, &len);
    ok(sendto(a, "dgram", 5, 0, (struct sockaddr *)&addr, sizeof(addr)) == 5, "sendto failed: %d\n", WSAGetLastError());
    len = sizeof(from);
    ret = recvfrom(b, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
    ok(ret == 5 && !memcmp(buf, "dgram", 5), "recvfrom got %d\n", ret);
    ok(from.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "from %s\n", addr_str(&from));
    closesocket(a);
    closesocket(b);
    cleanup();
}

static void test_getaddrinfo(void)
{
    ADDRINFOA hints = { AI_NUMERICHOST }, *res = NULL;
    int ret;

    startup();
    hints.ai_socktype = SOCK_STREAM;
    ret = getaddrinfo("127.0.0.1", "80", &hints, &res);
    ok(!ret && res && res->ai_family == AF_INET, "getaddrinfo(127.0.0.1) returned %d\n", ret);
    ok(res && ((SOCKADDR_IN *)res->ai_addr)->sin_port == htons(80), "wrong port\n");
    if (res) freeaddrinfo(res);
    res = NULL;
    ret = getaddrinfo("::1", "443", &hints, &res);
    ok(!ret && res && res->ai_family == AF_INET6, "getaddrinfo(::1) returned %d\n", ret);
    ok(res && IN6_IS_ADDR_LOOPBACK(&((SOCKADDR_IN6 *)res->ai_addr)->sin6_addr), "wrong address\n");
    if (res) freeaddrinfo(res);
    ret = getaddrinfo("not a number", NULL, &hints, &res);
    ok(ret == WSAHOST_NOT_FOUND || ret == WSANO_DATA || ret == WSAEINVAL, "a bad numeric host gave %d\n", ret);
    cleanup();
}

/* A connected pair through the DLL under test. */
static void connected_pair(SOCKET *l, SOCKET *c, SOCKET *a)
{
    *l = tcp_listener(AF_INET, "127.0.0.1", 5);
    *c = tcp_connect(*l);
    *a = accept(*l, NULL, NULL);
    ok(*a != INVALID_SOCKET, "accept failed: %d\n", WSAGetLastError());
}

static void close_all(SOCKET l, SOCKET c, SOCKET a)
{
    closesocket(a);
    closesocket(c);
    closesocket(l);
}

static void test_select(void)
{
    SOCKET l, c, a;
    fd_set rd, wr;
    struct timeval tv = { 0, 0 };

    startup();
    connected_pair(&l, &c, &a);
    FD_ZERO(&rd);
    FD_SET(a, &rd);
    ok(select(0, &rd, NULL, NULL, &tv) == 0, "readable before data\n");
    send(c, "x", 1, 0);
    FD_ZERO(&rd);
    FD_SET(a, &rd);
    FD_ZERO(&wr);
    FD_SET(c, &wr);
    tv.tv_sec = 2;
    ok(select(0, &rd, &wr, NULL, &tv) == 2, "select did not report read and write\n");
    ok(FD_ISSET(a, &rd) && FD_ISSET(c, &wr), "wrong sets\n");
    close_all(l, c, a);
    cleanup();
}

static void test_poll(void)
{
    SOCKET l, c, a;
    WSAPOLLFD fds[2];
    int ret;

    startup();
    connected_pair(&l, &c, &a);
    fds[0].fd = a;
    fds[0].events = POLLRDNORM;
    fds[1].fd = c;
    fds[1].events = POLLWRNORM;
    send(c, "x", 1, 0);
    ret = WSAPoll(fds, 2, 2000);
    ok(ret == 2, "WSAPoll returned %d\n", ret);
    ok(fds[0].revents & POLLRDNORM, "no POLLRDNORM: %#x\n", fds[0].revents);
    ok(fds[1].revents & POLLWRNORM, "no POLLWRNORM: %#x\n", fds[1].revents);
    close_all(l, c, a);
    cleanup();
}

static void test_eventselect(void)
{
    WSANETWORKEVENTS events;
    SOCKET l, c, a;
    HANDLE event = CreateEventW(NULL, TRUE, FALSE, NULL);

    startup();
    connected_pair(&l, &c, &a);
    ok(!WSAEventSelect(a, event, FD_READ | FD_CLOSE), "WSAEventSelect failed: %d\n", WSAGetLastError());
    send(c, "x", 1, 0);
    ok(WaitForSingleObject(event, 2000) == WAIT_OBJECT_0, "FD_READ was not signalled\n");
    ok(!WSAEnumNetworkEvents(a, event, &events), "WSAEnumNetworkEvents failed: %d\n", WSAGetLastError());
    ok(events.lNetworkEvents == FD_READ, "events %#lx\n", events.lNetworkEvents);
    close_all(l, c, a);
    CloseHandle(event);
    cleanup();
}

/* A handle that is not an event, on a socket that is one: WSAEINVAL (a parameter is invalid,
 * the page's code for it) and no event taken, never WSAENOTSOCK (Wine 10's answer).  Wine 8.0's
 * platform ignores such a handle and reports the events: that is accepted too, and named. */
static void test_enumevents_bad_event(void)
{
    WSANETWORKEVENTS events;
    SOCKET l, c, a, other;
    HANDLE event = CreateEventW(NULL, TRUE, FALSE, NULL), closed = CreateEventW(NULL, TRUE, FALSE, NULL), file;
    char dir[MAX_PATH], path[MAX_PATH], byte;
    struct { const char *what; HANDLE handle; } bad[4];
    unsigned int i;
    int ret, error;

    startup();
    connected_pair(&l, &c, &a);
    other = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    GetTempPathA(sizeof(dir), dir);
    GetTempFileNameA(dir, "ws2", 0, path);
    file = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
    ok(file != INVALID_HANDLE_VALUE, "no temporary file: %lu\n", GetLastError());
    CloseHandle(closed);
    bad[0].what = "a closed handle", bad[0].handle = closed;
    bad[1].what = "a file", bad[1].handle = file;
    bad[2].what = "a socket", bad[2].handle = (HANDLE)other;
    bad[3].what = "garbage", bad[3].handle = (HANDLE)(ULONG_PTR)0x7e571230;
    ok(!WSAEventSelect(a, event, FD_READ), "WSAEventSelect failed: %d\n", WSAGetLastError());

    for (i = 0; i < ARRAYSIZE(bad); i++)
    {
        send(c, "x", 1, 0);
        ok(WaitForSingleObject(event, 2000) == WAIT_OBJECT_0, "%s: FD_READ was not signalled\n", bad[i].what);
        memset(&events, 0, sizeof(events));
        ret = WSAEnumNetworkEvents(a, bad[i].handle, &events);
        error = WSAGetLastError();
        if (ret)
        {
            ok(error == WSAEINVAL, "%s: error %d, expected WSAEINVAL\n", bad[i].what, error);
            memset(&events, 0, sizeof(events));
            ok(!WSAEnumNetworkEvents(a, event, &events) && events.lNetworkEvents == FD_READ,
               "%s: the failed call took the event: %#lx\n", bad[i].what, events.lNetworkEvents);
        }
        else
        {
            trace("%s: the platform ignores a handle that is not an event (Wine 8.0 does)\n", bad[i].what);
            ok(events.lNetworkEvents == FD_READ, "%s: events %#lx\n", bad[i].what, events.lNetworkEvents);
            ResetEvent(event);
        }
        ok(recv(a, &byte, 1, 0) == 1, "%s: recv failed: %d\n", bad[i].what, WSAGetLastError());
    }

    /* No socket: WSAENOTSOCK comes first, whatever the event. */
    ret = WSAEnumNetworkEvents((SOCKET)file, closed, &events);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOTSOCK, "a file as the socket: %d, error %d\n", ret,
       WSAGetLastError());
    CloseHandle(file);
    closesocket(other);
    close_all(l, c, a);
    CloseHandle(event);
    cleanup();
}

static void test_overlapped(void)
{
    WSAOVERLAPPED ov = { 0 };
    WSABUF buf;
    DWORD bytes = 0, flags = 0;
    SOCKET l, c, a;
    char data[8] = {0};
    int ret;

    startup();
    connected_pair(&l, &c, &a);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    buf.buf = data;
    buf.len = sizeof(data);
    ret = WSARecv(a, &buf, 1, &bytes, &flags, &ov, NULL);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSA_IO_PENDING, "WSARecv returned %d, %d\n", ret, WSAGetLastError());
    buf.buf = (char *)"overlap";
    buf.len = 7;
    ret = WSASend(c, &buf, 1, &bytes, 0, NULL, NULL);
    ok(!ret && bytes == 7, "WSASend returned %d, %lu bytes\n", ret, bytes);
    ok(WaitForSingleObject(ov.hEvent, 2000) == WAIT_OBJECT_0, "the receive did not complete\n");
    ok(WSAGetOverlappedResult(a, &ov, &bytes, FALSE, &flags) && bytes == 7, "got %lu bytes\n", bytes);
    ok(!memcmp(data, "overlap", 7), "wrong data\n");
    CloseHandle(ov.hEvent);
    close_all(l, c, a);
    cleanup();
}

static void *extension(SOCKET s, GUID guid)
{
    void *fn = NULL;
    DWORD size;

    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof(guid), &fn, sizeof(fn), &size, NULL, NULL))
        return NULL;
    return fn;
}

static void test_acceptex(void)
{
    LPFN_ACCEPTEX pAcceptEx;
    LPFN_CONNECTEX pConnectEx;
    OVERLAPPED ov = { 0 }, cov = { 0 };
    SOCKADDR_IN addr = { AF_INET };
    SOCKET l, a, c;
    char buf[2 * (sizeof(SOCKADDR_STORAGE) + 16)];
    DWORD bytes;
    int len = sizeof(addr);

    startup();
    l = tcp_listener(AF_INET, "127.0.0.1", 5);
    pAcceptEx = extension(l, (GUID)WSAID_ACCEPTEX);
    pConnectEx = extension(l, (GUID)WSAID_CONNECTEX);
    ok(pAcceptEx && pConnectEx, "no AcceptEx/ConnectEx through WSAIoctl: %d\n", WSAGetLastError());
    if (!pAcceptEx || !pConnectEx) goto done;
    a = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    ok(!pAcceptEx(l, a, buf, 0, sizeof(SOCKADDR_STORAGE) + 16, sizeof(SOCKADDR_STORAGE) + 16, &bytes, &ov)
       && WSAGetLastError() == ERROR_IO_PENDING, "AcceptEx did not pend: %d\n", WSAGetLastError());
    c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    bind(c, (struct sockaddr *)&addr, sizeof(addr));
    getsockname(l, (struct sockaddr *)&addr, &len);
    cov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!pConnectEx(c, (struct sockaddr *)&addr, sizeof(addr), (void *)"hello", 5, &bytes, &cov))
        ok(WSAGetLastError() == ERROR_IO_PENDING, "ConnectEx failed: %d\n", WSAGetLastError());
    ok(WaitForSingleObject(cov.hEvent, 2000) == WAIT_OBJECT_0, "ConnectEx did not complete\n");
    ok(WaitForSingleObject(ov.hEvent, 2000) == WAIT_OBJECT_0, "AcceptEx did not complete\n");
    ok(!setsockopt(a, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&l, sizeof(l)),
       "SO_UPDATE_ACCEPT_CONTEXT failed: %d\n", WSAGetLastError());
    memset(buf, 0, 5);
    ok(recv(a, buf, 5, 0) == 5 && !memcmp(buf, "hello", 5), "the data sent with ConnectEx did not arrive\n");
    closesocket(c);
    closesocket(a);
    CloseHandle(ov.hEvent);
    CloseHandle(cov.hEvent);
done:
    closesocket(l);
    cleanup();
}

static int apc_calls;
static DWORD apc_error, apc_bytes;
static WSAOVERLAPPED *apc_overlapped;

static void CALLBACK fionbio_apc(DWORD error, DWORD bytes, WSAOVERLAPPED *ov, DWORD flags)
{
    apc_calls++;
    apc_error = error;
    apc_bytes = bytes;
    apc_overlapped = ov;
}

/* WSAIoctl(FIONBIO) is checked and completed as any WSAIoctl is, on a plain socket and on a
 * listener (whose platform socket the front keeps non-blocking). */
static void fionbio_on(SOCKET s, const char *what)
{
    WSAOVERLAPPED ov = { 0 }, *got;
    u_long one = 1, zero = 0;
    ULONG_PTR key;
    DWORD size;
    HANDLE port = CreateIoCompletionPort((HANDLE)s, NULL, 77, 0);
    HANDLE event = CreateEventW(NULL, TRUE, FALSE, NULL);

    ok(port != NULL, "%s: no completion port: %lu\n", what, GetLastError());
    WSASetLastError(0xdeadbeef);
    ok(ioctlsocket(s, FIONBIO, (u_long *)1) == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT,
       "%s: ioctlsocket with a bad pointer: error %d\n", what, WSAGetLastError());
    WSASetLastError(0xdeadbeef);
    ok(WSAIoctl(s, FIONBIO, &one, sizeof(one) - 1, NULL, 0, &size, NULL, NULL) == SOCKET_ERROR
       && WSAGetLastError() == WSAEFAULT, "%s: short input: error %d\n", what, WSAGetLastError());
    WSASetLastError(0xdeadbeef);
    ok(WSAIoctl(s, FIONBIO, &one, sizeof(one), NULL, 0, NULL, NULL, NULL) == SOCKET_ERROR
       && WSAGetLastError() == WSAEFAULT, "%s: no byte count: error %d\n", what, WSAGetLastError());
    size = 0xdeadbeef;
    ok(!WSAIoctl(s, FIONBIO, &one, sizeof(one), NULL, 0, &size, NULL, NULL) && !size,
       "%s: plain call: error %d, size %lu\n", what, WSAGetLastError(), size);

    ov.hEvent = event;
    ov.Internal = ov.InternalHigh = 0xdeadbeef;
    size = 0xdeadbeef;
    ok(!WSAIoctl(s, FIONBIO, &one, sizeof(one), NULL, 0, &size, &ov, NULL) && !size,
       "%s: overlapped call: error %d, size %lu\n", what, WSAGetLastError(), size);
    ok(WaitForSingleObject(event, 1000) == WAIT_OBJECT_0, "%s: the event was not set\n", what);
    got = NULL;
    size = 0xdeadbeef;
    ok(GetQueuedCompletionStatus(port, &size, &key, &got, 1000) && got == &ov && key == 77 && !size,
       "%s: completion: error %lu, overlapped %p, key %Iu, size %lu\n", what, GetLastError(), got, key, size);
    ok(ov.Internal == 0 && ov.InternalHigh == 0, "%s: status %#Ix, bytes %Iu\n", what, ov.Internal, ov.InternalHigh);

    ok(!WSAEventSelect(s, event, FD_READ | FD_ACCEPT), "%s: WSAEventSelect: %d\n", what, WSAGetLastError());
    ok(!WSAIoctl(s, FIONBIO, &one, sizeof(one), NULL, 0, &size, NULL, NULL),
       "%s: non-blocking while registered: error %d\n", what, WSAGetLastError());
    WSASetLastError(0xdeadbeef);
    ok(WSAIoctl(s, FIONBIO, &zero, sizeof(zero), NULL, 0, &size, NULL, NULL) == SOCKET_ERROR
       && WSAGetLastError() == WSAEINVAL, "%s: blocking while registered: error %d\n", what, WSAGetLastError());
    WSAEventSelect(s, NULL, 0);
    ok(!WSAIoctl(s, FIONBIO, &zero, sizeof(zero), NULL, 0, &size, NULL, NULL),
       "%s: blocking again: error %d\n", what, WSAGetLastError());
    CloseHandle(event);
    CloseHandle(port);
}

/* A completion routine runs as an APC; a socket bound to a completion port takes none. */
static void fionbio_apc_on(SOCKET s, const char *what)
{
    WSAOVERLAPPED ov = { 0 };
    u_long one = 1;
    DWORD size = 0xdeadbeef;

    apc_calls = 0;
    apc_error = apc_bytes = 0xdeadbeef;
    WSASetLastError(0xdeadbeef);
    ok(WSAIoctl(s, FIONBIO, &one, sizeof(one), NULL, 0, NULL, &ov, fionbio_apc) == SOCKET_ERROR
       && WSAGetLastError() == WSAEFAULT, "%s: no byte count: error %d\n", what, WSAGetLastError());
    ok(!WSAIoctl(s, FIONBIO, &one, sizeof(one), NULL, 0, &size, &ov, fionbio_apc) && !size,
       "%s: call with a completion routine: error %d, size %lu\n", what, WSAGetLastError(), size);
    ok(SleepEx(0, TRUE) == WAIT_IO_COMPLETION && apc_calls == 1 && !apc_error && !apc_bytes && apc_overlapped == &ov,
       "%s: completion routine: %d calls, error %lu, bytes %lu\n", what, apc_calls, apc_error, apc_bytes);
}

static void test_fionbio(void)
{
    static void (*const checks[])(SOCKET, const char *) = { fionbio_on, fionbio_apc_on };
    SOCKET s;
    unsigned int i;

    startup();
    for (i = 0; i < ARRAYSIZE(checks); i++)
    {
        s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        checks[i](s, "socket");
        closesocket(s);
        s = tcp_listener(AF_INET, "127.0.0.1", 5);
        checks[i](s, "listener");
        closesocket(s);
    }
    cleanup();
}

/* The version is judged before the pointer: below 1.0 is WSAVERNOTSUPPORTED even with no
 * WSADATA. */
static void test_startup_version(void)
{
    WSADATA data;
    int ret;

    ret = WSAStartup(MAKEWORD(0, 2), NULL);
    ok(ret == WSAVERNOTSUPPORTED, "version 0.2, no WSADATA: got %d\n", ret);
    ret = WSAStartup(MAKEWORD(0, 0), NULL);
    ok(ret == WSAVERNOTSUPPORTED, "version 0.0, no WSADATA: got %d\n", ret);
    ret = WSAStartup(MAKEWORD(2, 2), NULL);
    ok(ret == WSAEFAULT, "version 2.2, no WSADATA: got %d\n", ret);
    ret = WSAStartup(MAKEWORD(0, 2), &data);
    ok(ret == WSAVERNOTSUPPORTED, "version 0.2: got %d\n", ret);
    if (!ret) WSACleanup();
}

static int CALLBACK defer_condition(WSABUF *caller, WSABUF *caller_data, QOS *qos, QOS *gqos,
                                    WSABUF *callee, WSABUF *callee_data, GROUP *g, DWORD_PTR data)
{
    return CF_DEFER;
}

/* An AcceptEx posted after a CF_DEFER takes the deferred connection before any later one. */
static void test_acceptex_defer(void)
{
    LPFN_ACCEPTEX pAcceptEx;
    OVERLAPPED ov = { 0 };
    SOCKET l, a, b, c1, c2;
    char buf[2 * (sizeof(SOCKADDR_STORAGE) + 16)], byte;
    DWORD bytes;

    if (is_ours() && !winetest_platform_is_wine())
    {
        skip("not reachable here: Windows has no request that hands a deferred connection back to "
             "its queue, so the front holds it and an AcceptEx takes the next one\n");
        return;
    }
    startup();
    l = tcp_listener(AF_INET, "127.0.0.1", 5);
    pAcceptEx = extension(l, (GUID)WSAID_ACCEPTEX);
    ok(pAcceptEx != NULL, "no AcceptEx through WSAIoctl: %d\n", WSAGetLastError());
    if (!pAcceptEx) goto done;
    c1 = tcp_connect(l);
    ok(wait_pending(l, 2000), "the first connection is not pending\n");
    WSASetLastError(0xdeadbeef);
    ok(WSAAccept(l, NULL, NULL, defer_condition, 0) == INVALID_SOCKET && WSAGetLastError() == WSATRY_AGAIN,
       "CF_DEFER: error %d\n", WSAGetLastError());
    a = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    ok(!pAcceptEx(l, a, buf, 0, sizeof(SOCKADDR_STORAGE) + 16, sizeof(SOCKADDR_STORAGE) + 16, &bytes, &ov)
       && WSAGetLastError() == ERROR_IO_PENDING, "AcceptEx did not pend: %d\n", WSAGetLastError());
    send(c1, "1", 1, 0);
    c2 = tcp_connect(l);
    send(c2, "2", 1, 0);
    ok(WaitForSingleObject(ov.hEvent, 5000) == WAIT_OBJECT_0, "AcceptEx did not complete\n");
    setsockopt(a, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&l, sizeof(l));
    set_short_timeouts(a);
    byte = 0;
    ok(recv(a, &byte, 1, 0) == 1 && byte == '1', "AcceptEx took connection %#x, not the deferred one ('1')\n", byte);
    b = accept(l, NULL, NULL);
    ok(b != INVALID_SOCKET, "accept after AcceptEx: error %d\n", WSAGetLastError());
    if (b != INVALID_SOCKET)
    {
        set_short_timeouts(b);
        byte = 0;
        ok(recv(b, &byte, 1, 0) == 1 && byte == '2', "accept took connection %#x, not the later one ('2')\n", byte);
        closesocket(b);
    }
    CancelIo((HANDLE)l);
    closesocket(a);
    closesocket(c1);
    closesocket(c2);
    CloseHandle(ov.hEvent);
done:
    closesocket(l);
    cleanup();
}

/* Sets larger than this DLL's FD_SETSIZE, as a program built with a larger one passes them
 * (Python uses 512 on Windows, 1024 is common): select takes as many entries as fd_count says. */
#define LARGE_SETSIZE 1024
#define IDLE_SOCKETS 300
#define UNTOUCHED ((SOCKET)0x5a5a5a5a)

struct large_set
{
    u_int fd_count;
    SOCKET fd_array[LARGE_SETSIZE];
};

/* Sockets that are never readable: UDP on loopback with nothing sent, and one idle
 * TCP connection (both of its ends) among them. */
struct idle_sockets
{
    SOCKET s[IDLE_SOCKETS];
    SOCKET l, c, a;
};

static void idle_up(struct idle_sockets *idle)
{
    SOCKADDR_IN addr = { AF_INET };
    UINT i;

    connected_pair(&idle->l, &idle->c, &idle->a);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (i = 0; i < IDLE_SOCKETS; i++)
    {
        if (i == 100) idle->s[i] = idle->c;
        else if (i == 200) idle->s[i] = idle->a;
        else
        {
            idle->s[i] = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
            if (bind(idle->s[i], (struct sockaddr *)&addr, sizeof(addr))) break;
        }
    }
    ok(i == IDLE_SOCKETS, "idle socket %u: error %d\n", i, WSAGetLastError());
}

static void idle_down(struct idle_sockets *idle)
{
    UINT i;

    for (i = 0; i < IDLE_SOCKETS; i++)
        if (i != 100 && i != 200) closesocket(idle->s[i]);
    close_all(idle->l, idle->c, idle->a);
}

/* The idle sockets with L at POS (IDLE_SOCKETS: the last); the entries past fd_count are
 * marked, for a check that nothing is written there. */
static void large_fill(struct large_set *set, const struct idle_sockets *idle, SOCKET l, UINT pos)
{
    UINT i, j;

    for (i = j = 0; i <= IDLE_SOCKETS; i++) set->fd_array[i] = i == pos ? l : idle->s[j++];
    set->fd_count = IDLE_SOCKETS + 1;
    for (; i < LARGE_SETSIZE; i++) set->fd_array[i] = UNTOUCHED;
}

static BOOL untouched_past(const struct large_set *set, UINT count)
{
    UINT i;

    for (i = count; i < LARGE_SETSIZE; i++)
        if (set->fd_array[i] != UNTOUCHED) return FALSE;
    return TRUE;
}

/* select with the large set READ, and the idle sockets as a write set when WITH_WRITE (all of
 * them are writable): L alone must be readable. */
static void check_select_large(const struct idle_sockets *idle, SOCKET l, UINT pos, int timeout_ms, BOOL with_write)
{
    struct timeval tv = { 0, timeout_ms * 1000 };
    struct large_set rd, wr;
    int ret, expect = with_write ? IDLE_SOCKETS + 1 : 1;

    winetest_push_context("position %u, timeout %d ms%s", pos, timeout_ms, with_write ? ", a write set" : "");
    large_fill(&rd, idle, l, pos);
    large_fill(&wr, idle, l, pos);
    /* Without the listener: the idle sockets only. */
    memmove(&wr.fd_array[pos], &wr.fd_array[pos + 1], (IDLE_SOCKETS - pos) * sizeof(SOCKET));
    wr.fd_count = IDLE_SOCKETS;
    wr.fd_array[IDLE_SOCKETS] = UNTOUCHED;
    ret = select(0, (fd_set *)&rd, with_write ? (fd_set *)&wr : NULL, NULL, &tv);
    ok(ret == expect, "select returned %d (error %d), expected %d\n", ret, WSAGetLastError(), expect);
    ok(rd.fd_count == 1 && rd.fd_array[0] == l, "read set: %u entries, the first %#Ix; expected the listener %#Ix\n",
       rd.fd_count, rd.fd_array[0], l);
    ok(untouched_past(&rd, IDLE_SOCKETS + 1), "select wrote past the read set's fd_count\n");
    if (with_write)
    {
        ok(wr.fd_count == IDLE_SOCKETS, "write set: %u entries, expected %u\n", wr.fd_count, IDLE_SOCKETS);
        ok(untouched_past(&wr, IDLE_SOCKETS), "select wrote past the write set's fd_count\n");
    }
    winetest_pop_context();
}

/* WSAPoll with the idle sockets and L at POS, all asking for POLLRDNORM: L alone has it. */
static void check_poll_large(const struct idle_sockets *idle, SOCKET l, UINT pos, int timeout_ms)
{
    WSAPOLLFD fds[IDLE_SOCKETS + 1];
    UINT i, others = 0;
    int ret;

    winetest_push_context("position %u, timeout %d ms", pos, timeout_ms);
    for (i = 0; i <= IDLE_SOCKETS; i++)
    {
        fds[i].fd = i == pos ? l : idle->s[i - (i > pos)];
        fds[i].events = POLLRDNORM;
        fds[i].revents = 0x7777;
    }
    ret = WSAPoll(fds, ARRAYSIZE(fds), timeout_ms);
    ok(ret == 1, "WSAPoll returned %d (error %d), expected 1\n", ret, WSAGetLastError());
    ok(fds[pos].revents == POLLRDNORM, "the listener's revents %#x\n", fds[pos].revents);
    for (i = 0; i <= IDLE_SOCKETS; i++)
        if (i != pos && fds[i].revents) others++;
    ok(!others, "%u other entries have revents\n", others);
    winetest_pop_context();
}

/* A select or WSAPoll with a large set, in another thread, that only a deferral ends. */
struct large_waiter
{
    const struct idle_sockets *idle;
    SOCKET l;
    UINT pos;
    BOOL poll;
    HANDLE started, thread;
    int ret;
    BOOL only_listener;
    DWORD took_ms;
};

static DWORD WINAPI large_waiter_thread(void *arg)
{
    struct large_waiter *w = arg;
    struct timeval tv = { 5, 0 };
    WSAPOLLFD fds[IDLE_SOCKETS + 1];
    struct large_set rd;
    DWORD start;
    UINT i;

    large_fill(&rd, w->idle, w->l, w->pos);
    for (i = 0; i <= IDLE_SOCKETS; i++)
    {
        fds[i].fd = rd.fd_array[i];
        fds[i].events = POLLRDNORM;
        fds[i].revents = 0;
    }
    SetEvent(w->started);
    start = GetTickCount();
    w->ret = w->poll ? WSAPoll(fds, ARRAYSIZE(fds), 5000) : select(0, (fd_set *)&rd, NULL, NULL, &tv);
    w->took_ms = GetTickCount() - start;
    if (w->poll)
        w->only_listener = fds[w->pos].revents == POLLRDNORM;
    else
        w->only_listener = rd.fd_count == 1 && rd.fd_array[0] == w->l && untouched_past(&rd, IDLE_SOCKETS + 1);
    return 0;
}

/* Starts the waiter once this call has taken the connection, lets it block, then defers. */
static int CALLBACK defer_under_large_waiter(WSABUF *caller, WSABUF *caller_data, QOS *qos, QOS *gqos,
                                             WSABUF *callee, WSABUF *callee_data, GROUP *g, DWORD_PTR data)
{
    struct large_waiter *w = (struct large_waiter *)data;

    w->thread = CreateThread(NULL, 0, large_waiter_thread, w, 0, NULL);
    WaitForSingleObject(w->started, 2000);
    Sleep(400);
    return CF_DEFER;
}

static void check_large_waiter(const struct idle_sockets *idle, SOCKET l, UINT pos, BOOL poll)
{
    struct large_waiter w = { idle, l, pos, poll, CreateEventW(NULL, TRUE, FALSE, NULL) };
    SOCKET c = tcp_connect(l), a;

    winetest_push_context("%s waiting, position %u", poll ? "WSAPoll" : "select", pos);
    ok(wait_pending(l, 2000), "the connection is not pending\n");
    a = WSAAccept(l, NULL, NULL, defer_under_large_waiter, (DWORD_PTR)&w);
    ok(a == INVALID_SOCKET && WSAGetLastError() == WSATRY_AGAIN, "CF_DEFER: error %d\n", WSAGetLastError());
    ok(w.thread && WaitForSingleObject(w.thread, 8000) == WAIT_OBJECT_0, "the waiter did not return\n");
    ok(w.ret == 1 && w.only_listener && w.took_ms < 2500,
       "a deferral by another thread did not end the wait: %d after %lu ms, only the listener %d\n",
       w.ret, w.took_ms, w.only_listener);
    a = accept(l, NULL, NULL);
    ok(a != INVALID_SOCKET, "accept of the held connection failed: %d\n", WSAGetLastError());
    closesocket(a);
    closesocket(c);
    if (w.thread) CloseHandle(w.thread);
    CloseHandle(w.started);
    winetest_pop_context();
}

/* A listener is among the first FD_SETSIZE entries, the 72nd, or the last. */
static const UINT large_positions[] = { 5, 71, IDLE_SOCKETS };

/* A listener that holds a deferred connection is readable (E1), however far in the set;
 * one with a plain pending connection is as on the platform, with a deferral held elsewhere
 * (the front looks through the set) or none (the platform alone answers). */
static void check_large(BOOL poll)
{
    struct idle_sockets idle;
    SOCKET l, l2, c, c2, a;
    UINT i;

    startup();
    idle_up(&idle);
    l = tcp_listener(AF_INET, "127.0.0.1", 5);
    l2 = tcp_listener(AF_INET, "127.0.0.1", 5);

    winetest_push_context("pending");
    c2 = tcp_connect(l2);
    ok(wait_pending(l2, 2000), "the connection is not pending\n");
    for (i = 0; i < ARRAYSIZE(large_positions); i++)
    {
        if (poll)
        {
            check_poll_large(&idle, l2, large_positions[i], 0);
            check_poll_large(&idle, l2, large_positions[i], 100);
        }
        else
        {
            check_select_large(&idle, l2, large_positions[i], 0, FALSE);
            check_select_large(&idle, l2, large_positions[i], 100, TRUE);
        }
    }
    winetest_pop_context();

    winetest_push_context("deferred");
    c = tcp_connect(l);
    ok(wait_pending(l, 2000), "the connection is not pending\n");
    a = WSAAccept(l, NULL, NULL, defer_condition, 0);
    ok(a == INVALID_SOCKET && WSAGetLastError() == WSATRY_AGAIN, "CF_DEFER: error %d\n", WSAGetLastError());
    for (i = 0; i < ARRAYSIZE(large_positions); i++)
    {
        if (poll)
        {
            check_poll_large(&idle, l, large_positions[i], 0);
            check_poll_large(&idle, l, large_positions[i], 100);
        }
        else
        {
            check_select_large(&idle, l, large_positions[i], 0, FALSE);
            check_select_large(&idle, l, large_positions[i], 100, FALSE);
            check_select_large(&idle, l, large_positions[i], 100, TRUE);
        }
    }
    winetest_pop_context();

    /* The pending one again, while l holds its deferred connection outside the set. */
    winetest_push_context("pending, a deferral held elsewhere");
    for (i = 0; i < ARRAYSIZE(large_positions); i++)
    {
        if (poll) check_poll_large(&idle, l2, large_positions[i], 100);
        else check_select_large(&idle, l2, large_positions[i], 100, TRUE);
    }
    winetest_pop_context();
    a = accept(l, NULL, NULL);
    ok(a != INVALID_SOCKET, "accept of the held connection failed: %d\n", WSAGetLastError());
    closesocket(a);
    closesocket(c);

    /* A wait that began while nothing was pending ends with another thread's deferral. */
    for (i = 1; i < ARRAYSIZE(large_positions); i++) check_large_waiter(&idle, l, large_positions[i], poll);

    closesocket(c2);
    closesocket(l2);
    closesocket(l);
    idle_down(&idle);
    cleanup();
}

static void test_select_large(void) { check_large(FALSE); }
static void test_poll_large(void) { check_large(TRUE); }

/* The front's copies of a large set cannot be allocated: the call fails with the code its
 * page names for that (select: WSAEFAULT, WSAPoll: WSAENOBUFS), the set as it was; a set
 * small enough for the stack needs no allocation. */
static void test_large_nomem(void)
{
    struct ws2_api fault, *saved = ws2;
    struct timeval tv = { 0, 100 * 1000 };
    struct idle_sockets idle;
    WSAPOLLFD fds[IDLE_SOCKETS + 1];
    struct large_set rd;
    char path[MAX_PATH];
    HMODULE module;
    SOCKET l, c, a;
    UINT i;
    int ret;

    if (!is_ours() || !GetEnvironmentVariableA("WS2_TEST_FAULT_DLL", path, sizeof(path)))
    {
        skip("allocation failures are reached through this DLL's fault seam (WS2_TEST_FAULT_DLL)\n");
        return;
    }
    module = LoadLibraryA(path);
    ok(module != NULL && ws2_bind_module(&fault, module, NULL), "cannot load the fault-seam build %s\n", path);
    if (!module) return;
    ws2 = &fault;
    startup();
    idle_up(&idle);
    l = tcp_listener(AF_INET, "127.0.0.1", 5);
    c = tcp_connect(l);
    ok(wait_pending(l, 2000), "the connection is not pending\n");
    a = WSAAccept(l, NULL, NULL, defer_condition, 0);
    ok(a == INVALID_SOCKET && WSAGetLastError() == WSATRY_AGAIN, "CF_DEFER: error %d\n", WSAGetLastError());

    SetEnvironmentVariableA("WS2_32_FAULTS", "alloc=1");
    large_fill(&rd, &idle, l, 71);
    ret = select(0, (fd_set *)&rd, NULL, NULL, &tv);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "select: %d, error %d\n", ret, WSAGetLastError());
    ok(rd.fd_count == IDLE_SOCKETS + 1 && rd.fd_array[71] == l && untouched_past(&rd, IDLE_SOCKETS + 1),
       "the set changed: %u entries\n", rd.fd_count);
    for (i = 0; i <= IDLE_SOCKETS; i++)
    {
        fds[i].fd = rd.fd_array[i];
        fds[i].events = POLLRDNORM;
        fds[i].revents = 0;
    }
    ret = WSAPoll(fds, ARRAYSIZE(fds), 100);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOBUFS, "WSAPoll: %d, error %d\n", ret, WSAGetLastError());
    rd.fd_count = 1;
    rd.fd_array[0] = l;
    ret = select(0, (fd_set *)&rd, NULL, NULL, &tv);
    ok(ret == 1 && rd.fd_count == 1 && rd.fd_array[0] == l, "select of one listener: %d, error %d\n", ret,
       WSAGetLastError());
    SetEnvironmentVariableA("WS2_32_FAULTS", NULL);

    a = accept(l, NULL, NULL);
    ok(a != INVALID_SOCKET, "accept of the held connection failed: %d\n", WSAGetLastError());
    closesocket(a);
    closesocket(c);
    closesocket(l);
    idle_down(&idle);
    cleanup();
    ws2 = saved;
}

/* Wine's wsock32 imports ws2_32: under the override it must run on this DLL, and work. */
static void test_wsock32(void)
{
    HMODULE wsock32;
    struct ws2_api via, *saved = ws2;

    if (strcmp(ws2_target, "dropin"))
    {
        skip("wsock32 binds the program's ws2_32 import only; target %s is loaded apart\n", ws2_target);
        return;
    }
    wsock32 = LoadLibraryA("wsock32.dll");
    ok(wsock32 != NULL, "cannot load wsock32: %lu\n", GetLastError());
    if (!wsock32) return;
    /* WinSock 1.1's wsock32 lacks WSAPoll and the like: those the checks take from ws2_32. */
    ws2_bind_module(&via, wsock32, ws2);
    if (winetest_platform_is_wine())
        ok(via.p_accept == ws2->p_accept && via.p_socket == ws2->p_socket,
           "wsock32's accept/socket do not lead to %s\n", ws2->path);
    ok(GetProcAddress(wsock32, "accept") && GetProcAddress(wsock32, "WSAStartup"), "wsock32 lacks accept or WSAStartup\n");
    ws2 = &via;
    tcp_over(AF_INET, "127.0.0.1");
    ws2 = saved;
}

typedef ULONG_PTR (WINAPI *any_fn)();

/* Calls FN with NARGS zero arguments; on x86, also says how many bytes the callee left on
 * the stack (its stdcall cleanup must match the export's arguments). */
static ULONG_PTR call_zeros(void *fn, int nargs, int *unpopped)
{
#ifdef __i386__
    ULONG_PTR ret;

    __asm__ volatile("movl %%esp, %%esi\n\t"
                     "jecxz 2f\n"
                     "1:\n\tpushl $0\n\tloop 1b\n"
                     "2:\n\tcall *%%ebx\n\t"
                     "movl %%esi, %%ecx\n\t"
                     "subl %%esp, %%ecx\n\t"
                     "movl %%esi, %%esp\n\t"
                     : "=a"(ret), "=c"(*unpopped)
                     : "b"(fn), "c"(nargs)
                     : "esi", "edx", "memory", "cc");
    return ret;
#else
    *unpopped = 0;
    return ((ULONG_PTR (WINAPI *)(ULONG_PTR, ULONG_PTR, ULONG_PTR, ULONG_PTR, ULONG_PTR, ULONG_PTR,
                                  ULONG_PTR, ULONG_PTR, ULONG_PTR, ULONG_PTR, ULONG_PTR, ULONG_PTR))fn)
           (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
#endif
}

static BOOL clean_failure(const struct ws2_export_info *info, ULONG_PTR ret, DWORD error)
{
    if (!strcmp(info->fail, "void")) return error == WSAEOPNOTSUPP;
    if (!strcmp(info->fail, "error")) return (DWORD)ret == WSAEOPNOTSUPP && error == WSAEOPNOTSUPP;
    if (!strcmp(info->fail, "socket_error")) return (int)ret == SOCKET_ERROR && error == WSAEOPNOTSUPP;
    if (!strcmp(info->fail, "invalid_socket")) return (SOCKET)ret == INVALID_SOCKET && error == WSAEOPNOTSUPP;
    return !ret && error == WSAEOPNOTSUPP;
}

static void test_missing(void)
{
    HMODULE platform = ws2_load_platform();
    unsigned int i, missing = 0;

    if (!is_ours())
    {
        skip("the platform is what lacks these exports\n");
        return;
    }
    ok(platform != NULL, "cannot load the platform\n");
    startup();
    for (i = 0; i < WS2_EXPORT_COUNT; i++)
    {
        const struct ws2_export_info *info = &ws2_exports[i];
        void *fn = (void *)GetProcAddress(ws2->module, info->name);
        ULONG_PTR ret;
        int unpopped;

        ok(fn != NULL, "%s is not exported\n", info->name);
        if (!fn || !platform || GetProcAddress(platform, info->name)) continue;
        missing++;
        SetLastError(0xdeadbeef);
        ret = call_zeros(fn, info->nargs, &unpopped);
        ok(clean_failure(info, ret, GetLastError()), "%s returned %#Ix, error %lu\n",
           info->name, ret, GetLastError());
        ok(!unpopped, "%s left %d bytes on the stack\n", info->name, unpopped);
    }
    trace("%u exports are missing from the platform %s\n", missing, winetest_platform_is_wine() ? "(Wine)" : "");
    if (winetest_platform_is_wine()) ok(missing >= 60, "only %u exports missing; expected Wine 8.0's 64\n", missing);
    cleanup();
}

START_TEST(dropin)
{
    if (!ws2_bind()) return;
    subtest("module", test_module);
    subtest("tcp4", test_tcp4);
    subtest("tcp6", test_tcp6);
    subtest("udp", test_udp);
    subtest("getaddrinfo", test_getaddrinfo);
    subtest("select", test_select);
    subtest("poll", test_poll);
    subtest("eventselect", test_eventselect);
    subtest("enumevents_bad_event", test_enumevents_bad_event);
    subtest("overlapped", test_overlapped);
    subtest("acceptex", test_acceptex);
    subtest("acceptex_defer", test_acceptex_defer);
    subtest("select_large", test_select_large);
    subtest("poll_large", test_poll_large);
    subtest("large_nomem", test_large_nomem);
    subtest("fionbio", test_fionbio);
    subtest("startup_version", test_startup_version);
    subtest("wsock32", test_wsock32);
    subtest("missing", test_missing);
}
