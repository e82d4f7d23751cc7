
/*
 * Hashing a download on another core.
 *
 * The worker's event loop moves a download's bytes from the upstream
 * socket to the cache's temporary file and to the client; hashing them
 * there as well costs as much as all of that (sha256 runs at about the
 * rate nginx proxies).  Here, what the pipe has written is read back
 * (pread, from the page cache) and hashed by a task in an nginx thread
 * pool, behind the writer: the pipe reuses its buffers once they are
 * written, so the file is the only copy that stays.
 *
 * The end stays where it was: when the last byte is in, the worker takes
 * back a task that has not started, waits for one that runs (it hashes
 * at most what was written when it was posted, usually one batch of
 * proxy_buffers), and hashes what is left itself, the last bytes from the
 * pipe's memory.  So the hash is known before nginx can finish the
 * download, rename the file into the cache or send the last byte, as
 * when the worker hashed everything.
 *
 * A task may outlive its request (the client went away): the hasher owns
 * a duplicate of the file's descriptor, its hash and its buffer, and is
 * freed by whichever comes last, the request's pool or the task's end.
 */


#include "ngx_http_hf_hasher.h"
#include "ngx_http_hf_verify.h"


#if (NGX_THREADS)

/* what a task reads at a time */
#define NGX_HTTP_HF_HASHER_BUF   (256 * 1024)


typedef enum {
    NGX_HTTP_HF_HASHER_IDLE = 0,
    NGX_HTTP_HF_HASHER_QUEUED,        /* posted, not started */
    NGX_HTTP_HF_HASHER_RUNNING,       /* a thread hashes */
    NGX_HTTP_HF_HASHER_RAN,           /* the thread is done with it */
    NGX_HTTP_HF_HASHER_TAKEN          /* the worker did it instead */
} ngx_http_hf_hasher_state_e;


struct ngx_http_hf_hasher_s {
    ngx_thread_task_t       task;
    ngx_thread_pool_t      *pool;
    ngx_temp_file_t        *tf;       /* the request's; not when orphan */
    ngx_log_t              *log;      /* the request's; not when orphan */

    ngx_fd_t                fd;       /* a duplicate of tf's */
    void                   *md;
    u_char                 *buf;

    off_t                   base;     /* the body's offset in the file */
    off_t                   hashed;   /* body bytes through the hash */
    off_t                   to;       /* a task hashes up to here */
    ngx_err_t               err;      /* a read's; EIO: short, or hash */

    ngx_atomic_t            state;
    ngx_thread_mutex_t      mutex;    /* with cond: the worker waits */
    ngx_thread_cond_t       cond;     /* for a running task */

    unsigned                posted:1; /* its completion event is due */
    unsigned                orphan:1; /* the request is gone */
    unsigned                finished:1;
};


static void ngx_http_hf_hasher_cleanup(void *data);
static void ngx_http_hf_hasher_thread(void *data, ngx_log_t *log);
static void ngx_http_hf_hasher_completed(ngx_event_t *ev);
static ngx_int_t ngx_http_hf_hasher_read(ngx_http_hf_hasher_t *h, off_t to);
static ngx_int_t ngx_http_hf_hasher_open(ngx_http_hf_hasher_t *h);
static off_t ngx_http_hf_hasher_written(ngx_http_hf_hasher_t *h);
static void ngx_http_hf_hasher_free(ngx_http_hf_hasher_t *h);


