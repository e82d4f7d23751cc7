
/*
 * Verification of what is cached: sha256 for LFS/Xet files, the git blob
 * sha1 for regular files.  The hash lives as long as the request pool, so
 * a request that ends early never leaks it.
 */


#include "ngx_http_hf_verify.h"

#include <openssl/evp.h>


static void ngx_http_hf_verify_cleanup(void *data);


void *
ngx_http_hf_verify_start(ngx_pool_t *pool, ngx_uint_t lfs, off_t size)
{
    void                *md;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    md = ngx_http_hf_verify_new(lfs, size);
    if (md == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_hf_verify_cleanup;
    cln->data = md;

    return md;
}


void *
ngx_http_hf_verify_new(ngx_uint_t lfs, off_t size)
{
    u_char       header[NGX_OFF_T_LEN + sizeof("blob ")], *p;
    EVP_MD_CTX  *md;

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return NULL;
    }

    if (EVP_DigestInit_ex(md, lfs ? EVP_sha256() : EVP_sha1(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return NULL;
    }

    if (!lfs) {
        /* git hashes "blob <size>\0" followed by the content */
        p = ngx_sprintf(header, "blob %O", size);
        *p++ = '\0';

        if (EVP_DigestUpdate(md, header, p - header) != 1) {
            EVP_MD_CTX_free(md);
            return NULL;
        }
    }

    return md;
}


void
ngx_http_hf_verify_free(void *md)
{
    EVP_MD_CTX_free(md);
}


ngx_int_t
ngx_http_hf_verify_update(void *md, u_char *p, size_t len)
{
    return EVP_DigestUpdate(md, p, len) == 1 ? NGX_OK : NGX_ERROR;
}


ngx_int_t
ngx_http_hf_verify_finish(void *md, u_char *hex)
{
    u_char        digest[EVP_MAX_MD_SIZE];
    unsigned int  len;

    if (EVP_DigestFinal_ex(md, digest, &len) != 1) {
        return NGX_ERROR;
    }

    ngx_hex_dump(hex, digest, len);
    hex[2 * len] = '\0';

    return NGX_OK;
}


/* computed, not written out: the same code that verifies every file */

ngx_uint_t
ngx_http_hf_verify_empty(ngx_pool_t *pool, u_char *etag, ngx_uint_t lfs)
{
    u_char   hex[NGX_HTTP_HF_SHA256_LEN + 1];
    void    *md;

    md = ngx_http_hf_verify_start(pool, lfs, 0);

    if (md == NULL || ngx_http_hf_verify_finish(md, hex) != NGX_OK) {
        return 0;
    }

    return ngx_strcmp(hex, etag) == 0;
}


static void
ngx_http_hf_verify_cleanup(void *data)
{
    ngx_http_hf_verify_free(data);
}
