// udt.h: UDT4's C++ API (namespace UDT) over the project's Rust UDT library.
//
// Source compatible with UDT 4.11's udt.h: the same types (UDTSOCKET,
// UDTSTATUS, UDTOpt, TRACEINFO, ERRORINFO/CUDTException), constants
// (UDT::ERROR, UDT::INVALID_SOCK, UDT_EPOLL_*, UDT4's error codes) and function
// signatures, including the default arguments. Every function is inline and
// forwards to the C interface in udt_c.h; the C++-only parts (fstream
// sendfile/recvfile, std::set epoll_wait and select, the exception class) are
// written here on top of it. Link with -ludt (see the project's README).
//
// Needs C++11 (thread_local).
#ifndef UDT_CAPI_UDT_H
#define UDT_CAPI_UDT_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "udt_c.h"

#define UDT_API
#define NO_BUSY_WAITING

typedef int SYSSOCKET;
typedef SYSSOCKET UDPSOCKET;
typedef int UDTSOCKET;

typedef std::set<UDTSOCKET> ud_set;
#define UD_CLR(u, uset) ((uset)->erase(u))
#define UD_ISSET(u, uset) ((uset)->find(u) != (uset)->end())
#define UD_SET(u, uset) ((uset)->insert(u))
#define UD_ZERO(uset) ((uset)->clear())

enum EPOLLOpt {
    // Linux epoll's values, so that a mix-up with the system's does no harm.
    UDT_EPOLL_IN = 0x1,
    UDT_EPOLL_OUT = 0x4,
    UDT_EPOLL_ERR = 0x8
};

enum UDTSTATUS { INIT = 1, OPENED, LISTENING, CONNECTING, CONNECTED, BROKEN, CLOSING, CLOSED, NONEXIST };

enum UDTOpt {
    UDT_MSS,         // maximum segment size, bytes (IP and UDP headers included)
    UDT_SNDSYN,      // blocking send (bool)
    UDT_RCVSYN,      // blocking receive, accept and connect (bool)
    UDT_CC,          // congestion control factory (not supported here: 5000)
    UDT_FC,          // flight flag size: the largest flow window, packets
    UDT_SNDBUF,      // send buffer, bytes
    UDT_RCVBUF,      // receive buffer, bytes
    UDT_LINGER,      // struct linger: how long close() waits for unsent data
    UDP_SNDBUF,      // the UDP socket's send buffer, bytes
    UDP_RCVBUF,      // the UDP socket's receive buffer, bytes
    UDT_MAXMSG,      // declared by UDT4, never implemented (5000)
    UDT_MSGTTL,      // declared by UDT4, never implemented (5000)
    UDT_RENDEZVOUS,  // rendezvous connection set-up (bool)
    UDT_SNDTIMEO,    // send timeout, ms (-1: none)
    UDT_RCVTIMEO,    // receive timeout, ms (-1: none)
    UDT_REUSEADDR,   // share the port with other UDT sockets (bool)
    UDT_MAXBW,       // bandwidth cap, bytes/s (int64_t, -1: none)
    UDT_STATE,       // UDTSTATUS, read only
    UDT_EVENT,       // UDT_EPOLL_* events pending, read only
    UDT_SNDDATA,     // packets in the send buffer, read only
    UDT_RCVDATA      // bytes ready to receive, read only
};

struct CPerfMon {
    // totals since the connection started
    int64_t msTimeStamp;         // ms since the connection started
    int64_t pktSentTotal;        // data packets sent, retransmissions included
    int64_t pktRecvTotal;        // data packets received
    int pktSndLossTotal;         // packets the sender learnt were lost
    int pktRcvLossTotal;         // packets the receiver found missing
    int pktRetransTotal;         // packets retransmitted
    int pktSentACKTotal;         // ACKs sent
    int pktRecvACKTotal;         // ACKs received
    int pktSentNAKTotal;         // NAKs sent
    int pktRecvNAKTotal;         // NAKs received
    int64_t usSndDurationTotal;  // busy sending time, µs (not measured here: 0)

