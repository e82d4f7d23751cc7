/*
 * fanin: N clients GET one URL at the same instant, each a thread of its
 * own (bench/client.py's threads share Python's interpreter lock, and a
 * thread busy hashing its body delayed the others' first reads by up to
 * the lock's switch interval each: the benchmark measured the client).
 *
 *     fanin -c CLIENTS http://127.0.0.1:PORT/PATH
 *
 * Every client connects first; a barrier then releases them all, and
 * "ttfb" (to the first body byte) and "time" (to the last) are measured
 * from that common start.  Each body is sha256-hashed (libcrypto).  A
 * client that has its first byte goes on at nice 19: on a machine of 2
 * cores, 31 threads hashing at full speed kept a client whose first bytes
 * had arrived from reading them for up to 90 ms (the server had sent them
 * within 7 ms), and clients on other machines would not take the server's
 * CPU at all.
 * Prints one JSON object, as client.py does: {"clients": [{"status",
 * "ttfb", "time", "bytes", "sha256", "error"}, ...] sorted by ttfb,
 * "wall"}.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS  1024
#define BUF_SIZE     (1024 * 1024)

typedef struct {
    pthread_t  thread;
    int        status;
    double     sent;                /* the request written */
    double     ttfb;                /* -1: no body byte */
    double     time;
    long long  bytes;
    char       sha256[65];
    char       error[128];
} client_t;

static client_t            clients[MAX_CLIENTS];
static pthread_barrier_t   start_barrier;
static double              start;
static char                request[4096];
static struct sockaddr_in  addr;

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* the header: status and Content-Length; the body bytes read with it */

static char *
read_head(client_t *cl, int fd, char *buf, size_t *len, long long *length)
{
    char     *end, *p;
    ssize_t   n;

    *len = 0;

    for ( ;; ) {
        n = recv(fd, buf + *len, BUF_SIZE - 1 - *len, 0);
        if (n <= 0) {
            snprintf(cl->error, sizeof(cl->error),
                     "connection closed in the header");
            return NULL;
        }

        *len += n;
        buf[*len] = '\0';

        end = strstr(buf, "\r\n\r\n");
        if (end != NULL) {
            break;
        }

        if (*len == BUF_SIZE - 1) {
            snprintf(cl->error, sizeof(cl->error), "header too long");
            return NULL;
        }
    }

    *end = '\0';
    cl->status = (int) strtol(buf + sizeof("HTTP/1.1"), NULL, 10);
    *length = -1;

    for (p = strstr(buf, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, "content-length:", 15) == 0) {
            *length = strtoll(p + 2 + 15, NULL, 10);
        }
    }

    return end + 4;
}

static void *
run(void *data)
{
    client_t      *cl = data;
    int            fd;
    char          *buf, *body;
    size_t         len;
    ssize_t        n;
    long long      length;
    unsigned int   mdlen, i;
    unsigned char  md[EVP_MAX_MD_SIZE];
    EVP_MD_CTX    *ctx;

    cl->ttfb = -1;
    buf = malloc(BUF_SIZE);
    ctx = EVP_MD_CTX_new();
    fd = socket(AF_INET, SOCK_STREAM, 0);

    if (buf == NULL || ctx == NULL || fd == -1
        || connect(fd, (struct sockaddr *) &addr, sizeof(addr)) == -1)
    {
        snprintf(cl->error, sizeof(cl->error), "connect: %s",
                 strerror(errno));
        pthread_barrier_wait(&start_barrier);
        return NULL;
    }

    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);

    pthread_barrier_wait(&start_barrier);

    if (write(fd, request, strlen(request)) != (ssize_t) strlen(request)) {
        snprintf(cl->error, sizeof(cl->error), "write: %s", strerror(errno));
        goto done;
    }

    cl->sent = now() - start;

    body = read_head(cl, fd, buf, &len, &length);
    if (body == NULL) {
        goto done;
    }

    len -= body - buf;

    if (len) {
        cl->ttfb = now() - start;
        (void) setpriority(PRIO_PROCESS, syscall(SYS_gettid), 19);
        EVP_DigestUpdate(ctx, body, len);
        cl->bytes = len;
    }

    while (length < 0 || cl->bytes < length) {
        n = recv(fd, buf, BUF_SIZE, 0);
        if (n <= 0) {
            break;
        }

        if (cl->ttfb < 0) {
            cl->ttfb = now() - start;
            (void) setpriority(PRIO_PROCESS, syscall(SYS_gettid), 19);
        }

        EVP_DigestUpdate(ctx, buf, n);
        cl->bytes += n;
    }

    if (length >= 0 && cl->bytes != length) {
        snprintf(cl->error, sizeof(cl->error), "short body: %lld of %lld",
                 cl->bytes, length);
    }

    EVP_DigestFinal_ex(ctx, md, &mdlen);

    for (i = 0; i < mdlen; i++) {
        sprintf(cl->sha256 + 2 * i, "%02x", md[i]);
    }

done:

    cl->time = now() - start;
    close(fd);
    EVP_MD_CTX_free(ctx);
    free(buf);

    return NULL;
}

static int
by_ttfb(const void *a, const void *b)
{
    double  x = ((const client_t *) a)->ttfb, y = ((const client_t *) b)->ttfb;

    if (x < 0) {
        x = 1e9;
    }

    if (y < 0) {
        y = 1e9;
    }

    return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
    int    n = 1, i, port;
    char   host[64], path[2048];
    double wall;

    if (argc == 4 && strcmp(argv[1], "-c") == 0) {
        n = atoi(argv[2]);
    }

    if (n < 1 || n > MAX_CLIENTS
        || sscanf(argv[argc - 1], "http://%63[^:]:%d%2047s", host, &port, path)
           != 3)
    {
        fprintf(stderr, "usage: fanin -c CLIENTS http://HOST:PORT/PATH\n");
        return 2;
    }

    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, host, &addr.sin_addr);

    snprintf(request, sizeof(request),
             "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: hf-bench\r\n"
             "Connection: close\r\n\r\n", path, host, port);

    pthread_barrier_init(&start_barrier, NULL, n + 1);

    for (i = 0; i < n; i++) {
        if (pthread_create(&clients[i].thread, NULL, run, &clients[i]) != 0) {
            fprintf(stderr, "fanin: cannot start a thread\n");
            return 1;
        }
    }

    start = now();
    pthread_barrier_wait(&start_barrier);

    for (i = 0; i < n; i++) {
        pthread_join(clients[i].thread, NULL);
    }

    wall = now() - start;

    qsort(clients, n, sizeof(client_t), by_ttfb);

    printf("{\"clients\": [");

    for (i = 0; i < n; i++) {
        printf("%s{\"status\": %d, \"ttfb\": ", i ? ", " : "",
               clients[i].status);
        if (clients[i].ttfb < 0) {
            printf("null");
        } else {
            printf("%.6f", clients[i].ttfb);
        }
        printf(", \"sent\": %.6f", clients[i].sent);
        printf(", \"time\": %.6f, \"bytes\": %lld, \"sha256\": \"%s\", "
               "\"error\": %s%s%s}", clients[i].time, clients[i].bytes,
               clients[i].sha256, clients[i].error[0] ? "\"" : "",
               clients[i].error[0] ? clients[i].error : "null",
               clients[i].error[0] ? "\"" : "");
    }

    printf("], \"wall\": %.6f}\n", wall);

    return 0;
}
