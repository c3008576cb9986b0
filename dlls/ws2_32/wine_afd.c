/* Wine's private socket requests, where they spare the front a wait of its own: the server's
 * deferral (an AcceptEx after CF_DEFER) and the accept a blocking listener waits for in the
 * server.  Windows has neither; there the front keeps its own ways. */

#include "ws2_32_private.h"

/* The server's requests on a socket handle, through NtDeviceIoControlFile. */
#define WINE_AFD_ACCEPT CTL_CODE(FILE_DEVICE_NETWORK, 201, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define WINE_AFD_DEFER CTL_CODE(FILE_DEVICE_NETWORK, 217, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define WINE_AFD_GET_INFO CTL_CODE(FILE_DEVICE_NETWORK, 218, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define WINE_AFD_GET_ACCEPTCONN CTL_CODE(FILE_DEVICE_NETWORK, 219, METHOD_BUFFERED, FILE_ANY_ACCESS)

#define STATUS_PENDING_ ((LONG)0x00000103)
#define STATUS_CANCELLED_ ((LONG)0xc0000120)

typedef struct { union { LONG Status; void *Pointer; }; ULONG_PTR Information; } ioctl_status;
typedef LONG (WINAPI *ioctl_func)(HANDLE, HANDLE, void *, void *, ioctl_status *, ULONG,
                                  void *, ULONG, void *, ULONG);

static ioctl_func wine_ioctl;
static INIT_ONCE wine_once = INIT_ONCE_STATIC_INIT;
static volatile LONG adopt_works;   /* 0 not known yet, 1 works, -1 does not */

/* Set once the application asked for synchronous sockets from socket() (SO_OPENTYPE). */
volatile LONG ws2_sync_sockets;

static BOOL CALLBACK find_wine(INIT_ONCE *once, void *param, void **context)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");

    if (ntdll && GetProcAddress(ntdll, "wine_get_version"))
        wine_ioctl = (ioctl_func)(void *)GetProcAddress(ntdll, "NtDeviceIoControlFile");
    return TRUE;
}

BOOL wine_afd_available(void)
{
    InitOnceExecuteOnce(&wine_once, find_wine, NULL, NULL);
    return wine_ioctl != NULL;
}

/* Hands CONN to the server's deferral of LISTENER; the server holds its own reference. */
BOOL wine_afd_defer(SOCKET listener, SOCKET conn)
{
    ioctl_status io;
    ULONG handle = (ULONG)conn;

    return wine_afd_available() &&
           !wine_ioctl((HANDLE)listener, NULL, NULL, NULL, &io, WINE_AFD_DEFER, &handle, sizeof(handle), NULL, 0);
}

/* What the server knows of a socket handle the platform refuses: Wine 8.0's ws2_32 answers
 * getsockopt only for sockets it made in this process, not for an inherited one, which its
 * accept still serves.  0, or WSAENOTSOCK when the handle is no socket. */
int wine_afd_socket_info(SOCKET s, int *type, BOOL *listening)
{
    struct { int family, type, protocol; } info;
    ioctl_status io;
    int accepting = 0;

    if (!wine_afd_available() ||
        wine_ioctl((HANDLE)s, NULL, NULL, NULL, &io, WINE_AFD_GET_INFO, NULL, 0, &info, sizeof(info)) ||
        wine_ioctl((HANDLE)s, NULL, NULL, NULL, &io, WINE_AFD_GET_ACCEPTCONN, NULL, 0, &accepting, sizeof(accepting)))
        return WSAENOTSOCK;
    *type = info.type;
    *listening = accepting != 0;
    return 0;
}

/* An accepted handle becomes a socket of the platform's (which refuses handles it did not
 * make) through the platform's own way in for a duplicated socket: no request to the server. */
static SOCKET adopt(ULONG handle)
{
    WSAPROTOCOL_INFOW info;

    memset(&info, 0, sizeof(info));
    info.dwServiceFlags3 = handle;
    info.dwServiceFlags4 = 0xff00ff00;
    return PLATFORM(WSASocketW)(0, 0, 0, &info, 0, 0);
}

