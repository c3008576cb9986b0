/* Stress: threads accepting on shared IPv4 and IPv6 listeners while clients connect, send,
 * reset and give up, and condition functions return CF_ACCEPT, CF_DEFER, CF_REJECT and
 * invalid values at random.
 *
 *   mixed   the listeners live for the whole run.  Every ordinary client was accepted exactly
 *           once or refused (the server's record says so, and the client got no data), nothing
 *           was accepted twice, and handles are back where they were.
 *   churn   the same traffic from a second process, while a churn thread closes listeners
 *           under the accepting threads and opens new ones, takes and drops an extra
 *           WSAStartup reference (a WSACleanup that is not the last must close nothing), and
 *           now and then makes the last WSACleanup (it must close every listener and what they
 *           hold) and starts again.  Every ordinary client was accepted once, refused once, or
 *           withdrawn because its listener went away; nothing was accepted twice or both
 *           accepted and refused; every accept error is one the contract allows for what
 *           happened; handles, private bytes and the DLL's heap bytes are back where they were.
 *
 * Under Wine a client cannot always tell a reset from an orderly end (wineserver may read the
 * error first), so the refusal is taken from the condition function's own record, keyed by
 * the client's port.
 *
 * WS2_STRESS_CONNECTIONS sets the count of each subtest (defaults: mixed 400, churn 2000, a few
 * seconds each); WS2_STRESS_LONG=1 makes it 1000000 (the long run). */

#include <stdio.h>
#include "ws2test.h"
#include <psapi.h>

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
/* The client bound to each port, per family: an IPv4 and an IPv6 client can hold one number. */
static LONG port_owner[2][65536];
static LONG next_client, total_clients, server_stop;
static SOCKET listeners[2];
static LONG random_state = 12345;

/* The count of connections a subtest makes: DEFAULT, or what the environment asks for. */
static LONG stress_connections(LONG def)
{
    char value[32];

    if (GetEnvironmentVariableA("WS2_STRESS_CONNECTIONS", value, sizeof(value)) && atol(value) > 0)
        return atol(value);
    if (GetEnvironmentVariableA("WS2_STRESS_LONG", value, sizeof(value)) && atoi(value) > 0)
        return 1000000;
    return def;
}

/* The handles this process has open.  Wine 8.0's GetProcessHandleCount succeeds and says 0:
 * then the valid handle values are counted, from the bottom of the table (Wine hands out the
 * lowest free one) up to a long run of unused ones. */
static DWORD process_handles(void)
{
    DWORD count = 0, flags, gap = 0;
    ULONG_PTR h;

    if (GetProcessHandleCount(GetCurrentProcess(), &count) && count) return count;
    for (h = 4; gap < 4096 && h < (1 << 26); h += 4)
    {
        if (GetHandleInformation((HANDLE)h, &flags)) count++, gap = 0;
        else gap++;
    }
    return count;
}

/* Private bytes: PrivateUsage of GetProcessMemoryInfo.  Wine 8.0 says 0 there: then the sum of
 * the committed private regions VirtualQuery sees, which is what PrivateUsage counts. */
static ULONGLONG process_private_bytes(void)
{
    static BOOL (WINAPI *get_info)(HANDLE, PROCESS_MEMORY_COUNTERS *, DWORD);
    PROCESS_MEMORY_COUNTERS_EX counters;
    MEMORY_BASIC_INFORMATION info;
    ULONGLONG total = 0;
    char *p = NULL;

    if (!get_info)
        get_info = (void *)GetProcAddress(GetModuleHandleA("kernel32.dll"), "K32GetProcessMemoryInfo");
    memset(&counters, 0, sizeof(counters));
    if (get_info && get_info(GetCurrentProcess(), (PROCESS_MEMORY_COUNTERS *)&counters, sizeof(counters))
        && counters.PrivateUsage)
        return counters.PrivateUsage;
    while (VirtualQuery(p, &info, sizeof(info)) == sizeof(info))
    {
        if (info.State == MEM_COMMIT && info.Type == MEM_PRIVATE) total += info.RegionSize;
        if ((char *)info.BaseAddress + info.RegionSize <= p) break;
        p = (char *)info.BaseAddress + info.RegionSize;
    }
    return total;
}

/* Bytes in use in the process heap, where the DLL keeps its own state. */
static ULONGLONG process_heap_in_use(void)
{
    PROCESS_HEAP_ENTRY entry;
    HANDLE heap = GetProcessHeap();
    ULONGLONG total = 0;

    if (!HeapLock(heap)) return 0;
    entry.lpData = NULL;
    while (HeapWalk(heap, &entry))
        if (entry.wFlags & PROCESS_HEAP_ENTRY_BUSY) total += entry.cbData;
    HeapUnlock(heap);
    return total;
}

/* The heap bytes the DLL under test holds.  The process heap's figure cannot tell a leak of the
 * DLL from a low-fragmentation heap that keeps carriers whose slots are all free (Wine 10's
 * does, and reports each as one block in use): the DLL's own HeapAlloc and HeapFree calls are
 * counted instead, through wrappers put into its import table. */
static LONG64 dll_heap_bytes;
static void *(WINAPI *real_heap_alloc)(HANDLE, DWORD, SIZE_T);
static BOOL (WINAPI *real_heap_free)(HANDLE, DWORD, void *);

