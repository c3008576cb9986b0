/* The fault seam, compiled into test builds only (-DWS2_FAULTS): errors that a real stack
 * cannot produce on demand.  WS2_32_FAULTS="step=code,step=code" makes each named step of
 * the accept path fail with that WSA code while the variable is set; "alloc=1" makes the
 * front's allocations fail, "platform=1" hides the platform DLL and "lack=NAME" one of its
 * functions (both read once, when the platform is loaded); "pause=MS" holds each accept that
 * much just before it reaches the platform, so that a test can close the listener then. */

#include <stdlib.h>
#include "ws2_32_private.h"

/* Whether WS2_32_FAULTS holds KEY=VALUE; VALUE NULL: any value, copied to FOUND. */
static BOOL fault_find(const char *key, const char *value, char *found, size_t found_size)
{
    char spec[256], *token, *next;
    size_t len = strlen(key);
    DWORD size = GetEnvironmentVariableA("WS2_32_FAULTS", spec, sizeof(spec));

    if (!size || size >= sizeof(spec)) return FALSE;
    for (token = strtok_r(spec, ",", &next); token; token = strtok_r(NULL, ",", &next))
    {
        if (strncmp(token, key, len) || token[len] != '=') continue;
        if (value && strcmp(token + len + 1, value)) continue;
        if (found) lstrcpynA(found, token + len + 1, found_size);
        TRACE("injecting %s", token);
        return TRUE;
    }
    return FALSE;
}

int fault_check(const char *step)
{
    char code[16];

    return fault_find(step, NULL, code, sizeof(code)) ? atoi(code) : 0;
}

BOOL fault_lacks(const char *name)
{
    return fault_find("lack", name, NULL, 0);
}

void fault_pause(const char *step)
{
    int ms = fault_check(step);

    if (ms > 0) Sleep(ms);
}
