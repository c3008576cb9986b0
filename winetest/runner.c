/*
 * runner.exe: runs test programs one unit or subtest per process, each under a time limit,
 * and tells which passed. Writes a winetest-format report and a plain summary on request.
 *
 *   runner.exe [-t SECONDS] [-o REPORT] [-s SUMMARY] [-l LABEL] [-i] [-q]
 *              [-e NAME=VALUE]... [-u UNIT]... PROG.exe|PATTERN...
 *
 * Runs the same under Wine and on Windows: Win32 calls only, no C runtime threads.
 */

#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_UNITS 1024
#define MAX_OUTPUT (32 << 20) /* a runaway test cannot fill memory */
#define TIMEOUT_EXIT_CODE 258 /* what winetest reports for a test it had to kill */

enum status { ST_PASS, ST_FAIL, ST_SKIP };
static const char *const status_names[] = { "PASS", "FAIL", "SKIP" };

struct options
{
    DWORD timeout;
    const char *report_path;
    const char *summary_path;
    const char *label;
    int informational;
    int quiet;
    const char *units[MAX_UNITS];
    int unit_seen[MAX_UNITS];
    int unit_count;
    char **progs;
    int prog_count;
};

/* What one child prints. Shared by the reader thread and the main thread, freed by
 * whichever lets go last, so a reader stuck on a pipe can be abandoned safely. */
struct output
{
    CRITICAL_SECTION lock;
    HANDLE pipe;
    char *data;
    size_t len, cap, echoed;
    int echo;
    int cut;
    LONG refs;
};

/* One finished child. */
struct run
{
    char *text; /* its output, without carriage returns */
    DWORD exit_code;
    DWORD pid;
    DWORD error;
    int started;
    int timed_out;
    double seconds;
};

/* The summary line a test process ends with. */
struct counts
{
    int found;
    long executed, todo, flaky, failures, skipped;
};

struct verdict
{
    enum status status;
    char reason[1024];
};

struct totals
{
    int passed, failed, skipped;
};

static struct options opts = { .timeout = 120 };
static struct totals totals;
static FILE *report_file, *summary_file;
static CRITICAL_SECTION echo_lock;

static void *xrealloc(void *ptr, size_t size)
{
    void *ret = realloc(ptr, size);

    if (!ret)
    {
        fprintf(stderr, "runner: out of memory\n");
        ExitProcess(2);
    }
    return ret;
}

static char *xstrdup(const char *str)
{
    size_t len = strlen(str) + 1;

    return memcpy(xrealloc(NULL, len), str, len);
}

static double now_seconds(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER count;

    if (!freq.QuadPart) QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&count);
    return (double)count.QuadPart / (double)freq.QuadPart;
}

/* ---- capturing a child's output ---- */

static void output_release(struct output *out)
{
    if (InterlockedDecrement(&out->refs)) return;
    CloseHandle(out->pipe);
    DeleteCriticalSection(&out->lock);
    free(out->data);
    free(out);
}

/* Echoes whole lines only, so output of one child never interleaves with the runner's. */
static void output_echo(struct output *out, int final)
{
    size_t end = out->len, i;

    if (!out->echo) return;
    if (!final)
        while (end > out->echoed && out->data[end - 1] != '\n') end--;
    if (end == out->echoed) return;
    EnterCriticalSection(&echo_lock);
    for (i = out->echoed; i < end; i++)
        if (out->data[i] != '\r') fputc(out->data[i], stdout);
    if (final && out->data[end - 1] != '\n') fputc('\n', stdout);
    fflush(stdout);
    LeaveCriticalSection(&echo_lock);
    out->echoed = end;
}

