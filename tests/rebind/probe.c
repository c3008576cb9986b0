/* rebind_probe.exe: a program that imports ws2_32 like any other, for
 * tests/rebind/check_rebind.sh.  It prints which file serves its WSAStartup, then sends
 * "ping" to itself over TCP on 127.0.0.1 and checks it arrives.  Exit 0 when it does. */

#include <winsock2.h>
#include <ws2tcpip.h>
#include <stdio.h>
#include <string.h>

/* WSAStartup's address as the import table holds it now.  GCC takes an imported address
 * for a constant and would reuse one read before the first call, which for a delay import
 * is still the resolving stub in this program; a separate function reads it afresh. */
static __attribute__((noipa)) const void *startup_address(void)
{
    return (const void *)WSAStartup;
}

/* The module holding FN's code: after a rebind, the DLL the import now names. */
static void print_module(const char *what, const void *fn)
{
    char path[MAX_PATH] = "?";
    HMODULE module;

    if (GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                           GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT, fn, &module))
        GetModuleFileNameA(module, path, sizeof(path));
    printf("%s from %s\n", what, path);
}

static int loopback(void)
{
    SOCKET server, client = INVALID_SOCKET, peer = INVALID_SOCKET;
    struct sockaddr_in addr = {0};
    int len = sizeof(addr), got = -1;
    char buf[16] = {0};

    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (server == INVALID_SOCKET || bind(server, (struct sockaddr *)&addr, sizeof(addr)) ||
        listen(server, 1) || getsockname(server, (struct sockaddr *)&addr, &len))
    {
        printf("loopback: cannot listen: error %d\n", WSAGetLastError());
        return 1;
    }
    client = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (client != INVALID_SOCKET && !connect(client, (struct sockaddr *)&addr, sizeof(addr)) &&
        (peer = accept(server, NULL, NULL)) != INVALID_SOCKET && send(client, "ping", 4, 0) == 4)
        got = recv(peer, buf, sizeof(buf) - 1, 0);
    if (got == 4 && !strcmp(buf, "ping"))
        printf("loopback: \"ping\" sent and received on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    else
        printf("loopback: failed, received %d bytes, error %d\n", got, WSAGetLastError());
    closesocket(peer);
    closesocket(client);
    closesocket(server);
    return got == 4 && !strcmp(buf, "ping") ? 0 : 1;
}

int main(void)
{
    WSADATA data;
    int ret;

    if ((ret = WSAStartup(MAKEWORD(2, 2), &data)))
    {
        printf("WSAStartup failed: %d\n", ret);
        return 1;
    }
    print_module("WSAStartup", startup_address());
    ret = loopback();
    WSACleanup();
    return ret;
}
