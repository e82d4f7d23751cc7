
/*
 * Progress of a warm: on a terminal (stderr), one line redrawn in place
 * at most ten times a second; elsewhere (logs, CI, tests) nothing but
 * the plain lines the caller prints, one per file.
 */


#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "hf_cache.h"


#define HFC_BAR_WIDTH  24


void
hfc_progress_start(hfc_progress_t *p, int quiet)
{
    memset(p, 0, sizeof(hfc_progress_t));
    p->tty = isatty(STDERR_FILENO) && !quiet;
    p->quiet = quiet;
    p->start = hfc_now();
}


void
hfc_progress_draw(hfc_progress_t *p, int force)
{
    int      i, fill;
    char     done[32], total[32], rate[32], eta[32], bar[HFC_BAR_WIDTH + 1];
    double   now, elapsed, speed, frac;
    int64_t  bytes;

    if (!p->tty) {
        return;
    }

    now = hfc_now();

    if (!force && now - p->last_draw < 0.1) {
        return;
    }

    p->last_draw = now;
    elapsed = now - p->start;
    bytes = p->bytes_done + p->bytes_active;

    frac = p->bytes_total > 0 ? (double) bytes / p->bytes_total
                              : (p->files_total
                                 ? (double) p->files_done / p->files_total
                                 : 1.0);
    if (frac > 1.0) {
        frac = 1.0;
    }

    fill = (int) (frac * HFC_BAR_WIDTH);

    for (i = 0; i < HFC_BAR_WIDTH; i++) {
        bar[i] = i < fill ? '#' : '.';
    }

    bar[HFC_BAR_WIDTH] = '\0';

    speed = elapsed > 0.2 ? bytes / elapsed : 0;

    hfc_size((uint64_t) bytes, done, sizeof(done));
    hfc_size((uint64_t) p->bytes_total, total, sizeof(total));
    hfc_size((uint64_t) speed, rate, sizeof(rate));

    hfc_duration(speed > 0 ? (p->bytes_total - bytes) / speed : -1,
                 eta, sizeof(eta));

    fprintf(stderr, "\r[%s] %zu/%zu files  %s / %s  %s/s  ETA %s\033[K",
            bar, p->files_done, p->files_total, done, total, rate, eta);
    fflush(stderr);

    p->drawn = 1;
}


/* a line of its own, the bar drawn again below it */

void
hfc_progress_line(hfc_progress_t *p, FILE *f, const char *fmt, ...)
{
    va_list  args;

    if (p->quiet && f == stdout) {
        return;
    }

    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = 0;
    }

    va_start(args, fmt);
    vfprintf(f, fmt, args);
    va_end(args);
    fflush(f);

    hfc_progress_draw(p, 1);
}


void
hfc_progress_end(hfc_progress_t *p)
{
    if (p->tty) {
        hfc_progress_draw(p, 1);
        fputc('\n', stderr);
        p->drawn = 0;
    }
}
