
/*
 * The cache and metadata directories, as the workers see them.
 *
 * nginx runs its master as root and its workers as "user" (nobody by
 * default): a directory that root created or can enter may be out of the
 * workers' reach (a mktemp -d parent is 0700).  nginx itself would only
 * fail requests later, blaming the upstream; here the master warns at
 * every configuration load, naming the directory, the user and the fix,
 * and each worker checks again as its own user and, when it cannot write
 * a cache, streams verified bytes without caching them.
 */


#include "ngx_http_hf_dirs.h"

#include <grp.h>


#define NGX_HTTP_HF_MAX_GROUPS  64


typedef struct {
    ngx_uid_t                   uid;
    ngx_gid_t                   gids[NGX_HTTP_HF_MAX_GROUPS];
    int                         ngids;
    char                       *name;
} ngx_http_hf_user_t;


static ngx_str_t *ngx_http_hf_dirs_cache_path(ngx_shm_zone_t *zone);
static ngx_int_t ngx_http_hf_dirs_user(ngx_cycle_t *cycle,
    ngx_http_hf_user_t *user);
static ngx_int_t ngx_http_hf_dirs_usable(ngx_http_hf_user_t *user,
    ngx_str_t *path, u_char *blocker, size_t size);
static ngx_uint_t ngx_http_hf_dirs_allows(ngx_http_hf_user_t *user,
    ngx_file_info_t *fi, ngx_uint_t want);
static void ngx_http_hf_dirs_warn(ngx_cycle_t *cycle,
    ngx_http_hf_user_t *user, ngx_str_t *path, u_char *blocker,
    const char *what, const char *effect);


void
ngx_http_hf_dirs_check(ngx_cycle_t *cycle, ngx_http_hf_main_conf_t *hmcf)
{
    u_char                    blocker[NGX_MAX_PATH];
    ngx_str_t                *path;
    ngx_uint_t                i, j;
    ngx_http_hf_user_t        user;
    ngx_http_hf_loc_conf_t  **dist;

    if (ngx_http_hf_dirs_user(cycle, &user) != NGX_OK) {
        return;
    }

    if (hmcf->metadata_path.len
        && ngx_http_hf_dirs_usable(&user, &hmcf->metadata_path, blocker,
                                   sizeof(blocker))
           != NGX_OK)
    {
        ngx_http_hf_dirs_warn(cycle, &user, &hmcf->metadata_path, blocker,
                              "hf_metadata",
                              "files will be verified and proxied, "
                              "not recorded");
    }

    dist = hmcf->distributions.elts;

    for (i = 0; i < hmcf->distributions.nelts; i++) {

        /* one warning per zone */

        for (j = 0; j < i; j++) {
            if (dist[j]->cache_zone.len == dist[i]->cache_zone.len
                && ngx_strncmp(dist[j]->cache_zone.data,
                               dist[i]->cache_zone.data,
                               dist[i]->cache_zone.len) == 0)
            {
                break;
            }
        }

        if (j < i) {
            continue;
        }

        path = ngx_http_hf_dirs_cache_path(dist[i]->cache_shm);

        if (path
            && ngx_http_hf_dirs_usable(&user, path, blocker, sizeof(blocker))
               != NGX_OK)
        {
            ngx_http_hf_dirs_warn(cycle, &user, path, blocker,
                                  "proxy_cache_path",
                                  "files will be verified and streamed, "
                                  "not cached");
        }
    }
}


void
ngx_http_hf_dirs_worker(ngx_cycle_t *cycle, ngx_http_hf_main_conf_t *hmcf)
{
    u_char                    name[NGX_MAX_PATH];
    ngx_str_t                *path;
    ngx_uint_t                i;
    ngx_http_hf_loc_conf_t  **dist;

    dist = hmcf->distributions.elts;

    for (i = 0; i < hmcf->distributions.nelts; i++) {

        path = ngx_http_hf_dirs_cache_path(dist[i]->cache_shm);

        if (path == NULL || path->len >= sizeof(name)) {
            continue;
        }

        (void) ngx_cpystrn(name, path->data, path->len + 1);

        if (access((char *) name, W_OK|X_OK) == 0) {
            continue;
        }

        /* this worker's copy of the configuration: no caching here, an
         * empty zone turns proxy_cache off in the fetches */
        dist[i]->cache_unusable = 1;
        ngx_str_null(&dist[i]->cache_zone);

        ngx_log_error(NGX_LOG_WARN, cycle->log, ngx_errno,
                      "hf_distribution \"%V\": the cache directory \"%s\" "
                      "is not writable by the worker: files are verified "
                      "and streamed, not cached", &dist[i]->name, name);
    }
}


