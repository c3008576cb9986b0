/* AcceptEx after a deferral (D3): under Wine, the AcceptEx pointer WSAIoctl hands out is the
 * front's, which gives the deferred connection to the platform's own deferral first, so that
 * the AcceptEx takes it before any later connection. */

#include "ws2_32_private.h"

static LPFN_ACCEPTEX platform_acceptex;

/* The deferred connection at the head of the queue goes to the server's deferral, so that an
 * AcceptEx posted now takes it before any later connection.  The server keeps one only: a
 * second is not handed over until an accept of the front's has emptied the first. */
static void defer_to_platform(struct sockstate *st)
{
    struct held_conn *conn = NULL;
    BOOL handed = FALSE;

    AcquireSRWLockExclusive(&st->lock);
    if (!st->closed && st->held && st->held->deferred && !st->platform_deferred)
    {
        conn = held_pop(st);
        st->platform_deferred = TRUE;
    }
    ReleaseSRWLockExclusive(&st->lock);
    if (!conn) return;
    /* The server holds its own reference: the front's handle can go. */
    if (platform_calls_begin())
    {
        if ((handed = wine_afd_defer(st->s, conn->s))) held_close(conn, FALSE);
        platform_calls_end();
    }
    if (handed) return;
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

    if (!wine_afd_available() || in_size < sizeof(GUID) || out_size < sizeof(void *)) return;
    if (memcmp(in, &acceptex_guid, sizeof(GUID))) return;
    platform_acceptex = *(LPFN_ACCEPTEX *)out;
    *(LPFN_ACCEPTEX *)out = front_acceptex;
}
