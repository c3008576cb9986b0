/* The state the front keeps per socket: only for sockets it must know about (listeners,
 * and sockets whose blocking mode, readiness registration or SO_CONDITIONAL_ACCEPT the
 * application set).  A small hash of buckets, each with its own lock, so that lookups on
 * different sockets never wait for each other. */

#include "ws2_32_private.h"

/* Handle values are multiples of four and mostly dense: a server with tens of thousands of
 * non-blocking sockets still finds each one in a short chain. */
#define BUCKETS 4096

struct bucket
{
    SRWLOCK lock;
    struct sockstate *head;
};

static struct bucket buckets[BUCKETS];

/* Listeners whose held queue is not empty: select and WSAPoll look no further while it is 0. */
volatile LONG ws2_listeners_holding;

static struct bucket *bucket_of(SOCKET s)
{
    return &buckets[((ULONG_PTR)s >> 2) % BUCKETS];
}

static struct sockstate *find(struct bucket *b, SOCKET s)
{
    struct sockstate *st;

    for (st = b->head; st; st = st->next)
        if (st->s == s) return st;
    return NULL;
}

struct sockstate *sockstate_get(SOCKET s)
{
    struct bucket *b = bucket_of(s);
    struct sockstate *st;

    AcquireSRWLockShared(&b->lock);
    if ((st = find(b, s))) InterlockedIncrement(&st->refs);
    ReleaseSRWLockShared(&b->lock);
    return st;
}

struct sockstate *sockstate_get_or_create(SOCKET s)
{
    struct bucket *b = bucket_of(s);
    struct sockstate *st, *fresh;

    if ((st = sockstate_get(s))) return st;
    if (!(fresh = mem_alloc(sizeof(*fresh)))) return NULL;
    fresh->s = s;
    fresh->refs = 2; /* the table's and the caller's */
    InitializeSRWLock(&fresh->lock);

    AcquireSRWLockExclusive(&b->lock);
    if ((st = find(b, s))) InterlockedIncrement(&st->refs);
    else
    {
        fresh->next = b->head;
        b->head = st = fresh;
        fresh = NULL;
    }
    ReleaseSRWLockExclusive(&b->lock);
    mem_free(fresh);
    return st;
}

/* Takes S's state out of the table once it is closed; the caller gets the table's reference. */
struct sockstate *sockstate_remove(SOCKET s)
{
    struct bucket *b = bucket_of(s);
    struct sockstate **p, *st = NULL;

    AcquireSRWLockExclusive(&b->lock);
    for (p = &b->head; *p; p = &(*p)->next)
    {
        if ((*p)->s == s && (*p)->closed)
        {
            st = *p;
            *p = st->next;
            break;
        }
    }
    ReleaseSRWLockExclusive(&b->lock);
    return st;
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

/* Marks a state closed, wakes its waiters and closes what it held (the peers see an orderly
 * end).  Consumes a reference: the caller's, or the table's once it is removed. */
void sockstate_close(struct sockstate *st)
{
    struct held_conn *conn, *list = NULL;

    AcquireSRWLockExclusive(&st->lock);
    st->closed = TRUE;
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

void sockstate_close_all(void)
{
    unsigned int i;

    for (i = 0; i < BUCKETS; i++)
    {
        struct bucket *b = &buckets[i];
        struct sockstate *st;

        AcquireSRWLockExclusive(&b->lock);
        st = b->head;
        b->head = NULL;
        ReleaseSRWLockExclusive(&b->lock);
        while (st)
        {
            struct sockstate *next = st->next;
            sockstate_close(st);
            st = next;
        }
    }
}

/* Tells the application's registration about a connection the front holds (FD_ACCEPT). */
void notify_fd_accept(struct sockstate *st)
{
    if (!st->held || !(st->app_mask & FD_ACCEPT)) return;
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
 * answers some handles (a pipe, a file) with other codes. */
int platform_error(SOCKET s)
{
    int type, error = GetLastError();

    if (error != WSAENOTSOCK && socket_type(s, &type) == WSAENOTSOCK) error = WSAENOTSOCK;
    return error;
}