/* Past MAX_OUTPUT the pipe is still drained, so the child never blocks, but kept no more. */
static void output_append(struct output *out, const char *data, DWORD size)
{
    EnterCriticalSection(&out->lock);
    if (out->len + size > MAX_OUTPUT)
    {
        out->cut = 1;
        size = (DWORD)(MAX_OUTPUT - out->len);
    }
    if (out->len + size + 1 > out->cap)
    {
        out->cap = (out->len + size + 1) * 2;
        out->data = xrealloc(out->data, out->cap);
    }
    memcpy(out->data + out->len, data, size);
    out->len += size;
    output_echo(out, 0);
    LeaveCriticalSection(&out->lock);
}

static DWORD WINAPI reader_thread(void *arg)
{
    struct output *out = arg;
    char chunk[4096];
    DWORD got;

    while (ReadFile(out->pipe, chunk, sizeof(chunk), &got, NULL) && got)
        output_append(out, chunk, got);
    output_release(out);
    return 0;
}

/* Takes what was printed so far, dropping carriage returns; stops further echoing. */
static char *output_take(struct output *out)
{
    char *text;
    size_t i, n = 0;

    EnterCriticalSection(&out->lock);
    output_echo(out, 1);
    out->echo = 0;
    text = xrealloc(NULL, out->len + 1);
    for (i = 0; i < out->len; i++)
        if (out->data[i] != '\r') text[n++] = out->data[i];
    text[n] = 0;
    if (out->cut) fprintf(stderr, "runner: output cut at %u MiB\n", MAX_OUTPUT >> 20);
    LeaveCriticalSection(&out->lock);
    return text;
}

/* ---- running one child ---- */

static HANDLE open_null_input(void)
{
    SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };

    return CreateFileA("NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                       OPEN_EXISTING, 0, NULL);
}

/* A job holds the child and whatever it starts, so a kill leaves nothing behind
 * that still holds the output pipe. */
static HANDLE make_job(HANDLE process)
{
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits = { 0 };
    HANDLE job = CreateJobObjectA(NULL, NULL);

    if (!job) return NULL;
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof(limits));
    if (!AssignProcessToJobObject(job, process))
    {
        CloseHandle(job);
        return NULL;
    }
    return job;
}

static int start_child(char *cmdline, HANDLE out_pipe, PROCESS_INFORMATION *pi)
{
    STARTUPINFOA si = { sizeof(si) };
    HANDLE input = open_null_input();
    BOOL ret;

    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = input;
    si.hStdOutput = out_pipe;
    si.hStdError = out_pipe;
    ret = CreateProcessA(NULL, cmdline, NULL, NULL, TRUE, CREATE_SUSPENDED, NULL, NULL, &si, pi);
    if (input != INVALID_HANDLE_VALUE) CloseHandle(input);
    return ret;
}

/* Waits for the reader to see the end of the pipe; if leftovers of the child still hold
 * it, kills them, and as a last resort abandons the reader. */
static void finish_reader(HANDLE thread, HANDLE job)
{
    if (WaitForSingleObject(thread, 2000) == WAIT_OBJECT_0) return;
    if (job) TerminateJobObject(job, TIMEOUT_EXIT_CODE);
    if (WaitForSingleObject(thread, 2000) == WAIT_OBJECT_0) return;
    CancelSynchronousIo(thread);
    WaitForSingleObject(thread, 1000);
}

static void wait_child(HANDLE process, struct run *run)
{
    if (WaitForSingleObject(process, opts.timeout * 1000) == WAIT_TIMEOUT)
    {
        TerminateProcess(process, TIMEOUT_EXIT_CODE);
        WaitForSingleObject(process, 10000);
        run->timed_out = 1;
    }
    if (!GetExitCodeProcess(process, &run->exit_code)) run->exit_code = TIMEOUT_EXIT_CODE;
    if (run->timed_out) run->exit_code = TIMEOUT_EXIT_CODE;
}

