
/*
 * A verified blob sent from its proxy_cache file by the client's request
 * itself, as a static file is: no subrequest, no upstream.
 */


#ifndef _NGX_HTTP_HF_SERVE_H_INCLUDED_
#define _NGX_HTTP_HF_SERVE_H_INCLUDED_


#include "ngx_http_hf_module.h"


/*
 * Sends ctx's file (or its range) from the cache file of ctx->cache_key;
 * NGX_DECLINED when that file is not there as proxy_cache last knew it
 * (not loaded yet, evicted, replaced): the caller fetches it instead.
 */
ngx_int_t ngx_http_hf_serve_cached(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);


#endif /* _NGX_HTTP_HF_SERVE_H_INCLUDED_ */
