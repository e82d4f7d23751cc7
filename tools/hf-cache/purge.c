
/*
 * hf-cache purge: records, then the bytes no remaining record uses.
 *
 * Safe while nginx runs, in this order:
 *
 * 1. everything is read in one read transaction and the plan made there;
 * 2. the file, revision and blob records go in short write transactions
 *    (LMDB has one writer at a time: a long one would stall nginx's
 *    workers, which record files and hits on their request path); a file
 *    record chosen by age is read again first, and kept if it was served
 *    since;
 * 3. then the proxy_cache files of the blobs, each checked by its KEY line.
 *
 * nginx serves a blob only with its record (a file without one is
 * fetched again and verified), and fetches an entry again when its file
 * is gone: a request between two steps, or a record added meanwhile for
 * a blob just purged, costs a download, never a wrong answer.
 *
 * The cached API answers (hf:api:...) of a commit with no file record
 * left go too: they are kept under their URL at the commit and would
 * otherwise still list files the cache no longer has.
 */


#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hf_cache.h"


#define HFC_BATCH  256


typedef struct {
    const char                 *dist;
    const char                 *kind;
    const char                 *repo;
    const char                 *commit;      /* NULL: every commit */
    const char                 *scope;       /* of dist; NULL: any */
    size_t                      files;
    size_t                      revisions;
    size_t                      blobs;
    size_t                      kept;        /* blobs others still use */
    uint64_t                    bytes;
    unsigned                    whole:1;     /* REPO without @REV */
} hfc_target_t;

typedef struct {
    hfc_opts_t                 *opts;
    hfc_records_t               records;
    hfc_levels_t                levels;
    hfc_target_t               *targets;     /* one per repo purged */
    size_t                      ntargets;
    hfc_target_t               *api;         /* API answers to remove */
    size_t                      napi;
    int64_t                     cutoff;      /* --older-than */
    size_t                      api_removed;
    size_t                      cache_removed;
    size_t                      cache_absent;
    uint64_t                    freed;       /* the blobs' files */
    uint64_t                    api_freed;
} hfc_purge_t;


static size_t hfc_purge_select(hfc_purge_t *p, const char *repo,
    const char *rev);
static int hfc_purge_old(hfc_purge_t *p, hfc_file_t *f);
static hfc_target_t *hfc_purge_target(hfc_purge_t *p, const char *dist,
    const char *kind, const char *repo);
static void hfc_purge_plan(hfc_purge_t *p);
static int hfc_purge_records(hfc_purge_t *p);
static void hfc_purge_blobs(hfc_purge_t *p);
static int hfc_purge_api_visit(const char *file, const char *key, void *data);
static const char *hfc_purge_scope(hfc_purge_t *p, const char *dist);


