/* accept and WSAAccept.  The application sees one queue per listener: the connections the
 * front holds (a deferred one first), then the platform's.  Every wait is the front's own:
 * alertable, woken by a deferral or a close, and running the blocking hook under WinSock 1.1.
 * Under Wine a blocking listener's accept waits in the server (wine_afd.c), which a deferral,
 * a close or a switch to non-blocking cancels; elsewhere the platform listener never blocks and
 * the front waits for its FD_ACCEPT. */

#include "ws2_32_private.h"

static int address_size(int family)
{
    return family == AF_INET6 ? sizeof(SOCKADDR_IN6) : sizeof(SOCKADDR_IN);
}

/* The type of S and whether it listens.  Wine 8.0's ws2_32 refuses getsockopt on a socket it
 * did not make in this process (an inherited one) but accepts on it: the server is asked, and
 * *REFUSED tells. */
static int classify(SOCKET s, int *type, BOOL *listening, BOOL *refused)
{
    int len = sizeof(*listening), error = socket_type(s, type);

    *listening = FALSE;
    if ((*refused = error == WSAENOTSOCK)) return wine_afd_socket_info(s, type, listening);
    if (error) return error;
    if (*type == SOCK_STREAM && PLATFORM(getsockopt)(s, SOL_SOCKET, SO_ACCEPTCONN, (char *)listening, &len))
        *listening = FALSE;
    return 0;
}

/* A3-A5: S must be a listening stream socket. */
static int get_listener(SOCKET s, struct sockstate **out)
{
    struct sockstate *st = sockstate_get(s);
    BOOL listening, refused;
    int type, error;

    if (st && st->listening && !st->closed)
    {
        *out = st;
        return 0;
    }
    if (st) sockstate_release(st);
    if ((error = classify(s, &type, &listening, &refused))) return error;
    if (type != SOCK_STREAM) return WSAEOPNOTSUPP;
    if (!listening) return WSAEINVAL;
    /* Listening without our listen() on this handle: another handle of a socket the front
     * knows (a duplicate), or one from another process.  Adopt it. */
    if (!(st = sockstate_same_socket(s)))
    {
        if (!(st = sockstate_get_or_create(s))) return WSAENOBUFS;
        if ((error = listener_init(st, s, TRUE)))
        {
            sockstate_release(st);
            return error;
        }
    }
    if (refused) sockstate_set_refused(s);
    *out = st;
    return 0;
}

/* A6-A8, checked before anything is consumed. */
static int check_args(struct sockstate *st, struct sockaddr *addr, int *addrlen, LPCONDITIONPROC condition)
{
    if (condition && !mem_executable((void *)condition)) return WSAEFAULT;
    if (!addrlen) return 0;
    if (!mem_writable(addrlen, sizeof(*addrlen))) return WSAEFAULT;
    if (!addr) return 0;
    if (*addrlen < address_size(st->family)) return WSAEFAULT;
    if (!mem_writable(addr, *addrlen)) return WSAEFAULT;
    return 0;
}

/* Wine reports running out of descriptors or memory during accept as WSAEINVAL, and some
 * failures as Win32 codes: give the documented WSA code instead. */
static int map_accept_error(struct sockstate *st, int error)
{
    SOCKET probe;

    if (st->closed) return WSAEINTR;
    if (error == WSAEINVAL)
    {
        if ((probe = PLATFORM(socket)(st->family, SOCK_STREAM, IPPROTO_TCP)) == INVALID_SOCKET)
            return GetLastError() == WSAENOBUFS ? WSAENOBUFS : WSAEMFILE;
        PLATFORM(closesocket)(probe);
        return WSAENOBUFS;
    }
    if (error == ERROR_OPERATION_ABORTED) return WSAEINTR;
    /* A queued connection its peer reset: Wine says WSAENOTCONN, accept's page WSAECONNRESET. */
    if (error == WSAENOTCONN) return WSAECONNRESET;
    if (error == ERROR_NOT_ENOUGH_MEMORY || error == ERROR_NO_SYSTEM_RESOURCES) return WSAENOBUFS;
    if (error < WSABASEERR || error > WSABASEERR + 1200) return WSAENETDOWN;
    return error;
}

/* C6: the local address of the connection; known without asking when the listener is bound
 * to a concrete address. */
