
/*
 * A request for a blob that another request is downloading: it sends the
 * bytes as they land in that download's temporary file, and its last byte
 * once the download was verified.
 */


#ifndef _NGX_HTTP_HF_FOLLOW_H_INCLUDED_
#define _NGX_HTTP_HF_FOLLOW_H_INCLUDED_


#include "ngx_http_hf_module.h"


/* follows ctx->fill (see fills.h); NGX_DONE, or NGX_ERROR */
ngx_int_t ngx_http_hf_follow_start(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);


#endif /* _NGX_HTTP_HF_FOLLOW_H_INCLUDED_ */
