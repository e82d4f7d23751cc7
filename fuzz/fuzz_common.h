
/*
 * libFuzzer harnesses of ngx_http_hf_module's parsers: what they share.
 *
 * Built by `make fuzz` (mk/checks.mk) with clang -fsanitize=fuzzer,
 * address,undefined, and linked with the objects of build/static (nginx
 * and the module built with clang and the same sanitizers, nginx.o's
 * main() renamed): pools, strings and the rest of nginx core are nginx's
 * own. That build defines NGX_DEBUG_PALLOC, so every pool allocation is
 * its own malloc() and AddressSanitizer sees one byte past any of them.
 */


#ifndef _HF_FUZZ_COMMON_H_INCLUDED_
#define _HF_FUZZ_COMMON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <stdio.h>
#include <stdlib.h>


/* a failed invariant is a crash for libFuzzer: the input is kept */
#define hf_fuzz_assert(cond)                                                  \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: invariant failed: %s\n",                  \
                    __FILE__, __LINE__, #cond);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)


static ngx_log_t        hf_fuzz_log;
static ngx_open_file_t  hf_fuzz_log_file;


/* what nginx's main() sets up before any pool is made */
static void
hf_fuzz_init(void)
{
    ngx_uint_t  n;

    if (hf_fuzz_log.file) {
        return;
    }

    ngx_pagesize = getpagesize();
    for (n = ngx_pagesize, ngx_pagesize_shift = 0; n >>= 1;
         ngx_pagesize_shift++)
    {
        /* void */
    }

    ngx_cacheline_size = NGX_CPU_CACHE_LINE;

    hf_fuzz_log_file.fd = ngx_stderr;
    hf_fuzz_log.file = &hf_fuzz_log_file;
    hf_fuzz_log.log_level = NGX_LOG_EMERG;   /* parsers do not log */
}


static ngx_pool_t *
hf_fuzz_pool(void)
{
    ngx_pool_t  *pool;

    hf_fuzz_init();

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, &hf_fuzz_log);
    hf_fuzz_assert(pool != NULL);

    return pool;
}


/*
 * A copy of the input of exactly its length (plus the NUL that nginx puts
 * after a request line or a header value), so that a read past the end
 * is an AddressSanitizer report.
 */
static u_char *
hf_fuzz_copy(ngx_pool_t *pool, const uint8_t *data, size_t size)
{
    u_char  *p;

    p = ngx_pnalloc(pool, size + 1);
    hf_fuzz_assert(p != NULL);

    if (size) {
        ngx_memcpy(p, data, size);
    }

    p[size] = '\0';

    return p;
}


#endif /* _HF_FUZZ_COMMON_H_INCLUDED_ */
