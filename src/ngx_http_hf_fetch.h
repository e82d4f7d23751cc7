
/*
 * Requests to the Hub and its CDN: subrequests to the internal locations
 * that every distribution gets, their filters, the variables that steer
 * proxy_pass/proxy_cache there, and verification of what streams in.
 */


#ifndef _NGX_HTTP_HF_FETCH_H_INCLUDED_
#define _NGX_HTTP_HF_FETCH_H_INCLUDED_


#include "ngx_http_hf_module.h"


/*
 * Starts a subrequest for f (f->url, f->authorization, f->blob, ...) and
 * moves ctx to "state"; when the fetch ends, ctx->run() runs again.
 * Returns NGX_DONE (the caller returns it too) or NGX_ERROR.
 */
ngx_int_t ngx_http_hf_fetch_start(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_http_hf_fetch_t *f, ngx_uint_t state);

/* an upstream header of a finished fetch, or NULL */
ngx_table_elt_t *ngx_http_hf_fetch_header(ngx_http_hf_fetch_t *f,
    const char *name, size_t len);
ngx_int_t ngx_http_hf_fetch_status(ngx_http_hf_fetch_t *f);

ngx_int_t ngx_http_hf_fetch_init(ngx_conf_t *cf);
ngx_int_t ngx_http_hf_fetch_add_variables(ngx_conf_t *cf);


#endif /* _NGX_HTTP_HF_FETCH_H_INCLUDED_ */
