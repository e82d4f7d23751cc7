
/*
 * Requests to the Hub and its CDN.
 *
 * Every distribution location gets two internal exact-match locations
 * (see ngx_http_hf_module.c): "<prefix>@hf-meta", which proxies a HEAD to
 * the Hub uncached, and "<prefix>@hf-blob", which proxies a GET through
 * proxy_cache under a key that names the content.  A client request
 * reaches them through subrequests whose context (ngx_http_hf_fetch_t)
 * feeds the $hf_fetch_* variables used by proxy_pass, proxy_set_header
 * and proxy_cache_key there.
 *
 * The blob fetch's body goes to the client as it arrives; when it comes
 * from upstream (not from the cache), the pipe's input filter is wrapped
 * so that every byte is hashed before it is written anywhere.  When the
 * last byte is in and the hash does not match, the response is not
 * cached and the client's connection is aborted before that byte leaves.
 */


#include "ngx_http_hf_fetch.h"
#include "ngx_http_hf_resolve.h"
#include "ngx_http_hf_revision.h"
#include "ngx_http_hf_store.h"
#include "ngx_http_hf_util.h"
#include "ngx_http_hf_verify.h"


static ngx_int_t ngx_http_hf_fetch_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static void ngx_http_hf_fetch_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_hf_fetch_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_hf_fetch_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_hf_fetch_blob_header(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f);
static ngx_int_t ngx_http_hf_fetch_partial(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f);
static ngx_int_t ngx_http_hf_fetch_input_init(void *data);
static ngx_int_t ngx_http_hf_fetch_input(ngx_event_pipe_t *p,
    ngx_buf_t *buf);
static void ngx_http_hf_fetch_check(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f);
static void ngx_http_hf_fetch_keep_lock(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f);
static void ngx_http_hf_fetch_clean_temp(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f);
static void ngx_http_hf_fetch_consume(ngx_chain_t *in);
static ngx_int_t ngx_http_hf_fetch_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_uint_t ngx_http_hf_fetch_transient(ngx_http_request_t *r);
static ngx_http_hf_fetch_t *ngx_http_hf_fetch_ctx(ngx_http_request_t *r);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

static ngx_str_t  ngx_http_hf_head_method = ngx_string("HEAD");
static ngx_str_t  ngx_http_hf_post_method = ngx_string("POST");
static ngx_str_t  ngx_http_hf_no_zone = ngx_null_string;


typedef enum {
    NGX_HTTP_HF_VAR_URL = 0,
    NGX_HTTP_HF_VAR_AUTHORIZATION,
    NGX_HTTP_HF_VAR_CACHE_KEY,
    NGX_HTTP_HF_VAR_CACHE_ZONE,
    NGX_HTTP_HF_VAR_CACHE_BYPASS,
    NGX_HTTP_HF_VAR_NO_CACHE,
    NGX_HTTP_HF_VAR_CONTENT_TYPE,
    NGX_HTTP_HF_VAR_RANGE
} ngx_http_hf_fetch_var_e;


/* internal: used by the generated locations, empty everywhere else */

