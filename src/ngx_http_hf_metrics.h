
/*
 * Metrics: counters per distribution in shared memory, kept across
 * reloads, answered in the Prometheus text format by "hf_metrics".
 */


#ifndef _NGX_HTTP_HF_METRICS_H_INCLUDED_
#define _NGX_HTTP_HF_METRICS_H_INCLUDED_


#include "ngx_http_hf_module.h"


/* the shared memory zone, when a distribution or "hf_metrics" needs it */
ngx_int_t ngx_http_hf_metrics_init(ngx_conf_t *cf,
    ngx_http_hf_main_conf_t *hmcf);

/* init process: this worker's slot of the fills gauge */
void ngx_http_hf_metrics_init_process(ngx_cycle_t *cycle);

/* the "hf_metrics" directive */
char *ngx_http_hf_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* a fetch ended: its upstream request, if it made one */
void ngx_http_hf_metrics_fetch_done(ngx_http_request_t *sr,
    ngx_http_hf_fetch_t *f);

/* a download was verified and recorded, or refused */
void ngx_http_hf_metrics_verified(ngx_http_hf_loc_conf_t *conf);
void ngx_http_hf_metrics_verify_failed(ngx_http_hf_loc_conf_t *conf);

/* a download into the cache began (counted once), or ended */
ngx_int_t ngx_http_hf_metrics_fill_start(ngx_http_request_t *r,
    ngx_http_hf_fetch_t *f);
void ngx_http_hf_metrics_fill_end(ngx_http_hf_fetch_t *f);


#endif /* _NGX_HTTP_HF_METRICS_H_INCLUDED_ */
