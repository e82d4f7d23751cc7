
/*
 * ngx_http_hf_module: a Hugging Face Hub pull-through cache for nginx.
 *
 * This file holds the directives, the configuration and the wiring; each
 * concern lives in src/: path (the URL space), resolve (/resolve/ answers),
 * api (the Hub API), cors (browsers), fetch (requests to the Hub through proxy_pass and
 * proxy_cache), revision (branches to commits), verify (hashes), json
 * (Xet metadata removed from API answers), store (LMDB metadata).
 */


#include "ngx_http_hf_module.h"
#include "ngx_http_hf_api.h"
#include "ngx_http_hf_cors.h"
#include "ngx_http_hf_dirs.h"
#include "ngx_http_hf_fetch.h"
#include "ngx_http_hf_log.h"
#include "ngx_http_hf_path.h"
#include "ngx_http_hf_resolve.h"
#include "ngx_http_hf_store.h"
#include "ngx_http_hf_util.h"


#define NGX_HTTP_HF_DEFAULT_REMOTE  "https://huggingface.co"
#define NGX_HTTP_HF_DEFAULT_SIZE    (1024 * 1024 * 1024)
#define NGX_HTTP_HF_MAX_NAME        64

/* a client behind a live download waits for it, however long it takes */
#define NGX_HTTP_HF_LOCK_WAIT       (7 * 24 * 3600 * 1000)


/* proxy_cache_path zones carry the proxy module's tag */
extern ngx_module_t  ngx_http_proxy_module;


