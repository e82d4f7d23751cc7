
/*
 * hf-cache ls, du and show: the records as tables people read, or JSON
 * (--json) for scripts: sizes in bytes and times in Unix seconds there,
 * readable units and local times in the tables ("-": never).
 */


#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hf_cache.h"


#define HFC_MAX_COLUMNS  10


typedef struct {
    size_t                      ncols;
    const char                 *head[HFC_MAX_COLUMNS];
    unsigned                    right;        /* bit n: column n is numeric */
    char                     ***rows;
    size_t                      nrows;
} hfc_table_t;


static void hfc_table_row(hfc_table_t *t, ...);
static void hfc_table_print(hfc_table_t *t, const char *indent);
static int hfc_find_repo(hfc_records_t *r, hfc_opts_t *o, const char *arg,
    char **repo, char **rev);
static void hfc_json_print(json_t *json);
static int hfc_du_cmp(const void *a, const void *b);


int
hfc_ls(hfc_opts_t *o)
{
    int             rc;
    char           *repo, *rev, n[6][32];
    size_t          i, nrepos;
    json_t         *json, *j;
    hfc_file_t     *f;
    hfc_repo_t     *repos, *rp;
    hfc_table_t     t;
    hfc_records_t   r;

    if (o->nargs > 1) {
        hfc_error("ls: one repository at most");
        return HFC_USAGE;
    }

    rc = hfc_records_load(o->metadata, &r);
    if (rc != HFC_OK) {
        return rc;
    }

    memset(&t, 0, sizeof(hfc_table_t));
    json = json_array();

    if (o->nargs == 1) {

        /* the files of one repository, at every commit recorded */

        rc = hfc_find_repo(&r, o, o->args[0], &repo, &rev);
        if (rc != HFC_OK) {
            hfc_records_free(&r);
            return rc;
        }

        t.ncols = 7;
        t.head[0] = "DIST";
        t.head[1] = "COMMIT";
        t.head[2] = "PATH";
        t.head[3] = "SIZE";
        t.head[4] = "HITS";
        t.head[5] = "STORED";
        t.head[6] = "LAST SERVED";
        t.right = (1 << 3) | (1 << 4);

        for (i = 0; i < r.nfiles; i++) {
            f = &r.files[i];

            if (strcmp(f->repo, repo) != 0 || !hfc_kind_match(o, f->kind, 0)
                || (o->dist && strcmp(o->dist, f->dist) != 0))
            {
                continue;
            }

            if (rev && !hfc_commit_matches(f->commit, rev)) {
                continue;
            }

            if (o->json) {
                j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:b, "
                              "s:s, s:s, s:s, s:I, s:I, s:I, s:I}",
                              "distribution", f->dist, "type", f->kind,
                              "repo", f->repo, "commit", f->commit,
                              "path", f->path,
                              "size", (json_int_t) f->rec.size,
                              "lfs", (f->rec.flags & NGX_HTTP_HF_REC_LFS) != 0,
                              "missing",
                              (f->rec.flags & NGX_HTTP_HF_REC_MISSING) != 0,
                              "etag", (char *) f->rec.etag,
                              "content_type", (char *) f->rec.content_type,
                              "cache_key", (char *) f->rec.cache_key,
                              "stored", (json_int_t) f->rec.stored,
                              "first_served",
                              (json_int_t) f->rec.first_served,
                              "last_served", (json_int_t) f->rec.last_served,
                              "hits", (json_int_t) f->rec.hits);
                json_array_append_new(json, j);
                continue;
            }

            snprintf(n[0], sizeof(n[0]), "%llu",
                     (unsigned long long) f->rec.hits);

            snprintf(n[4], sizeof(n[4]), "%.12s", f->commit);

            hfc_table_row(&t, f->dist, n[4], f->path,
                          (f->rec.flags & NGX_HTTP_HF_REC_MISSING)
                          ? "missing"
                          : hfc_size(f->rec.size, n[1], sizeof(n[1])),
                          n[0], hfc_time(f->rec.stored, n[2], sizeof(n[2])),
                          hfc_time(f->rec.last_served, n[3], sizeof(n[3])));
        }

    } else {
        hfc_records_repos(&r, o, &repos, &nrepos);

        t.ncols = 9;
        t.head[0] = "DIST";
        t.head[1] = "TYPE";
        t.head[2] = "REPO";
        t.head[3] = "REVISIONS";
        t.head[4] = "COMMITS";
        t.head[5] = "FILES";
        t.head[6] = "SIZE";
        t.head[7] = "HITS";
        t.head[8] = "LAST SERVED";
        t.right = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7);

        for (i = 0; i < nrepos; i++) {
            rp = &repos[i];

            if (o->json) {
                j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, "
                              "s:I, s:I, s:I}",
                              "distribution", rp->dist, "type", rp->kind,
                              "repo", rp->repo,
                              "revisions", (json_int_t) rp->revisions,
                              "commits", (json_int_t) rp->commits,
                              "files", (json_int_t) rp->files,
                              "missing", (json_int_t) rp->missing,
                              "size", (json_int_t) rp->size,
                              "hits", (json_int_t) rp->hits,
                              "stored", (json_int_t) rp->stored,
                              "last_served", (json_int_t) rp->last_served);
                json_array_append_new(json, j);
                continue;
            }

            snprintf(n[0], sizeof(n[0]), "%zu", rp->revisions);
            snprintf(n[1], sizeof(n[1]), "%zu", rp->commits);
            snprintf(n[2], sizeof(n[2]), "%zu", rp->files);
            snprintf(n[4], sizeof(n[4]), "%llu",
                     (unsigned long long) rp->hits);

            hfc_table_row(&t, rp->dist, rp->kind, rp->repo, n[0], n[1], n[2],
                          hfc_size(rp->size, n[3], sizeof(n[3])), n[4],
                          hfc_time(rp->last_served, n[5], sizeof(n[5])));
        }

        free(repos);
    }

    if (o->json) {
        hfc_json_print(json);

    } else if (t.nrows || o->nargs) {
        hfc_table_print(&t, "");

    } else {
        printf("the cache is empty\n");
    }

    json_decref(json);
    hfc_records_free(&r);

    return HFC_OK;
}


