# The configuration most module tests share: one cache, one LMDB, a public
# and a private distribution in front of the local test hub.  Loading this
# sets $::HttpConfig and $::Config for "--- http_config eval: $::HttpConfig".
package HfConf;
use strict;
use warnings;

$::HttpConfig = q{
    proxy_cache_path $TEST_NGINX_SERVROOT/cache levels=1:2 keys_zone=hf:10m
                     use_temp_path=off;
    hf_metadata $TEST_NGINX_SERVROOT/meta size=64m;
    hf_cache hf;
    hf_remote $TEST_NGINX_HUB;
    proxy_connect_timeout 2s;
    proxy_read_timeout 5s;
};

$::Config = q{
    location /hf/ {
        hf_distribution public;
    }
    location /hf-private/ {
        hf_distribution private;
        hf_token env:HF_TEST_TOKEN;
    }
};

# the hub's valid token; nginx inherits the environment of the tests
$ENV{HF_TEST_TOKEN} = 'hf_testtoken0123456789abcdefghijklmn';

1;