static ngx_int_t ngx_http_hf_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_hf_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_hf_cache_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_hf_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_hf_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_hf_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_hf_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_hf_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_hf_init_process(ngx_cycle_t *cycle);
static void ngx_http_hf_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_hf_distribution(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hf_remote(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hf_token(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hf_metadata(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hf_redirect_hosts(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_array_t *ngx_http_hf_default_redirect_hosts(ngx_conf_t *cf);
static char *ngx_http_hf_add_fetch_location(ngx_conf_t *cf,
    ngx_http_core_loc_conf_t *pclcf, const char *suffix, const char *text,
    void ***loc_conf);
static void ngx_http_hf_set_fill_timeout(ngx_http_hf_loc_conf_t *hlcf);
static char *ngx_http_hf_parse_remote(ngx_conf_t *cf,
    ngx_http_hf_loc_conf_t *hlcf);
static ngx_int_t ngx_http_hf_cache_zone_exists(ngx_conf_t *cf,
    ngx_str_t *name);
static void ngx_http_hf_check_resolver(ngx_conf_t *cf,
    ngx_http_hf_loc_conf_t *hlcf);


/*
 * The internal locations of a distribution.  They inherit the proxy_*
 * settings of the distribution's location (timeouts, proxy_ssl_*, ...),
 * and set what the cache relies on.  Client headers are never passed:
 * the Hub sees only what is set here, the server token only on requests
 * to the remote itself.
 */

#define NGX_HTTP_HF_FETCH_COMMON                                              \
    "proxy_pass $hf_fetch_url;"                                               \
    "proxy_http_version 1.1;"                                                 \
    "proxy_pass_request_headers off;"                                         \
    "proxy_set_header Authorization $hf_fetch_authorization;"                 \
    "proxy_set_header User-Agent \"ngx_http_hf_module\";"                     \
    "proxy_set_header Accept-Encoding \"\";"                                  \
    "proxy_redirect off;"                                                     \
    "proxy_intercept_errors off;"                                             \
    "proxy_buffering on;"                                                     \
    "proxy_buffer_size 16k;"                                                  \
    "proxy_buffers 8 64k;"                                                    \
    "proxy_busy_buffers_size 128k;"                                           \
    "proxy_ssl_server_name on;"

#define NGX_HTTP_HF_IGNORE_HEADERS                                            \
    "proxy_ignore_headers Cache-Control Expires Set-Cookie Vary "             \
        "X-Accel-Expires X-Accel-Redirect X-Accel-Limit-Rate "                \
        "X-Accel-Buffering X-Accel-Charset;"

/* HEADs for metadata, and ranges fetched while a fill runs behind them */

static const char  ngx_http_hf_meta_location[] =
    NGX_HTTP_HF_FETCH_COMMON
    "proxy_pass_request_body off;"
    "proxy_set_header Range $hf_fetch_range;"
    "proxy_cache off;";

/* answers are kept whole in memory to be rewritten: 8m is a large page */

static const char  ngx_http_hf_api_location[] =
    NGX_HTTP_HF_FETCH_COMMON
    NGX_HTTP_HF_IGNORE_HEADERS
    "proxy_pass_request_body on;"
    "proxy_set_header Content-Type $hf_fetch_content_type;"
    "subrequest_output_buffer_size 8m;"
    "proxy_cache $hf_fetch_cache_zone;"
    "proxy_cache_key $hf_fetch_cache_key;"
    "proxy_cache_bypass $hf_fetch_cache_bypass;"
    "proxy_no_cache $hf_fetch_no_cache;"
    "proxy_cache_valid 200 404 3650d;"
    "proxy_cache_methods GET HEAD POST;"
    "proxy_cache_lock on;"
    "proxy_cache_use_stale off;";

static const char  ngx_http_hf_blob_location[] =
    NGX_HTTP_HF_FETCH_COMMON
    NGX_HTTP_HF_IGNORE_HEADERS
    "proxy_pass_request_body off;"
    "proxy_cache $hf_fetch_cache_zone;"
    "proxy_cache_key $hf_fetch_cache_key;"
    "proxy_cache_bypass $hf_fetch_cache_bypass;"
    "proxy_cache_valid 200 3650d;"
    "proxy_cache_methods GET HEAD;"
    "proxy_cache_min_uses 1;"
    "proxy_cache_lock on;"
    "proxy_cache_revalidate off;"
    "proxy_cache_use_stale off;"
    "proxy_force_ranges off;";


static ngx_command_t  ngx_http_hf_commands[] = {

    { ngx_string("hf_distribution"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_hf_distribution,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hf_remote"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hf_remote,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hf_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hf_token,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hf_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hf_loc_conf_t, cache_zone),
      NULL },

    { ngx_string("hf_revision_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hf_loc_conf_t, revision_ttl),
      NULL },

    { ngx_string("hf_cors"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hf_loc_conf_t, cors),
      NULL },

    { ngx_string("hf_fill_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hf_loc_conf_t, fill_timeout),
      NULL },

    { ngx_string("hf_redirect_hosts"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hf_redirect_hosts,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hf_metadata"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_hf_metadata,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_hf_module_ctx = {
    ngx_http_hf_preconfiguration,          /* preconfiguration */
    ngx_http_hf_postconfiguration,         /* postconfiguration */

    ngx_http_hf_create_main_conf,          /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_hf_create_loc_conf,           /* create location configuration */
    ngx_http_hf_merge_loc_conf             /* merge location configuration */
};


ngx_module_t  ngx_http_hf_module = {
    NGX_MODULE_V1,
    &ngx_http_hf_module_ctx,               /* module context */
    ngx_http_hf_commands,                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_hf_init_module,               /* init module */
    ngx_http_hf_init_process,              /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_hf_exit_process,              /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_hf_handler(ngx_http_request_t *r)
{
    char                    *reason;
    ngx_int_t                rc;
    ngx_str_t                rest, args, message;
    ngx_http_hf_target_t     target;
    ngx_http_hf_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hf_module);

    rc = ngx_http_hf_cors(r, hlcf);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ngx_http_hf_request_rest(r, hlcf, &rest, &args) != NGX_OK) {
        rest.len = 0;
    }

    if (rest.len > 4 && ngx_strncmp(rest.data, "api/", 4) == 0) {
        return ngx_http_hf_api_handler(r, hlcf, &rest, &args);
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        (void) ngx_http_discard_request_body(r);
        return ngx_http_hf_send_error(r, NGX_HTTP_NOT_ALLOWED, NULL, NULL,
                                      NULL);
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_memzero(&target, sizeof(ngx_http_hf_target_t));
    reason = "not a /resolve/ URL";

    rc = rest.len ? ngx_http_hf_parse_resolve(r->pool, &rest, &target,
                                              &reason)
                  : NGX_HTTP_BAD_REQUEST;

    if (rc == NGX_OK) {
        target.args = args;
        return ngx_http_hf_resolve_handler(r, hlcf, &target);
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "hf: %s: \"%V\"", reason, &r->unparsed_uri);

    message.data = (u_char *) reason;
    message.len = ngx_strlen(reason);

    return ngx_http_hf_send_error(r, NGX_HTTP_BAD_REQUEST, NULL, &message,
                                  NULL);
}


static ngx_int_t
ngx_http_hf_preconfiguration(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    static ngx_str_t  name = ngx_string("hf_cache_status");

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_hf_cache_status_variable;

    return ngx_http_hf_fetch_add_variables(cf);
}


/*
 * $hf_cache_status: HIT (nothing asked of the Hub), REVALIDATED (metadata
 * from the Hub, bytes from the cache), MISS (the Hub answered, the bytes
 * did not come from the cache), STALE (the Hub was unreachable, the answer
 * came from the cache); empty outside distributions.
 */

static ngx_int_t
ngx_http_hf_cache_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_uint_t          cached;
    ngx_http_hf_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_hf_module);

    if (ctx == NULL || ctx->type != NGX_HTTP_HF_CTX_REQUEST) {
        v->not_found = 1;
        return NGX_OK;
    }

    cached = ctx->cache_hit || (r->main->header_only && ctx->have_file);

    if (ctx->stale) {
        ngx_str_set(v, "STALE");

    } else if (cached && !ctx->hub_asked) {
        ngx_str_set(v, "HIT");

    } else if (cached) {
        ngx_str_set(v, "REVALIDATED");

    } else {
        ngx_str_set(v, "MISS");
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hf_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                i;
    ngx_http_hf_loc_conf_t  **dist;
    ngx_http_hf_main_conf_t  *hmcf;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hf_module);

    if (hmcf->distributions.nelts == 0) {
        return NGX_OK;
    }

    if (hmcf->metadata_path.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hf_distribution\" needs \"hf_metadata\" "
                           "in the http block");
        return NGX_ERROR;
    }

    dist = hmcf->distributions.elts;

    for (i = 0; i < hmcf->distributions.nelts; i++) {

        if (dist[i]->cache_zone.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hf_distribution \"%V\" needs \"hf_cache\" "
                               "naming a proxy_cache_path zone",
                               &dist[i]->name);
            return NGX_ERROR;
        }

        if (ngx_http_hf_cache_zone_exists(cf, &dist[i]->cache_zone)
            != NGX_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hf_cache \"%V\" of hf_distribution \"%V\" "
                               "is not a proxy_cache_path keys_zone",
                               &dist[i]->cache_zone, &dist[i]->name);
            return NGX_ERROR;
        }

        ngx_http_hf_check_resolver(cf, dist[i]);
        ngx_http_hf_set_fill_timeout(dist[i]);
    }

    if (ngx_http_hf_log_protect(cf, hmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hf_fetch_init(cf);
}


/*
 * A download that makes no progress for hf_fill_timeout is taken over by
 * the next request for its blob: the cache lock lives that long
 * (proxy_cache_lock_age), and the downloading worker renews it as bytes
 * arrive (see ngx_http_hf_fetch_keep_lock()), so that a live download,
 * however long, is never duplicated, and one whose worker died frees its
 * blob within that time.  Waiting is bounded by the download, not by a
 * clock: proxy_cache_lock_timeout is out of the way.
 *
 * The value is set here, after the distribution's own directives were
 * read, in the proxy module's configuration of the blob location, whose
 * first member is the ngx_http_upstream_conf_t that nginx's upstream
 * reads (as every upstream module's is).
 */

static void
ngx_http_hf_set_fill_timeout(ngx_http_hf_loc_conf_t *hlcf)
{
    ngx_http_upstream_conf_t  *ucf;

    ucf = hlcf->blob_loc_conf[ngx_http_proxy_module.ctx_index];

    ucf->cache_lock_age = hlcf->fill_timeout;
    ucf->cache_lock_timeout = NGX_HTTP_HF_LOCK_WAIT;
}


static void *
ngx_http_hf_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_hf_main_conf_t  *hmcf;

    hmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hf_main_conf_t));
    if (hmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&hmcf->distributions, cf->pool, 4,
                       sizeof(ngx_http_hf_loc_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return hmcf;
}


static void *
ngx_http_hf_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_hf_loc_conf_t  *hlcf;

    hlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hf_loc_conf_t));
    if (hlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     hlcf->name = { 0, NULL };
     *     hlcf->prefix = { 0, NULL };
     *     hlcf->remote = { 0, NULL };
     *     hlcf->token = { 0, NULL };
     *     hlcf->cache_zone = { 0, NULL };
     */

    hlcf->revision_ttl = NGX_CONF_UNSET;
    hlcf->cors = NGX_CONF_UNSET;
    hlcf->redirect_hosts = NGX_CONF_UNSET_PTR;
    hlcf->fill_timeout = NGX_CONF_UNSET_MSEC;

    return hlcf;
}


static char *
ngx_http_hf_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_hf_loc_conf_t *prev = parent;
    ngx_http_hf_loc_conf_t *conf = child;

    if (conf->remote.data == NULL) {
        conf->remote = prev->remote;
        conf->remote_origin = prev->remote_origin;
        conf->remote_path = prev->remote_path;
    }

    if (conf->remote.data == NULL) {
        ngx_str_set(&conf->remote, NGX_HTTP_HF_DEFAULT_REMOTE);

        if (ngx_http_hf_parse_remote(cf, conf) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }
    }

    ngx_conf_merge_str_value(conf->token, prev->token, "");
    ngx_conf_merge_str_value(conf->cache_zone, prev->cache_zone, "");
    ngx_conf_merge_sec_value(conf->revision_ttl, prev->revision_ttl, 300);
    ngx_conf_merge_value(conf->cors, prev->cors, 1);
    ngx_conf_merge_msec_value(conf->fill_timeout, prev->fill_timeout, 30000);

    if (conf->redirect_hosts == NGX_CONF_UNSET_PTR) {
        conf->redirect_hosts = (prev->redirect_hosts != NGX_CONF_UNSET_PTR)
                               ? prev->redirect_hosts
                               : ngx_http_hf_default_redirect_hosts(cf);

        if (conf->redirect_hosts == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    /*
     * Content fetched with a server token lives under its distribution's
     * own cache keys, so that it is never served through a distribution
     * without one.
     */

    if (conf->token.len == 0) {
        ngx_str_set(&conf->cache_scope, "public");

    } else if (conf->name.len) {
        conf->cache_scope.len = sizeof("private/") - 1 + conf->name.len;
        conf->cache_scope.data = ngx_pnalloc(cf->pool, conf->cache_scope.len);
        if (conf->cache_scope.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(ngx_cpymem(conf->cache_scope.data, "private/",
                              sizeof("private/") - 1),
                   conf->name.data, conf->name.len);
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_hf_init_module(ngx_cycle_t *cycle)
{
    ngx_http_hf_main_conf_t  *hmcf;

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hf_module);

    if (hmcf == NULL || hmcf->metadata_path.len == 0) {
        return NGX_OK;
    }

    ngx_http_hf_dirs_check(cycle, hmcf);

    return ngx_http_hf_store_create(cycle, &hmcf->metadata_path,
                                    hmcf->metadata_size);
}


static ngx_int_t
ngx_http_hf_init_process(ngx_cycle_t *cycle)
{
    ngx_http_hf_main_conf_t  *hmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hf_module);

    if (hmcf == NULL || hmcf->metadata_path.len == 0) {
        return NGX_OK;
    }

    ngx_http_hf_dirs_worker(cycle, hmcf);

    /* without its store a worker still serves: it verifies and proxies */

    hmcf->store = ngx_http_hf_store_open(cycle, &hmcf->metadata_path,
                                         hmcf->metadata_size);

    return NGX_OK;
}


static void
ngx_http_hf_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_hf_main_conf_t  *hmcf;

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hf_module);

    if (hmcf && hmcf->store) {
        ngx_http_hf_store_close(hmcf->store);
        hmcf->store = NULL;
    }
}


static char *
ngx_http_hf_distribution(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hf_loc_conf_t *hlcf = conf;

    ngx_str_t                 *value, name;
    ngx_uint_t                 i;
    ngx_http_hf_loc_conf_t   **dist;
    ngx_http_hf_main_conf_t   *hmcf;
    ngx_http_core_loc_conf_t  *clcf;

    if (hlcf->prefix.data) {
        return "is duplicate";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->named || clcf->exact_match || clcf->noname
#if (NGX_PCRE)
        || clcf->regex
#endif
        || clcf->name.len == 0 || clcf->name.data[clcf->name.len - 1] != '/')
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hf_distribution\" needs a prefix location "
                           "ending with \"/\", not \"%V\"", &clcf->name);
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;
    name = (cf->args->nelts == 2) ? value[1] : clcf->name;

    if (name.len == 0 || name.len > NGX_HTTP_HF_MAX_NAME) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid hf_distribution name \"%V\": 1 to %d "
                           "characters", &name, NGX_HTTP_HF_MAX_NAME);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < name.len; i++) {
        if (!(ngx_http_hf_isalnum(name.data[i]) || name.data[i] == '-'
              || name.data[i] == '_' || name.data[i] == '.'
              || name.data[i] == '/'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid hf_distribution name \"%V\": "
                               "letters, digits, \"-_./\" only", &name);
            return NGX_CONF_ERROR;
        }
    }

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hf_module);
    dist = hmcf->distributions.elts;

    for (i = 0; i < hmcf->distributions.nelts; i++) {
        if (dist[i]->name.len == name.len
            && ngx_strncmp(dist[i]->name.data, name.data, name.len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate hf_distribution name \"%V\"",
                               &name);
            return NGX_CONF_ERROR;
        }
    }

    dist = ngx_array_push(&hmcf->distributions);
    if (dist == NULL) {
        return NGX_CONF_ERROR;
    }

    *dist = hlcf;

    hlcf->name = name;
    hlcf->prefix = clcf->name;
    hlcf->clcf = clcf;

    clcf->handler = ngx_http_hf_handler;

    if (ngx_http_hf_add_fetch_location(cf, clcf, NGX_HTTP_HF_META_LOCATION,
                                       ngx_http_hf_meta_location, NULL)
        != NGX_CONF_OK
        || ngx_http_hf_add_fetch_location(cf, clcf, NGX_HTTP_HF_API_LOCATION,
                                          ngx_http_hf_api_location, NULL)
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    return ngx_http_hf_add_fetch_location(cf, clcf, NGX_HTTP_HF_BLOB_LOCATION,
                                          ngx_http_hf_blob_location,
                                          &hlcf->blob_loc_conf);
}


/*
 * Adds "location = <prefix><suffix> { internal; <text> }" inside the
 * distribution's location, the way ngx_http_core_location() builds one,
 * and parses text there as configuration, the way ngx_conf_param() parses
 * "-g" directives.
 */

static char *
ngx_http_hf_add_fetch_location(ngx_conf_t *cf,
    ngx_http_core_loc_conf_t *pclcf, const char *suffix, const char *text,
    void ***loc_conf)
{
    char                      *rv;
    void                      *mconf;
    u_char                    *p;
    size_t                     len;
    ngx_buf_t                  b;
    ngx_uint_t                 i;
    ngx_conf_t                 save;
    ngx_conf_file_t            conf_file;
    ngx_http_module_t         *module;
    ngx_http_conf_ctx_t       *ctx, *pctx;
    ngx_http_core_loc_conf_t  *clcf;

    pctx = cf->ctx;

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_conf_ctx_t));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    ctx->main_conf = pctx->main_conf;
    ctx->srv_conf = pctx->srv_conf;

    ctx->loc_conf = ngx_pcalloc(cf->pool, sizeof(void *) * ngx_http_max_module);
    if (ctx->loc_conf == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; cf->cycle->modules[i]; i++) {
        if (cf->cycle->modules[i]->type != NGX_HTTP_MODULE) {
            continue;
        }

        module = cf->cycle->modules[i]->ctx;

        if (module->create_loc_conf) {
            mconf = module->create_loc_conf(cf);
            if (mconf == NULL) {
                return NGX_CONF_ERROR;
            }

            ctx->loc_conf[cf->cycle->modules[i]->ctx_index] = mconf;
        }
    }

    clcf = ctx->loc_conf[ngx_http_core_module.ctx_index];
    clcf->loc_conf = ctx->loc_conf;

    if (loc_conf) {
        *loc_conf = ctx->loc_conf;
    }

    len = ngx_strlen(suffix);

    clcf->name.len = pclcf->name.len + len;
    clcf->name.data = ngx_pnalloc(cf->pool, clcf->name.len);
    if (clcf->name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_cpymem(clcf->name.data, pclcf->name.data, pclcf->name.len);
    ngx_memcpy(p, suffix, len);

    clcf->exact_match = 1;
    clcf->internal = 1;

    if (ngx_http_add_location(cf, &pclcf->locations, clcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    len = ngx_strlen(text);

    ngx_memzero(&b, sizeof(ngx_buf_t));

    b.start = ngx_pnalloc(cf->temp_pool, len);
    if (b.start == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(b.start, text, len);
    b.pos = b.start;
    b.last = b.start + len;
    b.end = b.last;
    b.temporary = 1;

    ngx_memzero(&conf_file, sizeof(ngx_conf_file_t));
    conf_file.file.fd = NGX_INVALID_FILE;
    conf_file.file.name = cf->conf_file->file.name;
    conf_file.line = cf->conf_file->line;
    conf_file.buffer = &b;

    save = *cf;
    cf->ctx = ctx;
    cf->cmd_type = NGX_HTTP_LOC_CONF;
    cf->conf_file = &conf_file;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    return rv;
}


static char *
ngx_http_hf_remote(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hf_loc_conf_t *hlcf = conf;

    ngx_str_t  *value;

    if (hlcf->remote.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    hlcf->remote = value[1];

    return ngx_http_hf_parse_remote(cf, hlcf);
}


/* "scheme://host[:port][/path]": origin and path are kept apart */

static char *
ngx_http_hf_parse_remote(ngx_conf_t *cf, ngx_http_hf_loc_conf_t *hlcf)
{
    u_char     *p, *host, *end;
    ngx_str_t  *url;

    url = &hlcf->remote;

    while (url->len && url->data[url->len - 1] == '/') {
        url->len--;
    }

    if (url->len > 7 && ngx_strncasecmp(url->data, (u_char *) "http://", 7)
                        == 0)
    {
        host = url->data + 7;

    } else if (url->len > 8
               && ngx_strncasecmp(url->data, (u_char *) "https://", 8) == 0)
    {
        host = url->data + 8;

    } else {
        goto invalid;
    }

    end = url->data + url->len;

    for (p = host; p < end; p++) {
        if (*p == '?' || *p == '#' || *p == '@' || *p <= ' ') {
            goto invalid;
        }
    }

    p = ngx_strlchr(host, end, '/');

    if (p == host) {
        goto invalid;
    }

    hlcf->remote_origin.data = url->data;
    hlcf->remote_origin.len = (p ? p : end) - url->data;

    hlcf->remote_path.data = p ? p : end;
    hlcf->remote_path.len = p ? (size_t) (end - p) : 0;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid hf_remote \"%V\": expected "
                       "\"http://host[:port][/path]\" or \"https://...\"",
                       url);
    return NGX_CONF_ERROR;
}


/*
 * hf_redirect_hosts NAME|*.DOMAIN ...: where the Hub's redirects may lead
 * besides the remote's own host (see ngx_http_hf_redirect_allowed()).
 */

static char *
ngx_http_hf_redirect_hosts(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hf_loc_conf_t *hlcf = conf;

    u_char      *p;
    ngx_str_t   *value, *host;
    ngx_uint_t   i;

    if (hlcf->redirect_hosts != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    hlcf->redirect_hosts = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                            sizeof(ngx_str_t));
    if (hlcf->redirect_hosts == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        for (p = value[i].data; p < value[i].data + value[i].len; p++) {
            if (!(ngx_http_hf_isalnum(*p) || *p == '-' || *p == '.'
                  || (*p == '*' && p == value[i].data && value[i].len > 2
                      && p[1] == '.')))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid hf_redirect_hosts \"%V\": a host "
                                   "name, or \"*.\" and a domain",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        host = ngx_array_push(hlcf->redirect_hosts);
        if (host == NULL) {
            return NGX_CONF_ERROR;
        }

        *host = value[i];
        ngx_strlow(host->data, host->data, host->len);
    }

    return NGX_CONF_OK;
}


/* huggingface.co's CDNs and Xet bridges: cdn-lfs.hf.co, *.xethub.hf.co... */

static ngx_array_t *
ngx_http_hf_default_redirect_hosts(ngx_conf_t *cf)
{
    ngx_str_t    *host;
    ngx_uint_t    i;
    ngx_array_t  *hosts;

    static ngx_str_t  defaults[] = {
        ngx_string("hf.co"),
        ngx_string("*.hf.co"),
        ngx_string("huggingface.co"),
        ngx_string("*.huggingface.co")
    };

    hosts = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
    if (hosts == NULL) {
        return NULL;
    }

    for (i = 0; i < sizeof(defaults) / sizeof(ngx_str_t); i++) {
        host = ngx_array_push(hosts);
        if (host == NULL) {
            return NULL;
        }

        *host = defaults[i];
    }

    return hosts;
}


/*
 * "file:PATH", "env:NAME" or "off".  Read now, so that "nginx -s reload"
 * picks up a rotated token; never printed, not even when it is invalid.
 */

static char *
ngx_http_hf_token(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hf_loc_conf_t *hlcf = conf;

    u_char          *p, *data;
    size_t           len;
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_str_t       *value, source, token;
    ngx_file_t       file;
    ngx_file_info_t  fi;

    if (hlcf->token.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    source = value[1];

    if (source.len == 3 && ngx_strncmp(source.data, "off", 3) == 0) {
        ngx_str_set(&hlcf->token, "");
        return NGX_CONF_OK;
    }

    if (ngx_process == NGX_PROCESS_SIGNALLER) {
        /* "nginx -s reload" only reads the pid file: no token needed */
        ngx_str_set(&hlcf->token, "");
        return NGX_CONF_OK;
    }

    if (source.len > 4 && ngx_strncmp(source.data, "env:", 4) == 0) {
        data = (u_char *) getenv((char *) source.data + 4);

        if (data == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hf_token \"%V\": environment variable "
                               "is not set", &source);
            return NGX_CONF_ERROR;
        }

        token.data = data;
        token.len = ngx_strlen(data);

    } else if (source.len > 5 && ngx_strncmp(source.data, "file:", 5) == 0) {
        token.data = source.data + 5;
        token.len = source.len - 5;

        if (ngx_conf_full_name(cf->cycle, &token, 1) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&file, sizeof(ngx_file_t));
        file.name = token;
        file.log = cf->log;

        fd = ngx_open_file(token.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
        if (fd == NGX_INVALID_FILE) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               "hf_token \"%V\": cannot open the file",
                               &source);
            return NGX_CONF_ERROR;
        }

        file.fd = fd;

        if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR || ngx_file_size(&fi) > 4096)
        {
            ngx_close_file(fd);
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hf_token \"%V\": not a token file "
                               "(over 4096 bytes or unreadable)", &source);
            return NGX_CONF_ERROR;
        }

        len = (size_t) ngx_file_size(&fi);

        data = ngx_pnalloc(cf->pool, len + 1);
        if (data == NULL) {
            ngx_close_file(fd);
            return NGX_CONF_ERROR;
        }

        n = ngx_read_file(&file, data, len, 0);
        ngx_close_file(fd);

        if (n != (ssize_t) len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               "hf_token \"%V\": cannot read the file",
                               &source);
            return NGX_CONF_ERROR;
        }

        /* a trailing newline, as "echo hf_... > file" writes, is fine */

        while (len && (data[len - 1] == '\n' || data[len - 1] == '\r')) {
            len--;
        }

        token.data = data;
        token.len = len;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid hf_token \"%V\": expected "
                           "\"file:PATH\", \"env:NAME\" or \"off\"", &source);
        return NGX_CONF_ERROR;
    }

    if (token.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hf_token \"%V\": the token is empty", &source);
        return NGX_CONF_ERROR;
    }

    for (p = token.data; p < token.data + token.len; p++) {
        if (*p <= ' ' || *p >= 0x7f) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hf_token \"%V\": the token has whitespace "
                               "or control characters", &source);
            return NGX_CONF_ERROR;
        }
    }

    hlcf->token.len = sizeof("Bearer ") - 1 + token.len;
    hlcf->token.data = ngx_pnalloc(cf->pool, hlcf->token.len);
    if (hlcf->token.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(ngx_cpymem(hlcf->token.data, "Bearer ", sizeof("Bearer ") - 1),
               token.data, token.len);

    return NGX_CONF_OK;
}


