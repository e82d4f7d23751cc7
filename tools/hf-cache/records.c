
/*
 * The module's LMDB records (src/ngx_http_hf_records.h), read in one
 * read transaction: a consistent view while nginx writes.
 *
 * The environment is opened with the flags nginx's workers use
 * (src/ngx_http_hf_store.c), through the same lock file, and without a
 * map size of our own: LMDB then takes the one recorded in the
 * environment, so that nothing we commit changes what nginx set.
 */


#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hf_cache.h"


static char **hfc_split(const char *key, size_t len, size_t fields,
    char **copy);
static int hfc_blob_cmp(const void *a, const void *b);
static int hfc_repo_cmp(const void *a, const void *b);


int
hfc_records_open_env(const char *dir, int write, void **envp, unsigned *dbi)
{
    int           rc;
    char         *data;
    MDB_env      *env;
    MDB_txn      *txn;
    struct stat   st;
    static const char  *names[] = { "revisions", "files", "blobs" };
    size_t        i;

    if (stat(dir, &st) == -1) {
        hfc_error("metadata directory \"%s\": %s", dir, strerror(errno));
        return HFC_UNREACHABLE;
    }

    if (!S_ISDIR(st.st_mode)) {
        hfc_error("metadata directory \"%s\": not a directory", dir);
        return HFC_UNREACHABLE;
    }

    /* mdb_env_open() would create an empty environment: refuse instead */

    data = hfc_sprintf("%s/data.mdb", dir);

    if (stat(data, &st) == -1) {
        hfc_error("\"%s\" is not an hf_metadata directory (%s: %s)", dir,
                  data, strerror(errno));
        free(data);
        return HFC_UNREACHABLE;
    }

    free(data);

    rc = mdb_env_create(&env);

    if (rc == 0) {
        (void) mdb_env_set_maxdbs(env, 4);
        rc = mdb_env_open(env, dir,
                          (write ? MDB_NOMETASYNC : MDB_RDONLY)
                          |MDB_NOTLS|MDB_NORDAHEAD, 0600);
        if (rc != 0) {
            mdb_env_close(env);
        }
    }

    if (rc != 0) {
        hfc_error("cannot open the LMDB environment \"%s\": %s", dir,
                  mdb_strerror(rc));
        return HFC_UNREACHABLE;
    }

    rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);

    for (i = 0; rc == 0 && i < 3; i++) {
        rc = mdb_dbi_open(txn, names[i], 0, &dbi[i]);
    }

    if (rc == 0) {
        rc = mdb_txn_commit(txn);

    } else if (txn) {
        mdb_txn_abort(txn);
    }

    if (rc != 0) {
        hfc_error("\"%s\": no module records in it: %s", dir,
                  mdb_strerror(rc));
        mdb_env_close(env);
        return HFC_UNREACHABLE;
    }

    *envp = env;

    return HFC_OK;
}


