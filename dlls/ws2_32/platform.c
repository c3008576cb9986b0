/* The platform: the system's own ws2_32, loaded once, on first use, by full path. */

#include <wchar.h>
#include "ws2_32_private.h"

/* Read by the forwarding stubs: an entry is filled once and never changes after. */
void *ws2_platform_table[WS2_EXPORT_COUNT];

static INIT_ONCE platform_once = INIT_ONCE_STATIC_INIT;
static HMODULE platform_module;

#ifdef _WIN64
#define WINE_PE_DIR L"\\x86_64-windows\\ws2_32.dll"
#else
#define WINE_PE_DIR L"\\i386-windows\\ws2_32.dll"
#endif

/* Loads PATH unless it is this module (as when installed into a Wine prefix's system folder). */
static HMODULE load_other(const WCHAR *path)
{
    HMODULE module = LoadLibraryExW(path, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);

    if (module == ws2_module)
    {
        FreeLibrary(module);
        return NULL;
    }
    return module;
}

/* Wine names its own DLL folders in WINEDLLDIR0, WINEDLLDIR1... as NT paths. */
static HMODULE load_wine_builtin(void)
{
    WCHAR name[16], path[MAX_PATH + 64];
    HMODULE module = NULL;
    int i;

    for (i = 0; i < 10 && !module; i++)
    {
        const WCHAR *dir = path;
        DWORD len;

        swprintf(name, 16, L"WINEDLLDIR%d", i);
        len = GetEnvironmentVariableW(name, path, MAX_PATH);
        if (!len || len >= MAX_PATH) break;
        if (!wcsncmp(path, L"\\??\\", 4)) dir += 4;
        memmove(path, dir, (wcslen(dir) + 1) * sizeof(WCHAR));
        wcscat(path, WINE_PE_DIR);
        module = load_other(path);
    }
    return module;
}

static HMODULE load_platform_module(void)
{
    WCHAR path[MAX_PATH + 16];
    UINT len = GetSystemDirectoryW(path, MAX_PATH);
    HMODULE module = NULL;

    if (len && len < MAX_PATH)
    {
        wcscat(path, L"\\ws2_32.dll");
        module = load_other(path);
    }
    if (!module) module = load_wine_builtin();
    return module;
}

/* The front cannot work without these; a platform lacking one is not used at all. */
static BOOL front_needs_met(void)
{
    unsigned int i;

    for (i = 0; i < WS2_EXPORT_COUNT; i++)
    {
        if (ws2_exports[i].front && !ws2_platform_table[i])
        {
            TRACE("platform lacks %s, which the front needs", ws2_exports[i].name);
            return FALSE;
        }
    }
    return ws2_platform_table[WS2_getsockname] && ws2_platform_table[WS2_WSAGetLastError];
}

static BOOL CALLBACK platform_init(INIT_ONCE *once, void *param, void **context)
{
    HMODULE module = fault_check("platform") ? NULL : load_platform_module();
    unsigned int i;

    if (!module)
    {
        TRACE("cannot load the platform ws2_32 (error %lu): not in the system directory, "
              "and no Wine builtin found", GetLastError());
        return TRUE;
    }
    for (i = 0; i < WS2_EXPORT_COUNT; i++)
        if (!fault_lacks(ws2_exports[i].name))
            ws2_platform_table[i] = (void *)GetProcAddress(module, ws2_exports[i].name);
    /* Wine's loader answers by-name lookups with the module it looked up last; a lookup on
     * ourselves makes GetModuleHandle("ws2_32.dll") return this module again. */
    GetProcAddress(ws2_module, "WSAStartup");
    if (!front_needs_met())
    {
        memset(ws2_platform_table, 0, sizeof(ws2_platform_table));
        FreeLibrary(module);
        return TRUE;
    }
    platform_module = module;
    if (ws2_trace_enabled)
    {
        WCHAR path[MAX_PATH];
        GetModuleFileNameW(module, path, MAX_PATH);
        TRACE("platform is %ls", path);
    }
    return TRUE;
}

BOOL platform_load(void)
{
    InitOnceExecuteOnce(&platform_once, platform_init, NULL, NULL);
    return platform_module != NULL;
}