int
hfc_du(hfc_opts_t *o)
{
    int             rc;
    char            n[4][32];
    size_t          i, nrepos, files;
    uint64_t        size;
    json_t         *json, *list;
    hfc_repo_t     *repos, *rp;
    hfc_table_t     t;
    hfc_records_t   r;

    if (o->nargs) {
        hfc_error("du: no argument expected, \"%s\" given", o->args[0]);
        return HFC_USAGE;
    }

    rc = hfc_records_load(o->metadata, &r);
    if (rc != HFC_OK) {
        return rc;
    }

    hfc_records_repos(&r, o, &repos, &nrepos);
    qsort(repos, nrepos, sizeof(hfc_repo_t), hfc_du_cmp);

    memset(&t, 0, sizeof(hfc_table_t));
    t.ncols = 6;
    t.head[0] = "SIZE";
    t.head[1] = "OWN";
    t.head[2] = "FILES";
    t.head[3] = "DIST";
    t.head[4] = "TYPE";
    t.head[5] = "REPO";
    t.right = 1 | (1 << 1) | (1 << 2);

    list = json_array();
    files = 0;

    for (i = 0; i < nrepos; i++) {
        rp = &repos[i];
        files += rp->files;

        json_array_append_new(list,
            json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}",
                      "distribution", rp->dist, "type", rp->kind,
                      "repo", rp->repo, "files", (json_int_t) rp->files,
                      "size", (json_int_t) rp->size,
                      "own", (json_int_t) rp->unique));

        snprintf(n[2], sizeof(n[2]), "%zu", rp->files);
        hfc_table_row(&t, hfc_size(rp->size, n[0], sizeof(n[0])),
                      hfc_size(rp->unique, n[1], sizeof(n[1])), n[2],
                      rp->dist, rp->kind, rp->repo);
    }

    /* what is on disk: every verified blob once, whoever uses it */

    size = 0;

    for (i = 0; i < r.nblobs; i++) {
        size += r.blobs[i].size;
    }

    if (o->json) {
        json = json_pack("{s:o, s:{s:I, s:I, s:I, s:I}}",
                         "repositories", list, "total",
                         "repositories", (json_int_t) nrepos,
                         "files", (json_int_t) files,
                         "blobs", (json_int_t) r.nblobs,
                         "size", (json_int_t) size);
        hfc_json_print(json);
        json_decref(json);

    } else {
        json_decref(list);

        if (t.nrows) {
            hfc_table_print(&t, "");
        }

        printf("total: %zu repositories, %zu files, %zu blobs, %s\n",
               nrepos, files, r.nblobs, hfc_size(size, n[3], sizeof(n[3])));
    }

    free(repos);
    hfc_records_free(&r);

    return HFC_OK;
}