static int local_address(struct sockstate *st, struct held_conn *conn)
{
    int error;

    if (st->local_len)
    {
        memcpy(&conn->local, &st->local, st->local_len);
        conn->local_len = st->local_len;
        return 0;
    }
    if ((error = fault_check("getsockname"))) return error;
    if (!platform_calls_begin()) return WSANOTINITIALISED;
    conn->local_len = sizeof(conn->local);
    if (PLATFORM(getsockname)(conn->s, (struct sockaddr *)&conn->local, &conn->local_len))
        error = GetLastError();
    platform_calls_end();
    return error;
}

/* A connection its client reset before it was accepted: Wine 8.0's accept fails (WSAENOTCONN),
 * Wine 10's succeeds with no peer address.  Either way it is the reset accept's page names, and
 * no condition function ever sees a connection without its caller. */
static int reset_before_accept(SOCKET s)
{
    if (platform_calls_begin())
    {
        PLATFORM(closesocket)(s);
        platform_calls_end();
    }
    return WSAECONNRESET;
}

/* Accepts run side by side (the lock shared), but never while the front's registration
 * changes, and never once a close has begun, so that the platform closes a listener with no
 * accept of it in flight.  (Wine 8.0's server aborts when a listener goes away while an accept
 * of it completes and another connection arrives.)  While the server holds the front's
 * deferred connection, one at a time (exclusive): the server gives it to the first accept it
 * sees, and that one alone may claim it.  TRUE when exclusive. */
static BOOL accept_lock(struct sockstate *st)
{
    AcquireSRWLockShared(&st->lock);
    if (!st->platform_deferred) return FALSE;
    ReleaseSRWLockShared(&st->lock);
    AcquireSRWLockExclusive(&st->lock);
    return TRUE;
}

static void accept_unlock(struct sockstate *st, BOOL exclusive)
{
    if (exclusive) ReleaseSRWLockExclusive(&st->lock);
    else ReleaseSRWLockShared(&st->lock);
}

/* WANT_PEER: the peer's address is asked for only when someone will read it (it costs Wine a
 * request); a connection taken without it has peer_len 0. */
static int platform_accept(struct sockstate *st, SOCKET s, struct held_conn **out, BOOL want_peer)
{
    struct held_conn *conn;
    BOOL exclusive;
    int error;

    if ((error = fault_check("accept"))) return error;
    if (!(conn = mem_alloc(sizeof(*conn)))) return WSAENOBUFS;
    conn->peer_len = want_peer ? sizeof(conn->peer) : 0;
    fault_pause("pause");
    if (!platform_calls_begin())
    {
        mem_free(conn);
        return WSANOTINITIALISED;
    }
    exclusive = accept_lock(st);
    conn->s = INVALID_SOCKET;
    if (st->closed) error = WSAEINTR;
    else
    {
        conn->s = PLATFORM(accept)(s, want_peer ? (struct sockaddr *)&conn->peer : NULL,
                                   want_peer ? &conn->peer_len : NULL);
        error = conn->s == INVALID_SOCKET ? GetLastError() : 0;
    }
    conn->private_reg = st->private_reg;
    conn->app_reg = st->app_mask != 0;
    conn->options_version = st->options_version;
    conn->nonblocking = TRUE;
    conn->deferred = conn->from_server = FALSE;
    if (!error && exclusive) claim_server_deferral(st, conn);
    accept_unlock(st, exclusive);
    platform_calls_end();
    if (!error && want_peer && !conn->peer_len) error = reset_before_accept(conn->s);
    if (error)
    {
        mem_free(conn);
        return error == WSAEWOULDBLOCK ? error : map_accept_error(st, error);
    }
    *out = conn;
    return 0;
}

static void silence(struct held_conn *conn);

/* The peer of a connection the server gave, when someone will read it.  Of a connection its
 * client reset, Wine 8.0 gives none (WSAENOTCONN) and Wine 10 an empty one. */
static int peer_address(struct held_conn *conn, BOOL want_peer)
{
    conn->peer_len = 0;
    if (!want_peer) return 0;
    conn->peer_len = sizeof(conn->peer);
    if (!PLATFORM(getpeername)(conn->s, (struct sockaddr *)&conn->peer, &conn->peer_len) && conn->peer_len)
        return 0;
    conn->peer_len = 0;
    return WSAECONNRESET;
}

