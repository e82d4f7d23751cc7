
/*
 * PREFIX[datasets/|spaces/]REPO/resolve/REV/PATH: answered like the Hub,
 * with the bytes from proxy_cache and the metadata from LMDB.
 */


#ifndef _NGX_HTTP_HF_RESOLVE_H_INCLUDED_
#define _NGX_HTTP_HF_RESOLVE_H_INCLUDED_


#include "ngx_http_hf_module.h"


ngx_int_t ngx_http_hf_resolve_handler(ngx_http_request_t *r,
    ngx_http_hf_loc_conf_t *conf, ngx_http_hf_target_t *target);


#endif /* _NGX_HTTP_HF_RESOLVE_H_INCLUDED_ */
