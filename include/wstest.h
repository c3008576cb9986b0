/*
 * The test harness: the API and output of Wine's test.h, written for this project, so that
 * a test reads the same here and in Wine and can be ported either way.
 *
 *   ok(cond, fmt, ...)    a check; its message is printed when it fails
 *   todo_wine / todo_if(c) / todo_wine_if(c) / flaky / flaky_if(c)   modifiers for the next check
 *   broken(cond)          an accepted Windows-only deviation (false on Wine)
 *   skip / win_skip / trace (fmt, ...)
 *   winetest_push_context(fmt, ...) / winetest_pop_context()
 *   subtest("name", fn)   a part of a unit the runner can start on its own
 *   START_TEST(unit)
 *
 * A program's units are listed in a testlist.c made by tools/make_testlist.py, which
 * defines STANDALONE before including this header; that file gets main() and the state.
 * Command line: `prog --list`, `prog UNIT --list`, `prog UNIT`, `prog UNIT SUBTEST`.
 */

#ifndef WSTEST_H
#define WSTEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

extern int winetest_debug;
extern int winetest_interactive;
extern const char *winetest_unit;

void winetest_set_location(const char *file, int line);
int winetest_ok(int condition, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void winetest_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void winetest_win_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void winetest_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void winetest_push_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void winetest_pop_context(void);
void winetest_start_todo(int is_todo);
int winetest_loop_todo(void);
void winetest_end_todo(void);
void winetest_start_flaky(int is_flaky);
int winetest_loop_flaky(void);
void winetest_end_flaky(void);
int winetest_platform_is_wine(void);
int winetest_get_mainargs(char ***argv);
int winetest_listing(void);
void winetest_subtest(const char *name, void (*fn)(void));
int winetest_run_child(const char *args);

#define ok_(file, line) (winetest_set_location(file, line), 0) ? 0 : winetest_ok
#define ok ok_(__FILE__, __LINE__)
#define skip (winetest_set_location(__FILE__, __LINE__), 0) ? (void)0 : winetest_skip
#define win_skip (winetest_set_location(__FILE__, __LINE__), 0) ? (void)0 : winetest_win_skip
#define trace (winetest_set_location(__FILE__, __LINE__), 0) ? (void)0 : winetest_trace

#define todo_if(is_todo) for (winetest_start_todo(is_todo); winetest_loop_todo(); winetest_end_todo())
#define todo_wine todo_if(winetest_platform_is_wine())
#define todo_wine_if(is_todo) todo_if((is_todo) && winetest_platform_is_wine())
#define flaky_if(is_flaky) for (winetest_start_flaky(is_flaky); winetest_loop_flaky(); winetest_end_flaky())
#define flaky flaky_if(1)
#define flaky_wine flaky_if(winetest_platform_is_wine())
#define broken(cond) (!winetest_platform_is_wine() && (cond))

#define subtest(name, fn) winetest_subtest(name, fn)

#define START_TEST(name) void func_##name(void)

#ifdef STANDALONE

struct winetest_unit
{
    const char *name;
    void (*func)(void);
};

extern const struct winetest_unit winetest_testlist[];

int winetest_debug = 1;
int winetest_interactive;
const char *winetest_unit = "";

static LONG winetest_successes, winetest_failures, winetest_todo_successes;
static LONG winetest_flaky_failures, winetest_skipped;
static int winetest_argc;
static char **winetest_argv;
static int winetest_list_mode;
static const char *winetest_selected;
static int winetest_selected_found;
static CRITICAL_SECTION winetest_output_lock;
static DWORD winetest_tls = TLS_OUT_OF_INDEXES;

/* Location, todo and context are per thread: tests start threads of their own. */
struct winetest_thread
{
    const char *file;
    int line;
    int todo_level;
    int todo_do_loop;
    int flaky_level;
    int flaky_do_loop;
    int context_count;
    char context[16][128];
};

/* Keeps the thread's last error: a check's arguments are evaluated after the location is set. */
static struct winetest_thread *winetest_thread(void)
{
    DWORD error = GetLastError();
    struct winetest_thread *t = TlsGetValue(winetest_tls);

    if (!t)
    {
        t = calloc(1, sizeof(*t));
        t->file = "";
        TlsSetValue(winetest_tls, t);
    }
    SetLastError(error);
    return t;
}

static const char *winetest_basename(const char *file)
{
    const char *p = strrchr(file, '/'), *q = strrchr(file, '\\');

    if (q > p) p = q;
    return p ? p + 1 : file;
}

/* One whole line at a time, written straight out, so a crash keeps what was printed. */
static void winetest_vprint(const char *kind, const char *fmt, va_list args)
{
    struct winetest_thread *t = winetest_thread();
    char line[4096];
    int len, i;

    len = snprintf(line, sizeof(line), "%s:%d: %s", winetest_basename(t->file), t->line, kind);
    for (i = 0; i < t->context_count && len < (int)sizeof(line); i++)
        len += snprintf(line + len, sizeof(line) - len, "%s: ", t->context[i]);
    if (len < (int)sizeof(line)) len += vsnprintf(line + len, sizeof(line) - len, fmt, args);
    if (len >= (int)sizeof(line)) len = sizeof(line) - 1;
    if (len && line[len - 1] != '\n' && len < (int)sizeof(line) - 1) line[len++] = '\n';
    line[len] = 0;
    EnterCriticalSection(&winetest_output_lock);
    fputs(line, stdout);
    fflush(stdout);
    LeaveCriticalSection(&winetest_output_lock);
}

void winetest_set_location(const char *file, int line)
{
    struct winetest_thread *t = winetest_thread();

    t->file = file;
    t->line = line;
}

int winetest_platform_is_wine(void)
{
    static int is_wine = -1;

    if (is_wine < 0)
        is_wine = GetProcAddress(GetModuleHandleA("ntdll.dll"), "wine_get_version") != NULL;
    return is_wine;
}

int winetest_ok(int condition, const char *fmt, ...)
{
    struct winetest_thread *t = winetest_thread();
    va_list args;

    if (winetest_list_mode) return 1;
    va_start(args, fmt);
    if (t->todo_level)
    {
        if (condition)
        {
            winetest_vprint("Test succeeded inside todo block: ", fmt, args);
            InterlockedIncrement(&winetest_failures);
        }
        else
        {
            if (winetest_debug > 0) winetest_vprint("Test marked todo: ", fmt, args);
            InterlockedIncrement(&winetest_todo_successes);
        }
    }
    else if (!condition)
    {
        if (t->flaky_level)
        {
            winetest_vprint("Test marked flaky: ", fmt, args);
            InterlockedIncrement(&winetest_flaky_failures);
        }
        else
        {
            winetest_vprint("Test failed: ", fmt, args);
            InterlockedIncrement(&winetest_failures);
        }
    }
    else
    {
        if (winetest_debug > 1) winetest_vprint("Test succeeded: ", fmt, args);
        InterlockedIncrement(&winetest_successes);
    }
    va_end(args);
    return condition;
}

void winetest_skip(const char *fmt, ...)
{
    va_list args;

    if (winetest_list_mode) return;
    va_start(args, fmt);
    winetest_vprint("Tests skipped: ", fmt, args);
    va_end(args);
    InterlockedIncrement(&winetest_skipped);
}

/* Wine is expected to have what Windows lacks: there a win_skip is a failure. */
void winetest_win_skip(const char *fmt, ...)
{
    va_list args;

    if (winetest_list_mode) return;
    va_start(args, fmt);
    if (winetest_platform_is_wine())
    {
        winetest_vprint("Test failed: ", fmt, args);
        InterlockedIncrement(&winetest_failures);
    }
    else
    {
        winetest_vprint("Tests skipped: ", fmt, args);
        InterlockedIncrement(&winetest_skipped);
    }
    va_end(args);
}

void winetest_trace(const char *fmt, ...)
{
    va_list args;

    if (winetest_list_mode || winetest_debug <= 0) return;
    va_start(args, fmt);
    winetest_vprint("", fmt, args);
    va_end(args);
}

void winetest_push_context(const char *fmt, ...)
{
    struct winetest_thread *t = winetest_thread();
    va_list args;

    if (t->context_count < 16)
    {
        va_start(args, fmt);
        vsnprintf(t->context[t->context_count], sizeof(t->context[0]), fmt, args);
        va_end(args);
    }
    t->context_count++;
}

void winetest_pop_context(void)
{
    struct winetest_thread *t = winetest_thread();

    if (t->context_count) t->context_count--;
}

void winetest_start_todo(int is_todo)
{
    struct winetest_thread *t = winetest_thread();

    t->todo_level = (t->todo_level << 1) | (is_todo != 0);
    t->todo_do_loop = 1;
}

int winetest_loop_todo(void)
{
    struct winetest_thread *t = winetest_thread();
    int do_loop = t->todo_do_loop;

    t->todo_do_loop = 0;
    return do_loop;
}

void winetest_end_todo(void)
{
    struct winetest_thread *t = winetest_thread();

    t->todo_level >>= 1;
}

void winetest_start_flaky(int is_flaky)
{
    struct winetest_thread *t = winetest_thread();

    t->flaky_level = (t->flaky_level << 1) | (is_flaky != 0);
    t->flaky_do_loop = 1;
}

int winetest_loop_flaky(void)
{
    struct winetest_thread *t = winetest_thread();
    int do_loop = t->flaky_do_loop;

    t->flaky_do_loop = 0;
    return do_loop;
}

void winetest_end_flaky(void)
{
    struct winetest_thread *t = winetest_thread();

    t->flaky_level >>= 1;
}

int winetest_get_mainargs(char ***argv)
{
    *argv = winetest_argv;
    return winetest_argc;
}

int winetest_listing(void)
{
    return winetest_list_mode;
}

void winetest_subtest(const char *name, void (*fn)(void))
{
    if (winetest_list_mode)
    {
        printf("%s %s\n", winetest_unit, name);
        return;
    }
    if (winetest_selected && strcmp(winetest_selected, name)) return;
    winetest_selected_found = 1;
    winetest_push_context("%s", name);
    fn();
    winetest_pop_context();
}

/* Runs this program again with ARGS; the child prints its own results. */
int winetest_run_child(const char *args)
{
    char cmdline[MAX_PATH * 2];
    STARTUPINFOA si = { sizeof(si) };
    PROCESS_INFORMATION pi;
    DWORD code = 1;

    snprintf(cmdline, sizeof(cmdline), "\"%s\" %s", winetest_argv[0], args);
    if (!CreateProcessA(NULL, cmdline, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
    {
        winetest_ok(0, "cannot start child %s: %lu\n", cmdline, GetLastError());
        return -1;
    }
    WaitForSingleObject(pi.hProcess, INFINITE);
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    winetest_ok(code == 0, "child %s exited with %lu\n", args, code);
    return code;
}

static int winetest_run_unit(const struct winetest_unit *unit)
{
    LONG failures;

    winetest_unit = unit->name;
    unit->func();
    if (winetest_list_mode) return 0;
    if (winetest_selected && !winetest_selected_found)
    {
        winetest_set_location(__FILE__, __LINE__);
        winetest_ok(0, "no subtest named %s in %s\n", winetest_selected, unit->name);
    }
    failures = winetest_failures;
    EnterCriticalSection(&winetest_output_lock);
    printf("%04lx:%s: %ld tests executed (%ld marked as todo, %ld as flaky, %ld %s), %ld skipped.\n",
           GetCurrentProcessId(), unit->name,
           winetest_successes + winetest_failures + winetest_todo_successes + winetest_flaky_failures,
           winetest_todo_successes, winetest_flaky_failures, failures,
           failures == 1 ? "failure" : "failures", winetest_skipped);
    fflush(stdout);
    LeaveCriticalSection(&winetest_output_lock);
    return failures > 255 ? 255 : (int)failures;
}

static const struct winetest_unit *winetest_find(const char *name)
{
    const struct winetest_unit *unit;

    for (unit = winetest_testlist; unit->name; unit++)
        if (!strcmp(unit->name, name)) return unit;
    return NULL;
}

int main(int argc, char **argv)
{
    const struct winetest_unit *unit;
    char value[16];
    int ret = 0;

    winetest_argc = argc;
    winetest_argv = argv;
    winetest_tls = TlsAlloc();
    InitializeCriticalSection(&winetest_output_lock);
    if (GetEnvironmentVariableA("WINETEST_DEBUG", value, sizeof(value))) winetest_debug = atoi(value);
    if (GetEnvironmentVariableA("WINETEST_INTERACTIVE", value, sizeof(value))) winetest_interactive = atoi(value);

    if (argc < 2)
    {
        for (unit = winetest_testlist; unit->name; unit++) ret |= winetest_run_unit(unit);
        return ret;
    }
    if (!strcmp(argv[1], "--list"))
    {
        for (unit = winetest_testlist; unit->name; unit++) printf("%s\n", unit->name);
        return 0;
    }
    if (!(unit = winetest_find(argv[1])))
    {
        fprintf(stderr, "%s: no test unit named %s\n", argv[0], argv[1]);
        return 2;
    }
    if (argc > 2 && !strcmp(argv[2], "--list")) winetest_list_mode = 1;
    else if (argc > 2) winetest_selected = argv[2];
    return winetest_run_unit(unit);
}

#endif /* STANDALONE */

#endif /* WSTEST_H */