ngx_http_hf_hasher_t *
ngx_http_hf_hasher_create(ngx_http_request_t *r, ngx_thread_pool_t *tp,
    ngx_uint_t lfs, off_t size, ngx_temp_file_t *tf, off_t base)
{
    ngx_pool_cleanup_t    *cln;
    ngx_http_hf_hasher_t  *h;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    h = ngx_calloc(sizeof(ngx_http_hf_hasher_t), r->connection->log);
    if (h == NULL) {
        return NULL;
    }

    h->fd = NGX_INVALID_FILE;

    if (ngx_thread_mutex_create(&h->mutex, r->connection->log) != NGX_OK) {
        ngx_free(h);
        return NULL;
    }

    if (ngx_thread_cond_create(&h->cond, r->connection->log) != NGX_OK) {
        (void) ngx_thread_mutex_destroy(&h->mutex, r->connection->log);
        ngx_free(h);
        return NULL;
    }

    cln->handler = ngx_http_hf_hasher_cleanup;
    cln->data = h;

    h->md = ngx_http_hf_verify_new(lfs, size);
    h->buf = ngx_alloc(NGX_HTTP_HF_HASHER_BUF, r->connection->log);

    if (h->md == NULL || h->buf == NULL) {
        return NULL;
    }

    h->pool = tp;
    h->tf = tf;
    h->log = r->connection->log;
    h->base = base;

    h->task.ctx = h;
    h->task.handler = ngx_http_hf_hasher_thread;
    h->task.event.data = h;
    h->task.event.handler = ngx_http_hf_hasher_completed;
    h->task.event.log = ngx_cycle->log;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, h->log, 0,
                   "hf hasher: %O bytes, body at %O in the file", size, base);

    return h;
}


/*
 * The hasher's own descriptor of the file, the first time it is needed
 * (the pipe opens the file with its first write): the file's may be
 * closed while a task reads.
 */

static ngx_int_t
ngx_http_hf_hasher_open(ngx_http_hf_hasher_t *h)
{
    if (h->fd != NGX_INVALID_FILE) {
        return NGX_OK;
    }

    h->fd = dup(h->tf->file.fd);

    if (h->fd == NGX_INVALID_FILE) {
        h->err = ngx_errno;
        ngx_log_error(NGX_LOG_ALERT, h->log, h->err,
                      "hf: dup() of \"%V\" failed", &h->tf->file.name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* what the pipe has written of the body so far */

static off_t
ngx_http_hf_hasher_written(ngx_http_hf_hasher_t *h)
{
    return ngx_max(h->tf->offset - h->base, 0);
}


void
ngx_http_hf_hasher_feed(ngx_http_hf_hasher_t *h)
{
    off_t  written;

    if (h->posted || h->finished || h->err) {
        return;
    }

    written = ngx_http_hf_hasher_written(h);

    if (written <= h->hashed) {
        return;
    }

    if (ngx_http_hf_hasher_open(h) != NGX_OK) {
        return;
    }

    h->to = written;
    h->state = NGX_HTTP_HF_HASHER_QUEUED;

    if (ngx_thread_task_post(h->pool, &h->task) != NGX_OK) {
        /* a full queue: the next feed or the end tries again */
        h->state = NGX_HTTP_HF_HASHER_IDLE;
        return;
    }

    h->posted = 1;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, h->log, 0,
                   "hf hasher: task for %O-%O", h->hashed, h->to);
}


/* in a thread of the pool, unless the worker took the task back */

static void
ngx_http_hf_hasher_thread(void *data, ngx_log_t *log)
{
    ngx_http_hf_hasher_t *h = data;

    if (!ngx_atomic_cmp_set(&h->state, NGX_HTTP_HF_HASHER_QUEUED,
                            NGX_HTTP_HF_HASHER_RUNNING))
    {
        return;
    }

    (void) ngx_http_hf_hasher_read(h, h->to);

    (void) ngx_thread_mutex_lock(&h->mutex, log);

    h->state = NGX_HTTP_HF_HASHER_RAN;
    (void) ngx_thread_cond_signal(&h->cond, log);

    (void) ngx_thread_mutex_unlock(&h->mutex, log);
}


/* hashes the file from h->hashed up to "to"; no logging: any thread */

static ngx_int_t
ngx_http_hf_hasher_read(ngx_http_hf_hasher_t *h, off_t to)
{
    size_t   size;
    ssize_t  n;

    while (h->hashed < to) {
        size = (size_t) ngx_min(to - h->hashed, NGX_HTTP_HF_HASHER_BUF);

        n = pread(h->fd, h->buf, size, h->base + h->hashed);

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                continue;
            }

            h->err = ngx_errno;
            return NGX_ERROR;
        }

        if (n == 0) {
            /* shorter than the pipe said it wrote */
            h->err = EIO;
            return NGX_ERROR;
        }

        if (ngx_http_hf_verify_update(h->md, h->buf, n) != NGX_OK) {
            h->err = EIO;
            return NGX_ERROR;
        }

        h->hashed += n;
    }

    return NGX_OK;
}