/*
 * The zone was found by name at postconfiguration (dist->cache_shm): its
 * data is the proxy module's cache, with the directory.
 */

static ngx_str_t *
ngx_http_hf_dirs_cache_path(ngx_shm_zone_t *zone)
{
    ngx_http_file_cache_t  *cache;

    if (zone == NULL) {
        return NULL;
    }

    cache = zone->data;

    return (cache && cache->path) ? &cache->path->name : NULL;
}


/* the workers' user: the master's own when it is not root */

static ngx_int_t
ngx_http_hf_dirs_user(ngx_cycle_t *cycle, ngx_http_hf_user_t *user)
{
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (geteuid() != 0 || ccf->user == (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        user->uid = geteuid();
        user->ngids = 0;
        user->name = NULL;
        return NGX_OK;
    }

    user->uid = ccf->user;
    user->name = ccf->username;
    user->ngids = NGX_HTTP_HF_MAX_GROUPS;

    if (getgrouplist(ccf->username, ccf->group, user->gids, &user->ngids)
        == -1)
    {
        /* more groups than kept: the primary one is enough to warn */
        user->gids[0] = ccf->group;
        user->ngids = 1;
    }

    return NGX_OK;
}


/*
 * NGX_OK when the user can enter every existing directory of path and
 * write path itself (a missing one is created by the master for it);
 * otherwise the first directory in the way is in "blocker".
 */

static ngx_int_t
ngx_http_hf_dirs_usable(ngx_http_hf_user_t *user, ngx_str_t *path,
    u_char *blocker, size_t size)
{
    u_char           *p, *end;
    ngx_uint_t        last;
    ngx_file_info_t   fi;

    if (path->len == 0 || path->len >= size) {
        return NGX_OK;
    }

    end = ngx_cpymem(blocker, path->data, path->len);
    *end = '\0';

    if (user->name == NULL) {
        /* the workers are this process's user: ask the kernel */

        if (access((char *) blocker, W_OK|X_OK) == 0 || ngx_errno == ENOENT) {
            return NGX_OK;
        }

        return NGX_DECLINED;
    }

    if (user->uid == 0) {
        return NGX_OK;
    }

    /* each prefix in turn: "/a", "/a/b", ..., the path itself */

    for (p = blocker + 1; /* void */ ; p++) {

        if (p < end && *p != '/') {
            continue;
        }

        last = (p >= end);
        *p = '\0';

        if (ngx_file_info(blocker, &fi) == NGX_FILE_ERROR) {
            /* not there yet: created for the workers */
            return NGX_OK;
        }

        if (!ngx_http_hf_dirs_allows(user, &fi, last ? 3 : 1)) {
            return NGX_DECLINED;
        }

        if (last) {
            return NGX_OK;
        }

        *p = '/';
    }
}


/* want: 1 search, 3 search and write; owner, then groups, then others */

static ngx_uint_t
ngx_http_hf_dirs_allows(ngx_http_hf_user_t *user, ngx_file_info_t *fi,
    ngx_uint_t want)
{
    int         i;
    ngx_uint_t  mode, bits;

    mode = fi->st_mode;

    if (fi->st_uid == user->uid) {
        bits = mode >> 6;

    } else {
        bits = mode;

        for (i = 0; i < user->ngids; i++) {
            if (fi->st_gid == user->gids[i]) {
                bits = mode >> 3;
                break;
            }
        }
    }

    /* S_IXOTH is 1, S_IWOTH is 2 */
    return (bits & want) == want;
}


static void
ngx_http_hf_dirs_warn(ngx_cycle_t *cycle, ngx_http_hf_user_t *user,
    ngx_str_t *path, u_char *blocker, const char *what, const char *effect)
{
    size_t  n;

    n = ngx_strlen(blocker);

    if (n == path->len) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "%s \"%V\" is not writable by the worker user "
                      "\"%s\": %s; fix: give it to that user "
                      "(chown %s \"%V\"), or set \"user\" to its owner",
                      what, path, user->name ? user->name : "(this user)",
                      effect, user->name ? user->name : "USER", path);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                  "%s \"%V\" cannot be reached by the worker user \"%s\": "
                  "\"%s\" is not searchable by it; %s; fix: "
                  "chmod o+x \"%s\", or set \"user\" to its owner",
                  what, path, user->name ? user->name : "(this user)",
                  blocker, effect, blocker);
}