static ngx_http_variable_t  ngx_http_hf_fetch_vars[] = {

    { ngx_string("hf_fetch_url"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_URL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_fetch_authorization"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_AUTHORIZATION,
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_NOHASH, 0 },

    { ngx_string("hf_fetch_cache_key"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_CACHE_KEY, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_fetch_cache_zone"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_CACHE_ZONE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_fetch_cache_bypass"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_CACHE_BYPASS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_fetch_no_cache"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_NO_CACHE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_fetch_content_type"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_CONTENT_TYPE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_fetch_range"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_RANGE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_hf_fetch_start(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_http_hf_fetch_t *f, ngx_uint_t state)
{
    u_char                      *p;
    ngx_str_t                    uri, location;
    ngx_uint_t                   flags;
    ngx_http_request_t          *sr;
    ngx_http_post_subrequest_t  *ps;

    if (f->blob) {
        ngx_str_set(&location, NGX_HTTP_HF_BLOB_LOCATION);

    } else if (f->api) {
        ngx_str_set(&location, NGX_HTTP_HF_API_LOCATION);

    } else {
        ngx_str_set(&location, NGX_HTTP_HF_META_LOCATION);
    }

    uri.len = ctx->conf->prefix.len + location.len;
    uri.data = ngx_pnalloc(r->pool, uri.len);
    if (uri.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(uri.data, ctx->conf->prefix.data, ctx->conf->prefix.len);
    ngx_memcpy(p, location.data, location.len);

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_hf_fetch_done;
    ps->data = f;

    f->type = NGX_HTTP_HF_CTX_FETCH;
    f->request = ctx;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf fetch: %V \"%V\" key:\"%V\"",
                   &location, &f->url, &f->cache_key);

    flags = f->background ? NGX_HTTP_SUBREQUEST_BACKGROUND
                          : NGX_HTTP_SUBREQUEST_WAITED;

    if (f->api) {
        /* JSON to rewrite: read whole, up to subrequest_output_buffer_size */
        flags |= NGX_HTTP_SUBREQUEST_IN_MEMORY;
    }

    if (ngx_http_subrequest(r, &uri, NULL, &sr, ps, flags) != NGX_OK) {
        return NGX_ERROR;
    }

    if (f->post) {
        sr->method = NGX_HTTP_POST;
        sr->method_name = ngx_http_hf_post_method;

    } else if (!f->blob && !f->api && !f->direct) {
        sr->method = NGX_HTTP_HEAD;
        sr->method_name = ngx_http_hf_head_method;
        sr->header_only = 1;
    }

    f->sr = sr;
    ngx_http_set_ctx(sr, f, ngx_http_hf_module);

    if (f->background) {
        /* the upstream module fills the cache and sends nothing */
        sr->header_only = 1;
        return NGX_DONE;
    }

    ctx->fetch = f;
    ctx->fetches++;
    ctx->state = state;

    return NGX_DONE;
}


static void
ngx_http_hf_fetch_resume(ngx_http_request_t *r)
{
    ngx_int_t           rc;
    ngx_http_hf_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hf_module);

    rc = ctx->run(r, ctx);

    if (rc == NGX_DONE) {
        return;
    }

    ngx_http_finalize_request(r, rc);
}


ngx_table_elt_t *
ngx_http_hf_fetch_header(ngx_http_hf_fetch_t *f, const char *name, size_t len)
{
    ngx_http_upstream_t  *u;

    u = f->sr ? f->sr->upstream : NULL;

    if (u == NULL) {
        return NULL;
    }

    return ngx_http_hf_find_header(&u->headers_in.headers, name, len);
}


ngx_int_t
ngx_http_hf_fetch_status(ngx_http_hf_fetch_t *f)
{
    ngx_http_upstream_t  *u;

    u = f->sr ? f->sr->upstream : NULL;

    if (u == NULL || u->headers_in.status_n == 0) {
        return 0;
    }

    return u->headers_in.status_n;
}


static ngx_int_t
ngx_http_hf_fetch_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_hf_fetch_t *f = data;

    /* a post subrequest handler may run more than once */

    if (f->done) {
        return rc;
    }

    f->done = 1;

    if (f->background) {
        return rc;
    }

    if (f->result == NGX_HTTP_HF_FETCH_PENDING) {

        if (!f->blob && rc != NGX_ERROR && rc < NGX_HTTP_SPECIAL_RESPONSE
            && ngx_http_hf_fetch_status(f))
        {
            f->result = NGX_HTTP_HF_FETCH_DONE;

        } else if (f->streaming && rc == NGX_OK && f->offset == f->end) {
            /*
             * An empty file from the cache: nginx sends a subrequest's
             * empty cached body as headers alone, with no last buffer.
             */
            f->result = NGX_HTTP_HF_FETCH_DONE;

        } else {
            f->result = NGX_HTTP_HF_FETCH_FAILED;
            f->status = (rc >= NGX_HTTP_SPECIAL_RESPONSE) ? rc
                                                  : NGX_HTTP_BAD_GATEWAY;
        }
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf fetch done: rc:%i result:%d status:%i",
                   rc, f->result, f->status);

    r->parent->write_event_handler = ngx_http_hf_fetch_resume;

    return rc;
}


static ngx_int_t
ngx_http_hf_fetch_header_filter(ngx_http_request_t *r)
{
    ngx_http_hf_fetch_t       *f;
    ngx_http_core_loc_conf_t  *clcf;

    f = ngx_http_hf_fetch_ctx(r);

    if (f == NULL) {
        return ngx_http_next_header_filter(r);
    }

    f->status = r->headers_out.status;

    if (f->api) {
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

        if (r->headers_out.content_length_n
            > (off_t) clcf->subrequest_output_buffer_size)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "hf: API answer of %O bytes is over %uz",
                          r->headers_out.content_length_n,
                          clcf->subrequest_output_buffer_size);
            f->discard = 1;
            f->result = NGX_HTTP_HF_FETCH_FAILED;
            f->status = NGX_HTTP_BAD_GATEWAY;
            return NGX_OK;
        }

        /* read in memory by the postpone filter, then rewritten */
        return ngx_http_next_header_filter(r);
    }

    if (!f->blob && !f->direct) {
        /* metadata is read from the upstream headers when the fetch ends */
        f->discard = 1;
        return NGX_OK;
    }

    return ngx_http_hf_fetch_blob_header(r, f);
}


