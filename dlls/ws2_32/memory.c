/* Pointer checks that never fault (WSAEFAULT instead of a crash), and the front's allocations. */

#include "ws2_32_private.h"

#define WRITABLE (PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY)
#define READABLE (WRITABLE | PAGE_READONLY | PAGE_EXECUTE_READ)
#define EXECUTABLE (PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY)

/* Every page of [ptr, ptr + size) is committed with one of the wanted protections. */
static BOOL mem_has(const void *ptr, SIZE_T size, DWORD wanted)
{
    const char *p = ptr, *end = (const char *)ptr + (size ? size : 1);
    MEMORY_BASIC_INFORMATION info;

    if (!ptr || end < p) return FALSE;
    while (p < end)
    {
        if (!VirtualQuery(p, &info, sizeof(info))) return FALSE;
        if (info.State != MEM_COMMIT) return FALSE;
        if (info.Protect & (PAGE_GUARD | PAGE_NOACCESS)) return FALSE;
        if (!(info.Protect & wanted)) return FALSE;
        p = (const char *)info.BaseAddress + info.RegionSize;
    }
    return TRUE;
}

BOOL mem_writable(const void *ptr, SIZE_T size) { return mem_has(ptr, size, WRITABLE); }
BOOL mem_readable(const void *ptr, SIZE_T size) { return mem_has(ptr, size, READABLE); }
BOOL mem_executable(const void *ptr) { return mem_has(ptr, 1, EXECUTABLE); }

/* Zeroed; the fault seam can make it fail. */
void *mem_alloc(SIZE_T size)
{
    if (fault_check("alloc")) return NULL;
    return HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, size);
}

void mem_free(void *ptr)
{
    HeapFree(GetProcessHeap(), 0, ptr);
}
