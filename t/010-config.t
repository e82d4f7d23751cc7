# The module loads, its directives are accepted in their contexts, and
# invalid values fail "nginx -t" with a message naming the directive and
# the value (never the token).
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;

our $HttpConfig = q{
    proxy_cache_path $TEST_NGINX_SERVROOT/cache keys_zone=hf:1m;
    hf_metadata $TEST_NGINX_SERVROOT/meta size=16m;
};

run_tests();

__DATA__

=== TEST 1: the module loads; every directive in every context it allows
--- http_config eval
$::HttpConfig . q{
    hf_remote http://127.0.0.1:1/;
    hf_token off;
    hf_cache hf;
    hf_revision_ttl 30s;
}
--- config
hf_remote http://127.0.0.1:2;
hf_token file:$TEST_NGINX_SERVROOT/html/token;
hf_cache hf;
hf_revision_ttl 1m;
location /hf/ {
    hf_distribution;
    hf_remote https://hub.example/mirror;
    hf_token off;
    hf_cache hf;
    hf_revision_ttl 10;
}
location /hf-private/ {
    hf_distribution private;
}
location /t { return 200 "ok\n"; }
--- user_files
>>> token
hf_testtoken0123456789abcdefghijklmn
--- request
GET /t
--- response_body
ok



=== TEST 2: a distribution answers 400 for what is not a /resolve/ URL, with no upstream
--- http_config eval: $::HttpConfig . q{ hf_cache hf; }
--- config
location /hf/ { hf_distribution; hf_remote $TEST_NGINX_HUB; }
--- request
GET /hf/test-org/tiny-model/tree/main
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"not a /resolve/ URL"}
--- hub_requests
any * . => 0