static void * WINAPI counted_heap_alloc(HANDLE heap, DWORD flags, SIZE_T size)
{
    void *ptr = real_heap_alloc(heap, flags, size);

    if (ptr) InterlockedExchangeAdd64(&dll_heap_bytes, HeapSize(heap, 0, ptr));
    return ptr;
}

static BOOL WINAPI counted_heap_free(HANDLE heap, DWORD flags, void *ptr)
{
    SIZE_T size = ptr ? HeapSize(heap, 0, ptr) : 0;
    BOOL ret = real_heap_free(heap, flags, ptr);

    if (ret && size != (SIZE_T)-1) InterlockedExchangeAdd64(&dll_heap_bytes, -(LONG64)size);
    return ret;
}

/* From here on the DLL's heap bytes are counted; FALSE when they cannot be (a DLL that does not
 * import both). */
static BOOL count_dll_heap(void)
{
    static BOOL counting;
    ULONG_PTR *alloc_slot, *free_slot;

    if (counting) return TRUE;
    if (!(alloc_slot = import_slot(ws2->module, "HeapAlloc")) || !(free_slot = import_slot(ws2->module, "HeapFree")))
        return FALSE;
    real_heap_free = replace_slot(free_slot, (void *)counted_heap_free);
    real_heap_alloc = replace_slot(alloc_slot, (void *)counted_heap_alloc);
    return counting = TRUE;
}

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
        InterlockedIncrement(&clients[port_owner[peer->ss_family == AF_INET6][port]].refused);
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
    InterlockedExchange(&port_owner[addr.ss_family == AF_INET6][ntohs(((SOCKADDR_IN *)&addr)->sin_port)], id);
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

/* The clients' threads, allowed 10 minutes plus 10 ms a connection; the long run says how far
 * it has come every minute. */
static BOOL wait_for_clients(HANDLE *threads, DWORD count)
{
    ULONGLONG limit = 600000 + (ULONGLONG)total_clients * 10, waited = 0;
    DWORD ret;

    while ((ret = WaitForMultipleObjects(count, threads, TRUE, 60000)) == WAIT_TIMEOUT)
    {
        if ((waited += 60000) >= limit) return FALSE;
        trace("%ld of %ld connections after %llu s\n", min(next_client, total_clients), total_clients,
              waited / 1000);
    }
    return ret == WAIT_OBJECT_0;
}

static void test_mixed(void)
{
    HANDLE servers[6], client_threads[4];
    DWORD before, after;
    int i, normal = 0, twice = 0, wrong = 0, refused = 0, accepted = 0;

    total_clients = stress_connections(400);
    clients = calloc(total_clients, sizeof(*clients));
    next_client = server_stop = 0;

    startup();
    before = process_handles();
    listeners[0] = tcp_listener(AF_INET, "127.0.0.1", 64);
    listeners[1] = tcp_listener(AF_INET6, "::1", 64);
    for (i = 0; i < 6; i++) servers[i] = CreateThread(NULL, 0, server_thread, (void *)(ULONG_PTR)i, 0, NULL);
    for (i = 0; i < 4; i++) client_threads[i] = CreateThread(NULL, 0, client_thread, NULL, 0, NULL);
    ok(wait_for_clients(client_threads, 4), "the clients did not finish\n");
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
    after = process_handles();
    ok(after <= before + 4, "handles went from %lu to %lu\n", before, after);
    cleanup();
    free(clients);
}

/* churn: the client side runs in a second process, so that the last WSACleanup of this one
 * ends the servers' sockets only, mid-flight, as it would in a real server.  Both sides share
 * one mapping: the listeners' ports, and a record per connection. */

#define CHURN_SERVERS 6             /* 0-3 call WSAAccept, 4-5 accept; even ones IPv4, odd IPv6 */
#define CHURN_CLIENT_THREADS 4
#define CHURN_EVENT_MS 40           /* a listener replaced, or a WSAStartup/WSACleanup pair... */
#define CHURN_RESTART_EVERY 10      /* ...and every 10th event, the last WSACleanup, but only in... */
#define CHURN_RESTART_BLOCK 50000   /* ...every other block of this many connections (at most) */
#define CHURN_CLIENT_WAIT_MS 10000  /* how long an ordinary client waits for the server's word */
/* Clients bind their ports themselves, below Linux's ephemeral range (where the listeners'
 * ports come from), each thread cycling through a range of its own.  A port comes back only
 * thousands of connections later, so a port the condition function sees names one client. */
#define CHURN_PORT_FIRST 20000
#define CHURN_PORT_COUNT 12000
/* What "back where they started" allows.  Handles: Wine's ws2_32 keeps an event for each
 * thread that made a blocking call, the main thread's included.  Private bytes: heaps keep
 * what they grew to at the busiest moment; between two restarts, where the process is in the
 * same state, they must not grow by more than bookkeeping; nor must the heap bytes the DLL
 * holds (the process heap's own figure is only traced: see count_dll_heap). */
#define CHURN_HANDLE_SLACK 2
#define CHURN_PRIVATE_SLACK (4 << 20)
#define CHURN_RESTART_PRIVATE_SLACK (1 << 20)
#define CHURN_RESTART_HEAP_SLACK (4 << 10)