/* What the server's accept gave, as the listener was when the server accepted it.  A
 * connection that came while something was held joins the end of the held queue (ERROR_RETRY:
 * look again), as does one taken by a wait that ends with an error (ERROR).  CONN is the
 * queue's, or freed, whenever this does not return 0. */
static int server_accepted(struct sockstate *st, struct wine_accept *wa, struct held_conn *conn,
                           LONG mode_changes, BOOL want_peer, int error)
{
    BOOL hold, closed;
    int ret;

    if (!platform_calls_begin())
    {
        CloseHandle((HANDLE)(ULONG_PTR)wa->handle);
        mem_free(conn);
        return WSANOTINITIALISED;
    }
    ret = wine_accept_adopt(wa, &conn->s);
    /* A connection its client reset before it was accepted: the reset accept's page names. */
    if (!ret && (ret = peer_address(conn, want_peer))) PLATFORM(closesocket)(conn->s);
    platform_calls_end();
    if (ret)
    {
        mem_free(conn);
        return ret;
    }
    AcquireSRWLockShared(&st->lock);
    if (!conn->from_server)
    {
        conn->nonblocking = !st->platform_blocking || st->mode_changes != mode_changes;
        conn->private_reg = st->private_reg;
        conn->app_reg = st->app_mask != 0;
        conn->options_version = st->options_version;
    }
    hold = st->held || error;
    closed = st->closed;
    ReleaseSRWLockShared(&st->lock);
    /* Held, it may go to a condition function, which is shown the peer. */
    if (hold && !closed && !conn->peer_len && platform_calls_begin())
    {
        if (peer_address(conn, TRUE))
        {
            held_close(conn, FALSE);
            hold = FALSE;
        }
        platform_calls_end();
        if (!hold) return error ? error : ERROR_RETRY;
    }
    if (hold && !closed)
    {
        silence(conn);
        conn->deferred = TRUE;
        conn->from_server = FALSE;
        AcquireSRWLockExclusive(&st->lock);
        if (!(closed = st->closed)) held_push_back(st, conn);
        ReleaseSRWLockExclusive(&st->lock);
    }
    if (closed)
    {
        held_close(conn, FALSE);
        return WSAEINTR;
    }
    return hold ? (error ? error : ERROR_RETRY) : 0;
}

/* Under Wine: one request, which the server of a blocking listener keeps until a connection
 * comes, while the thread waits as in any of its waits.  ERROR_RETRY: woken (a deferral, a
 * close, a switch to non-blocking) or something is held: look at the queue again. */
static int server_accept(struct sockstate *st, SOCKET s, struct held_conn **out, BOOL want_peer)
{
    struct wine_accept wa;
    struct held_conn *conn;
    LONG mode_changes;
    BOOL exclusive;
    int error, wait_error = 0;

    if ((error = fault_check("accept"))) return error;
    if (st->platform_blocking && (error = fault_check("register"))) return error;
    if (!(wa.event = blocking_event()) || !(conn = mem_alloc(sizeof(*conn)))) return WSAENOBUFS;
    wa.listener = s;
    conn->deferred = conn->from_server = FALSE;
    fault_pause("pause");
    if (!platform_calls_begin())
    {
        mem_free(conn);
        return WSANOTINITIALISED;
    }
    exclusive = accept_lock(st);
    mode_changes = st->mode_changes;
    if (st->closed) error = WSAEINTR;
    else if (st->held) error = ERROR_RETRY;
    /* A deferral drains the accepts waiting in the server first: only one that completes at
     * once can have been given the server's deferred connection. */
    else if (!(error = wine_accept_issue(st, &wa)) && exclusive) claim_server_deferral(st, conn);
    accept_unlock(st, exclusive);
    platform_calls_end();
    if (error == ERROR_IO_PENDING)
    {
        wait_error = wine_accept_wait(st, &wa);
        /* The server ends a waiting accept with "would block" when the connection it was woken
         * for went (its client reset it): the wait goes on. */
        if ((error = wine_accept_result(&wa)) == WSAEWOULDBLOCK) error = WSA_E_CANCELLED;
    }
    if (!error)
    {
        if (!(error = server_accepted(st, &wa, conn, mode_changes, want_peer, wait_error))) *out = conn;
    }
    else
    {
        mem_free(conn);
        if (error == WSA_E_CANCELLED) error = ERROR_RETRY;
        if (wait_error) error = wait_error;
    }
    if (error == ERROR_RETRY || error == WSAEWOULDBLOCK || !error) return error;
    return map_accept_error(st, error);
}