static ngx_int_t
ngx_http_hf_fetch_blob_header(ngx_http_request_t *r, ngx_http_hf_fetch_t *f)
{
    ngx_int_t             rc;
    ngx_uint_t            hit;
    ngx_http_hf_ctx_t    *ctx;
    ngx_http_upstream_t  *u;

    ctx = f->request;
    u = r->upstream;

    if (u == NULL) {
        f->discard = 1;
        f->result = NGX_HTTP_HF_FETCH_FAILED;
        return NGX_OK;
    }

    hit = (u->cache_status == NGX_HTTP_CACHE_HIT);

    if (f->status == NGX_HTTP_MOVED_PERMANENTLY
        || f->status == NGX_HTTP_MOVED_TEMPORARILY
        || f->status == NGX_HTTP_SEE_OTHER
        || f->status == NGX_HTTP_TEMPORARY_REDIRECT
        || f->status == NGX_HTTP_PERMANENT_REDIRECT)
    {
        f->discard = 1;

        if (u->headers_in.location) {
            f->location = u->headers_in.location->value;
            f->result = NGX_HTTP_HF_FETCH_REDIRECT;

        } else {
            f->result = NGX_HTTP_HF_FETCH_FAILED;
        }

        return NGX_OK;
    }

    f->end = ctx->file.size;

    if (f->direct && f->status == NGX_HTTP_PARTIAL_CONTENT) {
        if (ngx_http_hf_fetch_partial(r, f) != NGX_OK) {
            f->discard = 1;
            f->result = NGX_HTTP_HF_FETCH_FAILED;
            return NGX_OK;
        }

        f->status = NGX_HTTP_OK;
    }

    if (f->status != NGX_HTTP_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: upstream answered %i for \"%V\" of \"%V\"",
                      f->status, &ctx->target.path, &ctx->target.repo);
        f->discard = 1;
        f->result = NGX_HTTP_HF_FETCH_FAILED;
        return NGX_OK;
    }

    if (r->headers_out.content_length_n >= 0
        && r->headers_out.content_length_n != f->end - f->offset)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: \"%V\" of \"%V\" is %O bytes upstream, "
                      "expected: %O; not served",
                      &ctx->target.path, &ctx->target.repo,
                      r->headers_out.content_length_n, ctx->file.size);
        u->cacheable = 0;
        f->discard = 1;
        f->result = NGX_HTTP_HF_FETCH_FAILED;
        return NGX_OK;
    }

    if (hit) {
        /*
         * Cached bytes are served only with proof that they were verified;
         * ctx->have_file says the proof was there when the request began.
         */

        if (!ctx->have_file
            && ngx_http_hf_store_get_blob(ngx_http_hf_store(r), &f->cache_key,
                                          ctx->file.size)
               != NGX_OK)
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "hf: cached \"%V\" was never verified, "
                          "fetching it again", &f->cache_key);
            f->discard = 1;
            f->result = NGX_HTTP_HF_FETCH_UNVERIFIED;
            return NGX_OK;
        }

    } else if (!f->direct) {
        if (r->cache && r->cache->updating) {
            ngx_http_hf_fetch_clean_temp(r, f);
        }

        f->md = ngx_http_hf_verify_start(r->pool,
                                         ctx->file.flags
                                         & NGX_HTTP_HF_FILE_LFS,
                                         ctx->file.size);
        if (f->md == NULL) {
            return NGX_ERROR;
        }

        f->verifying = 1;
        f->input_filter_init = u->input_filter_init;
        u->input_filter_init = ngx_http_hf_fetch_input_init;
    }

    if (f->background) {
        /* no bytes to the client: the fetch in front sends them */
        return NGX_OK;
    }

    ctx->cache_hit = hit;
    f->streaming = 1;

    rc = ngx_http_hf_resolve_send_headers(r->main, ctx);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a 206 to a direct fetch: exactly the range asked, of the known size */

