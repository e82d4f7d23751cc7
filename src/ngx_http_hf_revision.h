
/*
 * Revisions: a commit id is immutable; a branch or tag is resolved through
 * the Hub and remembered in LMDB for hf_revision_ttl, and used past that
 * when the Hub cannot be reached.
 */


#ifndef _NGX_HTTP_HF_REVISION_H_INCLUDED_
#define _NGX_HTTP_HF_REVISION_H_INCLUDED_


#include "ngx_http_hf_module.h"


/*
 * Sets ctx->commit from the revision asked: NGX_OK when it is a commit id
 * or a fresh record, NGX_DECLINED otherwise (ctx->have_commit tells
 * whether a stale one is known), NGX_ERROR.
 */
ngx_int_t ngx_http_hf_revision_lookup(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);

/* records that the revision asked resolved to ctx->commit, now */
void ngx_http_hf_revision_record(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);

/* an LMDB key: DIST \t KIND \t REPO \t REV [\t PATH] */
ngx_int_t ngx_http_hf_record_key(ngx_pool_t *pool, ngx_str_t *key,
    ngx_http_hf_ctx_t *ctx, ngx_str_t *rev, ngx_str_t *path);


#endif /* _NGX_HTTP_HF_REVISION_H_INCLUDED_ */
