
/*
 * PREFIX[datasets/|spaces/]REPO/resolve/REV/PATH.
 *
 * A small state machine, run by the content handler and again each time
 * a fetch ends:
 *
 *   START  the revision and the file are looked up in LMDB; when both are
 *          known (a commit id, or a branch resolved less than
 *          hf_revision_ttl ago) and the blob was verified, the answer
 *          needs no upstream metadata;
 *   META   otherwise a HEAD goes to the Hub: its status, X-Repo-Commit,
 *          ETag/X-Linked-Etag, size and redirect say what to fetch; when
 *          the Hub cannot be reached, the last known commit is used;
 *   BLOB   a GET streams the bytes through proxy_cache under a key that
 *          names the content; a redirect (an evicted LFS file asked at
 *          the Hub) and an unverified cache entry are fetched again.
 */


#include "ngx_http_hf_resolve.h"
#include "ngx_http_hf_blob.h"
#include "ngx_http_hf_fetch.h"
#include "ngx_http_hf_fills.h"
#include "ngx_http_hf_follow.h"
#include "ngx_http_hf_hub.h"
#include "ngx_http_hf_path.h"
#include "ngx_http_hf_revision.h"
#include "ngx_http_hf_serve.h"
#include "ngx_http_hf_store.h"
#include "ngx_http_hf_util.h"
#include "ngx_http_hf_verify.h"



/* the states of a /resolve/ request: ctx->state (see above) */

typedef enum {
    NGX_HTTP_HF_START = NGX_HTTP_HF_STATE_START,
    NGX_HTTP_HF_META,
    NGX_HTTP_HF_BLOB
} ngx_http_hf_resolve_state_e;

#define NGX_HTTP_HF_MAX_FETCHES  5


