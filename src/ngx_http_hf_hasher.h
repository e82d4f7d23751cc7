
/*
 * Hashing a download on another core: what the proxy pipe has written to
 * its temporary file is read back and hashed by tasks in a thread pool,
 * behind the writer; the end is hashed by the worker (see the .c file).
 */


#ifndef _NGX_HTTP_HF_HASHER_H_INCLUDED_
#define _NGX_HTTP_HF_HASHER_H_INCLUDED_


#include "ngx_http_hf_module.h"


#if (NGX_THREADS)

typedef struct ngx_http_hf_hasher_s  ngx_http_hf_hasher_t;

/* smaller downloads are hashed by the worker: not worth a task */
#define NGX_HTTP_HF_HASH_IN_POOL  (1024 * 1024)


/*
 * A hasher for the body of a file of "size" bytes that the pipe writes to
 * tf from offset "base" on (after the cache header); NULL on failure.
 * It lives as long as r, or as long as a task of it still runs.
 */
ngx_http_hf_hasher_t *ngx_http_hf_hasher_create(ngx_http_request_t *r,
    ngx_thread_pool_t *tp, ngx_uint_t lfs, off_t size, ngx_temp_file_t *tf,
    off_t base);

/* hands what is written and not hashed yet to the pool, if none runs */
void ngx_http_hf_hasher_feed(ngx_http_hf_hasher_t *h);

/*
 * All bytes are in: the written ones in tf, the rest in "unwritten" (the
 * pipe's bufs in memory).  Hashes what is left, here, and writes the
 * digest to hex; *hashed is how many body bytes went through the hash.
 */
ngx_int_t ngx_http_hf_hasher_finish(ngx_http_hf_hasher_t *h,
    ngx_chain_t *unwritten, u_char *hex, off_t *hashed);

#endif


#endif /* _NGX_HTTP_HF_HASHER_H_INCLUDED_ */
