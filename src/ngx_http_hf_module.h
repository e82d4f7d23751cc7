
/*
 * ngx_http_hf_module: a Hugging Face Hub pull-through cache.
 *
 * Types shared by the glue file and the concerns under src/.
 */


#ifndef _NGX_HTTP_HF_MODULE_H_INCLUDED_
#define _NGX_HTTP_HF_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_HTTP_HF_COMMIT_LEN      40
#define NGX_HTTP_HF_SHA1_LEN        40
#define NGX_HTTP_HF_SHA256_LEN      64
#define NGX_HTTP_HF_MAX_PATH        2048
#define NGX_HTTP_HF_MAX_REV         255
#define NGX_HTTP_HF_MAX_REPO_PART   96
#define NGX_HTTP_HF_MAX_NAME        64      /* of a distribution */

#define ngx_http_hf_isalnum(c)                                                \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z')                 \
     || ((c) >= 'A' && (c) <= 'Z'))


/* lower-case hex digits only: commit ids, hashes */

static ngx_inline ngx_uint_t
ngx_http_hf_is_hex(u_char *p, size_t len)
{
    while (len--) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
            return 0;
        }

        p++;
    }

    return 1;
}


/* a commit id as the Hub writes it: 40 lower-case hex digits */

static ngx_inline ngx_uint_t
ngx_http_hf_is_commit(ngx_str_t *value)
{
    return value->len == NGX_HTTP_HF_COMMIT_LEN
           && ngx_http_hf_is_hex(value->data, value->len);
}


/* the first state of every request's state machine (ctx->state) */
#define NGX_HTTP_HF_STATE_START     0


/* internal locations added under each distribution (exact match) */
#define NGX_HTTP_HF_META_LOCATION   "@hf-meta"
#define NGX_HTTP_HF_BLOB_LOCATION   "@hf-blob"
#define NGX_HTTP_HF_API_LOCATION    "@hf-api"


typedef struct ngx_http_hf_store_s  ngx_http_hf_store_t;
typedef struct ngx_http_hf_metrics_dist_s  ngx_http_hf_metrics_dist_t;
typedef struct ngx_http_hf_fill_s  ngx_http_hf_fill_t;          /* fills.c */
typedef struct ngx_http_hf_follow_s  ngx_http_hf_follow_t;      /* follow.c */


typedef struct {
    ngx_str_t                   metadata_path;     /* hf_metadata */
    size_t                      metadata_size;
    ngx_array_t                 distributions;  /* ngx_http_hf_loc_conf_t * */
    ngx_http_hf_store_t        *store;             /* per worker */
    void                       *metrics_sh;        /* see metrics.c */
    ngx_shm_zone_t             *fills_zone;        /* see fills.c */
    ngx_flag_t                  metrics;           /* hf_metrics is used */
} ngx_http_hf_main_conf_t;


typedef struct {
    ngx_str_t                   name;        /* distribution; empty elsewhere */
    ngx_str_t                   prefix;      /* its location prefix */
    ngx_http_core_loc_conf_t   *clcf;        /* its location */

    ngx_str_t                   remote;      /* "https://huggingface.co" */
    ngx_str_t                   remote_origin;  /* scheme://host[:port] */
    ngx_str_t                   remote_path;    /* path part, no trailing / */

    ngx_str_t                   token;       /* "Bearer ..."; "" when off */
    ngx_array_t                *redirect_hosts;   /* ngx_str_t, lower case */
    ngx_msec_t                  fill_timeout;
    void                      **blob_loc_conf;    /* its blob location's */

    ngx_str_t                   verify_threads;   /* a thread pool, "off" */
    void                       *verify_pool;      /* ngx_thread_pool_t */

    ngx_str_t                   cache_zone;  /* hf_cache */
    ngx_shm_zone_t             *cache_shm;   /* its proxy_cache_path zone */
    ngx_str_t                   cache_scope; /* "public", "private/NAME" */
    time_t                      revision_ttl;
    ngx_flag_t                  cors;
    ngx_http_hf_metrics_dist_t *metrics;     /* its counters, shared */

    unsigned                    cache_unusable:1;  /* per worker: see dirs */
} ngx_http_hf_loc_conf_t;


