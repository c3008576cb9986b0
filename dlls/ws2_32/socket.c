/* The socket calls the front must see: listen, closesocket, the blocking mode and
 * SO_CONDITIONAL_ACCEPT. */

#include "ws2_32_private.h"

static BOOL is_wildcard(const SOCKADDR_STORAGE *addr)
{
    if (addr->ss_family == AF_INET) return ((const SOCKADDR_IN *)addr)->sin_addr.s_addr == INADDR_ANY;
    if (addr->ss_family == AF_INET6) return IN6_IS_ADDR_UNSPECIFIED(&((const SOCKADDR_IN6 *)addr)->sin6_addr);
    return TRUE;
}

/* Makes ST a listener: its family, its local address when concrete (C6 then costs nothing
 * per connection), the platform socket's mode, and the event the front's waits use, made here
 * once (other sockets' state holds no kernel object).  Under Wine the platform listener blocks
 * as the application's does, so that a blocking accept waits in the server; elsewhere it never
 * blocks, so that every wait is ours.  Done on every listen, so a state left by a handle closed
 * behind our back is made right.  A listener ADOPTED under Wine (a handle made elsewhere, whose
 * mode another handle or process may have set) keeps the mode it has: the server's answers
 * tell it. */
int listener_init(struct sockstate *st, SOCKET s, BOOL adopted)
{
    SOCKADDR_STORAGE local;
    int len = sizeof(local);
    BOOL server_waits = wine_accept_usable(st);
    u_long nonblocking = !server_waits || st->app_nonblocking || st->app_mask;
    HANDLE ready = NULL;

    if (!st->ready && !(ready = CreateEventW(NULL, FALSE, FALSE, NULL))) return WSAENOBUFS;
    if (PLATFORM(getsockname)(s, (struct sockaddr *)&local, &len) ||
        (!(adopted && server_waits) && PLATFORM(ioctlsocket)(s, FIONBIO, &nonblocking)))
    {
        int error = GetLastError();
        if (ready) CloseHandle(ready);
        return error;
    }
    AcquireSRWLockExclusive(&st->lock);
    if (!st->ready)
    {
        st->ready = ready;
        ready = NULL;
    }
    st->family = local.ss_family;
    st->local = local;
    st->local_len = is_wildcard(&local) ? 0 : len;
    st->wine_accept = server_waits;
    if (st->platform_blocking != !nonblocking) st->mode_changes++;
    st->platform_blocking = !nonblocking;
    st->listening = TRUE;
    ReleaseSRWLockExclusive(&st->lock);
    if (ready) CloseHandle(ready);
    return 0;
}

int WSAAPI listen(SOCKET s, int backlog)
{
    struct sockstate *st;
    int error = front_entry();

    if (error) return fail_int(error);
    if (PLATFORM(listen)(s, backlog)) return fail_int(platform_error(s));
    if (!(st = sockstate_get_or_create(s))) return fail_int(WSAENOBUFS);
    error = listener_init(st, s, FALSE);
    sockstate_release(st);
    TRACE("socket %#Ix, backlog %d, error %d", (ULONG_PTR)s, backlog, error);
    return error ? fail_int(error) : 0;
}

static BOOL platform_owns(SOCKET s)
{
    int type;

    return socket_type(s, &type) != WSAENOTSOCK;
}

int WSAAPI closesocket(SOCKET s)
{
    struct sockstate *st;
    int error = front_entry(), ret;

    if (error) return fail_int(error);
    if ((st = sockstate_get(s)))
    {
        /* One handle of several: the socket, its queue and its state live on. */
        if (sockstate_drop_handle(st, s))
        {
            sockstate_release(st);
            return PLATFORM(closesocket)(s);
        }
        /* Wine 8.0's ws2_32 closes only sockets it made here (not a DuplicateHandle or an
         * inherited copy): what it refuses stays open, and so does the front's view of it. */
        if (st->listening && !platform_owns(s))
        {
            sockstate_release(st);
            return PLATFORM(closesocket)(s);
        }
        /* Another process may hold a handle of it: under Wine a held connection waits in the
         * server, which closes it with the socket's last handle (E5). */
        hold_in_server(st, s);
        /* B4, E5: waiters wake with WSAEINTR and held connections end before the socket goes.
         * The state leaves the table only after the platform socket: an accept racing with
         * the close must find it closed, not adopt the dying listener and hold a connection
         * nobody ends. */
        sockstate_close(st);
    }
    ret = PLATFORM(closesocket)(s);
    sockstate_remove(s);
    return ret;
}

/* What a WSAIoctl(FIONBIO) passes besides the mode; ioctlsocket passes none of it. */
struct fionbio_args
{
    void *out;
    DWORD out_size;
    DWORD *returned;
    WSAOVERLAPPED *overlapped;
    LPWSAOVERLAPPED_COMPLETION_ROUTINE completion;
};

/* The platform's FIONBIO through the call the application made: WSAIoctl's checks the rest of
 * its arguments and completes an overlapped call (port, event, APC). */
