/*
 * edge_cases.c: UDT4's error codes for every call on an invalid, closed or
 * wrong-state socket, bad pointers and lengths, option defaults and rules,
 * blocking and non-blocking modes, port sharing, bind2, rendezvous and epoll.
 * Written against the C interface (udt_c.h); run by tests/c_suite.rs.
 * Prints one line per failed check and "PASS n" / "FAIL n of m" at the end;
 * exit status 0 only if every check held.
 */
#include <udt/udt_c.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int checks, failures;

#define CHECK(cond)                                                             \
    do {                                                                        \
        ++checks;                                                               \
        if (!(cond)) {                                                          \
            ++failures;                                                         \
            fprintf(stderr, "FAILED line %d: %s (last error %d)\n", __LINE__, #cond, \
                    udt_getlasterror_code());                                   \
        }                                                                       \
    } while (0)

/* The call returned -1 and left `code` as the last error. */
#define FAILS(call, code)                                                       \
    do {                                                                        \
        udt_clearlasterror();                                                   \
        long long r_ = (long long)(call);                                       \
        ++checks;                                                               \
        if (r_ != -1 || udt_getlasterror_code() != (code)) {                    \
            ++failures;                                                         \
            fprintf(stderr, "FAILED line %d: %s returned %lld, error %d, wanted -1 and %d\n", \
                    __LINE__, #call, r_, udt_getlasterror_code(), (code));      \
        }                                                                       \
    } while (0)

static struct sockaddr_in loopback(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int port_of(int u) {
    struct sockaddr_in a;
    int len = sizeof(a);
    if (udt_getsockname(u, (struct sockaddr*)&a, &len) != 0) return -1;
    return ntohs(a.sin_port);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int geti(int u, int opt) {
    int v = -12345, len = sizeof(v);
    if (udt_getsockopt(u, 0, opt, &v, &len) != 0) return -12345;
    return v;
}

static int getb(int u, int opt) {
    char v = 0x55;
    int len = 1;
    if (udt_getsockopt(u, 0, opt, &v, &len) != 0) return -1;
    return v;
}

static int seti(int u, int opt, int v) { return udt_setsockopt(u, 0, opt, &v, sizeof(v)); }
static int setb(int u, int opt, int v) {
    char b = (char)v;
    return udt_setsockopt(u, 0, opt, &b, 1);
}

/* A listener on loopback (port 0) of `type`. */
static int listener(int type) {
    int l = udt_socket(AF_INET, type, 0);
    struct sockaddr_in a = loopback(0);
    CHECK(udt_bind(l, (struct sockaddr*)&a, sizeof(a)) == 0);
    CHECK(udt_listen(l, 8) == 0);
    return l;
}

/* A connected pair: *c connected to l, *s accepted. */
static void pair(int l, int type, int* c, int* s) {
    *c = udt_socket(AF_INET, type, 0);
    struct sockaddr_in a = loopback(port_of(l));
    CHECK(udt_connect(*c, (struct sockaddr*)&a, sizeof(a)) == 0);
    struct sockaddr_in peer;
    int plen = sizeof(peer);
    *s = udt_accept(l, (struct sockaddr*)&peer, &plen);
    CHECK(*s > 0);
    CHECK(plen == (int)sizeof(peer) && ntohs(peer.sin_port) == port_of(*c));
}

static void invalid_ids(void) {
    int bogus[] = {0, -1, 12345, 0x7fffffff};
    char buf[16] = {0};
    struct sockaddr_in a = loopback(0);
    int len = sizeof(a);
    int v = 0, vlen = sizeof(v);
    udt_traceinfo t;
    int64_t off = 0;
    for (unsigned i = 0; i < sizeof(bogus) / sizeof(bogus[0]); ++i) {
        int u = bogus[i];
        FAILS(udt_bind(u, (struct sockaddr*)&a, sizeof(a)), 5004);
        FAILS(udt_bind2(u, 0), 5004);
        FAILS(udt_listen(u, 5), 5004);
        FAILS(udt_accept(u, NULL, NULL), 5004);
        FAILS(udt_connect(u, (struct sockaddr*)&a, sizeof(a)), 5004);
        FAILS(udt_close(u), 5004);
        FAILS(udt_getpeername(u, (struct sockaddr*)&a, &len), 2002); /* UDT 4.11 says so */
        FAILS(udt_getsockname(u, (struct sockaddr*)&a, &len), 5004);
        FAILS(udt_getsockopt(u, 0, UDT_C_MSS, &v, &vlen), 5004);
        FAILS(udt_setsockopt(u, 0, UDT_C_MSS, &v, sizeof(v)), 5004);
        FAILS(udt_send(u, buf, 10, 0), 5004);
        FAILS(udt_recv(u, buf, 10, 0), 5004);
        FAILS(udt_sendmsg(u, buf, 10, -1, 1), 5004);
        FAILS(udt_recvmsg(u, buf, 10), 5004);
        FAILS(udt_sendfile2(u, "/dev/null", &off, 10, 1000), 5004);
        FAILS(udt_recvfile2(u, "/dev/null", &off, 10, 1000), 5004);
        FAILS(udt_perfmon(u, &t, 1), 5004);
        CHECK(udt_getsockstate(u) == UDT_C_NONEXIST);
    }
    CHECK(strcmp(udt_getlasterror_desc(), "Operation not supported: Invalid socket ID.") == 0);
}

static void fresh_socket(void) {
    char buf[16] = {0};
    int s = udt_socket(AF_INET, SOCK_STREAM, 0);
    int d = udt_socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(s > 0 && d > 0);
    CHECK(d == s - 1); /* ids count down */
    CHECK(udt_getsockstate(s) == UDT_C_INIT);
    CHECK(geti(s, UDT_C_STATE) == UDT_C_INIT);
    FAILS(udt_socket(AF_INET, 77, 0), 5003);
    FAILS(udt_socket(12345, SOCK_STREAM, 0), 5003);
    FAILS(udt_send(s, buf, 10, 0), 2002);
    FAILS(udt_recv(s, buf, 10, 0), 2002);
    FAILS(udt_sendmsg(s, buf, 10, -1, 0), 5009);
    FAILS(udt_recvmsg(s, buf, 10), 5009);
    FAILS(udt_send(d, buf, 10, 0), 5010);
    FAILS(udt_recv(d, buf, 10, 0), 5010);
    FAILS(udt_sendmsg(d, buf, 10, -1, 0), 2002);
    FAILS(udt_listen(s, 5), 5005);
    FAILS(udt_accept(s, NULL, NULL), 5006);
    struct sockaddr_in a;
    int len = sizeof(a);
    FAILS(udt_getsockname(s, (struct sockaddr*)&a, &len), 2002);
    FAILS(udt_getpeername(s, (struct sockaddr*)&a, &len), 2002);
    udt_traceinfo t;
    FAILS(udt_perfmon(s, &t, 1), 2002);
    void* cc = NULL;
    int cclen = sizeof(cc);
    FAILS(udt_getsockopt(s, 0, UDT_C_CC, &cc, &cclen), 5005);

    /* UDT4's defaults. */
    CHECK(geti(s, UDT_C_MSS) == 1500);
    CHECK(geti(s, UDT_C_FC) == 25600);
    CHECK(geti(s, UDT_C_SNDBUF) == 8192 * 1472);
    CHECK(geti(s, UDT_C_RCVBUF) == 8192 * 1472);
    CHECK(geti(s, UDT_C_UDP_SNDBUF) == 65536);
    CHECK(geti(s, UDT_C_UDP_RCVBUF) == 8192 * 1500);
    CHECK(geti(s, UDT_C_SNDTIMEO) == -1);
    CHECK(geti(s, UDT_C_RCVTIMEO) == -1);
    CHECK(getb(s, UDT_C_SNDSYN) == 1);
    CHECK(getb(s, UDT_C_RCVSYN) == 1);
    CHECK(getb(s, UDT_C_REUSEADDR) == 1);
    CHECK(getb(s, UDT_C_RENDEZVOUS) == 0);
    struct linger lg;
    int lglen = sizeof(lg);
    CHECK(udt_getsockopt(s, 0, UDT_C_LINGER, &lg, &lglen) == 0 && lg.l_onoff == 1 && lg.l_linger == 180);
    int64_t bw = 0;
    int bwlen = sizeof(bw);
    CHECK(udt_getsockopt(s, 0, UDT_C_MAXBW, &bw, &bwlen) == 0 && bw == -1 && bwlen == 8);
    CHECK(geti(s, UDT_C_SNDDATA) == 0 && geti(s, UDT_C_RCVDATA) == 0 && geti(s, UDT_C_EVENT) == 0);

    /* Option rules. */
    int v = 0, vlen = sizeof(v);
    FAILS(udt_getsockopt(s, 0, 99, &v, &vlen), 5000);
    FAILS(udt_getsockopt(s, 0, UDT_C_MSGTTL, &v, &vlen), 5000);
    FAILS(udt_getsockopt(s, 0, UDT_C_MAXMSG, &v, &vlen), 5000);
    FAILS(seti(s, 99, 1), 5000);
    FAILS(seti(s, -1, 1), 5000);
    FAILS(seti(s, UDT_C_STATE, 1), 5000);
    FAILS(seti(s, UDT_C_EVENT, 1), 5000);
    FAILS(seti(s, UDT_C_MSGTTL, 1), 5000);
    FAILS(seti(s, UDT_C_CC, 1), 5000);
    FAILS(seti(s, UDT_C_MSS, 75), 5003);
    FAILS(seti(s, UDT_C_SNDBUF, 0), 5003);
    FAILS(seti(s, UDT_C_RCVBUF, -5), 5003);
    FAILS(seti(s, UDT_C_FC, 0), 5003);
    CHECK(seti(s, UDT_C_FC, 10) == 0 && geti(s, UDT_C_FC) == 32); /* at least 32 */
    CHECK(seti(s, UDT_C_FC, 25600) == 0);
    CHECK(seti(s, UDT_C_RCVBUF, 100) == 0 && geti(s, UDT_C_RCVBUF) == 32 * 1472); /* at least 32 packets */
    CHECK(seti(s, UDT_C_MSS, 1400) == 0 && geti(s, UDT_C_MSS) == 1400);
    CHECK(seti(s, UDT_C_MSS, 1500) == 0);
    CHECK(seti(s, UDT_C_RCVTIMEO, 250) == 0 && geti(s, UDT_C_RCVTIMEO) == 250);

    /* Null pointers and bad lengths: errors, not crashes. */
    FAILS(udt_getsockopt(s, 0, UDT_C_MSS, NULL, &vlen), 5003);
    FAILS(udt_getsockopt(s, 0, UDT_C_MSS, &v, NULL), 5003);
    vlen = 2;
    FAILS(udt_getsockopt(s, 0, UDT_C_MSS, &v, &vlen), 5003);
    vlen = -1;
    FAILS(udt_getsockopt(s, 0, UDT_C_MSS, &v, &vlen), 5003);
    FAILS(udt_setsockopt(s, 0, UDT_C_MSS, NULL, 4), 5003);
    FAILS(udt_setsockopt(s, 0, UDT_C_MSS, &v, 0), 5003);
    FAILS(udt_setsockopt(s, 0, UDT_C_MSS, &v, -4), 5003);
    FAILS(udt_setsockopt(s, 0, UDT_C_MSS, &v, 2), 5003);
    FAILS(udt_setsockopt(s, 0, UDT_C_LINGER, &v, 4), 5003);
    FAILS(udt_bind(s, NULL, sizeof(struct sockaddr_in)), 5003);
    struct sockaddr_in any = loopback(0);
    FAILS(udt_bind(s, (struct sockaddr*)&any, 3), 5003);
    FAILS(udt_bind(s, (struct sockaddr*)&any, -16), 5003);
    FAILS(udt_connect(s, NULL, sizeof(any)), 5003);
    FAILS(udt_connect(s, (struct sockaddr*)&any, sizeof(any) + 1), 5003);
    FAILS(udt_perfmon(s, NULL, 1), 5003);
    FAILS(udt_sendfile2(s, NULL, NULL, 10, 100), 5003);

    /* Rendezvous needs a bound socket; listen refuses rendezvous. */
    CHECK(setb(s, UDT_C_RENDEZVOUS, 1) == 0 && getb(s, UDT_C_RENDEZVOUS) == 1);
    struct sockaddr_in far = loopback(9);
    FAILS(udt_connect(s, (struct sockaddr*)&far, sizeof(far)), 5008);
    CHECK(udt_bind(s, (struct sockaddr*)&any, sizeof(any)) == 0);
    CHECK(udt_getsockstate(s) == UDT_C_OPENED);
    FAILS(udt_listen(s, 5), 5007);
    FAILS(udt_accept(s, NULL, NULL), 5007);
    FAILS(udt_bind(s, (struct sockaddr*)&any, sizeof(any)), 5000);
    FAILS(seti(s, UDT_C_MSS, 1000), 5001);
    FAILS(seti(s, UDT_C_SNDBUF, 100000), 5001);
    FAILS(setb(s, UDT_C_REUSEADDR, 0), 5001);
    CHECK(udt_close(s) == 0);
    FAILS(udt_close(s), 5004);
    CHECK(udt_getsockstate(s) == UDT_C_CLOSED);
    CHECK(udt_close(d) == 0);
}

static void listener_rules(void) {
    int l = listener(SOCK_STREAM);
    CHECK(udt_getsockstate(l) == UDT_C_LISTENING);
    CHECK(udt_listen(l, 8) == 0); /* again: fine */
    int b = udt_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = loopback(0);
    CHECK(udt_bind(b, (struct sockaddr*)&any, sizeof(any)) == 0);
    FAILS(udt_listen(b, 0), 5003);
    FAILS(udt_listen(b, -3), 5003);
    CHECK(udt_close(b) == 0);
    struct sockaddr_in a;
    FAILS(udt_accept(l, (struct sockaddr*)&a, NULL), 5003);

    /* A second socket on the same port shares the multiplexer, but cannot listen. */
    int p = port_of(l);
    int t = udt_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in same = loopback(p);
    CHECK(udt_bind(t, (struct sockaddr*)&same, sizeof(same)) == 0);
    CHECK(port_of(t) == p);
    FAILS(udt_listen(t, 5), 5011);
    /* Different MSS: no sharing, and the port is taken (1003). */
    int m = udt_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(seti(m, UDT_C_MSS, 1000) == 0);
    FAILS(udt_bind(m, (struct sockaddr*)&same, sizeof(same)), 1003);
    /* Without UDT_REUSEADDR: no sharing either. */
    int n = udt_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(setb(n, UDT_C_REUSEADDR, 0) == 0);
    FAILS(udt_bind(n, (struct sockaddr*)&same, sizeof(same)), 1003);
    /* IPv6 socket, IPv4 address: bad parameters. */
    int six = udt_socket(AF_INET6, SOCK_STREAM, 0);
    FAILS(udt_bind(six, (struct sockaddr*)&same, sizeof(same)), 5003);

    /* The sharing socket connects out through the listener's port. */
    int l2 = listener(SOCK_STREAM);
    struct sockaddr_in to = loopback(port_of(l2));
    CHECK(udt_connect(t, (struct sockaddr*)&to, sizeof(to)) == 0);
    int acc = udt_accept(l2, NULL, NULL);
    CHECK(acc > 0);
    struct sockaddr_in peer;
    int plen = sizeof(peer);
    CHECK(udt_getpeername(acc, (struct sockaddr*)&peer, &plen) == 0 && ntohs(peer.sin_port) == p);
    char buf[4] = "abc";
    CHECK(udt_send(t, buf, 3, 0) == 3);
    char got[8] = {0};
    CHECK(udt_recv(acc, got, sizeof(got), 0) == 3 && memcmp(got, "abc", 3) == 0);

    /* Non-blocking accept with nothing pending. */
    CHECK(setb(l, UDT_C_RCVSYN, 0) == 0);
    FAILS(udt_accept(l, NULL, NULL), 6002);
    int ctl[] = {t, acc, m, n, six, l2, l};
    for (unsigned i = 0; i < sizeof(ctl) / sizeof(ctl[0]); ++i) CHECK(udt_close(ctl[i]) == 0);
}

static void connected_stream(void) {
    int l = listener(SOCK_STREAM);
    int c, s;
    pair(l, SOCK_STREAM, &c, &s);
    CHECK(udt_getsockstate(c) == UDT_C_CONNECTED && udt_getsockstate(s) == UDT_C_CONNECTED);
    CHECK(geti(c, UDT_C_STATE) == UDT_C_CONNECTED);
    CHECK((geti(c, UDT_C_EVENT) & UDT_C_EPOLL_OUT) != 0);
    CHECK(s == c - 1); /* accepted ids continue the count down */
    struct sockaddr_in a = loopback(port_of(l));
    FAILS(udt_connect(c, (struct sockaddr*)&a, sizeof(a)), 5002);
    FAILS(udt_bind(c, (struct sockaddr*)&a, sizeof(a)), 5000);
    FAILS(udt_listen(c, 5), 5002);
    FAILS(seti(c, UDT_C_MSS, 1000), 5001);
    FAILS(seti(c, UDT_C_FC, 1000), 5002);
    FAILS(seti(c, UDT_C_RENDEZVOUS, 1), 5001);
    char buf[256];
    FAILS(udt_sendmsg(c, buf, 10, -1, 0), 5009);
    CHECK(udt_send(c, buf, -5, 0) == 0);
    CHECK(udt_send(c, buf, 0, 0) == 0);
    CHECK(udt_recv(s, buf, -1, 0) == 0);
    FAILS(udt_send(c, NULL, 10, 0), 5003);
    FAILS(udt_recv(s, NULL, 10, 0), 5003);
    struct sockaddr_in p;
    int plen = 4;
    FAILS(udt_getpeername(c, (struct sockaddr*)&p, &plen), 5003);
    FAILS(udt_getpeername(c, NULL, &plen), 5003);

    /* Non-blocking receive: 6002; receive timeout: 6003 after about that long. */
    CHECK(setb(s, UDT_C_RCVSYN, 0) == 0);
    FAILS(udt_recv(s, buf, sizeof(buf), 0), 6002);
    CHECK(setb(s, UDT_C_RCVSYN, 1) == 0);
    CHECK(seti(s, UDT_C_RCVTIMEO, 150) == 0);
    double t0 = now_ms();
    FAILS(udt_recv(s, buf, sizeof(buf), 0), 6003);
    double waited = now_ms() - t0;
    CHECK(waited >= 140 && waited < 2000);
    CHECK(strcmp(udt_getlasterror_desc(), "Non-blocking call failure.") == 0);

    /* Data, then perfmon. */
    for (int i = 0; i < 256; ++i) buf[i] = (char)i;
    CHECK(udt_send(c, buf, 256, 0) == 256);
    char got[256];
    int n = 0;
    while (n < 256) {
        int r = udt_recv(s, got + n, 256 - n, 0);
        if (r <= 0) break;
        n += r;
    }
    CHECK(n == 256 && memcmp(buf, got, 256) == 0);
    udt_traceinfo t;
    CHECK(udt_perfmon(c, &t, 0) == 0);
    CHECK(t.pktSentTotal >= 1 && t.pktSent == t.pktSentTotal);
    CHECK(t.msRTT > 0 && t.msTimeStamp >= 0 && t.pktFlowWindow > 0);
    CHECK(udt_perfmon(c, &t, 1) == 0);
    CHECK(udt_perfmon(c, &t, 1) == 0);
    CHECK(t.pktSent == 0 && t.pktSentTotal >= 1); /* cleared by the previous call */
    CHECK(udt_perfmon(s, &t, 1) == 0 && t.pktRecvTotal >= 1);

    /* The peer closes: the other side reads what is left, then 2001. */
    CHECK(udt_send(c, buf, 100, 0) == 100);
    CHECK(udt_close(c) == 0);
    n = 0;
    int r;
    while ((r = udt_recv(s, got, sizeof(got), 0)) > 0) n += r;
    CHECK(n == 100);
    CHECK(r == -1 && udt_getlasterror_code() == 2001);
    CHECK(udt_getsockstate(s) == UDT_C_BROKEN);
    FAILS(udt_send(s, buf, 10, 0), 2001);
    FAILS(udt_perfmon(s, &t, 1), 2001);
    FAILS(udt_getpeername(s, (struct sockaddr*)&p, &plen), 2002);
    CHECK((geti(s, UDT_C_EVENT) & UDT_C_EPOLL_ERR) != 0);
    CHECK(udt_close(s) == 0);
    CHECK(udt_close(l) == 0);
}

static void closing_the_listener_keeps_accepted(void) {
    int l = listener(SOCK_STREAM);
    int c, s;
    pair(l, SOCK_STREAM, &c, &s);
    CHECK(udt_close(l) == 0);
    char buf[5] = "hello";
    char got[5];
    CHECK(udt_send(s, buf, 5, 0) == 5);
    CHECK(udt_recv(c, got, 5, 0) == 5 && memcmp(got, "hello", 5) == 0);
    CHECK(udt_getsockstate(s) == UDT_C_CONNECTED);
    CHECK(udt_close(c) == 0 && udt_close(s) == 0);
}

static void send_buffer_limits(void) {
    /* A receiver that reads nothing, with a small buffer, and a sender with a
       small one: the sender runs out of room. */
    int l = udt_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(seti(l, UDT_C_RCVBUF, 32 * 1472) == 0);
    struct sockaddr_in a = loopback(0);
    CHECK(udt_bind(l, (struct sockaddr*)&a, sizeof(a)) == 0 && udt_listen(l, 4) == 0);
    int c = udt_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(seti(c, UDT_C_SNDBUF, 64 * 1472) == 0);
    a = loopback(port_of(l));
    CHECK(udt_connect(c, (struct sockaddr*)&a, sizeof(a)) == 0);
    int s = udt_accept(l, NULL, NULL);
    CHECK(s > 0);
    static char big[1 << 20];
    CHECK(setb(c, UDT_C_SNDSYN, 0) == 0);
    int r = udt_send(c, big, sizeof(big), 0);
    CHECK(r > 0 && r < (int)sizeof(big)); /* partial: only what fits */
    CHECK(geti(c, UDT_C_SNDDATA) > 0);
    double t0 = now_ms();
    int code = 0;
    while (now_ms() - t0 < 5000) {
        if (udt_send(c, big, sizeof(big), 0) < 0) {
            code = udt_getlasterror_code();
            break;
        }
    }
    CHECK(code == 6001);
    /* Let the receiver's buffer fill up, then take what room is left. */
    usleep(300000);
    while (udt_send(c, big, sizeof(big), 0) > 0) usleep(50000);
    CHECK(udt_getlasterror_code() == 6001);
    CHECK(setb(c, UDT_C_SNDSYN, 1) == 0 && seti(c, UDT_C_SNDTIMEO, 100) == 0);
    FAILS(udt_send(c, big, sizeof(big), 0), 6003);
    CHECK(geti(s, UDT_C_RCVDATA) > 0);
    /* Non-lingering close returns at once even with data queued. */
    struct linger lg = {0, 0};
    CHECK(udt_setsockopt(c, 0, UDT_C_LINGER, &lg, sizeof(lg)) == 0);
    CHECK(udt_close(c) == 0 && udt_close(s) == 0 && udt_close(l) == 0);
}

static void messages(void) {
    int l = listener(SOCK_DGRAM);
    int c, s;
    pair(l, SOCK_DGRAM, &c, &s);
    char buf[3000];
    memset(buf, 'm', sizeof(buf));
    FAILS(udt_send(c, buf, 10, 0), 5010);
    CHECK(udt_sendmsg(c, buf, 3000, -1, 1) == 3000);
    CHECK(udt_sendmsg(c, "tail", 4, 1000, 0) == 4);
    CHECK(udt_sendmsg(c, buf, 0, -1, 1) == 0);
    char got[100];
    CHECK(udt_recvmsg(s, got, 100) == 100); /* cut to the buffer, the rest dropped */
    CHECK(udt_recvmsg(s, got, 100) == 4 && memcmp(got, "tail", 4) == 0);
    CHECK(setb(s, UDT_C_RCVSYN, 0) == 0);
    FAILS(udt_recvmsg(s, got, 100), 6002);
    static char huge[16 << 20];
    FAILS(udt_sendmsg(c, huge, sizeof(huge), -1, 1), 5012);
    CHECK(udt_close(c) == 0 && udt_close(s) == 0 && udt_close(l) == 0);
}

static void rendezvous(void) {
    int a = udt_socket(AF_INET, SOCK_STREAM, 0), b = udt_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = loopback(0);
    CHECK(setb(a, UDT_C_RENDEZVOUS, 1) == 0 && setb(b, UDT_C_RENDEZVOUS, 1) == 0);
    CHECK(udt_bind(a, (struct sockaddr*)&any, sizeof(any)) == 0);
    CHECK(udt_bind(b, (struct sockaddr*)&any, sizeof(any)) == 0);
    /* Non-blocking connect (UDT_RCVSYN off) on both, then wait for CONNECTED. */
    CHECK(setb(a, UDT_C_RCVSYN, 0) == 0 && setb(b, UDT_C_RCVSYN, 0) == 0);
    struct sockaddr_in ta = loopback(port_of(b)), tb = loopback(port_of(a));
    CHECK(udt_connect(a, (struct sockaddr*)&ta, sizeof(ta)) == 0);
    CHECK(udt_getsockstate(a) == UDT_C_CONNECTING);
    CHECK(udt_connect(b, (struct sockaddr*)&tb, sizeof(tb)) == 0);
    double t0 = now_ms();
    while ((udt_getsockstate(a) != UDT_C_CONNECTED || udt_getsockstate(b) != UDT_C_CONNECTED) &&
           now_ms() - t0 < 5000)
        usleep(1000);
    CHECK(udt_getsockstate(a) == UDT_C_CONNECTED && udt_getsockstate(b) == UDT_C_CONNECTED);
    CHECK(setb(b, UDT_C_RCVSYN, 1) == 0);
    CHECK(udt_send(a, "rdv", 3, 0) == 3);
    char got[3];
    CHECK(udt_recv(b, got, 3, 0) == 3 && memcmp(got, "rdv", 3) == 0);
    CHECK(udt_close(a) == 0 && udt_close(b) == 0);

    /* A failed blocking connect: nobody answers; 1001 after UDT4's 3 s, and
       the socket is OPENED again. */
    int c = udt_socket(AF_INET, SOCK_STREAM, 0);
    int dead = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in d = loopback(0);
    socklen_t dl = sizeof(d);
    bind(dead, (struct sockaddr*)&d, sizeof(d));
    getsockname(dead, (struct sockaddr*)&d, &dl);
    FAILS(udt_connect(c, (struct sockaddr*)&d, sizeof(d)), 1001);
    CHECK(udt_getsockstate(c) == UDT_C_OPENED);
    CHECK(udt_close(c) == 0);
    close(dead);
}

static void bind_to_existing_udp_socket(void) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = loopback(0);
    socklen_t al = sizeof(a);
    CHECK(bind(fd, (struct sockaddr*)&a, sizeof(a)) == 0);
    getsockname(fd, (struct sockaddr*)&a, &al);
    int u = udt_socket(AF_INET, SOCK_STREAM, 0);
    FAILS(udt_bind2(u, -1), 5003);
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    FAILS(udt_bind2(u, tcp), 5003);
    close(tcp);
    CHECK(udt_bind2(u, fd) == 0);
    CHECK(port_of(u) == ntohs(a.sin_port));
    CHECK(udt_listen(u, 4) == 0);
    int c = udt_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(udt_connect(c, (struct sockaddr*)&a, sizeof(a)) == 0);
    int s = udt_accept(u, NULL, NULL);
    CHECK(s > 0);
    CHECK(udt_close(s) == 0 && udt_close(c) == 0 && udt_close(u) == 0);
}

static void epoll(void) {
    int eid = udt_epoll_create();
    CHECK(eid > 0);
    int rd[8], wr[8], lr[8], lw[8];
    int rn = 8, wn = 8, lrn = 8, lwn = 8;
    FAILS(udt_epoll_wait2(eid, rd, &rn, wr, &wn, -1, NULL, NULL, NULL, NULL), 5003);
    FAILS(udt_epoll_add_usock(eid + 100, 1, NULL), 5013);
    FAILS(udt_epoll_wait2(eid + 100, rd, &rn, wr, &wn, 0, NULL, NULL, NULL, NULL), 5013);
    FAILS(udt_epoll_add_usock(eid, 12345, NULL), 5004);

    int l = listener(SOCK_STREAM);
    int in = UDT_C_EPOLL_IN;
    CHECK(udt_epoll_add_usock(eid, l, &in) == 0);
    double t0 = now_ms();
    FAILS(udt_epoll_wait2(eid, rd, &rn, wr, &wn, 100, NULL, NULL, NULL, NULL), 6003);
    CHECK(now_ms() - t0 >= 90);
    int c = udt_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(port_of(l));
    CHECK(udt_connect(c, (struct sockaddr*)&a, sizeof(a)) == 0);
    rn = wn = 8;
    CHECK(udt_epoll_wait2(eid, rd, &rn, wr, &wn, 2000, NULL, NULL, NULL, NULL) == 1);
    CHECK(rn == 1 && rd[0] == l && wn == 0); /* the listener has a connection */
    int s = udt_accept(l, NULL, NULL);
    CHECK(s > 0);
    CHECK(udt_epoll_remove_usock(eid, l) == 0);

    /* Connected: writable at once, readable once data arrives. */
    CHECK(udt_epoll_add_usock(eid, s, NULL) == 0);
    rn = wn = 8;
    CHECK(udt_epoll_wait2(eid, rd, &rn, wr, &wn, 1000, NULL, NULL, NULL, NULL) == 1);
    CHECK(rn == 0 && wn == 1 && wr[0] == s);
    int out = UDT_C_EPOLL_IN;
    CHECK(udt_epoll_add_usock(eid, s, &out) == 0); /* now only IN */
    CHECK(udt_send(c, "x", 1, 0) == 1);
    rn = wn = 8;
    CHECK(udt_epoll_wait2(eid, rd, &rn, wr, &wn, 2000, NULL, NULL, NULL, NULL) == 1);
    CHECK(rn == 1 && rd[0] == s);
    char got;
    CHECK(udt_recv(s, &got, 1, 0) == 1 && got == 'x');

    /* A system socket with a datagram waiting. */
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in fa = loopback(0);
    socklen_t fl = sizeof(fa);
    bind(fd, (struct sockaddr*)&fa, sizeof(fa));
    getsockname(fd, (struct sockaddr*)&fa, &fl);
    CHECK(udt_epoll_add_ssock(eid, fd, &in) == 0);
    CHECK(udt_epoll_remove_usock(eid, s) == 0);
    rn = wn = lrn = lwn = 8;
    FAILS(udt_epoll_wait2(eid, rd, &rn, wr, &wn, 50, lr, &lrn, lw, &lwn), 6003);
    sendto(fd, "d", 1, 0, (struct sockaddr*)&fa, sizeof(fa));
    rn = wn = lrn = lwn = 8;
    CHECK(udt_epoll_wait2(eid, rd, &rn, wr, &wn, 2000, lr, &lrn, lw, &lwn) == 1);
    CHECK(lrn == 1 && lr[0] == fd && rn == 0 && lwn == 0);
    CHECK(udt_epoll_remove_ssock(eid, fd) == 0);

    /* Broken sockets show up (UDT_EPOLL_ERR) in both sets. */
    int err = UDT_C_EPOLL_ERR;
    CHECK(udt_epoll_add_usock(eid, s, &err) == 0);
    CHECK(udt_close(c) == 0);
    rn = wn = 8;
    CHECK(udt_epoll_wait2(eid, rd, &rn, wr, &wn, 5000, NULL, NULL, NULL, NULL) == 2);
    CHECK(rn == 1 && wn == 1 && rd[0] == s && wr[0] == s);
    int nu = -1, ns = -1;
    CHECK(udt_epoll_size(eid, &nu, &ns) == 0 && nu == 1 && ns == 0);
    /* Closed sockets leave the set. */
    CHECK(udt_close(s) == 0);
    CHECK(udt_epoll_size(eid, &nu, &ns) == 0 && nu == 1);
    FAILS(udt_epoll_wait2(eid, rd, &rn, wr, &wn, 10, NULL, NULL, NULL, NULL), 6003);
    CHECK(udt_epoll_size(eid, &nu, &ns) == 0 && nu == 0);
    CHECK(udt_epoll_release(eid) == 0);
    FAILS(udt_epoll_release(eid), 5013);
    close(fd);
    CHECK(udt_close(l) == 0);
}

static void select_family(void) {
    int l = listener(SOCK_STREAM);
    int c, s;
    pair(l, SOCK_STREAM, &c, &s);
    int fds[3] = {c, s, 424242};
    int rd[3], wr[3], ex[3], rn, wn, en;
    CHECK(udt_select_ready(fds, 3, rd, &rn, wr, &wn, ex, &en, 100) >= 3);
    CHECK(wn == 2 && en == 1 && ex[0] == 424242);
    FAILS(udt_select_ready(NULL, 3, rd, &rn, wr, &wn, ex, &en, 0), 5003);
    CHECK(udt_close(c) == 0 && udt_close(s) == 0 && udt_close(l) == 0);
}


static char sendbuf[1 << 20];

static void* send_all(void* arg) {
    int u = *(int*)arg, off = 0;
    while (off < (int)sizeof(sendbuf)) {
        int r = udt_send(u, sendbuf + off, sizeof(sendbuf) - off, 0);
        if (r < 0) return (void*)1;
        off += r;
    }
    return NULL;
}

static int recv_count(int u, int n) {
    static char in[1 << 16];
    int got = 0;
    while (got < n) {
        int r = udt_recv(u, in, sizeof(in) < (size_t)(n - got) ? (int)sizeof(in) : n - got, 0);
        if (r <= 0) return -1;
        got += r;
    }
    return got;
}

static void* recv_blocked(void* arg) {
    char b[16];
    int r = udt_recv(*(int*)arg, b, sizeof(b), 0);
    return (void*)(long)(r == -1 ? udt_getlasterror_code() : 0);
}

static void threads(void) {
    int l = listener(SOCK_STREAM);
    int c, s;
    pair(l, SOCK_STREAM, &c, &s);
    /* Both directions at once: one thread sends on each socket while this
       thread receives on both. */
    pthread_t t1, t2;
    pthread_create(&t1, NULL, send_all, &c);
    pthread_create(&t2, NULL, send_all, &s);
    CHECK(recv_count(s, sizeof(sendbuf)) == (int)sizeof(sendbuf));
    CHECK(recv_count(c, sizeof(sendbuf)) == (int)sizeof(sendbuf));
    void* r1;
    void* r2;
    pthread_join(t1, &r1);
    pthread_join(t2, &r2);
    CHECK(r1 == NULL && r2 == NULL);
    /* A receive blocked in another thread ends when the socket is closed. */
    pthread_t t3;
    pthread_create(&t3, NULL, recv_blocked, &s);
    usleep(100000);
    double t0 = now_ms();
    CHECK(udt_close(s) == 0);
    void* code;
    pthread_join(t3, &code);
    CHECK(now_ms() - t0 < 2000);
    CHECK((long)code == 2001);
    CHECK(udt_close(c) == 0 && udt_close(l) == 0);
}

int main(void) {
    CHECK(udt_startup() == 0);
    invalid_ids();
    fresh_socket();
    listener_rules();
    connected_stream();
    closing_the_listener_keeps_accepted();
    send_buffer_limits();
    messages();
    rendezvous();
    bind_to_existing_udp_socket();
    epoll();
    select_family();
    threads();
    CHECK(udt_cleanup() == 0);
    /* After cleanup, the library starts again on demand. */
    int u = udt_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(u > 0 && udt_close(u) == 0);
    CHECK(udt_cleanup() == 0);
    if (failures) {
        printf("FAIL %d of %d\n", failures, checks);
        return 1;
    }
    printf("PASS %d\n", checks);
    return 0;
}
