
/*
 * Tokens out of the error log.
 *
 * The module sends a distribution's token as "Authorization: Bearer ..."
 * through proxy_set_header, and nginx logs, at debug level, the values of
 * the variables it evaluates and the whole request it sends upstream.
 * Rather than patch what nginx logs, each error log a distribution writes
 * to gets a writer of its own: the line is written as nginx formatted it,
 * with every token replaced.  ngx_log_error_core() hands a finished line
 * to log->writer when there is one; the writer this replaces (syslog,
 * memory) is called with the cleaned line, a plain file is written here.
 */


#include "ngx_http_hf_log.h"


#define NGX_HTTP_HF_LOG_MASK      "[hf_token]"

/* a token cut by the end of a long line is masked from this many bytes */
#define NGX_HTTP_HF_LOG_MIN_CUT   8


typedef struct {
    ngx_log_writer_pt           writer;     /* the log's own, or NULL */
    void                       *wdata;
    ngx_array_t                *tokens;     /* ngx_str_t: the secrets */
} ngx_http_hf_log_ctx_t;


static void ngx_http_hf_log_writer(ngx_log_t *log, ngx_uint_t level,
    u_char *buf, size_t len);
static size_t ngx_http_hf_log_token_at(ngx_array_t *tokens, u_char *p,
    u_char *end);
static size_t ngx_http_hf_log_mask(ngx_array_t *tokens, u_char *buf,
    size_t len, u_char *out, size_t size);


ngx_int_t
ngx_http_hf_log_protect(ngx_conf_t *cf, ngx_http_hf_main_conf_t *hmcf)
{
    ngx_str_t                  *token;
    ngx_log_t                  *log, *copy, **next;
    ngx_uint_t                  i;
    ngx_array_t                *tokens;
    ngx_http_hf_log_ctx_t      *ctx;
    ngx_http_hf_loc_conf_t    **dist;

    static ngx_str_t  bearer = ngx_string("Bearer ");

    tokens = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
    if (tokens == NULL) {
        return NGX_ERROR;
    }

    dist = hmcf->distributions.elts;

    for (i = 0; i < hmcf->distributions.nelts; i++) {

        if (dist[i]->token.len <= bearer.len) {
            continue;
        }

        token = ngx_array_push(tokens);
        if (token == NULL) {
            return NGX_ERROR;
        }

        token->data = dist[i]->token.data + bearer.len;
        token->len = dist[i]->token.len - bearer.len;
    }

    if (tokens->nelts == 0) {
        return NGX_OK;
    }

    /*
     * The main request's location decides the connection's log (see
     * ngx_http_update_location_config()): the subrequests that carry the
     * token log there, and so does everything they make.  The location
     * gets copies of its logs, with the writer: the originals may be the
     * cycle's own, which logs after the module is unloaded at exit.
     */

    for (i = 0; i < hmcf->distributions.nelts; i++) {

        next = &dist[i]->clcf->error_log;

        for (log = *next; log; log = log->next) {

            copy = ngx_palloc(cf->pool, sizeof(ngx_log_t));
            ctx = ngx_palloc(cf->pool, sizeof(ngx_http_hf_log_ctx_t));
            if (copy == NULL || ctx == NULL) {
                return NGX_ERROR;
            }

            *copy = *log;

            ctx->writer = log->writer;
            ctx->wdata = log->wdata;
            ctx->tokens = tokens;

            copy->writer = ngx_http_hf_log_writer;
            copy->wdata = ctx;

            *next = copy;
            next = &copy->next;
        }
    }

    return NGX_OK;
}


static void
ngx_http_hf_log_writer(ngx_log_t *log, ngx_uint_t level, u_char *buf,
    size_t len)
{
    u_char                 line[NGX_MAX_ERROR_STR];
    size_t                 n;
    ngx_http_hf_log_ctx_t  *ctx;

    ctx = log->wdata;

    n = ngx_http_hf_log_mask(ctx->tokens, buf, len, line, sizeof(line));

    if (ctx->writer) {
        /* the writer replaced reads its own data from the log */
        log->wdata = ctx->wdata;
        ctx->writer(log, level, line, n);
        log->wdata = ctx;
        return;
    }

    if (ngx_time() == log->disk_full_time) {
        return;
    }

    if (ngx_write_fd(log->file->fd, line, n) == -1
        && ngx_errno == NGX_ENOSPC)
    {
        log->disk_full_time = ngx_time();
    }
}


/* the length of a token (or of its beginning, at a cut line's end) at p */

static size_t
ngx_http_hf_log_token_at(ngx_array_t *tokens, u_char *p, u_char *end)
{
    size_t       rest;
    ngx_str_t   *token;
    ngx_uint_t   i;

    token = tokens->elts;
    rest = end - p;

    for (i = 0; i < tokens->nelts; i++) {

        if (*p != token[i].data[0]) {
            continue;
        }

        if (rest >= token[i].len
            && ngx_memcmp(p, token[i].data, token[i].len) == 0)
        {
            return token[i].len;
        }

        /* ngx_log_error_core() cuts long lines and ends them with LF */

        if (rest - 1 < token[i].len && rest - 1 >= NGX_HTTP_HF_LOG_MIN_CUT
            && end[-1] == LF && ngx_memcmp(p, token[i].data, rest - 1) == 0)
        {
            return rest - 1;
        }
    }

    return 0;
}


static size_t
ngx_http_hf_log_mask(ngx_array_t *tokens, u_char *buf, size_t len,
    u_char *out, size_t size)
{
    u_char  *p, *end, *o, *last;
    size_t   n;

    p = buf;
    end = buf + len;
    o = out;
    last = out + size;

    while (p < end && o < last) {

        n = ngx_http_hf_log_token_at(tokens, p, end);

        if (n == 0) {
            *o++ = *p++;
            continue;
        }

        o = ngx_cpymem(o, NGX_HTTP_HF_LOG_MASK,
                       ngx_min((size_t) (last - o),
                               sizeof(NGX_HTTP_HF_LOG_MASK) - 1));
        p += n;
    }

    return o - out;
}
