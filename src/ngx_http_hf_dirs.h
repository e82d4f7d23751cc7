
/*
 * Whether the workers can use the cache and metadata directories: warned
 * about at every configuration load (nginx -t too), and checked again by
 * each worker, which streams verified bytes without caching them when it
 * cannot write its cache.
 */


#ifndef _NGX_HTTP_HF_DIRS_H_INCLUDED_
#define _NGX_HTTP_HF_DIRS_H_INCLUDED_


#include "ngx_http_hf_module.h"


/* in the master: a warning naming each directory, the user and the fix */
void ngx_http_hf_dirs_check(ngx_cycle_t *cycle,
    ngx_http_hf_main_conf_t *hmcf);

/* in a worker, as its user: distributions whose cache it cannot write */
void ngx_http_hf_dirs_worker(ngx_cycle_t *cycle,
    ngx_http_hf_main_conf_t *hmcf);


#endif /* _NGX_HTTP_HF_DIRS_H_INCLUDED_ */
