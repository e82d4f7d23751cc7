
/*
 * Downloads in progress, in a shared memory zone ("hf_fills") of fixed
 * slots.  A slot is claimed under the zone's mutex by the first request
 * for an uncached blob; its worker then writes the slot alone (the file,
 * the bytes written, the end) and other workers only read it.  A slot
 * names its claimant's pid: the download of a worker that died is seen
 * as failed.  Each claim bumps the slot's generation, so that a follower
 * notices when its slot went to another download.
 *
 * A slot also holds what the claimant learnt of its file from the Hub
 * (size, etag, type), under the md5 of the file's LMDB key: a GET of the
 * same file at the same commit that arrives while the download runs
 * follows it without asking the Hub again (the file at a commit never
 * changes), so that a fan-in costs one metadata request, not one per
 * client.
 */


#include "ngx_http_hf_fills.h"
#include "ngx_http_hf_util.h"


#define NGX_HTTP_HF_FILLS_ZONE   "hf_fills"
#define NGX_HTTP_HF_FILLS        256
#define NGX_HTTP_HF_FILL_PATH    512
#define NGX_HTTP_HF_FILL_REUSE   10     /* s before an ended slot is reused */
#define NGX_HTTP_HF_FILL_TYPE    128    /* a longer Content-Type: no memo */
#define NGX_HTTP_HF_FILL_WAKE    (256 * 1024)  /* bytes between wake-ups */

/* claimed, and not ended: a download or a question (if its worker lives) */
#define ngx_http_hf_fill_busy(state)                                          \
    ((state) == NGX_HTTP_HF_FILL_STARTING                                     \
     || (state) == NGX_HTTP_HF_FILL_RUNNING                                   \
     || (state) == NGX_HTTP_HF_FILL_ASKING)

/* ngx_http_hf_fill_new() could not allocate */
#define NGX_HTTP_HF_FILL_ERROR   ((ngx_http_hf_fill_t *) -1)


typedef struct {
    ngx_atomic_t                state;
    ngx_atomic_t                generation;
    ngx_atomic_t                pid;
    ngx_atomic_t                written;
    ngx_atomic_t                body_start;
    ngx_atomic_t                progress;
    u_char                      key[NGX_HTTP_CACHE_KEY_LEN];
    u_char                      path[NGX_HTTP_HF_FILL_PATH];

    /* the file at a commit, as the claimant's metadata request found it */
    u_char                      file_key[NGX_HTTP_CACHE_KEY_LEN];
    off_t                       size;
    ngx_uint_t                  flags;
    u_char                      etag[NGX_HTTP_HF_SHA256_LEN + 1];
    size_t                      type_len;
    u_char                      type[NGX_HTTP_HF_FILL_TYPE];
    unsigned                    has_file:1;
} ngx_http_hf_fill_slot_t;


typedef struct {
    ngx_http_hf_fill_slot_t     slots[NGX_HTTP_HF_FILLS];
} ngx_http_hf_fills_sh_t;


struct ngx_http_hf_fill_s {
    ngx_http_hf_fill_slot_t    *slot;
    ngx_atomic_uint_t           generation;
    ngx_slab_pool_t            *shpool;
    ngx_log_t                  *log;          /* the claimant's connection */
    off_t                       woken;        /* written, at the last wake */
    unsigned                    claimant:1;
};


/* this worker's followers that wait for each slot to change */
static ngx_queue_t  ngx_http_hf_fill_waiters[NGX_HTTP_HF_FILLS];


static ngx_int_t ngx_http_hf_fills_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_uint_t ngx_http_hf_fill_live(ngx_http_request_t *r,
    ngx_http_hf_fill_slot_t *slot, ngx_uint_t i);
static ngx_http_hf_fill_slot_t *ngx_http_hf_fill_search(ngx_http_request_t *r,
    ngx_http_hf_fills_sh_t *sh, u_char *key, ngx_uint_t by_file,
    ngx_http_hf_fill_slot_t **free);