enum churn_outcome { C_NONE, C_OK, C_END, C_TIMED_OUT, C_NO_CONNECT, C_ERROR };

struct churn_record
{
    LONG accepted;          /* server: times a server thread received this client's id */
    LONG refused;           /* server: times the condition function returned CF_REJECT for it */
    LONG error;             /* client: connect's error, for C_NO_CONNECT */
    BYTE kind;              /* client: NORMAL, RESETS, GIVES_UP */
    BYTE outcome;           /* client: what it saw */
    BYTE listener_closed;   /* client: the listener it aimed at was replaced while it was in flight */
    BYTE cleaned;           /* client: a last WSACleanup came while it was in flight */
};

struct churn_shared
{
    LONG64 listener[2];     /* per slot (0 IPv4, 1 IPv6): generation << 32 | port, port 0 while none */
    LONG last_cleanups;     /* last WSACleanups so far, counted before each is made */
    LONG total;
    LONG next;
    LONG done;
    LONG stop;              /* the server side wants the clients to end now */
    LONG client_failures;   /* socket() or bind() failed on the client side */
    LONG port_owner[2][65536];  /* 1 + the id of the client bound to a port, per family */
    struct churn_record rec[1];
};

static struct churn_shared *churn;
static SOCKET volatile churn_listener[2];
static LONG volatile churn_restarting, churn_events_stop, churn_servers_stop;
static LONG churn_parked;
static SRWLOCK churn_lock = SRWLOCK_INIT;
static CONDITION_VARIABLE churn_cv = CONDITION_VARIABLE_INIT;
static LONG churn_strangers;
static LONG churn_replaced, churn_held, churn_pairs, churn_restarts;

/* The accept errors a server thread may see here, and how often it saw each. */
static const int churn_expected_errors[] =
{
    WSAECONNREFUSED,    /* D2: refused (WSAAccept only) */
    WSATRY_AGAIN,       /* D3: deferred (WSAAccept only) */
    WSAEINVAL,          /* D4: an invalid return value; or a stale handle, now no listener */
    WSAEINTR,           /* B4: the listener was closed during the wait */
    WSAENOTSOCK,        /* the listener was closed before the call, or during the callback (D5) */
    WSANOTINITIALISED,  /* A1: between the last WSACleanup and the next WSAStartup */
    WSAECONNRESET,      /* E3: a held connection whose client reset it; or a queued one (accept's page) */
    WSAEACCES,          /* E4: a held connection whose client gave up (SO_CONDITIONAL_ACCEPT) */
    WSAEWOULDBLOCK,     /* B1: a listener made non-blocking before it is closed */
};
static LONG churn_error_counts[ARRAYSIZE(churn_expected_errors)];
static LONG churn_errors_unexpected, churn_unexpected_last, churn_errors_uncaused, churn_uncaused_last;

static unsigned int churn_random(unsigned int *state)
{
    *state = *state * 1103515245 + 12345;
    return (*state >> 16) & 0x7fff;
}

static LONG64 churn_read_slot(int slot)
{
    return InterlockedCompareExchange64(&churn->listener[slot], 0, 0);
}

/* ---- the client process ---- */

static BOOL churn_bind(SOCKET c, int family, USHORT *cursor, USHORT first, USHORT *port)
{
    SOCKADDR_STORAGE addr;
    int len, tries, span = CHURN_PORT_COUNT / CHURN_CLIENT_THREADS, error;

    memset(&addr, 0, sizeof(addr));
    addr.ss_family = family;
    if (family == AF_INET) ((SOCKADDR_IN *)&addr)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else ((SOCKADDR_IN6 *)&addr)->sin6_addr = in6addr_loopback;
    len = family == AF_INET ? sizeof(SOCKADDR_IN) : sizeof(SOCKADDR_IN6);
    for (tries = 0; tries < span; tries++)
    {
        *port = *cursor;
        if (++*cursor == first + span) *cursor = first;
        /* The port sits at the same place in both address structures. */
        ((SOCKADDR_IN *)&addr)->sin_port = htons(*port);
        if (!bind(c, (struct sockaddr *)&addr, len)) return TRUE;
        error = WSAGetLastError();
        /* Taken by someone else, or still in TIME_WAIT from a client that gave up. */
        if (error != WSAEADDRINUSE && error != WSAEACCES) return FALSE;
    }
    return FALSE;
}

