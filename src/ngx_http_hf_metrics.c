
/*
 * Metrics.  One shared memory zone holds a slot of counters for each
 * distribution, found by its name, so that a reload keeps them (nginx
 * reuses a zone of the same name, size and module) and a distribution
 * added by the reload gets a free slot.  Counters are atomic adds; the
 * log phase counts answers, the fetch layer counts upstream requests.
 *
 * The fills gauge is a slot per worker process (by pid): a worker that
 * dies mid-download leaves its slot behind, and a slot counts only while
 * its process lives, so the gauge never drifts.
 *
 * "hf_metrics" answers the Prometheus text format (0.0.4), or JSON with
 * ?format=json.
 */


#include "ngx_http_hf_metrics.h"
#include "ngx_http_hf_json.h"
#include "ngx_http_hf_store.h"
#include "ngx_http_hf_util.h"
#include "ngx_http_hf_variables.h"

#include <jansson.h>


#define NGX_HTTP_HF_METRICS_ZONE       "hf_metrics"
#define NGX_HTTP_HF_METRICS_DISTS      64
#define NGX_HTTP_HF_METRICS_WORKERS    1024


/* the labels, in the order of the counters' arrays */

static ngx_str_t  ngx_http_hf_metrics_sources[] = {
    ngx_string("cache"),
    ngx_string("upstream")
};

#define NGX_HTTP_HF_SOURCES             2

static ngx_str_t  ngx_http_hf_metrics_kinds[] = {
    ngx_string("meta"),
    ngx_string("blob"),
    ngx_string("api")
};

#define NGX_HTTP_HF_KIND_META           0
#define NGX_HTTP_HF_KIND_BLOB           1
#define NGX_HTTP_HF_KIND_API            2
#define NGX_HTTP_HF_KINDS               3

static ngx_str_t  ngx_http_hf_metrics_classes[] = {
    ngx_string("2xx"),
    ngx_string("3xx"),
    ngx_string("4xx"),
    ngx_string("429"),
    ngx_string("5xx"),
    ngx_string("error")
};

#define NGX_HTTP_HF_CLASS_429           3
#define NGX_HTTP_HF_CLASS_5XX           4
#define NGX_HTTP_HF_CLASS_ERROR         5
#define NGX_HTTP_HF_CLASSES             6


typedef struct {
    ngx_atomic_t                requests[NGX_HTTP_HF_CACHE_STATUSES];
    ngx_atomic_t                sent_bytes[NGX_HTTP_HF_SOURCES];
    ngx_atomic_t                upstream_requests[NGX_HTTP_HF_KINDS]
                                                 [NGX_HTTP_HF_CLASSES];
    ngx_atomic_t                upstream_bytes;
    ngx_atomic_t                verify_failures;
    ngx_atomic_t                verified;
} ngx_http_hf_counters_t;


struct ngx_http_hf_metrics_dist_s {
    size_t                      len;             /* 0: a free slot */
    u_char                      name[NGX_HTTP_HF_MAX_NAME];
    ngx_http_hf_counters_t      counters;
};


typedef struct {
    ngx_atomic_t                pid;             /* 0: a free slot */
    ngx_atomic_t                fills;
} ngx_http_hf_metrics_worker_t;


typedef struct {
    ngx_http_hf_metrics_dist_t    dists[NGX_HTTP_HF_METRICS_DISTS];
    ngx_http_hf_metrics_worker_t  workers[NGX_HTTP_HF_METRICS_WORKERS];
} ngx_http_hf_metrics_sh_t;


static ngx_int_t ngx_http_hf_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_hf_metrics_dist_t *ngx_http_hf_metrics_slot(
    ngx_http_hf_metrics_sh_t *sh, ngx_str_t *name, ngx_log_t *log);
static ngx_int_t ngx_http_hf_metrics_log_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_hf_metrics_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_hf_metrics_fills(ngx_http_hf_metrics_sh_t *sh);
static ngx_chain_t *ngx_http_hf_metrics_text(ngx_http_request_t *r,
    ngx_http_hf_main_conf_t *hmcf);
static ngx_chain_t *ngx_http_hf_metrics_json(ngx_http_request_t *r,
    ngx_http_hf_main_conf_t *hmcf);


/* this worker's slot of the fills gauge */
static ngx_http_hf_metrics_worker_t  *ngx_http_hf_metrics_self;


