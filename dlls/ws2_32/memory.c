/* Pointer checks that never fault (WSAEFAULT instead of a crash), and the front's allocations.
 *
 * A check touches one byte per page with a probe, as the platform would when it uses the
 * memory: a read, or for memory it would write an atomic "or 0", which never changes a value.
 * A bad pointer makes the probe's one instruction fault; a vectored handler, made once, sees
 * that the fault is at that instruction and resumes at the probe's failure exit.  A good
 * pointer so costs a few loads, where asking the kernel about each page costs a system call. */

#include "ws2_32_private.h"

#define PAGE_BYTES 0x1000

/* Each probe returns 1, or 0 when its access faulted. */
extern int probe_read(const void *p) __asm__("ws2_probe_read");
extern int probe_write(const void *p) __asm__("ws2_probe_write");
extern const char probe_read_at[] __asm__("ws2_probe_read_at");
extern const char probe_write_at[] __asm__("ws2_probe_write_at");
extern const char probe_failed[] __asm__("ws2_probe_failed");

#ifdef _WIN64
__asm__(".text\n"
        ".p2align 4\n"
        "ws2_probe_read:\n\t"
        "movl $1, %eax\n"
        "ws2_probe_read_at:\n\t"
        "movb (%rcx), %cl\n\t"
        "ret\n"
        ".p2align 4\n"
        "ws2_probe_write:\n\t"
        "movl $1, %eax\n"
        "ws2_probe_write_at:\n\t"
        "lock orb $0, (%rcx)\n\t"
        "ret\n"
        ".p2align 4\n"
        "ws2_probe_failed:\n\t"
        "xorl %eax, %eax\n\t"
        "ret\n");
#else
__asm__(".text\n"
        ".p2align 4\n"
        "ws2_probe_read:\n\t"
        "movl 4(%esp), %ecx\n\t"
        "movl $1, %eax\n"
        "ws2_probe_read_at:\n\t"
        "movb (%ecx), %cl\n\t"
        "ret\n"
        ".p2align 4\n"
        "ws2_probe_write:\n\t"
        "movl 4(%esp), %ecx\n\t"
        "movl $1, %eax\n"
        "ws2_probe_write_at:\n\t"
        "lock orb $0, (%ecx)\n\t"
        "ret\n"
        ".p2align 4\n"
        "ws2_probe_failed:\n\t"
        "xorl %eax, %eax\n\t"
        "ret\n");
#endif

static INIT_ONCE handler_once = INIT_ONCE_STATIC_INIT;
static void *handler;
static ULONG_PTR lowest, highest;  /* the application's addresses: others are the system's */

/* Only a fault of the probes' own instructions is ours; every other exception goes on. */
static LONG CALLBACK probe_fault(EXCEPTION_POINTERS *info)
{
    const EXCEPTION_RECORD *rec = info->ExceptionRecord;

    if (rec->ExceptionCode != EXCEPTION_ACCESS_VIOLATION && rec->ExceptionCode != EXCEPTION_GUARD_PAGE &&
        rec->ExceptionCode != EXCEPTION_IN_PAGE_ERROR)
        return EXCEPTION_CONTINUE_SEARCH;
    if (rec->ExceptionAddress != (void *)probe_read_at && rec->ExceptionAddress != (void *)probe_write_at)
        return EXCEPTION_CONTINUE_SEARCH;
#ifdef _WIN64
    info->ContextRecord->Rip = (ULONG_PTR)probe_failed;
#else
    info->ContextRecord->Eip = (ULONG_PTR)probe_failed;
#endif
    return EXCEPTION_CONTINUE_EXECUTION;
}

static BOOL CALLBACK add_handler(INIT_ONCE *once, void *param, void **context)
{
    SYSTEM_INFO info;

    (void)once; (void)param; (void)context;
    GetSystemInfo(&info);
    lowest = (ULONG_PTR)info.lpMinimumApplicationAddress;
    highest = (ULONG_PTR)info.lpMaximumApplicationAddress;
    handler = AddVectoredExceptionHandler(1, probe_fault);
    return TRUE;
}

/* The handler points into this module: it goes when the module is unloaded. */
void mem_process_detach(void)
{
    if (handler) RemoveVectoredExceptionHandler(handler);
    handler = NULL;
}

#define WRITABLE (PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY)
#define READABLE (WRITABLE | PAGE_READONLY | PAGE_EXECUTE_READ)
#define EXECUTABLE (PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY)

/* Every page of [ptr, ptr + size) is committed with one of the wanted protections: asked of
 * the kernel, for what a probe cannot tell (code) or when there is no handler. */
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

/* One byte of each page of [ptr, ptr + size), the first and the last byte included. */
static BOOL mem_probe(const void *ptr, SIZE_T size, BOOL write)
{
    ULONG_PTR p = (ULONG_PTR)ptr, last = p + (size ? size : 1) - 1;

    if (!ptr || last < p) return FALSE;
    InitOnceExecuteOnce(&handler_once, add_handler, NULL, NULL);
    if (!handler) return mem_has(ptr, size, write ? WRITABLE : READABLE);
    /* Under Wine, the system's side may be mapped there (a 32-bit process's Linux stack). */
    if (p < lowest || last > highest) return FALSE;
    for (;;)
    {
        if (!(write ? probe_write((const void *)p) : probe_read((const void *)p))) return FALSE;
        if ((p | (PAGE_BYTES - 1)) >= last) return TRUE;
        p = (p | (PAGE_BYTES - 1)) + 1;
    }
}

BOOL mem_writable(const void *ptr, SIZE_T size) { return mem_probe(ptr, size, TRUE); }
BOOL mem_readable(const void *ptr, SIZE_T size) { return mem_probe(ptr, size, FALSE); }
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
