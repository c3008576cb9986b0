/* The fault seam, compiled into test builds only (-DWS2_FAULTS): errors that a real stack
 * cannot produce on demand.  WS2_32_FAULTS="step=code,step=code" makes each named step of
 * the accept path fail with that WSA code while the variable is set. */

#include <stdlib.h>
#include "ws2_32_private.h"

int fault_check(const char *step)
{
    char spec[256], *token, *next;
    size_t len = strlen(step);
    DWORD size = GetEnvironmentVariableA("WS2_32_FAULTS", spec, sizeof(spec));

    if (!size || size >= sizeof(spec)) return 0;
    for (token = strtok_r(spec, ",", &next); token; token = strtok_r(NULL, ",", &next))
    {
        if (!strncmp(token, step, len) && token[len] == '=')
        {
            TRACE("injecting %s at %s", token + len + 1, step);
            return atoi(token + len + 1);
        }
    }
    return 0;
}