static char *
ngx_http_hf_metadata(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hf_main_conf_t *hmcf = conf;

    off_t       size;
    ngx_str_t  *value, s;

    if (hmcf->metadata_path.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    hmcf->metadata_path = value[1];
    hmcf->metadata_size = NGX_HTTP_HF_DEFAULT_SIZE;

    if (ngx_conf_full_name(cf->cycle, &hmcf->metadata_path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        if (value[2].len <= 5 || ngx_strncmp(value[2].data, "size=", 5) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" of hf_metadata",
                               &value[2]);
            return NGX_CONF_ERROR;
        }

        s.data = value[2].data + 5;
        s.len = value[2].len - 5;

        size = ngx_parse_offset(&s);

        if (size == NGX_ERROR || size < 1024 * 1024) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid hf_metadata size \"%V\": "
                               "1m at least", &value[2]);
            return NGX_CONF_ERROR;
        }

        hmcf->metadata_size = (size_t) size;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_hf_cache_zone_exists(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_shm_zone_t   *zone;

    part = &cf->cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].tag == &ngx_http_proxy_module
            && zone[i].shm.name.len == name->len
            && ngx_strncmp(zone[i].shm.name.data, name->data, name->len) == 0)
        {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/*
 * Upstream host names (the Hub's, its CDNs') are resolved at run time:
 * without a resolver every request would fail with 502.  An address as
 * hf_remote (tests, a mirror) needs none for the Hub itself.
 */

static void
ngx_http_hf_check_resolver(ngx_conf_t *cf, ngx_http_hf_loc_conf_t *hlcf)
{
    u_char     *p, *host, *end;
    ngx_str_t   name;

    if (hlcf->clcf->resolver && hlcf->clcf->resolver->connections.nelts) {
        return;
    }

    host = ngx_strlchr(hlcf->remote_origin.data,
                       hlcf->remote_origin.data + hlcf->remote_origin.len,
                       '/') + 2;
    end = hlcf->remote_origin.data + hlcf->remote_origin.len;

    p = ngx_strlchr(host, end, ':');
    name.data = host;
    name.len = (p ? p : end) - host;

    if (ngx_inet_addr(name.data, name.len) != INADDR_NONE
        || (name.len && name.data[0] == '['))
    {
        return;
    }

    ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                       "hf_distribution \"%V\": no \"resolver\" for "
                       "\"%V\": the Hub and its CDN hosts cannot be "
                       "resolved, every request to them will fail",
                       &hlcf->name, &name);
}
