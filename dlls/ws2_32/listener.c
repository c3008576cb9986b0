/* The state the front keeps per socket: only for sockets it must know about (listeners,
 * and sockets whose blocking mode, readiness registration or SO_CONDITIONAL_ACCEPT the
 * application set).  A small hash of buckets, each with its own lock, so that lookups on
 * different sockets never wait for each other. */

#include "ws2_32_private.h"

/* Handle values are multiples of four and mostly dense: a server with tens of thousands of
 * non-blocking sockets still finds each one in a short chain. */
#define BUCKETS 4096

/* One handle of a socket: a socket with several handles in this process (a duplicate, an
 * inherited copy) has one entry for each, all naming the same state. */
struct entry
{
    struct entry *next;
    SOCKET s;
    struct sockstate *st;
    BOOL refused;       /* a copy the platform's WSAPoll refuses (Wine 8.0: not made here) */
};

struct bucket
{
    SRWLOCK lock;
    struct entry *head;
};

static struct bucket buckets[BUCKETS];

/* Listeners holding a connection (in their queue, or in the server's slot for them): select and
 * WSAPoll look no further while it is 0. */
volatile LONG ws2_listeners_holding;

static struct bucket *bucket_of(SOCKET s)
{
    return &buckets[((ULONG_PTR)s >> 2) % BUCKETS];
}

static struct entry *find(struct bucket *b, SOCKET s)
{
    struct entry *e;

    for (e = b->head; e; e = e->next)
        if (e->s == s) return e;
    return NULL;
}

struct sockstate *sockstate_get(SOCKET s)
{
    struct bucket *b = bucket_of(s);
    struct sockstate *st = NULL;
    struct entry *e;

    AcquireSRWLockShared(&b->lock);
    if ((e = find(b, s)))
    {
        st = e->st;
        InterlockedIncrement(&st->refs);
    }
    ReleaseSRWLockShared(&b->lock);
    return st;
}

/* S is a copy of a socket the platform's own calls refuse (its WSAPoll says POLLNVAL): the
 * front watches nothing through it either. */
void sockstate_set_refused(SOCKET s)
{
    struct bucket *b = bucket_of(s);
    struct entry *e;

    AcquireSRWLockExclusive(&b->lock);
    if ((e = find(b, s))) e->refused = TRUE;
    ReleaseSRWLockExclusive(&b->lock);
}

BOOL sockstate_refused(SOCKET s)
{
    struct bucket *b = bucket_of(s);
    struct entry *e;
    BOOL refused;

    AcquireSRWLockShared(&b->lock);
    refused = (e = find(b, s)) && e->refused;
    ReleaseSRWLockShared(&b->lock);
    return refused;
}

/* Adds S as a handle of ST, unless S has an entry already; the state found is returned with a
 * reference for the caller.  Each entry holds a reference of its own. */
static struct sockstate *add_entry(SOCKET s, struct sockstate *st, struct entry *fresh)
{
    struct bucket *b = bucket_of(s);
    struct sockstate *old = NULL;
    struct entry *e;

    AcquireSRWLockExclusive(&b->lock);
    /* A handle the front knew before as a plain socket (its mode set through it, say) is one
     * more handle of the listener now. */
    if ((e = find(b, s)) && e->st != st && st->listening && !e->st->listening)
    {
        old = e->st;
        InterlockedDecrement(&old->handles);
        e->st = st;
        InterlockedIncrement(&st->refs);
        InterlockedIncrement(&st->handles);
    }
    else if (e) st = e->st;
    else
    {
        fresh->s = s;
        fresh->st = st;
        fresh->refused = FALSE;
        fresh->next = b->head;
        b->head = fresh;
        InterlockedIncrement(&st->refs);
        InterlockedIncrement(&st->handles);
        fresh = NULL;
    }
    InterlockedIncrement(&st->refs);
    ReleaseSRWLockExclusive(&b->lock);
    mem_free(fresh);
    if (old) sockstate_release(old);
    return st;
}

struct sockstate *sockstate_get_or_create(SOCKET s)
{
    struct sockstate *st, *fresh;
    struct entry *e;

    if ((st = sockstate_get(s))) return st;
    if (!(fresh = mem_alloc(sizeof(*fresh)))) return NULL;
    if (!(e = mem_alloc(sizeof(*e))))
    {
        mem_free(fresh);
        return NULL;
    }
    fresh->s = s;
    fresh->refs = 1;
    InitializeSRWLock(&fresh->lock);
    st = add_entry(s, fresh, e);
    sockstate_release(fresh);
    return st;
}

/* S is another handle of the socket whose state is ST (a duplicate, an inherited copy). */
struct sockstate *sockstate_alias(SOCKET s, struct sockstate *st)
{
    struct entry *e = mem_alloc(sizeof(*e));

