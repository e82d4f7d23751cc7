
/*
 * One transfer from the cache: libcurl's easy handle with what the
 * answer said (status, the Hub's error headers, the next page).
 */


#ifndef _HF_CACHE_HTTP_H_INCLUDED_
#define _HF_CACHE_HTTP_H_INCLUDED_


#include <curl/curl.h>

#include "hf_cache.h"


typedef struct {
    CURL                       *easy;
    struct curl_slist          *headers;
    char                       *url;
    long                        status;
    int64_t                     bytes;
    char                        error_code[64];
    char                        error_message[256];
    char                       *next;         /* Link: <...>; rel="next" */
    char                       *body;         /* kept when asked */
    size_t                      body_len;
    size_t                      body_cap;
    size_t                      index;        /* the owner's */
    CURLcode                    result;
    char                        errbuf[CURL_ERROR_SIZE];
    unsigned                    keep_body:1;
} hfc_xfer_t;


hfc_xfer_t *hfc_xfer_create(const hfc_opts_t *o, const char *url,
    int keep_body);
void hfc_xfer_destroy(hfc_xfer_t *x);
int hfc_xfer_perform(hfc_xfer_t *x);
const char *hfc_xfer_error(hfc_xfer_t *x, char *buf, size_t size);
int hfc_xfer_unreachable(hfc_xfer_t *x);


#endif /* _HF_CACHE_HTTP_H_INCLUDED_ */