int
hfc_purge(hfc_opts_t *o)
{
    int            rc;
    char          *repo, *rev, n[2][32];
    size_t         i, nfiles, nrevs, nblobs;
    int64_t        age;
    struct stat    st;
    hfc_purge_t    p;
    hfc_target_t  *t;

    memset(&p, 0, sizeof(hfc_purge_t));
    p.opts = o;

    if ((o->nargs == 0) == (o->older_than == NULL)) {
        hfc_error("purge: give REPO[@REV]... or --older-than DURATION");
        return HFC_USAGE;
    }

    if (o->older_than) {
        if (hfc_parse_duration(o->older_than, &age) != 0) {
            hfc_error("--older-than \"%s\": not a duration (30d, 12h, 90m, "
                      "45s)", o->older_than);
            return HFC_USAGE;
        }

        p.cutoff = (int64_t) time(NULL) - age;
    }

    if (o->cache == NULL) {
        hfc_error("purge: the proxy_cache directory is needed to remove the "
                  "bytes: --cache DIR or HF_CACHE_DIR");
        return HFC_USAGE;
    }

    if (hfc_levels_parse(o->levels, &p.levels) != 0) {
        hfc_error("--levels \"%s\": expected proxy_cache_path's levels, "
                  "such as 1:2", o->levels);
        return HFC_USAGE;
    }

    if (stat(o->cache, &st) == -1 || !S_ISDIR(st.st_mode)) {
        hfc_error("cache directory \"%s\": %s", o->cache,
                  errno ? strerror(errno) : "not a directory");
        return HFC_UNREACHABLE;
    }

    rc = hfc_records_load(o->metadata, &p.records);
    if (rc != HFC_OK) {
        return rc;
    }

    if (o->older_than) {
        hfc_purge_select(&p, NULL, NULL);

    } else {
        for (i = 0; i < o->nargs; i++) {
            hfc_split_repo_rev(o->args[i], &repo, &rev);

            if (hfc_purge_select(&p, repo, rev) == 0) {
                hfc_error("nothing cached matches %s %s%s%s%s%s",
                          o->type ? o->type : "model", repo,
                          rev ? "@" : "", rev ? rev : "",
                          o->dist ? " in distribution " : "",
                          o->dist ? o->dist : "");
                hfc_records_free(&p.records);
                return HFC_FAILED;
            }
        }
    }

    if (p.ntargets == 0) {
        hfc_error("nothing cached was last served (or stored, if never "
                  "served) more than %s ago", o->older_than);
        hfc_records_free(&p.records);
        return HFC_FAILED;
    }

    hfc_purge_plan(&p);

    if (!o->dry_run) {
        rc = hfc_purge_records(&p);
        if (rc != HFC_OK) {
            hfc_records_free(&p.records);
            return rc;
        }

        hfc_purge_blobs(&p);

        if (p.napi) {
            hfc_cache_walk(o->cache, hfc_purge_api_visit, &p);
        }
    }

    nfiles = nrevs = nblobs = 0;

    for (i = 0; i < p.ntargets; i++) {
        t = &p.targets[i];

        printf("%s %s %s (%s): %zu file records, %zu revisions, %zu blobs "
               "(%s)", o->dry_run ? "would purge" : "purged", t->kind,
               t->repo, t->dist, t->files, t->revisions, t->blobs,
               hfc_size(t->bytes, n[0], sizeof(n[0])));

        if (t->kept) {
            printf("; %zu blobs kept, used by other records", t->kept);
        }

        printf("\n");

        nfiles += t->files;
        nrevs += t->revisions;
        nblobs += t->blobs;
    }

    if (!o->dry_run) {
        printf("removed %zu file records, %zu revision records, %zu blobs "
               "(%zu cache files", nfiles, nrevs, nblobs, p.cache_removed);

        if (p.cache_removed) {
            printf(", %s", hfc_size(p.freed, n[1], sizeof(n[1])));
        }

        printf(") and %zu cached API answers", p.api_removed);

        if (p.api_removed) {
            printf(" (%s)", hfc_size(p.api_freed, n[1], sizeof(n[1])));
        }

        printf("\n");
    }

    hfc_records_free(&p.records);

    return HFC_OK;
}


/* marks the file and revision records of REPO[@REV], or by age */

static size_t
hfc_purge_select(hfc_purge_t *p, const char *repo, const char *rev)
{
    size_t          i, j, n;
    hfc_rev_t      *v;
    hfc_file_t     *f;
    hfc_opts_t     *o;
    hfc_target_t   *t;
    hfc_records_t  *r;

    o = p->opts;
    r = &p->records;
    n = 0;

    for (i = 0; i < r->nfiles; i++) {
        f = &r->files[i];

        if (f->purge
            || (o->dist && strcmp(o->dist, f->dist) != 0)
            || !hfc_kind_match(o, f->kind, repo == NULL))
        {
            continue;
        }

        if (repo == NULL) {
            if (!hfc_purge_old(p, f)) {
                continue;
            }

        } else {
            if (strcmp(f->repo, repo) != 0) {
                continue;
            }

            if (rev && !hfc_commit_matches(f->commit, rev)) {

                /* a branch or tag: the commit it was last resolved to */

                for (j = 0; j < r->nrevs; j++) {
                    v = &r->revs[j];

                    if (strcmp(v->dist, f->dist) == 0
                        && strcmp(v->kind, f->kind) == 0
                        && strcmp(v->repo, f->repo) == 0
                        && strcmp(v->commit, f->commit) == 0
                        && hfc_rev_matches(v, rev))
                    {
                        break;
                    }
                }

                if (j == r->nrevs) {
                    continue;
                }
            }
        }

        f->purge = 1;
        t = hfc_purge_target(p, f->dist, f->kind, f->repo);
        t->files++;
        t->whole |= (repo && rev == NULL);
        n++;
    }

    if (repo == NULL) {
        return n;
    }

    for (i = 0; i < r->nrevs; i++) {
        v = &r->revs[i];

        if (v->purge
            || (o->dist && strcmp(o->dist, v->dist) != 0)
            || !hfc_kind_match(o, v->kind, 0) || strcmp(v->repo, repo) != 0)
        {
            continue;
        }

        /* REPO@REV: the revisions pointing at the commit purged */

        if (rev && !hfc_rev_matches(v, rev)
            && !hfc_commit_matches(v->commit, rev))
        {
            for (j = 0; j < r->nrevs; j++) {
                if (strcmp(r->revs[j].dist, v->dist) == 0
                    && strcmp(r->revs[j].kind, v->kind) == 0
                    && strcmp(r->revs[j].repo, v->repo) == 0
                    && strcmp(r->revs[j].commit, v->commit) == 0
                    && hfc_rev_matches(&r->revs[j], rev))
                {
                    break;
                }
            }

            if (j == r->nrevs) {
                continue;
            }
        }

        v->purge = 1;
        t = hfc_purge_target(p, v->dist, v->kind, v->repo);
        t->revisions++;
        t->whole |= (rev == NULL);
        n++;
    }

    return n;
}


