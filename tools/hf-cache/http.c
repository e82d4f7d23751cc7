
/*
 * Transfers from the cache.  Bodies of files are counted and dropped;
 * API answers are kept to be parsed.  The token, when there is one, goes
 * in an Authorization header that libcurl never sends to another host
 * after a redirect (CURLOPT_UNRESTRICTED_AUTH stays off), and it is
 * never printed.
 */


#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"


#define HFC_MAX_API_BODY  (64 * 1024 * 1024)


static size_t hfc_xfer_write(char *data, size_t size, size_t n, void *arg);
static size_t hfc_xfer_header(char *data, size_t size, size_t n, void *arg);
static void hfc_header_value(const char *v, size_t len, char *out,
    size_t size);
static char *hfc_link_next(const char *v, size_t len);


hfc_xfer_t *
hfc_xfer_create(const hfc_opts_t *o, const char *url, int keep_body)
{
    char        *auth;
    hfc_xfer_t  *x;

    x = hfc_alloc(sizeof(hfc_xfer_t));

    x->easy = curl_easy_init();
    if (x->easy == NULL) {
        hfc_error("curl_easy_init() failed");
        exit(HFC_FAILED);
    }

    x->url = hfc_strdup(url);
    x->keep_body = keep_body ? 1 : 0;

    x->headers = curl_slist_append(NULL, "Accept-Encoding: identity");

    if (o->token && o->token[0]) {
        auth = hfc_sprintf("Authorization: Bearer %s", o->token);
        x->headers = curl_slist_append(x->headers, auth);
        memset(auth, 0, strlen(auth));
        free(auth);
    }

    curl_easy_setopt(x->easy, CURLOPT_URL, x->url);
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "hf-cache/" HFC_VERSION);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, hfc_xfer_write);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, hfc_xfer_header);
    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);

    /* a renamed repository: the cache answers 307 to its new name */
    curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(x->easy, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");

    curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT, 10L);

    /*
     * No overall timeout: a file may be large.  A transfer that receives
     * nothing for 5 minutes is stalled (a client behind another one's
     * download of the same blob waits for it: proxy_cache_lock).
     */
    curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_TIME, 300L);

    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);

    return x;
}


void
hfc_xfer_destroy(hfc_xfer_t *x)
{
    if (x == NULL) {
        return;
    }

    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->url);
    free(x->next);
    free(x->body);
    free(x);
}


int
hfc_xfer_perform(hfc_xfer_t *x)
{
    x->result = curl_easy_perform(x->easy);

    if (x->result == CURLE_OK) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
    }

    return x->result == CURLE_OK ? 0 : -1;
}


/* the endpoint itself cannot be used, as opposed to one file failing */

int
hfc_xfer_unreachable(hfc_xfer_t *x)
{
    switch (x->result) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        return 1;
    default:
        return 0;
    }
}


/* what went wrong, as a user reads it: the Hub's words when there are */

const char *
hfc_xfer_error(hfc_xfer_t *x, char *buf, size_t size)
{
    if (x->result != CURLE_OK) {
        snprintf(buf, size, "%s", x->errbuf[0] ? x->errbuf
                                 : curl_easy_strerror(x->result));
        return buf;
    }

    snprintf(buf, size, "HTTP %ld%s%s%s%s", x->status,
             x->error_code[0] ? " " : "", x->error_code,
             x->error_message[0] ? ": " : "", x->error_message);

    return buf;
}


static size_t
hfc_xfer_write(char *data, size_t size, size_t n, void *arg)
{
    hfc_xfer_t  *x = arg;

    n *= size;
    x->bytes += (int64_t) n;

    if (!x->keep_body) {
        return n;
    }

    if (x->body_len + n > HFC_MAX_API_BODY) {
        return 0;       /* fails the transfer: CURLE_WRITE_ERROR */
    }

    if (x->body_len + n + 1 > x->body_cap) {
        x->body_cap = (x->body_len + n + 1) * 2;
        x->body = hfc_realloc(x->body, x->body_cap);
    }

    memcpy(x->body + x->body_len, data, n);
    x->body_len += n;
    x->body[x->body_len] = '\0';

    return n;
}


static size_t
hfc_xfer_header(char *data, size_t size, size_t n, void *arg)
{
    size_t       len;
    hfc_xfer_t  *x = arg;

    len = size * n;

    /* a new answer (after a redirect): only the last one counts */

    if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
        x->error_code[0] = '\0';
        x->error_message[0] = '\0';
        free(x->next);
        x->next = NULL;
        x->bytes = 0;
        x->body_len = 0;
        return len;
    }

    if (len > 13 && strncasecmp(data, "X-Error-Code:", 13) == 0) {
        hfc_header_value(data + 13, len - 13, x->error_code,
                         sizeof(x->error_code));

    } else if (len > 16 && strncasecmp(data, "X-Error-Message:", 16) == 0) {
        hfc_header_value(data + 16, len - 16, x->error_message,
                         sizeof(x->error_message));

    } else if (len > 5 && strncasecmp(data, "Link:", 5) == 0) {
        free(x->next);
        x->next = hfc_link_next(data + 5, len - 5);
    }

    return len;
}


static void
hfc_header_value(const char *v, size_t len, char *out, size_t size)
{
    size_t  i;

    while (len && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }

    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n'
                   || v[len - 1] == ' '))
    {
        len--;
    }

    if (len >= size) {
        len = size - 1;
    }

    /* printed later: no control characters from the network */

    for (i = 0; i < len; i++) {
        out[i] = iscntrl((unsigned char) v[i]) ? '?' : v[i];
    }

    out[len] = '\0';
}


/* Link: <URL>; rel="next", possibly among other entries */

static char *
hfc_link_next(const char *v, size_t len)
{
    const char  *p, *end, *lt, *gt, *next;

    p = v;
    end = v + len;

    while (p < end) {
        lt = memchr(p, '<', (size_t) (end - p));
        if (lt == NULL) {
            return NULL;
        }

        gt = memchr(lt, '>', (size_t) (end - lt));
        if (gt == NULL) {
            return NULL;
        }

        next = memchr(gt, ',', (size_t) (end - gt));
        if (next == NULL) {
            next = end;
        }

        if (memmem(gt, (size_t) (next - gt), "rel=\"next\"", 10)
            || memmem(gt, (size_t) (next - gt), "rel=next", 8))
        {
            return hfc_strndup(lt + 1, (size_t) (gt - lt - 1));
        }

        p = next + 1;
    }

    return NULL;
}
