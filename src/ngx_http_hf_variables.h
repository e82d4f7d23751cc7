
/*
 * The variables a log_format uses: $hf_cache_status, and what a request
 * was about ($hf_distribution, $hf_repo, $hf_commit, $hf_blob...).
 */


#ifndef _NGX_HTTP_HF_VARIABLES_H_INCLUDED_
#define _NGX_HTTP_HF_VARIABLES_H_INCLUDED_


#include "ngx_http_hf_module.h"


/* what an answer cost, as $hf_cache_status names it */

typedef enum {
    NGX_HTTP_HF_CACHE_HIT = 0,
    NGX_HTTP_HF_CACHE_REVALIDATED,
    NGX_HTTP_HF_CACHE_MISS,
    NGX_HTTP_HF_CACHE_STALE,
    NGX_HTTP_HF_CACHE_ERROR,          /* hf_metrics only: see metrics.c */
    NGX_HTTP_HF_CACHE_STATUSES
} ngx_http_hf_cache_status_e;


extern ngx_str_t  ngx_http_hf_cache_status_names[];


ngx_int_t ngx_http_hf_variables_add(ngx_conf_t *cf);

/* HIT, REVALIDATED, MISS or STALE for a client request's ctx */
ngx_http_hf_cache_status_e ngx_http_hf_cache_status(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);


#endif /* _NGX_HTTP_HF_VARIABLES_H_INCLUDED_ */