/* last served, or stored when never served, before the cutoff */

static int
hfc_purge_old(hfc_purge_t *p, hfc_file_t *f)
{
    int64_t  t;

    t = f->rec.last_served ? f->rec.last_served : f->rec.stored;

    return t < p->cutoff;
}


static hfc_target_t *
hfc_purge_target(hfc_purge_t *p, const char *dist, const char *kind,
    const char *repo)
{
    size_t         i;
    hfc_target_t  *t;

    for (i = 0; i < p->ntargets; i++) {
        t = &p->targets[i];

        if (strcmp(t->dist, dist) == 0 && strcmp(t->kind, kind) == 0
            && strcmp(t->repo, repo) == 0)
        {
            return t;
        }
    }

    p->targets = hfc_realloc(p->targets,
                             (p->ntargets + 1) * sizeof(hfc_target_t));
    t = &p->targets[p->ntargets++];
    memset(t, 0, sizeof(hfc_target_t));
    t->dist = dist;
    t->kind = kind;
    t->repo = repo;

    return t;
}


/*
 * What follows from the records chosen: the revisions of a commit with
 * no file left, the blobs no file record left uses, the API answers of
 * the commits left without files.
 */

static void
hfc_purge_plan(hfc_purge_t *p)
{
    size_t          i, j;
    hfc_rev_t      *v;
    hfc_blob_t     *b;
    hfc_file_t     *f, *g;
    hfc_target_t   *t, *a;
    hfc_records_t  *r;

    r = &p->records;

    for (i = 0; i < r->nfiles; i++) {
        f = &r->files[i];

        if (!f->purge) {
            continue;
        }

        b = hfc_records_blob(r, (char *) f->rec.cache_key);
        if (b) {
            b->here++;
        }
    }

    for (i = 0; i < r->nfiles; i++) {
        f = &r->files[i];
        b = hfc_records_blob(r, (char *) f->rec.cache_key);

        if (!f->purge || b == NULL || b->here == 0) {
            continue;
        }

        t = hfc_purge_target(p, f->dist, f->kind, f->repo);

        if (b->here == b->users) {
            b->purge = 1;
            t->blobs++;
            t->bytes += b->size;

        } else {
            t->kept++;
        }

        b->here = 0;
    }

    /* the commits left without any file record */

    for (i = 0; i < r->nfiles; i++) {
        f = &r->files[i];

        if (!f->purge
            || (i && r->files[i - 1].purge
                && strcmp(r->files[i - 1].commit, f->commit) == 0
                && strcmp(r->files[i - 1].repo, f->repo) == 0
                && strcmp(r->files[i - 1].kind, f->kind) == 0
                && strcmp(r->files[i - 1].dist, f->dist) == 0))
        {
            continue;
        }

        for (j = 0; j < r->nfiles; j++) {
            g = &r->files[j];

            if (!g->purge && strcmp(g->commit, f->commit) == 0
                && strcmp(g->repo, f->repo) == 0
                && strcmp(g->kind, f->kind) == 0
                && strcmp(g->dist, f->dist) == 0)
            {
                break;
            }
        }

        if (j < r->nfiles) {
            continue;
        }

        p->api = hfc_realloc(p->api, (p->napi + 1) * sizeof(hfc_target_t));
        a = &p->api[p->napi++];
        memset(a, 0, sizeof(hfc_target_t));
        a->dist = f->dist;
        a->kind = f->kind;
        a->repo = f->repo;
        a->commit = f->commit;
        a->scope = hfc_purge_scope(p, f->dist);

        /* and the revisions that point at it */

        for (j = 0; j < r->nrevs; j++) {
            v = &r->revs[j];

            if (!v->purge && strcmp(v->commit, f->commit) == 0
                && strcmp(v->repo, f->repo) == 0
                && strcmp(v->kind, f->kind) == 0
                && strcmp(v->dist, f->dist) == 0)
            {
                v->purge = 1;
                hfc_purge_target(p, v->dist, v->kind, v->repo)->revisions++;
            }
        }
    }

    /* a whole repository: its API answers at any commit */

    for (i = 0; i < p->ntargets; i++) {
        t = &p->targets[i];

        if (t->whole) {
            p->api = hfc_realloc(p->api,
                                 (p->napi + 1) * sizeof(hfc_target_t));
            a = &p->api[p->napi++];
            memset(a, 0, sizeof(hfc_target_t));
            a->dist = t->dist;
            a->kind = t->kind;
            a->repo = t->repo;
            a->scope = hfc_purge_scope(p, t->dist);
        }
    }
}


