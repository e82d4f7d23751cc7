
/*
 * hf-cache warm: every file of a revision downloaded through the cache,
 * so that it fills as it would for a client (verified, recorded).
 *
 * The requests are those of huggingface_hub's snapshot_download(), in
 * its order: the revision (GET /api/{type}s/{repo}/revision/{rev}), the
 * tree at the commit (?recursive=true&expand=false, then every
 * Link: rel="next" as given), then each file at the commit.  The cache
 * keeps API answers under their URL at the commit, so a client asking
 * the same URLs afterwards is answered from the cache, also with the Hub
 * down.  The bytes are counted and dropped.
 */


#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http.h"


typedef struct {
    char                       *kind;
    char                       *repo;
    char                       *rev;
    char                        commit[NGX_HTTP_HF_REC_COMMIT + 1];
    size_t                      files;
    size_t                      failed;
    int64_t                     bytes;
    unsigned                    listed:1;
} hfc_warm_repo_t;

typedef struct {
    hfc_warm_repo_t            *repo;
    char                       *path;
    int64_t                     size;         /* the tree's, -1: unknown */
    char                       *error;        /* why it failed */
} hfc_warm_file_t;

typedef struct {
    hfc_opts_t                 *opts;
    hfc_warm_repo_t            *repos;
    size_t                      nrepos;
    hfc_warm_file_t            *files;
    size_t                      nfiles;
    size_t                      cap;
    char                       *endpoint;     /* no trailing "/" */
} hfc_warm_t;


static int hfc_warm_list(hfc_warm_t *w, hfc_warm_repo_t *r);
static int hfc_warm_api(hfc_warm_t *w, hfc_warm_repo_t *r, const char *url,
    json_t **json, char **next);
static int hfc_warm_selected(hfc_opts_t *o, const char *path);
static int hfc_warm_download(hfc_warm_t *w);
static void hfc_warm_done(hfc_warm_t *w, hfc_progress_t *p, hfc_xfer_t *x);


int
hfc_warm(hfc_opts_t *o)
{
    int               rc, failed;
    char              total[32];
    size_t            i, len, nfailed, nfiles;
    double            start;
    int64_t           bytes;
    hfc_warm_t        w;
    hfc_warm_repo_t  *r;

    if (o->nargs == 0) {
        hfc_error("warm: no repository given (hf-cache warm REPO...)");
        return HFC_USAGE;
    }

    memset(&w, 0, sizeof(hfc_warm_t));
    w.opts = o;

    len = strlen(o->endpoint);
    while (len && o->endpoint[len - 1] == '/') {
        len--;
    }

    w.endpoint = hfc_strndup(o->endpoint, len);

    if (strncmp(w.endpoint, "http://", 7) != 0
        && strncmp(w.endpoint, "https://", 8) != 0)
    {
        hfc_error("--endpoint \"%s\": not an http:// or https:// URL",
                  o->endpoint);
        return HFC_USAGE;
    }

    w.repos = hfc_alloc(o->nargs * sizeof(hfc_warm_repo_t));
    w.nrepos = o->nargs;

    start = hfc_now();
    failed = 0;

    for (i = 0; i < o->nargs; i++) {
        r = &w.repos[i];
        hfc_split_repo_rev(o->args[i], &r->repo, &r->rev);
        r->kind = hfc_strdup(o->type ? o->type : "model");

        if (r->rev == NULL) {
            r->rev = hfc_strdup(o->revision ? o->revision : "main");
        }

        rc = hfc_warm_list(&w, r);

        if (rc == HFC_UNREACHABLE) {
            return rc;
        }

        if (rc != HFC_OK) {
            failed = 1;
        }
    }

    if (w.nfiles && hfc_warm_download(&w) != HFC_OK) {
        failed = 1;
    }

    /* the summary: what a user asked, what happened */

    nfailed = 0;
    nfiles = 0;
    bytes = 0;

    for (i = 0; i < w.nrepos; i++) {
        r = &w.repos[i];

        if (!r->listed) {
            printf("%s %s@%s: not warmed\n", r->kind, r->repo, r->rev);
            continue;
        }

        printf("%s %s@%s (commit %s): %zu files, %s%s", r->kind, r->repo,
               r->rev, r->commit, r->files - r->failed,
               hfc_size((uint64_t) r->bytes, total, sizeof(total)),
               r->failed ? "" : "\n");

        if (r->failed) {
            printf("; %zu failed\n", r->failed);
        }

        nfailed += r->failed;
        nfiles += r->files;
        bytes += r->bytes;
    }

    printf("warmed %zu of %zu files (%s) in %.1f s",
           nfiles - nfailed, nfiles,
           hfc_size((uint64_t) bytes, total, sizeof(total)),
           hfc_now() - start);

    if (nfailed) {
        printf("; %zu failed:\n", nfailed);

        for (i = 0; i < w.nfiles; i++) {
            if (w.files[i].error) {
                printf("  %s %s: %s\n", w.files[i].repo->repo,
                       w.files[i].path, w.files[i].error);
            }
        }

    } else {
        printf("\n");
    }

    fflush(stdout);

    return (failed || nfailed) ? HFC_FAILED : HFC_OK;
}


