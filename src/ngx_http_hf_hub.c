
/*
 * Reading the Hub's answers, for /resolve/ and the API alike: what an
 * answer is (the file, a redirect to follow, a rename, an error, the Hub
 * unavailable), where its redirects may lead, and the client's answer
 * when the Hub's is an error: its codes and rate limit headers passed on,
 * renamed repositories under the prefix, 502/504, warnings that do not
 * flood the log.
 */


#include "ngx_http_hf_hub.h"
#include "ngx_http_hf_fetch.h"
#include "ngx_http_hf_path.h"
#include "ngx_http_hf_util.h"


static ngx_uint_t ngx_http_hf_hub_transient(ngx_http_request_t *sr,
    ngx_http_hf_fetch_t *f);
static ngx_int_t ngx_http_hf_hub_path(ngx_http_hf_loc_conf_t *conf,
    ngx_str_t *location, ngx_str_t *path);
static ngx_uint_t ngx_http_hf_is_resolve_cache(ngx_http_hf_loc_conf_t *conf,
    ngx_str_t *path);
static ngx_int_t ngx_http_hf_renamed_location(ngx_http_request_t *r,
    ngx_http_hf_loc_conf_t *conf, ngx_http_hf_target_t *t, ngx_str_t *asked,
    ngx_str_t *location, ngx_str_t *out);
static ngx_int_t ngx_http_hf_redirect_allowed(ngx_http_request_t *r,
    ngx_http_hf_loc_conf_t *conf, ngx_str_t *url, const char **why);


ngx_int_t
ngx_http_hf_hub_fetch(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_http_hf_fetch_t *f, ngx_uint_t state)
{
    f->request = ctx;
    f->transient = ngx_http_hf_hub_transient;
    f->resume = ngx_http_hf_run;

    if (ngx_http_hf_fetch_start(r, &ctx->conf->prefix, f) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!f->background) {
        ctx->fetch = f;
        ctx->fetches++;
        ctx->state = state;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf hub: state %ui, waiting for \"%V\"", state, &f->url);

    return NGX_DONE;
}


/*
 * A file the commit does not have: the Hub says so with a 404 and
 * X-Error-Code: EntryNotFound (any other 404 is about the repository,
 * the revision or the token, which may change).
 */

ngx_uint_t
ngx_http_hf_hub_entry_missing(ngx_http_hf_fetch_t *f)
{
    ngx_table_elt_t  *code;

    static ngx_str_t  entry_not_found = ngx_string("EntryNotFound");

    if (ngx_http_hf_fetch_status(f) != NGX_HTTP_NOT_FOUND) {
        return 0;
    }

    code = ngx_http_hf_fetch_header(f,
                            NGX_HTTP_HF_HEADER(NGX_HTTP_HF_X_ERROR_CODE));

    return code != NULL && code->value.len == entry_not_found.len
           && ngx_strncmp(code->value.data, entry_not_found.data,
                          entry_not_found.len) == 0;
}


/*
 * An answer at a commit is kept for good (proxy_cache_valid 200 404): a
 * 404 only when it says EntryNotFound, which a commit cannot change
 * (transformers asks for a tree path that is absent on every load).
 * Any other 404 (a repository, a token) may change: not kept.
 */

static ngx_uint_t
ngx_http_hf_hub_transient(ngx_http_request_t *sr, ngx_http_hf_fetch_t *f)
{
    return ngx_http_hf_fetch_status(f) == NGX_HTTP_NOT_FOUND
           && !ngx_http_hf_hub_entry_missing(f);
}


/*
 * What an answer of the Hub is, for /resolve/ and the API alike:
 *
 *   OK           200: the metadata or the answer asked;
 *   FOLLOW       a redirect to /api/resolve-cache/ on the Hub itself (a
 *                regular file since July 2025): path is where;
 *   RENAMED      a redirect to another path of the Hub: a renamed
 *                repository, for the client to follow under the prefix;
 *   AWAY         a redirect to another host: an LFS/Xet file's CDN URL;
 *   ERROR        4xx: passed on, as the Hub's clients read them;
 *   UNAVAILABLE  429, 5xx or no answer: what is cached is served, else
 *                the client gets the 429 (it backs off), 502 or 504;
 *   BAD          anything else (a 3xx without Location, a 204...).
 */

