
/*
 * proxy_cache's files.  nginx names an entry by the md5 of its key, in
 * hex, under directories of "levels" taken from the end of that name
 * (levels=1:2: CACHE/c/ab/...abc), and writes "\nKEY: <key>\n" after the
 * binary header of every file.  A file is removed only when that line
 * names the key we mean: a file of another key, or one being written
 * (temporary names have a suffix), is never touched.
 *
 * Removing a file under a running nginx is safe: when its keys_zone
 * still has the entry, opening the file fails with ENOENT and nginx
 * fetches it again, as for an entry never cached
 * (ngx_http_file_cache_open()).
 */


#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hf_cache.h"


/* enough for nginx's header (about 340 bytes) and a 511-byte key */
#define HFC_HEADER_READ  2048


int
hfc_levels_parse(const char *s, hfc_levels_t *l)
{
    char  *end;
    long   n;

    l->nlevels = 0;

    for ( ;; ) {
        n = strtol(s, &end, 10);

        if (end == s || n < 1 || n > 2 || l->nlevels == 3) {
            return -1;
        }

        l->levels[l->nlevels++] = (int) n;

        if (*end == '\0') {
            return 0;
        }

        if (*end != ':') {
            return -1;
        }

        s = end + 1;
    }
}


void
hfc_cache_path(const char *dir, const hfc_levels_t *l, const char *key,
    size_t key_len, char *out, size_t size)
{
    int            n;
    char           hex[33], *p;
    size_t         i, end;
    unsigned int   len;
    unsigned char  md5[EVP_MAX_MD_SIZE];
    static const char  digits[] = "0123456789abcdef";

    (void) EVP_Digest(key, key_len, md5, &len, EVP_md5(), NULL);

    for (i = 0; i < 16; i++) {
        hex[2 * i] = digits[md5[i] >> 4];
        hex[2 * i + 1] = digits[md5[i] & 0x0f];
    }

    hex[32] = '\0';

    n = snprintf(out, size, "%s/", dir);
    p = out + n;
    end = 32;

    for (i = 0; i < l->nlevels; i++) {
        end -= l->levels[i];
        memcpy(p, hex + end, l->levels[i]);
        p += l->levels[i];
        *p++ = '/';
    }

    memcpy(p, hex, 33);
}


/* 1: the key was read; 0: no such file; -1: not a cache file */

int
hfc_cache_read_key(const char *file, char *key, size_t size)
{
    int       fd;
    char      buf[HFC_HEADER_READ + 1], *p, *nl;
    ssize_t   n;

    fd = open(file, O_RDONLY|O_NOFOLLOW);
    if (fd == -1) {
        return errno == ENOENT ? 0 : -1;
    }

    n = read(fd, buf, HFC_HEADER_READ);
    close(fd);

    if (n <= 0) {
        return -1;
    }

    buf[n] = '\0';

    p = memmem(buf, (size_t) n, "\nKEY: ", sizeof("\nKEY: ") - 1);
    if (p == NULL) {
        return -1;
    }

    p += sizeof("\nKEY: ") - 1;

    nl = memchr(p, '\n', (size_t) (buf + n - p));
    if (nl == NULL || (size_t) (nl - p) >= size) {
        return -1;
    }

    memcpy(key, p, (size_t) (nl - p));
    key[nl - p] = '\0';

    return 1;
}


/* 1: removed; 0: not there; -1: not removed (another key, an error) */

int
hfc_cache_unlink(const char *file, const char *key, size_t key_len,
    uint64_t *freed)
{
    int          rc;
    char         found[NGX_HTTP_HF_MAX_CACHE_KEY + 512];
    struct stat  st;

    rc = hfc_cache_read_key(file, found, sizeof(found));

    if (rc <= 0) {
        if (rc < 0) {
            hfc_warn("\"%s\": not a cache file of \"%.*s\", kept", file,
                     (int) key_len, key);
        }

        return rc;
    }

    if (strlen(found) != key_len || memcmp(found, key, key_len) != 0) {
        hfc_warn("\"%s\" holds \"%s\", not \"%.*s\": kept", file, found,
                 (int) key_len, key);
        return -1;
    }

    if (lstat(file, &st) == 0 && freed) {
        *freed += (uint64_t) st.st_size;
    }

    if (unlink(file) == -1) {
        if (errno == ENOENT) {
            return 0;
        }

        hfc_warn("unlink(\"%s\"): %s", file, strerror(errno));
        return -1;
    }

    return 1;
}


static int
hfc_is_entry_name(const char *name)
{
    size_t  i;

    for (i = 0; i < 32; i++) {
        if (!((name[i] >= '0' && name[i] <= '9')
              || (name[i] >= 'a' && name[i] <= 'f')))
        {
            return 0;
        }
    }

    return name[32] == '\0';
}


/*
 * Every complete entry under dir (temporary files, whose names have a
 * suffix, are skipped), with its key.  The callback returning non-zero
 * stops the walk.
 */

int
hfc_cache_walk(const char *dir, hfc_cache_visit_pt visit, void *data)
{
    int             rc;
    DIR            *d;
    char           *path, key[NGX_HTTP_HF_MAX_CACHE_KEY + 512];
    struct stat     st;
    struct dirent  *de;

    d = opendir(dir);
    if (d == NULL) {
        hfc_warn("opendir(\"%s\"): %s", dir, strerror(errno));
        return 0;
    }

    rc = 0;

    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }

        path = hfc_sprintf("%s/%s", dir, de->d_name);

        if (lstat(path, &st) == -1) {
            free(path);
            continue;
        }

        if (S_ISDIR(st.st_mode)) {
            rc = hfc_cache_walk(path, visit, data);

        } else if (S_ISREG(st.st_mode) && hfc_is_entry_name(de->d_name)
                   && hfc_cache_read_key(path, key, sizeof(key)) == 1)
        {
            rc = visit(path, key, data);
        }

        free(path);
    }

    closedir(d);

    return rc;
}
