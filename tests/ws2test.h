/* What every conformance test shares: the Winsock functions of the DLL under test, bound
 * at run time so that one binary tests any target, and small socket helpers.
 *
 * WS2_TEST_TARGET picks the DLL: dropin (default: whatever this program's import of
 * ws2_32.dll bound, our DLL under Wine with ws2_32=n,b), path (WS2_TEST_DLL, by full path,
 * as on Windows where KnownDLLs always binds the system copy), platform (the system's own). */

#ifndef WS2TEST_H
#define WS2TEST_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>
#include "wstest.h"

#ifndef SO_CONDITIONAL_ACCEPT
#define SO_CONDITIONAL_ACCEPT 0x3002
#endif

#define WS2_TEST_FUNCS \
    F(accept) F(bind) F(closesocket) F(connect) F(getpeername) F(getsockname) F(getsockopt) \
    F(ioctlsocket) F(listen) F(recv) F(recvfrom) F(select) F(send) F(sendto) F(setsockopt) \
    F(shutdown) F(socket) F(WSAAccept) F(WSAAsyncSelect) F(WSACancelBlockingCall) F(WSACleanup) \
    F(WSAEnumNetworkEvents) F(WSAEventSelect) F(WSAGetLastError) F(WSAIoctl) F(WSAIsBlocking) \
    F(WSAPoll) F(WSASetBlockingHook) F(WSASetLastError) F(WSAStartup) F(WSAUnhookBlockingHook) \
    F(getaddrinfo) F(freeaddrinfo) F(WSARecv) F(WSASend) F(WSAGetOverlappedResult) \
    F(__WSAFDIsSet) F(WSASocketW) F(WSADuplicateSocketW)

struct ws2_api
{
    HMODULE module;
    char path[MAX_PATH];
#define F(name) __typeof__(name) *p_##name;
    WS2_TEST_FUNCS
#undef F
};

extern struct ws2_api *ws2;
extern const char *ws2_target;

/* Binds the DLL the environment names; fails the test and returns FALSE when it cannot. */
BOOL ws2_bind(void);
BOOL ws2_bind_module(struct ws2_api *api, HMODULE module, const struct ws2_api *fallback);
HMODULE ws2_load_platform(void);

/* The tests call Winsock by its usual names, through the bound DLL. */
#define accept ws2->p_accept
#define bind ws2->p_bind
#define closesocket ws2->p_closesocket
#define connect ws2->p_connect
#define getpeername ws2->p_getpeername
#define getsockname ws2->p_getsockname
#define getsockopt ws2->p_getsockopt
#define ioctlsocket ws2->p_ioctlsocket
#define listen ws2->p_listen
#define recv ws2->p_recv
#define recvfrom ws2->p_recvfrom
#define select ws2->p_select
#define send ws2->p_send
#define sendto ws2->p_sendto
#define setsockopt ws2->p_setsockopt
#define shutdown ws2->p_shutdown
#define socket ws2->p_socket
#define WSAAccept ws2->p_WSAAccept
#define WSAAsyncSelect ws2->p_WSAAsyncSelect
#define WSACancelBlockingCall ws2->p_WSACancelBlockingCall
#define WSACleanup ws2->p_WSACleanup
#define WSAEnumNetworkEvents ws2->p_WSAEnumNetworkEvents
#define WSAEventSelect ws2->p_WSAEventSelect
#define WSAGetLastError ws2->p_WSAGetLastError
#define WSAIoctl ws2->p_WSAIoctl
#define WSAIsBlocking ws2->p_WSAIsBlocking
#define WSAPoll ws2->p_WSAPoll
#define WSASetBlockingHook ws2->p_WSASetBlockingHook
#define WSASetLastError ws2->p_WSASetLastError
#define WSAStartup ws2->p_WSAStartup
#define WSAUnhookBlockingHook ws2->p_WSAUnhookBlockingHook
#define getaddrinfo ws2->p_getaddrinfo
#define freeaddrinfo ws2->p_freeaddrinfo
#define WSARecv ws2->p_WSARecv
#define WSASend ws2->p_WSASend
#define WSAGetOverlappedResult ws2->p_WSAGetOverlappedResult
#define __WSAFDIsSet ws2->p___WSAFDIsSet
#define WSASocketW ws2->p_WSASocketW
#define WSADuplicateSocketW ws2->p_WSADuplicateSocketW

/* helpers.c */
void startup(void);
void cleanup(void);
SOCKET tcp_listener(int family, const char *address, int backlog);
SOCKET tcp_connect(SOCKET listener);
SOCKET tcp_connect_to(const SOCKADDR_STORAGE *addr, int len);
int sockaddr_of(SOCKET s, SOCKADDR_STORAGE *addr);
BOOL set_nonblocking(SOCKET s, BOOL on);
BOOL readable(SOCKET s, int timeout_ms);
BOOL wait_pending(SOCKET listener, int timeout_ms);
int peer_state(SOCKET s, int timeout_ms);
const char *addr_str(const void *addr);
void set_short_timeouts(SOCKET s);
ULONG_PTR *import_slot(HMODULE module, const char *name);
void *replace_slot(ULONG_PTR *slot, void *hook);

/* What peer_state() saw of the other end. */
enum { PEER_OPEN, PEER_DATA, PEER_FIN, PEER_RESET, PEER_ERROR };

#endif
