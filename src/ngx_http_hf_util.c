
/*
 * Small helpers every concern uses: answers in the Hub's own shape,
 * header lookup, hex and ETag values, the Range header.  No request
 * state: each takes what it works on.
 */


#include "ngx_http_hf_util.h"
#include "ngx_http_hf_json.h"

#include <ngx_md5.h>


static void ngx_http_hf_status_text(ngx_uint_t status, ngx_str_t *text);


ngx_int_t
ngx_http_hf_send_error(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *code, ngx_str_t *message, u_char *commit)
{
    size_t        len;
    ngx_int_t     rc;
    ngx_str_t     value, json;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;

    if (code && ngx_http_hf_add_header(r, "X-Error-Code", code, NULL)
                != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (message && ngx_http_hf_add_header(r, "X-Error-Message", message, NULL)
                   != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (commit) {
        value.data = commit;
        value.len = NGX_HTTP_HF_COMMIT_LEN;

        if (ngx_http_hf_add_header(r, "X-Repo-Commit", &value, NULL)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (status < NGX_HTTP_BAD_REQUEST) {
        /* a redirect: no body */
        r->header_only = 1;
        r->headers_out.content_length_n = 0;
        return ngx_http_send_header(r);
    }

    if (message == NULL) {
        ngx_http_hf_status_text(status, &value);
        message = &value;
    }

    if (ngx_http_hf_json_error(r->pool, message, &json) != NGX_OK) {
        return NGX_ERROR;
    }

    len = json.len;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = json.data;
    b->last = json.data + json.len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = len;
    r->allow_ranges = 0;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_hf_add_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value, ngx_table_elt_t **out)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value = *value;

    if (out) {
        *out = h;
    }

    return NGX_OK;
}


static void
ngx_http_hf_status_text(ngx_uint_t status, ngx_str_t *text)
{
    switch (status) {

    case NGX_HTTP_BAD_REQUEST:
        ngx_str_set(text, "Bad request");
        break;

    case NGX_HTTP_NOT_FOUND:
        ngx_str_set(text, "Not found");
        break;

    case NGX_HTTP_NOT_ALLOWED:
        ngx_str_set(text, "Method not allowed");
        break;

    case NGX_HTTP_RANGE_NOT_SATISFIABLE:
        ngx_str_set(text, "Requested range not satisfiable");
        break;

    case NGX_HTTP_GATEWAY_TIME_OUT:
        ngx_str_set(text, "The Hub did not answer in time");
        break;

    case NGX_HTTP_BAD_GATEWAY:
        ngx_str_set(text, "The Hub could not be reached or answered wrongly");
        break;

    default:
        ngx_str_set(text, "Error");
    }
}


ngx_table_elt_t *
ngx_http_hf_find_header(ngx_list_t *headers, const char *name, size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &headers->part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }

    return NULL;
}


ngx_int_t
ngx_http_hf_etag_hex(ngx_str_t *value, u_char *buf, size_t len, size_t *n)
{
    u_char  *p, *end;

    p = value->data;
    end = p + value->len;

    if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
        p += 2;
    }

    if (end - p >= 2 && p[0] == '"' && end[-1] == '"') {
        p++;
        end--;
    }

    if ((size_t) (end - p) > len) {
        return NGX_ERROR;
    }

    *n = end - p;
    ngx_strlow(buf, p, *n);

    if (!ngx_http_hf_is_hex(buf, *n)) {
        return NGX_ERROR;
    }

    buf[*n] = '\0';

    return NGX_OK;
}


/*
 * One range "bytes=a-b", "bytes=a-" or "bytes=-n" of a file of "size"
 * bytes, as nginx's range filter reads it: NGX_OK with the first and last
 * byte (*to_end: "bytes=a-", what a resume sends); NGX_DECLINED for none,
 * several or a malformed one (the whole file);
 * NGX_HTTP_RANGE_NOT_SATISFIABLE.
 */

ngx_int_t
ngx_http_hf_parse_range(ngx_str_t *value, off_t size, off_t *first,
    off_t *last_byte, ngx_uint_t *to_end)
{
    off_t        start, end;
    u_char      *p, *last;
    ngx_uint_t   suffix;

    if (value->len < sizeof("bytes=") || ngx_strncasecmp(value->data,
                                             (u_char *) "bytes=", 6) != 0)
    {
        return NGX_DECLINED;
    }

    p = value->data + 6;
    last = value->data + value->len;

    while (p < last && *p == ' ') {
        p++;
    }

    start = 0;
    end = -1;
    suffix = 0;

    if (p < last && *p == '-') {
        suffix = 1;
        p++;

    } else {
        if (p == last || *p < '0' || *p > '9') {
            return NGX_DECLINED;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            if (start >= NGX_MAX_OFF_T_VALUE / 10) {
                return NGX_DECLINED;
            }

            start = start * 10 + (*p++ - '0');
        }

        while (p < last && *p == ' ') {
            p++;
        }

        if (p == last || *p++ != '-') {
            return NGX_DECLINED;
        }
    }

    while (p < last && *p == ' ') {
        p++;
    }

    if (p < last && *p >= '0' && *p <= '9') {
        end = 0;

        while (p < last && *p >= '0' && *p <= '9') {
            if (end >= NGX_MAX_OFF_T_VALUE / 10) {
                return NGX_DECLINED;
            }

            end = end * 10 + (*p++ - '0');
        }

    } else if (suffix) {
        return NGX_DECLINED;
    }

    while (p < last && *p == ' ') {
        p++;
    }

    if (p != last) {
        /* several ranges, or garbage: the whole file */
        return NGX_DECLINED;
    }

    *to_end = (!suffix && end == -1);

    if (suffix) {
        start = (end < size) ? size - end : 0;
        end = size - 1;

        if (start > end) {
            return NGX_HTTP_RANGE_NOT_SATISFIABLE;
        }

    } else {
        if (end != -1 && start > end) {
            return NGX_DECLINED;
        }

        if (start >= size) {
            return NGX_HTTP_RANGE_NOT_SATISFIABLE;
        }

        if (end == -1 || end >= size) {
            end = size - 1;
        }
    }

    *first = start;
    *last_byte = end;

    return NGX_OK;
}


ngx_int_t
ngx_http_hf_add_variables(ngx_conf_t *cf, ngx_http_variable_t *vars)
{
    ngx_http_variable_t  *var, *v;

    for (v = vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


ngx_uint_t
ngx_http_hf_pid_alive(ngx_pid_t pid)
{
    /* followers ask at every step: their own worker needs no system call */

    return pid == ngx_pid || kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH;
}


void
ngx_http_hf_cache_key_md5(ngx_str_t *key, u_char *md5)
{
    ngx_md5_t  ctx;

    ngx_md5_init(&ctx);
    ngx_md5_update(&ctx, key->data, key->len);
    ngx_md5_final(md5, &ctx);
}


void
ngx_http_hf_variable_set(ngx_http_variable_value_t *v, u_char *data,
    size_t len, ngx_uint_t no_cacheable)
{
    v->data = data;
    v->len = len;
    v->valid = 1;
    v->no_cacheable = no_cacheable;
    v->not_found = 0;
}


void
ngx_http_hf_run(ngx_http_request_t *r)
{
    ngx_int_t           rc;
    ngx_http_hf_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hf_module);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf run: state %ui", ctx->state);

    rc = ctx->run(r, ctx);

    if (rc == NGX_DONE) {
        return;
    }

    ngx_http_finalize_request(r, rc);
}
