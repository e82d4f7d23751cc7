
/*
 * Requests to the Hub and its CDN: a transport.
 *
 * Every distribution location gets three internal exact-match locations
 * (built in ngx_http_hf_conf.c): "<prefix>@hf-meta", which proxies a HEAD
 * to the Hub uncached, "<prefix>@hf-blob", which proxies a GET through
 * proxy_cache under a key that names the content, and "<prefix>@hf-api",
 * whose JSON answers are read in memory.  A client request reaches them
 * through subrequests whose context (ngx_http_hf_fetch_t) feeds the
 * $hf_fetch_* variables used by proxy_pass, proxy_set_header and
 * proxy_cache_key there.
 *
 * What an answer means is the fetch's owner's: its callbacks (on_header,
 * on_body, on_done, transient, resume) see it; this file never reads or
 * writes the owner's state.
 */


#include "ngx_http_hf_fetch.h"
#include "ngx_http_hf_metrics.h"
#include "ngx_http_hf_util.h"


static ngx_int_t ngx_http_hf_fetch_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static ngx_int_t ngx_http_hf_fetch_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_hf_fetch_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_hf_fetch_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

static ngx_str_t  ngx_http_hf_head_method = ngx_string("HEAD");
static ngx_str_t  ngx_http_hf_post_method = ngx_string("POST");


typedef enum {
    NGX_HTTP_HF_VAR_URL = 0,
    NGX_HTTP_HF_VAR_AUTHORIZATION,
    NGX_HTTP_HF_VAR_CACHE_KEY,
    NGX_HTTP_HF_VAR_CACHE_ZONE,
    NGX_HTTP_HF_VAR_CACHE_BYPASS,
    NGX_HTTP_HF_VAR_NO_CACHE,
    NGX_HTTP_HF_VAR_CONTENT_TYPE,
    NGX_HTTP_HF_VAR_RANGE
} ngx_http_hf_fetch_var_e;


/* internal: used by the generated locations, empty everywhere else */

static ngx_http_variable_t  ngx_http_hf_fetch_vars[] = {

    { ngx_string("hf_fetch_url"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_URL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_fetch_authorization"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_AUTHORIZATION,
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_NOHASH, 0 },

    { ngx_string("hf_fetch_cache_key"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_CACHE_KEY, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_fetch_cache_zone"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_CACHE_ZONE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_fetch_cache_bypass"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_CACHE_BYPASS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_fetch_no_cache"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_NO_CACHE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_fetch_content_type"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_CONTENT_TYPE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_fetch_range"), NULL, ngx_http_hf_fetch_variable,
      NGX_HTTP_HF_VAR_RANGE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_hf_fetch_start(ngx_http_request_t *r, ngx_str_t *prefix,
    ngx_http_hf_fetch_t *f)
{
    u_char                      *p;
    ngx_str_t                    uri, location;
    ngx_uint_t                   flags;
    ngx_http_request_t          *sr;
    ngx_http_post_subrequest_t  *ps;

    if (f->blob) {
        ngx_str_set(&location, NGX_HTTP_HF_BLOB_LOCATION);

    } else if (f->api) {
        ngx_str_set(&location, NGX_HTTP_HF_API_LOCATION);

    } else {
        ngx_str_set(&location, NGX_HTTP_HF_META_LOCATION);
    }

    uri.len = prefix->len + location.len;
    uri.data = ngx_pnalloc(r->pool, uri.len);
    if (uri.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(uri.data, prefix->data, prefix->len);
    ngx_memcpy(p, location.data, location.len);

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_hf_fetch_done;
    ps->data = f;

    f->type = NGX_HTTP_HF_CTX_FETCH;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf fetch: %V \"%V\" key:\"%V\"",
                   &location, &f->url, &f->cache_key);

    flags = f->background ? NGX_HTTP_SUBREQUEST_BACKGROUND
                          : NGX_HTTP_SUBREQUEST_WAITED;

    if (f->api) {
        /* JSON to rewrite: read whole, up to subrequest_output_buffer_size */
        flags |= NGX_HTTP_SUBREQUEST_IN_MEMORY;
    }

    if (ngx_http_subrequest(r, &uri, NULL, &sr, ps, flags) != NGX_OK) {
        return NGX_ERROR;
    }

    if (f->post) {
        sr->method = NGX_HTTP_POST;
        sr->method_name = ngx_http_hf_post_method;

    } else if (!f->blob && !f->api && !f->direct) {
        sr->method = NGX_HTTP_HEAD;
        sr->method_name = ngx_http_hf_head_method;
        sr->header_only = 1;
    }

    f->sr = sr;
    ngx_http_set_ctx(sr, f, ngx_http_hf_module);

    if (f->background) {
        /* the upstream module fills the cache and sends nothing */
        sr->header_only = 1;
    }

    return NGX_OK;
}


ngx_table_elt_t *
ngx_http_hf_fetch_header(ngx_http_hf_fetch_t *f, const char *name, size_t len)
{
    ngx_http_upstream_t  *u;

    u = f->sr ? f->sr->upstream : NULL;

    if (u == NULL) {
        return NULL;
    }

    return ngx_http_hf_find_header(&u->headers_in.headers, name, len);
}


ngx_int_t
ngx_http_hf_fetch_status(ngx_http_hf_fetch_t *f)
{
    ngx_http_upstream_t  *u;

    u = f->sr ? f->sr->upstream : NULL;

    if (u == NULL || u->headers_in.status_n == 0) {
        return 0;
    }

    return u->headers_in.status_n;
}


static ngx_int_t
ngx_http_hf_fetch_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_hf_fetch_t *f = data;

    /* a post subrequest handler may run more than once */

    if (f->done) {
        return rc;
    }

    f->done = 1;

    if (f->on_done) {
        f->on_done(r, f);
    }

    ngx_http_hf_metrics_fetch_done(r, f);

    if (f->background) {
        return rc;
    }

    if (f->result == NGX_HTTP_HF_FETCH_PENDING) {

        if (!f->blob && rc != NGX_ERROR && rc < NGX_HTTP_SPECIAL_RESPONSE
            && ngx_http_hf_fetch_status(f))
        {
            f->result = NGX_HTTP_HF_FETCH_DONE;

        } else if (f->streaming && rc == NGX_OK && f->offset == f->end) {
            /*
             * An empty file from the cache: nginx sends a subrequest's
             * empty cached body as headers alone, with no last buffer.
             */
            f->result = NGX_HTTP_HF_FETCH_DONE;

        } else {
            f->result = NGX_HTTP_HF_FETCH_FAILED;
            f->status = (rc >= NGX_HTTP_SPECIAL_RESPONSE) ? rc
                                                  : NGX_HTTP_BAD_GATEWAY;
        }
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf fetch done: rc:%i result:%d status:%i",
                   rc, f->result, f->status);

    if (f->resume) {
        r->parent->write_event_handler = f->resume;
    }

    return rc;
}


static ngx_int_t
ngx_http_hf_fetch_header_filter(ngx_http_request_t *r)
{
    ngx_http_hf_fetch_t       *f;
    ngx_http_core_loc_conf_t  *clcf;

    f = ngx_http_hf_fetch_get(r);

    if (f == NULL) {
        return ngx_http_next_header_filter(r);
    }

    f->status = r->headers_out.status;

    if (f->api) {
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

        if (r->headers_out.content_length_n
            > (off_t) clcf->subrequest_output_buffer_size)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "hf: API answer of %O bytes is over %uz",
                          r->headers_out.content_length_n,
                          clcf->subrequest_output_buffer_size);
            f->discard = 1;
            f->result = NGX_HTTP_HF_FETCH_FAILED;
            f->status = NGX_HTTP_BAD_GATEWAY;
            return NGX_OK;
        }

        /* read in memory by the postpone filter, then rewritten */
        return ngx_http_next_header_filter(r);
    }

    if (f->on_header == NULL) {
        /* metadata is read from the upstream headers when the fetch ends */
        f->discard = 1;
        return NGX_OK;
    }

    return f->on_header(r, f);
}


static ngx_int_t
ngx_http_hf_fetch_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_http_hf_fetch_t  *f;

    f = ngx_http_hf_fetch_get(r);

    if (f == NULL || (f->api && !f->discard)) {
        return ngx_http_next_body_filter(r, in);
    }

    if (f->discard || !f->streaming || f->on_body == NULL) {
        ngx_http_hf_fetch_consume(in);
        return NGX_OK;
    }

    return f->on_body(r, f, in);
}