static void churn_client(LONG id, USHORT *cursor, USHORT first)
{
    struct churn_record *rec = &churn->rec[id];
    int slot = id % 2, family = slot ? AF_INET6 : AF_INET, len, state;
    SOCKADDR_STORAGE server;
    LONG64 target;
    LONG cleanups;
    USHORT port;
    char reply[2];
    SOCKET c;

    rec->kind = id % 7 == 3 ? RESETS : id % 7 == 5 ? GIVES_UP : NORMAL;
    while (!((target = churn_read_slot(slot)) & 0xffff))
    {
        if (churn->stop) return;
        Sleep(1);
    }
    cleanups = churn->last_cleanups;
    if ((c = socket(family, SOCK_STREAM, IPPROTO_TCP)) == INVALID_SOCKET)
    {
        rec->outcome = C_ERROR;
        InterlockedIncrement(&churn->client_failures);
        return;
    }
    if (!churn_bind(c, family, cursor, first, &port))
    {
        closesocket(c);
        rec->outcome = C_ERROR;
        InterlockedIncrement(&churn->client_failures);
        return;
    }
    InterlockedExchange(&churn->port_owner[slot][port], id + 1);

    memset(&server, 0, sizeof(server));
    server.ss_family = family;
    if (family == AF_INET) ((SOCKADDR_IN *)&server)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else ((SOCKADDR_IN6 *)&server)->sin6_addr = in6addr_loopback;
    ((SOCKADDR_IN *)&server)->sin_port = htons((USHORT)target);
    len = family == AF_INET ? sizeof(SOCKADDR_IN) : sizeof(SOCKADDR_IN6);

    if (connect(c, (struct sockaddr *)&server, len))
    {
        rec->error = WSAGetLastError();
        rec->outcome = C_NO_CONNECT;
    }
    else if (rec->kind == NORMAL)
    {
        send(c, (char *)&id, sizeof(id), 0);
        state = peer_state(c, CHURN_CLIENT_WAIT_MS);
        if (state == PEER_DATA && recv(c, reply, 2, 0) == 2) rec->outcome = C_OK;
        else if (state == PEER_RESET || state == PEER_FIN) rec->outcome = C_END;
        else rec->outcome = C_TIMED_OUT;
    }
    else
    {
        if (rec->kind == RESETS)
        {
            LINGER linger = { 1, 0 };
            send(c, (char *)&id, sizeof(id), 0);
            setsockopt(c, SOL_SOCKET, SO_LINGER, (char *)&linger, sizeof(linger));
        }
        rec->outcome = C_END;
    }
    /* What ended the connection came before this look: a listener is replaced after its
     * slot moves to the next generation, and a last WSACleanup is counted before it is made. */
    rec->listener_closed = (churn_read_slot(slot) >> 32) != (target >> 32);
    rec->cleaned = churn->last_cleanups != cleanups;
    closesocket(c);
}

static DWORD WINAPI churn_client_thread(void *arg)
{
    int span = CHURN_PORT_COUNT / CHURN_CLIENT_THREADS;
    USHORT first = CHURN_PORT_FIRST + (ULONG_PTR)arg * span, cursor = first;
    LONG id;

    while (!churn->stop && (id = InterlockedIncrement(&churn->next) - 1) < churn->total)
    {
        churn_client(id, &cursor, first);
        InterlockedIncrement(&churn->done);
    }
    return 0;
}

static DWORD WINAPI churn_watch_parent(void *parent)
{
    WaitForSingleObject(parent, INFINITE);
    ExitProcess(3);
}

/* The second process: runs the clients, reports through the mapping, exits 0 when it could. */
static void churn_client_process(const char *name, DWORD parent_id)
{
    HANDLE threads[CHURN_CLIENT_THREADS], parent, map;
    WSADATA data;
    int i;

    if (!(parent = OpenProcess(SYNCHRONIZE, FALSE, parent_id))) ExitProcess(4);
    CloseHandle(CreateThread(NULL, 0, churn_watch_parent, parent, 0, NULL));
    if (!(map = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, name))) ExitProcess(5);
    if (!(churn = MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0))) ExitProcess(6);
    if (WSAStartup(MAKEWORD(2, 2), &data)) ExitProcess(7);
    for (i = 0; i < CHURN_CLIENT_THREADS; i++)
        threads[i] = CreateThread(NULL, 0, churn_client_thread, (void *)(ULONG_PTR)i, 0, NULL);
    WaitForMultipleObjects(CHURN_CLIENT_THREADS, threads, TRUE, INFINITE);
    WSACleanup();
    ExitProcess(0);
}

/* ---- the server process ---- */

static int CALLBACK churn_decision(WSABUF *caller_id, WSABUF *caller_data, QOS *sqos, QOS *gqos,
                                   WSABUF *callee_id, WSABUF *callee_data, GROUP *g, DWORD_PTR data)
{
    unsigned int r = churn_random((unsigned int *)data) % 20;
    const SOCKADDR_STORAGE *peer = (const void *)caller_id->buf;
    int v6 = peer->ss_family == AF_INET6;
    LONG owner = churn->port_owner[v6][ntohs(((const SOCKADDR_IN *)peer)->sin_port)];

    if (r < 10) return CF_ACCEPT;
    if (r < 14) return CF_DEFER;
    if (r < 18)
    {
        if (owner) InterlockedIncrement(&churn->rec[owner - 1].refused);
        else InterlockedIncrement(&churn_strangers);
        return CF_REJECT;
    }
    return r == 18 ? 99 : -1;
}

static void churn_serve(SOCKET s)
{
    LONG id = -1;
    int got = 0, ret;

    set_short_timeouts(s);
    while (got < (int)sizeof(id) && (ret = recv(s, (char *)&id + got, sizeof(id) - got, 0)) > 0) got += ret;
    if (got == sizeof(id) && id >= 0 && id < churn->total)
    {
        InterlockedIncrement(&churn->rec[id].accepted);
        send(s, "ok", 2, 0);
    }
    closesocket(s);
}

