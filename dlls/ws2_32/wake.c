/* Waking a platform select or WSAPoll that watches a listener.  The platform sees its own
 * queue only: when another thread defers a connection (E1, I2), the listener becomes readable
 * without the platform knowing.  So each thread that waits so has a datagram socket of its own
 * on loopback, which the platform watches too, and the front sends it a byte.  It costs one
 * socket per such thread, made on its first wait; a wait nobody wakes costs nothing more. */

#include "ws2_32_private.h"

struct waker
{
    struct waker *next;         /* all wakers */
    struct waker *next_waiting;
    SOCKET s;                   /* INVALID_SOCKET once the last WSACleanup closed it */
    SOCKADDR_IN addr;
    BOOL waiting;
    BOOL signalled;
};

static SRWLOCK wakers_lock = SRWLOCK_INIT;
static struct waker *wakers, *waiting;
static volatile LONG waiting_count;
static DWORD tls_index = TLS_OUT_OF_INDEXES;

void wake_process_attach(void)
{
    tls_index = TlsAlloc();
}

/* A non-blocking datagram socket bound to loopback, sending to itself. */
static SOCKET waker_socket(SOCKADDR_IN *addr)
{
    int len = sizeof(*addr);
    u_long on = 1;
    SOCKET s = PLATFORM(socket)(AF_INET, SOCK_DGRAM, IPPROTO_UDP);

    if (s == INVALID_SOCKET) return s;
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (PLATFORM(bind)(s, (struct sockaddr *)addr, sizeof(*addr)) ||
        PLATFORM(getsockname)(s, (struct sockaddr *)addr, &len) ||
        PLATFORM(ioctlsocket)(s, FIONBIO, &on))
    {
        PLATFORM(closesocket)(s);
        return INVALID_SOCKET;
    }
    return s;
}

/* The thread's waker, made or remade if need be. */
static struct waker *thread_waker(void)
{
    struct waker *w;

    if (tls_index == TLS_OUT_OF_INDEXES) return NULL;
    if (!(w = TlsGetValue(tls_index)))
    {
        if (!(w = mem_alloc(sizeof(*w)))) return NULL;
        w->s = INVALID_SOCKET;
        AcquireSRWLockExclusive(&wakers_lock);
        w->next = wakers;
        wakers = w;
        ReleaseSRWLockExclusive(&wakers_lock);
        TlsSetValue(tls_index, w);
    }
    if (w->s == INVALID_SOCKET && platform_calls_begin())
    {
        SOCKADDR_IN addr;
        SOCKET s = waker_socket(&addr);
        AcquireSRWLockExclusive(&wakers_lock);
        w->s = s;
        w->addr = addr;
        ReleaseSRWLockExclusive(&wakers_lock);
        platform_calls_end();
    }
    return w->s == INVALID_SOCKET ? NULL : w;
}

/* Before the caller looks at what the front holds: a deferral after this wakes its wait.
 * The socket to watch, or INVALID_SOCKET when the thread has none. */
SOCKET wake_begin(struct waker **out)
{
    struct waker *w = thread_waker();

    *out = w;
    if (!w) return INVALID_SOCKET;
    AcquireSRWLockExclusive(&wakers_lock);
    w->waiting = TRUE;
    w->signalled = FALSE;
    w->next_waiting = waiting;
    waiting = w;
    InterlockedIncrement(&waiting_count);
    ReleaseSRWLockExclusive(&wakers_lock);
    return w->s;
}

/* After the wait: takes the byte it was sent, if any. */
void wake_end(struct waker *w, BOOL readable)
{
    struct waker **p;
    SOCKET s;
    char byte;

    if (!w) return;
    AcquireSRWLockExclusive(&wakers_lock);
    for (p = &waiting; *p; p = &(*p)->next_waiting)
    {
        if (*p != w) continue;
        *p = w->next_waiting;
        InterlockedDecrement(&waiting_count);
        break;
    }
    w->waiting = FALSE;
    if (w->signalled) readable = TRUE;
    s = w->s;
    ReleaseSRWLockExclusive(&wakers_lock);
    if (readable && s != INVALID_SOCKET && platform_calls_begin())
    {
        while (PLATFORM(recv)(s, &byte, 1, 0) >= 0)
            ;
        platform_calls_end();
    }
}

/* A listener came to hold a connection: every waiting select and WSAPoll looks again. */
void wake_waiters(void)
{
    struct waker *w;
    char byte = 0;

    if (!waiting_count) return;
    AcquireSRWLockExclusive(&wakers_lock);
    for (w = waiting; w; w = w->next_waiting)
    {
        if (w->signalled || w->s == INVALID_SOCKET) continue;
        w->signalled = TRUE;
        PLATFORM(sendto)(w->s, &byte, 1, 0, (struct sockaddr *)&w->addr, sizeof(w->addr));
    }
    ReleaseSRWLockExclusive(&wakers_lock);
}

/* The last WSACleanup: the wakers' sockets go with every other socket. */
void wake_cleanup(void)
{
    struct waker *w;

    AcquireSRWLockExclusive(&wakers_lock);
    for (w = wakers; w; w = w->next)
    {
        if (w->s != INVALID_SOCKET) PLATFORM(closesocket)(w->s);
        w->s = INVALID_SOCKET;
    }
    ReleaseSRWLockExclusive(&wakers_lock);
}

void wake_thread_detach(void)
{
    struct waker **p, *w;

    if (tls_index == TLS_OUT_OF_INDEXES || !(w = TlsGetValue(tls_index))) return;
    TlsSetValue(tls_index, NULL);
    AcquireSRWLockExclusive(&wakers_lock);
    for (p = &wakers; *p; p = &(*p)->next)
    {
        if (*p != w) continue;
        *p = w->next;
        break;
    }
    if (w->s != INVALID_SOCKET) PLATFORM(closesocket)(w->s);
    ReleaseSRWLockExclusive(&wakers_lock);
    mem_free(w);
}
