/* WSAStartup and WSACleanup: the front counts them itself, and the platform counts too. */

#include "ws2_32_private.h"

static volatile LONG startup_count;
static volatile LONG negotiated_version;

BOOL ws2_started(void)
{
    return startup_count > 0;
}

/* The front's own platform calls on the connections it accepts run with this held shared, and
 * only while WinSock is started; the last WSACleanup holds it exclusively while the platform
 * closes every socket.  So none of those calls is in flight when its socket is closed (Wine
 * 8.0's server can abort when a socket closes while a request of it is being collected). */
static SRWLOCK cleanup_lock = SRWLOCK_INIT;

BOOL platform_calls_begin(void)
{
    AcquireSRWLockShared(&cleanup_lock);
    if (ws2_started()) return TRUE;
    ReleaseSRWLockShared(&cleanup_lock);
    return FALSE;
}

void platform_calls_end(void)
{
    ReleaseSRWLockShared(&cleanup_lock);
}

/* The WinSock 1.1 blocking-call model applies while 1.x is what WSAStartup last negotiated. */
BOOL ws2_winsock11(void)
{
    return LOBYTE(negotiated_version) == 1;
}

int front_entry(void)
{
    if (!ws2_started()) return WSANOTINITIALISED;
    if (blocking_call_in_progress()) return WSAEINPROGRESS;
    return 0;
}

int WSAAPI WSAStartup(WORD version, WSADATA *data)
{
    int ret;

    if (!platform_load())
    {
        TRACE("no platform ws2_32 could be loaded: WSASYSNOTREADY");
        return WSASYSNOTREADY;
    }
    if (blocking_call_in_progress()) return WSAEINPROGRESS;
    /* The version is judged before the pointer: one below 1.0 is refused whatever DATA is. */
    if (!mem_writable(data, sizeof(*data))) return LOBYTE(version) ? WSAEFAULT : WSAVERNOTSUPPORTED;
    ret = PLATFORM(WSAStartup)(version, data);
    if (ret) return ret;
    InterlockedExchange(&negotiated_version, data->wVersion);
    InterlockedIncrement(&startup_count);
    TRACE("version %d.%d requested, %d.%d negotiated, count %ld", LOBYTE(version), HIBYTE(version),
          LOBYTE(data->wVersion), HIBYTE(data->wVersion), startup_count);
    return 0;
}

int WSAAPI WSACleanup(void)
{
    LONG count;

    if (blocking_call_in_progress()) return fail_int(WSAEINPROGRESS);
    do
    {
        count = startup_count;
        if (!count) return fail_int(WSANOTINITIALISED);
    } while (InterlockedCompareExchange(&startup_count, count - 1, count) != count);

    TRACE("count %ld", count - 1);
    /* The last cleanup ends every socket: the platform closes its own, the front what it holds. */
    if (count == 1)
    {
        sockstate_close_all();
        wake_cleanup();
        AcquireSRWLockExclusive(&cleanup_lock);
    }
    PLATFORM(WSACleanup)();
    if (count == 1) ReleaseSRWLockExclusive(&cleanup_lock);
    /* A call already past its entry check may have adopted a listener meanwhile (it can no
     * longer accept there): its state goes too, before a new socket can take the handle. */
    if (count == 1 && !ws2_started()) sockstate_close_all();
    return 0;
}
