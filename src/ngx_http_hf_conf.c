
/*
 * The configuration of a distribution: parsing hf_remote, hf_token,
 * hf_metadata and hf_redirect_hosts, its internal locations (the proxy
 * settings its fetches use), and the checks made at load time.
 */


#include "ngx_http_hf_conf.h"


#define NGX_HTTP_HF_DEFAULT_SIZE    (1024 * 1024 * 1024)

/* a client behind a live download waits for it, however long it takes */
#define NGX_HTTP_HF_LOCK_WAIT       (7 * 24 * 3600 * 1000)


/* proxy_cache_path zones carry the proxy module's tag */
extern ngx_module_t  ngx_http_proxy_module;


static char *ngx_http_hf_add_fetch_location(ngx_conf_t *cf,
    ngx_http_core_loc_conf_t *pclcf, const char *suffix, const char *text,
    void ***loc_conf);


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


/* the three internal locations of a distribution */

char *
ngx_http_hf_conf_add_locations(ngx_conf_t *cf, ngx_http_hf_loc_conf_t *hlcf)
{
    if (ngx_http_hf_add_fetch_location(cf, hlcf->clcf,
                                       NGX_HTTP_HF_META_LOCATION,
                                       ngx_http_hf_meta_location, NULL)
        != NGX_CONF_OK
        || ngx_http_hf_add_fetch_location(cf, hlcf->clcf,
                                          NGX_HTTP_HF_API_LOCATION,
                                          ngx_http_hf_api_location, NULL)
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    return ngx_http_hf_add_fetch_location(cf, hlcf->clcf,
                                          NGX_HTTP_HF_BLOB_LOCATION,
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

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, cf->log, 0,
                   "hf conf: internal location \"= %V\"", &clcf->name);

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


char *
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

char *
ngx_http_hf_parse_remote(ngx_conf_t *cf, ngx_http_hf_loc_conf_t *hlcf)
{
    u_char     *p, *host, *end;
    ngx_str_t  *url;

    url = &hlcf->remote;

    while (url->len && url->data[url->len - 1] == '/') {
        url->len--;
    }

    if (url->len > sizeof("http://") - 1
        && ngx_strncasecmp(url->data, (u_char *) "http://",
                           sizeof("http://") - 1)
           == 0)
    {
        host = url->data + sizeof("http://") - 1;

    } else if (url->len > sizeof("https://") - 1
               && ngx_strncasecmp(url->data, (u_char *) "https://",
                                  sizeof("https://") - 1)
                  == 0)
    {
        host = url->data + sizeof("https://") - 1;

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
 * "file:PATH", "env:NAME" or "off".  Read now, so that "nginx -s reload"
 * picks up a rotated token; never printed, not even when it is invalid.
 */

char *
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

    if (source.len == sizeof("off") - 1
        && ngx_strncmp(source.data, "off", sizeof("off") - 1) == 0)
    {
        ngx_str_set(&hlcf->token, "");
        return NGX_CONF_OK;
    }

    if (ngx_process == NGX_PROCESS_SIGNALLER) {
        /* "nginx -s reload" only reads the pid file: no token needed */
        ngx_str_set(&hlcf->token, "");
        return NGX_CONF_OK;
    }

    if (source.len > sizeof("env:") - 1
        && ngx_strncmp(source.data, "env:", sizeof("env:") - 1) == 0)
    {
        data = (u_char *) getenv((char *) source.data + sizeof("env:") - 1);

        if (data == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hf_token \"%V\": environment variable "
                               "is not set", &source);
            return NGX_CONF_ERROR;
        }

        token.data = data;
        token.len = ngx_strlen(data);

    } else if (source.len > sizeof("file:") - 1
               && ngx_strncmp(source.data, "file:", sizeof("file:") - 1) == 0)
    {
        token.data = source.data + sizeof("file:") - 1;
        token.len = source.len - (sizeof("file:") - 1);

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


char *
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
        if (value[2].len <= sizeof("size=") - 1
            || ngx_strncmp(value[2].data, "size=", sizeof("size=") - 1) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" of hf_metadata",
                               &value[2]);
            return NGX_CONF_ERROR;
        }

        s.data = value[2].data + sizeof("size=") - 1;
        s.len = value[2].len - (sizeof("size=") - 1);

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


/*
 * hf_redirect_hosts NAME|*.DOMAIN ...: where the Hub's redirects may lead
 * besides the remote's own host (see ngx_http_hf_redirect_allowed()).
 */

char *
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

ngx_array_t *
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

void
ngx_http_hf_set_fill_timeout(ngx_http_hf_loc_conf_t *hlcf)
{
    ngx_http_upstream_conf_t  *ucf;

    ucf = hlcf->blob_loc_conf[ngx_http_proxy_module.ctx_index];

    ucf->cache_lock_age = hlcf->fill_timeout;
    ucf->cache_lock_timeout = NGX_HTTP_HF_LOCK_WAIT;
}


ngx_shm_zone_t *
ngx_http_hf_cache_zone(ngx_conf_t *cf, ngx_str_t *name)
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
            return &zone[i];
        }
    }

    return NULL;
}


/*
 * Upstream host names (the Hub's, its CDNs') are resolved at run time:
 * without a resolver every request would fail with 502.  An address as
 * hf_remote (tests, a mirror) needs none for the Hub itself.
 */

void
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
