/* The trace: one line per observation, with names where raw values would differ from run to
 * run (ports, handle values) or say little (error numbers). */

#include "difftest.h"
#include <stdarg.h>
#include <string.h>

int trace_epoch, trace_op;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed * 0x100000001b3ull ^ stream;
    r->s = splitmix(&x);
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
    return n ? (uint32_t)(splitmix(&r->s) % n) : 0;
}

int rng_chance(struct rng *r, int percent)
{
    return (int)rng_below(r, 100) < percent;
}

static const struct { int code; const char *name; } errors[] =
{
    {0, "0"},
    {WSAEINTR, "WSAEINTR"}, {WSAEBADF, "WSAEBADF"}, {WSAEACCES, "WSAEACCES"},
    {WSAEFAULT, "WSAEFAULT"}, {WSAEINVAL, "WSAEINVAL"}, {WSAEMFILE, "WSAEMFILE"},
    {WSAEWOULDBLOCK, "WSAEWOULDBLOCK"}, {WSAEINPROGRESS, "WSAEINPROGRESS"},
    {WSAEALREADY, "WSAEALREADY"}, {WSAENOTSOCK, "WSAENOTSOCK"},
    {WSAEDESTADDRREQ, "WSAEDESTADDRREQ"}, {WSAEMSGSIZE, "WSAEMSGSIZE"},
    {WSAEPROTOTYPE, "WSAEPROTOTYPE"}, {WSAENOPROTOOPT, "WSAENOPROTOOPT"},
    {WSAEPROTONOSUPPORT, "WSAEPROTONOSUPPORT"}, {WSAEOPNOTSUPP, "WSAEOPNOTSUPP"},
    {WSAEAFNOSUPPORT, "WSAEAFNOSUPPORT"}, {WSAEADDRINUSE, "WSAEADDRINUSE"},
    {WSAEADDRNOTAVAIL, "WSAEADDRNOTAVAIL"}, {WSAENETDOWN, "WSAENETDOWN"},
    {WSAECONNABORTED, "WSAECONNABORTED"}, {WSAECONNRESET, "WSAECONNRESET"},
    {WSAENOBUFS, "WSAENOBUFS"}, {WSAEISCONN, "WSAEISCONN"}, {WSAENOTCONN, "WSAENOTCONN"},
    {WSAESHUTDOWN, "WSAESHUTDOWN"}, {WSAETIMEDOUT, "WSAETIMEDOUT"},
    {WSAECONNREFUSED, "WSAECONNREFUSED"}, {WSANOTINITIALISED, "WSANOTINITIALISED"},
    {WSATRY_AGAIN, "WSATRY_AGAIN"}, {WSA_IO_PENDING, "WSA_IO_PENDING"},
    {WSA_OPERATION_ABORTED, "WSA_OPERATION_ABORTED"}, {WSA_INVALID_HANDLE, "WSA_INVALID_HANDLE"},
    {WSA_INVALID_PARAMETER, "WSA_INVALID_PARAMETER"}, {ERROR_NETNAME_DELETED, "ERROR_NETNAME_DELETED"},
};

const char *err_name(int err)
{
    static char buf[4][24];
    static int next;
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
        if (errors[i].code == err) return errors[i].name;
    next = (next + 1) % 4;
    snprintf(buf[next], sizeof(buf[next]), "err%d", err);
    return buf[next];
}

void fmt_addr(char *out, size_t size, const struct sockaddr *sa, int len)
{
    if (!sa) { snprintf(out, size, "null"); return; }
    if (len < (int)sizeof(sa->sa_family)) { snprintf(out, size, "short/%d", len); return; }
    if (sa->sa_family == AF_INET && len >= (int)sizeof(struct sockaddr_in))
    {
        const struct sockaddr_in *in = (const void *)sa;
        if (in->sin_addr.s_addr == htonl(INADDR_LOOPBACK))
            snprintf(out, size, "v4:#%u#/%d", ntohs(in->sin_port), len);
        else
            snprintf(out, size, "v4:%08lx:#%u#/%d", (unsigned long)ntohl(in->sin_addr.s_addr),
                     ntohs(in->sin_port), len);
    }
    else if (sa->sa_family == AF_INET6 && len >= (int)sizeof(struct sockaddr_in6))
    {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            snprintf(out, size, "v6:#%u#/%d", ntohs(in6->sin6_port), len);
        else
            snprintf(out, size, "v6:other:#%u#/%d", ntohs(in6->sin6_port), len);
    }
    else
        snprintf(out, size, "fam%u/%d", sa->sa_family, len);
}

static struct { unsigned short port; char name[NAME_LEN]; } ports[128];
static int nports;

void ports_clear(void)
{
    nports = 0;
}

void ports_name(unsigned short port, const char *name)
{
    for (int i = 0; i < nports; i++)
        if (ports[i].port == port) { snprintf(ports[i].name, NAME_LEN, "%s", name); return; }
    if (nports < (int)(sizeof(ports) / sizeof(ports[0])))
    {
        ports[nports].port = port;
        snprintf(ports[nports++].name, NAME_LEN, "%s", name);
    }
}

static const char *port_lookup(unsigned port)
{
    for (int i = 0; i < nports; i++)
        if (ports[i].port == port) return ports[i].name;
    return "port?";
}

void names_substitute(const char *in, char *out, size_t size)
{
    size_t o = 0;
    while (*in && o + 1 < size)
    {
        const char *end;
        if (*in == '#' && (end = strchr(in + 1, '#')) && end > in + 1)
        {
            char *stop;
            unsigned long port = strtoul(in + 1, &stop, 10);
            if (stop == end)
            {
                o += snprintf(out + o, size - o, "%s", port_lookup(port));
                if (o >= size) o = size - 1;
                in = end + 1;
                continue;
            }
        }
        out[o++] = *in++;
    }
    out[o] = 0;
}

void trace(const char *fmt, ...)
{
    char raw[OUT_LEN], named[OUT_LEN];
    va_list args;
    va_start(args, fmt);
    vsnprintf(raw, sizeof(raw), fmt, args);
    va_end(args);
    names_substitute(raw, named, sizeof(named));
    printf("%d.%d %s\n", trace_epoch, trace_op, named);
    fflush(stdout);
}
