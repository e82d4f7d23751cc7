
/*
 * The metadata store: what is cached, in LMDB.
 *
 * The environment is created and checked by the master at each
 * configuration load, then opened again by every worker after fork: an
 * MDB_env must never cross a fork.  Lookups reuse one read transaction
 * per worker (MDB_NOTLS), renewed for each lookup and reset right after,
 * so that no read transaction is held across an event loop wait.
 *
 * Failures to write (a full map, a read-only disk) are logged and
 * otherwise ignored: the cache then behaves as a proxy that verifies,
 * it never fails a request because of its metadata.
 */


#include "ngx_http_hf_store.h"
#include "ngx_http_hf_records.h"

#include <lmdb.h>


/* mdb_env_get_maxkeysize() of LMDB as Debian builds it (MDB_MAXKEYSIZE) */
#define NGX_HTTP_HF_MAX_KEY           511

#define NGX_HTTP_HF_HITS_MAX          1024
#define NGX_HTTP_HF_HITS_FLUSH        1000      /* ms */


typedef struct {
    ngx_str_t                   key;
    uint64_t                    hits;
    time_t                      first;
    time_t                      last;
} ngx_http_hf_pending_hit_t;


/* the databases of the environment, named by index: see store_get/put */

typedef enum {
    NGX_HTTP_HF_DB_REVISIONS = 0,
    NGX_HTTP_HF_DB_FILES,
    NGX_HTTP_HF_DB_BLOBS,
    NGX_HTTP_HF_DB_COUNT
} ngx_http_hf_db_e;


/* by ngx_http_hf_db_e: the databases' names in LMDB */

static char  *ngx_http_hf_store_db_names[] = {
    "revisions",
    "files",
    "blobs"
};


struct ngx_http_hf_store_s {
    MDB_env                    *env;
    MDB_dbi                     dbi[NGX_HTTP_HF_DB_COUNT];
    MDB_txn                    *read_txn;
    ngx_log_t                  *log;
    ngx_str_t                   path;

    ngx_array_t                 hits;          /* ngx_http_hf_pending_hit_t */
    ngx_pool_t                 *hits_pool;
    ngx_event_t                 flush;

    time_t                      last_error;    /* rate limits write errors */
    unsigned                    read_only:1;
    unsigned                    reading:1;     /* read_txn is renewed */
};


static int ngx_http_hf_store_env(ngx_str_t *path, size_t size,
    unsigned flags, MDB_env **env);
static ngx_int_t ngx_http_hf_store_dbis(ngx_http_hf_store_t *store,
    unsigned flags);
static ngx_int_t ngx_http_hf_store_get(ngx_http_hf_store_t *store,
    ngx_http_hf_db_e db, ngx_str_t *key, void *rec, size_t size);
static ngx_int_t ngx_http_hf_store_put(ngx_http_hf_store_t *store,
    ngx_http_hf_db_e db, ngx_str_t *key, void *rec, size_t size);
static void ngx_http_hf_store_write_error(ngx_http_hf_store_t *store,
    const char *what, int rc);
static void ngx_http_hf_store_flush_handler(ngx_event_t *ev);
static void ngx_http_hf_store_flush(ngx_http_hf_store_t *store);
static void ngx_http_hf_store_chown(ngx_cycle_t *cycle, ngx_str_t *path);


/*
 * Nothing here stops nginx: without its store the cache still answers,
 * verifying and proxying what it cannot record.
 */