/* What recv sees of a held connection that polled readable: a reset, or (with
 * SO_CONDITIONAL_ACCEPT) the end of a client that gave up. */
static int peek_end(struct sockstate *st, struct held_conn *conn)
{
    char byte;
    int ret = PLATFORM(recv)(conn->s, &byte, 1, MSG_PEEK);

    if (ret == SOCKET_ERROR)
    {
        ret = GetLastError();
        return ret == WSAECONNRESET || ret == WSAECONNABORTED ? WSAECONNRESET : 0;
    }
    return !ret && st->conditional_accept ? WSAEACCES : 0;
}

/* E3, E4: a held connection whose peer reset it, or gave up.  Poll first: Wine reports a
 * reset as POLLERR and then lets recv see only the end, so under Wine recv is asked only when
 * SO_CONDITIONAL_ACCEPT makes an end matter. */
static int held_alive(struct sockstate *st, struct held_conn *conn)
{
    WSAPOLLFD poll = { conn->s, POLLRDNORM, 0 };
    int error = 0;

    if (!platform_calls_begin()) return WSANOTINITIALISED;
    if (PLATFORM(WSAPoll)(&poll, 1, 0) == 1)
    {
        if (poll.revents & POLLERR) error = WSAECONNRESET;
        else if (st->conditional_accept || !wine_afd_available()) error = peek_end(st, conn);
    }
    platform_calls_end();
    return error;
}

int listener_wait_register(struct sockstate *st)
{
    int error = fault_check("register");

    if (error) return error;
    AcquireSRWLockExclusive(&st->lock);
    if (st->closed) error = WSAEINTR;
    else if (!st->waiters++ && !st->app_mask)
    {
        if (PLATFORM(WSAEventSelect)(st->s, st->ready, FD_ACCEPT))
        {
            error = GetLastError();
            st->waiters--;
        }
        else st->private_reg = TRUE;
    }
    /* A deferral wakes registered waiters only: one made before this registration is seen
     * here, and the caller looks again instead of waiting. */
    if (!error && st->held) error = ERROR_RETRY;
    ReleaseSRWLockExclusive(&st->lock);
    return error;
}

/* A wake-up that found no connection asks the platform again: under Wine a waiter can take
 * the platform's FD_ACCEPT and find the queue empty while the platform still holds it as
 * reported, and then it signals no more connection until an accept of its own succeeds.  A
 * new registration signals at once while one is pending. */
static void listener_wait_rearm(struct sockstate *st)
{
    AcquireSRWLockExclusive(&st->lock);
    if (st->private_reg && !st->closed) PLATFORM(WSAEventSelect)(st->s, st->ready, FD_ACCEPT);
    ReleaseSRWLockExclusive(&st->lock);
}

static void unregister_locked(struct sockstate *st)
{
    if (!--st->waiters && st->private_reg)
    {
        st->private_reg = FALSE;
        if (!st->closed) PLATFORM(WSAEventSelect)(st->s, NULL, 0);
    }
}

void listener_wait_unregister(struct sockstate *st)
{
    AcquireSRWLockExclusive(&st->lock);
    unregister_locked(st);
    ReleaseSRWLockExclusive(&st->lock);
}

/* A lone waiter that was woken takes the registration off before it accepts: a connection
 * accepted under it would inherit it, and taking it off the connection costs a request more.
 * TRUE when it did. */
static BOOL listener_wait_leave_alone(struct sockstate *st)
{
    BOOL alone;

    AcquireSRWLockExclusive(&st->lock);
    if ((alone = st->waiters == 1)) unregister_locked(st);
    ReleaseSRWLockExclusive(&st->lock);
    return alone;
}

static void mode_changed_elsewhere(struct sockstate *st)
{
    AcquireSRWLockExclusive(&st->lock);
    st->app_nonblocking = TRUE;
    if (st->platform_blocking) st->mode_changes++;
    st->platform_blocking = FALSE;
    ReleaseSRWLockExclusive(&st->lock);
}

