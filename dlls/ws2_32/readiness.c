/* Readiness of listeners that hold a connection (E1, E2): select and WSAPoll report them
 * readable, FD_ACCEPT reaches the application's registration.  While no listener holds
 * anything, each call goes straight to the platform. */

#include "ws2_32_private.h"

static BOOL holds_connection(SOCKET s)
{
    struct sockstate *st = sockstate_get(s);
    BOOL ret = FALSE;

    if (st)
    {
        ret = sockstate_holds(st);
        sockstate_release(st);
    }
    return ret;
}

static BOOL fd_in(const fd_set *set, SOCKET s)
{
    u_int i;

    for (i = 0; i < set->fd_count; i++)
        if (set->fd_array[i] == s) return TRUE;
    return FALSE;
}

static BOOL is_listener(SOCKET s)
{
    struct sockstate *st = sockstate_get(s);
    BOOL ret = FALSE;

    if (st)
    {
        ret = st->listening && !st->closed;
        sockstate_release(st);
    }
    return ret;
}

/* More sockets than any set or poll array has; sizes up to it, and one more, fit a 32-bit SIZE_T. */
#define MAX_ENTRIES 0x10000000

/* A set select may read and write: all of the fd_count entries it claims, however many. */
static BOOL set_usable(const fd_set *set)
{
    if (!set) return TRUE;
    if (!mem_writable(set, sizeof(set->fd_count))) return FALSE;
    if (set->fd_count > MAX_ENTRIES) return FALSE;
    return mem_writable(set, FIELD_OFFSET(fd_set, fd_array[set->fd_count]));
}

/* Sets of up to SMALL_SET entries are copied on the stack.  A program built with a larger
 * FD_SETSIZE than this DLL (Python uses 512, 1024 is common) passes larger ones: those are
 * allocated, never cut to this DLL's own FD_SETSIZE. */
#define SMALL_SET 64

/* Room for a set of ENTRIES sockets: on the stack when small, else allocated.  One more
 * than SMALL_SET fits, for a thread's waker beside a set of this DLL's FD_SETSIZE. */
struct set_room
{
    fd_set *set;
    struct
    {
        u_int fd_count;
        SOCKET fd_array[SMALL_SET + 1];
    } small;
};

static BOOL room_get(struct set_room *room, u_int entries)
{
    if (entries <= ARRAYSIZE(room->small.fd_array)) room->set = (fd_set *)&room->small;
    else room->set = mem_alloc(FIELD_OFFSET(fd_set, fd_array[entries]));
    return room->set != NULL;
}

static void room_put(struct set_room *room)
{
    if (room->set && room->set != (fd_set *)&room->small) mem_free(room->set);
    room->set = NULL;
}

static void copy_set(fd_set *to, const fd_set *from)
{
    memcpy(to, from, FIELD_OFFSET(fd_set, fd_array[from->fd_count]));
}

/* The sets as the application gave them: each look of a wait starts from them again. */
struct given_sets
{
    fd_set *app[3];
    struct set_room copy[3];
};

static void given_free(struct given_sets *given)
{
    int i;

    for (i = 0; i < 3; i++) room_put(&given->copy[i]);
}

static BOOL given_save(struct given_sets *given, fd_set *readfds, fd_set *writefds, fd_set *exceptfds)
{
    int i;

    given->app[0] = readfds;
    given->app[1] = writefds;
    given->app[2] = exceptfds;
    for (i = 0; i < 3; i++) given->copy[i].set = NULL;
    for (i = 0; i < 3; i++)
    {
        if (!given->app[i]) continue;
        if (!room_get(&given->copy[i], given->app[i]->fd_count))
        {
            given_free(given);
            return FALSE;
        }
        copy_set(given->copy[i].set, given->app[i]);
    }
    return TRUE;
}

static void given_restore(const struct given_sets *given)
{
    int i;

    for (i = 0; i < 3; i++)
        if (given->app[i]) copy_set(given->app[i], given->copy[i].set);
}

/* Wine answers a set member that is a file or a pipe with WSAEOPNOTSUPP, a code select's
 * page does not have: the member is no socket. */