    return e ? add_entry(s, st, e) : NULL;
}

/* CompareObjectHandles: Windows 10 and Wine have it, older mingw-w64 import libraries not. */
static BOOL (WINAPI *compare_handles)(HANDLE, HANDLE);
static INIT_ONCE compare_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK find_compare(INIT_ONCE *once, void *param, void **context)
{
    HMODULE kernelbase = GetModuleHandleW(L"kernelbase.dll");

    if (kernelbase) compare_handles = (void *)GetProcAddress(kernelbase, "CompareObjectHandles");
    return TRUE;
}

static BOOL same_address(const struct sockstate *st, const SOCKADDR_STORAGE *local)
{
    int len = local->ss_family == AF_INET6 ? sizeof(SOCKADDR_IN6) : sizeof(SOCKADDR_IN);

    return st->family == local->ss_family && !memcmp(&st->local, local, len);
}

/* The state of the listening socket that S is another handle of, if the front knows it.  Only
 * listeners bound where S is are compared: a server request each. */
static struct sockstate *find_same_socket(SOCKET s, const SOCKADDR_STORAGE *local)
{
    struct sockstate *found = NULL;
    unsigned int i;

    InitOnceExecuteOnce(&compare_once, find_compare, NULL, NULL);
    if (!compare_handles) return NULL;
    for (i = 0; i < BUCKETS && !found; i++)
    {
        struct entry *e;
        AcquireSRWLockShared(&buckets[i].lock);
        for (e = buckets[i].head; e && !found; e = e->next)
        {
            if (e->s == s || !e->st->listening || e->st->closed || !same_address(e->st, local)) continue;
            if (compare_handles((HANDLE)e->s, (HANDLE)s))
            {
                found = e->st;
                InterlockedIncrement(&found->refs);
            }
        }
        ReleaseSRWLockShared(&buckets[i].lock);
    }
    return found;
}

/* The state of the listener S is another handle of, if the front knows it: S's too from now. */
struct sockstate *sockstate_same_socket(SOCKET s)
{
    SOCKADDR_STORAGE local;
    int len = sizeof(local);
    struct sockstate *st, *alias = NULL;

    if (PLATFORM(getsockname)(s, (struct sockaddr *)&local, &len) || !(st = find_same_socket(s, &local)))
        return NULL;
    alias = sockstate_alias(s, st);
    sockstate_release(st);
    if (alias && (!alias->listening || alias->closed))
    {
        sockstate_release(alias);
        alias = NULL;
    }
    return alias;
}

/* Takes S's entry out of the table, and with it the entry's reference. */
static void remove_entry(SOCKET s, struct sockstate *st)
{
    struct bucket *b = bucket_of(s);
    struct entry **p, *e = NULL;

    AcquireSRWLockExclusive(&b->lock);
    for (p = &b->head; *p; p = &(*p)->next)
    {
        if ((*p)->s == s && (*p)->st == st)
        {
            e = *p;
            *p = e->next;
            break;
        }
    }
    ReleaseSRWLockExclusive(&b->lock);
    if (!e) return;
    mem_free(e);
    sockstate_release(st);
}

/* Before S is closed: when the socket has other handles here, S's entry goes and the socket
 * lives on (TRUE); the platform calls of the state use one of the others from now on. */
BOOL sockstate_drop_handle(struct sockstate *st, SOCKET s)
{
    SOCKET other = INVALID_SOCKET;
    unsigned int i;

    AcquireSRWLockExclusive(&st->lock);
    if (st->handles > 1 && !st->closed)
    {
        for (i = 0; i < BUCKETS && other == INVALID_SOCKET; i++)
        {
            struct entry *e;
            AcquireSRWLockShared(&buckets[i].lock);
            for (e = buckets[i].head; e; e = e->next)
                if (e->st == st && e->s != s) other = e->s;
            ReleaseSRWLockShared(&buckets[i].lock);
        }
    }
    if (other != INVALID_SOCKET)
    {
        InterlockedDecrement(&st->handles);
        if (st->s == s) st->s = other;
    }
    ReleaseSRWLockExclusive(&st->lock);
    if (other == INVALID_SOCKET) return FALSE;
    remove_entry(s, st);
    return TRUE;
}

/* Takes S's entry out of the table once its socket is closed. */
void sockstate_remove(SOCKET s)
{
    struct sockstate *st = sockstate_get(s);

    if (!st) return;
    if (st->closed) remove_entry(s, st);
    sockstate_release(st);
}

void sockstate_release(struct sockstate *st)
{
    if (InterlockedDecrement(&st->refs)) return;
    if (st->ready) CloseHandle(st->ready);
    mem_free(st);
}