static int platform_fionbio(SOCKET s, u_long value, const struct fionbio_args *args)
{
    if (!args) return PLATFORM(ioctlsocket)(s, FIONBIO, &value);
    return PLATFORM(WSAIoctl)(s, FIONBIO, &value, sizeof(value), args->out, args->out_size,
                              args->returned, args->overlapped, args->completion);
}

/* A listener whose accepts wait in Wine's server takes the mode the application asks for,
 * under its lock, so that no accept of it is being issued meanwhile. */
static int set_listener_mode(struct sockstate *st, BOOL on, const struct fionbio_args *args)
{
    int error = 0;

    AcquireSRWLockExclusive(&st->lock);
    if (!on && st->app_mask) error = WSAEINVAL;
    else if (platform_fionbio(st->s, on, args)) error = platform_error(st->s);
    else
    {
        st->app_nonblocking = on;
        if (st->platform_blocking == on) st->mode_changes++;
        st->platform_blocking = !on;
    }
    ReleaseSRWLockExclusive(&st->lock);
    return error;
}

/* Elsewhere a listener's platform socket stays non-blocking: only the application's view
 * changes (a WSAIoctl still goes to the platform, to complete as any ioctl does).  Waiters
 * look again when it becomes non-blocking. */
static int set_nonblocking(SOCKET s, BOOL on, const struct fionbio_args *args)
{
    struct sockstate *st = sockstate_get(s);
    int error = 0;

    if (st && st->listening && st->wine_accept)
    {
        if (!(error = set_listener_mode(st, on, args)) && on) listener_wake(st);
    }
    else if (st && st->listening)
    {
        if (!on && st->app_mask) error = WSAEINVAL;
        else if (args && platform_fionbio(s, 1, args)) error = platform_error(s);
        else
        {
            AcquireSRWLockExclusive(&st->lock);
            if (!on && st->app_mask) error = WSAEINVAL;
            else st->app_nonblocking = on;
            ReleaseSRWLockExclusive(&st->lock);
            if (on) listener_wake(st);
        }
    }
    else if (platform_fionbio(s, on, args)) error = platform_error(s);
    else if (st || (on && (st = sockstate_get_or_create(s)))) st->app_nonblocking = on;
    if (st) sockstate_release(st);
    return error;
}

int WSAAPI ioctlsocket(SOCKET s, LONG cmd, u_long *argp)
{
    int error = front_entry();

    if (error) return fail_int(error);
    if (cmd != (LONG)FIONBIO) return PLATFORM(ioctlsocket)(s, cmd, argp);
    if (!mem_readable(argp, sizeof(*argp))) return fail_int(WSAEFAULT);
    error = set_nonblocking(s, *argp != 0, NULL);
    return error ? fail_int(error) : 0;
}

/* What the platform would write through or call later is checked here: a bad pointer is
 * WSAEFAULT, not a fault inside the platform. */
static int fionbio_ioctl(SOCKET s, void *in, DWORD in_size, const struct fionbio_args *args)
{
    if (in_size < sizeof(u_long) || !mem_readable(in, sizeof(u_long))) return WSAEFAULT;
    if (args->returned && !mem_writable(args->returned, sizeof(*args->returned))) return WSAEFAULT;
    if (args->overlapped && !mem_writable(args->overlapped, sizeof(*args->overlapped))) return WSAEFAULT;
    if (args->completion && !mem_executable((void *)args->completion)) return WSAEFAULT;
    return set_nonblocking(s, *(u_long *)in != 0, args);
}

int WSAAPI WSAIoctl(SOCKET s, DWORD code, void *in, DWORD in_size, void *out, DWORD out_size,
                    DWORD *returned, WSAOVERLAPPED *overlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE completion)
{
    struct fionbio_args args = { out, out_size, returned, overlapped, completion };
    int error = front_entry();

    if (error) return fail_int(error);
    if (code == SIO_GET_EXTENSION_FUNCTION_POINTER)
    {
        if (PLATFORM(WSAIoctl)(s, code, in, in_size, out, out_size, returned, overlapped, completion))
            return SOCKET_ERROR;
        acceptex_pointer(in, in_size, out, out_size);
        return 0;
    }
    if (code != (DWORD)FIONBIO)
        return PLATFORM(WSAIoctl)(s, code, in, in_size, out, out_size, returned, overlapped, completion);
    error = fionbio_ioctl(s, in, in_size, &args);
    return error ? fail_int(error) : 0;
}

/* F1: a TCP socket's option, to be set before listen. */
static int conditional_accept_socket(SOCKET s)
{
    int type, error = socket_type(s, &type);

    if (error) return error;
    return type == SOCK_STREAM ? 0 : WSAENOPROTOOPT;
}

