
/*
 * PREFIX/api/{models,datasets,spaces}/REPO[/revision|tree|paths-info/REV].
 *
 * The revision is resolved to a commit first (LMDB, or the Hub's
 * revision endpoint, with the freshness rule of /resolve/), then the
 * endpoint is asked at that commit through proxy_cache: an answer at a
 * commit never changes, so it is kept, and with the Hub down a snapshot
 * lists again from the cache alone.  Answers are read in memory, Xet
 * metadata is removed from them, and pagination links are rewritten to
 * point at the distribution.  Endpoints the cache does not serve are
 * refused here, never forwarded with the server token.
 */


#include "ngx_http_hf_api.h"
#include "ngx_http_hf_fetch.h"
#include "ngx_http_hf_hub.h"
#include "ngx_http_hf_json.h"
#include "ngx_http_hf_path.h"
#include "ngx_http_hf_revision.h"
#include "ngx_http_hf_util.h"
#include "ngx_http_hf_verify.h"


/* the states of an API request: ctx->state */

typedef enum {
    NGX_HTTP_HF_API_START = NGX_HTTP_HF_STATE_START,  /* revision in LMDB */
    NGX_HTTP_HF_API_REVISION,       /* asking the Hub which commit it is */
    NGX_HTTP_HF_API_ANSWER          /* the endpoint at the commit */
} ngx_http_hf_api_state_e;