static ngx_int_t
ngx_http_hf_fetch_partial(ngx_http_request_t *r, ngx_http_hf_fetch_t *f)
{
    u_char              expected[3 * NGX_OFF_T_LEN + sizeof("bytes -/")];
    size_t              len;
    ngx_table_elt_t    *h;
    ngx_http_hf_ctx_t  *ctx;

    ctx = f->request;

    len = ngx_sprintf(expected, "bytes %O-%O/%O", ctx->range_start,
                      ctx->range_end, ctx->file.size)
          - expected;

    h = ngx_http_hf_fetch_header(f, "Content-Range", 13);

    if (h == NULL || h->value.len != len
        || ngx_strncmp(h->value.data, expected, len) != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: unexpected range in the answer for \"%V\": "
                      "\"%V\", expected: \"%*s\"", &ctx->target.path,
                      h ? &h->value : &f->range, len, expected);
        return NGX_ERROR;
    }

    f->offset = ctx->range_start;
    f->end = ctx->range_end + 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hf_fetch_input_init(void *data)
{
    ngx_http_request_t *r = data;

    ngx_int_t             rc;
    ngx_event_pipe_t     *p;
    ngx_http_hf_fetch_t  *f;

    f = ngx_http_hf_fetch_ctx(r);

    rc = f->input_filter_init(data);
    if (rc != NGX_OK) {
        return rc;
    }

    /* the proxy module chose its input filter (copy or chunked): wrap it */

    p = r->upstream->pipe;

    f->input_filter = p->input_filter;
    p->input_filter = ngx_http_hf_fetch_input;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hf_fetch_input(ngx_event_pipe_t *p, ngx_buf_t *buf)
{
    ngx_http_request_t *r = p->input_ctx;

    size_t                n;
    ngx_int_t             rc;
    ngx_chain_t          *cl, **ll;
    ngx_http_hf_fetch_t  *f;

    f = ngx_http_hf_fetch_ctx(r);

    /* p->last_in is valid only while p->in is not empty */
    ll = p->in ? p->last_in : &p->in;

    rc = f->input_filter(p, buf);

    ngx_http_hf_fetch_keep_lock(r, f);

    if (rc != NGX_OK || !f->verifying) {
        return rc;
    }

    for (cl = *ll; cl; cl = cl->next) {
        n = cl->buf->last - cl->buf->pos;

        if (n == 0) {
            continue;
        }

        if (f->hashed + (off_t) n > f->request->file.size) {
            f->hashed += n;
            ngx_http_hf_fetch_check(r, f);
            return NGX_OK;
        }

        if (ngx_http_hf_verify_update(f->md, cl->buf->pos, n) != NGX_OK) {
            return NGX_ERROR;
        }

        f->hashed += n;
    }

    if (f->hashed == f->request->file.size) {
        ngx_http_hf_fetch_check(r, f);
    }

    return NGX_OK;
}


/*
 * Bytes arrived: the download is alive, its cache lock lives on for
 * hf_fill_timeout more (proxy_cache_lock_age), renewed once a second at
 * most (four times per hf_fill_timeout at least).  A lock someone took
 * over (after this download stalled) is theirs.
 */

static void
ngx_http_hf_fetch_keep_lock(ngx_http_request_t *r, ngx_http_hf_fetch_t *f)
{
    ngx_http_cache_t       *c;
    ngx_http_file_cache_t  *cache;

    c = r->cache;

    /* often enough that the lock never runs out while bytes arrive */

    if (c == NULL || !c->updating || c->node == NULL
        || ngx_current_msec - f->lock_renewed
           < ngx_min(1000, c->lock_age / 4))
    {
        return;
    }

    f->lock_renewed = ngx_current_msec;
    cache = c->file_cache;

    ngx_shmtx_lock(&cache->shpool->mutex);

    if (c->node->updating && c->node->lock_time == c->lock_time) {
        c->node->lock_time = ngx_current_msec + c->lock_age;
        c->lock_time = c->node->lock_time;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


/*
 * A download that died (its worker killed) leaves its temporary file next
 * to the cache file, "<name>.<10 digits>" with use_temp_path=off, and
 * nginx's cache loader keeps such files for ever.  The download that
 * takes the blob over removes those that saw no write for hf_fill_timeout:
 * only a dead or stalled download's file is that old.
 */

static void
ngx_http_hf_fetch_clean_temp(ngx_http_request_t *r, ngx_http_hf_fetch_t *f)
{
    u_char            *p, *name, path[NGX_MAX_PATH];
    size_t             len;
    time_t             idle;
    ngx_str_t          dir, base;
    ngx_dir_t          d;
    ngx_uint_t         i;
    ngx_http_cache_t  *c;

    c = r->cache;

    p = (u_char *) ngx_strlchr(c->file.name.data,
                               c->file.name.data + c->file.name.len, '/');
    if (p == NULL || c->file.name.len + 12 > NGX_MAX_PATH) {
        return;
    }

    for (p = c->file.name.data + c->file.name.len; p[-1] != '/'; p--) {
        /* void */
    }

    base.data = p;
    base.len = c->file.name.data + c->file.name.len - p;

    dir.len = p - 1 - c->file.name.data;
    dir.data = path;
    ngx_memcpy(path, c->file.name.data, dir.len);
    path[dir.len] = '\0';

    if (ngx_open_dir(&dir, &d) != NGX_OK) {
        /* a new directory: nothing left there */
        return;
    }

    idle = ngx_max((time_t) (f->request->conf->fill_timeout / 1000), 1);

    while (ngx_read_dir(&d) == NGX_OK) {

        name = ngx_de_name(&d);
        len = ngx_de_namelen(&d);

        if (len != base.len + 11 || name[base.len] != '.'
            || ngx_strncmp(name, base.data, base.len) != 0)
        {
            continue;
        }

        for (i = base.len + 1; i < len; i++) {
            if (name[i] < '0' || name[i] > '9') {
                break;
            }
        }

        if (i < len) {
            continue;
        }

        p = ngx_cpymem(path + dir.len, "/", 1);
        p = ngx_cpymem(p, name, len);
        *p = '\0';

        if (ngx_de_info(path, &d) == NGX_FILE_ERROR
            || ngx_time() - ngx_de_mtime(&d) < idle)
        {
            continue;
        }

        if (ngx_delete_file(path) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, ngx_errno,
                          ngx_delete_file_n " \"%s\" failed", path);
            continue;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "hf: removed \"%s\", left by a download that died",
                      path);
    }

    (void) ngx_close_dir(&d);
}


/* all bytes are in (or too many are): compare, then record or refuse */

static void
ngx_http_hf_fetch_check(ngx_http_request_t *r, ngx_http_hf_fetch_t *f)
{
    u_char              hex[NGX_HTTP_HF_SHA256_LEN + 1];
    ngx_http_hf_ctx_t  *ctx;

    ctx = f->request;
    f->verifying = 0;

    if (f->hashed != ctx->file.size) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: \"%V\" of \"%V\" at %s: upstream sent more than "
                      "%O bytes; not cached, client connection aborted",
                      &ctx->target.path, &ctx->target.repo, ctx->commit,
                      ctx->file.size);
        goto corrupt;
    }

    if (ngx_http_hf_verify_finish(f->md, hex) != NGX_OK) {
        goto corrupt;
    }

    if (ngx_strcmp(hex, ctx->file.etag) != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: hash mismatch for \"%V\" of \"%V\" at %s: "
                      "expected %s, got %s; not cached, "
                      "client connection aborted",
                      &ctx->target.path, &ctx->target.repo, ctx->commit,
                      ctx->file.etag, hex);
        goto corrupt;
    }

    ngx_http_hf_resolve_verified(r, ctx);

    return;

