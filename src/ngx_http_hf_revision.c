
/*
 * Revisions: a commit id is immutable; a branch or tag is resolved through
 * the Hub and remembered in LMDB for hf_revision_ttl, and used past that
 * when the Hub cannot be reached.
 */


#include "ngx_http_hf_revision.h"
#include "ngx_http_hf_path.h"
#include "ngx_http_hf_store.h"
#include "ngx_http_hf_util.h"


ngx_int_t
ngx_http_hf_revision_lookup(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    time_t     resolved;
    ngx_str_t  key;

    if (ctx->target.rev_is_commit) {
        ngx_memcpy(ctx->commit, ctx->target.rev.data, NGX_HTTP_HF_COMMIT_LEN);
        ctx->have_commit = 1;
        return NGX_OK;
    }

    if (ngx_http_hf_record_key(r->pool, &key, ctx, &ctx->target.rev, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_hf_store_get_revision(ngx_http_hf_store(r), &key,
                                       ctx->commit, &resolved)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ctx->have_commit = 1;

    if (ngx_time() - resolved >= ctx->conf->revision_ttl) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "hf revision: \"%V\" was %s, stale",
                       &ctx->target.rev, ctx->commit);

        /* kept for when the Hub cannot be reached */
        ctx->revision_stale = 1;
        return NGX_DECLINED;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf revision: \"%V\" is %s", &ctx->target.rev,
                   ctx->commit);

    return NGX_OK;
}


void
ngx_http_hf_revision_record(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_str_t  key;

    ctx->have_commit = 1;
    ctx->revision_stale = 0;

    if (ctx->target.rev_is_commit) {
        return;
    }

    if (ngx_http_hf_record_key(r->pool, &key, ctx, &ctx->target.rev, NULL)
        != NGX_OK)
    {
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf revision: recording \"%V\" as %*s", &ctx->target.rev,
                   (size_t) NGX_HTTP_HF_COMMIT_LEN, ctx->commit);

    (void) ngx_http_hf_store_put_revision(ngx_http_hf_store(r), &key,
                                          ctx->commit);
}


ngx_int_t
ngx_http_hf_record_key(ngx_pool_t *pool, ngx_str_t *key,
    ngx_http_hf_ctx_t *ctx, ngx_str_t *rev, ngx_str_t *path)
{
    u_char     *p;
    ngx_str_t  *kind;

    kind = &ngx_http_hf_kind_names[ctx->target.kind];

    key->len = ctx->conf->name.len + 1 + kind->len + 1 + ctx->target.repo.len
               + 1 + rev->len + (path ? 1 + path->len : 0);

    key->data = ngx_pnalloc(pool, key->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(key->data, "%V\t%V\t%V\t%V", &ctx->conf->name, kind,
                    &ctx->target.repo, rev);

    if (path) {
        (void) ngx_sprintf(p, "\t%V", path);
    }

    return NGX_OK;
}

