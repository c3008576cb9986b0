/* Binds the DLL under test (see ws2test.h). */

#include "ws2test.h"

static struct ws2_api bound;
struct ws2_api *ws2 = &bound;
const char *ws2_target = "dropin";

void *imported_function(void);

/* Binds MODULE's functions; what it lacks comes from FALLBACK, if given. */
BOOL ws2_bind_module(struct ws2_api *api, HMODULE module, const struct ws2_api *fallback)
{
    BOOL complete = TRUE;

    memset(api, 0, sizeof(*api));
    api->module = module;
    GetModuleFileNameA(module, api->path, sizeof(api->path));
#define F(name) \
    if (!(api->p_##name = (void *)GetProcAddress(module, #name)) && \
        !(fallback && (api->p_##name = fallback->p_##name))) complete = FALSE;
    WS2_TEST_FUNCS
#undef F
    return complete;
}

/* The platform's ws2_32 by full path, as the DLL itself finds it. */
HMODULE ws2_load_platform(void)
{
    char path[MAX_PATH + 16];

    GetSystemDirectoryA(path, MAX_PATH);
    strcat(path, "\\ws2_32.dll");
    return LoadLibraryA(path);
}

static HMODULE target_module(void)
{
    char value[MAX_PATH];
    HMODULE module = NULL;

    if (GetEnvironmentVariableA("WS2_TEST_TARGET", value, sizeof(value)) && value[0])
        ws2_target = strdup(value);
    if (!strcmp(ws2_target, "path"))
    {
        if (!GetEnvironmentVariableA("WS2_TEST_DLL", value, sizeof(value))) return NULL;
        return LoadLibraryA(value);
    }
    if (!strcmp(ws2_target, "platform")) return ws2_load_platform();
    if (!strcmp(ws2_target, "dropin"))
        GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                           imported_function(), &module);
    return module;
}

BOOL ws2_bind(void)
{
    HMODULE module = target_module();

    if (!module)
    {
        ok(0, "target %s: cannot load the DLL under test (error %lu)\n", ws2_target, GetLastError());
        return FALSE;
    }
    if (!ws2_bind_module(ws2, module, NULL))
    {
        ok(0, "target %s: %s lacks a function the tests use\n", ws2_target, ws2->path);
        return FALSE;
    }
    trace("target %s: bound %s\n", ws2_target, ws2->path);
    if (!strcmp(ws2_target, "path"))
    {
        char wanted[MAX_PATH] = "", full[MAX_PATH] = "";

        GetEnvironmentVariableA("WS2_TEST_DLL", wanted, sizeof(wanted));
        GetFullPathNameA(wanted, sizeof(full), full, NULL);
        /* Where the loader hands out another copy (KnownDLLs), nothing here tests our DLL. */
        if (!ok(!lstrcmpiA(full, ws2->path), "asked for %s, the loader gave %s\n", full, ws2->path)) return FALSE;
    }
    return TRUE;
}
