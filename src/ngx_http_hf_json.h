
/*
 * JSON, with jansson: Hub API answers rewritten so that no Xet metadata
 * reaches a client (it would make clients bypass the cache), commits read
 * from them, error bodies written.
 */


#ifndef _NGX_HTTP_HF_JSON_H_INCLUDED_
#define _NGX_HTTP_HF_JSON_H_INCLUDED_


#include "ngx_http_hf_module.h"


/* jansson's json_t, declared so that this header needs no jansson.h */
struct json_t;


/*
 * Removes every member whose name starts with "xet" (any case), at any
 * depth, into out (allocated from pool).  NGX_DECLINED: not JSON.
 */
ngx_int_t ngx_http_hf_json_strip_xet(ngx_pool_t *pool, ngx_log_t *log,
    u_char *data, size_t len, ngx_str_t *out);

/* the commit id in a top-level "sha" member */
ngx_int_t ngx_http_hf_json_commit(u_char *data, size_t len, u_char *commit);

/* the body of an error answer: {"error": message} */
ngx_int_t ngx_http_hf_json_error(ngx_pool_t *pool, ngx_str_t *message,
    ngx_str_t *out);

/* json as text (json_dumps() flags) in pool memory; json is released */
ngx_int_t ngx_http_hf_json_dump(ngx_pool_t *pool, struct json_t *json,
    size_t flags, ngx_str_t *out);


#endif /* _NGX_HTTP_HF_JSON_H_INCLUDED_ */