corrupt:

    f->corrupt = 1;
    r->upstream->cacheable = 0;
    r->upstream->pipe->cacheable = 0;
}


static ngx_int_t
ngx_http_hf_fetch_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    off_t                 size, start, end;
    ngx_int_t             rc;
    ngx_buf_t            *b;
    ngx_chain_t          *cl, *out, **ll, *next;
    ngx_http_hf_ctx_t    *ctx;
    ngx_http_hf_fetch_t  *f;

    f = ngx_http_hf_fetch_ctx(r);

    if (f == NULL || (f->api && !f->discard)) {
        return ngx_http_next_body_filter(r, in);
    }

    if (f->discard || !f->streaming) {
        ngx_http_hf_fetch_consume(in);
        return NGX_OK;
    }

    ctx = f->request;
    out = NULL;
    ll = &out;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (f->corrupt) {
            ngx_http_hf_fetch_consume(in);
            return NGX_ERROR;
        }

        if (b->last_buf || b->last_in_chain) {

            if (f->offset + ngx_buf_size(b) != f->end) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "hf: \"%V\" of \"%V\" ended at %O, not %O; "
                              "client connection aborted",
                              &ctx->target.path, &ctx->target.repo,
                              f->offset + ngx_buf_size(b), f->end);
                f->result = NGX_HTTP_HF_FETCH_FAILED;
                ngx_http_hf_fetch_consume(in);
                return NGX_ERROR;
            }

            f->result = NGX_HTTP_HF_FETCH_DONE;
        }

        size = ngx_buf_size(b);
        start = f->offset;
        end = start + size;
        f->offset = end;

        if (!ctx->range) {
            continue;
        }

        /* a range: only its bytes go on, in links of our own */

        if (size) {
            if (end <= ctx->range_start || start > ctx->range_end) {
                b->pos = b->last;
                b->file_pos = b->file_last;

                if (!ngx_buf_special(b)) {
                    continue;
                }

            } else {
                start = ngx_max(ctx->range_start - start, 0);
                end = ngx_max(end - ctx->range_end - 1, 0);

                if (ngx_buf_in_memory(b)) {
                    b->pos += start;
                    b->last -= end;
                }

                if (b->in_file) {
                    b->file_pos += start;
                    b->file_last -= end;
                }
            }
        }

        *ll = ngx_alloc_chain_link(r->pool);
        if (*ll == NULL) {
            return NGX_ERROR;
        }

        (*ll)->buf = b;
        ll = &(*ll)->next;
    }

    if (!ctx->range) {
        return ngx_http_next_body_filter(r, in);
    }

    *ll = NULL;

    if (out == NULL) {
        return NGX_OK;
    }

    rc = ngx_http_next_body_filter(r, out);

    for (cl = out; cl; cl = next) {
        next = cl->next;
        ngx_free_chain(r->pool, cl);
    }

    return rc;
}


