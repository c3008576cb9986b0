/* A deferred connection under Wine waits where Wine's own WSAAccept leaves it: in the server's
 * deferral slot of the listening socket.  Whichever handle of the socket accepts next, in this
 * process or another, is given it first, and it lives as long as the socket does.  The front
 * keeps what it knew of it, for the checks and the replay of a connection that waited.  The
 * slot holds one: a second deferral while the front's is there waits in the front's queue. */

#include "ws2_32_private.h"
#include <winternl.h>

/* Whether a select or WSAPoll should see ST readable (E1).  Wine's server does not count its
 * slot as readable, and only this process knows the slot is full: while another process holds
 * a handle of the socket, it may have emptied the slot unseen, so the front says no more than
 * the platform does. */
BOOL sockstate_holds(const struct sockstate *st)
{
    return st->held || (st->platform_deferred && !st->deferral_shared);
}

static NTSTATUS (WINAPI *query_object)(HANDLE, OBJECT_INFORMATION_CLASS, void *, ULONG, ULONG *);
static INIT_ONCE query_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK find_query(INIT_ONCE *once, void *param, void **context)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");

    if (ntdll) query_object = (void *)GetProcAddress(ntdll, "NtQueryObject");
    return TRUE;
}

/* Whether the socket has handles besides the ones of ST in this process. */
static BOOL handles_elsewhere(struct sockstate *st, SOCKET s)
{
    PUBLIC_OBJECT_BASIC_INFORMATION info;

    InitOnceExecuteOnce(&query_once, find_query, NULL, NULL);
    if (!query_object || query_object((HANDLE)s, ObjectBasicInformation, &info, sizeof(info), NULL)) return TRUE;
    return info.HandleCount > (ULONG)st->handles;
}

/* With ST's lock held exclusively, on an open listener (the last WSACleanup closes the states
 * before the sockets).  TRUE when the server took CONN; the caller closes its own handle. */
BOOL server_hold(struct sockstate *st, SOCKET s, struct held_conn *conn)
{
    if (st->platform_deferred || !wine_afd_available()) return FALSE;
    /* An accept waiting in the server could take the connection later, unseen: they end first
     * (and look again), so that the one accept that claims it is one that completes at once. */
    if (st->wine_accept) wine_accept_drain(st);
    if (!wine_afd_defer(s, conn->s)) return FALSE;
    st->server_held = *conn;
    st->server_held.next = NULL;
    st->deferral_shared = handles_elsewhere(st, s);
    st->platform_deferred = TRUE;
    InterlockedIncrement(&ws2_listeners_holding);
    wake_waiters();
    return TRUE;
}

/* The slot was emptied (by an accept of the front, or an AcceptEx).  TRUE when it held the
 * front's connection. */
BOOL forget_server_deferral(struct sockstate *st)
{
    if (!InterlockedExchange(&st->platform_deferred, FALSE)) return FALSE;
    InterlockedDecrement(&ws2_listeners_holding);
    return TRUE;
}

/* With ST's lock held (shared at least), after an accept of the platform gave CONN: the server
 * gives the connection in its slot before any other, so while the front's was there, CONN is
 * it, and it is handed out as a connection that waited. */
void claim_server_deferral(struct sockstate *st, struct held_conn *conn)
{
    if (!forget_server_deferral(st)) return;
    conn->deferred = TRUE;
    conn->from_server = TRUE;
    conn->options_version = st->server_held.options_version;
    conn->nonblocking = st->server_held.nonblocking;
    conn->app_reg = conn->private_reg = FALSE;
}

/* Before the front lets go of a listener (its last handle here is closed, or an AcceptEx is
 * posted): the deferred connection at the head of its queue goes to the server's slot, if
 * that is free, so that another handle or the AcceptEx takes it before any later one. */
void hold_in_server(struct sockstate *st, SOCKET s)
{
    struct held_conn *conn = NULL;

    AcquireSRWLockExclusive(&st->lock);
    if (!st->closed && st->held && st->held->deferred && server_hold(st, s, st->held)) conn = held_pop(st);
    ReleaseSRWLockExclusive(&st->lock);
    if (conn) held_release(conn);
}