ngx_int_t
ngx_http_hf_metrics_init(ngx_conf_t *cf, ngx_http_hf_main_conf_t *hmcf)
{
    ngx_str_t                   name;
    ngx_shm_zone_t             *zone;
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    if (hmcf->distributions.nelts == 0 && !hmcf->metrics) {
        return NGX_OK;
    }

    ngx_str_set(&name, NGX_HTTP_HF_METRICS_ZONE);

    /* fixed size: a reload with other distributions keeps the zone */

    zone = ngx_shared_memory_add(cf, &name,
                                 8 * ngx_pagesize
                                 + sizeof(ngx_http_hf_metrics_sh_t),
                                 &ngx_http_hf_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_http_hf_metrics_init_zone;
    zone->data = hmcf;

    if (hmcf->distributions.nelts == 0) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_hf_metrics_log_handler;

    return NGX_OK;
}


/*
 * In the master, before the workers start: the counters of an old zone
 * are kept; each distribution of this configuration finds its slot.
 */

static ngx_int_t
ngx_http_hf_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_uint_t                 i;
    ngx_slab_pool_t           *shpool;
    ngx_http_hf_loc_conf_t   **dist;
    ngx_http_hf_main_conf_t   *hmcf;
    ngx_http_hf_metrics_sh_t  *sh;

    hmcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data) {
        sh = shpool->data;

    } else {
        sh = ngx_slab_calloc(shpool, sizeof(ngx_http_hf_metrics_sh_t));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        shpool->data = sh;
    }

    hmcf->metrics_sh = sh;

    dist = hmcf->distributions.elts;

    for (i = 0; i < hmcf->distributions.nelts; i++) {
        dist[i]->metrics = ngx_http_hf_metrics_slot(sh, &dist[i]->name,
                                                    shm_zone->shm.log);
    }

    return NGX_OK;
}


static ngx_http_hf_metrics_dist_t *
ngx_http_hf_metrics_slot(ngx_http_hf_metrics_sh_t *sh, ngx_str_t *name,
    ngx_log_t *log)
{
    ngx_uint_t                   i;
    ngx_http_hf_metrics_dist_t  *free;

    free = NULL;

    for (i = 0; i < NGX_HTTP_HF_METRICS_DISTS; i++) {

        if (sh->dists[i].len == 0) {
            if (free == NULL) {
                free = &sh->dists[i];
            }

            continue;
        }

        if (sh->dists[i].len == name->len
            && ngx_strncmp(sh->dists[i].name, name->data, name->len) == 0)
        {
            return &sh->dists[i];
        }
    }

    if (free == NULL) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "hf: more than %d distributions: \"%V\" is not "
                      "counted in hf_metrics", NGX_HTTP_HF_METRICS_DISTS,
                      name);
        return NULL;
    }

    /* only the master writes slots: old workers never read a free one */

    ngx_memcpy(free->name, name->data, name->len);
    free->len = name->len;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "hf metrics: slot %ui for distribution \"%V\"",
                   (ngx_uint_t) (free - sh->dists), name);

    return free;
}


void
ngx_http_hf_metrics_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                     i;
    ngx_atomic_uint_t              pid;
    ngx_http_hf_metrics_sh_t      *sh;
    ngx_http_hf_main_conf_t       *hmcf;
    ngx_http_hf_metrics_worker_t  *w;

    ngx_http_hf_metrics_self = NULL;

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hf_module);

    if (hmcf == NULL || hmcf->metrics_sh == NULL) {
        return;
    }

    sh = hmcf->metrics_sh;

    for (i = 0; i < NGX_HTTP_HF_METRICS_WORKERS; i++) {
        w = &sh->workers[i];
        pid = w->pid;

        /* a free slot, or one of a process that is gone */

        if ((pid == 0 || !ngx_http_hf_pid_alive((ngx_pid_t) pid))
            && ngx_atomic_cmp_set(&w->pid, pid, (ngx_atomic_uint_t) ngx_pid))
        {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                           "hf metrics: worker slot %ui", i);

            w->fills = 0;
            ngx_http_hf_metrics_self = w;
            return;
        }
    }

    ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                  "hf: no slot left for this worker in hf_metrics: "
                  "its downloads are not in hf_fills_in_progress");
}