static ngx_http_hf_fill_t *ngx_http_hf_fill_new(ngx_http_request_t *r);
static void ngx_http_hf_fill_end(ngx_http_hf_fill_t *fill,
    ngx_http_hf_fill_state_e state);
static ngx_queue_t *ngx_http_hf_fill_waiters_of(ngx_http_hf_fill_t *fill);
static void ngx_http_hf_fill_wake(ngx_http_hf_fill_t *fill);
static void ngx_http_hf_fill_release(void *data);
static void ngx_http_hf_fill_set_file(ngx_http_hf_fill_slot_t *slot,
    ngx_http_hf_ctx_t *ctx);


ngx_int_t
ngx_http_hf_fills_init(ngx_conf_t *cf, ngx_http_hf_main_conf_t *hmcf)
{
    ngx_str_t        name;
    ngx_shm_zone_t  *zone;

    if (hmcf->distributions.nelts == 0) {
        return NGX_OK;
    }

    ngx_str_set(&name, NGX_HTTP_HF_FILLS_ZONE);

    zone = ngx_shared_memory_add(cf, &name,
                                 8 * ngx_pagesize
                                 + sizeof(ngx_http_hf_fills_sh_t),
                                 &ngx_http_hf_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_http_hf_fills_init_zone;
    zone->data = hmcf;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hf_fills_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t          *shpool;
    ngx_http_hf_main_conf_t  *hmcf;

    hmcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data == NULL) {
        shpool->data = ngx_slab_calloc(shpool,
                                       sizeof(ngx_http_hf_fills_sh_t));
        if (shpool->data == NULL) {
            return NGX_ERROR;
        }
    }

    hmcf->fills_zone = shm_zone;

    return NGX_OK;
}


/*
 * Under the zone's mutex: whether slot i is a download that runs, or a
 * question on its way.  One whose worker is gone is marked failed here,
 * so that its followers abort and the slot can be claimed again.
 */

static ngx_uint_t
ngx_http_hf_fill_live(ngx_http_request_t *r, ngx_http_hf_fill_slot_t *slot,
    ngx_uint_t i)
{
    if (!ngx_http_hf_fill_busy(slot->state)) {
        return 0;
    }

    if (ngx_http_hf_pid_alive((ngx_pid_t) slot->pid)) {
        return 1;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf fills: slot %ui failed: worker %P is gone",
                   i, (ngx_pid_t) slot->pid);

    slot->state = NGX_HTTP_HF_FILL_FAILED;
    slot->progress = ngx_time();

    return 0;
}


/*
 * Under the zone's mutex: the live slot of the blob with this key (by_file
 * is 0), or of the file with this key, downloading or being asked for
 * (by_file is 1); and in *free, if wanted, the first slot free to claim.
 */

static ngx_http_hf_fill_slot_t *
ngx_http_hf_fill_search(ngx_http_request_t *r, ngx_http_hf_fills_sh_t *sh,
    u_char *key, ngx_uint_t by_file, ngx_http_hf_fill_slot_t **free)
{
    ngx_uint_t                i;
    ngx_http_hf_fill_slot_t  *slot;

    for (i = 0; i < NGX_HTTP_HF_FILLS; i++) {
        slot = &sh->slots[i];

        if (ngx_http_hf_fill_live(r, slot, i)) {

            if (by_file
                ? (slot->has_file || slot->state == NGX_HTTP_HF_FILL_ASKING)
                  && ngx_memcmp(slot->file_key, key, NGX_HTTP_CACHE_KEY_LEN)
                     == 0
                : slot->state != NGX_HTTP_HF_FILL_ASKING
                  && ngx_memcmp(slot->key, key, NGX_HTTP_CACHE_KEY_LEN) == 0)
            {
                return slot;
            }

            continue;
        }

        /* a free slot, or one that ended a while ago (followers done) */

        if (free && *free == NULL
            && (slot->state == NGX_HTTP_HF_FILL_FREE
                || ngx_time() - (time_t) slot->progress
                   > NGX_HTTP_HF_FILL_REUSE))
        {
            *free = slot;
        }
    }

    return NULL;
}


