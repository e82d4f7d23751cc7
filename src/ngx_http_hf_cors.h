
/*
 * CORS: browsers (transformers.js, @huggingface/hub in a page) read the
 * cache's answers from other origins.
 */


#ifndef _NGX_HTTP_HF_CORS_H_INCLUDED_
#define _NGX_HTTP_HF_CORS_H_INCLUDED_


#include "ngx_http_hf_module.h"


/*
 * Adds the CORS headers (hf_cors on) and answers a preflight.
 * NGX_DECLINED: go on with the request; anything else: its answer.
 */
ngx_int_t ngx_http_hf_cors(ngx_http_request_t *r,
    ngx_http_hf_loc_conf_t *hlcf);


#endif /* _NGX_HTTP_HF_CORS_H_INCLUDED_ */