int
hfc_show(hfc_opts_t *o)
{
    int             rc, any;
    char           *repo, *rev, n[6][64];
    size_t          i, j, k, m, nrepos, nfiles, shown;
    uint64_t        size;
    json_t         *json, *jr, *jrevs, *jcommits, *jfiles, *jc;
    hfc_rev_t      *v;
    hfc_file_t     *f;
    hfc_repo_t     *repos, *rp;
    hfc_table_t     t;
    hfc_records_t   r;

    if (o->nargs != 1) {
        hfc_error("show: one repository expected (hf-cache show REPO[@REV])");
        return HFC_USAGE;
    }

    rc = hfc_records_load(o->metadata, &r);
    if (rc != HFC_OK) {
        return rc;
    }

    rc = hfc_find_repo(&r, o, o->args[0], &repo, &rev);
    if (rc != HFC_OK) {
        hfc_records_free(&r);
        return rc;
    }

    hfc_records_repos(&r, o, &repos, &nrepos);
    json = json_array();
    shown = 0;

    for (i = 0; i < nrepos; i++) {
        rp = &repos[i];

        if (strcmp(rp->repo, repo) != 0 || !hfc_kind_match(o, rp->kind, 0)) {
            continue;
        }

        if (shown++ && !o->json) {
            printf("\n");
        }

        jrevs = json_array();
        jcommits = json_array();

        if (!o->json) {
            printf("repository:    %s\n", rp->repo);
            printf("type:          %s\n", rp->kind);
            printf("distribution:  %s\n", rp->dist);
        }

        any = 0;

        for (j = 0; j < r.nrevs; j++) {
            v = &r.revs[j];

            if (strcmp(v->repo, rp->repo) != 0 || strcmp(v->kind, rp->kind)
                || strcmp(v->dist, rp->dist) != 0)
            {
                continue;
            }

            json_array_append_new(jrevs,
                json_pack("{s:s, s:s, s:I}", "revision", v->rev,
                          "commit", v->commit,
                          "resolved", (json_int_t) v->resolved));

            if (!o->json) {
                printf("%s%s -> %s (resolved %s)\n",
                       any++ ? "               " : "revisions:     ",
                       v->rev, v->commit,
                       hfc_time(v->resolved, n[0], sizeof(n[0])));
            }
        }

        if (!o->json) {
            if (!any) {
                printf("revisions:     -\n");
            }

            printf("commits:       %zu\n", rp->commits);
            printf("files:         %zu", rp->files);

            if (rp->missing) {
                printf(" (and %zu recorded as not in their commit)",
                       rp->missing);
            }

            printf("\nsize:          %s (%s used by no other repository)\n",
                   hfc_size(rp->size, n[0], sizeof(n[0])),
                   hfc_size(rp->unique, n[1], sizeof(n[1])));
            printf("hits:          %llu\n", (unsigned long long) rp->hits);
            printf("last stored:   %s\n",
                   hfc_time(rp->stored, n[0], sizeof(n[0])));
            printf("last served:   %s\n",
                   hfc_time(rp->last_served, n[0], sizeof(n[0])));
        }

        /* its commits, each with its files */

        for (j = 0; j < r.nfiles; j = k) {
            f = &r.files[j];

            for (k = j + 1; k < r.nfiles
                            && strcmp(r.files[k].commit, f->commit) == 0
                            && strcmp(r.files[k].repo, f->repo) == 0
                            && strcmp(r.files[k].kind, f->kind) == 0
                            && strcmp(r.files[k].dist, f->dist) == 0;
                 k++)
            { /* void */ }

            if (strcmp(f->repo, rp->repo) != 0
                || strcmp(f->kind, rp->kind) != 0
                || strcmp(f->dist, rp->dist) != 0
                || (rev && !hfc_commit_matches(f->commit, rev)))
            {
                continue;
            }

            memset(&t, 0, sizeof(hfc_table_t));
            t.ncols = 6;
            t.head[0] = "PATH";
            t.head[1] = "SIZE";
            t.head[2] = "ETAG";
            t.head[3] = "HITS";
            t.head[4] = "STORED";
            t.head[5] = "LAST SERVED";
            t.right = (1 << 1) | (1 << 3);

            jfiles = json_array();
            size = 0;
            nfiles = 0;

            for (m = j; m < k; m++) {
                f = &r.files[m];

                json_array_append_new(jfiles,
                    json_pack("{s:s, s:I, s:s, s:b, s:b, s:s, s:I, s:I, "
                              "s:I, s:I}",
                              "path", f->path,
                              "size", (json_int_t) f->rec.size,
                              "etag", (char *) f->rec.etag,
                              "lfs",
                              (f->rec.flags & NGX_HTTP_HF_REC_LFS) != 0,
                              "missing",
                              (f->rec.flags & NGX_HTTP_HF_REC_MISSING) != 0,
                              "cache_key", (char *) f->rec.cache_key,
                              "stored", (json_int_t) f->rec.stored,
                              "first_served",
                              (json_int_t) f->rec.first_served,
                              "last_served", (json_int_t) f->rec.last_served,
                              "hits", (json_int_t) f->rec.hits));

                if (f->rec.flags & NGX_HTTP_HF_REC_MISSING) {
                    hfc_table_row(&t, f->path, "-", "not in commit", "-",
                                  hfc_time(f->rec.stored, n[2],
                                           sizeof(n[2])), "-");
                    continue;
                }

                nfiles++;
                size += f->rec.size;
                snprintf(n[1], sizeof(n[1]), "%llu",
                         (unsigned long long) f->rec.hits);

                snprintf(n[4], sizeof(n[4]), "%.12s", (char *) f->rec.etag);

                hfc_table_row(&t, f->path,
                              hfc_size(f->rec.size, n[0], sizeof(n[0])),
                              n[4], n[1],
                              hfc_time(f->rec.stored, n[2], sizeof(n[2])),
                              hfc_time(f->rec.last_served, n[3],
                                       sizeof(n[3])));
            }

            f = &r.files[j];

            jc = json_pack("{s:s, s:[], s:I, s:I, s:o}", "commit", f->commit,
                           "revisions", "files_count", (json_int_t) nfiles,
                           "size", (json_int_t) size, "files", jfiles);

            for (i = 0; i < r.nrevs; i++) {
                v = &r.revs[i];

                if (strcmp(v->commit, f->commit) == 0
                    && strcmp(v->repo, rp->repo) == 0
                    && strcmp(v->kind, rp->kind) == 0
                    && strcmp(v->dist, rp->dist) == 0)
                {
                    json_array_append_new(json_object_get(jc, "revisions"),
                                          json_string(v->rev));
                }
            }

            json_array_append_new(jcommits, jc);

            if (!o->json) {
                printf("\ncommit %s", f->commit);

                for (i = 0; i < json_array_size(json_object_get(jc,
                                                    "revisions")); i++)
                {
                    printf("%s%s", i ? ", " : " (",
                           json_string_value(json_array_get(
                               json_object_get(jc, "revisions"), i)));
                }

                printf("%s: %zu files, %s\n",
                       json_array_size(json_object_get(jc, "revisions"))
                       ? ")" : "", nfiles, hfc_size(size, n[0], sizeof(n[0])));
                hfc_table_print(&t, "  ");
            }
        }

        jr = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, "
                       "s:o}",
                       "distribution", rp->dist, "type", rp->kind,
                       "repo", rp->repo, "revisions", jrevs,
                       "files", (json_int_t) rp->files,
                       "missing", (json_int_t) rp->missing,
                       "size", (json_int_t) rp->size,
                       "own", (json_int_t) rp->unique,
                       "hits", (json_int_t) rp->hits,
                       "last_served", (json_int_t) rp->last_served,
                       "commits", jcommits);
        json_array_append_new(json, jr);
    }

    if (o->json) {
        hfc_json_print(json);
    }

    json_decref(json);
    free(repos);
    hfc_records_free(&r);

    return HFC_OK;
}


