// codes: runs UDT4 API calls on invalid, closed and wrong-state sockets and
// prints one line per call: a label, the return value and the error code (0
// when the call succeeded). Written only against UDT4's API, so the same
// source builds against UDT 4.11 and against the project's library; the test
// (tests/interop.rs) requires both outputs to be identical. It avoids what
// UDT4 does not survive (null pointers) and what differs on purpose (see the
// README's list of differences).
#include <udt/udt.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <set>

static void show(const char* label, long long r) {
    int code = r == -1 ? UDT::getlasterror().getErrorCode() : 0;
    printf("%-28s %lld %d\n", label, r, code);
    UDT::getlasterror().clear();
}

static sockaddr_in loopback(int port) {
    sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int port_of(UDTSOCKET u) {
    sockaddr_in a;
    int len = sizeof(a);
    UDT::getsockname(u, (sockaddr*)&a, &len);
    return ntohs(a.sin_port);
}

static long long opt(UDTSOCKET u, UDTOpt o) {
    long long v = 0;
    int len = sizeof(v);
    if (UDT::getsockopt(u, 0, o, &v, &len) == UDT::ERROR) return -1;
    if (len == 1) return (long long)*(bool*)&v;
    if (len == 4) return (long long)*(int*)&v;
    return v;
}

int main() {
    UDT::startup();
    char buf[256] = {0};
    sockaddr_in a = loopback(0);
    int alen = sizeof(a);
    UDT::TRACEINFO t;

    show("socket bad type", UDT::socket(AF_INET, 77, 0));
    UDTSOCKET s = UDT::socket(AF_INET, SOCK_STREAM, 0);
    UDTSOCKET d = UDT::socket(AF_INET, SOCK_DGRAM, 0);
    show("ids count down", s - d);
    show("fresh state", UDT::getsockstate(s));
    show("fresh send", UDT::send(s, buf, 10, 0));
    show("fresh recv", UDT::recv(s, buf, 10, 0));
    show("fresh sendmsg on stream", UDT::sendmsg(s, buf, 10));
    show("fresh recvmsg on stream", UDT::recvmsg(s, buf, 10));
    show("fresh send on dgram", UDT::send(d, buf, 10, 0));
    show("fresh sendmsg on dgram", UDT::sendmsg(d, buf, 10));
    show("fresh listen", UDT::listen(s, 5));
    show("fresh accept", UDT::accept(s, (sockaddr*)&a, &alen));
    show("fresh getsockname", UDT::getsockname(s, (sockaddr*)&a, &alen));
    show("fresh getpeername", UDT::getpeername(s, (sockaddr*)&a, &alen));
    show("fresh perfmon", UDT::perfmon(s, &t));
    const UDTOpt opts[] = {UDT_MSS, UDT_SNDSYN, UDT_RCVSYN, UDT_FC, UDT_SNDBUF, UDT_RCVBUF,
                           UDP_SNDBUF, UDP_RCVBUF, UDT_RENDEZVOUS, UDT_SNDTIMEO, UDT_RCVTIMEO,
                           UDT_REUSEADDR, UDT_MAXBW, UDT_STATE, UDT_EVENT, UDT_SNDDATA,
                           UDT_RCVDATA, UDT_MAXMSG, UDT_MSGTTL};
    for (unsigned i = 0; i < sizeof(opts) / sizeof(opts[0]); ++i) {
        char label[32];
        snprintf(label, sizeof(label), "fresh option %d", (int)opts[i]);
        show(label, opt(s, opts[i]));
    }
    linger lg;
    int lglen = sizeof(lg);
    UDT::getsockopt(s, 0, UDT_LINGER, &lg, &lglen);
    show("linger on", lg.l_onoff);
    show("linger secs", lg.l_linger);
    int v = 1;
    show("set unknown option", UDT::setsockopt(s, 0, (UDTOpt)99, &v, sizeof(v)));
    show("set UDT_STATE", UDT::setsockopt(s, 0, UDT_STATE, &v, sizeof(v)));
    show("set UDT_MSGTTL", UDT::setsockopt(s, 0, UDT_MSGTTL, &v, sizeof(v)));
    v = 75;
    show("set MSS 75", UDT::setsockopt(s, 0, UDT_MSS, &v, sizeof(v)));
    v = 10;
    show("set FC 10", UDT::setsockopt(s, 0, UDT_FC, &v, sizeof(v)));
    show("FC after 10", opt(s, UDT_FC));
    v = 25600;
    UDT::setsockopt(s, 0, UDT_FC, &v, sizeof(v));
    v = 100;
    show("set RCVBUF 100", UDT::setsockopt(s, 0, UDT_RCVBUF, &v, sizeof(v)));
    show("RCVBUF after 100", opt(s, UDT_RCVBUF));
    v = 0;
    show("set SNDBUF 0", UDT::setsockopt(s, 0, UDT_SNDBUF, &v, sizeof(v)));
    bool yes = true;
    UDTSOCKET r = UDT::socket(AF_INET, SOCK_STREAM, 0);
    UDT::setsockopt(r, 0, UDT_RENDEZVOUS, &yes, sizeof(yes));
    sockaddr_in far = loopback(9);
    show("rendezvous connect unbound", UDT::connect(r, (sockaddr*)&far, sizeof(far)));
    a = loopback(0);
    UDT::bind(r, (sockaddr*)&a, sizeof(a));
    show("rendezvous bound state", UDT::getsockstate(r));
    show("rendezvous listen", UDT::listen(r, 5));
    show("bind twice", UDT::bind(r, (sockaddr*)&a, sizeof(a)));
    v = 1000;
    show("set MSS when bound", UDT::setsockopt(r, 0, UDT_MSS, &v, sizeof(v)));
    show("set REUSEADDR when bound", UDT::setsockopt(r, 0, UDT_REUSEADDR, &yes, sizeof(yes)));
    show("close", UDT::close(r));
    show("close again", UDT::close(r));
    show("closed state", UDT::getsockstate(r));
    show("closed send", UDT::send(r, buf, 10, 0));

    // A listener, a second socket on its port, a connected pair.
    UDTSOCKET l = UDT::socket(AF_INET, SOCK_STREAM, 0);
    a = loopback(0);
    UDT::bind(l, (sockaddr*)&a, sizeof(a));
    show("listen", UDT::listen(l, 5));
    show("listen again", UDT::listen(l, 5));
    show("listening state", UDT::getsockstate(l));
    UDTSOCKET t2 = UDT::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in same = loopback(port_of(l));
    show("bind shared port", UDT::bind(t2, (sockaddr*)&same, sizeof(same)));
    show("shared port is the same", port_of(t2) - port_of(l));
    show("second listener", UDT::listen(t2, 5));
    UDT::close(t2);
    UDTSOCKET c = UDT::socket(AF_INET, SOCK_STREAM, 0);
    show("connect", UDT::connect(c, (sockaddr*)&same, sizeof(same)));
    UDTSOCKET acc = UDT::accept(l, NULL, NULL);
    show("accepted id follows", c - acc);
    show("connected state", UDT::getsockstate(c));
    show("connected UDT_EVENT", opt(c, UDT_EVENT));
    show("connect again", UDT::connect(c, (sockaddr*)&same, sizeof(same)));
    show("bind connected", UDT::bind(c, (sockaddr*)&same, sizeof(same)));
    v = 1000;
    show("set MSS connected", UDT::setsockopt(c, 0, UDT_MSS, &v, sizeof(v)));
    show("set FC connected", UDT::setsockopt(c, 0, UDT_FC, &v, sizeof(v)));
    show("set RENDEZVOUS connected", UDT::setsockopt(c, 0, UDT_RENDEZVOUS, &yes, sizeof(yes)));
    show("sendmsg on stream", UDT::sendmsg(c, buf, 10));
    show("send negative", UDT::send(c, buf, -5, 0));
    show("recv negative", UDT::recv(acc, buf, -1, 0));
    bool no = false;
    UDT::setsockopt(acc, 0, UDT_RCVSYN, &no, sizeof(no));
    show("nonblocking recv", UDT::recv(acc, buf, 10, 0));
    UDT::setsockopt(acc, 0, UDT_RCVSYN, &yes, sizeof(yes));
    v = 100;
    UDT::setsockopt(acc, 0, UDT_RCVTIMEO, &v, sizeof(v));
    show("recv timeout", UDT::recv(acc, buf, 10, 0));
    UDT::setsockopt(l, 0, UDT_RCVSYN, &no, sizeof(no));
    show("nonblocking accept", UDT::accept(l, NULL, NULL));
    show("send", UDT::send(c, buf, 100, 0));
    show("perfmon", UDT::perfmon(c, &t));
    show("close connected", UDT::close(c));
    int n = 0, k;
    v = -1;
    UDT::setsockopt(acc, 0, UDT_RCVTIMEO, &v, sizeof(v));
    while ((k = UDT::recv(acc, buf, sizeof(buf), 0)) > 0) n += k;
    show("bytes before the end", n);
    show("recv ends with an error", k == -1);
    show("broken state", UDT::getsockstate(acc));
    show("send when broken", UDT::send(acc, buf, 10, 0));
    show("perfmon when broken", UDT::perfmon(acc, &t));
    show("getpeername when broken", UDT::getpeername(acc, (sockaddr*)&a, &alen));
    UDT::close(acc);
    UDT::close(l);

    // Message mode.
    UDTSOCKET ml = UDT::socket(AF_INET, SOCK_DGRAM, 0);
    a = loopback(0);
    UDT::bind(ml, (sockaddr*)&a, sizeof(a));
    UDT::listen(ml, 5);
    UDTSOCKET mc = UDT::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in ma = loopback(port_of(ml));
    UDT::connect(mc, (sockaddr*)&ma, sizeof(ma));
    UDTSOCKET ms = UDT::accept(ml, NULL, NULL);
    show("send on dgram", UDT::send(mc, buf, 10, 0));
    static char big[3000];
    show("sendmsg", UDT::sendmsg(mc, big, sizeof(big), -1, true));
    show("recvmsg cut", UDT::recvmsg(ms, buf, 100));
    static char huge[16 << 20];
    show("sendmsg too large", UDT::sendmsg(mc, huge, sizeof(huge)));
    UDT::close(mc);
    UDT::close(ms);
    UDT::close(ml);

    // Invalid ids.
    int64_t off = 0;
    show("bogus bind", UDT::bind(4242, (sockaddr*)&a, sizeof(a)));
    show("bogus listen", UDT::listen(4242, 5));
    show("bogus accept", UDT::accept(4242, NULL, NULL));
    show("bogus connect", UDT::connect(4242, (sockaddr*)&a, sizeof(a)));
    show("bogus close", UDT::close(4242));
    show("bogus getsockname", UDT::getsockname(4242, (sockaddr*)&a, &alen));
    show("bogus getpeername", UDT::getpeername(4242, (sockaddr*)&a, &alen));
    show("bogus getsockopt", opt(4242, UDT_MSS));
    show("bogus setsockopt", UDT::setsockopt(4242, 0, UDT_MSS, &v, sizeof(v)));
    show("bogus send", UDT::send(4242, buf, 10, 0));
    show("bogus recv", UDT::recv(4242, buf, 10, 0));
    show("bogus sendmsg", UDT::sendmsg(4242, buf, 10));
    show("bogus recvmsg", UDT::recvmsg(4242, buf, 10));
    show("bogus sendfile2", UDT::sendfile2(4242, "/dev/null", &off, 10));
    show("bogus perfmon", UDT::perfmon(4242, &t));
    show("bogus state", UDT::getsockstate(4242));

    // Epoll.
    int eid = UDT::epoll_create();
    show("epoll bad eid", UDT::epoll_add_usock(eid + 7, s));
    show("epoll bogus socket", UDT::epoll_add_usock(eid, 4242));
    std::set<UDTSOCKET> rd;
    show("epoll wait nothing forever", UDT::epoll_wait(eid, &rd, NULL, -1));
    UDT::epoll_add_usock(eid, s);
    show("epoll wait times out", UDT::epoll_wait(eid, &rd, NULL, 50));
    show("epoll release", UDT::epoll_release(eid));
    show("epoll release again", UDT::epoll_release(eid));

    // Nobody answers: connect times out.
    UDTSOCKET z = UDT::socket(AF_INET, SOCK_STREAM, 0);
    int dead = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in da = loopback(0);
    socklen_t dl = sizeof(da);
    ::bind(dead, (sockaddr*)&da, sizeof(da));
    getsockname(dead, (sockaddr*)&da, &dl);
    show("connect nobody", UDT::connect(z, (sockaddr*)&da, sizeof(da)));
    show("state after failed connect", UDT::getsockstate(z));
    ::close(dead);

    UDT::close(s);
    UDT::close(d);
    UDT::close(z);
    UDT::cleanup();
    return 0;
}
