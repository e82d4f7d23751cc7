
/*
 * Verification of what is cached: sha256 for LFS/Xet files, the git blob
 * sha1 ("blob <size>\0" + content) for regular files, computed while the
 * bytes stream from upstream.
 */


#ifndef _NGX_HTTP_HF_VERIFY_H_INCLUDED_
#define _NGX_HTTP_HF_VERIFY_H_INCLUDED_


#include "ngx_http_hf_module.h"


/*
 * Starts a hash for a file of "size" bytes; NULL on failure.  A cleanup
 * of pool frees the hash, whether or not it was finished.
 */
void *ngx_http_hf_verify_start(ngx_pool_t *pool, ngx_uint_t lfs, off_t size);

/* the same, for an owner that frees it (verify_free), in any thread */
void *ngx_http_hf_verify_new(ngx_uint_t lfs, off_t size);
void ngx_http_hf_verify_free(void *md);

ngx_int_t ngx_http_hf_verify_update(void *md, u_char *p, size_t len);

/* writes the lower-case hex digest to hex (65 bytes); md is not freed */
ngx_int_t ngx_http_hf_verify_finish(void *md, u_char *hex);

/* whether etag (hex) is the hash of no bytes at all: an empty file */
ngx_uint_t ngx_http_hf_verify_empty(ngx_pool_t *pool, u_char *etag,
    ngx_uint_t lfs);


#endif /* _NGX_HTTP_HF_VERIFY_H_INCLUDED_ */