/* ERROR of a call on the listener of SLOT, which had GENERATION when the call began. */
static void churn_count_error(int error, BOOL condition, int slot, LONG generation)
{
    BOOL caused = (LONG)(churn_read_slot(slot) >> 32) != generation || churn_restarting;
    unsigned int i;

    for (i = 0; i < ARRAYSIZE(churn_expected_errors); i++)
        if (churn_expected_errors[i] == error) break;
    if (i < ARRAYSIZE(churn_expected_errors)) InterlockedIncrement(&churn_error_counts[i]);
    if (i == ARRAYSIZE(churn_expected_errors) || (!condition && (error == WSAECONNREFUSED || error == WSATRY_AGAIN)))
    {
        InterlockedIncrement(&churn_errors_unexpected);
        InterlockedExchange(&churn_unexpected_last, error);
    }
    /* These come from a listener replaced or a last WSACleanup, and nothing else. */
    else if (!caused && (error == WSAEINTR || error == WSAENOTSOCK || error == WSANOTINITIALISED
                         || error == WSAEWOULDBLOCK || (!condition && error == WSAEINVAL)))
    {
        InterlockedIncrement(&churn_errors_uncaused);
        InterlockedExchange(&churn_uncaused_last, error);
    }
}

/* While the churn thread makes the last WSACleanup and starts again, the servers wait here,
 * so that no socket handle of theirs outlives its socket into the next start. */
static void churn_park(void)
{
    AcquireSRWLockExclusive(&churn_lock);
    churn_parked++;
    WakeAllConditionVariable(&churn_cv);
    while (churn_restarting) SleepConditionVariableSRW(&churn_cv, &churn_lock, INFINITE, 0);
    churn_parked--;
    ReleaseSRWLockExclusive(&churn_lock);
}

static DWORD WINAPI churn_server(void *arg)
{
    unsigned int index = (ULONG_PTR)arg, state = 7919 * (index + 1);
    int slot = index % 2, error;
    BOOL condition = index < 4;
    LONG generation;
    SOCKET s, l;

    for (;;)
    {
        if (churn_restarting) churn_park();
        if (churn_servers_stop) break;
        /* The slot moves to its next generation before its listener is closed. */
        generation = (LONG)(churn_read_slot(slot) >> 32);
        l = churn_listener[slot];
        if (condition) s = WSAAccept(l, NULL, NULL, churn_decision, (DWORD_PTR)&state);
        else s = accept(l, NULL, NULL);
        if (s != INVALID_SOCKET)
        {
            churn_serve(s);
            continue;
        }
        error = WSAGetLastError();
        if (churn_servers_stop) break;
        churn_count_error(error, condition, slot, generation);
        /* A closed listener fails at once until its slot has the new one. */
        if (error == WSAENOTSOCK || error == WSANOTINITIALISED) Sleep(1);
    }
    return 0;
}

/* A listener on the loopback of SLOT's family, and its port; odd generations set
 * SO_CONDITIONAL_ACCEPT, so that clients that give up are reported withdrawn (E4). */
static SOCKET churn_open(int slot, LONG generation, USHORT *port)
{
    int family = slot ? AF_INET6 : AF_INET, len;
    BOOL on = TRUE;
    SOCKADDR_STORAGE addr;
    SOCKET s = socket(family, SOCK_STREAM, IPPROTO_TCP);

    ok(s != INVALID_SOCKET, "socket failed: %d\n", WSAGetLastError());
    if (s == INVALID_SOCKET) return s;
    if (generation & 1) setsockopt(s, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&on, sizeof(on));
    memset(&addr, 0, sizeof(addr));
    addr.ss_family = family;
    if (family == AF_INET) ((SOCKADDR_IN *)&addr)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else ((SOCKADDR_IN6 *)&addr)->sin6_addr = in6addr_loopback;
    len = family == AF_INET ? sizeof(SOCKADDR_IN) : sizeof(SOCKADDR_IN6);
    ok(!bind(s, (struct sockaddr *)&addr, len), "bind failed: %d\n", WSAGetLastError());
    ok(!listen(s, 64), "listen failed: %d\n", WSAGetLastError());
    ok(sockaddr_of(s, &addr) > 0, "getsockname failed: %d\n", WSAGetLastError());
    *port = ntohs(((SOCKADDR_IN *)&addr)->sin_port);
    return s;
}

static int CALLBACK churn_defer(WSABUF *caller_id, WSABUF *caller_data, QOS *sqos, QOS *gqos,
                                WSABUF *callee_id, WSABUF *callee_data, GROUP *g, DWORD_PTR data)
{
    return CF_DEFER;
}

/* Gives SLOT a new listener, then closes the old one under the threads accepting on it.  The
 * old one is first made non-blocking and, when a connection is pending there, left holding
 * it deferred: closing the listener must end it (E5), or its client waits in vain. */
static void churn_replace(int slot)
{
    LONG generation = (LONG)(churn_read_slot(slot) >> 32) + 1;
    SOCKET old = churn_listener[slot], s;
    u_long on = 1;
    USHORT port;

    if ((s = churn_open(slot, generation, &port)) == INVALID_SOCKET) return;
    churn_listener[slot] = s;
    InterlockedExchange64(&churn->listener[slot], (LONG64)generation << 32 | port);
    ok(!ioctlsocket(old, FIONBIO, &on), "ioctlsocket(FIONBIO) failed: %d\n", WSAGetLastError());
    if (WSAAccept(old, NULL, NULL, churn_defer, 0) == INVALID_SOCKET && WSAGetLastError() == WSATRY_AGAIN)
        churn_held++;
    ok(!closesocket(old), "closesocket of a listener failed: %d\n", WSAGetLastError());
    churn_replaced++;
}