/*
 * REPO[@REV] as the records know it: REV is a revision name recorded
 * (a branch, a tag), a commit id or a prefix of one, and becomes the
 * commit, so that callers match file records by commit alone.
 */

static int
hfc_find_repo(hfc_records_t *r, hfc_opts_t *o, const char *arg, char **repo,
    char **rev)
{
    size_t   i;
    char    *commit;
    int      found;

    hfc_split_repo_rev(arg, repo, rev);

    found = 0;
    commit = NULL;

    for (i = 0; i < r->nrevs; i++) {
        if (strcmp(r->revs[i].repo, *repo) == 0
            && hfc_kind_match(o, r->revs[i].kind, 0)
            && (o->dist == NULL || strcmp(o->dist, r->revs[i].dist) == 0))
        {
            found = 1;

            if (*rev && hfc_rev_matches(&r->revs[i], *rev)) {
                commit = r->revs[i].commit;
            }
        }
    }

    for (i = 0; i < r->nfiles; i++) {
        if (strcmp(r->files[i].repo, *repo) == 0
            && hfc_kind_match(o, r->files[i].kind, 0)
            && (o->dist == NULL || strcmp(o->dist, r->files[i].dist) == 0))
        {
            found = 1;

            if (*rev && commit == NULL
                && hfc_commit_matches(r->files[i].commit, *rev))
            {
                commit = r->files[i].commit;
            }
        }
    }

    if (!found) {
        hfc_error("%s %s: not in the cache", o->type ? o->type : "model",
                  *repo);
        return HFC_FAILED;
    }

    if (*rev && commit == NULL) {
        hfc_error("%s %s@%s: no such revision or commit in the cache",
                  o->type ? o->type : "model", *repo, *rev);
        return HFC_FAILED;
    }

    if (*rev) {
        *rev = commit;
    }

    return HFC_OK;
}