static int platform_select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                           WS2_SELECT_TIMEOUT timeout)
{
    int ret = PLATFORM(select)(nfds, readfds, writefds, exceptfds, timeout);

    if (ret == SOCKET_ERROR && GetLastError() == WSAEOPNOTSUPP) SetLastError(WSAENOTSOCK);
    return ret;
}

/* Something is ready already: the platform only tells what else is.  The listeners that
 * hold were entries of the read set, so it keeps within the fd_count it was given. */
static int select_holding(fd_set *readfds, fd_set *writefds, fd_set *exceptfds, const fd_set *holding)
{
    struct timeval no_wait = { 0, 0 };
    u_int i, given = readfds->fd_count;
    int ret;

    if ((ret = platform_select(0, readfds, writefds, exceptfds, &no_wait)) == SOCKET_ERROR) return ret;
    for (i = 0; i < holding->fd_count; i++)
    {
        if (fd_in(readfds, holding->fd_array[i]) || readfds->fd_count >= given) continue;
        readfds->fd_array[readfds->fd_count++] = holding->fd_array[i];
        ret++;
    }
    return ret;
}

/* Unless a listener holds a connection, this is the platform's select as it is. */
static int select_once(fd_set *readfds, fd_set *writefds, fd_set *exceptfds, WS2_SELECT_TIMEOUT timeout)
{
    struct set_room holding;
    u_int i;
    int ret;

    if (!ws2_listeners_holding) return platform_select(0, readfds, writefds, exceptfds, timeout);
    /* select's page names WSAEFAULT for resources it cannot allocate. */
    if (!room_get(&holding, readfds->fd_count)) return fail_int(WSAEFAULT);
    holding.set->fd_count = 0;
    for (i = 0; i < readfds->fd_count; i++)
        if (holds_connection(readfds->fd_array[i])) holding.set->fd_array[holding.set->fd_count++] = readfds->fd_array[i];
    if (holding.set->fd_count) ret = select_holding(readfds, writefds, exceptfds, holding.set);
    else ret = platform_select(0, readfds, writefds, exceptfds, timeout);
    room_put(&holding);
    return ret;
}

/* A timeout in milliseconds: -1 for none (wait forever), -2 for one the platform refuses. */
static LONGLONG timeval_ms(const struct timeval *tv)
{
    if (!tv) return -1;
    if (!mem_readable(tv, sizeof(*tv)) || tv->tv_sec < 0 || tv->tv_usec < 0) return -2;
    return (LONGLONG)tv->tv_sec * 1000 + tv->tv_usec / 1000;
}

/* What is left of a wait of WAIT_MS begun at START, at most one slice; *LAST when it ends. */
static int next_slice(LONGLONG wait_ms, ULONGLONG start, BOOL *last)
{
    LONGLONG left = wait_ms - (LONGLONG)(GetTickCount64() - start);

    *last = wait_ms >= 0 && left <= LOOK_AGAIN_MS;
    if (wait_ms < 0 || left > LOOK_AGAIN_MS) return LOOK_AGAIN_MS;
    return left > 0 ? (int)left : 0;
}

/* A wait that watches a listener of ours for connections. */
static BOOL select_watches_listener(const fd_set *readfds, LONGLONG wait_ms)
{
    u_int i;

    if (!wait_ms) return FALSE;
    for (i = 0; i < readfds->fd_count; i++)
        if (is_listener(readfds->fd_array[i])) return TRUE;
    return FALSE;
}

static BOOL set_holds(const fd_set *readfds)
{
    u_int i;

    if (!ws2_listeners_holding) return FALSE;
    for (i = 0; i < readfds->fd_count; i++)
        if (holds_connection(readfds->fd_array[i])) return TRUE;
    return FALSE;
}

/* What is left of a wait of WAIT_MS (-1: none) begun at START. */
static LONGLONG time_left(LONGLONG wait_ms, ULONGLONG start)
{
    LONGLONG left = wait_ms - (LONGLONG)(GetTickCount64() - start);

    if (wait_ms < 0) return -1;
    return left > 0 ? left : 0;
}

/* The platform waits, watching the thread's waker W (socket WS) too, in WATCH: the read set
 * with room for one more.  A connection deferred by another thread wakes it, and the front
 * looks again.  Nothing else ends the wait early. */