/*
 * A request's handle on a slot, released with the request: NULL when
 * there is nothing to claim or follow (no zone, or a cache that cannot
 * be written), NGX_HTTP_HF_FILL_ERROR when out of memory.
 */

static ngx_http_hf_fill_t *
ngx_http_hf_fill_new(ngx_http_request_t *r)
{
    ngx_http_hf_ctx_t        *ctx;
    ngx_pool_cleanup_t       *cln;
    ngx_http_hf_fill_t       *fill;
    ngx_http_hf_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hf_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_hf_module);

    if (hmcf->fills_zone == NULL || ctx->conf->cache_unusable) {
        return NULL;
    }

    fill = ngx_pcalloc(r->pool, sizeof(ngx_http_hf_fill_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (fill == NULL || cln == NULL) {
        return NGX_HTTP_HF_FILL_ERROR;
    }

    fill->shpool = (ngx_slab_pool_t *) hmcf->fills_zone->shm.addr;
    fill->log = r->connection->log;

    cln->handler = ngx_http_hf_fill_release;
    cln->data = fill;

    return fill;
}


/* under the zone's mutex: the claim ends, unless the slot is another's */

static void
ngx_http_hf_fill_end(ngx_http_hf_fill_t *fill, ngx_http_hf_fill_state_e state)
{
    ngx_http_hf_fill_slot_t  *slot;

    slot = fill->slot;

    if (slot->generation == fill->generation
        && ngx_http_hf_fill_busy(slot->state))
    {
        slot->state = state;
        slot->progress = ngx_time();

        ngx_http_hf_fill_wake(fill);
    }
}


ngx_int_t
ngx_http_hf_fill_claim(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    u_char                    key[NGX_HTTP_CACHE_KEY_LEN];
    ngx_http_hf_fill_t       *fill;
    ngx_http_hf_fills_sh_t   *sh;
    ngx_http_hf_fill_slot_t  *found, *free;

    if (ctx->fill) {
        /* the question this request claimed */
        fill = ctx->fill;
        free = fill->slot;

    } else {
        fill = ngx_http_hf_fill_new(r);

        if (fill == NULL) {
            return NGX_DECLINED;
        }

        if (fill == NGX_HTTP_HF_FILL_ERROR) {
            return NGX_ERROR;
        }

        free = NULL;
    }

    ngx_http_hf_cache_key_md5(&ctx->cache_key, key);

    sh = fill->shpool->data;

    ngx_shmtx_lock(&fill->shpool->mutex);

    found = ngx_http_hf_fill_search(r, sh, key, 0, free ? NULL : &free);

    if (found == NULL && free && fill->claimant
        && free->generation != fill->generation)
    {
        /* the question's slot went to another request (its worker hung) */
        free = NULL;
    }

    if (found == NULL && free) {
        found = free;
        ngx_memcpy(found->key, key, NGX_HTTP_CACHE_KEY_LEN);
        ngx_http_hf_fill_set_file(found, ctx);
        found->pid = (ngx_atomic_uint_t) ngx_pid;
        found->written = 0;
        found->body_start = 0;
        found->path[0] = '\0';
        found->progress = ngx_time();

        if (!fill->claimant) {
            found->generation++;
        }

        ngx_memory_barrier();
        found->state = NGX_HTTP_HF_FILL_STARTING;

        fill->claimant = 1;

    } else if (fill->claimant) {
        /* the blob downloads for another file, or no slot: not asking */
        ngx_http_hf_fill_end(fill, NGX_HTTP_HF_FILL_FREE);
        fill->claimant = 0;
    }

    if (found) {
        fill->slot = found;
        fill->generation = found->generation;
    }

    if (fill->claimant) {
        /* those who waited for the question find the download now */
        ngx_http_hf_fill_wake(fill);
    }

    ngx_shmtx_unlock(&fill->shpool->mutex);

    if (found == NULL) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "hf fills: no slot for \"%V\"", &ctx->cache_key);
        ctx->fill = NULL;
        return NGX_DECLINED;
    }

    ctx->fill = fill;

    if (!fill->claimant) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "hf fills: following the download of \"%V\"",
                       &ctx->cache_key);
        return NGX_BUSY;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf fills: claimed the download of \"%V\"",
                   &ctx->cache_key);

    return NGX_OK;
}