static BOOL churn_listening(SOCKET s)
{
    BOOL on = FALSE;
    int len = sizeof(on);

    return !getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, (char *)&on, &len) && on;
}

/* H1: a WSACleanup that is not the last leaves every socket as it was. */
static void churn_pair(void)
{
    WSADATA data;
    int ret;

    ret = WSAStartup(MAKEWORD(2, 2), &data);
    ok(!ret, "an extra WSAStartup failed: %d\n", ret);
    ok(!WSACleanup(), "WSACleanup of the extra reference failed: %d\n", WSAGetLastError());
    ok(churn_listening(churn_listener[0]) && churn_listening(churn_listener[1]),
       "a WSACleanup that was not the last closed a listener\n");
    churn_pairs++;
}

struct churn_checkpoint
{
    DWORD handles;
    ULONGLONG private_bytes;
    ULONGLONG heap;
    LONG64 dll_heap;
};

static struct churn_checkpoint churn_first, churn_latest;

/* H2 mid-flight: the last WSACleanup, with the listeners busy and holding deferred
 * connections, then a new start.  Every other restart takes an extra reference first, so that
 * the cleanup of the run's own reference is not the last and must close nothing. */
static void churn_restart(BOOL extra)
{
    SOCKET old[2] = { churn_listener[0], churn_listener[1] };
    DWORD start;
    WSADATA data;
    USHORT port;
    int ret, slot, parked;

    if (extra)
    {
        ret = WSAStartup(MAKEWORD(2, 2), &data);
        ok(!ret, "the extra WSAStartup failed: %d\n", ret);
        ok(!WSACleanup(), "WSACleanup failed: %d\n", WSAGetLastError());
        ok(churn_listening(old[0]) && churn_listening(old[1]),
           "a WSACleanup that was not the last closed a listener\n");
        Sleep(CHURN_EVENT_MS);
    }

    AcquireSRWLockExclusive(&churn_lock);
    churn_restarting = 1;
    ReleaseSRWLockExclusive(&churn_lock);
    for (slot = 0; slot < 2; slot++)
        InterlockedExchange64(&churn->listener[slot], ((churn_read_slot(slot) >> 32) + 1) << 32);
    InterlockedIncrement(&churn->last_cleanups);
    ok(!WSACleanup(), "the last WSACleanup failed: %d\n", WSAGetLastError());
    ok(WSAAccept(old[0], NULL, NULL, NULL, 0) == INVALID_SOCKET && WSAGetLastError() == WSANOTINITIALISED,
       "WSAAccept after the last WSACleanup: error %d\n", WSAGetLastError());

    /* B4, H2: every accepting thread comes back, its listener gone. */
    start = GetTickCount();
    AcquireSRWLockExclusive(&churn_lock);
    while (churn_parked < CHURN_SERVERS && GetTickCount() - start < 20000)
        SleepConditionVariableSRW(&churn_cv, &churn_lock, 1000, 0);
    parked = churn_parked;
    ReleaseSRWLockExclusive(&churn_lock);
    ok(parked == CHURN_SERVERS, "%d of %d server threads came back after the last WSACleanup\n",
       parked, CHURN_SERVERS);

    ret = WSAStartup(MAKEWORD(2, 2), &data);
    ok(!ret, "WSAStartup after the last WSACleanup failed: %d\n", ret);
    for (slot = 0; slot < 2; slot++)
    {
        ok(!churn_listening(old[slot]) && WSAGetLastError() == WSAENOTSOCK,
           "a listener outlived the last WSACleanup: error %d\n", WSAGetLastError());
    }

    /* Nothing is open on the server side here: the steady state to compare across the run. */
    if (parked == CHURN_SERVERS)
    {
        churn_latest.handles = process_handles();
        churn_latest.private_bytes = process_private_bytes();
        churn_latest.heap = process_heap_in_use();
        churn_latest.dll_heap = dll_heap_bytes;
        if (!churn_restarts) churn_first = churn_latest;
    }

    for (slot = 0; slot < 2; slot++)
    {
        LONG generation = (LONG)(churn_read_slot(slot) >> 32);
        churn_listener[slot] = churn_open(slot, generation, &port);
        InterlockedExchange64(&churn->listener[slot], (LONG64)generation << 32 | port);
    }
    AcquireSRWLockExclusive(&churn_lock);
    churn_restarting = 0;
    WakeAllConditionVariable(&churn_cv);
    ReleaseSRWLockExclusive(&churn_lock);
    churn_restarts++;
}