static int set_conditional_accept(SOCKET s, const char *value, int len)
{
    struct sockstate *st;
    int error;

    if ((error = conditional_accept_socket(s))) return error;
    if (len < (int)sizeof(BOOL) || !mem_readable(value, sizeof(BOOL))) return WSAEFAULT;
    if (!(st = sockstate_get_or_create(s))) return WSAENOBUFS;
    if (st->listening) error = WSAEINVAL;
    else st->conditional_accept = *(const BOOL *)value != 0;
    sockstate_release(st);
    return error;
}

static int get_conditional_accept(SOCKET s, char *value, int *len)
{
    struct sockstate *st;
    int error;

    if ((error = conditional_accept_socket(s))) return error;
    if (!mem_writable(len, sizeof(*len)) || *len < (int)sizeof(BOOL) || !mem_writable(value, sizeof(BOOL)))
        return WSAEFAULT;
    st = sockstate_get(s);
    *(BOOL *)value = st && st->conditional_accept;
    *len = sizeof(BOOL);
    if (st) sockstate_release(st);
    return 0;
}

int WSAAPI setsockopt(SOCKET s, int level, int name, const char *value, int len)
{
    int error = front_entry();

    if (error) return fail_int(error);
    if (level != SOL_SOCKET || name != SO_CONDITIONAL_ACCEPT)
    {
        struct sockstate *st;
        if (PLATFORM(setsockopt)(s, level, name, value, len)) return SOCKET_ERROR;
        if (level == SOL_SOCKET && name == SO_OPENTYPE && len >= (int)sizeof(int) && *(const int *)value)
            InterlockedExchange(&ws2_sync_sockets, TRUE);
        /* E6: held connections take the listener's options again when handed out. */
        if ((st = sockstate_get(s)))
        {
            InterlockedIncrement(&st->options_version);
            sockstate_release(st);
        }
        return 0;
    }
    error = set_conditional_accept(s, value, len);
    return error ? fail_int(error) : 0;
}

/* C8: TCP providers have no socket groups, so a socket's group is 0 (Wine has no SO_GROUP_ID). */
static int get_group_id(SOCKET s, char *value, int *len)
{
    int type, error = socket_type(s, &type);

    if (error) return error;
    if (!mem_writable(len, sizeof(*len)) || *len < (int)sizeof(GROUP) || !mem_writable(value, sizeof(GROUP)))
        return WSAEFAULT;
    *(GROUP *)value = 0;
    *len = sizeof(GROUP);
    return 0;
}

int WSAAPI getsockopt(SOCKET s, int level, int name, char *value, int *len)
{
    int error = front_entry();

    if (error) return fail_int(error);
    if (level == SOL_SOCKET && name == SO_CONDITIONAL_ACCEPT) error = get_conditional_accept(s, value, len);
    else if (!PLATFORM(getsockopt)(s, level, name, value, len)) return 0;
    else if (level == SOL_SOCKET && name == SO_GROUP_ID && GetLastError() == WSAENOPROTOOPT)
        error = get_group_id(s, value, len);
    else return SOCKET_ERROR;
    return error ? fail_int(error) : 0;
}

/* A socket made without WSA_FLAG_OVERLAPPED may have requests that wait inside the platform,
 * where nothing of the front can wake them: it is noted, so that its accepts wait as the
 * front's own.  A socket taken over from another handle or process (WSADuplicateSocket) is
 * taken as socket() makes them, overlapped, as an inherited one is: its mode is the socket's,
 * shared with every other handle, and the front must not change it.  Sockets made the usual
 * way cost nothing here. */
static BOOL duplicated(const void *info)
{
    return info && ((const WSAPROTOCOL_INFOW *)info)->dwServiceFlags4 == 0xff00ff00;
}

static SOCKET note_socket(SOCKET s, BOOL sync_io, BOOL dup)
{
    struct sockstate *st;

    if (s == INVALID_SOCKET || !(sync_io || dup)) return s;
    /* Another handle of a listener the front knows shares its queue from the start (E1). */
    if (dup && (st = sockstate_same_socket(s)))
    {
        sockstate_release(st);
        return s;
    }
    if (sync_io && (st = sockstate_get_or_create(s)))
    {
        st->sync_io = TRUE;
        sockstate_release(st);
    }
    return s;
}

SOCKET WSAAPI WSASocketA(int family, int type, int protocol, WSAPROTOCOL_INFOA *info, GROUP group, DWORD flags)
{
    int error = front_entry();

    if (error)
    {
        SetLastError(error);
        return INVALID_SOCKET;
    }
    return note_socket(PLATFORM(WSASocketA)(family, type, protocol, info, group, flags),
                       !(flags & WSA_FLAG_OVERLAPPED) && !duplicated(info),
                       duplicated(info));
}

SOCKET WSAAPI WSASocketW(int family, int type, int protocol, WSAPROTOCOL_INFOW *info, GROUP group, DWORD flags)
{
    int error = front_entry();

    if (error)
    {
        SetLastError(error);
        return INVALID_SOCKET;
    }
    return note_socket(PLATFORM(WSASocketW)(family, type, protocol, info, group, flags),
                       !(flags & WSA_FLAG_OVERLAPPED) && !duplicated(info),
                       duplicated(info));
}
