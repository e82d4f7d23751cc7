
/*
 * Fuzz target: ngx_http_hf_etag_hex() (src/ngx_http_hf_util.c), which
 * reads the Hub's ETag and X-Linked-Etag into lower-case hex.
 *
 * Input: one byte choosing the buffer's size (a sha256, a git sha1, or
 * small), then the header's value. The buffer is allocated at exactly the
 * size the caller promises (len + 1 for the NUL), so a write past it is an
 * AddressSanitizer report. Checked: an accepted value is lower-case hex,
 * NUL-terminated, at most len long, and is the value without W/ and quotes.
 */


#include "fuzz_common.h"
#include "ngx_http_hf_util.h"


static size_t  hf_fuzz_lens[] = {
    NGX_HTTP_HF_SHA256_LEN, NGX_HTTP_HF_SHA1_LEN, 0, 1, 2, 7
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char      *buf, *p, *end;
    size_t       len, n, i;
    ngx_int_t    rc;
    ngx_str_t    value;
    ngx_pool_t  *pool;

    if (size < 1) {
        return 0;
    }

    pool = hf_fuzz_pool();

    len = hf_fuzz_lens[data[0] % (sizeof(hf_fuzz_lens) / sizeof(size_t))];

    value.len = size - 1;
    value.data = hf_fuzz_copy(pool, data + 1, size - 1);

    buf = ngx_pnalloc(pool, len + 1);
    hf_fuzz_assert(buf != NULL);

    n = (size_t) -1;
    rc = ngx_http_hf_etag_hex(&value, buf, len, &n);

    hf_fuzz_assert(rc == NGX_OK || rc == NGX_ERROR);

    if (rc == NGX_OK) {
        hf_fuzz_assert(n <= len);
        hf_fuzz_assert(buf[n] == '\0');

        for (i = 0; i < n; i++) {
            hf_fuzz_assert((buf[i] >= '0' && buf[i] <= '9')
                           || (buf[i] >= 'a' && buf[i] <= 'f'));
        }

        /* the value less an optional W/ and one pair of quotes */

        p = value.data;
        end = p + value.len;

        if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
            p += 2;
        }

        if (end - p >= 2 && p[0] == '"' && end[-1] == '"') {
            p++;
            end--;
        }

        hf_fuzz_assert((size_t) (end - p) == n);
        hf_fuzz_assert(ngx_strncasecmp(p, buf, n) == 0);
    }

    ngx_destroy_pool(pool);

    return 0;
}
