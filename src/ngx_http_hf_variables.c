
/*
 * Log variables.  Each is read from the client request's context, which
 * the module keeps on the main request; outside a distribution, or before
 * the request was understood, a variable is not found ("-" in a log).
 */


#include "ngx_http_hf_variables.h"
#include "ngx_http_hf_path.h"
#include "ngx_http_hf_util.h"


static ngx_int_t ngx_http_hf_cache_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_hf_distribution_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_hf_request_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


/* what ngx_http_hf_request_variable() reads */

typedef enum {
    NGX_HTTP_HF_VAR_REPO_TYPE = 0,
    NGX_HTTP_HF_VAR_REPO,
    NGX_HTTP_HF_VAR_REVISION,
    NGX_HTTP_HF_VAR_COMMIT,
    NGX_HTTP_HF_VAR_PATH,
    NGX_HTTP_HF_VAR_BLOB,
    NGX_HTTP_HF_VAR_UPSTREAM_BYTES
} ngx_http_hf_var_e;


ngx_str_t  ngx_http_hf_cache_status_names[] = {
    ngx_string("HIT"),
    ngx_string("REVALIDATED"),
    ngx_string("MISS"),
    ngx_string("STALE"),
    ngx_string("ERROR")
};


static ngx_http_variable_t  ngx_http_hf_variables[] = {

    { ngx_string("hf_cache_status"), NULL,
      ngx_http_hf_cache_status_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_distribution"), NULL,
      ngx_http_hf_distribution_variable, 0, 0, 0 },

    { ngx_string("hf_repo_type"), NULL, ngx_http_hf_request_variable,
      NGX_HTTP_HF_VAR_REPO_TYPE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_repo"), NULL, ngx_http_hf_request_variable,
      NGX_HTTP_HF_VAR_REPO, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_revision"), NULL, ngx_http_hf_request_variable,
      NGX_HTTP_HF_VAR_REVISION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_commit"), NULL, ngx_http_hf_request_variable,
      NGX_HTTP_HF_VAR_COMMIT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_path"), NULL, ngx_http_hf_request_variable,
      NGX_HTTP_HF_VAR_PATH, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_blob"), NULL, ngx_http_hf_request_variable,
      NGX_HTTP_HF_VAR_BLOB, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hf_upstream_bytes"), NULL, ngx_http_hf_request_variable,
      NGX_HTTP_HF_VAR_UPSTREAM_BYTES, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_hf_variables_add(ngx_conf_t *cf)
{
    return ngx_http_hf_add_variables(cf, ngx_http_hf_variables);
}


static ngx_http_hf_ctx_t *
ngx_http_hf_request_ctx(ngx_http_request_t *r)
{
    ngx_http_hf_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_hf_module);

    if (ctx == NULL || ctx->type != NGX_HTTP_HF_CTX_REQUEST) {
        return NULL;
    }

    return ctx;
}


/* a variable's value; an empty one is not found ("-" in a log) */

static ngx_int_t
ngx_http_hf_variable_value(ngx_http_variable_value_t *v, ngx_str_t *value,
    ngx_uint_t no_cacheable)
{
    if (value->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_hf_variable_set(v, value->data, value->len, no_cacheable);

    return NGX_OK;
}


/*
 * HIT (nothing asked of the Hub), REVALIDATED (metadata from the Hub,
 * bytes from the cache), MISS (the Hub answered, the bytes did not come
 * from the cache), STALE (the Hub was unreachable, the answer came from
 * the cache).
 */

ngx_http_hf_cache_status_e
ngx_http_hf_cache_status(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_uint_t  cached;

    cached = ctx->cache_hit || (r->main->header_only && ctx->have_file);

    if (ctx->stale) {
        return NGX_HTTP_HF_CACHE_STALE;
    }

    if (cached) {
        return ctx->hub_asked ? NGX_HTTP_HF_CACHE_REVALIDATED
                              : NGX_HTTP_HF_CACHE_HIT;
    }

    return NGX_HTTP_HF_CACHE_MISS;
}


static ngx_int_t
ngx_http_hf_cache_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t          *name;
    ngx_http_hf_ctx_t  *ctx;

    ctx = ngx_http_hf_request_ctx(r);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    name = &ngx_http_hf_cache_status_names[ngx_http_hf_cache_status(r, ctx)];

    return ngx_http_hf_variable_value(v, name, 1);
}


/* the name of the distribution the request was in, as configured */

static ngx_int_t
ngx_http_hf_distribution_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_hf_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r->main, ngx_http_hf_module);

    return ngx_http_hf_variable_value(v, &hlcf->name, 0);
}


static ngx_int_t
ngx_http_hf_request_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char             *p;
    ngx_str_t           value;
    ngx_http_hf_ctx_t  *ctx;

    ctx = ngx_http_hf_request_ctx(r);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_str_null(&value);

    switch (data) {

    case NGX_HTTP_HF_VAR_REPO_TYPE:
        if (ctx->target.repo.len) {
            value = ngx_http_hf_kind_names[ctx->target.kind];
        }
        break;

    case NGX_HTTP_HF_VAR_REPO:
        value = ctx->target.repo;
        break;

    case NGX_HTTP_HF_VAR_REVISION:
        value = ctx->target.rev;
        break;

    case NGX_HTTP_HF_VAR_COMMIT:
        if (ctx->have_commit) {
            value.data = ctx->commit;
            value.len = NGX_HTTP_HF_COMMIT_LEN;
        }
        break;

    case NGX_HTTP_HF_VAR_PATH:
        value = ctx->target.path;
        break;

    case NGX_HTTP_HF_VAR_BLOB:
        value.data = ctx->file.etag;
        value.len = ngx_strlen(ctx->file.etag);
        break;

    default: /* NGX_HTTP_HF_VAR_UPSTREAM_BYTES */
        p = ngx_pnalloc(r->pool, NGX_OFF_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        value.data = p;
        value.len = ngx_sprintf(p, "%O", ctx->upstream_bytes) - p;
    }

    return ngx_http_hf_variable_value(v, &value, 1);
}
