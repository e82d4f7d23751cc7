
/*
 * Small helpers: messages, memory that never returns NULL (a command
 * line tool has nothing better to do than to stop), sizes, times,
 * durations, URL escaping and the kinds of repository.
 */


#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "hf_cache.h"


const char  *hfc_program = "hf-cache";


/* one line on stderr: "hf-cache: [what: ]message" */

static void
hfc_say(const char *what, const char *fmt, va_list args)
{
    fprintf(stderr, "%s: %s", hfc_program, what);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
}


void
hfc_error(const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    hfc_say("", fmt, args);
    va_end(args);
}


void
hfc_warn(const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    hfc_say("warning: ", fmt, args);
    va_end(args);
}


void *
hfc_alloc(size_t size)
{
    void  *p;

    p = calloc(1, size ? size : 1);
    if (p == NULL) {
        hfc_error("out of memory (%zu bytes)", size);
        exit(HFC_FAILED);
    }

    return p;
}


void *
hfc_realloc(void *p, size_t size)
{
    p = realloc(p, size ? size : 1);
    if (p == NULL) {
        hfc_error("out of memory (%zu bytes)", size);
        exit(HFC_FAILED);
    }

    return p;
}


char *
hfc_strdup(const char *s)
{
    return hfc_strndup(s, strlen(s));
}


char *
hfc_strndup(const char *s, size_t n)
{
    char  *p;

    p = hfc_alloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';

    return p;
}


char *
hfc_sprintf(const char *fmt, ...)
{
    int       n;
    char     *p;
    va_list   args;

    va_start(args, fmt);
    n = vsnprintf(NULL, 0, fmt, args);
    va_end(args);

    p = hfc_alloc((size_t) n + 1);

    va_start(args, fmt);
    vsnprintf(p, (size_t) n + 1, fmt, args);
    va_end(args);

    return p;
}


double
hfc_now(void)
{
    struct timeval  tv;

    gettimeofday(&tv, NULL);

    return tv.tv_sec + tv.tv_usec / 1e6;
}


/* decimal units, as the Hub and its clients show sizes */

const char *
hfc_size(uint64_t bytes, char *buf, size_t size)
{
    double       v;
    size_t       i;
    static const char  *units[] = { "kB", "MB", "GB", "TB", "PB" };

    if (bytes < 1000) {
        snprintf(buf, size, "%llu B", (unsigned long long) bytes);
        return buf;
    }

    v = bytes / 1000.0;

    for (i = 0; v >= 999.95 && i < 4; i++) {
        v /= 1000.0;
    }

    snprintf(buf, size, "%.1f %s", v, units[i]);

    return buf;
}


const char *
hfc_time(int64_t t, char *buf, size_t size)
{
    time_t     tt;
    struct tm  tm;

    if (t <= 0) {
        snprintf(buf, size, "-");
        return buf;
    }

    tt = (time_t) t;
    localtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);

    return buf;
}


const char *
hfc_duration(double seconds, char *buf, size_t size)
{
    long  s;

    if (seconds < 0 || seconds > 99 * 3600) {
        snprintf(buf, size, "--:--");
        return buf;
    }

    s = (long) (seconds + 0.5);

    if (s >= 3600) {
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);

    } else {
        snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
    }

    return buf;
}


/* "30d", "12h", "90m", "45s", "2w", or a number of seconds */

int
hfc_parse_duration(const char *s, int64_t *seconds)
{
    char       *end;
    long long   n;

    if (!isdigit((unsigned char) s[0])) {
        return -1;
    }

    errno = 0;
    n = strtoll(s, &end, 10);

    if (errno != 0 || n < 0 || n > (1LL << 40)) {
        return -1;
    }

    switch (*end) {
    case 'w':
        n *= 7 * 86400;
        break;
    case 'd':
        n *= 86400;
        break;
    case 'h':
        n *= 3600;
        break;
    case 'm':
        n *= 60;
        break;
    case 's':
    case '\0':
        break;
    default:
        return -1;
    }

    if (*end != '\0' && end[1] != '\0') {
        return -1;
    }

    *seconds = n;

    return 0;
}


/*
 * Percent-encodes all but RFC 3986's unreserved characters (and "/" when
 * asked): what huggingface_hub's quote() does for paths and revisions.
 */

char *
hfc_escape(const char *s, int keep_slash)
{
    char                 *d, *p;
    unsigned char         c;
    static const char     hex[] = "0123456789ABCDEF";

    d = hfc_alloc(strlen(s) * 3 + 1);

    for (p = d; *s; s++) {
        c = (unsigned char) *s;

        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'
            || (c == '/' && keep_slash))
        {
            *p++ = (char) c;
            continue;
        }

        *p++ = '%';
        *p++ = hex[c >> 4];
        *p++ = hex[c & 0x0f];
    }

    *p = '\0';

    return d;
}


int
hfc_is_commit(const char *s)
{
    size_t  i;

    for (i = 0; i < NGX_HTTP_HF_REC_COMMIT; i++) {
        if (!isxdigit((unsigned char) s[i]) || isupper((unsigned char) s[i])) {
            return 0;
        }
    }

    return s[i] == '\0';
}


/* the kinds: as in the records, in API paths and in /resolve/ URLs */

static const char  *hfc_kinds[][3] = {
    { "model",   "models",   "" },
    { "dataset", "datasets", "datasets/" },
    { "space",   "spaces",   "spaces/" },
    { "kernel",  "kernels",  "kernels/" },
};


const char *
hfc_kind_name(const char *type)
{
    size_t  i;

    for (i = 0; i < sizeof(hfc_kinds) / sizeof(hfc_kinds[0]); i++) {
        if (strcmp(type, hfc_kinds[i][0]) == 0
            || strcmp(type, hfc_kinds[i][1]) == 0)
        {
            return hfc_kinds[i][0];
        }
    }

    return NULL;
}


/* a column of hfc_kinds for a type name, or dflt when it is not one */

static const char *
hfc_kind_column(const char *kind, size_t column, const char *dflt)
{
    size_t  i;

    for (i = 0; i < sizeof(hfc_kinds) / sizeof(hfc_kinds[0]); i++) {
        if (strcmp(kind, hfc_kinds[i][0]) == 0) {
            return hfc_kinds[i][column];
        }
    }

    return dflt;
}


const char *
hfc_kind_api(const char *kind)
{
    return hfc_kind_column(kind, 1, "models");
}


const char *
hfc_kind_prefix(const char *kind)
{
    return hfc_kind_column(kind, 2, "");
}