static ngx_uint_t
ngx_http_hf_metrics_fills(ngx_http_hf_metrics_sh_t *sh)
{
    ngx_uint_t         i, n;
    ngx_atomic_uint_t  pid;

    n = 0;

    for (i = 0; i < NGX_HTTP_HF_METRICS_WORKERS; i++) {
        pid = sh->workers[i].pid;

        if (pid && ngx_http_hf_pid_alive((ngx_pid_t) pid)) {
            n += sh->workers[i].fills;
        }
    }

    return n;
}


static void
ngx_http_hf_metrics_fill_cleanup(void *data)
{
    ngx_http_hf_metrics_fill_end(data);
}


/*
 * A download into the cache began: counted until its fetch ends, or its
 * request is freed (a client that went away ends no fetch).
 */

ngx_int_t
ngx_http_hf_metrics_fill_start(ngx_http_request_t *r, ngx_http_hf_fetch_t *f)
{
    ngx_pool_cleanup_t  *cln;

    if (ngx_http_hf_metrics_self == NULL || f->filling) {
        return NGX_OK;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_hf_metrics_fill_cleanup;
    cln->data = f;

    f->filling = 1;
    (void) ngx_atomic_fetch_add(&ngx_http_hf_metrics_self->fills, 1);

    return NGX_OK;
}


void
ngx_http_hf_metrics_fill_end(ngx_http_hf_fetch_t *f)
{
    if (!f->filling) {
        return;
    }

    f->filling = 0;
    (void) ngx_atomic_fetch_add(&ngx_http_hf_metrics_self->fills,
                                (ngx_atomic_int_t) -1);
}


/*
 * The answer to a client, in the log phase: by its cache status, and its
 * body bytes by where they came from.  ERROR is an answer >= 400 that the
 * module made itself (a bad URL, the Hub unreachable...); the Hub's own
 * errors, passed on or recorded, keep the status of how they were had.
 */

static ngx_int_t
ngx_http_hf_metrics_log_handler(ngx_http_request_t *r)
{
    off_t                    sent;
    ngx_uint_t               status, source;
    ngx_http_hf_ctx_t       *ctx;
    ngx_http_hf_counters_t  *c;
    ngx_http_hf_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hf_module);

    if (hlcf->metrics == NULL || r != r->main) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_hf_module);

    if (ctx && ctx->type != NGX_HTTP_HF_CTX_REQUEST) {
        return NGX_OK;
    }

    if (ctx == NULL && r->headers_out.status < NGX_HTTP_BAD_REQUEST) {
        /* a CORS preflight: no file, no API answer */
        return NGX_OK;
    }

    c = &hlcf->metrics->counters;

    if (r->headers_out.status >= NGX_HTTP_BAD_REQUEST
        && (ctx == NULL || !ctx->hub_answer))
    {
        (void) ngx_atomic_fetch_add(&c->requests[NGX_HTTP_HF_CACHE_ERROR], 1);
        return NGX_OK;
    }

    status = ngx_http_hf_cache_status(r, ctx);
    (void) ngx_atomic_fetch_add(&c->requests[status], 1);

    sent = r->connection->sent - r->header_size;

    if (sent > 0) {
        source = (status == NGX_HTTP_HF_CACHE_MISS) ? 1 : 0;
        (void) ngx_atomic_fetch_add(&c->sent_bytes[source], sent);
    }

    return NGX_OK;
}


/*
 * A fetch ended.  An answer from proxy_cache asked nothing upstream; any
 * other was one request to the Hub or its CDN, by its status class, or
 * "error" when no answer came (connect, timeout, reset).
 */

void
ngx_http_hf_metrics_fetch_done(ngx_http_request_t *sr, ngx_http_hf_fetch_t *f)
{
    off_t                    bytes;
    ngx_uint_t               kind, class, status;
    ngx_http_upstream_t     *u;
    ngx_http_hf_counters_t  *c;

    ngx_http_hf_metrics_fill_end(f);

    u = sr->upstream;

    if (u == NULL || u->cache_status == NGX_HTTP_CACHE_HIT) {
        return;
    }

    bytes = (u->state && u->state->response_length > 0)
            ? u->state->response_length : 0;

    f->request->upstream_bytes += bytes;

    if (f->request->conf->metrics == NULL) {
        return;
    }

    c = &f->request->conf->metrics->counters;

    kind = f->blob ? NGX_HTTP_HF_KIND_BLOB
                   : (f->api ? NGX_HTTP_HF_KIND_API : NGX_HTTP_HF_KIND_META);

    status = u->headers_in.status_n;

    if (status == 0) {
        class = NGX_HTTP_HF_CLASS_ERROR;

    } else if (status == NGX_HTTP_TOO_MANY_REQUESTS) {
        class = NGX_HTTP_HF_CLASS_429;

    } else if (status >= 200 && status < 600) {
        class = status / 100 - 2;      /* 2xx 3xx 4xx, then 5xx after 429 */
        if (class == 3) {
            class = NGX_HTTP_HF_CLASS_5XX;
        }

    } else {
        class = NGX_HTTP_HF_CLASS_ERROR;
    }

    (void) ngx_atomic_fetch_add(&c->upstream_requests[kind][class], 1);

    if (bytes) {
        (void) ngx_atomic_fetch_add(&c->upstream_bytes, bytes);
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                   "hf metrics: %V upstream %ui (%V), %O bytes",
                   &ngx_http_hf_metrics_kinds[kind], status,
                   &ngx_http_hf_metrics_classes[class], bytes);
}