/* The next connection of the queue, waiting for one if the application's socket blocks.
 * READY resets itself when a wait takes it, so a wake-up between look and wait is kept for
 * the wait.  The FD_ACCEPT registration is made at the first wait; while several threads
 * wait it stays until the last of them returns, and a wake-up that found nothing renews it.
 * A lone waiter takes it off once woken, before it accepts.  A connection accepted under it
 * inherits it, and hand_out takes that off.  The wait ends only when it is woken: by the
 * platform, a deferral, a close, a switch to non-blocking or an APC. */
static int take_connection(struct sockstate *st, SOCKET s, struct held_conn **out, BOOL want_peer)
{
    BOOL waited = FALSE, registered = FALSE, closed;
    int error;

    for (;;)
    {
        AcquireSRWLockExclusive(&st->lock);
        closed = st->closed;
        *out = closed ? NULL : held_pop(st);
        ReleaseSRWLockExclusive(&st->lock);
        if (closed)
        {
            error = WSAEINTR;
            break;
        }
        if (*out)
        {
            if ((error = held_alive(st, *out)))
            {
                held_close(*out, FALSE);
                *out = NULL;
            }
            break;
        }
        if (!st->wine_accept) error = platform_accept(st, s, out, want_peer);
        else if ((error = server_accept(st, s, out, want_peer)) == ERROR_RETRY) continue;
        /* The deferred connection the server held for the front is checked as one it held. */
        if (!error && (*out)->from_server && (error = held_alive(st, *out)))
        {
            held_close(*out, FALSE);
            *out = NULL;
            break;
        }
        if (error != WSAEWOULDBLOCK || st->app_nonblocking) break;
        /* Under Wine the platform listener's mode is the socket's: one that did not block was
         * made non-blocking through another handle, here or in another process. */
        if (st->wine_accept)
        {
            mode_changed_elsewhere(st);
            break;
        }
        if (registered) listener_wait_rearm(st);
        else if ((error = listener_wait_register(st)) && error != ERROR_RETRY) break;
        registered = TRUE;
        if (error == ERROR_RETRY) continue;
        error = blocking_wait(st->ready);
        if (error) break;
        waited = TRUE;
        if (listener_wait_leave_alone(st)) registered = FALSE;
    }
    if (registered) listener_wait_unregister(st);
    if (error && st->closed) error = WSAEINTR;
    /* A waiter that took a wake-up passes it on to the next, whatever it leaves with: a close
     * or a switch to non-blocking wakes one waiter only, and the wake-up may have stood for the
     * platform's FD_ACCEPT as well as for what this waiter took (a held connection, an error). */
    if (waited && (error == WSAEINTR || error == WSAEWOULDBLOCK || st->waiters)) SetEvent(st->ready);
    return error;
}

/* A connection that inherited a registration must not signal it while held.  What it inherited
 * is what the listener had when the platform accepted it: the callback may have changed that
 * since, and a registration left on it would keep it from being made blocking.  WSAEventSelect
 * cancels either kind. */
static void silence(struct held_conn *conn)
{
    if ((conn->app_reg || conn->private_reg) && platform_calls_begin())
    {
        PLATFORM(WSAEventSelect)(conn->s, NULL, 0);
        platform_calls_end();
        conn->nonblocking = TRUE;   /* as WSAEventSelect leaves any socket */
    }
    conn->app_reg = conn->private_reg = FALSE;
}

/* D3, D4, I2: back at the head of the queue, and any waiter woken to take it.  Under Wine the
 * head of the queue is the server's deferral slot of the socket (through S): whichever handle
 * of the socket accepts next, in this process or another, takes it. */
int hold_connection(struct sockstate *st, SOCKET s, struct held_conn *conn)
{
    BOOL registered, in_server;

    if (!conn->deferred) silence(conn);
    conn->deferred = TRUE;
    AcquireSRWLockExclusive(&st->lock);
    if (st->closed)
    {
        ReleaseSRWLockExclusive(&st->lock);
        held_close(conn, FALSE);
        return WSAENOTSOCK;
    }
    if (!(in_server = server_hold(st, s, conn))) held_push_front(st, conn);
    registered = st->waiters > 0;
    ReleaseSRWLockExclusive(&st->lock);
    /* The server holds its own reference: the front's handle can go. */
    if (in_server) held_release(conn);
    if (registered) SetEvent(st->ready);
    if (st->wine_accept) wine_accept_wake(st, FALSE);
    return 0;
}

