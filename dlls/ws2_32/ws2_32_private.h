/* Declarations shared by the files of the front. */

#ifndef WS2_32_PRIVATE_H
#define WS2_32_PRIVATE_H

/* This module defines the Winsock functions it exports, so it declares them without dllimport. */
#define WINSOCK_API_LINKAGE
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>

#include "exports.h"

#ifndef SO_CONDITIONAL_ACCEPT
#define SO_CONDITIONAL_ACCEPT 0x3002
#endif

/* main.c */
extern HMODULE ws2_module;
extern BOOL ws2_trace_enabled;
void ws2_trace(const char *func, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define TRACE(...) do { if (ws2_trace_enabled) ws2_trace(__func__, __VA_ARGS__); } while (0)

/* platform.c: the system's ws2_32 behind the front. Front code calls the platform only
 * through PLATFORM(), never through its own exports. */
extern void *ws2_platform_table[WS2_EXPORT_COUNT];
BOOL platform_load(void);
#define PLATFORM(fn) ((__typeof__(&fn))ws2_platform_table[WS2_##fn])

/* memory.c: argument checks that never fault, and cost no system call for a good pointer. */
BOOL mem_writable(const void *ptr, SIZE_T size);
BOOL mem_readable(const void *ptr, SIZE_T size);
BOOL mem_executable(const void *ptr);
void mem_process_detach(void);
void *mem_alloc(SIZE_T size);
void mem_free(void *ptr);

/* startup.c */
BOOL ws2_started(void);
BOOL ws2_winsock11(void);
BOOL platform_calls_begin(void);
void platform_calls_end(void);

/* How often a select or WSAPoll on a listener looks again when its thread has no waker (no
 * socket could be made for it, or the set has no room): the platform cannot see a connection
 * another thread deferred meanwhile. */
#define LOOK_AGAIN_MS 200

/* wake.c: wakes a thread's platform select or WSAPoll when a listener comes to hold a
 * connection. */
struct waker;
void wake_process_attach(void);
void wake_thread_detach(void);
SOCKET wake_begin(struct waker **w);
void wake_end(struct waker *w, BOOL readable);
void wake_waiters(void);
void wake_cleanup(void);

/* blocking.c: the WinSock 1.1 blocking-call model and the front's waits. */
extern volatile LONG ws2_blocking_threads;
BOOL blocking_call_in_progress(void);
int blocking_wait(HANDLE event);
HANDLE blocking_event(void);
void blocking_thread_detach(void);
void blocking_process_attach(void);

/* Every front export starts with this: WSANOTINITIALISED, then WSAEINPROGRESS. */
int front_entry(void);

/* fault.c: a seam for errors a real stack cannot produce on demand; test builds only. */
#ifdef WS2_FAULTS
int fault_check(const char *step);
BOOL fault_lacks(const char *name);
void fault_pause(const char *step);
#else
static inline int fault_check(const char *step) { (void)step; return 0; }
static inline BOOL fault_lacks(const char *name) { (void)name; return FALSE; }
static inline void fault_pause(const char *step) { (void)step; }
#endif

/* listener.c: state kept for sockets the front must know about. */
struct held_conn
{
    struct held_conn *next;
    SOCKET s;
    SOCKADDR_STORAGE peer;
    int peer_len;
    SOCKADDR_STORAGE local;
    int local_len;
    BOOL deferred;      /* was held once: properties and registration are replayed on hand-out */
    BOOL private_reg;   /* inherited the front's own FD_ACCEPT registration */
    BOOL app_reg;       /* ... or the application's WSAEventSelect/WSAAsyncSelect one */
    LONG options_version;   /* the listener's options_version when the platform accepted it */
    BOOL nonblocking;   /* the platform socket's mode, as it came from the listener */
    BOOL from_server;   /* the server held it for the front (deferral.c) */
};

/* An accept waiting in Wine's server (wine_afd.c), on the waiting thread's stack. */
struct wine_accept
{
    OVERLAPPED ov;      /* its first two fields are the request's status block */
    SOCKET listener;    /* the handle it was issued through */
    ULONG handle;       /* the accepted socket, as the server names it */
    HANDLE event;
    DWORD thread;
    struct wine_accept *next;
};

struct sockstate
{
    SOCKET s;                   /* a handle of the socket in this process (it may have several) */
    volatile LONG handles;      /* how many: the table has an entry for each */
    LONG refs;
    SRWLOCK lock;
    BOOL closed;
    BOOL listening;
    BOOL app_nonblocking;       /* the mode the application asked for */
    BOOL conditional_accept;
    int family;
    SOCKADDR_STORAGE local;     /* the listener's bound address, when it is not a wildcard */
    int local_len;
    struct held_conn *held;     /* taken from the platform, not yet given to the application */
    HANDLE ready;               /* a listener's, auto-reset: FD_ACCEPT while waiters exist, deferral, close */
    LONG waiters;
    BOOL private_reg;           /* the front's FD_ACCEPT registration is on the platform socket */
    WSAEVENT app_event;         /* the application's WSAEventSelect registration */
    HWND app_hwnd;              /* ... or its WSAAsyncSelect registration */
    UINT app_msg;
    LONG app_mask;
    BOOL fd_accept_owed;        /* FD_ACCEPT for WSAEnumNetworkEvents, posted by the front */
    volatile LONG platform_deferred;    /* a deferred connection waits in Wine's server */
    struct held_conn server_held;       /* ... and what the front knew of it */
    BOOL deferral_shared;               /* ... and another process holds a handle of the socket */
    volatile LONG options_version;  /* counts the application's setsockopt calls on it */
    BOOL sync_io;               /* made without WSA_FLAG_OVERLAPPED: its requests wait inside */
    BOOL wine_accept;           /* its accepts wait in Wine's server (wine_afd.c) */
    BOOL platform_blocking;     /* ... because the platform listener blocks as the application's */
    LONG mode_changes;          /* counts the platform listener's changes of mode */
    SRWLOCK accepts_lock;
    CONDITION_VARIABLE accepts_done;
    struct wine_accept *accepts;    /* the accepts waiting in the server */
};

extern volatile LONG ws2_listeners_holding;
struct sockstate *sockstate_get(SOCKET s);
struct sockstate *sockstate_get_or_create(SOCKET s);
struct sockstate *sockstate_alias(SOCKET s, struct sockstate *st);
struct sockstate *sockstate_same_socket(SOCKET s);
BOOL sockstate_drop_handle(struct sockstate *st, SOCKET s);
void sockstate_set_refused(SOCKET s);
BOOL sockstate_refused(SOCKET s);
void sockstate_remove(SOCKET s);
void sockstate_release(struct sockstate *st);
void sockstate_close(struct sockstate *st);
void sockstate_close_all(void);
void held_push_front(struct sockstate *st, struct held_conn *conn);
void held_push_back(struct sockstate *st, struct held_conn *conn);
struct held_conn *held_pop(struct sockstate *st);
void held_close(struct held_conn *conn, BOOL abort);
void held_release(struct held_conn *conn);
void notify_fd_accept(struct sockstate *st);
int socket_type(SOCKET s, int *type);
int platform_error(SOCKET s);

/* socket.c */
int listener_init(struct sockstate *st, SOCKET s, BOOL adopted);

/* accept.c */
int hold_connection(struct sockstate *st, SOCKET s, struct held_conn *conn);
int listener_wait_register(struct sockstate *st);
void listener_wait_unregister(struct sockstate *st);

void listener_wake(struct sockstate *st);

/* wine_afd.c */
extern volatile LONG ws2_sync_sockets;
BOOL wine_afd_available(void);
BOOL wine_afd_defer(SOCKET listener, SOCKET conn);
int wine_afd_socket_info(SOCKET s, int *type, BOOL *listening);
BOOL wine_accept_usable(const struct sockstate *st);
int wine_accept_issue(struct sockstate *st, struct wine_accept *wa);
int wine_accept_wait(struct sockstate *st, struct wine_accept *wa);
int wine_accept_result(const struct wine_accept *wa);
void wine_accept_done(struct sockstate *st, struct wine_accept *wa);
void wine_accept_wake(struct sockstate *st, BOOL all);
void wine_accept_drain(struct sockstate *st);
int wine_accept_adopt(const struct wine_accept *wa, SOCKET *out);

/* deferral.c: under Wine a deferred connection waits in the server's slot of its socket. */
BOOL server_hold(struct sockstate *st, SOCKET s, struct held_conn *conn);
void claim_server_deferral(struct sockstate *st, struct held_conn *conn);
BOOL forget_server_deferral(struct sockstate *st);
void hold_in_server(struct sockstate *st, SOCKET s);
BOOL sockstate_holds(const struct sockstate *st);

/* acceptex.c */
void acceptex_pointer(const void *in, DWORD in_size, void *out, DWORD out_size);

static inline int fail_int(int err)
{
    SetLastError(err);
    return SOCKET_ERROR;
}

#endif
