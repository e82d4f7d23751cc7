
/*
 * The records of the metadata store, as they are in LMDB.  Plain C, no
 * nginx types: tools/hf-meta.c reads them too.  A record of another
 * version is treated as missing.
 */


#ifndef _NGX_HTTP_HF_RECORDS_H_INCLUDED_
#define _NGX_HTTP_HF_RECORDS_H_INCLUDED_


#include <stdint.h>


#define NGX_HTTP_HF_STORE_VERSION     1
#define NGX_HTTP_HF_REC_COMMIT        40
#define NGX_HTTP_HF_REC_ETAG          65        /* 64 hex and a NUL */
#define NGX_HTTP_HF_MAX_CACHE_KEY     160
#define NGX_HTTP_HF_MAX_CONTENT_TYPE  128

#define NGX_HTTP_HF_REC_LFS           0x01      /* etag is a sha256 */
#define NGX_HTTP_HF_REC_MISSING       0x02      /* the Hub said EntryNotFound */


/* revisions: DIST \t KIND \t REPO \t REV */

typedef struct {
    uint32_t                    version;
    unsigned char               commit[NGX_HTTP_HF_REC_COMMIT];
    int64_t                     resolved;
} ngx_http_hf_revision_rec_t;


/* files: DIST \t KIND \t REPO \t COMMIT \t PATH */

typedef struct {
    uint32_t                    version;
    uint32_t                    flags;
    uint64_t                    size;
    int64_t                     stored;
    int64_t                     first_served;
    int64_t                     last_served;
    uint64_t                    hits;
    unsigned char               etag[NGX_HTTP_HF_REC_ETAG];
    unsigned char               content_type[NGX_HTTP_HF_MAX_CONTENT_TYPE];
    unsigned char               cache_key[NGX_HTTP_HF_MAX_CACHE_KEY];
} ngx_http_hf_file_rec_t;


/* blobs: CACHE KEY */

typedef struct {
    uint32_t                    version;
    uint32_t                    reserved;
    uint64_t                    size;
    int64_t                     verified;
} ngx_http_hf_blob_rec_t;


#endif /* _NGX_HTTP_HF_RECORDS_H_INCLUDED_ */
