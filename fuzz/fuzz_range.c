
/*
 * Fuzz target: the Range parser of /resolve/ answers,
 * ngx_http_hf_parse_range() (src/ngx_http_hf_util.c). If-Range is the
 * caller's (src/ngx_http_hf_resolve.c) and is not part of it.
 *
 * Input: 8 bytes of file size (little endian, 62 bits), then the Range
 * header's value. Checked, besides memory errors and undefined behaviour:
 * the answer is the whole file (NGX_DECLINED), one range inside the file
 * (NGX_OK; *to_end only with the last byte), or 416; and for the canonical
 * forms "bytes=A-B", "bytes=A-", "bytes=-N" the range is the one RFC 9110
 * says.
 */


#include "fuzz_common.h"
#include "ngx_http_hf_util.h"


/* a decimal of at most 18 digits: no overflow to think of */
static int
hf_fuzz_number(u_char **pp, u_char *last, off_t *n)
{
    u_char  *p;

    p = *pp;
    *n = 0;

    while (p < last && *p >= '0' && *p <= '9' && p - *pp < 18) {
        *n = *n * 10 + (*p++ - '0');
    }

    if (p == *pp || (p < last && *p >= '0' && *p <= '9')) {
        return 0;
    }

    *pp = p;
    return 1;
}


/*
 * The expected answer to a canonical single range: 0 not canonical (no
 * expectation), 1 the whole file, 2 the range [*start, *end], 3 416.
 */
static int
hf_fuzz_expect(ngx_str_t *v, off_t size, off_t *start, off_t *end)
{
    off_t    a, b;
    u_char  *p, *last;

    p = v->data;
    last = p + v->len;

    if (v->len < 7 || ngx_strncmp(p, "bytes=", 6) != 0) {
        return 0;
    }

    p += 6;

    if (*p == '-') {
        p++;

        if (!hf_fuzz_number(&p, last, &b) || p != last) {
            return 0;
        }

        if (b == 0 || size == 0) {
            return 3;
        }

        *start = (b < size) ? size - b : 0;
        *end = size - 1;
        return 2;
    }

    if (!hf_fuzz_number(&p, last, &a) || p == last || *p++ != '-') {
        return 0;
    }

    if (p == last) {
        b = -1;

    } else if (!hf_fuzz_number(&p, last, &b) || p != last) {
        return 0;
    }

    if (b != -1 && a > b) {
        return 1;           /* invalid: ignored, the whole file */
    }

    if (a >= size) {
        return 3;
    }

    *start = a;
    *end = (b == -1 || b >= size) ? size - 1 : b;
    return 2;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          expect;
    off_t        fsize, first, last, start, end;
    uint64_t     u;
    ngx_int_t    rc;
    ngx_str_t    value;
    ngx_uint_t   i, to_end;
    ngx_pool_t  *pool;

    if (size < 8) {
        return 0;
    }

    pool = hf_fuzz_pool();

    u = 0;
    for (i = 0; i < 8; i++) {
        u |= (uint64_t) data[i] << (8 * i);
    }

    fsize = (off_t) (u >> 2);

    value.len = size - 8;
    value.data = hf_fuzz_copy(pool, data + 8, size - 8);

    first = last = -2;
    to_end = 2;

    rc = ngx_http_hf_parse_range(&value, fsize, &first, &last, &to_end);

    hf_fuzz_assert(rc == NGX_OK || rc == NGX_DECLINED
                   || rc == NGX_HTTP_RANGE_NOT_SATISFIABLE);

    if (rc == NGX_OK) {
        hf_fuzz_assert(0 <= first);
        hf_fuzz_assert(first <= last);
        hf_fuzz_assert(last < fsize);
        hf_fuzz_assert(to_end == 0 || to_end == 1);
        hf_fuzz_assert(!to_end || last == fsize - 1);
    }

    start = end = -1;
    expect = hf_fuzz_expect(&value, fsize, &start, &end);

    switch (expect) {

    case 1:
        hf_fuzz_assert(rc == NGX_DECLINED);
        break;

    case 2:
        hf_fuzz_assert(rc == NGX_OK);
        hf_fuzz_assert(first == start);
        hf_fuzz_assert(last == end);
        break;

    case 3:
        hf_fuzz_assert(rc == NGX_HTTP_RANGE_NOT_SATISFIABLE);
        break;
    }

    ngx_destroy_pool(pool);

    return 0;
}
