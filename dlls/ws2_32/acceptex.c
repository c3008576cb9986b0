/* AcceptEx after a deferral (D3): under Wine, the AcceptEx pointer WSAIoctl hands out is the
 * front's: a deferred connection the front still holds goes to the server's deferral slot
 * first, so that the AcceptEx takes it before any later connection. */

#include "ws2_32_private.h"

static LPFN_ACCEPTEX platform_acceptex;

static BOOL WINAPI front_acceptex(SOCKET listener, SOCKET accepted, void *buffer, DWORD recv_len,
                                 DWORD local_len, DWORD remote_len, DWORD *received, OVERLAPPED *ov)
{
    struct sockstate *st = sockstate_get(listener);
    BOOL ret;

    if (st && st->listening) hold_in_server(st, listener);
    ret = platform_acceptex(listener, accepted, buffer, recv_len, local_len, remote_len, received, ov);
    /* An AcceptEx that completed at once took what the server's slot held.  One the server
     * queued did not (a queued one takes it only when a later connection comes, unseen here;
     * the next accept of the front claims the slot then). */
    if (st && ret) forget_server_deferral(st);
    if (st) sockstate_release(st);
    return ret;
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
