/* The WinSock 1.1 blocking-call model (blocking hooks, WSACancelBlockingCall, WSAIsBlocking)
 * and the front's own alertable waits. */

#include "ws2_32_private.h"

/* Threads inside a 1.1 blocking call: the stubs test it before refusing anything. */
volatile LONG ws2_blocking_threads;

struct thread_state
{
    FARPROC hook;       /* NULL: the default hook */
    BOOL in_call;
    BOOL cancelled;
    HANDLE event;       /* the thread's own, for the requests it waits for */
};

static DWORD tls_index = TLS_OUT_OF_INDEXES;

void blocking_process_attach(void)
{
    tls_index = TlsAlloc();
}

static struct thread_state *thread_state(BOOL create)
{
    struct thread_state *ts;

    if (tls_index == TLS_OUT_OF_INDEXES) return NULL;
    ts = TlsGetValue(tls_index);
    if (!ts && create && (ts = mem_alloc(sizeof(*ts))))
        TlsSetValue(tls_index, ts);
    return ts;
}

void blocking_thread_detach(void)
{
    struct thread_state *ts = thread_state(FALSE);

    if (!ts) return;
    TlsSetValue(tls_index, NULL);
    if (ts->event) CloseHandle(ts->event);
    mem_free(ts);
}

BOOL blocking_call_in_progress(void)
{
    struct thread_state *ts;

    if (!ws2_blocking_threads) return FALSE;
    ts = thread_state(FALSE);
    return ts && ts->in_call;
}

/* The default hook dispatches one pending message, as WinSock 1.1 documents. */
static BOOL CALLBACK default_hook(void)
{
    MSG msg;
    BOOL got = PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE);

    if (got)
    {
        TranslateMessage(&msg);
        DispatchMessageW(&msg);
    }
    return got;
}

/* One turn of a 1.1 blocking call: run the hook, then wait a moment for EVENT. */
static DWORD hook_turn(struct thread_state *ts, HANDLE event)
{
    if (ts->hook)
    {
        ((BOOL (CALLBACK *)(void))ts->hook)();
        return WaitForSingleObjectEx(event, 1, TRUE);
    }
    /* WSACancelBlockingCall comes from this thread, from a message the hook dispatched: the
     * wait for the next message or EVENT needs no timeout. */
    while (default_hook()) if (ts->cancelled) return WAIT_TIMEOUT;
    return MsgWaitForMultipleObjectsEx(1, &event, INFINITE, QS_ALLINPUT, MWMO_ALERTABLE | MWMO_INPUTAVAILABLE);
}

static int hooked_wait(struct thread_state *ts, HANDLE event)
{
    DWORD got;
    int error = 0;

    ts->in_call = TRUE;
    InterlockedIncrement(&ws2_blocking_threads);
    /* An APC that ran ends the wait as it ends an alertable one. */
    while (!ts->cancelled && (got = hook_turn(ts, event)) != WAIT_OBJECT_0 && got != WAIT_IO_COMPLETION)
        ;
    if (ts->cancelled) error = WSAEINTR;
    ts->cancelled = FALSE;
    ts->in_call = FALSE;
    InterlockedDecrement(&ws2_blocking_threads);
    return error;
}

/* Waits until EVENT is set or an APC ran (the caller then looks again and, if nothing is
 * there, waits again).  Under WinSock 1.1 the blocking hook runs meanwhile. */
int blocking_wait(HANDLE event)
{
    struct thread_state *ts;

    if (ws2_winsock11() && (ts = thread_state(TRUE))) return hooked_wait(ts, event);
    if (WaitForSingleObjectEx(event, INFINITE, TRUE) == WAIT_FAILED) return WSAENETDOWN;
    return 0;
}

/* The calling thread's event for a request it waits for, made at its first such wait. */
HANDLE blocking_event(void)
{
    struct thread_state *ts = thread_state(TRUE);

    if (ts && !ts->event) ts->event = CreateEventW(NULL, TRUE, FALSE, NULL);
    return ts ? ts->event : NULL;
}

static int blocking_api_entry(void)
{
    int error = front_entry();

    if (!error && !ws2_winsock11()) error = WSAEOPNOTSUPP;
    return error;
}

FARPROC WSAAPI WSASetBlockingHook(FARPROC hook)
{
    struct thread_state *ts;
    FARPROC previous;
    int error = blocking_api_entry();

    if (!error && !mem_executable((void *)hook)) error = WSAEFAULT;
    if (!error && !(ts = thread_state(TRUE))) error = WSAENOBUFS;
    if (error)
    {
        SetLastError(error);
        return NULL;
    }
    previous = ts->hook ? ts->hook : (FARPROC)default_hook;
    ts->hook = hook == (FARPROC)default_hook ? NULL : hook;
    return previous;
}

int WSAAPI WSAUnhookBlockingHook(void)
{
    struct thread_state *ts;
    int error = blocking_api_entry();

    if (error) return fail_int(error);
    if ((ts = thread_state(FALSE))) ts->hook = NULL;
    return 0;
}

int WSAAPI WSACancelBlockingCall(void)
{
    struct thread_state *ts;

    if (!ws2_started()) return fail_int(WSANOTINITIALISED);
    if (!ws2_winsock11()) return fail_int(WSAEOPNOTSUPP);
    ts = thread_state(FALSE);
    if (!ts || !ts->in_call) return fail_int(WSAEINVAL);
    ts->cancelled = TRUE;
    return 0;
}

BOOL WSAAPI WSAIsBlocking(void)
{
    return ws2_winsock11() && blocking_call_in_progress();
}