ngx_int_t
ngx_http_hf_store_create(ngx_cycle_t *cycle, ngx_str_t *path, size_t size)
{
    int                   rc;
    ngx_http_hf_store_t   store;

    if (ngx_create_dir(path->data, 0700) == NGX_FILE_ERROR
        && ngx_errno != NGX_EEXIST)
    {
        ngx_log_error(NGX_LOG_ERR, cycle->log, ngx_errno,
                      "hf_metadata: cannot create directory \"%V\"; files "
                      "are verified and proxied, not recorded", path);
        return NGX_OK;
    }

    ngx_memzero(&store, sizeof(ngx_http_hf_store_t));
    store.log = cycle->log;
    store.path = *path;

    rc = ngx_http_hf_store_env(path, size, 0, &store.env);

    if (rc == EACCES || rc == EROFS) {
        /* the workers will read what is there */
        return NGX_OK;
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "hf_metadata: cannot open LMDB environment \"%V\": %s; "
                      "files are verified and proxied, not recorded",
                      path, mdb_strerror(rc));
        return NGX_OK;
    }

    (void) ngx_http_hf_store_dbis(&store, MDB_CREATE);

    /* readers left behind by killed workers would pin old pages forever */
    (void) mdb_reader_check(store.env, NULL);

    mdb_env_close(store.env);

    ngx_http_hf_store_chown(cycle, path);

    return NGX_OK;
}


ngx_http_hf_store_t *
ngx_http_hf_store_open(ngx_cycle_t *cycle, ngx_str_t *path, size_t size)
{
    int                   rc;
    ngx_http_hf_store_t  *store;

    store = ngx_pcalloc(cycle->pool, sizeof(ngx_http_hf_store_t));
    if (store == NULL) {
        return NULL;
    }

    store->log = cycle->log;
    store->path = *path;

    rc = ngx_http_hf_store_env(path, size, 0, &store->env);

    if (rc == EACCES || rc == EROFS) {

        /* a read-only disk: what was recorded is still served */

        rc = ngx_http_hf_store_env(path, size, MDB_RDONLY|MDB_NOLOCK,
                                   &store->env);
        if (rc == 0) {
            store->read_only = 1;
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "hf_metadata: \"%V\" is read-only: recorded files "
                          "are served, new ones are proxied, not recorded",
                          path);
        }
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "hf_metadata: cannot open LMDB environment \"%V\": %s; "
                      "files are verified and proxied, not recorded",
                      path, mdb_strerror(rc));
        return NULL;
    }

    if (!store->read_only) {
        (void) mdb_reader_check(store->env, NULL);
    }

    if (ngx_http_hf_store_dbis(store, 0) != NGX_OK) {
        mdb_env_close(store->env);
        return NULL;
    }

    rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &store->read_txn);
    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "hf_metadata: mdb_txn_begin(\"%V\") failed: %s",
                      path, mdb_strerror(rc));
        mdb_env_close(store->env);
        return NULL;
    }

    mdb_txn_reset(store->read_txn);

    store->hits_pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, cycle->log);
    if (store->hits_pool == NULL
        || ngx_array_init(&store->hits, cycle->pool, 64,
                          sizeof(ngx_http_hf_pending_hit_t))
           != NGX_OK)
    {
        mdb_env_close(store->env);
        return NULL;
    }

    store->flush.handler = ngx_http_hf_store_flush_handler;
    store->flush.data = store;
    store->flush.log = cycle->log;
    store->flush.cancelable = 1;

    return store;
}


void
ngx_http_hf_store_close(ngx_http_hf_store_t *store)
{
    if (store == NULL || store->env == NULL) {
        return;
    }

    if (store->flush.timer_set) {
        ngx_del_timer(&store->flush);
    }

    ngx_http_hf_store_flush(store);

    mdb_txn_abort(store->read_txn);
    mdb_env_close(store->env);
    store->env = NULL;

    ngx_destroy_pool(store->hits_pool);
}


ngx_http_hf_store_t *
ngx_http_hf_store(ngx_http_request_t *r)
{
    ngx_http_hf_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hf_module);

    return hmcf->store;
}


ngx_int_t
ngx_http_hf_store_get_revision(ngx_http_hf_store_t *store, ngx_str_t *key,
    u_char *commit, time_t *resolved)
{
    ngx_int_t                    rc;
    ngx_http_hf_revision_rec_t   rec;

    rc = ngx_http_hf_store_get(store, NGX_HTTP_HF_DB_REVISIONS, key, &rec,
                               sizeof(rec));
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_memcpy(commit, rec.commit, NGX_HTTP_HF_COMMIT_LEN);
    commit[NGX_HTTP_HF_COMMIT_LEN] = '\0';
    *resolved = (time_t) rec.resolved;

    return NGX_OK;
}