int
hfc_records_load(const char *dir, hfc_records_t *r)
{
    int           rc;
    char        **f, *copy;
    size_t        cap[3], i;
    MDB_env      *env;
    MDB_txn      *txn;
    MDB_val       k, v;
    unsigned      dbi[3];
    MDB_cursor   *c;
    hfc_rev_t    *rv;
    hfc_file_t   *fl;
    hfc_blob_t   *bl;
    ngx_http_hf_revision_rec_t  rrec;
    ngx_http_hf_blob_rec_t      brec;

    memset(r, 0, sizeof(hfc_records_t));

    rc = hfc_records_open_env(dir, 0, (void **) &env, dbi);
    if (rc != HFC_OK) {
        return rc;
    }

    rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        hfc_error("\"%s\": mdb_txn_begin() failed: %s", dir,
                  mdb_strerror(rc));
        mdb_env_close(env);
        return HFC_UNREACHABLE;
    }

    cap[0] = cap[1] = cap[2] = 0;

    for (i = 0; i < 3; i++) {
        rc = mdb_cursor_open(txn, dbi[i], &c);
        if (rc != 0) {
            break;
        }

        while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {

            /* a record of another version is skipped, as nginx does */

            if (v.mv_size < sizeof(uint32_t)) {
                r->skipped++;
                continue;
            }

            if (i == 0) {
                if (v.mv_size != sizeof(rrec)) {
                    r->skipped++;
                    continue;
                }

                memcpy(&rrec, v.mv_data, sizeof(rrec));
                f = hfc_split(k.mv_data, k.mv_size, 4, &copy);

                if (rrec.version != NGX_HTTP_HF_STORE_VERSION || f == NULL) {
                    r->skipped++;
                    free(copy);
                    continue;
                }

                if (r->nrevs == cap[0]) {
                    cap[0] = cap[0] ? 2 * cap[0] : 64;
                    r->revs = hfc_realloc(r->revs, cap[0] * sizeof(hfc_rev_t));
                }

                rv = &r->revs[r->nrevs++];
                memset(rv, 0, sizeof(hfc_rev_t));
                rv->key = hfc_strndup(k.mv_data, k.mv_size);
                rv->key_len = k.mv_size;
                rv->dist = f[0];
                rv->kind = f[1];
                rv->repo = f[2];
                rv->rev = f[3];
                memcpy(rv->commit, rrec.commit, NGX_HTTP_HF_REC_COMMIT);
                rv->resolved = rrec.resolved;
                free(f);

            } else if (i == 1) {
                if (v.mv_size != sizeof(ngx_http_hf_file_rec_t)) {
                    r->skipped++;
                    continue;
                }

                f = hfc_split(k.mv_data, k.mv_size, 5, &copy);

                if (f == NULL) {
                    r->skipped++;
                    free(copy);
                    continue;
                }

                if (r->nfiles == cap[1]) {
                    cap[1] = cap[1] ? 2 * cap[1] : 256;
                    r->files = hfc_realloc(r->files,
                                           cap[1] * sizeof(hfc_file_t));
                }

                fl = &r->files[r->nfiles];
                memset(fl, 0, sizeof(hfc_file_t));

                /* LMDB does not align values: read from a copy */
                memcpy(&fl->rec, v.mv_data, sizeof(fl->rec));

                if (fl->rec.version != NGX_HTTP_HF_STORE_VERSION) {
                    r->skipped++;
                    free(copy);
                    free(f);
                    continue;
                }

                fl->rec.etag[sizeof(fl->rec.etag) - 1] = '\0';
                fl->rec.content_type[sizeof(fl->rec.content_type) - 1] = '\0';
                fl->rec.cache_key[sizeof(fl->rec.cache_key) - 1] = '\0';
                fl->key = hfc_strndup(k.mv_data, k.mv_size);
                fl->key_len = k.mv_size;
                fl->dist = f[0];
                fl->kind = f[1];
                fl->repo = f[2];
                fl->commit = f[3];
                fl->path = f[4];
                free(f);
                r->nfiles++;

            } else {
                if (v.mv_size != sizeof(brec)) {
                    r->skipped++;
                    continue;
                }

                memcpy(&brec, v.mv_data, sizeof(brec));

                if (brec.version != NGX_HTTP_HF_STORE_VERSION) {
                    r->skipped++;
                    continue;
                }

                if (r->nblobs == cap[2]) {
                    cap[2] = cap[2] ? 2 * cap[2] : 256;
                    r->blobs = hfc_realloc(r->blobs,
                                           cap[2] * sizeof(hfc_blob_t));
                }

                bl = &r->blobs[r->nblobs++];
                memset(bl, 0, sizeof(hfc_blob_t));
                bl->key = hfc_strndup(k.mv_data, k.mv_size);
                bl->key_len = k.mv_size;
                bl->size = brec.size;
                bl->verified = brec.verified;
            }
        }

        mdb_cursor_close(c);
    }

    mdb_txn_abort(txn);
    mdb_env_close(env);

    if (rc != 0) {
        hfc_error("\"%s\": mdb_cursor_open() failed: %s", dir,
                  mdb_strerror(rc));
        hfc_records_free(r);
        return HFC_UNREACHABLE;
    }

    /* LMDB sorts keys as bytes: blobs are found by bsearch() */

    qsort(r->blobs, r->nblobs, sizeof(hfc_blob_t), hfc_blob_cmp);

    for (i = 0; i < r->nfiles; i++) {
        bl = hfc_records_blob(r, (char *) r->files[i].rec.cache_key);
        if (bl) {
            bl->users++;
        }
    }

    return HFC_OK;
}


