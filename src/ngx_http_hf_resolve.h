
/*
 * PREFIX[datasets/|spaces/]REPO/resolve/REV/PATH: answered like the Hub,
 * with the bytes from proxy_cache and the metadata from LMDB.
 */


#ifndef _NGX_HTTP_HF_RESOLVE_H_INCLUDED_
#define _NGX_HTTP_HF_RESOLVE_H_INCLUDED_


#include "ngx_http_hf_module.h"


ngx_int_t ngx_http_hf_resolve_handler(ngx_http_request_t *r,
    ngx_http_hf_loc_conf_t *conf, ngx_http_hf_target_t *target);

/* called by the blob fetch: its headers arrived, answer the client */
ngx_int_t ngx_http_hf_resolve_send_headers(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);

/* called by the blob fetch: all bytes arrived and their hash matched */
void ngx_http_hf_resolve_verified(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);


/* the Hub's error answer to fetch f, passed on (see the .c file) */
ngx_int_t ngx_http_hf_send_hub_error(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f, ngx_int_t status);

/* the Hub failed (5xx: status; no answer: 0): 502, or 504 on a timeout */
ngx_int_t ngx_http_hf_send_hub_failed(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f, ngx_int_t status);

/* the Hub's redirect of a renamed repository, under the prefix */
ngx_int_t ngx_http_hf_send_renamed(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_int_t status, ngx_str_t *location);

/* served from the cache while the Hub did not answer: a rate-limited warn */
void ngx_http_hf_log_stale(ngx_http_request_t *r, ngx_int_t status,
    ngx_str_t *repo, ngx_str_t *what, u_char *commit);

/* true at most once a second per worker: for warnings on a hot path */
ngx_uint_t ngx_http_hf_log_once(ngx_http_request_t *r);


#endif /* _NGX_HTTP_HF_RESOLVE_H_INCLUDED_ */
