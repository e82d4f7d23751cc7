
/*
 * Small helpers every concern uses: answers in the Hub's own shape,
 * header lookup, hex and ETag values, the Range header.
 */


#ifndef _NGX_HTTP_HF_UTIL_H_INCLUDED_
#define _NGX_HTTP_HF_UTIL_H_INCLUDED_


#include "ngx_http_hf_module.h"


/* header names the module reads or writes, with their lengths */
#define NGX_HTTP_HF_HEADER(name)  (name), (sizeof(name) - 1)

#define NGX_HTTP_HF_X_REPO_COMMIT     "X-Repo-Commit"
#define NGX_HTTP_HF_X_ERROR_CODE      "X-Error-Code"
#define NGX_HTTP_HF_X_ERROR_MESSAGE   "X-Error-Message"
#define NGX_HTTP_HF_X_LINKED_ETAG     "X-Linked-Etag"
#define NGX_HTTP_HF_X_LINKED_SIZE     "X-Linked-Size"


/* adds a response header; name must outlive the request (a literal) */
ngx_int_t ngx_http_hf_add_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value, ngx_table_elt_t **out);

/*
 * An answer in the Hub's shape: status, X-Error-Code, X-Error-Message,
 * X-Repo-Commit, a JSON body {"error": ...} (none for a 3xx).
 */
ngx_int_t ngx_http_hf_send_error(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *code, ngx_str_t *message, u_char *commit);

/* a header in a list (headers_in, upstream headers), or NULL */
ngx_table_elt_t *ngx_http_hf_find_header(ngx_list_t *headers,
    const char *name, size_t len);

/* strips W/ and quotes of an ETag into lower-case hex; NGX_ERROR if odd */
ngx_int_t ngx_http_hf_etag_hex(ngx_str_t *value, u_char *buf, size_t len,
    size_t *n);

/* the md5 of a proxy_cache key, as nginx names its entry and file */
void ngx_http_hf_cache_key_md5(ngx_str_t *key, u_char *md5);

/*
 * Whether a worker process of this nginx still runs: shared memory names
 * its pid (one of another user answers EPERM, and runs).
 */
ngx_uint_t ngx_http_hf_pid_alive(ngx_pid_t pid);

/* a found variable's value, which lives as long as the request */
void ngx_http_hf_variable_set(ngx_http_variable_value_t *v, u_char *data,
    size_t len, ngx_uint_t no_cacheable);

/*
 * Runs the client request's state machine (ctx->run) again, when what it
 * waited for is there, and finalizes the request unless it waits again.
 */
void ngx_http_hf_run(ngx_http_request_t *r);

/* adds the variables of a list that ends with ngx_http_null_variable */
ngx_int_t ngx_http_hf_add_variables(ngx_conf_t *cf,
    ngx_http_variable_t *vars);

/* one Range of a file of size bytes (see the .c file) */
ngx_int_t ngx_http_hf_parse_range(ngx_str_t *value, off_t size,
    off_t *first, off_t *last_byte, ngx_uint_t *to_end);


#endif /* _NGX_HTTP_HF_UTIL_H_INCLUDED_ */
