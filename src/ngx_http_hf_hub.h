
/*
 * Reading the Hub's answers, for /resolve/ and the API alike.
 */


#ifndef _NGX_HTTP_HF_HUB_H_INCLUDED_
#define _NGX_HTTP_HF_HUB_H_INCLUDED_


#include "ngx_http_hf_module.h"


typedef enum {
    NGX_HTTP_HF_HUB_OK = 0,
    NGX_HTTP_HF_HUB_FOLLOW,
    NGX_HTTP_HF_HUB_RENAMED,
    NGX_HTTP_HF_HUB_AWAY,
    NGX_HTTP_HF_HUB_ERROR,
    NGX_HTTP_HF_HUB_UNAVAILABLE,
    NGX_HTTP_HF_HUB_BAD
} ngx_http_hf_hub_e;


/*
 * Asks the Hub (fetch f) for the client request ctx, whose state machine
 * goes on in "state" when the answer is in (a background fill ends on its
 * own): NGX_DONE, or NGX_ERROR.
 */
ngx_int_t ngx_http_hf_hub_fetch(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_http_hf_fetch_t *f, ngx_uint_t state);

/* whether the Hub's answer to f is a 404 that says EntryNotFound */
ngx_uint_t ngx_http_hf_hub_entry_missing(ngx_http_hf_fetch_t *f);

/* what the answer to fetch f is (see the .c file); FOLLOW sets path */
ngx_http_hf_hub_e ngx_http_hf_hub_read(ngx_http_hf_loc_conf_t *conf,
    ngx_http_hf_fetch_t *f, ngx_int_t *status, ngx_str_t *path);

/* the client's answer to an ERROR, RENAMED, UNAVAILABLE or BAD one */
ngx_int_t ngx_http_hf_hub_send(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_http_hf_hub_e answer, ngx_int_t status);

/*
 * A Location of the Hub as a URL to fetch, if hf_redirect_hosts lets it
 * be followed (NGX_DECLINED, logged, otherwise); *own: on the Hub's own
 * origin, where the server token may go.
 */
ngx_int_t ngx_http_hf_hub_redirect_url(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_str_t *location, ngx_str_t *url,
    ngx_uint_t *own);

/* the Hub's error answer to fetch f, passed on */
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


#endif /* _NGX_HTTP_HF_HUB_H_INCLUDED_ */
