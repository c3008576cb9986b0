/* AcceptEx after a deferral (D3): under Wine, the AcceptEx pointer WSAIoctl hands out is the
 * front's, which gives the deferred connection to the platform's own deferral first, so that
 * the AcceptEx takes it before any later connection. */

#include "ws2_32_private.h"

/* Wine's server keeps one deferred connection per listener, set by a private ioctl on the
 * listener that names the accepted socket's handle; the listener's next accept of any kind,
 * AcceptEx included, takes it first.  Windows has no such request: there the front holds. */
#define WINE_AFD_DEFER CTL_CODE(FILE_DEVICE_NETWORK, 217, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct { union { LONG Status; void *Pointer; }; ULONG_PTR Information; } ioctl_status;
typedef LONG (WINAPI *ioctl_func)(HANDLE, HANDLE, void *, void *, ioctl_status *, ULONG,
                                  void *, ULONG, void *, ULONG);

static ioctl_func wine_ioctl;
static LPFN_ACCEPTEX platform_acceptex;
static INIT_ONCE wine_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK find_wine(INIT_ONCE *once, void *param, void **context)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");

    if (ntdll && GetProcAddress(ntdll, "wine_get_version"))
        wine_ioctl = (ioctl_func)(void *)GetProcAddress(ntdll, "NtDeviceIoControlFile");
    return TRUE;
}

/* The deferred connection at the head of the queue goes to the server's deferral, so that an
 * AcceptEx posted now takes it before any later connection.  The server keeps one only: a
 * second is not handed over until an accept of the front's has emptied the first. */
static void defer_to_platform(struct sockstate *st)
{
    struct held_conn *conn = NULL;
    ioctl_status io;
    ULONG handle;
    LONG status = -1;

    AcquireSRWLockExclusive(&st->lock);
    if (!st->closed && st->held && st->held->deferred && !st->platform_deferred)
    {
        conn = held_pop(st);
        st->platform_deferred = TRUE;
    }
    ReleaseSRWLockExclusive(&st->lock);
    if (!conn) return;
    if (platform_calls_begin())
    {
        handle = (ULONG)conn->s;
        status = wine_ioctl((HANDLE)st->s, NULL, NULL, NULL, &io, WINE_AFD_DEFER, &handle,
                            sizeof(handle), NULL, 0);
        /* The server holds its own reference: the front's handle can go. */
        if (!status) held_close(conn, FALSE);
        platform_calls_end();
    }
    if (!status) return;
    InterlockedExchange(&st->platform_deferred, FALSE);
    hold_connection(st, conn);
}

static BOOL WINAPI front_acceptex(SOCKET listener, SOCKET accepted, void *buffer, DWORD recv_len,
                                 DWORD local_len, DWORD remote_len, DWORD *received, OVERLAPPED *ov)
{
    struct sockstate *st = sockstate_get(listener);

    if (st)
    {
        if (st->listening) defer_to_platform(st);
        sockstate_release(st);
    }
    return platform_acceptex(listener, accepted, buffer, recv_len, local_len, remote_len, received, ov);
}

/* After the platform answered SIO_GET_EXTENSION_FUNCTION_POINTER: under Wine, AcceptEx is the
 * front's, which hands a deferred connection to the server first. */
void acceptex_pointer(const void *in, DWORD in_size, void *out, DWORD out_size)
{
    static const GUID acceptex_guid = WSAID_ACCEPTEX;

    InitOnceExecuteOnce(&wine_once, find_wine, NULL, NULL);
    if (!wine_ioctl || in_size < sizeof(GUID) || out_size < sizeof(void *)) return;
    if (memcmp(in, &acceptex_guid, sizeof(GUID))) return;
    platform_acceptex = *(LPFN_ACCEPTEX *)out;
    *(LPFN_ACCEPTEX *)out = front_acceptex;
}
