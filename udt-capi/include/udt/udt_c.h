/*
 * udt_c.h: the C interface of the project's UDT library (udt-capi).
 *
 * Every function of UDT4's API, with a udt_ prefix and C types: sockets are
 * ints, booleans are ints, sets are arrays. On failure a function returns -1
 * (UDT::ERROR, UDT::INVALID_SOCK) and records UDT4's error code for the calling
 * thread (udt_getlasterror_code, udt_getlasterror_desc); success leaves the
 * last error untouched, as UDT4 does. Pointers and lengths are checked: a null
 * pointer where data is needed is error 5003, a length of zero or less moves
 * nothing and returns 0 (as in UDT4). C++ programs include <udt/udt.h> instead,
 * which wraps these in UDT4's namespace UDT.
 */
#ifndef UDT_CAPI_UDT_C_H
#define UDT_CAPI_UDT_C_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>

#ifdef __cplusplus
extern "C" {
#endif

/* UDTOpt values (UDT4's order). */
enum {
    UDT_C_MSS = 0, UDT_C_SNDSYN, UDT_C_RCVSYN, UDT_C_CC, UDT_C_FC, UDT_C_SNDBUF, UDT_C_RCVBUF,
    UDT_C_LINGER, UDT_C_UDP_SNDBUF, UDT_C_UDP_RCVBUF, UDT_C_MAXMSG, UDT_C_MSGTTL,
    UDT_C_RENDEZVOUS, UDT_C_SNDTIMEO, UDT_C_RCVTIMEO, UDT_C_REUSEADDR, UDT_C_MAXBW,
    UDT_C_STATE, UDT_C_EVENT, UDT_C_SNDDATA, UDT_C_RCVDATA
};

/* UDTSTATUS values. */
enum {
    UDT_C_INIT = 1, UDT_C_OPENED, UDT_C_LISTENING, UDT_C_CONNECTING, UDT_C_CONNECTED,
    UDT_C_BROKEN, UDT_C_CLOSING, UDT_C_CLOSED, UDT_C_NONEXIST
};

/* Epoll events (the values of Linux's epoll). */
enum { UDT_C_EPOLL_IN = 0x1, UDT_C_EPOLL_OUT = 0x4, UDT_C_EPOLL_ERR = 0x8 };

/* UDT4's CPerfMon, field for field. */
typedef struct udt_traceinfo {
    int64_t msTimeStamp;
    int64_t pktSentTotal;
    int64_t pktRecvTotal;
    int pktSndLossTotal;
    int pktRcvLossTotal;
    int pktRetransTotal;
    int pktSentACKTotal;
    int pktRecvACKTotal;
    int pktSentNAKTotal;
    int pktRecvNAKTotal;
    int64_t usSndDurationTotal;
    int64_t pktSent;
    int64_t pktRecv;
    int pktSndLoss;
    int pktRcvLoss;
    int pktRetrans;
    int pktSentACK;
    int pktRecvACK;
    int pktSentNAK;
    int pktRecvNAK;
    double mbpsSendRate;
    double mbpsRecvRate;
    int64_t usSndDuration;
    double usPktSndPeriod;
    int pktFlowWindow;
    int pktCongestionWindow;
    int pktFlightSize;
    double msRTT;
    double mbpsBandwidth;
    int byteAvailSndBuf;
    int byteAvailRcvBuf;
} udt_traceinfo;

int udt_startup(void);
int udt_cleanup(void);
int udt_socket(int af, int type, int protocol);
int udt_bind(int u, const struct sockaddr* name, int namelen);
int udt_bind2(int u, int udpsock);
int udt_listen(int u, int backlog);
int udt_accept(int u, struct sockaddr* addr, int* addrlen);
int udt_connect(int u, const struct sockaddr* name, int namelen);
int udt_close(int u);
int udt_getpeername(int u, struct sockaddr* name, int* namelen);
int udt_getsockname(int u, struct sockaddr* name, int* namelen);
int udt_getsockopt(int u, int level, int optname, void* optval, int* optlen);
int udt_setsockopt(int u, int level, int optname, const void* optval, int optlen);
int udt_send(int u, const char* buf, int len, int flags);
int udt_recv(int u, char* buf, int len, int flags);
int udt_sendmsg(int u, const char* buf, int len, int ttl, int inorder);
int udt_recvmsg(int u, char* buf, int len);
int64_t udt_sendfile2(int u, const char* path, int64_t* offset, int64_t size, int block);
int64_t udt_recvfile2(int u, const char* path, int64_t* offset, int64_t size, int block);
int udt_perfmon(int u, udt_traceinfo* perf, int clear);
int udt_getsockstate(int u);

int udt_epoll_create(void);
int udt_epoll_add_usock(int eid, int u, const int* events);
int udt_epoll_add_ssock(int eid, int s, const int* events);
int udt_epoll_remove_usock(int eid, int u);
int udt_epoll_remove_ssock(int eid, int s);
/* In: each *num is the array's capacity; out: how many were written. */
int udt_epoll_wait2(int eid, int* readfds, int* rnum, int* writefds, int* wnum, int64_t msTimeOut,
                    int* lrfds, int* lrnum, int* lwfds, int* lwnum);
int udt_epoll_release(int eid);
/* Not in UDT4: how many UDT and system sockets a set watches. */
int udt_epoll_size(int eid, int* usocks, int* ssocks);
/* Not in UDT4: the core of select/selectEx (arrays of n ids each). */
int udt_select_ready(const int* fds, int n, int* rd, int* rn, int* wr, int* wn, int* ex, int* en,
                     int64_t msTimeOut);

int udt_getlasterror_code(void);
const char* udt_getlasterror_desc(void);
void udt_clearlasterror(void);
/* Not in UDT4: records `code` as the thread's last error and returns -1 (for
   errors found outside the library, such as the C++ header's file errors). */
int udt_setlasterror(int code);
/* Not in UDT4: the message of any code. */
const char* udt_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