static void
hfc_table_row(hfc_table_t *t, ...)
{
    size_t    i;
    va_list   args;
    char    **row;

    row = hfc_alloc(t->ncols * sizeof(char *));

    va_start(args, t);

    for (i = 0; i < t->ncols; i++) {
        row[i] = hfc_strdup(va_arg(args, const char *));
    }

    va_end(args);

    if ((t->nrows & (t->nrows - 1)) == 0) {
        t->rows = hfc_realloc(t->rows, (t->nrows ? 2 * t->nrows : 1)
                                       * sizeof(char **));
    }

    t->rows[t->nrows++] = row;
}


static void
hfc_table_print(hfc_table_t *t, const char *indent)
{
    int     w[HFC_MAX_COLUMNS];
    size_t  i, j;

    for (j = 0; j < t->ncols; j++) {
        w[j] = (int) strlen(t->head[j]);

        for (i = 0; i < t->nrows; i++) {
            if ((int) strlen(t->rows[i][j]) > w[j]) {
                w[j] = (int) strlen(t->rows[i][j]);
            }
        }
    }

    for (i = 0; i <= t->nrows; i++) {
        fputs(indent, stdout);

        for (j = 0; j < t->ncols; j++) {
            const char  *s = i ? t->rows[i - 1][j] : t->head[j];

            if (j == t->ncols - 1 && !(t->right & (1u << j))) {
                printf("%s", s);

            } else {
                printf((t->right & (1u << j)) ? "%*s" : "%-*s", w[j], s);
            }

            if (j < t->ncols - 1) {
                fputs("  ", stdout);
            }
        }

        fputc('\n', stdout);
    }

    for (i = 0; i < t->nrows; i++) {
        for (j = 0; j < t->ncols; j++) {
            free(t->rows[i][j]);
        }

        free(t->rows[i]);
    }

    free(t->rows);
    t->rows = NULL;
    t->nrows = 0;
}


static void
hfc_json_print(json_t *json)
{
    char  *s;

    s = json_dumps(json, JSON_INDENT(2));
    if (s) {
        printf("%s\n", s);
        free(s);
    }
}


static int
hfc_du_cmp(const void *a, const void *b)
{
    const hfc_repo_t  *x = a, *y = b;

    if (x->size != y->size) {
        return x->size < y->size ? 1 : -1;
    }

    return strcmp(x->repo, y->repo);
}
