/* The child process: it holds listener handles of the parent's world (inherited, or made from
 * WSADuplicateSocketW's protocol info) and runs the parent's commands on them one at a time, so
 * the order of events stays the parent's.  One command line in, one answer line out. */

#include "difftest.h"
#include <string.h>
#include <stdlib.h>

static int read_line(HANDLE in, char *line, size_t size)
{
    size_t n = 0;
    DWORD got;
    char ch;
    while (ReadFile(in, &ch, 1, &got, NULL) && got == 1)
    {
        if (ch == '\n') { line[n] = 0; return 1; }
        if (n + 1 < size) line[n++] = ch;
    }
    return 0;
}

static void write_line(HANDLE out, const char *text)
{
    DWORD done;
    WriteFile(out, text, (DWORD)strlen(text), &done, NULL);
    WriteFile(out, "\n", 1, &done, NULL);
}

static void adopt_protocol_info(struct exec_ctx *ctx, char **argv, char *out, size_t size)
{
    WSAPROTOCOL_INFOW info;
    unsigned char *p = (unsigned char *)&info;
    const char *hex = argv[3];
    SOCKET s;

    if (strlen(hex) != 2 * sizeof(info)) { snprintf(out, size, "bad protocol info"); return; }
    for (size_t i = 0; i < sizeof(info); i++)
    {
        char two[3] = {hex[2 * i], hex[2 * i + 1], 0};
        p[i] = (unsigned char)strtoul(two, NULL, 16);
    }
    s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, 0);
    if (s == INVALID_SOCKET) { snprintf(out, size, "-1 %s", err_name(WSAGetLastError())); return; }
    ctx_add(ctx, argv[1], s, atoi(argv[2]));
    snprintf(out, size, "0");
}

/* difftest.exe --child [NAME=HANDLE:FAMILY]: the inherited handle, if any, on the command line. */
int child_main(int argc, char **argv)
{
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE), out = GetStdHandle(STD_OUTPUT_HANDLE);
    static struct exec_ctx ctx;
    char line[4096], answer[OUT_LEN];
    WSADATA wsa;

    WSAStartup(MAKEWORD(2, 2), &wsa);
    for (int i = 2; i < argc; i++)
    {
        char name[NAME_LEN] = {0};
        unsigned long long value;
        int family;
        if (sscanf(argv[i], "%7[^=]=%llu:%d", name, &value, &family) == 3)
            ctx_add(&ctx, name, (SOCKET)value, family);
    }
    while (read_line(in, line, sizeof(line)))
    {
        char copy[4096], *args[5] = {0}, *save = NULL;
        int n = 0;
        snprintf(copy, sizeof(copy), "%s", line);
        for (char *t = strtok_r(copy, " ", &save); t && n < 5; t = strtok_r(NULL, " ", &save)) args[n++] = t;
        if (!n) continue;
        if (!strcmp(args[0], "quit")) break;
        if (!strcmp(args[0], "adoptproto") && n == 4) adopt_protocol_info(&ctx, args, answer, sizeof(answer));
        else if (!strcmp(args[0], "pads") && n == 2)
        {
            ctx_make_pads(&ctx, atoi(args[1]));
            snprintf(answer, sizeof(answer), "%d", ctx.npads);
        }
        else exec_command(&ctx, line, answer, sizeof(answer));
        write_line(out, answer);
    }
    ctx_close_all(&ctx);
    WSACleanup();
    return 0;
}

/* --- the parent's side ------------------------------------------------------------------- */

static char pending[OUT_LEN];
static size_t npending;

int child_start(struct child *c, const char *args)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
    HANDLE child_in, child_out;
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    char exe[MAX_PATH], cmdline[1024];

    memset(c, 0, sizeof(*c));
    npending = 0;
    if (!CreatePipe(&child_in, &c->to_child, &sa, 0)) return 0;
    if (!CreatePipe(&c->from_child, &child_out, &sa, 0)) return 0;
    SetHandleInformation(c->to_child, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(c->from_child, HANDLE_FLAG_INHERIT, 0);
    GetModuleFileNameA(NULL, exe, sizeof(exe));
    snprintf(cmdline, sizeof(cmdline), "\"%s\" --child %s", exe, args);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = child_in;
    si.hStdOutput = child_out;
    si.hStdError = child_out;
    if (!CreateProcessA(exe, cmdline, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi))
    {
        CloseHandle(child_in);
        CloseHandle(child_out);
        return 0;
    }
    CloseHandle(child_in);
    CloseHandle(child_out);
    CloseHandle(pi.hThread);
    c->process = pi.hProcess;
    c->pid = pi.dwProcessId;
    c->alive = 1;
    return 1;
}

int child_send(struct child *c, const char *cmd)
{
    DWORD done;
    if (!c->alive) return 0;
    return WriteFile(c->to_child, cmd, (DWORD)strlen(cmd), &done, NULL) &&
           WriteFile(c->to_child, "\n", 1, &done, NULL);
}

/* Polls the pipe (anonymous pipes have no timed read) until a whole line is there. */
int child_wait(struct child *c, char *out, size_t size, DWORD wait_ms)
{
    DWORD start = GetTickCount(), avail, got;
    for (;;)
    {
        char *nl = memchr(pending, '\n', npending);
        if (nl)
        {
            size_t len = nl - pending;
            snprintf(out, size, "%.*s", (int)len, pending);
            if (len && out[strlen(out) - 1] == '\r') out[strlen(out) - 1] = 0;
            memmove(pending, nl + 1, npending - len - 1);
            npending -= len + 1;
            return 1;
        }
        if (!c->alive || !PeekNamedPipe(c->from_child, NULL, 0, NULL, &avail, NULL))
        {
            c->alive = 0;
            snprintf(out, size, "child gone");
            return 1;
        }
        if (avail && npending < sizeof(pending))
        {
            if (avail > sizeof(pending) - npending) avail = sizeof(pending) - npending;
            if (ReadFile(c->from_child, pending + npending, avail, &got, NULL)) npending += got;
            continue;
        }
        if (GetTickCount() - start >= wait_ms) return 0;
        Sleep(1);
    }
}

void child_stop(struct child *c)
{
    if (c->process)
    {
        if (c->alive) child_send(c, "quit");
        if (WaitForSingleObject(c->process, 3000) != WAIT_OBJECT_0) TerminateProcess(c->process, 1);
        CloseHandle(c->process);
    }
    if (c->to_child) CloseHandle(c->to_child);
    if (c->from_child) CloseHandle(c->from_child);
    memset(c, 0, sizeof(*c));
}
