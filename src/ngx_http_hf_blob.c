
/*
 * A blob through the cache: what a fetch of the bytes does with the
 * answer it gets.  Its headers become the client's (the Hub's metadata,
 * a range's Content-Range); the bytes of a download are hashed as they
 * arrive, before any is written anywhere (the proxy pipe's input filter
 * is wrapped), and when the last one is in and the hash does not match,
 * nothing is cached and the client's connection is aborted before that
 * byte leaves; a match records the blob and the file in LMDB.  A cached
 * answer is sent only with the record that proves it was verified.
 * A download renews its cache lock as it progresses and removes what
 * dead downloads of the same blob left.
 *
 * The fetch layer calls ngx_http_hf_blob_header() and _body() for the
 * fetches that ngx_http_hf_blob_fetch() prepared.
 */


#include "ngx_http_hf_blob.h"
#include "ngx_http_hf_fetch.h"
#include "ngx_http_hf_fills.h"
#include "ngx_http_hf_hasher.h"
#include "ngx_http_hf_metrics.h"
#include "ngx_http_hf_store.h"
#include "ngx_http_hf_util.h"
#include "ngx_http_hf_verify.h"


static ngx_int_t ngx_http_hf_blob_header(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f);
static ngx_int_t ngx_http_hf_blob_body(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f, ngx_chain_t *in);
static ngx_int_t ngx_http_hf_blob_partial(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f);
static void ngx_http_hf_blob_done(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f);
static ngx_int_t ngx_http_hf_blob_input_init(void *data);
static ngx_int_t ngx_http_hf_blob_input(ngx_event_pipe_t *p,
    ngx_buf_t *buf);
static void ngx_http_hf_blob_check(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f);
static void ngx_http_hf_blob_keep_lock(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f);
static void ngx_http_hf_blob_clean_temp(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f);


/* a fetch of the bytes of ctx's file: its answer handled here */

void
ngx_http_hf_blob_fetch(ngx_http_hf_fetch_t *f)
{
    f->on_header = ngx_http_hf_blob_header;
    f->on_body = ngx_http_hf_blob_body;
    f->on_done = ngx_http_hf_blob_done;
}


/* the download ended: those who follow it learn how (fills.c) */

static void
ngx_http_hf_blob_done(ngx_http_request_t *r, ngx_http_hf_fetch_t *f)
{
    ngx_http_hf_fill_done(r, f);
}


static ngx_int_t
ngx_http_hf_blob_header(ngx_http_request_t *r, ngx_http_hf_fetch_t *f)
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
        if (ngx_http_hf_blob_partial(r, f) != NGX_OK) {
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
            ngx_http_hf_blob_clean_temp(r, f);
        }

        /* the hash starts with the body: see blob_input_init() */
        f->verifying = 1;

        if (ngx_http_hf_metrics_fill_start(r, f) != NGX_OK) {
            return NGX_ERROR;
        }

        f->input_filter_init = u->input_filter_init;
        u->input_filter_init = ngx_http_hf_blob_input_init;
    }

    if (f->background) {
        /* no bytes to the client: the fetch in front sends them */
        return NGX_OK;
    }

    ctx->cache_hit = hit;
    f->streaming = 1;

    rc = ngx_http_hf_blob_send_headers(r->main, ctx);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a 206 to a direct fetch: exactly the range asked, of the known size */

