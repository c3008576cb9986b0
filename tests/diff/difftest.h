/* The differential tester: one seed builds a small world of listeners, handles and clients
 * and runs a random sequence of calls on it; every observation is one line of a trace, so
 * that the same seed can be compared between Wine's own ws2_32 and this project's DLL. */

#ifndef DIFFTEST_H
#define DIFFTEST_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>
#include <stdio.h>
#include <stdint.h>

#ifndef SO_CONDITIONAL_ACCEPT
#define SO_CONDITIONAL_ACCEPT 0x3002
#endif

#define MAX_HANDLES 16
#define MAX_CLIENTS 48
#define MAX_PADS 320
#define MAX_ACCEPTED 64
#define NAME_LEN 8
#define OUT_LEN 4096

/* rng.c-like helpers live in trace.c: one generator per epoch, so epochs replay on their own. */
struct rng { uint64_t s; };
void rng_seed(struct rng *r, uint64_t seed, uint64_t stream);
uint32_t rng_below(struct rng *r, uint32_t n);
int rng_chance(struct rng *r, int percent);

/* trace.c: names instead of raw values. */
const char *err_name(int err);
/* An address as "v4:#PORT#/16"; the parent turns #PORT# into the name of its owner. */
void fmt_addr(char *out, size_t size, const struct sockaddr *sa, int len);
void ports_clear(void);
void ports_name(unsigned short port, const char *name);
/* Prints one trace line, replacing every #PORT# with the name registered for it. */
void trace(const char *fmt, ...);
void names_substitute(const char *in, char *out, size_t size);
extern int trace_epoch, trace_op;

/* exec.c: the calls on one process's handles, run the same way in the parent and the child. */
struct handle_slot { char name[NAME_LEN]; SOCKET s; WSAEVENT ev; int family; int live; };
struct exec_ctx
{
    struct handle_slot handles[MAX_HANDLES];
    int nhandles;
    SOCKET pads[MAX_PADS];
    int npads;
    SOCKET accepted[MAX_ACCEPTED];
    int naccepted;
};
struct handle_slot *ctx_find(struct exec_ctx *ctx, const char *name);
struct handle_slot *ctx_add(struct exec_ctx *ctx, const char *name, SOCKET s, int family);
void ctx_make_pads(struct exec_ctx *ctx, int count);
void ctx_close_all(struct exec_ctx *ctx);
/* Runs one command line ("accept h2 full", "select 0 77 h1 h3"...) and writes what it saw. */
void exec_command(struct exec_ctx *ctx, const char *cmd, char *out, size_t size);

/* child.c */
int child_main(int argc, char **argv);
struct child
{
    HANDLE process, to_child, from_child;
    DWORD pid;
    int alive;
};
int child_start(struct child *c, const char *args);
/* Sends CMD; waits up to WAIT_MS for the answer.  1: answered, 0: no answer yet. */
int child_send(struct child *c, const char *cmd);
int child_wait(struct child *c, char *out, size_t size, DWORD wait_ms);
void child_stop(struct child *c);

/* world.c and ops.c: the parent's side.  The world of one epoch, and the tester's model of
 * it: which connections each listener should still have queued, and whether it blocks. */
struct listener
{
    int family, nonblocking, condaccept;
    unsigned short port;
    int queue[MAX_CLIENTS], nqueue;
};
struct whandle
{
    char name[NAME_LEN];
    int listener, in_child, live;
};
enum client_state { CLIENT_OPEN, CLIENT_ENDED, CLIENT_CLOSED };
struct client
{
    char name[NAME_LEN];
    SOCKET s;
    int listener;
    enum client_state state;
};
struct world
{
    struct rng r;
    struct listener L[3];
    int nl;
    struct whandle h[MAX_HANDLES];
    int nh;
    struct client c[MAX_CLIENTS];
    int nc, nrescue;
    struct exec_ctx ctx;
    struct child child;
    int child_pads;
    int cleaned_up;
};
/* --simple: one handle per listener, no child (the single-handle behaviour alone). */
extern int world_simple;
void world_build(struct world *w);
void world_teardown(struct world *w);
/* A client of listener L; RESCUE names it rN (made by the watchdog) instead of cN. */
int client_connect(struct world *w, int l, int rescue, SOCKET *out, unsigned short *port);
int client_add(struct world *w, int l, SOCKET s, unsigned short port, int rescue);
void observe(struct world *w);
void run_op(struct world *w);
void run_cleanup(struct world *w);
void final_close(struct world *w);
int run_epochs(uint64_t seed, int ops);

#endif
