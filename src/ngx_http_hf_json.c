
/*
 * Hub API answers: JSON rewritten with jansson so that no Xet metadata
 * reaches a client.
 */


#include "ngx_http_hf_json.h"

#include <jansson.h>


#define NGX_HTTP_HF_JSON_DEPTH  64


static void ngx_http_hf_json_strip(json_t *json, ngx_uint_t depth);


ngx_int_t
ngx_http_hf_json_strip_xet(ngx_pool_t *pool, ngx_log_t *log, u_char *data,
    size_t len, ngx_str_t *out)
{
    json_t        *json;
    json_error_t   error;

    json = json_loadb((char *) data, len, JSON_DECODE_ANY|JSON_ALLOW_NUL,
                      &error);
    if (json == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "hf: the Hub's answer is not JSON: %s at %d",
                      error.text, error.position);
        return NGX_DECLINED;
    }

    ngx_http_hf_json_strip(json, 0);

    return ngx_http_hf_json_dump(pool, json, JSON_COMPACT|JSON_ENCODE_ANY,
                                 out);
}


static void
ngx_http_hf_json_strip(json_t *json, ngx_uint_t depth)
{
    void        *tmp;
    size_t       i;
    json_t      *value;
    const char  *key;

    if (depth > NGX_HTTP_HF_JSON_DEPTH) {
        return;
    }

    if (json_is_array(json)) {
        json_array_foreach(json, i, value) {
            ngx_http_hf_json_strip(value, depth + 1);
        }

        return;
    }

    if (!json_is_object(json)) {
        return;
    }

    json_object_foreach_safe(json, tmp, key, value) {

        if (ngx_strncasecmp((u_char *) key, (u_char *) "xet",
                            sizeof("xet") - 1)
            == 0)
        {
            json_object_del(json, key);
            continue;
        }

        ngx_http_hf_json_strip(value, depth + 1);
    }
}


ngx_int_t
ngx_http_hf_json_commit(u_char *data, size_t len, u_char *commit)
{
    json_t      *json, *sha;
    ngx_int_t    rc;
    const char  *s;

    json = json_loadb((char *) data, len, 0, NULL);
    if (json == NULL) {
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;
    sha = json_object_get(json, "sha");
    s = json_string_value(sha);

    if (s && json_string_length(sha) == NGX_HTTP_HF_COMMIT_LEN
        && ngx_http_hf_is_hex((u_char *) s, NGX_HTTP_HF_COMMIT_LEN))
    {
        ngx_memcpy(commit, s, NGX_HTTP_HF_COMMIT_LEN);
        commit[NGX_HTTP_HF_COMMIT_LEN] = '\0';
        rc = NGX_OK;
    }

    json_decref(json);

    return rc;
}


/* {"error": message}, escaped as JSON, into out (allocated from pool) */

ngx_int_t
ngx_http_hf_json_error(ngx_pool_t *pool, ngx_str_t *message, ngx_str_t *out)
{
    json_t  *body;

    body = json_pack("{s:s%}", "error", message->data, message->len);
    if (body == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_hf_json_dump(pool, body, JSON_COMPACT, out);
}


/* json as text in pool memory; json is released */

ngx_int_t
ngx_http_hf_json_dump(ngx_pool_t *pool, json_t *json, size_t flags,
    ngx_str_t *out)
{
    char  *text;

    text = json_dumps(json, flags);
    json_decref(json);

    if (text == NULL) {
        return NGX_ERROR;
    }

    out->len = ngx_strlen(text);
    out->data = ngx_pnalloc(pool, out->len);

    if (out->data == NULL) {
        free(text);
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, text, out->len);
    free(text);

    return NGX_OK;
}
