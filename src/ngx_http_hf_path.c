
/*
 * URL space of a distribution: parsing and validating what clients send,
 * and encoding what is sent to the Hub.
 */


#include "ngx_http_hf_path.h"
#include "ngx_http_hf_util.h"


/* whether the len bytes at p are the literal s */
#define ngx_http_hf_is_segment(p, len, s)                                     \
    ((len) == sizeof(s) - 1 && ngx_strncmp(p, s, sizeof(s) - 1) == 0)


static ngx_int_t ngx_http_hf_unescape(ngx_pool_t *pool, u_char *p,
    size_t len, ngx_str_t *out);
static ngx_uint_t ngx_http_hf_valid_repo_part(u_char *p, size_t len);
static ngx_uint_t ngx_http_hf_valid_rev(ngx_str_t *rev);
static ngx_uint_t ngx_http_hf_valid_path(ngx_str_t *path);


/* by ngx_http_hf_kind_e: in LMDB keys, in $hf_repo_type */

ngx_str_t  ngx_http_hf_kind_names[] = {
    ngx_string("model"),
    ngx_string("dataset"),
    ngx_string("space"),
    ngx_string("kernel")
};


static ngx_str_t  ngx_http_hf_api_types[] = {
    ngx_string("models"),
    ngx_string("datasets"),
    ngx_string("spaces"),
    ngx_string("kernels")
};


static ngx_str_t  ngx_http_hf_kind_prefixes[] = {
    ngx_string(""),
    ngx_string("datasets/"),
    ngx_string("spaces/"),
    ngx_string("kernels/")
};