ngx_http_hf_hub_e
ngx_http_hf_hub_read(ngx_http_hf_loc_conf_t *conf, ngx_http_hf_fetch_t *f,
    ngx_int_t *status, ngx_str_t *path)
{
    ngx_table_elt_t  *location;

    *status = ngx_http_hf_fetch_status(f);

    if (*status == 0 || *status >= NGX_HTTP_INTERNAL_SERVER_ERROR
        || *status == NGX_HTTP_TOO_MANY_REQUESTS)
    {
        return NGX_HTTP_HF_HUB_UNAVAILABLE;
    }

    if (*status >= NGX_HTTP_BAD_REQUEST) {
        return NGX_HTTP_HF_HUB_ERROR;
    }

    if (*status == NGX_HTTP_OK) {
        return NGX_HTTP_HF_HUB_OK;
    }

    location = f->sr->upstream->headers_in.location;

    if (*status < NGX_HTTP_MOVED_PERMANENTLY || location == NULL) {
        return NGX_HTTP_HF_HUB_BAD;
    }

    if (ngx_http_hf_hub_path(conf, &location->value, path) != NGX_OK) {
        return NGX_HTTP_HF_HUB_AWAY;
    }

    return ngx_http_hf_is_resolve_cache(conf, path) ? NGX_HTTP_HF_HUB_FOLLOW
                                                    : NGX_HTTP_HF_HUB_RENAMED;
}


/*
 * The client's answer when the Hub's is not the one asked for: an error
 * passed on, a renamed repository's redirect, 429/502/504 when the Hub is
 * unavailable and nothing cached could stand in.
 */

ngx_int_t
ngx_http_hf_hub_send(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_http_hf_hub_e answer, ngx_int_t status)
{
    ngx_str_t            *what;
    ngx_http_hf_fetch_t  *f;

    f = ctx->fetch;
    what = ctx->target.path.len ? &ctx->target.path : &r->uri;

    switch (answer) {

    case NGX_HTTP_HF_HUB_ERROR:
        return ngx_http_hf_send_hub_error(r, f, status);

    case NGX_HTTP_HF_HUB_RENAMED:
        return ngx_http_hf_send_renamed(r, ctx, status,
                                        &f->sr->upstream->headers_in.location
                                        ->value);

    case NGX_HTTP_HF_HUB_UNAVAILABLE:

        if (status == NGX_HTTP_TOO_MANY_REQUESTS) {
            /* passed on with the Hub's RateLimit headers: clients back off */
            return ngx_http_hf_send_hub_error(r, f, status);
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: hub unreachable (%i) for \"%V\" of \"%V\" and "
                      "nothing cached", status ? status : f->status, what,
                      &ctx->target.repo);

        return ngx_http_hf_send_hub_failed(r, f, status);

    default: /* NGX_HTTP_HF_HUB_BAD, an unexpected OK/FOLLOW/AWAY */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: unexpected answer %i from \"%V\"", status,
                      &f->url);
        return ngx_http_hf_send_error(r, NGX_HTTP_BAD_GATEWAY, NULL, NULL,
                                      NULL);
    }
}


/*
 * A Location of the Hub pointing at the Hub itself (relative, or absolute
 * on the remote's origin): *path is its path on that origin, from "/",
 * query included.  NGX_DECLINED when it points at another host.
 */