static void run_child(char *cmdline, int echo, struct run *run)
{
    SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
    PROCESS_INFORMATION pi;
    struct output *out;
    HANDLE write_end, thread, job;
    double start;

    memset(run, 0, sizeof(*run));
    out = xrealloc(NULL, sizeof(*out));
    memset(out, 0, sizeof(*out));
    InitializeCriticalSection(&out->lock);
    out->echo = echo;
    out->refs = 1;
    if (!CreatePipe(&out->pipe, &write_end, &sa, 0))
    {
        run->error = GetLastError();
        run->text = xstrdup("");
        output_release(out);
        return;
    }
    SetHandleInformation(out->pipe, HANDLE_FLAG_INHERIT, 0);

    start = now_seconds();
    run->started = start_child(cmdline, write_end, &pi);
    if (!run->started) run->error = GetLastError();
    CloseHandle(write_end);
    if (!run->started)
    {
        run->text = xstrdup("");
        output_release(out);
        return;
    }
    run->pid = pi.dwProcessId;
    job = make_job(pi.hProcess);
    InterlockedIncrement(&out->refs);
    thread = CreateThread(NULL, 0, reader_thread, out, 0, NULL);
    if (!thread) output_release(out);
    ResumeThread(pi.hThread);

    wait_child(pi.hProcess, run);
    run->seconds = now_seconds() - start;
    if (thread)
    {
        finish_reader(thread, job);
        CloseHandle(thread);
    }
    run->text = output_take(out);
    output_release(out);
    if (job) CloseHandle(job);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
}

/* Runs PROG with up to two arguments, each quoted. */
static void run_prog(const char *prog, const char *arg1, const char *arg2, int echo, struct run *run)
{
    char cmdline[4 * MAX_PATH];

    snprintf(cmdline, sizeof(cmdline), "\"%s\"%s%s%s%s%s%s", prog,
             arg1 ? " \"" : "", arg1 ? arg1 : "", arg1 ? "\"" : "",
             arg2 ? " \"" : "", arg2 ? arg2 : "", arg2 ? "\"" : "");
    run_child(cmdline, echo, run);
}

/* ---- reading the output ---- */

/* Calls FN for each line of TEXT, with the line cut out in place and put back after. */
static int for_each_line(char *text, int (*fn)(char *line, void *ctx), void *ctx)
{
    char *line = text, *end;
    int ret = 0;

    while (*line && !ret)
    {
        end = strchr(line, '\n');
        if (end) *end = 0;
        ret = fn(line, ctx);
        if (!end) break;
        *end = '\n';
        line = end + 1;
    }
    return ret;
}

/* The number just before POS, reading backwards from it. */
static long number_before(const char *start, const char *pos)
{
    while (pos > start && pos[-1] >= '0' && pos[-1] <= '9') pos--;
    return strtol(pos, NULL, 10);
}

/* "pid:unit: N tests executed (T marked as todo, F as flaky, X failures), S skipped."
 * Older Wine lines have no flaky count; newer ones put a time before the count. */
static int parse_summary(const char *line, struct counts *c, DWORD *pid)
{
    static const char marker[] = " tests executed (";
    const char *p = strstr(line, marker), *q;
    char *end;

    if (!p) return 0;
    *pid = strtoul(line, &end, 16);
    if (*end != ':') return 0;
    c->executed = number_before(line, p);
    p += sizeof(marker) - 1;
    c->flaky = 0;
    if (sscanf(p, "%ld marked as todo, %ld as flaky, %ld failure", &c->todo, &c->flaky, &c->failures) != 3
        && sscanf(p, "%ld marked as todo, %ld failure", &c->todo, &c->failures) != 2)
        return 0;
    if (!(q = strstr(p, "), ")) || sscanf(q + 3, "%ld skipped", &c->skipped) != 1) return 0;
    return 1;
}

struct scan
{
    DWORD pid;
    struct counts counts;
    const char *first_failure;
    const char *first_skip;
    char failure[512];
    char skip[512];
};

static void copy_text(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}

