
/*
 * Fuzz target: the URL space of a distribution (src/ngx_http_hf_path.c).
 *
 * Input: one byte choosing the distribution's prefix, then the raw request
 * target as a client sends it ("/hf/org/name/resolve/main/a%20b?x=1").
 * It goes the way ngx_http_hf_handler() sends it:
 * ngx_http_hf_request_rest(), then ngx_http_hf_parse_api() for "api/..."
 * or ngx_http_hf_parse_resolve() for the rest. Besides memory errors and
 * undefined behaviour, what an accepted URL must satisfy is checked (the
 * README's "URL space"): a valid repository id, revision and path (no
 * "..", no empty segment, no control character), and for /resolve/, that
 * the URL the cache then asks the Hub (ngx_http_hf_resolve_url()) parses
 * back to the same repository, revision and path.
 */


#include "fuzz_common.h"
#include "ngx_http_hf_path.h"


static ngx_str_t  hf_fuzz_prefixes[] = {
    ngx_string("/hf/"),
    ngx_string("/"),
    ngx_string("/hf-private/x/"),
};


static int
hf_valid_repo_part(u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > NGX_HTTP_HF_MAX_REPO_PART || p[0] == '.'
        || p[0] == '-')
    {
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


static int
hf_valid_repo(ngx_str_t *repo)
{
    u_char  *slash;

    slash = ngx_strlchr(repo->data, repo->data + repo->len, '/');

    if (slash == NULL) {
        return hf_valid_repo_part(repo->data, repo->len);
    }

    return hf_valid_repo_part(repo->data, slash - repo->data)
           && hf_valid_repo_part(slash + 1,
                                 repo->data + repo->len - slash - 1);
}


static int
hf_valid_rev(ngx_str_t *rev)
{
    size_t  i;
    u_char  c;

    if (rev->len == 0 || rev->len > NGX_HTTP_HF_MAX_REV
        || rev->data[0] == '/' || rev->data[rev->len - 1] == '/'
        || rev->data[rev->len] != '\0')
    {
        return 0;
    }

    for (i = 0; i < rev->len; i++) {
        c = rev->data[i];

        if (!(ngx_http_hf_isalnum(c) || c == '-' || c == '_' || c == '.'
              || c == '/' || c == '+' || c == '='))
        {
            return 0;
        }

        if (c == '.' && i + 1 < rev->len && rev->data[i + 1] == '.') {
            return 0;
        }
    }

    return 1;
}


static int
hf_valid_path(ngx_str_t *path)
{
    u_char  *p, *end, *seg;

    if (path->len == 0 || path->len > NGX_HTTP_HF_MAX_PATH) {
        return 0;
    }

    p = path->data;
    end = p + path->len;

    for (seg = p; p <= end; p++) {
        if (p < end && (*p < 0x20 || *p == 0x7f || *p == '\\')) {
            return 0;
        }

        if (p == end || *p == '/') {
            if (p == seg
                || (p - seg == 1 && seg[0] == '.')
                || (p - seg == 2 && seg[0] == '.' && seg[1] == '.'))
            {
                return 0;
            }

            seg = p + 1;
        }
    }

    return 1;
}


static int
hf_is_commit(ngx_str_t *rev)
{
    size_t  i;

    if (rev->len != NGX_HTTP_HF_COMMIT_LEN) {
        return 0;
    }

    for (i = 0; i < rev->len; i++) {
        if (!((rev->data[i] >= '0' && rev->data[i] <= '9')
              || (rev->data[i] >= 'a' && rev->data[i] <= 'f')))
        {
            return 0;
        }
    }

    return 1;
}


static int
hf_inside(ngx_str_t *s, ngx_str_t *in)
{
    return s->data >= in->data && s->data + s->len <= in->data + in->len;
}


static int
hf_str_eq(ngx_str_t *a, ngx_str_t *b)
{
    return a->len == b->len
           && (a->len == 0 || ngx_memcmp(a->data, b->data, a->len) == 0);
}


static void
hf_check_resolve(ngx_pool_t *pool, ngx_str_t *rest, ngx_http_hf_target_t *t)
{
    char                    *reason;
    ngx_str_t                url, rest2;
    ngx_http_hf_target_t     t2;
    ngx_http_hf_loc_conf_t   conf;

    hf_fuzz_assert(t->kind <= NGX_HTTP_HF_KERNEL);
    hf_fuzz_assert(hf_inside(&t->repo, rest));
    hf_fuzz_assert(hf_valid_repo(&t->repo));
    hf_fuzz_assert(hf_valid_rev(&t->rev));
    hf_fuzz_assert(hf_valid_path(&t->path));
    hf_fuzz_assert(t->path.data[t->path.len] == '\0');
    hf_fuzz_assert(t->rev_is_commit == hf_is_commit(&t->rev));

    /* the Hub's URL of the file parses back to the same file */

    ngx_memzero(&conf, sizeof(ngx_http_hf_loc_conf_t));
    ngx_str_set(&conf.remote, "https://hub.invalid/mirror");

    hf_fuzz_assert(ngx_http_hf_resolve_url(pool, &conf, t, &t->rev, &url)
                   == NGX_OK);
    hf_fuzz_assert(url.len > conf.remote.len + 1
                   && ngx_strncmp(url.data, conf.remote.data,
                                  conf.remote.len) == 0
                   && url.data[conf.remote.len] == '/');

    rest2.data = url.data + conf.remote.len + 1;
    rest2.len = url.len - conf.remote.len - 1;

    ngx_memzero(&t2, sizeof(ngx_http_hf_target_t));
    reason = NULL;

    hf_fuzz_assert(ngx_http_hf_parse_resolve(pool, &rest2, &t2, &reason)
                   == NGX_OK);
    hf_fuzz_assert(t2.kind == t->kind);
    hf_fuzz_assert(hf_str_eq(&t2.repo, &t->repo));
    hf_fuzz_assert(hf_str_eq(&t2.rev, &t->rev));
    hf_fuzz_assert(hf_str_eq(&t2.path, &t->path));
}


static void
hf_check_api(ngx_str_t *rest, ngx_http_hf_target_t *t, ngx_pool_t *pool)
{
    ngx_str_t  e, path;
    u_char    *d;
    size_t     i;

    hf_fuzz_assert(t->kind <= NGX_HTTP_HF_KERNEL);
    hf_fuzz_assert(t->api_type.len > 0);
    hf_fuzz_assert(hf_inside(&t->repo, rest));
    hf_fuzz_assert(hf_valid_repo(&t->repo));

    e = t->endpoint;

    if (e.len == 0) {
        /* repository info: of "main" */
        hf_fuzz_assert(t->rev.len == 4
                       && ngx_strncmp(t->rev.data, "main", 4) == 0);
        hf_fuzz_assert(t->api_rest.len == 0);
        return;
    }

    hf_fuzz_assert((e.len == 8 && ngx_strncmp(e.data, "revision", 8) == 0)
                   || (e.len == 4 && ngx_strncmp(e.data, "tree", 4) == 0)
                   || (e.len == 10
                       && ngx_strncmp(e.data, "paths-info", 10) == 0));
    hf_fuzz_assert(hf_valid_rev(&t->rev));
    hf_fuzz_assert(t->rev_is_commit == hf_is_commit(&t->rev));

    if (t->api_rest.len == 0) {
        return;
    }

    /* "/PATH" of a tree, passed on encoded: it decodes to a valid path */

    hf_fuzz_assert(e.len == 4);
    hf_fuzz_assert(hf_inside(&t->api_rest, rest));
    hf_fuzz_assert(t->api_rest.len >= 2 && t->api_rest.data[0] == '/');

    d = ngx_pnalloc(pool, t->api_rest.len);
    hf_fuzz_assert(d != NULL);

    path.data = d;

    for (i = 1; i < t->api_rest.len; i++) {
        if (t->api_rest.data[i] == '%') {
            hf_fuzz_assert(i + 2 < t->api_rest.len);
            *d++ = (u_char) ngx_hextoi(&t->api_rest.data[i + 1], 2);
            i += 2;

        } else {
            *d++ = t->api_rest.data[i];
        }
    }

    path.len = d - path.data;

    hf_fuzz_assert(hf_valid_path(&path));
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                    *reason;
    ngx_int_t                rc;
    ngx_str_t                rest, args;
    ngx_pool_t              *pool;
    ngx_http_request_t       r;
    ngx_http_hf_target_t     t;
    ngx_http_hf_loc_conf_t   conf;

    if (size < 1) {
        return 0;
    }

    pool = hf_fuzz_pool();

    ngx_memzero(&conf, sizeof(ngx_http_hf_loc_conf_t));
    conf.prefix = hf_fuzz_prefixes[data[0] % (sizeof(hf_fuzz_prefixes)
                                              / sizeof(ngx_str_t))];

    ngx_memzero(&r, sizeof(ngx_http_request_t));
    r.pool = pool;
    r.unparsed_uri.len = size - 1;
    r.unparsed_uri.data = hf_fuzz_copy(pool, data + 1, size - 1);

    if (ngx_http_hf_request_rest(&r, &conf, &rest, &args) != NGX_OK) {
        goto done;
    }

    hf_fuzz_assert(hf_inside(&rest, &r.unparsed_uri));
    hf_fuzz_assert(args.len == 0 || hf_inside(&args, &r.unparsed_uri));
    hf_fuzz_assert(ngx_strlchr(rest.data, rest.data + rest.len, '?') == NULL);

    ngx_memzero(&t, sizeof(ngx_http_hf_target_t));
    reason = NULL;

    if (rest.len > 4 && ngx_strncmp(rest.data, "api/", 4) == 0) {
        rc = ngx_http_hf_parse_api(pool, &rest, &t, &reason);

        if (rc == NGX_OK) {
            hf_check_api(&rest, &t, pool);
        }

    } else if (rest.len) {
        rc = ngx_http_hf_parse_resolve(pool, &rest, &t, &reason);

        if (rc == NGX_OK) {
            hf_check_resolve(pool, &rest, &t);
        }

    } else {
        goto done;
    }

    hf_fuzz_assert(rc == NGX_OK || rc == NGX_DECLINED
                   || rc == NGX_HTTP_BAD_REQUEST);
    hf_fuzz_assert(rc != NGX_HTTP_BAD_REQUEST || reason != NULL);

done:

    ngx_destroy_pool(pool);

    return 0;
}
