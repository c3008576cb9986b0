/* A conditional-accept server: the main job's demonstration.  It listens on 127.0.0.1:PORT
 * and decides each connection in its condition function, printing what the function was
 * given: the first client is accepted, the second deferred once and then accepted, the
 * third refused (its client sees a reset), and so on in turn.
 *
 *   condserver.exe PORT COUNT      serve COUNT connections, then exit */

#include <winsock2.h>
#include <ws2tcpip.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef SO_CONDITIONAL_ACCEPT
#define SO_CONDITIONAL_ACCEPT 0x3002
#endif

struct policy
{
    int seen;            /* connections decided so far */
    int deferred_port;   /* the connection deferred once, to accept on its next offer */
};

static const char *addr_str(const WSABUF *buf, char *out, size_t size)
{
    const SOCKADDR_STORAGE *sa = (const void *)buf->buf;
    char host[64] = "?";
    int port = 0;

    if (sa->ss_family == AF_INET)
    {
        inet_ntop(AF_INET, &((const SOCKADDR_IN *)sa)->sin_addr, host, sizeof(host));
        port = ntohs(((const SOCKADDR_IN *)sa)->sin_port);
    }
    else if (sa->ss_family == AF_INET6)
    {
        inet_ntop(AF_INET6, &((const SOCKADDR_IN6 *)sa)->sin6_addr, host, sizeof(host));
        port = ntohs(((const SOCKADDR_IN6 *)sa)->sin6_port);
    }
    snprintf(out, size, "%s:%d (len %lu)", host, port, buf->len);
    return out;
}

static int port_of(const WSABUF *buf)
{
    const SOCKADDR_IN *sa = (const void *)buf->buf;
    return ntohs(sa->sin_port);
}

static int CALLBACK decide(WSABUF *caller_id, WSABUF *caller_data, QOS *sqos, QOS *gqos,
                           WSABUF *callee_id, WSABUF *callee_data, GROUP *g, DWORD_PTR data)
{
    struct policy *policy = (struct policy *)data;
    char caller[96], callee[96];
    const char *verdict;
    int ret;

    if (port_of(caller_id) == policy->deferred_port)
    {
        ret = CF_ACCEPT;
        verdict = "CF_ACCEPT (deferred before)";
        policy->deferred_port = 0;
    }
    else
    {
        switch (policy->seen++ % 3)
        {
        case 0: ret = CF_ACCEPT; verdict = "CF_ACCEPT"; break;
        case 1: ret = CF_DEFER; verdict = "CF_DEFER"; policy->deferred_port = port_of(caller_id); break;
        default: ret = CF_REJECT; verdict = "CF_REJECT"; break;
        }
    }
    printf("condition: caller %s, callee %s, caller data %p, SQOS %p, GQOS %p, "
           "callee data {len %lu, buf %p}, g %u, callback data %p -> %s\n",
           addr_str(caller_id, caller, sizeof(caller)), addr_str(callee_id, callee, sizeof(callee)),
           (void *)caller_data, (void *)sqos, (void *)gqos, callee_data ? callee_data->len : 0,
           callee_data ? (void *)callee_data->buf : NULL, g ? *g : 0, (void *)data, verdict);
    fflush(stdout);
    return ret;
}

static void serve(SOCKET s, const SOCKADDR_IN *peer)
{
    char line[128], host[64];
    int len;

    inet_ntop(AF_INET, &peer->sin_addr, host, sizeof(host));
    len = snprintf(line, sizeof(line), "accepted %s:%d\n", host, ntohs(peer->sin_port));
    send(s, line, len, 0);
    shutdown(s, SD_SEND);
    closesocket(s);
}

int main(int argc, char **argv)
{
    struct policy policy = { 0, 0 };
    SOCKADDR_IN addr = { AF_INET }, peer;
    char module[MAX_PATH];
    WSADATA data;
    BOOL on = TRUE;
    int count, served = 0, len;
    SOCKET l, s;

    if (argc < 3) return fprintf(stderr, "usage: %s PORT COUNT\n", argv[0]), 2;
    count = atoi(argv[2]);
    if (WSAStartup(MAKEWORD(2, 2), &data)) return 1;
    GetModuleFileNameA(GetModuleHandleA("ws2_32.dll"), module, sizeof(module));
    printf("ws2_32 in use: %s\n", module);

    l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, (char *)&on, sizeof(on));
    if (setsockopt(l, SOL_SOCKET, SO_CONDITIONAL_ACCEPT, (char *)&on, sizeof(on)))
        printf("SO_CONDITIONAL_ACCEPT: error %d\n", WSAGetLastError());
    addr.sin_port = htons(atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&addr, sizeof(addr)) || listen(l, 16))
        return printf("cannot listen on port %s: %d\n", argv[1], WSAGetLastError()), 1;
    printf("listening on 127.0.0.1:%s\n", argv[1]);
    fflush(stdout);

    while (served < count)
    {
        len = sizeof(peer);
        s = WSAAccept(l, (struct sockaddr *)&peer, &len, decide, (DWORD_PTR)&policy);
        if (s != INVALID_SOCKET)
        {
            serve(s, &peer);
            served++;
            continue;
        }
        switch (WSAGetLastError())
        {
        case WSATRY_AGAIN: printf("WSAAccept: WSATRY_AGAIN, the connection waits at the head of the queue\n"); break;
        case WSAECONNREFUSED: printf("WSAAccept: WSAECONNREFUSED, the client was reset\n"); served++; break;
        default: printf("WSAAccept: error %d\n", WSAGetLastError()); served++; break;
        }
        fflush(stdout);
    }
    closesocket(l);
    WSACleanup();
    return 0;
}
