/* Stress: threads accepting on shared IPv4 and IPv6 listeners while clients connect, send,
 * reset and give up, and condition functions return CF_ACCEPT, CF_DEFER, CF_REJECT and
 * invalid values at random.  At the end every ordinary client was accepted exactly once or
 * refused (the server's record says so, and the client got no data), nothing was accepted
 * twice, and handles are back where they were.  Under Wine a client cannot always tell a reset
 * from an orderly end (wineserver may read the error first), so the refusal is taken from the
 * condition function's own record, keyed by the client's port.
 * WS2_STRESS_CONNECTIONS sets the count (default 400; the long run uses 1000000). */

#include <stdio.h>
#include "ws2test.h"

enum kind { NORMAL, RESETS, GIVES_UP };
enum outcome { PENDING, GOT_OK, GOT_END, TIMED_OUT, NO_CONNECT };

struct client_record
{
    LONG accepted;          /* times a server thread received this client's id */
    LONG refused;           /* times the condition function returned CF_REJECT for it */
    enum kind kind;
    enum outcome outcome;
};

static struct client_record *clients;
static LONG port_owner[65536];
static LONG next_client, total_clients, server_stop;
static SOCKET listeners[2];
static LONG random_state = 12345;

static unsigned int next_random(void)
{
    LONG old, new;

    do
    {
        old = random_state;
        new = old * 1103515245 + 12345;
    } while (InterlockedCompareExchange(&random_state, new, old) != old);
    return ((unsigned int)new >> 16) & 0x7fff;
}

static int CALLBACK random_decision(WSABUF *caller_id, WSABUF *caller_data, QOS *sqos, QOS *gqos,
                                    WSABUF *callee_id, WSABUF *callee_data, GROUP *g, DWORD_PTR data)
{
    unsigned int r = next_random() % 10;
    const SOCKADDR_STORAGE *peer = (const void *)caller_id->buf;
    USHORT port = ntohs(peer->ss_family == AF_INET6 ? ((const SOCKADDR_IN6 *)peer)->sin6_port
                                                    : ((const SOCKADDR_IN *)peer)->sin_port);

    if (r < 5) return CF_ACCEPT;
    if (r < 7) return CF_DEFER;
    if (r < 9)
    {
        InterlockedIncrement(&clients[port_owner[port]].refused);
        return CF_REJECT;
    }
    return 99;
}

static void serve(SOCKET s)
{
    LONG id = -1;
    int got = 0, ret;

    set_short_timeouts(s);
    while (got < (int)sizeof(id) && (ret = recv(s, (char *)&id + got, sizeof(id) - got, 0)) > 0) got += ret;
    if (got == sizeof(id) && id >= 0 && id < total_clients)
    {
        InterlockedIncrement(&clients[id].accepted);
        send(s, "ok", 2, 0);
    }
    closesocket(s);
}

static DWORD WINAPI server_thread(void *arg)
{
    SOCKET l = listeners[(ULONG_PTR)arg % 2], s;

    while (!server_stop)
    {
        s = (ULONG_PTR)arg >= 2 ? accept(l, NULL, NULL) : WSAAccept(l, NULL, NULL, random_decision, 0);
        if (s != INVALID_SOCKET) serve(s);
        else if (WSAGetLastError() == WSAEINTR || WSAGetLastError() == WSAENOTSOCK) break;
    }
    return 0;
}

/* A client whose port is known before it connects, so the server can tell who it refused. */
static SOCKET connect_as(LONG id, SOCKET listener)
{
    SOCKADDR_STORAGE addr, server;
    int len = sockaddr_of(listener, &server);
    SOCKET c = socket(server.ss_family, SOCK_STREAM, IPPROTO_TCP);

    memset(&addr, 0, sizeof(addr));
    addr.ss_family = server.ss_family;
    if (server.ss_family == AF_INET) ((SOCKADDR_IN *)&addr)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else ((SOCKADDR_IN6 *)&addr)->sin6_addr = in6addr_loopback;
    if (bind(c, (struct sockaddr *)&addr, len) || !sockaddr_of(c, &addr))
    {
        closesocket(c);
        return INVALID_SOCKET;
    }
    InterlockedExchange(&port_owner[ntohs(((SOCKADDR_IN *)&addr)->sin_port)], id);
    if (connect(c, (struct sockaddr *)&server, len))
    {
        closesocket(c);
        return INVALID_SOCKET;
    }
    return c;
}

