
/*
 * CORS: browsers (transformers.js, @huggingface/hub in a page) read the
 * cache's answers from other origins.
 */


#include "ngx_http_hf_cors.h"
#include "ngx_http_hf_util.h"
#include "ngx_http_hf_fetch.h"


/*
 * Browsers (transformers.js, @huggingface/hub) read answers across
 * origins: every answer allows it and exposes what the clients read; a
 * preflight is answered here.  NGX_DECLINED: go on with the request.
 */

ngx_int_t
ngx_http_hf_cors(ngx_http_request_t *r, ngx_http_hf_loc_conf_t *hlcf)
{
    ngx_table_elt_t  *request_headers;

    static ngx_str_t  origin = ngx_string("*");
    static ngx_str_t  expose = ngx_string(
        "Content-Range, Content-Length, Accept-Ranges, ETag, X-Repo-Commit, "
        "X-Linked-Size, X-Linked-Etag, X-Error-Code, X-Error-Message, Link");
    static ngx_str_t  methods = ngx_string("GET, HEAD, POST, OPTIONS");
    static ngx_str_t  allow_headers = ngx_string(
        "Range, If-Range, Content-Type, Accept, Authorization");
    static ngx_str_t  max_age = ngx_string("86400");

    if (!hlcf->cors) {
        if (r->method == NGX_HTTP_OPTIONS) {
            return ngx_http_hf_send_error(r, NGX_HTTP_NOT_ALLOWED, NULL, NULL,
                                          NULL);
        }

        return NGX_DECLINED;
    }

    if (ngx_http_hf_add_header(r, "Access-Control-Allow-Origin", &origin,
                               NULL)
        != NGX_OK
        || ngx_http_hf_add_header(r, "Access-Control-Expose-Headers",
                                  &expose, NULL)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method != NGX_HTTP_OPTIONS) {
        return NGX_DECLINED;
    }

    /* a preflight: allow the headers asked for, Range among them */

    request_headers = ngx_http_hf_find_header(&r->headers_in.headers,
                          NGX_HTTP_HF_HEADER("Access-Control-Request-Headers"));

    if (ngx_http_hf_add_header(r, "Access-Control-Allow-Methods", &methods,
                               NULL)
        != NGX_OK
        || ngx_http_hf_add_header(r, "Access-Control-Allow-Headers",
                                  request_headers ? &request_headers->value
                                                  : &allow_headers, NULL)
           != NGX_OK
        || ngx_http_hf_add_header(r, "Access-Control-Max-Age", &max_age,
                                  NULL)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_http_discard_request_body(r);

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}