/* the revision's commit, then the tree at that commit, page by page */

static int
hfc_warm_list(hfc_warm_t *w, hfc_warm_repo_t *r)
{
    int               rc;
    char             *url, *rev, *next;
    size_t            i, pages, before;
    json_t           *json, *sha, *e, *v;
    const char       *type, *path;
    hfc_warm_file_t  *f;

    rev = hfc_escape(r->rev, 0);
    url = hfc_sprintf("%s/api/%s/%s/revision/%s", w->endpoint,
                      hfc_kind_api(r->kind), r->repo, rev);
    free(rev);

    rc = hfc_warm_api(w, r, url, &json, NULL);
    free(url);

    if (rc != HFC_OK) {
        return rc;
    }

    sha = json_object_get(json, "sha");

    if (!json_is_string(sha) || !hfc_is_commit(json_string_value(sha))) {
        hfc_error("%s %s@%s: the revision's answer has no commit (\"sha\")",
                  r->kind, r->repo, r->rev);
        json_decref(json);
        return HFC_FAILED;
    }

    memcpy(r->commit, json_string_value(sha), NGX_HTTP_HF_REC_COMMIT);
    json_decref(json);

    url = hfc_sprintf("%s/api/%s/%s/tree/%s?recursive=true&expand=false",
                      w->endpoint, hfc_kind_api(r->kind), r->repo, r->commit);
    before = w->nfiles;
    pages = 0;

    while (url) {
        rc = hfc_warm_api(w, r, url, &json, &next);
        free(url);
        url = next;

        if (rc != HFC_OK) {
            free(url);
            w->nfiles = before;
            return rc;
        }

        if (!json_is_array(json)) {
            hfc_error("%s %s@%s: the tree is not a JSON array", r->kind,
                      r->repo, r->rev);
            json_decref(json);
            free(url);
            w->nfiles = before;
            return HFC_FAILED;
        }

        /* a Link back to a page already seen would never end */

        if (++pages > 100000) {
            hfc_error("%s %s@%s: more than 100000 tree pages", r->kind,
                      r->repo, r->rev);
            json_decref(json);
            free(url);
            return HFC_FAILED;
        }

        json_array_foreach(json, i, e) {
            type = json_string_value(json_object_get(e, "type"));
            path = json_string_value(json_object_get(e, "path"));

            if (type == NULL || path == NULL || strcmp(type, "file") != 0
                || !hfc_warm_selected(w->opts, path))
            {
                continue;
            }

            if (w->nfiles == w->cap) {
                w->cap = w->cap ? 2 * w->cap : 256;
                w->files = hfc_realloc(w->files,
                                       w->cap * sizeof(hfc_warm_file_t));
            }

            f = &w->files[w->nfiles++];
            f->repo = r;
            f->path = hfc_strdup(path);
            v = json_object_get(e, "size");
            f->size = json_is_integer(v) ? json_integer_value(v) : -1;
            f->error = NULL;
            r->files++;
        }

        json_decref(json);
    }

    r->listed = 1;

    if (!w->opts->quiet) {
        fprintf(stderr, "%s %s@%s: commit %s, %zu files to warm\n", r->kind,
                r->repo, r->rev, r->commit, r->files);
    }

    return HFC_OK;
}


static int
hfc_warm_api(hfc_warm_t *w, hfc_warm_repo_t *r, const char *url,
    json_t **json, char **next)
{
    char          err[512];
    hfc_xfer_t   *x;
    json_error_t  jerr;

    x = hfc_xfer_create(w->opts, url, 1);

    if (hfc_xfer_perform(x) != 0) {
        if (hfc_xfer_unreachable(x)) {
            hfc_error("cannot reach the cache at %s: %s", w->endpoint,
                      hfc_xfer_error(x, err, sizeof(err)));
            hfc_xfer_destroy(x);
            return HFC_UNREACHABLE;
        }

        hfc_error("%s %s@%s: %s: %s", r->kind, r->repo, r->rev, url,
                  hfc_xfer_error(x, err, sizeof(err)));
        hfc_xfer_destroy(x);
        return HFC_FAILED;
    }

    if (x->status != 200) {
        hfc_error("%s %s@%s: %s", r->kind, r->repo, r->rev,
                  hfc_xfer_error(x, err, sizeof(err)));
        hfc_xfer_destroy(x);
        return HFC_FAILED;
    }

    *json = json_loadb(x->body ? x->body : "", x->body_len, 0, &jerr);

    if (*json == NULL) {
        hfc_error("%s %s@%s: %s: not JSON: %s", r->kind, r->repo, r->rev,
                  url, jerr.text);
        hfc_xfer_destroy(x);
        return HFC_FAILED;
    }

    if (next) {
        *next = x->next;
        x->next = NULL;
    }

    hfc_xfer_destroy(x);

    return HFC_OK;
}