=== TEST 3: hf_remote: not a URL
--- http_config eval: $::HttpConfig
--- config
location /hf/ { hf_distribution; hf_cache hf; hf_remote ftp://example.com; }
--- must_die
--- error_log
invalid hf_remote "ftp://example.com"



=== TEST 4: hf_remote with a query string
--- http_config eval: $::HttpConfig
--- config
location /hf/ { hf_distribution; hf_cache hf; hf_remote https://example.com/?x=1; }
--- must_die
--- error_log
invalid hf_remote "https://example.com/?x=1"



=== TEST 5: hf_token: unset environment variable
--- http_config eval: $::HttpConfig
--- config
location /hf/ { hf_distribution; hf_cache hf; hf_token env:HF_TEST_NOT_SET_ANYWHERE; }
--- must_die
--- error_log
hf_token "env:HF_TEST_NOT_SET_ANYWHERE": environment variable is not set



=== TEST 6: hf_token: unreadable file
--- http_config eval: $::HttpConfig
--- config
location /hf/ { hf_distribution; hf_cache hf; hf_token file:/nonexistent/token; }
--- must_die
--- error_log
hf_token "file:/nonexistent/token": cannot open the file



=== TEST 7: hf_token: empty file
--- http_config eval: $::HttpConfig
--- config
location /hf/ { hf_distribution; hf_cache hf; hf_token file:$TEST_NGINX_SERVROOT/html/token; }
--- user_files
>>> token

--- must_die
--- error_log
the token is empty



=== TEST 8: hf_token: whitespace inside, and the token is never printed
--- http_config eval: $::HttpConfig
--- config
location /hf/ { hf_distribution; hf_cache hf; hf_token env:HF_BAD_TOKEN; }
--- env
HF_BAD_TOKEN=hf_secret_part1 hf_secret_part2
--- must_die
--- error_log
hf_token "env:HF_BAD_TOKEN": the token has whitespace or control characters
--- no_error_log
hf_secret_part



=== TEST 9: hf_token: not a known source
--- http_config eval: $::HttpConfig
--- config
location /hf/ { hf_distribution; hf_cache hf; hf_token hf_inline_token_value; }
--- must_die
--- error_log
invalid hf_token "hf_inline_token_value"



=== TEST 10: hf_metadata: bad size
--- http_config
proxy_cache_path $TEST_NGINX_SERVROOT/cache keys_zone=hf:1m;
hf_metadata $TEST_NGINX_SERVROOT/meta size=lots;
--- config
location /hf/ { hf_distribution; hf_cache hf; }
--- must_die
--- error_log
invalid hf_metadata size "size=lots"



=== TEST 11: hf_metadata: unknown parameter
--- http_config
proxy_cache_path $TEST_NGINX_SERVROOT/cache keys_zone=hf:1m;
hf_metadata $TEST_NGINX_SERVROOT/meta mapsize=1g;
--- config
location /hf/ { hf_distribution; hf_cache hf; }
--- must_die
--- error_log
invalid parameter "mapsize=1g" of hf_metadata



=== TEST 12: hf_metadata is required by a distribution
--- http_config
proxy_cache_path $TEST_NGINX_SERVROOT/cache keys_zone=hf:1m;
--- config
location /hf/ { hf_distribution; hf_cache hf; }
--- must_die
--- error_log
"hf_distribution" needs "hf_metadata" in the http block



=== TEST 13: hf_metadata is not allowed in a server
--- http_config
proxy_cache_path $TEST_NGINX_SERVROOT/cache keys_zone=hf:1m;
--- config
hf_metadata $TEST_NGINX_SERVROOT/meta;
--- must_die
--- error_log
"hf_metadata" directive is not allowed here



=== TEST 14: hf_cache is required
--- http_config eval: $::HttpConfig
--- config
location /hf/ { hf_distribution public; }
--- must_die
--- error_log
hf_distribution "public" needs "hf_cache" naming a proxy_cache_path zone



=== TEST 15: hf_cache must name a proxy_cache_path zone
--- http_config eval: $::HttpConfig
--- config
location /hf/ { hf_distribution public; hf_cache nosuchzone; }
--- must_die
--- error_log
hf_cache "nosuchzone" of hf_distribution "public" is not a proxy_cache_path keys_zone



=== TEST 16: hf_distribution needs a prefix location ending with /
--- http_config eval: $::HttpConfig
--- config
location /hf { hf_distribution; hf_cache hf; }
--- must_die
--- error_log
"hf_distribution" needs a prefix location ending with "/", not "/hf"



=== TEST 17: hf_distribution in a regex location
--- http_config eval: $::HttpConfig
--- config
location ~ ^/hf/ { hf_distribution; hf_cache hf; }
--- must_die
--- error_log
"hf_distribution" needs a prefix location



=== TEST 18: hf_distribution names are unique
--- http_config eval: $::HttpConfig
--- config
location /a/ { hf_distribution same; hf_cache hf; }
location /b/ { hf_distribution same; hf_cache hf; }
--- must_die
--- error_log
duplicate hf_distribution name "same"



=== TEST 19: hf_distribution name characters
--- http_config eval: $::HttpConfig
--- config
location /a/ { hf_distribution "bad name"; hf_cache hf; }
--- must_die
--- error_log
invalid hf_distribution name "bad name"



=== TEST 20: hf_distribution is not allowed in a server
--- http_config eval: $::HttpConfig
--- config
hf_distribution;
--- must_die
--- error_log
"hf_distribution" directive is not allowed here



=== TEST 21: hf_revision_ttl: invalid time
--- http_config eval: $::HttpConfig
--- config
location /hf/ { hf_distribution; hf_cache hf; hf_revision_ttl soon; }
--- must_die
--- error_log
"hf_revision_ttl" directive invalid value



=== TEST 22: duplicates are refused
--- http_config eval: $::HttpConfig
--- config
location /hf/ { hf_distribution; hf_cache hf; hf_remote http://a; hf_remote http://b; }
--- must_die
--- error_log
"hf_remote" directive is duplicate



=== TEST 23: no resolver for a Hub host name: a warning naming the host
--- http_config eval: $::HttpConfig
--- config
location /hf/ { hf_distribution; hf_cache hf; hf_remote https://hub.example.org; }
location /t { return 200 "ok\n"; }
--- perl
my $out = `@{[ $ENV{TEST_NGINX_BINARY} // "/usr/sbin/nginx" ]} -p ${\ servroot()}/ -c conf/nginx.conf -t 2>&1`;
like $out, qr/hf_distribution "\/hf\/": no "resolver" for "hub\.example\.org"/, 'warned by nginx -t';
--- request
GET /t



=== TEST 24: a resolver, or an address as hf_remote: no warning
--- http_config eval: $::HttpConfig
--- config
resolver 127.0.0.1;
location /hf/ { hf_distribution; hf_cache hf; hf_remote https://hub.example.org; }
location /ip/ { hf_distribution ip; hf_cache hf; hf_remote http://127.0.0.1:9; }
location /t { return 200 "ok\n"; }
--- perl
my $out = `@{[ $ENV{TEST_NGINX_BINARY} // "/usr/sbin/nginx" ]} -p ${\ servroot()}/ -c conf/nginx.conf -t 2>&1`;
unlike $out, qr/no "resolver"/, 'no warning';
--- request
GET /t
