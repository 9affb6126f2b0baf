// udt_file: a file server and client written only against UDT4's API
// (udt.h, namespace UDT), for the interop tests. It builds unchanged against
// UDT 4.11 (Debian's libudt-dev) and against the project's library.
//
//   udt_file serve PORT FILE [--path]   listen (PORT 0 picks one), print
//                                       "PORT n", wait for the client with
//                                       epoll, send the file's size then the
//                                       file (UDT::sendfile on an fstream, or
//                                       sendfile2 with --path)
//   udt_file fetch HOST PORT OUT [--path]
//                                       connect, read the size, receive the
//                                       file (UDT::recvfile / recvfile2)
//
// Both print "DONE bytes N" and exit 0 on success, "ERROR ..." and 1 otherwise.
//
// Build: g++ -O2 -o udt_file udt_file.cpp -ludt -lpthread

#include <udt/udt.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>

static int die(const char* what) {
    fprintf(stderr, "ERROR %s: %d %s\n", what, UDT::getlasterror().getErrorCode(),
            UDT::getlasterror().getErrorMessage());
    return 1;
}

static bool recv_all(UDTSOCKET s, char* buf, int n) {
    while (n > 0) {
        int r = UDT::recv(s, buf, n, 0);
        if (r == UDT::ERROR) return false;
        buf += r;
        n -= r;
    }
    return true;
}

static bool send_all(UDTSOCKET s, const char* buf, int n) {
    while (n > 0) {
        int r = UDT::send(s, buf, n, 0);
        if (r == UDT::ERROR) return false;
        buf += r;
        n -= r;
    }
    return true;
}

static int serve(int port, const char* file, bool by_path) {
    UDTSOCKET l = UDT::socket(AF_INET, SOCK_STREAM, 0);
    if (l == UDT::INVALID_SOCK) return die("socket");
    sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (UDT::bind(l, (sockaddr*)&a, sizeof(a)) == UDT::ERROR) return die("bind");
    int alen = sizeof(a);
    if (UDT::getsockname(l, (sockaddr*)&a, &alen) == UDT::ERROR) return die("getsockname");
    if (UDT::listen(l, 1) == UDT::ERROR) return die("listen");
    fprintf(stderr, "PORT %d\n", ntohs(a.sin_port));
    fflush(stderr);

    // Wait for the client with epoll: the listener is readable once a
    // connection is ready to accept.
    int eid = UDT::epoll_create();
    int events = UDT_EPOLL_IN;
    if (UDT::epoll_add_usock(eid, l, &events) == UDT::ERROR) return die("epoll_add_usock");
    std::set<UDTSOCKET> readable;
    if (UDT::epoll_wait(eid, &readable, NULL, 60000) == UDT::ERROR) return die("epoll_wait");
    if (readable.count(l) != 1) {
        fprintf(stderr, "ERROR epoll_wait did not report the listener\n");
        return 1;
    }
    UDT::epoll_release(eid);

    sockaddr_in peer;
    int plen = sizeof(peer);
    UDTSOCKET s = UDT::accept(l, (sockaddr*)&peer, &plen);
    if (s == UDT::INVALID_SOCK) return die("accept");

    std::fstream ifs(file, std::ios::in | std::ios::binary);
    ifs.seekg(0, std::ios::end);
    int64_t size = ifs.tellg();
    ifs.seekg(0, std::ios::beg);
    if (size < 0) {
        fprintf(stderr, "ERROR cannot read %s\n", file);
        return 1;
    }
    if (!send_all(s, (const char*)&size, sizeof(size))) return die("send size");
    int64_t offset = 0;
    int64_t sent = by_path ? UDT::sendfile2(s, file, &offset, size) : UDT::sendfile(s, ifs, offset, size);
    if (sent < 0) return die("sendfile");
    if (sent != size || offset != size) {
        fprintf(stderr, "ERROR sendfile sent %lld of %lld\n", (long long)sent, (long long)size);
        return 1;
    }
    // The client says when it has everything; then close.
    char ack;
    if (!recv_all(s, &ack, 1)) return die("recv ack");
    UDT::close(s);
    UDT::close(l);
    fprintf(stderr, "DONE bytes %lld\n", (long long)sent);
    return 0;
}

static int fetch(const char* host, int port, const char* out, bool by_path) {
    UDTSOCKET s = UDT::socket(AF_INET, SOCK_STREAM, 0);
    if (s == UDT::INVALID_SOCK) return die("socket");
    sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "ERROR bad address %s\n", host);
        return 1;
    }
    if (UDT::connect(s, (sockaddr*)&a, sizeof(a)) == UDT::ERROR) return die("connect");
    int64_t size = 0;
    if (!recv_all(s, (char*)&size, sizeof(size))) return die("recv size");
    int64_t offset = 0;
    int64_t got;
    if (by_path) {
        got = UDT::recvfile2(s, out, &offset, size);
    } else {
        std::fstream ofs(out, std::ios::out | std::ios::binary | std::ios::trunc);
        got = UDT::recvfile(s, ofs, offset, size);
    }
    if (got < 0) return die("recvfile");
    if (got != size || offset != size) {
        fprintf(stderr, "ERROR recvfile got %lld of %lld\n", (long long)got, (long long)size);
        return 1;
    }
    char ack = 1;
    if (!send_all(s, &ack, 1)) return die("send ack");
    UDT::close(s);
    fprintf(stderr, "DONE bytes %lld\n", (long long)got);
    return 0;
}

int main(int argc, char** argv) {
    bool by_path = argc > 1 && std::string(argv[argc - 1]) == "--path";
    if (by_path) --argc;
    UDT::startup();
    int rc = 2;
    if (argc == 4 && std::string(argv[1]) == "serve") {
        rc = serve(atoi(argv[2]), argv[3], by_path);
    } else if (argc == 5 && std::string(argv[1]) == "fetch") {
        rc = fetch(argv[2], atoi(argv[3]), argv[4], by_path);
    } else {
        fprintf(stderr, "usage: udt_file serve PORT FILE [--path] | fetch HOST PORT OUT [--path]\n");
    }
    UDT::cleanup();
    return rc;
}
