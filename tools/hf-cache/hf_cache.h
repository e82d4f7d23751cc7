
/*
 * hf-cache: warms, lists and purges what ngx_http_hf_module caches.
 *
 * The concerns, one file each: main.c (the command line), http.c (libcurl
 * transfers and what the cache answered), warm.c (listing a repository
 * through the cache's API and downloading it, curl multi), progress.c,
 * records.c (the module's LMDB records), report.c (ls, du, show),
 * purge.c, cachefile.c (proxy_cache files), util.c.
 */


#ifndef _HF_CACHE_H_INCLUDED_
#define _HF_CACHE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "../../src/ngx_http_hf_records.h"


#define HFC_VERSION             "1.0.0"

/* exit statuses: documented in docs/hf-cache.md */
#define HFC_OK                  0
#define HFC_FAILED              1   /* a file failed, nothing matched */
#define HFC_USAGE               2
#define HFC_UNREACHABLE         3   /* endpoint, metadata or cache dir */

#define HFC_DEFAULT_ENDPOINT    "http://127.0.0.1:8080/hf"
#define HFC_DEFAULT_JOBS        4
#define HFC_MAX_JOBS            64


typedef struct {
    const char                 *command;
    const char                 *endpoint;
    const char                 *token;
    const char                 *revision;
    const char                 *type;        /* model, dataset, ... or NULL */
    const char                 *metadata;
    const char                 *cache;
    const char                 *levels;
    const char                 *dist;
    const char                 *older_than;
    char                      **include;
    size_t                      ninclude;
    char                      **exclude;
    size_t                      nexclude;
    char                      **args;
    size_t                      nargs;
    long                        jobs;
    unsigned                    json:1;
    unsigned                    dry_run:1;
    unsigned                    quiet:1;
} hfc_opts_t;


/* records.c: what the module recorded, read in one transaction */

typedef struct {
    char                       *key;         /* the LMDB key, NUL added */
    size_t                      key_len;
    char                       *dist;        /* fields of a split copy */
    char                       *kind;
    char                       *repo;
    char                       *commit;
    char                       *path;
    ngx_http_hf_file_rec_t      rec;
    unsigned                    purge:1;
} hfc_file_t;

typedef struct {
    char                       *key;
    size_t                      key_len;
    char                       *dist;
    char                       *kind;
    char                       *repo;
    char                       *rev;
    char                        commit[NGX_HTTP_HF_REC_COMMIT + 1];
    int64_t                     resolved;
    unsigned                    purge:1;
} hfc_rev_t;

typedef struct {
    char                       *key;
    size_t                      key_len;
    uint64_t                    size;
    int64_t                     verified;
    size_t                      users;       /* file records using it */
    size_t                      here;        /* of them, one repository's */
    unsigned                    purge:1;
} hfc_blob_t;

typedef struct {
    hfc_file_t                 *files;
    size_t                      nfiles;
    hfc_rev_t                  *revs;
    size_t                      nrevs;
    hfc_blob_t                 *blobs;
    size_t                      nblobs;
    size_t                      skipped;     /* records of another version */
} hfc_records_t;

/* a repository as the records know it */

typedef struct {
    const char                 *dist;
    const char                 *kind;
    const char                 *repo;
    size_t                      files;       /* present, not "missing" */
    size_t                      missing;
    size_t                      commits;
    size_t                      revisions;
    uint64_t                    size;        /* distinct blobs */
    uint64_t                    unique;      /* blobs no other repo uses */
    uint64_t                    hits;
    int64_t                     stored;      /* the latest */
    int64_t                     last_served;
} hfc_repo_t;


int hfc_records_load(const char *dir, hfc_records_t *r);
void hfc_records_free(hfc_records_t *r);
hfc_blob_t *hfc_records_blob(hfc_records_t *r, const char *key);
int hfc_records_repos(hfc_records_t *r, const hfc_opts_t *o,
    hfc_repo_t **repos, size_t *n);
int hfc_records_open_env(const char *dir, int write, void **env,
    unsigned *dbi);
int hfc_kind_match(const hfc_opts_t *o, const char *kind, int any);
void hfc_split_repo_rev(const char *arg, char **repo, char **rev);
int hfc_rev_matches(const hfc_rev_t *v, const char *rev);
int hfc_commit_matches(const char *commit, const char *rev);


/* the commands */

int hfc_warm(hfc_opts_t *o);
int hfc_ls(hfc_opts_t *o);
int hfc_du(hfc_opts_t *o);
int hfc_show(hfc_opts_t *o);
int hfc_purge(hfc_opts_t *o);


/* cachefile.c: proxy_cache's files */

typedef struct {
    int                         levels[3];
    size_t                      nlevels;
} hfc_levels_t;

int hfc_levels_parse(const char *s, hfc_levels_t *l);
void hfc_cache_path(const char *dir, const hfc_levels_t *l, const char *key,
    size_t key_len, char *out, size_t size);
int hfc_cache_read_key(const char *file, char *key, size_t size);
int hfc_cache_unlink(const char *file, const char *key, size_t key_len,
    uint64_t *freed);
typedef int (*hfc_cache_visit_pt)(const char *file, const char *key,
    void *data);
int hfc_cache_walk(const char *dir, hfc_cache_visit_pt visit, void *data);


/* progress.c */

typedef struct {
    int                         tty;
    int                         quiet;
    size_t                      files_total;
    size_t                      files_done;
    size_t                      files_failed;
    int64_t                     bytes_total;
    int64_t                     bytes_done;   /* finished files */
    int64_t                     bytes_active; /* files in flight */
    double                      start;
    double                      last_draw;
    unsigned                    drawn:1;
} hfc_progress_t;

void hfc_progress_start(hfc_progress_t *p, int quiet);
void hfc_progress_draw(hfc_progress_t *p, int force);
void hfc_progress_line(hfc_progress_t *p, FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hfc_progress_end(hfc_progress_t *p);


/* util.c */

extern const char *hfc_program;

void hfc_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hfc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *hfc_alloc(size_t size);
void *hfc_realloc(void *p, size_t size);
char *hfc_strdup(const char *s);
char *hfc_strndup(const char *s, size_t n);
char *hfc_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double hfc_now(void);
const char *hfc_size(uint64_t bytes, char *buf, size_t size);
const char *hfc_time(int64_t t, char *buf, size_t size);
const char *hfc_duration(double seconds, char *buf, size_t size);
int hfc_parse_duration(const char *s, int64_t *seconds);
char *hfc_escape(const char *s, int keep_slash);
int hfc_is_commit(const char *s);
const char *hfc_kind_api(const char *kind);
const char *hfc_kind_prefix(const char *kind);
const char *hfc_kind_name(const char *type);


#endif /* _HF_CACHE_H_INCLUDED_ */
