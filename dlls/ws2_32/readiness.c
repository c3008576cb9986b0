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
        ret = st->held != NULL;
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

int WSAAPI select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, const PTIMEVAL timeout)
{
    struct timeval no_wait = { 0, 0 };
    fd_set holding;
    u_int i;
    int ret, error = front_entry();

    if (error) return fail_int(error);
    if (!ws2_listeners_holding || !readfds || !mem_readable(readfds, sizeof(readfds->fd_count)))
        return PLATFORM(select)(nfds, readfds, writefds, exceptfds, timeout);

    holding.fd_count = 0;
    for (i = 0; i < readfds->fd_count && i < FD_SETSIZE; i++)
        if (holds_connection(readfds->fd_array[i])) holding.fd_array[holding.fd_count++] = readfds->fd_array[i];
    if (!holding.fd_count) return PLATFORM(select)(nfds, readfds, writefds, exceptfds, timeout);

    /* Something is ready already: the platform only tells what else is. */
    if ((ret = PLATFORM(select)(nfds, readfds, writefds, exceptfds, &no_wait)) == SOCKET_ERROR) return ret;
    for (i = 0; i < holding.fd_count; i++)
    {
        if (fd_in(readfds, holding.fd_array[i]) || readfds->fd_count >= FD_SETSIZE) continue;
        readfds->fd_array[readfds->fd_count++] = holding.fd_array[i];
        ret++;
    }
    return ret;
}

int WSAAPI WSAPoll(WSAPOLLFD *fds, ULONG count, INT timeout)
{
    BOOL any = FALSE;
    ULONG i;
    int ret, error = front_entry();

    if (error) return fail_int(error);
    if (!ws2_listeners_holding || !mem_writable(fds, count * sizeof(*fds)))
        return PLATFORM(WSAPoll)(fds, count, timeout);
    for (i = 0; i < count && !any; i++)
        any = (fds[i].events & POLLRDNORM) && holds_connection(fds[i].fd);
    if (!any) return PLATFORM(WSAPoll)(fds, count, timeout);

    if ((ret = PLATFORM(WSAPoll)(fds, count, 0)) == SOCKET_ERROR) return ret;
    for (i = 0; i < count; i++)
    {
        if (!(fds[i].events & POLLRDNORM) || !holds_connection(fds[i].fd)) continue;
        if (!fds[i].revents) ret++;
        fds[i].revents |= POLLRDNORM;
    }
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
    st->private_reg = FALSE;
    st->fd_accept_owed = FALSE;
    if (st->listening) SetEvent(st->ready);
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
    if (platform_register(s, async, event, hwnd, msg, mask)) error = GetLastError();
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
    int error = front_entry();

    if (!error) error = register_events(s, TRUE, NULL, hwnd, msg, mask);
    return error ? fail_int(error) : 0;
}

int WSAAPI WSAEnumNetworkEvents(SOCKET s, WSAEVENT event, WSANETWORKEVENTS *events)
{
    struct sockstate *st;
    int error = front_entry();

    if (error) return fail_int(error);
    if (PLATFORM(WSAEnumNetworkEvents)(s, event, events)) return SOCKET_ERROR;
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