/* the cache keys' scope of a distribution, as its file records have it */

static const char *
hfc_purge_scope(hfc_purge_t *p, const char *dist)
{
    char        *colon;
    size_t       i;
    hfc_file_t  *f;

    for (i = 0; i < p->records.nfiles; i++) {
        f = &p->records.files[i];

        if (strcmp(f->dist, dist) != 0
            || strncmp((char *) f->rec.cache_key, "hf:file:", 8) != 0)
        {
            continue;
        }

        colon = strrchr((char *) f->rec.cache_key, ':');

        return hfc_strndup((char *) f->rec.cache_key + 8,
                           (size_t) (colon - (char *) f->rec.cache_key - 8));
    }

    return NULL;
}


static int
hfc_purge_begin(MDB_env *env, MDB_txn **txn)
{
    int  rc;

    rc = mdb_txn_begin(env, NULL, 0, txn);

    if (rc == MDB_MAP_RESIZED) {
        /* nginx grew the map: adopt its size, as its workers do */
        (void) mdb_env_set_mapsize(env, 0);
        rc = mdb_txn_begin(env, NULL, 0, txn);
    }

    return rc;
}


static int
hfc_purge_records(hfc_purge_t *p)
{
    int                     rc, step;
    size_t                  i, count, total;
    MDB_val                 k, v;
    MDB_env                *env;
    MDB_txn                *txn;
    unsigned                dbi[3];
    hfc_records_t          *r;
    ngx_http_hf_file_rec_t  rec;

    r = &p->records;

    rc = hfc_records_open_env(p->opts->metadata, 1, (void **) &env, dbi);
    if (rc != HFC_OK) {
        return rc;
    }

    txn = NULL;
    count = 0;
    rc = 0;

    /* step 0: files, 1: revisions, 2: blobs; HFC_BATCH deletions a txn */

    for (step = 0; step < 3 && rc == 0; step++) {
        total = step == 0 ? r->nfiles : (step == 1 ? r->nrevs : r->nblobs);

        for (i = 0; i < total && rc == 0; i++) {

            if (step == 0) {
                if (!r->files[i].purge) {
                    continue;
                }

                k.mv_data = r->files[i].key;
                k.mv_size = r->files[i].key_len;

            } else if (step == 1) {
                if (!r->revs[i].purge) {
                    continue;
                }

                k.mv_data = r->revs[i].key;
                k.mv_size = r->revs[i].key_len;

            } else {
                if (!r->blobs[i].purge) {
                    continue;
                }

                k.mv_data = r->blobs[i].key;
                k.mv_size = r->blobs[i].key_len;
            }

            if (txn == NULL) {
                rc = hfc_purge_begin(env, &txn);
                if (rc != 0) {
                    break;
                }
            }

            /* served since it was read: it is not old any more */

            if (step == 0 && p->opts->older_than
                && mdb_get(txn, dbi[1], &k, &v) == 0
                && v.mv_size == sizeof(rec))
            {
                memcpy(&rec, v.mv_data, sizeof(rec));

                if (rec.last_served > r->files[i].rec.last_served) {
                    r->files[i].purge = 0;
                    hfc_purge_target(p, r->files[i].dist, r->files[i].kind,
                                     r->files[i].repo)->files--;
                    continue;
                }
            }

            rc = mdb_del(txn, dbi[step == 0 ? 1 : (step == 1 ? 0 : 2)], &k,
                         NULL);

            if (rc == MDB_NOTFOUND) {
                rc = 0;     /* gone meanwhile */
            }

            if (rc == 0 && ++count % HFC_BATCH == 0) {
                rc = mdb_txn_commit(txn);
                txn = NULL;
            }
        }
    }

    if (txn) {
        if (rc == 0) {
            rc = mdb_txn_commit(txn);

        } else {
            mdb_txn_abort(txn);
        }
    }

    mdb_env_close(env);

    if (rc != 0) {
        hfc_error("\"%s\": removing records failed: %s", p->opts->metadata,
                  mdb_strerror(rc));
        return HFC_FAILED;
    }

    return HFC_OK;
}