/* The queue of what is held: a select or WSAPoll waiting in the platform is told of a new one. */
void held_push_front(struct sockstate *st, struct held_conn *conn)
{
    if (!st->held) InterlockedIncrement(&ws2_listeners_holding);
    conn->next = st->held;
    st->held = conn;
    wake_waiters();
}

void held_push_back(struct sockstate *st, struct held_conn *conn)
{
    struct held_conn **tail = &st->held;

    if (!st->held) InterlockedIncrement(&ws2_listeners_holding);
    while (*tail) tail = &(*tail)->next;
    conn->next = NULL;
    *tail = conn;
    wake_waiters();
}

struct held_conn *held_pop(struct sockstate *st)
{
    struct held_conn *conn = st->held;

    if (!conn) return NULL;
    st->held = conn->next;
    if (!st->held) InterlockedDecrement(&ws2_listeners_holding);
    return conn;
}

/* Closes a connection the application never got: abortively (a reset) when it was refused. */
void held_close(struct held_conn *conn, BOOL abort)
{
    if (abort)
    {
        LINGER linger = { 1, 0 };
        PLATFORM(setsockopt)(conn->s, SOL_SOCKET, SO_LINGER, (char *)&linger, sizeof(linger));
    }
    PLATFORM(closesocket)(conn->s);
    mem_free(conn);
}

/* Lets go of the front's handle of a connection the server holds now; after the last
 * WSACleanup the platform closed it already. */
void held_release(struct held_conn *conn)
{
    if (platform_calls_begin())
    {
        PLATFORM(closesocket)(conn->s);
        platform_calls_end();
    }
    mem_free(conn);
}

/* Marks a state closed, wakes its waiters and closes what it held (the peers see an orderly
 * end).  Consumes a reference: the caller's, or the table's once it is removed. */
void sockstate_close(struct sockstate *st)
{
    struct held_conn *conn, *list = NULL;

    AcquireSRWLockExclusive(&st->lock);
    st->closed = TRUE;
    /* What the server holds goes with the socket's last handle. */
    forget_server_deferral(st);
    while ((conn = held_pop(st)))
    {
        conn->next = list;
        list = conn;
    }
    ReleaseSRWLockExclusive(&st->lock);
    if (st->ready) SetEvent(st->ready);
    if (st->wine_accept) wine_accept_drain(st);
    while ((conn = list))
    {
        list = conn->next;
        held_close(conn, FALSE);
    }
    sockstate_release(st);
}

/* The last WSACleanup: every state goes, with what it held. */
void sockstate_close_all(void)
{
    unsigned int i;

    for (i = 0; i < BUCKETS; i++)
    {
        struct bucket *b = &buckets[i];
        struct entry *e;

        AcquireSRWLockExclusive(&b->lock);
        e = b->head;
        b->head = NULL;
        ReleaseSRWLockExclusive(&b->lock);
        while (e)
        {
            struct entry *next = e->next;
            struct sockstate *st = e->st;
            mem_free(e);
            if (!InterlockedDecrement(&st->handles)) sockstate_close(st);
            else sockstate_release(st);
            e = next;
        }
    }
}

/* Tells the application's registration about a connection the front holds (FD_ACCEPT). */
void notify_fd_accept(struct sockstate *st)
{
    if (!sockstate_holds(st) || !(st->app_mask & FD_ACCEPT)) return;
    if (st->app_event)
    {
        st->fd_accept_owed = TRUE;
        SetEvent(st->app_event);
    }
    else if (st->app_hwnd)
        PostMessageW(st->app_hwnd, st->app_msg, (WPARAM)st->s, WSAMAKESELECTREPLY(FD_ACCEPT, 0));
}

/* The socket's type, or the error that shows it is no socket. */
int socket_type(SOCKET s, int *type)
{
    int len = sizeof(*type);

    if (!PLATFORM(getsockopt)(s, SOL_SOCKET, SO_TYPE, (char *)type, &len)) return 0;
    return GetLastError();
}

/* The error of a platform call on S that failed: WSAENOTSOCK when S is no socket, since Wine
 * answers some handles (a pipe, a file) with other codes.  Wine 8.0's getsockopt refuses a
 * socket its ws2_32 did not make here (an inherited or DuplicateHandle copy): the server
 * tells whether it is one. */
int platform_error(SOCKET s)
{
    int type, error = GetLastError();
    BOOL listening;

    if (error != WSAENOTSOCK && socket_type(s, &type) == WSAENOTSOCK && wine_afd_socket_info(s, &type, &listening))
        error = WSAENOTSOCK;
    return error;
}