/* The child's own summary line wins over any printed by processes it started. */
static int scan_line(char *line, void *ctx)
{
    struct scan *scan = ctx;
    struct counts c = { 1 };
    const char *p;
    DWORD pid;

    if (parse_summary(line, &c, &pid))
    {
        if (pid == scan->pid || scan->counts.found < 2)
        {
            scan->counts = c;
            if (pid == scan->pid) scan->counts.found = 2;
        }
    }
    else if (!scan->first_failure && (strstr(line, ": Test failed: ")
                                      || strstr(line, ": Test succeeded inside todo block: ")))
    {
        copy_text(scan->failure, sizeof(scan->failure), line);
        scan->first_failure = scan->failure;
    }
    else if (!scan->first_skip && (p = strstr(line, ": Tests skipped: ")))
    {
        copy_text(scan->skip, sizeof(scan->skip), p + strlen(": Tests skipped: "));
        scan->first_skip = scan->skip;
    }
    return 0;
}

/* How a process ended that printed no usable summary line. */
static void describe_end(const struct run *run, char *buf, size_t size)
{
    if (!run->started)
        snprintf(buf, size, "cannot start (error %lu)", run->error);
    else if (run->timed_out)
        snprintf(buf, size, "timed out after %lu s", opts.timeout);
    else if (run->exit_code >= 0xc0000000)
        snprintf(buf, size, "crashed (exit code 0x%08lx)", run->exit_code);
    else
        snprintf(buf, size, "no summary line (exit code %lu)", run->exit_code);
}

static void fail_reason(const struct run *run, const struct scan *scan, char *buf, size_t size)
{
    const struct counts *c = &scan->counts;

    if (!run->started || run->timed_out || !c->found)
        describe_end(run, buf, size);
    else if (c->failures)
        snprintf(buf, size, "%ld failure%s", c->failures, c->failures == 1 ? "" : "s");
    else
        snprintf(buf, size, "exit code %lu with no failure counted", run->exit_code);
}

static void judge(const struct run *run, struct verdict *v)
{
    struct scan scan = { .pid = run->pid };
    size_t len;

    for_each_line(run->text, scan_line, &scan);
    v->reason[0] = 0;
    if (run->started && !run->timed_out && scan.counts.found && !scan.counts.failures
        && !run->exit_code)
    {
        v->status = scan.counts.executed == 0 && scan.counts.skipped > 0 ? ST_SKIP : ST_PASS;
        if (v->status == ST_SKIP)
            copy_text(v->reason, sizeof(v->reason), scan.first_skip ? scan.first_skip : "skipped");
        return;
    }
    v->status = ST_FAIL;
    fail_reason(run, &scan, v->reason, sizeof(v->reason));
    len = strlen(v->reason);
    if (scan.first_failure)
        snprintf(v->reason + len, sizeof(v->reason) - len, "; %s", scan.first_failure);
}

/* ---- what the runner writes ---- */

static void record(const char *name, const struct verdict *v, double seconds)
{
    const char *status = status_names[v->status];

    EnterCriticalSection(&echo_lock);
    if (v->status == ST_PASS) printf("%s %s (%.2fs)\n", status, name, seconds);
    else printf("%s %s: %s\n", status, name, v->reason);
    fflush(stdout);
    LeaveCriticalSection(&echo_lock);
    if (summary_file)
    {
        fprintf(summary_file, "%s %s%s%s\n", status, name, v->reason[0] ? " " : "", v->reason);
        fflush(summary_file);
    }
    if (v->status == ST_PASS) totals.passed++;
    else if (v->status == ST_SKIP) totals.skipped++;
    else totals.failed++;
}

static void report_block(const char *prog, const char *unit, const struct run *run)
{
    size_t len = strlen(run->text);

    if (!report_file) return;
    fprintf(report_file, "%s:%s start - -\n", prog, unit);
    fputs(run->text, report_file);
    if (len && run->text[len - 1] != '\n') fputc('\n', report_file);
    fprintf(report_file, "%s:%s done (%ld)\n", prog, unit, (long)(int)run->exit_code);
    fflush(report_file);
}

