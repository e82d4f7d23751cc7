/*
 * hfload: HEAD+GET pairs on one URL, as huggingface_hub asks for every
 * file (a HEAD for the metadata, then the GET), over keep-alive
 * connections, for a fixed time.  wrk cannot do this: its parser waits
 * for a body after a HEAD answer that carries Content-Length.
 *
 *     hfload -c CONNECTIONS -d SECONDS http://127.0.0.1:PORT/PATH
 *
 * Prints "RESULT <requests/s> <p99 latency ms> <errors>"; an error is a
 * status other than 200 or a broken connection.  One thread, epoll.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS  256
#define BUF_SIZE   (256 * 1024)
#define HIST_US    1000000          /* latencies up to 1 s, by microsecond */

typedef struct {
    int       fd;
    int       head;                 /* the request in flight is a HEAD */
    double    sent;
    size_t    len;
    char      buf[BUF_SIZE];
} conn_t;

static conn_t    conns[MAX_CONNS];
static unsigned  hist[HIST_US + 1];
static char      req_head[4096], req_get[4096];
static struct sockaddr_in  addr;

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
send_request(conn_t *c)
{
    const char *r = c->head ? req_head : req_get;
    size_t      n = strlen(r);

    c->sent = now();
    return write(c->fd, r, n) == (ssize_t) n ? 0 : -1;
}

static int
open_conn(int ep, conn_t *c)
{
    int                 one = 1;
    struct epoll_event  ev;

    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *) &addr, sizeof(addr)))
    {
        return -1;
    }

    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->head = 1;
    c->len = 0;
    ev.events = EPOLLIN;
    ev.data.ptr = c;

    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev)) {
        return -1;
    }

    return send_request(c);
}

/* length of the first complete answer in the buffer, 0: not yet, -1: bad */
static long
complete(conn_t *c, int *status)
{
    char   *end, *p;
    long    body = 0;

    c->buf[c->len] = '\0';
    end = strstr(c->buf, "\r\n\r\n");
    if (end == NULL) {
        return c->len >= BUF_SIZE - 1 ? -1 : 0;
    }

    if (strncmp(c->buf, "HTTP/1.", 7) != 0) {
        return -1;
    }

    *status = atoi(c->buf + 9);

    for (p = strstr(c->buf, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, "Content-Length:", 15) == 0) {
            body = atol(p + 17);
        }
    }

    if (c->head) {
        body = 0;
    }

    if (end + 4 + body > c->buf + BUF_SIZE - 1) {
        return -1;
    }

    return (end + 4 + body <= c->buf + c->len) ? end + 4 + body - c->buf : 0;
}

int
main(int argc, char **argv)
{
    int                 i, n, ep, conns_n = 8, status, port;
    long                done = 0, errors = 0, k, seen;
    char                host[256], path[2048];
    double              seconds = 4, start, t, lat;
    ssize_t             r;
    conn_t             *c;
    struct epoll_event  evs[MAX_CONNS];

    while ((i = getopt(argc, argv, "c:d:")) != -1) {
        if (i == 'c') conns_n = atoi(optarg);
        else if (i == 'd') seconds = atof(optarg);
        else return 2;
    }

    if (optind >= argc || conns_n < 1 || conns_n > MAX_CONNS
        || sscanf(argv[optind], "http://%255[^:]:%d%2047s", host, &port, path)
           != 3)
    {
        fprintf(stderr, "usage: hfload -c N -d SECONDS http://IP:PORT/PATH\n");
        return 2;
    }

    snprintf(req_head, sizeof(req_head),
             "HEAD %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: hfload\r\n\r\n",
             path, host, port);
    snprintf(req_get, sizeof(req_get),
             "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: hfload\r\n\r\n",
             path, host, port);

    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "hfload: an IPv4 address is needed, not %s\n", host);
        return 2;
    }

    ep = epoll_create1(0);
    for (i = 0; i < conns_n; i++) {
        if (open_conn(ep, &conns[i])) {
            perror("hfload: connect");
            return 1;
        }
    }

    start = now();

    while ((t = now()) - start < seconds) {
        n = epoll_wait(ep, evs, MAX_CONNS, 100);

        for (i = 0; i < n; i++) {
            c = evs[i].data.ptr;
            r = read(c->fd, c->buf + c->len, BUF_SIZE - 1 - c->len);

            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) {
                    continue;
                }
                goto broken;
            }

            c->len += r;

            while ((k = complete(c, &status)) > 0) {
                lat = (now() - c->sent) * 1e6;
                hist[lat < HIST_US ? (int) lat : HIST_US]++;
                done++;
                if (status != 200) {
                    errors++;
                }
                memmove(c->buf, c->buf + k, c->len - k);
                c->len -= k;
                c->head = !c->head;
                if (send_request(c)) {
                    goto broken;
                }
            }

            if (k == 0) {
                continue;
            }

        broken:
            errors++;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            if (open_conn(ep, c)) {
                perror("hfload: reconnect");
                return 1;
            }
        }
    }

    t = now() - start;

    for (seen = 0, i = 0; i <= HIST_US; i++) {
        seen += hist[i];
        if (seen * 100 >= done * 99) {
            break;
        }
    }

    printf("RESULT %.1f %.3f %ld\n", done / t, i / 1000.0, errors);
    return 0;
}