ngx_int_t
ngx_http_hf_store_put_revision(ngx_http_hf_store_t *store, ngx_str_t *key,
    u_char *commit)
{
    ngx_http_hf_revision_rec_t  rec;

    ngx_memzero(&rec, sizeof(rec));
    rec.version = NGX_HTTP_HF_STORE_VERSION;
    ngx_memcpy(rec.commit, commit, NGX_HTTP_HF_COMMIT_LEN);
    rec.resolved = ngx_time();

    return ngx_http_hf_store_put(store, NGX_HTTP_HF_DB_REVISIONS, key, &rec,
                                 sizeof(rec));
}


ngx_int_t
ngx_http_hf_store_get_file(ngx_http_hf_store_t *store, ngx_str_t *key,
    ngx_pool_t *pool, ngx_http_hf_file_t *file,
    ngx_http_hf_file_stats_t *stats)
{
    size_t                   len;
    ngx_int_t                rc;
    ngx_http_hf_file_rec_t   rec;

    rc = ngx_http_hf_store_get(store, NGX_HTTP_HF_DB_FILES, key, &rec,
                               sizeof(rec));
    if (rc != NGX_OK) {
        return rc;
    }

    file->size = (off_t) rec.size;
    file->flags = rec.flags;
    ngx_memcpy(file->etag, rec.etag, sizeof(file->etag));
    file->etag[NGX_HTTP_HF_SHA256_LEN] = '\0';

    len = ngx_strnlen(rec.content_type, NGX_HTTP_HF_MAX_CONTENT_TYPE);

    file->content_type.data = ngx_pnalloc(pool, len);
    if (file->content_type.data == NULL) {
        return NGX_ERROR;
    }

    file->content_type.len = len;
    ngx_memcpy(file->content_type.data, rec.content_type, len);

    if (stats) {
        stats->stored = (time_t) rec.stored;
        stats->first_served = (time_t) rec.first_served;
        stats->last_served = (time_t) rec.last_served;
        stats->hits = rec.hits;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hf_store_put_file(ngx_http_hf_store_t *store, ngx_str_t *key,
    ngx_http_hf_file_t *file, ngx_str_t *cache_key)
{
    ngx_http_hf_file_rec_t  rec;

    if (cache_key->len >= NGX_HTTP_HF_MAX_CACHE_KEY) {
        return NGX_DECLINED;
    }

    ngx_memzero(&rec, sizeof(rec));
    rec.version = NGX_HTTP_HF_STORE_VERSION;
    rec.flags = (uint32_t) file->flags;
    rec.size = (uint64_t) file->size;
    rec.stored = ngx_time();
    ngx_memcpy(rec.etag, file->etag, sizeof(rec.etag));

    /* a record of a missing file has neither */

    if (file->content_type.len) {
        ngx_memcpy(rec.content_type, file->content_type.data,
                   ngx_min(file->content_type.len,
                           NGX_HTTP_HF_MAX_CONTENT_TYPE - 1));
    }

    if (cache_key->len) {
        ngx_memcpy(rec.cache_key, cache_key->data, cache_key->len);
    }

    return ngx_http_hf_store_put(store, NGX_HTTP_HF_DB_FILES, key, &rec,
                                 sizeof(rec));
}


ngx_int_t
ngx_http_hf_store_get_blob(ngx_http_hf_store_t *store, ngx_str_t *cache_key,
    off_t size)
{
    ngx_int_t               rc;
    ngx_http_hf_blob_rec_t  rec;

    rc = ngx_http_hf_store_get(store, NGX_HTTP_HF_DB_BLOBS, cache_key, &rec,
                               sizeof(rec));
    if (rc != NGX_OK) {
        return rc;
    }

    return (off_t) rec.size == size ? NGX_OK : NGX_DECLINED;
}


ngx_int_t
ngx_http_hf_store_put_blob(ngx_http_hf_store_t *store, ngx_str_t *cache_key,
    off_t size)
{
    ngx_http_hf_blob_rec_t  rec;

    ngx_memzero(&rec, sizeof(rec));
    rec.version = NGX_HTTP_HF_STORE_VERSION;
    rec.size = (uint64_t) size;
    rec.verified = ngx_time();

    return ngx_http_hf_store_put(store, NGX_HTTP_HF_DB_BLOBS, cache_key, &rec,
                                 sizeof(rec));
}


void
ngx_http_hf_store_hit(ngx_http_hf_store_t *store, ngx_str_t *key)
{
    ngx_uint_t                  i;
    ngx_http_hf_pending_hit_t  *hit;

    if (store == NULL || store->read_only) {
        return;
    }

    hit = store->hits.elts;

    for (i = 0; i < store->hits.nelts; i++) {
        if (hit[i].key.len == key->len
            && ngx_memcmp(hit[i].key.data, key->data, key->len) == 0)
        {
            hit[i].hits++;
            hit[i].last = ngx_time();
            return;
        }
    }

    if (store->hits.nelts >= NGX_HTTP_HF_HITS_MAX) {
        ngx_http_hf_store_flush(store);
    }

    hit = ngx_array_push(&store->hits);
    if (hit == NULL) {
        return;
    }

    hit->key.data = ngx_pstrdup(store->hits_pool, key);
    if (hit->key.data == NULL) {
        store->hits.nelts--;
        return;
    }

    hit->key.len = key->len;
    hit->hits = 1;
    hit->first = ngx_time();
    hit->last = hit->first;

    if (!store->flush.timer_set) {
        ngx_add_timer(&store->flush, NGX_HTTP_HF_HITS_FLUSH);
    }
}


static void
ngx_http_hf_store_flush_handler(ngx_event_t *ev)
{
    ngx_http_hf_store_flush(ev->data);
}


static void
ngx_http_hf_store_flush(ngx_http_hf_store_t *store)
{
    int                         rc;
    MDB_val                     k, v;
    MDB_txn                    *txn;
    ngx_uint_t                  i;
    ngx_http_hf_file_rec_t      rec;
    ngx_http_hf_pending_hit_t  *hit;

    if (store->hits.nelts == 0) {
        return;
    }

    rc = mdb_txn_begin(store->env, NULL, 0, &txn);
    if (rc != 0) {
        ngx_http_hf_store_write_error(store, "mdb_txn_begin", rc);
        goto done;
    }

    hit = store->hits.elts;

    for (i = 0; i < store->hits.nelts; i++) {
        k.mv_size = hit[i].key.len;
        k.mv_data = hit[i].key.data;

        rc = mdb_get(txn, store->dbi[NGX_HTTP_HF_DB_FILES], &k, &v);
        if (rc != 0 || v.mv_size != sizeof(rec)) {
            continue;
        }

        ngx_memcpy(&rec, v.mv_data, sizeof(rec));

        if (rec.first_served == 0) {
            rec.first_served = hit[i].first;
        }

        rec.last_served = hit[i].last;
        rec.hits += hit[i].hits;

        v.mv_size = sizeof(rec);
        v.mv_data = &rec;

        rc = mdb_put(txn, store->dbi[NGX_HTTP_HF_DB_FILES], &k, &v, 0);
        if (rc != 0) {
            ngx_http_hf_store_write_error(store, "mdb_put(hits)", rc);
            mdb_txn_abort(txn);
            goto done;
        }
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        ngx_http_hf_store_write_error(store, "mdb_txn_commit(hits)", rc);
        goto done;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, store->log, 0,
                   "hf store: hits of %ui files flushed", store->hits.nelts);

done:

    store->hits.nelts = 0;
    ngx_reset_pool(store->hits_pool);
}


static int
ngx_http_hf_store_env(ngx_str_t *path, size_t size, unsigned flags,
    MDB_env **env)
{
    int  rc;

    rc = mdb_env_create(env);
    if (rc != 0) {
        return rc;
    }

    (void) mdb_env_set_maxdbs(*env, 4);
    (void) mdb_env_set_mapsize(*env, size);

    /*
     * MDB_NOTLS: a worker renews one read transaction for every lookup;
     * MDB_NOMETASYNC: data pages are synced at commit, the meta page may
     * lag one transaction after a crash, never corrupting the database.
     */

    rc = mdb_env_open(*env, (char *) path->data,
                      flags|MDB_NOTLS|MDB_NORDAHEAD|MDB_NOMETASYNC, 0600);
    if (rc != 0) {
        mdb_env_close(*env);
        *env = NULL;
    }

    return rc;
}


static ngx_int_t
ngx_http_hf_store_dbis(ngx_http_hf_store_t *store, unsigned flags)
{
    int          rc;
    MDB_txn     *txn;
    ngx_uint_t   i;

    rc = mdb_txn_begin(store->env, NULL, flags ? 0 : MDB_RDONLY, &txn);
    if (rc != 0) {
        goto failed;
    }

    for (i = 0; rc == 0 && i < NGX_HTTP_HF_DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, ngx_http_hf_store_db_names[i], flags,
                          &store->dbi[i]);
    }

    if (rc != 0) {
        mdb_txn_abort(txn);
        goto failed;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto failed;
    }

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_ERR, store->log, 0,
                  "hf_metadata: cannot open databases in \"%V\": %s",
                  &store->path, mdb_strerror(rc));
    return NGX_ERROR;
}