static DWORD WINAPI churn_events(void *arg)
{
    unsigned int state = 4242, n = 0;
    LONG block = min(CHURN_RESTART_BLOCK, max(churn->total / 2, 1));

    while (!churn_events_stop)
    {
        Sleep(CHURN_EVENT_MS);
        if (churn_events_stop) break;
        /* Without the last WSACleanup for a while: a held connection its closed listener left
         * open would then make its client wait in vain, not be ended by the next restart. */
        if (++n % CHURN_RESTART_EVERY == 0 && churn->done / block % 2 == 0) churn_restart(n / CHURN_RESTART_EVERY % 2);
        else if (n % 4 == 0) churn_pair();
        else churn_replace(churn_random(&state) % 2);
    }
    return 0;
}

static DWORD WINAPI churn_nothing(void *arg)
{
    return 0;
}

static HANDLE churn_start_clients(const char *name)
{
    char path[MAX_PATH], cmdline[MAX_PATH + 128];
    STARTUPINFOA si = { sizeof(si) };
    PROCESS_INFORMATION pi;

    GetModuleFileNameA(NULL, path, sizeof(path));
    snprintf(cmdline, sizeof(cmdline), "\"%s\" stress churn client %s %lu", path, name, GetCurrentProcessId());
    if (!CreateProcessA(path, cmdline, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
    {
        ok(0, "cannot start the client process: %lu\n", GetLastError());
        return NULL;
    }
    CloseHandle(pi.hThread);
    return pi.hProcess;
}

static void test_churn(void)
{
    HANDLE servers[CHURN_SERVERS], events, child, map, thread;
    char name[64], **argv;
    int argc = winetest_get_mainargs(&argv);
    int i, slot, twice = 0, both = 0, wrong = 0, normal = 0, accepted = 0, refused = 0, withdrawn = 0;
    int cut = 0, unfinished = 0, unexplained = 0;
    LONG total;
    DWORD code = 1, started, before_handles, after_handles;
    BOOL counting;
    ULONGLONG before_private, after_private;
    USHORT port;
    SIZE_T size;

    if (argc >= 6 && !strcmp(argv[3], "client"))
    {
        churn_client_process(argv[4], strtoul(argv[5], NULL, 10));
        return;
    }

    total = stress_connections(2000);
    size = FIELD_OFFSET(struct churn_shared, rec[total]);
    snprintf(name, sizeof(name), "ws2_stress_churn_%lu", GetCurrentProcessId());
    map = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, (DWORD)((ULONGLONG)size >> 32),
                             (DWORD)size, name);
    ok(map != NULL, "CreateFileMapping failed: %lu\n", GetLastError());
    if (!map) return;
    churn = MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    ok(churn != NULL, "MapViewOfFile failed: %lu\n", GetLastError());
    if (!churn) return;
    churn->total = total;

    startup();
    /* Wine frees the stack of a thread that ended when the next one ends, so one such stack
     * is left at the end: have one there at the start too. */
    thread = CreateThread(NULL, 0, churn_nothing, NULL, 0, NULL);
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);
    before_handles = process_handles();
    before_private = process_private_bytes();
    counting = count_dll_heap();
    if (!counting) ok(!strcmp(ws2_target, "platform"), "the heap bytes of %s cannot be counted\n", ws2->path);
    started = GetTickCount();
    for (slot = 0; slot < 2; slot++)
    {
        churn_listener[slot] = churn_open(slot, 0, &port);
        InterlockedExchange64(&churn->listener[slot], port);
    }
    for (i = 0; i < CHURN_SERVERS; i++)
        servers[i] = CreateThread(NULL, 0, churn_server, (void *)(ULONG_PTR)i, 0, NULL);
    events = CreateThread(NULL, 0, churn_events, NULL, 0, NULL);
    if (!(child = churn_start_clients(name))) churn->stop = 1;

    /* The clients' time: about four times what they take here, and long in the long run, yet
     * short enough that a stack that strands connections (the platform under Wine) ends the
     * subtest within the runner's time limit; progress now and then. */
    while (child && WaitForSingleObject(child, 10000) == WAIT_TIMEOUT)
    {
        if (GetTickCount() - started > 50000 + (ULONGLONG)total * 4) break;
        trace("%ld of %ld connections after %lu s\n", churn->done, total, (GetTickCount() - started) / 1000);
    }
    if (child)
    {
        if (WaitForSingleObject(child, 0) == WAIT_TIMEOUT)
        {
            ok(0, "the clients did not finish: %ld of %ld done\n", churn->done, total);
            churn->stop = 1;
            if (WaitForSingleObject(child, 30000)) TerminateProcess(child, 1);
        }
        GetExitCodeProcess(child, &code);
        ok(!code, "the client process exited with %lu\n", code);
        CloseHandle(child);
    }

    churn_events_stop = 1;
    ok(!WaitForSingleObject(events, 60000), "the churn thread did not end\n");
    CloseHandle(events);
    churn_servers_stop = 1;
    closesocket(churn_listener[0]);
    closesocket(churn_listener[1]);
    ok(WaitForMultipleObjects(CHURN_SERVERS, servers, TRUE, 20000) == WAIT_OBJECT_0,
       "the server threads did not end\n");
    for (i = 0; i < CHURN_SERVERS; i++) CloseHandle(servers[i]);

    for (i = 0; i < total; i++)
    {
        struct churn_record *rec = &churn->rec[i];
        int ok_rec = TRUE;

        if (rec->accepted > 1 || rec->refused > 1) twice++, ok_rec = FALSE;
        if (rec->accepted && rec->refused) both++, ok_rec = FALSE;
        if (rec->outcome == C_NONE) unfinished++, ok_rec = FALSE;
        else if (rec->kind == NORMAL)
        {
            normal++;
            if (rec->listener_closed || rec->cleaned) cut++;
            if (rec->outcome == C_OK && rec->accepted == 1) accepted++;
            else if (rec->outcome == C_OK) unexplained++, ok_rec = FALSE;
            else if (rec->outcome == C_END && rec->refused == 1) refused++;
            /* The server took it, then the last WSACleanup ended its socket. */
            else if (rec->outcome == C_END && rec->accepted == 1 && rec->cleaned) accepted++;
            else if ((rec->outcome == C_END || rec->outcome == C_NO_CONNECT) && !rec->accepted
                     && (rec->listener_closed || rec->cleaned)) withdrawn++;
            else unexplained++, ok_rec = FALSE;
        }
        if (!ok_rec && wrong++ < 5)
            trace("client %d: kind %d, outcome %d (error %ld), accepted %ld, refused %ld, listener closed %d, "
                  "cleaned %d\n", i, rec->kind, rec->outcome, rec->error, rec->accepted, rec->refused,
                  rec->listener_closed, rec->cleaned);
    }
    trace("%ld connections in %lu s: %d ordinary, %d accepted, %d refused, %d withdrawn (%d in flight "
          "when a listener closed or the last WSACleanup came)\n", total, (GetTickCount() - started) / 1000,
          normal, accepted, refused, withdrawn, cut);
    trace("%ld listeners replaced (%ld holding a deferred connection), %ld WSAStartup/WSACleanup pairs, "
          "%ld last WSACleanups\n", churn_replaced, churn_held, churn_pairs, churn_restarts);
    for (i = 0; i < ARRAYSIZE(churn_expected_errors); i++)
        trace("accept error %d: %ld times\n", churn_expected_errors[i], churn_error_counts[i]);
    ok(!twice, "%d connections were accepted or refused twice\n", twice);
    ok(!both, "%d connections were both accepted and refused\n", both);
    ok(!unfinished, "%d clients did not run to the end\n", unfinished);
    ok(!churn->client_failures, "%ld clients could not make a socket\n", churn->client_failures);
    ok(!unexplained, "%d ordinary connections were neither accepted once, refused once, nor withdrawn\n",
       unexplained);
    ok(!churn_strangers, "the condition function saw %ld connections of no client\n", churn_strangers);
    ok(!churn_errors_unexpected, "accept failed %ld times with unexpected errors, the last %ld\n",
       churn_errors_unexpected, churn_unexpected_last);
    ok(!churn_errors_uncaused, "accept failed %ld times with an error only a closed listener or the last "
       "WSACleanup may cause, when neither had happened; the last %ld\n", churn_errors_uncaused, churn_uncaused_last);
    ok(accepted > 0 && refused > 0, "the mix did not happen: %d accepted, %d refused\n", accepted, refused);
    ok(churn_replaced > 0 && churn_pairs > 0 && churn_restarts > 0,
       "the churn did not happen: %ld listeners replaced, %ld pairs, %ld last WSACleanups\n",
       churn_replaced, churn_pairs, churn_restarts);

    if (churn_restarts > 1)
    {
        trace("between the first and the last restart: handles %lu -> %lu, private bytes %llu -> %llu, "
              "process heap in use %llu -> %llu, the DLL's heap bytes %+lld -> %+lld\n", churn_first.handles,
              churn_latest.handles, churn_first.private_bytes, churn_latest.private_bytes, churn_first.heap,
              churn_latest.heap, churn_first.dll_heap, churn_latest.dll_heap);
        ok(churn_latest.handles <= churn_first.handles + CHURN_HANDLE_SLACK,
           "handles grew from %lu to %lu between restarts\n", churn_first.handles, churn_latest.handles);
        ok(churn_latest.private_bytes <= churn_first.private_bytes + CHURN_RESTART_PRIVATE_SLACK,
           "private bytes grew from %llu to %llu between restarts\n",
           churn_first.private_bytes, churn_latest.private_bytes);
        if (counting)
            ok(churn_latest.dll_heap <= churn_first.dll_heap + CHURN_RESTART_HEAP_SLACK,
               "the DLL's heap bytes grew from %+lld to %+lld between restarts\n", churn_first.dll_heap,
               churn_latest.dll_heap);
        else
            trace("the heap bytes of %s are not counted: it does not import HeapAlloc and HeapFree\n", ws2->path);
    }
    after_handles = process_handles();
    after_private = process_private_bytes();
    trace("from start to end: handles %lu -> %lu, private bytes %llu -> %llu\n",
          before_handles, after_handles, before_private, after_private);
    ok(after_handles <= before_handles + CHURN_HANDLE_SLACK, "handles went from %lu to %lu\n", before_handles, after_handles);
    ok(after_private <= before_private + CHURN_PRIVATE_SLACK, "private bytes went from %llu to %llu\n",
       before_private, after_private);
    cleanup();
    UnmapViewOfFile(churn);
    CloseHandle(map);
}

START_TEST(stress)
{
    if (!ws2_bind()) return;
    subtest("mixed", test_mixed);
    subtest("churn", test_churn);
}