static ngx_int_t
ngx_http_hf_blob_partial(ngx_http_request_t *r, ngx_http_hf_fetch_t *f)
{
    u_char              expected[3 * NGX_OFF_T_LEN + sizeof("bytes -/")];
    size_t              len;
    ngx_table_elt_t    *h;
    ngx_http_hf_ctx_t  *ctx;

    ctx = f->request;

    len = ngx_sprintf(expected, "bytes %O-%O/%O", ctx->range_start,
                      ctx->range_end, ctx->file.size)
          - expected;

    h = ngx_http_hf_fetch_header(f, NGX_HTTP_HF_HEADER("Content-Range"));

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
ngx_http_hf_blob_input_init(void *data)
{
    ngx_http_request_t *r = data;

    ngx_int_t             rc;
    ngx_uint_t            lfs;
    ngx_event_pipe_t     *p;
    ngx_http_hf_ctx_t    *ctx;
    ngx_http_hf_fetch_t  *f;

    f = ngx_http_hf_fetch_get(r);
    ctx = f->request;

    rc = f->input_filter_init(data);
    if (rc != NGX_OK) {
        return rc;
    }

    /* the proxy module chose its input filter (copy or chunked): wrap it */

    p = r->upstream->pipe;

    f->input_filter = p->input_filter;
    p->input_filter = ngx_http_hf_blob_input;

    lfs = ctx->file.flags & NGX_HTTP_HF_FILE_LFS;

#if (NGX_THREADS)

    /*
     * A download the pipe writes to a cache file whole is hashed in the
     * thread pool, from that file; a small one is not worth a task.
     */

    if (p->cacheable && r->cache && ctx->conf->verify_pool
        && ctx->file.size >= NGX_HTTP_HF_HASH_IN_POOL)
    {
        f->hasher = ngx_http_hf_hasher_create(r, ctx->conf->verify_pool, lfs,
                                              ctx->file.size, p->temp_file,
                                              r->cache->body_start);

        return f->hasher ? NGX_OK : NGX_ERROR;
    }

#endif

    f->md = ngx_http_hf_verify_start(r->pool, lfs, ctx->file.size);

    return f->md ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_hf_blob_input(ngx_event_pipe_t *p, ngx_buf_t *buf)
{
    ngx_http_request_t *r = p->input_ctx;

    size_t                n;
    ngx_int_t             rc;
    ngx_chain_t          *cl, **ll;
    ngx_http_hf_fetch_t  *f;

    f = ngx_http_hf_fetch_get(r);

    /* p->last_in is valid only while p->in is not empty */
    ll = p->in ? p->last_in : &p->in;

    rc = f->input_filter(p, buf);

    ngx_http_hf_blob_keep_lock(r, f);
    ngx_http_hf_fill_progress(r, f);

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
            ngx_http_hf_blob_check(r, f);
            return NGX_OK;
        }

        if (f->hasher == NULL
            && ngx_http_hf_verify_update(f->md, cl->buf->pos, n) != NGX_OK)
        {
            return NGX_ERROR;
        }

        f->hashed += n;
    }

    if (f->hashed == f->request->file.size) {
        ngx_http_hf_blob_check(r, f);

#if (NGX_THREADS)
    } else if (f->hasher) {
        ngx_http_hf_hasher_feed(f->hasher);
#endif
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
ngx_http_hf_blob_keep_lock(ngx_http_request_t *r, ngx_http_hf_fetch_t *f)
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
ngx_http_hf_blob_clean_temp(ngx_http_request_t *r, ngx_http_hf_fetch_t *f)
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
ngx_http_hf_blob_check(ngx_http_request_t *r, ngx_http_hf_fetch_t *f)
{
    u_char              hex[NGX_HTTP_HF_SHA256_LEN + 1];
    ngx_int_t           rc;
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

#if (NGX_THREADS)
    if (f->hasher) {
        off_t  hashed;

        /* what the pool did not hash yet: from the file, then p->in */
        rc = ngx_http_hf_hasher_finish(f->hasher, r->upstream->pipe->in, hex,
                                       &hashed);

        if (rc == NGX_OK && hashed != ctx->file.size) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "hf: %O bytes of \"%V\" hashed, not %O; "
                          "not cached, client connection aborted",
                          hashed, &ctx->target.path, ctx->file.size);
            rc = NGX_ERROR;
        }

    } else
#endif
    {
        rc = ngx_http_hf_verify_finish(f->md, hex);
    }

    if (rc != NGX_OK) {
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

    f->verified = 1;

    ngx_http_hf_metrics_verified(ctx->conf);
    ngx_http_hf_blob_verified(r, ctx);

    return;

corrupt:

    ngx_http_hf_metrics_verify_failed(ctx->conf);

    f->corrupt = 1;
    r->upstream->cacheable = 0;
    r->upstream->pipe->cacheable = 0;
}


static ngx_int_t
ngx_http_hf_blob_body(ngx_http_request_t *r, ngx_http_hf_fetch_t *f,
    ngx_chain_t *in)
{
    off_t                 size, start, end;
    ngx_int_t             rc;
    ngx_buf_t            *b;
    ngx_chain_t          *cl, *out, **ll, *next;
    ngx_http_hf_ctx_t    *ctx;

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
        return ngx_http_hf_fetch_output(r, in);
    }

    *ll = NULL;

    if (out == NULL) {
        return NGX_OK;
    }

    rc = ngx_http_hf_fetch_output(r, out);

    for (cl = out; cl; cl = next) {
        next = cl->next;
        ngx_free_chain(r->pool, cl);
    }

    return rc;
}


