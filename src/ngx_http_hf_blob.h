
/*
 * A blob through the cache: the client's headers from the Hub's metadata,
 * the bytes verified as they arrive, recorded when they match.
 */


#ifndef _NGX_HTTP_HF_BLOB_H_INCLUDED_
#define _NGX_HTTP_HF_BLOB_H_INCLUDED_


#include "ngx_http_hf_module.h"


/* makes f (a blob or direct fetch of f->request's file) handled here */
void ngx_http_hf_blob_fetch(ngx_http_hf_fetch_t *f);

/* the client's headers: status, X-Repo-Commit, ETag, sizes, a range */
ngx_int_t ngx_http_hf_blob_send_headers(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);

/* the file's bytes matched its hash: the blob and the file recorded */
void ngx_http_hf_blob_verified(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);


#endif /* _NGX_HTTP_HF_BLOB_H_INCLUDED_ */