/*
 * Several lookups of one request share one renewal of the worker's read
 * transaction; it is reset before the request waits for anything.
 */

ngx_int_t
ngx_http_hf_store_begin(ngx_http_hf_store_t *store)
{
    int  rc;

    if (store == NULL) {
        return NGX_DECLINED;
    }

    if (store->reading) {
        return NGX_OK;
    }

    rc = mdb_txn_renew(store->read_txn);

    if (rc == MDB_MAP_RESIZED) {
        (void) mdb_env_set_mapsize(store->env, 0);
        rc = mdb_txn_renew(store->read_txn);
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, store->log, 0,
                      "hf_metadata: mdb_txn_renew() failed: %s",
                      mdb_strerror(rc));
        return NGX_DECLINED;
    }

    store->reading = 1;

    return NGX_OK;
}


void
ngx_http_hf_store_end(ngx_http_hf_store_t *store)
{
    if (store && store->reading) {
        mdb_txn_reset(store->read_txn);
        store->reading = 0;
    }
}


/* for hf_metrics: the map's size and use, read in a transaction of its own */

ngx_int_t
ngx_http_hf_store_usage(ngx_http_hf_store_t *store,
    ngx_http_hf_store_usage_t *usage)
{
    size_t       *count[NGX_HTTP_HF_DB_COUNT];
    MDB_stat      st;
    ngx_int_t     rc;
    ngx_uint_t    i, held;
    MDB_envinfo   info;

    if (store == NULL) {
        return NGX_DECLINED;
    }

    held = store->reading;

    if (!held && ngx_http_hf_store_begin(store) != NGX_OK) {
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    if (mdb_env_info(store->env, &info) == 0
        && mdb_env_stat(store->env, &st) == 0)
    {
        usage->map_size = info.me_mapsize;
        usage->used = (info.me_last_pgno + 1) * (size_t) st.ms_psize;

        count[NGX_HTTP_HF_DB_REVISIONS] = &usage->revisions;
        count[NGX_HTTP_HF_DB_FILES] = &usage->files;
        count[NGX_HTTP_HF_DB_BLOBS] = &usage->blobs;

        for (i = 0; i < NGX_HTTP_HF_DB_COUNT; i++) {
            *count[i] = (mdb_stat(store->read_txn, store->dbi[i], &st) == 0)
                        ? st.ms_entries : 0;
        }

        rc = NGX_OK;
    }

    if (!held) {
        ngx_http_hf_store_end(store);
    }

    return rc;
}


static ngx_int_t
ngx_http_hf_store_get(ngx_http_hf_store_t *store, ngx_http_hf_db_e db,
    ngx_str_t *key, void *rec, size_t size)
{
    int          rc;
    MDB_val      k, v;
    ngx_uint_t   held;

    if (store == NULL || key->len == 0 || key->len > NGX_HTTP_HF_MAX_KEY) {
        return NGX_DECLINED;
    }

    held = store->reading;

    if (!held && ngx_http_hf_store_begin(store) != NGX_OK) {
        return NGX_DECLINED;
    }

    k.mv_size = key->len;
    k.mv_data = key->data;

    rc = mdb_get(store->read_txn, store->dbi[db], &k, &v);

    if (rc == 0) {
        /* LMDB does not align values: the record is read from a copy */

        if (v.mv_size == size) {
            ngx_memcpy(rec, v.mv_data, size);
        }

        if (v.mv_size != size
            || *(uint32_t *) rec != NGX_HTTP_HF_STORE_VERSION)
        {
            rc = MDB_NOTFOUND;  /* a record of another version: a miss */
        }
    }

    if (!held) {
        ngx_http_hf_store_end(store);
    }

    if (rc == MDB_NOTFOUND) {
        return NGX_DECLINED;
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, store->log, 0,
                      "hf_metadata: mdb_get() failed: %s", mdb_strerror(rc));
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hf_store_put(ngx_http_hf_store_t *store, ngx_http_hf_db_e db,
    ngx_str_t *key, void *rec, size_t size)
{
    int       rc;
    MDB_val   k, v;
    MDB_txn  *txn;

    if (store == NULL || store->read_only || key->len == 0
        || key->len > NGX_HTTP_HF_MAX_KEY)
    {
        return NGX_DECLINED;
    }

    rc = mdb_txn_begin(store->env, NULL, 0, &txn);

    if (rc == MDB_MAP_RESIZED) {
        (void) mdb_env_set_mapsize(store->env, 0);
        rc = mdb_txn_begin(store->env, NULL, 0, &txn);
    }

    if (rc != 0) {
        ngx_http_hf_store_write_error(store, "mdb_txn_begin", rc);
        return NGX_DECLINED;
    }

    k.mv_size = key->len;
    k.mv_data = key->data;
    v.mv_size = size;
    v.mv_data = rec;

    rc = mdb_put(txn, store->dbi[db], &k, &v, 0);
    if (rc != 0) {
        mdb_txn_abort(txn);
        ngx_http_hf_store_write_error(store, "mdb_put", rc);
        return NGX_DECLINED;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        ngx_http_hf_store_write_error(store, "mdb_txn_commit", rc);
        return NGX_DECLINED;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, store->log, 0,
                   "hf store: %s record written: \"%V\"",
                   ngx_http_hf_store_db_names[db], key);

    return NGX_OK;
}


static void
ngx_http_hf_store_write_error(ngx_http_hf_store_t *store, const char *what,
    int rc)
{
    /* once a minute at most: a full map fails every write until fixed */

    if (ngx_time() - store->last_error < 60) {
        return;
    }

    store->last_error = ngx_time();

    ngx_log_error(NGX_LOG_ERR, store->log, 0,
                  "hf_metadata: %s(\"%V\") failed: %s%s", what, &store->path,
                  mdb_strerror(rc),
                  rc == MDB_MAP_FULL ? " (raise \"size=\" of hf_metadata);"
                                       " files are proxied, not recorded"
                                     : "");
}


static void
ngx_http_hf_store_chown(ngx_cycle_t *cycle, ngx_str_t *path)
{
    u_char            *p, name[NGX_MAX_PATH];
    ngx_uint_t         i;
    ngx_core_conf_t   *ccf;
    static char       *files[] = { "", "/data.mdb", "/lock.mdb" };

    if (geteuid() != 0) {
        return;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (ccf->user == (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        return;
    }

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        p = ngx_snprintf(name, NGX_MAX_PATH - 1, "%V%s", path, files[i]);
        *p = '\0';

        if (chown((char *) name, ccf->user, (gid_t) -1) == -1) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, ngx_errno,
                          "hf_metadata: chown(\"%s\") failed", name);
        }
    }
}