void
ngx_http_hf_metrics_verify_failed(ngx_http_hf_loc_conf_t *conf)
{
    if (conf->metrics) {
        (void) ngx_atomic_fetch_add(&conf->metrics->counters.verify_failures,
                                    1);
    }
}


void
ngx_http_hf_metrics_verified(ngx_http_hf_loc_conf_t *conf)
{
    if (conf->metrics) {
        (void) ngx_atomic_fetch_add(&conf->metrics->counters.verified, 1);
    }
}


char *
ngx_http_hf_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hf_main_conf_t   *hmcf;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler) {
        return "is duplicate, or the location has a content handler";
    }

    clcf->handler = ngx_http_hf_metrics_handler;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hf_module);
    hmcf->metrics = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_hf_metrics_handler(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_str_t                 format;
    ngx_uint_t                json;
    ngx_chain_t              *out;
    ngx_http_hf_main_conf_t  *hmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hf_module);

    if (hmcf->metrics_sh == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    json = 0;

    if (ngx_http_arg(r, (u_char *) "format", sizeof("format") - 1, &format)
        == NGX_OK)
    {
        json = (format.len == sizeof("json") - 1
                && ngx_strncmp(format.data, "json", sizeof("json") - 1) == 0);
    }

    out = json ? ngx_http_hf_metrics_json(r, hmcf)
               : ngx_http_hf_metrics_text(r, hmcf);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (json) {
        ngx_str_set(&r->headers_out.content_type, "application/json");

    } else {
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = ngx_buf_size(out->buf);

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


/*
 * The counter families of a distribution, for both formats: the counters
 * of a family are contiguous in ngx_http_hf_counters_t, by its first
 * label's values, then its second's.
 */

typedef struct {
    const char                 *name;
    const char                 *help;
    const char                 *json;        /* its member in JSON */
    const char                 *label[2];    /* after "distribution" */
    ngx_str_t                  *values[2];
    ngx_uint_t                  nvalues[2];
    size_t                      offset;
} ngx_http_hf_metrics_family_t;


static ngx_http_hf_metrics_family_t  ngx_http_hf_metrics_families[] = {

    { "hf_requests_total",
      "Answers to clients by cache status: HIT (nothing asked of the Hub), "
      "REVALIDATED, MISS, STALE (the Hub unreachable), ERROR (an error "
      "the cache made itself).",
      "requests",
      { "cache_status", NULL }, { ngx_http_hf_cache_status_names, NULL },
      { NGX_HTTP_HF_CACHE_STATUSES, 1 },
      offsetof(ngx_http_hf_counters_t, requests) },

    { "hf_sent_bytes_total",
      "Body bytes sent to clients, from the cache or as they came from "
      "upstream.",
      "sent_bytes",
      { "source", NULL }, { ngx_http_hf_metrics_sources, NULL },
      { NGX_HTTP_HF_SOURCES, 1 },
      offsetof(ngx_http_hf_counters_t, sent_bytes) },

    { "hf_upstream_requests_total",
      "Requests to the Hub and its CDN: meta (HEAD of a file), blob "
      "(bytes), api; by status class, 429 apart, error: no answer.",
      "upstream_requests",
      { "kind", "status" },
      { ngx_http_hf_metrics_kinds, ngx_http_hf_metrics_classes },
      { NGX_HTTP_HF_KINDS, NGX_HTTP_HF_CLASSES },
      offsetof(ngx_http_hf_counters_t, upstream_requests) },

    { "hf_upstream_bytes_total",
      "Body bytes received from the Hub and its CDN.",
      "upstream_bytes",
      { NULL, NULL }, { NULL, NULL }, { 1, 1 },
      offsetof(ngx_http_hf_counters_t, upstream_bytes) },

    { "hf_verify_failures_total",
      "Downloads refused: their bytes did not match the hash, or were too "
      "many; nothing of them was cached.",
      "verify_failures",
      { NULL, NULL }, { NULL, NULL }, { 1, 1 },
      offsetof(ngx_http_hf_counters_t, verify_failures) },

    { "hf_verified_blobs_total",
      "Downloads whose hash matched, recorded as cached.",
      "verified_blobs",
      { NULL, NULL }, { NULL, NULL }, { 1, 1 },
      offsetof(ngx_http_hf_counters_t, verified) }
};

#define NGX_HTTP_HF_FAMILIES                                                  \
    (sizeof(ngx_http_hf_metrics_families)                                     \
     / sizeof(ngx_http_hf_metrics_family_t))


static ngx_atomic_t *
ngx_http_hf_metrics_counters(ngx_http_hf_loc_conf_t *dist,
    ngx_http_hf_metrics_family_t *fam)
{
    return (ngx_atomic_t *) ((u_char *) &dist->metrics->counters
                             + fam->offset);
}


static ngx_chain_t *
ngx_http_hf_metrics_chain(ngx_http_request_t *r, ngx_buf_t *b)
{
    ngx_chain_t  *out;

    b->last_buf = (r == r->main);
    b->last_in_chain = 1;

    out = ngx_alloc_chain_link(r->pool);
    if (out == NULL) {
        return NULL;
    }

    out->buf = b;
    out->next = NULL;

    return out;
}


/* the Prometheus text format: each family's help and type, its samples */

static ngx_chain_t *
ngx_http_hf_metrics_text(ngx_http_request_t *r, ngx_http_hf_main_conf_t *hmcf)
{
    size_t                         len;
    u_char                        *p;
    ngx_buf_t                     *b;
    ngx_uint_t                     i, j, k, n, f;
    ngx_atomic_t                  *c;
    ngx_http_hf_loc_conf_t       **dist;
    ngx_http_hf_store_usage_t      usage;
    ngx_http_hf_metrics_family_t  *fam;

    dist = hmcf->distributions.elts;
    n = hmcf->distributions.nelts;

    /* the help lines, then a distribution's samples: 28 counters */

    len = 4096 + n * sizeof(ngx_http_hf_counters_t) / sizeof(ngx_atomic_t)
                   * (sizeof("hf_upstream_requests_total{distribution=\"\","
                             "kind=\"meta\",status=\"error\"} ")
                      + NGX_HTTP_HF_MAX_NAME + NGX_ATOMIC_T_LEN + 1);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = b->last;

    for (f = 0; f < NGX_HTTP_HF_FAMILIES; f++) {
        fam = &ngx_http_hf_metrics_families[f];

        p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s counter\n",
                        fam->name, fam->help, fam->name);

        for (i = 0; i < n; i++) {
            if (dist[i]->metrics == NULL) {
                continue;
            }

            c = ngx_http_hf_metrics_counters(dist[i], fam);

            for (j = 0; j < fam->nvalues[0]; j++) {
                for (k = 0; k < fam->nvalues[1]; k++) {
                    p = ngx_sprintf(p, "%s{distribution=\"%V\"", fam->name,
                                    &dist[i]->name);

                    if (fam->label[0]) {
                        p = ngx_sprintf(p, ",%s=\"%V\"", fam->label[0],
                                        &fam->values[0][j]);
                    }

                    if (fam->label[1]) {
                        p = ngx_sprintf(p, ",%s=\"%V\"", fam->label[1],
                                        &fam->values[1][k]);
                    }

                    p = ngx_sprintf(p, "} %uA\n",
                                    c[j * fam->nvalues[1] + k]);
                }
            }
        }
    }

    p = ngx_sprintf(p, "# HELP hf_fills_in_progress Downloads into the "
                    "cache running now, in all workers.\n"
                    "# TYPE hf_fills_in_progress gauge\n"
                    "hf_fills_in_progress %ui\n",
                    ngx_http_hf_metrics_fills(hmcf->metrics_sh));

    if (ngx_http_hf_store_usage(hmcf->store, &usage) == NGX_OK) {
        p = ngx_sprintf(p, "# HELP hf_metadata_used_bytes Bytes of the LMDB "
                        "map in use (hf_metadata).\n"
                        "# TYPE hf_metadata_used_bytes gauge\n"
                        "hf_metadata_used_bytes %uz\n"
                        "# HELP hf_metadata_size_bytes The LMDB map size: "
                        "what hf_metadata size= allows.\n"
                        "# TYPE hf_metadata_size_bytes gauge\n"
                        "hf_metadata_size_bytes %uz\n"
                        "# HELP hf_metadata_records Records in LMDB: "
                        "branches and tags resolved, files, verified "
                        "blobs.\n"
                        "# TYPE hf_metadata_records gauge\n"
                        "hf_metadata_records{kind=\"revisions\"} %uz\n"
                        "hf_metadata_records{kind=\"files\"} %uz\n"
                        "hf_metadata_records{kind=\"blobs\"} %uz\n",
                        usage.used, usage.map_size, usage.revisions,
                        usage.files, usage.blobs);
    }

    b->last = p;

    return ngx_http_hf_metrics_chain(r, b);
}


/* the same numbers as JSON, by distribution, with jansson */

static ngx_chain_t *
ngx_http_hf_metrics_json(ngx_http_request_t *r, ngx_http_hf_main_conf_t *hmcf)
{
    json_t                        *root, *dists, *d, *o, *inner;
    ngx_str_t                      text;
    ngx_buf_t                     *b;
    ngx_uint_t                     i, j, k, n, f;
    ngx_atomic_t                  *c;
    ngx_http_hf_loc_conf_t       **dist;
    ngx_http_hf_store_usage_t      usage;
    ngx_http_hf_metrics_family_t  *fam;

    root = json_object();
    dists = json_object();

    if (root == NULL || dists == NULL) {
        json_decref(root);
        json_decref(dists);
        return NULL;
    }

    (void) json_object_set_new(root, "distributions", dists);

    dist = hmcf->distributions.elts;
    n = hmcf->distributions.nelts;

    for (i = 0; i < n; i++) {
        if (dist[i]->metrics == NULL) {
            continue;
        }

        d = json_object();
        (void) json_object_setn_new(dists, (char *) dist[i]->name.data,
                                    dist[i]->name.len, d);

        for (f = 0; f < NGX_HTTP_HF_FAMILIES; f++) {
            fam = &ngx_http_hf_metrics_families[f];
            c = ngx_http_hf_metrics_counters(dist[i], fam);

            if (fam->label[0] == NULL) {
                (void) json_object_set_new(d, fam->json, json_integer(*c));
                continue;
            }

            o = json_object();
            (void) json_object_set_new(d, fam->json, o);

            for (j = 0; j < fam->nvalues[0]; j++) {

                if (fam->label[1] == NULL) {
                    (void) json_object_set_new(o,
                               (char *) fam->values[0][j].data,
                               json_integer(c[j]));
                    continue;
                }

                inner = json_object();
                (void) json_object_set_new(o, (char *) fam->values[0][j].data,
                                           inner);

                for (k = 0; k < fam->nvalues[1]; k++) {
                    (void) json_object_set_new(inner,
                               (char *) fam->values[1][k].data,
                               json_integer(c[j * fam->nvalues[1] + k]));
                }
            }
        }
    }

    (void) json_object_set_new(root, "fills_in_progress",
               json_integer(ngx_http_hf_metrics_fills(hmcf->metrics_sh)));

    if (ngx_http_hf_store_usage(hmcf->store, &usage) == NGX_OK) {
        o = json_pack("{sI sI s{sI sI sI}}",
                      "used_bytes", (json_int_t) usage.used,
                      "size_bytes", (json_int_t) usage.map_size,
                      "records",
                      "revisions", (json_int_t) usage.revisions,
                      "files", (json_int_t) usage.files,
                      "blobs", (json_int_t) usage.blobs);
        (void) json_object_set_new(root, "metadata", o);
    }

    if (ngx_http_hf_json_dump(r->pool, root, JSON_INDENT(2)|JSON_SORT_KEYS,
                              &text)
        != NGX_OK)
    {
        return NULL;
    }

    b = ngx_create_temp_buf(r->pool, text.len + 1);
    if (b == NULL) {
        return NULL;
    }

    b->last = ngx_cpymem(b->last, text.data, text.len);
    *b->last++ = LF;

    return ngx_http_hf_metrics_chain(r, b);
}