    // since the last perfmon(..., clear = true)
    int64_t pktSent;
    int64_t pktRecv;
    int pktSndLoss;
    int pktRcvLoss;
    int pktRetrans;
    int pktSentACK;
    int pktRecvACK;
    int pktSentNAK;
    int pktRecvNAK;
    double mbpsSendRate;         // Mbit/s
    double mbpsRecvRate;         // Mbit/s
    int64_t usSndDuration;       // not measured here: 0

    // now
    double usPktSndPeriod;       // packet-sending period, µs
    int pktFlowWindow;           // packets
    int pktCongestionWindow;     // packets
    int pktFlightSize;           // packets in flight
    double msRTT;                // ms
    double mbpsBandwidth;        // estimated link capacity, Mbit/s
    int byteAvailSndBuf;         // free send buffer, bytes
    int byteAvailRcvBuf;         // free receive buffer, bytes
};

static_assert(sizeof(CPerfMon) == sizeof(udt_traceinfo), "CPerfMon mirrors udt_traceinfo");

class CUDTException {
public:
    CUDTException(int major = 0, int minor = 0, int err = -1)
        : m_iMajor(major), m_iMinor(minor), m_iErrno(err), m_bLast(false) {}
    CUDTException(const CUDTException& e)
        : m_iMajor(e.m_iMajor), m_iMinor(e.m_iMinor), m_iErrno(e.m_iErrno), m_bLast(false) {}
    CUDTException& operator=(const CUDTException& e) {
        m_iMajor = e.m_iMajor;
        m_iMinor = e.m_iMinor;
        m_iErrno = e.m_iErrno;
        return *this;
    }
    virtual ~CUDTException() {}

    // UDT4's text for the error ("Connection setup failure: connection time out.").
    virtual const char* getErrorMessage() {
        m_strMsg = udt_strerror(getErrorCode());
        return m_strMsg.c_str();
    }

    // The error code: major * 1000 + minor (-1: unknown).
    virtual int getErrorCode() const { return m_iMajor < 0 ? -1 : m_iMajor * 1000 + m_iMinor; }

    // Back to "no error" (for getlasterror()'s object, the thread's last error too).
    virtual void clear() {
        m_iMajor = 0;
        m_iMinor = 0;
        m_iErrno = 0;
        if (m_bLast) udt_clearlasterror();
    }

    // Not in UDT4: the object getlasterror() hands out, refreshed from the library.
    static CUDTException& last_() {
        static thread_local CUDTException e;
        int code = udt_getlasterror_code();
        e = code < 0 ? CUDTException(-1, 0) : CUDTException(code / 1000, code % 1000);
        e.m_bLast = true;
        return e;
    }

private:
    int m_iMajor;
    int m_iMinor;
    int m_iErrno;
    bool m_bLast;
    std::string m_strMsg;

public:
    static const int SUCCESS = 0;
    static const int ECONNSETUP = 1000;
    static const int ENOSERVER = 1001;
    static const int ECONNREJ = 1002;
    static const int ESOCKFAIL = 1003;
    static const int ESECFAIL = 1004;
    static const int ECONNFAIL = 2000;
    static const int ECONNLOST = 2001;
    static const int ENOCONN = 2002;
    static const int ERESOURCE = 3000;
    static const int ETHREAD = 3001;
    static const int ENOBUF = 3002;
    static const int EFILE = 4000;
    static const int EINVRDOFF = 4001;
    static const int ERDPERM = 4002;
    static const int EINVWROFF = 4003;
    static const int EWRPERM = 4004;
    static const int EINVOP = 5000;
    static const int EBOUNDSOCK = 5001;
    static const int ECONNSOCK = 5002;
    static const int EINVPARAM = 5003;
    static const int EINVSOCK = 5004;
    static const int EUNBOUNDSOCK = 5005;
    static const int ENOLISTEN = 5006;
    static const int ERDVNOSERV = 5007;
    static const int ERDVUNBOUND = 5008;
    static const int ESTREAMILL = 5009;
    static const int EDGRAMILL = 5010;
    static const int EDUPLISTEN = 5011;
    static const int ELARGEMSG = 5012;
    static const int EINVPOLLID = 5013;
    static const int EASYNCFAIL = 6000;
    static const int EASYNCSND = 6001;
    static const int EASYNCRCV = 6002;
    static const int ETIMEOUT = 6003;
    static const int EPEERERR = 7000;
    static const int EUNKNOWN = -1;
};