/* the API endpoints served: ngx_http_hf_target_t's endpoint_id */

typedef enum {
    NGX_HTTP_HF_ENDPOINT_INFO = 0,           /* repository info: no endpoint */
    NGX_HTTP_HF_ENDPOINT_REVISION,
    NGX_HTTP_HF_ENDPOINT_TREE,
    NGX_HTTP_HF_ENDPOINT_PATHS_INFO
} ngx_http_hf_api_endpoint_e;


/* what a client asked for: PREFIX[datasets/|spaces/]REPO/resolve/REV/PATH */

typedef enum {
    NGX_HTTP_HF_MODEL = 0,
    NGX_HTTP_HF_DATASET,
    NGX_HTTP_HF_SPACE,
    NGX_HTTP_HF_KERNEL
} ngx_http_hf_kind_e;


typedef struct {
    ngx_http_hf_kind_e          kind;
    ngx_str_t                   kind_prefix;   /* "", "datasets/", ... */
    ngx_str_t                   repo;          /* "org/name" or "name" */
    ngx_str_t                   rev;           /* decoded */
    ngx_str_t                   path;          /* decoded */
    ngx_str_t                   args;          /* raw query, no '?' */
    ngx_str_t                   api_type;      /* "models", ... (API) */
    ngx_str_t                   endpoint;      /* "tree", ...; "" repo info */
    ngx_uint_t                  endpoint_id;   /* ngx_http_hf_api_endpoint_e */
    ngx_str_t                   api_rest;      /* raw, after REV: "/dir" */
    unsigned                    rev_is_commit:1;
} ngx_http_hf_target_t;


/* what is known of one file at one commit */

#define NGX_HTTP_HF_FILE_LFS        0x01    /* etag is a sha256 */
#define NGX_HTTP_HF_FILE_MISSING    0x02    /* not in the commit */

typedef struct {
    off_t                       size;
    ngx_uint_t                  flags;
    u_char                      etag[NGX_HTTP_HF_SHA256_LEN + 1];
    ngx_str_t                   content_type;
} ngx_http_hf_file_t;


/* request context kinds: a client request, or one of our fetches */

#define NGX_HTTP_HF_CTX_REQUEST     1
#define NGX_HTTP_HF_CTX_FETCH       2


typedef struct ngx_http_hf_ctx_s  ngx_http_hf_ctx_t;


typedef enum {
    NGX_HTTP_HF_FETCH_PENDING = 0,
    NGX_HTTP_HF_FETCH_DONE,           /* complete answer streamed/read */
    NGX_HTTP_HF_FETCH_REDIRECT,       /* 3xx; location saved */
    NGX_HTTP_HF_FETCH_UNVERIFIED,     /* cache hit with no verified record */
    NGX_HTTP_HF_FETCH_FAILED          /* anything else */
} ngx_http_hf_fetch_result_e;


typedef struct ngx_http_hf_fetch_s  ngx_http_hf_fetch_t;

/* what a fetch's owner does with its answer: see fetch.h, blob.c */
typedef ngx_int_t (*ngx_http_hf_fetch_header_pt)(ngx_http_request_t *sr,
    ngx_http_hf_fetch_t *f);
typedef ngx_int_t (*ngx_http_hf_fetch_body_pt)(ngx_http_request_t *sr,
    ngx_http_hf_fetch_t *f, ngx_chain_t *in);
typedef void (*ngx_http_hf_fetch_done_pt)(ngx_http_request_t *sr,
    ngx_http_hf_fetch_t *f);
typedef ngx_uint_t (*ngx_http_hf_fetch_test_pt)(ngx_http_request_t *sr,
    ngx_http_hf_fetch_t *f);


struct ngx_http_hf_fetch_s {
    ngx_uint_t                  type;         /* NGX_HTTP_HF_CTX_FETCH */
    ngx_http_hf_ctx_t          *request;      /* its owner's, for on_* */
    ngx_http_request_t         *sr;

    ngx_http_hf_fetch_header_pt on_header;    /* NULL: headers only */
    ngx_http_hf_fetch_body_pt   on_body;
    ngx_http_hf_fetch_done_pt   on_done;      /* it ended, before resume */
    ngx_http_hf_fetch_test_pt   transient;    /* an answer not to cache */
    ngx_http_event_handler_pt   resume;       /* the parent's, when it ends */

