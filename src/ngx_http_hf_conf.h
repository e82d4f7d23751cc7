
/*
 * The configuration of a distribution: directive handlers, the internal
 * locations, checks at load time.
 */


#ifndef _NGX_HTTP_HF_CONF_H_INCLUDED_
#define _NGX_HTTP_HF_CONF_H_INCLUDED_


#include "ngx_http_hf_module.h"


/* directive handlers */
char *ngx_http_hf_remote(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_hf_token(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_hf_metadata(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_hf_redirect_hosts(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* hlcf->remote split into origin and path; NGX_CONF_ERROR if invalid */
char *ngx_http_hf_parse_remote(ngx_conf_t *cf, ngx_http_hf_loc_conf_t *hlcf);

/* hf_redirect_hosts when none is set: huggingface.co's CDNs */
ngx_array_t *ngx_http_hf_default_redirect_hosts(ngx_conf_t *cf);

/* the internal locations under hlcf->clcf, where its fetches go */
char *ngx_http_hf_conf_add_locations(ngx_conf_t *cf,
    ngx_http_hf_loc_conf_t *hlcf);

/* at postconfiguration, once the distribution's directives are merged */
void ngx_http_hf_set_fill_timeout(ngx_http_hf_loc_conf_t *hlcf);
/* the proxy_cache_path zone named name, or NULL */
ngx_shm_zone_t *ngx_http_hf_cache_zone(ngx_conf_t *cf, ngx_str_t *name);
void ngx_http_hf_check_resolver(ngx_conf_t *cf, ngx_http_hf_loc_conf_t *hlcf);


#endif /* _NGX_HTTP_HF_CONF_H_INCLUDED_ */