static void
ngx_http_hf_fetch_consume(ngx_chain_t *in)
{
    for ( /* void */ ; in; in = in->next) {
        in->buf->pos = in->buf->last;
        in->buf->file_pos = in->buf->file_last;
    }
}


/*
 * An API answer at a commit is kept for good (proxy_cache_valid 200 404):
 * a 404 only when it says EntryNotFound, which a commit cannot change
 * (transformers asks for a tree path that is absent on every load).
 * Any other 404 (a repository, a token) may change: not kept.
 */

static ngx_uint_t
ngx_http_hf_fetch_transient(ngx_http_request_t *r)
{
    ngx_table_elt_t      *code;
    ngx_http_upstream_t  *u;

    static ngx_str_t  entry_not_found = ngx_string("EntryNotFound");

    u = r->upstream;

    if (u == NULL || u->headers_in.status_n != NGX_HTTP_NOT_FOUND) {
        return 0;
    }

    code = ngx_http_hf_find_header(&u->headers_in.headers, "X-Error-Code",
                                   sizeof("X-Error-Code") - 1);

    return code == NULL || code->value.len != entry_not_found.len
           || ngx_strncmp(code->value.data, entry_not_found.data,
                          entry_not_found.len) != 0;
}


static ngx_http_hf_fetch_t *
ngx_http_hf_fetch_ctx(ngx_http_request_t *r)
{
    ngx_http_hf_fetch_t  *f;

    if (r == r->main) {
        return NULL;
    }

    f = ngx_http_get_module_ctx(r, ngx_http_hf_module);

    if (f == NULL || f->type != NGX_HTTP_HF_CTX_FETCH) {
        return NULL;
    }

    return f;
}


