/* Module entry and the trace. */

#include <stdarg.h>
#include <stdio.h>
#include "ws2_32_private.h"

HMODULE ws2_module;
BOOL ws2_trace_enabled;

/* WS2_32_TRACE=1 turns the trace on; it is read once, so the check on each call is one load. */
static void trace_init(void)
{
    char value[8];
    DWORD len = GetEnvironmentVariableA("WS2_32_TRACE", value, sizeof(value));
    ws2_trace_enabled = len > 0 && len < sizeof(value) && value[0] != '0';
}

void ws2_trace(const char *func, const char *fmt, ...)
{
    char line[512];
    int len;
    va_list args;
    DWORD error = GetLastError();

    len = snprintf(line, sizeof(line), "ws2_32:%04lx:%s: ", GetCurrentThreadId(), func);
    va_start(args, fmt);
    vsnprintf(line + len, sizeof(line) - len, fmt, args);
    va_end(args);
    len = strlen(line);
    if (len < (int)sizeof(line) - 1) line[len++] = '\n';
    line[len] = 0;
    OutputDebugStringA(line);
    fputs(line, stderr);
    SetLastError(error);
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, void *reserved)
{
    switch (reason)
    {
    case DLL_PROCESS_ATTACH:
        ws2_module = instance;
        trace_init();
        blocking_process_attach();
        wake_process_attach();
        break;
    case DLL_THREAD_DETACH:
        blocking_thread_detach();
        wake_thread_detach();
        break;
    case DLL_PROCESS_DETACH:
        if (!reserved) mem_process_detach();
        break;
    }
    return TRUE;
}