static ngx_int_t ngx_http_hf_resolve_run(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_resolve_lookup(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_resolve_lookup_file(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_resolve_downloading(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_resolve_meta(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_resolve_meta_done(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_resolve_file(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_int_t status);
static ngx_int_t ngx_http_hf_resolve_commit(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_resolve_follow(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_str_t *path);
static ngx_int_t ngx_http_hf_resolve_file_meta(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_int_t status);
static ngx_int_t ngx_http_hf_resolve_unreachable(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_int_t status);
static void ngx_http_hf_resolve_record_missing(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_int_t status);
static ngx_int_t ngx_http_hf_resolve_send_missing(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_resolve_serve(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_str_t *url, ngx_uint_t authorize);
static ngx_int_t ngx_http_hf_resolve_direct(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_str_t *url, ngx_uint_t authorize);
static ngx_int_t ngx_http_hf_resolve_blob(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_str_t *url, ngx_uint_t authorize,
    ngx_uint_t bypass);
static ngx_int_t ngx_http_hf_resolve_blob_done(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_resolve_keys(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_resolve_range(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);


ngx_int_t
ngx_http_hf_resolve_handler(ngx_http_request_t *r,
    ngx_http_hf_loc_conf_t *conf, ngx_http_hf_target_t *target)
{
    ngx_int_t           rc;
    ngx_http_hf_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hf_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->type = NGX_HTTP_HF_CTX_REQUEST;
    ctx->conf = conf;
    ctx->target = *target;
    ctx->run = ngx_http_hf_resolve_run;

    ngx_http_set_ctx(r, ctx, ngx_http_hf_module);

    rc = ngx_http_hf_resolve_run(r, ctx);

    if (rc == NGX_DONE) {
        /* the request lives on until the fetches end */
        r->main->count++;
    }

    return rc;
}


static ngx_int_t
ngx_http_hf_resolve_run(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_int_t  rc;

    switch (ctx->state) {

    case NGX_HTTP_HF_START:

        if (ngx_http_hf_resolve_lookup(r, ctx) == NGX_OK) {
            return ngx_http_hf_resolve_serve(r, ctx, NULL, 1);
        }

        rc = ngx_http_hf_resolve_downloading(r, ctx);

        if (rc == NGX_OK) {
            return ngx_http_hf_resolve_serve(r, ctx, NULL, 1);
        }

        if (rc == NGX_BUSY) {
            /* another request asks the Hub for this file: its answer */
            ctx->awaiting = 1;
            return ngx_http_hf_follow_start(r, ctx);
        }

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        return ngx_http_hf_resolve_meta(r, ctx);

    case NGX_HTTP_HF_META:
        return ngx_http_hf_resolve_meta_done(r, ctx);

    default: /* NGX_HTTP_HF_BLOB */
        return ngx_http_hf_resolve_blob_done(r, ctx);
    }
}


/* NGX_OK: the commit is known and fresh, the file known and verified */

static ngx_int_t
ngx_http_hf_resolve_lookup(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_int_t             rc;
    ngx_http_hf_store_t  *store;

    store = ngx_http_hf_store(r);

    (void) ngx_http_hf_store_begin(store);

    rc = ngx_http_hf_revision_lookup(r, ctx);

    if (rc == NGX_OK) {
        rc = ngx_http_hf_resolve_lookup_file(r, ctx);
    }

    ngx_http_hf_store_end(store);

    return rc;
}


static ngx_int_t
ngx_http_hf_resolve_lookup_file(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_str_t             commit;
    ngx_http_hf_store_t  *store;

    store = ngx_http_hf_store(r);

    commit.data = ctx->commit;
    commit.len = NGX_HTTP_HF_COMMIT_LEN;

    if (ngx_http_hf_record_key(r->pool, &ctx->file_key, ctx, &commit,
                        &ctx->target.path)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_hf_store_get_file(store, &ctx->file_key, r->pool, &ctx->file,
                                   NULL)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (ctx->file.flags & NGX_HTTP_HF_FILE_MISSING) {
        /* not in the commit, and never will be: answered like the Hub */
        ctx->missing = 1;
        ctx->have_file = 1;
        return NGX_OK;
    }

    if (ngx_http_hf_resolve_keys(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_hf_store_get_blob(store, &ctx->cache_key, ctx->file.size)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ctx->have_file = 1;

    return NGX_OK;
}


/*
 * A whole GET of a file at a known, fresh commit that another request is
 * downloading: what that download's metadata request found is this
 * file's metadata too (a file at a commit never changes), so the request
 * follows the download without asking the Hub itself (NGX_OK).  One that
 * another request is asking the Hub for waits for that answer (NGX_BUSY),
 * so that clients arriving together cost one metadata request too; the
 * first one asks, for all (NGX_DECLINED, ctx->fill its question).  Not
 * for HEAD or ranges, which ask the Hub as before.
 */

static ngx_int_t
ngx_http_hf_resolve_downloading(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (r->method != NGX_HTTP_GET || r->headers_in.range != NULL
        || !ctx->have_commit || ctx->revision_stale || ctx->no_follow
        || ctx->file_key.len == 0)
    {
        return NGX_DECLINED;
    }

    rc = ngx_http_hf_fill_find_file(r, ctx, !ctx->awaited);

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_hf_resolve_keys(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf resolve: \"%V\" follows a download, no metadata "
                   "request", &ctx->target.path);

    return NGX_OK;
}


static ngx_int_t
ngx_http_hf_resolve_meta(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_str_t             rev;
    ngx_http_hf_fetch_t  *f;

    f = ngx_pcalloc(r->pool, sizeof(ngx_http_hf_fetch_t));
    if (f == NULL) {
        return NGX_ERROR;
    }

    /* a fresh commit with an unknown file: ask at the commit */

    if (ctx->have_commit && !ctx->revision_stale) {
        rev.data = ctx->commit;
        rev.len = NGX_HTTP_HF_COMMIT_LEN;
        ctx->meta_at_commit = 1;

    } else {
        rev = ctx->target.rev;
    }

    if (ngx_http_hf_resolve_url(r->pool, ctx->conf, &ctx->target, &rev,
                                &f->url)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    f->authorization = ctx->conf->token;

    return ngx_http_hf_hub_fetch(r, ctx, f, NGX_HTTP_HF_META);
}


/*
 * The Hub's answer to the HEAD:
 *
 *   200  the file's metadata (a private or gated repository, an empty
 *        file, an old Hub; or the answer of /api/resolve-cache/);
 *   307  relative, to /api/resolve-cache/...: a regular file since July
 *        2025, followed here, never shown to the client;
 *   307  relative, to another /resolve/ or /api/ path: a renamed
 *        repository, passed on under the distribution's prefix;
 *   302  to another host (the CDN): an LFS or Xet file, with its
 *        X-Linked-Etag and X-Linked-Size;
 *   429, 5xx, no answer: the last known commit, when there is one;
 *   4xx  passed on, the way the Hub's clients expect them.
 */

static ngx_int_t
ngx_http_hf_resolve_meta_done(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_int_t          status;
    ngx_str_t          path;
    ngx_http_hf_hub_e  answer;

    answer = ngx_http_hf_hub_read(ctx->conf, ctx->fetch, &status, &path);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf resolve: the Hub answered %i (%d)", status, answer);

    if (answer == NGX_HTTP_HF_HUB_UNAVAILABLE) {
        return ngx_http_hf_resolve_unreachable(r, ctx, status);
    }

    ctx->hub_asked = 1;

    switch (answer) {

    case NGX_HTTP_HF_HUB_OK:
    case NGX_HTTP_HF_HUB_AWAY:
        return ngx_http_hf_resolve_file(r, ctx, status);

    case NGX_HTTP_HF_HUB_FOLLOW:
        return ngx_http_hf_resolve_follow(r, ctx, &path);

    case NGX_HTTP_HF_HUB_ERROR:
        ngx_http_hf_resolve_record_missing(r, ctx, status);
        /* fall through */

    default:
        return ngx_http_hf_hub_send(r, ctx, answer, status);
    }
}


/* the file's metadata arrived (a 200, or an LFS file's 302): serve it */

static ngx_int_t
ngx_http_hf_resolve_file(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_int_t status)
{
    ngx_int_t             rc;
    ngx_str_t             url;
    ngx_uint_t            authorize, own;
    ngx_table_elt_t      *location;
    ngx_http_hf_fetch_t  *f;

    f = ctx->fetch;
    location = (status == NGX_HTTP_OK) ? NULL
                                       : f->sr->upstream->headers_in.location;

    if (ngx_http_hf_resolve_commit(r, ctx) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: no valid X-Repo-Commit from \"%V\"", &f->url);
        return ngx_http_hf_send_error(r, NGX_HTTP_BAD_GATEWAY, NULL, NULL,
                                      NULL);
    }

    if (ngx_http_hf_resolve_file_meta(r, ctx, status) != NGX_OK) {
        return ngx_http_hf_send_error(r, NGX_HTTP_BAD_GATEWAY, NULL, NULL,
                                      NULL);
    }

    if (ngx_http_hf_resolve_lookup_file(r, ctx) == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (!ctx->have_file && ctx->file.size == 0
        && ngx_http_hf_verify_empty(r->pool, ctx->file.etag,
                                    ctx->file.flags & NGX_HTTP_HF_FILE_LFS))
    {
        /*
         * An empty file is verified by its metadata alone: clients never
         * GET it (huggingface_hub creates it from the HEAD), and it needs
         * no bytes in the cache to be answered with the Hub down.
         */
        if (ngx_http_hf_resolve_keys(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_http_hf_blob_verified(r, ctx);
        ctx->have_file = 1;
    }

    if (!ctx->have_file) {
        /* the metadata just read wins over an older record */
        if (ngx_http_hf_resolve_keys(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_http_hf_store_get_blob(ngx_http_hf_store(r), &ctx->cache_key,
                                       ctx->file.size)
            == NGX_OK)
        {
            /* the same content is cached and verified: record the file */
            (void) ngx_http_hf_store_put_file(ngx_http_hf_store(r),
                                              &ctx->file_key, &ctx->file,
                                              &ctx->cache_key);
            ctx->have_file = 1;
        }
    }

    if (ctx->have_file) {
        return ngx_http_hf_resolve_serve(r, ctx, NULL, 1);
    }

    /*
     * Where the bytes are: the CDN's signed URL (no token goes there),
     * the /api/resolve-cache/ URL just asked, or the Hub at the commit.
     */

    if (location) {
        rc = ngx_http_hf_hub_redirect_url(r, ctx, &location->value, &url,
                                          &own);

        if (rc == NGX_DECLINED) {
            return ngx_http_hf_send_error(r, NGX_HTTP_BAD_GATEWAY, NULL, NULL,
                                          NULL);
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }

        authorize = 0;

    } else if (f->followed) {
        url = f->url;
        authorize = 1;

    } else {
        ngx_str_null(&url);
        authorize = 1;
    }

    return ngx_http_hf_resolve_serve(r, ctx, &url, authorize);
}


/*
 * X-Repo-Commit of the Hub's answer: the commit the revision asked is at.
 * The first answer that names it records the revision; the answer of
 * /api/resolve-cache/ may repeat it or not.
 */

static ngx_int_t
ngx_http_hf_resolve_commit(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_table_elt_t  *h;

    h = ngx_http_hf_fetch_header(ctx->fetch,
                            NGX_HTTP_HF_HEADER(NGX_HTTP_HF_X_REPO_COMMIT));

    if (h == NULL || !ngx_http_hf_is_commit(&h->value)) {
        return ctx->hub_commit ? NGX_OK : NGX_DECLINED;
    }

    if (ctx->hub_commit
        && ngx_strncmp(ctx->commit, h->value.data, NGX_HTTP_HF_COMMIT_LEN)
           == 0)
    {
        return NGX_OK;
    }

    ngx_memcpy(ctx->commit, h->value.data, NGX_HTTP_HF_COMMIT_LEN);
    ctx->hub_commit = 1;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf resolve: \"%V\" of \"%V\" is at %s",
                   &ctx->target.rev, &ctx->target.repo, ctx->commit);

    if (ctx->meta_at_commit) {
        /* asked at the commit: the branch itself was not asked */
        ctx->have_commit = 1;
        return NGX_OK;
    }

    ngx_http_hf_revision_record(r, ctx);

    return NGX_OK;
}


/*
 * A regular file: /resolve/ redirects to /api/resolve-cache/, whose answer
 * has the ETag (the git blob sha1) and the size.  The redirect names the
 * commit already: a file verified at that commit needs no second request.
 */

static ngx_int_t
ngx_http_hf_resolve_follow(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_str_t *path)
{
    ngx_str_t                url;
    ngx_http_hf_fetch_t     *f;
    ngx_http_hf_loc_conf_t  *conf;

    if (ngx_http_hf_resolve_commit(r, ctx) == NGX_OK) {

        if (ngx_http_hf_resolve_lookup_file(r, ctx) == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (ctx->have_file) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "hf resolve: \"%V\" verified at the commit of "
                           "the redirect", &ctx->target.path);

            return ngx_http_hf_resolve_serve(r, ctx, NULL, 1);
        }
    }

    if (ctx->fetches >= NGX_HTTP_HF_MAX_FETCHES) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: too many redirects for \"%V\" of \"%V\"",
                      &ctx->target.path, &ctx->target.repo);
        return ngx_http_hf_send_error(r, NGX_HTTP_BAD_GATEWAY, NULL, NULL,
                                      NULL);
    }

    conf = ctx->conf;

    url.len = conf->remote_origin.len + path->len;
    url.data = ngx_pnalloc(r->pool, url.len);
    if (url.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(url.data, conf->remote_origin.data,
                          conf->remote_origin.len),
               path->data, path->len);

    f = ngx_pcalloc(r->pool, sizeof(ngx_http_hf_fetch_t));
    if (f == NULL) {
        return NGX_ERROR;
    }

    f->url = url;
    f->authorization = conf->token;     /* the Hub's own host */
    f->followed = 1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf resolve: following the Hub to \"%V\"", &url);

    return ngx_http_hf_hub_fetch(r, ctx, f, NGX_HTTP_HF_META);
}


/*
 * The file's identity from the Hub's headers: X-Linked-Etag (the sha256
 * of an LFS/Xet file), else ETag (a sha256, or a git blob sha1 for a
 * regular file); X-Linked-Size, else the Content-Length of a 200.
 */

static ngx_int_t
ngx_http_hf_resolve_file_meta(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_int_t status)
{
    size_t                n;
    ngx_table_elt_t      *etag, *linked_etag, *linked_size, *type;
    ngx_http_hf_fetch_t  *f;

    f = ctx->fetch;

    linked_etag = ngx_http_hf_fetch_header(f,
                            NGX_HTTP_HF_HEADER(NGX_HTTP_HF_X_LINKED_ETAG));
    linked_size = ngx_http_hf_fetch_header(f,
                            NGX_HTTP_HF_HEADER(NGX_HTTP_HF_X_LINKED_SIZE));
    etag = ngx_http_hf_fetch_header(f, NGX_HTTP_HF_HEADER("ETag"));
    type = ngx_http_hf_fetch_header(f, NGX_HTTP_HF_HEADER("Content-Type"));

    if (linked_etag == NULL) {
        linked_etag = etag;

    } else {
        etag = NULL;
    }

    if (linked_etag == NULL
        || ngx_http_hf_etag_hex(&linked_etag->value, ctx->file.etag,
                                NGX_HTTP_HF_SHA256_LEN, &n)
           != NGX_OK
        || (n != NGX_HTTP_HF_SHA256_LEN
            && (n != NGX_HTTP_HF_SHA1_LEN || etag == NULL)))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: no usable ETag/X-Linked-Etag from \"%V\"",
                      &f->url);
        return NGX_ERROR;
    }

    ctx->file.flags = (n == NGX_HTTP_HF_SHA256_LEN) ? NGX_HTTP_HF_FILE_LFS : 0;

    if (linked_size) {
        ctx->file.size = ngx_atoof(linked_size->value.data,
                                   linked_size->value.len);

    } else if (status == NGX_HTTP_OK) {
        ctx->file.size = f->sr->upstream->headers_in.content_length_n;

    } else {
        ctx->file.size = NGX_ERROR;
    }

    if (ctx->file.size < 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: no file size from \"%V\"", &f->url);
        return NGX_ERROR;
    }

    if (status == NGX_HTTP_OK && type
        && !(ctx->file.flags & NGX_HTTP_HF_FILE_LFS))
    {
        ctx->file.content_type = type->value;

    } else {
        ngx_str_set(&ctx->file.content_type, "application/octet-stream");
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hf_resolve_unreachable(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_int_t status)
{
    if (ctx->have_commit) {
        if (ngx_http_hf_resolve_lookup_file(r, ctx) == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (ctx->have_file) {
            ctx->stale = 1;

            ngx_http_hf_log_stale(r, status ? status : ctx->fetch->status,
                                  &ctx->target.repo, &ctx->target.path,
                                  ctx->commit);

            return ngx_http_hf_resolve_serve(r, ctx, NULL, 1);
        }
    }

    return ngx_http_hf_hub_send(r, ctx, NGX_HTTP_HF_HUB_UNAVAILABLE, status);
}


/*
 * A file the Hub says is not in a commit (404 EntryNotFound, naming the
 * commit) never will be: recorded, it is answered the same way with no
 * request, also with the Hub down.  Clients probe for optional files
 * (transformers' tokenizer.model, datasets' scripts) on every load.
 */

static void
ngx_http_hf_resolve_record_missing(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_int_t status)
{
    ngx_str_t  empty;

    if (status != NGX_HTTP_NOT_FOUND || ctx->conf->cache_unusable) {
        return;
    }

    if (!ngx_http_hf_hub_entry_missing(ctx->fetch)
        || ngx_http_hf_resolve_commit(r, ctx) != NGX_OK)
    {
        return;
    }

    if (ngx_http_hf_resolve_lookup_file(r, ctx) == NGX_ERROR
        || ctx->have_file)
    {
        return;
    }

    ngx_memzero(&ctx->file, sizeof(ngx_http_hf_file_t));
    ctx->file.flags = NGX_HTTP_HF_FILE_MISSING;
    ngx_str_null(&empty);

    (void) ngx_http_hf_store_put_file(ngx_http_hf_store(r), &ctx->file_key,
                                      &ctx->file, &empty);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf resolve: \"%V\" recorded as not in %s",
                   &ctx->target.path, ctx->commit);
}


/* the Hub's answer for a file not in the commit, from the record */

static ngx_int_t
ngx_http_hf_resolve_send_missing(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx)
{
    static ngx_str_t  code = ngx_string("EntryNotFound");
    static ngx_str_t  message = ngx_string("Entry not found");

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf resolve: \"%V\" is recorded as not there",
                   &ctx->target.path);

    ctx->cache_hit = !ctx->hub_asked;
    ctx->hub_answer = 1;

    return ngx_http_hf_send_error(r, NGX_HTTP_NOT_FOUND, &code, &message,
                                  ctx->commit);
}


/*
 * Answers from what is known: HEAD gets the headers; GET gets them with
 * the bytes of a blob fetch.  url is where the bytes are when they are
 * not cached: NULL or empty means the Hub's own URL at the commit.
 */

static ngx_int_t
ngx_http_hf_resolve_serve(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_str_t *url, ngx_uint_t authorize)
{
    ngx_int_t  rc;
    ngx_str_t  hub, commit;

    /* ctx->cache_key was set with ctx->file */

    if (ctx->missing || ctx->have_file || ctx->no_follow) {
        /* no download follows: those who wait for this request's question
         * go on, and find what it learnt in LMDB */
        ngx_http_hf_fill_answered(ctx);
    }

    if (ctx->missing) {
        return ngx_http_hf_resolve_send_missing(r, ctx);
    }

    if (r->method == NGX_HTTP_HEAD) {
        rc = ngx_http_hf_blob_send_headers(r, ctx);

        if (rc == NGX_ERROR || rc > NGX_OK) {
            return rc;
        }

        return ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    rc = ngx_http_hf_resolve_range(r, ctx);

    if (rc == NGX_HTTP_RANGE_NOT_SATISFIABLE) {
        return ngx_http_hf_send_error(r, rc, NULL, NULL, ctx->commit);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    if (ctx->file.size == 0 && ctx->have_file) {
        /* nothing to fetch, nothing cached: the headers say it all */
        rc = ngx_http_hf_blob_send_headers(r, ctx);

        if (rc == NGX_ERROR || rc > NGX_OK) {
            return rc;
        }

        return ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    if (ctx->have_file) {
        /* verified and cached: sent like a static file, when it can be */

        rc = ngx_http_hf_serve_cached(r, ctx);

        if (rc != NGX_DECLINED) {
            if (rc != NGX_ERROR) {
                ngx_http_hf_store_hit(ngx_http_hf_store(r), &ctx->file_key);
            }

            return rc;
        }
    }

    if (url == NULL || url->len == 0) {
        commit.data = ctx->commit;
        commit.len = NGX_HTTP_HF_COMMIT_LEN;

        if (ngx_http_hf_resolve_url(r->pool, ctx->conf, &ctx->target, &commit,
                                    &hub)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        url = &hub;
        authorize = 1;
    }

    /*
     * "bytes=a-b" and "bytes=-n" (probes, parallel downloads) are fetched
     * directly; "bytes=N-" (a resume) streams from the fill, and so is
     * verified before its last byte, like a whole file.
     */

    if (ctx->range && !ctx->range_to_end && !ctx->have_file
        && !ctx->conf->cache_unusable
        && (ctx->range_start > 0 || ctx->range_end < ctx->file.size - 1))
    {
        return ngx_http_hf_resolve_direct(r, ctx, url, authorize);
    }

    /*
     * The first request for an uncached blob downloads it; the others
     * follow that download as it lands in the cache, from anywhere.
     */

    if (!ctx->have_file && !ctx->range && !ctx->no_follow
        && (ctx->fill == NULL || ngx_http_hf_fill_asking(ctx->fill)))
    {
        rc = ngx_http_hf_fill_claim(r, ctx);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_BUSY) {
            return ngx_http_hf_follow_start(r, ctx);
        }
    }

    return ngx_http_hf_resolve_blob(r, ctx, url, authorize, 0);
}


/*
 * A range of a file that is not cached yet: the whole file is fetched,
 * verified and cached in the background, while the range is fetched
 * directly, so that a late range does not wait for the bytes before it,
 * nor a metadata probe ("bytes=0-0") for the whole file.
 */

static ngx_int_t
ngx_http_hf_resolve_direct(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_str_t *url, ngx_uint_t authorize)
{
    u_char               *p;
    ngx_http_hf_fetch_t  *fill, *f;

    fill = ngx_pcalloc(r->pool, sizeof(ngx_http_hf_fetch_t));
    f = ngx_pcalloc(r->pool, sizeof(ngx_http_hf_fetch_t));
    p = ngx_pnalloc(r->pool, sizeof("bytes=-") + 2 * NGX_OFF_T_LEN);

    if (fill == NULL || f == NULL || p == NULL) {
        return NGX_ERROR;
    }

    fill->blob = 1;
    fill->background = 1;
    fill->url = *url;
    fill->cache_key = ctx->cache_key;
    fill->cache_zone = ctx->conf->cache_zone;

    f->direct = 1;
    f->url = *url;
    f->range.data = p;
    f->range.len = ngx_sprintf(p, "bytes=%O-%O", ctx->range_start,
                               ctx->range_end)
                   - p;

    if (authorize) {
        fill->authorization = ctx->conf->token;
        f->authorization = ctx->conf->token;
    }

    ngx_http_hf_blob_fetch(fill);
    ngx_http_hf_blob_fetch(f);

    if (ngx_http_hf_hub_fetch(r, ctx, fill, NGX_HTTP_HF_BLOB) != NGX_DONE)
    {
        return NGX_ERROR;
    }

    return ngx_http_hf_hub_fetch(r, ctx, f, NGX_HTTP_HF_BLOB);
}


static ngx_int_t
ngx_http_hf_resolve_blob(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_str_t *url, ngx_uint_t authorize, ngx_uint_t bypass)
{
    ngx_http_hf_fetch_t  *f;

    if (ctx->fetches >= NGX_HTTP_HF_MAX_FETCHES) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: too many redirects or retries for \"%V\" of "
                      "\"%V\"", &ctx->target.path, &ctx->target.repo);
        return r->header_sent ? NGX_ERROR
                              : ngx_http_hf_send_error(r,
                                              NGX_HTTP_BAD_GATEWAY, NULL,
                                              NULL, NULL);
    }

    f = ngx_pcalloc(r->pool, sizeof(ngx_http_hf_fetch_t));
    if (f == NULL) {
        return NGX_ERROR;
    }

    f->blob = 1;
    f->bypass = bypass;
    f->url = *url;
    f->cache_key = ctx->cache_key;
    f->cache_zone = ctx->conf->cache_zone;

    if (authorize) {
        f->authorization = ctx->conf->token;
    }

    ngx_http_hf_blob_fetch(f);

    return ngx_http_hf_hub_fetch(r, ctx, f, NGX_HTTP_HF_BLOB);
}


static ngx_int_t
ngx_http_hf_resolve_blob_done(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_int_t             rc;
    ngx_str_t             url;
    ngx_uint_t            own;
    ngx_http_hf_fetch_t  *f;

    f = ctx->fetch;

    switch (f->result) {

    case NGX_HTTP_HF_FETCH_DONE:

        if (ctx->cache_hit) {
            ngx_http_hf_store_hit(ngx_http_hf_store(r), &ctx->file_key);
        }

        return ngx_http_send_special(r, NGX_HTTP_LAST);

    case NGX_HTTP_HF_FETCH_REDIRECT:

        /*
         * A file asked at the Hub: an LFS file's CDN URL needs no token,
         * a regular file's /api/resolve-cache/ URL is the Hub's own.
         */

        if (!r->header_sent && !f->direct) {
            rc = ngx_http_hf_hub_redirect_url(r, ctx, &f->location, &url,
                                              &own);

            if (rc == NGX_DECLINED) {
                break;
            }

            if (rc != NGX_OK) {
                return NGX_ERROR;
            }

            return ngx_http_hf_resolve_blob(r, ctx, &url, own, 0);
        }

        break;

    case NGX_HTTP_HF_FETCH_UNVERIFIED:

        /* bypass the cache once: the fetch overwrites the entry */

        if (!r->header_sent) {
            return ngx_http_hf_resolve_blob(r, ctx, &f->url,
                                            f->authorization.len != 0, 1);
        }

        break;

    default:
        break;
    }

    if (r->header_sent) {
        /* never a complete-looking wrong answer: abort the connection */
        return NGX_ERROR;
    }

    if (f->status == NGX_HTTP_TOO_MANY_REQUESTS) {
        return ngx_http_hf_send_hub_error(r, f, f->status);
    }

    return ngx_http_hf_send_hub_failed(r, f, 0);
}


/*
 * The client's Range: several ranges, a malformed one, or a failed
 * If-Range get the whole file, as from nginx's range filter.
 */

static ngx_int_t
ngx_http_hf_resolve_range(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    u_char           *p, etag[NGX_HTTP_HF_SHA256_LEN + 3];
    ngx_int_t         rc;
    ngx_str_t         value;
    ngx_uint_t        to_end;
    ngx_table_elt_t  *if_range;

    ctx->range = 0;

    if (r->headers_in.range == NULL) {
        return NGX_OK;
    }

    if_range = r->headers_in.if_range;

    if (if_range) {
        p = ngx_sprintf(etag, "\"%s\"", ctx->file.etag);

        if (if_range->value.len != (size_t) (p - etag)
            || ngx_strncmp(if_range->value.data, etag, p - etag) != 0)
        {
            return NGX_OK;
        }
    }

    rc = ngx_http_hf_parse_range(&r->headers_in.range->value, ctx->file.size,
                                 &ctx->range_start, &ctx->range_end, &to_end);

    if (rc == NGX_OK) {
        ctx->range = 1;
        ctx->range_to_end = to_end;
        return NGX_OK;
    }

    if (rc != NGX_HTTP_RANGE_NOT_SATISFIABLE) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, sizeof("bytes */") + NGX_OFF_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "bytes */%O", ctx->file.size) - p;

    if (ngx_http_hf_add_header(r, "Content-Range", &value, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_HTTP_RANGE_NOT_SATISFIABLE;
}


/*
 * The cache key names the content: the same blob through two revisions
 * or two repositories is one cache entry.  Content fetched with a server
 * token lives under its distribution's own keys, so that it can never be
 * served through a distribution without one.
 */

/*
 * The cache key names the content: the same blob through two revisions
 * or two repositories is one cache entry.
 */

static ngx_int_t
ngx_http_hf_resolve_keys(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_str_t  *scope;

    scope = &ctx->conf->cache_scope;

    ctx->cache_key.data = ngx_pnalloc(r->pool, sizeof("hf:file::") + scope->len
                                               + NGX_HTTP_HF_SHA256_LEN);
    if (ctx->cache_key.data == NULL) {
        return NGX_ERROR;
    }

    ctx->cache_key.len = ngx_sprintf(ctx->cache_key.data, "hf:file:%V:%s",
                                     scope, ctx->file.etag)
                         - ctx->cache_key.data;

    return NGX_OK;
}