namespace UDT {

typedef CUDTException ERRORINFO;
typedef UDTOpt SOCKOPT;
typedef CPerfMon TRACEINFO;
typedef ud_set UDSET;

const UDTSOCKET INVALID_SOCK = -1;
#undef ERROR
const int ERROR = -1;

inline int startup() { return udt_startup(); }
inline int cleanup() { return udt_cleanup(); }
inline UDTSOCKET socket(int af, int type, int protocol) { return udt_socket(af, type, protocol); }
inline int bind(UDTSOCKET u, const struct sockaddr* name, int namelen) { return udt_bind(u, name, namelen); }
inline int bind2(UDTSOCKET u, UDPSOCKET udpsock) { return udt_bind2(u, udpsock); }
inline int listen(UDTSOCKET u, int backlog) { return udt_listen(u, backlog); }
inline UDTSOCKET accept(UDTSOCKET u, struct sockaddr* addr, int* addrlen) { return udt_accept(u, addr, addrlen); }
inline int connect(UDTSOCKET u, const struct sockaddr* name, int namelen) { return udt_connect(u, name, namelen); }
inline int close(UDTSOCKET u) { return udt_close(u); }
inline int getpeername(UDTSOCKET u, struct sockaddr* name, int* namelen) { return udt_getpeername(u, name, namelen); }
inline int getsockname(UDTSOCKET u, struct sockaddr* name, int* namelen) { return udt_getsockname(u, name, namelen); }
inline int getsockopt(UDTSOCKET u, int level, SOCKOPT optname, void* optval, int* optlen) {
    return udt_getsockopt(u, level, (int)optname, optval, optlen);
}
inline int setsockopt(UDTSOCKET u, int level, SOCKOPT optname, const void* optval, int optlen) {
    return udt_setsockopt(u, level, (int)optname, optval, optlen);
}
inline int send(UDTSOCKET u, const char* buf, int len, int flags) { return udt_send(u, buf, len, flags); }
inline int recv(UDTSOCKET u, char* buf, int len, int flags) { return udt_recv(u, buf, len, flags); }
inline int sendmsg(UDTSOCKET u, const char* buf, int len, int ttl = -1, bool inorder = false) {
    return udt_sendmsg(u, buf, len, ttl, inorder ? 1 : 0);
}
inline int recvmsg(UDTSOCKET u, char* buf, int len) { return udt_recvmsg(u, buf, len); }

inline int64_t sendfile2(UDTSOCKET u, const char* path, int64_t* offset, int64_t size, int block = 364000) {
    return udt_sendfile2(u, path, offset, size, block);
}
inline int64_t recvfile2(UDTSOCKET u, const char* path, int64_t* offset, int64_t size, int block = 7280000) {
    return udt_recvfile2(u, path, offset, size, block);
}

namespace detail {
// Waits a millisecond: sendfile/recvfile block even on a non-blocking socket.
inline void nap() {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}
}  // namespace detail

// Sends `size` bytes of `ifs` from `offset` (advanced by what was sent).
inline int64_t sendfile(UDTSOCKET u, std::fstream& ifs, int64_t& offset, int64_t size, int block = 364000) {
    // UDT4's checks first (stream socket, connected), then the size.
    if (udt_send(u, NULL, 0, 0) < 0) return ERROR;
    if (size <= 0) return 0;
    if (block <= 0) block = 364000;
    ifs.seekg((std::streamoff)offset);
    if (ifs.fail()) return udt_setlasterror(4001);
    std::vector<char> buf((size_t)block);
    int64_t left = size;
    while (left > 0) {
        std::streamsize want = left < block ? (std::streamsize)left : block;
        ifs.read(&buf[0], want);
        std::streamsize got = ifs.gcount();
        if (got <= 0) {
            if (ifs.bad()) return udt_setlasterror(4002);
            break;  // end of file
        }
        std::streamsize off = 0;
        while (off < got) {
            int r = udt_send(u, &buf[(size_t)off], (int)(got - off), 0);
            if (r < 0) {
                if (udt_getlasterror_code() == 6001) {
                    detail::nap();
                    continue;
                }
                return ERROR;
            }
            off += r;
            offset += r;
            left -= r;
        }
        if (ifs.eof()) break;
    }
    return size - left;
}

// Receives `size` bytes into `ofs` at `offset` (advanced by what was written).
inline int64_t recvfile(UDTSOCKET u, std::fstream& ofs, int64_t& offset, int64_t size, int block = 7280000) {
    if (udt_recv(u, NULL, 0, 0) < 0) return ERROR;
    if (size <= 0) return 0;
    if (block <= 0) block = 7280000;
    ofs.seekp((std::streamoff)offset);
    if (ofs.fail()) return udt_setlasterror(4003);
    int unit = block < (1 << 20) ? block : (1 << 20);
    std::vector<char> buf((size_t)unit);
    int64_t left = size;
    while (left > 0) {
        int want = left < unit ? (int)left : unit;
        int r = udt_recv(u, &buf[0], want, 0);
        if (r < 0) {
            int code = udt_getlasterror_code();
            if (code == 6002 || code == 6003) {
                detail::nap();
                continue;
            }
            return ERROR;
        }
        ofs.write(&buf[0], r);
        if (ofs.fail()) return udt_setlasterror(4004);
        offset += r;
        left -= r;
    }
    return size - left;
}

inline int epoll_create() { return udt_epoll_create(); }
inline int epoll_add_usock(int eid, UDTSOCKET u, const int* events = NULL) { return udt_epoll_add_usock(eid, u, events); }
inline int epoll_add_ssock(int eid, SYSSOCKET s, const int* events = NULL) { return udt_epoll_add_ssock(eid, s, events); }
inline int epoll_remove_usock(int eid, UDTSOCKET u) { return udt_epoll_remove_usock(eid, u); }
inline int epoll_remove_ssock(int eid, SYSSOCKET s) { return udt_epoll_remove_ssock(eid, s); }
inline int epoll_wait2(int eid, UDTSOCKET* readfds, int* rnum, UDTSOCKET* writefds, int* wnum, int64_t msTimeOut,
                       SYSSOCKET* lrfds = NULL, int* lrnum = NULL, SYSSOCKET* lwfds = NULL, int* lwnum = NULL) {
    return udt_epoll_wait2(eid, readfds, rnum, writefds, wnum, msTimeOut, lrfds, lrnum, lwfds, lwnum);
}
inline int epoll_wait(int eid, std::set<UDTSOCKET>* readfds, std::set<UDTSOCKET>* writefds, int64_t msTimeOut,
                      std::set<SYSSOCKET>* lrfds = NULL, std::set<SYSSOCKET>* lwfds = NULL) {
    int nu = 0, ns = 0;
    if (udt_epoll_size(eid, &nu, &ns) < 0) return ERROR;
    std::vector<int> r((size_t)nu + 1), w((size_t)nu + 1), lr((size_t)ns + 1), lw((size_t)ns + 1);
    int rn = nu, wn = nu, lrn = ns, lwn = ns;
    int n = udt_epoll_wait2(eid, readfds ? &r[0] : NULL, readfds ? &rn : NULL, writefds ? &w[0] : NULL,
                            writefds ? &wn : NULL, msTimeOut, lrfds ? &lr[0] : NULL, lrfds ? &lrn : NULL,
                            lwfds ? &lw[0] : NULL, lwfds ? &lwn : NULL);
    if (n < 0) return ERROR;
    if (readfds) readfds->clear(), readfds->insert(r.begin(), r.begin() + rn);
    if (writefds) writefds->clear(), writefds->insert(w.begin(), w.begin() + wn);
    if (lrfds) lrfds->clear(), lrfds->insert(lr.begin(), lr.begin() + lrn);
    if (lwfds) lwfds->clear(), lwfds->insert(lw.begin(), lw.begin() + lwn);
    return n;
}
inline int epoll_release(int eid) { return udt_epoll_release(eid); }

// Deprecated in UDT4 (use epoll); kept for old programs.
inline int selectEx(const std::vector<UDTSOCKET>& fds, std::vector<UDTSOCKET>* readfds,
                    std::vector<UDTSOCKET>* writefds, std::vector<UDTSOCKET>* exceptfds, int64_t msTimeOut) {
    int n = (int)fds.size();
    std::vector<int> r((size_t)n + 1), w((size_t)n + 1), e((size_t)n + 1);
    int rn = 0, wn = 0, en = 0;
    int total = udt_select_ready(n ? &fds[0] : NULL, n, &r[0], &rn, &w[0], &wn, &e[0], &en, msTimeOut);
    if (total < 0) return ERROR;
    if (readfds) readfds->assign(r.begin(), r.begin() + rn);
    if (writefds) writefds->assign(w.begin(), w.begin() + wn);
    if (exceptfds) exceptfds->assign(e.begin(), e.begin() + en);
    return (readfds ? rn : 0) + (writefds ? wn : 0) + (exceptfds ? en : 0);
}
inline int select(int, UDSET* readfds, UDSET* writefds, UDSET* exceptfds, const struct timeval* timeout) {
    std::set<UDTSOCKET> all;
    if (readfds) all.insert(readfds->begin(), readfds->end());
    if (writefds) all.insert(writefds->begin(), writefds->end());
    if (exceptfds) all.insert(exceptfds->begin(), exceptfds->end());
    std::vector<UDTSOCKET> fds(all.begin(), all.end());
    int64_t ms = timeout ? (int64_t)timeout->tv_sec * 1000 + timeout->tv_usec / 1000 : -1;
    std::vector<UDTSOCKET> r, w, e;
    if (selectEx(fds, &r, &w, &e, ms) < 0) return ERROR;
    int count = 0;
    UDSET* sets[3] = {readfds, writefds, exceptfds};
    std::vector<UDTSOCKET>* found[3] = {&r, &w, &e};
    for (int i = 0; i < 3; ++i) {
        if (!sets[i]) continue;
        std::set<UDTSOCKET> keep;
        for (size_t k = 0; k < found[i]->size(); ++k)
            if (sets[i]->count((*found[i])[k])) keep.insert((*found[i])[k]);
        *sets[i] = keep;
        count += (int)keep.size();
    }
    return count;
}

inline ERRORINFO& getlasterror() { return CUDTException::last_(); }
inline int getlasterror_code() { return udt_getlasterror_code(); }
inline const char* getlasterror_desc() { return udt_getlasterror_desc(); }
inline int perfmon(UDTSOCKET u, TRACEINFO* perf, bool clear = true) {
    return udt_perfmon(u, reinterpret_cast<udt_traceinfo*>(perf), clear ? 1 : 0);
}
inline UDTSTATUS getsockstate(UDTSOCKET u) { return (UDTSTATUS)udt_getsockstate(u); }

}  // namespace UDT

#endif