static ngx_int_t
ngx_http_hf_fetch_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t            *s;
    ngx_http_hf_fetch_t  *f;

    f = ngx_http_hf_fetch_ctx(r);

    if (f == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_HF_VAR_URL:
        s = &f->url;
        break;

    case NGX_HTTP_HF_VAR_AUTHORIZATION:
        s = &f->authorization;
        break;

    case NGX_HTTP_HF_VAR_CACHE_KEY:
        s = &f->cache_key;
        break;

    case NGX_HTTP_HF_VAR_CACHE_ZONE:
        /* a cache this worker cannot write: "" turns proxy_cache off */
        s = f->request->conf->cache_unusable ? &ngx_http_hf_no_zone
                                             : &f->cache_zone;
        break;

    case NGX_HTTP_HF_VAR_CONTENT_TYPE:
        s = &f->content_type;
        break;

    case NGX_HTTP_HF_VAR_RANGE:
        s = &f->range;
        break;

    case NGX_HTTP_HF_VAR_NO_CACHE:
        /* read with the answer (proxy_no_cache): see fetch_transient() */
        v->len = (f->no_cache || ngx_http_hf_fetch_transient(r)) ? 1 : 0;
        v->data = (u_char *) "1";
        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;
        return NGX_OK;

    default: /* NGX_HTTP_HF_VAR_CACHE_BYPASS */
        v->len = f->bypass ? 1 : 0;
        v->data = (u_char *) "1";
        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;
        return NGX_OK;
    }

    v->len = s->len;
    v->data = s->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


ngx_int_t
ngx_http_hf_fetch_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_hf_fetch_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hf_fetch_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_hf_fetch_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_hf_fetch_body_filter;

    return NGX_OK;
}