/* what the claimant knows of the file, for those who ask for it by name */

static void
ngx_http_hf_fill_set_file(ngx_http_hf_fill_slot_t *slot, ngx_http_hf_ctx_t *ctx)
{
    slot->has_file = 0;

    if (ctx->file_key.len == 0
        || ctx->file.content_type.len > NGX_HTTP_HF_FILL_TYPE)
    {
        return;
    }

    ngx_http_hf_cache_key_md5(&ctx->file_key, slot->file_key);
    slot->size = ctx->file.size;
    slot->flags = ctx->file.flags;
    ngx_memcpy(slot->etag, ctx->file.etag, sizeof(slot->etag));
    slot->type_len = ctx->file.content_type.len;
    ngx_memcpy(slot->type, ctx->file.content_type.data, slot->type_len);
    slot->has_file = 1;
}


ngx_int_t
ngx_http_hf_fill_find_file(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_uint_t ask)
{
    u_char                    key[NGX_HTTP_CACHE_KEY_LEN];
    ngx_int_t                 rc;
    ngx_http_hf_fill_t       *fill;
    ngx_http_hf_fills_sh_t   *sh;
    ngx_http_hf_fill_slot_t  *found, *free;

    if (ctx->file_key.len == 0) {
        return NGX_DECLINED;
    }

    fill = ngx_http_hf_fill_new(r);

    if (fill == NULL) {
        return NGX_DECLINED;
    }

    if (fill == NGX_HTTP_HF_FILL_ERROR) {
        return NGX_ERROR;
    }

    ngx_http_hf_cache_key_md5(&ctx->file_key, key);

    sh = fill->shpool->data;
    free = NULL;
    rc = NGX_DECLINED;

    ngx_shmtx_lock(&fill->shpool->mutex);

    found = ngx_http_hf_fill_search(r, sh, key, 1, ask ? &free : NULL);

    if (found && found->state == NGX_HTTP_HF_FILL_ASKING) {

        if (ask) {
            fill->slot = found;
            fill->generation = found->generation;
            rc = NGX_BUSY;
        }

    } else if (found) {
        ctx->file.size = found->size;
        ctx->file.flags = found->flags;
        ngx_memcpy(ctx->file.etag, found->etag, sizeof(found->etag));
        ctx->file.content_type.len = found->type_len;
        ctx->file.content_type.data = ngx_pnalloc(r->pool,
                                                  found->type_len + 1);

        if (ctx->file.content_type.data) {
            ngx_memcpy(ctx->file.content_type.data, found->type,
                       found->type_len);
        }

        rc = NGX_OK;

    } else if (free) {
        /* this request asks the Hub; those after it wait for the answer */

        ngx_memzero(free->key, NGX_HTTP_CACHE_KEY_LEN);
        ngx_memcpy(free->file_key, key, NGX_HTTP_CACHE_KEY_LEN);
        free->has_file = 0;
        free->pid = (ngx_atomic_uint_t) ngx_pid;
        free->written = 0;
        free->path[0] = '\0';
        free->progress = ngx_time();
        free->generation++;
        ngx_memory_barrier();
        free->state = NGX_HTTP_HF_FILL_ASKING;

        fill->slot = free;
        fill->generation = free->generation;
        fill->claimant = 1;
    }

    ngx_shmtx_unlock(&fill->shpool->mutex);

    switch (rc) {

    case NGX_OK:
        if (ctx->file.content_type.data == NULL) {
            return NGX_ERROR;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "hf fills: \"%V\" is downloading", &ctx->file_key);
        return NGX_OK;

    case NGX_BUSY:
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "hf fills: \"%V\" is being asked for, waiting",
                       &ctx->file_key);
        ctx->fill = fill;
        return NGX_BUSY;

    default:
        if (fill->claimant) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "hf fills: asking for \"%V\"", &ctx->file_key);
            ctx->fill = fill;
        }

        return NGX_DECLINED;
    }
}