static void report_os_version(void)
{
    LONG (WINAPI *get_version)(RTL_OSVERSIONINFOEXW *);
    RTL_OSVERSIONINFOEXW info = { sizeof(info) };
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");

    get_version = (void *)GetProcAddress(ntdll, "RtlGetVersion");
    if (!get_version || get_version(&info)) return;
    fprintf(report_file, "    dwMajorVersion=%lu\n    dwMinorVersion=%lu\n    dwBuildNumber=%lu\n"
            "    PlatformId=%lu\n    szCSDVersion=%ls\n", info.dwMajorVersion, info.dwMinorVersion,
            info.dwBuildNumber, info.dwPlatformId, info.szCSDVersion);
    fprintf(report_file, "    wServicePackMajor=%u\n    wServicePackMinor=%u\n    wSuiteMask=%u\n"
            "    wProductType=%u\n", info.wServicePackMajor, info.wServicePackMinor,
            info.wSuiteMask, info.wProductType);
}

static void report_wine_version(void)
{
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    const char *(CDECL *wine_version)(void) = (void *)GetProcAddress(ntdll, "wine_get_version");
    void (CDECL *host_version)(const char **, const char **);
    const char *sysname = NULL, *release = NULL;

    fprintf(report_file, "    bRunningUnderWine=%d\n", wine_version != NULL);
    if (!wine_version) return;
    fprintf(report_file, "    WineBuild=%s\n", wine_version());
    host_version = (void *)GetProcAddress(ntdll, "wine_get_host_version");
    if (host_version) host_version(&sysname, &release);
    if (sysname) fprintf(report_file, "    Host system=%s\n    Host version=%s\n", sysname,
                         release ? release : "");
}

static const char *platform_name(void)
{
    SYSTEM_INFO info;

    GetNativeSystemInfo(&info);
    switch (info.wProcessorArchitecture)
    {
    case PROCESSOR_ARCHITECTURE_AMD64: return "x86_64";
    case PROCESSOR_ARCHITECTURE_INTEL: return "i386";
    case PROCESSOR_ARCHITECTURE_ARM64: return "arm64";
    default: return "unknown";
    }
}

static void report_header(void)
{
    const char *label = opts.label ? opts.label : "-";

    fprintf(report_file, "Version 4\nTests from build %s\nArchive: -\nTag: %s\n", label, label);
    fprintf(report_file, "Build info:\n    runner built with gcc %s for %s\n", __VERSION__,
            sizeof(void *) == 8 ? "64-bit" : "32-bit");
    fprintf(report_file, "Operating system version:\n");
    report_wine_version();
    fprintf(report_file, "    Platform=%s\n", platform_name());
    report_os_version();
    fprintf(report_file, "Test output:\n");
    fflush(report_file);
}

/* ---- listing and running programs ---- */

static const char *path_basename(const char *path)
{
    const char *p = strrchr(path, '\\'), *q = strrchr(path, '/');

    if (q > p) p = q;
    return p ? p + 1 : path;
}

/* "dir\\name.exe" -> "name" */
static void prog_name(const char *path, char *buf, size_t size)
{
    const char *base = path_basename(path);
    size_t len = strlen(base);

    if (len > 4 && !_stricmp(base + len - 4, ".exe")) len -= 4;
    snprintf(buf, size, "%.*s", (int)len, base);
}

static int unit_selected(const char *unit)
{
    int i;

    if (!opts.unit_count) return 1;
    for (i = 0; i < opts.unit_count; i++)
        if (!strcmp(opts.units[i], unit)) return opts.unit_seen[i] = 1;
    return 0;
}

struct name_list
{
    const char *prefix; /* only lines starting with it, which is cut off */
    char *names[MAX_UNITS];
    int count;
};