/* in the worker, after the task ran or was taken back */

static void
ngx_http_hf_hasher_completed(ngx_event_t *ev)
{
    ngx_http_hf_hasher_t *h = ev->data;

    h->posted = 0;

    if (h->orphan) {
        ngx_http_hf_hasher_free(h);
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, h->log, 0,
                   "hf hasher: task done at %O, state %A", h->hashed,
                   h->state);

    if (h->finished) {
        return;
    }

    h->state = NGX_HTTP_HF_HASHER_IDLE;

    /* the pipe may have written more meanwhile */
    ngx_http_hf_hasher_feed(h);
}


ngx_int_t
ngx_http_hf_hasher_finish(ngx_http_hf_hasher_t *h, ngx_chain_t *unwritten,
    u_char *hex, off_t *hashed)
{
    size_t        n;
    ngx_chain_t  *cl;

    h->finished = 1;

    if (h->posted
        && !ngx_atomic_cmp_set(&h->state, NGX_HTTP_HF_HASHER_QUEUED,
                               NGX_HTTP_HF_HASHER_TAKEN))
    {
        /* a thread hashes: at most what was written when it was posted */

        (void) ngx_thread_mutex_lock(&h->mutex, h->log);

        while (h->state != NGX_HTTP_HF_HASHER_RAN) {
            (void) ngx_thread_cond_wait(&h->cond, &h->mutex, h->log);
        }

        (void) ngx_thread_mutex_unlock(&h->mutex, h->log);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, h->log, 0,
                   "hf hasher: finishing, %O hashed in the pool, %O written",
                   h->hashed, ngx_http_hf_hasher_written(h));

    if (h->err == 0 && ngx_http_hf_hasher_written(h) > h->hashed) {
        (void) ngx_http_hf_hasher_open(h);
    }

    if (h->err == 0) {
        (void) ngx_http_hf_hasher_read(h, ngx_http_hf_hasher_written(h));
    }

    if (h->err) {
        ngx_log_error(NGX_LOG_ERR, h->log, h->err,
                      "hf: reading \"%V\" back to hash it failed",
                      &h->tf->file.name);
        return NGX_ERROR;
    }

    for (cl = unwritten; cl; cl = cl->next) {
        n = cl->buf->last - cl->buf->pos;

        if (n == 0) {
            continue;
        }

        if (ngx_http_hf_verify_update(h->md, cl->buf->pos, n) != NGX_OK) {
            return NGX_ERROR;
        }

        h->hashed += n;
    }

    *hashed = h->hashed;

    return ngx_http_hf_verify_finish(h->md, hex);
}


/* the request's pool goes: a task that is still due frees the hasher */

static void
ngx_http_hf_hasher_cleanup(void *data)
{
    ngx_http_hf_hasher_t *h = data;

    if (h->posted) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, h->log, 0,
                       "hf hasher: request gone, task still due");

        /* the thread reads only its own fd, md and buf */
        h->orphan = 1;
        h->tf = NULL;
        h->log = NULL;
        return;
    }

    ngx_http_hf_hasher_free(h);
}


static void
ngx_http_hf_hasher_free(ngx_http_hf_hasher_t *h)
{
    if (h->fd != NGX_INVALID_FILE) {
        (void) close(h->fd);
    }

    if (h->md) {
        ngx_http_hf_verify_free(h->md);
    }

    if (h->buf) {
        ngx_free(h->buf);
    }

    (void) ngx_thread_cond_destroy(&h->cond, ngx_cycle->log);
    (void) ngx_thread_mutex_destroy(&h->mutex, ngx_cycle->log);

    ngx_free(h);
}

#endif
