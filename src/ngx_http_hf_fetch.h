
/*
 * Requests to the Hub and its CDN: subrequests to the internal locations
 * every distribution gets, the variables that steer proxy_pass and
 * proxy_cache there, and the filters that hand a fetch's answer to its
 * owner.  A transport: what a fetch's answer means is its owner's.
 */


#ifndef _NGX_HTTP_HF_FETCH_H_INCLUDED_
#define _NGX_HTTP_HF_FETCH_H_INCLUDED_


#include "ngx_http_hf_module.h"


/*
 * Starts a subrequest for f (f->url, f->authorization, f->blob, ...) in
 * the internal locations under prefix.  Its owner's callbacks see the
 * answer: on_header and on_body as it streams, on_done when it ends,
 * then f->resume becomes the parent's write handler; f->result and the
 * upstream's answer say how it went.  NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_hf_fetch_start(ngx_http_request_t *r, ngx_str_t *prefix,
    ngx_http_hf_fetch_t *f);

/* an upstream header of a finished fetch, or NULL */
ngx_table_elt_t *ngx_http_hf_fetch_header(ngx_http_hf_fetch_t *f,
    const char *name, size_t len);

/* the upstream's status of a finished fetch; 0: no answer */
ngx_int_t ngx_http_hf_fetch_status(ngx_http_hf_fetch_t *f);

/* the fetch a subrequest carries out, or NULL */
ngx_http_hf_fetch_t *ngx_http_hf_fetch_get(ngx_http_request_t *r);

/* for an on_body handler: buffers on to the client, or consumed */
ngx_int_t ngx_http_hf_fetch_output(ngx_http_request_t *r, ngx_chain_t *in);
void ngx_http_hf_fetch_consume(ngx_chain_t *in);

ngx_int_t ngx_http_hf_fetch_init(ngx_conf_t *cf);
ngx_int_t ngx_http_hf_fetch_add_variables(ngx_conf_t *cf);


#endif /* _NGX_HTTP_HF_FETCH_H_INCLUDED_ */