static int collect_name(char *line, void *ctx)
{
    struct name_list *list = ctx;
    size_t plen = list->prefix ? strlen(list->prefix) : 0;

    if (plen && (strncmp(line, list->prefix, plen) || line[plen] != ' ')) return 0;
    if (plen) line += plen + 1;
    if (!*line || strchr(line, '"') || strchr(line, ':') || list->count == MAX_UNITS) return 0;
    if (!plen && strchr(line, ' ')) return 0;
    list->names[list->count++] = xstrdup(line);
    return 0;
}

static void free_names(struct name_list *list)
{
    while (list->count) free(list->names[--list->count]);
}

static int listing_ok(const struct run *run)
{
    return run->started && !run->timed_out && !run->exit_code;
}

/* Runs one process and records it under NAME. */
static void run_test(const char *path, const char *prog, const char *unit, const char *subtest)
{
    char name[3 * MAX_PATH];
    struct verdict v;
    struct run run;

    snprintf(name, sizeof(name), "%s:%s%s%s", prog, unit, subtest ? ":" : "", subtest ? subtest : "");
    run_prog(path, unit, subtest, !opts.quiet, &run);
    judge(&run, &v);
    report_block(prog, unit, &run);
    record(name, &v, run.seconds);
    free(run.text);
}

/* A unit whose listing fails is run whole, so the failure shows up in its result. */
static void run_unit(const char *path, const char *prog, const char *unit)
{
    struct name_list subtests = { unit };
    struct run run;
    int i;

    run_prog(path, unit, "--list", 0, &run);
    if (listing_ok(&run)) for_each_line(run.text, collect_name, &subtests);
    free(run.text);
    if (!subtests.count) run_test(path, prog, unit, NULL);
    for (i = 0; i < subtests.count; i++) run_test(path, prog, unit, subtests.names[i]);
    free_names(&subtests);
}

static void list_failed(const char *prog, const struct run *run)
{
    struct verdict v = { ST_FAIL };
    char how[256];

    if (listing_ok(run))
        copy_text(v.reason, sizeof(v.reason), "lists no unit");
    else
    {
        describe_end(run, how, sizeof(how));
        snprintf(v.reason, sizeof(v.reason), "cannot list units: %s", how);
    }
    if (!opts.quiet && run->text[0])
    {
        fputs(run->text, stdout);
        fflush(stdout);
    }
    record(prog, &v, run->seconds);
}

static void run_program(const char *path)
{
    struct name_list units = { NULL };
    char prog[MAX_PATH];
    struct run run;
    int i;

    prog_name(path, prog, sizeof(prog));
    run_prog(path, "--list", NULL, 0, &run);
    if (listing_ok(&run)) for_each_line(run.text, collect_name, &units);
    if (!units.count) list_failed(prog, &run);
    free(run.text);
    for (i = 0; i < units.count; i++)
        if (unit_selected(units.names[i])) run_unit(path, prog, units.names[i]);
    free_names(&units);
}

/* ---- command line ---- */

static void add_prog(const char *path)
{
    opts.progs = xrealloc(opts.progs, (opts.prog_count + 1) * sizeof(*opts.progs));
    opts.progs[opts.prog_count++] = xstrdup(path);
}

static int compare_names(const void *a, const void *b)
{
    return _stricmp(*(char *const *)a, *(char *const *)b);
}

/* The C runtime leaves wildcards alone, and cmd does not expand them: do it here, sorted. */
static void add_pattern(const char *pattern)
{
    const char *base = path_basename(pattern);
    int dir_len = (int)(base - pattern), first = opts.prog_count;
    WIN32_FIND_DATAA data;
    char path[2 * MAX_PATH];
    HANDLE find;

    if (!strpbrk(pattern, "*?"))
    {
        add_prog(pattern);
        return;
    }
    find = FindFirstFileA(pattern, &data);
    if (find == INVALID_HANDLE_VALUE)
    {
        add_prog(pattern); /* fails to start, and is reported so */
        return;
    }
    do
    {
        if (data.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) continue;
        snprintf(path, sizeof(path), "%.*s%s", dir_len, pattern, data.cFileName);
        add_prog(path);
    } while (FindNextFileA(find, &data));
    FindClose(find);
    qsort(opts.progs + first, opts.prog_count - first, sizeof(*opts.progs), compare_names);
}

