/* The Linux side of the event-loop benchmark: CONCURRENCY connections at a time to
 * 127.0.0.1:PORT, each sending one request and reading the response to its end (the server
 * closes; no keep-alive), for SECONDS.  Prints "requests N seconds S rate R errors E".
 * With "close", each client ends its side as soon as it is connected, sending nothing (what the
 * server sees of a client that closes at once), and still waits for the server's close.
 *   bench-client PORT CONCURRENCY SECONDS [close]
 * Built with the host's cc by tools/bench-serve.sh. */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char request[] = "GET / HTTP/1.0\r\nHost: bench\r\n\r\n";

struct conn
{
    int fd;
    int sent;
};

static double seconds_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct sockaddr_in target;
static int ep, closes;

static int start(struct conn *c)
{
    struct epoll_event ev = { EPOLLOUT | EPOLLIN, { .ptr = c } };
    struct linger lg = { 1, 0 };

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) return -1;
    /* A reset at the end: no TIME_WAIT piles up on the client's side. */
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    c->sent = 0;
    if (connect(c->fd, (struct sockaddr *)&target, sizeof(target)) && errno != EINPROGRESS)
    {
        close(c->fd);
        return -1;
    }
    return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

int main(int argc, char **argv)
{
    int concurrency, i, n;
    long done = 0, errors = 0;
    double seconds, begin, end;
    struct conn *conns;
    struct epoll_event events[256];
    char buf[4096];

    if (argc != 4 && (argc != 5 || strcmp(argv[4], "close")))
    {
        fprintf(stderr, "usage: bench-client PORT CONCURRENCY SECONDS [close]\n");
        return 2;
    }
    memset(&target, 0, sizeof(target));
    target.sin_family = AF_INET;
    target.sin_port = htons(atoi(argv[1]));
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    concurrency = atoi(argv[2]);
    seconds = atof(argv[3]);
    closes = argc == 5;
    conns = calloc(concurrency, sizeof(*conns));
    ep = epoll_create1(0);
    begin = seconds_now();
    end = begin + seconds;
    for (i = 0; i < concurrency; i++)
        if (start(&conns[i])) errors++;
    while (seconds_now() < end)
    {
        n = epoll_wait(ep, events, 256, 100);
        for (i = 0; i < n; i++)
        {
            struct conn *c = events[i].data.ptr;
            ssize_t got;

            if (!c->sent && (events[i].events & EPOLLOUT))
            {
                if (closes ? shutdown(c->fd, SHUT_WR) != 0 :
                    send(c->fd, request, sizeof(request) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(request) - 1)
                    goto failed;
                c->sent = 1;
                struct epoll_event ev = { EPOLLIN, { .ptr = c } };
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                continue;
            }
            if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            while ((got = recv(c->fd, buf, sizeof(buf), 0)) > 0)
                ;
            if (got < 0 && errno == EAGAIN) continue;
            if (got == 0 && c->sent) done++;
            else
            {
            failed:
                errors++;
            }
            close(c->fd);
            if (start(c)) errors++;
        }
    }
    seconds = seconds_now() - begin;
    printf("requests %ld seconds %.2f rate %.1f errors %ld\n", done, seconds, done / seconds, errors);
    return 0;
}
