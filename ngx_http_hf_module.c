
/*
 * ngx_http_hf_module: a Hugging Face Hub pull-through cache for nginx.
 *
 * This file holds the directives, create/merge, init and the content
 * handler; each concern lives in src/ (docs/architecture.md has the map):
 * conf (a distribution's configuration), path (the URL space), resolve
 * (the /resolve/ state machine), api (the Hub API), hub (reading the
 * Hub's answers), fetch (subrequests through proxy_pass and proxy_cache),
 * blob (bytes through the cache, verified), revision (branches to
 * commits), store (LMDB), verify (hashes), json (jansson), cors, dirs
 * (the workers' directories), log (no token in a log line), util.
 */


#include "ngx_http_hf_module.h"
#include "ngx_http_hf_api.h"
#include "ngx_http_hf_conf.h"
#include "ngx_http_hf_cors.h"
#include "ngx_http_hf_dirs.h"
#include "ngx_http_hf_fetch.h"
#include "ngx_http_hf_fills.h"
#include "ngx_http_hf_log.h"
#include "ngx_http_hf_metrics.h"
#include "ngx_http_hf_path.h"
#include "ngx_http_hf_resolve.h"
#include "ngx_http_hf_store.h"
#include "ngx_http_hf_util.h"
#include "ngx_http_hf_variables.h"


#define NGX_HTTP_HF_DEFAULT_REMOTE  "https://huggingface.co"


static ngx_int_t ngx_http_hf_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_hf_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_hf_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_hf_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_hf_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_hf_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_hf_merge_verify_threads(ngx_conf_t *cf,
    ngx_http_hf_loc_conf_t *prev, ngx_http_hf_loc_conf_t *conf);
static ngx_int_t ngx_http_hf_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_hf_init_process(ngx_cycle_t *cycle);
static void ngx_http_hf_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_hf_distribution(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


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

    { ngx_string("hf_verify_threads"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hf_loc_conf_t, verify_threads),
      NULL },

    { ngx_string("hf_redirect_hosts"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hf_redirect_hosts,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hf_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hf_metrics,
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

    if (rest.len > sizeof(NGX_HTTP_HF_API_PREFIX) - 1
        && ngx_strncmp(rest.data, NGX_HTTP_HF_API_PREFIX,
                       sizeof(NGX_HTTP_HF_API_PREFIX) - 1)
           == 0)
    {
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
    if (ngx_http_hf_variables_add(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hf_fetch_add_variables(cf);
}


static ngx_int_t
ngx_http_hf_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                i;
    ngx_http_hf_loc_conf_t  **dist;
    ngx_http_hf_main_conf_t  *hmcf;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hf_module);

    if (ngx_http_hf_metrics_init(cf, hmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (hmcf->distributions.nelts == 0) {
        return NGX_OK;
    }

    if (ngx_http_hf_fills_init(cf, hmcf) != NGX_OK) {
        return NGX_ERROR;
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

        dist[i]->cache_shm = ngx_http_hf_cache_zone(cf, &dist[i]->cache_zone);

        if (dist[i]->cache_shm == NULL) {
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
     *     hlcf->verify_threads = { 0, NULL };
     *     hlcf->verify_pool = NULL;
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

    if (ngx_http_hf_merge_verify_threads(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

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


/*
 * hf_verify_threads: the thread pool that hashes downloads (see
 * src/ngx_http_hf_hasher.c), nginx's "default" one unless set; "off"
 * hashes them on the event loop.  A pool is added for distributions only.
 */

static char *
ngx_http_hf_merge_verify_threads(ngx_conf_t *cf, ngx_http_hf_loc_conf_t *prev,
    ngx_http_hf_loc_conf_t *conf)
{
#if !(NGX_THREADS)
    ngx_uint_t  set;

    set = (conf->verify_threads.data != NULL
           || prev->verify_threads.data != NULL);
#endif

    ngx_conf_merge_str_value(conf->verify_threads, prev->verify_threads,
                             "default");

    if (conf->name.len == 0
        || (conf->verify_threads.len == sizeof("off") - 1
            && ngx_strncmp(conf->verify_threads.data, "off",
                           sizeof("off") - 1) == 0))
    {
        return NGX_CONF_OK;
    }

#if (NGX_THREADS)

    conf->verify_pool = ngx_thread_pool_add(cf, &conf->verify_threads);
    if (conf->verify_pool == NULL) {
        return NGX_CONF_ERROR;
    }

#else

    if (set) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hf_verify_threads %V\" needs nginx built "
                           "--with-threads", &conf->verify_threads);
        return NGX_CONF_ERROR;
    }

#endif

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

    ngx_http_hf_metrics_init_process(cycle);

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

    return ngx_http_hf_conf_add_locations(cf, hlcf);
}