static int usage(const char *error)
{
    if (error) fprintf(stderr, "runner: %s\n", error);
    fprintf(stderr, "usage: runner.exe [-t SECONDS] [-o REPORT] [-s SUMMARY] [-l LABEL] [-i] [-q]\n"
                    "                  [-e NAME=VALUE]... [-u UNIT]... PROG.exe...\n");
    return 2;
}

/* NAME= with nothing after it removes NAME from the children's environment. */
static int set_env(const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    char name[256];

    if (!eq || eq == assignment || eq - assignment >= (int)sizeof(name)) return 0;
    snprintf(name, sizeof(name), "%.*s", (int)(eq - assignment), assignment);
    return SetEnvironmentVariableA(name, eq[1] ? eq + 1 : NULL) || !eq[1];
}

static int parse_option(char opt, const char *value)
{
    char *end;

    switch (opt)
    {
    case 't':
        opts.timeout = strtoul(value, &end, 10);
        return !*end && opts.timeout > 0 && opts.timeout < 100000;
    case 'o': opts.report_path = value; return 1;
    case 's': opts.summary_path = value; return 1;
    case 'l': opts.label = value; return 1;
    case 'e': return set_env(value);
    case 'u':
        if (opts.unit_count == MAX_UNITS) return 0;
        opts.units[opts.unit_count++] = value;
        return 1;
    default: return 0;
    }
}

/* Returns NULL, or what is wrong with the command line. */
static const char *parse_args(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++)
    {
        const char *arg = argv[i];

        if (arg[0] != '-' || !arg[1]) add_pattern(arg);
        else if (!strcmp(arg, "-i")) opts.informational = 1;
        else if (!strcmp(arg, "-q")) opts.quiet = 1;
        else if (arg[2] || !strchr("toslue", arg[1])) return "unknown option";
        else if (i + 1 == argc) return "option needs a value";
        else if (!parse_option(arg[1], argv[++i])) return "bad option value";
    }
    return opts.prog_count ? NULL : "no test program given";
}

static FILE *open_output(const char *path)
{
    FILE *f = fopen(path, "wb");

    if (!f) fprintf(stderr, "runner: cannot write %s\n", path);
    return f;
}

static void print_totals(FILE *f)
{
    fprintf(f, "%d passed, %d failed", totals.passed, totals.failed);
    if (totals.skipped) fprintf(f, ", %d skipped", totals.skipped);
    fputc('\n', f);
}

int main(int argc, char **argv)
{
    const char *error;
    int i;

    InitializeCriticalSection(&echo_lock);
    /* no error boxes from crashing children: they inherit this */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
    if ((error = parse_args(argc, argv))) return usage(error);
    if (opts.report_path && !(report_file = open_output(opts.report_path))) return 2;
    if (opts.summary_path && !(summary_file = open_output(opts.summary_path))) return 2;
    if (report_file) report_header();

    for (i = 0; i < opts.prog_count; i++) run_program(opts.progs[i]);
    for (i = 0; i < opts.unit_count; i++)
        if (!opts.unit_seen[i]) fprintf(stderr, "runner: no program has a unit %s\n", opts.units[i]);

    if (summary_file)
    {
        print_totals(summary_file);
        fclose(summary_file);
    }
    if (report_file) fclose(report_file);
    print_totals(stdout);
    fflush(stdout);
    return totals.failed && !opts.informational ? 1 : 0;
}