/* Wakes all the listener's waiters: a close, a switch to non-blocking, the application's
 * registration. */
void listener_wake(struct sockstate *st)
{
    SetEvent(st->ready);
    if (st->wine_accept) wine_accept_wake(st, TRUE);
}

static const struct { int level, name, size; } inherited_options[] =
{
    { SOL_SOCKET, SO_KEEPALIVE, sizeof(BOOL) },
    { SOL_SOCKET, SO_OOBINLINE, sizeof(BOOL) },
    { SOL_SOCKET, SO_SNDBUF, sizeof(int) },
    { SOL_SOCKET, SO_RCVBUF, sizeof(int) },
    { SOL_SOCKET, SO_SNDTIMEO, sizeof(DWORD) },
    { SOL_SOCKET, SO_RCVTIMEO, sizeof(DWORD) },
    { SOL_SOCKET, SO_LINGER, sizeof(LINGER) },
    { IPPROTO_TCP, TCP_NODELAY, sizeof(BOOL) },
};

/* E6 for a connection that waited: what the listener is now, not what it was at accept. */
static void copy_listener_options(struct sockstate *st, struct held_conn *conn)
{
    char value[16];
    unsigned int i;

    /* Shared, and only while it is open: a close of the listener waits for these reads. */
    AcquireSRWLockShared(&st->lock);
    for (i = 0; i < ARRAYSIZE(inherited_options) && !st->closed; i++)
    {
        int len = inherited_options[i].size;
        if (!PLATFORM(getsockopt)(st->s, inherited_options[i].level, inherited_options[i].name, value, &len))
            PLATFORM(setsockopt)(conn->s, inherited_options[i].level, inherited_options[i].name, value, len);
    }
    ReleaseSRWLockShared(&st->lock);
}

/* The options are copied only when the application set one on the listener since. */
static void replay_listener(struct sockstate *st, struct held_conn *conn)
{
    if (conn->options_version != st->options_version) copy_listener_options(st, conn);
    if (st->app_hwnd && st->app_mask)
        PLATFORM(WSAAsyncSelect)(conn->s, st->app_hwnd, st->app_msg, st->app_mask);
    else if (st->app_event && st->app_mask)
        PLATFORM(WSAEventSelect)(conn->s, st->app_event, st->app_mask);
    else return;
    conn->nonblocking = TRUE;
}

/* E2: accepting re-enables FD_ACCEPT, but the platform re-enables it on its own accepts only.
 * After a held connection went out, the front makes one: a connection it gets joins the end
 * of the held queue, and what is held is posted to the application's registration. */
static void rearm_fd_accept(struct sockstate *st, SOCKET s)
{
    struct held_conn *conn;
    BOOL closed;

    if (!(st->app_mask & FD_ACCEPT)) return;
    /* The server's slot holds the front's connection, the head of the queue: it stays there. */
    if (!st->platform_deferred && !platform_accept(st, s, &conn, TRUE))
    {
        silence(conn);
        conn->deferred = TRUE;
        AcquireSRWLockExclusive(&st->lock);
        if (!(closed = st->closed)) held_push_back(st, conn);
        ReleaseSRWLockExclusive(&st->lock);
        if (closed) held_close(conn, FALSE);
    }
    AcquireSRWLockShared(&st->lock);
    notify_fd_accept(st);
    ReleaseSRWLockShared(&st->lock);
}

/* The connection in the application's mode, where it came in another (the platform listener
 * is non-blocking outside Wine, and a held connection may outlive a change of mode). */
static int set_mode(struct held_conn *conn, BOOL nonblocking)
{
    u_long value = nonblocking;
    int error = fault_check("fionbio");

    if (error) return error;
    if (PLATFORM(ioctlsocket)(conn->s, FIONBIO, &value)) return GetLastError();
    conn->nonblocking = nonblocking;
    return 0;
}

/* D1: the socket as the application expects it, the address, and FD_ACCEPT re-enabled.  A
 * socket that cannot be made so stays first in the queue. */
