
/*
 * PREFIX/api/...: the Hub API that downloads use (repository info,
 * revision, tree, paths-info), through the cache, with no Xet metadata.
 */


#ifndef _NGX_HTTP_HF_API_H_INCLUDED_
#define _NGX_HTTP_HF_API_H_INCLUDED_


#include "ngx_http_hf_module.h"


/* rest: the raw target after the prefix, starting with "api/" */
ngx_int_t ngx_http_hf_api_handler(ngx_http_request_t *r,
    ngx_http_hf_loc_conf_t *conf, ngx_str_t *rest, ngx_str_t *args);


#endif /* _NGX_HTTP_HF_API_H_INCLUDED_ */