static void
hfc_purge_blobs(hfc_purge_t *p)
{
    int          rc;
    char         path[4096];
    size_t       i;
    hfc_blob_t  *b;

    for (i = 0; i < p->records.nblobs; i++) {
        b = &p->records.blobs[i];

        if (!b->purge) {
            continue;
        }

        hfc_cache_path(p->opts->cache, &p->levels, b->key, b->key_len, path,
                       sizeof(path));

        rc = hfc_cache_unlink(path, b->key, b->key_len, &p->freed);

        if (rc == 1) {
            p->cache_removed++;

        } else if (rc == 0) {
            p->cache_absent++;
        }
    }
}


/*
 * An API answer's key: hf:api:SCOPE:/api/TYPE/REPO/ENDPOINT/COMMIT...,
 * then the rest of the path, the query or "#" and a body's hash.
 */

static int
hfc_purge_api_visit(const char *file, const char *key, void *data)
{
    size_t         i, len;
    const char    *path, *s, *c;
    hfc_purge_t   *p = data;
    hfc_target_t  *a;

    if (strncmp(key, "hf:api:", 7) != 0) {
        return 0;
    }

    path = strstr(key + 7, ":/api/");
    if (path == NULL) {
        return 0;
    }

    for (i = 0; i < p->napi; i++) {
        a = &p->api[i];

        if (a->scope && ((size_t) (path - key - 7) != strlen(a->scope)
                         || strncmp(key + 7, a->scope, strlen(a->scope)) != 0))
        {
            continue;
        }

        s = path + 6;
        len = strlen(hfc_kind_api(a->kind));

        if (strncmp(s, hfc_kind_api(a->kind), len) != 0 || s[len] != '/') {
            continue;
        }

        s += len + 1;
        len = strlen(a->repo);

        if (strncmp(s, a->repo, len) != 0 || s[len] != '/') {
            continue;
        }

        /* the endpoint: revision, tree, paths-info */

        for (s += len + 1; (*s >= 'a' && *s <= 'z') || *s == '-'; s++) {
            /* void */
        }

        if (*s++ != '/') {
            continue;
        }

        for (c = s; c - s < NGX_HTTP_HF_REC_COMMIT; c++) {
            if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))) {
                break;
            }
        }

        if (c - s != NGX_HTTP_HF_REC_COMMIT
            || (*c != '\0' && *c != '/' && *c != '?' && *c != '#'))
        {
            continue;
        }

        if (a->commit && strncmp(s, a->commit, NGX_HTTP_HF_REC_COMMIT) != 0) {
            continue;
        }

        if (hfc_cache_unlink(file, key, strlen(key), &p->api_freed) == 1) {
            p->api_removed++;
        }

        break;
    }

    return 0;
}
