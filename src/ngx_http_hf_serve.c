
/*
 * A verified blob, served the way a static file is.  A blob with a record
 * in LMDB is complete and verified, and the proxy_cache entry under its
 * key is immutable (keys name the content): a hit through proxy_cache
 * would cost a subrequest, an upstream set up and the stored headers
 * parsed again, for the same sendfile() at the end.
 *
 * The entry is found as proxy_cache finds it (the md5 of the key in the
 * zone's tree), used only when proxy_cache has opened or written it in
 * this zone (it then knows where the body starts and the file's inode),
 * and moved to the head of the zone's queue, so that "inactive" and
 * "max_size" evict by use as they do for hits.  Anything else (an entry
 * not loaded yet, evicted, being replaced, a file of another size or
 * inode) is declined: the blob fetch through proxy_cache handles it.
 */


#include "ngx_http_hf_serve.h"
#include "ngx_http_hf_blob.h"
#include "ngx_http_hf_util.h"


static ngx_int_t ngx_http_hf_serve_entry(ngx_http_request_t *r,
    ngx_http_file_cache_t *cache, ngx_str_t *key, ngx_str_t *path,
    size_t *body_start, ngx_file_uniq_t *uniq);


ngx_int_t
ngx_http_hf_serve_cached(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    off_t                      start, end;
    size_t                     body_start;
    ngx_int_t                  rc;
    ngx_str_t                  path;
    ngx_buf_t                 *b;
    ngx_chain_t                out;
    ngx_file_uniq_t            uniq;
    ngx_open_file_info_t       of;
    ngx_http_file_cache_t     *cache;
    ngx_http_core_loc_conf_t  *clcf;

    if (ctx->conf->cache_shm == NULL || ctx->conf->cache_unusable) {
        return NGX_DECLINED;
    }

    cache = ctx->conf->cache_shm->data;

    if (cache == NULL || cache->sh == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_http_hf_serve_entry(r, cache, &ctx->cache_key, &path,
                                &body_start, &uniq)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ngx_memzero(&of, sizeof(ngx_open_file_info_t));

    of.read_ahead = clcf->read_ahead;
    of.directio = clcf->directio;
    of.valid = clcf->open_file_cache_valid;
    of.min_uses = clcf->open_file_cache_min_uses;
    of.errors = clcf->open_file_cache_errors;
    of.events = clcf->open_file_cache_events;

    if (ngx_open_cached_file(clcf->open_file_cache, &path, &of, r->pool)
        != NGX_OK)
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, of.err,
                       "hf serve: \"%V\" of \"%V\" cannot be opened",
                       &path, &ctx->cache_key);
        return NGX_DECLINED;
    }

    if (!of.is_file || of.size != (off_t) body_start + ctx->file.size
        || (uniq && of.uniq != uniq))
    {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "hf serve: \"%V\" is not the entry of \"%V\" "
                       "(%O bytes)", &path, &ctx->cache_key, of.size);
        return NGX_DECLINED;
    }

    start = ctx->range ? ctx->range_start : 0;
    end = ctx->range ? ctx->range_end + 1 : ctx->file.size;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->file = ngx_pcalloc(r->pool, sizeof(ngx_file_t));
    if (b->file == NULL) {
        return NGX_ERROR;
    }

    b->file->fd = of.fd;
    b->file->name = path;
    b->file->log = r->connection->log;
    b->file->directio = of.is_directio;

    b->in_file = 1;
    b->file_pos = body_start + start;
    b->file_last = body_start + end;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    b->sync = (b->file_pos == b->file_last);

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf serve: \"%V\" from \"%V\", bytes %O-%O",
                   &ctx->cache_key, &path, start, end);

    ctx->cache_hit = 1;

    rc = ngx_http_hf_blob_send_headers(r, ctx);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * The zone's entry of key, if proxy_cache knows its file: its path, where
 * its body starts, its inode; the entry moves to the head of the queue.
 */

static ngx_int_t
ngx_http_hf_serve_entry(ngx_http_request_t *r, ngx_http_file_cache_t *cache,
    ngx_str_t *key, ngx_str_t *path, size_t *body_start,
    ngx_file_uniq_t *uniq)
{
    u_char                      *p, md5[NGX_HTTP_CACHE_KEY_LEN];
    ngx_int_t                    rc;
    ngx_uint_t                   found;
    ngx_rbtree_key_t             node_key;
    ngx_rbtree_node_t           *node, *sentinel;
    ngx_http_file_cache_node_t  *fcn;

    ngx_http_hf_cache_key_md5(key, md5);

    ngx_memcpy(&node_key, md5, sizeof(ngx_rbtree_key_t));

    found = 0;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = cache->sh->rbtree.root;
    sentinel = cache->sh->rbtree.sentinel;
    fcn = NULL;

    while (node != sentinel) {

        if (node_key != node->key) {
            node = (node_key < node->key) ? node->left : node->right;
            continue;
        }

        fcn = (ngx_http_file_cache_node_t *) node;

        rc = ngx_memcmp(&md5[sizeof(ngx_rbtree_key_t)], fcn->key,
                        NGX_HTTP_CACHE_KEY_LEN - sizeof(ngx_rbtree_key_t));
        if (rc == 0) {
            break;
        }

        node = (rc < 0) ? node->left : node->right;
        fcn = NULL;
    }

    if (fcn && fcn->exists && fcn->body_start && !fcn->updating
        && !fcn->deleting)
    {
        found = 1;
        *body_start = fcn->body_start;
        *uniq = fcn->uniq;

        /* used: evicted last, as a proxy_cache hit would be */

        fcn->uses++;
        fcn->expire = ngx_time() + cache->inactive;
        ngx_queue_remove(&fcn->queue);
        ngx_queue_insert_head(&cache->sh->queue, &fcn->queue);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    if (!found) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "hf serve: no usable entry for \"%V\"", key);
        return NGX_DECLINED;
    }

    /* path/l1/l2/md5hex, as ngx_http_file_cache_name() makes it */

    path->len = cache->path->name.len + 1 + cache->path->len
                + 2 * NGX_HTTP_CACHE_KEY_LEN;
    path->data = ngx_pnalloc(r->pool, path->len + 1);
    if (path->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(path->data, cache->path->name.data, cache->path->name.len);
    p += 1 + cache->path->len;
    p = ngx_hex_dump(p, md5, NGX_HTTP_CACHE_KEY_LEN);
    *p = '\0';

    ngx_create_hashed_filename(cache->path, path->data, path->len);

    return NGX_OK;
}