static int select_woken(fd_set *readfds, fd_set *writefds, fd_set *exceptfds, LONGLONG wait_ms,
                        const struct given_sets *given, fd_set *watch, struct waker *w, SOCKET ws)
{
    struct timeval no_wait = { 0, 0 };
    ULONGLONG start = GetTickCount64();
    BOOL woken;
    u_int i;
    int ret;

    for (;;)
    {
        LONGLONG left = time_left(wait_ms, start);
        struct timeval tv = { (long)(left / 1000), (long)(left % 1000) * 1000 };

        if (set_holds(readfds))
        {
            wake_end(w, FALSE);
            return select_once(readfds, writefds, exceptfds, &no_wait);
        }
        copy_set(watch, readfds);
        watch->fd_array[watch->fd_count++] = ws;
        ret = platform_select(0, watch, writefds, exceptfds, left < 0 ? NULL : &tv);
        woken = ret > 0 && fd_in(watch, ws);
        wake_end(w, woken);
        if (ret == SOCKET_ERROR) return ret;
        readfds->fd_count = 0;
        for (i = 0; i < watch->fd_count; i++)
            if (watch->fd_array[i] != ws) readfds->fd_array[readfds->fd_count++] = watch->fd_array[i];
        if (!woken || --ret || !left) return ret;

        /* Only the waker: the sets as given, and look again. */
        given_restore(given);
        if ((ws = wake_begin(&w)) == INVALID_SOCKET)
        {
            left = time_left(wait_ms, start);
            tv.tv_sec = (long)(left / 1000);
            tv.tv_usec = (long)(left % 1000) * 1000;
            return select_once(readfds, writefds, exceptfds, left < 0 ? NULL : &tv);
        }
    }
}

/* A wait that watches a listener of ours, from the sets as GIVEN. */
static int select_waiting(fd_set *readfds, fd_set *writefds, fd_set *exceptfds, LONGLONG wait_ms,
                          const struct given_sets *given)
{
    ULONGLONG start;
    BOOL last;
    int ret;

    /* A listener can come to hold a connection while the platform waits (another thread took
     * it and deferred it): the thread's waker tells, when the read set is a set of its own. */
    if (readfds != writefds && readfds != exceptfds)
    {
        struct set_room watch;
        struct waker *w;
        SOCKET ws;

        if (!room_get(&watch, readfds->fd_count + 1)) return fail_int(WSAEFAULT);
        ws = wake_begin(&w);
        if (ws != INVALID_SOCKET) ret = select_woken(readfds, writefds, exceptfds, wait_ms, given, watch.set, w, ws);
        room_put(&watch);
        if (ws != INVALID_SOCKET) return ret;
    }

    /* Else look again every LOOK_AGAIN_MS. */
    start = GetTickCount64();
    do
    {
        struct timeval slice = { 0, next_slice(wait_ms, start, &last) * 1000 };

        given_restore(given);
        ret = select_once(readfds, writefds, exceptfds, &slice);
    } while (!ret && !last);
    return ret;
}

int WSAAPI select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, WS2_SELECT_TIMEOUT timeout)
{
    struct given_sets given;
    LONGLONG wait_ms;
    int ret, error = front_entry();

    if (error) return fail_int(error);
    /* Wine reads and writes the sets and the timeout unchecked: a bad one must not crash. */
    if (!set_usable(readfds) || !set_usable(writefds) || !set_usable(exceptfds) ||
        (timeout && !mem_readable(timeout, sizeof(*timeout))))
        return fail_int(WSAEFAULT);
    if (!readfds || (wait_ms = timeval_ms(timeout)) == -2)
        return platform_select(nfds, readfds, writefds, exceptfds, timeout);
    if (!select_watches_listener(readfds, wait_ms)) return select_once(readfds, writefds, exceptfds, timeout);
    if (!given_save(&given, readfds, writefds, exceptfds)) return fail_int(WSAEFAULT);
    ret = select_waiting(readfds, writefds, exceptfds, wait_ms, &given);
    given_free(&given);
    return ret;
}

