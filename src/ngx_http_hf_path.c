#include "ngx_http_hf_module.h"
