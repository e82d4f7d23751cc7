
/*
 * Downloads in progress, shared by the workers: the first request for an
 * uncached blob claims it and downloads it; later requests for the same
 * blob follow that download (see follow.c) instead of waiting for it to
 * end.  A download publishes its temporary file, how many body bytes are
 * in it, and how it ended.
 */


#ifndef _NGX_HTTP_HF_FILLS_H_INCLUDED_
#define _NGX_HTTP_HF_FILLS_H_INCLUDED_


#include "ngx_http_hf_module.h"


typedef enum {
    NGX_HTTP_HF_FILL_FREE = 0,
    NGX_HTTP_HF_FILL_STARTING,       /* claimed: the blob fetch is on its way */
    NGX_HTTP_HF_FILL_RUNNING,        /* bytes are in the temporary file */
    NGX_HTTP_HF_FILL_VERIFIED,       /* all there, the hash matched */
    NGX_HTTP_HF_FILL_FAILED,         /* aborted, corrupt, or its worker died */
    NGX_HTTP_HF_FILL_ASKING          /* claimed by file: its metadata request
                                        is on its way */
} ngx_http_hf_fill_state_e;


/* what a follower reads of a download */

typedef struct {
    ngx_http_hf_fill_state_e    state;
    off_t                       written;      /* body bytes in the file */
    off_t                       body_start;   /* where the body starts */
    ngx_str_t                   path;         /* the temporary file */
    time_t                      progress;     /* when bytes last came */
} ngx_http_hf_fill_view_t;


/*
 * A follower that waits, in the worker of the download's claimant, is
 * woken when the download changes: its question answered, its first
 * bytes, more bytes, its end (its event is posted).  Followers in other
 * workers look again every few milliseconds.
 */

typedef struct {
    ngx_queue_t                 queue;        /* next is NULL: not waiting */
    ngx_event_t                *event;
} ngx_http_hf_fill_waiter_t;


/* the shared memory zone, when there are distributions */
ngx_int_t ngx_http_hf_fills_init(ngx_conf_t *cf,
    ngx_http_hf_main_conf_t *hmcf);

/*
 * For a whole GET of ctx's uncached blob: NGX_OK, this request claimed the
 * download (ctx->fill is its claim: the question it claimed, if it did,
 * becomes the download, so that those who waited for it find it);
 * NGX_BUSY, another request downloads it (ctx->fill is that download, to
 * follow); NGX_DECLINED, neither.
 */
ngx_int_t ngx_http_hf_fill_claim(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx);

/*
 * Before a whole GET asks the Hub for ctx's file (ctx->file_key: this file
 * at this commit): NGX_OK, a download of it runs and ctx->file is what its
 * claimant learnt from the Hub; NGX_BUSY, another request is asking the
 * Hub for it (ctx->fill is that question, to wait for); NGX_DECLINED, ask
 * the Hub: unless ask is 0, ctx->fill is then this request's claim of the
 * question (when a slot was free), which ngx_http_hf_fill_claim() turns
 * into the download, or ngx_http_hf_fill_answered() ends.
 */
ngx_int_t ngx_http_hf_fill_find_file(ngx_http_request_t *r,
    ngx_http_hf_ctx_t *ctx, ngx_uint_t ask);

/* the question claimed was answered, and no download follows from it */
void ngx_http_hf_fill_answered(ngx_http_hf_ctx_t *ctx);

/* whether ctx->fill is a question this request asks (not a download) */
ngx_uint_t ngx_http_hf_fill_asking(ngx_http_hf_fill_t *fill);

/* the claimant's download: its file, its progress, its end */
void ngx_http_hf_fill_progress(ngx_http_request_t *sr,
    ngx_http_hf_fetch_t *f);
void ngx_http_hf_fill_done(ngx_http_request_t *sr, ngx_http_hf_fetch_t *f);

void ngx_http_hf_fill_wait(ngx_http_hf_fill_t *fill,
    ngx_http_hf_fill_waiter_t *waiter);
void ngx_http_hf_fill_unwait(ngx_http_hf_fill_waiter_t *waiter);

/* a follower's view; NGX_DECLINED when the slot is another download now */
ngx_int_t ngx_http_hf_fill_read(ngx_http_request_t *r, ngx_http_hf_fill_t *fill,
    ngx_http_hf_fill_view_t *view);


#endif /* _NGX_HTTP_HF_FILLS_H_INCLUDED_ */