static int poll_once(WSAPOLLFD *fds, ULONG count, INT timeout)
{
    BOOL any = FALSE;
    ULONG i;
    int ret;

    for (i = 0; i < count && !any; i++)
        any = (fds[i].events & POLLRDNORM) && holds_connection(fds[i].fd);
    if (!any) return PLATFORM(WSAPoll)(fds, count, timeout);

    if ((ret = PLATFORM(WSAPoll)(fds, count, 0)) == SOCKET_ERROR) return ret;
    for (i = 0; i < count; i++)
    {
        /* A handle the platform refuses stays refused, as it is without the front. */
        if (!(fds[i].events & POLLRDNORM) || (fds[i].revents & POLLNVAL) || !holds_connection(fds[i].fd)) continue;
        if (!fds[i].revents) ret++;
        fds[i].revents |= POLLRDNORM;
    }
    return ret;
}

static BOOL poll_watches_listener(const WSAPOLLFD *fds, ULONG count, INT timeout)
{
    ULONG i;

    if (!timeout) return FALSE;
    for (i = 0; i < count; i++)
        if ((fds[i].events & POLLRDNORM) && is_listener(fds[i].fd) && !sockstate_refused(fds[i].fd)) return TRUE;
    return FALSE;
}

static BOOL poll_holds(const WSAPOLLFD *fds, ULONG count)
{
    ULONG i;

    if (!ws2_listeners_holding) return FALSE;
    for (i = 0; i < count; i++)
        if ((fds[i].events & POLLRDNORM) && holds_connection(fds[i].fd)) return TRUE;
    return FALSE;
}

/* As select_woken: the platform watches the thread's waker too, in a copy of the array. */
static int poll_woken(WSAPOLLFD *fds, ULONG count, INT timeout, WSAPOLLFD *watch, struct waker *w, SOCKET ws)
{
    ULONGLONG start = GetTickCount64();
    BOOL woken;
    ULONG i;
    int ret;

    for (;;)
    {
        LONGLONG left = time_left(timeout, start);

        if (poll_holds(fds, count))
        {
            wake_end(w, FALSE);
            return poll_once(fds, count, 0);
        }
        memcpy(watch, fds, count * sizeof(*fds));
        watch[count].fd = ws;
        watch[count].events = POLLRDNORM;
        watch[count].revents = 0;
        ret = PLATFORM(WSAPoll)(watch, count + 1, (INT)left);
        woken = ret > 0 && watch[count].revents;
        wake_end(w, woken);
        if (ret == SOCKET_ERROR) return ret;
        for (i = 0; i < count; i++) fds[i].revents = watch[i].revents;
        if (!woken || --ret || !left) return ret;
        if ((ws = wake_begin(&w)) == INVALID_SOCKET) return poll_once(fds, count, (INT)time_left(timeout, start));
    }
}

int WSAAPI WSAPoll(WSAPOLLFD *fds, ULONG count, INT timeout)
{
    ULONGLONG start;
    BOOL last;
    int ret, error = front_entry();

    if (error) return fail_int(error);
    if (!count) return PLATFORM(WSAPoll)(fds, count, timeout);
    /* Wine reads and writes the array unchecked: a bad one must not crash. */
    if (count > MAX_ENTRIES || !mem_writable(fds, count * sizeof(*fds))) return fail_int(WSAEFAULT);
    if (!poll_watches_listener(fds, count, timeout))
        return ws2_listeners_holding ? poll_once(fds, count, timeout) : PLATFORM(WSAPoll)(fds, count, timeout);

    /* As select: a listener of ours may come to hold a connection while the platform waits,
     * and the thread's waker tells, in a copy of the array with room for it. */
    {
        WSAPOLLFD small[SMALL_SET + 1], *watch = small;
        struct waker *w;
        SOCKET ws;

        /* WSAPoll's page names WSAENOBUFS for memory it cannot allocate. */
        if (count >= ARRAYSIZE(small) && !(watch = mem_alloc((count + 1) * sizeof(*watch))))
            return fail_int(WSAENOBUFS);
        ws = wake_begin(&w);
        if (ws != INVALID_SOCKET) ret = poll_woken(fds, count, timeout, watch, w, ws);
        if (watch != small) mem_free(watch);
        if (ws != INVALID_SOCKET) return ret;
    }
    start = GetTickCount64();
    do ret = poll_once(fds, count, next_slice(timeout, start, &last));
    while (!ret && !last);
    return ret;
}

