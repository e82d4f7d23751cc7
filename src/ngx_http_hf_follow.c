
/*
 * Following a download.  A request that finds its blob being downloaded
 * by another request (fills.c) does not wait for the download to end: it
 * opens the download's temporary file (its own descriptor: the inode
 * stays when nginx renames the file into the cache), sends the body bytes
 * written so far, and looks again every few milliseconds, or when the
 * client can take more.  The last byte leaves only once the download was
 * verified; a download that failed, or whose worker died, or that makes
 * no progress for hf_fill_timeout, aborts the connection (after the
 * headers) or sends the request the usual way (before them).
 */


#include "ngx_http_hf_follow.h"
#include "ngx_http_hf_blob.h"
#include "ngx_http_hf_fills.h"
#include "ngx_http_hf_util.h"


#define NGX_HTTP_HF_FOLLOW_POLL   5            /* ms */

/*
 * A follower sends a small piece first, and then at most a turn's worth
 * per turn of the event loop (the rest on the next one): a fan-in's
 * followers each have their first bytes before any of them takes more,
 * and a turn of the loop stays short for everything else the worker
 * does, arriving requests included (at sendfile_max_chunk, 2m, 31
 * followers made a turn of 60 MiB of copying).
 */
#define NGX_HTTP_HF_FOLLOW_FIRST  (64 * 1024)
#define NGX_HTTP_HF_FOLLOW_TURN   (512 * 1024)


struct ngx_http_hf_follow_s {
    ngx_http_request_t         *request;
    ngx_event_t                 poll;
    ngx_http_hf_fill_waiter_t   waiter;       /* poll, posted by the fill */
    ngx_file_t                  file;
    ngx_http_hf_fill_view_t     view;
    ngx_chain_t                *free;         /* bufs to reuse, and those */
    ngx_chain_t                *busy;         /* the client has not taken */
    off_t                       sent;
    unsigned                    streaming:1;
};