ngx_int_t
ngx_http_hf_request_rest(ngx_http_request_t *r, ngx_http_hf_loc_conf_t *conf,
    ngx_str_t *rest, ngx_str_t *args)
{
    u_char  *p, *q, *end;

    p = r->unparsed_uri.data;
    end = p + r->unparsed_uri.len;

    q = ngx_strlchr(p, end, '?');

    if (q) {
        args->data = q + 1;
        args->len = end - q - 1;
        end = q;

    } else {
        ngx_str_null(args);
    }

    if ((size_t) (end - p) < conf->prefix.len
        || ngx_strncmp(p, conf->prefix.data, conf->prefix.len) != 0)
    {
        return NGX_DECLINED;
    }

    rest->data = p + conf->prefix.len;
    rest->len = end - rest->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_hf_parse_resolve(ngx_pool_t *pool, ngx_str_t *rest,
    ngx_http_hf_target_t *t, char **reason)
{
    u_char      *p, *end, *seg[4];
    size_t       len[4];
    ngx_uint_t   i, n, kind, repo_parts;

    p = rest->data;
    end = p + rest->len;

    kind = NGX_HTTP_HF_MODEL;

    for (i = 1; i < sizeof(ngx_http_hf_kind_prefixes) / sizeof(ngx_str_t);
         i++)
    {
        if ((size_t) (end - p) > ngx_http_hf_kind_prefixes[i].len
            && ngx_strncmp(p, ngx_http_hf_kind_prefixes[i].data,
                           ngx_http_hf_kind_prefixes[i].len) == 0)
        {
            kind = i;
            p += ngx_http_hf_kind_prefixes[i].len;
            break;
        }
    }

    /* the first four segments: REPO[/NAME]/resolve/REV */

    for (n = 0; n < 4 && p < end; n++) {
        seg[n] = p;

        while (p < end && *p != '/') {
            p++;
        }

        len[n] = p - seg[n];

        if (p < end) {
            p++;
        }
    }

    if (n >= 3 && ngx_http_hf_is_segment(seg[1], len[1], "resolve")) {
        repo_parts = 1;

    } else if (n == 4 && ngx_http_hf_is_segment(seg[2], len[2], "resolve")) {
        repo_parts = 2;

    } else {
        return NGX_DECLINED;
    }

    for (i = 0; i < repo_parts; i++) {
        if (!ngx_http_hf_valid_repo_part(seg[i], len[i])) {
            *reason = "invalid repository id";
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    t->kind = kind;
    t->kind_prefix = ngx_http_hf_kind_prefixes[kind];
    t->repo.data = seg[0];
    t->repo.len = (repo_parts == 1) ? len[0] : (size_t) (seg[1] + len[1]
                                                         - seg[0]);

    /* REV: the segment after "resolve", percent-encoded with no safe chars */

    i = repo_parts + 1;

    if (n <= i || len[i] == 0) {
        *reason = "missing revision";
        return NGX_HTTP_BAD_REQUEST;
    }

    if (repo_parts == 1) {
        /* only three segments were consumed as such; PATH starts after REV */
        p = seg[2] + len[2];

        if (p < end) {
            p++;
        }

    } else if (seg[3] + len[3] == end) {
        p = end;
    }

    if (ngx_http_hf_unescape(pool, seg[i], len[i], &t->rev) != NGX_OK
        || !ngx_http_hf_valid_rev(&t->rev))
    {
        *reason = "invalid revision";
        return NGX_HTTP_BAD_REQUEST;
    }

    t->rev_is_commit = (t->rev.len == NGX_HTTP_HF_COMMIT_LEN
                        && ngx_http_hf_is_hex(t->rev.data, t->rev.len));

    /* PATH: the rest, percent-encoded keeping '/' */

    if (p >= end) {
        *reason = "missing file path";
        return NGX_HTTP_BAD_REQUEST;
    }

    if ((size_t) (end - p) > NGX_HTTP_HF_MAX_PATH * 3) {
        *reason = "file path too long";
        return NGX_HTTP_BAD_REQUEST;
    }

    if (ngx_http_hf_unescape(pool, p, end - p, &t->path) != NGX_OK
        || !ngx_http_hf_valid_path(&t->path))
    {
        *reason = "invalid file path";
        return NGX_HTTP_BAD_REQUEST;
    }

    return NGX_OK;
}


/* the API endpoints the cache serves, after REPO/ */

static ngx_str_t  ngx_http_hf_api_endpoints[] = {
    ngx_null_string,                    /* NGX_HTTP_HF_ENDPOINT_INFO */
    ngx_string("revision"),
    ngx_string("tree"),
    ngx_string("paths-info")
};


static ngx_uint_t
ngx_http_hf_api_endpoint(u_char *p, size_t len)
{
    ngx_uint_t  i;

    for (i = NGX_HTTP_HF_ENDPOINT_REVISION;
         i < sizeof(ngx_http_hf_api_endpoints) / sizeof(ngx_str_t);
         i++)
    {
        if (len == ngx_http_hf_api_endpoints[i].len
            && ngx_strncmp(p, ngx_http_hf_api_endpoints[i].data, len) == 0)
        {
            return i;
        }
    }

    return NGX_HTTP_HF_ENDPOINT_INFO;
}


ngx_int_t
ngx_http_hf_parse_api(ngx_pool_t *pool, ngx_str_t *rest,
    ngx_http_hf_target_t *t, char **reason)
{
    u_char      *p, *end, *seg[5];
    size_t       len[5];
    ngx_str_t    path;
    ngx_uint_t   i, n, kind, e;

    p = rest->data + sizeof(NGX_HTTP_HF_API_PREFIX) - 1;
    end = rest->data + rest->len;

    /* TYPE, then up to four segments: REPO[/NAME]/ENDPOINT/REV */

    for (n = 0; n < 5 && p < end; n++) {
        seg[n] = p;

        while (p < end && *p != '/') {
            p++;
        }

        len[n] = p - seg[n];

        if (n < 4 && p < end) {
            p++;
        }
    }

    if (n < 2) {
        return NGX_DECLINED;
    }

    for (kind = 0; kind < sizeof(ngx_http_hf_api_types) / sizeof(ngx_str_t);
         kind++)
    {
        if (ngx_http_hf_api_types[kind].len == len[0]
            && ngx_strncmp(ngx_http_hf_api_types[kind].data, seg[0], len[0])
               == 0)
        {
            break;
        }
    }

    if (kind == sizeof(ngx_http_hf_api_types) / sizeof(ngx_str_t)) {
        return NGX_DECLINED;
    }

    t->kind = kind;
    t->kind_prefix = ngx_http_hf_kind_prefixes[kind];
    t->api_type = ngx_http_hf_api_types[kind];
    ngx_str_null(&t->endpoint);
    ngx_str_null(&t->api_rest);
    ngx_str_set(&t->rev, "main");

    if (n >= 4 && ngx_http_hf_api_endpoint(seg[2], len[2])) {
        e = 2;

    } else if (n == 5 && ngx_http_hf_api_endpoint(seg[3], len[3])) {
        e = 3;

    } else if (n <= 3 && (n == 2 || !ngx_http_hf_api_endpoint(seg[2], len[2]))
               && (n == 2 || seg[2] + len[2] == end))
    {
        e = 0;      /* repository info: REPO or ORG/NAME */

    } else {
        return NGX_DECLINED;
    }

    n = (e == 0) ? n - 1 : e - 1;

    for (i = 1; i <= n; i++) {
        if (!ngx_http_hf_valid_repo_part(seg[i], len[i])) {
            *reason = "invalid repository id";
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    t->repo.data = seg[1];
    t->repo.len = seg[n] + len[n] - seg[1];

    if (e == 0) {
        t->rev_is_commit = 0;
        return NGX_OK;
    }

    t->endpoint.data = seg[e];
    t->endpoint.len = len[e];
    t->endpoint_id = ngx_http_hf_api_endpoint(seg[e], len[e]);

    if (len[e + 1] == 0
        || ngx_http_hf_unescape(pool, seg[e + 1], len[e + 1], &t->rev)
           != NGX_OK
        || !ngx_http_hf_valid_rev(&t->rev))
    {
        *reason = "invalid revision";
        return NGX_HTTP_BAD_REQUEST;
    }

    t->rev_is_commit = (t->rev.len == NGX_HTTP_HF_COMMIT_LEN
                        && ngx_http_hf_is_hex(t->rev.data, t->rev.len));

    /* a tree's PATH is passed on as the client encoded it */

    p = seg[e + 1] + len[e + 1];

    if (p < end) {
        if (t->endpoint_id != NGX_HTTP_HF_ENDPOINT_TREE || end - p < 2) {
            *reason = "unexpected path";
            return NGX_HTTP_BAD_REQUEST;
        }

        if (ngx_http_hf_unescape(pool, p + 1, end - p - 1, &path) != NGX_OK
            || !ngx_http_hf_valid_path(&path))
        {
            *reason = "invalid path";
            return NGX_HTTP_BAD_REQUEST;
        }

        t->api_rest.data = p;
        t->api_rest.len = end - p;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hf_resolve_url(ngx_pool_t *pool, ngx_http_hf_loc_conf_t *conf,
    ngx_http_hf_target_t *t, ngx_str_t *rev, ngx_str_t *url)
{
    u_char  *p;
    size_t   len;

    len = conf->remote.len + 1 + t->kind_prefix.len + t->repo.len
          + sizeof("/resolve/") - 1 + ngx_http_hf_escaped_len(rev, 0)
          + 1 + ngx_http_hf_escaped_len(&t->path, 1)
          + (t->args.len ? 1 + t->args.len : 0);

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    url->data = p;

    p = ngx_cpymem(p, conf->remote.data, conf->remote.len);
    *p++ = '/';
    p = ngx_cpymem(p, t->kind_prefix.data, t->kind_prefix.len);
    p = ngx_cpymem(p, t->repo.data, t->repo.len);
    p = ngx_cpymem(p, "/resolve/", sizeof("/resolve/") - 1);
    p = ngx_http_hf_escape(p, rev, 0);
    *p++ = '/';
    p = ngx_http_hf_escape(p, &t->path, 1);

    if (t->args.len) {
        *p++ = '?';
        p = ngx_cpymem(p, t->args.data, t->args.len);
    }

    url->len = p - url->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hf_unescape(ngx_pool_t *pool, u_char *p, size_t len, ngx_str_t *out)
{
    u_char  *d, *end, c, hi, lo;

    d = ngx_pnalloc(pool, len + 1);
    if (d == NULL) {
        return NGX_ERROR;
    }

    out->data = d;
    end = p + len;

    while (p < end) {
        c = *p++;

        if (c == '%') {
            if (end - p < 2) {
                return NGX_DECLINED;
            }

            hi = (u_char) ngx_hextoi(p, 1);
            lo = (u_char) ngx_hextoi(p + 1, 1);

            if (hi > 15 || lo > 15) {
                return NGX_DECLINED;
            }

            c = (u_char) (hi << 4 | lo);
            p += 2;
        }

        /* NUL, controls and DEL never name a file on the Hub */

        if (c < 0x20 || c == 0x7f) {
            return NGX_DECLINED;
        }

        *d++ = c;
    }

    out->len = d - out->data;
    *d = '\0';

    return NGX_OK;
}


static ngx_uint_t
ngx_http_hf_valid_repo_part(u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > NGX_HTTP_HF_MAX_REPO_PART) {
        return 0;
    }

    if (p[0] == '.' || p[0] == '-') {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!(ngx_http_hf_isalnum(p[i]) || p[i] == '-' || p[i] == '_'
              || p[i] == '.'))
        {
            return 0;
        }
    }

    return 1;
}


static ngx_uint_t
ngx_http_hf_valid_rev(ngx_str_t *rev)
{
    size_t   i;
    u_char  *p;

    if (rev->len == 0 || rev->len > NGX_HTTP_HF_MAX_REV) {
        return 0;
    }

    p = rev->data;

    for (i = 0; i < rev->len; i++) {
        if (!(ngx_http_hf_isalnum(p[i]) || p[i] == '-' || p[i] == '_'
              || p[i] == '.' || p[i] == '/' || p[i] == '+' || p[i] == '='))
        {
            return 0;
        }

        if (p[i] == '.' && i + 1 < rev->len && p[i + 1] == '.') {
            return 0;
        }
    }

    return p[0] != '/' && p[rev->len - 1] != '/';
}


static ngx_uint_t
ngx_http_hf_valid_path(ngx_str_t *path)
{
    u_char  *p, *end, *seg;

    if (path->len == 0 || path->len > NGX_HTTP_HF_MAX_PATH) {
        return 0;
    }

    p = path->data;
    end = p + path->len;

    /* no empty, "." or ".." segment, no backslash */

    while (p <= end) {
        seg = p;

        while (p < end && *p != '/') {
            if (*p == '\\') {
                return 0;
            }

            p++;
        }

        if (p == seg
            || (p - seg == 1 && seg[0] == '.')
            || (p - seg == 2 && seg[0] == '.' && seg[1] == '.'))
        {
            return 0;
        }

        p++;
    }

    return 1;
}


/* like Python's urllib.parse.quote(): unreserved characters stay */

static ngx_inline ngx_uint_t
ngx_http_hf_unreserved(u_char c, ngx_uint_t keep_slash)
{
    return ngx_http_hf_isalnum(c) || c == '-' || c == '_' || c == '.'
           || c == '~' || (keep_slash && c == '/');
}


size_t
ngx_http_hf_escaped_len(ngx_str_t *src, ngx_uint_t keep_slash)
{
    size_t  i, len;

    len = 0;

    for (i = 0; i < src->len; i++) {
        len += ngx_http_hf_unreserved(src->data[i], keep_slash) ? 1 : 3;
    }

    return len;
}


u_char *
ngx_http_hf_escape(u_char *dst, ngx_str_t *src, ngx_uint_t keep_slash)
{
    size_t          i;
    u_char          c;
    static u_char   hex[] = "0123456789ABCDEF";

    for (i = 0; i < src->len; i++) {
        c = src->data[i];

        if (ngx_http_hf_unreserved(c, keep_slash)) {
            *dst++ = c;

        } else {
            *dst++ = '%';
            *dst++ = hex[c >> 4];
            *dst++ = hex[c & 0xf];
        }
    }

    return dst;
}