void
ngx_http_hf_fill_answered(ngx_http_hf_ctx_t *ctx)
{
    ngx_http_hf_fill_t  *fill;

    fill = ctx->fill;

    if (fill == NULL || !ngx_http_hf_fill_asking(fill)) {
        return;
    }

    ctx->fill = NULL;

    ngx_shmtx_lock(&fill->shpool->mutex);
    ngx_http_hf_fill_end(fill, NGX_HTTP_HF_FILL_FREE);
    ngx_shmtx_unlock(&fill->shpool->mutex);

    fill->claimant = 0;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, fill->log, 0,
                   "hf fills: answered, no download: slot freed");
}


ngx_uint_t
ngx_http_hf_fill_asking(ngx_http_hf_fill_t *fill)
{
    return fill->claimant
           && fill->slot->generation == fill->generation
           && fill->slot->state == NGX_HTTP_HF_FILL_ASKING;
}


/* the claimant's request ends: a download it did not finish failed */

static void
ngx_http_hf_fill_release(void *data)
{
    ngx_http_hf_fill_t *fill = data;

    if (!fill->claimant) {
        return;
    }

    ngx_shmtx_lock(&fill->shpool->mutex);

    switch (fill->slot->generation == fill->generation
            ? fill->slot->state : NGX_HTTP_HF_FILL_FREE)
    {
    case NGX_HTTP_HF_FILL_ASKING:
    case NGX_HTTP_HF_FILL_STARTING:
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, fill->log, 0,
                       "hf fills: claimant ended before its download "
                       "started, slot freed");

        ngx_http_hf_fill_end(fill, NGX_HTTP_HF_FILL_FREE);
        break;

    case NGX_HTTP_HF_FILL_RUNNING:
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, fill->log, 0,
                       "hf fills: claimant ended mid-download, "
                       "download failed");

        ngx_http_hf_fill_end(fill, NGX_HTTP_HF_FILL_FAILED);
        break;

    default:
        break;
    }

    ngx_shmtx_unlock(&fill->shpool->mutex);
}


/*
 * Called as the claimant's download reads from upstream: what the pipe
 * has written to the temporary file so far is what followers may send.
 */

void
ngx_http_hf_fill_progress(ngx_http_request_t *sr, ngx_http_hf_fetch_t *f)
{
    off_t                     written;
    ngx_temp_file_t          *tf;
    ngx_http_hf_fill_t       *fill;
    ngx_http_upstream_t      *u;
    ngx_http_hf_fill_slot_t  *slot;

    fill = f->request->fill;
    u = sr->upstream;

    if (fill == NULL || !fill->claimant || u == NULL || u->pipe == NULL
        || sr->cache == NULL || fill->slot->generation != fill->generation)
    {
        return;
    }

    tf = u->pipe->temp_file;

    if (tf == NULL || tf->file.fd == NGX_INVALID_FILE
        || (off_t) sr->cache->body_start > tf->offset)
    {
        return;
    }

    slot = fill->slot;
    written = tf->offset - (off_t) sr->cache->body_start;

    if (slot->state == NGX_HTTP_HF_FILL_STARTING) {

        if (tf->file.name.len >= NGX_HTTP_HF_FILL_PATH) {
            return;
        }

        ngx_memcpy(slot->path, tf->file.name.data, tf->file.name.len);
        slot->path[tf->file.name.len] = '\0';
        slot->body_start = sr->cache->body_start;
        slot->written = written;
        slot->progress = ngx_time();
        ngx_memory_barrier();
        slot->state = NGX_HTTP_HF_FILL_RUNNING;

        f->published = 1;
        fill->woken = written;
        ngx_http_hf_fill_wake(fill);

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                       "hf fills: download in \"%V\", %O bytes",
                       &tf->file.name, written);
        return;
    }

    if ((off_t) slot->written != written) {
        slot->written = written;
        slot->progress = ngx_time();

        if (written - fill->woken >= NGX_HTTP_HF_FILL_WAKE) {
            fill->woken = written;
            ngx_http_hf_fill_wake(fill);
        }
    }
}


