/* The forwarding stubs' slow path: what a stub does when its platform entry is not there
 * yet, is missing, or may not be called now.  The stubs themselves are generated from
 * ws2_32.spec (tools/gen_exports.py). */

#include "ws2_32_private.h"

/* The slow path of every forwarding stub: the first call, a missing function, or a call made
 * while a WinSock 1.1 blocking call is in progress.  ARGS points at the export's arguments. */
void *ws2_stub_resolve(unsigned int index, ULONG_PTR *args)
{
    const struct ws2_export_info *info = &ws2_exports[index];
    DWORD last_error = GetLastError();
    int error;

    if (info->refusable && blocking_call_in_progress())
        error = WSAEINPROGRESS;
    else if (platform_load() && ws2_platform_table[index])
    {
        /* Loading the platform must not change what WSAGetLastError tells the caller. */
        SetLastError(last_error);
        return ws2_platform_table[index];
    }
    else
        error = WSAEOPNOTSUPP;

    TRACE("%s fails with %d", info->name, error);
    if (info->errno_arg)
    {
        int *errno_ptr = (int *)args[info->errno_arg - 1];
        if (mem_writable(errno_ptr, sizeof(*errno_ptr))) *errno_ptr = error;
    }
    SetLastError(error);
    return NULL;
}

/* What a stub returns for an export whose failure value is the error code itself. */
int ws2_stub_last_error(void)
{
    return GetLastError();
}