/* Whether the platform takes a handle in that way: tried once on a socket of its own. */
static BOOL adopt_probe(void)
{
    SOCKET s = PLATFORM(socket)(AF_INET, SOCK_STREAM, IPPROTO_TCP), got;
    HANDLE copy = NULL;
    BOOL works = FALSE;

    if (s == INVALID_SOCKET) return FALSE;
    if (DuplicateHandle(GetCurrentProcess(), (HANDLE)s, GetCurrentProcess(), &copy, 0, FALSE, DUPLICATE_SAME_ACCESS))
    {
        got = adopt((ULONG)(ULONG_PTR)copy);
        works = got == (SOCKET)copy && !PLATFORM(closesocket)(got);
        if (!works && got != INVALID_SOCKET && got != (SOCKET)copy) PLATFORM(closesocket)(got);
        if (!works) CloseHandle(copy);
    }
    PLATFORM(closesocket)(s);
    return works;
}

/* Whether a listener's accepts can wait in the server: Wine, a platform that adopts accepted
 * handles, and a socket whose requests return while they wait (overlapped). */
BOOL wine_accept_usable(const struct sockstate *st)
{
    if (!wine_afd_available() || st->sync_io || ws2_sync_sockets) return FALSE;
    if (!adopt_works) InterlockedExchange(&adopt_works, adopt_probe() ? 1 : -1);
    return adopt_works > 0;
}

static LONG status_of(const struct wine_accept *wa)
{
    /* The server's status is the low half of Internal: read it as the thread's APC writes it. */
    return (LONG)*(volatile ULONG_PTR *)&wa->ov.Internal;
}

/* The WSA code of what the server answered (as the platform maps it, with the codes accept's
 * page documents where they differ). */
static int accept_error(LONG status)
{
    switch ((ULONG)status)
    {
    case 0xc00000a3: return WSAEWOULDBLOCK;     /* STATUS_DEVICE_NOT_READY */
    case 0xc000011f: return WSAEMFILE;          /* STATUS_TOO_MANY_OPENED_FILES */
    case 0xc0000017:                            /* STATUS_NO_MEMORY */
    case 0xc000009a: return WSAENOBUFS;         /* STATUS_INSUFFICIENT_RESOURCES */
    case 0xc0000008:                            /* STATUS_INVALID_HANDLE */
    case 0xc0000024: return WSAENOTSOCK;        /* STATUS_OBJECT_TYPE_MISMATCH */
    case 0xc000000d: return WSAEINVAL;          /* STATUS_INVALID_PARAMETER */
    case 0xc00000bb: return WSAEOPNOTSUPP;      /* STATUS_NOT_SUPPORTED */
    case 0xc0000140: return WSAENOTCONN;        /* STATUS_INVALID_CONNECTION */
    case 0xc000020d:                            /* STATUS_CONNECTION_RESET */
    case 0xc000020c: return WSAECONNRESET;      /* STATUS_CONNECTION_DISCONNECTED */
    case 0xc0000241: return WSAECONNABORTED;    /* STATUS_CONNECTION_ABORTED */
    case 0xc0000120:                            /* STATUS_CANCELLED */
    case 0xc0000732: return WSAEINTR;           /* STATUS_HANDLES_CLOSED */
    default: return WSAENETDOWN;
    }
}

/* Issues the accept, through WA->listener.  Done with the listener's lock held shared, after its queue was seen
 * empty and it open: a deferral or a close, which take it exclusively, cancel what is on the
 * list once they are done.  0 with WA->handle, ERROR_IO_PENDING (on the list), or an error. */
