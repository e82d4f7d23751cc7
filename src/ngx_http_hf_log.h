
/*
 * Log lines never carry a server token: nginx's own debug lines print
 * the variables and headers of the requests the module makes to the Hub
 * ("http script var", "http proxy header"), the token among them.
 */


#ifndef _NGX_HTTP_HF_LOG_H_INCLUDED_
#define _NGX_HTTP_HF_LOG_H_INCLUDED_


#include "ngx_http_hf_module.h"


/*
 * At configuration: every error log a distribution writes to gets a
 * writer that replaces the distributions' tokens before the line is
 * written (to its file, syslog or memory, as before).
 */
ngx_int_t ngx_http_hf_log_protect(ngx_conf_t *cf,
    ngx_http_hf_main_conf_t *hmcf);


#endif /* _NGX_HTTP_HF_LOG_H_INCLUDED_ */