void
hfc_records_free(hfc_records_t *r)
{
    size_t  i;

    for (i = 0; i < r->nfiles; i++) {
        free(r->files[i].key);
        free(r->files[i].dist);
    }

    for (i = 0; i < r->nrevs; i++) {
        free(r->revs[i].key);
        free(r->revs[i].dist);
    }

    for (i = 0; i < r->nblobs; i++) {
        free(r->blobs[i].key);
    }

    free(r->files);
    free(r->revs);
    free(r->blobs);
    memset(r, 0, sizeof(hfc_records_t));
}


hfc_blob_t *
hfc_records_blob(hfc_records_t *r, const char *key)
{
    hfc_blob_t  b;

    if (key[0] == '\0') {
        return NULL;
    }

    b.key = (char *) key;

    return bsearch(&b, r->blobs, r->nblobs, sizeof(hfc_blob_t), hfc_blob_cmp);
}


static int
hfc_blob_cmp(const void *a, const void *b)
{
    return strcmp(((const hfc_blob_t *) a)->key, ((const hfc_blob_t *) b)->key);
}


/*
 * A key's fields: tabs become NULs in one copy, the last field keeps any
 * tab of its own (a path may have one).  The first field is the copy.
 */

static char **
hfc_split(const char *key, size_t len, size_t fields, char **copy)
{
    char    *p, **f;
    size_t   n;

    *copy = hfc_strndup(key, len);

    if (memchr(key, '\0', len)) {
        return NULL;
    }

    f = hfc_alloc(fields * sizeof(char *));
    p = *copy;

    for (n = 0; n < fields; n++) {
        f[n] = p;

        if (n == fields - 1) {
            break;
        }

        p = strchr(p, '\t');
        if (p == NULL) {
            free(f);
            return NULL;
        }

        *p++ = '\0';
    }

    return f;
}


int
hfc_kind_match(const hfc_opts_t *o, const char *kind, int any)
{
    if (o->type) {
        return strcmp(o->type, kind) == 0;
    }

    return any || strcmp(kind, "model") == 0;
}


void
hfc_split_repo_rev(const char *arg, char **repo, char **rev)
{
    const char  *at;

    at = strrchr(arg, '@');

    if (at == NULL || at == arg) {
        *repo = hfc_strdup(arg);
        *rev = NULL;
        return;
    }

    *repo = hfc_strndup(arg, (size_t) (at - arg));
    *rev = hfc_strdup(at + 1);
}


/* a revision as recorded (URL-encoded as sent) or as people write it */

int
hfc_rev_matches(const hfc_rev_t *v, const char *rev)
{
    int    ok;
    char  *e;

    if (strcmp(v->rev, rev) == 0) {
        return 1;
    }

    e = hfc_escape(rev, 0);
    ok = strcmp(v->rev, e) == 0;
    free(e);

    return ok;
}


/* a commit by its id or a prefix of at least 7 of its digits */

int
hfc_commit_matches(const char *commit, const char *rev)
{
    size_t  len;

    len = strlen(rev);

    return len >= 7 && len <= NGX_HTTP_HF_REC_COMMIT
           && strncmp(commit, rev, len) == 0;
}


/*
 * The repositories of the records, with what ls and du show of each:
 * from the file records, and from revision records of repositories
 * without files.
 */