    ngx_str_t                   url;          /* absolute upstream URL */
    ngx_str_t                   cache_key;
    ngx_str_t                   cache_zone;
    ngx_str_t                   authorization;  /* empty: none sent */
    ngx_str_t                   content_type;   /* of a POST body */
    ngx_str_t                   range;          /* "bytes=a-b" of a direct */

    ngx_http_hf_fetch_result_e  result;
    ngx_int_t                   status;       /* upstream status or ours */
    ngx_str_t                   location;

    void                       *md;           /* EVP_MD_CTX while hashing */
    void                       *hasher;       /* or the pool's: hasher.c */
    ngx_event_pipe_input_filter_pt  input_filter;
    ngx_int_t                 (*input_filter_init)(void *data);

    off_t                       hashed;       /* bytes in, to be hashed */
    off_t                       offset;       /* bytes seen by the filter */
    off_t                       end;          /* offset after the last one */

    unsigned                    blob:1;       /* bytes through the cache */
    unsigned                    direct:1;     /* a range, not cached */
    unsigned                    background:1; /* a fill nobody waits for */
    unsigned                    api:1;        /* JSON, read in memory */
    unsigned                    post:1;
    unsigned                    no_cache:1;
    unsigned                    bypass:1;
    unsigned                    discard:1;
    unsigned                    streaming:1;
    unsigned                    verifying:1;
    unsigned                    corrupt:1;
    unsigned                    done:1;
    unsigned                    followed:1;   /* the Hub's redirect to itself */
    unsigned                    filling:1;    /* counted in the fills gauge */
    unsigned                    published:1;  /* followed (fills.c) */
    unsigned                    verified:1;   /* the hash matched */

    ngx_msec_t                  lock_renewed;  /* see blob_keep_lock() */
};


struct ngx_http_hf_ctx_s {
    ngx_uint_t                  type;         /* NGX_HTTP_HF_CTX_REQUEST */
    ngx_http_hf_loc_conf_t     *conf;

    /* the state machine of the request, run again when a fetch ends */
    ngx_int_t                 (*run)(ngx_http_request_t *r,
                                     ngx_http_hf_ctx_t *ctx);
    ngx_http_hf_target_t        target;

    ngx_uint_t                  state;        /* 0: START, see below */
    u_char                      commit[NGX_HTTP_HF_COMMIT_LEN + 1];
    ngx_http_hf_file_t          file;
    ngx_str_t                   cache_key;
    ngx_str_t                   file_key;     /* LMDB key of the file record */
    ngx_str_t                   body_hash;    /* sha256 of a POST body */

    ngx_http_hf_fetch_t        *fetch;        /* the one in flight */
    ngx_uint_t                  fetches;      /* how many were started */

    off_t                       upstream_bytes;  /* $hf_upstream_bytes */

    ngx_http_hf_fill_t         *fill;         /* the download claimed or */
    ngx_http_hf_follow_t       *follow;       /* followed (fills, follow) */

    off_t                       range_start;  /* inclusive */
    off_t                       range_end;    /* inclusive */

    unsigned                    have_commit:1;
    unsigned                    have_file:1;
    unsigned                    revision_stale:1;
    unsigned                    range:1;
    unsigned                    range_to_end:1;  /* "bytes=N-": a resume */
    unsigned                    cache_hit:1;  /* bytes came from the cache */
    unsigned                    hub_asked:1;  /* the Hub answered metadata */
    unsigned                    stale:1;      /* the Hub was unreachable */
    unsigned                    meta_at_commit:1;  /* asked at ctx->commit */
    unsigned                    hub_commit:1; /* the Hub named ctx->commit */
    unsigned                    missing:1;    /* recorded as not there */
    unsigned                    hub_answer:1; /* an error the Hub gave */
    unsigned                    no_follow:1;  /* fetch it, do not follow */
    unsigned                    awaiting:1;   /* another request's question */
    unsigned                    awaited:1;    /* ... ended: ask, do not wait */
};


extern ngx_module_t  ngx_http_hf_module;


#endif /* _NGX_HTTP_HF_MODULE_H_INCLUDED_ */
