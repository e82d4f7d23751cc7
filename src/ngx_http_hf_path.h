
/*
 * URL space of a distribution: parsing and validating what clients send,
 * and encoding what is sent to the Hub.
 */


#ifndef _NGX_HTTP_HF_PATH_H_INCLUDED_
#define _NGX_HTTP_HF_PATH_H_INCLUDED_


#include "ngx_http_hf_module.h"


/* "model", "dataset", "space", "kernel": ngx_http_hf_kind_e's names */
extern ngx_str_t  ngx_http_hf_kind_names[];


/*
 * Finds the part of the raw request target that follows the distribution
 * prefix.  Returns NGX_DECLINED when the raw target does not start with
 * the prefix literally (an encoded prefix is not accepted).
 */
ngx_int_t ngx_http_hf_request_rest(ngx_http_request_t *r,
    ngx_http_hf_loc_conf_t *conf, ngx_str_t *rest, ngx_str_t *args);

/*
 * Parses "[datasets/|spaces/|kernels/]REPO/resolve/REV/PATH".
 * NGX_OK, NGX_DECLINED (not a /resolve/ URL), NGX_ERROR (no memory), or
 * NGX_HTTP_BAD_REQUEST with *reason set.
 */
ngx_int_t ngx_http_hf_parse_resolve(ngx_pool_t *pool, ngx_str_t *rest,
    ngx_http_hf_target_t *t, char **reason);

/* what starts the rest of an API request */
#define NGX_HTTP_HF_API_PREFIX  "api/"

/*
 * Parses "api/{models|datasets|spaces|kernels}/REPO[/ENDPOINT/REV[/PATH]]"
 * where ENDPOINT is revision, tree or paths-info (none: repository info).
 * NGX_OK, NGX_DECLINED (an endpoint the cache does not serve), NGX_ERROR,
 * or NGX_HTTP_BAD_REQUEST with *reason set.
 */
ngx_int_t ngx_http_hf_parse_api(ngx_pool_t *pool, ngx_str_t *rest,
    ngx_http_hf_target_t *t, char **reason);

/* the Hub's own URL of a file: kind prefix, repo, /resolve/, rev, path */
ngx_int_t ngx_http_hf_resolve_url(ngx_pool_t *pool,
    ngx_http_hf_loc_conf_t *conf, ngx_http_hf_target_t *t, ngx_str_t *rev,
    ngx_str_t *url);

/* percent-encodes like Python's quote(): keep_slash is its safe="/" */
u_char *ngx_http_hf_escape(u_char *dst, ngx_str_t *src,
    ngx_uint_t keep_slash);
size_t ngx_http_hf_escaped_len(ngx_str_t *src, ngx_uint_t keep_slash);



#endif /* _NGX_HTTP_HF_PATH_H_INCLUDED_ */