static int hand_out(struct sockstate *st, SOCKET listener, struct held_conn *conn, struct sockaddr *addr,
                    int *addrlen, SOCKET *out)
{
    SOCKET s = conn->s;
    BOOL deferred = conn->deferred, from_server = conn->from_server, started = platform_calls_begin();
    int error = 0;

    if (started)
    {
        if (deferred) replay_listener(st, conn);
        else if (conn->private_reg && !PLATFORM(WSAEventSelect)(s, NULL, 0)) conn->nonblocking = TRUE;
        if (conn->nonblocking != st->app_nonblocking) error = set_mode(conn, st->app_nonblocking);
        platform_calls_end();
    }
    else if (conn->nonblocking != st->app_nonblocking) error = WSANOTINITIALISED;
    conn->private_reg = FALSE;
    if (error)
    {
        /* Held, it may go to a condition function, which is shown the peer. */
        if (!conn->peer_len && platform_calls_begin())
        {
            conn->peer_len = sizeof(conn->peer);
            if (PLATFORM(getpeername)(s, (struct sockaddr *)&conn->peer, &conn->peer_len)) conn->peer_len = 0;
            platform_calls_end();
        }
        hold_connection(st, listener, conn);
        return error;
    }
    if (addr && addrlen)
    {
        memcpy(addr, &conn->peer, min(*addrlen, conn->peer_len));
        *addrlen = conn->peer_len;
    }
    mem_free(conn);
    /* The platform re-enables FD_ACCEPT on its own accepts only; this one it never saw. */
    if (deferred && !from_server) rearm_fd_accept(st, listener);
    *out = s;
    return 0;
}

/* C2-C10 and D1-D5.  The callback gets copies of the addresses, so what it does to its
 * buffers changes nothing of what the call returns; no lock is held while it runs. */
static int decide(struct sockstate *st, SOCKET s, struct held_conn *conn, LPCONDITIONPROC condition,
                  DWORD_PTR data)
{
    SOCKADDR_STORAGE peer, local;
    WSABUF caller_id, callee_id, callee_data = { 0, NULL };
    GROUP group = 0;
    int ret, error;

    if (!conn->local_len && (error = local_address(st, conn)))
    {
        /* The connection left the platform's queue: it goes back at the head of ours. */
        hold_connection(st, s, conn);
        return error;
    }
    peer = conn->peer;
    local = conn->local;
    caller_id.len = conn->peer_len;
    caller_id.buf = (char *)&peer;
    callee_id.len = conn->local_len;
    callee_id.buf = (char *)&local;
    ret = condition(&caller_id, NULL, NULL, NULL, &callee_id, &callee_data, &group, data);
    TRACE("socket %#Ix: condition function returned %d", (ULONG_PTR)st->s, ret);
    if (ret == CF_ACCEPT) return 0;
    if (ret == CF_REJECT)
    {
        held_close(conn, TRUE);
        return st->closed ? WSAENOTSOCK : WSAECONNREFUSED;
    }
    if ((error = hold_connection(st, s, conn))) return error;
    return ret == CF_DEFER ? WSATRY_AGAIN : WSAEINVAL;
}

static SOCKET front_accept(SOCKET s, struct sockaddr *addr, int *addrlen,
                           LPCONDITIONPROC condition, DWORD_PTR data)
{
    struct sockstate *st = NULL;
    struct held_conn *conn;
    SOCKET ret = INVALID_SOCKET;
    int error;

    if ((error = front_entry()) || (error = get_listener(s, &st))) goto done;
    if ((error = check_args(st, addr, addrlen, condition))) goto done;
    if ((error = take_connection(st, s, &conn, addr || condition))) goto done;
    if (condition && (error = decide(st, s, conn, condition, data))) goto done;
    error = hand_out(st, s, conn, addr, addrlen, &ret);

done:
    if (st) sockstate_release(st);
    TRACE("socket %#Ix -> %#Ix, error %d", (ULONG_PTR)s, (ULONG_PTR)ret, error);
    if (error) SetLastError(error);
    return ret;
}

SOCKET WSAAPI accept(SOCKET s, struct sockaddr *addr, int *addrlen)
{
    return front_accept(s, addr, addrlen, NULL, 0);
}

SOCKET WSAAPI WSAAccept(SOCKET s, struct sockaddr *addr, int *addrlen,
                        LPCONDITIONPROC condition, DWORD_PTR data)
{
    return front_accept(s, addr, addrlen, condition, data);
}