static ngx_int_t
ngx_http_hf_hub_path(ngx_http_hf_loc_conf_t *conf, ngx_str_t *location,
    ngx_str_t *path)
{
    *path = *location;

    /* absolute on the Hub's own origin, or relative to it */

    if (path->len > conf->remote_origin.len
        && ngx_strncmp(path->data, conf->remote_origin.data,
                       conf->remote_origin.len) == 0
        && path->data[conf->remote_origin.len] == '/')
    {
        path->data += conf->remote_origin.len;
        path->len -= conf->remote_origin.len;
    }

    /* "//host/..." is another host, whatever the remote's path */

    if (path->len < 2 || path->data[0] != '/' || path->data[1] == '/'
        || path->len <= conf->remote_path.len + 1
        || ngx_strncmp(path->data, conf->remote_path.data,
                       conf->remote_path.len) != 0
        || path->data[conf->remote_path.len] != '/')
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* a path of ngx_http_hf_hub_path() under /api/resolve-cache/ */

static ngx_uint_t
ngx_http_hf_is_resolve_cache(ngx_http_hf_loc_conf_t *conf, ngx_str_t *path)
{
    static u_char  api[] = "/api/resolve-cache/";

    return path->len > conf->remote_path.len + sizeof(api) - 1
           && ngx_strncmp(path->data + conf->remote_path.len, api,
                          sizeof(api) - 1) == 0;
}


/*
 * The Hub moved a renamed repository: it redirects what was asked (the
 * "asked" URL) to the same path under the new name.  The client is sent
 * to its own URL with the new name, so that it asks again for what it
 * asked (a tree, repository info with its query, a file at a branch),
 * not for what the cache happened to ask the Hub.
 */

static ngx_int_t
ngx_http_hf_renamed_location(ngx_http_request_t *r,
    ngx_http_hf_loc_conf_t *conf, ngx_http_hf_target_t *t, ngx_str_t *asked,
    ngx_str_t *location, ngx_str_t *out)
{
    u_char     *p;
    size_t      head, repo_at;
    ngx_str_t   hub, ask, tail, repo, rest, args;

    if (ngx_http_hf_hub_path(conf, location, &hub) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (ngx_http_hf_request_rest(r, conf, &rest, &args) != NGX_OK
        || asked->len <= conf->remote_origin.len)
    {
        goto verbatim;
    }

    p = ngx_strlchr(hub.data, hub.data + hub.len, '?');
    if (p) {
        hub.len = p - hub.data;
    }

    /* the asked URL is the remote's: its path on the origin, as hub's */

    ask.data = asked->data + conf->remote_origin.len;
    ask.len = asked->len - conf->remote_origin.len;

    p = ngx_strlchr(ask.data, ask.data + ask.len, '?');
    if (p) {
        ask.len = p - ask.data;
    }

    /* where the repository id is: "/api/models/" or "/datasets/" before it */

    if (t->api_type.len) {
        repo_at = sizeof("api//") - 1 + t->api_type.len;

    } else {
        repo_at = t->kind_prefix.len;
    }

    head = conf->remote_path.len + 1 + repo_at;

    if (ask.len < head + t->repo.len
        || ngx_strncmp(ask.data + head, t->repo.data, t->repo.len) != 0
        || rest.len < repo_at + t->repo.len
        || ngx_strncmp(rest.data + repo_at, t->repo.data, t->repo.len) != 0)
    {
        goto verbatim;
    }

    tail.data = ask.data + head + t->repo.len;
    tail.len = ask.len - head - t->repo.len;

    if (hub.len <= head + tail.len
        || ngx_strncmp(hub.data, ask.data, head) != 0
        || ngx_strncmp(hub.data + hub.len - tail.len, tail.data, tail.len)
           != 0)
    {
        goto verbatim;
    }

    repo.data = hub.data + head;
    repo.len = hub.len - head - tail.len;

    for (p = repo.data; p < repo.data + repo.len; p++) {
        if (!ngx_http_hf_isalnum(*p)
            && *p != '-' && *p != '_' && *p != '.' && *p != '/')
        {
            goto verbatim;
        }
    }

    out->len = conf->prefix.len + rest.len - t->repo.len + repo.len
               + (args.len ? 1 + args.len : 0);
    out->data = ngx_pnalloc(r->pool, out->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(out->data, conf->prefix.data, conf->prefix.len);
    p = ngx_cpymem(p, rest.data, repo_at);
    p = ngx_cpymem(p, repo.data, repo.len);
    p = ngx_cpymem(p, rest.data + repo_at + t->repo.len,
                   rest.len - repo_at - t->repo.len);

    if (args.len) {
        *p++ = '?';
        p = ngx_cpymem(p, args.data, args.len);
    }

    out->len = p - out->data;

    return NGX_OK;

verbatim:

    /* another shape of URL: the Hub's own path, under the prefix */

    hub = *location;
    (void) ngx_http_hf_hub_path(conf, location, &hub);

    hub.data += conf->remote_path.len + 1;
    hub.len -= conf->remote_path.len + 1;

    out->len = conf->prefix.len + hub.len;
    out->data = ngx_pnalloc(r->pool, out->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(out->data, conf->prefix.data, conf->prefix.len),
               hub.data, hub.len);

    return NGX_OK;
}


/*
 * A redirect of the Hub is followed only to the remote's own host or to a
 * host of hf_redirect_hosts ("name", or "*.domain" for any name under it),
 * and never back to this server: anything else would let an answer of
 * the Hub (or of whatever answers in its name) send the worker to
 * loopback services, private addresses, or into a loop on its own lock.
 */

static ngx_int_t
ngx_http_hf_redirect_allowed(ngx_http_request_t *r,
    ngx_http_hf_loc_conf_t *conf, ngx_str_t *url, const char **why)
{
    u_char      *p, *end, *host, *colon, *remote_host, *remote_end;
    size_t       len, n;
    ngx_str_t   *pattern, local, server;
    ngx_uint_t   i, port, allowed;
    u_char       text[NGX_SOCKADDR_STRLEN];

    end = url->data + url->len;

    if (url->len > 7 && ngx_strncasecmp(url->data, (u_char *) "http://", 7)
                        == 0)
    {
        host = url->data + 7;
        port = 80;

    } else if (url->len > 8
               && ngx_strncasecmp(url->data, (u_char *) "https://", 8) == 0)
    {
        host = url->data + 8;
        port = 443;

    } else {
        *why = "not an http(s) URL";
        return NGX_DECLINED;
    }

    for (p = host; p < end && *p != '/' && *p != '?' && *p != '#'; p++) {
        if (*p == '@' || *p == '\\' || *p <= ' ') {
            *why = "an odd authority";
            return NGX_DECLINED;
        }
    }

    /* host[:port], "[v6]" kept whole */

    colon = NULL;

    for (end = p, p = host; p < end; p++) {
        if (*p == ']') {
            colon = NULL;

        } else if (*p == ':') {
            colon = p;
        }
    }

    len = (colon ? colon : end) - host;

    if (len == 0) {
        *why = "no host";
        return NGX_DECLINED;
    }

    if (colon) {
        port = ngx_atoi(colon + 1, end - colon - 1);

        if (port == (ngx_uint_t) NGX_ERROR || port == 0 || port > 65535) {
            *why = "a bad port";
            return NGX_DECLINED;
        }
    }

    /* the remote's own host, whatever its port */

    remote_host = conf->remote_origin.data
                  + ((conf->remote_origin.data[4] == 's') ? 8 : 7);
    remote_end = conf->remote_origin.data + conf->remote_origin.len;

    for (p = remote_end; p > remote_host; p--) {
        if (p[-1] == ':') {
            remote_end = p - 1;
            break;
        }

        if (p[-1] == ']') {
            break;
        }
    }

    allowed = ((size_t) (remote_end - remote_host) == len
               && ngx_strncasecmp(host, remote_host, len) == 0);

    if (!allowed && conf->redirect_hosts) {
        pattern = conf->redirect_hosts->elts;

        for (i = 0; i < conf->redirect_hosts->nelts; i++) {
            n = pattern[i].len;

            if (n > 2 && pattern[i].data[0] == '*') {
                /* "*.domain": a name under it, longer than ".domain" */
                n--;

                if (len > n
                    && ngx_strncasecmp(host + len - n, pattern[i].data + 1, n)
                       == 0)
                {
                    allowed = 1;
                    break;
                }

            } else if (n == len && ngx_strncasecmp(host, pattern[i].data, n)
                                   == 0)
            {
                allowed = 1;
                break;
            }
        }
    }

    if (!allowed) {
        *why = "a host not in hf_redirect_hosts";
        return NGX_DECLINED;
    }

    /* this server: its address or its name, on the port it listens on */

    if (ngx_connection_local_sockaddr(r->connection, NULL, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    if (port != ngx_inet_get_port(r->connection->local_sockaddr)) {
        return NGX_OK;
    }

    local.data = text;
    local.len = ngx_sock_ntop(r->connection->local_sockaddr,
                              r->connection->local_socklen, text,
                              NGX_SOCKADDR_STRLEN, 0);

    server = r->headers_in.server;

    if ((local.len == len && ngx_strncasecmp(host, local.data, len) == 0)
        || (server.len == len && ngx_strncasecmp(host, server.data, len) == 0)
        || (len == 9 && ngx_strncasecmp(host, (u_char *) "localhost", 9) == 0))
    {
        *why = "this server itself";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * A Location of the Hub as a URL to fetch: relative ones on the remote's
 * origin; where it may lead is checked (hf_redirect_hosts).  NGX_DECLINED
 * is logged here.
 */

ngx_int_t
ngx_http_hf_hub_redirect_url(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_str_t *location, ngx_str_t *url, ngx_uint_t *own)
{
    ngx_str_t                path;

    ngx_int_t                rc;
    const char              *why;
    ngx_http_hf_loc_conf_t  *conf;

    conf = ctx->conf;

    if (location->len && location->data[0] == '/') {
        url->len = conf->remote_origin.len + location->len;
        url->data = ngx_pnalloc(r->pool, url->len);
        if (url->data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(ngx_cpymem(url->data, conf->remote_origin.data,
                              conf->remote_origin.len),
                   location->data, location->len);

    } else {
        *url = *location;
    }

    /* the Hub's own origin: the server token goes there too */
    *own = (ngx_http_hf_hub_path(conf, location, &path) == NGX_OK);

    why = "";
    rc = ngx_http_hf_redirect_allowed(r, conf, url, &why);

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: redirect of \"%V\" of \"%V\" to \"%V\" refused: "
                      "%s", &ctx->target.path, &ctx->target.repo, url, why);
    }

    return rc;
}


/*
 * An error of the Hub, passed on the way its clients read them: the error
 * code and message, the commit, and the rate limit headers a client backs
 * off by.  A 401 without X-Error-Code is the Hub's answer to an anonymous
 * request for a missing or private repository; huggingface_hub reads it
 * as RepositoryNotFoundError only from an https:// endpoint, so the cache,
 * often on http://, names it RepoNotFound.  A rejected token is left as
 * the Hub said it.
 */

ngx_int_t
ngx_http_hf_send_hub_error(ngx_http_request_t *r, ngx_http_hf_fetch_t *f,
    ngx_int_t status)
{
    u_char           *commit;
    ngx_str_t        *code_value, *message_value;
    ngx_uint_t        i;
    ngx_table_elt_t  *code, *message, *h;

    static ngx_str_t  repo_not_found = ngx_string("RepoNotFound");
    static ngx_str_t  bad_token =
        ngx_string("Invalid credentials in Authorization header");

    static ngx_str_t  rate_limit_headers[] = {
        ngx_string("RateLimit"),
        ngx_string("RateLimit-Policy"),
        ngx_string("Retry-After")
    };

    code = ngx_http_hf_fetch_header(f,
                            NGX_HTTP_HF_HEADER(NGX_HTTP_HF_X_ERROR_CODE));
    message = ngx_http_hf_fetch_header(f,
                            NGX_HTTP_HF_HEADER(NGX_HTTP_HF_X_ERROR_MESSAGE));
    h = ngx_http_hf_fetch_header(f,
                            NGX_HTTP_HF_HEADER(NGX_HTTP_HF_X_REPO_COMMIT));

    code_value = code ? &code->value : NULL;
    message_value = message ? &message->value : NULL;

    if (status == NGX_HTTP_UNAUTHORIZED && code == NULL
        && !(message && message->value.len == bad_token.len
             && ngx_strncmp(message->value.data, bad_token.data,
                            bad_token.len) == 0))
    {
        code_value = &repo_not_found;
    }

    commit = NULL;

    if (h && ngx_http_hf_is_commit(&h->value)) {
        commit = h->value.data;
    }

    for (i = 0; i < sizeof(rate_limit_headers) / sizeof(ngx_str_t); i++) {
        h = ngx_http_hf_fetch_header(f, (char *) rate_limit_headers[i].data,
                                     rate_limit_headers[i].len);

        if (h && ngx_http_hf_add_header(r, (char *) rate_limit_headers[i].data,
                                        &h->value, NULL)
                 != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (status == NGX_HTTP_TOO_MANY_REQUESTS && ngx_http_hf_log_once(r)) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "hf: the hub rate-limits the cache (429) for \"%V\" "
                      "and nothing is cached: 429 passed on", &f->url);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf: hub error %i passed on for \"%V\"", status, &f->url);

    f->request->hub_answer = 1;

    return ngx_http_hf_send_error(r, status, code_value, message_value,
                                  commit);
}


/*
 * The Hub failed (a 5xx of its own, status; or no answer, 0) and nothing
 * is cached: 504 when it did not answer in time, else 502.  Clients fall
 * back to their own cache on either.
 */

ngx_int_t
ngx_http_hf_send_hub_failed(ngx_http_request_t *r, ngx_http_hf_fetch_t *f,
    ngx_int_t status)
{
    if (status == 0) {
        status = f->status;
    }

    return ngx_http_hf_send_error(r, status == NGX_HTTP_GATEWAY_TIME_OUT
                                     ? NGX_HTTP_GATEWAY_TIME_OUT
                                     : NGX_HTTP_BAD_GATEWAY,
                                  NULL, NULL, NULL);
}


/* a renamed repository: the client asks again, under the new name */

ngx_int_t
ngx_http_hf_send_renamed(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_int_t status, ngx_str_t *location)
{
    ngx_int_t  rc;
    ngx_str_t  value;

    rc = ngx_http_hf_renamed_location(r, ctx->conf, &ctx->target,
                                      &ctx->fetch->url, location, &value);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hf: redirect outside the hub from \"%V\": \"%V\"",
                      &ctx->fetch->url, location);
        return ngx_http_hf_send_error(r, NGX_HTTP_BAD_GATEWAY, NULL, NULL,
                                      NULL);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf: \"%V\" renamed: \"%V\"", &ctx->target.repo, &value);

    /* a plain header: nginx would make r->headers_out.location absolute */

    if (ngx_http_hf_add_header(r, "Location", &value, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hf_send_error(r, status, NULL, NULL, NULL);
}


/*
 * Serving what is cached while the Hub cannot answer (down, or rate
 * limiting the cache) is normal operation for a cache: logged at warn,
 * at most once a second per worker, so that a rate limit does not flood
 * the log.
 */

void
ngx_http_hf_log_stale(ngx_http_request_t *r, ngx_int_t status,
    ngx_str_t *repo, ngx_str_t *what, u_char *commit)
{
    if (!ngx_http_hf_log_once(r)) {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "hf: hub unreachable (%i), \"%V\" at %s", status,
                       what, commit);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "hf: hub %s (%i) for \"%V\", serving \"%V\" at last "
                  "known commit %s",
                  status == NGX_HTTP_TOO_MANY_REQUESTS ? "rate-limits the cache"
                                                       : "unreachable",
                  status, repo, what, commit);
}


/* one warning a second per worker for what may happen on every request */

ngx_uint_t
ngx_http_hf_log_once(ngx_http_request_t *r)
{
    static time_t  last;

    if (last == ngx_time()) {
        return 0;
    }

    last = ngx_time();

    return 1;
}