/* for a fetch's on_body: what it lets through goes on to the client */

ngx_int_t
ngx_http_hf_fetch_output(ngx_http_request_t *r, ngx_chain_t *in)
{
    return ngx_http_next_body_filter(r, in);
}


void
ngx_http_hf_fetch_consume(ngx_chain_t *in)
{
    for ( /* void */ ; in; in = in->next) {
        in->buf->pos = in->buf->last;
        in->buf->file_pos = in->buf->file_last;
    }
}


ngx_http_hf_fetch_t *
ngx_http_hf_fetch_get(ngx_http_request_t *r)
{
    ngx_http_hf_fetch_t  *f;

    if (r == r->main) {
        return NULL;
    }

    f = ngx_http_get_module_ctx(r, ngx_http_hf_module);

    if (f == NULL || f->type != NGX_HTTP_HF_CTX_FETCH) {
        return NULL;
    }

    return f;
}


static ngx_int_t
ngx_http_hf_fetch_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t            *s;
    ngx_http_hf_fetch_t  *f;

    f = ngx_http_hf_fetch_get(r);

    if (f == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_HF_VAR_URL:
        s = &f->url;
        break;

    case NGX_HTTP_HF_VAR_AUTHORIZATION:
        s = &f->authorization;
        break;

    case NGX_HTTP_HF_VAR_CACHE_KEY:
        s = &f->cache_key;
        break;

    case NGX_HTTP_HF_VAR_CACHE_ZONE:
        s = &f->cache_zone;
        break;

    case NGX_HTTP_HF_VAR_CONTENT_TYPE:
        s = &f->content_type;
        break;

    case NGX_HTTP_HF_VAR_RANGE:
        s = &f->range;
        break;

    case NGX_HTTP_HF_VAR_NO_CACHE:
        /* read with the answer (proxy_no_cache): the owner's test of it */
        ngx_http_hf_variable_set(v, (u_char *) "1",
                                 f->no_cache
                                 || (f->transient && f->transient(r, f)),
                                 1);
        return NGX_OK;

    default: /* NGX_HTTP_HF_VAR_CACHE_BYPASS */
        ngx_http_hf_variable_set(v, (u_char *) "1", f->bypass, 1);
        return NGX_OK;
    }

    ngx_http_hf_variable_set(v, s->data, s->len, 1);

    return NGX_OK;
}


ngx_int_t
ngx_http_hf_fetch_add_variables(ngx_conf_t *cf)
{
    return ngx_http_hf_add_variables(cf, ngx_http_hf_fetch_vars);
}


ngx_int_t
ngx_http_hf_fetch_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_hf_fetch_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_hf_fetch_body_filter;

    return NGX_OK;
}