int
hfc_records_repos(hfc_records_t *r, const hfc_opts_t *o, hfc_repo_t **repos,
    size_t *n)
{
    size_t        i, j, cap, start;
    hfc_repo_t   *rp, key;
    hfc_file_t   *fl;
    hfc_blob_t   *bl;

    cap = 64;
    *repos = hfc_alloc(cap * sizeof(hfc_repo_t));
    *n = 0;

    for (i = 0; i < r->nfiles + r->nrevs; i++) {
        if (i < r->nfiles) {
            key.dist = r->files[i].dist;
            key.kind = r->files[i].kind;
            key.repo = r->files[i].repo;

        } else {
            key.dist = r->revs[i - r->nfiles].dist;
            key.kind = r->revs[i - r->nfiles].kind;
            key.repo = r->revs[i - r->nfiles].repo;
        }

        if ((o->dist && strcmp(o->dist, key.dist) != 0)
            || !hfc_kind_match(o, key.kind, 1))
        {
            continue;
        }

        if (*n && hfc_repo_cmp(&key, &(*repos)[*n - 1]) == 0) {
            continue;
        }

        if (*n == cap) {
            cap *= 2;
            *repos = hfc_realloc(*repos, cap * sizeof(hfc_repo_t));
        }

        rp = &(*repos)[(*n)++];
        memset(rp, 0, sizeof(hfc_repo_t));
        rp->dist = key.dist;
        rp->kind = key.kind;
        rp->repo = key.repo;
    }

    qsort(*repos, *n, sizeof(hfc_repo_t), hfc_repo_cmp);

    for (i = 0, j = 0; i < *n; i++) {
        if (j && hfc_repo_cmp(&(*repos)[i], &(*repos)[j - 1]) == 0) {
            continue;
        }

        (*repos)[j++] = (*repos)[i];
    }

    *n = j;

    for (i = 0; i < r->nrevs; i++) {
        key.dist = r->revs[i].dist;
        key.kind = r->revs[i].kind;
        key.repo = r->revs[i].repo;

        rp = bsearch(&key, *repos, *n, sizeof(hfc_repo_t), hfc_repo_cmp);
        if (rp) {
            rp->revisions++;
        }
    }

    /*
     * The file records of one repository are adjacent (LMDB's order: the
     * key starts with DIST \t KIND \t REPO \t).  Its blobs are counted
     * once each however many paths or commits use them, and as its own
     * when no other repository's record uses them (what a purge frees).
     */

    for (start = 0; start < r->nfiles; start = i) {
        key.dist = r->files[start].dist;
        key.kind = r->files[start].kind;
        key.repo = r->files[start].repo;

        for (i = start + 1; i < r->nfiles; i++) {
            fl = &r->files[i];

            if (strcmp(fl->repo, key.repo) != 0
                || strcmp(fl->kind, key.kind) != 0
                || strcmp(fl->dist, key.dist) != 0)
            {
                break;
            }
        }

        rp = bsearch(&key, *repos, *n, sizeof(hfc_repo_t), hfc_repo_cmp);
        if (rp == NULL) {
            continue;
        }

        for (j = start; j < i; j++) {
            fl = &r->files[j];

            if (j == start || strcmp(fl->commit, r->files[j - 1].commit) != 0) {
                rp->commits++;
            }

            if (fl->rec.stored > rp->stored) {
                rp->stored = fl->rec.stored;
            }

            if (fl->rec.last_served > rp->last_served) {
                rp->last_served = fl->rec.last_served;
            }

            rp->hits += fl->rec.hits;

            if (fl->rec.flags & NGX_HTTP_HF_REC_MISSING) {
                rp->missing++;
                continue;
            }

            rp->files++;

            bl = hfc_records_blob(r, (char *) fl->rec.cache_key);
            if (bl) {
                bl->here++;
            }
        }

        for (j = start; j < i; j++) {
            bl = hfc_records_blob(r, (char *) r->files[j].rec.cache_key);

            if (bl == NULL || bl->here == 0) {
                continue;
            }

            rp->size += bl->size;

            if (bl->here == bl->users) {
                rp->unique += bl->size;
            }

            bl->here = 0;
        }
    }

    return HFC_OK;
}


static int
hfc_repo_cmp(const void *a, const void *b)
{
    int                 rc;
    const hfc_repo_t   *x, *y;

    x = a;
    y = b;

    rc = strcmp(x->dist, y->dist);

    if (rc == 0) {
        rc = strcmp(x->kind, y->kind);
    }

    if (rc == 0) {
        rc = strcmp(x->repo, y->repo);
    }

    return rc;
}