int wine_accept_issue(struct sockstate *st, struct wine_accept *wa)
{
    LONG status;

    memset(&wa->ov, 0, sizeof(wa->ov));
    wa->ov.Internal = STATUS_PENDING_;
    wa->handle = 0;
    wa->thread = GetCurrentThreadId();
    AcquireSRWLockExclusive(&st->accepts_lock);
    wa->next = st->accepts;
    st->accepts = wa;
    ReleaseSRWLockExclusive(&st->accepts_lock);
    status = wine_ioctl((HANDLE)wa->listener, wa->event, NULL, NULL, (ioctl_status *)&wa->ov, WINE_AFD_ACCEPT,
                        NULL, 0, &wa->handle, sizeof(wa->handle));
    if (status == STATUS_PENDING_) return ERROR_IO_PENDING;
    wine_accept_done(st, wa);
    return status ? accept_error(status) : 0;
}

/* Until the pending accept has ended: completed, failed or cancelled.  A wait ended by
 * WSACancelBlockingCall cancels it and still waits for its end, which may be a connection. */
int wine_accept_wait(struct sockstate *st, struct wine_accept *wa)
{
    int error = 0;

    while (status_of(wa) == STATUS_PENDING_ && !(error = blocking_wait(wa->event)))
        ;
    if (status_of(wa) == STATUS_PENDING_)
    {
        CancelIoEx((HANDLE)wa->listener, &wa->ov);
        while (status_of(wa) == STATUS_PENDING_) WaitForSingleObject(wa->event, INFINITE);
    }
    wine_accept_done(st, wa);
    return error;
}

/* The ended accept's result: 0 with the handle, WSA_E_CANCELLED when a waker cancelled it
 * (the caller looks again), or an error. */
int wine_accept_result(const struct wine_accept *wa)
{
    LONG status = status_of(wa);

    if (!status) return 0;
    if (status == STATUS_CANCELLED_) return WSA_E_CANCELLED;
    return accept_error(status);
}

/* Takes WA off the list; a close waiting for the list to empty is told. */
void wine_accept_done(struct sockstate *st, struct wine_accept *wa)
{
    struct wine_accept **p;

    AcquireSRWLockExclusive(&st->accepts_lock);
    for (p = &st->accepts; *p; p = &(*p)->next)
    {
        if (*p == wa)
        {
            *p = wa->next;
            break;
        }
    }
    ReleaseSRWLockExclusive(&st->accepts_lock);
    WakeAllConditionVariable(&st->accepts_done);
}

/* Wakes the accepts waiting in the server by cancelling them: all of them (a close, a switch
 * to non-blocking) or the one that has waited longest (a deferral: one connection to take). */
void wine_accept_wake(struct sockstate *st, BOOL all)
{
    struct wine_accept *wa, *last = NULL;

    AcquireSRWLockShared(&st->accepts_lock);
    for (wa = st->accepts; wa; wa = wa->next)
    {
        if (all) CancelIoEx((HANDLE)wa->listener, &wa->ov);
        last = wa;
    }
    if (!all && last) CancelIoEx((HANDLE)last->listener, &last->ov);
    ReleaseSRWLockShared(&st->accepts_lock);
}

/* A close waits until no accept of the listener is in the server (Wine 8.0's server can abort
 * when a listener goes while an accept of it completes).  An accept of this very thread (a
 * close from an APC that ran in its wait) is not waited for. */
void wine_accept_drain(struct sockstate *st)
{
    struct wine_accept *wa;
    DWORD self = GetCurrentThreadId();

    wine_accept_wake(st, TRUE);
    AcquireSRWLockExclusive(&st->accepts_lock);
    for (;;)
    {
        for (wa = st->accepts; wa && wa->thread == self; wa = wa->next)
            ;
        if (!wa) break;
        SleepConditionVariableSRW(&st->accepts_done, &st->accepts_lock, INFINITE, 0);
    }
    ReleaseSRWLockExclusive(&st->accepts_lock);
}

/* The accepted handle as a socket of the platform's; closed if it cannot be one. */
int wine_accept_adopt(const struct wine_accept *wa, SOCKET *out)
{
    SOCKET s = adopt(wa->handle);

    if (s == (SOCKET)wa->handle)
    {
        *out = s;
        return 0;
    }
    if (s != INVALID_SOCKET) PLATFORM(closesocket)(s);
    CloseHandle((HANDLE)(ULONG_PTR)wa->handle);
    return WSAENOBUFS;
}