/* --include and --exclude: fnmatch() as huggingface_hub's patterns */

static int
hfc_warm_selected(hfc_opts_t *o, const char *path)
{
    size_t  i;

    if (o->ninclude) {
        for (i = 0; i < o->ninclude; i++) {
            if (fnmatch(o->include[i], path, 0) == 0) {
                break;
            }
        }

        if (i == o->ninclude) {
            return 0;
        }
    }

    for (i = 0; i < o->nexclude; i++) {
        if (fnmatch(o->exclude[i], path, 0) == 0) {
            return 0;
        }
    }

    return 1;
}


static int
hfc_warm_download(hfc_warm_t *w)
{
    int               running, left;
    char             *path, *url;
    size_t            next, active, i;
    CURLM            *multi;
    CURLMsg          *msg;
    hfc_xfer_t       *x, **slots;
    hfc_progress_t    p;
    hfc_warm_file_t  *f;

    hfc_progress_start(&p, w->opts->quiet);
    p.files_total = w->nfiles;

    for (i = 0; i < w->nfiles; i++) {
        if (w->files[i].size > 0) {
            p.bytes_total += w->files[i].size;
        }
    }

    multi = curl_multi_init();
    if (multi == NULL) {
        hfc_error("curl_multi_init() failed");
        return HFC_FAILED;
    }

    /* one connection per job, kept alive across files */
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long) w->opts->jobs);

    slots = hfc_alloc(w->opts->jobs * sizeof(hfc_xfer_t *));
    next = 0;
    active = 0;
    running = 0;

    hfc_progress_draw(&p, 1);

    while (next < w->nfiles || active) {

        while (active < (size_t) w->opts->jobs && next < w->nfiles) {
            f = &w->files[next];
            path = hfc_escape(f->path, 1);
            url = hfc_sprintf("%s/%s%s/resolve/%s/%s", w->endpoint,
                              hfc_kind_prefix(f->repo->kind), f->repo->repo,
                              f->repo->commit, path);
            free(path);

            x = hfc_xfer_create(w->opts, url, 0);
            free(url);
            x->index = next++;

            for (i = 0; slots[i] != NULL; i++) { /* void */ }
            slots[i] = x;

            curl_multi_add_handle(multi, x->easy);
            active++;
        }

        curl_multi_perform(multi, &running);

        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE) {
                continue;
            }

            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &x);
            x->result = msg->data.result;
            curl_multi_remove_handle(multi, x->easy);
            active--;

            for (i = 0; slots[i] != x; i++) { /* void */ }
            slots[i] = NULL;

            hfc_warm_done(w, &p, x);
            hfc_xfer_destroy(x);
        }

        if (active) {
            curl_multi_poll(multi, NULL, 0, p.tty ? 100 : 1000, NULL);
        }

        /* the bytes of the files in flight, for the bar */

        p.bytes_active = 0;

        for (i = 0; i < (size_t) w->opts->jobs; i++) {
            if (slots[i]) {
                p.bytes_active += slots[i]->bytes;
            }
        }

        hfc_progress_draw(&p, 0);
    }

    hfc_progress_end(&p);

    curl_multi_cleanup(multi);
    free(slots);

    return p.files_failed ? HFC_FAILED : HFC_OK;
}


/*
 * A file is warm when the cache answered 200 with every byte it
 * announced, and as many as the tree said: the cache verifies what it
 * stores, a short or failed body is never recorded.
 */

static void
hfc_warm_done(hfc_warm_t *w, hfc_progress_t *p, hfc_xfer_t *x)
{
    char              err[512], size[32];
    curl_off_t        length;
    hfc_warm_file_t  *f;

    f = &w->files[x->index];
    err[0] = '\0';

    if (x->result == CURLE_OK) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
        curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
                          &length);

        if (x->status != 200) {
            hfc_xfer_error(x, err, sizeof(err));

        } else if (length >= 0 && length != x->bytes) {
            snprintf(err, sizeof(err), "%lld of %lld bytes received",
                     (long long) x->bytes, (long long) length);

        } else if (f->size >= 0 && f->size != x->bytes) {
            snprintf(err, sizeof(err), "%lld bytes received, the tree says "
                     "%lld", (long long) x->bytes, (long long) f->size);
        }

    } else {
        hfc_xfer_error(x, err, sizeof(err));
    }

    p->files_done++;

    if (err[0] == '\0') {
        p->bytes_done += x->bytes;
        f->repo->bytes += x->bytes;

        if (!p->tty && !p->quiet) {
            hfc_progress_line(p, stderr, "ok %s %s (%s)\n", f->repo->repo,
                              f->path,
                              hfc_size((uint64_t) x->bytes, size,
                                       sizeof(size)));
        }

        return;
    }

    p->files_failed++;
    f->repo->failed++;
    f->error = hfc_strdup(err);

    hfc_progress_line(p, stderr, "FAILED %s %s: %s\n", f->repo->repo,
                      f->path, err);
}