static void ngx_http_hf_api_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_hf_api_run(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_api_revision(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_api_revision_done(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_api_fetch(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_api_answer(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_api_copy_headers(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_api_link(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_str_t *link, ngx_str_t *out);
static ngx_int_t ngx_http_hf_api_body_hash(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);


ngx_int_t
ngx_http_hf_api_handler(ngx_http_request_t *r, ngx_http_hf_loc_conf_t *conf,
    ngx_str_t *rest, ngx_str_t *args)
{
    char                  *reason;
    ngx_int_t              rc;
    ngx_str_t              message;
    ngx_uint_t             post;
    ngx_http_hf_ctx_t     *ctx;
    ngx_http_hf_target_t   target;

    ngx_memzero(&target, sizeof(ngx_http_hf_target_t));
    reason = NULL;

    rc = ngx_http_hf_parse_api(r->pool, rest, &target, &reason);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    post = (target.endpoint_id == NGX_HTTP_HF_ENDPOINT_PATHS_INFO);

    if (rc == NGX_DECLINED) {
        /* writes, tokens, whoami...: never forwarded */

        if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
            ngx_str_set(&message, "This endpoint is not served by the cache");
            rc = NGX_HTTP_NOT_FOUND;

        } else {
            ngx_str_set(&message, "The cache is read-only");
            rc = NGX_HTTP_NOT_ALLOWED;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "hf: refused \"%V %V\"", &r->method_name,
                      &r->unparsed_uri);

        (void) ngx_http_discard_request_body(r);

        return ngx_http_hf_send_error(r, rc, NULL, &message, NULL);
    }

    if (rc == NGX_HTTP_BAD_REQUEST) {
        message.data = (u_char *) reason;
        message.len = ngx_strlen(reason);

        (void) ngx_http_discard_request_body(r);

        return ngx_http_hf_send_error(r, rc, NULL, &message, NULL);
    }

    if (post ? r->method != NGX_HTTP_POST
             : !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)))
    {
        (void) ngx_http_discard_request_body(r);

        return ngx_http_hf_send_error(r, NGX_HTTP_NOT_ALLOWED, NULL, NULL,
                                      NULL);
    }

    target.args = *args;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hf_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->type = NGX_HTTP_HF_CTX_REQUEST;
    ctx->conf = conf;
    ctx->target = target;
    ctx->run = ngx_http_hf_api_run;

    ngx_http_set_ctx(r, ctx, ngx_http_hf_module);

    if (post) {
        rc = ngx_http_read_client_request_body(r,
                                               ngx_http_hf_api_body_handler);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_hf_api_run(r, ctx);

    if (rc == NGX_DONE) {
        r->main->count++;
    }

    return rc;
}


static void
ngx_http_hf_api_body_handler(ngx_http_request_t *r)
{
    ngx_http_hf_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hf_module);

    if (ngx_http_hf_api_body_hash(r, ctx) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* reading the body holds a reference to r already */

    ngx_http_hf_run(r);
}


static ngx_int_t
ngx_http_hf_api_run(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_int_t  rc;

    switch (ctx->state) {

    case NGX_HTTP_HF_API_START:

        rc = ngx_http_hf_revision_lookup(r, ctx);

        if (rc == NGX_OK) {
            return ngx_http_hf_api_fetch(r, ctx);
        }

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        return ngx_http_hf_api_revision(r, ctx);

    case NGX_HTTP_HF_API_REVISION:
        return ngx_http_hf_api_revision_done(r, ctx);

    default: /* NGX_HTTP_HF_API_ANSWER */
        return ngx_http_hf_api_answer(r, ctx);
    }
}


/* a branch or tag: its commit, from the Hub's revision endpoint */

static ngx_int_t
ngx_http_hf_api_revision(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    u_char                  *p;
    ngx_http_hf_fetch_t     *f;
    ngx_http_hf_target_t    *t;
    ngx_http_hf_loc_conf_t  *conf;

    conf = ctx->conf;
    t = &ctx->target;

    f = ngx_pcalloc(r->pool, sizeof(ngx_http_hf_fetch_t));
    if (f == NULL) {
        return NGX_ERROR;
    }

    f->url.len = conf->remote.len + sizeof("/api//") - 1 + t->api_type.len
                 + t->repo.len + sizeof("/revision/") - 1 + 3 * t->rev.len;
    f->url.data = ngx_pnalloc(r->pool, f->url.len);
    if (f->url.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(f->url.data, "%V/api/%V/%V/revision/", &conf->remote,
                    &t->api_type, &t->repo);
    p = ngx_http_hf_escape(p, &t->rev, 0);      /* refs%2Fpr%2F1 */
    f->url.len = p - f->url.data;

    f->api = 1;
    f->bypass = 1;
    f->no_cache = 1;
    f->cache_zone = conf->cache_zone;
    ngx_str_set(&f->cache_key, "hf:api:revision");
    f->authorization = conf->token;

    return ngx_http_hf_hub_fetch(r, ctx, f, NGX_HTTP_HF_API_REVISION);
}


static ngx_int_t
ngx_http_hf_api_revision_done(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_int_t             status;
    ngx_str_t             path;
    ngx_buf_t            *b;
    ngx_http_hf_hub_e     answer;
    ngx_http_hf_fetch_t  *f;

    f = ctx->fetch;
    answer = ngx_http_hf_hub_read(ctx->conf, f, &status, &path);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf api: the Hub answered %i (%d) for the revision",
                   status, answer);

    if (answer == NGX_HTTP_HF_HUB_OK && f->sr->out) {
        ctx->hub_asked = 1;
        b = f->sr->out->buf;

        if (ngx_http_hf_json_commit(b->pos, b->last - b->pos, ctx->commit)
            == NGX_OK)
        {
            ngx_http_hf_revision_record(r, ctx);
            return ngx_http_hf_api_fetch(r, ctx);
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: no commit in the answer of \"%V\"", &f->url);
        return ngx_http_hf_send_error(r, NGX_HTTP_BAD_GATEWAY, NULL, NULL,
                                      NULL);
    }

    /*
     * The Hub down or rate-limiting the cache: what was cached at the
     * last known commit is still the answer.
     */

    if (answer == NGX_HTTP_HF_HUB_UNAVAILABLE && ctx->have_commit) {
        ctx->stale = 1;

        ngx_http_hf_log_stale(r, status ? status : f->status,
                              &ctx->target.repo, &r->uri, ctx->commit);

        return ngx_http_hf_api_fetch(r, ctx);
    }

    return ngx_http_hf_hub_send(r, ctx, answer, status);
}


/* the endpoint at the commit, through the cache */

static ngx_int_t
ngx_http_hf_api_fetch(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    u_char                  *p;
    size_t                   len;
    ngx_str_t                path, endpoint;
    ngx_http_hf_fetch_t     *f;
    ngx_http_hf_target_t    *t;
    ngx_http_hf_loc_conf_t  *conf;

    conf = ctx->conf;
    t = &ctx->target;

    f = ngx_pcalloc(r->pool, sizeof(ngx_http_hf_fetch_t));
    if (f == NULL) {
        return NGX_ERROR;
    }

    /* repository info is the revision endpoint at the main commit */

    endpoint = t->endpoint;

    if (endpoint.len == 0) {
        ngx_str_set(&endpoint, "revision");
    }

    len = sizeof("/api///") + t->api_type.len + t->repo.len + endpoint.len
          + NGX_HTTP_HF_COMMIT_LEN + t->api_rest.len + 1 + t->args.len;

    path.data = ngx_pnalloc(r->pool, len);
    if (path.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(path.data, "/api/%V/%V/%V/%*s%V", &t->api_type, &t->repo,
                    &endpoint, (size_t) NGX_HTTP_HF_COMMIT_LEN, ctx->commit,
                    &t->api_rest);

    if (t->args.len) {
        p = ngx_sprintf(p, "?%V", &t->args);
    }

    path.len = p - path.data;

    f->url.len = conf->remote.len + path.len;
    f->url.data = ngx_pnalloc(r->pool, f->url.len);
    if (f->url.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(f->url.data, conf->remote.data, conf->remote.len),
               path.data, path.len);

    /* the key: scope, the path at the commit, the query, a POST body */

    f->cache_key.len = sizeof("hf:api::#") - 1 + conf->cache_scope.len
                       + path.len + ctx->body_hash.len;
    f->cache_key.data = ngx_pnalloc(r->pool, f->cache_key.len);
    if (f->cache_key.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(f->cache_key.data, "hf:api:%V:%V", &conf->cache_scope,
                    &path);

    if (ctx->body_hash.len) {
        p = ngx_sprintf(p, "#%V", &ctx->body_hash);
    }

    f->cache_key.len = p - f->cache_key.data;

    f->api = 1;
    f->cache_zone = conf->cache_zone;
    f->authorization = conf->token;

    if (ctx->body_hash.len) {
        f->post = 1;

        if (r->headers_in.content_type) {
            f->content_type = r->headers_in.content_type->value;
        }
    }

    return ngx_http_hf_hub_fetch(r, ctx, f, NGX_HTTP_HF_API_ANSWER);
}


static ngx_int_t
ngx_http_hf_api_answer(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_int_t             rc, status;
    ngx_str_t             body, path;
    ngx_http_hf_hub_e     answer;
    ngx_buf_t            *b, *sb;
    ngx_chain_t           out;
    ngx_http_hf_fetch_t  *f;

    f = ctx->fetch;
    answer = ngx_http_hf_hub_read(ctx->conf, f, &status, &path);

    ctx->cache_hit = (f->sr->upstream
                      && f->sr->upstream->cache_status == NGX_HTTP_CACHE_HIT);

    if (answer != NGX_HTTP_HF_HUB_OK) {
        return ngx_http_hf_hub_send(r, ctx, answer, status);
    }

    if (f->discard) {
        /* over subrequest_output_buffer_size */
        return ngx_http_hf_send_error(r, NGX_HTTP_BAD_GATEWAY, NULL, NULL,
                                      NULL);
    }

    if (f->sr->out == NULL) {
        ngx_str_set(&body, "");

    } else {
        sb = f->sr->out->buf;

        rc = ngx_http_hf_json_strip_xet(r->pool, r->connection->log, sb->pos,
                                        sb->last - sb->pos, &body);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_hf_send_error(r, NGX_HTTP_BAD_GATEWAY, NULL, NULL,
                                          NULL);
        }
    }

    if (ngx_http_hf_api_copy_headers(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = body.len;
    ngx_str_set(&r->headers_out.content_type,
                "application/json; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body.data;
    b->last = body.data + body.len;
    b->memory = body.len ? 1 : 0;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_hf_api_copy_headers(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_str_t         value;
    ngx_table_elt_t  *h;

    h = ngx_http_hf_fetch_header(ctx->fetch, NGX_HTTP_HF_HEADER("Link"));

    if (h) {
        if (ngx_http_hf_api_link(r, ctx, &h->value, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        if (value.len
            && ngx_http_hf_add_header(r, "Link", &value, NULL) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    h = ngx_http_hf_fetch_header(ctx->fetch,
                                 NGX_HTTP_HF_HEADER(NGX_HTTP_HF_X_REPO_COMMIT));

    if (h && ngx_http_hf_add_header(r, "X-Repo-Commit", &h->value, NULL)
             != NGX_OK)
    {
        return NGX_ERROR;
    }

    h = ngx_http_hf_fetch_header(ctx->fetch,
                                 NGX_HTTP_HF_HEADER("X-Total-Count"));

    if (h && ngx_http_hf_add_header(r, "X-Total-Count", &h->value, NULL)
             != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Link: <https://huggingface.co/api/...&cursor=...>; rel="next" becomes
 * <http://cache:8080/hf/api/...&cursor=...>; rel="next".  Entries that do
 * not point at the Hub (Xet's) are dropped.
 */

static ngx_int_t
ngx_http_hf_api_link(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_str_t *link, ngx_str_t *out)
{
    u_char                  *p, *q, *end, *start, *next, *d;
    size_t                   len, host_len;
    ngx_str_t                host, prefix;
    const char              *scheme;
    ngx_http_hf_loc_conf_t  *conf;

    conf = ctx->conf;

    scheme = "http";

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        scheme = "https";
    }
#endif

    if (r->headers_in.host) {
        host = r->headers_in.host->value;

    } else {
        host = r->headers_in.server;
    }

    prefix = conf->prefix;
    prefix.len--;               /* no trailing "/" */

    host_len = sizeof("https://") - 1 + host.len + prefix.len;

    len = 0;

    for (p = link->data; p < link->data + link->len; p++) {
        if (*p == '<') {
            len += host_len;
        }
    }

    d = ngx_pnalloc(r->pool, link->len + len + 1);
    if (d == NULL) {
        return NGX_ERROR;
    }

    out->data = d;

    p = link->data;
    end = link->data + link->len;

    while (p < end) {

        /* one entry: up to a comma that is not inside <...> */

        start = p;
        q = ngx_strlchr(p, end, '<');
        next = NULL;

        if (q) {
            next = ngx_strlchr(q, end, '>');
        }

        if (next) {
            next = ngx_strlchr(next, end, ',');
        }

        if (next == NULL) {
            next = end;
        }

        p = next < end ? next + 1 : end;

        while (start < next && *start == ' ') {
            start++;
        }

        if (q == NULL || q >= next
            || (size_t) (next - q) <= conf->remote.len + 1
            || ngx_strncmp(q + 1, conf->remote.data, conf->remote.len) != 0
            || q[1 + conf->remote.len] != '/')
        {
            continue;
        }

        if (d != out->data) {
            *d++ = ',';
            *d++ = ' ';
        }

        d = ngx_cpymem(d, start, q + 1 - start);
        d = ngx_sprintf(d, "%s://%V%V", scheme, &host, &prefix);
        q += 1 + conf->remote.len;
        d = ngx_cpymem(d, q, next - q);
    }

    out->len = d - out->data;

    return NGX_OK;
}


/* paths-info answers depend on the body: its hash is in the cache key */

static ngx_int_t
ngx_http_hf_api_body_hash(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    u_char       buf[4096], *hex;
    void        *md;
    off_t        offset;
    ssize_t      n;
    ngx_buf_t   *b;
    ngx_chain_t  *cl;

    md = ngx_http_hf_verify_start(r->pool, 1, 0);
    if (md == NULL) {
        return NGX_ERROR;
    }

    if (r->request_body) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            b = cl->buf;

            if (!b->in_file) {
                if (ngx_http_hf_verify_update(md, b->pos, b->last - b->pos)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

                continue;
            }

            /* a body larger than client_body_buffer_size: small, read it */

            for (offset = b->file_pos; offset < b->file_last; offset += n) {
                n = ngx_read_file(b->file, buf,
                                  ngx_min(sizeof(buf),
                                          (size_t) (b->file_last - offset)),
                                  offset);
                if (n <= 0) {
                    return NGX_ERROR;
                }

                if (ngx_http_hf_verify_update(md, buf, n) != NGX_OK) {
                    return NGX_ERROR;
                }
            }
        }
    }

    hex = ngx_pnalloc(r->pool, NGX_HTTP_HF_SHA256_LEN + 1);
    if (hex == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_hf_verify_finish(md, hex) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->body_hash.data = hex;
    ctx->body_hash.len = NGX_HTTP_HF_SHA256_LEN;

    return NGX_OK;
}
