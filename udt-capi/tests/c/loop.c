/*
 * loop.c: connect, transfer both ways, close, many times over, then clean up;
 * run under valgrind by tests/c_suite.rs (no leak, no invalid access).
 */
#include <udt/udt_c.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int port_of(int u) {
    struct sockaddr_in a;
    int len = sizeof(a);
    udt_getsockname(u, (struct sockaddr*)&a, &len);
    return ntohs(a.sin_port);
}

static int transfer(int from, int to, char* buf, int n) {
    int sent = 0, got = 0;
    while (sent < n) {
        int r = udt_send(from, buf + sent, n - sent, 0);
        if (r < 0) return -1;
        sent += r;
    }
    static char in[1 << 16];
    while (got < n) {
        int r = udt_recv(to, in, sizeof(in), 0);
        if (r < 0) return -1;
        got += r;
    }
    return got;
}

int main(int argc, char** argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 10;
    static char buf[256 << 10];
    for (unsigned i = 0; i < sizeof(buf); ++i) buf[i] = (char)(i * 7);
    udt_startup();
    for (int k = 0; k < rounds; ++k) {
        int l = udt_socket(AF_INET, k % 2 ? SOCK_DGRAM : SOCK_STREAM, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (udt_bind(l, (struct sockaddr*)&a, sizeof(a)) || udt_listen(l, 4)) return 1;
        a.sin_port = htons(port_of(l));
        int c = udt_socket(AF_INET, k % 2 ? SOCK_DGRAM : SOCK_STREAM, 0);
        if (udt_connect(c, (struct sockaddr*)&a, sizeof(a))) return 2;
        int s = udt_accept(l, NULL, NULL);
        if (s < 0) return 3;
        if (k % 2) {
            static char m[70000];
            if (udt_sendmsg(c, buf, sizeof(buf) / 4, -1, 1) < 0) return 4;
            if (udt_recvmsg(s, m, sizeof(m)) != (int)sizeof(buf) / 4) return 5;
        } else {
            if (transfer(c, s, buf, sizeof(buf)) != (int)sizeof(buf)) return 6;
            if (transfer(s, c, buf, sizeof(buf) / 2) != (int)sizeof(buf) / 2) return 7;
        }
        udt_traceinfo t;
        if (udt_perfmon(c, &t, 1)) return 8;
        int eid = udt_epoll_create();
        udt_epoll_add_usock(eid, s, NULL);
        int rd[2], wr[2], rn = 2, wn = 2;
        if (udt_epoll_wait2(eid, rd, &rn, wr, &wn, 1000, NULL, NULL, NULL, NULL) < 1) return 9;
        udt_epoll_release(eid);
        if (udt_close(c) || udt_close(s) || udt_close(l)) return 10;
    }
    udt_cleanup();
    printf("DONE %d rounds\n", rounds);
    return 0;
}
