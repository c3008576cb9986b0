/* Socket helpers shared by the conformance tests; everything goes through the bound DLL. */

#include <stdio.h>
#include "ws2test.h"

void startup(void)
{
    WSADATA data;
    int ret = WSAStartup(MAKEWORD(2, 2), &data);

    ok(!ret, "WSAStartup failed: %d\n", ret);
}

void cleanup(void)
{
    int ret = WSACleanup();

    ok(!ret, "WSACleanup failed: %d\n", WSAGetLastError());
}

static int fill_address(int family, const char *address, SOCKADDR_STORAGE *addr)
{
    memset(addr, 0, sizeof(*addr));
    addr->ss_family = family;
    if (family == AF_INET)
    {
        inet_pton(AF_INET, address, &((SOCKADDR_IN *)addr)->sin_addr);
        return sizeof(SOCKADDR_IN);
    }
    inet_pton(AF_INET6, address, &((SOCKADDR_IN6 *)addr)->sin6_addr);
    return sizeof(SOCKADDR_IN6);
}

SOCKET tcp_listener(int family, const char *address, int backlog)
{
    SOCKADDR_STORAGE addr;
    int len = fill_address(family, address, &addr);
    SOCKET s = socket(family, SOCK_STREAM, IPPROTO_TCP);

    ok(s != INVALID_SOCKET, "socket failed: %d\n", WSAGetLastError());
    if (s == INVALID_SOCKET) return s;
    ok(!bind(s, (struct sockaddr *)&addr, len), "bind %s failed: %d\n", address, WSAGetLastError());
    ok(!listen(s, backlog), "listen failed: %d\n", WSAGetLastError());
    return s;
}

int sockaddr_of(SOCKET s, SOCKADDR_STORAGE *addr)
{
    int len = sizeof(*addr);

    if (getsockname(s, (struct sockaddr *)addr, &len)) return 0;
    return len;
}

SOCKET tcp_connect_to(const SOCKADDR_STORAGE *addr, int len)
{
    SOCKET s = socket(addr->ss_family, SOCK_STREAM, IPPROTO_TCP);

    ok(s != INVALID_SOCKET, "socket failed: %d\n", WSAGetLastError());
    if (s == INVALID_SOCKET) return s;
    if (connect(s, (const struct sockaddr *)addr, len))
    {
        ok(0, "connect to %s failed: %d\n", addr_str(addr), WSAGetLastError());
        closesocket(s);
        return INVALID_SOCKET;
    }
    return s;
}

/* A client of LISTENER over loopback (a wildcard listener is reached at the loopback). */
SOCKET tcp_connect(SOCKET listener)
{
    SOCKADDR_STORAGE addr;
    int len = sockaddr_of(listener, &addr);

    if (addr.ss_family == AF_INET && ((SOCKADDR_IN *)&addr)->sin_addr.s_addr == INADDR_ANY)
        ((SOCKADDR_IN *)&addr)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (addr.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((SOCKADDR_IN6 *)&addr)->sin6_addr))
        ((SOCKADDR_IN6 *)&addr)->sin6_addr = in6addr_loopback;
    return tcp_connect_to(&addr, len);
}

BOOL set_nonblocking(SOCKET s, BOOL on)
{
    u_long arg = on;

    return !ioctlsocket(s, FIONBIO, &arg);
}

BOOL readable(SOCKET s, int timeout_ms)
{
    fd_set set;
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

    FD_ZERO(&set);
    FD_SET(s, &set);
    return select(0, &set, NULL, NULL, &tv) == 1 && FD_ISSET(s, &set);
}

/* A connection made to a listener is pending there once select says so. */
BOOL wait_pending(SOCKET listener, int timeout_ms)
{
    return readable(listener, timeout_ms);
}

/* What the other end of S did: nothing yet, sent data, ended it, or reset it.  A reset shows
 * as POLLERR (Wine's recv then sees only the end) or as recv's WSAECONNRESET (Windows). */
int peer_state(SOCKET s, int timeout_ms)
{
    WSAPOLLFD poll = { s, POLLRDNORM, 0 };
    char byte;
    int ret;

    if (WSAPoll(&poll, 1, timeout_ms) != 1) return PEER_OPEN;
    if (poll.revents & POLLERR) return PEER_RESET;
    ret = recv(s, &byte, 1, MSG_PEEK);
    if (ret > 0) return PEER_DATA;
    if (!ret) return PEER_FIN;
    return WSAGetLastError() == WSAECONNRESET || WSAGetLastError() == WSAECONNABORTED ? PEER_RESET : PEER_ERROR;
}

const char *addr_str(const void *addr)
{
    static char buf[4][80];
    static LONG next;
    char *out = buf[InterlockedIncrement(&next) & 3], host[64] = "?";
    const SOCKADDR_STORAGE *sa = addr;

    if (sa->ss_family == AF_INET)
    {
        inet_ntop(AF_INET, &((const SOCKADDR_IN *)sa)->sin_addr, host, sizeof(host));
        snprintf(out, 80, "%s:%u", host, ntohs(((const SOCKADDR_IN *)sa)->sin_port));
    }
    else if (sa->ss_family == AF_INET6)
    {
        inet_ntop(AF_INET6, &((const SOCKADDR_IN6 *)sa)->sin6_addr, host, sizeof(host));
        snprintf(out, 80, "[%s]:%u", host, ntohs(((const SOCKADDR_IN6 *)sa)->sin6_port));
    }
    else snprintf(out, 80, "family %d", sa->ss_family);
    return out;
}

void set_short_timeouts(SOCKET s)
{
    DWORD ms = 5000;

    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (char *)&ms, sizeof(ms));
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, (char *)&ms, sizeof(ms));
}

/* MODULE's import address table slot for NAME (from whichever DLL), or NULL. */
ULONG_PTR *import_slot(HMODULE module, const char *name)
{
    char *base = (char *)module;
    IMAGE_NT_HEADERS *nt = (IMAGE_NT_HEADERS *)(base + ((IMAGE_DOS_HEADER *)base)->e_lfanew);
    IMAGE_DATA_DIRECTORY *dir = &nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT];
    IMAGE_IMPORT_DESCRIPTOR *desc;
    IMAGE_THUNK_DATA *names, *iat;

    if (!dir->VirtualAddress) return NULL;
    for (desc = (IMAGE_IMPORT_DESCRIPTOR *)(base + dir->VirtualAddress); desc->Name; desc++)
    {
        names = (IMAGE_THUNK_DATA *)(base + (desc->OriginalFirstThunk ? desc->OriginalFirstThunk : desc->FirstThunk));
        for (iat = (IMAGE_THUNK_DATA *)(base + desc->FirstThunk); names->u1.AddressOfData; names++, iat++)
            if (!IMAGE_SNAP_BY_ORDINAL(names->u1.Ordinal) &&
                !strcmp((char *)((IMAGE_IMPORT_BY_NAME *)(base + names->u1.AddressOfData))->Name, name))
                return (ULONG_PTR *)&iat->u1.Function;
    }
    return NULL;
}

/* Puts HOOK in SLOT; returns what was there. */
void *replace_slot(ULONG_PTR *slot, void *hook)
{
    void *real = (void *)*slot;
    DWORD old;

    VirtualProtect(slot, sizeof(*slot), PAGE_READWRITE, &old);
    *slot = (ULONG_PTR)hook;
    VirtualProtect(slot, sizeof(*slot), old, &old);
    return real;
}
