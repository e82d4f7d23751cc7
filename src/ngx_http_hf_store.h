
/*
 * The metadata store: what is cached, in LMDB.
 *
 *   revisions  DIST \t KIND \t REPO \t REV          -> commit, resolved at
 *   files      DIST \t KIND \t REPO \t COMMIT \t PATH -> size, etag, type,
 *                                                     cache key, served, hits
 *   blobs      CACHE KEY                            -> size, verified at
 *
 * A blob record is the only proof that the bytes under a cache key were
 * verified against their hash; without one, cached bytes are not served.
 */


#ifndef _NGX_HTTP_HF_STORE_H_INCLUDED_
#define _NGX_HTTP_HF_STORE_H_INCLUDED_


#include "ngx_http_hf_module.h"


typedef struct {
    time_t                      stored;
    time_t                      first_served;
    time_t                      last_served;
    uint64_t                    hits;
} ngx_http_hf_file_stats_t;


/* in the master, at every configuration load: create and check */
ngx_int_t ngx_http_hf_store_create(ngx_cycle_t *cycle, ngx_str_t *path,
    size_t size);

/* in each worker, after fork */
ngx_http_hf_store_t *ngx_http_hf_store_open(ngx_cycle_t *cycle,
    ngx_str_t *path, size_t size);
void ngx_http_hf_store_close(ngx_http_hf_store_t *store);

/* the worker's store, for a request: NULL when it could not be opened */
ngx_http_hf_store_t *ngx_http_hf_store(ngx_http_request_t *r);

/* lookups between begin and end share one read transaction */
ngx_int_t ngx_http_hf_store_begin(ngx_http_hf_store_t *store);
void ngx_http_hf_store_end(ngx_http_hf_store_t *store);

ngx_int_t ngx_http_hf_store_get_revision(ngx_http_hf_store_t *store,
    ngx_str_t *key, u_char *commit, time_t *resolved);
ngx_int_t ngx_http_hf_store_put_revision(ngx_http_hf_store_t *store,
    ngx_str_t *key, u_char *commit);

ngx_int_t ngx_http_hf_store_get_file(ngx_http_hf_store_t *store,
    ngx_str_t *key, ngx_pool_t *pool, ngx_http_hf_file_t *file,
    ngx_http_hf_file_stats_t *stats);
ngx_int_t ngx_http_hf_store_put_file(ngx_http_hf_store_t *store,
    ngx_str_t *key, ngx_http_hf_file_t *file, ngx_str_t *cache_key);

ngx_int_t ngx_http_hf_store_get_blob(ngx_http_hf_store_t *store,
    ngx_str_t *cache_key, off_t size);
ngx_int_t ngx_http_hf_store_put_blob(ngx_http_hf_store_t *store,
    ngx_str_t *cache_key, off_t size);

/* the size of the map, what of it is used, the records of each kind */
typedef struct {
    size_t                      map_size;
    size_t                      used;
    size_t                      revisions;
    size_t                      files;
    size_t                      blobs;
} ngx_http_hf_store_usage_t;

ngx_int_t ngx_http_hf_store_usage(ngx_http_hf_store_t *store,
    ngx_http_hf_store_usage_t *usage);

/* counts a file served; written in batches, not on the request path */
void ngx_http_hf_store_hit(ngx_http_hf_store_t *store, ngx_str_t *key);


#endif /* _NGX_HTTP_HF_STORE_H_INCLUDED_ */
