# The server token: sent as "Authorization: Bearer" to the Hub only, never
# to the CDN, never echoed; private content kept apart from distributions
# without a token; a rotated token picked up by "nginx -s reload".
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;

run_tests();

__DATA__

=== TEST 1: the private distribution serves what the public one refuses
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/private-model', 'main', 'weights.bin');
my $c = hub_file('model', 'test-org/private-model', 'main', 'config.json');
is http_get('/hf/test-org/private-model/resolve/main/weights.bin')->{status}, 401, 'public: 401';
my $r = http_get('/hf-private/test-org/private-model/resolve/main/weights.bin');
is $r->{status}, 200, 'private: 200';
is sha256_hex($r->{body}), $f->{sha256}, 'private: bytes';
is sha256_hex(http_get('/hf-private/test-org/private-model/resolve/main/config.json')->{body}),
   $c->{sha256}, 'private: regular file';
is http_get('/hf-private/test-org/gated-model/resolve/main/config.json')->{status}, 200, 'gated: 200';
my @hub = grep { $_->{server} eq 'hub' && $_->{path} =~ m{^/test-org/(private|gated)-model/} } @{ hub_log() };
my @auth = grep { ($_->{auth} // '') eq 'Bearer hf_testtoken0123456789abcdefghijklmn' } @hub;
is scalar(@auth), scalar(@hub) - 1, 'every Hub request of the private distribution carried the token';
my $r2 = http_head('/hf-private/test-org/private-model/resolve/main/weights.bin');
ok !grep({ $_->[1] =~ /hf_testtoken/ } @{ $r2->{header_list} }), 'the token is in no response header';
unlike error_log_text(), qr/hf_testtoken/, 'the token is in no log line';
--- hub_requests
cdn auth => 0
cdn GET ^/lfs/ => 1



=== TEST 2: private content is never served through the public distribution
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/private-model', 'main', 'weights.bin');
is http_get("/hf-private/test-org/private-model/resolve/$f->{commit}/weights.bin")->{status}, 200, 'cached privately';
my $n = hub_count('hub', '*', '.');
my $r = http_get("/hf/test-org/private-model/resolve/$f->{commit}/weights.bin");
is $r->{status}, 401, 'public: refused by the Hub';
is hub_count('hub', '*', '.'), $n + 1, 'public asked the Hub (without a token)';
hub_stop();
is http_get("/hf/test-org/private-model/resolve/$f->{commit}/weights.bin")->{status}, 502,
   'public with the Hub down: nothing to serve';
is http_get("/hf-private/test-org/private-model/resolve/$f->{commit}/weights.bin")->{status}, 200,
   'private with the Hub down: served';



=== TEST 3: public blobs fetched again through a token distribution, under its own keys
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
is sha256_hex(http_get('/hf/test-org/tiny-model/resolve/main/model.safetensors')->{body}), $f->{sha256}, 'public';
is sha256_hex(http_get('/hf-private/test-org/tiny-model/resolve/main/model.safetensors')->{body}), $f->{sha256}, 'private';
is hub_count('cdn', 'GET', '^/lfs/'), 2, 'two downloads: the keys are apart';



=== TEST 4: a rotated token is picked up by a reload
--- http_config eval: $::HttpConfig
--- config eval
$::Config . q{
    location /hf-file/ {
        hf_distribution file;
        hf_token file:$TEST_NGINX_SERVROOT/html/token;
    }
}
--- user_files
>>> token
hf_testtoken0123456789abcdefghijklmn
--- perl
my $url = '/hf-file/test-org/private-model/resolve/main/config.json';
is http_head($url)->{status}, 200, 'old token works';
hub_control('tokens', { tokens => ['hf_rotatedtoken0123456789abcdefghij'] });
is http_head($url)->{status}, 401, 'old token revoked at the Hub';
open my $fh, '>', servroot() . '/html/token' or die;
print $fh "hf_rotatedtoken0123456789abcdefghij\n";
close $fh;
nginx_reload();
is http_head($url)->{status}, 200, 'new token after reload';
my ($last) = grep { $_->{server} eq 'hub' } reverse @{ hub_log() };
is $last->{auth}, 'Bearer hf_rotatedtoken0123456789abcdefghij', 'the Hub saw the new token';



=== TEST 5: hf_token off in a location overrides an inherited token
--- http_config eval: $::HttpConfig . "hf_token env:HF_TEST_TOKEN;"
--- config
location /hf/ { hf_distribution public; hf_token off; }
location /hf-private/ { hf_distribution private; }
--- perl
is http_head('/hf/test-org/private-model/resolve/main/config.json')->{status}, 401, 'off: no token';
is http_head('/hf-private/test-org/private-model/resolve/main/config.json')->{status}, 200, 'inherited token';



=== TEST 9: error_log at debug: nginx's own lines about the Hub requests carry no token
--- log_level: debug
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $base = '/hf-private/test-org/private-model';
is http_get("$base/resolve/main/weights.bin")->{status}, 200, 'LFS file';
is http_get("$base/resolve/main/config.json")->{status}, 200, 'regular file';
is http_get('/hf-private/test-org/tiny-model/resolve/main/README.md')->{status}, 200, 'through the 307';
is http_get('/hf-private/api/models/test-org/private-model/tree/main')->{status}, 200, 'API';
is http_request('POST', '/hf-private/api/models/test-org/private-model/paths-info/main',
                { 'Content-Type' => 'application/x-www-form-urlencoded' }, 'paths=config.json')->{status},
   200, 'paths-info';
hub_control('fault', { server => 'hub', kind => 'status', code => 500, match => 'README' });
is http_get('/hf-private/test-org/tiny-model/resolve/v1.0/README.md')->{status}, 502, 'a Hub error';
my $log = error_log_text();
like $log, qr/\[debug\].*http proxy header/, 'nginx logged the requests it sent, at debug';
like $log, qr/Authorization: Bearer \[hf_token\]/, 'with the token masked';
unlike $log, qr/testtoken/, 'the token is in no log line';
my $n = () = $log =~ /\[hf_token\]/g;
ok $n >= 10, "masked $n times";