/* Records the application's registration; it replaces the front's own, and waiters look
 * again (the socket is non-blocking now). */
static void record_registration(struct sockstate *st, WSAEVENT event, HWND hwnd, UINT msg, LONG mask)
{
    st->app_event = event;
    st->app_hwnd = hwnd;
    st->app_msg = msg;
    st->app_mask = mask;
    st->app_nonblocking = TRUE;
    /* The platform makes a socket non-blocking when it registers it. */
    if (st->platform_blocking) st->mode_changes++;
    st->platform_blocking = FALSE;
    st->private_reg = FALSE;
    st->fd_accept_owed = FALSE;
    if (st->listening) listener_wake(st);
    notify_fd_accept(st);
}

static int platform_register(SOCKET s, BOOL async, WSAEVENT event, HWND hwnd, UINT msg, LONG mask)
{
    return async ? PLATFORM(WSAAsyncSelect)(s, hwnd, msg, mask) : PLATFORM(WSAEventSelect)(s, event, mask);
}

/* Both registrations go through here: for a listener the platform call and the record are
 * one step, so a waiter's own registration cannot slip in between. */
static int register_events(SOCKET s, BOOL async, WSAEVENT event, HWND hwnd, UINT msg, LONG mask)
{
    struct sockstate *st = sockstate_get(s);
    int error = 0;

    if (st) AcquireSRWLockExclusive(&st->lock);
    if (platform_register(s, async, event, hwnd, msg, mask)) error = platform_error(s);
    else if (!st && (st = sockstate_get_or_create(s))) AcquireSRWLockExclusive(&st->lock);
    if (!error && st) record_registration(st, event, hwnd, msg, mask);
    if (st)
    {
        ReleaseSRWLockExclusive(&st->lock);
        sockstate_release(st);
    }
    return error;
}

int WSAAPI WSAEventSelect(SOCKET s, WSAEVENT event, LONG mask)
{
    int error = front_entry();

    if (!error) error = register_events(s, FALSE, event, NULL, 0, mask);
    return error ? fail_int(error) : 0;
}

int WSAAPI WSAAsyncSelect(SOCKET s, HWND hwnd, UINT msg, LONG mask)
{
    int type, error = front_entry();

    /* Windows refuses a window that does not exist; Wine takes one, even NULL, and what is
     * accepted then inherits a registration the front cannot see or undo. */
    if (!error && mask && !IsWindow(hwnd) && !(error = socket_type(s, &type))) error = WSAEINVAL;
    if (!error) error = register_events(s, TRUE, NULL, hwnd, msg, mask);
    return error ? fail_int(error) : 0;
}

/* Wine 10 fails a handle that is not an event (closed, a file, a socket...) with WSAENOTSOCK,
 * before it takes any event: for a socket that is one, that is the invalid parameter
 * WSAEINVAL.  (Wine 8.0 ignores such a handle and succeeds.) */
static int enum_events_error(SOCKET s, WSAEVENT event)
{
    int type, error = platform_error(s);

    if (error == WSAENOTSOCK && event && !socket_type(s, &type)) error = WSAEINVAL;
    return error;
}

int WSAAPI WSAEnumNetworkEvents(SOCKET s, WSAEVENT event, WSANETWORKEVENTS *events)
{
    struct sockstate *st;
    int error = front_entry();

    if (error) return fail_int(error);
    /* Wine writes the result unchecked: a bad pointer must not crash. */
    if (!mem_writable(events, sizeof(*events))) return fail_int(WSAEFAULT);
    if (PLATFORM(WSAEnumNetworkEvents)(s, event, events)) return fail_int(enum_events_error(s, event));
    if (!(st = sockstate_get(s))) return 0;
    AcquireSRWLockExclusive(&st->lock);
    if (st->fd_accept_owed)
    {
        events->lNetworkEvents |= FD_ACCEPT;
        events->iErrorCode[FD_ACCEPT_BIT] = 0;
        st->fd_accept_owed = FALSE;
    }
    ReleaseSRWLockExclusive(&st->lock);
    sockstate_release(st);
    return 0;
}