/*
 * The claimant's download ended (its fetch is done): the whole file is in
 * the cache now if it was verified; followers may send the last byte.
 */

void
ngx_http_hf_fill_done(ngx_http_request_t *sr, ngx_http_hf_fetch_t *f)
{
    ngx_http_hf_fill_t       *fill;
    ngx_http_hf_fill_slot_t  *slot;

    fill = f->request->fill;

    if (!f->published || fill == NULL || !fill->claimant
        || fill->slot->generation != fill->generation)
    {
        return;
    }

    f->published = 0;
    slot = fill->slot;

    if (f->verified && !f->corrupt) {
        slot->written = f->request->file.size;
        slot->progress = ngx_time();
        ngx_memory_barrier();
        slot->state = NGX_HTTP_HF_FILL_VERIFIED;

    } else {
        slot->progress = ngx_time();
        ngx_memory_barrier();
        slot->state = NGX_HTTP_HF_FILL_FAILED;
    }

    ngx_http_hf_fill_wake(fill);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                   "hf fills: download ended, %s",
                   f->verified ? "verified" : "failed");
}


/* this worker's queue of followers waiting for fill's slot */

static ngx_queue_t *
ngx_http_hf_fill_waiters_of(ngx_http_hf_fill_t *fill)
{
    ngx_queue_t  *waiters;

    waiters = &ngx_http_hf_fill_waiters[fill->slot
                  - ((ngx_http_hf_fills_sh_t *) fill->shpool->data)->slots];

    if (waiters->next == NULL) {
        ngx_queue_init(waiters);
    }

    return waiters;
}


void
ngx_http_hf_fill_wait(ngx_http_hf_fill_t *fill,
    ngx_http_hf_fill_waiter_t *waiter)
{
    if (waiter->queue.next == NULL) {
        ngx_queue_insert_tail(ngx_http_hf_fill_waiters_of(fill),
                              &waiter->queue);
    }
}


void
ngx_http_hf_fill_unwait(ngx_http_hf_fill_waiter_t *waiter)
{
    if (waiter->queue.next) {
        ngx_queue_remove(&waiter->queue);
        waiter->queue.next = NULL;
    }
}


/* the claimant's slot changed: this worker's followers look at it now */

static void
ngx_http_hf_fill_wake(ngx_http_hf_fill_t *fill)
{
    ngx_queue_t                *waiters, *q;
    ngx_http_hf_fill_waiter_t  *waiter;

    waiters = ngx_http_hf_fill_waiters_of(fill);

    while (!ngx_queue_empty(waiters)) {
        q = ngx_queue_head(waiters);
        waiter = ngx_queue_data(q, ngx_http_hf_fill_waiter_t, queue);

        ngx_queue_remove(q);
        waiter->queue.next = NULL;

        ngx_post_event(waiter->event, &ngx_posted_events);
    }
}


ngx_int_t
ngx_http_hf_fill_read(ngx_http_request_t *r, ngx_http_hf_fill_t *fill,
    ngx_http_hf_fill_view_t *view)
{
    ngx_http_hf_fill_slot_t  *slot;

    slot = fill->slot;

    view->state = slot->state;
    ngx_memory_barrier();

    view->written = slot->written;
    view->body_start = slot->body_start;
    view->progress = (time_t) slot->progress;

    if (view->state == NGX_HTTP_HF_FILL_RUNNING && view->path.data == NULL) {
        view->path.len = ngx_strlen(slot->path);
        view->path.data = ngx_pnalloc(r->pool, view->path.len + 1);
        if (view->path.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(view->path.data, slot->path, view->path.len + 1);
    }

    if (slot->generation != fill->generation) {
        return NGX_DECLINED;
    }

    if (ngx_http_hf_fill_busy(view->state)
        && !ngx_http_hf_pid_alive((ngx_pid_t) slot->pid))
    {
        view->state = NGX_HTTP_HF_FILL_FAILED;
    }

    return NGX_OK;
}