static void ngx_http_hf_follow_poll_handler(ngx_event_t *ev);
static void ngx_http_hf_follow_write_handler(ngx_http_request_t *r);
static void ngx_http_hf_follow_step(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static void ngx_http_hf_follow_wait(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_uint_t more);
static void ngx_http_hf_follow_poll(ngx_http_hf_ctx_t *ctx);
static void ngx_http_hf_follow_unwait(ngx_http_hf_follow_t *fw);
static ngx_int_t ngx_http_hf_follow_open(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_int_t ngx_http_hf_follow_send(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, off_t limit);
static void ngx_http_hf_follow_restart(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);
static ngx_uint_t ngx_http_hf_follow_stalled(ngx_http_hf_ctx_t *ctx);
static void ngx_http_hf_follow_cleanup(void *data);


ngx_int_t
ngx_http_hf_follow_start(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_pool_cleanup_t     *cln;
    ngx_http_hf_follow_t   *fw;

    fw = ngx_pcalloc(r->pool, sizeof(ngx_http_hf_follow_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (fw == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    fw->request = r;
    fw->file.fd = NGX_INVALID_FILE;
    fw->file.log = r->connection->log;

    fw->poll.handler = ngx_http_hf_follow_poll_handler;
    fw->poll.data = fw;
    fw->poll.log = r->connection->log;
    fw->waiter.event = &fw->poll;

    cln->handler = ngx_http_hf_follow_cleanup;
    cln->data = fw;

    ctx->follow = fw;

    /* after the handler returned */
    ngx_post_event(&fw->poll, &ngx_posted_events);

    return NGX_DONE;
}


static void
ngx_http_hf_follow_cleanup(void *data)
{
    ngx_http_hf_follow_t *fw = data;

    ngx_http_hf_follow_unwait(fw);

    if (fw->file.fd != NGX_INVALID_FILE) {
        (void) ngx_close_file(fw->file.fd);
        fw->file.fd = NGX_INVALID_FILE;
    }
}


static void
ngx_http_hf_follow_poll_handler(ngx_event_t *ev)
{
    ngx_connection_t      *c;
    ngx_http_request_t    *r;
    ngx_http_hf_ctx_t     *ctx;
    ngx_http_hf_follow_t  *fw;

    fw = ev->data;
    r = fw->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    ctx = ngx_http_get_module_ctx(r, ngx_http_hf_module);

    ngx_http_hf_follow_step(r, ctx);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_hf_follow_write_handler(ngx_http_request_t *r)
{
    ngx_http_hf_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hf_module);

    ngx_http_hf_follow_step(r, ctx);
}


static void
ngx_http_hf_follow_step(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    off_t                   limit, written;
    ngx_int_t               rc;
    ngx_connection_t       *c;
    ngx_http_hf_follow_t   *fw;

    fw = ctx->follow;
    c = r->connection;

    ngx_http_hf_follow_unwait(fw);

    rc = ngx_http_hf_fill_read(r, ctx->fill, &fw->view);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    if (ctx->awaiting) {
        /* another request asks the Hub for this file */

        if (rc == NGX_OK && fw->view.state == NGX_HTTP_HF_FILL_ASKING
            && !ngx_http_hf_follow_stalled(ctx))
        {
            ngx_http_hf_follow_poll(ctx);
            return;
        }

        ngx_http_hf_follow_restart(r, ctx);
        return;
    }

    if (!fw->streaming) {

        if (rc == NGX_DECLINED
            || fw->view.state == NGX_HTTP_HF_FILL_FREE
            || fw->view.state == NGX_HTTP_HF_FILL_FAILED
            || fw->view.state == NGX_HTTP_HF_FILL_VERIFIED
            || ngx_http_hf_follow_stalled(ctx))
        {
            /* nothing to follow (any more): the usual way */
            ngx_http_hf_follow_restart(r, ctx);
            return;
        }

        if (fw->view.state == NGX_HTTP_HF_FILL_STARTING
            || ngx_http_hf_follow_open(r, ctx) != NGX_OK)
        {
            ngx_http_hf_follow_poll(ctx);
            return;
        }

        ctx->cache_hit = 1;
        fw->streaming = 1;

        rc = ngx_http_hf_blob_send_headers(r, ctx);

        if (rc == NGX_ERROR || rc > NGX_OK) {
            ngx_http_finalize_request(r, rc);
            return;
        }
    }

    if (r->buffered || c->buffered) {
        /* the client has not taken the last bytes yet */

        rc = ngx_http_output_filter(r, NULL);

        if (rc == NGX_ERROR) {
            ngx_http_finalize_request(r, NGX_ERROR);
            return;
        }

        if (r->buffered || c->buffered) {
            ngx_http_hf_follow_wait(r, ctx, 0);
            return;
        }
    }

    if (rc == NGX_DECLINED || fw->view.state == NGX_HTTP_HF_FILL_FREE
        || fw->view.state == NGX_HTTP_HF_FILL_FAILED)
    {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "hf: the download of \"%V\" of \"%V\" that this "
                      "request followed failed after %O bytes; client "
                      "connection aborted",
                      &ctx->target.path, &ctx->target.repo, fw->sent);
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    /* every byte written but the last, until the hash matched */

    written = ngx_min(fw->view.written, ctx->file.size);

    if (fw->view.state != NGX_HTTP_HF_FILL_VERIFIED
        && written == ctx->file.size)
    {
        written--;
    }

    limit = ngx_min(written, fw->sent + (fw->sent ? NGX_HTTP_HF_FOLLOW_TURN
                                                  : NGX_HTTP_HF_FOLLOW_FIRST));

    if (limit > fw->sent) {
        rc = ngx_http_hf_follow_send(r, ctx, limit);

        if (rc == NGX_ERROR || limit == ctx->file.size) {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                           "hf follow: \"%V\" sent, rc:%i",
                           &ctx->cache_key, rc);
            ngx_http_finalize_request(r, rc == NGX_ERROR ? NGX_ERROR
                                                         : NGX_OK);
            return;
        }

    } else if (ngx_http_hf_follow_stalled(ctx)) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "hf: the download of \"%V\" of \"%V\" that this "
                      "request followed made no progress for %M ms; "
                      "client connection aborted",
                      &ctx->target.path, &ctx->target.repo,
                      ctx->conf->fill_timeout);
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    ngx_http_hf_follow_wait(r, ctx, limit < written);
}


/*
 * Until the client takes more or the download writes more: the write
 * event is armed (a request that never went through a subrequest has not
 * had it armed, and without it a full socket buffer stalls it), and the
 * poll timer looks at the download again; with bytes left to send now,
 * the next turn of the event loop does.
 */

static void
ngx_http_hf_follow_wait(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    ngx_uint_t more)
{
    ngx_http_core_loc_conf_t  *clcf;

    r->write_event_handler = ngx_http_hf_follow_write_handler;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (ngx_handle_write_event(r->connection->write, clcf->send_lowat)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    if (more) {
        ngx_post_event(&ctx->follow->poll, &ngx_posted_next_events);

    } else {
        ngx_http_hf_follow_poll(ctx);
    }
}


/* the follower's step runs, or it ends: no other wake-up is due */

static void
ngx_http_hf_follow_unwait(ngx_http_hf_follow_t *fw)
{
    if (fw->poll.timer_set) {
        ngx_del_timer(&fw->poll);
    }

    if (fw->poll.posted) {
        ngx_delete_posted_event(&fw->poll);
    }

    ngx_http_hf_fill_unwait(&fw->waiter);
}


/* until the download changes: woken by it in its worker, else a timer */

static void
ngx_http_hf_follow_poll(ngx_http_hf_ctx_t *ctx)
{
    ngx_http_hf_fill_wait(ctx->fill, &ctx->follow->waiter);
    ngx_add_timer(&ctx->follow->poll, NGX_HTTP_HF_FOLLOW_POLL);
}


static ngx_int_t
ngx_http_hf_follow_open(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_http_hf_follow_t  *fw;

    fw = ctx->follow;

    fw->file.fd = ngx_open_file(fw->view.path.data, NGX_FILE_RDONLY,
                                NGX_FILE_OPEN, 0);

    if (fw->file.fd == NGX_INVALID_FILE) {
        /* renamed into the cache already: its end is near */
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, ngx_errno,
                       "hf follow: \"%V\" cannot be opened",
                       &fw->view.path);
        return NGX_DECLINED;
    }

    fw->file.name = fw->view.path;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf follow: \"%V\" from \"%V\"", &ctx->cache_key,
                   &fw->view.path);

    return NGX_OK;
}


static ngx_int_t
ngx_http_hf_follow_send(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx,
    off_t limit)
{
    ngx_int_t              rc;
    ngx_buf_t             *b;
    ngx_chain_t           *out;
    ngx_http_hf_follow_t  *fw;

    fw = ctx->follow;

    /* a long download is sent in many pieces: their bufs are reused */

    out = ngx_chain_get_free_buf(r->pool, &fw->free);
    if (out == NULL) {
        return NGX_ERROR;
    }

    b = out->buf;
    ngx_memzero(b, sizeof(ngx_buf_t));

    b->tag = (ngx_buf_tag_t) &ngx_http_hf_module;
    b->in_file = 1;
    b->file = &fw->file;
    b->file_pos = fw->view.body_start + fw->sent;
    b->file_last = fw->view.body_start + limit;
    b->last_buf = (limit == ctx->file.size);
    b->flush = 1;

    fw->sent = limit;

    rc = ngx_http_output_filter(r, out);

    ngx_chain_update_chains(r->pool, &fw->free, &fw->busy, &out,
                            (ngx_buf_tag_t) &ngx_http_hf_module);

    return rc;
}


/* the download made no progress for hf_fill_timeout (its takeover time) */

static ngx_uint_t
ngx_http_hf_follow_stalled(ngx_http_hf_ctx_t *ctx)
{
    return ngx_time() - ctx->follow->view.progress
           > (time_t) (ctx->conf->fill_timeout / 1000);
}


/*
 * Before the headers, the request starts again: when the download it was
 * to follow is no more, as if there had been none (it fetches the blob
 * itself); when the question it waited for was answered or abandoned, to
 * find the download that started, or what was recorded, or to ask the
 * Hub itself (it does not wait twice).
 */

static void
ngx_http_hf_follow_restart(ngx_http_request_t *r, ngx_http_hf_ctx_t *ctx)
{
    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hf follow: \"%V\" starts again, %s", &ctx->file_key,
                   ctx->awaiting ? "its question answered"
                                 : "nothing to follow");

    if (ctx->awaiting) {
        ctx->awaiting = 0;
        ctx->awaited = 1;

    } else {
        ctx->no_follow = 1;
    }

    ctx->fill = NULL;
    ctx->follow = NULL;
    ctx->state = NGX_HTTP_HF_STATE_START;

    ngx_http_hf_run(r);
}