ngx_int_t
ngx_http_hf_blob_send_headers(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    u_char           *p;
    ngx_str_t         value;
    ngx_table_elt_t  *h;

    r->headers_out.status = ctx->range ? NGX_HTTP_PARTIAL_CONTENT
                                       : NGX_HTTP_OK;
    r->headers_out.content_length_n = ctx->range
                                      ? ctx->range_end - ctx->range_start + 1
                                      : ctx->file.size;

    r->headers_out.content_type = ctx->file.content_type;
    r->headers_out.content_type_len = ctx->file.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    /* ranges and conditions are ours: nginx's filters must not redo them */
    r->allow_ranges = 0;
    r->disable_not_modified = 1;

    value.data = ctx->commit;
    value.len = NGX_HTTP_HF_COMMIT_LEN;

    if (ngx_http_hf_add_header(r, "X-Repo-Commit", &value, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    /* one buffer, each header value after the previous one */

    p = ngx_pnalloc(r->pool, NGX_HTTP_HF_SHA256_LEN + 2 + 4 * NGX_OFF_T_LEN
                             + sizeof("bytes -/"));
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    p = ngx_sprintf(p, "\"%s\"", ctx->file.etag);
    value.len = p - value.data;

    if (ngx_http_hf_add_header(r, "ETag", &value, &h) != NGX_OK) {
        return NGX_ERROR;
    }

    r->headers_out.etag = h;

    if (ctx->file.flags & NGX_HTTP_HF_FILE_LFS) {
        if (ngx_http_hf_add_header(r, "X-Linked-Etag", &value, NULL)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        value.data = p;
        p = ngx_sprintf(p, "%O", ctx->file.size);
        value.len = p - value.data;

        if (ngx_http_hf_add_header(r, "X-Linked-Size", &value, NULL)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ngx_str_set(&value, "bytes");

    if (ngx_http_hf_add_header(r, "Accept-Ranges", &value, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->range) {
        value.data = p;
        p = ngx_sprintf(p, "bytes %O-%O/%O", ctx->range_start,
                        ctx->range_end, ctx->file.size);
        value.len = p - value.data;

        if (ngx_http_hf_add_header(r, "Content-Range", &value, NULL)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_send_header(r);
}


void
ngx_http_hf_blob_verified(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_http_hf_store_t  *store;

    if (ctx->conf->cache_unusable) {
        /* verified, but not cached: nothing to record */
        return;
    }

    store = ngx_http_hf_store(r);

    (void) ngx_http_hf_store_put_blob(store, &ctx->cache_key, ctx->file.size);
    (void) ngx_http_hf_store_put_file(store, &ctx->file_key, &ctx->file,
                                      &ctx->cache_key);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf verified: \"%V\" as \"%V\"", &ctx->file_key,
                   &ctx->cache_key);
}