static void run_client(LONG id)
{
    struct client_record *rec = &clients[id];
    SOCKET c = connect_as(id, listeners[id % 2]);
    char reply[2];
    int state;

    if (c == INVALID_SOCKET)
    {
        rec->outcome = NO_CONNECT;
        return;
    }
    rec->kind = id % 7 == 3 ? RESETS : id % 7 == 5 ? GIVES_UP : NORMAL;
    if (rec->kind != GIVES_UP) send(c, (char *)&id, sizeof(id), 0);
    if (rec->kind != NORMAL)
    {
        if (rec->kind == RESETS)
        {
            LINGER linger = { 1, 0 };
            setsockopt(c, SOL_SOCKET, SO_LINGER, (char *)&linger, sizeof(linger));
        }
        closesocket(c);
        return;
    }
    state = peer_state(c, 20000);
    if (state == PEER_DATA && recv(c, reply, 2, 0) == 2) rec->outcome = GOT_OK;
    else if (state == PEER_RESET || state == PEER_FIN) rec->outcome = GOT_END;
    else rec->outcome = TIMED_OUT;
    closesocket(c);
}

static DWORD WINAPI client_thread(void *arg)
{
    LONG id;

    while ((id = InterlockedIncrement(&next_client) - 1) < total_clients) run_client(id);
    return 0;
}

static void test_mixed(void)
{
    HANDLE servers[6], client_threads[4];
    DWORD before, after;
    char value[32];
    int i, normal = 0, twice = 0, wrong = 0, refused = 0, accepted = 0;

    total_clients = 400;
    if (GetEnvironmentVariableA("WS2_STRESS_CONNECTIONS", value, sizeof(value))) total_clients = atol(value);
    clients = calloc(total_clients, sizeof(*clients));
    next_client = server_stop = 0;

    startup();
    GetProcessHandleCount(GetCurrentProcess(), &before);
    listeners[0] = tcp_listener(AF_INET, "127.0.0.1", 64);
    listeners[1] = tcp_listener(AF_INET6, "::1", 64);
    for (i = 0; i < 6; i++) servers[i] = CreateThread(NULL, 0, server_thread, (void *)(ULONG_PTR)i, 0, NULL);
    for (i = 0; i < 4; i++) client_threads[i] = CreateThread(NULL, 0, client_thread, NULL, 0, NULL);
    ok(WaitForMultipleObjects(4, client_threads, TRUE, 600000) == WAIT_OBJECT_0, "the clients did not finish\n");
    server_stop = 1;
    closesocket(listeners[0]);
    closesocket(listeners[1]);
    ok(WaitForMultipleObjects(6, servers, TRUE, 10000) == WAIT_OBJECT_0, "the server threads did not end\n");
    for (i = 0; i < 6; i++) CloseHandle(servers[i]);
    for (i = 0; i < 4; i++) CloseHandle(client_threads[i]);

    for (i = 0; i < total_clients; i++)
    {
        struct client_record *rec = &clients[i];

        if (rec->accepted > 1) twice++;
        if (rec->kind != NORMAL) continue;
        normal++;
        if (rec->outcome == GOT_OK && rec->accepted == 1 && !rec->refused) accepted++;
        else if (rec->outcome == GOT_END && rec->refused == 1 && !rec->accepted) refused++;
        else if (wrong++ < 5)
            trace("client %d: outcome %d, accepted %ld times, refused %ld times\n", i, rec->outcome,
                  rec->accepted, rec->refused);
    }
    trace("%ld connections: %d ordinary, %d accepted, %d refused\n", total_clients, normal, accepted, refused);
    ok(!twice, "%d connections were accepted twice\n", twice);
    ok(!wrong, "%d ordinary connections were neither accepted once nor refused once\n", wrong);
    ok(accepted > 0 && refused > 0, "the mix did not happen: %d accepted, %d refused\n", accepted, refused);
    GetProcessHandleCount(GetCurrentProcess(), &after);
    ok(after <= before + 4, "handles went from %lu to %lu\n", before, after);
    cleanup();
    free(clients);
}

START_TEST(stress)
{
    if (!ws2_bind()) return;
    subtest("mixed", test_mixed);
}
